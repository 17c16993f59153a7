//! The rules for a key's attributes, shared by minting and updating (and so by the
//! admin API, the CLI and the portal): each refusal names the field and the rule
//! ([`ApiKeyErrorKind::InvalidInput`](super::ApiKeyErrorKind::InvalidInput)).

use std::collections::BTreeMap;

use super::manage::MAX_KEY_TTL_SECS;
use super::record::{MAX_METADATA_BYTES, MAX_METADATA_ENTRIES};
use super::{ApiKeyError, CreditPlan, Credits, Refill};
use crate::net::Cidr;

/// The most networks a key may name.
pub const MAX_NETWORKS: usize = 64;

/// The longest rate-limit override, in bytes.
pub const MAX_RATE_LIMIT_LEN: usize = 64;

/// The longest metadata key, in bytes.
pub const MAX_METADATA_KEY_LEN: usize = 128;

/// A lifetime in seconds: 1 to [`MAX_KEY_TTL_SECS`].
pub(super) fn check_ttl(secs: i64) -> Result<i64, ApiKeyError> {
    if (1..=MAX_KEY_TTL_SECS).contains(&secs) {
        Ok(secs)
    } else {
        Err(ApiKeyError::invalid_input(
            "ttl",
            "must be 1 second to ten years",
        ))
    }
}

/// An expiry: after `now`, at most [`MAX_KEY_TTL_SECS`] away.
pub(super) fn check_expires_at(at: i64, now: i64) -> Result<i64, ApiKeyError> {
    if at <= now || at > now.saturating_add(MAX_KEY_TTL_SECS) {
        let rule = "must be in the future, at most ten years away";
        return Err(ApiKeyError::invalid_input("expires_at", rule));
    }
    Ok(at)
}

/// The expiry asked by a `ttl` (from `now`) or an `expires_at` (not both), checked,
/// as an absolute time.
pub(super) fn expiry(
    ttl: Option<i64>,
    expires_at: Option<i64>,
    now: i64,
) -> Result<Option<i64>, ApiKeyError> {
    match (ttl, expires_at) {
        (Some(_), Some(_)) => Err(ApiKeyError::invalid_input(
            "expires_at",
            "give ttl or expires_at, not both",
        )),
        (Some(ttl), None) => Ok(Some(now.saturating_add(check_ttl(ttl)?))),
        (None, Some(at)) => Ok(Some(check_expires_at(at, now)?)),
        (None, None) => Ok(None),
    }
}

/// At most [`MAX_METADATA_ENTRIES`] entries, keys of 1 to
/// [`MAX_METADATA_KEY_LEN`] bytes, [`MAX_METADATA_BYTES`] of keys and values in all.
pub(super) fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<(), ApiKeyError> {
    if metadata.len() > MAX_METADATA_ENTRIES {
        return Err(ApiKeyError::invalid_input("metadata", "at most 64 entries"));
    }
    if metadata
        .keys()
        .any(|k| k.is_empty() || k.len() > MAX_METADATA_KEY_LEN)
    {
        return Err(ApiKeyError::invalid_input(
            "metadata",
            "each key must be 1 to 128 bytes",
        ));
    }
    if metadata
        .iter()
        .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(ApiKeyError::invalid_input(
            "metadata",
            "must not contain a NUL character",
        ));
    }
    let bytes: usize = metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
    if bytes > MAX_METADATA_BYTES {
        return Err(ApiKeyError::invalid_input(
            "metadata",
            "at most 4096 bytes of keys and values in all",
        ));
    }
    Ok(())
}

/// At most [`MAX_NETWORKS`] networks.
pub(super) fn check_networks(networks: &[Cidr]) -> Result<(), ApiKeyError> {
    if networks.len() > MAX_NETWORKS {
        return Err(ApiKeyError::invalid_input(
            "networks",
            "at most 64 networks",
        ));
    }
    Ok(())
}

/// A rate-limit override as stored: trimmed, 1 to [`MAX_RATE_LIMIT_LEN`] bytes. (Its
/// grammar is token-ratelimit's `Quota`, which the front ends parse; this crate
/// cannot depend on it.)
pub(super) fn checked_rate_limit(quota: &str) -> Result<String, ApiKeyError> {
    let quota = quota.trim();
    if quota.is_empty() || quota.len() > MAX_RATE_LIMIT_LEN {
        return Err(ApiKeyError::invalid_input(
            "rate_limit",
            "must be a quota such as 100/minute, at most 64 bytes",
        ));
    }
    Ok(quota.to_owned())
}

/// Credits (a balance or a refill amount) of at most `i64::MAX`, so that every
/// store can hold them in a signed 64-bit column.
pub(super) fn check_credits(credits: &Credits) -> Result<(), ApiKeyError> {
    let too_many = |n: u64| i64::try_from(n).is_err();
    if too_many(credits.remaining) {
        return Err(ApiKeyError::invalid_input(
            "credits.remaining",
            "must be at most 9223372036854775807",
        ));
    }
    if credits.refill.as_ref().is_some_and(|r| r.amount == 0) {
        return Err(ApiKeyError::invalid_input(
            "credits.refill.amount",
            "must be at least 1",
        ));
    }
    if credits.refill.as_ref().is_some_and(|r| too_many(r.amount)) {
        return Err(ApiKeyError::invalid_input(
            "credits.refill.amount",
            "must be at most 9223372036854775807",
        ));
    }
    Ok(())
}

impl CreditPlan {
    /// The credits this plan gives at `now`; a refill of nothing is refused, and so
    /// is a count above `i64::MAX`.
    pub(super) fn at(self, now: i64) -> Result<Credits, ApiKeyError> {
        let credits = self.credits_at(now)?;
        check_credits(&credits)?;
        Ok(credits)
    }

    fn credits_at(self, now: i64) -> Result<Credits, ApiKeyError> {
        let refill = match self.refill {
            None => None,
            Some((0, _)) => {
                return Err(ApiKeyError::invalid_input(
                    "credits.refill.amount",
                    "must be at least 1",
                ));
            }
            Some((amount, period)) => Some(Refill {
                amount,
                period,
                next_at: period.next_boundary(now),
            }),
        };
        Ok(Credits {
            remaining: self.remaining,
            refill,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(r: Result<impl std::fmt::Debug, ApiKeyError>) -> (&'static str, &'static str) {
        match r.unwrap_err().kind() {
            super::super::ApiKeyErrorKind::InvalidInput { field, rule } => (field, rule),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_refusal_names_its_field() {
        assert_eq!(rule(check_ttl(0)).0, "ttl");
        assert_eq!(rule(check_ttl(MAX_KEY_TTL_SECS + 1)).0, "ttl");
        assert_eq!(check_ttl(MAX_KEY_TTL_SECS).unwrap(), MAX_KEY_TTL_SECS);
        assert_eq!(rule(expiry(Some(1), Some(10), 0)).0, "expires_at");
        assert_eq!(rule(expiry(None, Some(0), 0)).0, "expires_at");
        assert_eq!(expiry(None, Some(10), 4).unwrap(), Some(10));
        assert_eq!(expiry(Some(6), None, 4).unwrap(), Some(10));
        assert_eq!(rule(checked_rate_limit("  ")).0, "rate_limit");
        assert_eq!(checked_rate_limit(" 5/s ").unwrap(), "5/s");
        let plan = CreditPlan::refilling(3, 0, super::super::RefillPeriod::Daily);
        assert_eq!(rule(plan.at(0)).0, "credits.refill.amount");
        let huge = u64::try_from(i64::MAX).unwrap() + 1;
        assert_eq!(rule(CreditPlan::fixed(huge).at(0)).0, "credits.remaining");
        let plan = CreditPlan::refilling(1, huge, super::super::RefillPeriod::Daily);
        assert_eq!(rule(plan.at(0)).0, "credits.refill.amount");
        assert!(CreditPlan::fixed(huge - 1).at(0).is_ok());
        let never = Credits::refilling(0, super::super::RefillPeriod::Daily, 0);
        assert_eq!(rule(check_credits(&never)).0, "credits.refill.amount");
        let nul = BTreeMap::from([("k".to_owned(), "a\0b".to_owned())]);
        assert_eq!(
            rule(check_metadata(&nul)),
            ("metadata", "must not contain a NUL character")
        );
        let many: BTreeMap<_, _> = (0..65).map(|i| (format!("k{i}"), String::new())).collect();
        assert_eq!(
            rule(check_metadata(&many)),
            ("metadata", "at most 64 entries")
        );
        let big: BTreeMap<_, _> = [("k".to_owned(), "v".repeat(4096))].into();
        assert_eq!(rule(check_metadata(&big)).0, "metadata");
        let fits: BTreeMap<_, _> = [("k".to_owned(), "v".repeat(4095))].into();
        assert!(check_metadata(&fits).is_ok());
        let empty_key: BTreeMap<_, _> = [(String::new(), "v".to_owned())].into();
        assert_eq!(rule(check_metadata(&empty_key)).0, "metadata");
    }
}
