//! One audit event per decision, recorded after the response without blocking it.

use std::sync::Arc;
use std::time::Instant;

use http::StatusCode;
use token_audit::{AuditEvent, Auditor, EventKind, Outcome as AuditOutcome};

use token_scopes::Policy;

use crate::decide::Outcome;
use crate::layer::Config;
use crate::rejection::RejectionKind;

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

/// The audit event of one decision.
fn event(policy: &Policy, outcome: &Outcome, status: StatusCode, latency: u64) -> AuditEvent {
    let rule = outcome.rule.and_then(|i| policy.rules().get(i));
    let event = match (&outcome.result, &outcome.principal) {
        (Ok(()), Some(p)) => AuditEvent::auth_succeeded(p),
        (Ok(()), None) => {
            AuditEvent::new(EventKind::AuthSucceeded, AuditOutcome::Allowed).reason("public_route")
        }
        (Err(r), who) => match (r.code(), who) {
            ("network_denied", Some(p)) => AuditEvent::network_denied(p),
            ("insufficient_scope", Some(p)) => {
                let required = rule
                    .and_then(|r| r.requirement())
                    .map_or_else(String::new, ToString::to_string);
                AuditEvent::scope_denied(
                    p,
                    &required,
                    r.scope().unwrap_or_default().split_whitespace(),
                )
            }
            ("rate_limited" | "cost_exceeds_limit", Some(p)) => {
                AuditEvent::rate_limited(p).reason(r.code())
            }
            ("rate_limited" | "cost_exceeds_limit", None) => {
                AuditEvent::new(EventKind::RateLimited, AuditOutcome::Denied).reason(r.code())
            }
            ("usage_exceeded", _) => named(
                AuditEvent::new(EventKind::UsageExceeded, AuditOutcome::Denied).reason(r.code()),
                outcome,
            ),
            (_, None) if outcome.auth_error.is_some() => {
                let e = outcome.auth_error.as_ref().map_or_else(
                    || AuditEvent::auth_failed_code(r.code()),
                    |e| AuditEvent::auth_failed(e),
                );
                named(e, outcome)
            }
            (code, who) => {
                let kind = match code {
                    "tenant_mismatch" | "no_rule" => EventKind::ScopeDenied,
                    _ => EventKind::AuthFailed,
                };
                let result = if r.kind() == RejectionKind::Unavailable {
                    AuditOutcome::Error
                } else {
                    AuditOutcome::Denied
                };
                let e = AuditEvent::new(kind, result).reason(code);
                match who {
                    Some(p) => e.with_principal(p),
                    None => e,
                }
            }
        },
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

/// Adds the key an authentication refusal names (revoked, rotated, expired, out of
/// credits): what a leaked-key detector needs. Never the key itself.
fn named(event: AuditEvent, outcome: &Outcome) -> AuditEvent {
    match outcome.auth_error.as_ref().and_then(|a| a.key()) {
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
