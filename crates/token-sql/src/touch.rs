//! `last_used_at`, written off the hot path: [`KeyStore::touch`] only notes the
//! time in memory; a background task writes what was noted once per interval, one
//! row per key whatever the number of uses (the batching Unkey does).
//!
//! [`KeyStore::touch`]: token_core::backend::KeyStore::touch

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use token_core::backend::StoreError;

use crate::db::{Database, Inner};
use crate::pool::{Pool, on_pool, store_error};

/// Times noted since the last write, the newest per key.
#[derive(Debug)]
pub(crate) struct Touches {
    interval: Duration,
    pending: Mutex<HashMap<String, i64>>,
    /// Held from taking a batch to writing it, so that a flush on close waits for
    /// the writer's batch in flight rather than closing the pool under it.
    flushing: tokio::sync::Mutex<()>,
    writer_started: AtomicBool,
}

impl Touches {
    pub(crate) fn new(interval: Duration) -> Self {
        Touches {
            interval,
            pending: Mutex::new(HashMap::new()),
            flushing: tokio::sync::Mutex::new(()),
            writer_started: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Notes a use of `id` at `at`, and starts the writer on the first one.
    pub(crate) fn note(&self, db: &Database, id: &str, at: i64) {
        {
            let mut pending = self.lock();
            let time = pending.entry(id.to_owned()).or_insert(at);
            *time = (*time).max(at);
        }
        if !self.writer_started.swap(true, Ordering::AcqRel) {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(writer(Arc::downgrade(&db.inner), self.interval));
                }
                // No runtime to run a writer on: the times wait for a flush.
                Err(_) => self.writer_started.store(false, Ordering::Release),
            }
        }
    }

    /// Writes every noted time, one short statement per key (no transaction: the
    /// write only ever moves a time forward, so it needs no isolation, and holds no
    /// row lock past its own statement). On failure the times not written are kept
    /// for the next attempt.
    pub(crate) async fn flush(&self, pool: &Pool) -> Result<usize, StoreError> {
        let _one_at_a_time = self.flushing.lock().await;
        let batch = std::mem::take(&mut *self.lock());
        if batch.is_empty() {
            return Ok(0);
        }
        let result = write(pool, &batch).await;
        if result.is_err() {
            let mut pending = self.lock();
            for (id, at) in batch {
                let time = pending.entry(id).or_insert(at);
                *time = (*time).max(at);
            }
        }
        result
    }
}

/// Never moves `last_used_at` back; touching does not bump `version` (no
/// compare-and-swap writer is turned away by a use), and
/// [`KeyStore::update`](token_core::backend::KeyStore::update) keeps the newer
/// time.
const TOUCH: &str = "UPDATE tokenkit_api_keys SET last_used_at = $2 \
                     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)";

async fn write(pool: &Pool, batch: &HashMap<String, i64>) -> Result<usize, StoreError> {
    // In id order, so that replicas flushing the same keys meet them in one order.
    let mut rows: Vec<(&String, &i64)> = batch.iter().collect();
    rows.sort_unstable();
    on_pool!(pool, p => {
        for (id, at) in rows {
            sqlx::query(TOUCH)
                .bind(id.as_str())
                .bind(*at)
                .execute(p)
                .await
                .map_err(|e| store_error("writing last_used_at", &e))?;
        }
    });
    Ok(batch.len())
}

/// Writes the noted times every `interval` until the database is dropped.
async fn writer(db: Weak<Inner>, interval: Duration) {
    /// However the writer ends (its runtime shut down, the database dropped), the
    /// next use starts a new one.
    struct Restart(Weak<Inner>);
    impl Drop for Restart {
        fn drop(&mut self) {
            if let Some(inner) = self.0.upgrade() {
                inner.touches.writer_started.store(false, Ordering::Release);
            }
        }
    }
    let _restart = Restart(db.clone());
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(inner) = db.upgrade() else {
            return;
        };
        if let Err(e) = inner.touches.flush(&inner.pool).await {
            tracing::warn!(error = %e, "last_used_at not written; retrying next interval");
        }
    }
}
