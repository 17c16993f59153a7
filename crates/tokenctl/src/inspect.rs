//! `tokenctl jwt inspect`: decode a token without verifying it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::Value;

use crate::InspectArgs;
use crate::failure::Failure;
use crate::io;

/// What `inspect` prints. Fields serialize in this order.
#[derive(Debug, Serialize)]
struct Inspection {
    /// Always `true`: nothing was checked.
    unverified: bool,
    /// The JOSE header.
    header: Value,
    /// The payload, when it is a JSON object.
    #[serde(skip_serializing_if = "Option::is_none")]
    claims: Option<Value>,
    /// The payload as text, when it is not a JSON object.
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<String>,
}

/// Prints the header and claims of a compact JWS, with a warning on standard error
/// that nothing was verified. Exit status 1 when it does not decode.
pub(crate) fn run(args: &InspectArgs) -> Result<(), Failure> {
    let token = io::secret_input(args.token.as_deref(), "token")?;
    let inspection = decode(&token)
        .map_err(|reason| Failure::invalid(format_args!("not a decodable JWS: {reason}")))?;
    let text = serde_json::to_string_pretty(&inspection)
        .map_err(|e| Failure::usage(format_args!("cannot print the token: {e}")))?;
    io::print(&text)?;
    eprintln!("tokenctl: WARNING: signature and claims NOT verified");
    Ok(())
}

/// Splits and decodes a compact JWS: three base64url parts and a JSON object header.
fn decode(token: &str) -> Result<Inspection, &'static str> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("expected three dot-separated parts");
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| "the header is not base64url")?;
    let header: Value = serde_json::from_slice(&header).map_err(|_| "the header is not JSON")?;
    if !header.is_object() {
        return Err("the header is not a JSON object");
    }
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| "the payload is not base64url")?;
    URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "the signature is not base64url")?;
    let (claims, payload) = match serde_json::from_slice::<Value>(&payload) {
        Ok(claims @ Value::Object(_)) => (Some(claims), None),
        _ => (None, Some(String::from_utf8_lossy(&payload).into_owned())),
    };
    Ok(Inspection {
        unverified: true,
        header,
        claims,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes_header_and_claims() {
        // RFC 7515 A.1.
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let seen = decode(token).unwrap();
        assert_eq!(seen.header["alg"], "HS256");
        assert_eq!(seen.claims.unwrap()["iss"], "joe");
        assert!(seen.payload.is_none());
    }

    #[test]
    fn text_payload_and_refusals() {
        // RFC 8037 A.4: the payload is plain text.
        let token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
        let seen = decode(token).unwrap();
        assert_eq!(seen.payload.as_deref(), Some("Example of Ed25519 signing"));
        assert!(seen.claims.is_none());
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.e30.",
            "e30.e30.!!",
            "WzFd.e30.",
            "bm90IGpzb24.e30.",
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }
}
