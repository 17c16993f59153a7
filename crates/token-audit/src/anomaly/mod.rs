//! Streaming anomaly detection with bounded memory.
//!
//! The auditor's worker shows every recorded event to an [`AnomalyDetector`]; each
//! finding becomes an `anomaly.detected` event in the trail and a call of the hook
//! given to [`AuditorBuilder::on_anomaly`](crate::AuditorBuilder::on_anomaly).

mod config;
mod detect;

use std::fmt;
use std::net::IpAddr;

pub use config::AnomalyConfig;
pub use detect::AnomalyDetector;

use crate::event::{AuditEvent, EventKind, Outcome};
use crate::time::Timestamp;

/// Which detector fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Detector {
    /// A key's request rate jumped far above its EWMA baseline.
    RateSpike,
    /// A key that was used from few networks appeared on a new one.
    NewNetwork,
    /// Many scope denials for one key in a short time (probing).
    ScopeProbing,
    /// Many failed authentications from one address (credential stuffing).
    AuthFailureBurst,
    /// A revoked or rotated-out key was presented (it may have leaked).
    RetiredKeyUse,
}

impl Detector {
    /// The stable code, used as the event's `reason`.
    pub fn code(self) -> &'static str {
        match self {
            Detector::RateSpike => "rate_spike",
            Detector::NewNetwork => "new_network",
            Detector::ScopeProbing => "scope_probing",
            Detector::AuthFailureBurst => "auth_failure_burst",
            Detector::RetiredKeyUse => "retired_key_use",
        }
    }
}

impl fmt::Display for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A finding: what fired, about whom, and the evidence.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Anomaly {
    /// The detector.
    pub detector: Detector,
    /// Whom it is about: a key id (or hint) or a client address.
    pub subject: String,
    /// When (the time of the event that triggered it).
    pub time: Timestamp,
    /// The evidence, for people.
    pub detail: String,
    /// The count behind it (requests in the window, denials in the burst, ...).
    pub count: u64,
    /// The key involved, if known.
    pub key_id: Option<String>,
    /// The tenant involved, if known.
    pub tenant: Option<String>,
    /// The client address involved, if known.
    pub ip: Option<IpAddr>,
}

impl AuditEvent {
    /// `anomaly.detected` for a finding: `reason` is the detector's code, `target` the
    /// subject.
    pub fn anomaly(a: &Anomaly) -> Self {
        let mut e = AuditEvent::new(EventKind::AnomalyDetected, Outcome::Alert)
            .reason(a.detector.code())
            .target(&a.subject)
            .detail(&a.detail)
            .count(a.count)
            .at(a.time);
        if let Some(k) = &a.key_id {
            e = e.key_id(k);
        }
        if let Some(t) = &a.tenant {
            e = e.tenant(t);
        }
        if let Some(ip) = a.ip {
            e = e.ip(ip);
        }
        e
    }
}
