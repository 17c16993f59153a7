//! Keys by the page and by the fleet: `GET /admin/keys` (paged, filtered) and
//! `POST /admin/keys/revoke` (every key of an owner or a tenant). The rules are
//! token-core's ([`ApiKeys::list_page_as`](token_core::apikey::ApiKeys::list_page_as),
//! [`ApiKeys::revoke_matching_as`](token_core::apikey::ApiKeys::revoke_matching_as)).

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use token_audit::{AuditEvent, EventKind, Outcome};
use token_core::apikey::ApiKeyErrorKind;
use token_core::apikey::admin::{KeyFilter, PageCursor, StatusFilter};
use token_core::backend::KeyStore;
use token_core::limits::DEFAULT_PAGE_LIMIT;

use super::admin::{Admin, KeyAdmin};
use super::admin_wire::{BulkBody, BulkRevoked, KeyList, KeyView};
use super::error::RouteError;
#[cfg(feature = "openapi")]
use crate::auth::refusal::Problem;

/// The query parameters of a listing, each at most once.
const PARAMS: [&str; 6] = [
    "limit",
    "cursor",
    "owner",
    "status",
    "name_prefix",
    "tenant",
];

/// A listing asked for: the filter, where to start and how many.
struct Listing {
    filter: KeyFilter,
    after: Option<PageCursor>,
    limit: usize,
}

impl Listing {
    /// The query's parameters, each checked by name.
    fn read(pairs: &[(String, String)]) -> Result<Listing, RouteError> {
        let mut listing = Listing {
            filter: KeyFilter::new(),
            after: None,
            limit: DEFAULT_PAGE_LIMIT,
        };
        let mut seen: Vec<&'static str> = Vec::new();
        for (name, value) in pairs {
            let Some(param) = PARAMS.iter().copied().find(|p| p == name) else {
                let name: String = name.chars().take(64).collect();
                return Err(RouteError::invalid_field(
                    name,
                    format!("unknown parameter; expected one of {}", PARAMS.join(", ")),
                ));
            };
            if seen.contains(&param) {
                return Err(RouteError::invalid_field(param, "given more than once"));
            }
            seen.push(param);
            match param {
                "limit" => {
                    let limit = value.parse::<usize>().map_err(|_| {
                        RouteError::invalid_field("limit", "must be an integer from 1 to 500")
                    })?;
                    listing.limit = token_core::apikey::admin::checked_limit(limit)?;
                }
                "cursor" => listing.after = Some(value.parse()?),
                "owner" => listing.filter = listing.filter.owner(value),
                "status" => listing.filter = listing.filter.status(value.parse::<StatusFilter>()?),
                "name_prefix" => listing.filter = listing.filter.name_prefix(value),
                _ => listing.filter = listing.filter.tenant(Some(value)),
            }
        }
        Ok(listing)
    }
}

/// One page of the keys the caller manages: its tenant's (any, with the cross-tenant
/// scope), filtered, in creation order.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/admin/keys",
    tag = "keys",
    operation_id = "list_keys",
    summary = "List API keys, a page at a time",
    description = "At most `limit` keys, oldest first (by creation time, then id). Pass `next_cursor` back as `cursor` for the next page: a walk through every page never repeats a key and never skips one that existed throughout, whatever is minted or revoked meanwhile.",
    params(
        ("limit" = Option<u32>, Query, description = "Keys per page: 1 to 500 (default 50).", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),
        ("owner" = Option<String>, Query, description = "Only keys of this owner (the creator's id)."),
        ("status" = Option<String>, Query, description = "Only keys of this status: `active`, `revoked` or `rotated`."),
        ("name_prefix" = Option<String>, Query, description = "Only keys whose name starts with this."),
        ("tenant" = Option<String>, Query, description = "Only keys of this tenant (another than yours needs the cross-tenant scope)."),
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Display views: never hashes or secrets.", body = KeyList<'_>),
        (status = 400, description = "A parameter that breaks a rule (`field` and `rule` name it).", body = Problem<'_>, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant without the cross-tenant scope (`tenant_mismatch`).", body = Problem<'_>, content_type = "application/problem+json"),
    )
))]
pub(super) async fn list<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Admin,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, RouteError> {
    let Query(pairs) = query.map_err(|e| RouteError::invalid(e.body_text()))?;
    let listing = Listing::read(&pairs)?;
    let page = admin
        .inner
        .keys
        .list_page_as(
            caller.op(),
            listing.filter,
            listing.after.as_ref(),
            listing.limit,
        )
        .await?;
    Ok(Json(KeyList {
        keys: page.records.iter().map(KeyView::of).collect(),
        next_cursor: page.next.as_ref().map(PageCursor::encode),
    })
    .into_response())
}

/// Revokes every key of an owner or a tenant, and the keys they created.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/admin/keys/revoke",
    tag = "keys",
    operation_id = "revoke_keys",
    summary = "Revoke every key of an owner or a tenant",
    description = "All or nothing, judged in the write that revokes (a key minted meanwhile is judged too); the next request with any of the keys is refused (`key_revoked`). A tenant needs its own admin or the cross-tenant scope; you must hold every scope of every key revoked. Audited as one `key.revoked` event naming the selector (`target`) and the count, also when the store fails midway (outcome `error`).",
    request_body = BulkBody,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "How many keys were revoked.", body = BulkRevoked<'_>),
        (status = 400, description = "A body that does not parse, or not exactly one of `owner` and `tenant`.", body = Problem<'_>, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant without the cross-tenant scope (`tenant_mismatch`), or a key holding a scope you lack (`scope_widening`): nothing is revoked.", body = Problem<'_>, content_type = "application/problem+json"),
        (status = 503, description = "The key store failed (`store_unavailable`). `detail` says how many keys were revoked before it did; those are refused from now on and audited. Retry to revoke the rest.", body = Problem<'_>, content_type = "application/problem+json"),
    )
))]
pub(super) async fn revoke_many<K: KeyStore>(
    State(admin): State<KeyAdmin<K>>,
    caller: Admin,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, RouteError> {
    let a = &admin.inner;
    let selector = BulkBody::read(body?.0)?;
    let reason = format!(
        "revoked with every key of {} {} by {} via the admin API",
        selector.field(),
        selector.value(),
        caller.principal.id()
    );
    let outcome = a
        .keys
        .revoke_matching_as(caller.op(), &selector, &reason)
        .await;
    let (done, failed) = match outcome {
        Ok(done) => (done, None),
        // A refusal revoked nothing: no event, the refusal is the answer.
        Err(e) if e.done().count() == 0 && e.kind() != ApiKeyErrorKind::StoreUnavailable => {
            return Err(e.into_parts().0.into());
        }
        Err(e) => {
            let (error, done) = e.into_parts();
            (done, Some(error))
        }
    };
    let count = done.count();
    // What was revoked is audited even when the store failed after it.
    a.record(|| {
        let outcome = if failed.is_some() {
            Outcome::Error
        } else {
            Outcome::Allowed
        };
        let mut event = AuditEvent::new(EventKind::KeyRevoked, outcome)
            .target(&format!("{}:{}", selector.field(), selector.value()))
            .count(u64::try_from(count).unwrap_or(u64::MAX))
            .detail(&reason);
        if let Some(error) = &failed {
            event = event.reason(error.code());
        }
        if let token_core::apikey::admin::BulkSelector::Tenant(t) = &selector {
            event = event.tenant(t);
        }
        caller.by(event)
    });
    if let Some(error) = failed {
        let detail = format!(
            "{error}; {count} keys were revoked before it stopped (each refused from now on, \
             and audited); retry to revoke the rest"
        );
        return Err(RouteError::from(error).with_detail(detail));
    }
    Ok(Json(BulkRevoked {
        selector: selector.field(),
        value: selector.value(),
        revoked: count,
    })
    .into_response())
}
