//! One audit event per decision, recorded after the response without blocking it.

use std::sync::Arc;
use std::time::Instant;

use http::StatusCode;
use token_audit::{AuditEvent, Auditor, EventKind, Outcome as AuditOutcome};

use token_scopes::{DenyReason, Policy};

use super::layer::Config;
use super::pipeline::Outcome;
use super::refusal::{Refusal, UnavailableStore};

impl<K, L> Config<K, L> {
    /// Hands the decision to the auditor. The event is built on the audit worker from
    /// what the request already owns (the outcome moves into the closure), so its
    /// strings are allocated and freed on one thread, off the request path.
    pub(crate) fn audit(
        &self,
        auditor: &Auditor,
        outcome: Box<Outcome>,
        status: StatusCode,
        started: Instant,
    ) {
        if outcome.result.is_ok() && outcome.principal.is_none() && !self.audit_public {
            return;
        }
        let latency = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let policy = Arc::clone(&self.policy);
        auditor.record_with(move || event(&policy, &outcome, status, latency));
    }
}

/// The audit event of one decision: the one exhaustive `match` over the refusal.
fn event(policy: &Policy, outcome: &Outcome, status: StatusCode, latency: u64) -> AuditEvent {
    let rule = outcome.rule.and_then(|i| policy.rules().get(i));
    let who = outcome.principal.as_ref();
    let event = match &outcome.result {
        Ok(()) => match who {
            Some(p) => AuditEvent::auth_succeeded(p),
            None => AuditEvent::new(EventKind::AuthSucceeded, AuditOutcome::Allowed)
                .reason("public_route"),
        },
        Err(refusal) => {
            let with = |event: AuditEvent| match who {
                Some(p) => event.with_principal(p),
                None => event,
            };
            match refusal {
                Refusal::Transport(_)
                | Refusal::Credential(_)
                | Refusal::Policy(DenyReason::Unauthenticated) => {
                    with(AuditEvent::auth_failed_code(refusal.code()))
                }
                // Names the key a refusal is about (revoked, rotated, expired, out of
                // credits): what a leaked-key detector needs. Never the key itself.
                Refusal::Authentication(e) if e.code() == "usage_exceeded" => with(named(
                    AuditEvent::new(EventKind::UsageExceeded, AuditOutcome::Denied)
                        .reason(e.code()),
                    e,
                )),
                Refusal::Authentication(e)
                | Refusal::Unavailable(UnavailableStore::Credentials(e)) => {
                    with(AuditEvent::auth_failed(e))
                }
                Refusal::Network => with(
                    AuditEvent::new(EventKind::NetworkDenied, AuditOutcome::Denied)
                        .reason(refusal.code()),
                ),
                Refusal::Policy(DenyReason::InsufficientScope(unmet)) => {
                    let required = rule
                        .and_then(|r| r.requirement())
                        .map_or_else(String::new, ToString::to_string);
                    match who {
                        Some(p) => AuditEvent::scope_denied(p, &required, unmet.missing().iter()),
                        None => AuditEvent::new(EventKind::ScopeDenied, AuditOutcome::Denied)
                            .reason(refusal.code()),
                    }
                }
                // The cross-tenant scope is a scope the principal lacks.
                Refusal::Policy(DenyReason::TenantMismatch) => with(
                    AuditEvent::new(EventKind::ScopeDenied, AuditOutcome::Denied)
                        .reason(refusal.code()),
                ),
                Refusal::Policy(_) => match who {
                    Some(p) => AuditEvent::policy_denied(p).reason(refusal.code()),
                    None => AuditEvent::new(EventKind::PolicyDenied, AuditOutcome::Denied)
                        .reason(refusal.code()),
                },
                Refusal::Limit(_) => with(
                    AuditEvent::new(EventKind::RateLimited, AuditOutcome::Denied)
                        .reason(refusal.code()),
                ),
                Refusal::Unavailable(UnavailableStore::Limits(_)) => with(
                    AuditEvent::new(EventKind::RateLimited, AuditOutcome::Error)
                        .reason(refusal.code()),
                ),
            }
        }
    };
    let mut event = event.status(status.as_u16()).latency_us(latency);
    if let Some(rule) = rule {
        event = event.route(rule.template().as_str());
    }
    if let Some(ip) = outcome.client.ip {
        event = event.ip(ip);
    }
    let meta = &outcome.meta;
    if let Some(m) = &meta.method {
        event = event.method(method_name(m));
    }
    if let Some(id) = meta.request_id.as_ref().and_then(|v| v.to_str().ok()) {
        event = event.request_id(id);
    }
    if let Some(ua) = meta.user_agent.as_ref().and_then(|v| v.to_str().ok()) {
        event = event.user_agent(ua);
    }
    event
}

/// Adds the key an authentication refusal names.
fn named(event: AuditEvent, e: &token_core::AuthError) -> AuditEvent {
    match e.key() {
        Some(key) => event.key_id(&key.id).hint(&key.hint),
        None => event,
    }
}

/// Standard methods without an allocation.
fn method_name(m: &http::Method) -> std::borrow::Cow<'static, str> {
    match *m {
        http::Method::GET => "GET".into(),
        http::Method::POST => "POST".into(),
        http::Method::PUT => "PUT".into(),
        http::Method::PATCH => "PATCH".into(),
        http::Method::DELETE => "DELETE".into(),
        http::Method::HEAD => "HEAD".into(),
        http::Method::OPTIONS => "OPTIONS".into(),
        _ => m.as_str().to_owned().into(),
    }
}
