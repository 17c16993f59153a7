//! Updating a key: rename, narrow scopes and networks, shorten the expiry, set the
//! rate-limit override, the credits and the metadata. Never widening, never
//! extending; each change re-applied on a fresh read when another write got in first.

use token_scopes::ScopeSet;

use super::attrs;
use super::spec::{Expiry, Override};
use super::{ApiKeyError, ApiKeyErrorKind, ApiKeys, CreatorLimit, KeyRecord, KeyStore, KeyUpdate};

impl KeyUpdate {
    /// The change checked on its own (before any record is read): a name, at least
    /// one scope, a `ttl` or an `expires_at` (not both), bounded networks, override
    /// and metadata.
    fn checked(mut self, now: i64) -> Result<Self, ApiKeyError> {
        if let Some(name) = &self.name {
            self.name = Some(super::manage::checked_name(name)?.to_owned());
        }
        if self.scopes.as_ref().is_some_and(ScopeSet::is_empty) {
            let rule = "a key needs at least one scope";
            return Err(ApiKeyError::invalid_input("scopes", rule));
        }
        if let Some(ttl) = self.ttl_secs.take() {
            if self.expires_at.is_some() {
                let rule = "give ttl or expires_at, not both";
                return Err(ApiKeyError::invalid_input("expires_at", rule));
            }
            let secs = attrs::check_ttl(ttl)?;
            self.expires_at = Some(Expiry::At(now.saturating_add(secs)));
        }
        if let Some(networks) = &self.networks {
            attrs::check_networks(networks)?;
        }
        if let Some(Override(Some(quota))) = &self.rate_limit {
            self.rate_limit = Some(Override(Some(attrs::checked_rate_limit(quota)?)));
        }
        if let Some(metadata) = &self.metadata {
            attrs::check_metadata(metadata)?;
        }
        Ok(self)
    }

    /// Applies the change to `record` at `now`, or refuses it.
    fn apply(&self, record: &mut KeyRecord, now: i64) -> Result<(), ApiKeyError> {
        if let Some(scopes) = &self.scopes {
            if !scopes.is_subset(&record.scopes) {
                return Err(ApiKeyErrorKind::WouldWiden.into());
            }
            record.scopes = scopes.clone();
        }
        if let Some(name) = &self.name {
            record.name.clone_from(name);
        }
        // An update only shortens a key's life: a later expiry could make it
        // outlive the credential that created it.
        match (self.expires_at, record.expires_at) {
            (Some(Expiry::At(at)), Some(current)) if at > current => {
                return Err(ApiKeyErrorKind::WouldExtend.into());
            }
            (Some(Expiry::Never), Some(_)) => {
                return Err(ApiKeyErrorKind::WouldExtend.into());
            }
            (Some(Expiry::At(at)), _) => record.expires_at = Some(at),
            (Some(Expiry::Never) | None, _) => {}
        }
        if let Some(networks) = &self.networks {
            // Narrowing only: "anywhere" (empty) is wider than any list.
            let current = &record.networks;
            let narrower = if current.is_empty() {
                true
            } else {
                !networks.is_empty()
                    && networks
                        .iter()
                        .all(|n| current.iter().any(|c| n.is_within(c)))
            };
            if !narrower {
                return Err(ApiKeyErrorKind::ExceedsCreator(CreatorLimit::Networks).into());
            }
            record.networks.clone_from(networks);
        }
        if let Some(Override(quota)) = &self.rate_limit {
            record.rate_limit.clone_from(quota);
        }
        if let Some(plan) = self.credits {
            if record.credits_from.is_some() {
                let rule = "this key draws from the credits of the first key of its rotation line; change them there";
                return Err(ApiKeyError::invalid_input("credits", rule));
            }
            record.credits = Some(plan.at(now)?);
        }
        if let Some(metadata) = &self.metadata {
            record.metadata.clone_from(metadata);
        }
        Ok(())
    }
}

impl<S: KeyStore> ApiKeys<S> {
    /// Applies `change`: renames, narrows scopes and networks, shortens the expiry,
    /// sets the rate-limit override, the credits or the metadata. Widening scopes or
    /// networks and extending the expiry are refused here; the values follow the
    /// rules of [`ApiKeys::mint`].
    pub async fn update(&self, id: &str, change: KeyUpdate) -> Result<KeyRecord, ApiKeyError> {
        Ok(self.update_tracked(id, change).await?.1)
    }

    /// [`ApiKeys::update`], returning the record as it was just before the change
    /// (the version the change was applied to) and as it is now: what an audit trail
    /// needs to say what changed.
    pub async fn update_tracked(
        &self,
        id: &str,
        change: KeyUpdate,
    ) -> Result<(KeyRecord, KeyRecord), ApiKeyError> {
        let now = self.now();
        let change = change.checked(now)?;
        let mut before = None;
        let after = self
            .modify(id, |record| {
                before = Some(record.clone());
                change.apply(record, now)
            })
            .await?;
        let before = before.ok_or_else(|| ApiKeyError::from(ApiKeyErrorKind::NotFound))?;
        Ok((before, after))
    }
}
