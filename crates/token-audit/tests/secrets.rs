//! Secrets never reach the trail: mint real API keys, JWTs, client secrets and refresh
//! tokens, record every kind of event built from them (and request fields stuffed
//! with the secrets), and search the JSON Lines file, the memory sink and the tracing
//! output for each secret.

mod common;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use common::{TempDir, config, time};
use token_audit::anomaly::{Anomaly, AnomalyConfig};
use token_audit::sink::{JsonlSink, MemorySink, TracingSink};
use token_audit::{AuditEvent, Auditor, EventKind};
use token_core::apikey::{ApiKeys, KeyFormat, NewKey};
use token_core::backend::MemoryClientStore;
use token_core::backend::MemoryKeyStore;
use token_core::backend::MemoryRefreshStore;
use token_core::client::ClientCredentials;
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{AccessTokenRequest, Keyring, Minter, Validation, Verifier};
use token_core::refresh::{RefreshError, RefreshGrant, RefreshTokens};
use token_core::{AuthError, AuthErrorKind};

/// A tracing subscriber that writes every event's fields into one string.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut out = self.0.lock().unwrap();
        let _ = write!(out, "[{}] ", event.metadata().target());
        event.record(&mut Fields(&mut out));
        out.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test(flavor = "current_thread")]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
async fn no_secret_reaches_any_sink() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(capture.clone()).unwrap();
    let mut secrets: Vec<String> = Vec::new();

    // API keys: minted, rotated, revoked.
    let keys = ApiKeys::new(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap());
    let (secret, record) = keys
        .mint(NewKey::new("dash", "read:reports".parse().unwrap()).tenant("acme"))
        .await
        .unwrap();
    secrets.push(secret.expose_secret().to_owned());
    let principal = keys.verify(secret.expose_secret()).await.unwrap();
    let (rotated_secret, rotated) = keys.rotate(&record.id, 0).await.unwrap();
    secrets.push(rotated_secret.expose_secret().to_owned());
    let revoked = keys.revoke(&rotated.id, "leaked in a paste").await.unwrap();

    // A JWT.
    let keyring = Keyring::new(SigningKey::generate(Algorithm::ES256).unwrap());
    let minter = Minter::new(keyring.clone(), "https://auth.example");
    let jwt = minter
        .mint(
            &AccessTokenRequest::new("user-42", "api")
                .jti("jti-1")
                .tenant("acme"),
        )
        .unwrap();
    let verifier = Verifier::new(
        keyring,
        Validation::access_tokens("https://auth.example", "api"),
    );
    let claims = verifier.verify(&jwt).unwrap().claims;
    secrets.push(jwt.clone());

    // A client secret and a refresh token, and a refresh reuse.
    let clients = ClientCredentials::new(MemoryClientStore::new(), minter);
    let (client, client_secret) = clients
        .register("batch", "read:reports".parse().unwrap(), Some("acme"))
        .await
        .unwrap();
    secrets.push(client_secret.expose_secret().to_owned());
    let refresh = RefreshTokens::new(MemoryRefreshStore::new());
    let (rt, _) = refresh
        .issue(RefreshGrant::new(
            "user-42",
            &client.client_id,
            "read:reports".parse().unwrap(),
        ))
        .await
        .unwrap();
    secrets.push(rt.expose_secret().to_owned());
    refresh
        .redeem(rt.expose_secret(), &client.client_id)
        .await
        .unwrap();
    let RefreshError::Reused(reuse) = refresh
        .redeem(rt.expose_secret(), &client.client_id)
        .await
        .unwrap_err()
    else {
        panic!("expected a reuse");
    };

    // One event of every kind, with every string field stuffed with secrets.
    let stuffed = |e: AuditEvent, s: &str| {
        e.principal_id(&format!("user {s}"))
            .key_id(s)
            .hint(s)
            .tenant(&format!("acme-{s}"))
            .client_id(s)
            .target(&format!("jti {s}"))
            .ip("203.0.113.9".parse().unwrap())
            .method("POST")
            .route(&format!("/v1/x?api_key={s}"))
            .user_agent(&format!("curl/8 {s}"))
            .request_id(s)
            .detail(&format!("presented {s}"))
    };
    let required = "read:reports write:reports";
    let events = vec![
        AuditEvent::auth_succeeded(&principal),
        AuditEvent::auth_failed(&AuthError::from(AuthErrorKind::Malformed)),
        AuditEvent::auth_failed_code("key_revoked"),
        AuditEvent::network_denied(&principal),
        AuditEvent::scope_denied(&principal, &required, ["write:reports"]),
        AuditEvent::policy_denied(&principal),
        AuditEvent::rate_limited(&principal),
        AuditEvent::usage_exceeded(&principal),
        AuditEvent::key_created(&record),
        AuditEvent::key_rotated(&record, &rotated),
        AuditEvent::key_revoked(&revoked, "leaked in a paste"),
        AuditEvent::key_updated(&record),
        AuditEvent::token_issued(&claims),
        AuditEvent::token_revoked("jti-1"),
        AuditEvent::refresh_reuse_detected(&reuse),
        AuditEvent::client_created(&client),
        AuditEvent::anomaly(&anomaly_from(&principal)),
        AuditEvent::audit_dropped(3),
    ];
    let kinds: std::collections::HashSet<EventKind> = events.iter().map(AuditEvent::kind).collect();
    assert_eq!(kinds.len(), EventKind::ALL.len(), "every kind is covered");

    let dir = TempDir::new("secrets");
    let path = dir.path("audit.jsonl");
    let memory = MemorySink::new();
    let auditor = Auditor::builder()
        .sink(JsonlSink::open(&path, config(&time())).unwrap())
        .sink(memory.clone())
        .sink(TracingSink::new())
        .detector(AnomalyConfig::new())
        .build()
        .unwrap();
    for (i, e) in events.into_iter().enumerate() {
        auditor.record(stuffed(e, &secrets[i % secrets.len()]));
    }
    // And one as built, whose hint must survive.
    auditor.record(AuditEvent::key_created(&record));
    auditor.shutdown();

    let file = std::fs::read_to_string(&path).unwrap();
    let memory_text = format!(
        "{:?}\n{}",
        memory.events(),
        serde_json::to_string(&memory.events()).unwrap()
    );
    let traced = capture.0.lock().unwrap().clone();
    assert_eq!(
        file.lines().count(),
        20,
        "19 events and one anomaly (retired key)"
    );
    assert!(
        traced.contains("[token_audit]") && traced.contains("kind=\"key.rotated\""),
        "{traced}"
    );
    assert!(file.contains("[redacted]"));
    for secret in &secrets {
        // The whole secret, and its random part (without the prefix).
        let tail = &secret[secret.len() - 30..];
        for (name, text) in [
            ("jsonl", &file),
            ("memory", &memory_text),
            ("tracing", &traced),
        ] {
            assert!(!text.contains(tail), "a secret reached the {name} output");
        }
    }
    // Hints are kept: they are not secrets.
    assert!(file.contains(&record.hint));
}

fn anomaly_from(principal: &token_core::Principal) -> Anomaly {
    // Built through the detector, as the pipeline does.
    let mut d = token_audit::anomaly::AnomalyDetector::new(AnomalyConfig::new());
    let mut out = Vec::new();
    let e = AuditEvent::auth_failed_code("key_rotated")
        .with_principal(principal)
        .at(token_audit::Timestamp::from_unix_micros(1));
    d.observe(&e, &mut out);
    out.remove(0)
}
