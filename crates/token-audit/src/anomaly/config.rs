//! [`AnomalyConfig`]: thresholds of the detectors, with documented defaults.

use std::time::Duration;

/// Thresholds of the anomaly detectors. Every default is listed in `docs/audit.md`;
/// each setter documents its own.
#[derive(Debug, Clone)]
pub struct AnomalyConfig {
    pub(crate) rate_window: Duration,
    pub(crate) rate_alpha: f64,
    pub(crate) rate_factor: f64,
    pub(crate) rate_min_count: u64,
    pub(crate) rate_warmup_windows: u32,
    pub(crate) network_stable_after: u64,
    pub(crate) network_max_known: usize,
    pub(crate) ipv4_prefix: u8,
    pub(crate) ipv6_prefix: u8,
    pub(crate) scope_burst: (usize, Duration),
    pub(crate) auth_failure_burst: (usize, Duration),
    pub(crate) leaked_key_codes: Vec<String>,
    pub(crate) cooldown: Duration,
    pub(crate) max_subjects: usize,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            rate_window: Duration::from_secs(10),
            rate_alpha: 0.3,
            rate_factor: 4.0,
            rate_min_count: 50,
            rate_warmup_windows: 6,
            network_stable_after: 100,
            network_max_known: 2,
            ipv4_prefix: 24,
            ipv6_prefix: 48,
            scope_burst: (10, Duration::from_secs(60)),
            auth_failure_burst: (20, Duration::from_secs(60)),
            leaked_key_codes: vec!["key_revoked".to_owned(), "key_rotated".to_owned()],
            cooldown: Duration::from_secs(300),
            max_subjects: 10_000,
        }
    }
}

impl AnomalyConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rate spikes: requests per key are counted in windows of `window` (default
    /// 10 s); the baseline is an EWMA of past windows with weight `alpha` (0.3); a
    /// window alarms once its count exceeds `factor` (4) times the baseline and
    /// `min_count` (50), after `warmup` (6) windows of history.
    pub fn rate_spike(
        mut self,
        window: Duration,
        alpha: f64,
        factor: f64,
        min_count: u64,
        warmup: u32,
    ) -> Self {
        self.rate_window = window.max(Duration::from_millis(1));
        self.rate_alpha = alpha.clamp(0.01, 1.0);
        self.rate_factor = factor.max(1.0);
        self.rate_min_count = min_count.max(1);
        self.rate_warmup_windows = warmup;
        self
    }

    /// New networks: a key seen on at most `max_known` (2) networks over at least
    /// `stable_after` (100) requests alarms on a request from another network.
    /// Networks are /`ipv4_prefix` (24) and /`ipv6_prefix` (48).
    pub fn new_network(
        mut self,
        stable_after: u64,
        max_known: usize,
        ipv4_prefix: u8,
        ipv6_prefix: u8,
    ) -> Self {
        self.network_stable_after = stable_after;
        self.network_max_known = max_known.max(1);
        self.ipv4_prefix = ipv4_prefix.min(32);
        self.ipv6_prefix = ipv6_prefix.min(128);
        self
    }

    /// Scope probing: `count` (10) scope denials for one key within `within` (60 s).
    pub fn scope_burst(mut self, count: usize, within: Duration) -> Self {
        self.scope_burst = (count.max(1), within);
        self
    }

    /// Credential stuffing: `count` (20) failed authentications from one address
    /// within `within` (60 s).
    pub fn auth_failure_burst(mut self, count: usize, within: Duration) -> Self {
        self.auth_failure_burst = (count.max(1), within);
        self
    }

    /// The `auth.failed` reason codes that mean a retired key was used, so it may have
    /// leaked (default `key_revoked`, `key_rotated`).
    pub fn leaked_key_codes(mut self, codes: &[&str]) -> Self {
        self.leaked_key_codes = codes.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// After an alarm, the same detector stays quiet about the same subject for
    /// `cooldown` (300 s).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// How many keys, addresses and subjects each detector tracks (10 000); the least
    /// recently seen are forgotten first.
    pub fn max_subjects(mut self, n: usize) -> Self {
        self.max_subjects = n.max(1);
        self
    }
}
