//! What the key-administration routes read and write: the JSON request bodies and
//! the response bodies, typed, so the OpenAPI document (feature `openapi`) describes
//! exactly what is sent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use token_audit::UsageBucket;
use token_core::apikey::{Credits, KeyRecord, KeyStatus, RefillPeriod};
use token_core::duration::parse_duration;
use token_scopes::ScopeSet;

use super::admin::MAX_TTL_SECS;
use super::error::RouteError;

/// What the admin API shows of a key: never its hash or its secret.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Key))]
pub(crate) struct KeyView<'a> {
    /// The key's id (`key_…`): not secret.
    pub(super) id: &'a str,
    /// A non-secret hint such as `tk_live_3Fq9…`.
    pub(super) hint: &'a str,
    /// A human name.
    pub(super) name: &'a str,
    /// The owner or application.
    pub(super) owner: Option<&'a str>,
    /// The tenant, if the key is bound to one.
    pub(super) tenant: Option<&'a str>,
    /// The granted scopes.
    pub(super) scopes: Vec<String>,
    /// Active, revoked or rotated.
    #[cfg_attr(feature = "openapi", schema(value_type = super::openapi::KeyStatus))]
    pub(super) status: &'a KeyStatus,
    /// When it was minted (seconds since the epoch).
    pub(super) created_at: i64,
    /// When it expires (seconds since the epoch); `null`: never.
    pub(super) expires_at: Option<i64>,
    /// When it was last used, accurate to the cache TTL.
    pub(super) last_used_at: Option<i64>,
    /// The networks (CIDRs) it may be used from; empty: anywhere.
    pub(super) networks: Vec<String>,
    /// Its rate-limit override, a quota such as `1000/minute`.
    pub(super) rate_limit: Option<&'a str>,
    /// Its own usage credits, if it holds a balance.
    pub(super) credits: Option<CreditsView>,
    /// The key whose balance it draws from (a metered key's rotation successor).
    pub(super) credits_from: Option<&'a str>,
    /// Non-secret metadata.
    pub(super) metadata: &'a BTreeMap<String, String>,
}

/// A key's usage credits.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct CreditsView {
    /// Uses left until the next refill.
    pub(super) remaining: u64,
    /// The refill, if any.
    pub(super) refill: Option<RefillView>,
}

/// How credits refill.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct RefillView {
    /// The count after each refill (replaced, not added).
    pub(super) amount: u64,
    /// `daily` (00:00 UTC) or `monthly` (the first, 00:00 UTC).
    pub(super) interval: Interval,
    /// The next refill (seconds since the epoch).
    pub(super) next_at: i64,
}

/// A refill interval.
#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) enum Interval {
    /// At 00:00 UTC every day.
    Daily,
    /// At 00:00 UTC on the first of every month.
    Monthly,
}

impl Interval {
    pub(super) fn period(self) -> RefillPeriod {
        match self {
            Interval::Daily => RefillPeriod::Daily,
            Interval::Monthly => RefillPeriod::Monthly,
        }
    }
}

impl CreditsView {
    fn of(c: &Credits) -> Self {
        CreditsView {
            remaining: c.remaining,
            refill: c.refill.as_ref().map(|r| RefillView {
                amount: r.amount,
                interval: match r.period {
                    RefillPeriod::Monthly => Interval::Monthly,
                    // Daily, and any period a later token-core adds, read as daily
                    // here until this view names it.
                    _ => Interval::Daily,
                },
                next_at: r.next_at,
            }),
        }
    }
}

impl<'a> KeyView<'a> {
    pub(super) fn of(r: &'a KeyRecord) -> Self {
        KeyView {
            id: &r.id,
            hint: &r.hint,
            name: &r.name,
            owner: r.owner.as_deref(),
            tenant: r.tenant.as_deref(),
            scopes: r.scopes.iter().map(ToString::to_string).collect(),
            status: &r.status,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            networks: r.networks.iter().map(ToString::to_string).collect(),
            rate_limit: r.rate_limit.as_deref(),
            credits: r.credits.as_ref().map(CreditsView::of),
            credits_from: r.credits_from.as_deref(),
            metadata: &r.metadata,
        }
    }
}

/// A new key, with its secret: shown once, sent with `Cache-Control: no-store`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct CreatedKey<'a> {
    #[serde(flatten)]
    pub(super) key: KeyView<'a>,
    /// The API key itself. It is not stored (only its hash is): keep it now.
    pub(super) secret: &'a str,
}

/// A rotation's successor, with its secret (shown once, `no-store`).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct RotatedKey<'a> {
    #[serde(flatten)]
    pub(super) key: KeyView<'a>,
    /// The successor's API key. It is not stored: keep it now.
    pub(super) secret: &'a str,
    /// The id of the key it replaces.
    pub(super) rotated: &'a str,
    /// When the replaced key stops working (seconds since the epoch).
    pub(super) grace_end: i64,
}

/// A revoked key, and the keys it created, revoked with it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct RevokedKey<'a> {
    #[serde(flatten)]
    pub(super) key: KeyView<'a>,
    /// The ids of the keys it created (at any depth), revoked with it.
    pub(super) revoked_with: Vec<&'a str>,
}

/// One page of the keys the caller manages, in creation order.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct KeyList<'a> {
    /// Display views: never hashes or secrets.
    pub(super) keys: Vec<KeyView<'a>>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub(super) next_cursor: Option<String>,
}

/// A retried creation (same `Idempotency-Key`, same body): the key the first
/// request minted. Its secret was shown only in the first answer.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct ReplayedKey<'a> {
    #[serde(flatten)]
    pub(super) key: KeyView<'a>,
    /// Always `true`: this answer replays an earlier creation.
    #[cfg_attr(feature = "openapi", schema(value_type = bool, schema_with = super::openapi::always_true))]
    pub(super) replayed: bool,
    /// Why there is no secret.
    pub(super) detail: &'a str,
}

/// Which keys to revoke: exactly one of `owner` and `tenant`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = BulkRevocation))]
pub(crate) struct BulkBody {
    /// Every key of this owner (in your tenant, unless you hold the cross-tenant
    /// scope).
    pub(super) owner: Option<String>,
    /// Every key of this tenant: your own, or any with the cross-tenant scope.
    pub(super) tenant: Option<String>,
}

/// What a bulk revocation did.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct BulkRevoked<'a> {
    /// `owner` or `tenant`.
    pub(super) selector: &'a str,
    /// The owner or tenant named.
    pub(super) value: &'a str,
    /// How many keys were revoked (those created by them included).
    pub(super) revoked: usize,
}

/// A key's traffic from the auditor's roll-ups.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct KeyUsage<'a> {
    /// The key's id.
    pub(super) id: &'a str,
    /// Minute buckets (only minutes with traffic), oldest first.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Vec<super::openapi::UsageBucket>)
    )]
    pub(super) minutes: &'a [UsageBucket],
    /// Hour buckets (only hours with traffic), oldest first.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Vec<super::openapi::UsageBucket>)
    )]
    pub(super) hours: &'a [UsageBucket],
}

/// Scopes: a list, or one space-separated string. Its schema states the scope
/// grammar (`super::openapi::scopes`).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Scopes {
    /// `["read:reports", "write:reports"]`
    List(Vec<String>),
    /// `"read:reports write:reports"`
    Text(String),
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Scopes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        super::openapi::scopes()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Scopes {}

impl Scopes {
    pub(super) fn parse(&self) -> Result<ScopeSet, RouteError> {
        let text = match self {
            Scopes::List(list) => list.join(" "),
            Scopes::Text(t) => t.clone(),
        };
        text.parse().map_err(|e: token_scopes::ScopeSetError| {
            RouteError::invalid_field("scopes", e.to_string())
        })
    }
}

/// A lifetime: seconds, or text such as `30s`, `15m`, `12h` or `90d`; positive and
/// at most ten years.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Ttl {
    /// Seconds.
    Secs(i64),
    /// `30s`, `15m`, `12h`, `90d`.
    Text(String),
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Ttl {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        super::openapi::ttl(MAX_TTL_SECS)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Ttl {}

impl Ttl {
    /// Seconds, or a lifetime such as `30s`, `15m`, `12h` or `90d`; positive and at
    /// most [`MAX_TTL_SECS`].
    pub(super) fn secs(&self) -> Result<i64, RouteError> {
        let secs = match self {
            Ttl::Secs(s) => *s,
            Ttl::Text(t) => parse_duration(t.trim(), MAX_TTL_SECS)
                .map_err(|e| RouteError::invalid_field("ttl", e.to_string()))?,
        };
        if (1..=MAX_TTL_SECS).contains(&secs) {
            Ok(secs)
        } else {
            Err(RouteError::invalid_field(
                "ttl",
                "must be positive seconds or like 30d, at most ten years",
            ))
        }
    }
}

/// A key to mint. It never exceeds its creator: scopes, lifetime, networks, limits.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = NewKey))]
pub(crate) struct CreateBody {
    /// A human name: trimmed, 1 to 128 bytes.
    #[cfg_attr(feature = "openapi", schema(example = "dashboard"))]
    pub(super) name: String,
    /// The scopes: within the creator's.
    pub(super) scopes: Scopes,
    /// The tenant: the creator's unless it holds the cross-tenant scope.
    pub(super) tenant: Option<String>,
    /// The lifetime; without one the key expires with its creator.
    pub(super) ttl: Option<Ttl>,
    /// An expiry instead of a `ttl` (seconds since the epoch: in the future, at most
    /// ten years away); not both.
    pub(super) expires_at: Option<i64>,
    /// CIDRs within the creator's (at most 64); the creator's when absent.
    #[cfg_attr(feature = "openapi", schema(example = json!(["10.0.0.0/8"])))]
    pub(super) networks: Option<Vec<String>>,
    /// A rate-limit override: a quota such as `100/minute` or `10/second burst 20`.
    /// Yours, exactly, if you have one; otherwise any quota (the key's plan).
    #[cfg_attr(feature = "openapi", schema(example = "100/minute"))]
    pub(super) rate_limit: Option<String>,
    /// Usage credits: each request takes one; `usage_exceeded` (429) when none is left.
    pub(super) credits: Option<CreditsBody>,
    /// Non-secret string metadata: at most 64 entries, keys of 1 to 128 bytes, 4096
    /// bytes of keys and values in all.
    #[cfg_attr(feature = "openapi", schema(example = json!({"team": "growth"})))]
    pub(super) metadata: Option<BTreeMap<String, String>>,
}

/// Usage credits asked for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = NewCredits))]
pub(crate) struct CreditsBody {
    /// Uses left now.
    pub(super) remaining: u64,
    /// A refill that replaces the count at every interval (UTC); none: never.
    pub(super) refill: Option<RefillBody>,
}

/// A refill asked for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = NewRefill))]
pub(crate) struct RefillBody {
    /// The count after each refill: at least 1.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub(super) amount: u64,
    /// `daily` or `monthly`.
    pub(super) interval: Interval,
}

/// A change to a key: it only narrows and shortens.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = KeyChange))]
pub(crate) struct UpdateBody {
    /// A new name.
    pub(super) name: Option<String>,
    /// Fewer scopes (never one the key lacks).
    pub(super) scopes: Option<Scopes>,
    /// An earlier expiry (seconds since the epoch, in the future, at most ten years
    /// away); `null` only on a key that never expires. Absent: unchanged.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub(super) expires_at: Change<i64>,
    /// An earlier expiry, this long from now, instead of `expires_at` (not both).
    pub(super) ttl: Option<Ttl>,
    /// Fewer networks: each within one of the key's (and yours, if you have any); a
    /// key that has networks cannot be opened to anywhere.
    pub(super) networks: Option<Vec<String>>,
    /// A new rate-limit override (yours, exactly, if you have one); `null` removes it.
    #[serde(default, deserialize_with = "present_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub(super) rate_limit: Change<String>,
    /// New usage credits (replacing the balance; a key that was not metered becomes
    /// metered). Not on a rotation successor, which draws from its line's first key.
    pub(super) credits: Option<CreditsBody>,
    /// New metadata, replacing all of it (bounded as at creation).
    pub(super) metadata: Option<BTreeMap<String, String>>,
}

/// A nullable field of a change: missing (unchanged), `null` (removed) or a value.
#[derive(Default)]
pub(super) enum Change<T> {
    #[default]
    Unchanged,
    Set(Option<T>),
}

fn present_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Change<String>, D::Error> {
    Option::<String>::deserialize(d).map(Change::Set)
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Change<i64>, D::Error> {
    Option::<i64>::deserialize(d).map(Change::Set)
}

/// How long the replaced key keeps working.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Rotation))]
pub(crate) struct RotateBody {
    /// Seconds (default: the router's, one hour unless set), clamped to 0 .. ten years.
    pub(super) grace: Option<i64>,
}
