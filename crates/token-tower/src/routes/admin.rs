//! Key administration under `/admin/keys`, tenant-scoped and guarded by scopes.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Path, State, rejection::JsonRejection};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use token_audit::{AuditEvent, Auditor};
use token_core::apikey::admin::Operator;
use token_core::apikey::{ApiKeys, KeyRecord};
use token_core::backend::KeyStore;
use token_core::{Clock, Principal};

use super::admin_wire::{KeyUsage, KeyView, RevokedKey, RotateBody, RotatedKey, UpdateBody};
use super::error::{Caller, RouteError};
use super::idempotency::{self, Idempotency};
use super::oauth_error::no_store;
#[cfg(feature = "openapi")]
use crate::auth::refusal::Problem;
use crate::auth::refusal::Refusal;
use crate::auth::respond::Settings;

/// The longest `ttl` a new key may ask for: ten years
/// ([`token_core::limits::MAX_KEY_TTL_SECS`]).
pub(crate) const MAX_TTL_SECS: i64 = token_core::limits::MAX_KEY_TTL_SECS;

/// The key-administration routes as an axum [`Router`]:
///
/// | method and path | does |
/// |---|---|
/// | `POST /admin/keys` | mints a key; answers 201 with its `id` and `secret` (shown once) |
/// | `GET /admin/keys` | one page of keys (`limit`, `cursor`, `owner`, `status`, `name_prefix`, `tenant`; display hints only, never hashes or secrets) |
/// | `POST /admin/keys/revoke` | revokes every key of an `owner` or a `tenant`; answers the count |
/// | `GET /admin/keys/{id}` | one key |
/// | `PATCH /admin/keys/{id}` | renames, narrows scopes, changes the expiry |
/// | `POST /admin/keys/{id}/rotate` | mints a successor; the old key works for `grace` seconds |
/// | `DELETE /admin/keys/{id}` | revokes at once |
/// | `GET /admin/keys/{id}/usage` | per-minute and per-hour counts from the audit roll-ups |
///
/// Every call needs the admin scope (default `admin:keys`, set with
/// [`crate::AuthLayerBuilder::admin_scope`]). A caller bound to a tenant sees and
/// manages only that tenant's keys (others are 404); a caller with the cross-tenant
/// scope (the policy's, default `admin:tenants`), held exactly and never through a
/// wildcard such as `admin:*`, manages all. A new key never exceeds its creator
/// ([`ApiKeys::mint_for`]: scopes, lifetime, networks, limits), updates only narrow
/// and shorten, and revoking a key revokes the keys it created
/// ([`ApiKeys::revoke_cascading`]).
///
/// `POST /admin/keys` honours an `Idempotency-Key` header: a retry with the same key
/// and body within 24 hours answers 200 with the key first minted (and no secret:
/// it was shown once), the same key with another body is 422. Records are per caller
/// and bounded ([`KeyAdmin::idempotency_capacity`]).
///
/// Every change is audited (`key.created`, `key.updated`, `key.rotated`,
/// `key.revoked`) with the caller as principal, the fields changed with their old and
/// new values, and the request's `x-request-id`.
pub struct KeyAdmin<K> {
    pub(super) inner: Arc<Inner<K>>,
}

pub(super) struct Inner<K> {
    pub(super) keys: ApiKeys<K>,
    default_grace_secs: i64,
    auditor: Option<Auditor>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) idempotency: Arc<Idempotency>,
}

impl<K> Clone for Inner<K> {
    fn clone(&self) -> Self {
        Inner {
            keys: self.keys.clone(),
            default_grace_secs: self.default_grace_secs,
            auditor: self.auditor.clone(),
            clock: Arc::clone(&self.clock),
            idempotency: Arc::clone(&self.idempotency),
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
            .field("default_grace_secs", &self.inner.default_grace_secs)
            .field("audit", &self.inner.auditor.is_some())
            .finish_non_exhaustive()
    }
}

impl<K: KeyStore> KeyAdmin<K> {
    /// Administration of `keys` with the default scopes and a one-hour rotation grace,
    /// timed by the key service's clock ([`ApiKeys::clock`]).
    pub fn new(keys: ApiKeys<K>) -> Self {
        let clock = Arc::clone(keys.clock());
        KeyAdmin {
            inner: Arc::new(Inner {
                keys,
                default_grace_secs: 3600,
                auditor: None,
                clock,
                idempotency: Arc::new(Idempotency::new(idempotency::DEFAULT_CAPACITY)),
            }),
        }
    }

    /// Applies a setting to this builder. A router built earlier, or a clone, shares
    /// the old settings; they are copied first, so the setting is never lost.
    fn edit(mut self, f: impl FnOnce(&mut Inner<K>)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
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

    /// The clock for idempotency windows and the grace end a rotation answers
    /// (default: the key service's, which these should agree with).
    #[must_use]
    pub fn clock(self, clock: Arc<dyn Clock>) -> Self {
        self.edit(|i| i.clock = clock)
    }

    /// How many `Idempotency-Key` records are kept (default 10,000; at least one).
    /// One caller holds at most a tenth of them (its own oldest finished record goes
    /// first); when the table is full, the caller holding the most records loses its
    /// oldest finished one. A record still being answered is never evicted. Routers
    /// built earlier keep theirs.
    #[must_use]
    pub fn idempotency_capacity(self, records: usize) -> Self {
        self.edit(|i| i.idempotency = Arc::new(Idempotency::new(records)))
    }

    /// The routes.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route(
                "/admin/keys",
                post(super::admin_create::create::<K>).get(super::admin_fleet::list::<K>),
            )
            .route(
                "/admin/keys/revoke",
                post(super::admin_fleet::revoke_many::<K>),
            )
            .route(
                "/admin/keys/{id}",
                get(show::<K>).patch(update::<K>).delete(revoke::<K>),
            )
            .route("/admin/keys/{id}/rotate", post(rotate::<K>))
            .route("/admin/keys/{id}/usage", get(usage::<K>))
            .layer(axum::middleware::from_fn(super::error::render_errors))
            .with_state(self.clone())
    }
}

/// The caller holding the admin scope, the settings the scopes come from, and the
/// request's id (`x-request-id`) for the audit trail.
pub(super) struct Admin {
    pub(super) principal: Principal,
    settings: std::sync::Arc<Settings>,
    request_id: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Admin {
    type Rejection = RouteError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        s: &S,
    ) -> Result<Self, RouteError> {
        let Ok(Caller { principal, shared }) = Caller::from_request_parts(parts, s).await;
        let principal = Refusal::demand(principal.as_ref(), &shared.0.admin)?.clone();
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Admin {
            principal,
            settings: shared.0,
            request_id,
        })
    }
}

/// The `{id}` of the path. One that does not decode (`%FF`) is a 400 problem
/// document, as every other error of these routes, never axum's plain-text rejection.
struct KeyId(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for KeyId {
    type Rejection = RouteError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        s: &S,
    ) -> Result<Self, RouteError> {
        match Path::<String>::from_request_parts(parts, s).await {
            Ok(Path(id)) => Ok(KeyId(id)),
            Err(e) => Err(RouteError::invalid(e.body_text())),
        }
    }
}

impl Admin {
    /// The caller as token-core's key rules see it.
    pub(super) fn op(&self) -> Operator<'_> {
        Operator::new(&self.principal, &self.settings.cross_tenant)
    }

    /// `event` done by this caller: its principal (id and kind) and the request id.
    pub(super) fn by(&self, event: AuditEvent) -> AuditEvent {
        let event = event.with_principal(&self.principal);
        match &self.request_id {
            Some(id) => event.request_id(id),
            None => event,
        }
    }

    /// Whose `Idempotency-Key`s these are: the principal's kind, id and tenant.
    pub(super) fn idempotency_scope(&self) -> String {
        let p = &self.principal;
        format!(
            "{:?}\u{0}{}\u{0}{}",
            p.kind(),
            p.id(),
            p.tenant().unwrap_or_default()
        )
    }
}

impl<K> Inner<K> {
    pub(super) fn record(&self, event: impl FnOnce() -> AuditEvent) {
        if let Some(a) = &self.auditor {
            a.record(event());
        }
    }
}

/// `event` with the fields that changed from `before` to `after`.
pub(super) fn changed(
    event: AuditEvent,
    before: Option<&KeyRecord>,
    after: &KeyRecord,
) -> AuditEvent {
    event.changes(&after.changes_from(before))
}

/// The JSON body as `T`, which the document describes as an object. serde's derive
/// would also read a struct from an array (`[null, null]`); the routes do not.
fn object<T: DeserializeOwned>(body: Json<Value>) -> Result<T, RouteError> {
    match body.0 {
        body @ Value::Object(_) => serde_json::from_value(body).map_err(|e| {
            RouteError::invalid(format!(
                "Failed to deserialize the JSON body into the target type: {e}"
            ))
        }),
        _ => Err(RouteError::invalid("the body must be a JSON object")),
    }
}

/// A new key's secret, shown once: never cached anywhere on the way.
pub(super) fn with_secret(body: impl Serialize) -> Response {
    let mut r = (StatusCode::CREATED, Json(body)).into_response();
    no_store(&mut r);
    r
}

/// One key the caller manages.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/admin/keys/{id}",
    tag = "keys",
    operation_id = "get_key",
    summary = "Show an API key",
    params(("id" = String, Path, description = "The key's id (`key_…`).")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The key.", body = KeyView<'_>),
        (status = 404, description = "No such key, or one of another tenant.", body = Problem<'_>, content_type = "application/problem+json"),
    )
))]
async fn show<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Admin,
    KeyId(id): KeyId,
) -> Result<Response, RouteError> {
    let record = admin.inner.keys.get_as(caller.op(), &id).await?;
    Ok(Json(KeyView::of(&record)).into_response())
}

/// Renames a key, narrows its scopes or brings its expiry forward.
#[cfg_attr(feature = "openapi", utoipa::path(
    patch,
    path = "/admin/keys/{id}",
    tag = "keys",
    operation_id = "update_key",
    summary = "Change an API key",
    description = "Renames, narrows scopes or networks, brings the expiry forward (`expires_at` or `ttl`), sets or removes the rate-limit override, replaces the credits or the metadata. Absent fields are unchanged.",
    params(("id" = String, Path, description = "The key's id (`key_…`).")),
    request_body = UpdateBody,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The changed key.", body = KeyView<'_>),
        (status = 400, description = "A body that does not parse, or a value that breaks a rule.", body = Problem<'_>, content_type = "application/problem+json"),
        (status = 403, description = "The change would widen the key (`scope_widening`, `network_widening`), extend it (`expiry_extension`), give it an override other than yours without the cross-tenant scope (`rate_limit_override`), change credits as a metered caller (`creator_metered`), or change the rate limit or credits of your own key or rotation line (`own_limits`).", body = Problem<'_>, content_type = "application/problem+json"),
        (status = 404, description = "No such key, or one of another tenant.", body = Problem<'_>, content_type = "application/problem+json"),
        (status = 409, description = "The key can no longer change (expired).", body = Problem<'_>, content_type = "application/problem+json"),
    )
))]
async fn update<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Admin,
    KeyId(id): KeyId,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, RouteError> {
    let a = &admin.inner;
    // Authenticate and find the key before reading the body: a stranger learns
    // nothing from the parser.
    a.keys.managed_by(caller.op(), &id).await?;
    let change = UpdateBody::read(body?.0)?.change()?;
    let (before, record) = a.keys.update_as_tracked(caller.op(), &id, change).await?;
    a.record(|| {
        caller.by(changed(
            AuditEvent::key_updated(&record),
            Some(&before),
            &record,
        ))
    });
    Ok(Json(KeyView::of(&record)).into_response())
}

/// Mints a successor with the key's scopes; the old key works for `grace` seconds.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/admin/keys/{id}/rotate",
    tag = "keys",
    operation_id = "rotate_key",
    summary = "Rotate an API key",
    params(("id" = String, Path, description = "The key's id (`key_…`).")),
    request_body(content = Option<RotateBody>, description = "Optional (absent or `null`: the default grace)."),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, description = "The successor and its secret, shown once (`Cache-Control: no-store`).", body = RotatedKey<'_>),
        (status = 400, description = "A body that does not parse.", body = Problem<'_>, content_type = "application/problem+json"),
        (status = 403, description = "The caller lacks a scope the key holds (`scope_widening`).", body = Problem<'_>, content_type = "application/problem+json"),
        (status = 404, description = "No such key, or one of another tenant.", body = Problem<'_>, content_type = "application/problem+json"),
        (status = 409, description = "Only an active key can be rotated.", body = Problem<'_>, content_type = "application/problem+json"),
    )
))]
async fn rotate<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Admin,
    KeyId(id): KeyId,
    body: Result<Option<Json<Value>>, JsonRejection>,
) -> Result<Response, RouteError> {
    let a = &admin.inner;
    a.keys.managed_by(caller.op(), &id).await?;
    // No body, or `null`: the default grace.
    let body: Option<RotateBody> = match body? {
        None | Some(Json(Value::Null)) => None,
        Some(body) => Some(object(body)?),
    };
    let grace = body
        .and_then(|b| b.grace)
        .unwrap_or(a.default_grace_secs)
        .clamp(0, MAX_TTL_SECS);
    let (old, secret, new) = a.keys.rotate_as(caller.op(), &id, grace).await?;
    // What changed is the old key's status (now `rotated`, naming its successor).
    let marked = a.keys.get(&old.id).await.ok();
    a.record(|| {
        let event = AuditEvent::key_rotated(&old, &new);
        let event = match &marked {
            Some(after) => changed(event, Some(&old), after),
            None => event,
        };
        caller.by(event)
    });
    Ok(with_secret(RotatedKey {
        key: KeyView::of(&new),
        secret: secret.expose_secret(),
        rotated: &old.id,
        grace_end: a.clock.now().saturating_add(grace),
    }))
}

/// Revokes a key at once, with every key it created.
#[cfg_attr(feature = "openapi", utoipa::path(
    delete,
    path = "/admin/keys/{id}",
    tag = "keys",
    operation_id = "revoke_key",
    summary = "Revoke an API key",
    params(("id" = String, Path, description = "The key's id (`key_…`).")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The revoked key, and the keys revoked with it.", body = RevokedKey<'_>),
        (status = 403, description = "The caller lacks a scope the key holds (`scope_widening`).", body = Problem<'_>, content_type = "application/problem+json"),
        (status = 404, description = "No such key, or one of another tenant.", body = Problem<'_>, content_type = "application/problem+json"),
        (status = 409, description = "The key can no longer change.", body = Problem<'_>, content_type = "application/problem+json"),
    )
))]
async fn revoke<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Admin,
    KeyId(id): KeyId,
) -> Result<Response, RouteError> {
    let a = &admin.inner;
    let who = &caller.principal;
    let reason = format!("revoked by {} via the admin API", who.id());
    let before = a.keys.managed_by(caller.op(), &id).await?;
    // The keys this key created (at any depth) die with it.
    let (record, offspring) = a.keys.revoke_as(caller.op(), &id, &reason).await?;
    // `key_id` is the key revoked and `principal_id` the caller; `target` names the
    // revoked key too, for readers that look there.
    a.record(|| {
        let event = AuditEvent::key_revoked(&record, &reason).target(&record.id);
        caller.by(changed(event, Some(&before), &record))
    });
    let because = format!("its creator {id} was revoked by {}", who.id());
    for child in &offspring {
        a.record(|| caller.by(AuditEvent::key_revoked(child, &because).target(&child.id)));
    }
    Ok(Json(RevokedKey {
        key: KeyView::of(&record),
        revoked_with: offspring.iter().map(|r| r.id.as_str()).collect(),
    })
    .into_response())
}

/// Per-minute and per-hour counts of the key's requests, from the auditor's roll-ups.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/admin/keys/{id}/usage",
    tag = "keys",
    operation_id = "key_usage",
    summary = "Usage of an API key",
    params(("id" = String, Path, description = "The key's id (`key_…`).")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The key's usage.", body = KeyUsage<'_>),
        (status = 404, description = "No such key, or one of another tenant, or no usage recorded (`usage_not_recorded`).", body = Problem<'_>, content_type = "application/problem+json"),
    )
))]
async fn usage<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Admin,
    KeyId(id): KeyId,
) -> Result<Response, RouteError> {
    let a = &admin.inner;
    let record = a.keys.get_as(caller.op(), &id).await?;
    let Some(auditor) = &a.auditor else {
        return Err(RouteError::problem(
            StatusCode::NOT_FOUND,
            "usage_not_recorded",
            "this service records no usage (no auditor configured)",
        ));
    };
    let report = auditor.usage(&record.id);
    Ok(Json(KeyUsage {
        id: &record.id,
        minutes: report.as_ref().map_or(&[][..], |r| r.minutes.as_slice()),
        hours: report.as_ref().map_or(&[][..], |r| r.hours.as_slice()),
    })
    .into_response())
}
