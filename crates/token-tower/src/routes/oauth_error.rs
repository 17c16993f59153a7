//! RFC 6749 §5.2 error responses and the no-store headers of token responses.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

/// An OAuth error: `{"error": "...", "error_description": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub(crate) code: &'static str,
    pub(crate) description: &'static str,
    /// The client tried HTTP Basic: a 401 must carry a Basic challenge.
    pub(crate) basic_challenge: bool,
}

impl OAuthError {
    pub(crate) fn new(code: &'static str, description: &'static str) -> Self {
        OAuthError {
            code,
            description,
            basic_challenge: false,
        }
    }

    fn status(&self) -> StatusCode {
        match self.code {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.code,
            "error_description": self.description,
        });
        let mut response = (self.status(), Json(body)).into_response();
        no_store(&mut response);
        if self.basic_challenge && self.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"oauth\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

/// Token responses and errors must not be cached (RFC 6749 §5.1).
pub(crate) fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A JSON success body with the no-store headers.
pub(crate) fn no_store_json(body: serde_json::Value) -> Response {
    let mut response = Json(body).into_response();
    no_store(&mut response);
    response
}
