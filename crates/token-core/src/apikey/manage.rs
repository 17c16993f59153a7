//! Managing keys on behalf of someone: the rules every front end (the admin API, the
//! CLI, the portal) shares, so that none of them has its own copy.
//!
//! - An operator sees and manages its own tenant's keys only (others are "not
//!   found"), unless it holds the cross-tenant scope exactly (never through a
//!   wildcard such as `admin:*`).
//! - A new key never holds a scope the operator lacks (the cross-tenant scope only
//!   from an exact holder), and never exceeds its creator otherwise
//!   ([`ApiKeys::mint_for`]: lifetime, networks, metering, rate limit).
//! - A key can be rotated, changed or revoked only by an operator holding every scope
//!   the key holds: rotation hands out a new secret with the key's scopes, and a
//!   lesser operator must not lock out a greater one.
//! - An expired key cannot be changed; changes only narrow scopes and shorten life,
//!   and a new expiry lies in the future, at most [`MAX_KEY_TTL_SECS`] away.

use token_scopes::{Scope, ScopeSet};

use super::spec::Expiry;
use super::{
    ApiKeyError, ApiKeyErrorKind, ApiKeySecret, ApiKeys, CreatorLimit, KeyRecord, KeyStore,
    KeyUpdate, NewKey,
};
use crate::principal::Principal;

/// The longest lifetime a key may be given: 3650 days (about ten years).
pub const MAX_KEY_TTL_SECS: i64 = 3650 * 86_400;

/// The longest key name, in bytes (after trimming).
pub const MAX_NAME_LEN: usize = 128;

/// Who manages keys: the authenticated principal, and the scope that lets it reach
/// every tenant.
#[derive(Debug, Clone, Copy)]
pub struct Operator<'a> {
    principal: &'a Principal,
    cross_tenant: &'a Scope,
}

impl<'a> Operator<'a> {
    /// `principal` managing keys, crossing tenants only if it holds `cross_tenant`
    /// exactly.
    pub fn new(principal: &'a Principal, cross_tenant: &'a Scope) -> Self {
        Operator {
            principal,
            cross_tenant,
        }
    }

    /// The principal.
    pub fn principal(&self) -> &'a Principal {
        self.principal
    }

    /// Whether the operator reaches every tenant.
    pub fn crosses_tenants(&self) -> bool {
        self.principal.scopes().holds_exactly(self.cross_tenant)
    }

    /// Whether a key with `scopes` is no wider than the operator, the cross-tenant
    /// scope counting only when the operator holds it exactly.
    pub fn covers(&self, scopes: &ScopeSet) -> bool {
        scopes.is_subset_keeping_exact(self.principal.scopes(), self.cross_tenant)
    }

    /// The keys the operator may revoke in bulk, as a value a store can judge in its
    /// own write ([`KeyStore::revoke_matching`](crate::backend::KeyStore::revoke_matching)):
    /// the same rule as [`Operator::covers`].
    pub fn cover(&self) -> super::ScopeCover {
        super::ScopeCover::new(self.principal.scopes().clone(), self.cross_tenant.clone())
    }

    /// Whether the operator may see the key.
    pub fn sees(&self, record: &KeyRecord) -> bool {
        self.crosses_tenants() || record.tenant.as_deref() == self.principal.tenant()
    }
}

/// A key's name as stored: trimmed, 1 to [`MAX_NAME_LEN`] bytes.
pub(super) fn checked_name(name: &str) -> Result<&str, ApiKeyError> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        let rule = "must be 1 to 128 bytes";
        return Err(ApiKeyErrorKind::InvalidInput {
            field: "name",
            rule,
        }
        .into());
    }
    Ok(name)
}

impl<S: KeyStore> ApiKeys<S> {
    /// Mints `spec` for `op`: in the operator's tenant unless the spec names another
    /// (which needs the cross-tenant scope: `tenant_mismatch` otherwise), with no
    /// scope the operator lacks (`scope_widening`), then bounded by the operator as
    /// its creator ([`ApiKeys::mint_for`]), except that an operator without a
    /// rate-limit override of its own may give the key one (a plan: an
    /// administrator's decision; an operator with an override hands out only that).
    pub async fn create_as(
        &self,
        op: Operator<'_>,
        mut spec: NewKey,
    ) -> Result<(ApiKeySecret, KeyRecord), ApiKeyError> {
        if !op.covers(&spec.scopes) {
            return Err(ApiKeyErrorKind::WouldWiden.into());
        }
        let own = op.principal.tenant();
        match spec.tenant.as_deref() {
            Some(t) if own != Some(t) && !op.crosses_tenants() => {
                return Err(ApiKeyErrorKind::TenantMismatch.into());
            }
            Some(_) => {}
            None => spec.tenant = own.map(str::to_owned),
        }
        // An administrator held to the service's default limits (no override of its
        // own) chooses the new key's plan: its override is the operator's decision,
        // as `tokenctl key mint --rate-limit` is. An operator with an override can
        // hand out only that one ([`ApiKeys::mint_for`]).
        let plan = if op.principal.rate_limit().is_none() {
            spec.rate_limit.take()
        } else {
            None
        };
        self.mint_bounded(op.principal, spec, plan).await
    }

    /// The key `id`, if the operator may see it (another tenant's key is
    /// `key_not_found`, so its existence is not revealed).
    pub async fn get_as(&self, op: Operator<'_>, id: &str) -> Result<KeyRecord, ApiKeyError> {
        let record = self.get(id).await?;
        if op.sees(&record) {
            Ok(record)
        } else {
            Err(ApiKeyErrorKind::NotFound.into())
        }
    }

    /// The keys the operator may see.
    pub async fn list_as(&self, op: Operator<'_>) -> Result<Vec<KeyRecord>, ApiKeyError> {
        if op.crosses_tenants() {
            return self.list(None).await;
        }
        let tenant = op.principal.tenant();
        let mut all = self.list(tenant).await?;
        all.retain(|r| r.tenant.as_deref() == tenant);
        Ok(all)
    }

    /// The key `id`, if the operator may manage it: it sees it and holds every scope
    /// the key holds (`scope_widening` otherwise).
    pub async fn managed_by(&self, op: Operator<'_>, id: &str) -> Result<KeyRecord, ApiKeyError> {
        let record = self.get_as(op, id).await?;
        if !op.covers(&record.scopes) {
            return Err(ApiKeyErrorKind::WouldWiden.into());
        }
        Ok(record)
    }

    /// Applies `change` for `op` to a key it manages: not to an expired key
    /// (`key_expired`), no scope the operator lacks, and an expiry in the future at
    /// most [`MAX_KEY_TTL_SECS`] away; then [`ApiKeys::update`] (narrow, shorten).
    pub async fn update_as(
        &self,
        op: Operator<'_>,
        id: &str,
        change: KeyUpdate,
    ) -> Result<KeyRecord, ApiKeyError> {
        Ok(self.update_as_tracked(op, id, change).await?.1)
    }

    /// [`ApiKeys::update_as`], returning the record as it was just before the change
    /// and as it is now ([`ApiKeys::update_tracked`]). Beyond `update_as`'s rules, new
    /// networks lie within the operator's (when it has any) and a rate-limit override
    /// is the operator's own when it has one.
    pub async fn update_as_tracked(
        &self,
        op: Operator<'_>,
        id: &str,
        change: KeyUpdate,
    ) -> Result<(KeyRecord, KeyRecord), ApiKeyError> {
        let current = self.managed_by(op, id).await?;
        let outer = op.principal.networks();
        if let Some(networks) = &change.networks
            && !outer.is_empty()
            && (networks.is_empty()
                || !networks
                    .iter()
                    .all(|n| outer.iter().any(|o| n.is_within(o))))
        {
            return Err(ApiKeyErrorKind::ExceedsCreator(CreatorLimit::Networks).into());
        }
        if let (Some(theirs), Some(mine)) = (op.principal.rate_limit(), &change.rate_limit)
            && mine.0.as_deref().map(str::trim) != Some(theirs)
        {
            return Err(ApiKeyErrorKind::ExceedsCreator(CreatorLimit::RateLimit).into());
        }
        let now = self.now();
        if current.expires_at.is_some_and(|at| at <= now) {
            return Err(ApiKeyErrorKind::Expired.into());
        }
        if let Some(scopes) = &change.scopes
            && !op.covers(scopes)
        {
            return Err(ApiKeyErrorKind::WouldWiden.into());
        }
        if let Some(Expiry::At(at)) = change.expires_at
            && (at <= now || at > now.saturating_add(MAX_KEY_TTL_SECS))
        {
            let rule = "must be in the future, at most ten years away";
            return Err(ApiKeyError::invalid_input("expires_at", rule));
        }
        self.update_tracked(id, change).await
    }

    /// Rotates a key `op` manages ([`ApiKeys::rotate`]); the grace is clamped to 0 ..=
    /// [`MAX_KEY_TTL_SECS`]. Returns the old record, the new secret and the new record.
    pub async fn rotate_as(
        &self,
        op: Operator<'_>,
        id: &str,
        grace_secs: i64,
    ) -> Result<(KeyRecord, ApiKeySecret, KeyRecord), ApiKeyError> {
        let old = self.managed_by(op, id).await?;
        let (secret, new) = self
            .rotate(id, grace_secs.clamp(0, MAX_KEY_TTL_SECS))
            .await?;
        Ok((old, secret, new))
    }

    /// Revokes a key `op` manages, and every key it created
    /// ([`ApiKeys::revoke_cascading`]).
    pub async fn revoke_as(
        &self,
        op: Operator<'_>,
        id: &str,
        reason: &str,
    ) -> Result<(KeyRecord, Vec<KeyRecord>), ApiKeyError> {
        self.managed_by(op, id).await?;
        self.revoke_cascading(id, reason).await
    }
}
