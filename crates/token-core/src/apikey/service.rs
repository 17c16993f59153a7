//! `ApiKeys`: mint, verify, revoke, rotate and update API keys over a `KeyStore`.

use std::fmt;
use std::sync::Arc;

use token_scopes::ScopeSet;

use super::attrs;
use super::cache::{Cache, CacheConfig, Fresh};
use super::key_format::{FormatError, MAX_KEY_LEN};
use super::{
    ApiKeyError, ApiKeyErrorKind, ApiKeySecret, Charge, Checked, CreditOutcome, KeyFormat, KeyHash,
    KeyHasher, KeyRecord, KeyRef, KeyStatus, KeyStore, NewKey,
};
use crate::clock::{Clock, SystemClock};
use crate::principal::{Principal, PrincipalKind};
use crate::store::StoreErrorKind;

/// Configures [`ApiKeys`].
#[must_use]
pub struct ApiKeysBuilder<S> {
    store: S,
    format: KeyFormat,
    hasher: KeyHasher,
    cache: CacheConfig,
    clock: Arc<dyn Clock>,
}

impl<S: KeyStore> ApiKeysBuilder<S> {
    /// Hashes with this hasher (for example HMAC-SHA-256 with a pepper).
    pub fn hasher(mut self, hasher: KeyHasher) -> Self {
        self.hasher = hasher;
        self
    }

    /// Uses these cache settings.
    pub fn cache(mut self, config: CacheConfig) -> Self {
        self.cache = config;
        self
    }

    /// Uses another clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the service.
    pub fn build(self) -> ApiKeys<S> {
        ApiKeys {
            inner: Arc::new(Inner {
                store: self.store,
                format: self.format,
                hasher: self.hasher,
                cache: Cache::new(self.cache),
                clock: self.clock,
            }),
        }
    }
}

impl<S> fmt::Debug for ApiKeysBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeysBuilder")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// How often a compare-and-swap write is retried against concurrent writers.
const MAX_WRITE_ATTEMPTS: usize = 8;

/// What verification needs from a record, built once per cache fill. Small and
/// inline in the cache, so a hit touches the table and one shared principal only (and
/// a metered key's shared charge).
#[derive(Debug, Clone)]
struct Cached {
    principal: Principal,
    /// `i64::MIN` when revoked, `i64::MAX` when active, else the rotation's grace end.
    usable_until: i64,
    /// `i64::MAX` when the key never expires.
    expires_at: i64,
    /// The use a metered key owes per request (credits are the store's to decide).
    charge: Option<Charge>,
}

impl Cached {
    fn of(record: &KeyRecord) -> Cached {
        Cached {
            principal: principal_of(record),
            usable_until: match &record.status {
                KeyStatus::Active => i64::MAX,
                KeyStatus::Revoked { .. } => i64::MIN,
                KeyStatus::Rotated { grace_end, .. } => *grace_end,
            },
            expires_at: record.expires_at.unwrap_or(i64::MAX),
            charge: record.balance_id().map(|balance| {
                let key = Arc::new(KeyRef {
                    id: record.id.clone(),
                    hint: record.hint.clone(),
                });
                Charge::new(balance.to_owned(), key)
            }),
        }
    }

    /// Status and expiry at `now`. A refusal names the key (id and hint) for the audit
    /// trail.
    fn usable(&self, now: i64) -> Result<(), ApiKeyError> {
        let kind = if now >= self.usable_until {
            if self.usable_until == i64::MIN {
                ApiKeyErrorKind::Revoked
            } else {
                ApiKeyErrorKind::Rotated
            }
        } else if now >= self.expires_at {
            ApiKeyErrorKind::Expired
        } else {
            return Ok(());
        };
        let p = &self.principal;
        Err(ApiKeyError::from(kind).about(Arc::new(KeyRef {
            id: p.id().to_owned(),
            hint: p.display_hint().unwrap_or_default().to_owned(),
        })))
    }

    /// The credential, checked at `now`, with its charge still owed.
    fn checked(self, now: i64) -> Result<Checked, ApiKeyError> {
        self.usable(now)?;
        Ok(Checked::owing(self.principal, self.charge))
    }
}

/// API keys over a [`KeyStore`]: minting (secret shown once, hash stored), cached
/// verification, instant local revocation, rotation with grace, updates and credits.
/// Cheap to clone.
pub struct ApiKeys<S> {
    inner: Arc<Inner<S>>,
}

struct Inner<S> {
    store: S,
    format: KeyFormat,
    hasher: KeyHasher,
    cache: Cache<Cached>,
    clock: Arc<dyn Clock>,
}

impl<S> Clone for ApiKeys<S> {
    fn clone(&self) -> Self {
        ApiKeys {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl ApiKeys<super::MemoryKeyStore> {
    /// Keys with `prefix` (`tk_live`) in a new in-memory store, with the defaults of
    /// [`ApiKeys::new`]: for tests, examples and single-process services that mint
    /// their keys at start.
    pub fn in_memory(prefix: &str) -> Result<Self, FormatError> {
        Ok(Self::new(
            super::MemoryKeyStore::new(),
            KeyFormat::new(prefix)?,
        ))
    }
}

impl<S: KeyStore> ApiKeys<S> {
    /// Keys in `format` stored in `store`, hashed with SHA-256, with the default cache
    /// and the system clock.
    pub fn new(store: S, format: KeyFormat) -> Self {
        Self::builder(store, format).build()
    }

    /// Starts configuring API keys.
    pub fn builder(store: S, format: KeyFormat) -> ApiKeysBuilder<S> {
        ApiKeysBuilder {
            store,
            format,
            hasher: KeyHasher::sha256(),
            cache: CacheConfig::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The key format (prefixes minted and accepted).
    pub fn format(&self) -> &KeyFormat {
        &self.inner.format
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// Mints a key. The secret is returned once and never stored; the record holds its
    /// hash and a non-secret hint.
    ///
    /// The name is trimmed and must be 1 to [`MAX_NAME_LEN`](crate::limits::MAX_NAME_LEN) bytes, and the key
    /// needs at least one scope (`invalid_request` otherwise: a key for nothing is
    /// most likely an unset variable in a script).
    ///
    /// The other attributes follow the rules in `docs/api-keys.md`: a `ttl` of 1 s
    /// to ten years or an `expires_at` in that window (not both), at most
    /// [`MAX_NETWORKS`](crate::limits::MAX_NETWORKS) networks, a rate-limit override
    /// of at most 64 bytes, a refill of at least one credit, and bounded metadata.
    /// Each refusal is [`ApiKeyErrorKind::InvalidInput`] naming the field.
    pub async fn mint(&self, spec: NewKey) -> Result<(ApiKeySecret, KeyRecord), ApiKeyError> {
        let spec = self.checked(spec)?;
        self.mint_record(spec, None).await
    }

    /// `spec` with every attribute checked, its expiry as an absolute time (no
    /// `ttl` left) and its credit plan as credits (on the service's clock).
    pub(super) fn checked(&self, mut spec: NewKey) -> Result<NewKey, ApiKeyError> {
        let now = self.now();
        spec.name = super::manage::checked_name(&spec.name)?.to_owned();
        if spec.scopes.is_empty() {
            let rule = "a key needs at least one scope";
            return Err(ApiKeyError::invalid_input("scopes", rule));
        }
        // One absolute expiry, fixed now: later steps never re-derive it from a ttl.
        spec.expires_at = attrs::expiry(spec.ttl_secs.take(), spec.expires_at, now)?;
        attrs::check_networks(&spec.networks)?;
        spec.rate_limit = spec
            .rate_limit
            .as_deref()
            .map(attrs::checked_rate_limit)
            .transpose()?;
        if let Some(plan) = spec.credit_plan.take() {
            spec.credits = Some(plan.at(now)?);
        }
        spec.credits
            .as_ref()
            .map(attrs::check_credits)
            .transpose()?;
        attrs::check_metadata(&spec.metadata)?;
        Ok(spec)
    }

    /// Mints a `spec` already [checked](ApiKeys::checked) (its expiry absolute);
    /// `credits_from` names the balance a rotation's successor shares.
    pub(super) async fn mint_record(
        &self,
        spec: NewKey,
        credits_from: Option<String>,
    ) -> Result<(ApiKeySecret, KeyRecord), ApiKeyError> {
        attrs::check_metadata(&spec.metadata)?;
        let now = self.inner.clock.now();
        let secret = self.inner.format.generate()?;
        let parsed = self.inner.format.parse(secret.expose_secret())?;
        let record = KeyRecord {
            id: new_id()?,
            hash: self.inner.hasher.hash(secret.expose_secret()),
            hint: parsed.display_hint(),
            name: spec.name,
            owner: spec.owner,
            tenant: spec.tenant,
            scopes: spec.scopes,
            created_at: now,
            expires_at: spec.expires_at,
            status: KeyStatus::Active,
            networks: spec.networks,
            rate_limit: spec.rate_limit,
            credits: spec.credits,
            credits_from,
            metadata: spec.metadata,
            last_used_at: None,
            version: 0,
        };
        self.inner.store.insert(record.clone()).await?;
        // A well-formed key could have been cached as unknown; forget that.
        self.inner.cache.invalidate(&record.hash);
        Ok((secret, record))
    }

    /// Verifies a key and takes its use: [`ApiKeys::check`], then [`ApiKeys::charge`]
    /// for a metered key. For callers with no checks of their own after the key's;
    /// middleware that checks networks, policy and rate limits afterwards calls
    /// `check` first and `charge` last, so a refused request costs no credit.
    pub async fn verify(&self, key: &str) -> Result<Principal, ApiKeyError> {
        let (principal, charge) = self.check(key).await?.into_parts();
        if let Some(charge) = charge {
            self.charge(charge).await?;
        }
        Ok(principal)
    }

    /// Checks a key without taking anything: format and checksum, hash, cache (then
    /// store), status, expiry, rotation grace. A metered key comes back with the
    /// [`Charge`] it owes; nothing is consumed until [`ApiKeys::charge`]. A warm check
    /// does no I/O, metered or not. Hashes are compared in constant time wherever they
    /// are looked up (`KeyHash`'s equality).
    pub async fn check(&self, key: &str) -> Result<Checked, ApiKeyError> {
        let hash = self.hash_of(key)?;
        let now = self.inner.clock.now();
        let store = &self.inner.store;
        let cached = match self.inner.cache.get_fresh(&hash, now) {
            Fresh::Found(hit) => Some(hit),
            Fresh::Unknown => None,
            Fresh::Miss => {
                self.inner
                    .cache
                    .get_or_load(&hash, now, || async {
                        let found = store.find_by_hash(&hash).await?;
                        if let Some(record) = &found {
                            // Misses only: warm verifications stay free of I/O.
                            store.touch(&record.id, now).await?;
                        }
                        Ok(found.as_ref().map(Cached::of))
                    })
                    .await?
            }
        }
        .ok_or(ApiKeyErrorKind::Unknown)?;
        cached.checked(now)
    }

    /// Takes the use a metered key owes from its balance (atomically, in the store):
    /// the last step, once every other check admitted the request. A key and its
    /// rotation successors draw from one balance. `UsageExceeded` (naming the key)
    /// when no credit is left; `StoreUnavailable` when the store fails (fail closed).
    pub async fn charge(&self, charge: Charge) -> Result<CreditOutcome, ApiKeyError> {
        let now = self.inner.clock.now();
        match self
            .inner
            .store
            .consume_credit(charge.balance_id(), now)
            .await?
        {
            CreditOutcome::Exhausted => {
                Err(ApiKeyError::from(ApiKeyErrorKind::UsageExceeded)
                    .about(Arc::clone(charge.key())))
            }
            taken => Ok(taken),
        }
    }

    /// The warm path of [`ApiKeys::verify`] without a future: `Some` when the answer
    /// is in the cache and needs no store (an unmetered key, a refused key, or a key
    /// cached as unknown); `None` when only [`ApiKeys::verify`] can answer (a miss,
    /// or a metered key whose credit must be taken). Same checks, same errors: use it
    /// to skip an `await` on the hot path.
    pub fn verify_cached(&self, key: &str) -> Option<Result<Principal, ApiKeyError>> {
        match self.check_cached(key)? {
            Ok(checked) if checked.charge().is_some() => None,
            answer => Some(answer.map(|c| c.into_parts().0)),
        }
    }

    /// The warm path of [`ApiKeys::check`] without a future: `Some` when the cache
    /// answers (metered keys included: their charge is owed, not taken), `None` on a
    /// miss.
    pub fn check_cached(&self, key: &str) -> Option<Result<Checked, ApiKeyError>> {
        // The cache holds only hashes of keys that passed the format check, so a hit
        // needs no second check; anything longer than a key is refused unhashed.
        if key.len() > MAX_KEY_LEN {
            return Some(Err(FormatError::Malformed.into()));
        }
        let hash = self.inner.hasher.hash(key);
        let now = self.inner.clock.now();
        match self.inner.cache.get_fresh(&hash, now) {
            Fresh::Found(hit) => Some(hit.checked(now)),
            Fresh::Unknown => Some(Err(ApiKeyErrorKind::Unknown.into())),
            Fresh::Miss => match self.inner.format.parse(key) {
                Ok(_) => None,
                Err(e) => Some(Err(e.into())),
            },
        }
    }

    async fn load(&self, id: &str) -> Result<KeyRecord, ApiKeyError> {
        self.inner
            .store
            .get(id)
            .await?
            .ok_or_else(|| ApiKeyErrorKind::NotFound.into())
    }

    /// Applies `change` to the current record and writes it with compare-and-swap,
    /// reloading and reapplying when another writer got there first (a revocation, a
    /// credit taken, a concurrent update), so no change ever overwrites another. Gives
    /// up after [`MAX_WRITE_ATTEMPTS`] conflicts; revocation never comes here.
    pub(super) async fn modify(
        &self,
        id: &str,
        mut change: impl FnMut(&mut KeyRecord) -> Result<(), ApiKeyError>,
    ) -> Result<KeyRecord, ApiKeyError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let mut record = self.load(id).await?;
            change(&mut record)?;
            match self.inner.store.update(record.clone()).await {
                Ok(()) => {
                    self.inner.cache.invalidate(&record.hash);
                    record.version += 1;
                    return Ok(record);
                }
                Err(e) if e.kind() == StoreErrorKind::Conflict => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiKeyErrorKind::StoreUnavailable.into())
    }

    /// Revokes a key. When this returns, no verification in this process accepts it,
    /// including lookups that were already in flight. Other processes see it within
    /// their cache TTL (or at once with a revocation broadcast). Revocation always
    /// wins: it is one unconditional store write ([`KeyStore::revoke`]), not a
    /// compare-and-swap, so no stream of credit uses or other writes can make it give
    /// up. A key already revoked keeps its first revocation.
    pub async fn revoke(&self, id: &str, reason: &str) -> Result<KeyRecord, ApiKeyError> {
        let at = self.inner.clock.now();
        let record = self
            .inner
            .store
            .revoke(id, at, reason)
            .await
            .map_err(|e| match e.kind() {
                StoreErrorKind::NotFound => ApiKeyErrorKind::NotFound.into(),
                _ => ApiKeyError::from(e),
            })?;
        self.inner.cache.invalidate(&record.hash);
        Ok(record)
    }

    /// Mints a successor with the same configuration. The old key keeps working for
    /// `grace_secs`, then fails with `key_rotated`. If the old key stops being active
    /// while the successor is minted (revoked meanwhile), the successor is revoked too.
    /// A metered key's successor gets no credits of its own: it draws from the same
    /// balance as the key it replaces (the first key of the rotation line holds it), so
    /// rotations never multiply credits.
    pub async fn rotate(
        &self,
        id: &str,
        grace_secs: i64,
    ) -> Result<(ApiKeySecret, KeyRecord), ApiKeyError> {
        let old = self.load(id).await?;
        if old.status != KeyStatus::Active {
            return Err(ApiKeyErrorKind::Invalid("only an active key can be rotated").into());
        }
        let now = self.inner.clock.now();
        let spec = NewKey {
            name: old.name.clone(),
            scopes: old.scopes.clone(),
            owner: old.owner.clone(),
            tenant: old.tenant.clone(),
            expires_at: old.expires_at,
            networks: old.networks.clone(),
            rate_limit: old.rate_limit.clone(),
            credits: None,
            metadata: old.metadata.clone(),
            ..NewKey::default()
        };
        let (secret, new) = self
            .mint_record(spec, old.balance_id().map(str::to_owned))
            .await?;
        let marked = self
            .modify(id, |record| {
                if record.status != KeyStatus::Active {
                    return Err(
                        ApiKeyErrorKind::Invalid("only an active key can be rotated").into(),
                    );
                }
                record.status = KeyStatus::Rotated {
                    successor: new.id.clone(),
                    grace_end: now.saturating_add(grace_secs.max(0)),
                };
                Ok(())
            })
            .await;
        if let Err(e) = marked {
            self.revoke(&new.id, "rotation of a key that was no longer active")
                .await?;
            return Err(e);
        }
        Ok((secret, new))
    }

    /// Moves a key's expiry later, or removes it: the one explicit way to extend a
    /// key's life (an operator's decision; the admin API never calls it).
    pub async fn extend_expiry(
        &self,
        id: &str,
        expires_at: Option<i64>,
    ) -> Result<KeyRecord, ApiKeyError> {
        self.modify(id, |record| {
            record.expires_at = expires_at;
            Ok(())
        })
        .await
    }

    /// The clock the service reads (the one given to [`ApiKeysBuilder::clock`]), for
    /// front ends whose own timing must agree with the keys' (idempotency windows,
    /// answers that say when a grace period ends).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The service's clock, now.
    pub(super) fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// Drops a key from the verification cache (and from lookups in flight): after a
    /// write that changed what verifying it must answer.
    pub(super) fn forget(&self, hash: &KeyHash) {
        self.inner.cache.invalidate(hash);
    }

    /// Grants additional scopes: the one explicit way to widen a key.
    pub async fn widen_scopes(&self, id: &str, more: &ScopeSet) -> Result<KeyRecord, ApiKeyError> {
        self.modify(id, |record| {
            record.scopes = record.scopes.union(more);
            Ok(())
        })
        .await
    }

    /// The record of a presented key, checked like [`ApiKeys::verify`] (format,
    /// status, expiry) but without taking a usage credit or filling the cache: for
    /// token introspection, which must not count as a use.
    pub async fn lookup(&self, key: &str) -> Result<KeyRecord, ApiKeyError> {
        let hash = self.hash_of(key)?;
        let record = self
            .inner
            .store
            .find_by_hash(&hash)
            .await?
            .ok_or(ApiKeyErrorKind::Unknown)?;
        Cached::of(&record).usable(self.inner.clock.now())?;
        Ok(record)
    }

    /// The stored hash of a presented key, after the format and checksum check.
    fn hash_of(&self, key: &str) -> Result<KeyHash, ApiKeyError> {
        let parsed = self.inner.format.parse(key)?;
        Ok(self.inner.hasher.hash(parsed.text()))
    }

    /// The record with this id.
    pub async fn get(&self, id: &str) -> Result<KeyRecord, ApiKeyError> {
        self.load(id).await
    }

    /// Every record, or one tenant's.
    pub async fn list(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, ApiKeyError> {
        Ok(self.inner.store.list(tenant).await?)
    }

    /// Cached entries (for metrics and tests).
    pub fn cached_entries(&self) -> usize {
        self.inner.cache.len()
    }
}

fn principal_of(record: &KeyRecord) -> Principal {
    Principal::builder(&record.id, PrincipalKind::ApiKey, record.scopes.clone())
        .tenant(record.tenant.clone())
        .key_id(Some(record.id.clone()))
        .display_hint(Some(record.hint.clone()))
        .expires_at(record.expires_at)
        .networks(record.networks.clone())
        .rate_limit(record.rate_limit.clone())
        .metered(record.is_metered())
        .metadata(record.metadata.clone())
        .build()
}

/// `key_` and 20 random base62 characters: an identifier, not a secret.
fn new_id() -> Result<String, ApiKeyError> {
    let mut id = String::with_capacity(24);
    id.push_str("key_");
    super::key_format::push_base62(&mut id, 20, super::key_format::system_random)?;
    Ok(id)
}

impl<S> fmt::Debug for ApiKeys<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("format", &self.inner.format)
            .field("hasher", &self.inner.hasher)
            .finish_non_exhaustive()
    }
}
