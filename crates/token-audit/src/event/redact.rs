//! Replaces credential-shaped words in request-supplied text with `[redacted]`.

use std::borrow::Cow;

/// The shortest run of base64url characters treated as a credential. Every API key,
/// refresh token and client secret is at least a one-character prefix, `_` and 36
/// base62 characters long.
pub(crate) const MIN_SECRET_RUN: usize = 38;

const REDACTED: &str = "[redacted]";

/// Whether a run of word characters and dots is, or contains, a credential: a compact
/// JWT (`eyJ…` with three dot-separated parts), or a run of at least
/// [`MIN_SECRET_RUN`] word characters.
fn is_credential(run: &str) -> bool {
    let mut parts = run.split('.');
    let first = parts.next().unwrap_or_default();
    let jwt = first.starts_with("eyJ") && run.split('.').count() >= 3;
    jwt || run.split('.').any(|p| p.len() >= MIN_SECRET_RUN)
}

/// The runs of `[A-Za-z0-9_.-]` in `text`, as byte ranges. Every run character is
/// ASCII, so scanning bytes finds the same runs as scanning characters, and a range
/// always starts and ends on a character boundary.
fn runs(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = text.as_bytes();
    let is_run = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    let mut at = 0;
    std::iter::from_fn(move || {
        let start = at + bytes.get(at..)?.iter().position(|&b| is_run(b))?;
        let len = bytes[start..]
            .iter()
            .position(|&b| !is_run(b))
            .unwrap_or(bytes.len() - start);
        at = start + len;
        Some((start, at))
    })
}

/// `text` with each credential-shaped run of `[A-Za-z0-9_.-]` replaced by
/// `[redacted]`; borrowed (and nothing allocated) when nothing was replaced.
pub(crate) fn redact_credentials(text: &str) -> Cow<'_, str> {
    // Fast path: nothing long enough to be a key, and no JWT.
    if text.len() < MIN_SECRET_RUN && !text.contains("eyJ") {
        return Cow::Borrowed(text);
    }
    let mut found = runs(text)
        .filter(|&(start, end)| is_credential(&text[start..end]))
        .peekable();
    if found.peek().is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in found {
        out.push_str(&text[copied..start]);
        out.push_str(REDACTED);
        copied = end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::redact_credentials;

    #[test]
    fn api_keys_and_jwts_are_redacted() {
        let key = token_core::apikey::KeyFormat::new("tk_live")
            .unwrap()
            .generate()
            .unwrap();
        let key = key.expose_secret();
        let text = format!("curl/8.0 (Bearer {key}) eyJhbGciOiJIUzI1NiJ9.e30.c2ln tail");
        let got = redact_credentials(&text);
        assert_eq!(got, "curl/8.0 (Bearer [redacted]) [redacted] tail");
        assert!(!got.contains(key));
    }

    #[test]
    fn redaction_keeps_the_text_around_a_credential_whatever_its_characters() {
        let key = "tk_live_".to_owned() + &"A".repeat(36);
        let text = format!("é{key}→ ok.{key}");
        // A run joined by dots is judged, and redacted, whole.
        assert_eq!(redact_credentials(&text), "é[redacted]→ [redacted]");
        // A long run of ordinary words is not a credential.
        let words = "a-b.c_d ".repeat(20);
        assert!(matches!(
            redact_credentials(&words),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn ordinary_text_is_kept_and_borrowed() {
        for text in [
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            "/v1/reports/{id}",
            "3f2b9c1e-7a4d-4e8b-9f0a-1b2c3d4e5f60",
            "tk_live_3Fq9…",
            "",
        ] {
            assert!(
                matches!(redact_credentials(text), std::borrow::Cow::Borrowed(_)),
                "{text}"
            );
        }
    }
}
