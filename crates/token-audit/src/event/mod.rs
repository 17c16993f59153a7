//! [`AuditEvent`]: one record of the audit trail, with a versioned JSON schema.
//!
//! Every string field is bounded (see [`limits`]) and cut on a character boundary;
//! every text field (all but the reason, credential kind and method codes) also has
//! anything shaped like a credential replaced by `[redacted]`. The
//! constructors in this module take token-core's records and principals, which hold
//! no secret, so an event cannot carry one by construction.

mod build;
mod kind;
mod redact;

use std::borrow::Cow;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use kind::{EventKind, Outcome, UnknownKind};

use crate::time::Timestamp;

/// The schema version written in every event's `v` field.
pub(crate) const SCHEMA_VERSION: u8 = 1;

/// The bounds of the audit trail: the longest value, in bytes, kept in each string
/// field of an event (longer values are cut on a character boundary), the longest
/// line a log may hold and the shortest checkpoint key.
pub mod limits {
    pub use crate::chain::{MAX_LINE_LEN, MIN_KEY_LEN};

    /// `reason`, `credential`.
    pub const CODE: usize = 64;
    /// `method`.
    pub const METHOD: usize = 16;
    /// `principal`, `target`.
    pub const NAME: usize = 256;
    /// `id`, `key_id`, `tenant`, `client_id`, `request_id`, `hint`, and each missing scope.
    pub const ID: usize = 128;
    /// `route`.
    pub const ROUTE: usize = 256;
    /// `user_agent`.
    pub const USER_AGENT: usize = 256;
    /// `required`, `detail`.
    pub const TEXT: usize = 512;
    /// How many missing scopes are listed.
    pub const MISSING_SCOPES: usize = 16;
    /// How many changed fields are listed.
    pub const CHANGES: usize = 16;
    /// Each changed field's old and new value.
    pub const CHANGE_VALUE: usize = 1024;
}

/// One field an administrative change changed: its name, and its old and new values
/// as JSON text (bounded to [`limits::CHANGE_VALUE`], credential-shaped words
/// redacted). Never a secret or a hash: built from token-core's
/// [`FieldChange`](token_core::apikey::admin::FieldChange)s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Change {
    /// The field (`name`, `scopes`, `networks`, `status`, ...).
    pub field: String,
    /// Its value before (`null` for a new key).
    pub old: String,
    /// Its value after.
    pub new: String,
}

/// One audit record. Build it with a constructor named after its kind
/// ([`AuditEvent::auth_failed`], [`AuditEvent::key_created`], ...), add request
/// context with the chained setters, and hand it to
/// [`Auditor::record`](crate::Auditor::record), which stamps `time` (unless set) and
/// `id`. Every field of the JSON form is described in `docs/audit.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuditEvent {
    /// Boxed: an event is some 600 bytes of fields, and it moves through a builder
    /// chain, the queue and the worker; a box moves in 8.
    d: Box<Fields>,
}

/// The fields of an [`AuditEvent`], in JSON order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Fields {
    v: u8,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time: Option<Timestamp>,
    kind: EventKind,
    outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<Cow<'static, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credential: Option<Cow<'static, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    method: Option<Cow<'static, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    latency_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    required: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    missing: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    changes: Vec<Change>,
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub(crate) fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// A bounded code: borrowed when it is `'static`, as the token-core codes are.
fn bounded_code(code: impl Into<Cow<'static, str>>, max: usize) -> Cow<'static, str> {
    let code = code.into();
    if code.len() <= max {
        code
    } else {
        Cow::Owned(bounded(&code, max))
    }
}

/// Bounds request-supplied text and redacts credential-shaped words in it.
fn free_text(s: &str, max: usize) -> String {
    bounded(&redact::redact_credentials(s), max)
}

impl AuditEvent {
    /// An event of `kind` with `outcome` and nothing else; prefer the constructors
    /// named after each kind.
    pub fn new(kind: EventKind, outcome: Outcome) -> Self {
        AuditEvent {
            d: Box::new(Fields {
                v: SCHEMA_VERSION,
                id: String::new(),
                time: None,
                kind,
                outcome,
                reason: None,
                principal: None,
                credential: None,
                key_id: None,
                hint: None,
                tenant: None,
                client_id: None,
                ip: None,
                method: None,
                route: None,
                status: None,
                latency_us: None,
                request_id: None,
                user_agent: None,
                required: None,
                missing: Vec::new(),
                target: None,
                detail: None,
                count: None,
                changes: Vec::new(),
            }),
        }
    }

    // ----- setters -------------------------------------------------------------

    /// The stable reason code (`key_revoked`, `insufficient_scope`, ...).
    pub fn reason(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.d.reason = Some(bounded_code(code, limits::CODE));
        self
    }

    /// The principal's id (key id or token subject).
    pub fn principal_id(mut self, id: &str) -> Self {
        self.d.principal = Some(free_text(id, limits::NAME));
        self
    }

    /// The kind of credential: `api_key`, `access_token` or `client`.
    pub fn credential(mut self, kind: &'static str) -> Self {
        self.d.credential = Some(bounded_code(kind, limits::CODE));
        self
    }

    /// The API key id (or the JWT signing key's `kid`).
    pub fn key_id(mut self, id: &str) -> Self {
        self.d.key_id = Some(free_text(id, limits::ID));
        self
    }

    /// A key's display hint, such as `tk_live_3Fq9…`. Never a whole key: a value that
    /// is shaped like a credential is replaced by `[redacted]`.
    pub fn hint(mut self, hint: &str) -> Self {
        self.d.hint = Some(free_text(hint, limits::ID));
        self
    }

    /// The tenant.
    pub fn tenant(mut self, tenant: &str) -> Self {
        self.d.tenant = Some(free_text(tenant, limits::ID));
        self
    }

    /// The OAuth client id.
    pub fn client_id(mut self, id: &str) -> Self {
        self.d.client_id = Some(free_text(id, limits::ID));
        self
    }

    /// The client address (after trusted-proxy resolution).
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.d.ip = Some(ip);
        self
    }

    /// The HTTP method.
    pub fn method(mut self, method: impl Into<Cow<'static, str>>) -> Self {
        self.d.method = Some(bounded_code(method, limits::METHOD));
        self
    }

    /// The matched route template (`/v1/reports/{id}`). Anything from a `?` on is
    /// dropped, so a raw path with its query string never reaches the trail.
    pub fn route(mut self, template: &str) -> Self {
        let template = template.split(['?', '#']).next().unwrap_or_default();
        self.d.route = Some(free_text(template, limits::ROUTE));
        self
    }

    /// The HTTP status sent.
    pub fn status(mut self, status: u16) -> Self {
        self.d.status = Some(status);
        self
    }

    /// How long the request took, in microseconds.
    pub fn latency_us(mut self, micros: u64) -> Self {
        self.d.latency_us = Some(micros);
        self
    }

    /// The request id.
    pub fn request_id(mut self, id: &str) -> Self {
        self.d.request_id = Some(free_text(id, limits::ID));
        self
    }

    /// The `User-Agent`, cut to [`limits::USER_AGENT`] bytes.
    pub fn user_agent(mut self, user_agent: &str) -> Self {
        self.d.user_agent = Some(free_text(user_agent, limits::USER_AGENT));
        self
    }

    /// The object acted on when it is not the principal's key: a token id, a refresh
    /// family, a client id, an anomaly's subject.
    pub fn target(mut self, target: &str) -> Self {
        self.d.target = Some(free_text(target, limits::NAME));
        self
    }

    /// Human-readable detail (anomaly evidence, an error's description).
    pub fn detail(mut self, detail: &str) -> Self {
        self.d.detail = Some(free_text(detail, limits::TEXT));
        self
    }

    /// A count (events dropped, requests in a burst).
    pub fn count(mut self, count: u64) -> Self {
        self.d.count = Some(count);
        self
    }

    /// The fields an administrative change changed, with old and new values (at most
    /// [`limits::CHANGES`]; each value bounded and redacted as free text).
    pub fn changes(mut self, changes: &[token_core::apikey::admin::FieldChange]) -> Self {
        self.d.changes = changes
            .iter()
            .take(limits::CHANGES)
            .map(|c| Change {
                field: bounded(c.field, limits::CODE),
                old: free_text(&c.old, limits::CHANGE_VALUE),
                new: free_text(&c.new, limits::CHANGE_VALUE),
            })
            .collect();
        self
    }

    /// When it happened; by default the auditor's time at `record`.
    pub fn at(mut self, time: Timestamp) -> Self {
        self.d.time = Some(time);
        self
    }

    /// Sets the id (the auditor assigns one when none is set).
    pub fn with_id(mut self, id: &str) -> Self {
        self.d.id = bounded(id, limits::ID);
        self
    }

    // ----- getters -------------------------------------------------------------

    /// The schema version (1 for events built here).
    pub fn version(&self) -> u8 {
        self.d.v
    }
    /// The event id, empty until recorded.
    pub fn id(&self) -> &str {
        &self.d.id
    }
    /// When it happened, once stamped.
    pub fn time(&self) -> Option<Timestamp> {
        self.d.time
    }
    /// What happened.
    pub fn kind(&self) -> EventKind {
        self.d.kind
    }
    /// How it ended.
    pub fn outcome(&self) -> Outcome {
        self.d.outcome
    }
    /// The reason code.
    pub fn reason_code(&self) -> Option<&str> {
        self.d.reason.as_deref()
    }
    /// The principal's id.
    pub fn principal(&self) -> Option<&str> {
        self.d.principal.as_deref()
    }
    /// The kind of credential.
    pub fn credential_kind(&self) -> Option<&str> {
        self.d.credential.as_deref()
    }
    /// The key id.
    pub fn key(&self) -> Option<&str> {
        self.d.key_id.as_deref()
    }
    /// The key's display hint.
    pub fn display_hint(&self) -> Option<&str> {
        self.d.hint.as_deref()
    }
    /// The tenant.
    pub fn tenant_id(&self) -> Option<&str> {
        self.d.tenant.as_deref()
    }
    /// The OAuth client id.
    pub fn client(&self) -> Option<&str> {
        self.d.client_id.as_deref()
    }
    /// The client address.
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.d.ip
    }
    /// The HTTP method.
    pub fn http_method(&self) -> Option<&str> {
        self.d.method.as_deref()
    }
    /// The route template.
    pub fn route_template(&self) -> Option<&str> {
        self.d.route.as_deref()
    }
    /// The HTTP status.
    pub fn http_status(&self) -> Option<u16> {
        self.d.status
    }
    /// The latency in microseconds.
    pub fn latency(&self) -> Option<u64> {
        self.d.latency_us
    }
    /// The request id.
    pub fn request(&self) -> Option<&str> {
        self.d.request_id.as_deref()
    }
    /// The user agent.
    pub fn agent(&self) -> Option<&str> {
        self.d.user_agent.as_deref()
    }
    /// What the route required (scope denials).
    pub fn required_scopes(&self) -> Option<&str> {
        self.d.required.as_deref()
    }
    /// The scopes that were missing (scope denials).
    pub fn missing_scopes(&self) -> &[String] {
        &self.d.missing
    }
    /// The object acted on.
    pub fn target_id(&self) -> Option<&str> {
        self.d.target.as_deref()
    }
    /// The detail text.
    pub fn details(&self) -> Option<&str> {
        self.d.detail.as_deref()
    }
    /// The count.
    pub fn counted(&self) -> Option<u64> {
        self.d.count
    }
    /// The fields changed, with old and new values.
    pub fn changed(&self) -> &[Change] {
        &self.d.changes
    }

    pub(crate) fn stamp(&mut self, time: Timestamp) {
        if self.d.time.is_none() {
            self.d.time = Some(time);
        }
    }

    pub(crate) fn set_id_if_empty(&mut self, id: impl FnOnce() -> String) {
        if self.d.id.is_empty() {
            self.d.id = id();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{AuditEvent, EventKind, Outcome, bounded, limits};

    #[test]
    fn bounded_cuts_on_a_char_boundary() {
        assert_eq!(bounded("héllo", 2), "h");
        assert_eq!(bounded("héllo", 3), "hé");
        assert_eq!(bounded("abc", 10), "abc");
        let long = "🦀".repeat(200);
        let ua = AuditEvent::new(EventKind::AuthFailed, Outcome::Denied).user_agent(&long);
        let got = ua.agent().unwrap();
        assert!(got.len() <= limits::USER_AGENT && got.chars().all(|c| c == '🦀'));
    }

    #[test]
    fn route_never_keeps_the_query_string() {
        let e = AuditEvent::new(EventKind::AuthFailed, Outcome::Denied)
            .route("/v1/items/{id}?api_key=abc&x=1#frag");
        assert_eq!(e.route_template(), Some("/v1/items/{id}"));
    }

    #[test]
    fn json_form_is_versioned_and_skips_empty_fields() {
        let e = AuditEvent::new(EventKind::RateLimited, Outcome::Denied)
            .reason("rate_limited")
            .key_id("key_1")
            .status(429);
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"v":1,"kind":"rate.limited","outcome":"denied","reason":"rate_limited","key_id":"key_1","status":429}"#
        );
        let back: AuditEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }
}
