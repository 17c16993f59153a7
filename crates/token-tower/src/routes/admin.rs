//! Key administration under `/admin/keys`, tenant-scoped and guarded by scopes.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Path, State, rejection::JsonRejection};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde::Deserialize;
use token_audit::{AuditEvent, Auditor};
use token_core::apikey::{
    ApiKeyError, ApiKeyErrorKind, ApiKeys, KeyRecord, KeyStore, KeyUpdate, NewKey,
};
use token_core::{Cidr, Clock, Principal, SystemClock};
use token_scopes::{Requirement, Scope, ScopeSet};

use super::oauth_error::no_store;
use crate::extract::Authenticated;
use crate::rejection::{Rejection, problem_document};
use crate::respond::Responder;

/// The default scope every key-administration call needs.
pub const DEFAULT_ADMIN_SCOPE: &str = "admin:keys";

/// The default scope that lets an administrator manage keys of every tenant.
pub const DEFAULT_CROSS_TENANT_SCOPE: &str = "admin:tenants";

/// The longest `ttl` a new key may ask for: ten years.
pub const MAX_TTL_SECS: i64 = 10 * 365 * 86_400;

/// The key-administration routes as an axum [`Router`]:
///
/// | method and path | does |
/// |---|---|
/// | `POST /admin/keys` | mints a key; answers 201 with its `id` and `secret` (shown once) |
/// | `GET /admin/keys` | lists keys (display hints only, never hashes or secrets) |
/// | `GET /admin/keys/{id}` | one key |
/// | `PATCH /admin/keys/{id}` | renames, narrows scopes, changes the expiry |
/// | `POST /admin/keys/{id}/rotate` | mints a successor; the old key works for `grace` seconds |
/// | `DELETE /admin/keys/{id}` | revokes at once |
/// | `GET /admin/keys/{id}/usage` | per-minute and per-hour counts from the audit roll-ups |
///
/// Every call needs the admin scope (default `admin:keys`). A caller bound to a
/// tenant sees and manages only that tenant's keys (others are 404); a caller with
/// the cross-tenant scope (default `admin:tenants`), held exactly and never through a
/// wildcard such as `admin:*`, manages all. A new key never exceeds its creator
/// ([`ApiKeys::mint_for`]: scopes, lifetime, networks, limits), updates only narrow
/// and shorten, and revoking a key revokes the keys it created
/// ([`ApiKeys::revoke_cascading`]).
pub struct KeyAdmin<K> {
    inner: Arc<Inner<K>>,
}

struct Inner<K> {
    keys: ApiKeys<K>,
    /// What every call needs (the admin scope, as a requirement).
    admin: Requirement,
    cross_tenant_scope: Scope,
    default_grace_secs: i64,
    auditor: Option<Auditor>,
    clock: Arc<dyn Clock>,
}

impl<K> Clone for Inner<K> {
    fn clone(&self) -> Self {
        Inner {
            keys: self.keys.clone(),
            admin: self.admin.clone(),
            cross_tenant_scope: self.cross_tenant_scope.clone(),
            default_grace_secs: self.default_grace_secs,
            auditor: self.auditor.clone(),
            clock: Arc::clone(&self.clock),
        }
    }
}

impl<K> Clone for KeyAdmin<K> {
    fn clone(&self) -> Self {
        KeyAdmin {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K> fmt::Debug for KeyAdmin<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyAdmin")
            .field("admin", &self.inner.admin)
            .field("cross_tenant_scope", &self.inner.cross_tenant_scope)
            .finish_non_exhaustive()
    }
}

fn constant_scope(s: &str) -> Scope {
    Scope::new(s).unwrap_or_else(|_| unreachable!("valid constant scope"))
}

impl<K: KeyStore> KeyAdmin<K> {
    /// Administration of `keys` with the default scopes and a one-hour rotation grace.
    pub fn new(keys: ApiKeys<K>) -> Self {
        KeyAdmin {
            inner: Arc::new(Inner {
                keys,
                admin: Requirement::scope(constant_scope(DEFAULT_ADMIN_SCOPE)),
                cross_tenant_scope: constant_scope(DEFAULT_CROSS_TENANT_SCOPE),
                default_grace_secs: 3600,
                auditor: None,
                clock: Arc::new(SystemClock),
            }),
        }
    }

    /// Applies a setting to this builder. A router built earlier, or a clone, shares
    /// the old settings; they are copied first, so the setting is never lost.
    fn edit(mut self, f: impl FnOnce(&mut Inner<K>)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// The scope every call needs.
    #[must_use]
    pub fn admin_scope(self, scope: Scope) -> Self {
        self.edit(|i| i.admin = Requirement::scope(scope))
    }

    /// The scope that crosses tenants.
    #[must_use]
    pub fn cross_tenant_scope(self, scope: Scope) -> Self {
        self.edit(|i| i.cross_tenant_scope = scope)
    }

    /// The rotation grace when the request names none (default 3600 s).
    #[must_use]
    pub fn default_grace_secs(self, secs: i64) -> Self {
        self.edit(|i| i.default_grace_secs = secs.max(0))
    }

    /// Records key events and answers the usage route from the auditor's roll-ups.
    #[must_use]
    pub fn auditor(self, auditor: Auditor) -> Self {
        self.edit(|i| i.auditor = Some(auditor))
    }

    /// The clock for `ttl` arithmetic (use the key service's).
    #[must_use]
    pub fn clock(self, clock: Arc<dyn Clock>) -> Self {
        self.edit(|i| i.clock = clock)
    }

    /// The routes.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/admin/keys", post(create::<K>).get(list::<K>))
            .route(
                "/admin/keys/{id}",
                get(show::<K>).patch(update::<K>).delete(revoke::<K>),
            )
            .route("/admin/keys/{id}/rotate", post(rotate::<K>))
            .route("/admin/keys/{id}/usage", get(usage::<K>))
            .with_state(self.clone())
    }
}

/// A refusal of the admin API, as a problem document.
#[derive(Debug)]
struct AdminError(StatusCode, &'static str, String);

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = problem_document(
            crate::DEFAULT_PROBLEM_TYPE_BASE,
            self.0,
            self.0.canonical_reason().unwrap_or("Error"),
            self.1,
            &self.2,
        );
        let mut r = (self.0, Json(body)).into_response();
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/problem+json"),
        );
        r
    }
}

impl From<ApiKeyError> for AdminError {
    fn from(e: ApiKeyError) -> Self {
        let status = match e.kind() {
            ApiKeyErrorKind::NotFound => StatusCode::NOT_FOUND,
            ApiKeyErrorKind::WouldWiden
            | ApiKeyErrorKind::ExceedsCreator(_)
            | ApiKeyErrorKind::WouldExtend => StatusCode::FORBIDDEN,
            ApiKeyErrorKind::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiKeyErrorKind::Invalid(_) => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        AdminError(status, e.code(), e.to_string())
    }
}

fn bad(detail: &str) -> AdminError {
    AdminError(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        detail.to_owned(),
    )
}

type Answer = Result<Response, Response>;

impl<K: KeyStore> Inner<K> {
    /// The caller, if it holds the admin scope.
    #[allow(clippy::result_large_err)] // the error is the response itself
    fn admin(&self, caller: Option<Authenticated>) -> Result<Principal, Response> {
        let caller = caller.map(|Authenticated(p)| p);
        Rejection::demand(caller.as_ref(), &self.admin)
            .cloned()
            .map_err(|r| refuse(&r))
    }

    /// Whether the caller holds the cross-tenant scope exactly (`admin:*` or `*` do
    /// not reach it).
    fn crosses_tenants(&self, caller: &Principal) -> bool {
        caller.scopes().holds_exactly(&self.cross_tenant_scope)
    }

    /// Whether a key with `scopes` is no wider than `holder`, the cross-tenant scope
    /// counting only when the holder has it exactly.
    fn within(&self, scopes: &ScopeSet, holder: &ScopeSet) -> bool {
        scopes.is_subset_keeping_exact(holder, &self.cross_tenant_scope)
    }

    /// An administrator and the key they named, if they may see it (another
    /// tenant's key is "not found").
    async fn caller_and_key(
        &self,
        caller: Option<Authenticated>,
        id: &str,
    ) -> Result<(Principal, KeyRecord), Response> {
        let caller = self.admin(caller)?;
        let record = self.visible(&caller, id).await?;
        Ok((caller, record))
    }

    /// Like [`Inner::caller_and_key`], for changes (rotate, update, revoke): the key
    /// may hold no scope the caller lacks. Rotating hands out a new secret with the
    /// key's scopes, and revoking or narrowing a more powerful key would let a lesser
    /// administrator lock out a greater one.
    async fn caller_and_managed_key(
        &self,
        caller: Option<Authenticated>,
        id: &str,
    ) -> Result<(Principal, KeyRecord), Response> {
        let (caller, record) = self.caller_and_key(caller, id).await?;
        if !self.within(&record.scopes, caller.scopes()) {
            return Err(AdminError(
                StatusCode::FORBIDDEN,
                "scope_widening",
                "this key holds scopes you do not; you cannot manage it".into(),
            )
            .into_response());
        }
        Ok((caller, record))
    }

    /// The key, if the caller may see it (another tenant's key is "not found").
    #[allow(clippy::result_large_err)] // the error is the response itself
    async fn visible(&self, caller: &Principal, id: &str) -> Result<KeyRecord, Response> {
        let record = self
            .keys
            .get(id)
            .await
            .map_err(|e| AdminError::from(e).into_response())?;
        if self.crosses_tenants(caller) || record.tenant.as_deref() == caller.tenant() {
            Ok(record)
        } else {
            Err(AdminError::from(ApiKeyError::from(ApiKeyErrorKind::NotFound)).into_response())
        }
    }

    fn record(&self, event: impl FnOnce() -> AuditEvent) {
        if let Some(a) = &self.auditor {
            a.record(event());
        }
    }
}

fn refuse(r: &Rejection) -> Response {
    Responder::default().refusal(r).map(axum::body::Body::new)
}

/// What the admin API shows of a key: never its hash.
fn view(r: &KeyRecord) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "hint": r.hint,
        "name": r.name,
        "owner": r.owner,
        "tenant": r.tenant,
        "scopes": r.scopes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "status": r.status,
        "created_at": r.created_at,
        "expires_at": r.expires_at,
        "last_used_at": r.last_used_at,
        "networks": r.networks.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "rate_limit": r.rate_limit,
    })
}

/// A new key's secret, shown once: never cached anywhere on the way.
fn with_secret(status: StatusCode, mut body: serde_json::Value, secret: &str) -> Response {
    if let Some(map) = body.as_object_mut() {
        map.insert("secret".into(), secret.into());
    }
    let mut r = (status, Json(body)).into_response();
    no_store(&mut r);
    r
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scopes {
    List(Vec<String>),
    Text(String),
}

impl Scopes {
    fn parse(&self) -> Result<ScopeSet, AdminError> {
        let text = match self {
            Scopes::List(list) => list.join(" "),
            Scopes::Text(t) => t.clone(),
        };
        text.parse().map_err(|e| bad(&format!("scopes: {e}")))
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Ttl {
    Secs(i64),
    Text(String),
}

impl Ttl {
    /// Seconds, or `30s`/`15m`/`12h`/`90d`; positive and at most [`MAX_TTL_SECS`].
    fn secs(&self) -> Result<i64, AdminError> {
        let secs = match self {
            Ttl::Secs(s) => Some(*s),
            Ttl::Text(t) => {
                let t = t.trim();
                let split = t.len().saturating_sub(1);
                let (n, unit) = t.split_at_checked(split).unwrap_or((t, ""));
                let mult = match unit {
                    "s" => Some(1),
                    "m" => Some(60),
                    "h" => Some(3600),
                    "d" => Some(86_400),
                    _ => None,
                };
                mult.zip(n.parse::<i64>().ok())
                    .and_then(|(m, n)| n.checked_mul(m))
            }
        };
        secs.filter(|s| (1..=MAX_TTL_SECS).contains(s))
            .ok_or_else(|| bad("ttl must be seconds or like 30d, at most ten years"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    scopes: Scopes,
    tenant: Option<String>,
    ttl: Option<Ttl>,
    /// CIDRs within the creator's; the creator's when absent.
    networks: Option<Vec<String>>,
}

async fn create<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Option<Authenticated>,
    body: Result<Json<CreateBody>, JsonRejection>,
) -> Answer {
    let a = &admin.inner;
    let caller = a.admin(caller)?;
    let Json(body) = body.map_err(|e| bad(&e.body_text()).into_response())?;
    let name = body.name.trim();
    if name.is_empty() || name.len() > 128 {
        return Err(bad("name must be 1 to 128 bytes").into_response());
    }
    let scopes = body.scopes.parse().map_err(IntoResponse::into_response)?;
    if scopes.is_empty() {
        return Err(bad("a key needs at least one scope").into_response());
    }
    if !a.within(&scopes, caller.scopes()) {
        return Err(AdminError(
            StatusCode::FORBIDDEN,
            "scope_widening",
            "a key cannot hold a scope its creator does not".into(),
        )
        .into_response());
    }
    let tenant = match (body.tenant.as_deref(), caller.tenant()) {
        (Some(t), own) if own != Some(t) && !a.crosses_tenants(&caller) => {
            return Err(AdminError(
                StatusCode::FORBIDDEN,
                "tenant_mismatch",
                "you can create keys for your own tenant only".into(),
            )
            .into_response());
        }
        (Some(t), _) => Some(t),
        (None, own) => own,
    };
    let mut spec = NewKey::new(name, scopes);
    if let Some(t) = tenant {
        spec = spec.tenant(t);
    }
    if let Some(ttl) = &body.ttl {
        spec = spec.ttl_secs(ttl.secs().map_err(IntoResponse::into_response)?);
    }
    if let Some(networks) = &body.networks {
        let parsed = networks
            .iter()
            .map(|n| n.parse::<Cidr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad("networks must be CIDRs such as 10.0.0.0/8").into_response())?;
        spec = spec.networks(parsed);
    }
    // The creator's limits (lifetime, networks, metering, rate limit) bound the key.
    let (secret, record) = a
        .keys
        .mint_for(&caller, spec)
        .await
        .map_err(|e| AdminError::from(e).into_response())?;
    a.record(|| AuditEvent::key_created(&record).with_principal(&caller));
    Ok(with_secret(
        StatusCode::CREATED,
        view(&record),
        secret.expose_secret(),
    ))
}

async fn list<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Option<Authenticated>,
) -> Answer {
    let a = &admin.inner;
    let caller = a.admin(caller)?;
    let records = if a.crosses_tenants(&caller) {
        a.keys.list(None).await
    } else {
        a.keys.list(caller.tenant()).await.map(|mut all| {
            all.retain(|r| r.tenant.as_deref() == caller.tenant());
            all
        })
    }
    .map_err(|e| AdminError::from(e).into_response())?;
    let keys: Vec<_> = records.iter().map(view).collect();
    Ok(Json(serde_json::json!({ "keys": keys })).into_response())
}

async fn show<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Option<Authenticated>,
    Path(id): Path<String>,
) -> Answer {
    let a = &admin.inner;
    let (_, record) = a.caller_and_key(caller, &id).await?;
    Ok(Json(view(&record)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    name: Option<String>,
    scopes: Option<Scopes>,
    #[serde(default, deserialize_with = "present")]
    expires_at: ExpiryChange,
}

/// `expires_at` missing (unchanged), `null` (never expires) or a time.
#[derive(Default)]
enum ExpiryChange {
    #[default]
    Unchanged,
    Set(Option<i64>),
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ExpiryChange, D::Error> {
    Option::<i64>::deserialize(d).map(ExpiryChange::Set)
}

async fn update<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Option<Authenticated>,
    Path(id): Path<String>,
    body: Result<Json<UpdateBody>, JsonRejection>,
) -> Answer {
    let a = &admin.inner;
    // Authenticate before reading the body: a stranger learns nothing from the parser.
    let (caller, current) = a.caller_and_managed_key(caller, &id).await?;
    let Json(body) = body.map_err(|e| bad(&e.body_text()).into_response())?;
    let now = a.clock.now();
    if current.expires_at.is_some_and(|at| at <= now) {
        return Err(AdminError(
            StatusCode::CONFLICT,
            "key_expired",
            "an expired key cannot be changed; mint a new one".into(),
        )
        .into_response());
    }
    let mut change = KeyUpdate::new();
    if let Some(name) = body.name.as_deref().map(str::trim) {
        if name.is_empty() || name.len() > 128 {
            return Err(bad("name must be 1 to 128 bytes").into_response());
        }
        change = change.name(name);
    }
    if let Some(scopes) = &body.scopes {
        let scopes = scopes.parse().map_err(IntoResponse::into_response)?;
        if !a.within(&scopes, caller.scopes()) {
            return Err(AdminError(
                StatusCode::FORBIDDEN,
                "scope_widening",
                "a key cannot hold a scope you do not".into(),
            )
            .into_response());
        }
        change = change.scopes(scopes);
    }
    // Only earlier: `ApiKeys::update` refuses a later expiry or its removal, which
    // could make the key outlive its creator.
    match body.expires_at {
        ExpiryChange::Unchanged => {}
        ExpiryChange::Set(Some(at)) if at <= now || at > now.saturating_add(MAX_TTL_SECS) => {
            return Err(
                bad("expires_at must be in the future, at most ten years away").into_response(),
            );
        }
        ExpiryChange::Set(at) => change = change.expires_at(at),
    }
    let record = a
        .keys
        .update(&id, change)
        .await
        .map_err(|e| AdminError::from(e).into_response())?;
    a.record(|| AuditEvent::key_updated(&record).with_principal(&caller));
    Ok(Json(view(&record)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    grace: Option<i64>,
}

async fn rotate<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Option<Authenticated>,
    Path(id): Path<String>,
    body: Result<Option<Json<RotateBody>>, JsonRejection>,
) -> Answer {
    let a = &admin.inner;
    let (caller, old) = a.caller_and_managed_key(caller, &id).await?;
    let body = body.map_err(|e| bad(&e.body_text()).into_response())?;
    let grace = body
        .and_then(|Json(b)| b.grace)
        .unwrap_or(a.default_grace_secs)
        .clamp(0, MAX_TTL_SECS);
    let (secret, new) = a
        .keys
        .rotate(&id, grace)
        .await
        .map_err(|e| AdminError::from(e).into_response())?;
    a.record(|| AuditEvent::key_rotated(&old, &new).with_principal(&caller));
    let mut body = view(&new);
    if let Some(map) = body.as_object_mut() {
        map.insert("rotated".into(), old.id.clone().into());
        map.insert(
            "grace_end".into(),
            a.clock.now().saturating_add(grace).into(),
        );
    }
    Ok(with_secret(
        StatusCode::CREATED,
        body,
        secret.expose_secret(),
    ))
}

async fn revoke<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Option<Authenticated>,
    Path(id): Path<String>,
) -> Answer {
    let a = &admin.inner;
    let (caller, _) = a.caller_and_managed_key(caller, &id).await?;
    let reason = format!("revoked by {} via the admin API", caller.id());
    // The keys this key created (at any depth) die with it.
    let (record, offspring) = a
        .keys
        .revoke_cascading(&id, &reason)
        .await
        .map_err(|e| AdminError::from(e).into_response())?;
    // `key_id` is the key revoked and `principal_id` the caller; `target` names the
    // revoked key too, for readers that look there.
    a.record(|| {
        AuditEvent::key_revoked(&record, &reason)
            .with_principal(&caller)
            .target(&record.id)
    });
    let because = format!("its creator {id} was revoked by {}", caller.id());
    for child in &offspring {
        a.record(|| {
            AuditEvent::key_revoked(child, &because)
                .with_principal(&caller)
                .target(&child.id)
        });
    }
    let mut body = view(&record);
    if let Some(map) = body.as_object_mut() {
        let ids: Vec<_> = offspring.iter().map(|r| r.id.clone()).collect();
        map.insert("revoked_with".into(), ids.into());
    }
    Ok(Json(body).into_response())
}

async fn usage<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Option<Authenticated>,
    Path(id): Path<String>,
) -> Answer {
    let a = &admin.inner;
    let (_, record) = a.caller_and_key(caller, &id).await?;
    let Some(auditor) = &a.auditor else {
        return Err(AdminError(
            StatusCode::NOT_FOUND,
            "usage_not_recorded",
            "this service records no usage (no auditor configured)".into(),
        )
        .into_response());
    };
    let report = auditor.usage(&record.id);
    Ok(Json(serde_json::json!({
        "id": record.id,
        "minutes": report.as_ref().map_or(&[][..], |r| r.minutes.as_slice()),
        "hours": report.as_ref().map_or(&[][..], |r| r.hours.as_slice()),
    }))
    .into_response())
}
