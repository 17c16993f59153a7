//! Paged, filtered listings of key records: a [`KeyFilter`], an opaque
//! [`PageCursor`] and a [`KeyPage`].
//!
//! Records come in one stable order, `(created_at, id)`, which never changes for a
//! record (both are fixed at minting). A page starts strictly after the cursor's
//! position, so walking every page never repeats a record, and never skips one that
//! existed and matched the filter during the whole walk, whatever is minted or
//! revoked meanwhile. That is keyset pagination: a SQL store answers a page with
//! `WHERE (created_at, id) > (?, ?) AND <filter> ORDER BY created_at, id LIMIT n + 1`
//! on an index of `(created_at, id)`.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{ApiKeyError, KeyRecord, KeyStatus};

/// The default page size of the admin API and the CLI.
pub const DEFAULT_PAGE_LIMIT: usize = 50;

/// The largest page.
pub const MAX_PAGE_LIMIT: usize = 500;

/// The longest key id a cursor may carry, in bytes.
const MAX_CURSOR_ID_LEN: usize = 128;

/// A stored status to filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusFilter {
    /// [`KeyStatus::Active`] (expired keys included: expiry is a time, not a state).
    Active,
    /// [`KeyStatus::Revoked`].
    Revoked,
    /// [`KeyStatus::Rotated`] (in its grace period or past it).
    Rotated,
}

impl StatusFilter {
    /// The name in the admin API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Active => "active",
            StatusFilter::Revoked => "revoked",
            StatusFilter::Rotated => "rotated",
        }
    }

    /// Whether `status` is of this kind.
    pub fn matches(self, status: &KeyStatus) -> bool {
        matches!(
            (self, status),
            (StatusFilter::Active, KeyStatus::Active)
                | (StatusFilter::Revoked, KeyStatus::Revoked { .. })
                | (StatusFilter::Rotated, KeyStatus::Rotated { .. })
        )
    }
}

impl FromStr for StatusFilter {
    type Err = ApiKeyError;

    /// `active`, `revoked` or `rotated`.
    fn from_str(s: &str) -> Result<Self, ApiKeyError> {
        match s {
            "active" => Ok(StatusFilter::Active),
            "revoked" => Ok(StatusFilter::Revoked),
            "rotated" => Ok(StatusFilter::Rotated),
            _ => Err(ApiKeyError::invalid_input(
                "status",
                "must be active, revoked or rotated",
            )),
        }
    }
}

/// A tenant condition: records of this tenant, or (`None`) of none.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TenantIs(Option<String>);

/// Which records a listing (or a bulk revocation) covers: all of the conditions set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct KeyFilter {
    owner: Option<String>,
    status: Option<StatusFilter>,
    name_prefix: Option<String>,
    tenant: Option<TenantIs>,
}

impl KeyFilter {
    /// Every record.
    pub fn new() -> Self {
        KeyFilter::default()
    }

    /// Records whose `owner` is `owner`.
    pub fn owner(mut self, owner: &str) -> Self {
        self.owner = Some(owner.to_owned());
        self
    }

    /// Records of this status.
    pub fn status(mut self, status: StatusFilter) -> Self {
        self.status = Some(status);
        self
    }

    /// Records whose name starts with `prefix` (bytes, case-sensitive).
    pub fn name_prefix(mut self, prefix: &str) -> Self {
        self.name_prefix = Some(prefix.to_owned());
        self
    }

    /// Records of this tenant, or (`None`) records bound to no tenant.
    pub fn tenant(mut self, tenant: Option<&str>) -> Self {
        self.tenant = Some(TenantIs(tenant.map(str::to_owned)));
        self
    }

    /// The owner asked for.
    pub fn owner_is(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// The status asked for.
    pub fn status_is(&self) -> Option<StatusFilter> {
        self.status
    }

    /// The name prefix asked for.
    pub fn name_prefix_is(&self) -> Option<&str> {
        self.name_prefix.as_deref()
    }

    /// The tenant asked for: `None` for any, `Some(None)` for records of no tenant.
    pub fn tenant_is(&self) -> Option<Option<&str>> {
        self.tenant.as_ref().map(|t| t.0.as_deref())
    }

    /// Whether `record` meets every condition: the one definition memory stores use
    /// and SQL stores translate into a `WHERE` clause.
    pub fn matches(&self, record: &KeyRecord) -> bool {
        self.owner
            .as_deref()
            .is_none_or(|o| record.owner.as_deref() == Some(o))
            && self.status.is_none_or(|s| s.matches(&record.status))
            && self
                .name_prefix
                .as_deref()
                .is_none_or(|p| record.name.starts_with(p))
            && self.tenant.as_ref().is_none_or(|t| record.tenant == t.0)
    }
}

/// A position in the `(created_at, id)` order: a page starts strictly after it.
/// Opaque to callers: [`PageCursor::encode`] and [`PageCursor::from_str`].
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PageCursor {
    created_at: i64,
    id: String,
}

impl PageCursor {
    /// The position of `record`.
    pub fn after(record: &KeyRecord) -> Self {
        PageCursor {
            created_at: record.created_at,
            id: record.id.clone(),
        }
    }

    /// The creation time of the last record seen.
    pub fn created_at(&self) -> i64 {
        self.created_at
    }

    /// The id of the last record seen.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The opaque text form (base64url).
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}.{}", self.created_at, self.id))
    }
}

impl FromStr for PageCursor {
    type Err = ApiKeyError;

    /// A cursor from [`PageCursor::encode`]; anything else is refused (field
    /// `cursor`), never a panic.
    fn from_str(text: &str) -> Result<Self, ApiKeyError> {
        let bad =
            || ApiKeyError::invalid_input("cursor", "must be a next_cursor this API returned");
        if text.len() > 4 * MAX_CURSOR_ID_LEN {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (at, id) = text.split_once('.').ok_or_else(bad)?;
        let created_at = at.parse().map_err(|_| bad())?;
        if id.is_empty() || id.len() > MAX_CURSOR_ID_LEN {
            return Err(bad());
        }
        Ok(PageCursor {
            created_at,
            id: id.to_owned(),
        })
    }
}

impl fmt::Debug for PageCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PageCursor").field(&self.encode()).finish()
    }
}

/// One page of records and, when more may follow, the cursor of the next page.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct KeyPage {
    /// At most the limit asked for, in `(created_at, id)` order.
    pub records: Vec<KeyRecord>,
    /// Where the next page starts; `None` when this is the last.
    pub next: Option<PageCursor>,
}

impl KeyPage {
    /// A page of `records` found with a limit of `limit`, from up to `limit + 1`
    /// records: when there is one more than `limit`, it is dropped and the next page
    /// starts after the last one kept. (A store asks for one more than it returns,
    /// so it knows whether this is the last page.)
    pub fn from_overfetch(mut records: Vec<KeyRecord>, limit: usize) -> Self {
        let next = if records.len() > limit {
            records.truncate(limit);
            records.last().map(PageCursor::after)
        } else {
            None
        };
        KeyPage { records, next }
    }
}

/// A page size: 1 to [`MAX_PAGE_LIMIT`] (field `limit`).
pub fn checked_limit(limit: usize) -> Result<usize, ApiKeyError> {
    if (1..=MAX_PAGE_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiKeyError::invalid_input(
            "limit",
            "must be an integer from 1 to 500",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = PageCursor {
            created_at: -5,
            id: "key_a.b".to_owned(),
        };
        assert_eq!(c.encode().parse::<PageCursor>().unwrap(), c);
        for bad in ["", "!!", "bm9kb3Q", "LjE", "eC5rZXk", &"A".repeat(10_000)] {
            assert!(bad.parse::<PageCursor>().is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_and_statuses() {
        assert!(checked_limit(0).is_err());
        assert!(checked_limit(501).is_err());
        assert_eq!(checked_limit(500).unwrap(), 500);
        assert_eq!(
            "revoked".parse::<StatusFilter>().unwrap(),
            StatusFilter::Revoked
        );
        assert!("Active".parse::<StatusFilter>().is_err());
    }
}
