//! Asking the route policy (fail closed: no rule, no entry).

use http::request::Parts;
use token_core::Principal;
use token_core::apikey::Charge;
use token_core::backend::KeyStore;
use token_ratelimit::backend::LimitStore;
use token_scopes::inspect::Access;
use token_scopes::{Decision, DenyReason, Grant, RouteMatch};

use super::client::ClientInfo;
use super::layer::Config;
use super::pipeline::{Outcome, RequestMeta, Step};

impl<K: KeyStore, L: LimitStore> Config<K, L> {
    /// The policy's decision for the principal (or for no one), then the limits.
    pub(super) fn authorize(
        &self,
        parts: &Parts,
        client: ClientInfo,
        meta: RequestMeta,
        who: Option<Principal>,
        charge: Option<Charge>,
    ) -> Step {
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
            Decision::Deny(denial) => Err(denial.reason().clone().into()),
            // A decision this version does not know: fail closed.
            _ => Err(DenyReason::NoRule.into()),
        };
        let outcome = Box::new(Outcome {
            result,
            client,
            principal: who,
            rule,
            rate: None,
            charge: charge.filter(|_| !public),
            meta,
        });
        if outcome.result.is_err() {
            return Step::Decided(outcome);
        }
        self.limit(outcome)
    }
}
