//! `Policy`: the route table that says what each request needs.

mod decision;
mod method;
mod router;
mod rule;
mod spec;
mod template;

use std::fmt;

pub use decision::{Decision, DenyReason, Grant, Refusal, RouteMatch};
pub use method::MethodSet;
pub use rule::{Access, Rule};
pub use spec::{PolicySpec, RuleSpec};
pub use template::{
    MAX_PARAMS, MAX_TEMPLATE_LEN, MAX_TEMPLATE_SEGMENTS, PathTemplate, Segment, TemplateError,
};

use crate::{RequirementError, Scope, ScopeError, ScopeSet};
use router::{Node, Params};

/// A route table: HTTP method + path template → what the request needs.
///
/// Matching picks the most specific rule (see [`Policy::match_route`]); a request that
/// no rule matches is denied with [`DenyReason::NoRule`]: the policy fails closed.
/// Building rejects invalid scopes, ambiguous or duplicate rules, and tenant bindings to
/// parameters that do not exist, with an error that names the rule.
///
/// ```
/// use token_scopes::{Decision, Grant, Policy, RuleSpec, ScopeSet};
///
/// let policy = Policy::builder()
///     .rule(RuleSpec::new("GET", "/health").public())
///     .rule(RuleSpec::new("GET", "/api/reports").require("read:reports"))
///     .rule(
///         RuleSpec::new("GET", "/api/tenants/{tenant}/usage")
///             .require("read:usage")
///             .tenant("tenant")
///             .rate_class("usage"),
///     )
///     .build()?;
///
/// let scopes: ScopeSet = "read:*".parse()?;
/// let who = Grant::new(&scopes).tenant("acme");
/// assert!(policy.authorize("GET", "/api/tenants/acme/usage", Some(&who)).is_allowed());
///
/// let Decision::Deny(denial) = policy.authorize("GET", "/api/tenants/other/usage", Some(&who))
/// else { unreachable!() };
/// assert_eq!(denial.reason().code(), "tenant_mismatch");
/// assert_eq!(policy.authorize("DELETE", "/api/reports", Some(&who)).reason_code(), Some("no_rule"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Policy {
    spec: PolicySpec,
    rules: Vec<Rule>,
    root: Node,
    cross_tenant: Option<Scope>,
}

impl Policy {
    /// Starts building a policy.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }

    /// Validates a policy written as data (for example loaded from TOML or JSON).
    pub fn from_spec(spec: PolicySpec) -> Result<Self, PolicyError> {
        let cross_tenant = spec
            .cross_tenant_scope
            .as_deref()
            .map(Scope::new)
            .transpose()
            .map_err(|e| PolicyError::policy(PolicyErrorKind::CrossTenantScope(e)))?;
        let mut rules = Vec::with_capacity(spec.rules.len());
        let mut root = Node::default();
        for (index, rule_spec) in spec.rules.iter().enumerate() {
            let rule = Rule::from_spec(rule_spec)?;
            root.insert(rule.template().segments(), rule.methods(), index)
                .map_err(|other| {
                    PolicyError::rule(
                        rule.name(),
                        PolicyErrorKind::Duplicate {
                            other: rules
                                .get(other)
                                .map_or_else(String::new, |r: &Rule| r.name().to_owned()),
                        },
                    )
                })?;
            rules.push(rule);
        }
        Ok(Policy {
            spec,
            rules,
            root,
            cross_tenant,
        })
    }

    /// The rules, in the order given.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The scope that passes every tenant binding, if one is configured.
    pub fn cross_tenant_scope(&self) -> Option<&Scope> {
        self.cross_tenant.as_ref()
    }

    /// Whether `scopes` pass every tenant binding: they hold the cross-tenant scope
    /// [exactly](ScopeSet::holds_exactly), never through a wildcard, so that a tenant
    /// administrator holding `admin:*` (or `*`) stays in its tenant.
    pub fn crosses_tenants(&self, scopes: &ScopeSet) -> bool {
        self.cross_tenant
            .as_ref()
            .is_some_and(|s| scopes.holds_exactly(s))
    }

    /// The policy as data, as it was given.
    pub fn spec(&self) -> &PolicySpec {
        &self.spec
    }

    /// Finds the rule for a request. `path` is the request path without the query
    /// string, exactly as received (not percent-decoded, not normalised: `..` and `//`
    /// are ordinary text that literal segments will not match, so they fail closed).
    ///
    /// At each segment a literal beats a `{param}`, which beats a catch-all; the search
    /// backtracks, so when a more specific rule's methods do not include `method`, a
    /// less specific rule may answer. Rules for specific methods beat `*` rules on the
    /// same template. A `GET` rule also covers `HEAD` (the server answers `HEAD` with
    /// the `GET` handler), so `HEAD` never falls through to a broader rule where a
    /// `GET` rule matches.
    pub fn match_route<'p, 'r>(
        &'p self,
        method: &str,
        path: &'r str,
    ) -> Option<RouteMatch<'p, 'r>> {
        let mut params = Params::default();
        let index = self.root.find(method, path, &mut params)?;
        Some(RouteMatch::new(&self.rules[index], index, path, params))
    }

    /// Decides a request: finds the rule, then checks authentication, scopes and the
    /// tenant binding, in that order. `who` is `None` for an unauthenticated request.
    pub fn authorize<'p, 'r>(
        &'p self,
        method: &str,
        path: &'r str,
        who: Option<&Grant<'_>>,
    ) -> Decision<'p, 'r> {
        let Some(route) = self.match_route(method, path) else {
            return Decision::deny(None, DenyReason::NoRule);
        };
        let rule = route.rule();
        if matches!(rule.access(), Access::Public) {
            return Decision::Allow(route);
        }
        let Some(who) = who else {
            return Decision::deny(Some(route), DenyReason::Unauthenticated);
        };
        if let Access::Require(requirement) = rule.access()
            && let Err(unmet) = requirement.evaluate(who.scopes())
        {
            return Decision::deny(Some(route), DenyReason::InsufficientScope(unmet));
        }
        if let Some(param) = rule.tenant_param() {
            let crosses = self.crosses_tenants(who.scopes());
            let matches = match (route.param(param), who.tenant_id()) {
                (Some(raw), Some(tenant)) => decision::percent_decoded_eq(raw, tenant),
                _ => false,
            };
            if !crosses && !matches {
                return Decision::deny(Some(route), DenyReason::TenantMismatch);
            }
        }
        Decision::Allow(route)
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("rules", &self.rules)
            .field("cross_tenant_scope", &self.cross_tenant)
            .finish_non_exhaustive()
    }
}

impl TryFrom<PolicySpec> for Policy {
    type Error = PolicyError;

    fn try_from(spec: PolicySpec) -> Result<Self, Self::Error> {
        Policy::from_spec(spec)
    }
}

impl serde::Serialize for Policy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.spec.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Policy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spec = PolicySpec::deserialize(deserializer)?;
        Policy::from_spec(spec).map_err(serde::de::Error::custom)
    }
}

/// Builds a [`Policy`] in code.
#[derive(Debug, Default)]
#[must_use]
pub struct PolicyBuilder {
    spec: PolicySpec,
}

impl PolicyBuilder {
    /// Adds a rule.
    pub fn rule(mut self, rule: RuleSpec) -> Self {
        self.spec.rules.push(rule);
        self
    }

    /// Sets the scope that passes every tenant binding.
    pub fn cross_tenant_scope(mut self, scope: &str) -> Self {
        self.spec.cross_tenant_scope = Some(scope.to_owned());
        self
    }

    /// Validates the rules and builds the policy.
    pub fn build(self) -> Result<Policy, PolicyError> {
        Policy::from_spec(self.spec)
    }
}

/// Why a policy could not be built. Names the rule at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {kind}", match .rule { Some(r) => format!("rule `{r}`"), None => "policy".to_owned() })]
pub struct PolicyError {
    rule: Option<String>,
    kind: PolicyErrorKind,
}

impl PolicyError {
    pub(crate) fn rule(name: &str, kind: PolicyErrorKind) -> Self {
        PolicyError {
            rule: Some(name.to_owned()),
            kind,
        }
    }

    fn policy(kind: PolicyErrorKind) -> Self {
        PolicyError { rule: None, kind }
    }

    /// The name of the rule at fault (`None` for policy-wide settings).
    pub fn rule_name(&self) -> Option<&str> {
        self.rule.as_deref()
    }

    /// What was wrong.
    pub fn kind(&self) -> &PolicyErrorKind {
        &self.kind
    }
}

/// The kinds of [`PolicyError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// A method name that is not a standard HTTP method or `*`.
    #[error("unknown HTTP method {0:?} (methods are uppercase, or '*')")]
    UnknownMethod(String),
    /// No methods listed.
    #[error("no methods listed")]
    NoMethods,
    /// The path template is invalid.
    #[error("bad path template: {0}")]
    Template(#[from] TemplateError),
    /// The requirement is invalid.
    #[error("bad requirement: {0}")]
    Requirement(#[from] RequirementError),
    /// None of `require`, `public`, `authenticated`.
    #[error("say what the route needs: `require`, `public` or `authenticated`")]
    NoAccess,
    /// More than one of `require`, `public`, `authenticated`.
    #[error("give only one of `require`, `public` and `authenticated`")]
    ConflictingAccess,
    /// The tenant binding names a parameter the template does not have.
    #[error("tenant parameter {0:?} is not in the path template")]
    UnknownTenantParam(String),
    /// A public route cannot bind a tenant: there is no principal to compare.
    #[error("a public route cannot have a tenant binding")]
    PublicTenantBound,
    /// The rate-limit class is empty, too long, or uses characters outside
    /// `A-Z a-z 0-9 _ - .`.
    #[error("rate class {0:?} must be 1-64 characters of A-Z, a-z, 0-9, '_', '-', '.'")]
    BadRateClass(String),
    /// Another rule already covers the same template shape and methods.
    #[error("duplicates rule `{other}` (same path shape and overlapping methods)")]
    Duplicate {
        /// The name of the earlier rule.
        other: String,
    },
    /// The cross-tenant scope is invalid.
    #[error("bad cross_tenant_scope: {0}")]
    CrossTenantScope(ScopeError),
}
