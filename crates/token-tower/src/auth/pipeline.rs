//! The request pipeline as plain functions over request parts, one file per step:
//! [extract](super::extract) the credential, resolve the [client](super::client),
//! [authenticate](super::authenticate), [authorize](super::authorize),
//! [limit](super::limit); then the service [responds](super::respond) and
//! [audits](super::audit). The steps know nothing of futures, so the synchronous
//! fast path and the asynchronous slow path share them.

use http::request::Parts;
use http::{HeaderName, HeaderValue};
use token_core::Principal;
use token_core::apikey::Charge;
use token_core::backend::KeyStore;
use token_ratelimit::RateLimitDecision;
use token_ratelimit::backend::LimitStore;
use zeroize::Zeroizing;

use super::client::ClientInfo;
use super::layer::Config;
use super::refusal::{InsecureTransport, Refusal};

/// How far the synchronous path got.
pub(crate) enum Begin {
    /// Decided without I/O, or waiting for a strict limit or a charge.
    Step(Step),
    /// The credential needs a store lookup (a cache miss), or, with
    /// `refresh_keys`, a JWT named a `kid` the keyring lacks and a remote issuer is
    /// configured: refresh its keys (rate-limited) first. Finish with
    /// [`Config::resume`].
    Authenticate(Authenticate),
}

/// A request whose credential is authenticated asynchronously.
pub(crate) struct Authenticate {
    pub(crate) credential: Zeroizing<String>,
    pub(crate) refresh_keys: bool,
    pub(crate) client: ClientInfo,
    pub(crate) meta: RequestMeta,
}

/// Where a request stands once its credential is decided.
pub(crate) enum Step {
    /// Decided. Boxed once where it is made: the outcome (some 350 bytes) then moves
    /// through the response future and into the audit record as a pointer.
    Decided(Box<Outcome>),
    /// Admitted so far; a strict (shared-store) rate limit remains, then the
    /// outcome's charge, if any.
    Limit(Box<Outcome>),
    /// Admitted by every check; a metered key's use remains to be taken (the last
    /// step, so that a refused request costs no credit).
    Charge(Box<Outcome>),
}

/// What the audit trail records about the request itself (copied only when an
/// auditor is configured).
#[derive(Debug, Default)]
pub(crate) struct RequestMeta {
    pub(crate) method: Option<http::Method>,
    /// Header values are shared buffers: keeping them copies nothing; the audit
    /// worker reads them as text.
    pub(crate) request_id: Option<HeaderValue>,
    pub(crate) user_agent: Option<HeaderValue>,
}

/// A decision plus what the audit trail and the response need to know about it.
pub(crate) struct Outcome {
    pub(crate) result: Result<(), Refusal>,
    pub(crate) client: ClientInfo,
    /// The principal, when authentication succeeded (even if a later step refused).
    pub(crate) principal: Option<Principal>,
    /// The matched rule, as an index into the policy's rules.
    pub(crate) rule: Option<usize>,
    /// The rate-limit decision, when a limit was consulted: its headers go on the
    /// response whatever the status.
    pub(crate) rate: Option<RateLimitDecision>,
    /// The use a metered key owes, taken only once every other check admitted the
    /// request; never set on a public route.
    pub(crate) charge: Option<Charge>,
    pub(crate) meta: RequestMeta,
}

impl Outcome {
    /// Hands an admitted request what the service may read: the principal and the
    /// resolved client in its extensions, and the layer's settings for the refusals
    /// that scope checks, extractors and routes further in make.
    pub(crate) fn admit(&self, parts: &mut Parts, shared: Option<&super::respond::Shared>) {
        if let Some(p) = &self.principal {
            parts.extensions.insert(p.clone());
        }
        parts.extensions.insert(self.client);
        if let Some(shared) = shared {
            parts.extensions.insert(shared.clone());
        }
    }
}

impl<K: KeyStore, L: LimitStore> Config<K, L> {
    /// Everything that needs no I/O, and authentication itself when it needs none.
    pub(crate) fn begin(&self, parts: &Parts) -> Begin {
        let client = self.client(parts);
        let meta = self.meta(parts);
        let credential = match self.credential(parts) {
            Ok(c) => c,
            Err(e) => return Begin::Step(self.refused(parts, client, meta, None, e.into())),
        };
        // Any `Authorization` counts for the transport rule: `Basic` carries a client
        // secret to the OAuth endpoints.
        let carries_secret =
            credential.is_some() || parts.headers.contains_key(http::header::AUTHORIZATION);
        if carries_secret && !client.credentials_ok {
            let why = if super::client::peer(parts).is_none() {
                InsecureTransport::NoPeerAddress
            } else {
                InsecureTransport::PlainHttp
            };
            let refusal = Refusal::Transport(why);
            return Begin::Step(self.refused(parts, client, meta, None, refusal));
        }
        let Some(credential) = credential else {
            return Begin::Step(self.authorize(parts, client, meta, None, None));
        };
        let answer = self.authenticator.check_now(credential);
        let refresh_keys = self.wants_key_refresh(answer.as_ref());
        match answer {
            Some(result) if !refresh_keys => {
                Begin::Step(self.authenticated(parts, client, meta, result))
            }
            _ => Begin::Authenticate(Authenticate {
                credential: Zeroizing::new(credential.to_owned()),
                refresh_keys,
                client,
                meta,
            }),
        }
    }

    /// The asynchronous remainder: authentication with I/O, then the synchronous
    /// steps again, then a strict rate limit, then a metered key's charge.
    pub(crate) async fn resume(&self, parts: &Parts, begin: Begin) -> Box<Outcome> {
        let step = match begin {
            Begin::Step(step) => step,
            Begin::Authenticate(a) => self.authenticate(parts, a).await,
        };
        match step {
            Step::Decided(outcome) => outcome,
            Step::Charge(outcome) => self.charge(outcome).await,
            Step::Limit(outcome) => {
                let outcome = self.strict_limit(outcome).await;
                self.charge(outcome).await
            }
        }
    }

    /// A synchronous decision, unless a metered key's charge is still owed.
    pub(super) fn settle(outcome: Box<Outcome>) -> Step {
        if outcome.result.is_ok() && outcome.charge.is_some() {
            Step::Charge(outcome)
        } else {
            Step::Decided(outcome)
        }
    }

    /// A refusal before the policy admitted the request; the route is still named
    /// for the audit trail.
    pub(super) fn refused(
        &self,
        parts: &Parts,
        client: ClientInfo,
        meta: RequestMeta,
        principal: Option<Principal>,
        refusal: Refusal,
    ) -> Step {
        let rule = self
            .policy
            .match_route(parts.method.as_str(), parts.uri.path())
            .map(|m| m.rule_index());
        Step::Decided(Box::new(Outcome {
            result: Err(refusal),
            client,
            principal,
            rule,
            rate: None,
            charge: None,
            meta,
        }))
    }

    /// The request facts the audit event needs, kept only when auditing (header
    /// values share the request's buffer: no copy).
    fn meta(&self, parts: &Parts) -> RequestMeta {
        if self.auditor.is_none() {
            return RequestMeta::default();
        }
        let header = |name: &HeaderName| parts.headers.get(name).cloned();
        RequestMeta {
            method: Some(parts.method.clone()),
            request_id: header(&X_REQUEST_ID),
            user_agent: header(&http::header::USER_AGENT),
        }
    }
}

/// The request id header copied into audit events.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
