//! The textual form of a [`Requirement`]: a small recursive-descent parser.

use super::Requirement;
use crate::{Scope, ScopeError};

/// The longest requirement text accepted, in bytes.
pub const MAX_REQUIREMENT_LEN: usize = 4096;

/// The deepest nesting of parentheses accepted.
pub const MAX_REQUIREMENT_DEPTH: usize = 8;

/// The most scopes one requirement may mention.
pub const MAX_REQUIREMENT_SCOPES: usize = 64;

/// Why a requirement failed to parse, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid requirement: {kind} at byte {offset}")]
pub struct RequirementError {
    kind: RequirementErrorKind,
    offset: usize,
}

impl RequirementError {
    /// What was wrong.
    pub fn kind(&self) -> &RequirementErrorKind {
        &self.kind
    }

    /// The byte offset of the problem within the requirement text.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

/// The kinds of [`RequirementError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequirementErrorKind {
    /// A scope, or `(`, was expected here (also: empty input, or a dangling operator).
    #[error("expected a scope or '('")]
    ExpectedOperand,
    /// `and`, `or` or the end was expected here (as in `a b`).
    #[error("expected 'and', 'or' or the end")]
    ExpectedOperator,
    /// `and` and `or` at one level without parentheses.
    #[error("'and' and 'or' mixed without parentheses")]
    MixedOperators,
    /// A `(` that is never closed.
    #[error("unclosed '('")]
    UnclosedParen,
    /// A `)` with no matching `(`.
    #[error("unmatched ')'")]
    UnmatchedParen,
    /// A scope inside the requirement is invalid.
    #[error("{0}")]
    Scope(crate::ScopeErrorKind),
    /// Longer than [`MAX_REQUIREMENT_LEN`].
    #[error("longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Parentheses nested deeper than [`MAX_REQUIREMENT_DEPTH`].
    #[error("parentheses nested deeper than {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// More than [`MAX_REQUIREMENT_SCOPES`] scopes.
    #[error("more than {max} scopes")]
    TooManyScopes {
        /// The limit.
        max: usize,
    },
}

fn error(kind: RequirementErrorKind, offset: usize) -> RequirementError {
    RequirementError { kind, offset }
}

impl From<ScopeError> for RequirementError {
    fn from(e: ScopeError) -> Self {
        error(RequirementErrorKind::Scope(e.kind().clone()), e.offset())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Open,
    Close,
    And,
    Or,
    Word(&'a str),
    End,
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
    scopes: usize,
}

pub(super) fn parse(text: &str) -> Result<Requirement, RequirementError> {
    if text.len() > MAX_REQUIREMENT_LEN {
        return Err(error(
            RequirementErrorKind::TooLong {
                max: MAX_REQUIREMENT_LEN,
            },
            MAX_REQUIREMENT_LEN,
        ));
    }
    let mut p = Parser {
        text,
        pos: 0,
        depth: 0,
        scopes: 0,
    };
    let req = p.expr()?;
    match p.next() {
        (Token::End, _) => Ok(req),
        (Token::Close, at) => Err(error(RequirementErrorKind::UnmatchedParen, at)),
        (_, at) => Err(error(RequirementErrorKind::ExpectedOperator, at)),
    }
}

impl<'a> Parser<'a> {
    /// The next token and its offset; advances past it.
    fn next(&mut self) -> (Token<'a>, usize) {
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() && bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(&b) = bytes.get(start) else {
            return (Token::End, start);
        };
        let token = match b {
            b'(' => Token::Open,
            b')' => Token::Close,
            _ => {
                let len = bytes[start..]
                    .iter()
                    .position(|&c| c.is_ascii_whitespace() || c == b'(' || c == b')')
                    .unwrap_or(bytes.len() - start);
                // Whitespace and parentheses are ASCII, so `start + len` is a char boundary.
                let word = &self.text[start..start + len];
                self.pos = start + len;
                return (
                    match word {
                        "and" => Token::And,
                        "or" => Token::Or,
                        _ => Token::Word(word),
                    },
                    start,
                );
            }
        };
        self.pos = start + 1;
        (token, start)
    }

    fn peek(&mut self) -> (Token<'a>, usize) {
        let saved = self.pos;
        let t = self.next();
        self.pos = saved;
        t
    }

    /// `operand (op operand)*`, with one operator kind per level.
    fn expr(&mut self) -> Result<Requirement, RequirementError> {
        let mut parts = vec![self.operand()?];
        let mut op: Option<Token<'a>> = None;
        loop {
            let (t, at) = self.peek();
            if !matches!(t, Token::And | Token::Or) {
                break;
            }
            if op.is_some_and(|o| o != t) {
                return Err(error(RequirementErrorKind::MixedOperators, at));
            }
            op = Some(t);
            self.next();
            parts.push(self.operand()?);
        }
        let grouped = if op == Some(Token::Or) {
            Requirement::any(parts)
        } else {
            Requirement::all(parts)
        };
        // `parts` is never empty, so the group always exists.
        grouped.ok_or_else(|| error(RequirementErrorKind::ExpectedOperand, self.pos))
    }

    fn operand(&mut self) -> Result<Requirement, RequirementError> {
        match self.next() {
            (Token::Open, at) => {
                self.depth += 1;
                if self.depth > MAX_REQUIREMENT_DEPTH {
                    return Err(error(
                        RequirementErrorKind::TooDeep {
                            max: MAX_REQUIREMENT_DEPTH,
                        },
                        at,
                    ));
                }
                let inner = self.expr()?;
                match self.next() {
                    (Token::Close, _) => {}
                    (Token::End, _) => {
                        return Err(error(RequirementErrorKind::UnclosedParen, at));
                    }
                    (_, at) => return Err(error(RequirementErrorKind::ExpectedOperator, at)),
                }
                self.depth -= 1;
                Ok(inner)
            }
            (Token::Word(word), at) => {
                self.scopes += 1;
                if self.scopes > MAX_REQUIREMENT_SCOPES {
                    return Err(error(
                        RequirementErrorKind::TooManyScopes {
                            max: MAX_REQUIREMENT_SCOPES,
                        },
                        at,
                    ));
                }
                let scope = Scope::new(word).map_err(|e| e.shifted(at))?;
                Ok(Requirement::scope(scope))
            }
            (_, at) => Err(error(RequirementErrorKind::ExpectedOperand, at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScopeErrorKind;

    fn err(s: &str) -> (RequirementErrorKind, usize) {
        let e = Requirement::parse(s).unwrap_err();
        (e.kind().clone(), e.offset())
    }

    #[test]
    fn parses_and_prints_round_trip() {
        for text in [
            "a",
            "read:sales and (read:analytics or admin:*)",
            "a or b or c",
            "(a and b) or (c and d)",
            "a and (b or (c and d))",
            "*",
        ] {
            let r = Requirement::parse(text).unwrap();
            assert_eq!(r.to_string(), text);
            assert_eq!(Requirement::parse(&r.to_string()).unwrap(), r);
        }
    }

    #[test]
    fn redundant_parentheses_and_whitespace_normalise() {
        let r = Requirement::parse(" ((a))  and\t(b and c) ").unwrap();
        assert_eq!(r.to_string(), "a and b and c");
    }

    #[test]
    fn every_error_names_what_and_where() {
        use RequirementErrorKind as K;
        assert_eq!(err(""), (K::ExpectedOperand, 0));
        assert_eq!(err("a and"), (K::ExpectedOperand, 5));
        assert_eq!(err("and a"), (K::ExpectedOperand, 0));
        assert_eq!(err("a b"), (K::ExpectedOperator, 2));
        assert_eq!(err("a and b or c"), (K::MixedOperators, 8));
        assert_eq!(err("(a or b"), (K::UnclosedParen, 0));
        assert_eq!(err("a)"), (K::UnmatchedParen, 1));
        assert_eq!(err("()"), (K::ExpectedOperand, 1));
        assert_eq!(err("(a b)"), (K::ExpectedOperator, 3));
        assert_eq!(err("a and Read"), (K::Scope(ScopeErrorKind::Uppercase), 6));
        assert_eq!(
            err("a or b&c"),
            (K::Scope(ScopeErrorKind::InvalidChar('&')), 6)
        );
        let deep = format!("{}a{}", "(".repeat(9), ")".repeat(9));
        assert_eq!(err(&deep), (K::TooDeep { max: 8 }, 8));
        let ok = format!("{}a{}", "(".repeat(8), ")".repeat(8));
        assert!(Requirement::parse(&ok).is_ok());
        let many = vec!["a"; MAX_REQUIREMENT_SCOPES + 1].join(" or ");
        assert_eq!(
            err(&many).0,
            K::TooManyScopes {
                max: MAX_REQUIREMENT_SCOPES
            }
        );
        let long = "a".repeat(MAX_REQUIREMENT_LEN + 1);
        assert_eq!(
            err(&long).0,
            K::TooLong {
                max: MAX_REQUIREMENT_LEN
            }
        );
        assert_eq!(
            Requirement::parse("a and b or c").unwrap_err().to_string(),
            "invalid requirement: 'and' and 'or' mixed without parentheses at byte 8"
        );
    }
}
