//! Refusals as data, rendered as RFC 6750 challenges and RFC 9457 problem documents.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use token_core::Principal;
use token_scopes::{Requirement, Unsatisfied};

/// What kind of refusal: decides the status and the challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No credential on a route that needs one: 401, challenge without `error`.
    MissingCredential,
    /// A credential that did not verify: 401 `error="invalid_token"`.
    InvalidToken,
    /// A request that breaks the rules of sending credentials (two of them, in the
    /// query, over plain HTTP, malformed): 400 `error="invalid_request"`.
    InvalidRequest,
    /// Scopes that do not satisfy the route: 403 `error="insufficient_scope"`.
    InsufficientScope,
    /// Authenticated but not allowed here (network, tenant, no policy rule): 403.
    Forbidden,
    /// A rate limit or a usage quota: 429.
    TooManyRequests,
    /// A store the decision needs is down and the backend fails closed: 503.
    Unavailable,
}

impl RejectionKind {
    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            RejectionKind::MissingCredential | RejectionKind::InvalidToken => {
                StatusCode::UNAUTHORIZED
            }
            RejectionKind::InvalidRequest => StatusCode::BAD_REQUEST,
            RejectionKind::InsufficientScope | RejectionKind::Forbidden => StatusCode::FORBIDDEN,
            RejectionKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            RejectionKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn title(self) -> &'static str {
        match self {
            RejectionKind::MissingCredential => "Authentication required",
            RejectionKind::InvalidToken => "Invalid credential",
            RejectionKind::InvalidRequest => "Invalid request",
            RejectionKind::InsufficientScope => "Insufficient scope",
            RejectionKind::Forbidden => "Forbidden",
            RejectionKind::TooManyRequests => "Too many requests",
            RejectionKind::Unavailable => "Service unavailable",
        }
    }

    fn bearer_error(self) -> Option<&'static str> {
        match self {
            RejectionKind::InvalidToken => Some("invalid_token"),
            RejectionKind::InvalidRequest => Some("invalid_request"),
            RejectionKind::InsufficientScope => Some("insufficient_scope"),
            _ => None,
        }
    }
}

/// A refused request: what kind, the stable reason code (the same codes as
/// token-core, token-scopes and the audit trail), words for the caller, and the
/// headers the refusal needs. Never holds the credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Rejection {
    kind: RejectionKind,
    code: &'static str,
    detail: Cow<'static, str>,
    scope: Option<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Rejection {
    /// A refusal of `kind` with reason `code` and a message for the caller.
    pub fn new(
        kind: RejectionKind,
        code: &'static str,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Rejection {
            kind,
            code,
            detail: detail.into(),
            scope: None,
            headers: Vec::new(),
        }
    }

    /// No credential where one is needed: 401 `unauthenticated`.
    pub(crate) fn unauthenticated() -> Self {
        Rejection::new(
            RejectionKind::MissingCredential,
            "unauthenticated",
            "this route needs a credential",
        )
    }

    /// Scopes that do not satisfy a requirement: 403 `insufficient_scope`, naming the
    /// smallest set that would.
    pub(crate) fn insufficient_scope(unmet: &Unsatisfied) -> Self {
        Rejection::new(
            RejectionKind::InsufficientScope,
            "insufficient_scope",
            unmet.to_string(),
        )
        .with_scope(unmet.missing().to_string())
    }

    /// The principal, if there is one and its scopes satisfy `requirement`.
    pub(crate) fn demand<'p>(
        principal: Option<&'p Principal>,
        requirement: &Requirement,
    ) -> Result<&'p Principal, Rejection> {
        let principal = principal.ok_or_else(Rejection::unauthenticated)?;
        requirement
            .evaluate(principal.scopes())
            .map_err(|unmet| Rejection::insufficient_scope(&unmet))?;
        Ok(principal)
    }

    /// Names the scopes that would satisfy the route (the `scope` challenge attribute).
    #[must_use]
    pub fn with_scope(mut self, scope: String) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Adds a header to the refusal (`Retry-After`, the `RateLimit` fields).
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The kind.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The stable reason code (`key_revoked`, `insufficient_scope`, `rate_limited`…).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// What the caller is told.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The scopes that would satisfy the route, for `insufficient_scope`.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Extra headers (rate-limit fields, `Retry-After`).
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3), for 400, 401 and
    /// `insufficient_scope` refusals.
    pub fn challenge(&self, realm: &str) -> Option<HeaderValue> {
        let error = self.kind.bearer_error();
        if error.is_none() && self.kind != RejectionKind::MissingCredential {
            return None;
        }
        let mut text = format!("Bearer realm=\"{}\"", quoted(realm));
        if let Some(error) = error {
            let _ = write!(
                text,
                ", error=\"{error}\", error_description=\"{}\"",
                quoted(&self.detail)
            );
        }
        if let Some(scope) = &self.scope {
            let _ = write!(text, ", scope=\"{}\"", quoted(scope));
        }
        HeaderValue::from_str(&text).ok()
    }

    /// The RFC 9457 problem document, with `type` = `type_base` + code.
    pub fn problem_json(&self, type_base: &str) -> Bytes {
        let mut doc = problem_document(
            type_base,
            self.status(),
            self.kind.title(),
            self.code,
            &self.detail,
        );
        if let (Some(scope), Some(map)) = (&self.scope, doc.as_object_mut()) {
            map.insert("scope".into(), scope.clone().into());
        }
        Bytes::from(doc.to_string())
    }
}

/// An RFC 9457 problem document with our members (`code` beside `type`).
pub(crate) fn problem_document(
    type_base: &str,
    status: StatusCode,
    title: &str,
    code: &str,
    detail: &str,
) -> serde_json::Value {
    serde_json::json!({
        "type": format!("{type_base}{code}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
    })
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("kind", &self.kind)
            .field("code", &self.code)
            .field("detail", &self.detail)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.status(), self.code, self.detail)
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

/// A body a user renders for a refusal: its content type and bytes. The status and the
/// protocol headers (`WWW-Authenticate`, `Retry-After`, `RateLimit`) are the layer's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedBody {
    /// The `Content-Type`.
    pub content_type: HeaderValue,
    /// The body.
    pub body: Bytes,
}

/// A hook that renders refusal bodies in the service's own format.
pub type RenderFn = Arc<dyn Fn(&Rejection) -> RenderedBody + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc_6750() {
        let missing = Rejection::new(RejectionKind::MissingCredential, "unauthenticated", "x");
        assert_eq!(missing.challenge("api").unwrap(), "Bearer realm=\"api\"");
        let invalid = Rejection::new(RejectionKind::InvalidToken, "token_expired", "expired");
        assert_eq!(
            invalid.challenge("api").unwrap(),
            "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"expired\""
        );
        let scope = Rejection::new(RejectionKind::InsufficientScope, "insufficient_scope", "s")
            .with_scope("write:reports".into());
        assert!(scope.challenge("api").unwrap().to_str().unwrap().ends_with(
            "error=\"insufficient_scope\", error_description=\"s\", scope=\"write:reports\""
        ));
        let forbidden = Rejection::new(RejectionKind::Forbidden, "network_denied", "n");
        assert!(forbidden.challenge("api").is_none());
    }

    #[test]
    fn quoted_strings_cannot_be_broken_out_of() {
        let r = Rejection::new(RejectionKind::InvalidToken, "x", "a\"b\\c\r\nd\u{e9}");
        assert_eq!(
            r.challenge("re\"alm").unwrap(),
            "Bearer realm=\"re\\\"alm\", error=\"invalid_token\", error_description=\"a\\\"b\\\\c??d?\""
        );
    }

    #[test]
    fn problem_documents_carry_a_stable_type() {
        let r = Rejection::new(RejectionKind::Forbidden, "tenant_mismatch", "other tenant");
        let doc: serde_json::Value = serde_json::from_slice(&r.problem_json("urn:x:")).unwrap();
        assert_eq!(doc["type"], "urn:x:tenant_mismatch");
        assert_eq!(doc["status"], 403);
        assert_eq!(doc["code"], "tenant_mismatch");
        assert_eq!(doc["title"], "Forbidden");
    }
}
