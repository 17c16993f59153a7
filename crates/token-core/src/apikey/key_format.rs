//! The API-key format: `{prefix}_{body}`, where the body is 30 base62 characters of
//! randomness (178 bits) followed by a 6-character base62 CRC32 of everything before it.
//!
//! The checksum lets secret scanners and our own verifier reject a mistyped or random
//! string without a lookup (the scheme GitHub uses). It is not a security control: the
//! 178 random bits are.

use std::fmt;

use zeroize::Zeroizing;

/// Random base62 characters in a key body (30 × log2(62) ≈ 178.6 bits).
pub const RANDOM_CHARS: usize = 30;

/// Base62 characters of the CRC32 checksum (62⁶ > 2³²).
pub const CHECKSUM_CHARS: usize = 6;

/// The longest prefix accepted, in bytes.
pub const MAX_PREFIX_LEN: usize = 32;

/// The longest key any format produces.
pub(crate) const MAX_KEY_LEN: usize = MAX_PREFIX_LEN + 1 + RANDOM_CHARS + CHECKSUM_CHARS;

/// The regular expression matching every tokenkit API key (documented in
/// `docs/api-keys.md` for secret scanners).
pub const KEY_REGEX: &str = r"\b[a-z0-9]+(?:_[a-z0-9]+)*_[0-9A-Za-z]{36}\b";

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A freshly minted API key. It is shown once: it zeroizes on drop, redacts itself in
/// `Debug` and `Display`, and has no `Serialize`.
pub struct ApiKeySecret {
    text: Zeroizing<String>,
}

impl ApiKeySecret {
    /// The key text. Give it to its owner once; never log or store it.
    pub fn expose_secret(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret([redacted])")
    }
}

impl fmt::Display for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted API key]")
    }
}

/// A key whose format and checksum are right (nothing else is known yet).
#[derive(Clone, Copy)]
pub struct ParsedKey<'a> {
    text: &'a str,
    prefix_len: usize,
}

impl<'a> ParsedKey<'a> {
    /// The prefix, such as `tk_live`.
    pub fn prefix(&self) -> &'a str {
        &self.text[..self.prefix_len]
    }

    /// The whole key (secret).
    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

    /// A non-secret hint for people: the prefix and the first four random characters,
    /// as in `tk_live_3Fq9…` (22 bits of the 178; not enough to help a guess).
    pub fn display_hint(&self) -> String {
        let start = self.prefix_len + 1;
        format!("{}_{}…", self.prefix(), &self.text[start..start + 4])
    }
}

impl fmt::Debug for ParsedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ParsedKey({})", self.display_hint())
    }
}

/// Why a string is not one of our API keys. Never includes the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// Not `{prefix}_{36 base62 characters}`.
    #[error("not an API key (expected prefix_ followed by 36 base62 characters)")]
    Malformed,
    /// The checksum does not match: a typo, a truncated copy, or a made-up string.
    #[error("API key checksum does not match (mistyped or not a real key)")]
    BadChecksum,
    /// Well-formed, but its prefix is not one this service accepts.
    #[error("API key prefix is not accepted here")]
    UnknownPrefix,
    /// A prefix that is not lowercase letters and digits with inner `_`.
    #[error("a prefix is lowercase letters and digits with inner '_', at most 32 bytes")]
    BadPrefix,
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Rng,
}

impl FormatError {
    /// The stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            FormatError::Malformed | FormatError::BadPrefix => "key_malformed",
            FormatError::BadChecksum => "key_checksum",
            FormatError::UnknownPrefix => "key_prefix",
            FormatError::Rng => "internal_error",
        }
    }
}

/// Which prefixes a service mints and accepts. Keys minted before a prefix change keep
/// working while their old prefix stays in the accepted set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFormat {
    mint: String,
    accepted: Vec<String>,
}

impl KeyFormat {
    /// Mints and accepts `prefix` (for example `tk_live`).
    pub fn new(prefix: &str) -> Result<KeyFormat, FormatError> {
        check_prefix(prefix)?;
        Ok(KeyFormat {
            mint: prefix.to_owned(),
            accepted: vec![prefix.to_owned()],
        })
    }

    /// A format for one of tokenkit's own fixed, valid prefixes (`tk_cs`, `tk_rt`).
    pub(crate) fn internal(prefix: &'static str) -> KeyFormat {
        debug_assert!(check_prefix(prefix).is_ok());
        KeyFormat {
            mint: prefix.to_owned(),
            accepted: vec![prefix.to_owned()],
        }
    }

    /// Also accepts `prefix` (an older one).
    pub fn accept(mut self, prefix: &str) -> Result<KeyFormat, FormatError> {
        check_prefix(prefix)?;
        if !self.accepted.iter().any(|p| p == prefix) {
            self.accepted.push(prefix.to_owned());
        }
        Ok(self)
    }

    /// The prefix new keys get.
    pub fn mint_prefix(&self) -> &str {
        &self.mint
    }

    /// Whether `key` starts with an accepted prefix followed by `_` (a cheap test to
    /// route a credential to API-key verification).
    pub fn claims(&self, key: &str) -> bool {
        self.accepted.iter().any(|p| {
            key.len() > p.len() && key.starts_with(p.as_str()) && key.as_bytes()[p.len()] == b'_'
        })
    }

    /// Generates a new key from `ring::rand::SystemRandom`.
    pub fn generate(&self) -> Result<ApiKeySecret, FormatError> {
        let mut text = Zeroizing::new(String::with_capacity(
            self.mint.len() + 1 + RANDOM_CHARS + CHECKSUM_CHARS,
        ));
        text.push_str(&self.mint);
        text.push('_');
        push_base62(&mut text, RANDOM_CHARS, system_random)?;
        let sum = checksum(text.as_bytes());
        text.push_str(&sum);
        Ok(ApiKeySecret { text })
    }

    /// Checks format, accepted prefix and checksum. No lookup, no allocation.
    pub fn parse<'a>(&self, key: &'a str) -> Result<ParsedKey<'a>, FormatError> {
        // Fast path: an accepted (already validated) prefix, then body and checksum.
        for prefix in &self.accepted {
            let p = prefix.len();
            if key.len() == p + 1 + RANDOM_CHARS + CHECKSUM_CHARS
                && key.as_bytes()[p] == b'_'
                && key.starts_with(prefix.as_str())
            {
                return check_body(key, p);
            }
        }
        // Otherwise say precisely what is wrong.
        check(key)?;
        Err(FormatError::UnknownPrefix)
    }
}

/// Fills `pool` from `ring::rand::SystemRandom`.
pub(crate) fn system_random(pool: &mut [u8]) -> Result<(), FormatError> {
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), pool)
        .map_err(|_| FormatError::Rng)
}

/// Appends `count` uniform base62 characters drawn from the bytes `fill` writes
/// ([`system_random`] outside tests): key bodies and key ids.
pub(crate) fn push_base62(
    text: &mut String,
    count: usize,
    mut fill: impl FnMut(&mut [u8]) -> Result<(), FormatError>,
) -> Result<(), FormatError> {
    let mut filled = 0;
    let mut pool = Zeroizing::new([0u8; 64]);
    while filled < count {
        fill(&mut pool[..])?;
        // Rejection sampling: 248 = 4 × 62, so `b % 62` is uniform for b < 248.
        for &b in pool.iter().filter(|b| **b < 248) {
            if filled == count {
                break;
            }
            text.push(char::from(BASE62[usize::from(b % 62)]));
            filled += 1;
        }
    }
    Ok(())
}

/// Checks the 36 characters after `{prefix}_`, `prefix_len` bytes in.
fn check_body(key: &str, prefix_len: usize) -> Result<ParsedKey<'_>, FormatError> {
    let body = &key.as_bytes()[prefix_len + 1..];
    if !body.iter().all(u8::is_ascii_alphanumeric) {
        return Err(FormatError::Malformed);
    }
    let (signed, sum) = key.as_bytes().split_at(key.len() - CHECKSUM_CHARS);
    if checksum_digits(signed) != sum {
        return Err(FormatError::BadChecksum);
    }
    Ok(ParsedKey {
        text: key,
        prefix_len,
    })
}

/// Checks that `key` looks like a tokenkit API key with any valid prefix and a correct
/// checksum: what a secret scanner or a pre-commit hook needs, with no store.
pub fn check(key: &str) -> Result<ParsedKey<'_>, FormatError> {
    let body_len = RANDOM_CHARS + CHECKSUM_CHARS;
    if key.len() < body_len + 2 || key.len() > MAX_KEY_LEN {
        return Err(FormatError::Malformed);
    }
    let prefix_len = key.len() - body_len - 1;
    // Byte-wise: `key` may hold multi-byte characters anywhere.
    if key.as_bytes()[prefix_len] != b'_' {
        return Err(FormatError::Malformed);
    }
    match key.get(..prefix_len) {
        Some(prefix) if check_prefix(prefix).is_ok() => check_body(key, prefix_len),
        _ => Err(FormatError::Malformed),
    }
}

fn check_prefix(prefix: &str) -> Result<(), FormatError> {
    let ok = !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_LEN
        && prefix.split('_').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(FormatError::BadPrefix)
    }
}

/// CRC32 (IEEE) of `bytes` as 6 base62 digits, most significant first.
fn checksum_digits(bytes: &[u8]) -> [u8; CHECKSUM_CHARS] {
    let mut value = crc32fast::hash(bytes);
    let mut out = [b'0'; CHECKSUM_CHARS];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out
}

/// [`checksum_digits`] as text.
fn checksum(bytes: &[u8]) -> String {
    checksum_digits(bytes)
        .iter()
        .map(|b| char::from(*b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a key from chosen random characters (the property test's input).
    fn key_with(prefix: &str, random: &str) -> String {
        let mut text = format!("{prefix}_{random}");
        let sum = checksum(text.as_bytes());
        text.push_str(&sum);
        text
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// CRC32 detects every single-byte change and every burst of up to 32 bits, so
        /// every single-character substitution and adjacent transposition is caught.
        #[test]
        fn checksum_catches_every_substitution_and_transposition(
            random in "[0-9A-Za-z]{30}",
            prefix in "[a-z][a-z0-9]{0,5}(_[a-z0-9]{1,4})?",
        ) {
            let key = key_with(&prefix, &random);
            proptest::prop_assert!(check(&key).is_ok());
            let bytes = key.as_bytes();
            let alphabet: Vec<u8> = BASE62.iter().copied().chain(*b"_").collect();
            for i in 0..bytes.len() {
                for &c in &alphabet {
                    if c == bytes[i] {
                        continue;
                    }
                    let mut changed = bytes.to_vec();
                    changed[i] = c;
                    let changed = String::from_utf8(changed).unwrap();
                    proptest::prop_assert!(check(&changed).is_err(), "substitution at {} went unnoticed", i);
                }
                if i + 1 < bytes.len() && bytes[i] != bytes[i + 1] {
                    let mut swapped = bytes.to_vec();
                    swapped.swap(i, i + 1);
                    let swapped = String::from_utf8(swapped).unwrap();
                    proptest::prop_assert!(check(&swapped).is_err(), "transposition at {} went unnoticed", i);
                }
            }
        }
    }

    #[test]
    fn generated_keys_parse_and_match_the_published_shape() {
        let format = KeyFormat::new("tk_live").unwrap();
        let key = format.generate().unwrap();
        let text = key.expose_secret();
        assert_eq!(text.len(), "tk_live_".len() + 36);
        assert!(text.starts_with("tk_live_"));
        let parsed = format.parse(text).unwrap();
        assert_eq!(parsed.prefix(), "tk_live");
        assert_eq!(parsed.display_hint(), format!("{}…", &text[..12]));
        assert!(format.claims(text));
        assert_ne!(format.generate().unwrap().expose_secret(), text);
    }

    #[test]
    fn secrets_never_show_themselves() {
        let key = KeyFormat::new("tk_test").unwrap().generate().unwrap();
        let text = key.expose_secret().to_owned();
        for shown in [format!("{key}"), format!("{key:?}")] {
            assert!(!shown.contains(&text[8..]), "{shown}");
        }
        // Redacted, and saying so (an empty string would hide that a key was there).
        assert_eq!(format!("{key}"), "[redacted API key]");
        assert_eq!(format!("{key:?}"), "ApiKeySecret([redacted])");
        let parsed = check(&text).unwrap();
        assert_eq!(
            format!("{parsed:?}"),
            format!("ParsedKey({}…)", &text[..12])
        );
    }

    #[test]
    fn the_body_is_uniform_base62_by_rejection_sampling() {
        // A first pool of bytes that must all be rejected (248..=255 would bias
        // `b % 62`), then one whose bytes map one to one onto the alphabet.
        let mut calls = 0;
        let mut text = String::new();
        push_base62(&mut text, RANDOM_CHARS, |pool| {
            calls += 1;
            for (i, b) in pool.iter_mut().enumerate() {
                *b = if calls == 1 {
                    248 + u8::try_from(i % 8).unwrap()
                } else {
                    u8::try_from(i + 62).unwrap() // 62.. so that `% 62` and `/ 62` differ
                };
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, 2);
        let expected: String = (0..RANDOM_CHARS).map(|i| char::from(BASE62[i])).collect();
        assert_eq!(text, expected);

        // A failing generator is an error, not a short key.
        let mut text = String::new();
        assert_eq!(
            push_base62(&mut text, RANDOM_CHARS, |_| Err(FormatError::Rng)),
            Err(FormatError::Rng)
        );
    }

    #[test]
    fn keys_with_the_longest_prefix_are_accepted() {
        let prefix = "a".repeat(MAX_PREFIX_LEN);
        let format = KeyFormat::new(&prefix).unwrap();
        assert_eq!(format.mint_prefix(), prefix);
        let key = format.generate().unwrap();
        assert_eq!(key.expose_secret().len(), MAX_KEY_LEN);
        assert!(check(key.expose_secret()).is_ok());
        assert!(format.parse(key.expose_secret()).is_ok());
        // One byte more is not a key.
        assert_eq!(
            check(&format!("a{}", key.expose_secret())).unwrap_err(),
            FormatError::Malformed
        );
    }

    #[test]
    fn short_input_is_malformed_without_panicking() {
        let format = KeyFormat::new("tk_live").unwrap();
        // Around the shortest possible key (a one-byte prefix, `_`, 36 characters).
        for n in 0..=40 {
            let text = "a".repeat(n);
            assert!(check(&text).is_err(), "{n}");
            assert!(format.parse(&text).is_err(), "{n}");
        }
        // The bare prefix, with and without its separator, is not claimed.
        assert!(!format.claims("tk_live"));
        assert!(!format.claims("tk_liv"));
        assert!(format.claims("tk_live_"));
    }

    #[test]
    fn rejects_without_lookup() {
        let format = KeyFormat::new("tk_live").unwrap();
        let key = format.generate().unwrap();
        let text = key.expose_secret();
        assert_eq!(check("tk_live_short").unwrap_err(), FormatError::Malformed);
        assert_eq!(check("").unwrap_err(), FormatError::Malformed);
        assert_eq!(
            check(&format!("TK_{}", &text[8..])).unwrap_err(),
            FormatError::Malformed
        );
        assert_eq!(
            check(&text.replace("tk_live_", "tk_live__")).unwrap_err(),
            FormatError::Malformed
        );
        let mut flipped = text.to_owned();
        let last = flipped.pop().unwrap();
        flipped.push(if last == 'a' { 'b' } else { 'a' });
        assert_eq!(check(&flipped).unwrap_err(), FormatError::BadChecksum);
        let other = KeyFormat::new("tk_test").unwrap().generate().unwrap();
        assert_eq!(
            format.parse(other.expose_secret()).unwrap_err(),
            FormatError::UnknownPrefix
        );
        let both = format.clone().accept("tk_test").unwrap();
        assert!(both.parse(other.expose_secret()).is_ok());
        assert_eq!(KeyFormat::new("Tk").unwrap_err(), FormatError::BadPrefix);
        assert_eq!(KeyFormat::new("tk_").unwrap_err(), FormatError::BadPrefix);
        assert_eq!(KeyFormat::new("_tk").unwrap_err(), FormatError::BadPrefix);
        assert!(check("é".repeat(30).as_str()).is_err());
        // Multi-byte characters at every offset never panic.
        for n in 0..40 {
            let text = format!("{}é{}", "a".repeat(n), "b".repeat(40 - n));
            assert!(check(&text).is_err());
            assert!(format.parse(&text).is_err());
        }
    }
}
