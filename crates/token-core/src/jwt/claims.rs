//! RFC 9068 access-token claims, parsed in one typed pass.

use std::any::TypeId;
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use token_scopes::ScopeSet;

use super::JwtErrorKind;

/// The claim names tokenkit reads itself; extra claims may not reuse them.
pub(crate) const REGISTERED: [&str; 10] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "client_id",
    "scope",
    "typ",
];

/// The claims of an access token (RFC 9068), with the caller's own typed extras `E`.
///
/// `scope` is parsed into a [`ScopeSet`]; the tenant claim's name is configurable
/// (default `tid`). Every other member is handed to `E` (use [`NoExtra`] to ignore
/// them, or `serde_json::Map<String, serde_json::Value>` to keep them all).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AccessClaims<E = NoExtra> {
    /// Issuer.
    pub iss: Option<String>,
    /// Subject: the user, or the client for client-credentials tokens.
    pub sub: Option<String>,
    /// Audiences (a single string on the wire is one audience).
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Not before.
    pub nbf: Option<i64>,
    /// Issued at.
    pub iat: Option<i64>,
    /// Token id, for revocation.
    pub jti: Option<String>,
    /// The OAuth client the token was issued to.
    pub client_id: Option<String>,
    /// Granted scopes.
    pub scope: ScopeSet,
    /// The tenant (from the configured tenant claim).
    pub tenant: Option<String>,
    /// The caller's own claims.
    pub extra: E,
}

/// No extra claims: unknown members are skipped without being stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NoExtra;

impl Serialize for NoExtra {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_map(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for NoExtra {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d).map(|_| NoExtra)
    }
}

impl<E: Serialize + 'static> AccessClaims<E> {
    /// The claims as a JSON object, with the tenant under `tenant_claim`.
    pub fn to_json(&self, tenant_claim: &str) -> serde_json::Value {
        serde_json::to_value(ClaimsOut {
            claims: self.view(),
            tenant_claim,
            extra: extra_members(&self.extra).ok().flatten().as_ref(),
        })
        .unwrap_or_default()
    }
}

/// Serializes `extra` to its members. `None` for `NoExtra` (without serializing).
pub(crate) fn extra_members<E: Serialize + 'static>(
    extra: &E,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, String> {
    if TypeId::of::<E>() == TypeId::of::<NoExtra>() {
        return Ok(None);
    }
    match serde_json::to_value(extra).map_err(|e| e.to_string())? {
        serde_json::Value::Object(map) if map.is_empty() => Ok(None),
        serde_json::Value::Object(map) => Ok(Some(map)),
        serde_json::Value::Null => Ok(None),
        _ => Err("extra claims must serialize to a JSON object".to_owned()),
    }
}

/// The registered claims, borrowed: what minting and `to_json` write.
pub(crate) struct ClaimsView<'a> {
    pub(crate) iss: Option<&'a str>,
    pub(crate) sub: Option<&'a str>,
    pub(crate) aud: &'a [String],
    pub(crate) exp: i64,
    pub(crate) nbf: Option<i64>,
    pub(crate) iat: Option<i64>,
    pub(crate) jti: Option<&'a str>,
    pub(crate) client_id: Option<&'a str>,
    pub(crate) scope: &'a ScopeSet,
    pub(crate) tenant: Option<&'a str>,
}

impl<E> AccessClaims<E> {
    pub(crate) fn view(&self) -> ClaimsView<'_> {
        ClaimsView {
            iss: self.iss.as_deref(),
            sub: self.sub.as_deref(),
            aud: &self.aud,
            exp: self.exp,
            nbf: self.nbf,
            iat: self.iat,
            jti: self.jti.as_deref(),
            client_id: self.client_id.as_deref(),
            scope: &self.scope,
            tenant: self.tenant.as_deref(),
        }
    }
}

/// Writes claims as the JWT payload, in one pass, with the tenant claim renamed.
pub(crate) struct ClaimsOut<'a> {
    pub(crate) claims: ClaimsView<'a>,
    pub(crate) tenant_claim: &'a str,
    pub(crate) extra: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

impl Serialize for ClaimsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = &self.claims;
        let mut m = s.serialize_map(None)?;
        if let Some(v) = c.iss {
            m.serialize_entry("iss", v)?;
        }
        if let Some(v) = c.sub {
            m.serialize_entry("sub", v)?;
        }
        match c.aud {
            [] => {}
            [one] => m.serialize_entry("aud", one)?,
            many => m.serialize_entry("aud", many)?,
        }
        m.serialize_entry("exp", &c.exp)?;
        if let Some(v) = c.nbf {
            m.serialize_entry("nbf", &v)?;
        }
        if let Some(v) = c.iat {
            m.serialize_entry("iat", &v)?;
        }
        if let Some(v) = c.jti {
            m.serialize_entry("jti", v)?;
        }
        if let Some(v) = c.client_id {
            m.serialize_entry("client_id", v)?;
        }
        if !c.scope.is_empty() {
            m.serialize_entry("scope", c.scope)?;
        }
        if let Some(v) = c.tenant {
            m.serialize_entry(self.tenant_claim, v)?;
        }
        if let Some(extra) = self.extra {
            for (k, v) in extra {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

/// Parses the payload JSON into claims. On failure, names the claim at fault without
/// repeating its value.
pub(crate) fn parse<E: DeserializeOwned + 'static>(
    json: &[u8],
    tenant_claim: &str,
) -> Result<AccessClaims<E>, JwtErrorKind> {
    let at = Cell::new("claims");
    let seed = ClaimsSeed::<E> {
        tenant_claim,
        at: &at,
        _extra: PhantomData,
    };
    let mut de = serde_json::Deserializer::from_slice(json);
    let raw = seed
        .deserialize(&mut de)
        .map_err(|_| JwtErrorKind::InvalidClaim(at.get()))?;
    de.end()
        .map_err(|_| JwtErrorKind::Malformed("trailing data after claims"))?;
    raw
}

struct ClaimsSeed<'c, E> {
    tenant_claim: &'c str,
    at: &'c Cell<&'static str>,
    _extra: PhantomData<E>,
}

impl<'de, E: DeserializeOwned + 'static> DeserializeSeed<'de> for ClaimsSeed<'_, E> {
    type Value = Result<AccessClaims<E>, JwtErrorKind>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

/// A JSON member name, borrowed from the input when it has no escapes. (serde's own
/// `Cow<str>` always allocates.)
pub(crate) struct Name<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<Er: de::Error>(self, v: &'de str) -> Result<Name<'de>, Er> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<Er: de::Error>(self, v: &str) -> Result<Name<'de>, Er> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Sets a claim once; a second occurrence is an error (no smuggled second value).
fn once<T, Er: de::Error>(slot: &mut Option<T>, value: T) -> Result<(), Er> {
    if slot.replace(value).is_some() {
        return Err(Er::custom("duplicate claim"));
    }
    Ok(())
}

impl<'de, E: DeserializeOwned + 'static> Visitor<'de> for ClaimsSeed<'_, E> {
    type Value = Result<AccessClaims<E>, JwtErrorKind>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JWT claims object")
    }

    #[allow(clippy::too_many_lines)]
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let collect = TypeId::of::<E>() != TypeId::of::<NoExtra>();
        let (mut iss, mut sub, mut aud, mut exp, mut nbf, mut iat) =
            (None, None, None, None, None, None);
        let (mut jti, mut client_id, mut scope, mut tenant) = (None, None, None, None);
        let mut extra = serde_json::Map::new();
        let mut ignored: Vec<Cow<'de, str>> = Vec::new();
        while let Some(Name(key)) = map.next_key::<Name<'de>>()? {
            let name: &'static str = match key.as_ref() {
                "iss" => "iss",
                "sub" => "sub",
                "aud" => "aud",
                "exp" => "exp",
                "nbf" => "nbf",
                "iat" => "iat",
                "jti" => "jti",
                "client_id" => "client_id",
                "scope" => "scope",
                k if k == self.tenant_claim => "tenant",
                _ => "",
            };
            self.at.set(if name.is_empty() {
                "extra claims"
            } else {
                name
            });
            match name {
                "iss" => once(&mut iss, map.next_value::<String>()?)?,
                "sub" => once(&mut sub, map.next_value::<String>()?)?,
                "aud" => once(&mut aud, map.next_value::<Audience>()?.0)?,
                "exp" => once(&mut exp, map.next_value::<NumericDate>()?.floor())?,
                "nbf" => once(&mut nbf, map.next_value::<NumericDate>()?.ceil())?,
                "iat" => once(&mut iat, map.next_value::<NumericDate>()?.ceil())?,
                "jti" => once(&mut jti, map.next_value::<String>()?)?,
                "client_id" => once(&mut client_id, map.next_value::<String>()?)?,
                "scope" => once(&mut scope, map.next_value::<ScopeSet>()?)?,
                "tenant" => once(&mut tenant, map.next_value::<String>()?)?,
                _ if collect => {
                    let value = map.next_value::<serde_json::Value>()?;
                    if extra.insert(key.into_owned(), value).is_some() {
                        return Err(de::Error::custom("duplicate claim"));
                    }
                }
                _ => {
                    if ignored.contains(&key) {
                        return Err(de::Error::custom("duplicate claim"));
                    }
                    map.next_value::<IgnoredAny>()?;
                    ignored.push(key);
                }
            }
        }
        let Some(exp) = exp else {
            return Ok(Err(JwtErrorKind::MissingClaim("exp")));
        };
        let extra = if collect {
            match E::deserialize(serde_json::Value::Object(extra)) {
                Ok(e) => e,
                Err(_) => return Ok(Err(JwtErrorKind::InvalidClaim("extra claims"))),
            }
        } else {
            // `E` is `NoExtra`, which deserializes from anything.
            match E::deserialize(serde_json::Value::Null) {
                Ok(e) => e,
                Err(_) => return Ok(Err(JwtErrorKind::InvalidClaim("extra claims"))),
            }
        };
        Ok(Ok(AccessClaims {
            iss,
            sub,
            aud: aud.unwrap_or_default(),
            exp,
            nbf,
            iat,
            jti,
            client_id,
            scope: scope.unwrap_or_default(),
            tenant,
            extra,
        }))
    }
}

/// `aud`: a string or an array of strings.
struct Audience(Vec<String>);

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Audience;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<Er: de::Error>(self, v: &str) -> Result<Audience, Er> {
                Ok(Audience(vec![v.to_owned()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut out = Vec::new();
                while let Some(a) = seq.next_element::<String>()? {
                    out.push(a);
                }
                Ok(Audience(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// The largest `NumericDate` accepted: the end of year 9999.
const MAX_DATE: f64 = 253_402_300_799.0;

/// A `NumericDate`: a JSON number only (a string, boolean or null is an error, the
/// CVE-2026-25537 class of bypass), within years 1970..=9999.
struct NumericDate(f64);

impl NumericDate {
    #[allow(clippy::cast_possible_truncation)]
    fn floor(&self) -> i64 {
        self.0.floor() as i64
    }

    #[allow(clippy::cast_possible_truncation)]
    fn ceil(&self) -> i64 {
        self.0.ceil() as i64
    }
}

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON number of seconds since the epoch")
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<Er: de::Error>(self, v: i64) -> Result<NumericDate, Er> {
                self.visit_f64(v as f64)
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<Er: de::Error>(self, v: u64) -> Result<NumericDate, Er> {
                self.visit_f64(v as f64)
            }
            fn visit_f64<Er: de::Error>(self, v: f64) -> Result<NumericDate, Er> {
                if v.is_finite() && (0.0..=MAX_DATE).contains(&v) {
                    Ok(NumericDate(v))
                } else {
                    Err(Er::custom("date out of range"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extras_that_carry_nothing_add_no_members() {
        #[derive(Serialize)]
        struct Empty {}
        #[derive(Serialize)]
        struct One {
            plan: &'static str,
        }
        assert_eq!(extra_members(&NoExtra), Ok(None));
        assert_eq!(extra_members(&()), Ok(None), "unit serializes to null");
        assert_eq!(extra_members(&Empty {}), Ok(None));
        let one = extra_members(&One { plan: "pro" }).unwrap().unwrap();
        assert_eq!(one.get("plan"), Some(&serde_json::json!("pro")));
        assert!(extra_members(&42).is_err());
    }

    #[test]
    fn no_extra_reads_and_discards_any_value() {
        // Deserialized on its own it consumes what it is given (a stream with the
        // value left in it would fail), and serializes to an empty object.
        assert_eq!(
            serde_json::from_str::<NoExtra>(r#"{"a": [1, {"b": 2}]}"#).unwrap(),
            NoExtra
        );
        assert_eq!(serde_json::from_str::<NoExtra>("42").unwrap(), NoExtra);
        assert_eq!(serde_json::to_string(&NoExtra).unwrap(), "{}");
    }

    fn parse_plain(json: &str) -> Result<AccessClaims, JwtErrorKind> {
        parse::<NoExtra>(json.as_bytes(), "tid")
    }

    #[test]
    fn parses_rfc9068_claims() {
        let c = parse_plain(
            r#"{"iss":"https://as","sub":"u1","aud":"api","exp":100,"iat":40,"jti":"j","client_id":"c","scope":"b a","tid":"acme","other":{"x":[1]}}"#,
        )
        .unwrap();
        assert_eq!(c.aud, ["api"]);
        assert_eq!(c.scope.to_string(), "a b");
        assert_eq!(c.tenant.as_deref(), Some("acme"));
        assert_eq!((c.exp, c.iat), (100, Some(40)));
        let c = parse_plain(r#"{"aud":["a","b"],"exp":1.7}"#).unwrap();
        assert_eq!((c.aud.len(), c.exp), (2, 1));
    }

    #[test]
    fn exp_must_be_a_number_and_present() {
        assert_eq!(
            parse_plain(r#"{"sub":"x"}"#),
            Err(JwtErrorKind::MissingClaim("exp"))
        );
        for bad in [
            r#"{"exp":"99999999999"}"#,
            r#"{"exp":null}"#,
            r#"{"exp":true}"#,
            r#"{"exp":[1]}"#,
            r#"{"exp":-1}"#,
            r#"{"exp":1e300}"#,
        ] {
            assert_eq!(
                parse_plain(bad),
                Err(JwtErrorKind::InvalidClaim("exp")),
                "{bad}"
            );
        }
        assert_eq!(
            parse_plain(r#"{"exp":1,"nbf":"0"}"#),
            Err(JwtErrorKind::InvalidClaim("nbf"))
        );
    }

    #[test]
    fn duplicates_cannot_smuggle_values() {
        assert_eq!(
            parse_plain(r#"{"exp":1,"exp":9999999999}"#),
            Err(JwtErrorKind::InvalidClaim("exp"))
        );
        assert_eq!(
            parse_plain(r#"{"exp":1,"aud":"a","aud":"b"}"#),
            Err(JwtErrorKind::InvalidClaim("aud"))
        );
        assert_eq!(
            parse_plain(r#"{"exp":1,"tid":"a","tid":"b"}"#),
            Err(JwtErrorKind::InvalidClaim("tenant"))
        );
        assert_eq!(
            parse_plain(r#"{"exp":1,"x":1,"x":2}"#),
            Err(JwtErrorKind::InvalidClaim("extra claims"))
        );
        let kept =
            parse::<serde_json::Map<String, serde_json::Value>>(br#"{"exp":1,"x":1,"x":2}"#, "tid");
        assert_eq!(
            kept.unwrap_err(),
            JwtErrorKind::InvalidClaim("extra claims")
        );
    }

    #[test]
    fn typed_extras_and_configurable_tenant_claim() {
        #[derive(Debug, Deserialize, Serialize, PartialEq)]
        struct Mine {
            plan: String,
        }
        let c = parse::<Mine>(br#"{"exp":5,"plan":"pro","org":"acme","tid":"no"}"#, "org").unwrap();
        assert_eq!(c.extra, Mine { plan: "pro".into() });
        assert_eq!(c.tenant.as_deref(), Some("acme"));
        let json = c.to_json("org");
        assert_eq!(json["org"], "acme");
        assert_eq!(json["plan"], "pro");
        assert!(parse::<Mine>(br#"{"exp":5}"#, "tid").is_err());
    }

    #[test]
    fn not_an_object_or_trailing_data_is_refused() {
        assert!(parse_plain("[1]").is_err());
        assert!(parse_plain(r#"{"exp":1} x"#).is_err());
        assert!(
            parse_plain(r#"{"exp":1,"scope":"Bad"}"#) == Err(JwtErrorKind::InvalidClaim("scope"))
        );
    }
}
