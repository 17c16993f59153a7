//! Response header values for a decision: the IETF `RateLimit-Policy` / `RateLimit`
//! fields (draft-ietf-httpapi-ratelimit-headers), `Retry-After`, and optionally the
//! legacy `X-RateLimit-*` trio. Names are lowercase so they can be used directly as
//! static HTTP header names; HTTP header names are case-insensitive.

use std::time::Duration;

use crate::decision::{Outcome, RateLimitDecision, RefusalReason};
use crate::key::LimitName;
use crate::quota::Quota;

/// `RateLimit-Policy: "<name>";q=<count>;w=<period seconds>`.
pub const RATELIMIT_POLICY: &str = "ratelimit-policy";
/// `RateLimit: "<name>";r=<remaining>;t=<seconds until reset>`.
pub const RATELIMIT: &str = "ratelimit";
/// `Retry-After: <seconds>`, on refusals that can be retried.
pub const RETRY_AFTER: &str = "retry-after";
/// Legacy: the limit's count per period.
pub const X_RATELIMIT_LIMIT: &str = "x-ratelimit-limit";
/// Legacy: requests remaining now.
pub const X_RATELIMIT_REMAINING: &str = "x-ratelimit-remaining";
/// Legacy: seconds until the limit is full again (a delta, not a timestamp).
pub const X_RATELIMIT_RESET: &str = "x-ratelimit-reset";

/// Which header fields to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HeaderStyle {
    /// `RateLimit-Policy`, `RateLimit` and `Retry-After`.
    #[default]
    Ietf,
    /// The IETF fields plus `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
    /// `X-RateLimit-Reset` for older clients.
    IetfAndLegacy,
}

/// Whole seconds, rounded up: a client told to wait never comes back too early.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn policy(name: LimitName, quota: &Quota) -> String {
    format!(
        "\"{name}\";q={};w={}",
        quota.count(),
        quota.period().as_secs()
    )
}

impl RateLimitDecision {
    /// The response header fields for this decision, as `(lowercase name, value)`.
    ///
    /// - Admitted: `RateLimit-Policy` and `RateLimit` for the most restrictive limit
    ///   (none when no limit applied).
    /// - Refused, retryable: the refusing limit's policy, `RateLimit` with `r=0` and
    ///   `t` = the wait, and `Retry-After` (seconds, rounded up).
    /// - Refused because the cost exceeds the burst: the policy only (retrying never
    ///   helps, so no `Retry-After`).
    /// - Store unavailable: nothing (the limit's state is unknown).
    ///
    /// `q` is the quota's count and `w` its period in seconds; with a burst above the
    /// count, `r` may exceed `q` for an idle key.
    ///
    /// ```
    /// use token_ratelimit::{CheckRequest, FakeClock, HeaderStyle, Limiter, Quota};
    ///
    /// let limiter = Limiter::builder()
    ///     .principal(Quota::per_minute(100)?)
    ///     .clock(FakeClock::new())
    ///     .build()?;
    /// let decision = limiter.try_check(&CheckRequest::new("key_1")).expect("all local");
    /// assert_eq!(
    ///     decision.headers(HeaderStyle::Ietf),
    ///     [
    ///         ("ratelimit-policy", "\"principal\";q=100;w=60".to_owned()),
    ///         ("ratelimit", "\"principal\";r=99;t=1".to_owned()),
    ///     ]
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn headers(&self, style: HeaderStyle) -> Vec<(&'static str, String)> {
        let legacy = style == HeaderStyle::IetfAndLegacy;
        let mut out = Vec::with_capacity(if legacy { 6 } else { 3 });
        let (name, quota, remaining, wait) = match &self.outcome {
            Outcome::Allowed(None) => return out,
            Outcome::Allowed(Some(status)) => {
                (status.name, status.quota, status.remaining, status.reset)
            }
            Outcome::Limited(refusal) => match (refusal.reason, refusal.retry_after) {
                (RefusalReason::StoreUnavailable, _) => return out,
                (_, None) => {
                    out.push((RATELIMIT_POLICY, policy(refusal.name, &refusal.quota)));
                    if legacy {
                        out.push((X_RATELIMIT_LIMIT, refusal.quota.count().to_string()));
                    }
                    return out;
                }
                (_, Some(wait)) => (refusal.name, refusal.quota, 0, wait),
            },
        };
        let secs = ceil_secs(wait);
        out.push((RATELIMIT_POLICY, policy(name, &quota)));
        out.push((RATELIMIT, format!("\"{name}\";r={remaining};t={secs}")));
        if !self.is_allowed() {
            out.push((RETRY_AFTER, secs.to_string()));
        }
        if legacy {
            out.push((X_RATELIMIT_LIMIT, quota.count().to_string()));
            out.push((X_RATELIMIT_REMAINING, remaining.to_string()));
            out.push((X_RATELIMIT_RESET, secs.to_string()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_up() {
        assert_eq!(ceil_secs(Duration::ZERO), 0);
        assert_eq!(ceil_secs(Duration::from_nanos(1)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(1)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
    }
}
