//! Keys by the page and by the fleet: paged, filtered listings and bulk revocation,
//! under the same operator rules as single keys (`manage.rs`).

use std::collections::HashSet;
use std::fmt;

use super::page::checked_limit;
use super::{
    ApiKeyError, ApiKeyErrorKind, ApiKeys, BulkStop, KeyFilter, KeyPage, KeyRecord, KeyStatus,
    KeyStore, Operator, PageCursor,
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
#[derive(Debug, Clone, Default)]
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

/// A bulk revocation that was refused or did not finish: why, and what it revoked
/// before it stopped. A refusal (`tenant_mismatch`, `scope_widening`) revokes
/// nothing; a store failure midway leaves the keys [`BulkRevocationError::done`]
/// lists revoked, each already dropped from the verification cache. Retrying
/// revokes the rest (keys revoked before are skipped, and their offspring are
/// reached again).
#[derive(Debug, Clone)]
pub struct BulkRevocationError {
    error: ApiKeyError,
    done: BulkRevocation,
}

impl BulkRevocationError {
    fn new(error: ApiKeyError, done: BulkRevocation) -> Self {
        BulkRevocationError { error, done }
    }

    /// Why it stopped.
    pub fn error(&self) -> &ApiKeyError {
        &self.error
    }

    /// What went wrong ([`ApiKeyError::kind`]).
    pub fn kind(&self) -> ApiKeyErrorKind {
        self.error.kind()
    }

    /// The stable reason code.
    pub fn code(&self) -> &'static str {
        self.error.code()
    }

    /// The keys revoked before it stopped (none for a refusal).
    pub fn done(&self) -> &BulkRevocation {
        &self.done
    }

    /// The error and what was revoked.
    pub fn into_parts(self) -> (ApiKeyError, BulkRevocation) {
        (self.error, self.done)
    }
}

impl From<ApiKeyError> for BulkRevocationError {
    fn from(error: ApiKeyError) -> Self {
        BulkRevocationError::new(error, BulkRevocation::default())
    }
}

impl fmt::Display for BulkRevocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.done.count() {
            0 => fmt::Display::fmt(&self.error, f),
            n => write!(
                f,
                "{} after revoking {n} keys; retry to revoke the rest",
                self.error
            ),
        }
    }
}

impl std::error::Error for BulkRevocationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
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
    /// created: in one store write where the store can ([`KeyStore::revoke_matching`]),
    /// then dropped from the cache, so the next request with any of them is refused.
    ///
    /// A tenant needs the tenant's own operator or the cross-tenant scope
    /// (`tenant_mismatch`); an owner is looked for in the operator's tenant. The
    /// operator must hold every scope of every key it would revoke (`scope_widening`,
    /// and nothing is revoked), as for one key: a lesser admin cannot lock out a
    /// greater one. The store judges that in the write that revokes, so a wider key
    /// minted meanwhile is never revoked by a lesser operator.
    ///
    /// If the store fails midway, the error lists what was revoked before
    /// ([`BulkRevocationError::done`]): those keys are revoked and out of the cache.
    /// The cascade starts from every matching key already revoked too, so a retry
    /// finishes the offspring of an earlier, interrupted call.
    pub async fn revoke_matching_as(
        &self,
        op: Operator<'_>,
        selector: &BulkSelector,
        reason: &str,
    ) -> Result<BulkRevocation, BulkRevocationError> {
        let filter = match selector {
            BulkSelector::Owner(owner) => op.confine(KeyFilter::new().owner(owner))?,
            BulkSelector::Tenant(tenant) => op.confine(KeyFilter::new().tenant(Some(tenant)))?,
        };
        let at = self.now();
        let outcome = self
            .store()
            .revoke_matching(&filter, &op.cover(), at, reason)
            .await;
        // Whatever happens next, what was revoked leaves the cache now.
        for record in &outcome.revoked {
            self.forget(&record.hash);
        }
        let mut done = BulkRevocation {
            revoked: outcome.revoked,
            offspring: Vec::new(),
        };
        match outcome.stopped {
            None => {}
            Some(BulkStop::Uncovered) => {
                return Err(BulkRevocationError::new(
                    ApiKeyErrorKind::WouldWiden.into(),
                    done,
                ));
            }
            Some(BulkStop::Store(e)) => return Err(BulkRevocationError::new(e.into(), done)),
        }
        let because = format!(
            "its creator was revoked with every key of {} {}",
            selector.field(),
            selector.value()
        );
        let roots: HashSet<String> = done.revoked.iter().map(|r| r.id.clone()).collect();
        let is_root = |r: &KeyRecord| {
            roots.contains(&r.id)
                || (filter.matches(r) && matches!(r.status, KeyStatus::Revoked { .. }))
        };
        let offspring = self.revoke_offspring(is_root, &because).await;
        done.offspring = offspring.revoked;
        match offspring.failed {
            None => Ok(done),
            Some(e) => Err(BulkRevocationError::new(e, done)),
        }
    }
}
