//! One constructor per [`EventKind`], from token-core's secret-free types.

use std::fmt::Display;

use token_core::apikey::KeyRecord;
use token_core::backend::ClientRecord;
use token_core::jwt::AccessClaims;
use token_core::refresh::ReuseReport;
use token_core::{AuthError, Principal, PrincipalKind};

use super::{AuditEvent, EventKind, Outcome, bounded, limits};

fn credential_name(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::ApiKey => "api_key",
        PrincipalKind::AccessToken => "access_token",
        PrincipalKind::Client => "client",
        _ => "other",
    }
}

impl AuditEvent {
    /// Copies who the principal is: id, credential kind, key id, display hint, tenant
    /// and client. On an event that already names a key (`key.created`, `key.revoked`,
    /// ...) the key, its hint and its tenant stay that key's: the principal is the actor.
    /// A [`Principal`] holds no secret.
    pub fn with_principal(mut self, p: &Principal) -> Self {
        self = self
            .principal_id(p.id())
            .credential(credential_name(p.kind()));
        // An event about a key (`key.created`, `key.revoked`, ...) already names that key,
        // its hint and its tenant: the actor is the principal, never a second subject.
        if self.d.key_id.is_none() {
            if let Some(k) = p.key_id() {
                self = self.key_id(k);
            }
            if let Some(h) = p.display_hint() {
                self = self.hint(h);
            }
        }
        if self.d.tenant.is_none()
            && let Some(t) = p.tenant()
        {
            self = self.tenant(t);
        }
        if let Some(c) = p.client_id() {
            self = self.client_id(c);
        }
        self
    }

    /// `auth.succeeded`: the credential was accepted and the request let through.
    pub fn auth_succeeded(principal: &Principal) -> Self {
        AuditEvent::new(EventKind::AuthSucceeded, Outcome::Allowed).with_principal(principal)
    }

    /// `auth.failed` with the refusal's stable code (`key_revoked`, `token_expired`,
    /// ...). A store failure is recorded with outcome `error`. When the refusal names
    /// an existing API key (revoked, rotated out, expired, out of credits), its id
    /// and display hint are recorded too (never the secret), so the leaked-key
    /// detector can name the key.
    pub fn auth_failed(error: &AuthError) -> Self {
        let outcome = if error.is_unavailable() {
            Outcome::Error
        } else {
            Outcome::Denied
        };
        let event = AuditEvent::new(EventKind::AuthFailed, outcome).reason(error.code());
        match error.key() {
            Some(key) => event.key_id(&key.id).hint(&key.hint),
            None => event,
        }
    }

    /// `auth.failed` with a stable reason code, for refusals that are not an
    /// [`AuthError`] (a missing credential: `credential_missing`).
    pub fn auth_failed_code(code: &'static str) -> Self {
        AuditEvent::new(EventKind::AuthFailed, Outcome::Denied).reason(code)
    }

    /// `network.denied`: the client address is outside the principal's networks.
    pub fn network_denied(principal: &Principal) -> Self {
        AuditEvent::new(EventKind::NetworkDenied, Outcome::Denied)
            .reason("network_denied")
            .with_principal(principal)
    }

    /// `scope.denied`: what the route required (the requirement as text) and the
    /// scopes that were missing (at most [`limits::MISSING_SCOPES`] are listed).
    pub fn scope_denied<S: Display>(
        principal: &Principal,
        required: &dyn Display,
        missing: impl IntoIterator<Item = S>,
    ) -> Self {
        let mut e = AuditEvent::new(EventKind::ScopeDenied, Outcome::Denied)
            .reason("insufficient_scope")
            .with_principal(principal);
        e.d.required = Some(bounded(&required.to_string(), limits::TEXT));
        e.d.missing = missing
            .into_iter()
            .take(limits::MISSING_SCOPES)
            .map(|s| bounded(&s.to_string(), limits::ID))
            .collect();
        e
    }

    /// `policy.denied`: no rule of the route policy allows the method and path
    /// (`no_rule`; the policy fails closed).
    pub fn policy_denied(principal: &Principal) -> Self {
        AuditEvent::new(EventKind::PolicyDenied, Outcome::Denied)
            .reason("no_rule")
            .with_principal(principal)
    }

    /// `rate.limited`: a rate limit refused the principal's request.
    pub fn rate_limited(principal: &Principal) -> Self {
        AuditEvent::new(EventKind::RateLimited, Outcome::Denied)
            .reason("rate_limited")
            .with_principal(principal)
    }

    /// `usage.exceeded`: the principal's credits or quota are exhausted.
    pub fn usage_exceeded(principal: &Principal) -> Self {
        AuditEvent::new(EventKind::UsageExceeded, Outcome::Denied)
            .reason("usage_exceeded")
            .with_principal(principal)
    }

    fn key_event(kind: EventKind, record: &KeyRecord) -> Self {
        let mut e = AuditEvent::new(kind, Outcome::Allowed)
            .key_id(&record.id)
            .hint(&record.hint);
        if let Some(t) = &record.tenant {
            e = e.tenant(t);
        }
        e
    }

    /// `key.created` from the new key's record (its hash and hint; never the secret).
    pub fn key_created(record: &KeyRecord) -> Self {
        AuditEvent::key_event(EventKind::KeyCreated, record)
    }

    /// `key.rotated`: `key_id` is the successor, `target` the key it replaces.
    pub fn key_rotated(old: &KeyRecord, new: &KeyRecord) -> Self {
        AuditEvent::key_event(EventKind::KeyRotated, new).target(&old.id)
    }

    /// `key.revoked`, with the operator's reason as `detail`.
    pub fn key_revoked(record: &KeyRecord, why: &str) -> Self {
        AuditEvent::key_event(EventKind::KeyRevoked, record).detail(why)
    }

    /// `key.updated`.
    pub fn key_updated(record: &KeyRecord) -> Self {
        AuditEvent::key_event(EventKind::KeyUpdated, record)
    }

    /// `token.issued` from the token's claims (never the token): subject, client,
    /// tenant, and the `jti` as `target`.
    pub fn token_issued<E>(claims: &AccessClaims<E>) -> Self {
        let mut e = AuditEvent::new(EventKind::TokenIssued, Outcome::Allowed);
        if let Some(s) = &claims.sub {
            e = e.principal_id(s);
        }
        if let Some(c) = &claims.client_id {
            e = e.client_id(c);
        }
        if let Some(t) = &claims.tenant {
            e = e.tenant(t);
        }
        if let Some(j) = &claims.jti {
            e = e.target(j);
        }
        e
    }

    /// `token.revoked`: `target` is the token's `jti` or a refresh family id.
    pub fn token_revoked(target: &str) -> Self {
        AuditEvent::new(EventKind::TokenRevoked, Outcome::Allowed).target(target)
    }

    /// `refresh.reuse_detected`: the family (as `target`) is now revoked.
    pub fn refresh_reuse_detected(report: &ReuseReport) -> Self {
        AuditEvent::new(EventKind::RefreshReuseDetected, Outcome::Denied)
            .reason("refresh_token_reused")
            .principal_id(&report.subject)
            .client_id(&report.client_id)
            .target(&report.family)
    }

    /// `client.created` from the client's record (its secret's hash; never the secret).
    pub fn client_created(record: &ClientRecord) -> Self {
        let mut e = AuditEvent::new(EventKind::ClientCreated, Outcome::Allowed)
            .client_id(&record.client_id);
        if let Some(t) = &record.tenant {
            e = e.tenant(t);
        }
        e
    }

    /// `audit.dropped`: `count` events were dropped under pressure.
    pub fn audit_dropped(count: u64) -> Self {
        AuditEvent::new(EventKind::AuditDropped, Outcome::Error)
            .reason("queue_full")
            .count(count)
    }
}
