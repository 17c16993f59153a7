//! What is stored about an API key: never the key itself.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike as _, Months};
use serde::{Deserialize, Serialize};
use token_scopes::ScopeSet;

use super::KeyHash;
use crate::net::Cidr;

/// The most metadata entries a key may carry.
pub const MAX_METADATA_ENTRIES: usize = 64;

/// The most bytes of metadata (keys plus values) a key may carry.
pub const MAX_METADATA_BYTES: usize = 4096;

/// The stored record of an API key. It holds the key's hash, never the key; it is safe
/// to serialize, log and show in an admin API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeyRecord {
    /// Stable id (`key_…`), not secret.
    pub id: String,
    /// SHA-256 (or HMAC-SHA-256 with the pepper) of the key.
    pub hash: KeyHash,
    /// A non-secret hint such as `tk_live_3Fq9…`.
    pub hint: String,
    /// A human name ("Dashboard key").
    pub name: String,
    /// The owner or application.
    pub owner: Option<String>,
    /// The tenant.
    pub tenant: Option<String>,
    /// Granted scopes.
    pub scopes: ScopeSet,
    /// When it was minted (seconds since the epoch).
    pub created_at: i64,
    /// When it expires, if ever.
    pub expires_at: Option<i64>,
    /// Active, revoked or rotated.
    pub status: KeyStatus,
    /// Networks it may be used from; empty means anywhere.
    pub networks: Vec<Cidr>,
    /// A rate-limit override (a quota such as `1000/minute`).
    pub rate_limit: Option<String>,
    /// Usage credits, if the key holds a balance of its own. A rotation's successor
    /// holds none: it draws from [`KeyRecord::credits_from`]'s.
    pub credits: Option<Credits>,
    /// The key whose credits this one draws from: set on a metered key's rotation
    /// successors, naming the first key of the rotation line, so a key and all its
    /// successors share one balance. Use [`KeyRecord::is_metered`] to ask whether a
    /// key is metered at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits_from: Option<String>,
    /// Size-capped, non-secret metadata.
    pub metadata: BTreeMap<String, String>,
    /// When the key was last used, accurate to the cache TTL (it is written when a
    /// verification misses the cache).
    pub last_used_at: Option<i64>,
    /// Bumped by the store on every write; [`super::KeyStore::update`] succeeds only
    /// against the version it read, so concurrent changes never overwrite each other.
    #[serde(default)]
    pub version: u64,
}

impl KeyRecord {
    /// Whether uses of this key take credits (its own, or its rotation line's).
    pub fn is_metered(&self) -> bool {
        self.balance_id().is_some()
    }

    /// The id of the record whose credits pay for this key's uses, if metered.
    pub fn balance_id(&self) -> Option<&str> {
        match (&self.credits_from, &self.credits) {
            (Some(from), _) => Some(from),
            (None, Some(_)) => Some(&self.id),
            (None, None) => None,
        }
    }
}

/// The lifecycle state of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyStatus {
    /// In use.
    Active,
    /// Revoked: fails at once with `key_revoked`.
    Revoked {
        /// When.
        at: i64,
        /// Why (free text, for people).
        reason: String,
    },
    /// Replaced by `successor`; keeps working until `grace_end`, then fails with
    /// `key_rotated`.
    Rotated {
        /// The successor's id.
        successor: String,
        /// The end of the grace period.
        grace_end: i64,
    },
}

/// Usage credits: a remaining count, decremented atomically per use, optionally
/// refilled (replaced, not added to) every day or month (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Credits {
    /// Uses left until the next refill.
    pub remaining: u64,
    /// The refill, if any.
    pub refill: Option<Refill>,
}

/// How credits refill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Refill {
    /// The count after a refill.
    pub amount: u64,
    /// Daily or monthly.
    pub period: RefillPeriod,
    /// The next refill instant (seconds since the epoch).
    pub next_at: i64,
}

/// A refill period, on UTC calendar boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RefillPeriod {
    /// At 00:00 UTC every day.
    Daily,
    /// At 00:00 UTC on the first of every month.
    Monthly,
}

impl Credits {
    /// A fixed number of uses, never refilled.
    pub fn fixed(count: u64) -> Credits {
        Credits {
            remaining: count,
            refill: None,
        }
    }

    /// `amount` uses per period, starting full at `now`.
    pub fn refilling(amount: u64, period: RefillPeriod, now: i64) -> Credits {
        Credits {
            remaining: amount,
            refill: Some(Refill {
                amount,
                period,
                next_at: period.next_boundary(now),
            }),
        }
    }

    /// Applies any refill due at `now`, then takes one use. Returns the count left, or
    /// `None` when exhausted. This is the logic every [`super::KeyStore`] runs
    /// atomically.
    pub fn consume(&mut self, now: i64) -> Option<u64> {
        if let Some(refill) = &mut self.refill
            && now >= refill.next_at
        {
            self.remaining = refill.amount;
            refill.next_at = refill.period.next_boundary(now);
        }
        self.remaining = self.remaining.checked_sub(1)?;
        Some(self.remaining)
    }
}

impl RefillPeriod {
    /// The first boundary strictly after `now` (seconds since the epoch, UTC). A
    /// `now` outside the calendar's range (some 262,000 years either side of the
    /// epoch) has no next boundary: `i64::MAX`, so the credits never refill.
    pub fn next_boundary(self, now: i64) -> i64 {
        match self {
            RefillPeriod::Daily => (now.div_euclid(86_400) + 1).saturating_mul(86_400),
            RefillPeriod::Monthly => DateTime::from_timestamp(now, 0)
                .and_then(|t| t.date_naive().with_day(1))
                .and_then(|first| first.checked_add_months(Months::new(1)))
                .and_then(|next| next.and_hms_opt(0, 0, 0))
                .map_or(i64::MAX, |next| next.and_utc().timestamp()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Midnight UTC of a calendar day, in seconds since the epoch.
    fn midnight(y: i32, m: u32, d: u32) -> i64 {
        chrono::NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp()
    }

    #[test]
    fn calendar_boundaries() {
        // 2026-11-28T10:00:00Z.
        let now = 1_795_860_000;
        assert_eq!(midnight(2026, 11, 28), 1_795_824_000);
        assert_eq!(
            RefillPeriod::Daily.next_boundary(now),
            midnight(2026, 11, 29)
        );
        assert_eq!(
            RefillPeriod::Monthly.next_boundary(now),
            midnight(2026, 12, 1)
        );
        let dec = midnight(2026, 12, 15);
        assert_eq!(
            RefillPeriod::Monthly.next_boundary(dec),
            midnight(2027, 1, 1)
        );
        // Exactly on a boundary: the next one. A leap February.
        assert_eq!(
            RefillPeriod::Monthly.next_boundary(midnight(2024, 2, 1)),
            midnight(2024, 3, 1)
        );
        assert_eq!(
            RefillPeriod::Monthly.next_boundary(midnight(2024, 2, 29) + 86_399),
            midnight(2024, 3, 1)
        );
        assert_eq!(RefillPeriod::Daily.next_boundary(-1), 0);
        assert_eq!(
            RefillPeriod::Monthly.next_boundary(-1),
            midnight(1970, 1, 1)
        );
        // Beyond the calendar: never.
        assert_eq!(RefillPeriod::Daily.next_boundary(i64::MAX), i64::MAX);
        assert_eq!(RefillPeriod::Monthly.next_boundary(i64::MAX), i64::MAX);
        assert_eq!(RefillPeriod::Monthly.next_boundary(i64::MIN), i64::MAX);
    }

    #[test]
    fn an_unknown_key_state_never_reads_as_a_status() {
        // A state this version does not know (written by a newer one, or tampered)
        // is an error at the store boundary, never a usable key; in code, the status
        // is matched variant by variant (`Active` explicitly), so a new variant must be
        // handled where keys are verified.
        for known in [
            r#"{"state":"active"}"#,
            r#"{"state":"revoked","at":1,"reason":"x"}"#,
        ] {
            assert!(serde_json::from_str::<KeyStatus>(known).is_ok(), "{known}");
        }
        for unknown in [r#"{"state":"suspended"}"#, r#"{"state":"Active"}"#, "{}"] {
            assert!(
                serde_json::from_str::<KeyStatus>(unknown).is_err(),
                "{unknown}"
            );
        }
    }

    #[test]
    fn credits_refill_by_replacing() {
        let mut c = Credits::refilling(2, RefillPeriod::Daily, 0);
        assert_eq!(c.consume(10), Some(1));
        assert_eq!(c.consume(20), Some(0));
        assert_eq!(c.consume(30), None);
        assert_eq!(c.consume(86_399), None);
        // Next day: replaced with the amount (not added), then one taken.
        assert_eq!(c.consume(86_400), Some(1));
        let mut fixed = Credits::fixed(1);
        assert_eq!(fixed.consume(0), Some(0));
        assert_eq!(fixed.consume(1_000_000), None);
    }
}
