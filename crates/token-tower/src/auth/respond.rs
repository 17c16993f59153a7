//! Turning refusals into responses, the settings that reach past the layer, and
//! what happens once a response exists.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use token_scopes::{Requirement, Scope};

use super::layer::Config;
use super::pipeline::Outcome;
#[cfg(feature = "axum")]
use super::refusal::Problem;
use super::refusal::Refusal;

const PROBLEM_JSON: HeaderValue = HeaderValue::from_static("application/problem+json");

/// The default prefix of problem `type` URIs: `urn:tokenkit:problem:<code>`.
pub(crate) const DEFAULT_PROBLEM_TYPE_BASE: &str = "urn:tokenkit:problem:";

/// The default scope every key-administration call needs.
pub(crate) const DEFAULT_ADMIN_SCOPE: &str = "admin:keys";

/// The scope that crosses tenants when the policy names none.
pub(crate) const DEFAULT_CROSS_TENANT_SCOPE: &str = "admin:tenants";

/// The default scope a caller needs to use `/oauth/introspect`.
pub(crate) const DEFAULT_INTROSPECTION_SCOPE: &str = "tokens:introspect";

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
pub(crate) type RenderFn = Arc<dyn Fn(&Refusal) -> RenderedBody + Send + Sync>;

/// How refusals are rendered, and the scopes that guard the routes: configured once
/// on [`crate::AuthLayer`] and handed, with each admitted request, to
/// [`crate::RequireScopeLayer`], the [`crate::Authenticated`] extractor and the
/// routes (which use the defaults when no layer ran).
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) realm: String,
    pub(crate) problem_type_base: String,
    pub(crate) render: Option<RenderFn>,
    /// What every key-administration call needs.
    pub(crate) admin: Requirement,
    /// What an introspecting caller needs.
    pub(crate) introspection: Requirement,
    /// The scope that crosses tenants, held exactly: the policy's, or
    /// `admin:tenants`.
    pub(crate) cross_tenant: Scope,
}

/// The settings as a request extension: one pointer.
#[derive(Clone)]
pub(crate) struct Shared(pub(crate) Arc<Settings>);

fn constant_scope(s: &str) -> Scope {
    Scope::new(s).unwrap_or_else(|_| unreachable!("a valid constant scope"))
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            realm: "api".to_owned(),
            problem_type_base: DEFAULT_PROBLEM_TYPE_BASE.to_owned(),
            render: None,
            admin: Requirement::scope(constant_scope(DEFAULT_ADMIN_SCOPE)),
            introspection: Requirement::scope(constant_scope(DEFAULT_INTROSPECTION_SCOPE)),
            cross_tenant: constant_scope(DEFAULT_CROSS_TENANT_SCOPE),
        }
    }
}

impl Settings {
    /// Whether these are the defaults (nothing to hand over).
    pub(crate) fn is_default(&self) -> bool {
        let d = Settings::default();
        self.realm == d.realm
            && self.problem_type_base == d.problem_type_base
            && self.render.is_none()
            && self.admin == d.admin
            && self.introspection == d.introspection
            && self.cross_tenant == d.cross_tenant
    }
}

impl Shared {
    /// The settings a request carries, or the defaults.
    pub(crate) fn of(extensions: &http::Extensions) -> Shared {
        extensions
            .get::<Shared>()
            .cloned()
            .unwrap_or_else(|| Shared(Arc::new(Settings::default())))
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("realm", &self.realm)
            .field("problem_type_base", &self.problem_type_base)
            .field("render", &self.render.is_some())
            .field("admin", &self.admin)
            .field("introspection", &self.introspection)
            .field("cross_tenant", &self.cross_tenant)
            .finish()
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl Settings {
    /// The response for a refusal: status, challenge, extra headers, and the problem
    /// document (or the user's own body).
    pub(crate) fn refusal(&self, refusal: &Refusal) -> Response<Full<Bytes>> {
        let (content_type, body) = match &self.render {
            Some(render) => {
                let rendered = render(refusal);
                (rendered.content_type, rendered.body)
            }
            None => (PROBLEM_JSON, refusal.problem_json(&self.problem_type_base)),
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = refusal.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, content_type);
        if let Some(challenge) = refusal.challenge(&self.realm) {
            headers.insert(WWW_AUTHENTICATE, challenge);
        }
        if let Some(retry) = refusal.retry_after() {
            headers.insert(RETRY_AFTER, retry);
        }
        response
    }

    /// A problem document for an error of the routes themselves (bad input, not
    /// found, conflict), with the layer's problem-type base, naming the field and
    /// the rule when one value was refused.
    #[cfg(feature = "axum")]
    pub(crate) fn problem(
        &self,
        status: StatusCode,
        code: &str,
        detail: &str,
        field: Option<(&str, &str)>,
    ) -> Response<Full<Bytes>> {
        let title = status.canonical_reason().unwrap_or("Error");
        let mut doc = Problem::new(&self.problem_type_base, status, title, code, detail);
        if let Some((field, rule)) = field {
            doc.field = Some(field);
            doc.rule = Some(rule);
        }
        let mut response = Response::new(Full::new(doc.to_bytes()));
        *response.status_mut() = status;
        response.headers_mut().insert(CONTENT_TYPE, PROBLEM_JSON);
        response
    }
}

/// An empty 500: what the audit trail records when the inner service failed, and the
/// answer to a future polled after it completed.
pub(crate) fn internal_error() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

impl<K, L> Config<K, L> {
    /// Runs once per request with the final response: adds the rate-limit fields and
    /// records the audit event.
    pub(crate) fn finish<B>(
        &self,
        outcome: Box<Outcome>,
        response: &mut Response<B>,
        started: Instant,
    ) {
        if let Some(decision) = &outcome.rate {
            self.rate_headers.add(decision, response.headers_mut());
        }
        tracing::debug!(
            allowed = outcome.result.is_ok(),
            code = outcome.result.as_ref().err().map(Refusal::code),
            principal = outcome.principal.as_ref().map(token_core::Principal::id),
            route = outcome
                .rule
                .and_then(|i| self.policy.rules().get(i))
                .map(|r| r.template().as_str()),
            status = response.status().as_u16(),
            "access decision"
        );
        if let Some(auditor) = &self.auditor {
            self.audit(auditor, outcome, response.status(), started);
        }
    }
}
