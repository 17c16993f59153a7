//! How a command fails, and the exit status each failure gives.

use std::fmt;
use std::process::ExitCode;

use token_core::apikey::format::{FormatError, check};

/// A failed command: the one-line message for standard error and its exit status.
///
/// Messages never hold secrets or whole tokens: they are built from error `Display`s
/// that promise the same (token-core's `KeyError`, `JwtError`, `MintError`), file
/// names and fixed text.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The token (or the input to inspect) is invalid: exit status 1.
    Invalid(String),
    /// A usage error, unreadable input or an unusable key: exit status 2.
    Usage(String),
}

impl Failure {
    /// An invalid token or undecodable input (exit status 1).
    pub(crate) fn invalid(message: impl fmt::Display) -> Failure {
        Failure::Invalid(message.to_string())
    }

    /// A usage or input error (exit status 2).
    pub(crate) fn usage(message: impl fmt::Display) -> Failure {
        Failure::Usage(message.to_string())
    }

    /// The exit status.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Failure::Invalid(_) => 1,
            Failure::Usage(_) => 2,
        }
    }

    /// Prints `tokenctl: <message>` on standard error and returns the exit status.
    pub(crate) fn report(&self) -> ExitCode {
        eprintln!("tokenctl: {self}");
        ExitCode::from(self.exit_code())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Invalid(m) | Failure::Usage(m) => f.write_str(m),
        }
    }
}

/// Replaces every compact-JWS-looking word in `text` (three dot-separated base64url
/// parts, the first starting with `eyJ`, the encoding of `{"`) with `[token redacted]`,
/// and every API-key-shaped one (`prefix_` and 36 base62 characters, whatever its
/// checksum) with `[key redacted]`. For messages that quote arguments, such as the
/// command-line parser's.
pub(crate) fn redact_tokens(text: &str) -> String {
    let is_b64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| is_b64url(c) || c == '.') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest
            .find(|c: char| !(is_b64url(c) || c == '.'))
            .unwrap_or(rest.len());
        let word = &rest[..end];
        let parts: Vec<&str> = word.split('.').collect();
        if parts.len() == 3 && parts[0].starts_with("eyJ") && !parts[1].is_empty() {
            out.push_str("[token redacted]");
        } else {
            push_redacting_keys(&mut out, word);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Pushes `word` onto `out`, with each API-key-shaped piece between `.` and `-`
/// separators replaced by `[key redacted]`. A key with a wrong checksum is still most
/// of a secret, so the checksum does not matter here.
fn push_redacting_keys(out: &mut String, word: &str) {
    for piece in word.split_inclusive(['.', '-']) {
        let body = piece.strip_suffix(['.', '-']).unwrap_or(piece);
        if matches!(check(body), Ok(_) | Err(FormatError::BadChecksum)) {
            out.push_str("[key redacted]");
        } else {
            out.push_str(body);
        }
        out.push_str(&piece[body.len()..]);
    }
}

#[cfg(test)]
mod tests {
    use super::{Failure, redact_tokens};

    #[test]
    fn tokens_are_redacted_from_messages() {
        assert_eq!(
            redact_tokens("error: unexpected argument 'eyJhbGciOiJFZERTQSJ9.e30.c2ln' found\n"),
            "error: unexpected argument '[token redacted]' found\n"
        );
        assert_eq!(
            redact_tokens("tip: 'auth.example.com' and eyJ.x and a.b.c stay; so does 'x'"),
            "tip: 'auth.example.com' and eyJ.x and a.b.c stay; so does 'x'"
        );
    }

    #[test]
    fn api_keys_are_redacted_from_messages() {
        let key = token_core::apikey::KeyFormat::new("tk_live")
            .unwrap()
            .generate()
            .unwrap();
        let key = key.expose_secret();
        // One character off: the checksum fails, but it is still most of the key.
        let mut typo = key.to_owned();
        let last = typo.pop().unwrap();
        typo.push(if last == 'a' { 'b' } else { 'a' });
        for shown in [key, typo.as_str()] {
            assert_eq!(
                redact_tokens(&format!("error: unexpected argument '{shown}' found")),
                "error: unexpected argument '[key redacted]' found"
            );
            assert_eq!(
                redact_tokens(&format!("see {shown}. or -{shown}-x")),
                "see [key redacted]. or -[key redacted]-x"
            );
        }
        assert_eq!(
            redact_tokens("usage: tokenctl key check [KEY]; tk_live_short stays"),
            "usage: tokenctl key check [KEY]; tk_live_short stays"
        );
    }

    #[test]
    fn exit_status_follows_the_kind() {
        assert_eq!(Failure::invalid("bad token").exit_code(), 1);
        assert_eq!(Failure::usage("no such file").exit_code(), 2);
        assert_eq!(Failure::usage("no such file").to_string(), "no such file");
    }
}
