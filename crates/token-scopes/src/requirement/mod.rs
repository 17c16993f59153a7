//! `Requirement`: what a route needs, as scopes combined with `and` / `or`.

mod hint;
mod parse;

pub(crate) use hint::{dnf_terms, prune};

use std::fmt;
use std::str::FromStr;

pub use parse::{
    MAX_REQUIREMENT_DEPTH, MAX_REQUIREMENT_LEN, MAX_REQUIREMENT_SCOPES, RequirementError,
    RequirementErrorKind,
};

use crate::{Scope, ScopeSet};

/// What a principal must hold: a scope, all of several requirements, or any of them.
///
/// The textual form is `read:sales and (read:analytics or admin:*)`: `and` and `or`
/// are lowercase keywords, and mixing them at one level needs parentheses, so a policy
/// never depends on a reader remembering precedence. Printing gives the same form
/// back, and parsing the printed form gives an equal requirement.
///
/// Requirements are monotone: a principal that satisfies one still satisfies it after
/// gaining scopes. There is deliberately no `not`, which would let extra privilege deny
/// access and make least-privilege analysis unsound.
///
/// ```
/// use token_scopes::{Requirement, ScopeSet};
///
/// let need: Requirement = "read:sales and (read:analytics or admin:*)".parse()?;
/// let held: ScopeSet = "read:*".parse()?;
/// assert!(need.evaluate(&held).is_ok());
///
/// let held: ScopeSet = "read:sales".parse()?;
/// let unmet = need.evaluate(&held).unwrap_err();
/// assert_eq!(unmet.missing().to_string(), "read:analytics");
/// assert_eq!(unmet.failed().to_string(), "read:analytics or admin:*");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    node: Node,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Node {
    Scope(Scope),
    /// At least two children, none of which is itself an `All`.
    All(Vec<Requirement>),
    /// At least two children, none of which is itself an `Any`.
    Any(Vec<Requirement>),
}

/// A read-only view of a [`Requirement`]'s top level.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Expr<'a> {
    /// One scope must be granted.
    Scope(&'a Scope),
    /// Every child must be satisfied.
    All(&'a [Requirement]),
    /// At least one child must be satisfied.
    Any(&'a [Requirement]),
}

impl Requirement {
    /// A requirement for one scope.
    pub fn scope(scope: Scope) -> Self {
        Requirement {
            node: Node::Scope(scope),
        }
    }

    /// All of `parts`. Nested `all`s are flattened and a single part stands alone.
    ///
    /// Returns `None` for an empty list: a requirement that is always met must be
    /// written as a public or authenticated-only route, not as an empty `all`.
    pub fn all<I: IntoIterator<Item = Requirement>>(parts: I) -> Option<Self> {
        Self::group(parts, true)
    }

    /// Any of `parts`. Nested `any`s are flattened and a single part stands alone.
    ///
    /// Returns `None` for an empty list, which nothing could satisfy.
    pub fn any<I: IntoIterator<Item = Requirement>>(parts: I) -> Option<Self> {
        Self::group(parts, false)
    }

    fn group<I: IntoIterator<Item = Requirement>>(parts: I, all: bool) -> Option<Self> {
        let mut flat = Vec::new();
        for part in parts {
            match part.node {
                Node::All(children) if all => flat.extend(children),
                Node::Any(children) if !all => flat.extend(children),
                node => flat.push(Requirement { node }),
            }
        }
        match flat.len() {
            0 => None,
            1 => flat.pop(),
            _ => Some(Requirement {
                node: if all {
                    Node::All(flat)
                } else {
                    Node::Any(flat)
                },
            }),
        }
    }

    /// Parses the textual form.
    pub fn parse(text: &str) -> Result<Self, RequirementError> {
        parse::parse(text)
    }

    /// The top level of this requirement.
    pub fn expr(&self) -> Expr<'_> {
        match &self.node {
            Node::Scope(s) => Expr::Scope(s),
            Node::All(c) => Expr::All(c),
            Node::Any(c) => Expr::Any(c),
        }
    }

    /// Every scope the requirement mentions, in order of appearance.
    pub fn scopes(&self) -> Vec<&Scope> {
        let mut out = Vec::new();
        self.collect_scopes(&mut out);
        out
    }

    fn collect_scopes<'a>(&'a self, out: &mut Vec<&'a Scope>) {
        match &self.node {
            Node::Scope(s) => out.push(s),
            Node::All(c) | Node::Any(c) => c.iter().for_each(|r| r.collect_scopes(out)),
        }
    }

    /// Whether `granted` satisfies this requirement. Allocation-free.
    pub fn is_satisfied_by(&self, granted: &ScopeSet) -> bool {
        match &self.node {
            Node::Scope(s) => granted.grants(s),
            Node::All(c) => c.iter().all(|r| r.is_satisfied_by(granted)),
            Node::Any(c) => c.iter().any(|r| r.is_satisfied_by(granted)),
        }
    }

    /// Evaluates against `granted`. On denial, says which part failed and the
    /// smallest set of scopes that, added to `granted`, would satisfy the requirement
    /// (the RFC 6750 `scope` hint).
    pub fn evaluate(&self, granted: &ScopeSet) -> Result<(), Unsatisfied> {
        if self.is_satisfied_by(granted) {
            return Ok(());
        }
        let failed = match &self.node {
            Node::All(c) => c
                .iter()
                .find(|r| !r.is_satisfied_by(granted))
                .unwrap_or(self),
            _ => self,
        };
        Err(Unsatisfied {
            failed: failed.clone(),
            missing: hint::smallest_missing(self, granted),
        })
    }

    fn fmt_child(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.node {
            Node::Scope(_) => fmt::Display::fmt(self, f),
            _ => write!(f, "({self})"),
        }
    }
}

impl From<Scope> for Requirement {
    fn from(scope: Scope) -> Self {
        Requirement::scope(scope)
    }
}

impl FromStr for Requirement {
    type Err = RequirementError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Requirement::parse(s)
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (children, op) = match &self.node {
            Node::Scope(s) => return f.write_str(s.as_str()),
            Node::All(c) => (c, " and "),
            Node::Any(c) => (c, " or "),
        };
        for (i, child) in children.iter().enumerate() {
            if i > 0 {
                f.write_str(op)?;
            }
            child.fmt_child(f)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Requirement({self})")
    }
}

impl serde::Serialize for Requirement {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Requirement {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Requirement::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A requirement that was not met: the part that failed and what would satisfy it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsatisfied {
    failed: Requirement,
    missing: ScopeSet,
}

impl Unsatisfied {
    /// The failing part: the first unmet clause of a top-level `and`, otherwise the
    /// whole requirement.
    pub fn failed(&self) -> &Requirement {
        &self.failed
    }

    /// The smallest set of scopes that, added to what was held, satisfies the whole
    /// requirement. Never empty.
    pub fn missing(&self) -> &ScopeSet {
        &self.missing
    }
}

impl fmt::Display for Unsatisfied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "requirement `{}` not met; missing scopes: {}",
            self.failed, self.missing
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(s: &str) -> Requirement {
        Requirement::parse(s).unwrap()
    }
    fn set(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    #[test]
    fn constructors_normalise() {
        let a = req("a");
        let ab = Requirement::all([a.clone(), req("b")]).unwrap();
        let abc = Requirement::all([ab.clone(), req("c")]).unwrap();
        assert_eq!(abc.to_string(), "a and b and c");
        assert_eq!(Requirement::all([a.clone()]).unwrap(), a);
        assert!(Requirement::any([]).is_none());
        let mixed = Requirement::any([ab, req("c")]).unwrap();
        assert_eq!(mixed.to_string(), "(a and b) or c");
        assert!(matches!(mixed.expr(), Expr::Any(c) if c.len() == 2));
    }

    #[test]
    fn evaluates_all_and_any() {
        let r = req("read:sales and (read:analytics or admin:*)");
        assert!(r.is_satisfied_by(&set("read:sales admin:*")));
        assert!(r.is_satisfied_by(&set("read:*")));
        assert!(r.is_satisfied_by(&set("*")));
        assert!(!r.is_satisfied_by(&set("read:sales admin:keys")));
        assert!(!r.is_satisfied_by(&set("")));
    }

    #[test]
    fn denial_names_the_failed_part_and_the_smallest_fix() {
        let r = req("read:sales and (read:analytics or admin:*)");
        let u = r.evaluate(&set("read:analytics")).unwrap_err();
        assert_eq!(u.failed().to_string(), "read:sales");
        assert_eq!(u.missing().to_string(), "read:sales");

        let u = r.evaluate(&set("")).unwrap_err();
        assert_eq!(u.failed().to_string(), "read:sales");
        assert_eq!(u.missing().to_string(), "read:analytics read:sales");

        // The smallest fix is exact, not greedy: `a` alone satisfies both groups.
        let r = req("(b or a) and (a or c)");
        assert_eq!(r.evaluate(&set("")).unwrap_err().missing().to_string(), "a");

        let r = req("x or (y and z)");
        let u = r.evaluate(&set("y")).unwrap_err();
        assert_eq!(u.failed(), &r);
        assert_eq!(u.missing().to_string(), "x");
        let u = r.evaluate(&set("y")).unwrap_err();
        assert_eq!(
            u.to_string(),
            "requirement `x or (y and z)` not met; missing scopes: x"
        );
    }

    #[test]
    fn lists_scopes_in_order() {
        let r = req("b and (a or c)");
        let names: Vec<_> = r.scopes().iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["b", "a", "c"]);
    }

    #[test]
    fn serde_uses_the_textual_form() {
        let r: Requirement = serde_json::from_str(r#""a and (b or c)""#).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), r#""a and (b or c)""#);
        assert!(serde_json::from_str::<Requirement>(r#""a and""#).is_err());
    }
}
