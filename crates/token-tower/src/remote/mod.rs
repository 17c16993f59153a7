//! Tokens from an external OIDC provider (feature `remote-jwks`): discovery, a
//! cached JWKS, a rate-limited refresh on unknown `kid`s, and the last good keys kept
//! while the provider is down.
//!
//! Documents are fetched over `https://` only: the built-in [`HttpFetcher`] uses
//! rustls on the *ring* provider (feature `https`, on by default; no C toolchain
//! needed) and trusts the web PKI roots compiled in from `webpki-roots`
//! ([`TrustRoots::webpki`]). For the operating system's store enable `native-roots`
//! and pass [`TrustRoots::platform`] to [`HttpFetcher::with_roots`]; for a private
//! CA, [`TrustRoots::from_pem`]. Plain `http://` needs
//! [`RemoteJwksBuilder::dangerous_allow_http`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use token_core::Authenticator;
//! use token_core::jwt::{Keyring, Validation, Verifier};
//! use token_tower::remote::RemoteJwks;
//!
//! let remote = RemoteJwks::discover("https://idp.example.com/realms/main")?;
//! remote.refresh().await?; // first load; later refreshes happen on their own
//! let verifier = Verifier::new(Keyring::verify_only(), Validation::access_tokens(remote.issuer(), "my-api"))
//!     .with_shared_keyring(remote.keyring());
//! let authenticator: Authenticator = Authenticator::new().jwt(verifier);
//! // AuthLayer::builder(authenticator, policy).remote_jwks(remote.clone()).build()
//! # Ok(()) }
//! ```

mod builder;
mod fetch;
#[cfg(feature = "https")]
mod roots;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use token_core::Clock;
use token_core::jwt::{JwksReport, Keyring, SharedKeyring};

pub use builder::RemoteJwksBuilder;
pub use fetch::HttpFetcher;
use fetch::{FetchError, JwksFetcher};

/// The fetching seam, for those who bring their own HTTP client (or a test double)
/// instead of [`HttpFetcher`]: [`RemoteJwksBuilder::fetcher`] takes any
/// [`JwksFetcher`].
pub mod backend {
    pub use super::fetch::{FetchError, Fetched, JwksFetcher};
}
#[cfg(feature = "https")]
pub use roots::{RootsError, TrustRoots};

/// How long fetched keys are used before a refresh when the response names no
/// `Cache-Control: max-age`: 15 minutes.
pub(crate) const DEFAULT_MAX_AGE_SECS: i64 = 900;

/// Bounds on a provider's `max-age`: at least a minute, at most a day.
pub(crate) const MAX_AGE_RANGE_SECS: (i64, i64) = (60, 86_400);

/// The least time between two refreshes caused by unknown `kid`s: 30 seconds, so a
/// flood of tokens with random `kid`s costs the provider one request per interval.
pub(crate) const DEFAULT_MIN_REFRESH_SECS: i64 = 30;

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
    /// A URL to fetch (named here) is not `https://`, and plain HTTP was not allowed
    /// ([`RemoteJwksBuilder::dangerous_allow_http`]).
    #[error("the {0} is not an https:// URL (plain HTTP needs `dangerous_allow_http`)")]
    NotHttps(&'static str),
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
    /// `dangerous_allow_http` was chosen.
    allow_http: bool,
    /// What keys without `alg` are bound to (`RemoteJwksBuilder::algorithms`).
    algorithms: Vec<token_core::jose::Algorithm>,
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
    /// Keys found through `{issuer}/.well-known/openid-configuration`, fetched over
    /// `https://` with the built-in [`HttpFetcher`] (feature `https`; web PKI roots).
    /// An `http://` issuer is refused ([`RemoteError::NotHttps`]) unless the builder's
    /// `dangerous_allow_http` is chosen.
    pub fn discover(issuer: &str) -> Result<Self, RemoteError> {
        Self::builder(issuer).build()
    }

    /// Keys at a known `https://` JWKS URL, for `issuer` (then only compared with
    /// tokens' `iss`, never fetched).
    pub fn from_jwks_uri(issuer: &str, jwks_uri: &str) -> Result<Self, RemoteError> {
        Self::builder(issuer).jwks_uri(jwks_uri).build()
    }

    /// Configures the keys of `issuer`: another JWKS URL, fetcher or roots, clock,
    /// refresh interval, or plain HTTP.
    ///
    /// ```no_run
    /// # #[cfg(feature = "https")]
    /// # fn demo(company_ca_pem: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    /// use token_tower::remote::{HttpFetcher, RemoteJwks, TrustRoots};
    ///
    /// let fetcher = HttpFetcher::with_roots(&TrustRoots::from_pem(company_ca_pem)?);
    /// let remote = RemoteJwks::builder("https://idp.corp.example/realms/main")
    ///     .fetcher(fetcher)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder(issuer: &str) -> RemoteJwksBuilder<HttpFetcher> {
        RemoteJwksBuilder::with(HttpFetcher::new(), issuer)
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
    /// one its discovery document names; `https://` only (see
    /// [`RemoteJwks::builder`] for the other settings).
    pub fn with_fetcher(
        fetcher: F,
        issuer: &str,
        jwks_uri: Option<&str>,
    ) -> Result<Self, RemoteError> {
        let builder = RemoteJwksBuilder::with(fetcher, issuer);
        match jwks_uri {
            Some(uri) => builder.jwks_uri(uri),
            None => builder,
        }
        .build()
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
            .with_jwks_for(&fetched.body, &self.inner.issuer, &self.inner.algorithms)
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
        // Keys for an https issuer are fetched over https only, whatever was allowed.
        let secure_issuer = self.inner.issuer.starts_with("https://");
        builder::require_https(
            &doc.jwks_uri,
            self.inner.allow_http && !secure_issuer,
            "JWKS URL named by the discovery document",
        )?;
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
