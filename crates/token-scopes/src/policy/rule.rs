//! A validated policy rule.

use super::{MethodSet, PathTemplate, PolicyError, PolicyErrorKind, RuleSpec};
use crate::Requirement;

/// What a matched route needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// No credential needed.
    Public,
    /// Any authenticated principal.
    Authenticated,
    /// An authenticated principal whose scopes satisfy the requirement.
    Require(Requirement),
}

/// One validated rule of a [`crate::Policy`].
#[derive(Debug, Clone)]
pub struct Rule {
    name: Box<str>,
    methods: MethodSet,
    template: PathTemplate,
    access: Access,
    tenant_param: Option<Box<str>>,
    rate_class: Option<Box<str>>,
}

impl Rule {
    pub(super) fn from_spec(spec: &RuleSpec) -> Result<Rule, PolicyError> {
        let name = spec.display_name();
        let fail = |kind| PolicyError::rule(&name, kind);
        let mut methods: Option<MethodSet> = None;
        for m in &spec.methods {
            let parsed = MethodSet::parse(m)
                .ok_or_else(|| fail(PolicyErrorKind::UnknownMethod(m.clone())))?;
            methods = Some(methods.map_or(parsed, |acc| acc.union(parsed)));
        }
        let methods = methods.ok_or_else(|| fail(PolicyErrorKind::NoMethods))?;
        let template = PathTemplate::parse(&spec.path).map_err(|e| fail(e.into()))?;
        let access = match (&spec.require, spec.public, spec.authenticated) {
            (Some(text), false, false) => {
                Access::Require(Requirement::parse(text).map_err(|e| fail(e.into()))?)
            }
            (None, true, false) => Access::Public,
            (None, false, true) => Access::Authenticated,
            (None, false, false) => return Err(fail(PolicyErrorKind::NoAccess)),
            _ => return Err(fail(PolicyErrorKind::ConflictingAccess)),
        };
        if let Some(param) = &spec.tenant {
            if !template.param_names().any(|n| n == param) {
                return Err(fail(PolicyErrorKind::UnknownTenantParam(param.clone())));
            }
            if access == Access::Public {
                return Err(fail(PolicyErrorKind::PublicTenantBound));
            }
        }
        if let Some(class) = &spec.rate_class {
            let ok = (1..=64).contains(&class.len())
                && class
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !ok {
                return Err(fail(PolicyErrorKind::BadRateClass(class.clone())));
            }
        }
        Ok(Rule {
            name: name.into(),
            methods,
            template,
            access,
            tenant_param: spec.tenant.as_deref().map(Into::into),
            rate_class: spec.rate_class.as_deref().map(Into::into),
        })
    }

    /// The rule's name (given, or `"METHODS path"`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The methods the rule applies to.
    pub fn methods(&self) -> MethodSet {
        self.methods
    }

    /// The path template; its text is what audit records as the matched route.
    pub fn template(&self) -> &PathTemplate {
        &self.template
    }

    /// What the route needs.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The path parameter bound to the principal's tenant, if any.
    pub fn tenant_param(&self) -> Option<&str> {
        self.tenant_param.as_deref()
    }

    /// The rate-limit class, if any.
    pub fn rate_class(&self) -> Option<&str> {
        self.rate_class.as_deref()
    }

    /// The requirement, when the route has one.
    pub fn requirement(&self) -> Option<&Requirement> {
        match &self.access {
            Access::Require(r) => Some(r),
            _ => None,
        }
    }
}
