//! Each detector fires on synthetic attack traffic within a bounded number of events,
//! stays quiet on steady traffic, and respects its cooldown. Time is fake.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use token_audit::anomaly::{Anomaly, AnomalyConfig, AnomalyDetector, Detector};
use token_audit::sink::MemorySink;
use token_audit::{AuditEvent, Auditor, EventKind, Outcome, Timestamp};
use token_core::ManualClock;

const T0: i64 = 1_795_862_700_000_000; // micros

fn at(ms: i64, e: AuditEvent) -> AuditEvent {
    e.at(Timestamp::from_unix_micros(T0 + ms * 1000))
}

fn ok(key: &str, ip: &str) -> AuditEvent {
    AuditEvent::new(EventKind::AuthSucceeded, Outcome::Allowed)
        .key_id(key)
        .ip(ip.parse().unwrap())
}

fn feed(
    d: &mut AnomalyDetector,
    events: impl IntoIterator<Item = AuditEvent>,
) -> Vec<(usize, Anomaly)> {
    let mut found = Vec::new();
    for (i, e) in events.into_iter().enumerate() {
        let mut out = Vec::new();
        d.observe(&e, &mut out);
        found.extend(out.into_iter().map(|a| (i, a)));
    }
    found
}

/// `per_window` requests per 10 s window for `windows` windows, spread evenly.
fn steady(key: &str, per_window: i64, windows: i64, start_ms: i64) -> Vec<AuditEvent> {
    (0..per_window * windows)
        .map(|i| at(start_ms + i * 10_000 / per_window, ok(key, "198.51.100.7")))
        .collect()
}

#[test]
fn steady_traffic_raises_no_alarm() {
    let mut d = AnomalyDetector::new(AnomalyConfig::new());
    let mut events = steady("key_a", 30, 60, 0);
    // Some routine failures and denials, spread out.
    for i in 0..20 {
        events.push(at(
            i * 30_000,
            AuditEvent::auth_failed_code("key_unknown").ip("192.0.2.1".parse().unwrap()),
        ));
        events.push(at(
            i * 30_000 + 5,
            AuditEvent::new(EventKind::ScopeDenied, Outcome::Denied).key_id("key_a"),
        ));
    }
    events.sort_by_key(AuditEvent::time);
    assert!(feed(&mut d, events).is_empty());
}

#[test]
fn a_rate_spike_is_detected_within_a_bounded_number_of_requests() {
    let mut d = AnomalyDetector::new(AnomalyConfig::new());
    let mut events = steady("key_a", 20, 10, 0);
    // Then 500 requests in the next window.
    events.extend((0..500).map(|i| at(100_000 + i * 10, ok("key_a", "198.51.100.7"))));
    let found = feed(&mut d, events);
    assert_eq!(found.len(), 1, "{found:?}");
    let (i, a) = &found[0];
    assert_eq!(a.detector, Detector::RateSpike);
    assert_eq!(a.subject, "key_a");
    // Baseline ~20: the alarm comes once the window passes 4 × 20 = 80 requests.
    let into_spike = i - 200;
    assert!((50..=100).contains(&into_spike), "{into_spike}");
}

#[test]
fn a_new_network_for_a_stable_key_is_detected_at_once() {
    let mut d = AnomalyDetector::new(AnomalyConfig::new());
    let mut events: Vec<AuditEvent> = (0..150)
        .map(|i| {
            at(
                i * 1000,
                ok(
                    "key_a",
                    if i % 2 == 0 {
                        "198.51.100.7"
                    } else {
                        "198.51.100.200"
                    },
                ),
            )
        })
        .collect();
    events.push(at(151_000, ok("key_a", "203.0.113.9")));
    events.push(at(152_000, ok("key_a", "203.0.113.10"))); // same /24: no second alarm
    let found = feed(&mut d, events);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, 150);
    assert_eq!(found[0].1.detector, Detector::NewNetwork);
    assert!(
        found[0].1.detail.contains("203.0.113.0/24"),
        "{}",
        found[0].1.detail
    );
    // A key that roams from the start is not "stable": no alarm.
    let mut d = AnomalyDetector::new(AnomalyConfig::new());
    let roaming = (0..300).map(|i| at(i * 1000, ok("key_b", &format!("10.0.{}.1", i % 50))));
    assert!(feed(&mut d, roaming).is_empty());
}

#[test]
fn scope_probing_is_detected() {
    let mut d = AnomalyDetector::new(AnomalyConfig::new());
    let denials = (0..30).map(|i| {
        at(
            i * 500,
            AuditEvent::new(EventKind::ScopeDenied, Outcome::Denied).key_id("key_p"),
        )
    });
    let found = feed(&mut d, denials);
    assert_eq!(found.len(), 1, "cooldown holds further alarms: {found:?}");
    assert_eq!(found[0].0, 9); // the 10th denial within 60 s
    assert_eq!(found[0].1.detector, Detector::ScopeProbing);
}

#[test]
fn credential_stuffing_is_detected_per_address_with_a_cooldown() {
    let mut d = AnomalyDetector::new(AnomalyConfig::new().cooldown(Duration::from_secs(60)));
    let ip: IpAddr = "192.0.2.66".parse().unwrap();
    let failures =
        (0..100).map(|i| at(i * 1000, AuditEvent::auth_failed_code("key_unknown").ip(ip)));
    let found = feed(&mut d, failures);
    // At the 20th failure, then once per 60 s cooldown while it goes on.
    let idx: Vec<usize> = found.iter().map(|(i, _)| *i).collect();
    assert_eq!(idx, vec![19, 79]);
    assert!(
        found
            .iter()
            .all(|(_, a)| a.detector == Detector::AuthFailureBurst && a.subject == "192.0.2.66")
    );
}

/// The refusal token-core gives for `secret`, as an `auth.failed` event.
async fn refusal<S: token_core::backend::KeyStore>(
    keys: &token_core::apikey::ApiKeys<S>,
    secret: &str,
) -> AuditEvent {
    let error = keys.verify(secret).await.unwrap_err();
    AuditEvent::auth_failed(&token_core::AuthError::from(error))
}

#[tokio::test(flavor = "current_thread")]
async fn a_revoked_or_rotated_key_in_use_is_detected_and_named() {
    use token_core::apikey::{ApiKeys, KeyFormat, NewKey};
    use token_core::backend::MemoryKeyStore;
    let keys = ApiKeys::new(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap());
    let new = || NewKey::new("dash", "read:reports".parse().unwrap());
    let (revoked_secret, revoked) = keys.mint(new()).await.unwrap();
    keys.revoke(&revoked.id, "leaked in a paste").await.unwrap();
    let (rotated_secret, rotated) = keys.mint(new()).await.unwrap();
    keys.rotate(&rotated.id, 0).await.unwrap();
    let (stranger, _) = ApiKeys::new(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .mint(new())
        .await
        .unwrap();

    let revoked_use = refusal(&keys, revoked_secret.expose_secret()).await;
    assert_eq!(revoked_use.reason_code(), Some("key_revoked"));
    assert_eq!(revoked_use.key(), Some(revoked.id.as_str()));
    assert_eq!(revoked_use.display_hint(), Some(revoked.hint.as_str()));
    let rotated_use = refusal(&keys, rotated_secret.expose_secret()).await;
    assert_eq!(rotated_use.reason_code(), Some("key_rotated"));
    // A key the store does not know names nothing.
    let unknown_use = refusal(&keys, stranger.expose_secret()).await;
    assert_eq!(
        (unknown_use.key(), unknown_use.display_hint()),
        (None, None)
    );

    let mut d = AnomalyDetector::new(AnomalyConfig::new());
    let found = feed(
        &mut d,
        vec![at(0, unknown_use), at(1, revoked_use), at(2, rotated_use)],
    );
    let got: Vec<(usize, &str)> = found
        .iter()
        .map(|(i, a)| (*i, a.subject.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![(1, revoked.id.as_str()), (2, rotated.id.as_str())]
    );
    assert!(
        found
            .iter()
            .all(|(_, a)| a.detector == Detector::RetiredKeyUse)
    );
}

#[test]
fn credential_stuffing_from_rotating_ipv6_addresses_counts_per_64() {
    let mut d = AnomalyDetector::new(AnomalyConfig::new());
    // A new address of one /64 for every attempt.
    let failures = (0..25u16).map(|i| {
        let ip: IpAddr = format!("2001:db8:1:2:{i:x}::{i:x}").parse().unwrap();
        at(
            i64::from(i) * 1000,
            AuditEvent::auth_failed_code("key_unknown").ip(ip),
        )
    });
    let found = feed(&mut d, failures);
    let got: Vec<(usize, &str)> = found
        .iter()
        .map(|(i, a)| (*i, a.subject.as_str()))
        .collect();
    assert_eq!(got, vec![(19, "2001:db8:1:2::/64")]);
    // Neighbouring IPv4 addresses (a NAT block) are not added up.
    let mut d = AnomalyDetector::new(AnomalyConfig::new());
    let failures = (0..25u8).map(|i| {
        at(
            i64::from(i) * 1000,
            AuditEvent::auth_failed_code("key_unknown").ip(IpAddr::from([192, 0, 2, i])),
        )
    });
    assert!(feed(&mut d, failures).is_empty());
}

#[test]
fn memory_stays_bounded_under_a_flood_of_addresses() {
    let mut d = AnomalyDetector::new(AnomalyConfig::new().max_subjects(100));
    let flood = (0..20_000u32).map(|i| {
        let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
        at(
            i64::from(i),
            AuditEvent::auth_failed_code("key_unknown").ip(ip),
        )
    });
    assert!(feed(&mut d, flood).is_empty());
}

#[test]
fn the_auditor_records_anomalies_and_calls_the_hook() {
    let t = ManualClock::new(1_795_862_700);
    let seen: Arc<Mutex<Vec<Anomaly>>> = Arc::default();
    let memory = MemorySink::new();
    let hook_seen = Arc::clone(&seen);
    let auditor = Auditor::builder()
        .sink(memory.clone())
        .detector(AnomalyConfig::new())
        .on_anomaly(move |a| hook_seen.lock().unwrap().push(a.clone()))
        .clock(Arc::new(t.clone()))
        .build()
        .unwrap();
    auditor.record(AuditEvent::auth_failed_code("key_revoked").key_id("key_leaked"));
    auditor.flush();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].detector, Detector::RetiredKeyUse);
    let events = memory.events();
    assert_eq!(events.len(), 2);
    let alert = &events[1];
    assert_eq!(alert.kind(), EventKind::AnomalyDetected);
    assert_eq!(alert.outcome(), Outcome::Alert);
    assert_eq!(alert.reason_code(), Some("retired_key_use"));
    assert_eq!(alert.target_id(), Some("key_leaked"));
    assert_eq!(auditor.stats().generated, 1);
}

#[test]
fn the_hook_may_use_its_own_auditor_without_deadlock() {
    let memory = MemorySink::new();
    let slot: Arc<Mutex<Option<Auditor>>> = Arc::default();
    let in_hook = Arc::clone(&slot);
    let auditor = Auditor::builder()
        .sink(memory.clone())
        .detector(AnomalyConfig::new())
        .on_anomaly(move |a| {
            if let Some(auditor) = in_hook.lock().unwrap().as_ref() {
                auditor.record(AuditEvent::token_revoked(&a.subject));
                auditor.flush(); // returns at once on the worker thread
            }
        })
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(auditor.clone());
    auditor.record(AuditEvent::auth_failed_code("key_rotated").key_id("key_old"));
    auditor.flush(); // the anomaly, and the hook's event queued behind it
    auditor.flush(); // the hook's event
    let kinds: Vec<EventKind> = memory.events().iter().map(AuditEvent::kind).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::AuthFailed,
            EventKind::AnomalyDetected,
            EventKind::TokenRevoked
        ]
    );
    slot.lock().unwrap().take();
    auditor.shutdown();
}
