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
use token_core::apikey::{ApiKeys, KeyRecord, KeyUpdate, NewKey, Operator};
use token_core::backend::KeyStore;
use token_core::duration::parse_duration;
use token_core::{Cidr, Clock, Principal, SystemClock};
use token_scopes::ScopeSet;

use super::error::{Caller, RouteError};
use super::oauth_error::no_store;
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
/// | `GET /admin/keys` | lists keys (display hints only, never hashes or secrets) |
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
pub struct KeyAdmin<K> {
    inner: Arc<Inner<K>>,
}

struct Inner<K> {
    keys: ApiKeys<K>,
    default_grace_secs: i64,
    auditor: Option<Auditor>,
    clock: Arc<dyn Clock>,
}

impl<K> Clone for Inner<K> {
    fn clone(&self) -> Self {
        Inner {
            keys: self.keys.clone(),
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
            .field("default_grace_secs", &self.inner.default_grace_secs)
            .field("audit", &self.inner.auditor.is_some())
            .finish_non_exhaustive()
    }
}

impl<K: KeyStore> KeyAdmin<K> {
    /// Administration of `keys` with the default scopes and a one-hour rotation grace.
    pub fn new(keys: ApiKeys<K>) -> Self {
        KeyAdmin {
            inner: Arc::new(Inner {
                keys,
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
            .layer(axum::middleware::from_fn(super::error::render_errors))
            .with_state(self.clone())
    }
}

/// The caller holding the admin scope, and the settings the scopes come from.
struct Admin {
    principal: Principal,
    settings: std::sync::Arc<Settings>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Admin {
    type Rejection = RouteError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        s: &S,
    ) -> Result<Self, RouteError> {
        let Ok(Caller { principal, shared }) = Caller::from_request_parts(parts, s).await;
        let principal = Refusal::demand(principal.as_ref(), &shared.0.admin)?.clone();
        Ok(Admin {
            principal,
            settings: shared.0,
        })
    }
}

impl Admin {
    /// The caller as token-core's key rules see it.
    fn op(&self) -> Operator<'_> {
        Operator::new(&self.principal, &self.settings.cross_tenant)
    }
}

impl<K> Inner<K> {
    fn record(&self, event: impl FnOnce() -> AuditEvent) {
        if let Some(a) = &self.auditor {
            a.record(event());
        }
    }
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
    fn parse(&self) -> Result<ScopeSet, RouteError> {
        let text = match self {
            Scopes::List(list) => list.join(" "),
            Scopes::Text(t) => t.clone(),
        };
        text.parse()
            .map_err(|e| RouteError::invalid(format!("scopes: {e}")))
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Ttl {
    Secs(i64),
    Text(String),
}

impl Ttl {
    /// Seconds, or a lifetime such as `30s`, `15m`, `12h` or `90d`; positive and at
    /// most ten years (`MAX_TTL_SECS`).
    fn secs(&self) -> Result<i64, RouteError> {
        let secs = match self {
            Ttl::Secs(s) => *s,
            Ttl::Text(t) => parse_duration(t.trim(), MAX_TTL_SECS)
                .map_err(|e| RouteError::invalid(format!("ttl: {e}")))?,
        };
        if (1..=MAX_TTL_SECS).contains(&secs) {
            Ok(secs)
        } else {
            Err(RouteError::invalid(
                "ttl must be positive seconds or like 30d, at most ten years",
            ))
        }
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
    caller: Admin,
    body: Result<Json<CreateBody>, JsonRejection>,
) -> Result<Response, RouteError> {
    let a = &admin.inner;
    let Json(body) = body?;
    let mut spec = NewKey::new(&body.name, body.scopes.parse()?);
    if let Some(t) = &body.tenant {
        spec = spec.tenant(t);
    }
    if let Some(ttl) = &body.ttl {
        spec = spec.ttl_secs(ttl.secs()?);
    }
    if let Some(networks) = &body.networks {
        let parsed = networks
            .iter()
            .map(|n| n.parse::<Cidr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| RouteError::invalid("networks must be CIDRs such as 10.0.0.0/8"))?;
        spec = spec.networks(parsed);
    }
    let (secret, record) = a.keys.create_as(caller.op(), spec).await?;
    a.record(|| AuditEvent::key_created(&record).with_principal(&caller.principal));
    Ok(with_secret(
        StatusCode::CREATED,
        view(&record),
        secret.expose_secret(),
    ))
}

async fn list<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Admin,
) -> Result<Response, RouteError> {
    let records = admin.inner.keys.list_as(caller.op()).await?;
    let keys: Vec<_> = records.iter().map(view).collect();
    Ok(Json(serde_json::json!({ "keys": keys })).into_response())
}

async fn show<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Admin,
    Path(id): Path<String>,
) -> Result<Response, RouteError> {
    let record = admin.inner.keys.get_as(caller.op(), &id).await?;
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
    caller: Admin,
    Path(id): Path<String>,
    body: Result<Json<UpdateBody>, JsonRejection>,
) -> Result<Response, RouteError> {
    let a = &admin.inner;
    // Authenticate and find the key before reading the body: a stranger learns
    // nothing from the parser.
    a.keys.managed_by(caller.op(), &id).await?;
    let Json(body) = body?;
    let mut change = KeyUpdate::new();
    if let Some(name) = &body.name {
        change = change.name(name);
    }
    if let Some(scopes) = &body.scopes {
        change = change.scopes(scopes.parse()?);
    }
    if let ExpiryChange::Set(at) = body.expires_at {
        change = change.expires_at(at);
    }
    let record = a.keys.update_as(caller.op(), &id, change).await?;
    a.record(|| AuditEvent::key_updated(&record).with_principal(&caller.principal));
    Ok(Json(view(&record)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    grace: Option<i64>,
}

async fn rotate<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Admin,
    Path(id): Path<String>,
    body: Result<Option<Json<RotateBody>>, JsonRejection>,
) -> Result<Response, RouteError> {
    let a = &admin.inner;
    a.keys.managed_by(caller.op(), &id).await?;
    let grace = body?
        .and_then(|Json(b)| b.grace)
        .unwrap_or(a.default_grace_secs)
        .clamp(0, MAX_TTL_SECS);
    let (old, secret, new) = a.keys.rotate_as(caller.op(), &id, grace).await?;
    a.record(|| AuditEvent::key_rotated(&old, &new).with_principal(&caller.principal));
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
    caller: Admin,
    Path(id): Path<String>,
) -> Result<Response, RouteError> {
    let a = &admin.inner;
    let who = &caller.principal;
    let reason = format!("revoked by {} via the admin API", who.id());
    // The keys this key created (at any depth) die with it.
    let (record, offspring) = a.keys.revoke_as(caller.op(), &id, &reason).await?;
    // `key_id` is the key revoked and `principal_id` the caller; `target` names the
    // revoked key too, for readers that look there.
    a.record(|| {
        AuditEvent::key_revoked(&record, &reason)
            .with_principal(who)
            .target(&record.id)
    });
    let because = format!("its creator {id} was revoked by {}", who.id());
    for child in &offspring {
        a.record(|| {
            AuditEvent::key_revoked(child, &because)
                .with_principal(who)
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
    caller: Admin,
    Path(id): Path<String>,
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
    Ok(Json(serde_json::json!({
        "id": record.id,
        "minutes": report.as_ref().map_or(&[][..], |r| r.minutes.as_slice()),
        "hours": report.as_ref().map_or(&[][..], |r| r.hours.as_slice()),
    }))
    .into_response())
}
