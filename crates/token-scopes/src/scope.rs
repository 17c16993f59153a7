//! A single scope: `segment(:segment)*`, optionally ending in a `*` wildcard.

use std::fmt;
use std::str::FromStr;

/// The longest scope accepted, in bytes.
pub const MAX_SCOPE_LEN: usize = 128;

/// The most `:`-separated segments a scope may have (a final `*` counts as one).
pub const MAX_SCOPE_DEPTH: usize = 8;

/// A validated scope such as `read:analytics` or `reports:2024:*`.
///
/// Grammar: one or more segments separated by `:`. A segment is one or more of
/// lowercase ASCII letters, digits, `_`, `-` and `.`. The final segment may instead be
/// the single character `*`, which grants every scope that extends the prefix at any
/// depth: `read:*` grants `read:analytics` and `read:analytics:daily`, but not `read`
/// itself. A bare `*` grants everything and is meant to be written on purpose.
///
/// Parsing never panics; an error names what is wrong and the byte offset.
///
/// ```
/// use token_scopes::Scope;
///
/// let wide: Scope = "read:*".parse()?;
/// let narrow: Scope = "read:analytics:daily".parse()?;
/// assert!(wide.grants(&narrow));
/// assert!(!narrow.grants(&wide));
/// assert!("Read:x".parse::<Scope>().is_err());
/// # Ok::<(), token_scopes::ScopeError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    text: Box<str>,
}

impl Scope {
    /// Parses and validates a scope.
    pub fn new(text: &str) -> Result<Self, ScopeError> {
        validate(text)?;
        Ok(Scope { text: text.into() })
    }

    /// The superuser scope `*`, which grants every scope.
    pub fn superuser() -> Self {
        Scope { text: "*".into() }
    }

    /// The scope as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the last segment is the `*` wildcard.
    pub fn is_wildcard(&self) -> bool {
        self.text.ends_with('*')
    }

    /// Whether this is the bare superuser scope `*`.
    pub fn is_superuser(&self) -> bool {
        &*self.text == "*"
    }

    /// The segments, in order (a wildcard's last segment is `"*"`).
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.text.split(':')
    }

    /// Whether holding `self` grants `other`: they are equal, or `self` is a wildcard
    /// whose prefix `other` extends by at least one segment.
    ///
    /// Read as sets of concrete scopes, this is `other ⊆ self`, so it is reflexive and
    /// transitive; `read:*` grants `read:analytics:*` but not the reverse.
    pub fn grants(&self, other: &Scope) -> bool {
        grants_str(&self.text, &other.text)
    }

    /// For a wildcard, the text before the `*` (`"read:"` for `read:*`, `""` for `*`).
    pub(crate) fn wildcard_prefix(&self) -> Option<&str> {
        self.text.strip_suffix('*')
    }
}

/// `grants` on already-validated text; shared by [`Scope`] and [`crate::ScopeSet`].
pub(crate) fn grants_str(holder: &str, wanted: &str) -> bool {
    match holder.strip_suffix('*') {
        None => holder == wanted,
        // A valid scope never ends in ':', so any `wanted` that starts with the prefix
        // extends it by at least one segment (or is the wildcard itself).
        Some(prefix) => wanted.starts_with(prefix),
    }
}

fn validate(text: &str) -> Result<(), ScopeError> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(ScopeError::new(ScopeErrorKind::Empty, 0));
    }
    if bytes.len() > MAX_SCOPE_LEN {
        return Err(ScopeError::new(
            ScopeErrorKind::TooLong { max: MAX_SCOPE_LEN },
            MAX_SCOPE_LEN,
        ));
    }
    let mut depth = 1;
    let mut segment_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => {}
            b':' => {
                if i == segment_start {
                    return Err(ScopeError::new(ScopeErrorKind::EmptySegment, i));
                }
                depth += 1;
                if depth > MAX_SCOPE_DEPTH {
                    return Err(ScopeError::new(
                        ScopeErrorKind::TooDeep {
                            max: MAX_SCOPE_DEPTH,
                        },
                        i,
                    ));
                }
                segment_start = i + 1;
            }
            b'*' => {
                if i != segment_start {
                    return Err(ScopeError::new(ScopeErrorKind::PartialWildcard, i));
                }
                if i + 1 != bytes.len() {
                    return Err(ScopeError::new(ScopeErrorKind::WildcardNotLast, i));
                }
            }
            b'A'..=b'Z' => {
                return Err(ScopeError::new(ScopeErrorKind::Uppercase, i));
            }
            _ => {
                // Report the whole character, not a byte of it.
                let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
                return Err(ScopeError::new(ScopeErrorKind::InvalidChar(ch), i));
            }
        }
    }
    if segment_start == bytes.len() {
        return Err(ScopeError::new(ScopeErrorKind::EmptySegment, bytes.len()));
    }
    Ok(())
}

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::new(s)
    }
}

impl TryFrom<&str> for Scope {
    type Error = ScopeError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Scope::new(s)
    }
}

impl AsRef<str> for Scope {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({:?})", &*self.text)
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Scope;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scope such as \"read:reports\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scope, E> {
                Scope::new(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// Why a scope failed to parse, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scope: {kind} at byte {offset}")]
pub struct ScopeError {
    kind: ScopeErrorKind,
    offset: usize,
}

impl ScopeError {
    pub(crate) fn new(kind: ScopeErrorKind, offset: usize) -> Self {
        ScopeError { kind, offset }
    }

    /// What was wrong.
    pub fn kind(&self) -> &ScopeErrorKind {
        &self.kind
    }

    /// The byte offset of the problem, within the text that was parsed.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The same error with its offset moved by `by` bytes, for errors inside a larger text.
    pub(crate) fn shifted(mut self, by: usize) -> Self {
        self.offset += by;
        self
    }
}

/// The kinds of [`ScopeError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeErrorKind {
    /// The scope was the empty string.
    #[error("empty scope")]
    Empty,
    /// The scope is longer than [`MAX_SCOPE_LEN`].
    #[error("longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// The scope has more than [`MAX_SCOPE_DEPTH`] segments.
    #[error("more than {max} segments")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// Two `:` in a row, or a leading or trailing `:`.
    #[error("empty segment")]
    EmptySegment,
    /// An uppercase letter; scopes are lowercase.
    #[error("uppercase letter (scopes are lowercase)")]
    Uppercase,
    /// A character outside `a-z 0-9 _ - . : *`.
    #[error("character {0:?} is not allowed (use a-z, 0-9, '_', '-', '.', ':')")]
    InvalidChar(char),
    /// `*` mixed with other characters in one segment, as in `re*`.
    #[error("'*' must be a whole segment")]
    PartialWildcard,
    /// `*` followed by more segments, as in `*:read`.
    #[error("'*' must be the last segment")]
    WildcardNotLast,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bare_star_is_the_superuser() {
        assert!(Scope::new("*").unwrap().is_superuser());
        for s in ["admin:*", "read:reports", "a:b:*"] {
            assert!(!Scope::new(s).unwrap().is_superuser(), "{s}");
        }
        let scope = Scope::new("read:reports:*").unwrap();
        let parts: Vec<&str> = scope.segments().collect();
        assert_eq!(parts, ["read", "reports", "*"]);
    }

    fn err(s: &str) -> (ScopeErrorKind, usize) {
        let e = Scope::new(s).unwrap_err();
        (e.kind().clone(), e.offset())
    }

    #[test]
    fn accepts_the_documented_examples() {
        for s in [
            "read:user_profile",
            "read:analytics_data",
            "write:notifications",
            "access:specific_endpoint",
            "reports:2024:read",
            "read:*",
            "*",
            "a.b-c_d:9",
        ] {
            assert_eq!(Scope::new(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn every_error_names_what_and_where() {
        assert_eq!(err(""), (ScopeErrorKind::Empty, 0));
        assert_eq!(err(":a"), (ScopeErrorKind::EmptySegment, 0));
        assert_eq!(err("a::b"), (ScopeErrorKind::EmptySegment, 2));
        assert_eq!(err("a:"), (ScopeErrorKind::EmptySegment, 2));
        assert_eq!(err("read:Sales"), (ScopeErrorKind::Uppercase, 5));
        assert_eq!(err("read sales"), (ScopeErrorKind::InvalidChar(' '), 4));
        assert_eq!(err("réad"), (ScopeErrorKind::InvalidChar('é'), 1));
        assert_eq!(err("re*"), (ScopeErrorKind::PartialWildcard, 2));
        assert_eq!(err("*a"), (ScopeErrorKind::WildcardNotLast, 0));
        assert_eq!(err("*:read"), (ScopeErrorKind::WildcardNotLast, 0));
        assert_eq!(err("a:**"), (ScopeErrorKind::WildcardNotLast, 2));
        let long = "a".repeat(MAX_SCOPE_LEN + 1);
        assert_eq!(
            err(&long),
            (
                ScopeErrorKind::TooLong { max: MAX_SCOPE_LEN },
                MAX_SCOPE_LEN
            )
        );
        assert!(Scope::new(&"a".repeat(MAX_SCOPE_LEN)).is_ok());
        let deep = ["a"; MAX_SCOPE_DEPTH + 1].join(":");
        assert_eq!(
            err(&deep),
            (
                ScopeErrorKind::TooDeep {
                    max: MAX_SCOPE_DEPTH
                },
                2 * MAX_SCOPE_DEPTH - 1
            )
        );
        assert!(Scope::new(&["a"; MAX_SCOPE_DEPTH].join(":")).is_ok());
    }

    #[test]
    fn error_messages_are_actionable() {
        let e = Scope::new("read:Sales").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid scope: uppercase letter (scopes are lowercase) at byte 5"
        );
    }

    #[test]
    fn wildcard_grants_extensions_at_any_depth_but_not_its_prefix() {
        let s = |t: &str| Scope::new(t).unwrap();
        assert!(s("read:*").grants(&s("read:analytics")));
        assert!(s("read:*").grants(&s("read:analytics:daily")));
        assert!(s("read:*").grants(&s("read:analytics:*")));
        assert!(s("read:*").grants(&s("read:*")));
        assert!(!s("read:*").grants(&s("read")));
        assert!(!s("read:*").grants(&s("reader:x")));
        assert!(!s("read:analytics:*").grants(&s("read:*")));
        assert!(!s("read:analytics").grants(&s("read:analytics:daily")));
        assert!(s("*").grants(&s("anything:at:all")));
        assert!(s("*").grants(&s("*")));
        assert!(!s("admin:*").grants(&s("*")));
    }

    #[test]
    fn serde_round_trips_and_rejects_invalid() {
        let s: Scope = serde_json::from_str("\"read:x\"").unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"read:x\"");
        let e = serde_json::from_str::<Scope>("\"Read\"").unwrap_err();
        assert!(e.to_string().contains("uppercase"), "{e}");
    }
}
