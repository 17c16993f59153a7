//! [`TracingSink`]: events as structured `tracing` events.

use super::{Sink, SinkError};
use crate::event::{AuditEvent, Outcome};

/// Emits each event as a `tracing` event with target `token_audit`: level INFO for
/// allowed, WARN otherwise; one field per event field (absent fields are not
/// recorded). Route it with your subscriber's filters (`token_audit=info`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingSink;

impl TracingSink {
    /// A tracing sink.
    pub fn new() -> Self {
        TracingSink
    }
}

macro_rules! emit {
    ($level:expr, $e:expr) => {{
        let e = $e;
        let time = e.time().map(tracing::field::display);
        let ip = e.client_ip().map(tracing::field::display);
        let missing = if e.missing_scopes().is_empty() {
            None
        } else {
            Some(e.missing_scopes().join(" "))
        };
        tracing::event!(
            target: "token_audit",
            $level,
            v = e.version(),
            id = e.id(),
            time,
            kind = e.kind().as_str(),
            outcome = e.outcome().as_str(),
            reason = e.reason_code(),
            principal = e.principal(),
            credential = e.credential_kind(),
            key_id = e.key(),
            hint = e.display_hint(),
            tenant = e.tenant_id(),
            client_id = e.client(),
            ip,
            method = e.http_method(),
            route = e.route_template(),
            status = e.http_status(),
            latency_us = e.latency(),
            request_id = e.request(),
            user_agent = e.agent(),
            required = e.required_scopes(),
            missing,
            target = e.target_id(),
            detail = e.details(),
            count = e.counted(),
            "audit event"
        );
    }};
}

impl Sink for TracingSink {
    fn write(&mut self, batch: &[AuditEvent]) -> Result<(), SinkError> {
        for e in batch {
            if e.outcome() == Outcome::Allowed {
                emit!(tracing::Level::INFO, e);
            } else {
                emit!(tracing::Level::WARN, e);
            }
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        "tracing"
    }
}
