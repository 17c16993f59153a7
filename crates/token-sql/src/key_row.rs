//! A [`KeyRecord`] as a row of `tokenkit_api_keys`, and back. Reading goes through
//! the record's serde form (the one `tokenctl` and the admin API print), so a row
//! becomes a record by the same rules every other reader uses.

use serde_json::{Map, Value as Json, json};
use token_core::apikey::{KeyStatus, RefillPeriod};
use token_core::backend::{KeyHash, KeyRecord, StoreError};

use crate::pool::{Cols, Value, count_in, count_out, unreadable};

/// The columns, in the order [`values`] gives them.
pub(crate) const COLUMNS: &str = "id, hash, hint, name, owner, tenant, scopes, created_at, \
    expires_at, status, revoked_at, revoked_reason, successor, grace_end, networks, \
    rate_limit, credits_remaining, refill_amount, refill_period, refill_next_at, \
    credits_from, metadata, last_used_at, version";

/// `$1, ..., $24`: one placeholder per column.
pub(crate) const PLACEHOLDERS: &str = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
    $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24";

/// A hash as stored: 64 lowercase hex digits.
pub(crate) fn hash_text(hash: &KeyHash) -> String {
    match serde_json::to_value(hash) {
        Ok(Json::String(hex)) => hex,
        // KeyHash always serializes as its hex string.
        _ => String::new(),
    }
}

/// The record's column values, in [`COLUMNS`] order.
pub(crate) fn values(r: &KeyRecord) -> Result<Vec<Value>, StoreError> {
    let (status, revoked_at, revoked_reason, successor, grace_end) = match &r.status {
        KeyStatus::Active => ("active", None, None, None, None),
        KeyStatus::Revoked { at, reason } => {
            ("revoked", Some(*at), Some(reason.clone()), None, None)
        }
        KeyStatus::Rotated {
            successor,
            grace_end,
        } => (
            "rotated",
            None,
            None,
            Some(successor.clone()),
            Some(*grace_end),
        ),
        // A state this version does not know cannot be stored faithfully.
        _ => return Err(unreadable("status")),
    };
    let (remaining, refill_amount, refill_period, refill_next_at) = match &r.credits {
        None => (None, None, None, None),
        Some(c) => {
            let remaining = Some(count_in(c.remaining, "credits")?);
            match &c.refill {
                None => (remaining, None, None, None),
                Some(refill) => (
                    remaining,
                    Some(count_in(refill.amount, "a refill amount")?),
                    Some(period_text(refill.period)?.to_owned()),
                    Some(refill.next_at),
                ),
            }
        }
    };
    Ok(vec![
        r.id.as_str().into(),
        hash_text(&r.hash).into(),
        r.hint.as_str().into(),
        r.name.as_str().into(),
        r.owner.clone().into(),
        r.tenant.clone().into(),
        r.scopes.to_string().into(),
        r.created_at.into(),
        r.expires_at.into(),
        status.into(),
        revoked_at.into(),
        revoked_reason.into(),
        successor.into(),
        grace_end.into(),
        json(&r.networks)?.into(),
        r.rate_limit.clone().into(),
        remaining.into(),
        refill_amount.into(),
        refill_period.into(),
        refill_next_at.into(),
        r.credits_from.clone().into(),
        json(&r.metadata)?.into(),
        r.last_used_at.into(),
        count_in(r.version, "a version")?.into(),
    ])
}

fn period_text(period: RefillPeriod) -> Result<&'static str, StoreError> {
    match period {
        RefillPeriod::Daily => Ok("daily"),
        RefillPeriod::Monthly => Ok("monthly"),
        _ => Err(unreadable("refill_period")),
    }
}

/// A field stored as JSON text (networks, metadata).
fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|_| unreadable("networks or metadata"))
}

/// The record a row holds. A row this version cannot read is `Corrupt`, naming
/// the column; never a panic.
pub(crate) fn record(row: &impl Cols) -> Result<KeyRecord, StoreError> {
    let status = match row.text("status")?.as_str() {
        "active" => json!({"state": "active"}),
        "revoked" => json!({
            "state": "revoked",
            "at": row.opt_int("revoked_at")?.ok_or_else(|| unreadable("revoked_at"))?,
            "reason": row.opt_text("revoked_reason")?.unwrap_or_default(),
        }),
        "rotated" => json!({
            "state": "rotated",
            "successor": row.opt_text("successor")?.ok_or_else(|| unreadable("successor"))?,
            "grace_end": row.opt_int("grace_end")?.ok_or_else(|| unreadable("grace_end"))?,
        }),
        _ => return Err(unreadable("status")),
    };
    let credits = match row.opt_int("credits_remaining")? {
        None => Json::Null,
        Some(remaining) => {
            let refill = match row.opt_int("refill_amount")? {
                None => Json::Null,
                Some(amount) => json!({
                    "amount": count_out(amount, "refill_amount")?,
                    "period": row.opt_text("refill_period")?.ok_or_else(|| unreadable("refill_period"))?,
                    "next_at": row.opt_int("refill_next_at")?.ok_or_else(|| unreadable("refill_next_at"))?,
                }),
            };
            json!({"remaining": count_out(remaining, "credits_remaining")?, "refill": refill})
        }
    };
    let parsed = |column: &str| -> Result<Json, StoreError> {
        serde_json::from_str(&row.text(column)?).map_err(|_| unreadable(column))
    };
    let mut fields = Map::new();
    fields.insert("id".into(), row.text("id")?.into());
    fields.insert("hash".into(), row.text("hash")?.into());
    fields.insert("hint".into(), row.text("hint")?.into());
    fields.insert("name".into(), row.text("name")?.into());
    fields.insert("owner".into(), row.opt_text("owner")?.into());
    fields.insert("tenant".into(), row.opt_text("tenant")?.into());
    fields.insert("scopes".into(), row.text("scopes")?.into());
    fields.insert("created_at".into(), row.int("created_at")?.into());
    fields.insert("expires_at".into(), row.opt_int("expires_at")?.into());
    fields.insert("status".into(), status);
    fields.insert("networks".into(), parsed("networks")?);
    fields.insert("rate_limit".into(), row.opt_text("rate_limit")?.into());
    fields.insert("credits".into(), credits);
    fields.insert("credits_from".into(), row.opt_text("credits_from")?.into());
    fields.insert("metadata".into(), parsed("metadata")?);
    fields.insert("last_used_at".into(), row.opt_int("last_used_at")?.into());
    fields.insert(
        "version".into(),
        count_out(row.int("version")?, "version")?.into(),
    );
    serde_json::from_value(Json::Object(fields)).map_err(|e| {
        // serde's message names the field, never a value of a secret (none is stored).
        StoreError::new(
            token_core::backend::StoreErrorKind::Corrupt,
            format!("a key row does not read as a record: {e}"),
        )
    })
}
