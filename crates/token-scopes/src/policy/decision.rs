//! The outcome of [`crate::Policy::authorize`], as data.

use std::fmt;

use super::Rule;
use super::router::Params;
use crate::{ScopeSet, Unsatisfied};

/// Who is asking: their scopes and tenant.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    scopes: &'a ScopeSet,
    tenant: Option<&'a str>,
}

impl<'a> Grant<'a> {
    /// A principal holding `scopes`, in no tenant.
    pub fn new(scopes: &'a ScopeSet) -> Self {
        Grant {
            scopes,
            tenant: None,
        }
    }

    /// Places the principal in a tenant.
    #[must_use]
    pub fn tenant(mut self, tenant: &'a str) -> Self {
        self.tenant = Some(tenant);
        self
    }

    /// The scopes held.
    pub fn scopes(&self) -> &'a ScopeSet {
        self.scopes
    }

    /// The tenant, if any.
    pub fn tenant_id(&self) -> Option<&'a str> {
        self.tenant
    }
}

/// A request matched to a rule, with the captured path parameters.
#[derive(Clone, Copy)]
pub struct RouteMatch<'p, 'r> {
    rule: &'p Rule,
    index: usize,
    path: &'r str,
    params: Params,
}

impl<'p, 'r> RouteMatch<'p, 'r> {
    pub(super) fn new(rule: &'p Rule, index: usize, path: &'r str, params: Params) -> Self {
        RouteMatch {
            rule,
            index,
            path,
            params,
        }
    }

    /// The matched rule's position in [`crate::Policy::rules`]: a key that outlives
    /// the request (middleware keeps it instead of copying the rule's strings).
    pub fn rule_index(&self) -> usize {
        self.index
    }

    /// The rule that matched.
    pub fn rule(&self) -> &'p Rule {
        self.rule
    }

    /// The raw (still percent-encoded) value of a path parameter.
    pub fn param(&self, name: &str) -> Option<&'r str> {
        let i = self.rule.template().param_names().position(|n| n == name)?;
        self.params.get(self.path, i)
    }

    /// Every captured parameter as `(name, raw value)`, in template order.
    pub fn params(&self) -> impl Iterator<Item = (&'p str, &'r str)> + '_ {
        self.rule
            .template()
            .param_names()
            .enumerate()
            .filter_map(|(i, n)| Some((n, self.params.get(self.path, i)?)))
    }
}

impl fmt::Debug for RouteMatch<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteMatch")
            .field("rule", &self.rule.name())
            .field("template", &self.rule.template().as_str())
            .finish_non_exhaustive()
    }
}

/// Allow, or deny with the reason.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Decision<'p, 'r> {
    /// The request may proceed; the matched rule carries the rate class.
    Allow(RouteMatch<'p, 'r>),
    /// The request is refused.
    Deny(Refusal<'p, 'r>),
}

impl<'p, 'r> Decision<'p, 'r> {
    pub(super) fn deny(route: Option<RouteMatch<'p, 'r>>, reason: DenyReason) -> Self {
        Decision::Deny(Refusal { route, reason })
    }

    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }

    /// The stable reason code of a denial; `None` when allowed.
    pub fn reason_code(&self) -> Option<&'static str> {
        match self {
            Decision::Allow(_) => None,
            Decision::Deny(d) => Some(d.reason.code()),
        }
    }

    /// The matched route, if any rule matched.
    pub fn route(&self) -> Option<&RouteMatch<'p, 'r>> {
        match self {
            Decision::Allow(m) => Some(m),
            Decision::Deny(d) => d.route.as_ref(),
        }
    }
}

/// A refused request: the rule that matched (if any) and why.
#[derive(Debug, Clone)]
pub struct Refusal<'p, 'r> {
    route: Option<RouteMatch<'p, 'r>>,
    reason: DenyReason,
}

impl<'p, 'r> Refusal<'p, 'r> {
    /// The matched route; `None` for [`DenyReason::NoRule`].
    pub fn route(&self) -> Option<&RouteMatch<'p, 'r>> {
        self.route.as_ref()
    }

    /// Why.
    pub fn reason(&self) -> &DenyReason {
        &self.reason
    }
}

/// Why a request was denied. Each has a stable [`DenyReason::code`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenyReason {
    /// No rule matches the method and path (`no_rule`): the policy fails closed.
    NoRule,
    /// The route needs a principal and none was given (`unauthenticated`).
    Unauthenticated,
    /// The scopes do not satisfy the route's requirement (`insufficient_scope`).
    InsufficientScope(Unsatisfied),
    /// The route's tenant parameter is not the principal's tenant, and the principal
    /// lacks the cross-tenant scope (`tenant_mismatch`).
    TenantMismatch,
}

impl DenyReason {
    /// The stable, documented reason code.
    pub fn code(&self) -> &'static str {
        match self {
            DenyReason::NoRule => "no_rule",
            DenyReason::Unauthenticated => "unauthenticated",
            DenyReason::InsufficientScope(_) => "insufficient_scope",
            DenyReason::TenantMismatch => "tenant_mismatch",
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::NoRule => f.write_str("no policy rule matches this request"),
            DenyReason::Unauthenticated => f.write_str("this route needs a credential"),
            DenyReason::InsufficientScope(u) => fmt::Display::fmt(u, f),
            DenyReason::TenantMismatch => f.write_str("the route belongs to another tenant"),
        }
    }
}

/// Compares a raw path segment, percent-decoded, with `expected`, without allocating.
/// Malformed escapes never compare equal.
pub(super) fn percent_decoded_eq(raw: &str, expected: &str) -> bool {
    let raw = raw.as_bytes();
    let mut want = expected.bytes();
    let mut i = 0;
    while i < raw.len() {
        let byte = if raw[i] == b'%' {
            let (Some(hi), Some(lo)) = (
                raw.get(i + 1).and_then(|c| hex(*c)),
                raw.get(i + 2).and_then(|c| hex(*c)),
            ) else {
                return false;
            };
            i += 3;
            hi << 4 | lo
        } else {
            i += 1;
            raw[i - 1]
        };
        if want.next() != Some(byte) {
            return false;
        }
    }
    want.next().is_none()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decoded_eq;

    #[test]
    fn percent_decoding_compares_exactly() {
        assert!(percent_decoded_eq("acme", "acme"));
        assert!(percent_decoded_eq("%61cme", "acme"));
        assert!(percent_decoded_eq("a%2Fb", "a/b"));
        assert!(percent_decoded_eq("caf%C3%A9", "café"));
        assert!(percent_decoded_eq("caf%c3%a9", "café"), "lowercase hex");
        assert!(percent_decoded_eq("a%2fb%7E", "a/b~"));
        assert!(!percent_decoded_eq("%2g", "/"));
        assert!(!percent_decoded_eq("acm", "acme"));
        assert!(!percent_decoded_eq("acmee", "acme"));
        assert!(!percent_decoded_eq("%6", "a"));
        assert!(!percent_decoded_eq("%zz", "a"));
        assert!(!percent_decoded_eq("", "a"));
        assert!(percent_decoded_eq("", ""));
    }
}
