//! [`SqlRefreshStore`]: refresh tokens and their families in
//! `tokenkit_refresh_tokens` and `tokenkit_refresh_families`.

use std::sync::atomic::Ordering;

use serde_json::{Map, Value as Json};
use token_core::backend::{KeyHash, RefreshRecord, RefreshStore, StoreError, StoreErrorKind};
use token_core::limits::PRUNE_INTERVAL_SECS;

use crate::db::Database;
use crate::key_row::hash_text;
use crate::pool::{Cols, in_write_tx, on_pool, store_error};

/// A [`RefreshStore`] on SQLite or PostgreSQL, from [`Database::refresh_tokens`].
///
/// Redeeming is one conditional `UPDATE ... SET used = TRUE WHERE used = FALSE`:
/// of any number of processes redeeming one token at once, exactly one wins, and
/// every later attempt is seen as reuse. Expired families (their tokens, used or
/// not, and their revocation) are pruned as the memory store prunes them: storing a
/// token sweeps at most once per [`PRUNE_INTERVAL_SECS`] on the issuer's clock (per
/// [`Database`], however many store handles it gave out), and
/// [`SqlRefreshStore::prune`] sweeps at a time you give.
#[derive(Debug, Clone)]
pub struct SqlRefreshStore {
    db: Database,
}

const COLUMNS: &str =
    "hash, family, subject, client_id, scope, tenant, issued_at, expires_at, used";

const UPSERT_FAMILY: &str = "INSERT INTO tokenkit_refresh_families (family, expires_at) \
    VALUES ($1, $2) ON CONFLICT (family) DO UPDATE SET expires_at = \
    CASE WHEN excluded.expires_at > tokenkit_refresh_families.expires_at \
         THEN excluded.expires_at ELSE tokenkit_refresh_families.expires_at END";

impl SqlRefreshStore {
    pub(crate) fn new(db: Database) -> Self {
        SqlRefreshStore { db }
    }

    /// Forgets every family expired at `now` (seconds since the epoch, from the
    /// issuer's clock), with its tokens (by cascade: no token outlives its family)
    /// and its revocation. Returns how many families were forgotten.
    pub async fn prune(&self, now: i64) -> Result<u64, StoreError> {
        self.db
            .inner
            .next_prune_at
            .store(now.saturating_add(PRUNE_INTERVAL_SECS), Ordering::Relaxed);
        on_pool!(self.db.pool(), p => {
            Ok(sqlx::query("DELETE FROM tokenkit_refresh_families WHERE expires_at <= $1")
                .bind(now)
                .execute(p)
                .await
                .map_err(|e| store_error("pruning refresh tokens", &e))?
                .rows_affected())
        })
    }
}

fn refresh(row: &impl Cols) -> Result<RefreshRecord, StoreError> {
    let mut fields = Map::new();
    fields.insert("hash".into(), row.text("hash")?.into());
    fields.insert("family".into(), row.text("family")?.into());
    fields.insert("subject".into(), row.text("subject")?.into());
    fields.insert("client_id".into(), row.text("client_id")?.into());
    fields.insert("scope".into(), row.text("scope")?.into());
    fields.insert("tenant".into(), row.opt_text("tenant")?.into());
    fields.insert("issued_at".into(), row.int("issued_at")?.into());
    fields.insert("expires_at".into(), row.int("expires_at")?.into());
    fields.insert("used".into(), row.flag("used")?.into());
    serde_json::from_value(Json::Object(fields)).map_err(|e| {
        StoreError::new(
            StoreErrorKind::Corrupt,
            format!("a refresh-token row does not read as a record: {e}"),
        )
    })
}

impl RefreshStore for SqlRefreshStore {
    /// The family row and the token row in one transaction.
    async fn insert(&self, record: RefreshRecord) -> Result<(), StoreError> {
        if record.issued_at >= self.db.inner.next_prune_at.load(Ordering::Relaxed) {
            self.prune(record.issued_at).await?;
        }
        let err = |e: sqlx::Error| store_error("storing a refresh token", &e);
        macro_rules! in_tx {
            ($begin:expr) => {{
                let mut tx = $begin.await.map_err(err)?;
                sqlx::query(UPSERT_FAMILY)
                    .bind(record.family.as_str())
                    .bind(record.expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                sqlx::query(
                    "INSERT INTO tokenkit_refresh_tokens (hash, family, subject, client_id, \
                     scope, tenant, issued_at, expires_at, used) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(hash_text(&record.hash))
                .bind(record.family.as_str())
                .bind(record.subject.as_str())
                .bind(record.client_id.as_str())
                .bind(record.scope.to_string())
                .bind(record.tenant.as_deref())
                .bind(record.issued_at)
                .bind(record.expires_at)
                .bind(record.used)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
                tx.commit().await.map_err(err)?;
            }};
        }
        in_write_tx!(self.db.pool(), in_tx);
        Ok(())
    }

    async fn find(&self, hash: &KeyHash) -> Result<Option<RefreshRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM tokenkit_refresh_tokens WHERE hash = $1");
        on_pool!(self.db.pool(), p => {
            let row = sqlx::query(&sql)
                .bind(hash_text(hash))
                .fetch_optional(p)
                .await
                .map_err(|e| store_error("reading a refresh token", &e))?;
            row.as_ref().map(refresh).transpose()
        })
    }

    async fn mark_used(&self, hash: &KeyHash) -> Result<bool, StoreError> {
        let err = |e: sqlx::Error| store_error("redeeming a refresh token", &e);
        let hash = hash_text(hash);
        on_pool!(self.db.pool(), p => {
            let won = sqlx::query(
                "UPDATE tokenkit_refresh_tokens SET used = TRUE WHERE hash = $1 AND used = FALSE",
            )
            .bind(hash.as_str())
            .execute(p)
            .await
            .map_err(err)?
            .rows_affected()
                == 1;
            if won {
                return Ok(true);
            }
            let exists = sqlx::query("SELECT 1 FROM tokenkit_refresh_tokens WHERE hash = $1")
                .bind(hash.as_str())
                .fetch_optional(p)
                .await
                .map_err(err)?
                .is_some();
            if exists {
                Ok(false)
            } else {
                Err(StoreError::new(StoreErrorKind::NotFound, "no such refresh token"))
            }
        })
    }

    async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        on_pool!(self.db.pool(), p => {
            sqlx::query("UPDATE tokenkit_refresh_families SET revoked = TRUE WHERE family = $1")
                .bind(family)
                .execute(p)
                .await
                .map_err(|e| store_error("revoking a refresh family", &e))?;
        });
        Ok(())
    }

    async fn is_family_revoked(&self, family: &str) -> Result<bool, StoreError> {
        on_pool!(self.db.pool(), p => {
            let row = sqlx::query("SELECT revoked FROM tokenkit_refresh_families WHERE family = $1")
                .bind(family)
                .fetch_optional(p)
                .await
                .map_err(|e| store_error("reading a refresh family", &e))?;
            match row {
                Some(row) => row.flag("revoked"),
                None => Ok(false),
            }
        })
    }
}
