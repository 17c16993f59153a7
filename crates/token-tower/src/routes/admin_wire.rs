//! What the key-administration routes read and write: the JSON request bodies and
//! the response bodies, typed, so the OpenAPI document (feature `openapi`) describes
//! exactly what is sent.

use serde::{Deserialize, Serialize};
use token_audit::UsageBucket;
use token_core::apikey::{KeyRecord, KeyStatus};
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

/// The keys the caller manages.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct KeyList<'a> {
    /// Display views: never hashes or secrets.
    pub(super) keys: Vec<KeyView<'a>>,
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
        text.parse()
            .map_err(|e| RouteError::invalid(format!("scopes: {e}")))
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
                .map_err(|e| RouteError::invalid(format!("ttl: {e}")))?,
        };
        if (1..=MAX_TTL_SECS).contains(&secs) {
            Ok(secs)
        } else {
            Err(RouteError::invalid(
                "ttl must be positive seconds or like 30d, at most ten years",
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
    /// CIDRs within the creator's; the creator's when absent.
    #[cfg_attr(feature = "openapi", schema(example = json!(["10.0.0.0/8"])))]
    pub(super) networks: Option<Vec<String>>,
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
    pub(super) expires_at: ExpiryChange,
}

/// `expires_at` missing (unchanged), `null` (never expires) or a time.
#[derive(Default)]
pub(super) enum ExpiryChange {
    #[default]
    Unchanged,
    Set(Option<i64>),
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ExpiryChange, D::Error> {
    Option::<i64>::deserialize(d).map(ExpiryChange::Set)
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
