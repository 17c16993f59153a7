//! Schemas the derive cannot write: the JSON shapes of other crates' types
//! (`KeyStatus`, `UsageBucket`, `JwkSet`, checked against their serialization by
//! `tests/openapi.rs`), constants, and the grammars of scopes, lifetimes and grants.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, Object, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};

/// A key's lifecycle state, as `token_core::apikey::KeyStatus` serializes.
#[derive(utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
#[allow(dead_code)] // a schema only
pub(crate) enum KeyStatus {
    /// In use.
    Active,
    /// Revoked: fails with `key_revoked`.
    Revoked {
        /// When (seconds since the epoch).
        at: i64,
        /// Why, for people.
        reason: String,
    },
    /// Replaced by `successor`; works until `grace_end`, then fails with `key_rotated`.
    Rotated {
        /// The successor's id.
        successor: String,
        /// The end of the grace period (seconds since the epoch).
        grace_end: i64,
    },
}

/// Counts of one minute or one hour, as `token_audit::UsageBucket` serializes.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only
pub(crate) struct UsageBucket {
    /// When the bucket starts (RFC 3339).
    #[schema(format = DateTime)]
    start: String,
    /// Requests let through.
    #[schema(minimum = 0)]
    allowed: u64,
    /// Requests refused (authentication, network, scope).
    #[schema(minimum = 0)]
    denied: u64,
    /// Requests refused by a rate limit or exhausted credits.
    #[schema(minimum = 0)]
    limited: u64,
    /// `denied` by reason code.
    denied_by_reason: std::collections::BTreeMap<String, u64>,
}

/// A JWK Set (RFC 7517 §5), as `token_core::jose::JwkSet` serializes: public keys only.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only
pub(crate) struct JwkSet {
    /// The keys.
    keys: Vec<Jwk>,
}

/// A public JSON Web Key (RFC 7517 §4).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only
pub(crate) struct Jwk {
    /// `OKP`, `EC` or `RSA` (never `oct`: symmetric keys are not published).
    kty: String,
    /// The algorithm the key is for.
    alg: Option<String>,
    /// The key id.
    kid: Option<String>,
    /// `sig`.
    #[schema(rename = "use")]
    use_: Option<String>,
    /// Permitted operations.
    key_ops: Option<Vec<String>>,
    /// The curve (`OKP`, `EC`).
    crv: Option<String>,
    /// The public point's x (`OKP`, `EC`).
    x: Option<String>,
    /// The public point's y (`EC`).
    y: Option<String>,
    /// The modulus (`RSA`).
    n: Option<String>,
    /// The exponent (`RSA`).
    e: Option<String>,
}

fn constant(ty: Type, value: impl Into<serde_json::Value>) -> Object {
    ObjectBuilder::new()
        .schema_type(ty)
        .enum_values(Some([value.into()]))
        .build()
}

/// `true`, only.
pub(crate) fn always_true() -> Object {
    constant(Type::Boolean, true)
}

/// `false`, only.
pub(crate) fn always_false() -> Object {
    constant(Type::Boolean, false)
}

/// `Bearer`, only.
pub(crate) fn bearer() -> Object {
    constant(Type::String, "Bearer")
}

/// `api_key`, only.
pub(crate) fn api_key_type() -> Object {
    constant(Type::String, "api_key")
}

/// The grants the token endpoint knows.
pub(crate) fn grant_type() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["client_credentials", "refresh_token"]))
        .description(Some("`client_credentials` or `refresh_token`."))
        .build()
}

/// One scope (`token_scopes::Scope`) as an ECMA-262 pattern: `segment(:segment)*`,
/// segments of `a-z`, `0-9`, `_`, `-`, `.`, at most `MAX_SCOPE_DEPTH` of them,
/// optionally ending in the `*` wildcard (which counts as one); or `*` alone.
pub(crate) fn scope_pattern() -> String {
    let seg = "[a-z0-9_.-]+";
    let more = token_scopes::limits::MAX_SCOPE_DEPTH - 1;
    let before_wildcard = more - 1;
    format!(r"(?:\*|{seg}(?::{seg}){{0,{more}}}|{seg}(?::{seg}){{0,{before_wildcard}}}:\*)")
}

/// A key's scopes: a list, or one string of scopes separated by single spaces.
pub(crate) fn scopes() -> RefOr<Schema> {
    let one = scope_pattern();
    let scope = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^{one}$")))
        .max_length(Some(token_scopes::limits::MAX_SCOPE_LEN));
    let list = ArrayBuilder::new()
        .items(scope)
        .min_items(Some(1))
        .max_items(Some(token_scopes::limits::MAX_SCOPES))
        .description(Some("`[\"read:reports\", \"write:reports\"]`"));
    let text = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^{one}( {one})*$")))
        .max_length(Some(token_scopes::limits::MAX_SCOPE_SET_LEN))
        .description(Some("`\"read:reports write:reports\"`"));
    OneOfBuilder::new()
        .item(list)
        .item(text)
        .description(Some(
            "Scopes: a list, or one string with single spaces between them. A scope is \
             `segment(:segment)*` (lowercase letters, digits, `_`, `-`, `.`; at most 8 \
             segments, 128 bytes), optionally ending in the `*` wildcard.",
        ))
        .examples([serde_json::json!(["read:reports"])])
        .into()
}

/// A lifetime: seconds, or a positive whole number with the unit `s`, `m`, `h` or `d`
/// (`token_core::duration::parse_duration`); at most `max_secs` either way.
pub(crate) fn ttl(max_secs: i64) -> RefOr<Schema> {
    let secs = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .maximum(Some(max_secs))
        .description(Some("Seconds."));
    let text = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^\s*[0-9]+[smhd]\s*$"))
        .description(Some(
            "`30s`, `15m`, `12h`, `90d`: at most as long as the seconds.",
        ));
    OneOfBuilder::new()
        .item(secs)
        .item(text)
        .description(Some(format!(
            "A lifetime: seconds, or text such as `30d`; positive, at most {max_secs} s \
             (ten years)."
        )))
        .examples([serde_json::json!("30d")])
        .into()
}
