//! What a caller asks for: a new key ([`NewKey`]) or a change to one ([`KeyUpdate`]).
//! Plain values; the rules that check them live in `attrs.rs`, `creator.rs` and
//! `manage.rs`, so every front end (admin API, CLI, portal) applies the same ones.

use std::collections::BTreeMap;

use token_scopes::ScopeSet;

use super::RefillPeriod;
use crate::net::Cidr;

/// Usage credits asked for: a balance, and optionally a refill that replaces the
/// balance with `amount` every UTC day or month. Turned into [`super::Credits`] with
/// the service's clock when the key is minted or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditPlan {
    /// Uses left now.
    pub remaining: u64,
    /// The refill: the count after each refill, and how often (at least 1).
    pub refill: Option<(u64, RefillPeriod)>,
}

impl CreditPlan {
    /// A fixed number of uses, never refilled.
    pub fn fixed(remaining: u64) -> Self {
        CreditPlan {
            remaining,
            refill: None,
        }
    }

    /// `remaining` uses now, replaced by `amount` at every `period` boundary.
    pub fn refilling(remaining: u64, amount: u64, period: RefillPeriod) -> Self {
        CreditPlan {
            remaining,
            refill: Some((amount, period)),
        }
    }
}

/// What a new key gets. Everything but the name and scopes is optional.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct NewKey {
    pub(super) name: String,
    pub(super) scopes: ScopeSet,
    pub(super) owner: Option<String>,
    pub(super) tenant: Option<String>,
    pub(super) ttl_secs: Option<i64>,
    pub(super) expires_at: Option<i64>,
    pub(super) networks: Vec<Cidr>,
    pub(super) rate_limit: Option<String>,
    pub(super) credits: Option<super::Credits>,
    pub(super) credit_plan: Option<CreditPlan>,
    pub(super) metadata: BTreeMap<String, String>,
}

impl NewKey {
    /// A key named `name` with `scopes`.
    pub fn new(name: &str, scopes: ScopeSet) -> Self {
        NewKey {
            name: name.to_owned(),
            scopes,
            ..NewKey::default()
        }
    }

    /// The owner or application.
    pub fn owner(mut self, owner: &str) -> Self {
        self.owner = Some(owner.to_owned());
        self
    }

    /// The tenant.
    pub fn tenant(mut self, tenant: &str) -> Self {
        self.tenant = Some(tenant.to_owned());
        self
    }

    /// Expires this many seconds after minting (1 s to
    /// [`MAX_KEY_TTL_SECS`](crate::limits::MAX_KEY_TTL_SECS)).
    pub fn ttl_secs(mut self, secs: i64) -> Self {
        self.ttl_secs = Some(secs);
        self
    }

    /// Expires at this time (seconds since the epoch): in the future, at most
    /// [`MAX_KEY_TTL_SECS`](crate::limits::MAX_KEY_TTL_SECS) away. Give this or
    /// [`NewKey::ttl_secs`], not both.
    pub fn expires_at(mut self, at: i64) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Usable only from these networks (at most
    /// [`MAX_NETWORKS`](crate::limits::MAX_NETWORKS)).
    pub fn networks(mut self, networks: Vec<Cidr>) -> Self {
        self.networks = networks;
        self
    }

    /// A rate-limit override (a quota such as `1000/minute`; the grammar is
    /// token-ratelimit's `Quota`, which the front ends check).
    pub fn rate_limit(mut self, quota: &str) -> Self {
        self.rate_limit = Some(quota.to_owned());
        self
    }

    /// Meters the key with these credits, as they are (replaces a
    /// [`NewKey::credit_plan`]).
    pub fn credits(mut self, credits: super::Credits) -> Self {
        self.credits = Some(credits);
        self.credit_plan = None;
        self
    }

    /// Meters the key: `plan` becomes its credits when it is minted (the next refill
    /// on the service's clock; replaces [`NewKey::credits`]).
    pub fn credit_plan(mut self, plan: CreditPlan) -> Self {
        self.credit_plan = Some(plan);
        self.credits = None;
        self
    }

    /// Adds a metadata entry (at most
    /// [`MAX_METADATA_ENTRIES`](crate::limits::MAX_METADATA_ENTRIES) entries,
    /// [`MAX_METADATA_BYTES`](crate::limits::MAX_METADATA_BYTES) in all).
    pub fn metadata(mut self, key: &str, value: &str) -> Self {
        self.metadata.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Replaces all metadata.
    pub fn metadata_map(mut self, metadata: BTreeMap<String, String>) -> Self {
        self.metadata = metadata;
        self
    }
}

/// A new rate-limit override for [`KeyUpdate::rate_limit`]: one, or (`None`) none.
#[derive(Debug, Clone)]
pub(super) struct Override(pub(super) Option<String>);

/// A new expiry for [`KeyUpdate::expires_at`].
#[derive(Debug, Clone, Copy)]
pub(super) enum Expiry {
    At(i64),
    Never,
}

/// A change to a key. Scopes and networks may only narrow and the expiry only move
/// earlier here; see [`ApiKeys::widen_scopes`](super::ApiKeys::widen_scopes) and
/// [`ApiKeys::extend_expiry`](super::ApiKeys::extend_expiry).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct KeyUpdate {
    pub(super) name: Option<String>,
    pub(super) scopes: Option<ScopeSet>,
    pub(super) expires_at: Option<Expiry>,
    pub(super) ttl_secs: Option<i64>,
    pub(super) networks: Option<Vec<Cidr>>,
    pub(super) rate_limit: Option<Override>,
    pub(super) credits: Option<CreditPlan>,
    pub(super) metadata: Option<BTreeMap<String, String>>,
}

impl KeyUpdate {
    /// No change yet.
    pub fn new() -> Self {
        KeyUpdate::default()
    }

    /// Renames the key.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Narrows the scopes (must be a subset of the current ones).
    pub fn scopes(mut self, scopes: ScopeSet) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// Sets the expiry. It may only move earlier (or be set where there was none);
    /// a later one, or `None` on a key that expires, is refused with
    /// [`ApiKeyErrorKind::WouldExtend`](super::ApiKeyErrorKind::WouldExtend) (see
    /// [`ApiKeys::extend_expiry`](super::ApiKeys::extend_expiry)).
    pub fn expires_at(mut self, at: Option<i64>) -> Self {
        self.expires_at = Some(at.map_or(Expiry::Never, Expiry::At));
        self
    }

    /// Sets the expiry `secs` from now (the same rules as
    /// [`KeyUpdate::expires_at`]); give this or `expires_at`, not both.
    pub fn ttl_secs(mut self, secs: i64) -> Self {
        self.ttl_secs = Some(secs);
        self
    }

    /// Narrows the networks: each within one of the key's current networks (when it
    /// has any). An empty list would mean "anywhere": refused on a key that has
    /// networks.
    pub fn networks(mut self, networks: Vec<Cidr>) -> Self {
        self.networks = Some(networks);
        self
    }

    /// Sets (`Some`) or removes (`None`) the rate-limit override.
    pub fn rate_limit(mut self, quota: Option<&str>) -> Self {
        self.rate_limit = Some(Override(quota.map(str::to_owned)));
        self
    }

    /// Replaces the key's credits (meters a key that was not).
    pub fn credits(mut self, plan: CreditPlan) -> Self {
        self.credits = Some(plan);
        self
    }

    /// Replaces the metadata (bounded as at minting).
    pub fn metadata(mut self, metadata: BTreeMap<String, String>) -> Self {
        self.metadata = Some(metadata);
        self
    }
}
