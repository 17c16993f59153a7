//! The serde form of a policy, which is also its builder input.

use serde::{Deserialize, Serialize};

/// One rule as written in configuration or built in code; [`crate::Policy`] validates it.
///
/// In TOML:
///
/// ```toml
/// [[rule]]
/// name = "tenant usage"                      # optional; errors name the rule by it
/// methods = ["GET"]                          # or "GET", or "*" for any method
/// path = "/api/tenants/{tenant}/usage"
/// require = "read:usage"                     # or: public = true / authenticated = true
/// tenant = "tenant"                          # bind this path parameter to the tenant
/// rate_class = "usage"                       # rate-limit class for token-ratelimit
/// ```
///
/// Exactly one of `require`, `public` and `authenticated` must be given. Unknown
/// fields are errors, so a misspelt `tenant` cannot silently drop a binding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RuleSpec {
    /// A name for messages; defaults to `"METHODS path"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// HTTP methods (`"GET"`, `["GET", "HEAD"]`, or `"*"`).
    #[serde(alias = "method", with = "one_or_many")]
    pub methods: Vec<String>,
    /// The path template.
    pub path: String,
    /// The requirement in textual form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require: Option<String>,
    /// No credential needed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
    /// Any authenticated principal, whatever its scopes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub authenticated: bool,
    /// The path parameter that must equal the principal's tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The rate-limit class of the route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_class: Option<String>,
}

impl RuleSpec {
    /// A rule for `methods` (`"GET"`, `"GET,POST"` or `"*"`) on a path template. Give it
    /// a requirement, or make it public or authenticated-only, before building.
    pub fn new(methods: &str, path: &str) -> Self {
        RuleSpec {
            methods: methods.split(',').map(|m| m.trim().to_owned()).collect(),
            path: path.to_owned(),
            ..RuleSpec::default()
        }
    }

    /// Names the rule.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Requires scopes, in the textual requirement form.
    pub fn require(mut self, requirement: &str) -> Self {
        self.require = Some(requirement.to_owned());
        self
    }

    /// Lets requests through without a credential.
    pub fn public(mut self) -> Self {
        self.public = true;
        self
    }

    /// Lets any authenticated principal through, whatever its scopes.
    pub fn authenticated(mut self) -> Self {
        self.authenticated = true;
        self
    }

    /// Binds the path parameter `param` to the principal's tenant.
    pub fn tenant(mut self, param: &str) -> Self {
        self.tenant = Some(param.to_owned());
        self
    }

    /// Sets the rate-limit class.
    pub fn rate_class(mut self, class: &str) -> Self {
        self.rate_class = Some(class.to_owned());
        self
    }

    /// The name used in messages.
    pub(crate) fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{} {}", self.methods.join(","), self.path))
    }
}

/// A whole policy as written in configuration: `[[rule]]` tables in TOML, a `rules`
/// array in JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PolicySpec {
    /// A scope that lets a principal pass every tenant binding (an operator's scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_tenant_scope: Option<String>,
    /// The rules.
    #[serde(rename = "rule", alias = "rules", default)]
    pub rules: Vec<RuleSpec>,
}

mod one_or_many {
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        })
    }

    pub(super) fn serialize<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
        match v {
            [one] => s.serialize_str(one),
            many => s.collect_seq(many),
        }
    }
}
