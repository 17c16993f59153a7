//! What changed between two versions of a key record, field by field, for the audit
//! trail: never the hash (nor, since records hold none, the secret).

use serde::Serialize;

use super::KeyRecord;

/// One attribute of a key that changed, its old and new values as JSON text (`null`
/// for none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FieldChange {
    /// The attribute (`name`, `scopes`, `expires_at`, `status`, `networks`,
    /// `rate_limit`, `credits`, `metadata`, `owner`, `tenant`).
    pub field: &'static str,
    /// Its value before, as JSON; `null` for a new key.
    pub old: String,
    /// Its value after, as JSON.
    pub new: String,
}

/// How one attribute of a record is shown.
type Render = fn(&KeyRecord) -> String;

fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

impl KeyRecord {
    /// The attributes that differ from `before` (every attribute set, from `null`,
    /// when there is no `before`: a new key). The id, hash, hint, version and
    /// last-used time are not attributes an administrator changes and are never
    /// listed.
    pub fn changes_from(&self, before: Option<&KeyRecord>) -> Vec<FieldChange> {
        let scopes =
            |r: &KeyRecord| json(&r.scopes.iter().map(ToString::to_string).collect::<Vec<_>>());
        let networks = |r: &KeyRecord| {
            json(
                &r.networks
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            )
        };
        let fields: [(&'static str, Render); 10] = [
            ("name", |r| json(&r.name)),
            ("owner", |r| json(&r.owner)),
            ("tenant", |r| json(&r.tenant)),
            ("scopes", scopes),
            ("expires_at", |r| json(&r.expires_at)),
            ("status", |r| json(&r.status)),
            ("networks", networks),
            ("rate_limit", |r| json(&r.rate_limit)),
            ("credits", |r| json(&r.credits)),
            ("metadata", |r| json(&r.metadata)),
        ];
        fields
            .iter()
            .filter_map(|(field, value)| {
                let new = value(self);
                let old = before.map_or_else(|| "null".to_owned(), value);
                (old != new && !(before.is_none() && is_empty(&new))).then_some(FieldChange {
                    field,
                    old,
                    new,
                })
            })
            .collect()
    }
}

/// A value a new key need not list: absent, empty.
fn is_empty(json: &str) -> bool {
    matches!(json, "null" | "[]" | "{}")
}
