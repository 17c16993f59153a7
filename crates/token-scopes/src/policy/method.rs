//! Sets of HTTP methods, as a bit mask.

use std::fmt;

const NAMES: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
];
/// The bit for every method not in `NAMES` (extension methods); only "any" matches it.
const OTHER: u16 = 1 << NAMES.len();
const ANY: u16 = (OTHER << 1) - 1;
const GET: u16 = 1;
const HEAD: u16 = 1 << 1;

/// The HTTP methods a rule applies to: a set of standard methods, or any method.
///
/// Method names are case-sensitive (RFC 9110 §9.1): `GET` is a method, `get` is not.
/// `*` means any method, including extension methods.
///
/// A set with `GET` also applies to `HEAD`: servers answer `HEAD` with the `GET`
/// handler (axum does), so `HEAD` must be authorized exactly as `GET` is. A rule for
/// `GET` therefore overlaps a rule for `HEAD` on the same template.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MethodSet(u16);

impl MethodSet {
    /// Every method, including extension methods.
    pub const ANY: MethodSet = MethodSet(ANY);

    /// Parses one method name (`GET`) or `*`.
    pub fn parse(name: &str) -> Option<MethodSet> {
        if name == "*" {
            return Some(MethodSet::ANY);
        }
        NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| MethodSet(1 << i))
    }

    /// The set of both.
    pub fn union(self, other: MethodSet) -> MethodSet {
        MethodSet(self.0 | other.0)
    }

    /// Whether the set applies to a request with this method (`HEAD` wherever `GET`).
    pub fn contains(self, method: &str) -> bool {
        self.effective() & bit(method) != 0
    }

    /// Whether this is "any method".
    pub fn is_any(self) -> bool {
        self.0 == ANY
    }

    pub(crate) fn overlaps(self, other: MethodSet) -> bool {
        self.effective() & other.effective() != 0
    }

    /// The methods the set applies to: its own, plus `HEAD` when it has `GET`.
    fn effective(self) -> u16 {
        if self.0 & GET == 0 {
            self.0
        } else {
            self.0 | HEAD
        }
    }
}

fn bit(method: &str) -> u16 {
    // Compare on length first: this runs once per request.
    let i = match method.len() {
        3 => match method {
            "GET" => 0,
            "PUT" => 3,
            _ => return OTHER,
        },
        4 => match method {
            "HEAD" => 1,
            "POST" => 2,
            _ => return OTHER,
        },
        5 => match method {
            "PATCH" => 5,
            "TRACE" => 7,
            _ => return OTHER,
        },
        6 if method == "DELETE" => 4,
        7 => match method {
            "OPTIONS" => 6,
            "CONNECT" => 8,
            _ => return OTHER,
        },
        _ => return OTHER,
    };
    1 << i
}

impl fmt::Display for MethodSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_any() {
            return f.write_str("*");
        }
        let mut first = true;
        for (i, name) in NAMES.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for MethodSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MethodSet({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_keep_shared_methods_and_names_match_exactly() {
        let get = MethodSet::parse("GET").unwrap();
        let both = get.union(MethodSet::parse("HEAD").unwrap());
        assert!(both.contains("HEAD") && both.contains("GET"));
        assert!(get.union(get).contains("GET"), "a method in both stays");
        let delete = MethodSet::parse("DELETE").unwrap();
        assert!(delete.contains("DELETE"));
        for other in ["UNLOCK", "DELETX", "SEARCH"] {
            assert!(!delete.contains(other), "{other}");
        }
    }

    #[test]
    fn parses_and_matches() {
        let get = MethodSet::parse("GET").unwrap();
        let post = MethodSet::parse("POST").unwrap();
        assert!(get.contains("GET"));
        assert!(!get.contains("get"));
        assert!(get.contains("HEAD"), "HEAD is answered by the GET handler");
        assert!(!MethodSet::parse("HEAD").unwrap().contains("GET"));
        assert!(get.overlaps(MethodSet::parse("HEAD").unwrap()));
        assert_eq!(get.to_string(), "GET");
        assert!(get.union(post).contains("POST"));
        assert!(MethodSet::ANY.contains("PROPFIND"));
        assert!(!get.union(post).contains("PROPFIND"));
        assert!(MethodSet::parse("get").is_none());
        assert!(MethodSet::parse("").is_none());
        for name in NAMES {
            assert!(MethodSet::parse(name).unwrap().contains(name), "{name}");
        }
        assert_eq!(get.union(post).to_string(), "GET,POST");
        assert_eq!(MethodSet::ANY.to_string(), "*");
    }
}
