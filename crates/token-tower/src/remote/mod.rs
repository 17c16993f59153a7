//! Tokens from an external OIDC provider (feature `remote-jwks`): discovery, a
//! cached JWKS, a rate-limited refresh on unknown `kid`s, and the last good keys kept
//! while the provider is down.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use token_core::Authenticator;
//! use token_core::jwt::{Keyring, Validation, Verifier};
//! use token_tower::remote::RemoteJwks;
//!
//! let remote = RemoteJwks::discover("http://idp.internal:8080/realms/main")?;
//! remote.refresh().await?; // first load; later refreshes happen on their own
//! let verifier = Verifier::new(Keyring::verify_only(), Validation::access_tokens(remote.issuer(), "my-api"))
//!     .with_shared_keyring(remote.keyring());
//! let authenticator: Authenticator = Authenticator::new().jwt(verifier);
//! // AuthLayer::builder(authenticator, policy).remote_jwks(remote.clone()).build()
//! # Ok(()) }
//! ```

mod fetch;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use token_core::jwt::{JwksReport, Keyring, SharedKeyring};
use token_core::{Clock, SystemClock};

pub use fetch::{FetchError, Fetched, HttpFetcher, JwksFetcher, MAX_DOCUMENT_BYTES};

/// How long fetched keys are used before a refresh when the response names no
/// `Cache-Control: max-age`: 15 minutes.
pub const DEFAULT_MAX_AGE_SECS: i64 = 900;

/// Bounds on a provider's `max-age`: at least a minute, at most a day.
pub const MAX_AGE_RANGE_SECS: (i64, i64) = (60, 86_400);

/// The least time between two refreshes caused by unknown `kid`s: 30 seconds, so a
/// flood of tokens with random `kid`s costs the provider one request per interval.
pub const DEFAULT_MIN_REFRESH_SECS: i64 = 30;

/// Why a refresh failed. The keys in use stay as they were.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The provider could not be reached or answered with an error status.
    #[error("the key provider failed: {0}")]
    Fetch(#[from] FetchError),
    /// The discovery document is not JSON with `issuer` and `jwks_uri`.
    #[error("the discovery document is malformed")]
    BadDiscovery,
    /// The discovery document names another issuer (OIDC Discovery §4.3).
    #[error("the discovery document is for issuer {0:?}, not the configured one")]
    IssuerMismatch(String),
    /// The JWKS is not a key set, or none of its keys could be used.
    #[error("the JWKS holds no usable key")]
    NoUsableKey,
    /// The issuer URL is not `http://` or `https://`.
    #[error("the issuer is not an http(s) URL")]
    BadIssuer,
}

/// Counters for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteStats {
    /// Requests sent to the provider (discovery and JWKS).
    pub fetches: u64,
    /// Refreshes that failed (the last good keys stayed in use).
    pub failures: u64,
    /// Refreshes for unknown `kid`s skipped by the rate limit.
    pub throttled: u64,
}

/// An external issuer's keys, kept fresh. Cheap to clone.
pub struct RemoteJwks<F = HttpFetcher> {
    inner: Arc<Inner<F>>,
}

struct Inner<F> {
    fetcher: F,
    issuer: String,
    discover: bool,
    jwks_uri: Mutex<Option<String>>,
    keyring: SharedKeyring,
    clock: Arc<dyn Clock>,
    min_refresh_secs: i64,
    /// When the keys go stale (seconds; `i64::MIN` before the first load).
    stale_at: AtomicI64,
    /// The last refresh attempt caused by an unknown `kid`.
    last_forced: AtomicI64,
    /// Set while a refresh runs.
    refreshing: AtomicBool,
    /// Set while a background refresh is scheduled: at most one.
    background: AtomicBool,
    fetches: AtomicU64,
    failures: AtomicU64,
    throttled: AtomicU64,
    /// Serialises refreshes so waiters see the result of the one in flight.
    gate: tokio::sync::Mutex<()>,
}

impl<F> Clone for RemoteJwks<F> {
    fn clone(&self) -> Self {
        RemoteJwks {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<F> fmt::Debug for RemoteJwks<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("issuer", &self.inner.issuer)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl RemoteJwks<HttpFetcher> {
    /// Keys found through `{issuer}/.well-known/openid-configuration`. The built-in
    /// fetcher speaks plain HTTP only (an issuer inside your network, or tests); for
    /// `https://` issuers give your TLS-capable client to [`RemoteJwks::with_fetcher`].
    pub fn discover(issuer: &str) -> Result<Self, RemoteError> {
        Self::with_fetcher(HttpFetcher::new(), issuer, None)
    }

    /// Keys at a known JWKS URL, for `issuer`.
    pub fn from_jwks_uri(issuer: &str, jwks_uri: &str) -> Result<Self, RemoteError> {
        Self::with_fetcher(HttpFetcher::new(), issuer, Some(jwks_uri))
    }
}

impl<F> RemoteJwks<F> {
    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The keyring verifiers should use ([`token_core::jwt::Verifier::with_shared_keyring`]).
    pub fn keyring(&self) -> SharedKeyring {
        self.inner.keyring.clone()
    }

    /// The counters.
    pub fn stats(&self) -> RemoteStats {
        let i = &self.inner;
        RemoteStats {
            fetches: i.fetches.load(Ordering::Relaxed),
            failures: i.failures.load(Ordering::Relaxed),
            throttled: i.throttled.load(Ordering::Relaxed),
        }
    }

    /// Whether the keys are past their max-age (or were never loaded).
    pub fn is_stale(&self) -> bool {
        self.inner.clock.now() >= self.inner.stale_at.load(Ordering::Relaxed)
    }
}

impl<F: JwksFetcher> RemoteJwks<F> {
    /// Keys of `issuer` fetched with `fetcher`, from `jwks_uri` or, when `None`, the
    /// one its discovery document names.
    pub fn with_fetcher(
        fetcher: F,
        issuer: &str,
        jwks_uri: Option<&str>,
    ) -> Result<Self, RemoteError> {
        if !(issuer.starts_with("http://") || issuer.starts_with("https://")) {
            return Err(RemoteError::BadIssuer);
        }
        Ok(RemoteJwks {
            inner: Arc::new(Inner {
                fetcher,
                // Kept exactly: it is compared with tokens' `iss` byte for byte.
                issuer: issuer.to_owned(),
                discover: jwks_uri.is_none(),
                jwks_uri: Mutex::new(jwks_uri.map(str::to_owned)),
                keyring: SharedKeyring::new(Keyring::verify_only()),
                clock: Arc::new(SystemClock),
                min_refresh_secs: DEFAULT_MIN_REFRESH_SECS,
                stale_at: AtomicI64::new(i64::MIN),
                last_forced: AtomicI64::new(i64::MIN),
                refreshing: AtomicBool::new(false),
                background: AtomicBool::new(false),
                fetches: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                throttled: AtomicU64::new(0),
                gate: tokio::sync::Mutex::new(()),
            }),
        })
    }

    fn edit(mut self, f: impl FnOnce(&mut Inner<F>)) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            f(inner);
        }
        self
    }

    /// Another clock (a [`token_core::ManualClock`] in tests).
    #[must_use]
    pub fn clock(self, clock: Arc<dyn Clock>) -> Self {
        self.edit(|i| i.clock = clock)
    }

    /// The least time between refreshes caused by unknown `kid`s.
    #[must_use]
    pub fn min_refresh_secs(self, secs: i64) -> Self {
        self.edit(|i| i.min_refresh_secs = secs.max(1))
    }

    /// Fetches the keys now (discovering the JWKS URL first if needed). On failure
    /// the keys in use stay.
    pub async fn refresh(&self) -> Result<JwksReport, RemoteError> {
        let _one = self.inner.gate.lock().await;
        self.inner.refreshing.store(true, Ordering::SeqCst);
        let result = self.fetch_keys().await;
        self.inner.refreshing.store(false, Ordering::SeqCst);
        if result.is_err() {
            self.inner.failures.fetch_add(1, Ordering::Relaxed);
            // Keep serving the last good keys; try a failing provider again no sooner
            // than the refresh interval.
            let retry = self
                .inner
                .clock
                .now()
                .saturating_add(self.inner.min_refresh_secs);
            self.inner.stale_at.store(retry, Ordering::Relaxed);
        }
        result
    }

    /// A token named a `kid` we do not have: refresh, unless one ran within the
    /// refresh interval. Returns whether the keys were refreshed.
    pub async fn on_unknown_kid(&self) -> bool {
        let now = self.inner.clock.now();
        let last = self.inner.last_forced.load(Ordering::Relaxed);
        if now < last.saturating_add(self.inner.min_refresh_secs)
            || self
                .inner
                .last_forced
                .compare_exchange(last, now, Ordering::SeqCst, Ordering::Relaxed)
                .is_err()
        {
            self.inner.throttled.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.refresh().await.is_ok()
    }

    async fn fetch_keys(&self) -> Result<JwksReport, RemoteError> {
        let uri = self.jwks_uri().await?;
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = self.inner.fetcher.get(&uri).await?;
        // Every key is bound to this issuer: it verifies only tokens naming it.
        let (keyring, report) = Keyring::verify_only()
            .with_jwks(&fetched.body, &self.inner.issuer)
            .map_err(|_| RemoteError::NoUsableKey)?;
        if report.loaded.is_empty() {
            return Err(RemoteError::NoUsableKey);
        }
        self.inner.keyring.store(keyring);
        let (low, high) = MAX_AGE_RANGE_SECS;
        let max_age = fetched
            .max_age_secs
            .map_or(DEFAULT_MAX_AGE_SECS, |s| s.clamp(low, high));
        let now = self.inner.clock.now();
        self.inner
            .stale_at
            .store(now.saturating_add(max_age), Ordering::Relaxed);
        Ok(report)
    }

    async fn jwks_uri(&self) -> Result<String, RemoteError> {
        if let Some(uri) = self
            .inner
            .jwks_uri
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Ok(uri);
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.inner.issuer.trim_end_matches('/')
        );
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = self.inner.fetcher.get(&url).await?;
        let doc: Discovery =
            serde_json::from_slice(&fetched.body).map_err(|_| RemoteError::BadDiscovery)?;
        if doc.issuer != self.inner.issuer {
            return Err(RemoteError::IssuerMismatch(
                doc.issuer.chars().take(200).collect(),
            ));
        }
        // Keys for an https issuer are fetched over https only.
        let secure_issuer = self.inner.issuer.starts_with("https://");
        let acceptable = doc.jwks_uri.starts_with("https://")
            || (!secure_issuer && doc.jwks_uri.starts_with("http://"));
        if !acceptable {
            return Err(RemoteError::BadDiscovery);
        }
        debug_assert!(self.inner.discover);
        *self
            .inner
            .jwks_uri
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(doc.jwks_uri.clone());
        Ok(doc.jwks_uri)
    }
}

/// The members of a discovery document we use.
#[derive(serde::Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// What the layer needs from a remote key source, without its fetcher's type.
pub(crate) trait KeySource: Send + Sync + 'static {
    /// Refreshes after an unknown `kid` (rate-limited); whether keys changed.
    fn unknown_kid(&self) -> Pin<Box<dyn Future<Output = bool> + Send + '_>>;
    /// Starts a background refresh if the keys are stale and none runs.
    fn refresh_if_stale(&self);
}

impl<F: JwksFetcher> KeySource for RemoteJwks<F> {
    fn unknown_kid(&self) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        Box::pin(self.on_unknown_kid())
    }

    fn refresh_if_stale(&self) {
        if !self.is_stale() || self.inner.refreshing.load(Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self
            .inner
            .background
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let this = self.clone();
        runtime.spawn(async move {
            if this.is_stale() {
                let _ = this.refresh().await;
            }
            this.inner.background.store(false, Ordering::SeqCst);
        });
    }
}
