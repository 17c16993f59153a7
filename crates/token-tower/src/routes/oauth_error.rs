//! RFC 6749 §5.2 error responses and the no-store headers of token responses.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

/// An OAuth error: `{"error": "...", "error_description": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub(crate) code: ErrorCode,
    pub(crate) description: &'static str,
    /// The client tried HTTP Basic: a 401 must carry a Basic challenge.
    pub(crate) basic_challenge: bool,
}

/// The error codes the OAuth endpoints answer with (RFC 6749 §5.2; RFC 7009 §2.2.1
/// adds none we use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = OAuthErrorCode))]
pub(crate) enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    UnsupportedGrantType,
    ServerError,
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The code as it is sent (and audited).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::InvalidRequest
            | ErrorCode::InvalidGrant
            | ErrorCode::InvalidScope
            | ErrorCode::UnsupportedGrantType => StatusCode::BAD_REQUEST,
        }
    }
}

impl OAuthError {
    pub(crate) fn new(code: ErrorCode, description: &'static str) -> Self {
        OAuthError {
            code,
            description,
            basic_challenge: false,
        }
    }

    fn status(&self) -> StatusCode {
        self.code.status()
    }
}

/// The body of an OAuth error (RFC 6749 §5.2).
#[derive(Debug, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct OAuthErrorBody {
    /// The RFC 6749 error code.
    pub(crate) error: ErrorCode,
    /// What went wrong, for the developer of the client.
    pub(crate) error_description: &'static str,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody {
            error: self.code,
            error_description: self.description,
        };
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
pub(crate) fn no_store_json(body: impl serde::Serialize) -> Response {
    let mut response = Json(body).into_response();
    no_store(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn codes_are_sent_as_they_are_audited() {
        for code in [
            ErrorCode::InvalidRequest,
            ErrorCode::InvalidClient,
            ErrorCode::InvalidGrant,
            ErrorCode::InvalidScope,
            ErrorCode::UnsupportedGrantType,
            ErrorCode::ServerError,
            ErrorCode::TemporarilyUnavailable,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}
