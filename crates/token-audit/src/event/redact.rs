//! Replaces credential-shaped words in request-supplied text with `[redacted]`.

use std::borrow::Cow;

/// The shortest run of base64url characters treated as a credential. Every API key,
/// refresh token and client secret is at least a one-character prefix, `_` and 36
/// base62 characters long.
pub(crate) const MIN_SECRET_RUN: usize = 38;

const REDACTED: &str = "[redacted]";

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Whether a run of word characters and dots is, or contains, a credential: a compact
/// JWT (`eyJ…` with three dot-separated parts), or a run of at least
/// [`MIN_SECRET_RUN`] word characters.
fn is_credential(run: &str) -> bool {
    let mut parts = run.split('.');
    let first = parts.next().unwrap_or_default();
    let jwt = first.starts_with("eyJ") && run.split('.').count() >= 3;
    jwt || run.split('.').any(|p| p.len() >= MIN_SECRET_RUN)
}

/// `text` with each credential-shaped run of `[A-Za-z0-9_.-]` replaced by
/// `[redacted]`; borrowed when nothing was replaced.
pub(crate) fn redact_credentials(text: &str) -> Cow<'_, str> {
    let is_run = |c: char| is_word(c) || c == '.';
    // Fast path: nothing long enough to be a key, and no JWT.
    if text.len() < MIN_SECRET_RUN && !text.contains("eyJ") {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut changed = false;
    let mut rest = text;
    while let Some(start) = rest.find(is_run) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !is_run(c)).unwrap_or(rest.len());
        let run = &rest[..end];
        if is_credential(run) {
            out.push_str(REDACTED);
            changed = true;
        } else {
            out.push_str(run);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
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
