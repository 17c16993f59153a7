//! `Limiter`: checks one request against every limit that applies to it.

use std::sync::Arc;
use std::time::Duration;

use crate::builder::{Limit, LimiterBuilder, Mode};
use crate::decision::{LimitStatus, Outcome, RateLimitDecision, Refusal, RefusalReason};
use crate::gcra::Denied;
use crate::key::{GLOBAL, KeyHasher, LimitKey, LimitName, PRINCIPAL, TENANT};
use crate::local::{Charges, LocalStore};
use crate::overrides::parse_override;
use crate::quota::Quota;
use crate::request::{CheckRequest, Override};
use crate::store::{
    Admission, Admissions, BatchOutcome, LimitCheck, LimitStore, MAX_LIMITS, StoreRefusal,
};
use token_core::Clock;

#[derive(Debug)]
pub(crate) struct RouteLimit {
    pub(crate) class: Box<str>,
    pub(crate) label: LimitName,
    pub(crate) limit: Limit,
    pub(crate) hasher: KeyHasher,
}

/// Layered rate limits: per principal (with per-key overrides), per tenant, per route
/// class and global. A request is admitted only if **every** applicable limit admits
/// it. Limits are charged in order (principal, tenant, route, global; local before
/// strict); when a later limit refuses, or the `check` future is dropped while a strict
/// store answers, the local charges are refunded. A refund gives back only what the
/// charge still holds then, never capacity another request took: it never causes an
/// over-admission, it is exact when no other request touched the counter meanwhile,
/// and under contention it may give back less (a conservative refusal later). See
/// `docs/rate-limits.md`.
///
/// Build with [`Limiter::builder`]; share with an `Arc`. See the crate docs for an
/// example.
#[derive(Debug)]
pub struct Limiter<S = LocalStore> {
    pub(crate) principal: Option<Limit>,
    pub(crate) tenant: Option<Limit>,
    /// Sorted by class name.
    pub(crate) routes: Vec<RouteLimit>,
    pub(crate) global: Option<Limit>,
    pub(crate) local: LocalStore,
    pub(crate) store: S,
    pub(crate) clock: Arc<dyn Clock>,
    /// Principal, tenant, global.
    pub(crate) hashers: [KeyHasher; 3],
    pub(crate) fail_open: bool,
}

/// The checks one request needs, inline: local ones first, then strict ones, each
/// group in evaluation order (principal, tenant, route, global).
#[derive(Debug)]
struct Plan<'a> {
    items: [LimitCheck<'a>; MAX_LIMITS],
    local_len: usize,
    len: usize,
    override_rejected: bool,
}

impl<'a> Plan<'a> {
    #[inline]
    fn new() -> Self {
        let placeholder = LimitCheck::new(KeyHasher::placeholder(), &Quota::PLACEHOLDER, 0);
        Self {
            items: [placeholder; MAX_LIMITS],
            local_len: 0,
            len: 0,
            override_rejected: false,
        }
    }

    #[inline]
    fn push(&mut self, check: LimitCheck<'a>, mode: Mode) {
        if self.len == MAX_LIMITS {
            return; // one check per layer: never more than MAX_LIMITS
        }
        if mode == Mode::Strict {
            self.items[self.len] = check;
        } else {
            if self.local_len < self.len {
                self.items
                    .copy_within(self.local_len..self.len, self.local_len + 1);
            }
            self.items[self.local_len] = check;
            self.local_len += 1;
        }
        self.len += 1;
    }

    #[inline]
    fn local(&self) -> &[LimitCheck<'a>] {
        &self.items[..self.local_len]
    }

    #[inline]
    fn strict(&self) -> &[LimitCheck<'a>] {
        &self.items[self.local_len..self.len]
    }
}

impl Limiter<LocalStore> {
    /// Starts configuring a limiter.
    pub fn builder() -> LimiterBuilder<LocalStore> {
        LimiterBuilder::new()
    }
}

impl<S: LimitStore> Limiter<S> {
    /// Checks `request` against every applicable limit and charges them, all or
    /// nothing. Strict limits cost one store round trip; when none applies the
    /// future is ready at once (or call [`try_check`](Self::try_check)).
    pub async fn check(&self, request: &CheckRequest<'_>) -> RateLimitDecision {
        let now = now_nanos(&*self.clock);
        let mut parsed = None;
        let (principal, rejected) = self.principal_limit(request, &mut parsed);
        let plan = self.plan(request, principal, rejected);
        let mut local = Admissions::new();
        let mut charges = Charges::default();
        if let Err(refusal) = self
            .local
            .acquire_at(plan.local(), now, &mut local, &mut charges)
        {
            return self.refused_locally(&plan, refusal, now);
        }
        let checks = plan.strict();
        if checks.is_empty() {
            return decision(
                &plan,
                Outcome::Allowed(most_restrictive(&plan, local.as_slice(), &[])),
            );
        }
        // Given back unless kept, also if this future is dropped while the store works.
        let pending = PendingCharges {
            local: &self.local,
            clock: &*self.clock,
            checks: plan.local(),
            charges,
        };
        match self.store.acquire(checks, Duration::from_nanos(now)).await {
            Ok(BatchOutcome::Admitted(strict)) => {
                pending.keep();
                decision(
                    &plan,
                    Outcome::Allowed(most_restrictive(&plan, local.as_slice(), strict.as_slice())),
                )
            }
            Ok(BatchOutcome::Refused(refusal)) => {
                drop(pending);
                let check = checks.get(refusal.index()).unwrap_or(&checks[0]);
                decision(
                    &plan,
                    Outcome::Limited(to_refusal(check, refusal.reason(), refusal.retry_after())),
                )
            }
            Err(error) if self.fail_open => {
                pending.keep();
                let status = most_restrictive(&plan, local.as_slice(), &[]);
                RateLimitDecision {
                    failed_open: Some(error.kind()),
                    ..decision(&plan, Outcome::Allowed(status))
                }
            }
            Err(error) => {
                drop(pending);
                let mut refusal = to_refusal(&checks[0], RefusalReason::StoreUnavailable, None);
                refusal.store_error = Some(error.kind());
                decision(&plan, Outcome::Limited(refusal))
            }
        }
    }

    /// Checks `request` synchronously when every applicable limit is local; `None`
    /// when a strict limit applies (then call [`check`](Self::check)).
    pub fn try_check(&self, request: &CheckRequest<'_>) -> Option<RateLimitDecision> {
        let mut parsed = None;
        let (principal, rejected) = self.principal_limit(request, &mut parsed);
        let plan = self.plan(request, principal, rejected);
        if !plan.strict().is_empty() {
            return None;
        }
        let now = now_nanos(&*self.clock);
        let mut local = Admissions::new();
        let mut charges = Charges::default();
        Some(
            match self
                .local
                .acquire_at(plan.local(), now, &mut local, &mut charges)
            {
                Ok(()) => decision(
                    &plan,
                    Outcome::Allowed(most_restrictive(&plan, local.as_slice(), &[])),
                ),
                Err(refusal) => self.refused_locally(&plan, refusal, now),
            },
        )
    }

    /// How many local counters are tracked now (bounded by `max_keys`).
    pub fn tracked_keys(&self) -> usize {
        self.local.len()
    }

    /// The local store (for its size and cap).
    pub fn local_store(&self) -> &LocalStore {
        &self.local
    }

    /// The shared store used by strict limits.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Sweeps idle local counters now, besides the scheduled sweeps.
    pub fn sweep(&self) {
        self.local.sweep(self.clock.elapsed());
    }

    /// The principal limit for `request`: its override when that parses, else the
    /// default; and whether an override was rejected.
    #[inline]
    fn principal_limit<'s>(
        &'s self,
        request: &CheckRequest<'_>,
        parsed: &'s mut Option<Limit>,
    ) -> (Option<&'s Limit>, bool) {
        let mode = self.principal.map_or(Mode::Local, |l| l.mode);
        let quota = match request.overrides {
            Override::None => return (self.principal.as_ref(), false),
            Override::Parsed(quota) => quota,
            Override::Text(text) => match parse_override(text) {
                Some(quota) => quota,
                None => return (self.principal.as_ref(), true),
            },
        };
        (Some(parsed.insert(Limit { quota, mode })), false)
    }

    #[inline]
    fn plan<'a>(
        &'a self,
        request: &CheckRequest<'a>,
        principal: Option<&'a Limit>,
        override_rejected: bool,
    ) -> Plan<'a> {
        let mut plan = Plan::new();
        plan.override_rejected = override_rejected;
        let mut add = |limit: &'a Limit, key: LimitKey<'a>| {
            plan.push(LimitCheck::new(key, &limit.quota, request.cost), limit.mode);
        };
        let [principal_hasher, tenant_hasher, global_hasher] = &self.hashers;
        let anonymous = request.anonymous;
        if let Some(limit) = principal {
            add(
                limit,
                principal_hasher.key_of(&PRINCIPAL, request.principal, anonymous),
            );
        }
        if let (Some(limit), Some(tenant)) = (&self.tenant, request.tenant) {
            add(limit, tenant_hasher.key(&TENANT, tenant));
        }
        if let Some(class) = request.route_class
            && let Ok(index) = self.routes.binary_search_by(|r| (*r.class).cmp(class))
        {
            let route = &self.routes[index];
            add(
                &route.limit,
                route
                    .hasher
                    .key_of(&route.label, request.principal, anonymous),
            );
        }
        // Anonymous traffic has a global counter of its own: it never uses up the
        // principals' share.
        if let Some(limit) = &self.global {
            add(limit, global_hasher.key_of(&GLOBAL, "", anonymous));
        }
        plan
    }

    /// A local limit refused (and nothing stays charged). Reports the refusing limit
    /// with the longest wait among it and the local limits after it.
    #[cold]
    fn refused_locally(
        &self,
        plan: &Plan<'_>,
        refusal: StoreRefusal,
        now: u64,
    ) -> RateLimitDecision {
        let checks = plan.local();
        let index = refusal.index().min(checks.len().saturating_sub(1));
        let mut worst = (index, refusal.reason(), refusal.retry_after());
        for (later, check) in checks.iter().enumerate().skip(index + 1) {
            let (reason, wait) = match self.local.peek(check, now) {
                Ok(_) => continue,
                Err(Denied::Wait(wait)) => {
                    (RefusalReason::Exhausted, Some(Duration::from_nanos(wait)))
                }
                Err(Denied::Never) => (RefusalReason::CostExceedsBurst, None),
            };
            if longer(wait, worst.2) {
                worst = (later, reason, wait);
            }
        }
        decision(
            plan,
            Outcome::Limited(to_refusal(&checks[worst.0], worst.1, worst.2)),
        )
    }
}

/// Local charges awaiting the strict store's answer. Dropping it refunds them (at the
/// clock's time then, so only what they still hold): on a refusal, on a store error
/// that fails closed, and when the `check` future is dropped mid-flight. `keep` when
/// the request is admitted.
struct PendingCharges<'a, 'c> {
    local: &'a LocalStore,
    clock: &'a dyn Clock,
    checks: &'a [LimitCheck<'c>],
    charges: Charges,
}

impl PendingCharges<'_, '_> {
    fn keep(mut self) {
        self.checks = &[];
    }
}

impl Drop for PendingCharges<'_, '_> {
    fn drop(&mut self) {
        if !self.checks.is_empty() {
            let now = now_nanos(self.clock);
            self.local.refund_all(self.checks, &self.charges, now);
        }
    }
}

/// Whether wait `a` is longer than `b`, `None` meaning never.
fn longer(a: Option<Duration>, b: Option<Duration>) -> bool {
    match (a, b) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(a), Some(b)) => a > b,
    }
}

fn to_refusal(
    check: &LimitCheck<'_>,
    reason: RefusalReason,
    retry_after: Option<Duration>,
) -> Refusal {
    Refusal {
        reason,
        name: check.key().name(),
        quota: *check.quota(),
        retry_after,
        store_error: None,
    }
}

#[inline]
fn decision(plan: &Plan<'_>, outcome: Outcome) -> RateLimitDecision {
    RateLimitDecision {
        outcome,
        override_rejected: plan.override_rejected,
        failed_open: None,
    }
}

/// The admitted limit with the fewest remaining requests (ties: longest reset, then
/// evaluation order). Strict admissions may be empty (failed open).
#[inline]
fn most_restrictive(
    plan: &Plan<'_>,
    local: &[Admission],
    strict: &[Admission],
) -> Option<LimitStatus> {
    let local = plan.local().iter().zip(local);
    let strict = plan.strict().iter().zip(strict);
    let mut best: Option<LimitStatus> = None;
    for (check, admission) in local.chain(strict) {
        let status = LimitStatus {
            name: check.key().name(),
            quota: *check.quota(),
            remaining: admission.remaining(),
            reset: admission.reset(),
        };
        let tighter = best.is_none_or(|b| {
            status.remaining < b.remaining
                || (status.remaining == b.remaining && status.reset > b.reset)
        });
        if tighter {
            best = Some(status);
        }
    }
    best
}

/// Nanoseconds on the clock's monotonic scale, saturating.
#[inline]
fn now_nanos(clock: &dyn Clock) -> u64 {
    u64::try_from(clock.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
