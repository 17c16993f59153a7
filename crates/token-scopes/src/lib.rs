//! The least-privilege vocabulary of tokenkit: scopes, scope sets, requirements, route
//! policies and the analysis that checks a grant is no wider than it needs to be.
//!
//! Pure policy: no I/O, no crypto, no HTTP types. Everything above it in tokenkit
//! (JWT `scope` claims, API-key grants, route authorization, down-scoping) speaks
//! these types.
//!
//! ```
//! use token_scopes::{Grant, Policy, Requirement, RuleSpec, ScopeSet};
//!
//! // What a credential holds, in the RFC 6749 space-delimited form.
//! let held: ScopeSet = "read:* write:notifications".parse()?;
//!
//! // What a route needs.
//! let need: Requirement = "read:sales and (read:analytics or admin:*)".parse()?;
//! assert!(need.evaluate(&held).is_ok());
//!
//! // Down-scoping: a client may have no more than it is allowed and asked for.
//! let requested: ScopeSet = "read:sales write:billing".parse()?;
//! assert_eq!(held.intersect(&requested).to_string(), "read:sales");
//!
//! // A route table that fails closed.
//! let policy = Policy::builder()
//!     .rule(RuleSpec::new("GET", "/api/sales").require("read:sales").rate_class("reports"))
//!     .rule(RuleSpec::new("POST", "/api/sales").require("write:sales"))
//!     .build()?;
//! let who = Grant::new(&held);
//! assert!(policy.authorize("GET", "/api/sales", Some(&who)).is_allowed());
//! let denied = policy.authorize("POST", "/api/sales", Some(&who));
//! assert_eq!(denied.reason_code(), Some("insufficient_scope"));
//! assert_eq!(policy.authorize("GET", "/api/other", Some(&who)).reason_code(), Some("no_rule"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Semantics
//!
//! - A [`Scope`] is `segment(:segment)*`; a final `*` grants every extension of the
//!   prefix at any depth (`read:*` grants `read:a:b`, not `read`). Read a wildcard as
//!   the open set of scopes it grants; [`ScopeSet`] operations are then exact set
//!   algebra ([`ScopeSet::difference`] documents its one approximation).
//! - A [`Requirement`] is monotone: holding more never denies.
//! - A [`Policy`] picks the most specific rule and denies when none matches.
//!
//! # Bounds
//!
//! Every parser is bounded and never panics: [`MAX_SCOPE_LEN`](limits::MAX_SCOPE_LEN), [`MAX_SCOPE_DEPTH`](limits::MAX_SCOPE_DEPTH),
//! [`MAX_SCOPES`](limits::MAX_SCOPES), [`MAX_SCOPE_SET_LEN`](limits::MAX_SCOPE_SET_LEN), [`MAX_REQUIREMENT_LEN`](limits::MAX_REQUIREMENT_LEN),
//! [`MAX_REQUIREMENT_DEPTH`](limits::MAX_REQUIREMENT_DEPTH), [`MAX_REQUIREMENT_SCOPES`](limits::MAX_REQUIREMENT_SCOPES), [`MAX_TEMPLATE_LEN`](limits::MAX_TEMPLATE_LEN),
//! [`MAX_TEMPLATE_SEGMENTS`](limits::MAX_TEMPLATE_SEGMENTS) and [`MAX_PARAMS`](limits::MAX_PARAMS).
//!
//! # Features
//!
//! None: `serde` support is always on (policies are configuration).

mod analysis;
mod policy;
mod requirement;
mod scope;
mod set;

pub use policy::{
    Decision, DenyReason, Grant, Policy, PolicyBuilder, PolicyError, PolicyErrorKind, PolicySpec,
    Refusal, RouteMatch, RuleSpec, TemplateError,
};
pub use requirement::{Requirement, RequirementError, RequirementErrorKind, Unsatisfied};

/// Reading a policy rather than enforcing it, for tools (route listings, scope
/// catalogues, linters, `tokenctl`): the compiled rules and their parts, a
/// requirement's expression tree, and the least-privilege [`Analysis`](inspect::Analysis)
/// that [`Policy::analyze`] returns. A service that only enforces a policy never
/// names these.
pub mod inspect {
    pub use crate::analysis::{Analysis, AnalysisError};
    pub use crate::policy::{Access, MethodSet, PathTemplate, Rule, Segment};
    pub use crate::requirement::Expr;
}
pub use scope::{Scope, ScopeError, ScopeErrorKind};
pub use set::{ScopeSet, ScopeSetError};

/// The bounds every parser here enforces (input sizes, nesting, counts): untrusted
/// input beyond them is refused with a typed error, never processed.
pub mod limits {
    pub use crate::policy::{MAX_PARAMS, MAX_TEMPLATE_LEN, MAX_TEMPLATE_SEGMENTS};
    pub use crate::requirement::{
        MAX_REQUIREMENT_DEPTH, MAX_REQUIREMENT_LEN, MAX_REQUIREMENT_SCOPES,
    };
    pub use crate::scope::{MAX_SCOPE_DEPTH, MAX_SCOPE_LEN};
    pub use crate::set::{MAX_SCOPE_SET_LEN, MAX_SCOPES};
}
