//! `LimitStore`: the seam for shared limit state (a Redis backend, later).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::decision::RefusalReason;
use crate::error::LimitStoreError;
use crate::key::LimitKey;
use crate::quota::Quota;

/// The most limits one request is checked against: principal, tenant, route, global.
pub const MAX_LIMITS: usize = 4;

/// One counter to charge: which counter, under which quota, how much.
#[derive(Debug, Clone, Copy)]
pub struct LimitCheck<'a> {
    key: LimitKey<'a>,
    quota: &'a Quota,
    cost: u32,
}

impl<'a> LimitCheck<'a> {
    #[inline]
    pub(crate) fn new(key: LimitKey<'a>, quota: &'a Quota, cost: u32) -> Self {
        Self { key, quota, cost }
    }

    /// The counter.
    pub fn key(&self) -> &LimitKey<'a> {
        &self.key
    }

    /// The quota to apply. A key's quota may differ between calls (per-key
    /// overrides, configuration changes): stores keep only GCRA's theoretical
    /// arrival time, which is meaningful under any quota.
    pub fn quota(&self) -> &'a Quota {
        self.quota
    }

    /// The request's cost (weight). 0 charges nothing and only reports the status.
    pub fn cost(&self) -> u32 {
        self.cost
    }
}

/// What an admitted check left on its counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Admission {
    remaining: u64,
    reset: Duration,
}

impl Admission {
    /// `remaining` cost-1 requests would still pass now; the counter is back to a full
    /// burst after `reset`.
    #[inline]
    pub const fn new(remaining: u64, reset: Duration) -> Self {
        Self { remaining, reset }
    }

    /// How many cost-1 requests would still pass now.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// How long until the counter is back to a full burst.
    pub fn reset(&self) -> Duration {
        self.reset
    }
}

/// The admissions of a batch, in the batch's order (at most [`MAX_LIMITS`], inline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Admissions {
    items: [Admission; MAX_LIMITS],
    len: usize,
}

impl Admissions {
    /// An empty list.
    #[inline]
    pub fn new() -> Self {
        Self {
            items: [Admission::new(0, Duration::ZERO); MAX_LIMITS],
            len: 0,
        }
    }

    /// Appends `admission`; gives it back if the list already holds [`MAX_LIMITS`].
    #[inline]
    pub fn push(&mut self, admission: Admission) -> Result<(), Admission> {
        let slot = self.items.get_mut(self.len).ok_or(admission)?;
        *slot = admission;
        self.len += 1;
        Ok(())
    }

    /// The admissions so far.
    pub fn as_slice(&self) -> &[Admission] {
        &self.items[..self.len]
    }
}

/// Which check of a batch was refused, and when it could pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreRefusal {
    index: usize,
    reason: RefusalReason,
    retry_after: Option<Duration>,
}

impl StoreRefusal {
    /// The check at `index` was refused for `reason`; it could pass after
    /// `retry_after` (`None`: never, or unknown).
    pub fn new(index: usize, reason: RefusalReason, retry_after: Option<Duration>) -> Self {
        Self {
            index,
            reason,
            retry_after,
        }
    }

    /// The refused check's index in the batch.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Why it was refused.
    pub fn reason(&self) -> RefusalReason {
        self.reason
    }

    /// When it could pass.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

/// The answer to a batch: all admitted, or none charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchOutcome {
    /// Every check passed and was charged.
    Admitted(Admissions),
    /// A check was refused; **no** check of the batch was charged.
    Refused(StoreRefusal),
}

/// Where strict limits keep their counters: the seam for shared state across
/// replicas (a Redis backend implements it in one round trip, e.g. one Lua script).
///
/// The contract is **all or nothing**: either every check of the batch passes and is
/// charged, or none is charged and the answer says which one refused. Implement GCRA
/// with the quota of each check (emission interval `period / count`, tolerance
/// `emission · (burst − 1)`, see [`Quota`]). `now` is the limiter's clock; a shared
/// store may use its own time source instead, so replicas agree.
///
/// [`LocalStore`](crate::backend::LocalStore) implements it with a ready future; remote stores
/// return their I/O future. An `Err` makes the limiter fail closed (the request is
/// refused as unavailable) unless it was built with
/// [`dangerous_fail_open`](crate::LimiterBuilder::dangerous_fail_open).
pub trait LimitStore: Send + Sync + fmt::Debug + 'static {
    /// Charges all of `checks` or none of them.
    fn acquire(
        &self,
        checks: &[LimitCheck<'_>],
        now: Duration,
    ) -> impl Future<Output = Result<BatchOutcome, LimitStoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admissions_hold_at_most_max_limits() {
        let mut list = Admissions::new();
        for i in 0..MAX_LIMITS as u64 {
            list.push(Admission::new(i, Duration::from_secs(i)))
                .unwrap();
        }
        let extra = Admission::new(9, Duration::ZERO);
        assert_eq!(list.push(extra), Err(extra));
        assert_eq!(list.as_slice().len(), MAX_LIMITS);
        assert_eq!(list.as_slice()[2].remaining(), 2);
        assert_eq!(list.as_slice()[3].reset(), Duration::from_secs(3));
    }
}
