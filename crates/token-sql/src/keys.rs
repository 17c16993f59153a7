//! [`SqlKeyStore`]: API-key records in `tokenkit_api_keys`.

use std::fmt::Write as _;

use sqlx::Row as _;
use token_core::apikey::RefillPeriod;
use token_core::apikey::admin::{KeyFilter, KeyPage, PageCursor};
use token_core::backend::{
    BulkRevoke, CreditOutcome, KeyHash, KeyRecord, KeyStore, ScopeCover, StoreError, StoreErrorKind,
};

use crate::db::Database;
use crate::key_row::{self, COLUMNS, PLACEHOLDERS};
use crate::pool::{Pool, Value, bind, count_out, in_write_tx, on_pool, store_error};

/// A [`KeyStore`] on SQLite or PostgreSQL, from [`Database::keys`].
///
/// Every guarantee of the trait holds across processes sharing the database:
/// updates are compare-and-swap on `version` (one `UPDATE ... WHERE version = $v`),
/// a credit is taken by one conditional `UPDATE` that cannot take the balance below
/// zero however many processes spend at once, revocation is one unconditional
/// write, and a bulk revocation checks and revokes in one transaction. Uses are
/// noted in memory and written as `last_used_at` once per interval
/// ([`Options::touch_interval`](crate::Options::touch_interval)), never once per
/// request.
#[derive(Debug, Clone)]
pub struct SqlKeyStore {
    db: Database,
}

const CAS_UPDATE: &str = "UPDATE tokenkit_api_keys SET hint = $3, name = $4, owner = $5, \
    tenant = $6, scopes = $7, created_at = $8, expires_at = $9, status = $10, \
    revoked_at = $11, revoked_reason = $12, successor = $13, grace_end = $14, \
    networks = $15, rate_limit = $16, credits_remaining = $17, refill_amount = $18, \
    refill_period = $19, refill_next_at = $20, credits_from = $21, metadata = $22, \
    last_used_at = CASE WHEN $23 IS NULL THEN last_used_at \
                        WHEN last_used_at IS NULL OR last_used_at < $23 THEN $23 \
                        ELSE last_used_at END, \
    version = version + 1 \
    WHERE id = $1 AND hash = $2 AND version = $24";

/// A key already revoked keeps its first revocation; a rotated one loses its
/// successor link (it is revoked now, not rotated). Every right-hand side reads
/// the row as it was before this statement.
const REVOKE: &str = "UPDATE tokenkit_api_keys SET \
    revoked_at = CASE WHEN status = 'revoked' THEN revoked_at ELSE $2 END, \
    revoked_reason = CASE WHEN status = 'revoked' THEN revoked_reason ELSE $3 END, \
    successor = CASE WHEN status = 'revoked' THEN successor ELSE NULL END, \
    grace_end = CASE WHEN status = 'revoked' THEN grace_end ELSE NULL END, \
    status = 'revoked', version = version + 1 \
    WHERE id = $1";

/// Applies a due refill and takes one credit, in one statement: `$2` is now, `$3`
/// and `$4` the next daily and monthly boundaries. The `WHERE` admits the row only
/// while a credit is left, so the balance never goes below zero.
const CONSUME: &str = "UPDATE tokenkit_api_keys SET \
    credits_remaining = (CASE WHEN refill_next_at IS NOT NULL AND $2 >= refill_next_at \
                              THEN refill_amount ELSE credits_remaining END) - 1, \
    refill_next_at = CASE WHEN refill_next_at IS NOT NULL AND $2 >= refill_next_at \
                          THEN (CASE refill_period WHEN 'daily' THEN $3 ELSE $4 END) \
                          ELSE refill_next_at END, \
    version = version + 1 \
    WHERE id = $1 AND credits_remaining IS NOT NULL \
      AND (CASE WHEN refill_next_at IS NOT NULL AND $2 >= refill_next_at \
                THEN refill_amount ELSE credits_remaining END) >= 1 \
    RETURNING credits_remaining";

/// A `WHERE` clause for a [`KeyFilter`] (and a page start), with its arguments.
struct Where {
    sql: String,
    values: Vec<Value>,
}

impl Where {
    fn of(filter: &KeyFilter) -> Where {
        let mut w = Where {
            sql: String::from("TRUE"),
            values: Vec::new(),
        };
        if let Some(owner) = filter.owner_is() {
            w.push("owner = ", owner.into());
        }
        if let Some(status) = filter.status_is() {
            w.push("status = ", status.as_str().into());
        }
        if let Some(prefix) = filter.name_prefix_is() {
            let n = w.arg(prefix.into());
            // Character-wise on both engines; for a well-formed prefix the same as
            // the byte-wise `starts_with` of the memory store.
            let _ = write!(w.sql, " AND substr(name, 1, length(${n})) = ${n}");
        }
        match filter.tenant_is() {
            None => {}
            Some(None) => w.sql.push_str(" AND tenant IS NULL"),
            Some(Some(tenant)) => w.push("tenant = ", tenant.into()),
        }
        w
    }

    fn arg(&mut self, value: Value) -> usize {
        self.values.push(value);
        self.values.len()
    }

    fn push(&mut self, condition: &str, value: Value) {
        let n = self.arg(value);
        let _ = write!(self.sql, " AND {condition}${n}");
    }
}

impl SqlKeyStore {
    pub(crate) fn new(db: Database) -> Self {
        SqlKeyStore { db }
    }

    /// Writes the `last_used_at` times noted since the last write now (the
    /// background writer does it once per interval). Returns how many keys were
    /// written.
    pub async fn flush_touches(&self) -> Result<usize, StoreError> {
        self.db.inner.touches.flush(self.db.pool()).await
    }

    fn pool(&self) -> &Pool {
        self.db.pool()
    }

    async fn fetch_one_key(
        &self,
        sql: &str,
        values: &[Value],
        op: &str,
    ) -> Result<Option<KeyRecord>, StoreError> {
        on_pool!(self.pool(), p => {
            let row = bind(sqlx::query(sql), values)
                .fetch_optional(p)
                .await
                .map_err(|e| store_error(op, &e))?;
            row.as_ref().map(key_row::record).transpose()
        })
    }

    async fn fetch_keys(
        &self,
        sql: &str,
        values: &[Value],
        op: &str,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        on_pool!(self.pool(), p => {
            let rows = bind(sqlx::query(sql), values)
                .fetch_all(p)
                .await
                .map_err(|e| store_error(op, &e))?;
            rows.iter().map(key_row::record).collect()
        })
    }
}

impl KeyStore for SqlKeyStore {
    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        let values = key_row::values(&record)?;
        let sql = format!("INSERT INTO tokenkit_api_keys ({COLUMNS}) VALUES ({PLACEHOLDERS})");
        on_pool!(self.pool(), p => {
            bind(sqlx::query(&sql), &values)
                .execute(p)
                .await
                .map_err(|e| store_error("inserting a key", &e))?;
        });
        Ok(())
    }

    async fn find_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM tokenkit_api_keys WHERE hash = $1");
        self.fetch_one_key(&sql, &[key_row::hash_text(hash).into()], "finding a key")
            .await
    }

    async fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM tokenkit_api_keys WHERE id = $1");
        self.fetch_one_key(&sql, &[id.into()], "reading a key")
            .await
    }

    async fn update(&self, record: KeyRecord) -> Result<(), StoreError> {
        let values = key_row::values(&record)?;
        let changed = on_pool!(self.pool(), p => {
            bind(sqlx::query(CAS_UPDATE), &values)
                .execute(p)
                .await
                .map_err(|e| store_error("updating a key", &e))?
                .rows_affected()
        });
        if changed == 1 {
            return Ok(());
        }
        let exists = on_pool!(self.pool(), p => {
            sqlx::query("SELECT 1 FROM tokenkit_api_keys WHERE id = $1")
                .bind(record.id.as_str())
                .fetch_optional(p)
                .await
                .map_err(|e| store_error("updating a key", &e))?
                .is_some()
        });
        Err(if exists {
            StoreError::new(
                StoreErrorKind::Conflict,
                "the record changed since it was read (or its hash differs)",
            )
        } else {
            StoreError::new(StoreErrorKind::NotFound, "no key with this id")
        })
    }

    async fn revoke(&self, id: &str, at: i64, reason: &str) -> Result<KeyRecord, StoreError> {
        let sql = format!("{REVOKE} RETURNING {COLUMNS}");
        self.fetch_one_key(
            &sql,
            &[id.into(), at.into(), reason.into()],
            "revoking a key",
        )
        .await?
        .ok_or_else(|| StoreError::new(StoreErrorKind::NotFound, "no key with this id"))
    }

    async fn list(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM tokenkit_api_keys WHERE ($1 IS NULL OR tenant = $1) \
             ORDER BY created_at, id"
        );
        let tenant = Value::Text(tenant.map(str::to_owned));
        self.fetch_keys(&sql, &[tenant], "listing keys").await
    }

    async fn list_page(
        &self,
        filter: &KeyFilter,
        after: Option<&PageCursor>,
        limit: usize,
    ) -> Result<KeyPage, StoreError> {
        let limit = limit.max(1);
        let mut w = Where::of(filter);
        if let Some(cursor) = after {
            let a = w.arg(cursor.created_at().into());
            let b = w.arg(cursor.id().into());
            let _ = write!(w.sql, " AND (created_at, id) > (${a}, ${b})");
        }
        let overfetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        let n = w.arg(overfetch.into());
        let sql = format!(
            "SELECT {COLUMNS} FROM tokenkit_api_keys WHERE {} ORDER BY created_at, id LIMIT ${n}",
            w.sql
        );
        let records = self.fetch_keys(&sql, &w.values, "listing keys").await?;
        Ok(KeyPage::from_overfetch(records, limit))
    }

    /// One transaction: revokes every live matching key and reads them back, then
    /// commits only if every one of them was within `cover` (and rolls back,
    /// revoking nothing, otherwise). The `UPDATE` locks the rows it revokes, so a
    /// key changed meanwhile is judged as the write finds it.
    async fn revoke_matching(
        &self,
        filter: &KeyFilter,
        cover: &ScopeCover,
        at: i64,
        reason: &str,
    ) -> BulkRevoke {
        let mut w = Where::of(filter);
        let a = w.arg(at.into());
        let r = w.arg(reason.into());
        let sql = format!(
            "UPDATE tokenkit_api_keys SET status = 'revoked', revoked_at = ${a}, \
             revoked_reason = ${r}, successor = NULL, grace_end = NULL, version = version + 1 \
             WHERE {} AND status <> 'revoked' RETURNING {COLUMNS}",
            w.sql
        );
        let err = |e: sqlx::Error| store_error("revoking keys", &e);
        macro_rules! in_tx {
            ($begin:expr) => {{
                let mut tx = match $begin.await {
                    Ok(tx) => tx,
                    Err(e) => return BulkRevoke::failed(Vec::new(), err(e)),
                };
                let rows = match bind(sqlx::query(&sql), &w.values).fetch_all(&mut *tx).await {
                    Ok(rows) => rows,
                    Err(e) => return BulkRevoke::failed(Vec::new(), err(e)),
                };
                let records: Result<Vec<KeyRecord>, StoreError> =
                    rows.iter().map(key_row::record).collect();
                let records = match records {
                    Ok(records) => records,
                    Err(e) => return BulkRevoke::failed(Vec::new(), e),
                };
                if records.iter().any(|record| !cover.covers(&record.scopes)) {
                    // Dropping the transaction would roll back too; say it.
                    if let Err(e) = tx.rollback().await {
                        return BulkRevoke::failed(Vec::new(), err(e));
                    }
                    return BulkRevoke::uncovered();
                }
                if let Err(e) = tx.commit().await {
                    return BulkRevoke::failed(Vec::new(), err(e));
                }
                BulkRevoke::done(records)
            }};
        }
        in_write_tx!(self.pool(), in_tx)
    }

    async fn touch(&self, id: &str, at: i64) -> Result<(), StoreError> {
        self.db.inner.touches.note(&self.db, id, at);
        Ok(())
    }

    async fn consume_credit(&self, id: &str, now: i64) -> Result<CreditOutcome, StoreError> {
        let err = |e: sqlx::Error| store_error("taking a credit", &e);
        let values = [
            id.into(),
            now.into(),
            RefillPeriod::Daily.next_boundary(now).into(),
            RefillPeriod::Monthly.next_boundary(now).into(),
        ];
        let taken: Option<i64> = on_pool!(self.pool(), p => {
            match bind(sqlx::query(CONSUME), &values).fetch_optional(p).await.map_err(err)? {
                Some(row) => Some(row.try_get(0).map_err(err)?),
                None => None,
            }
        });
        if let Some(remaining) = taken {
            return Ok(CreditOutcome::Consumed {
                remaining: count_out(remaining, "credits_remaining")?,
            });
        }
        let balance: Option<Option<i64>> = on_pool!(self.pool(), p => {
            match sqlx::query("SELECT credits_remaining FROM tokenkit_api_keys WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await
                .map_err(err)?
            {
                Some(row) => Some(row.try_get(0).map_err(err)?),
                None => None,
            }
        });
        match balance {
            None => Err(StoreError::new(
                StoreErrorKind::NotFound,
                "no key with this id",
            )),
            Some(None) => Ok(CreditOutcome::Unlimited),
            Some(Some(_)) => Ok(CreditOutcome::Exhausted),
        }
    }
}
