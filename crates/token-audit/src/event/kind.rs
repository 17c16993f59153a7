//! What happened ([`EventKind`]) and how it ended ([`Outcome`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! kinds {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// What an [`AuditEvent`](crate::AuditEvent) records. Serialized as a stable
        /// dotted name (`auth.failed`); new kinds may be added.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EventKind {
            $( $(#[$doc])* $variant, )*
        }

        impl EventKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// The stable dotted name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( EventKind::$variant => $name, )*
                }
            }
        }

        impl FromStr for EventKind {
            type Err = UnknownKind;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $name => Ok(EventKind::$variant), )*
                    _ => Err(UnknownKind),
                }
            }
        }
    };
}

kinds! {
    /// A credential was accepted (and, for requests, the request let through).
    AuthSucceeded => "auth.succeeded",
    /// A credential was refused; the reason code says why.
    AuthFailed => "auth.failed",
    /// The client address is outside the credential's allowed networks.
    NetworkDenied => "network.denied",
    /// The credential lacks scopes the route requires (or the cross-tenant scope).
    ScopeDenied => "scope.denied",
    /// The route policy has no rule for the method and path (`no_rule`): it fails
    /// closed.
    PolicyDenied => "policy.denied",
    /// A rate limit refused the request.
    RateLimited => "rate.limited",
    /// The credential's usage credits or quota are exhausted.
    UsageExceeded => "usage.exceeded",
    /// An API key was created.
    KeyCreated => "key.created",
    /// An API key was rotated.
    KeyRotated => "key.rotated",
    /// An API key was revoked.
    KeyRevoked => "key.revoked",
    /// An API key's name, scopes, networks, limits or metadata changed.
    KeyUpdated => "key.updated",
    /// An access token was issued.
    TokenIssued => "token.issued",
    /// An access or refresh token was revoked.
    TokenRevoked => "token.revoked",
    /// A used refresh token was presented again; its family was revoked.
    RefreshReuseDetected => "refresh.reuse_detected",
    /// An OAuth client was registered.
    ClientCreated => "client.created",
    /// A detector saw something unusual (see `docs/audit.md`).
    AnomalyDetected => "anomaly.detected",
    /// The auditor dropped events under pressure; `count` says how many.
    AuditDropped => "audit.dropped",
}

impl EventKind {
    /// Whether the event is about one request's access decision (the kinds that
    /// usage roll-ups count).
    pub fn is_request(self) -> bool {
        matches!(
            self,
            EventKind::AuthSucceeded
                | EventKind::AuthFailed
                | EventKind::NetworkDenied
                | EventKind::ScopeDenied
                | EventKind::PolicyDenied
                | EventKind::RateLimited
                | EventKind::UsageExceeded
        )
    }
}

/// A name that is not an [`EventKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit event kind")]
pub struct UnknownKind;

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How the recorded decision or operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Access was granted or the operation succeeded.
    Allowed,
    /// Access was refused.
    Denied,
    /// Something failed (a backend, the audit pipeline itself).
    Error,
    /// Nothing was refused, but someone should look (anomalies).
    Alert,
}

impl Outcome {
    /// The stable name (`allowed`, `denied`, `error`, `alert`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
            Outcome::Alert => "alert",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{EventKind, Outcome};

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for &k in EventKind::ALL {
            assert!(seen.insert(k.as_str()));
            assert_eq!(k.as_str().parse::<EventKind>(), Ok(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{k}\""));
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), k);
        }
        assert_eq!(EventKind::ALL.len(), 17);
        assert!("auth.Failed".parse::<EventKind>().is_err());
        assert_eq!(
            serde_json::to_string(&Outcome::Denied).unwrap(),
            "\"denied\""
        );
    }
}
