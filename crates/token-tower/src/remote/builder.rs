//! Configuring a [`RemoteJwks`]: where the keys are, how they are fetched, and the
//! HTTPS rule.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex};

use token_core::jose::Algorithm;
use token_core::jwt::{Keyring, SharedKeyring};
use token_core::{Clock, SystemClock};

use super::{DEFAULT_MIN_REFRESH_SECS, HttpFetcher, Inner, JwksFetcher, RemoteError, RemoteJwks};

/// Configures a [`RemoteJwks`]; start with [`RemoteJwks::builder`].
///
/// Every URL fetched (the discovery document, then the JWKS) must be `https://`;
/// [`RemoteJwksBuilder::dangerous_allow_http`] lifts that for a provider on a
/// network you trust, or for tests.
#[must_use]
pub struct RemoteJwksBuilder<F = HttpFetcher> {
    fetcher: F,
    issuer: String,
    jwks_uri: Option<String>,
    allow_http: bool,
    algorithms: Vec<Algorithm>,
    clock: Arc<dyn Clock>,
    min_refresh_secs: i64,
}

impl<F> fmt::Debug for RemoteJwksBuilder<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwksBuilder")
            .field("issuer", &self.issuer)
            .field("jwks_uri", &self.jwks_uri)
            .field("allow_http", &self.allow_http)
            .field("algorithms", &self.algorithms)
            .field("min_refresh_secs", &self.min_refresh_secs)
            .finish_non_exhaustive()
    }
}

impl<F> RemoteJwksBuilder<F> {
    pub(super) fn with(fetcher: F, issuer: &str) -> Self {
        RemoteJwksBuilder {
            fetcher,
            issuer: issuer.to_owned(),
            jwks_uri: None,
            allow_http: false,
            algorithms: Vec::new(),
            clock: Arc::new(SystemClock),
            min_refresh_secs: DEFAULT_MIN_REFRESH_SECS,
        }
    }

    /// Fetches the keys from this URL instead of the one the issuer's discovery
    /// document names (no discovery request is made).
    pub fn jwks_uri(mut self, uri: &str) -> Self {
        self.jwks_uri = Some(uri.to_owned());
        self
    }

    /// Fetches with your client instead of the built-in [`HttpFetcher`].
    pub fn fetcher<G: JwksFetcher>(self, fetcher: G) -> RemoteJwksBuilder<G> {
        RemoteJwksBuilder {
            fetcher,
            issuer: self.issuer,
            jwks_uri: self.jwks_uri,
            allow_http: self.allow_http,
            algorithms: self.algorithms,
            clock: self.clock,
            min_refresh_secs: self.min_refresh_secs,
        }
    }

    /// The algorithms the verifier allows (its `Validation`'s): a published key without
    /// `alg` (identity providers often publish RSA keys so) is bound to each of these
    /// that fits it, and verifies only those
    /// ([`Keyring::with_jwks_for`](token_core::jwt::Keyring::with_jwks_for)). Without
    /// this, keys without `alg` whose type does not name one algorithm (RSA) are
    /// skipped.
    pub fn algorithms(mut self, allowed: &[Algorithm]) -> Self {
        self.algorithms = allowed.to_vec();
        self
    }

    /// Another clock (a [`token_core::ManualClock`] in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The least time between refreshes caused by unknown `kid`s (default
    /// 30 s; at least 1).
    pub fn min_refresh_secs(mut self, secs: i64) -> Self {
        self.min_refresh_secs = secs.max(1);
        self
    }

    /// **Dangerous.** Also fetches discovery and JWKS documents over plain
    /// `http://`. Anyone on the path can then substitute their own keys and mint
    /// tokens this service accepts. Only for a provider reached over a network you
    /// trust end to end, or tests. An `https://` issuer's discovery document still
    /// cannot point at an `http://` JWKS.
    pub fn dangerous_allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }
}

impl<F: JwksFetcher> RemoteJwksBuilder<F> {
    /// The key source. Fails when the issuer is not an `http(s)://` URL, or a URL to
    /// fetch is not `https://` (and `dangerous_allow_http` was not chosen).
    pub fn build(self) -> Result<RemoteJwks<F>, RemoteError> {
        if !(self.issuer.starts_with("http://") || self.issuer.starts_with("https://")) {
            return Err(RemoteError::BadIssuer);
        }
        match &self.jwks_uri {
            // The issuer is only compared with tokens' `iss`; the JWKS URL is fetched.
            Some(uri) => require_https(uri, self.allow_http, "JWKS URL")?,
            None => require_https(&self.issuer, self.allow_http, "issuer's discovery URL")?,
        }
        Ok(RemoteJwks {
            inner: Arc::new(Inner {
                fetcher: self.fetcher,
                // Kept exactly: it is compared with tokens' `iss` byte for byte.
                issuer: self.issuer,
                discover: self.jwks_uri.is_none(),
                jwks_uri: Mutex::new(self.jwks_uri),
                allow_http: self.allow_http,
                algorithms: self.algorithms,
                keyring: SharedKeyring::new(Keyring::verify_only()),
                clock: self.clock,
                min_refresh_secs: self.min_refresh_secs,
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
}

/// `url` is `https://`, or `http://` when plain HTTP was allowed.
pub(super) fn require_https(
    url: &str,
    allow_http: bool,
    which: &'static str,
) -> Result<(), RemoteError> {
    if url.starts_with("https://") || (allow_http && url.starts_with("http://")) {
        Ok(())
    } else {
        Err(RemoteError::NotHttps(which))
    }
}
