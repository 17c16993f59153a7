//! Finding the one credential in a request: `Authorization: Bearer` or the API-key
//! header, never the query string, never two different ones.

use std::borrow::Cow;

use http::request::Parts;
use http::{HeaderMap, HeaderName, Uri};
use token_core::backend::KeyStore;
use token_core::limits::MAX_CREDENTIAL_LEN;
use token_ratelimit::backend::LimitStore;

use super::layer::Config;

/// Where the credential was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))] // public for the fuzz targets
pub enum CredentialSource {
    /// `Authorization: Bearer …`.
    Bearer,
    /// The configured API-key header.
    ApiKeyHeader,
}

/// Why a request's credentials are unacceptable as sent (400 `invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// Two different credentials (or a header repeated).
    #[error("the request carries more than one credential; send exactly one")]
    Ambiguous,
    /// A credential in the query string, where proxies and logs would keep it.
    #[error(
        "credentials are not accepted in the query string; send them in the Authorization header"
    )]
    InQuery,
    /// Larger than any credential we issue.
    #[error("the credential header is too large")]
    TooLarge,
    /// Empty, not visible ASCII, or with inner whitespace.
    #[error("the credential header is malformed")]
    Malformed,
}

impl ExtractError {
    /// The stable reason code.
    pub fn code(self) -> &'static str {
        match self {
            ExtractError::Ambiguous => "credential_ambiguous",
            ExtractError::InQuery => "credential_in_query",
            ExtractError::TooLarge => "credential_too_large",
            ExtractError::Malformed => "credential_header_malformed",
        }
    }
}

/// Query parameter names that carry credentials by convention (RFC 6750 §2.3 and
/// common API-key habits), refused whatever their value.
const QUERY_NAMES: &[&str] = &["access_token", "api_key", "apikey", "api-key"];

/// The credential of a request, if any.
///
/// `Authorization` headers with another scheme (`Basic` for the OAuth token
/// endpoint, say) are not credentials for this layer and are ignored.
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))] // public for the fuzz targets
pub fn extract<'h>(
    headers: &'h HeaderMap,
    api_key_header: &HeaderName,
) -> Result<Option<(&'h str, CredentialSource)>, ExtractError> {
    let bearer = single(headers, &http::header::AUTHORIZATION, bearer_token)?;
    let key = single(headers, api_key_header, |v| Some(v.trim()))?;
    match (bearer, key) {
        (Some(b), Some(k)) if b != k => Err(ExtractError::Ambiguous),
        (Some(b), _) => Ok(Some((b, CredentialSource::Bearer))),
        (None, Some(k)) => Ok(Some((k, CredentialSource::ApiKeyHeader))),
        (None, None) => Ok(None),
    }
}

/// The value of `name` after `pick`, refusing repeats (two lines that both carry a
/// credential), oversized and malformed values.
fn single<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
    pick: impl Fn(&'h str) -> Option<&'h str>,
) -> Result<Option<&'h str>, ExtractError> {
    let mut found = None;
    for value in headers.get_all(name) {
        if value.len() > MAX_CREDENTIAL_LEN + 32 {
            return Err(ExtractError::TooLarge);
        }
        let text = value.to_str().map_err(|_| ExtractError::Malformed)?;
        let Some(credential) = pick(text) else {
            continue;
        };
        // `to_str` admitted visible ASCII and tabs only, so spaces and tabs are the
        // whitespace left to find (memchr, not a byte loop: tokens are long).
        let bytes = credential.as_bytes();
        if bytes.is_empty() || bytes.contains(&b' ') || bytes.contains(&b'\t') {
            return Err(ExtractError::Malformed);
        }
        if found.replace(credential).is_some() {
            return Err(ExtractError::Ambiguous);
        }
    }
    Ok(found)
}

/// `Bearer <token>`, scheme case-insensitive; `None` for other schemes.
fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim_start();
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    if rest.is_empty() {
        return Some(rest);
    }
    // The scheme must end at whitespace ("Bearerfoo" is another scheme).
    let token = rest.strip_prefix([' ', '\t'])?;
    Some(token.trim())
}

/// Whether the query string carries something that is, or is named as, a credential.
/// `looks_like` recognises our credential formats (API-key prefix and checksum, JWT
/// shape) so a key pasted under any parameter name is refused too.
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))] // public for the fuzz targets
pub fn query_carries_credential(uri: &Uri, looks_like: impl Fn(&str) -> bool) -> bool {
    let Some(query) = uri.query() else {
        return false;
    };
    query.split('&').any(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        // Decoded, so `access%5Ftoken` or an encoded key is seen for what it is; text
        // that does not decode is checked as sent.
        let name = form_decode(name).unwrap_or(Cow::Borrowed(name));
        let value = form_decode(value).unwrap_or(Cow::Borrowed(value));
        QUERY_NAMES.iter().any(|n| name.eq_ignore_ascii_case(n)) || looks_like(&value)
    })
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space, `%XX` a byte);
/// borrowed when there is nothing to decode, `None` when an escape is malformed or
/// the bytes are not UTF-8.
pub(crate) fn form_decode(text: &str) -> Option<Cow<'_, str>> {
    if !text.bytes().any(|b| b == b'%' || b == b'+') {
        return Some(Cow::Borrowed(text));
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

impl<K: KeyStore, L: LimitStore> Config<K, L> {
    /// The request's credential, refusing one in the query string unless allowed.
    pub(super) fn credential<'p>(&self, parts: &'p Parts) -> Result<Option<&'p str>, ExtractError> {
        if !self.allow_query_credentials
            && query_carries_credential(&parts.uri, |v| self.looks_like_credential(v))
        {
            return Err(ExtractError::InQuery);
        }
        Ok(extract(&parts.headers, &self.api_key_header)?.map(|(c, _)| c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: HeaderName = HeaderName::from_static("x-api-key");

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    fn run(
        pairs: &[(&str, &str)],
    ) -> Result<Option<(&'static str, CredentialSource)>, ExtractError> {
        let map: &'static HeaderMap = Box::leak(Box::new(headers(pairs)));
        extract(map, &KEY)
    }

    #[test]
    fn a_header_may_carry_the_longest_credential_with_room_for_the_scheme() {
        let token = "a".repeat(MAX_CREDENTIAL_LEN);
        // `Bearer`, 26 spaces, the token: exactly the header bound.
        let value = format!("Bearer{}{token}", " ".repeat(26));
        assert_eq!(value.len(), MAX_CREDENTIAL_LEN + 32);
        let extracted = run(&[("authorization", value.as_str())]).unwrap().unwrap();
        assert_eq!(extracted.0.len(), MAX_CREDENTIAL_LEN);
        assert_eq!(
            run(&[("x-api-key", token.as_str())])
                .unwrap()
                .unwrap()
                .0
                .len(),
            MAX_CREDENTIAL_LEN
        );
        // One byte more is refused before the header is read.
        let over = format!("{value} ");
        assert_eq!(
            run(&[("authorization", over.as_str())]),
            Err(ExtractError::TooLarge)
        );
    }

    #[test]
    fn form_decoding_borrows_when_there_is_nothing_to_decode() {
        assert!(matches!(
            form_decode("api_key"),
            Some(Cow::Borrowed("api_key"))
        ));
        assert!(matches!(form_decode("a%5Fb"), Some(Cow::Owned(s)) if s == "a_b"));
        assert!(matches!(form_decode("a+b"), Some(Cow::Owned(s)) if s == "a b"));
        assert_eq!(form_decode("a%5"), None);
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for h in ["Bearer abc", "bearer abc", "BEARER  abc", "Bearer\tabc "] {
            assert_eq!(
                run(&[("authorization", h)]),
                Ok(Some(("abc", CredentialSource::Bearer))),
                "{h}"
            );
        }
        assert_eq!(run(&[("authorization", "Bearerabc")]), Ok(None));
        assert_eq!(run(&[("authorization", "Basic dXNlcjpwYXNz")]), Ok(None));
        assert_eq!(run(&[]), Ok(None));
    }

    #[test]
    fn api_key_header_is_read() {
        assert_eq!(
            run(&[("x-api-key", "tk_live_x")]),
            Ok(Some(("tk_live_x", CredentialSource::ApiKeyHeader)))
        );
    }

    #[test]
    fn two_different_credentials_are_ambiguous() {
        assert_eq!(
            run(&[("authorization", "Bearer a"), ("x-api-key", "b")]),
            Err(ExtractError::Ambiguous)
        );
        assert_eq!(
            run(&[("authorization", "Bearer a"), ("authorization", "Bearer a")]),
            Err(ExtractError::Ambiguous)
        );
        assert_eq!(
            run(&[("x-api-key", "a"), ("x-api-key", "b")]),
            Err(ExtractError::Ambiguous)
        );
        // The same credential in both places is one credential.
        assert_eq!(
            run(&[("authorization", "Bearer a"), ("x-api-key", "a")]),
            Ok(Some(("a", CredentialSource::Bearer)))
        );
    }

    #[test]
    fn malformed_and_oversized_values_are_refused() {
        assert_eq!(
            run(&[("authorization", "Bearer ")]),
            Err(ExtractError::Malformed)
        );
        assert_eq!(
            run(&[("authorization", "Bearer a b")]),
            Err(ExtractError::Malformed)
        );
        assert_eq!(run(&[("x-api-key", "")]), Err(ExtractError::Malformed));
        let big = format!("Bearer {}", "a".repeat(MAX_CREDENTIAL_LEN + 100));
        assert_eq!(run(&[("authorization", &big)]), Err(ExtractError::TooLarge));
        let mut map = HeaderMap::new();
        map.insert(
            "x-api-key",
            http::HeaderValue::from_bytes(b"tk_\xff").unwrap(),
        );
        assert_eq!(extract(&map, &KEY), Err(ExtractError::Malformed));
    }

    #[test]
    fn query_credentials_are_detected_by_name_or_shape() {
        let shape = |v: &str| v.starts_with("tk_live_");
        let q = |s: &str| query_carries_credential(&s.parse().unwrap(), shape);
        assert!(q("/a?access_token=x"));
        assert!(q("/a?page=2&API_KEY=x"));
        assert!(q("/a?k=tk_live_abc"));
        assert!(!q("/a?page=2&sort=name"));
        assert!(q("/a?access%5Ftoken=x"), "names are decoded");
        assert!(q("/a?k=tk%5Flive_abc"), "values are decoded");
        assert!(!q("/a?k=%zz"), "undecodable text is checked as sent");
        assert!(!q("/a"));
    }
}
