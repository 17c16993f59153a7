//! The detectors' state and rules.

use std::collections::VecDeque;
use std::net::IpAddr;

use super::{Anomaly, AnomalyConfig, Detector};
use crate::bounded::BoundedMap;
use crate::event::{AuditEvent, EventKind};
use crate::time::Timestamp;

/// Per-key request rate in the current window against an EWMA of past windows.
#[derive(Debug, Default)]
struct Rate {
    window: i64,
    count: u64,
    ewma: f64,
    windows: u32,
}

/// The networks a key was seen on, and how many requests it made.
#[derive(Debug, Default)]
struct Networks {
    nets: Vec<(IpAddr, u8)>,
    requests: u64,
}

/// The most networks remembered per key (past this, a key is not "stable").
const MAX_NETS: usize = 8;

/// Runs every detector over a stream of events. Memory is bounded by
/// [`AnomalyConfig::max_subjects`] per detector. Events are assumed to arrive in
/// roughly increasing time.
#[derive(Debug)]
pub struct AnomalyDetector {
    config: AnomalyConfig,
    rates: BoundedMap<String, Rate>,
    networks: BoundedMap<String, Networks>,
    scope_denials: BoundedMap<String, VecDeque<i64>>,
    auth_failures: BoundedMap<IpAddr, VecDeque<i64>>,
    cooldowns: BoundedMap<(Detector, String), i64>,
}

/// `ip` masked to its network (IPv4-mapped IPv6 addresses count as IPv4).
fn network_of(ip: IpAddr, v4: u8, v6: u8) -> (IpAddr, u8) {
    match ip {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(v4)).unwrap_or(0);
            (IpAddr::V4((u32::from(a) & mask).into()), v4)
        }
        IpAddr::V6(a) => {
            if let Some(v4addr) = a.to_ipv4_mapped() {
                return network_of(IpAddr::V4(v4addr), v4, v6);
            }
            let mask = u128::MAX.checked_shl(128 - u32::from(v6)).unwrap_or(0);
            (IpAddr::V6((u128::from(a) & mask).into()), v6)
        }
    }
}

/// Pushes `now` into a ring of the last `n` times; the burst is complete when the ring
/// is full and its oldest entry is within `window`.
fn burst(ring: &mut VecDeque<i64>, now: i64, n: usize, window: i64) -> bool {
    ring.push_back(now);
    while ring.len() > n {
        ring.pop_front();
    }
    ring.len() == n
        && ring
            .front()
            .is_some_and(|t| now.saturating_sub(*t) <= window)
}

fn dur(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl AnomalyDetector {
    /// A detector with `config`.
    pub fn new(config: AnomalyConfig) -> Self {
        let n = config.max_subjects;
        AnomalyDetector {
            rates: BoundedMap::new(n),
            networks: BoundedMap::new(n),
            scope_denials: BoundedMap::new(n),
            auth_failures: BoundedMap::new(n),
            cooldowns: BoundedMap::new(n),
            config,
        }
    }

    /// Looks at one event (stamped with its time) and appends what it finds to `out`.
    pub fn observe(&mut self, event: &AuditEvent, out: &mut Vec<Anomaly>) {
        let kind = event.kind();
        if !kind.is_request() {
            return;
        }
        let now = event
            .time()
            .map_or(0, |t| t.unix_micros().saturating_mul(1000));
        let subject = event.key().or(event.principal());
        if kind == EventKind::AuthFailed {
            if let Some(ip) = event.client_ip() {
                self.auth_failure(event, ip, now, out);
            }
            if let Some(code) = event.reason_code()
                && self.config.leaked_key_codes.iter().any(|c| c == code)
            {
                let who = subject
                    .or(event.display_hint())
                    .map(str::to_owned)
                    .or_else(|| event.client_ip().map(|ip| ip.to_string()));
                if let Some(who) = who {
                    let detail = format!("a retired key was presented ({code})");
                    self.alarm(Detector::RetiredKeyUse, &who, event, now, detail, 1, out);
                }
            }
            return;
        }
        let Some(key) = subject else { return };
        let key = key.to_owned();
        self.rate(&key, event, now, out);
        if let Some(ip) = event.client_ip() {
            self.network(&key, ip, event, now, out);
        }
        if matches!(kind, EventKind::ScopeDenied | EventKind::PolicyDenied) {
            let (n, within) = self.config.scope_burst;
            let ring = self.scope_denials.entry(&key, now, VecDeque::new);
            if burst(ring, now, n, dur(within)) {
                let detail = format!("{n} scope denials within {}s", within.as_secs());
                self.alarm(
                    Detector::ScopeProbing,
                    &key,
                    event,
                    now,
                    detail,
                    n as u64,
                    out,
                );
            }
        }
    }

    /// Failed authentications are counted per IPv4 address (/32: many users share
    /// an address block behind NAT, so a /24 would add theirs up) and per IPv6 /64
    /// (one host or LAN usually holds a whole /64, and an attacker can rotate
    /// through its 2^64 addresses for free).
    fn auth_failure(&mut self, event: &AuditEvent, ip: IpAddr, now: i64, out: &mut Vec<Anomaly>) {
        let (n, within) = self.config.auth_failure_burst;
        let source = network_of(ip, 32, 64);
        let ring = self.auth_failures.entry(&source.0, now, VecDeque::new);
        if burst(ring, now, n, dur(within)) {
            let detail = format!("{n} failed authentications within {}s", within.as_secs());
            let subject = match source {
                (IpAddr::V4(a), _) => a.to_string(),
                (IpAddr::V6(a), bits) => format!("{a}/{bits}"),
            };
            self.alarm(
                Detector::AuthFailureBurst,
                &subject,
                event,
                now,
                detail,
                n as u64,
                out,
            );
        }
    }

    fn rate(&mut self, key: &String, event: &AuditEvent, now: i64, out: &mut Vec<Anomaly>) {
        let c = &self.config;
        let window = now.div_euclid(dur(c.rate_window).max(1));
        let (alpha, factor, min, warmup) = (
            c.rate_alpha,
            c.rate_factor,
            c.rate_min_count,
            c.rate_warmup_windows,
        );
        let r = self.rates.entry(key, now, || Rate {
            window,
            ..Rate::default()
        });
        if window > r.window {
            // Close the finished window, then decay through the empty ones.
            #[allow(clippy::cast_precision_loss)]
            let count = r.count as f64;
            r.ewma = if r.windows == 0 {
                count
            } else {
                alpha * count + (1.0 - alpha) * r.ewma
            };
            let empty = i32::try_from((window - r.window - 1).min(10_000)).unwrap_or(10_000);
            r.ewma *= (1.0 - alpha).powi(empty);
            r.windows = r
                .windows
                .saturating_add(1)
                .saturating_add(u32::try_from(empty).unwrap_or(0));
            r.window = window;
            r.count = 0;
        }
        r.count += 1;
        #[allow(clippy::cast_precision_loss)]
        let spike = r.windows >= warmup && r.count >= min && r.count as f64 > factor * r.ewma;
        if spike {
            let (count, ewma) = (r.count, r.ewma);
            let detail = format!(
                "{count} requests in the current {}s window against a baseline of {ewma:.1}",
                self.config.rate_window.as_secs()
            );
            self.alarm(Detector::RateSpike, key, event, now, detail, count, out);
        }
    }

    fn network(
        &mut self,
        key: &String,
        ip: IpAddr,
        event: &AuditEvent,
        now: i64,
        out: &mut Vec<Anomaly>,
    ) {
        let net = network_of(ip, self.config.ipv4_prefix, self.config.ipv6_prefix);
        let (stable_after, max_known) = (
            self.config.network_stable_after,
            self.config.network_max_known,
        );
        let n = self.networks.entry(key, now, Networks::default);
        n.requests += 1;
        if n.nets.contains(&net) {
            return;
        }
        let stable = !n.nets.is_empty() && n.nets.len() <= max_known && n.requests > stable_after;
        let (requests, known) = (n.requests - 1, n.nets.len());
        if n.nets.len() < MAX_NETS {
            n.nets.push(net);
        }
        if stable {
            let detail = format!(
                "first request from {}/{} after {requests} requests from {known} network(s)",
                net.0, net.1
            );
            self.alarm(Detector::NewNetwork, key, event, now, detail, requests, out);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn alarm(
        &mut self,
        detector: Detector,
        subject: &str,
        event: &AuditEvent,
        now: i64,
        detail: String,
        count: u64,
        out: &mut Vec<Anomaly>,
    ) {
        let cooldown = dur(self.config.cooldown);
        let last = self
            .cooldowns
            .entry(&(detector, subject.to_owned()), now, || i64::MIN);
        if *last != i64::MIN && now.saturating_sub(*last) < cooldown {
            return;
        }
        *last = now;
        out.push(Anomaly {
            detector,
            subject: subject.to_owned(),
            time: Timestamp::from_unix_nanos(now),
            detail,
            count,
            key_id: event.key().map(str::to_owned),
            tenant: event.tenant_id().map(str::to_owned),
            ip: event.client_ip(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::network_of;
    use std::net::IpAddr;

    #[test]
    fn networks_mask_v4_v6_and_mapped_addresses() {
        let n = |s: &str| network_of(s.parse::<IpAddr>().unwrap(), 24, 48);
        assert_eq!(n("203.0.113.77"), ("203.0.113.0".parse().unwrap(), 24));
        assert_eq!(
            n("::ffff:203.0.113.77"),
            ("203.0.113.0".parse().unwrap(), 24)
        );
        assert_eq!(n("2001:db8:1:2::9"), ("2001:db8:1::".parse().unwrap(), 48));
        assert_eq!(
            network_of("10.1.2.3".parse().unwrap(), 0, 0).0,
            "0.0.0.0".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            network_of("10.1.2.3".parse().unwrap(), 32, 128).0,
            "10.1.2.3".parse::<IpAddr>().unwrap()
        );
    }
}
