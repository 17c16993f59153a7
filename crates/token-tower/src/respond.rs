//! Turning refusals into responses, and what happens once a response exists.

use std::time::Instant;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::Full;

use crate::decide::Outcome;
use crate::layer::Config;
use crate::rejection::{Rejection, RenderFn};

const PROBLEM_JSON: HeaderValue = HeaderValue::from_static("application/problem+json");

/// How refusals are rendered: shared by [`crate::AuthLayer`] and
/// [`crate::RequireScopeLayer`].
#[derive(Clone)]
pub(crate) struct Responder {
    pub(crate) realm: String,
    pub(crate) problem_type_base: String,
    pub(crate) render: Option<RenderFn>,
}

impl Default for Responder {
    fn default() -> Self {
        Responder {
            realm: "api".to_owned(),
            problem_type_base: crate::DEFAULT_PROBLEM_TYPE_BASE.to_owned(),
            render: None,
        }
    }
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("realm", &self.realm)
            .field("problem_type_base", &self.problem_type_base)
            .field("render", &self.render.is_some())
            .finish()
    }
}

impl Responder {
    /// The response for a refusal: status, challenge, extra headers, and the problem
    /// document (or the user's own body).
    pub(crate) fn refusal(&self, rejection: &Rejection) -> Response<Full<Bytes>> {
        let (content_type, body) = match &self.render {
            Some(render) => {
                let rendered = render(rejection);
                (rendered.content_type, rendered.body)
            }
            None => (
                PROBLEM_JSON,
                rejection.problem_json(&self.problem_type_base),
            ),
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = rejection.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, content_type);
        if let Some(challenge) = rejection.challenge(&self.realm) {
            headers.insert(WWW_AUTHENTICATE, challenge);
        }
        for (name, value) in rejection.headers() {
            headers.append(name.clone(), value.clone());
        }
        response
    }
}

/// The rate-limit field names as header names, without parsing them per response.
fn rate_header(name: &str) -> Option<HeaderName> {
    use token_ratelimit::headers::{
        RATELIMIT, RATELIMIT_POLICY, RETRY_AFTER, X_RATELIMIT_LIMIT, X_RATELIMIT_REMAINING,
        X_RATELIMIT_RESET,
    };
    // `from_static` in a const is checked at compile time; a match builds only the one
    // name it returns.
    const POLICY: HeaderName = HeaderName::from_static(RATELIMIT_POLICY);
    const LIMIT: HeaderName = HeaderName::from_static(RATELIMIT);
    const X_LIMIT: HeaderName = HeaderName::from_static(X_RATELIMIT_LIMIT);
    const X_REMAINING: HeaderName = HeaderName::from_static(X_RATELIMIT_REMAINING);
    const X_RESET: HeaderName = HeaderName::from_static(X_RATELIMIT_RESET);
    Some(match name {
        RATELIMIT_POLICY => POLICY,
        RATELIMIT => LIMIT,
        RETRY_AFTER => http::header::RETRY_AFTER,
        X_RATELIMIT_LIMIT => X_LIMIT,
        X_RATELIMIT_REMAINING => X_REMAINING,
        X_RATELIMIT_RESET => X_RESET,
        other => return HeaderName::try_from(other).ok(),
    })
}

/// For a future polled after it completed: a caller bug, answered rather than panicked.
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
            let headers = response.headers_mut();
            decision.each_header(self.header_style, |name, value| {
                if let (Some(name), Ok(value)) = (rate_header(name), HeaderValue::from_str(value)) {
                    headers.insert(name, value);
                }
            });
        }
        if let Some(auditor) = &self.auditor {
            self.audit(auditor, outcome, response.status(), started);
        }
    }
}
