//! Keys that create keys: a key never exceeds the credential that created it, in
//! scopes, lifetime, networks or limits, and dies with it.

use std::collections::{HashMap, HashSet, VecDeque};

use super::attrs;
use super::{
    ApiKeyError, ApiKeyErrorKind, ApiKeySecret, ApiKeys, CreatorLimit, KeyRecord, KeyStatus,
    KeyStore, NewKey,
};
use crate::principal::Principal;

impl NewKey {
    /// This key as `creator` may make it at `now`, or the limit it would escape:
    ///
    /// - scopes within the creator's ([`ApiKeyErrorKind::WouldWiden`]);
    /// - it expires no later than the creator; without a `ttl` or an `expires_at` it
    ///   expires with it (at the creator's expiry, however far away);
    /// - its networks are within the creator's; without networks it gets the
    ///   creator's;
    /// - the creator is not metered (a new key could not be held to its balance);
    /// - it carries the creator's rate-limit override, exactly (but see
    ///   [`ApiKeys::create_as`]: an operator holding the cross-tenant scope chooses
    ///   a plan).
    ///
    /// `self` must be [checked](ApiKeys::checked) (its expiry absolute).
    pub(super) fn bounded_by(mut self, creator: &Principal, now: i64) -> Result<Self, ApiKeyError> {
        let beyond = |limit| Err(ApiKeyErrorKind::ExceedsCreator(limit).into());
        if !self.scopes.is_subset(creator.scopes()) {
            return Err(ApiKeyErrorKind::WouldWiden.into());
        }
        if creator.is_metered() {
            return beyond(CreatorLimit::Metering);
        }
        // `self` is checked: its expiry is absolute, so it is compared as it will be
        // stored, never re-derived from a ttl later.
        if let Some(end) = creator.expires_at() {
            match self.expires_at {
                _ if end <= now => return beyond(CreatorLimit::Lifetime),
                Some(at) if at > end => return beyond(CreatorLimit::Lifetime),
                Some(_) => {}
                None => self.expires_at = Some(end),
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
        let plan = plan.as_deref().map(attrs::checked_rate_limit).transpose()?;
        let spec = self.checked(spec)?;
        let mut spec = spec.bounded_by(creator, self.now())?.owner(creator.id());
        if plan.is_some() {
            spec.rate_limit = plan;
        }
        // Checked once: a second check would turn the expiry back into a ttl.
        self.mint_record(spec, None).await
    }

    /// Revokes a key and every key it created, at any depth: keys whose `owner` is the
    /// key, one of its rotation predecessors, or a key revoked by this call. A key
    /// never outlives its creator, and a leaked admin key's offspring die with it.
    /// Returns the key and the keys revoked with it (already revoked ones are left as
    /// they were). Lists every key once, so it costs one scan of the store. If the
    /// store fails midway, the keys revoked before stay revoked and out of the cache;
    /// calling it again finishes the cascade.
    pub async fn revoke_cascading(
        &self,
        id: &str,
        reason: &str,
    ) -> Result<(KeyRecord, Vec<KeyRecord>), ApiKeyError> {
        let revoked = self.revoke(id, reason).await?;
        let because = format!("its creator {id} was revoked");
        let offspring = self.revoke_offspring(|r| r.id == id, &because).await;
        match offspring.failed {
            None => Ok((revoked, offspring.revoked)),
            Some(e) => Err(e),
        }
    }

    /// Revokes (with `because`) every key created by a record for which `is_root`
    /// holds, at any depth (see [`ApiKeys::revoke_cascading`]); returns the keys it
    /// revoked, and the error that stopped it, if one did. One scan of the store,
    /// one map from each key to the keys it created and its rotation predecessors.
    pub(super) async fn revoke_offspring(
        &self,
        is_root: impl Fn(&KeyRecord) -> bool,
        because: &str,
    ) -> Offspring {
        let mut offspring = Offspring::default();
        let all = match self.list(None).await {
            Ok(all) => all,
            Err(e) => {
                offspring.failed = Some(e);
                return offspring;
            }
        };
        // Who is linked to each key: the keys it owns and its rotation predecessors
        // (a successor carries on its predecessor's offspring), in listing order.
        let mut links: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, record) in all.iter().enumerate() {
            if let Some(owner) = record.owner.as_deref() {
                links.entry(owner).or_default().push(i);
            }
            if let KeyStatus::Rotated { successor, .. } = &record.status
                && record.owner.as_deref() != Some(successor.as_str())
            {
                links.entry(successor.as_str()).or_default().push(i);
            }
        }
        let mut lineage: VecDeque<&str> = VecDeque::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for record in all.iter().filter(|r| is_root(r)) {
            if seen.insert(&record.id) {
                lineage.push_back(&record.id);
            }
        }
        while let Some(current) = lineage.pop_front() {
            for &i in links.get(current).into_iter().flatten() {
                let record = &all[i];
                if !seen.insert(&record.id) {
                    continue;
                }
                lineage.push_back(&record.id);
                let child = record.owner.as_deref() == Some(current);
                if child && !matches!(record.status, KeyStatus::Revoked { .. }) {
                    match self.revoke(&record.id, because).await {
                        Ok(revoked) => offspring.revoked.push(revoked),
                        // Gone meanwhile: nothing left to revoke.
                        Err(e) if e.kind() == ApiKeyErrorKind::NotFound => {}
                        Err(e) => {
                            offspring.failed = Some(e);
                            return offspring;
                        }
                    }
                }
            }
        }
        offspring
    }
}

/// What [`ApiKeys::revoke_offspring`] did: the keys it revoked (each out of the
/// cache), and the error that stopped it.
#[derive(Debug, Default)]
pub(super) struct Offspring {
    pub(super) revoked: Vec<KeyRecord>,
    pub(super) failed: Option<ApiKeyError>,
}
