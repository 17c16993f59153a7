//! Usage roll-ups: per-key and per-tenant request counts by minute and by hour, with
//! bounded retention.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use crate::bounded::BoundedMap;
use crate::event::{AuditEvent, EventKind, Outcome};
use crate::time::Timestamp;

/// Retention and bounds of the roll-ups. Defaults: 120 minutes, 48 hours, 10 000 keys,
/// 1 000 tenants, 16 distinct denial reasons per bucket (more go to `other`).
#[derive(Debug, Clone)]
pub struct RollupConfig {
    minutes: usize,
    hours: usize,
    max_keys: usize,
    max_tenants: usize,
    max_reasons: usize,
}

impl Default for RollupConfig {
    fn default() -> Self {
        RollupConfig {
            minutes: 120,
            hours: 48,
            max_keys: 10_000,
            max_tenants: 1_000,
            max_reasons: 16,
        }
    }
}

impl RollupConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many minute and hour buckets are kept per key and tenant.
    pub fn retention(mut self, minutes: usize, hours: usize) -> Self {
        self.minutes = minutes.max(1);
        self.hours = hours.max(1);
        self
    }

    /// How many keys and tenants are tracked; the least recently seen are forgotten.
    pub fn max_tracked(mut self, keys: usize, tenants: usize) -> Self {
        self.max_keys = keys.max(1);
        self.max_tenants = tenants.max(1);
        self
    }
}

/// Counts of one minute or one hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UsageBucket {
    /// When the bucket starts.
    pub start: Timestamp,
    /// Requests let through.
    pub allowed: u64,
    /// Requests refused (authentication, network, scope).
    pub denied: u64,
    /// Requests refused by a rate limit or exhausted credits.
    pub limited: u64,
    /// `denied` by reason code (the rarest past the bound are counted as `other`).
    pub denied_by_reason: BTreeMap<String, u64>,
}

impl UsageBucket {
    fn new(start_secs: i64) -> Self {
        UsageBucket {
            start: Timestamp::from_unix_micros(start_secs.saturating_mul(1_000_000)),
            allowed: 0,
            denied: 0,
            limited: 0,
            denied_by_reason: BTreeMap::new(),
        }
    }
}

/// The usage of one key or tenant: recent minutes and hours, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UsageReport {
    /// The key id or tenant.
    pub subject: String,
    /// Minute buckets (only minutes with traffic), oldest first.
    pub minutes: Vec<UsageBucket>,
    /// Hour buckets (only hours with traffic), oldest first.
    pub hours: Vec<UsageBucket>,
}

/// What one request event counts as.
#[derive(Debug, Clone, Copy)]
enum Class<'a> {
    Allowed,
    Denied(&'a str),
    Limited,
}

#[derive(Debug, Default)]
struct Series {
    minutes: VecDeque<UsageBucket>,
    hours: VecDeque<UsageBucket>,
}

fn add(
    buckets: &mut VecDeque<UsageBucket>,
    width: i64,
    keep: usize,
    secs: i64,
    class: Class<'_>,
    max_reasons: usize,
) {
    let start = secs - secs.rem_euclid(width);
    let start_micros = start.saturating_mul(1_000_000);
    let newest = buckets.back().map(|b| b.start.unix_micros());
    if newest.is_none_or(|n| n < start_micros) {
        buckets.push_back(UsageBucket::new(start));
        let span = i64::try_from(keep - 1).unwrap_or(i64::MAX);
        let oldest_kept = start_micros.saturating_sub(span.saturating_mul(width * 1_000_000));
        while buckets.len() > keep
            || buckets
                .front()
                .is_some_and(|b| b.start.unix_micros() < oldest_kept)
        {
            buckets.pop_front();
        }
    }
    // Late events land in their own bucket if it is still kept.
    let Some(b) = buckets
        .iter_mut()
        .rev()
        .find(|b| b.start.unix_micros() == start_micros)
    else {
        return;
    };
    match class {
        Class::Allowed => b.allowed += 1,
        Class::Limited => b.limited += 1,
        Class::Denied(reason) => {
            b.denied += 1;
            let reason = if b.denied_by_reason.contains_key(reason)
                || b.denied_by_reason.len() < max_reasons
            {
                reason
            } else {
                "other"
            };
            *b.denied_by_reason.entry(reason.to_owned()).or_default() += 1;
        }
    }
}

impl Series {
    fn add(&mut self, config: &RollupConfig, secs: i64, class: Class<'_>) {
        add(
            &mut self.minutes,
            60,
            config.minutes,
            secs,
            class,
            config.max_reasons,
        );
        add(
            &mut self.hours,
            3600,
            config.hours,
            secs,
            class,
            config.max_reasons,
        );
    }

    fn report(&self, subject: &str) -> UsageReport {
        UsageReport {
            subject: subject.to_owned(),
            minutes: self.minutes.iter().cloned().collect(),
            hours: self.hours.iter().cloned().collect(),
        }
    }
}

/// The roll-ups of every tracked key and tenant.
#[derive(Debug)]
pub(crate) struct Rollups {
    config: RollupConfig,
    keys: BoundedMap<String, Series>,
    tenants: BoundedMap<String, Series>,
}

impl Rollups {
    pub(crate) fn new(config: RollupConfig) -> Self {
        Rollups {
            keys: BoundedMap::new(config.max_keys),
            tenants: BoundedMap::new(config.max_tenants),
            config,
        }
    }

    /// Counts a request event (others are ignored).
    pub(crate) fn observe(&mut self, event: &AuditEvent) {
        let kind = event.kind();
        if !kind.is_request() {
            return;
        }
        let class = match (kind, event.outcome()) {
            (EventKind::RateLimited | EventKind::UsageExceeded, _) => Class::Limited,
            (_, Outcome::Allowed) => Class::Allowed,
            _ => Class::Denied(event.reason_code().unwrap_or("unspecified")),
        };
        let Some(time) = event.time() else { return };
        let secs = time.unix_secs();
        if let Some(key) = event.key() {
            self.keys
                .entry(&key.to_owned(), secs, Series::default)
                .add(&self.config, secs, class);
        }
        if let Some(tenant) = event.tenant_id() {
            self.tenants
                .entry(&tenant.to_owned(), secs, Series::default)
                .add(&self.config, secs, class);
        }
    }

    pub(crate) fn key(&self, key: &str) -> Option<UsageReport> {
        self.keys.get(&key.to_owned()).map(|s| s.report(key))
    }

    pub(crate) fn tenant(&self, tenant: &str) -> Option<UsageReport> {
        self.tenants
            .get(&tenant.to_owned())
            .map(|s| s.report(tenant))
    }
}

#[cfg(test)]
mod tests {
    use super::{RollupConfig, Rollups};
    use crate::event::{AuditEvent, EventKind, Outcome};
    use crate::time::Timestamp;

    fn at(secs: i64, e: AuditEvent) -> AuditEvent {
        e.at(Timestamp::from_unix_micros(secs * 1_000_000))
    }

    fn req(kind: EventKind, outcome: Outcome, reason: Option<&'static str>) -> AuditEvent {
        let e = AuditEvent::new(kind, outcome)
            .key_id("key_a")
            .tenant("acme");
        match reason {
            Some(r) => e.reason(r),
            None => e,
        }
    }

    #[test]
    fn counts_by_minute_and_hour_with_reasons() {
        let mut r = Rollups::new(RollupConfig::new());
        let t0 = 1_795_862_400; // 10:40:00Z, on an hour boundary minus 20 min
        r.observe(&at(
            t0,
            req(EventKind::AuthSucceeded, Outcome::Allowed, None),
        ));
        r.observe(&at(
            t0 + 1,
            req(EventKind::AuthSucceeded, Outcome::Allowed, None),
        ));
        r.observe(&at(
            t0 + 2,
            req(
                EventKind::ScopeDenied,
                Outcome::Denied,
                Some("insufficient_scope"),
            ),
        ));
        r.observe(&at(
            t0 + 61,
            req(
                EventKind::RateLimited,
                Outcome::Denied,
                Some("rate_limited"),
            ),
        ));
        r.observe(&at(
            t0 + 62,
            req(EventKind::AuthFailed, Outcome::Denied, Some("key_revoked")),
        ));
        r.observe(&at(
            t0 + 62,
            AuditEvent::new(EventKind::KeyCreated, Outcome::Allowed).key_id("key_a"),
        ));
        let k = r.key("key_a").unwrap();
        assert_eq!(k.minutes.len(), 2);
        assert_eq!(
            (
                k.minutes[0].allowed,
                k.minutes[0].denied,
                k.minutes[0].limited
            ),
            (2, 1, 0)
        );
        assert_eq!(k.minutes[0].denied_by_reason["insufficient_scope"], 1);
        assert_eq!(
            (
                k.minutes[1].allowed,
                k.minutes[1].denied,
                k.minutes[1].limited
            ),
            (0, 1, 1)
        );
        assert_eq!(k.hours.len(), 1);
        assert_eq!(
            (k.hours[0].allowed, k.hours[0].denied, k.hours[0].limited),
            (2, 2, 1)
        );
        assert_eq!(r.tenant("acme").unwrap().hours[0].allowed, 2);
        assert!(r.key("key_b").is_none());
    }

    #[test]
    fn retention_and_tracked_keys_are_bounded() {
        let mut r = Rollups::new(RollupConfig::new().retention(3, 2).max_tracked(5, 5));
        let t0 = 1_795_860_000;
        for m in 0..10 {
            r.observe(&at(
                t0 + m * 60,
                req(EventKind::AuthSucceeded, Outcome::Allowed, None),
            ));
        }
        let k = r.key("key_a").unwrap();
        assert_eq!(k.minutes.len(), 3);
        assert_eq!(k.minutes[0].start.unix_secs(), t0 + 7 * 60);
        for i in 0..100 {
            let e = AuditEvent::new(EventKind::AuthSucceeded, Outcome::Allowed)
                .key_id(&format!("k{i}"));
            r.observe(&at(t0 + 600 + i, e));
        }
        assert!(r.keys.len() <= 5);
        assert!(r.key("k99").is_some());
        // Reasons past the bound are counted as `other`.
        let mut r = Rollups::new(RollupConfig::new());
        for i in 0..40 {
            let reason: &'static str = Box::leak(format!("code_{i}").into_boxed_str());
            r.observe(&at(
                t0,
                req(EventKind::AuthFailed, Outcome::Denied, Some(reason)),
            ));
        }
        let m = &r.key("key_a").unwrap().minutes[0];
        assert_eq!(m.denied, 40);
        assert_eq!(m.denied_by_reason.len(), 17);
        assert_eq!(m.denied_by_reason["other"], 24);
    }
}
