//! The request pipeline as plain functions over request parts: extract, transport,
//! authenticate, network, authorize. The service runs them; they know nothing of
//! futures, so the synchronous fast path and the asynchronous slow path share them.

use std::net::IpAddr;

use http::request::Parts;
use token_core::apikey::KeyStore;
use token_core::{AuthError, AuthErrorKind, Principal};
use token_scopes::{Decision, DenyReason, Grant};

use crate::credential::{self, ExtractError};
use crate::forwarded::{self, ClientInfo, PeerAddr, TlsConnection};
use crate::layer::Config;
use crate::rejection::{Rejection, RejectionKind};

/// How far the fast path got.
pub(crate) enum Begin {
    /// Decided without I/O.
    Decided(Outcome),
    /// The credential needs a store lookup: authenticate `credential`, then call
    /// [`Config::after_auth`].
    Authenticate {
        credential: String,
        client: ClientInfo,
    },
}

/// A decision plus what the audit trail and the response need to know about it.
pub(crate) struct Outcome {
    pub(crate) result: Result<Admission, Rejection>,
    pub(crate) client: ClientInfo,
    /// The principal, when authentication succeeded (even if a later step refused).
    pub(crate) principal: Option<Principal>,
    /// The matched rule's template, when a rule matched.
    pub(crate) route: Option<Box<str>>,
}

/// A request let through.
#[derive(Debug)]
pub(crate) struct Admission;

impl<K: KeyStore> Config<K> {
    /// Everything that needs no I/O, and authentication itself when it needs none.
    pub(crate) fn begin(&self, parts: &Parts) -> Begin {
        let client = self.client(parts);
        let credential = match self.credential(parts) {
            Ok(c) => c,
            Err(e) => {
                let r = Rejection::new(RejectionKind::InvalidRequest, e.code(), e.to_string());
                return Begin::Decided(self.refused(parts, client, None, r));
            }
        };
        let Some(credential) = credential else {
            return Begin::Decided(self.authorize(parts, client, None));
        };
        if self.require_tls && !client.tls && !client.is_loopback() {
            let r = Rejection::new(
                RejectionKind::InvalidRequest,
                "insecure_transport",
                "credentials are accepted only over HTTPS; this request arrived over plain \
                 HTTP, so treat the credential as exposed",
            );
            return Begin::Decided(self.refused(parts, client, None, r));
        }
        match self.authenticator.authenticate_now(credential) {
            Some(result) => Begin::Decided(self.after_auth(parts, client, result)),
            None => Begin::Authenticate {
                credential: credential.to_owned(),
                client,
            },
        }
    }

    /// Network check and authorization once the credential is decided.
    pub(crate) fn after_auth(
        &self,
        parts: &Parts,
        client: ClientInfo,
        result: Result<Principal, AuthError>,
    ) -> Outcome {
        let principal = match result {
            Ok(p) => p,
            Err(e) => return self.refused(parts, client, None, auth_rejection(&e)),
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
            return self.refused(parts, client, Some(principal), r);
        }
        self.authorize(parts, client, Some(principal))
    }

    fn authorize(&self, parts: &Parts, client: ClientInfo, who: Option<Principal>) -> Outcome {
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
        let route = decision
            .route()
            .map(|m| Box::from(m.rule().template().as_str()));
        let result = match decision {
            Decision::Allow(_) => Ok(Admission),
            Decision::Deny(denial) => Err(denial_rejection(denial.reason())),
            _ => Err(Rejection::new(
                RejectionKind::Forbidden,
                "denied",
                "the policy refused this request",
            )),
        };
        Outcome {
            result,
            client,
            principal: who,
            route,
        }
    }

    fn refused(
        &self,
        parts: &Parts,
        client: ClientInfo,
        principal: Option<Principal>,
        rejection: Rejection,
    ) -> Outcome {
        let route = self
            .policy
            .match_route(parts.method.as_str(), parts.uri.path())
            .map(|m| Box::from(m.rule().template().as_str()));
        Outcome {
            result: Err(rejection),
            client,
            principal,
            route,
        }
    }

    fn client(&self, parts: &Parts) -> ClientInfo {
        forwarded::resolve(
            peer(parts),
            parts.extensions.get::<TlsConnection>().is_some(),
            &parts.headers,
            &self.trusted_proxies,
        )
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
        DenyReason::Unauthenticated => Rejection::new(
            RejectionKind::MissingCredential,
            reason.code(),
            "this route needs a credential",
        ),
        DenyReason::InsufficientScope(unmet) => Rejection::new(
            RejectionKind::InsufficientScope,
            reason.code(),
            unmet.to_string(),
        )
        .with_scope(unmet.missing().to_string()),
        DenyReason::NoRule => Rejection::new(
            RejectionKind::Forbidden,
            reason.code(),
            "no policy rule allows this method and path",
        ),
        other => Rejection::new(RejectionKind::Forbidden, other.code(), other.to_string()),
    }
}
