//! What the OAuth endpoints read and write: one form per endpoint, and the response
//! bodies, typed, so the OpenAPI document (feature `openapi`) describes exactly what
//! is sent.

use serde::{Deserialize, Serialize};

/// The form of the token endpoint (`application/x-www-form-urlencoded`; unknown
/// parameters are ignored, RFC 6749 §3.1). Secrets in it are never logged: this type
/// has no `Debug`.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[allow(clippy::struct_field_names, missing_debug_implementations)]
pub(crate) struct TokenForm {
    /// `client_credentials` or `refresh_token`.
    #[cfg_attr(
        feature = "openapi",
        schema(schema_with = super::openapi::grant_type, required = true)
    )]
    pub(super) grant_type: Option<String>,
    /// Space-separated scopes: the token grants at most these.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, required = false, example = "read:reports")
    )]
    pub(super) scope: Option<String>,
    /// The client's id, when it authenticates with form parameters (not with HTTP
    /// Basic); with Basic, it may repeat the Basic id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false))]
    pub(super) client_id: Option<String>,
    /// The client's secret, when it authenticates with form parameters (never with
    /// HTTP Basic as well).
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, required = false, format = Password)
    )]
    pub(super) client_secret: Option<String>,
    /// The refresh token (`grant_type=refresh_token`).
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, required = false, format = Password)
    )]
    pub(super) refresh_token: Option<String>,
}

/// The form of the introspection endpoint (RFC 7662 §2.1).
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[allow(missing_debug_implementations)]
pub(crate) struct IntrospectForm {
    /// The token or API key to introspect.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, required = true, format = Password)
    )]
    pub(super) token: Option<String>,
}

/// The form of the revocation endpoint (RFC 7009 §2.1).
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[allow(missing_debug_implementations)]
pub(crate) struct RevokeForm {
    /// The refresh token or access token to revoke.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, required = true, format = Password)
    )]
    pub(super) token: Option<String>,
    /// The client's id, when it authenticates with form parameters.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false))]
    pub(super) client_id: Option<String>,
    /// The client's secret, when it authenticates with form parameters (never with
    /// HTTP Basic as well).
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, required = false, format = Password)
    )]
    pub(super) client_secret: Option<String>,
}

/// A token response (RFC 6749 §5.1), sent with `Cache-Control: no-store`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct TokenResponse<'a> {
    /// The access token: a JWT.
    pub(super) access_token: &'a str,
    /// Always `Bearer`.
    #[cfg_attr(feature = "openapi", schema(schema_with = super::openapi::bearer))]
    pub(super) token_type: TokenType,
    /// Seconds until the access token expires.
    pub(super) expires_in: i64,
    /// The scopes granted, space-separated.
    pub(super) scope: String,
    /// The new refresh token (the refresh grant rotates it); the old one is spent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false))]
    pub(super) refresh_token: Option<&'a str>,
}

/// `token_type` in token and introspection responses.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) enum TokenType {
    /// A JWT access token (RFC 6750).
    Bearer,
    /// One of our API keys.
    #[serde(rename = "api_key")]
    ApiKey,
}

/// An introspection response (RFC 7662 §2.2).
#[derive(Serialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) enum Introspection<'a> {
    /// A token that does not verify, or that the caller may not see.
    Inactive {
        /// Always `false`.
        #[cfg_attr(feature = "openapi", schema(schema_with = super::openapi::always_false))]
        active: bool,
    },
    /// An active JWT.
    Jwt(JwtIntrospection<'a>),
    /// An active API key.
    ApiKey(ApiKeyIntrospection<'a>),
}

/// What introspection tells of an active JWT: its claims.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct JwtIntrospection<'a> {
    /// Always `true`.
    #[cfg_attr(feature = "openapi", schema(schema_with = super::openapi::always_true))]
    pub(super) active: bool,
    /// Always `Bearer`.
    #[cfg_attr(feature = "openapi", schema(schema_with = super::openapi::bearer))]
    pub(super) token_type: TokenType,
    /// The granted scopes, space-separated.
    pub(super) scope: String,
    /// The client the token was issued to.
    pub(super) client_id: Option<&'a str>,
    /// The subject.
    pub(super) sub: Option<&'a str>,
    /// The audiences.
    pub(super) aud: &'a [String],
    /// The issuer.
    pub(super) iss: Option<&'a str>,
    /// Expiry, seconds since the epoch.
    pub(super) exp: i64,
    /// Issued at, seconds since the epoch.
    pub(super) iat: Option<i64>,
    /// Not before, seconds since the epoch.
    pub(super) nbf: Option<i64>,
    /// The token's id.
    pub(super) jti: Option<&'a str>,
    /// The tenant.
    pub(super) tenant: Option<&'a str>,
}

/// What introspection tells of an active API key.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct ApiKeyIntrospection<'a> {
    /// Always `true`.
    #[cfg_attr(feature = "openapi", schema(schema_with = super::openapi::always_true))]
    pub(super) active: bool,
    /// Always `api_key`.
    #[cfg_attr(feature = "openapi", schema(schema_with = super::openapi::api_key_type))]
    pub(super) token_type: TokenType,
    /// The key's scopes, space-separated.
    pub(super) scope: String,
    /// The key's id.
    pub(super) sub: &'a str,
    /// Expiry, seconds since the epoch; `null` if it never expires.
    pub(super) exp: Option<i64>,
    /// When it was minted, seconds since the epoch.
    pub(super) iat: i64,
    /// The tenant.
    pub(super) tenant: Option<&'a str>,
    /// The key's name.
    pub(super) username: &'a str,
}

/// The revocation endpoint's answer: always an empty object (RFC 7009 §2.2).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct Revoked {}

impl Drop for TokenForm {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.client_secret.zeroize();
        self.refresh_token.zeroize();
    }
}

impl Drop for IntrospectForm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
    }
}

impl Drop for RevokeForm {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.client_secret.zeroize();
        self.token.zeroize();
    }
}
