//! Keys that create keys: a key never exceeds the credential that created it, in
//! scopes, lifetime, networks or limits, and dies with it.

use super::{
    ApiKeyError, ApiKeyErrorKind, ApiKeySecret, ApiKeys, CreatorLimit, KeyRecord, KeyStatus,
    KeyStore, NewKey,
};
use crate::principal::Principal;

impl NewKey {
    /// This key as `creator` may make it at `now`, or the limit it would escape:
    ///
    /// - scopes within the creator's ([`ApiKeyErrorKind::WouldWiden`]);
    /// - it expires no later than the creator; without a `ttl` it expires with it;
    /// - its networks are within the creator's; without networks it gets the
    ///   creator's;
    /// - the creator is not metered (a new key could not be held to its balance);
    /// - it carries the creator's rate-limit override, exactly (but see
    ///   [`ApiKeys::create_as`] for an operator without one).
    pub(super) fn bounded_by(mut self, creator: &Principal, now: i64) -> Result<Self, ApiKeyError> {
        let beyond = |limit| Err(ApiKeyErrorKind::ExceedsCreator(limit).into());
        if !self.scopes.is_subset(creator.scopes()) {
            return Err(ApiKeyErrorKind::WouldWiden.into());
        }
        if creator.is_metered() {
            return beyond(CreatorLimit::Metering);
        }
        if let Some(end) = creator.expires_at() {
            let left = end.saturating_sub(now);
            match self.ttl_secs {
                _ if left <= 0 => return beyond(CreatorLimit::Lifetime),
                Some(ttl) if ttl > left => return beyond(CreatorLimit::Lifetime),
                Some(_) => {}
                None => self.ttl_secs = Some(left),
            }
        }
        let outer = creator.networks();
        if !outer.is_empty() {
            if self.networks.is_empty() {
                self.networks = outer.to_vec();
            } else if !self
                .networks
                .iter()
                .all(|n| outer.iter().any(|o| n.is_within(o)))
            {
                return beyond(CreatorLimit::Networks);
            }
        }
        match (creator.rate_limit(), self.rate_limit.as_deref()) {
            (Some(quota), None) => self.rate_limit = Some(quota.to_owned()),
            (theirs, mine) if theirs != mine => return beyond(CreatorLimit::RateLimit),
            _ => {}
        }
        Ok(self)
    }
}

impl<S: KeyStore> ApiKeys<S> {
    /// Mints `spec` on behalf of `creator` (the authenticated caller of an admin API,
    /// a portal session's principal): the key never exceeds its creator, see
    /// `docs/api-keys.md`. A key minted by an API key names that key as its `owner`
    /// and is revoked with it by [`ApiKeys::revoke_cascading`].
    pub async fn mint_for(
        &self,
        creator: &Principal,
        spec: NewKey,
    ) -> Result<(ApiKeySecret, KeyRecord), ApiKeyError> {
        self.mint_bounded(creator, spec, None).await
    }

    /// [`ApiKeys::mint_for`]; `plan`, when given, is the key's rate-limit override
    /// instead of the creator's (an operator's choice, see [`ApiKeys::create_as`]).
    pub(super) async fn mint_bounded(
        &self,
        creator: &Principal,
        spec: NewKey,
        plan: Option<String>,
    ) -> Result<(ApiKeySecret, KeyRecord), ApiKeyError> {
        let spec = self.checked(spec)?;
        let mut spec = spec.bounded_by(creator, self.now())?.owner(creator.id());
        if plan.is_some() {
            spec.rate_limit = plan;
        }
        self.mint(spec).await
    }

    /// Revokes a key and every key it created, at any depth: keys whose `owner` is the
    /// key, one of its rotation predecessors, or a key revoked by this call. A key
    /// never outlives its creator, and a leaked admin key's offspring die with it.
    /// Returns the key and the keys revoked with it (already revoked ones are left as
    /// they were). Lists every key once, so it costs one scan of the store.
    pub async fn revoke_cascading(
        &self,
        id: &str,
        reason: &str,
    ) -> Result<(KeyRecord, Vec<KeyRecord>), ApiKeyError> {
        let revoked = self.revoke(id, reason).await?;
        let because = format!("its creator {id} was revoked");
        let offspring = self.revoke_offspring(vec![id.to_owned()], &because).await?;
        Ok((revoked, offspring))
    }

    /// Revokes (with `because`) every key created by one of `roots`, at any depth
    /// (see [`ApiKeys::revoke_cascading`]); returns the keys it revoked. One scan of
    /// the store.
    pub(super) async fn revoke_offspring(
        &self,
        roots: Vec<String>,
        because: &str,
    ) -> Result<Vec<KeyRecord>, ApiKeyError> {
        let all = self.list(None).await?;
        let mut lineage = roots;
        let mut offspring = Vec::new();
        let mut next = 0;
        while let Some(current) = lineage.get(next).cloned() {
            next += 1;
            for record in &all {
                let child = record.owner.as_deref() == Some(current.as_str());
                let predecessor = matches!(
                    &record.status,
                    KeyStatus::Rotated { successor, .. } if *successor == current
                );
                if !(child || predecessor) || lineage.contains(&record.id) {
                    continue;
                }
                lineage.push(record.id.clone());
                if child && !matches!(record.status, KeyStatus::Revoked { .. }) {
                    offspring.push(self.revoke(&record.id, because).await?);
                }
            }
        }
        Ok(offspring)
    }
}
