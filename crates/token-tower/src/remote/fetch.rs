//! Fetching discovery and JWKS documents.

use std::future::Future;
#[cfg(feature = "https")]
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

#[cfg(feature = "https")]
use super::TrustRoots;

#[cfg(feature = "https")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "https"))]
type Connector = HttpConnector;

/// The largest discovery or JWKS document read: 256 KiB.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// How long one fetch may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A fetched document.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fetched {
    /// The body (at most 256 KiB).
    pub body: Bytes,
    /// `Cache-Control: max-age`, if the response had one.
    pub max_age_secs: Option<i64>,
}

impl Fetched {
    /// A document and its max-age.
    pub fn new(body: Bytes, max_age_secs: Option<i64>) -> Self {
        Fetched { body, max_age_secs }
    }
}

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Not reachable, refused, reset, or too slow.
    #[error("the provider is unreachable: {0}")]
    Unreachable(String),
    /// A status other than 200.
    #[error("the provider answered {0}")]
    Status(u16),
    /// Larger than 256 KiB.
    #[error("the document is too large")]
    TooLarge,
    /// A URL this fetcher cannot use (`https://` without the `https` feature, or not
    /// `http(s)://` at all).
    #[error("unsupported URL: {0}")]
    UnsupportedUrl(String),
    /// The TLS handshake failed: the certificate chains to no trusted root, names
    /// another host, has expired, or the server speaks no acceptable TLS.
    #[error("the provider's TLS connection was refused: {0}")]
    Tls(String),
}

/// Gets documents over the network. Implement it with your HTTP client (with TLS
/// for `https://` providers); bound the body size and the time taken.
pub trait JwksFetcher: Send + Sync + 'static {
    /// GETs `url`; 200 answers only.
    fn get(&self, url: &str) -> impl Future<Output = Result<Fetched, FetchError>> + Send;
}

/// The built-in fetcher on hyper: 5-second timeout, 256 KiB limit, HTTP/1.1, no
/// redirects followed.
///
/// With the `https` feature (on by default) it speaks `https://` through rustls on
/// the *ring* provider (TLS 1.2 and 1.3, certificate and host name checked), trusting
/// [`TrustRoots::webpki`] unless given other roots with [`HttpFetcher::with_roots`].
/// Without it, it refuses `https://` URLs. It also fetches plain `http://` URLs;
/// [`super::RemoteJwks`] hands it those only after `dangerous_allow_http()`.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: Client<Connector, Empty<Bytes>>,
}

impl Default for HttpFetcher {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpFetcher {
    /// A fetcher; with the `https` feature, trusting [`TrustRoots::webpki`].
    #[cfg(feature = "https")]
    pub fn new() -> Self {
        Self::with_roots(&TrustRoots::webpki())
    }

    /// A plain-HTTP fetcher (the `https` feature is off).
    #[cfg(not(feature = "https"))]
    pub fn new() -> Self {
        HttpFetcher {
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// A fetcher trusting only `roots` for `https://` URLs (feature `https`). TLS 1.2
    /// and 1.3 with rustls' safe defaults on the *ring* provider, whatever
    /// process-wide provider is installed.
    ///
    /// # Panics
    ///
    /// Not in practice: only if rustls' ring provider supported neither TLS 1.2 nor 1.3.
    #[cfg(feature = "https")]
    pub fn with_roots(roots: &TrustRoots) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default protocol versions")
            .with_root_certificates(Arc::clone(&roots.store))
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        HttpFetcher {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }
}

/// Whether this build can fetch `url`'s scheme.
fn supported(url: &str) -> bool {
    url.starts_with("http://") || (cfg!(feature = "https") && url.starts_with("https://"))
}

/// A failed request as a [`FetchError`]: TLS refusals told apart from the rest.
fn request_error(e: &(dyn std::error::Error + 'static)) -> FetchError {
    #[cfg(feature = "https")]
    {
        let mut cause = Some(e);
        while let Some(c) = cause {
            if let Some(tls) = c.downcast_ref::<rustls::Error>() {
                return FetchError::Tls(tls.to_string());
            }
            // `io::Error::source` skips the error it wraps: look inside.
            cause = match c.downcast_ref::<std::io::Error>() {
                Some(io) => io
                    .get_ref()
                    .map(|inner| inner as &(dyn std::error::Error + 'static)),
                None => c.source(),
            };
        }
    }
    FetchError::Unreachable(e.to_string())
}

impl JwksFetcher for HttpFetcher {
    async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        let short = || url.chars().take(200).collect::<String>();
        if !supported(url) {
            return Err(FetchError::UnsupportedUrl(short()));
        }
        let uri: http::Uri = url
            .parse()
            .map_err(|_| FetchError::UnsupportedUrl(short()))?;
        let unreachable = |e: &dyn std::fmt::Display| FetchError::Unreachable(e.to_string());
        let response = tokio::time::timeout(TIMEOUT, self.client.get(uri))
            .await
            .map_err(|e| unreachable(&e))?
            .map_err(|e| request_error(&e))?;
        if response.status() != http::StatusCode::OK {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let max_age_secs = max_age(response.headers());
        let body = tokio::time::timeout(
            TIMEOUT,
            Limited::new(response.into_body(), MAX_DOCUMENT_BYTES).collect(),
        )
        .await
        .map_err(|e| unreachable(&e))?
        .map_err(|_| FetchError::TooLarge)?
        .to_bytes();
        Ok(Fetched { body, max_age_secs })
    }
}

/// `max-age=N` of `Cache-Control`, unless `no-store`/`no-cache` say not to keep it.
fn max_age(headers: &http::HeaderMap) -> Option<i64> {
    let value = headers.get(http::header::CACHE_CONTROL)?.to_str().ok()?;
    let mut age = None;
    for directive in value.split(',').map(str::trim) {
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache")
        {
            return Some(0);
        }
        if let Some((name, n)) = directive.split_once('=')
            && name.trim().eq_ignore_ascii_case("max-age")
        {
            age = n.trim().trim_matches('"').parse::<i64>().ok();
        }
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_and_bounded_by_the_caller() {
        let h = |v: &str| {
            let mut m = http::HeaderMap::new();
            m.insert(http::header::CACHE_CONTROL, v.parse().unwrap());
            max_age(&m)
        };
        assert_eq!(h("public, max-age=600"), Some(600));
        assert_eq!(h("max-age=\"60\""), Some(60));
        assert_eq!(h("no-store"), Some(0));
        assert_eq!(h("max-age=abc"), None);
        assert_eq!(max_age(&http::HeaderMap::new()), None);
    }
}
