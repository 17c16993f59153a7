//! The request pipeline as plain functions over request parts: extract, transport,
//! authenticate, network, authorize. The service runs them; they know nothing of
//! futures, so the synchronous fast path and the asynchronous slow path share them.

use std::net::IpAddr;

use http::header::RETRY_AFTER;
use http::request::Parts;
use http::{HeaderName, HeaderValue};
use token_core::apikey::{Charge, Checked, KeyStore};
use token_core::{AuthError, AuthErrorKind, Principal};
use token_ratelimit::{CheckRequest, LimitStore, RateLimitDecision, Refusal, RefusalReason};
use token_scopes::{Access, Decision, DenyReason, Grant, RouteMatch, Rule};
use zeroize::Zeroizing;

use crate::credential::{self, ExtractError};
use crate::forwarded::{self, ClientInfo, PeerAddr, TlsConnection};
use crate::layer::Config;
use crate::rejection::{Rejection, RejectionKind};

/// How far the synchronous path got.
pub(crate) enum Begin {
    /// Decided without I/O. Boxed once where it is made: the outcome (some 350
    /// bytes) then moves through the response future and into the audit record as a
    /// pointer.
    Decided(Box<Outcome>),
    /// Needs a store: finish with [`Config::resume`].
    Slow(Slow),
}

/// The asynchronous remainder of a request's pipeline.
pub(crate) enum Slow {
    /// The credential needs a store lookup (a cache miss), or, with
    /// `refresh_keys`, a JWT named a `kid` the keyring lacks and a remote issuer is
    /// configured: refresh its keys (rate-limited) first.
    Authenticate {
        credential: Zeroizing<String>,
        refresh_keys: bool,
        client: ClientInfo,
        meta: RequestMeta,
    },
    /// Admitted so far; a strict (shared-store) rate limit remains, then the
    /// outcome's charge, if any.
    Limit(Box<Outcome>),
    /// Admitted by every check; a metered key's use remains to be taken (the last
    /// step, so that a refused request costs no credit).
    Charge(Box<Outcome>),
}

impl Outcome {
    /// Hands an admitted request what the service may read: the principal and the
    /// resolved client in its extensions.
    pub(crate) fn admit(&self, parts: &mut Parts) {
        if let Some(p) = &self.principal {
            parts.extensions.insert(p.clone());
        }
        parts.extensions.insert(self.client);
    }
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
    pub(crate) result: Result<(), Rejection>,
    pub(crate) client: ClientInfo,
    /// The principal, when authentication succeeded (even if a later step refused).
    pub(crate) principal: Option<Principal>,
    /// The matched rule, as an index into the policy's rules.
    pub(crate) rule: Option<usize>,
    /// The rate-limit decision, when a limit was consulted: its headers go on the
    /// response whatever the status.
    pub(crate) rate: Option<RateLimitDecision>,
    /// Why authentication failed, when it did (names an existing key, for audit);
    /// also a metered key's `usage_exceeded`.
    pub(crate) auth_error: Option<Box<AuthError>>,
    /// The use a metered key owes, taken only once every other check admitted the
    /// request; never set on a public route.
    pub(crate) charge: Option<Charge>,
    pub(crate) meta: RequestMeta,
}

impl<K: KeyStore, L: LimitStore> Config<K, L> {
    /// Everything that needs no I/O, and authentication itself when it needs none.
    pub(crate) fn begin(&self, parts: &Parts) -> Begin {
        let client = self.client(parts);
        let meta = self.meta(parts);
        let credential = match self.credential(parts) {
            Ok(c) => c,
            Err(e) => {
                let r = Rejection::new(RejectionKind::InvalidRequest, e.code(), e.to_string());
                return Begin::Decided(self.refused(parts, client, meta, None, r));
            }
        };
        // Any `Authorization` counts for the transport rule: `Basic` carries a client
        // secret to the OAuth endpoints.
        let carries_secret =
            credential.is_some() || parts.headers.contains_key(http::header::AUTHORIZATION);
        if carries_secret && !client.credentials_ok {
            let r = Rejection::new(
                RejectionKind::InvalidRequest,
                "insecure_transport",
                "credentials are accepted only over HTTPS; this request arrived over plain \
                 HTTP, so treat the credential as exposed",
            );
            return Begin::Decided(self.refused(parts, client, meta, None, r));
        }
        let Some(credential) = credential else {
            return self.authorize(parts, client, meta, None, None);
        };
        let answer = self.authenticator.check_now(credential);
        let refresh_keys = self.wants_key_refresh(answer.as_ref());
        match answer {
            Some(result) if !refresh_keys => self.after_auth(parts, client, meta, result),
            _ => Begin::Slow(Slow::Authenticate {
                credential: Zeroizing::new(credential.to_owned()),
                refresh_keys,
                client,
                meta,
            }),
        }
    }

    /// Whether a remote issuer's keys should be refreshed before trying again: the
    /// JWT named a key we lack. (Also starts a background refresh of stale keys.)
    #[cfg(feature = "remote-jwks")]
    fn wants_key_refresh(&self, answer: Option<&Result<Checked, AuthError>>) -> bool {
        let Some(remote) = &self.remote else {
            return false;
        };
        remote.refresh_if_stale();
        matches!(
            answer,
            Some(Err(e)) if *e.kind() == AuthErrorKind::Jwt(token_core::jwt::JwtErrorKind::UnknownKey)
        )
    }

    #[cfg(not(feature = "remote-jwks"))]
    #[allow(clippy::unused_self)]
    fn wants_key_refresh(&self, _: Option<&Result<Checked, AuthError>>) -> bool {
        false
    }

    /// The asynchronous remainder: authentication with I/O, then the synchronous
    /// steps again, then a strict rate limit, then a metered key's charge.
    pub(crate) async fn resume(&self, parts: &Parts, slow: Slow) -> Box<Outcome> {
        let begin = match slow {
            Slow::Authenticate {
                credential,
                refresh_keys,
                client,
                meta,
            } => {
                #[cfg(feature = "remote-jwks")]
                if let (true, Some(remote)) = (refresh_keys, &self.remote) {
                    remote.unknown_kid().await;
                }
                let _ = refresh_keys;
                let result = self.authenticator.check(&credential).await;
                drop(credential);
                self.after_auth(parts, client, meta, result)
            }
            other => Begin::Slow(other),
        };
        let outcome = match begin {
            Begin::Decided(outcome) => return outcome,
            Begin::Slow(Slow::Charge(outcome)) => return self.charge(outcome).await,
            Begin::Slow(Slow::Limit(outcome)) => outcome,
            // after_auth never asks to authenticate again; fail closed if it did.
            Begin::Slow(_) => {
                let nowhere = ClientInfo {
                    ip: None,
                    tls: false,
                    credentials_ok: false,
                };
                return self.refused(parts, nowhere, RequestMeta::default(), None, unavailable());
            }
        };
        let outcome = match &self.limiter {
            Some(limiter) => {
                let decision = {
                    let anonymous = anonymous_key(&outcome, self.anonymous_ipv6_prefix);
                    let request = self.check_request(&outcome, anonymous.as_deref());
                    limiter.check(&request).await
                };
                apply_limit(outcome, decision)
            }
            None => outcome,
        };
        self.charge(outcome).await
    }

    /// The last step: takes a metered key's use once every other check admitted the
    /// request. A refused request's charge is dropped untaken; an exhausted balance
    /// refuses with `usage_exceeded`, a failed store with 503 (fail closed).
    async fn charge(&self, mut outcome: Box<Outcome>) -> Box<Outcome> {
        let charge = outcome.charge.take();
        if let (Ok(()), Some(charge)) = (&outcome.result, charge)
            && let Err(e) = self.authenticator.charge(charge).await
        {
            outcome.result = Err(auth_rejection(&e));
            outcome.auth_error = Some(Box::new(e));
        }
        outcome
    }

    /// A synchronous decision, unless a metered key's charge is still owed.
    fn settle(outcome: Box<Outcome>) -> Begin {
        if outcome.result.is_ok() && outcome.charge.is_some() {
            Begin::Slow(Slow::Charge(outcome))
        } else {
            Begin::Decided(outcome)
        }
    }

    /// Network check and authorization once the credential is decided.
    fn after_auth(
        &self,
        parts: &Parts,
        client: ClientInfo,
        meta: RequestMeta,
        result: Result<Checked, AuthError>,
    ) -> Begin {
        let (principal, charge) = match result {
            Ok(checked) => checked.into_parts(),
            Err(e) => {
                let mut outcome = self.refused(parts, client, meta, None, auth_rejection(&e));
                outcome.auth_error = Some(Box::new(e));
                return Begin::Decided(outcome);
            }
        };
        let allowed = match client.ip {
            Some(ip) => principal.allows_ip(ip),
            None => principal.networks().is_empty(),
        };
        if !allowed {
            let r = Rejection::new(
                RejectionKind::Forbidden,
                "network_denied",
                "this credential may not be used from this network",
            );
            return Begin::Decided(self.refused(parts, client, meta, Some(principal), r));
        }
        self.authorize(parts, client, meta, Some(principal), charge)
    }

    fn authorize(
        &self,
        parts: &Parts,
        client: ClientInfo,
        meta: RequestMeta,
        who: Option<Principal>,
        charge: Option<Charge>,
    ) -> Begin {
        let grant = who.as_ref().map(|p| {
            let g = Grant::new(p.scopes());
            match p.tenant() {
                Some(t) => g.tenant(t),
                None => g,
            }
        });
        let decision =
            self.policy
                .authorize(parts.method.as_str(), parts.uri.path(), grant.as_ref());
        let rule = decision.route().map(RouteMatch::rule_index);
        // A public route needs no credential, so one presented there is never charged.
        let public = decision
            .route()
            .is_some_and(|m| matches!(m.rule().access(), Access::Public));
        let result = match decision {
            Decision::Allow(_) => Ok(()),
            Decision::Deny(denial) => Err(denial_rejection(denial.reason())),
            _ => Err(Rejection::new(
                RejectionKind::Forbidden,
                "denied",
                "the policy refused this request",
            )),
        };
        let outcome = Box::new(Outcome {
            result,
            client,
            principal: who,
            rule,
            rate: None,
            auth_error: None,
            charge: charge.filter(|_| !public),
            meta,
        });
        if outcome.result.is_err() {
            return Begin::Decided(outcome);
        }
        self.limit(outcome)
    }

    /// The local rate limits now, or the strict ones later.
    fn limit(&self, outcome: Box<Outcome>) -> Begin {
        let Some(limiter) = &self.limiter else {
            return Self::settle(outcome);
        };
        let decision = {
            let anonymous = anonymous_key(&outcome, self.anonymous_ipv6_prefix);
            let request = self.check_request(&outcome, anonymous.as_deref());
            limiter.try_check(&request)
        };
        match decision {
            Some(decision) => Self::settle(apply_limit(outcome, decision)),
            None => Begin::Slow(Slow::Limit(outcome)),
        }
    }

    fn check_request<'a>(
        &'a self,
        outcome: &'a Outcome,
        anonymous: Option<&'a str>,
    ) -> CheckRequest<'a> {
        let class = outcome
            .rule
            .and_then(|i| self.policy.rules().get(i))
            .and_then(Rule::rate_class);
        let request = match (&outcome.principal, anonymous) {
            (Some(p), _) => CheckRequest::from_principal(p),
            (None, key) => CheckRequest::anonymous(key.unwrap_or("ip:unknown")),
        };
        request.route_class(class)
    }

    fn refused(
        &self,
        parts: &Parts,
        client: ClientInfo,
        meta: RequestMeta,
        principal: Option<Principal>,
        rejection: Rejection,
    ) -> Box<Outcome> {
        let rule = self
            .policy
            .match_route(parts.method.as_str(), parts.uri.path())
            .map(|m| m.rule_index());
        Box::new(Outcome {
            result: Err(rejection),
            client,
            principal,
            rule,
            rate: None,
            auth_error: None,
            charge: None,
            meta,
        })
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

    fn client(&self, parts: &Parts) -> ClientInfo {
        let mut client = forwarded::resolve(
            peer(parts),
            parts.extensions.get::<TlsConnection>().is_some(),
            &parts.headers,
            &self.trusted_proxies,
            self.proxy_headers,
        );
        client.credentials_ok = self.transport.admits(client.tls, client.is_loopback());
        client
    }

    fn credential<'p>(&self, parts: &'p Parts) -> Result<Option<&'p str>, ExtractError> {
        if !self.allow_query_credentials
            && credential::query_carries_credential(&parts.uri, |v| self.looks_like_credential(v))
        {
            return Err(ExtractError::InQuery);
        }
        Ok(credential::extract(&parts.headers, &self.api_key_header)?.map(|(c, _)| c))
    }

    /// Any of our formats, including keys with a prefix this service does not accept.
    fn looks_like_credential(&self, value: &str) -> bool {
        value.len() >= 16
            && !matches!(
                self.authenticator.recognize(value),
                Err(e) if *e.kind() == AuthErrorKind::Malformed
            )
    }
}

/// The peer: our own extension, or axum's `ConnectInfo`.
fn peer(parts: &Parts) -> Option<IpAddr> {
    if let Some(PeerAddr(addr)) = parts.extensions.get::<PeerAddr>() {
        return Some(addr.ip());
    }
    #[cfg(feature = "axum")]
    if let Some(info) = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return Some(info.0.ip());
    }
    None
}

/// The request id header copied into audit events.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Anonymous requests (public routes) are limited per client: an IPv4 address, or
/// the IPv6 network of `v6_prefix` bits around the address.
fn anonymous_key(outcome: &Outcome, v6_prefix: u8) -> Option<String> {
    if outcome.principal.is_some() {
        return None;
    }
    Some(match outcome.client.ip.map(forwarded::canonical)? {
        IpAddr::V6(v6) if v6_prefix < 128 => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(v6_prefix))
                .unwrap_or(0);
            let network = std::net::Ipv6Addr::from(u128::from(v6) & mask);
            format!("ip:{network}/{v6_prefix}")
        }
        ip => format!("ip:{ip}"),
    })
}

/// Records the limiter's decision; a refusal becomes the request's rejection.
fn apply_limit(mut outcome: Box<Outcome>, decision: RateLimitDecision) -> Box<Outcome> {
    if let Some(refusal) = decision.refusal() {
        outcome.result = Err(limit_rejection(refusal));
    }
    outcome.rate = Some(decision);
    outcome
}

fn limit_rejection(refusal: &Refusal) -> Rejection {
    match refusal.reason() {
        RefusalReason::StoreUnavailable => Rejection::new(
            RejectionKind::Unavailable,
            "limit_store_unavailable",
            "the rate-limit store is unavailable; try again shortly",
        )
        .with_header(RETRY_AFTER, HeaderValue::from_static("1")),
        RefusalReason::CostExceedsBurst => Rejection::new(
            RejectionKind::TooManyRequests,
            "cost_exceeds_limit",
            "this request costs more than the limit allows at once; it can never pass",
        ),
        _ => Rejection::new(
            RejectionKind::TooManyRequests,
            "rate_limited",
            format!(
                "the {} rate limit is exhausted; retry later",
                refusal.name()
            ),
        ),
    }
}

fn unavailable() -> Rejection {
    Rejection::new(
        RejectionKind::Unavailable,
        "store_unavailable",
        "a store is unavailable; try again shortly",
    )
}

fn auth_rejection(e: &AuthError) -> Rejection {
    let kind = if e.is_unavailable() {
        RejectionKind::Unavailable
    } else if e.code() == "usage_exceeded" {
        RejectionKind::TooManyRequests
    } else {
        RejectionKind::InvalidToken
    };
    Rejection::new(kind, e.code(), e.to_string())
}

fn denial_rejection(reason: &DenyReason) -> Rejection {
    match reason {
        DenyReason::Unauthenticated => Rejection::unauthenticated(),
        DenyReason::InsufficientScope(unmet) => Rejection::insufficient_scope(unmet),
        DenyReason::NoRule => Rejection::new(
            RejectionKind::Forbidden,
            reason.code(),
            "no policy rule allows this method and path",
        ),
        other => Rejection::new(RejectionKind::Forbidden, other.code(), other.to_string()),
    }
}
