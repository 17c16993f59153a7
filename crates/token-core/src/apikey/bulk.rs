//! The store's side of a bulk revocation: which keys the operator may revoke
//! ([`ScopeCover`]) and what the store did ([`BulkRevoke`]), partial results included.

use token_scopes::{Scope, ScopeSet};

use super::KeyRecord;
use crate::store::StoreError;

/// The keys an operator may revoke: those holding no scope that `holder` does not
/// grant, where the cross-tenant scope `exact` counts as granted only when `holder`
/// holds it by name (never through a wildcard such as `admin:*`).
///
/// [`ScopeCover::covers`] is the definition. It is plain text matching, so a SQL
/// store can put it in a `WHERE` clause: a key scope `s` is granted when it equals a
/// holder scope, or starts with the text before the `*` of a wildcard holder scope
/// (`read:*` grants `read:` + anything, `*` grants everything); and when `s` is
/// `exact`, only when `exact` is itself a holder scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeCover {
    holder: ScopeSet,
    exact: Scope,
}

impl ScopeCover {
    /// Keys within `holder`, `exact` only from an exact holder.
    pub fn new(holder: ScopeSet, exact: Scope) -> Self {
        ScopeCover { holder, exact }
    }

    /// The scopes of the operator.
    pub fn holder(&self) -> &ScopeSet {
        &self.holder
    }

    /// The scope that counts only when held by name (the cross-tenant scope).
    pub fn exact(&self) -> &Scope {
        &self.exact
    }

    /// Whether a key holding `scopes` is within the cover.
    pub fn covers(&self, scopes: &ScopeSet) -> bool {
        scopes.is_subset_keeping_exact(&self.holder, &self.exact)
    }
}

/// Why [`KeyStore::revoke_matching`](super::KeyStore::revoke_matching) stopped early.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BulkStop {
    /// A key that matched and was not revoked yet is not within the cover: nothing
    /// was revoked.
    Uncovered,
    /// The store failed, after revoking the records the outcome lists (maybe none).
    Store(StoreError),
}

/// What [`KeyStore::revoke_matching`](super::KeyStore::revoke_matching) did: the
/// records it revoked, each revoked for good whatever happened after, and why it
/// stopped when it did not finish. A partial outcome is data, not an error that a
/// `?` could drop: every record listed must leave the verification cache.
#[derive(Debug, Clone, Default)]
#[must_use]
#[non_exhaustive]
pub struct BulkRevoke {
    /// The records revoked, as stored.
    pub revoked: Vec<KeyRecord>,
    /// `None` when every matching key is now revoked.
    pub stopped: Option<BulkStop>,
}

impl BulkRevoke {
    /// Every record in `revoked` revoked, and nothing left.
    pub fn done(revoked: Vec<KeyRecord>) -> Self {
        BulkRevoke {
            revoked,
            stopped: None,
        }
    }

    /// Nothing revoked: a key outside the cover matched.
    pub fn uncovered() -> Self {
        BulkRevoke {
            revoked: Vec::new(),
            stopped: Some(BulkStop::Uncovered),
        }
    }

    /// `revoked`, then the store failed with `error`.
    pub fn failed(revoked: Vec<KeyRecord>, error: StoreError) -> Self {
        BulkRevoke {
            revoked,
            stopped: Some(BulkStop::Store(error)),
        }
    }
}
