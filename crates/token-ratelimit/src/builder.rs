//! Configuring a `Limiter`: which limits, local or strict, memory bounds, clock, store.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{BuildError, BuildErrorKind};
use crate::key::{KeyHasher, LimitName, valid_class_name};
use crate::limiter::{Limiter, RouteLimit};
use crate::local::{
    DEFAULT_MAX_ANONYMOUS_KEYS, DEFAULT_MAX_KEYS, DEFAULT_SWEEP_INTERVAL, LocalStore,
};
use crate::quota::Quota;
use crate::store::LimitStore;
use token_core::{Clock, SystemClock};

/// Where a limit's counters live, and so how exact it is across replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Mode {
    /// In this process ([`LocalStore`]): no I/O, tens of nanoseconds. With R replicas
    /// each admits up to the quota, so up to R × the quota in total.
    #[default]
    Local,
    /// In the limiter's [`LimitStore`] (shared, e.g. Redis): exact across replicas,
    /// at the cost of one store round trip per request.
    Strict,
}

/// A quota and where its counters live. `Quota` converts into a local limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limit {
    pub(crate) quota: Quota,
    pub(crate) mode: Mode,
}

impl Limit {
    /// A local limit.
    pub fn local(quota: Quota) -> Self {
        Self {
            quota,
            mode: Mode::Local,
        }
    }

    /// A strict limit, kept in the limiter's shared store.
    pub fn strict(quota: Quota) -> Self {
        Self {
            quota,
            mode: Mode::Strict,
        }
    }

    /// The quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Where its counters live.
    pub fn mode(&self) -> Mode {
        self.mode
    }
}

impl From<Quota> for Limit {
    fn from(quota: Quota) -> Self {
        Self::local(quota)
    }
}

/// Builds a [`Limiter`]. Every limit is optional; a request is checked against each
/// configured limit that applies to it.
#[derive(Debug)]
#[must_use]
pub struct LimiterBuilder<S = LocalStore> {
    principal: Option<Limit>,
    tenant: Option<Limit>,
    routes: Vec<(String, Limit)>,
    global: Option<Limit>,
    max_keys: usize,
    max_anonymous_keys: usize,
    sweep_interval: Duration,
    clock: Arc<dyn Clock>,
    store: S,
    fail_open: bool,
}

impl LimiterBuilder<LocalStore> {
    pub(crate) fn new() -> Self {
        Self {
            principal: None,
            tenant: None,
            routes: Vec::new(),
            global: None,
            max_keys: DEFAULT_MAX_KEYS,
            max_anonymous_keys: DEFAULT_MAX_ANONYMOUS_KEYS,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            clock: Arc::new(SystemClock),
            store: LocalStore::new(),
            fail_open: false,
        }
    }
}

impl<S: LimitStore> LimiterBuilder<S> {
    /// The default limit per principal (API key or token subject). A principal's
    /// per-key override replaces its quota for that principal only (the mode stays).
    pub fn principal(mut self, limit: impl Into<Limit>) -> Self {
        self.principal = Some(limit.into());
        self
    }

    /// The limit per tenant, shared by the tenant's principals. Requests without a
    /// tenant skip it.
    pub fn tenant(mut self, limit: impl Into<Limit>) -> Self {
        self.tenant = Some(limit.into());
        self
    }

    /// A limit per principal for the routes of class `class` (the rate class of the
    /// matched policy rule). Requests with another class, an unknown class or none
    /// skip the route layer. The class name appears in headers: 1 to 32 ASCII letters,
    /// digits, `_`, `-` or `.`, and not `principal`, `tenant` or `global`.
    pub fn route_class(mut self, class: &str, limit: impl Into<Limit>) -> Self {
        self.routes.push((class.to_owned(), limit.into()));
        self
    }

    /// One limit over all requests.
    pub fn global(mut self, limit: impl Into<Limit>) -> Self {
        self.global = Some(limit.into());
        self
    }

    /// The hard cap on counters the local store tracks (default 1,000,000); see
    /// [`LocalStore`] for what happens at the cap.
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// The hard cap on counters of anonymous clients
    /// ([`CheckRequest::anonymous`](crate::CheckRequest::anonymous)), kept in a table
    /// of their own so that they never crowd out principals (default 100,000).
    pub fn max_anonymous_keys(mut self, max_keys: usize) -> Self {
        self.max_anonymous_keys = max_keys;
        self
    }

    /// How often idle local counters are swept out (default 10 s).
    pub fn sweep_interval(mut self, interval: Duration) -> Self {
        self.sweep_interval = interval;
        self
    }

    /// The time source, read through [`Clock::elapsed`] (default [`SystemClock`]);
    /// tests pass a [`token_core::ManualClock`].
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The shared store for [`Mode::Strict`] limits (default: a second
    /// [`LocalStore`] with default bounds, which makes strict limits per-process too;
    /// [`max_keys`](Self::max_keys) and [`sweep_interval`](Self::sweep_interval)
    /// configure the local limits' store, not this one).
    pub fn store<T: LimitStore>(self, store: T) -> LimiterBuilder<T> {
        LimiterBuilder {
            principal: self.principal,
            tenant: self.tenant,
            routes: self.routes,
            global: self.global,
            max_keys: self.max_keys,
            max_anonymous_keys: self.max_anonymous_keys,
            sweep_interval: self.sweep_interval,
            clock: self.clock,
            store,
            fail_open: self.fail_open,
        }
    }

    /// **Dangerous:** when the shared store fails, admit requests as if the strict
    /// limits had passed (local limits still apply) instead of refusing them with
    /// [`RefusalReason::StoreUnavailable`](crate::RefusalReason::StoreUnavailable).
    /// Such decisions report [`failed_open`](crate::RateLimitDecision::failed_open);
    /// audit them. Off by default: the limiter fails closed.
    pub fn dangerous_fail_open(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }

    /// Validates the configuration and builds the limiter.
    pub fn build(self) -> Result<Limiter<S>, BuildError> {
        if self.max_keys == 0 || self.max_anonymous_keys == 0 {
            return Err(BuildError::new(BuildErrorKind::ZeroMaxKeys, None));
        }
        if self.sweep_interval.is_zero() {
            return Err(BuildError::new(BuildErrorKind::ZeroSweepInterval, None));
        }
        let mut routes = Vec::with_capacity(self.routes.len());
        for (class, limit) in self.routes {
            if !valid_class_name(&class) {
                return Err(BuildError::new(
                    BuildErrorKind::InvalidClassName,
                    Some(&class),
                ));
            }
            if matches!(class.as_str(), "principal" | "tenant" | "global") {
                return Err(BuildError::new(
                    BuildErrorKind::ReservedClassName,
                    Some(&class),
                ));
            }
            routes.push(RouteLimit {
                label: LimitName::route(&class),
                class: class.into_boxed_str(),
                limit,
                hasher: KeyHasher::default(),
            });
        }
        routes.sort_by(|a, b| a.class.cmp(&b.class));
        if let Some(pair) = routes.windows(2).find(|w| w[0].class == w[1].class) {
            return Err(BuildError::new(
                BuildErrorKind::DuplicateClass,
                Some(&pair[0].class),
            ));
        }
        Ok(Limiter {
            principal: self.principal,
            tenant: self.tenant,
            routes,
            global: self.global,
            local: LocalStore::new()
                .with_max_keys(self.max_keys)
                .with_max_anonymous_keys(self.max_anonymous_keys)
                .with_sweep_interval(self.sweep_interval),
            store: self.store,
            clock: self.clock,
            hashers: [
                KeyHasher::default(),
                KeyHasher::default(),
                KeyHasher::default(),
            ],
            fail_open: self.fail_open,
        })
    }
}
