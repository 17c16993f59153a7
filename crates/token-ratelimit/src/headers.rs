//! Response header values for a decision: the IETF `RateLimit-Policy` / `RateLimit`
//! fields (draft-ietf-httpapi-ratelimit-headers), `Retry-After`, and optionally the
//! legacy `X-RateLimit-*` trio. Names are lowercase so they can be used directly as
//! static HTTP header names; HTTP header names are case-insensitive.

use std::time::Duration;

use arrayvec::ArrayString;

use crate::decision::{Outcome, RateLimitDecision, RefusalReason};
use crate::key::LimitName;
use crate::quota::Quota;

/// `RateLimit-Policy: "<name>";q=<count>;w=<period seconds>`.
const RATELIMIT_POLICY: &str = "ratelimit-policy";
/// `RateLimit: "<name>";r=<remaining>;t=<seconds until reset>`.
const RATELIMIT: &str = "ratelimit";
/// `Retry-After: <seconds>`, on refusals that can be retried.
const RETRY_AFTER: &str = "retry-after";
/// Legacy: the limit's count per period.
const X_RATELIMIT_LIMIT: &str = "x-ratelimit-limit";
/// Legacy: requests remaining now.
const X_RATELIMIT_REMAINING: &str = "x-ratelimit-remaining";
/// Legacy: seconds until the limit is full again (a delta, not a timestamp).
const X_RATELIMIT_RESET: &str = "x-ratelimit-reset";

/// Which header fields to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HeaderStyle {
    /// `RateLimit-Policy: "<name>";q=<count>;w=<period seconds>`,
    /// `RateLimit: "<name>";r=<remaining>;t=<seconds until reset>` and, on refusals
    /// that can be retried, `Retry-After: <seconds>`.
    #[default]
    Ietf,
    /// The IETF fields plus, for older clients, `X-RateLimit-Limit` (the count per
    /// period), `X-RateLimit-Remaining` (requests remaining now) and `X-RateLimit-Reset`
    /// (seconds until the limit is full again: a delta, not a timestamp).
    IetfAndLegacy,
}

/// Whole seconds, rounded up: a client told to wait never comes back too early.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// A header value being written: on the stack, never longer than [`Line::CAP`] (the
/// longest field is `RateLimit`: a 32-byte class name, two quotes, two `u64`s and their
/// separators, 80 bytes). An `ArrayString` is always valid UTF-8, so reading the line
/// back costs no validation.
struct Line {
    buf: ArrayString<{ Line::CAP }>,
}

impl Line {
    const CAP: usize = 96;

    fn new() -> Self {
        Line {
            buf: ArrayString::new(),
        }
    }

    fn push(&mut self, s: &str) -> &mut Self {
        // Every caller's input is bounded (see `CAP`); a longer one is cut on a
        // character boundary, not a panic.
        if self.buf.try_push_str(s).is_err() {
            let mut n = self.buf.remaining_capacity();
            while !s.is_char_boundary(n) {
                n -= 1;
            }
            let _ = self.buf.try_push_str(&s[..n]);
        }
        self
    }

    fn num(&mut self, n: u64) -> &mut Self {
        self.push(itoa::Buffer::new().format(n))
    }

    fn as_str(&self) -> &str {
        self.buf.as_str()
    }

    /// Each writer below starts the line afresh: one buffer serves every field.
    fn policy(&mut self, name: LimitName, quota: &Quota) -> &str {
        self.buf.clear();
        self.push("\"")
            .push(name.as_str())
            .push("\";q=")
            .num(u64::from(quota.count()))
            .push(";w=")
            .num(quota.period().as_secs())
            .as_str()
    }

    fn state(&mut self, name: LimitName, remaining: u64, reset_secs: u64) -> &str {
        self.buf.clear();
        self.push("\"")
            .push(name.as_str())
            .push("\";r=")
            .num(remaining)
            .push(";t=")
            .num(reset_secs)
            .as_str()
    }

    fn number(&mut self, n: u64) -> &str {
        self.buf.clear();
        self.num(n).as_str()
    }
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
    /// count, `r` may exceed `q` for an idle key. [`each_header`](Self::each_header)
    /// gives the same fields without allocating.
    ///
    /// ```
    /// use token_ratelimit::{CheckRequest, HeaderStyle, Limiter, Quota};
    /// use token_core::ManualClock;
    ///
    /// let limiter = Limiter::builder()
    ///     .principal(Quota::per_minute(100)?)
    ///     .clock(ManualClock::default())
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
        let mut out = Vec::with_capacity(6);
        self.each_header(style, |name, value| out.push((name, value.to_owned())));
        out
    }

    /// Calls `field` with each of [`headers`](Self::headers)' fields in the same
    /// order, each value formatted on the stack: what a server calls on every
    /// response. Values are ASCII and at most 96 bytes.
    ///
    /// ```
    /// use token_ratelimit::{CheckRequest, HeaderStyle, Limiter, Quota};
    /// use token_core::ManualClock;
    ///
    /// let limiter = Limiter::builder()
    ///     .principal(Quota::per_second(10)?)
    ///     .clock(ManualClock::default())
    ///     .build()?;
    /// let decision = limiter.try_check(&CheckRequest::new("key_1")).expect("all local");
    /// let mut seen = Vec::new();
    /// decision.each_header(HeaderStyle::Ietf, |name, value| {
    ///     seen.push(format!("{name}: {value}"));
    /// });
    /// assert_eq!(seen, ["ratelimit-policy: \"principal\";q=10;w=1", "ratelimit: \"principal\";r=9;t=1"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn each_header(&self, style: HeaderStyle, mut field: impl FnMut(&'static str, &str)) {
        let legacy = style == HeaderStyle::IetfAndLegacy;
        let mut line = Line::new();
        let (name, quota, remaining, wait) = match &self.outcome {
            Outcome::Allowed(None) => return,
            Outcome::Allowed(Some(status)) => {
                (status.name, status.quota, status.remaining, status.reset)
            }
            Outcome::Limited(refusal) => match (refusal.reason, refusal.retry_after) {
                (RefusalReason::StoreUnavailable, _) => return,
                (_, None) => {
                    field(RATELIMIT_POLICY, line.policy(refusal.name, &refusal.quota));
                    if legacy {
                        let count = u64::from(refusal.quota.count());
                        field(X_RATELIMIT_LIMIT, line.number(count));
                    }
                    return;
                }
                (_, Some(wait)) => (refusal.name, refusal.quota, 0, wait),
            },
        };
        let secs = ceil_secs(wait);
        field(RATELIMIT_POLICY, line.policy(name, &quota));
        field(RATELIMIT, line.state(name, remaining, secs));
        if !self.is_allowed() {
            field(RETRY_AFTER, line.number(secs));
        }
        if legacy {
            field(X_RATELIMIT_LIMIT, line.number(u64::from(quota.count())));
            field(X_RATELIMIT_REMAINING, line.number(remaining));
            field(X_RATELIMIT_RESET, line.number(secs));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_policy_fits() {
        let name = LimitName::route(&"c".repeat(crate::key::MAX_CLASS_LEN));
        let quota = Quota::new(u32::MAX, crate::Period::Day).expect("quota");
        let mut line = Line::new();
        let text = line.policy(name, &quota).to_owned();
        assert!(line.as_str().len() < Line::CAP, "{text}");
        assert_eq!(
            text,
            format!("\"{}\";q={};w=86400", "c".repeat(32), u32::MAX)
        );
        let mut full = Line::new();
        full.number(u64::MAX);
        full.push(&"x".repeat(200));
        assert_eq!(full.as_str().len(), Line::CAP);
        // A cut never splits a character.
        let mut wide = Line::new();
        wide.push(&"x".repeat(Line::CAP - 1)).push("é");
        assert_eq!(wide.as_str(), "x".repeat(Line::CAP - 1));
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(ceil_secs(Duration::ZERO), 0);
        assert_eq!(ceil_secs(Duration::from_nanos(1)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(1)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
    }
}
