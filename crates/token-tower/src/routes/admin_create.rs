//! `POST /admin/keys`: minting a key, with idempotent retries (`Idempotency-Key`).

use axum::Json;
use axum::extract::{State, rejection::JsonRejection};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::Value;
use token_audit::AuditEvent;
use token_core::backend::KeyStore;

use super::admin::{Admin, Inner, KeyAdmin, changed, with_secret};
use super::admin_wire::{CreateBody, CreatedKey, KeyView, ReplayedKey};
use super::error::RouteError;
use super::idempotency::{self, Claim};
use super::oauth_error::no_store;
#[cfg(feature = "openapi")]
use crate::auth::refusal::Problem;

/// Mints a key for the caller (or, with the cross-tenant scope, for any tenant).
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/admin/keys",
    tag = "keys",
    operation_id = "create_key",
    summary = "Mint an API key",
    request_body = CreateBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a retry with the same key and body within 24 hours answers the key first minted (200, no secret); another body with the same key is 422. 1 to 255 visible ASCII characters, scoped to the caller.")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, description = "The key and its secret, shown once (`Cache-Control: no-store`).", body = CreatedKey<'_>),
        (status = 200, description = "A retry with the same `Idempotency-Key` and body: the key first minted, without its secret (`Idempotent-Replayed: true`).", body = ReplayedKey<'_>,
            headers(("Idempotent-Replayed" = String, description = "`true`: this answers an earlier request."))),
        (status = 400, description = "A body that does not parse, or a value that breaks a rule (`field` and `rule` name it).", body = Problem<'_>, content_type = "application/problem+json"),
        (status = 403, description = "The key would exceed its creator (`scope_widening`, `outlives_creator`, `network_widening`, `creator_metered`, `tenant_mismatch`), or carry an override other than yours without the cross-tenant scope (`rate_limit_override`), or the admin scope is missing.", body = Problem<'_>, content_type = "application/problem+json"),
        (status = 409, description = "The first request with this `Idempotency-Key` is still being answered (`idempotency_in_progress`), or too many of yours are (`idempotency_busy`).", body = Problem<'_>, content_type = "application/problem+json"),
        (status = 422, description = "This `Idempotency-Key` was used with another body (`idempotency_key_reused`).", body = Problem<'_>, content_type = "application/problem+json"),
    )
))]
pub(super) async fn create<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Admin,
    headers: http::HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, RouteError> {
    let a = &admin.inner;
    let body = body?.0;
    let retry_key = match headers.get("idempotency-key") {
        None => None,
        Some(v) if idempotency::valid_key(v.as_bytes()) => {
            Some(String::from_utf8_lossy(v.as_bytes()).into_owned())
        }
        Some(_) => {
            return Err(RouteError::invalid_field(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            ));
        }
    };
    let fingerprint = idempotency::fingerprint(&super::admin_body::canonical(&body));
    let spec = CreateBody::read(body)?.spec()?;
    let ticket = match retry_key {
        None => None,
        Some(key) => {
            match a
                .idempotency
                .claim(caller.idempotency_scope(), &key, fingerprint, a.clock.now())
            {
                Claim::New(ticket) => Some(ticket),
                Claim::Replay(id) => return replay(a, &caller, &id).await,
                refusal @ (Claim::Mismatch | Claim::InFlight | Claim::Busy) => {
                    return Err(refused(&refusal));
                }
            }
        }
    };
    let (secret, record) = a.keys.create_as(caller.op(), spec).await?;
    if let Some(ticket) = ticket {
        ticket.done(&record.id);
    }
    a.record(|| caller.by(changed(AuditEvent::key_created(&record), None, &record)));
    Ok(with_secret(CreatedKey {
        key: KeyView::of(&record),
        secret: secret.expose_secret(),
    }))
}

/// The answer to a retried creation: the key first minted, as it is now.
async fn replay<K: KeyStore>(
    a: &Inner<K>,
    caller: &Admin,
    id: &str,
) -> Result<Response, RouteError> {
    let record = a.keys.get_as(caller.op(), id).await?;
    let mut r = Json(ReplayedKey {
        key: KeyView::of(&record),
        replayed: true,
        detail: "a retry of an earlier request with this Idempotency-Key: the key it \
                 minted, whose secret was shown only in the first answer",
    })
    .into_response();
    r.headers_mut().insert(
        "idempotent-replayed",
        http::HeaderValue::from_static("true"),
    );
    no_store(&mut r);
    Ok(r)
}

/// The problem for a key claimed by another request, or by another body.
fn refused(claim: &Claim) -> RouteError {
    let (status, code, detail) = match claim {
        Claim::Mismatch => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used with another body in the last 24 hours; send a \
             new key for a new request",
        ),
        Claim::InFlight => (
            StatusCode::CONFLICT,
            "idempotency_in_progress",
            "the first request with this Idempotency-Key is still being answered; retry in \
             a moment",
        ),
        // `Busy`, the last refusal (`New` and `Replay` are answered, not refused).
        _ => (
            StatusCode::CONFLICT,
            "idempotency_busy",
            "too many requests with an Idempotency-Key are still being answered; retry in a \
             moment",
        ),
    };
    RouteError::problem(status, code, detail)
}
