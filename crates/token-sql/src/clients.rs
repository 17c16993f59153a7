//! [`SqlClientStore`]: OAuth clients in `tokenkit_clients`.

use serde_json::{Map, Value as Json};
use token_core::backend::{ClientRecord, ClientStore, StoreError, StoreErrorKind};

use crate::db::Database;
use crate::key_row::hash_text;
use crate::pool::{Cols, on_pool, store_error};

/// A [`ClientStore`] on SQLite or PostgreSQL, from [`Database::clients`]. Holds
/// each client's secret hash, never the secret.
#[derive(Debug, Clone)]
pub struct SqlClientStore {
    db: Database,
}

impl SqlClientStore {
    pub(crate) fn new(db: Database) -> Self {
        SqlClientStore { db }
    }
}

fn client(row: &impl Cols) -> Result<ClientRecord, StoreError> {
    let mut fields = Map::new();
    fields.insert("client_id".into(), row.text("client_id")?.into());
    fields.insert("secret_hash".into(), row.text("secret_hash")?.into());
    fields.insert("name".into(), row.text("name")?.into());
    fields.insert("allowed_scopes".into(), row.text("allowed_scopes")?.into());
    fields.insert("tenant".into(), row.opt_text("tenant")?.into());
    fields.insert("created_at".into(), row.int("created_at")?.into());
    serde_json::from_value(Json::Object(fields)).map_err(|e| {
        StoreError::new(
            StoreErrorKind::Corrupt,
            format!("a client row does not read as a record: {e}"),
        )
    })
}

impl ClientStore for SqlClientStore {
    async fn insert(&self, record: ClientRecord) -> Result<(), StoreError> {
        on_pool!(self.db.pool(), p => {
            sqlx::query(
                "INSERT INTO tokenkit_clients \
                 (client_id, secret_hash, name, allowed_scopes, tenant, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(record.client_id.as_str())
            .bind(hash_text(&record.secret_hash))
            .bind(record.name.as_str())
            .bind(record.allowed_scopes.to_string())
            .bind(record.tenant.as_deref())
            .bind(record.created_at)
            .execute(p)
            .await
            .map_err(|e| store_error("inserting a client", &e))?;
        });
        Ok(())
    }

    async fn get(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        on_pool!(self.db.pool(), p => {
            let row = sqlx::query(
                "SELECT client_id, secret_hash, name, allowed_scopes, tenant, created_at \
                 FROM tokenkit_clients WHERE client_id = $1",
            )
            .bind(client_id)
            .fetch_optional(p)
            .await
            .map_err(|e| store_error("reading a client", &e))?;
            row.as_ref().map(client).transpose()
        })
    }
}
