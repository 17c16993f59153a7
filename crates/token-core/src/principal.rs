//! `Principal`: who is calling, after authentication.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use token_scopes::ScopeSet;

use crate::net::Cidr;

/// What kind of credential authenticated the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrincipalKind {
    /// An API key.
    ApiKey,
    /// A JWT access token issued to (or on behalf of) a user.
    AccessToken,
    /// A JWT access token issued to a client by the client-credentials grant.
    Client,
}

/// An authenticated caller: what every later step (network check, authorization, rate
/// limits, audit) works from. Cheap to clone. Holds no secret.
#[derive(Clone, PartialEq)]
pub struct Principal {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone, PartialEq)]
struct Inner {
    id: String,
    kind: PrincipalKind,
    tenant: Option<String>,
    scopes: ScopeSet,
    key_id: Option<String>,
    display_hint: Option<String>,
    client_id: Option<String>,
    expires_at: Option<i64>,
    networks: Vec<Cidr>,
    rate_limit: Option<String>,
    metered: bool,
    metadata: BTreeMap<String, String>,
}

/// Builds a [`Principal`].
#[derive(Debug, Clone)]
#[must_use]
pub struct PrincipalBuilder {
    inner: Inner,
}

impl Principal {
    /// Starts a principal with its id (key id or token subject), kind and scopes.
    pub fn builder(id: &str, kind: PrincipalKind, scopes: ScopeSet) -> PrincipalBuilder {
        PrincipalBuilder {
            inner: Inner {
                id: id.to_owned(),
                kind,
                tenant: None,
                scopes,
                key_id: None,
                display_hint: None,
                client_id: None,
                expires_at: None,
                networks: Vec::new(),
                rate_limit: None,
                metered: false,
                metadata: BTreeMap::new(),
            },
        }
    }

    /// The principal's id: the API key's id, or the token's `sub`.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The kind of credential.
    pub fn kind(&self) -> PrincipalKind {
        self.inner.kind
    }

    /// The tenant, if any.
    pub fn tenant(&self) -> Option<&str> {
        self.inner.tenant.as_deref()
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &ScopeSet {
        &self.inner.scopes
    }

    /// The API key id, or the JWT signing key's `kid`.
    pub fn key_id(&self) -> Option<&str> {
        self.inner.key_id.as_deref()
    }

    /// A non-secret hint of an API key (`tk_live_3Fq9…`), for people and audit.
    pub fn display_hint(&self) -> Option<&str> {
        self.inner.display_hint.as_deref()
    }

    /// The OAuth client, for tokens.
    pub fn client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    /// When the credential expires (seconds since the epoch).
    pub fn expires_at(&self) -> Option<i64> {
        self.inner.expires_at
    }

    /// Networks the credential may be used from; empty means anywhere.
    pub fn networks(&self) -> &[Cidr] {
        &self.inner.networks
    }

    /// Whether `ip` is allowed by [`Principal::networks`].
    pub fn allows_ip(&self, ip: std::net::IpAddr) -> bool {
        self.inner.networks.is_empty() || self.inner.networks.iter().any(|n| n.contains(ip))
    }

    /// A rate-limit override (a quota such as `1000/minute`) for this credential.
    pub fn rate_limit(&self) -> Option<&str> {
        self.inner.rate_limit.as_deref()
    }

    /// Whether the credential draws on usage credits (a metered API key). Keys it
    /// creates could not be held to its balance, so it creates none.
    pub fn is_metered(&self) -> bool {
        self.inner.metered
    }

    /// Non-secret metadata from the key record.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.inner.metadata
    }
}

impl PrincipalBuilder {
    /// Sets the tenant.
    pub fn tenant(mut self, tenant: Option<String>) -> Self {
        self.inner.tenant = tenant;
        self
    }

    /// Sets the key id.
    pub fn key_id(mut self, id: Option<String>) -> Self {
        self.inner.key_id = id;
        self
    }

    /// Sets the display hint.
    pub fn display_hint(mut self, hint: Option<String>) -> Self {
        self.inner.display_hint = hint;
        self
    }

    /// Sets the OAuth client.
    pub fn client_id(mut self, client_id: Option<String>) -> Self {
        self.inner.client_id = client_id;
        self
    }

    /// Sets the expiry.
    pub fn expires_at(mut self, at: Option<i64>) -> Self {
        self.inner.expires_at = at;
        self
    }

    /// Sets the allowed networks.
    pub fn networks(mut self, networks: Vec<Cidr>) -> Self {
        self.inner.networks = networks;
        self
    }

    /// Sets the rate-limit override.
    pub fn rate_limit(mut self, quota: Option<String>) -> Self {
        self.inner.rate_limit = quota;
        self
    }

    /// Marks the credential as metered (it draws on usage credits).
    pub fn metered(mut self, metered: bool) -> Self {
        self.inner.metered = metered;
        self
    }

    /// Sets the metadata.
    pub fn metadata(mut self, metadata: BTreeMap<String, String>) -> Self {
        self.inner.metadata = metadata;
        self
    }

    /// Finishes the principal.
    pub fn build(self) -> Principal {
        Principal {
            inner: Arc::new(self.inner),
        }
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}
