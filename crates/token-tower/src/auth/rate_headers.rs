//! The rate-limit fields of a response (`RateLimit-Policy`, `RateLimit`, `Retry-After`
//! and the legacy `X-RateLimit-*`), as token-ratelimit formats them, turned into
//! header names and values.

use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, HeaderValue};
use token_ratelimit::{HeaderStyle, RateLimitDecision};

/// How many distinct `RateLimit-Policy` values are kept (one per limit and quota:
/// the principal, tenant, global and route-class limits, and the first per-key
/// overrides seen). Beyond them a value is built per response, as without a cache.
const POLICY_SLOTS: usize = 8;

/// The layer's header style and the `RateLimit-Policy` values already built. That
/// field is the same on every response under one limit and quota, so most responses
/// reuse a value (a reference count) instead of validating and copying the text.
#[derive(Debug, Default)]
pub(crate) struct RateHeaders {
    pub(crate) style: HeaderStyle,
    policies: [OnceLock<HeaderValue>; POLICY_SLOTS],
}

impl RateHeaders {
    pub(crate) fn new(style: HeaderStyle) -> Self {
        RateHeaders {
            style,
            policies: Default::default(),
        }
    }

    /// Adds the decision's fields to `headers`.
    pub(crate) fn add(&self, decision: &RateLimitDecision, headers: &mut HeaderMap) {
        decision.each_header(self.style, |name, value| {
            let value = if name == "ratelimit-policy" {
                self.policy(value)
            } else {
                HeaderValue::from_str(value).ok()
            };
            if let (Some(name), Some(value)) = (header_name(name), value) {
                headers.insert(name, value);
            }
        });
    }

    /// The cached value equal to `text`, caching it in a free slot if it is new.
    /// Two threads may race for one slot: the loser's value is still returned, and
    /// the next lookup finds the winner's.
    fn policy(&self, text: &str) -> Option<HeaderValue> {
        for slot in &self.policies {
            match slot.get() {
                Some(cached) if cached.as_bytes() == text.as_bytes() => {
                    return Some(cached.clone());
                }
                Some(_) => {}
                None => {
                    let value = HeaderValue::from_str(text).ok()?;
                    let _ = slot.set(value.clone());
                    return Some(value);
                }
            }
        }
        HeaderValue::from_str(text).ok()
    }
}

/// The rate-limit field names as header names, without parsing them per response.
/// The names are those [`HeaderStyle`] documents.
fn header_name(name: &str) -> Option<HeaderName> {
    // `from_static` in a const is checked at compile time; a match builds only the one
    // name it returns.
    const POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
    const LIMIT: HeaderName = HeaderName::from_static("ratelimit");
    const X_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
    const X_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
    const X_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
    Some(match name {
        "ratelimit-policy" => POLICY,
        "ratelimit" => LIMIT,
        "retry-after" => http::header::RETRY_AFTER,
        "x-ratelimit-limit" => X_LIMIT,
        "x-ratelimit-remaining" => X_REMAINING,
        "x-ratelimit-reset" => X_RESET,
        other => return HeaderName::try_from(other).ok(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_values_are_reused_and_distinct_values_kept_apart() {
        let cache = RateHeaders::new(HeaderStyle::Ietf);
        let a = "\"principal\";q=100;w=60";
        let b = "\"principal\";q=5;w=1";
        assert_eq!(cache.policy(a).unwrap(), a);
        assert_eq!(cache.policy(b).unwrap(), b);
        assert_eq!(cache.policy(a).unwrap(), a);
        assert_eq!(
            cache.policies.iter().filter(|s| s.get().is_some()).count(),
            2
        );
        // Once every slot is taken, new values are still answered, just not kept.
        for n in 0..2 * POLICY_SLOTS {
            let text = format!("\"principal\";q={n};w=1");
            assert_eq!(cache.policy(&text).unwrap(), text.as_str());
        }
        assert_eq!(cache.policy(b).unwrap(), b);
        // A value that is not a header value is dropped, never cached.
        let fresh = RateHeaders::new(HeaderStyle::Ietf);
        assert!(fresh.policy("bad\nvalue").is_none());
        assert!(fresh.policies[0].get().is_none());
    }
}
