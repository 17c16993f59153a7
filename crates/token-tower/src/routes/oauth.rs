//! `/oauth/token` (client credentials and refresh tokens), `/oauth/introspect`
//! (RFC 7662) and `/oauth/revoke` (RFC 7009).

use std::fmt;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::{Form, State, rejection::FormRejection};
use axum::response::Response;
use axum::routing::post;
use http::HeaderMap;
use token_audit::{AuditEvent, Auditor, EventKind, Outcome};
use token_core::backend::RefreshStore;
use token_core::backend::{ClientRecord, ClientStore};
use token_core::backend::{KeyStore, MemoryKeyStore};
use token_core::client::{ClientCredentials, ClientError};
use token_core::jwt::Minter;
use token_core::refresh::{AccessIssue, RefreshError, RefreshTokens};
use token_core::{Authenticator, CredentialKind};
use token_scopes::{Scope, ScopeSet};

use super::client_auth::{ClientAuth, client_auth};
use super::error::{Caller, RouteError};
#[cfg(feature = "openapi")]
use super::oauth_error::OAuthErrorBody;
use super::oauth_error::{ErrorCode, OAuthError, no_store_json};
use super::oauth_wire::{
    ApiKeyIntrospection, IntrospectForm, Introspection, JwtIntrospection, RevokeForm, Revoked,
    TokenForm, TokenResponse, TokenType,
};
use crate::auth::client::ClientInfo;
use crate::auth::refusal::Refusal;

/// The OAuth 2.0 endpoints, as an axum [`Router`] to merge into yours.
///
/// Mount it *inside* the [`crate::AuthLayer`] with policy rules that make
/// `POST /oauth/token` and `POST /oauth/revoke` public (clients authenticate there
/// with their own credentials) and `POST /oauth/introspect` require the
/// introspection scope.
pub struct OAuthRoutes<C, R, K = MemoryKeyStore> {
    inner: Arc<Inner<C, R, K>>,
}

struct Inner<C, R, K> {
    clients: ClientCredentials<C>,
    refresh: Option<RefreshTokens<R>>,
    minter: Minter,
    audience: String,
    access_ttl_secs: i64,
    authenticator: Authenticator<K>,
    auditor: Option<Auditor>,
}

impl<C, R, K> Clone for Inner<C, R, K> {
    fn clone(&self) -> Self {
        Inner {
            clients: self.clients.clone(),
            refresh: self.refresh.clone(),
            minter: self.minter.clone(),
            audience: self.audience.clone(),
            access_ttl_secs: self.access_ttl_secs,
            authenticator: self.authenticator.clone(),
            auditor: self.auditor.clone(),
        }
    }
}

impl<C, R, K> Clone for OAuthRoutes<C, R, K> {
    fn clone(&self) -> Self {
        OAuthRoutes {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C, R, K> fmt::Debug for OAuthRoutes<C, R, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthRoutes")
            .field("audience", &self.inner.audience)
            .field("refresh_tokens", &self.inner.refresh.is_some())
            .finish_non_exhaustive()
    }
}

impl<C: ClientStore, R: RefreshStore, K: KeyStore> OAuthRoutes<C, R, K> {
    /// The endpoints over registered clients, the minter of access tokens for the
    /// refresh grant (tokens for `audience`, 15 minutes), and the authenticator that
    /// introspection and revocation check tokens with.
    pub fn new(
        clients: ClientCredentials<C>,
        minter: Minter,
        audience: &str,
        authenticator: Authenticator<K>,
    ) -> Self {
        OAuthRoutes {
            inner: Arc::new(Inner {
                clients,
                refresh: None,
                minter,
                audience: audience.to_owned(),
                access_ttl_secs: 900,
                authenticator,
                auditor: None,
            }),
        }
    }

    /// Applies a setting to this builder. A router built earlier, or a clone, shares
    /// the old settings; they are copied first, so the setting is never lost.
    fn edit(mut self, f: impl FnOnce(&mut Inner<C, R, K>)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// Accepts the `refresh_token` grant: redeems (and rotates) refresh tokens.
    #[must_use]
    pub fn refresh_tokens(self, refresh: RefreshTokens<R>) -> Self {
        self.edit(|i| i.refresh = Some(refresh))
    }

    /// The lifetime of access tokens minted by the refresh grant (default 900 s).
    #[must_use]
    pub fn access_ttl_secs(self, secs: i64) -> Self {
        self.edit(|i| i.access_ttl_secs = secs)
    }

    /// Records `token.issued`, `token.revoked` and `refresh.reuse_detected` events.
    #[must_use]
    pub fn auditor(self, auditor: Auditor) -> Self {
        self.edit(|i| i.auditor = Some(auditor))
    }

    /// `POST /oauth/token`, `POST /oauth/introspect`, `POST /oauth/revoke`.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/oauth/token", post(token::<C, R, K>))
            .route("/oauth/introspect", post(introspect::<C, R, K>))
            .route("/oauth/revoke", post(revoke::<C, R, K>))
            .layer(axum::middleware::from_fn(super::error::render_errors))
            .with_state(self.clone())
    }
}

impl<C, R, K> Inner<C, R, K> {
    fn record(&self, event: impl FnOnce() -> AuditEvent) {
        if let Some(a) = &self.auditor {
            a.record(event());
        }
    }

    /// A refused client or grant at `endpoint` (`client_credentials`,
    /// `refresh_token`, `revoke`): an `auth.failed` event with the reason code and
    /// the client id it claimed, never a secret.
    fn refused(&self, endpoint: &'static str, code: &'static str, client_id: Option<&str>) {
        self.record(|| {
            let event = AuditEvent::new(EventKind::AuthFailed, Outcome::Denied)
                .reason(code)
                .target(endpoint);
            match client_id {
                Some(id) => event.client_id(id),
                None => event,
            }
        });
    }

    /// The client's credentials from the request (HTTP Basic, or the form's
    /// `client_id` and `client_secret`), auditing a refusal.
    fn client_auth(
        &self,
        endpoint: &'static str,
        headers: &HeaderMap,
        client_id: Option<&str>,
        client_secret: Option<&str>,
    ) -> Result<ClientAuth, OAuthError> {
        client_auth(headers, client_id, client_secret).inspect_err(|e| {
            self.refused(endpoint, e.code.as_str(), client_id);
        })
    }
}

impl<C: ClientStore, R, K> Inner<C, R, K> {
    /// The registered client, if its secret is right, auditing a refusal.
    async fn client(
        &self,
        endpoint: &'static str,
        auth: &ClientAuth,
    ) -> Result<ClientRecord, OAuthError> {
        self.clients
            .authenticate(&auth.client_id, &auth.secret)
            .await
            .map_err(|e| {
                self.refused(endpoint, e.code(), Some(&auth.client_id));
                client_error(&e, auth.via_basic)
            })
    }
}

fn form<T>(form: Result<Form<T>, FormRejection>) -> Result<T, OAuthError> {
    form.map(|Form(f)| f).map_err(|_| {
        OAuthError::new(
            ErrorCode::InvalidRequest,
            "send an application/x-www-form-urlencoded body with each parameter at most once",
        )
    })
}

/// Client secrets travel only where the layer lets credentials travel (TLS or
/// loopback, unless it was told otherwise). Without the layer in front, nobody
/// resolved the transport, so the answer is no.
fn secure(transport: Option<Extension<ClientInfo>>) -> Result<(), OAuthError> {
    match transport {
        Some(Extension(info)) if info.credentials_ok => Ok(()),
        _ => Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "client credentials are accepted only over HTTPS; treat this secret as exposed",
        )),
    }
}

fn requested_scope(f: &TokenForm) -> Result<Option<ScopeSet>, OAuthError> {
    f.scope.as_deref().map(str::parse).transpose().map_err(|_| {
        OAuthError::new(
            ErrorCode::InvalidScope,
            "the scope parameter does not parse",
        )
    })
}

fn client_error(e: &ClientError, via_basic: bool) -> OAuthError {
    let (code, description) = match e {
        ClientError::InvalidClient => (ErrorCode::InvalidClient, "client authentication failed"),
        ClientError::InvalidScope => (ErrorCode::InvalidScope, "no requested scope is allowed"),
        ClientError::Store(_) => (ErrorCode::TemporarilyUnavailable, "try again shortly"),
        _ => (ErrorCode::ServerError, "the token could not be issued"),
    };
    OAuthError {
        basic_challenge: via_basic,
        ..OAuthError::new(code, description)
    }
}

/// Issues an access token to a client: `grant_type=client_credentials` (scopes:
/// requested ∩ allowed) or `grant_type=refresh_token` (rotates the refresh token; a
/// reused one revokes its family). The client authenticates with HTTP Basic or with
/// `client_id` and `client_secret` in the form, never both.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/oauth/token",
    tag = "oauth",
    operation_id = "oauth_token",
    summary = "Issue an access token (RFC 6749)",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "The token, `Cache-Control: no-store`.", body = TokenResponse<'_>),
        (status = 400, description = "An RFC 6749 error: `invalid_request`, `invalid_grant`, `invalid_scope`, `unsupported_grant_type`.", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`, with a `Basic` challenge when Basic was tried.", body = OAuthErrorBody),
        (status = 500, description = "`server_error`: the token could not be signed.", body = OAuthErrorBody),
        (status = 503, description = "`temporarily_unavailable`: a store is down.", body = OAuthErrorBody),
    )
))]
async fn token<C: ClientStore, R: RefreshStore, K: KeyStore>(
    State(routes): State<OAuthRoutes<C, R, K>>,
    Caller { shared, .. }: Caller,
    transport: Option<Extension<ClientInfo>>,
    headers: HeaderMap,
    body: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, RouteError> {
    secure(transport)?;
    let f = form(body)?;
    let cross_tenant = &shared.0.cross_tenant;
    Ok(match f.grant_type.as_deref() {
        Some("client_credentials") => {
            client_credentials(&routes.inner, cross_tenant, &headers, &f).await?
        }
        Some("refresh_token") => refresh(&routes.inner, cross_tenant, &headers, &f).await?,
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "grant_type must be client_credentials or refresh_token",
            )
            .into());
        }
        None => {
            return Err(
                OAuthError::new(ErrorCode::InvalidRequest, "grant_type is required").into(),
            );
        }
    })
}

async fn client_credentials<C: ClientStore, R, K>(
    inner: &Inner<C, R, K>,
    cross_tenant: &Scope,
    headers: &HeaderMap,
    f: &TokenForm,
) -> Result<Response, OAuthError> {
    let auth = inner.client_auth(
        "client_credentials",
        headers,
        f.client_id.as_deref(),
        f.client_secret.as_deref(),
    )?;
    let requested = requested_scope(f)?;
    let client = inner.client("client_credentials", &auth).await?;
    // The cross-tenant scope is granted only to a client allowed it exactly, never
    // through a wildcard.
    let requested =
        requested.map(|r| r.intersect_keeping_exact(&client.allowed_scopes, cross_tenant));
    let issued = inner
        .clients
        .issue_to(&client, requested.as_ref(), &inner.audience)
        .map_err(|e| {
            inner.record(|| {
                AuditEvent::new(EventKind::AuthFailed, Outcome::Denied)
                    .reason(e.code())
                    .client_id(&auth.client_id)
            });
            client_error(&e, auth.via_basic)
        })?;
    inner.record(|| {
        AuditEvent::new(EventKind::TokenIssued, Outcome::Allowed)
            .principal_id(&auth.client_id)
            .client_id(&auth.client_id)
            .reason("client_credentials")
    });
    Ok(no_store_json(TokenResponse {
        access_token: &issued.access_token,
        token_type: TokenType::Bearer,
        expires_in: issued.expires_in,
        scope: issued.scope.to_string(),
        refresh_token: None,
    }))
}

/// The refresh grant. A `scope` parameter narrows the new access token; scopes the
/// family never had are dropped, never added (the response's `scope` says what was
/// granted), so a refresh can never widen. Everything (the client, the scope, the
/// access token itself) is settled before the refresh token is used, so a refused
/// request leaves it working and its retry raises no reuse alarm.
async fn refresh<C: ClientStore, R: RefreshStore, K>(
    inner: &Inner<C, R, K>,
    cross_tenant: &Scope,
    headers: &HeaderMap,
    f: &TokenForm,
) -> Result<Response, OAuthError> {
    let Some(refresh) = &inner.refresh else {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "this server does not issue refresh tokens",
        ));
    };
    let auth = inner.client_auth(
        "refresh_token",
        headers,
        f.client_id.as_deref(),
        f.client_secret.as_deref(),
    )?;
    let requested = requested_scope(f)?;
    let presented = f.refresh_token.as_deref().ok_or(OAuthError::new(
        ErrorCode::InvalidRequest,
        "refresh_token is required",
    ))?;
    let client = inner.client("refresh_token", &auth).await?;
    let issue = AccessIssue {
        minter: &inner.minter,
        audience: &inner.audience,
        ttl_secs: inner.access_ttl_secs,
        cross_tenant,
    };
    let refreshed = match refresh
        .exchange(presented, &client, requested.as_ref(), issue)
        .await
    {
        Ok(refreshed) => refreshed,
        Err(e) => {
            if let RefreshError::Reused(report) = &e {
                inner.record(|| AuditEvent::refresh_reuse_detected(report));
            } else {
                inner.refused("refresh_token", e.code(), Some(&auth.client_id));
            }
            return Err(match e {
                RefreshError::Store(_) => {
                    OAuthError::new(ErrorCode::TemporarilyUnavailable, "try again shortly")
                }
                RefreshError::ScopeNotGranted => OAuthError::new(
                    ErrorCode::InvalidScope,
                    "no requested scope was granted to this refresh token",
                ),
                RefreshError::Mint => {
                    OAuthError::new(ErrorCode::ServerError, "the token could not be issued")
                }
                _ => OAuthError::new(ErrorCode::InvalidGrant, "the refresh token is not valid"),
            });
        }
    };
    let record = &refreshed.record;
    inner.record(|| {
        AuditEvent::new(EventKind::TokenIssued, Outcome::Allowed)
            .principal_id(&record.subject)
            .client_id(&record.client_id)
            .reason("refresh_token")
    });
    Ok(no_store_json(TokenResponse {
        access_token: &refreshed.access_token,
        token_type: TokenType::Bearer,
        expires_in: inner.access_ttl_secs,
        scope: refreshed.scope.to_string(),
        refresh_token: Some(refreshed.refresh_token.expose_secret()),
    }))
}

/// RFC 7662. The caller is the authenticated principal and needs the introspection
/// scope; any token that does not verify is `{"active": false}`.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/oauth/introspect",
    tag = "oauth",
    operation_id = "oauth_introspect",
    summary = "Introspect a token or API key (RFC 7662)",
    request_body(content = IntrospectForm, content_type = "application/x-www-form-urlencoded"),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "`{\"active\": false}` unless the token verifies and the caller may see its tenant.", body = Introspection<'_>),
        (status = 400, description = "`invalid_request`: no `token`, or a form that does not parse.", body = OAuthErrorBody),
    )
))]
async fn introspect<C, R, K: KeyStore>(
    State(routes): State<OAuthRoutes<C, R, K>>,
    Caller { principal, shared }: Caller,
    body: Result<Form<IntrospectForm>, FormRejection>,
) -> Result<Response, RouteError> {
    let inner = &routes.inner;
    let caller = Refusal::demand(principal.as_ref(), &shared.0.introspection)?;
    let f = form(body)?;
    let token = f.token.as_deref().ok_or(OAuthError::new(
        ErrorCode::InvalidRequest,
        "token is required",
    ))?;
    // A tenant-bound caller learns about its own tenant's credentials only.
    let visible = |tenant: Option<&str>| {
        caller.scopes().holds_exactly(&shared.0.cross_tenant) || caller.tenant() == tenant
    };
    Ok(introspection(&inner.authenticator, token, visible).await)
}

/// The introspection answer for `token`, `{"active": false}` unless it verifies and
/// the caller may see its tenant.
async fn introspection<K: KeyStore>(
    auth: &Authenticator<K>,
    token: &str,
    visible: impl Fn(Option<&str>) -> bool,
) -> Response {
    let inactive = || no_store_json(Introspection::Inactive { active: false });
    match auth.recognize(token) {
        Ok(CredentialKind::Jwt) => {
            let Some(Ok(v)) = auth.verifier().map(|v| v.verify(token)) else {
                return inactive();
            };
            let c = v.claims;
            if !visible(c.tenant.as_deref()) {
                return inactive();
            }
            no_store_json(Introspection::Jwt(JwtIntrospection {
                active: true,
                token_type: TokenType::Bearer,
                scope: c.scope.to_string(),
                client_id: c.client_id.as_deref(),
                sub: c.sub.as_deref(),
                aud: &c.aud,
                iss: c.iss.as_deref(),
                exp: c.exp,
                iat: c.iat,
                nbf: c.nbf,
                jti: c.jti.as_deref(),
                tenant: c.tenant.as_deref(),
            }))
        }
        Ok(CredentialKind::ApiKey) => {
            let Some(Ok(r)) = (match auth.api_key_service() {
                Some(keys) => Some(keys.lookup(token).await),
                None => None,
            }) else {
                return inactive();
            };
            if !visible(r.tenant.as_deref()) {
                return inactive();
            }
            no_store_json(Introspection::ApiKey(ApiKeyIntrospection {
                active: true,
                token_type: TokenType::ApiKey,
                scope: r.scopes.to_string(),
                sub: &r.id,
                exp: r.expires_at,
                iat: r.created_at,
                tenant: r.tenant.as_deref(),
                username: &r.name,
            }))
        }
        _ => inactive(),
    }
}

/// RFC 7009. The client authenticates; the answer is 200 whether or not the token
/// was known, so revocation reveals nothing about other clients' tokens. Access
/// tokens are revoked only for the client they were issued to.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/oauth/revoke",
    tag = "oauth",
    operation_id = "oauth_revoke",
    summary = "Revoke a refresh or access token (RFC 7009)",
    request_body(content = RevokeForm, content_type = "application/x-www-form-urlencoded"),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "Revoked, or unknown: the same answer.", body = Revoked),
        (status = 400, description = "`invalid_request`.", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`.", body = OAuthErrorBody),
        (status = 503, description = "`temporarily_unavailable`.", body = OAuthErrorBody),
    )
))]
async fn revoke<C: ClientStore, R: RefreshStore, K: KeyStore>(
    State(routes): State<OAuthRoutes<C, R, K>>,
    transport: Option<Extension<ClientInfo>>,
    headers: HeaderMap,
    body: Result<Form<RevokeForm>, FormRejection>,
) -> Result<Response, RouteError> {
    let inner = &routes.inner;
    let result: Result<(), OAuthError> = async {
        secure(transport)?;
        let f = form(body)?;
        let auth = inner.client_auth(
            "revoke",
            &headers,
            f.client_id.as_deref(),
            f.client_secret.as_deref(),
        )?;
        inner.client("revoke", &auth).await?;
        let token = f.token.as_deref().ok_or(OAuthError::new(
            ErrorCode::InvalidRequest,
            "token is required",
        ))?;
        if let Some(refresh) = &inner.refresh
            && refresh.recognizes(token)
        {
            // Only the client the token was issued to can revoke it (RFC 7009 §2.1);
            // the answer is the same either way.
            let revoked = refresh
                .revoke_for(token, &auth.client_id)
                .await
                .map_err(|_| {
                    OAuthError::new(ErrorCode::TemporarilyUnavailable, "try again shortly")
                })?;
            if revoked {
                inner.record(|| {
                    AuditEvent::new(EventKind::TokenRevoked, Outcome::Allowed)
                        .client_id(&auth.client_id)
                        .reason("refresh_token")
                });
            }
            return Ok(());
        }
        let Some(verifier) = inner.authenticator.verifier() else {
            return Ok(());
        };
        let Ok(v) = verifier.verify(token) else {
            return Ok(());
        };
        let (Some(iss), Some(jti), Some(store)) =
            (&v.claims.iss, &v.claims.jti, verifier.revocation_store())
        else {
            return Ok(());
        };
        if v.claims.client_id.as_deref() == Some(auth.client_id.as_str()) {
            store.revoke(iss, jti, v.claims.exp);
            inner.record(|| AuditEvent::token_revoked(jti).client_id(&auth.client_id));
        }
        Ok(())
    }
    .await;
    result?;
    Ok(no_store_json(Revoked {}))
}
