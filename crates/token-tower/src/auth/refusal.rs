//! Why a request was refused, as one typed value from the decision to the edge: one
//! `match` renders it as HTTP (here), another files it in the audit trail
//! (`audit.rs`).

use std::fmt::{self, Write as _};

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use token_core::{AuthError, Principal};
use token_scopes::{DenyReason, Requirement, ScopeSet};

use crate::auth::extract::ExtractError;

/// Why the layer, a [`crate::RequireScopeLayer`], the [`crate::Authenticated`]
/// extractor or a guarded route refused a request. It holds the lower crates' typed
/// errors; [`Refusal::status`] and [`Refusal::code`] say how it is answered, and
/// `docs/tower.md` lists every code. Never holds the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The credential arrived over a connection that may not carry one: 400
    /// `insecure_transport`.
    Transport(InsecureTransport),
    /// The request breaks the rules of sending credentials (two of them, in the
    /// query, malformed): 400 with the [`ExtractError`]'s code.
    Credential(ExtractError),
    /// The credential did not authenticate (401 `invalid_token`), or a metered key
    /// has no credits left (429 `usage_exceeded`).
    Authentication(AuthError),
    /// The client address is outside the credential's networks: 403 `network_denied`.
    Network,
    /// The policy (or a scope check) refused: 401 `unauthenticated` without a
    /// credential, 403 `insufficient_scope` naming what would satisfy it, 403
    /// `tenant_mismatch`, 403 `no_rule` where no rule matches (fail closed).
    Policy(DenyReason),
    /// A rate limit refused: 429 `rate_limited`, or `cost_exceeds_limit` for a
    /// request that can never pass.
    Limit(token_ratelimit::Refusal),
    /// A store the decision needs is down and the layer fails closed: 503.
    Unavailable(UnavailableStore),
}

/// Why a connection may not carry a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InsecureTransport {
    /// Plain HTTP from a client that is not on loopback (or, with
    /// `require_tls_on_loopback`, from any client).
    PlainHttp,
    /// The layer saw no peer address, so it cannot tell a loopback client from a
    /// remote one. The refusal says how to give it one.
    NoPeerAddress,
}

/// Which store was down.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnavailableStore {
    /// The credential store (keys, credits, revocations): code from the error,
    /// e.g. `store_unavailable`.
    Credentials(AuthError),
    /// A strict rate limit's shared store: `limit_store_unavailable`, with
    /// `Retry-After: 1`.
    Limits(token_ratelimit::Refusal),
}

impl From<AuthError> for Refusal {
    fn from(e: AuthError) -> Self {
        if e.is_unavailable() {
            Refusal::Unavailable(UnavailableStore::Credentials(e))
        } else {
            Refusal::Authentication(e)
        }
    }
}

impl From<token_ratelimit::Refusal> for Refusal {
    fn from(r: token_ratelimit::Refusal) -> Self {
        if r.reason() == token_ratelimit::RefusalReason::StoreUnavailable {
            Refusal::Unavailable(UnavailableStore::Limits(r))
        } else {
            Refusal::Limit(r)
        }
    }
}

impl From<ExtractError> for Refusal {
    fn from(e: ExtractError) -> Self {
        Refusal::Credential(e)
    }
}

impl From<DenyReason> for Refusal {
    fn from(r: DenyReason) -> Self {
        Refusal::Policy(r)
    }
}

/// How a refusal is answered: the status and the RFC 6750 challenge follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// 401, a challenge without `error`.
    MissingCredential,
    /// 401 `error="invalid_token"`.
    InvalidToken,
    /// 400 `error="invalid_request"`.
    InvalidRequest,
    /// 403 `error="insufficient_scope"`.
    InsufficientScope,
    /// 403 without a challenge.
    Forbidden,
    /// 429.
    TooManyRequests,
    /// 503.
    Unavailable,
}

impl Refusal {
    /// The scopes a caller needs for `requirement`: the principal, or the refusal
    /// (401 without one, 403 `insufficient_scope` naming the smallest set that would do).
    pub(crate) fn demand<'p>(
        principal: Option<&'p Principal>,
        requirement: &Requirement,
    ) -> Result<&'p Principal, Refusal> {
        let principal = principal.ok_or(Refusal::Policy(DenyReason::Unauthenticated))?;
        requirement
            .evaluate(principal.scopes())
            .map_err(|unmet| Refusal::Policy(DenyReason::InsufficientScope(unmet)))?;
        Ok(principal)
    }

    /// The one place a refusal's class is decided.
    fn class(&self) -> Class {
        match self {
            Refusal::Transport(_) | Refusal::Credential(_) => Class::InvalidRequest,
            Refusal::Authentication(e) if e.code() == "usage_exceeded" => Class::TooManyRequests,
            Refusal::Authentication(_) => Class::InvalidToken,
            Refusal::Policy(DenyReason::Unauthenticated) => Class::MissingCredential,
            Refusal::Policy(DenyReason::InsufficientScope(_)) => Class::InsufficientScope,
            Refusal::Network | Refusal::Policy(_) => Class::Forbidden,
            Refusal::Limit(_) => Class::TooManyRequests,
            Refusal::Unavailable(_) => Class::Unavailable,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self.class() {
            Class::MissingCredential | Class::InvalidToken => StatusCode::UNAUTHORIZED,
            Class::InvalidRequest => StatusCode::BAD_REQUEST,
            Class::InsufficientScope | Class::Forbidden => StatusCode::FORBIDDEN,
            Class::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Class::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable reason code (`key_revoked`, `insufficient_scope`, `rate_limited`…),
    /// the same as token-core's, token-scopes' and the audit trail's.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Transport(_) => "insecure_transport",
            Refusal::Credential(e) => e.code(),
            Refusal::Authentication(e) | Refusal::Unavailable(UnavailableStore::Credentials(e)) => {
                e.code()
            }
            Refusal::Network => "network_denied",
            Refusal::Policy(reason) => reason.code(),
            Refusal::Limit(r) if r.reason() == token_ratelimit::RefusalReason::CostExceedsBurst => {
                "cost_exceeds_limit"
            }
            Refusal::Limit(_) => "rate_limited",
            Refusal::Unavailable(UnavailableStore::Limits(_)) => "limit_store_unavailable",
        }
    }

    /// The scopes that would satisfy the route, for `insufficient_scope`.
    pub fn missing_scopes(&self) -> Option<&ScopeSet> {
        match self {
            Refusal::Policy(DenyReason::InsufficientScope(unmet)) => Some(unmet.missing()),
            _ => None,
        }
    }

    /// The `Retry-After` a refusal carries.
    pub(crate) fn retry_after(&self) -> Option<HeaderValue> {
        matches!(self, Refusal::Unavailable(UnavailableStore::Limits(_)))
            .then(|| HeaderValue::from_static("1"))
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3), for 400, 401 and
    /// `insufficient_scope` refusals.
    pub(crate) fn challenge(&self, realm: &str) -> Option<HeaderValue> {
        let error = match self.class() {
            Class::InvalidToken => Some("invalid_token"),
            Class::InvalidRequest => Some("invalid_request"),
            Class::InsufficientScope => Some("insufficient_scope"),
            Class::MissingCredential => None,
            Class::Forbidden | Class::TooManyRequests | Class::Unavailable => return None,
        };
        let mut text = format!("Bearer realm=\"{}\"", quoted(realm));
        if let Some(error) = error {
            let _ = write!(
                text,
                ", error=\"{error}\", error_description=\"{}\"",
                quoted(&self.to_string())
            );
        }
        if let Some(scope) = self.missing_scopes() {
            let _ = write!(text, ", scope=\"{}\"", quoted(&scope.to_string()));
        }
        HeaderValue::from_str(&text).ok()
    }

    /// The RFC 9457 problem document, with `type` = `type_base` + code.
    pub(crate) fn problem_json(&self, type_base: &str) -> Bytes {
        let title = match self.class() {
            Class::MissingCredential => "Authentication required",
            Class::InvalidToken => "Invalid credential",
            Class::InvalidRequest => "Invalid request",
            Class::InsufficientScope => "Insufficient scope",
            Class::Forbidden => "Forbidden",
            Class::TooManyRequests => "Too many requests",
            Class::Unavailable => "Service unavailable",
        };
        let detail = self.to_string();
        let mut doc = Problem::new(type_base, self.status(), title, self.code(), &detail);
        doc.scope = self.missing_scopes().map(ToString::to_string);
        doc.to_bytes()
    }
}

/// What the caller is told.
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Transport(InsecureTransport::PlainHttp) => f.write_str(
                "credentials are accepted only over HTTPS; this request arrived over plain \
                 HTTP, so treat the credential as exposed",
            ),
            Refusal::Transport(InsecureTransport::NoPeerAddress) => f.write_str(
                "the server cannot see the client's address, so it cannot tell a loopback \
                 client from a remote one and refuses credentials over plain HTTP; serve \
                 with axum's into_make_service_with_connect_info::<SocketAddr>(), insert \
                 token_tower::PeerAddr on a bare hyper server, or set \
                 AuthLayerBuilder::default_peer for a listener only local clients reach",
            ),
            Refusal::Credential(e) => fmt::Display::fmt(e, f),
            Refusal::Authentication(e) | Refusal::Unavailable(UnavailableStore::Credentials(e)) => {
                fmt::Display::fmt(e, f)
            }
            Refusal::Network => f.write_str("this credential may not be used from this network"),
            Refusal::Policy(DenyReason::NoRule) => {
                f.write_str("no policy rule allows this method and path")
            }
            Refusal::Policy(reason) => fmt::Display::fmt(reason, f),
            Refusal::Limit(r) if r.reason() == token_ratelimit::RefusalReason::CostExceedsBurst => {
                f.write_str(
                    "this request costs more than the limit allows at once; it can never pass",
                )
            }
            Refusal::Limit(r) => write!(f, "the {} rate limit is exhausted; retry later", r.name()),
            Refusal::Unavailable(UnavailableStore::Limits(_)) => {
                f.write_str("the rate-limit store is unavailable; try again shortly")
            }
        }
    }
}

impl std::error::Error for Refusal {}

/// An RFC 9457 problem document (`application/problem+json`) with our members:
/// `code` beside `type`, and `scope` on a scope refusal.
#[derive(Debug, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct Problem<'a> {
    /// `urn:tokenkit:problem:<code>` (the prefix is the layer's `problem_type_base`).
    #[serde(rename = "type")]
    pub(crate) type_: String,
    /// A short summary of the kind of problem.
    pub(crate) title: &'a str,
    /// The HTTP status code.
    #[cfg_attr(feature = "openapi", schema(minimum = 400, maximum = 599))]
    pub(crate) status: u16,
    /// What happened, in words a user can act on. Never the credential.
    pub(crate) detail: &'a str,
    /// The stable reason code (`docs/tower.md` lists them).
    pub(crate) code: &'a str,
    /// The scopes that would satisfy the rule, on a scope refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<String>,
    /// The request field or query parameter refused (`networks`, `limit`,
    /// `Idempotency-Key`), on an `invalid_request` about one value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) field: Option<&'a str>,
    /// The rule that value breaks, with `field`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rule: Option<&'a str>,
}

impl<'a> Problem<'a> {
    pub(crate) fn new(
        type_base: &str,
        status: StatusCode,
        title: &'a str,
        code: &'a str,
        detail: &'a str,
    ) -> Self {
        Problem {
            type_: format!("{type_base}{code}"),
            title,
            status: status.as_u16(),
            detail,
            code,
            scope: None,
            field: None,
            rule: None,
        }
    }

    /// The JSON text.
    pub(crate) fn to_bytes(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }
}

/// Only printable ASCII, with `"` and `\` escaped: a challenge is a quoted-string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use token_scopes::Requirement;

    fn insufficient() -> Refusal {
        let held: ScopeSet = "read:usage".parse().unwrap();
        let unmet = Requirement::parse("write:reports")
            .unwrap()
            .evaluate(&held)
            .unwrap_err();
        Refusal::Policy(DenyReason::InsufficientScope(unmet))
    }

    #[test]
    fn challenges_follow_rfc_6750() {
        let missing = Refusal::Policy(DenyReason::Unauthenticated);
        assert_eq!(missing.challenge("api").unwrap(), "Bearer realm=\"api\"");
        let invalid = Refusal::Credential(ExtractError::Malformed);
        assert_eq!(
            invalid.challenge("api").unwrap(),
            "Bearer realm=\"api\", error=\"invalid_request\", \
             error_description=\"the credential header is malformed\""
        );
        let scope = insufficient();
        assert!(
            scope
                .challenge("api")
                .unwrap()
                .to_str()
                .unwrap()
                .ends_with("scope=\"write:reports\"")
        );
        assert!(Refusal::Network.challenge("api").is_none());
        assert!(
            Refusal::Policy(DenyReason::NoRule)
                .challenge("api")
                .is_none()
        );
    }

    #[test]
    fn quoted_strings_cannot_be_broken_out_of() {
        assert_eq!(quoted("a\"b\\c\r\nd\u{e9}"), "a\\\"b\\\\c??d?");
        let r = Refusal::Policy(DenyReason::Unauthenticated);
        assert_eq!(
            r.challenge("re\"alm").unwrap(),
            "Bearer realm=\"re\\\"alm\""
        );
    }

    #[test]
    fn problem_documents_carry_a_stable_type_and_the_missing_scopes() {
        let r = Refusal::Policy(DenyReason::TenantMismatch);
        let doc: serde_json::Value = serde_json::from_slice(&r.problem_json("urn:x:")).unwrap();
        assert_eq!(doc["type"], "urn:x:tenant_mismatch");
        assert_eq!(doc["status"], 403);
        assert_eq!(doc["code"], "tenant_mismatch");
        assert_eq!(doc["title"], "Forbidden");
        let doc: serde_json::Value =
            serde_json::from_slice(&insufficient().problem_json("urn:x:")).unwrap();
        assert_eq!(doc["scope"], "write:reports");
    }

    #[test]
    fn the_no_peer_refusal_says_how_to_fix_it() {
        let r = Refusal::Transport(InsecureTransport::NoPeerAddress);
        assert_eq!(
            (r.status(), r.code()),
            (StatusCode::BAD_REQUEST, "insecure_transport")
        );
        let text = r.to_string();
        assert!(
            text.contains("into_make_service_with_connect_info"),
            "{text}"
        );
        assert!(text.contains("default_peer"), "{text}");
    }
}
