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
//! - A rate-limit override other than the operator's own is chosen only by an
//!   operator holding the cross-tenant scope; a metered operator changes no credits;
//!   and no credential changes the rate limit or credits of its own rotation line.

use std::collections::HashSet;

use token_scopes::{Scope, ScopeSet};

use super::spec::{Expiry, Override};
use super::{
    ApiKeyError, ApiKeyErrorKind, ApiKeySecret, ApiKeys, CreatorLimit, KeyRecord, KeyStatus,
    KeyStore, KeyUpdate, NewKey,
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

/// A key's name as stored: trimmed, 1 to [`MAX_NAME_LEN`] bytes, no NUL (which
/// PostgreSQL's text cannot hold).
pub(super) fn checked_name(name: &str) -> Result<&str, ApiKeyError> {
    let name = name.trim();
    if name.contains('\0') {
        let rule = "must not contain a NUL character";
        return Err(ApiKeyErrorKind::InvalidInput {
            field: "name",
            rule,
        }
        .into());
    }
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
    /// its creator ([`ApiKeys::mint_for`]). A rate-limit override other than the
    /// operator's own (a plan) is a platform operator's decision: only an operator
    /// holding the cross-tenant scope may choose one; any other hands out exactly
    /// its own (`rate_limit_override`).
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
        // Quotas are not comparable, so "no more than the creator's" cannot be
        // checked: a plan of its own is for the platform operator to give, as
        // `tokenctl key mint --rate-limit` is. Anyone else's keys carry exactly the
        // operator's override, or none ([`ApiKeys::mint_for`] refuses another).
        let plan = if op.crosses_tenants() {
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
    /// and as it is now ([`ApiKeys::update_tracked`]). Beyond `update_as`'s rules:
    ///
    /// - new networks lie within the operator's, when it has any (`network_widening`);
    /// - a rate-limit override other than the operator's own (or none, when it has
    ///   one) needs the cross-tenant scope (`rate_limit_override`), as at minting;
    /// - a metered operator changes no credits (`creator_metered`): it could refill
    ///   its own balance, or one its successors share;
    /// - no credential changes the rate limit or the credits of its own key or of a
    ///   key of its rotation line, its predecessors and successors (`own_limits`),
    ///   whatever its scopes.
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
        if let Some(Override(quota)) = &change.rate_limit
            && !op.crosses_tenants()
            && quota.as_deref().map(str::trim) != op.principal.rate_limit()
        {
            return Err(ApiKeyErrorKind::ExceedsCreator(CreatorLimit::RateLimit).into());
        }
        if change.credits.is_some() && op.principal.is_metered() {
            return Err(ApiKeyErrorKind::ExceedsCreator(CreatorLimit::Metering).into());
        }
        if (change.rate_limit.is_some() || change.credits.is_some())
            && self.in_line_of(op.principal, &current).await?
        {
            return Err(ApiKeyErrorKind::OwnLimits.into());
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

    /// Whether `record` is `principal`'s own key or of its rotation line: the same
    /// balance, or one reached from the other through successors. A line is a chain
    /// (each key has at most one successor, minted for it), so two walks forward,
    /// from each end, find it; a principal that is no key has no line.
    async fn in_line_of(
        &self,
        principal: &Principal,
        record: &KeyRecord,
    ) -> Result<bool, ApiKeyError> {
        let Some(own) = principal.key_id() else {
            return Ok(false);
        };
        if record.id == own {
            return Ok(true);
        }
        let balance = record.balance_id();
        if balance.is_some() && balance == Some(own) {
            return Ok(true);
        }
        if self.reaches(record.clone(), own).await? {
            return Ok(true);
        }
        match self.store().get(own).await? {
            Some(mine) => {
                if mine.balance_id().is_some() && mine.balance_id() == balance {
                    return Ok(true);
                }
                self.reaches(mine, &record.id).await
            }
            None => Ok(false),
        }
    }

    /// Whether following successors from `from` reaches the key `to`.
    async fn reaches(&self, from: KeyRecord, to: &str) -> Result<bool, ApiKeyError> {
        let mut seen = HashSet::new();
        let mut at = from;
        loop {
            let KeyStatus::Rotated { successor, .. } = &at.status else {
                return Ok(false);
            };
            if successor == to {
                return Ok(true);
            }
            if !seen.insert(successor.clone()) {
                return Ok(false);
            }
            match self.store().get(successor).await? {
                Some(next) => at = next,
                None => return Ok(false),
            }
        }
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
