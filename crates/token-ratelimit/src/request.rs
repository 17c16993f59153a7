//! `CheckRequest`: what the limiter needs to know about one request.

use token_core::Principal;

use crate::quota::Quota;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Override<'a> {
    None,
    Text(&'a str),
    Parsed(Quota),
}

/// One request to check: who, which tenant and route class, the per-key override,
/// and the cost. Borrows everything; building one does not allocate.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct CheckRequest<'a> {
    pub(crate) principal: &'a str,
    pub(crate) tenant: Option<&'a str>,
    pub(crate) route_class: Option<&'a str>,
    pub(crate) overrides: Override<'a>,
    pub(crate) cost: u32,
    pub(crate) anonymous: bool,
}

impl<'a> CheckRequest<'a> {
    /// A cost-1 request by `principal` (its id), with no tenant, class or override.
    pub fn new(principal: &'a str) -> Self {
        Self {
            principal,
            tenant: None,
            route_class: None,
            overrides: Override::None,
            cost: 1,
            anonymous: false,
        }
    }

    /// A cost-1 request by an unauthenticated client, `client` naming it (e.g. its
    /// address or network). Its counters are kept apart from every principal's: in a
    /// table of their own in the local store (with its own cap), and under a global
    /// counter of their own, so anonymous traffic can never make an authenticated
    /// principal's request fail. The same text as a principal id is another counter.
    pub fn anonymous(client: &'a str) -> Self {
        Self {
            anonymous: true,
            ..Self::new(client)
        }
    }

    /// A cost-1 request by an authenticated principal: its id, tenant and per-key
    /// override ([`Principal::rate_limit`]).
    pub fn from_principal(principal: &'a Principal) -> Self {
        Self::new(principal.id())
            .tenant(principal.tenant())
            .override_quota_str(principal.rate_limit())
    }

    /// The principal's tenant.
    pub fn tenant(mut self, tenant: Option<&'a str>) -> Self {
        self.tenant = tenant;
        self
    }

    /// The rate class of the matched policy rule.
    pub fn route_class(mut self, class: Option<&'a str>) -> Self {
        self.route_class = class;
        self
    }

    /// The principal's per-key override as stored on its key record (e.g.
    /// `"1000/hour"`). It replaces the default principal limit for this principal. An
    /// unparsable override never panics: the default applies and the decision reports
    /// [`override_rejected`](crate::RateLimitDecision::override_rejected). Each thread
    /// remembers the last few override strings it parsed, so repeated overrides cost a
    /// comparison, not a parse.
    pub fn override_quota_str(mut self, quota: Option<&'a str>) -> Self {
        self.overrides = quota.map_or(Override::None, Override::Text);
        self
    }

    /// An already-parsed per-key override.
    pub fn override_quota(mut self, quota: Option<Quota>) -> Self {
        self.overrides = quota.map_or(Override::None, Override::Parsed);
        self
    }

    /// The request's cost (weight), default 1. A cost above a limit's burst can never
    /// pass; 0 charges nothing and reports the status.
    pub fn cost(mut self, cost: u32) -> Self {
        self.cost = cost;
        self
    }
}
