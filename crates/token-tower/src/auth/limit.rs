//! The rate limits: per principal (anonymous clients per address or IPv6 network),
//! tenant, route class and global; local ones now, strict (shared-store) ones later.

use std::net::IpAddr;

use token_core::backend::KeyStore;
use token_ratelimit::backend::LimitStore;
use token_ratelimit::{CheckRequest, RateLimitDecision};
use token_scopes::inspect::Rule;

use super::client;
use super::layer::Config;
use super::pipeline::{Outcome, Step};

impl<K: KeyStore, L: LimitStore> Config<K, L> {
    /// The local rate limits now, or the strict ones later.
    pub(super) fn limit(&self, outcome: Box<Outcome>) -> Step {
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
            None => Step::Limit(outcome),
        }
    }

    /// The strict limits, which ask a shared store.
    pub(super) async fn strict_limit(&self, outcome: Box<Outcome>) -> Box<Outcome> {
        let Some(limiter) = &self.limiter else {
            return outcome;
        };
        let decision = {
            let anonymous = anonymous_key(&outcome, self.anonymous_ipv6_prefix);
            let request = self.check_request(&outcome, anonymous.as_deref());
            limiter.check(&request).await
        };
        apply_limit(outcome, decision)
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
}

/// Anonymous requests (public routes) are limited per client: an IPv4 address, or
/// the IPv6 network of `v6_prefix` bits around the address.
fn anonymous_key(outcome: &Outcome, v6_prefix: u8) -> Option<String> {
    if outcome.principal.is_some() {
        return None;
    }
    Some(match outcome.client.ip.map(client::canonical)? {
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

/// Records the limiter's decision; a refusal becomes the request's refusal.
fn apply_limit(mut outcome: Box<Outcome>, decision: RateLimitDecision) -> Box<Outcome> {
    if let Some(refusal) = decision.refusal() {
        outcome.result = Err((*refusal).into());
    }
    outcome.rate = Some(decision);
    outcome
}
