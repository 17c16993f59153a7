//! Every store trait holds for an `Arc` of a store, so that one store can serve an
//! [`ApiKeys`](crate::apikey::ApiKeys) and the code around it (an admin task, a
//! test) at once.

use std::future::Future;
use std::sync::Arc;

use crate::apikey::admin::{KeyFilter, KeyPage, PageCursor};
use crate::backend::{
    BulkRevoke, ClientRecord, ClientStore, CreditOutcome, KeyHash, KeyRecord, KeyStore,
    RefreshRecord, RefreshStore, ScopeCover, StoreError,
};

impl<S: KeyStore> KeyStore for Arc<S> {
    fn insert(&self, record: KeyRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).insert(record)
    }

    fn find_by_hash(
        &self,
        hash: &KeyHash,
    ) -> impl Future<Output = Result<Option<KeyRecord>, StoreError>> + Send {
        (**self).find_by_hash(hash)
    }

    fn get(&self, id: &str) -> impl Future<Output = Result<Option<KeyRecord>, StoreError>> + Send {
        (**self).get(id)
    }

    fn update(&self, record: KeyRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).update(record)
    }

    fn revoke(
        &self,
        id: &str,
        at: i64,
        reason: &str,
    ) -> impl Future<Output = Result<KeyRecord, StoreError>> + Send {
        (**self).revoke(id, at, reason)
    }

    fn list(
        &self,
        tenant: Option<&str>,
    ) -> impl Future<Output = Result<Vec<KeyRecord>, StoreError>> + Send {
        (**self).list(tenant)
    }

    fn list_page(
        &self,
        filter: &KeyFilter,
        after: Option<&PageCursor>,
        limit: usize,
    ) -> impl Future<Output = Result<KeyPage, StoreError>> + Send {
        (**self).list_page(filter, after, limit)
    }

    fn revoke_matching(
        &self,
        filter: &KeyFilter,
        cover: &ScopeCover,
        at: i64,
        reason: &str,
    ) -> impl Future<Output = BulkRevoke> + Send {
        (**self).revoke_matching(filter, cover, at, reason)
    }

    fn touch(&self, id: &str, at: i64) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).touch(id, at)
    }

    fn consume_credit(
        &self,
        id: &str,
        now: i64,
    ) -> impl Future<Output = Result<CreditOutcome, StoreError>> + Send {
        (**self).consume_credit(id, now)
    }
}

impl<S: ClientStore> ClientStore for Arc<S> {
    fn insert(&self, record: ClientRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).insert(record)
    }

    fn get(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<ClientRecord>, StoreError>> + Send {
        (**self).get(client_id)
    }
}

impl<S: RefreshStore> RefreshStore for Arc<S> {
    fn insert(&self, record: RefreshRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).insert(record)
    }

    fn find(
        &self,
        hash: &KeyHash,
    ) -> impl Future<Output = Result<Option<RefreshRecord>, StoreError>> + Send {
        (**self).find(hash)
    }

    fn mark_used(&self, hash: &KeyHash) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).mark_used(hash)
    }

    fn revoke_family(&self, family: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).revoke_family(family)
    }

    fn is_family_revoked(
        &self,
        family: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).is_family_revoked(family)
    }
}
