//! Client authentication at the OAuth endpoints: HTTP Basic or form parameters,
//! never both (RFC 6749 §2.3.1).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use zeroize::Zeroizing;

use super::oauth_error::{ErrorCode, OAuthError};
use crate::auth::extract::form_decode;

/// A client id and the secret it presented.
pub(crate) struct ClientAuth {
    pub(crate) client_id: String,
    pub(crate) secret: Zeroizing<String>,
    pub(crate) via_basic: bool,
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAuth")
            .field("client_id", &self.client_id)
            .field("secret", &"[redacted]")
            .field("via_basic", &self.via_basic)
            .finish()
    }
}

/// The client's credentials from `Authorization: Basic` or the form's
/// `client_id`/`client_secret`.
pub(crate) fn client_auth(
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<ClientAuth, OAuthError> {
    let basic = basic(headers)?;
    match (basic, form_id, form_secret) {
        (Some(_), _, Some(_)) => Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "use one client authentication method, not two",
        )),
        (Some((id, secret)), form_id, None) => {
            if form_id.is_some_and(|f| f != id) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidRequest,
                    "client_id does not match the authenticated client",
                ));
            }
            Ok(ClientAuth {
                client_id: id,
                secret,
                via_basic: true,
            })
        }
        (None, Some(id), Some(secret)) => Ok(ClientAuth {
            client_id: id.to_owned(),
            secret: Zeroizing::new(secret.to_owned()),
            via_basic: false,
        }),
        (None, _, _) => Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "client authentication is required",
        )),
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`, if present.
fn basic(headers: &HeaderMap) -> Result<Option<(String, Zeroizing<String>)>, OAuthError> {
    let malformed = || OAuthError {
        basic_challenge: true,
        ..OAuthError::new(ErrorCode::InvalidClient, "malformed HTTP Basic credentials")
    };
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "more than one Authorization header",
        ));
    }
    let text = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = text.trim().split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "the token endpoint authenticates clients with HTTP Basic or form parameters",
        ));
    }
    let decoded = Zeroizing::new(STANDARD.decode(encoded.trim()).map_err(|_| malformed())?);
    let text = std::str::from_utf8(&decoded).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    let id = form_decode(id).ok_or_else(malformed)?.into_owned();
    let secret = Zeroizing::new(form_decode(secret).ok_or_else(malformed)?.into_owned());
    Ok(Some((id, secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(http::header::AUTHORIZATION, v.parse().unwrap());
        m
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let encoded = STANDARD.encode("client_a%2Bb:s%3Ac+d");
        let auth = client_auth(&h(&format!("Basic {encoded}")), None, None).unwrap();
        assert_eq!(auth.client_id, "client_a+b");
        assert_eq!(auth.secret.as_str(), "s:c d");
        assert!(auth.via_basic);
    }

    #[test]
    fn one_method_only_and_garbage_is_refused() {
        let encoded = STANDARD.encode("a:b");
        let both = client_auth(&h(&format!("Basic {encoded}")), Some("a"), Some("b"));
        assert_eq!(both.unwrap_err().code, ErrorCode::InvalidRequest);
        for bad in [
            "Basic",
            "Basic !!!",
            &format!("Basic {}", STANDARD.encode("nocolon")),
        ] {
            let e = client_auth(&h(bad), None, None).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidClient, "{bad}");
            assert!(e.basic_challenge);
        }
        assert_eq!(
            client_auth(
                &h(&format!("Basic {}", STANDARD.encode("a:%zz"))),
                None,
                None
            )
            .unwrap_err()
            .code,
            ErrorCode::InvalidClient
        );
        assert_eq!(
            client_auth(&HeaderMap::new(), Some("a"), None)
                .unwrap_err()
                .code,
            ErrorCode::InvalidClient
        );
        let form = client_auth(&HeaderMap::new(), Some("a"), Some("b")).unwrap();
        assert!(!form.via_basic);
        let shown = format!("{form:?}");
        assert!(
            shown.contains("[redacted]") && !shown.contains("\"b\""),
            "{shown}"
        );
    }
}
