//! Keys by the page and by the fleet: paged, filtered listings and bulk revocation,
//! under the same operator rules as single keys (`manage.rs`).

use super::page::checked_limit;
use super::{
    ApiKeyError, ApiKeyErrorKind, ApiKeys, KeyFilter, KeyPage, KeyRecord, KeyStatus, KeyStore,
    Operator, PageCursor,
};

/// Which keys a bulk revocation takes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BulkSelector {
    /// Every key of this owner (in the operator's tenant, unless it crosses tenants).
    Owner(String),
    /// Every key of this tenant: for the tenant's own operator, or one holding the
    /// cross-tenant scope.
    Tenant(String),
}

impl BulkSelector {
    /// `owner` or `tenant`.
    pub fn field(&self) -> &'static str {
        match self {
            BulkSelector::Owner(_) => "owner",
            BulkSelector::Tenant(_) => "tenant",
        }
    }

    /// The owner or tenant named.
    pub fn value(&self) -> &str {
        match self {
            BulkSelector::Owner(v) | BulkSelector::Tenant(v) => v,
        }
    }
}

/// What a bulk revocation did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BulkRevocation {
    /// The keys the selector matched that were not revoked yet, now revoked.
    pub revoked: Vec<KeyRecord>,
    /// The keys they had created (at any depth), revoked with them.
    pub offspring: Vec<KeyRecord>,
}

impl BulkRevocation {
    /// How many keys this revoked in all.
    pub fn count(&self) -> usize {
        self.revoked.len() + self.offspring.len()
    }
}

impl Operator<'_> {
    /// `filter` confined to what the operator sees: its own tenant unless it crosses
    /// tenants (asking for another tenant is `tenant_mismatch`).
    fn confine(&self, filter: KeyFilter) -> Result<KeyFilter, ApiKeyError> {
        if self.crosses_tenants() {
            return Ok(filter);
        }
        let own = self.principal().tenant();
        match filter.tenant_is() {
            Some(asked) if asked != own => Err(ApiKeyErrorKind::TenantMismatch.into()),
            _ => Ok(filter.tenant(own)),
        }
    }
}

impl<S: KeyStore> ApiKeys<S> {
    /// One page of the keys `op` may see that match `filter`, after `after`, at most
    /// `limit` (1 to [`MAX_PAGE_LIMIT`](crate::limits::MAX_PAGE_LIMIT): field `limit`
    /// otherwise), in `(created_at, id)` order ([`KeyStore::list_page`]).
    pub async fn list_page_as(
        &self,
        op: Operator<'_>,
        filter: KeyFilter,
        after: Option<&PageCursor>,
        limit: usize,
    ) -> Result<KeyPage, ApiKeyError> {
        let limit = checked_limit(limit)?;
        let filter = op.confine(filter)?;
        Ok(self.store().list_page(&filter, after, limit).await?)
    }

    /// Revokes every key `selector` names that `op` may manage, and the keys they
    /// created: in one store write ([`KeyStore::revoke_matching`]), then dropped from
    /// the cache, so the next request with any of them is refused.
    ///
    /// A tenant needs the tenant's own operator or the cross-tenant scope
    /// (`tenant_mismatch`); an owner is looked for in the operator's tenant. The
    /// operator must hold every scope of every key it would revoke (`scope_widening`,
    /// and nothing is revoked), as for one key: a lesser admin cannot lock out a
    /// greater one. (A key minted between that check and the write is revoked too.)
    pub async fn revoke_matching_as(
        &self,
        op: Operator<'_>,
        selector: &BulkSelector,
        reason: &str,
    ) -> Result<BulkRevocation, ApiKeyError> {
        let filter = match selector {
            BulkSelector::Owner(owner) => op.confine(KeyFilter::new().owner(owner))?,
            BulkSelector::Tenant(tenant) => op.confine(KeyFilter::new().tenant(Some(tenant)))?,
        };
        self.check_covers(op, &filter).await?;
        let at = self.now();
        let revoked = self.store().revoke_matching(&filter, at, reason).await?;
        for record in &revoked {
            self.forget(&record.hash);
        }
        let roots = revoked.iter().map(|r| r.id.clone()).collect();
        let because = format!(
            "its creator was revoked with every key of {} {}",
            selector.field(),
            selector.value()
        );
        let offspring = if revoked.is_empty() {
            Vec::new()
        } else {
            self.revoke_offspring(roots, &because).await?
        };
        Ok(BulkRevocation { revoked, offspring })
    }

    /// Whether `op` holds every scope of every unrevoked key `filter` matches.
    async fn check_covers(&self, op: Operator<'_>, filter: &KeyFilter) -> Result<(), ApiKeyError> {
        let mut after = None;
        loop {
            let page = self
                .store()
                .list_page(filter, after.as_ref(), crate::limits::MAX_PAGE_LIMIT)
                .await?;
            let wider = page
                .records
                .iter()
                .any(|r| !matches!(r.status, KeyStatus::Revoked { .. }) && !op.covers(&r.scopes));
            if wider {
                return Err(ApiKeyErrorKind::WouldWiden.into());
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }
}
