//! Client storage: the record of a registered client and the store trait, with its
//! in-memory implementation (re-exported from [`crate::backend`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use token_scopes::ScopeSet;

use crate::apikey::KeyHash;
use crate::store::{StoreError, StoreErrorKind};

/// A registered client. Holds its secret's hash, never the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientRecord {
    /// The public client id.
    pub client_id: String,
    /// Hash of the client secret.
    pub secret_hash: KeyHash,
    /// A human name.
    pub name: String,
    /// The most a token for this client may carry.
    pub allowed_scopes: ScopeSet,
    /// The tenant its tokens belong to.
    pub tenant: Option<String>,
    /// When it was registered.
    pub created_at: i64,
}

/// Storage for clients.
pub trait ClientStore: Send + Sync + 'static {
    /// Stores a new client; `Conflict` if the id exists.
    fn insert(&self, record: ClientRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The client with this id.
    fn get(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<ClientRecord>, StoreError>> + Send;
}

/// An in-memory [`ClientStore`].
#[derive(Debug, Default)]
pub struct MemoryClientStore {
    clients: RwLock<HashMap<String, ClientRecord>>,
}

impl MemoryClientStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ClientStore for MemoryClientStore {
    async fn insert(&self, record: ClientRecord) -> Result<(), StoreError> {
        let mut map = self
            .clients
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.contains_key(&record.client_id) {
            return Err(StoreError::new(
                StoreErrorKind::Conflict,
                "client id exists",
            ));
        }
        map.insert(record.client_id.clone(), record);
        Ok(())
    }

    async fn get(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let map = self
            .clients
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(map.get(client_id).cloned())
    }
}
