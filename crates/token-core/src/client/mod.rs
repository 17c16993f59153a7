//! Client credentials (RFC 6749 §4.4): services calling services with no user behind
//! them. A client's secret is checksummed like an API key and hashed at rest.

use std::fmt;
use std::sync::Arc;

use token_scopes::ScopeSet;

use crate::apikey::{ApiKeySecret, KeyFormat, KeyHash, KeyHasher};
use crate::clock::{Clock, SystemClock};
use crate::jwt::{AccessTokenRequest, MintError, Minter};
use crate::store::StoreError;

pub(crate) mod store;

pub(crate) use store::{ClientRecord, ClientStore, MemoryClientStore};

/// An access token issued by the client-credentials grant.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The JWT access token (a bearer secret).
    pub access_token: String,
    /// The scopes granted: requested ∩ allowed.
    pub scope: ScopeSet,
    /// Lifetime in seconds.
    pub expires_in: i64,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("access_token", &"[redacted]")
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Why a client-credentials request failed (RFC 6749 §5.2 codes).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Unknown client or wrong secret; deliberately indistinguishable.
    #[error("client authentication failed")]
    InvalidClient,
    /// The requested scopes and the allowed ones do not intersect.
    #[error("no requested scope is allowed for this client")]
    InvalidScope,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Minting failed.
    #[error(transparent)]
    Mint(#[from] MintError),
}

impl ClientError {
    /// The RFC 6749 error code.
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::InvalidClient => "invalid_client",
            ClientError::InvalidScope => "invalid_scope",
            ClientError::Store(_) => "store_unavailable",
            ClientError::Mint(_) => "server_error",
        }
    }
}

/// The client-credentials grant over a [`ClientStore`] and a [`Minter`].
pub struct ClientCredentials<C> {
    inner: Arc<Inner<C>>,
}

struct Inner<C> {
    store: C,
    minter: Minter,
    hasher: KeyHasher,
    format: KeyFormat,
    ttl_secs: i64,
    clock: Arc<dyn Clock>,
}

impl<C> Clone for ClientCredentials<C> {
    fn clone(&self) -> Self {
        ClientCredentials {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl ClientCredentials<MemoryClientStore> {
    /// Clients kept in memory (lost when the process ends), otherwise as
    /// [`ClientCredentials::new`]. Other stores implement
    /// [`ClientStore`] (in [`backend`](crate::backend)).
    pub fn in_memory(minter: Minter) -> Self {
        Self::new(MemoryClientStore::new(), minter)
    }
}

impl<C: ClientStore> ClientCredentials<C> {
    /// Clients in `store`; tokens from `minter` with a 15-minute lifetime; secrets
    /// prefixed `tk_cs` and hashed with SHA-256.
    pub fn new(store: C, minter: Minter) -> Self {
        Self::with_options(
            store,
            minter,
            KeyHasher::sha256(),
            900,
            Arc::new(SystemClock),
        )
    }

    /// Full control: the hasher (pepper), token lifetime and clock.
    pub fn with_options(
        store: C,
        minter: Minter,
        hasher: KeyHasher,
        ttl_secs: i64,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let format = KeyFormat::internal("tk_cs");
        ClientCredentials {
            inner: Arc::new(Inner {
                store,
                minter: minter.with_clock(Arc::clone(&clock)),
                hasher,
                format,
                ttl_secs,
                clock,
            }),
        }
    }

    /// Registers a client. The secret is returned once.
    pub async fn register(
        &self,
        name: &str,
        allowed_scopes: ScopeSet,
        tenant: Option<&str>,
    ) -> Result<(ClientRecord, ApiKeySecret), ClientError> {
        let secret = self
            .inner
            .format
            .generate()
            .map_err(|_| ClientError::InvalidClient)?;
        let id_source = self
            .inner
            .format
            .generate()
            .map_err(|_| ClientError::InvalidClient)?;
        let record = ClientRecord {
            client_id: format!("client_{}", &id_source.expose_secret()[6..26]),
            secret_hash: self.inner.hasher.hash(secret.expose_secret()),
            name: name.to_owned(),
            allowed_scopes,
            tenant: tenant.map(str::to_owned),
            created_at: self.inner.clock.now(),
        };
        self.inner.store.insert(record.clone()).await?;
        Ok((record, secret))
    }

    /// Checks a client id and secret. Unknown ids and wrong secrets take the same path
    /// and give the same error.
    pub async fn authenticate(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<ClientRecord, ClientError> {
        let presented = self.inner.hasher.hash(secret);
        let record = self.inner.store.get(client_id).await?;
        let stored = record
            .as_ref()
            .map_or(KeyHash::from_bytes([0; 32]), |r| r.secret_hash);
        let well_formed = self.inner.format.parse(secret).is_ok();
        match record {
            Some(r) if well_formed && stored == presented => Ok(r),
            _ => Err(ClientError::InvalidClient),
        }
    }

    /// The client-credentials grant: authenticates the client and issues an access
    /// token for requested ∩ allowed scopes (all allowed scopes when none are asked).
    pub async fn issue(
        &self,
        client_id: &str,
        secret: &str,
        requested: Option<&ScopeSet>,
        audience: &str,
    ) -> Result<IssuedToken, ClientError> {
        let client = self.authenticate(client_id, secret).await?;
        self.issue_to(&client, requested, audience)
    }

    /// The client-credentials grant for a client already authenticated (by
    /// [`ClientCredentials::authenticate`]): an access token for requested ∩ allowed scopes
    /// (all allowed scopes when none are asked). For callers that must look at the
    /// client's record before issuing (the OAuth router keeps the cross-tenant scope
    /// exact this way).
    pub fn issue_to(
        &self,
        client: &ClientRecord,
        requested: Option<&ScopeSet>,
        audience: &str,
    ) -> Result<IssuedToken, ClientError> {
        let scope = match requested {
            Some(r) => r.intersect(&client.allowed_scopes),
            None => client.allowed_scopes.clone(),
        };
        if scope.is_empty() {
            return Err(ClientError::InvalidScope);
        }
        let mut request = AccessTokenRequest::new(&client.client_id, audience)
            .client_id(&client.client_id)
            .scope(scope.clone())
            .ttl_secs(self.inner.ttl_secs);
        if let Some(t) = &client.tenant {
            request = request.tenant(t);
        }
        let access_token = self.inner.minter.mint(&request)?;
        Ok(IssuedToken {
            access_token,
            scope,
            expires_in: self.inner.ttl_secs,
        })
    }
}

impl<C> fmt::Debug for ClientCredentials<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("ttl_secs", &self.inner.ttl_secs)
            .finish_non_exhaustive()
    }
}
