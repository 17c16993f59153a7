//! The JOSE header, parsed strictly in one pass.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};

use super::JwtErrorKind;

/// The members of a JOSE header that verification looks at.
#[derive(Debug, Default)]
pub(crate) struct Header<'a> {
    pub(crate) alg: Option<Cow<'a, str>>,
    pub(crate) kid: Option<Cow<'a, str>>,
    pub(crate) typ: Option<Cow<'a, str>>,
    /// The first member that makes the header unacceptable.
    rejected: Option<&'static str>,
}

impl<'a> Header<'a> {
    /// Parses header JSON; duplicates and non-objects are malformed; `crit`,
    /// `b64: false` and in-token keys are refused.
    pub(crate) fn parse(json: &'a [u8]) -> Result<Header<'a>, JwtErrorKind> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let header = de::Deserializer::deserialize_map(&mut de, HeaderVisitor).map_err(|_| {
            JwtErrorKind::Malformed("header is not a JSON object with unique members")
        })?;
        de.end()
            .map_err(|_| JwtErrorKind::Malformed("trailing data after header"))?;
        if let Some(member) = header.rejected {
            return Err(JwtErrorKind::HeaderRejected(member));
        }
        Ok(header)
    }
}

struct HeaderVisitor;

fn once<'a, E: de::Error>(
    slot: &mut Option<Cow<'a, str>>,
    value: Cow<'a, str>,
    name: &str,
) -> Result<(), E> {
    if slot.replace(value).is_some() {
        return Err(E::custom(format_args!("duplicate header member {name}")));
    }
    Ok(())
}

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Header<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header<'de>, A::Error> {
        let mut h = Header::default();
        let mut seen_other: Vec<Cow<'de, str>> = Vec::new();
        while let Some(super::claims::Name(key)) = map.next_key::<super::claims::Name<'de>>()? {
            match key.as_ref() {
                "alg" => once(
                    &mut h.alg,
                    map.next_value::<super::claims::Name<'de>>()?.0,
                    "alg",
                )?,
                "kid" => once(
                    &mut h.kid,
                    map.next_value::<super::claims::Name<'de>>()?.0,
                    "kid",
                )?,
                "typ" => once(
                    &mut h.typ,
                    map.next_value::<super::claims::Name<'de>>()?.0,
                    "typ",
                )?,
                other => {
                    // Duplicates of any member are refused, not just of the ones we read.
                    if seen_other.iter().any(|k| k == other) {
                        return Err(de::Error::custom("duplicate header member"));
                    }
                    let refusal = match other {
                        // We implement no JWS extensions, so any critical one is unknown.
                        "crit" => Some("crit (unknown critical extension)"),
                        "jwk" | "jku" | "x5u" | "x5c" => {
                            Some("key carried in the token (jwk/jku/x5u/x5c)")
                        }
                        _ => None,
                    };
                    if other == "b64" {
                        // RFC 7797: only the default (true) payload encoding is accepted.
                        if !map.next_value::<bool>()? {
                            h.rejected.get_or_insert("b64: false");
                        }
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                    if let Some(r) = refusal {
                        h.rejected.get_or_insert(r);
                    }
                    seen_other.push(key);
                }
            }
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_alg_kid_typ() {
        let h = Header::parse(br#"{"alg":"ES256","kid":"k1","typ":"at+jwt","x5t":"abc"}"#).unwrap();
        assert_eq!(h.alg.as_deref(), Some("ES256"));
        assert_eq!(h.kid.as_deref(), Some("k1"));
        assert_eq!(h.typ.as_deref(), Some("at+jwt"));
    }

    #[test]
    fn refuses_smuggling_and_extensions() {
        let malformed =
            |j: &str| matches!(Header::parse(j.as_bytes()), Err(JwtErrorKind::Malformed(_)));
        let refused = |j: &str| {
            matches!(
                Header::parse(j.as_bytes()),
                Err(JwtErrorKind::HeaderRejected(_))
            )
        };
        assert!(malformed(r#"{"alg":"HS256","alg":"none"}"#));
        assert!(malformed(r#"{"alg":"HS256","x":1,"x":2}"#));
        assert!(malformed(r#"["alg"]"#));
        assert!(malformed(r#"{"alg":"HS256"} {}"#));
        assert!(malformed(r#"{"alg":7}"#));
        assert!(refused(r#"{"alg":"HS256","crit":["exp"]}"#));
        assert!(refused(r#"{"alg":"HS256","crit":[]}"#));
        assert!(refused(r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#));
        assert!(refused(r#"{"alg":"RS256","jwk":{"kty":"RSA"}}"#));
        assert!(refused(
            r#"{"alg":"RS256","jku":"https://evil.example/keys"}"#
        ));
        assert!(refused(
            r#"{"alg":"RS256","x5u":"https://evil.example/cert"}"#
        ));
        assert!(refused(r#"{"alg":"RS256","x5c":["MIIB"]}"#));
        assert!(Header::parse(br#"{"alg":"HS256","b64":true}"#).is_ok());
    }
}
