//! `AuthLayer`: the configuration, shared by every clone of the service.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use http::HeaderName;
use token_audit::Auditor;
use token_core::backend::{KeyStore, MemoryKeyStore};
use token_core::{Authenticator, Cidr};
use token_ratelimit::backend::{LimitStore, LocalStore};
use token_ratelimit::{HeaderStyle, Limiter};

use super::rate_headers::RateHeaders;
use token_scopes::{Policy, Requirement, Scope};
use tower_layer::Layer;

use super::client::ProxyHeaders;
use super::refusal::Refusal;
use super::respond::{RenderedBody, Settings, Shared};
use super::service::AuthService;

/// The default API-key header.
pub(crate) const DEFAULT_API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

/// The default prefix length anonymous IPv6 clients are rate-limited by: one `/64`, the
/// smallest network a provider assigns to one subscriber.
pub(crate) const DEFAULT_ANONYMOUS_IPV6_PREFIX: u8 = 64;

/// Over which connections credentials are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// TLS, or a loopback client (the default).
    TlsOutsideLoopback,
    /// TLS only (`require_tls_on_loopback`).
    Tls,
    /// Any (`insecure_allow_plaintext`).
    Any,
}

impl Transport {
    /// Whether a credential may travel from a client with these properties.
    pub(crate) fn admits(self, tls: bool, loopback: bool) -> bool {
        match self {
            Transport::TlsOutsideLoopback => tls || loopback,
            Transport::Tls => tls,
            Transport::Any => true,
        }
    }
}

/// A tower layer that authenticates, authorizes against a [`Policy`], rate-limits and
/// audits every request before the inner service sees it.
///
/// Cheap to clone: the configuration is shared.
pub struct AuthLayer<K = MemoryKeyStore, L = LocalStore> {
    pub(crate) config: Arc<Config<K, L>>,
}

pub(crate) struct Config<K, L> {
    pub(crate) authenticator: Authenticator<K>,
    pub(crate) policy: Arc<Policy>,
    /// Built once by [`AuthLayerBuilder::build`]; handed to admitted requests unless
    /// it is the defaults, which everything behind the layer assumes without it.
    pub(crate) shared: Shared,
    pub(crate) hand_over: bool,
    pub(crate) api_key_header: HeaderName,
    pub(crate) trusted_proxies: Vec<Cidr>,
    pub(crate) default_peer: Option<IpAddr>,
    pub(crate) proxy_headers: ProxyHeaders,
    pub(crate) transport: Transport,
    pub(crate) allow_query_credentials: bool,
    pub(crate) limiter: Option<Limiter<L>>,
    pub(crate) anonymous_ipv6_prefix: u8,
    pub(crate) rate_headers: RateHeaders,
    pub(crate) auditor: Option<Auditor>,
    pub(crate) audit_public: bool,
    #[cfg(feature = "remote-jwks")]
    pub(crate) remote: Option<Arc<dyn crate::remote::KeySource>>,
}

impl<K: KeyStore> AuthLayer<K> {
    /// A layer with the defaults: credentials only over TLS (loopback excepted),
    /// never in the query string, API keys in `X-API-Key`, no trusted proxies, no
    /// rate limits, no audit.
    ///
    /// `authenticator` is an [`Authenticator`], or an [`token_core::apikey::ApiKeys`]
    /// for a service that accepts only API keys.
    pub fn new(authenticator: impl Into<Authenticator<K>>, policy: Policy) -> Self {
        Self::builder(authenticator, policy).build()
    }

    /// Starts a configuration.
    pub fn builder(
        authenticator: impl Into<Authenticator<K>>,
        policy: Policy,
    ) -> AuthLayerBuilder<K> {
        let authenticator = authenticator.into();
        AuthLayerBuilder {
            settings: Settings::default(),
            config: Config {
                authenticator,
                policy: Arc::new(policy),
                shared: Shared(Arc::new(Settings::default())),
                hand_over: false,
                api_key_header: DEFAULT_API_KEY_HEADER,
                trusted_proxies: Vec::new(),
                default_peer: None,
                proxy_headers: ProxyHeaders::default(),
                transport: Transport::TlsOutsideLoopback,
                allow_query_credentials: false,
                limiter: None,
                anonymous_ipv6_prefix: DEFAULT_ANONYMOUS_IPV6_PREFIX,
                rate_headers: RateHeaders::new(HeaderStyle::Ietf),
                auditor: None,
                audit_public: false,
                #[cfg(feature = "remote-jwks")]
                remote: None,
            },
        }
    }
}

impl<K, L> AuthLayer<K, L> {
    /// The policy routes are matched against.
    pub fn policy(&self) -> &Policy {
        &self.config.policy
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &Authenticator<K> {
        &self.config.authenticator
    }
}

impl<K, L> Clone for AuthLayer<K, L> {
    fn clone(&self) -> Self {
        AuthLayer {
            config: Arc::clone(&self.config),
        }
    }
}

impl<K, L> fmt::Debug for AuthLayer<K, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("settings", &self.config.shared.0)
            .field("api_key_header", &self.config.api_key_header)
            .field("trusted_proxies", &self.config.trusted_proxies)
            .field("transport", &self.config.transport)
            .field("limits", &self.config.limiter.is_some())
            .field("audit", &self.config.auditor.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, K, L> Layer<S> for AuthLayer<K, L> {
    type Service = AuthService<S, K, L>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService::new(inner, self.clone())
    }
}

/// Configures an [`AuthLayer`].
#[must_use]
pub struct AuthLayerBuilder<K, L = LocalStore> {
    settings: Settings,
    config: Config<K, L>,
}

impl<K: KeyStore, L: LimitStore> AuthLayerBuilder<K, L> {
    /// The `realm` of `WWW-Authenticate` challenges (default `api`), for every
    /// refusal: the layer's, [`crate::RequireScopeLayer`]'s, the
    /// [`crate::Authenticated`] extractor's and the routes'.
    pub fn realm(mut self, realm: &str) -> Self {
        realm.clone_into(&mut self.settings.realm);
        self
    }

    /// The scope every key-administration call needs (default
    /// `admin:keys`). The routes
    /// behind this layer read it from the request, so it is set here only.
    pub fn admin_scope(mut self, scope: Scope) -> Self {
        self.settings.admin = Requirement::scope(scope);
        self
    }

    /// The scope `/oauth/introspect` callers need (default
    /// `tokens:introspect`).
    pub fn introspection_scope(mut self, scope: Scope) -> Self {
        self.settings.introspection = Requirement::scope(scope);
        self
    }

    /// The client address assumed for requests that carry no peer address (neither
    /// axum's `ConnectInfo` nor [`crate::PeerAddr`]): for a listener that only this
    /// address can reach, such as one bound to `127.0.0.1` and served without
    /// `into_make_service_with_connect_info`. Without it, such requests cannot be
    /// told from remote ones and credentials on them are refused over plain HTTP.
    pub fn default_peer(mut self, ip: IpAddr) -> Self {
        self.config.default_peer = Some(ip);
        self
    }

    /// The header API keys travel in (default `X-API-Key`).
    pub fn api_key_header(mut self, name: HeaderName) -> Self {
        self.config.api_key_header = name;
        self
    }

    /// Networks of reverse proxies whose forwarded headers (see
    /// [`AuthLayerBuilder::proxy_headers`]) are believed. Default: none, so the peer
    /// address is the client and only a TLS marker on the connection counts as HTTPS.
    /// A proxy on loopback that is not listed makes every client look local (and so
    /// exempt from the TLS rule): list it.
    pub fn trusted_proxies(mut self, networks: Vec<Cidr>) -> Self {
        self.config.trusted_proxies = networks;
        self
    }

    /// Which header the trusted proxies write: `X-Forwarded-For`/`-Proto` (the
    /// default) or RFC 7239 `Forwarded`. Only that one is read; the other is the
    /// client's to forge.
    pub fn proxy_headers(mut self, which: ProxyHeaders) -> Self {
        self.config.proxy_headers = which;
        self
    }

    /// **Insecure.** Accepts credentials over plain HTTP from any client. By default a
    /// credential from outside loopback must arrive over TLS (the connection's
    /// [`crate::TlsConnection`] marker or a trusted proxy's `proto=https`), because a
    /// bearer credential sent in clear text is a credential given away.
    pub fn insecure_allow_plaintext(mut self) -> Self {
        self.config.transport = Transport::Any;
        self
    }

    /// Also refuses credentials over plain HTTP from loopback clients, which are
    /// exempt by default (local development, a sidecar on the same host). For a
    /// service that terminates TLS itself (the acceptor inserts
    /// [`crate::TlsConnection`]): no local client then needs plain HTTP, and a local
    /// proxy missing from [`AuthLayerBuilder::trusted_proxies`] cannot make remote
    /// plain-HTTP clients pass as local. See `examples/tls`.
    pub fn require_tls_on_loopback(mut self) -> Self {
        // Plain HTTP, when chosen, stays chosen: settings compose in any order.
        if self.config.transport == Transport::TlsOutsideLoopback {
            self.config.transport = Transport::Tls;
        }
        self
    }

    /// **Insecure.** Stops refusing requests whose query string carries a
    /// credential (query strings end up in proxy logs, browser history and
    /// `Referer` headers). The layer still never *reads* a credential from the query.
    pub fn insecure_allow_query_credentials(mut self) -> Self {
        self.config.allow_query_credentials = true;
        self
    }

    /// The prefix of problem `type` URIs (default
    /// `urn:tokenkit:problem:`); the reason
    /// code is appended, e.g. `https://docs.example.com/errors#key_revoked`. Used by
    /// every refusal and every route error behind this layer.
    pub fn problem_type_base(mut self, base: &str) -> Self {
        base.clone_into(&mut self.settings.problem_type_base);
        self
    }

    /// Renders refusal bodies yourself (status and protocol headers stay the layer's),
    /// for every refusal behind this layer.
    pub fn render(
        mut self,
        render: impl Fn(&Refusal) -> RenderedBody + Send + Sync + 'static,
    ) -> Self {
        self.settings.render = Some(Arc::new(render));
        self
    }

    /// Rate limits: per principal (anonymous requests per client address, see
    /// [`anonymous_ipv6_prefix`](Self::anonymous_ipv6_prefix)), per tenant, per route
    /// class (the matched rule's `rate_class`) and global. Anonymous requests are
    /// counted apart from principals (their own table and their own global counter,
    /// see [`token_ratelimit::CheckRequest::anonymous`]): they can never make an
    /// authenticated request fail. Every response that passed through a limit carries
    /// the `RateLimit` fields.
    pub fn limiter<T: LimitStore>(self, limiter: Limiter<T>) -> AuthLayerBuilder<K, T> {
        let c = self.config;
        AuthLayerBuilder {
            settings: self.settings,
            config: Config {
                authenticator: c.authenticator,
                policy: c.policy,
                shared: c.shared,
                hand_over: c.hand_over,
                api_key_header: c.api_key_header,
                trusted_proxies: c.trusted_proxies,
                default_peer: c.default_peer,
                proxy_headers: c.proxy_headers,
                transport: c.transport,
                allow_query_credentials: c.allow_query_credentials,
                limiter: Some(limiter),
                anonymous_ipv6_prefix: c.anonymous_ipv6_prefix,
                rate_headers: c.rate_headers,
                auditor: c.auditor,
                audit_public: c.audit_public,
                #[cfg(feature = "remote-jwks")]
                remote: c.remote,
            },
        }
    }

    /// How many leading bits of an anonymous IPv6 client's address name it for the
    /// rate limits (default 64, a `/64`: one subscriber
    /// holds a whole `/64` and can use a fresh address per request). 128 limits every
    /// address apart; larger values count as 128. IPv4 clients are limited per
    /// address.
    pub fn anonymous_ipv6_prefix(mut self, bits: u8) -> Self {
        self.config.anonymous_ipv6_prefix = bits.min(128);
        self
    }

    /// Also sends the legacy `X-RateLimit-Limit/Remaining/Reset` fields.
    pub fn legacy_rate_limit_headers(mut self) -> Self {
        self.config.rate_headers = RateHeaders::new(HeaderStyle::IetfAndLegacy);
        self
    }

    /// Records one audit event per decision, after the response, without blocking it.
    pub fn auditor(mut self, auditor: Auditor) -> Self {
        self.config.auditor = Some(auditor);
        self
    }

    /// Also audits anonymous requests that public routes let through (off by
    /// default: health checks would drown the trail). Refusals are always audited.
    pub fn audit_public_routes(mut self) -> Self {
        self.config.audit_public = true;
        self
    }

    /// Keeps a remote issuer's keys fresh: a JWT whose `kid` the verifier lacks
    /// triggers a (rate-limited) refresh and one more try, and stale keys are
    /// refreshed in the background. Give the verifier `remote.keyring()` with
    /// [`token_core::jwt::Verifier::with_shared_keyring`].
    #[cfg(feature = "remote-jwks")]
    pub fn remote_jwks<F: crate::remote::backend::JwksFetcher>(
        mut self,
        remote: crate::remote::RemoteJwks<F>,
    ) -> Self {
        self.config.remote = Some(Arc::new(remote));
        self
    }

    /// The layer. The cross-tenant scope the routes honour is the policy's
    /// ([`token_scopes::PolicyBuilder::cross_tenant_scope`]), or
    /// `admin:tenants` when
    /// the policy names none.
    pub fn build(self) -> AuthLayer<K, L> {
        let mut settings = self.settings;
        let mut config = self.config;
        if let Some(scope) = config.policy.cross_tenant_scope() {
            settings.cross_tenant = scope.clone();
        }
        // The defaults need not travel: `Shared::of` assumes them. This keeps an
        // allocation and a map insertion off every request of a default layer.
        config.hand_over = !settings.is_default();
        config.shared = Shared(Arc::new(settings));
        AuthLayer {
            config: Arc::new(config),
        }
    }
}

impl<K, L> fmt::Debug for AuthLayerBuilder<K, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayerBuilder")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
