//! The service: its routes, its policy, and the layer in front.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use token_audit::Auditor;
use token_scopes::{Policy, RuleSpec};
use token_tower::Authenticated;

/// Who may call what: everything not listed is refused (fail closed).
pub fn policy() -> Policy {
    let built = Policy::builder()
        .rule(RuleSpec::new("GET", "/health").public())
        .rule(RuleSpec::new("GET", "/.well-known/jwks.json").public())
        .rule(RuleSpec::new("GET", "/openapi.json").public())
        .rule(
            RuleSpec::new("POST", "/oauth/token")
                .public()
                .rate_class("oauth"),
        )
        .rule(
            RuleSpec::new("POST", "/oauth/revoke")
                .public()
                .rate_class("oauth"),
        )
        .rule(RuleSpec::new("POST", "/oauth/introspect").require("tokens:introspect"))
        .rule(RuleSpec::new("GET", "/api/reports").require("read:reports"))
        .rule(RuleSpec::new("POST", "/api/reports").require("write:reports"))
        .rule(
            RuleSpec::new("GET", "/api/tenants/{tenant}/usage")
                .require("read:usage")
                .tenant("tenant"),
        )
        .rule(RuleSpec::new("*", "/admin/keys").require("admin:keys"))
        .rule(RuleSpec::new("*", "/admin/keys/{*rest}").require("admin:keys"))
        .cross_tenant_scope("admin:tenants")
        .build();
    built.unwrap_or_else(|e| unreachable!("the quickstart policy is valid: {e}"))
}

/// The demo's data: reports in memory.
#[derive(Debug, Clone, Default)]
pub struct Reports {
    items: Arc<Mutex<Vec<serde_json::Value>>>,
}

#[derive(Debug, Deserialize)]
struct NewReport {
    title: String,
}

/// The API routes (the OAuth, JWKS and admin routers are merged in `lib.rs`).
pub(crate) fn api(reports: Reports, auditor: Auditor) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/api/reports", get(list).post(create))
        .with_state(reports)
        .merge(
            Router::new()
                .route("/api/tenants/{tenant}/usage", get(usage))
                .with_state(auditor),
        )
}

async fn list(State(reports): State<Reports>, who: Authenticated) -> impl IntoResponse {
    let items = reports
        .items
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    Json(serde_json::json!({ "caller": who.id(), "reports": items }))
}

async fn create(
    State(reports): State<Reports>,
    who: Authenticated,
    Json(report): Json<NewReport>,
) -> impl IntoResponse {
    let title: String = report.title.chars().take(200).collect();
    let item = serde_json::json!({ "title": title, "author": who.id() });
    reports
        .items
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(item.clone());
    (StatusCode::CREATED, Json(item))
}

async fn usage(State(auditor): State<Auditor>, Path(tenant): Path<String>) -> impl IntoResponse {
    let report = auditor.tenant_usage(&tenant);
    Json(serde_json::json!({
        "tenant": tenant,
        "minutes": report.as_ref().map_or(&[][..], |r| r.minutes.as_slice()),
        "hours": report.as_ref().map_or(&[][..], |r| r.hours.as_slice()),
    }))
}
