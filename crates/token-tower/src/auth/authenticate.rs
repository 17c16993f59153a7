//! Authenticating the credential, checking the principal's networks, and taking a
//! metered key's use once everything else admitted the request.

use http::request::Parts;
use token_core::apikey::Checked;
use token_core::backend::KeyStore;
use token_core::{AuthError, AuthErrorKind};
use token_ratelimit::backend::LimitStore;

use super::client::ClientInfo;
use super::layer::Config;
use super::pipeline::{Authenticate, Outcome, RequestMeta, Step};
use super::refusal::Refusal;

impl<K: KeyStore, L: LimitStore> Config<K, L> {
    /// The asynchronous authentication of a credential the caches could not decide.
    pub(super) async fn authenticate(&self, parts: &Parts, a: Authenticate) -> Step {
        let Authenticate {
            credential,
            refresh_keys,
            client,
            meta,
        } = a;
        #[cfg(feature = "remote-jwks")]
        if let (true, Some(remote)) = (refresh_keys, &self.remote) {
            remote.unknown_kid().await;
        }
        let _ = refresh_keys;
        let result = self.authenticator.check(&credential).await;
        drop(credential);
        self.authenticated(parts, client, meta, result)
    }

    /// The network check and authorization once the credential is decided.
    pub(super) fn authenticated(
        &self,
        parts: &Parts,
        client: ClientInfo,
        meta: RequestMeta,
        result: Result<Checked, AuthError>,
    ) -> Step {
        let (principal, charge) = match result {
            Ok(checked) => checked.into_parts(),
            Err(e) => return self.refused(parts, client, meta, None, e.into()),
        };
        let allowed = match client.ip {
            Some(ip) => principal.allows_ip(ip),
            None => principal.networks().is_empty(),
        };
        if !allowed {
            return self.refused(parts, client, meta, Some(principal), Refusal::Network);
        }
        self.authorize(parts, client, meta, Some(principal), charge)
    }

    /// The last step: takes a metered key's use once every other check admitted the
    /// request. A refused request's charge is dropped untaken; an exhausted balance
    /// refuses with `usage_exceeded`, a failed store with 503 (fail closed).
    pub(super) async fn charge(&self, mut outcome: Box<Outcome>) -> Box<Outcome> {
        let charge = outcome.charge.take();
        if let (Ok(()), Some(charge)) = (&outcome.result, charge)
            && let Err(e) = self.authenticator.charge(charge).await
        {
            outcome.result = Err(e.into());
        }
        outcome
    }

    /// Whether a remote issuer's keys should be refreshed before trying again: the
    /// JWT named a key we lack. (Also starts a background refresh of stale keys.)
    #[cfg(feature = "remote-jwks")]
    pub(super) fn wants_key_refresh(&self, answer: Option<&Result<Checked, AuthError>>) -> bool {
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
    pub(super) fn wants_key_refresh(&self, _: Option<&Result<Checked, AuthError>>) -> bool {
        false
    }

    /// Any of our formats, including keys with a prefix this service does not accept.
    pub(super) fn looks_like_credential(&self, value: &str) -> bool {
        value.len() >= 16
            && !matches!(
                self.authenticator.recognize(value),
                Err(e) if *e.kind() == AuthErrorKind::Malformed
            )
    }
}
