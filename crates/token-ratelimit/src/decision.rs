//! `RateLimitDecision`: the limiter's answer, as data.

use std::time::Duration;

use crate::error::LimitStoreErrorKind;
use crate::key::LimitName;
use crate::quota::Quota;

/// Where one limit stands after an admitted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitStatus {
    pub(crate) name: LimitName,
    pub(crate) quota: Quota,
    pub(crate) remaining: u64,
    pub(crate) reset: Duration,
}

impl LimitStatus {
    /// Which limit.
    pub fn name(&self) -> LimitName {
        self.name
    }

    /// Its quota (the per-key override, if one applied).
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// How many more cost-1 requests would pass right now.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// How long until the limit is back to its full burst.
    pub fn reset(&self) -> Duration {
        self.reset
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalReason {
    /// The limit has no capacity left now; retry after the given time (HTTP 429).
    Exhausted,
    /// The request's cost exceeds the limit's burst: it can **never** pass, so there
    /// is no retry-after (HTTP 429 without `Retry-After`, or a 4xx of your choice).
    CostExceedsBurst,
    /// The local store is at its cap on tracked keys and this key is new (HTTP 429).
    KeyCapacity,
    /// A strict limit's shared store failed and the limiter fails closed (HTTP 503).
    StoreUnavailable,
}

/// A refused request: which limit refused, why, and when to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub(crate) reason: RefusalReason,
    pub(crate) name: LimitName,
    pub(crate) quota: Quota,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) store_error: Option<LimitStoreErrorKind>,
}

impl Refusal {
    /// Why.
    pub fn reason(&self) -> RefusalReason {
        self.reason
    }

    /// The limit that refused (for several, the one with the longest wait).
    pub fn name(&self) -> LimitName {
        self.name
    }

    /// That limit's quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// When the request could pass; `None` when it never can
    /// ([`RefusalReason::CostExceedsBurst`]) or nobody knows (store unavailable).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// For [`RefusalReason::StoreUnavailable`], how the store failed.
    pub fn store_error(&self) -> Option<LimitStoreErrorKind> {
        self.store_error
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Allowed(Option<LimitStatus>),
    Limited(Refusal),
}

/// The limiter's answer for one request: admitted (with the most restrictive limit's
/// status) or refused (with which limit, why and when to retry), plus notes for the
/// audit log. Turn it into response headers with [`headers`](Self::headers), on every
/// response, not only refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitDecision {
    pub(crate) outcome: Outcome,
    pub(crate) override_rejected: bool,
    pub(crate) failed_open: Option<LimitStoreErrorKind>,
}

impl RateLimitDecision {
    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self.outcome, Outcome::Allowed(_))
    }

    /// For an admitted request, the most restrictive limit: the one with the fewest
    /// remaining requests (ties: the longest reset). `None` when no limit applied.
    pub fn status(&self) -> Option<&LimitStatus> {
        match &self.outcome {
            Outcome::Allowed(status) => status.as_ref(),
            Outcome::Limited(_) => None,
        }
    }

    /// For a refused request, why and which limit.
    pub fn refusal(&self) -> Option<&Refusal> {
        match &self.outcome {
            Outcome::Limited(refusal) => Some(refusal),
            Outcome::Allowed(_) => None,
        }
    }

    /// For a refused request, when it could pass (see [`Refusal::retry_after`]).
    pub fn retry_after(&self) -> Option<Duration> {
        self.refusal().and_then(Refusal::retry_after)
    }

    /// The principal's per-key override did not parse as a quota; the principal
    /// limit's default applied instead. Worth an audit event: the key record is bad.
    pub fn override_rejected(&self) -> bool {
        self.override_rejected
    }

    /// The request was admitted although a strict limit's store failed, because the
    /// limiter was built with
    /// [`dangerous_fail_open`](crate::LimiterBuilder::dangerous_fail_open): the strict
    /// limits were not enforced. Audit it.
    pub fn failed_open(&self) -> Option<LimitStoreErrorKind> {
        self.failed_open
    }
}
