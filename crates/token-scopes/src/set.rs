//! `ScopeSet`: a canonical set of scopes with exact, wildcard-aware set algebra.

use std::fmt;
use std::str::FromStr;

use crate::scope::{Scope, ScopeError, grants_str};

/// The most scopes a parsed [`ScopeSet`] may hold.
pub const MAX_SCOPES: usize = 256;

/// The longest space-delimited scope string accepted by [`ScopeSet::parse`], in bytes.
pub const MAX_SCOPE_SET_LEN: usize = 16 * 1024;

/// A set of scopes, kept canonical: sorted, de-duplicated, and with every scope that a
/// wildcard in the set already grants removed.
///
/// A wildcard scope stands for the open set of every scope that extends its prefix, so
/// the operations below are exact set algebra over concrete scopes, with one documented
/// exception in [`ScopeSet::difference`].
///
/// ```
/// use token_scopes::ScopeSet;
///
/// let allowed: ScopeSet = "read:* write:notifications".parse()?;
/// let requested: ScopeSet = "read:sales write:billing".parse()?;
/// assert_eq!(allowed.intersect(&requested).to_string(), "read:sales");
/// assert!("read:analytics:*".parse::<ScopeSet>()?.is_subset(&allowed));
/// assert_eq!("b a read:* read:x".parse::<ScopeSet>()?.to_string(), "a b read:*");
/// # Ok::<(), token_scopes::ScopeSetError>(())
/// ```
#[derive(Clone, Default)]
pub struct ScopeSet {
    /// Canonical: sorted, unique, no element granted by another element.
    scopes: Vec<Scope>,
    /// Indices into `scopes` of the wildcards. Their prefixes are sorted and no prefix is
    /// a prefix of another (canonical form guarantees both).
    wildcards: Vec<usize>,
    /// Exact-match index over `scopes`; derived, so left out of equality and hashing.
    index: Index,
}

impl PartialEq for ScopeSet {
    fn eq(&self, other: &Self) -> bool {
        self.scopes == other.scopes
    }
}

impl Eq for ScopeSet {}

impl std::hash::Hash for ScopeSet {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.scopes.hash(state);
    }
}

impl ScopeSet {
    /// The empty set.
    pub fn new() -> Self {
        ScopeSet::default()
    }

    /// Parses the RFC 6749 §3.3 form: scope tokens separated by single spaces.
    /// The empty string is the empty set.
    pub fn parse(text: &str) -> Result<Self, ScopeSetError> {
        if text.len() > MAX_SCOPE_SET_LEN {
            return Err(ScopeSetError::TooLong {
                max: MAX_SCOPE_SET_LEN,
            });
        }
        if text.is_empty() {
            return Ok(ScopeSet::new());
        }
        let mut scopes = Vec::new();
        let mut offset = 0;
        for token in text.split(' ') {
            if scopes.len() == MAX_SCOPES {
                return Err(ScopeSetError::TooMany { max: MAX_SCOPES });
            }
            let scope = Scope::new(token).map_err(|e| ScopeSetError::Scope(e.shifted(offset)))?;
            scopes.push(scope);
            offset += token.len() + 1;
        }
        Ok(ScopeSet::from_vec(scopes))
    }

    /// Builds a set from scopes, canonicalising them.
    pub fn from_scopes<I: IntoIterator<Item = Scope>>(scopes: I) -> Self {
        ScopeSet::from_vec(scopes.into_iter().collect())
    }

    fn from_vec(mut scopes: Vec<Scope>) -> Self {
        // Tokens usually carry canonical scope strings already: skip the sort then.
        if !scopes.is_sorted() {
            scopes.sort_unstable();
        }
        scopes.dedup();
        // In sorted order a wildcard `p*` comes before everything it grants ('*' sorts
        // below every other scope byte), and what it grants is contiguous after it. So
        // one "current wildcard" is enough to drop every covered scope in one pass,
        // compacting in place.
        let mut kept = 0;
        let mut cover: Option<usize> = None;
        for read in 0..scopes.len() {
            if let Some(c) = cover
                && scopes[c].grants(&scopes[read])
            {
                continue;
            }
            if scopes[read].is_wildcard() {
                cover = Some(kept);
            }
            scopes.swap(kept, read);
            kept += 1;
        }
        scopes.truncate(kept);
        let wildcards = scopes
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_wildcard())
            .map(|(i, _)| i)
            .collect();
        let index = Index::build(&scopes);
        ScopeSet {
            scopes,
            wildcards,
            index,
        }
    }

    /// The number of scopes in canonical form.
    pub fn len(&self) -> usize {
        self.scopes.len()
    }

    /// Whether the set grants nothing.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// The scopes in canonical order.
    pub fn iter(&self) -> std::slice::Iter<'_, Scope> {
        self.scopes.iter()
    }

    /// Whether some scope in the set grants `scope` (see [`Scope::grants`]).
    pub fn grants(&self, scope: &Scope) -> bool {
        self.grants_str(scope.as_str())
    }

    /// [`ScopeSet::grants`] on the text of an already-valid scope.
    pub(crate) fn grants_str(&self, wanted: &str) -> bool {
        if self.index.contains(&self.scopes, wanted) {
            return true;
        }
        let holds = |i: usize| grants_str(self.scopes[i].as_str(), wanted);
        if self.wildcards.len() <= 8 {
            // A short scan beats a search for the handful of wildcards sets usually hold.
            return self.wildcards.iter().any(|&i| holds(i));
        }
        // Wildcard prefixes are sorted and prefix-free, so the only one that can be a
        // prefix of `wanted` is the greatest prefix that sorts at or below it.
        let prefix_of = |i: usize| self.scopes[i].wildcard_prefix().unwrap_or_default();
        let after = self.wildcards.partition_point(|&i| prefix_of(i) <= wanted);
        after > 0 && holds(self.wildcards[after - 1])
    }

    /// Whether `scope` itself is a member of the set: granted by name, not through a
    /// wildcard. Cross-tenant power is checked this way, so that `admin:*` or `*` never
    /// reach it.
    ///
    /// The set is canonical, so a member that a wildcard of the set grants is not kept:
    /// `"admin:* admin:tenants"` is `admin:*`, which does not hold `admin:tenants`
    /// exactly. Name such a scope beside scopes that do not cover it
    /// (`admin:keys admin:tenants`).
    ///
    /// ```
    /// use token_scopes::{Scope, ScopeSet};
    ///
    /// let cross = Scope::new("admin:tenants")?;
    /// assert!("admin:keys admin:tenants".parse::<ScopeSet>()?.holds_exactly(&cross));
    /// assert!(!"admin:*".parse::<ScopeSet>()?.holds_exactly(&cross));
    /// assert!(!"*".parse::<ScopeSet>()?.holds_exactly(&cross));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn holds_exactly(&self, scope: &Scope) -> bool {
        self.index.contains(&self.scopes, scope.as_str())
    }

    /// [`ScopeSet::is_subset`], except that `exact` counts as granted by `other` only
    /// when `other` [holds it exactly](ScopeSet::holds_exactly): a creator holding
    /// `admin:*` cannot hand out `admin:tenants`, which would then be held exactly.
    pub fn is_subset_keeping_exact(&self, other: &ScopeSet, exact: &Scope) -> bool {
        self.is_subset(other) && (!self.holds_exactly(exact) || other.holds_exactly(exact))
    }

    /// The least-privilege check: whether everything `self` grants, `other` grants too.
    ///
    /// `read:analytics:*` ⊆ `read:*`, but `read:*` ⊄ `read:analytics:*`.
    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.scopes.iter().all(|s| other.grants(s))
    }

    /// Whether `self` grants everything `other` grants.
    pub fn is_superset(&self, other: &ScopeSet) -> bool {
        other.is_subset(self)
    }

    /// Exactly what both sets grant: allowed `read:*` ∩ requested `read:sales` is
    /// `read:sales`. Used to issue a client no more than it may have and no more than
    /// it asked for.
    pub fn intersect(&self, other: &ScopeSet) -> ScopeSet {
        // Two scopes' grants are nested or disjoint, so their intersection is the
        // narrower one, or nothing.
        let mut out = Vec::new();
        for a in &self.scopes {
            if other.grants(a) {
                out.push(a.clone());
            } else if a.is_wildcard() {
                out.extend(other.scopes.iter().filter(|b| a.grants(b)).cloned());
            }
        }
        ScopeSet::from_vec(out)
    }

    /// [`ScopeSet::intersect`] with `authority` (what may be granted), except that
    /// `exact` is kept only when `authority` [holds it exactly](ScopeSet::holds_exactly):
    /// a client allowed `admin:*` that asks for `admin:tenants` does not get it.
    ///
    /// ```
    /// use token_scopes::{Scope, ScopeSet};
    ///
    /// let cross = Scope::new("admin:tenants")?;
    /// let asked: ScopeSet = "admin:tenants admin:keys".parse()?;
    /// let wildcard: ScopeSet = "admin:*".parse()?;
    /// assert_eq!(asked.intersect_keeping_exact(&wildcard, &cross).to_string(), "admin:keys");
    /// let exact: ScopeSet = "admin:keys admin:tenants".parse()?;
    /// assert!(asked.intersect_keeping_exact(&exact, &cross).holds_exactly(&cross));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn intersect_keeping_exact(&self, authority: &ScopeSet, exact: &Scope) -> ScopeSet {
        let out = self.intersect(authority);
        if out.holds_exactly(exact) && !authority.holds_exactly(exact) {
            out.difference(&ScopeSet::from_vec(vec![exact.clone()]))
        } else {
            out
        }
    }

    /// Everything either set grants.
    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet::from_vec(self.scopes.iter().chain(&other.scopes).cloned().collect())
    }

    /// The scopes of `self` that `other` does not fully grant.
    ///
    /// This is exact except where a wildcard of `self` is only partly granted by
    /// `other` (`read:*` minus `read:sales`): "every read scope but one" has no finite
    /// spelling, so the wildcard is kept whole. The result is therefore the smallest
    /// canonical set that, added to `other`, grants all of `self`, which is what a
    /// "missing scopes" report needs.
    pub fn difference(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet::from_vec(
            self.scopes
                .iter()
                .filter(|s| !other.grants(s))
                .cloned()
                .collect(),
        )
    }

    /// Adds one scope, keeping the set canonical.
    pub fn insert(&mut self, scope: Scope) {
        if !self.grants(&scope) {
            let mut scopes = std::mem::take(&mut self.scopes);
            scopes.push(scope);
            *self = ScopeSet::from_vec(scopes);
        }
    }
}

/// Sets of at most this many scopes are scanned rather than indexed.
const LINEAR_MAX: usize = 8;

/// An open-addressing hash index of a canonical scope list: one hash and, almost
/// always, one string comparison per lookup. Slots hold `position + 1`; 0 is empty.
/// The table is at least twice the number of scopes, so probes stay short.
#[derive(Clone, Default)]
struct Index {
    slots: Box<[u32]>,
    /// `64 - log2(slots.len())`: slots are picked by the hash's top bits, which a
    /// multiplicative hash mixes best.
    shift: u32,
}

impl Index {
    fn build(scopes: &[Scope]) -> Index {
        if scopes.len() <= LINEAR_MAX {
            return Index::default();
        }
        let size = (scopes.len() * 2).next_power_of_two();
        let mut slots = vec![0u32; size].into_boxed_slice();
        let mask = size - 1;
        let shift = 64 - size.trailing_zeros();
        for (i, scope) in scopes.iter().enumerate() {
            let mut slot = slot_of(scope.as_str(), shift);
            while slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            // A set cannot hold 2^32 scopes in memory; were it to, the scope would
            // simply be unindexed and not found (fail closed).
            slots[slot] = u32::try_from(i + 1).unwrap_or(0);
        }
        Index { slots, shift }
    }

    fn contains(&self, scopes: &[Scope], wanted: &str) -> bool {
        if self.slots.is_empty() {
            // Small sets: a scan (length first, then bytes) beats hashing.
            return scopes.iter().any(|s| s.as_str() == wanted);
        }
        let mask = self.slots.len() - 1;
        let mut slot = slot_of(wanted, self.shift);
        loop {
            match self.slots[slot] {
                0 => return false,
                i => {
                    if scopes
                        .get(i as usize - 1)
                        .is_some_and(|s| s.as_str() == wanted)
                    {
                        return true;
                    }
                }
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// A fast non-cryptographic hash (multiply-rotate over 8-byte words), reduced to its
/// top `64 - shift` bits. The inputs come from issued credentials, and collisions only
/// lengthen a bounded probe.
fn slot_of(text: &str, shift: u32) -> usize {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = text.len() as u64;
    for chunk in text.as_bytes().chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    // `shift` is at least 1 and the result fits the table, so this never truncates.
    usize::try_from(h >> shift).unwrap_or(0)
}

impl FromStr for ScopeSet {
    type Err = ScopeSetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScopeSet::parse(s)
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        ScopeSet::from_scopes(iter)
    }
}

impl<'a> IntoIterator for &'a ScopeSet {
    type Item = &'a Scope;
    type IntoIter = std::slice::Iter<'a, Scope>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl From<Scope> for ScopeSet {
    fn from(scope: Scope) -> Self {
        ScopeSet::from_vec(vec![scope])
    }
}

/// The canonical RFC 6749 form: scopes in canonical order, separated by single spaces.
impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.scopes.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.scopes.iter().map(Scope::as_str))
            .finish()
    }
}

/// Serializes as the canonical space-delimited string (the JWT `scope` claim form).
impl serde::Serialize for ScopeSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Deserializes from either the space-delimited string or an array of scope strings.
impl<'de> serde::Deserialize<'de> for ScopeSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ScopeSet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a space-delimited scope string or an array of scopes")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ScopeSet, E> {
                ScopeSet::parse(v).map_err(E::custom)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ScopeSet, A::Error> {
                let mut scopes = Vec::new();
                while let Some(scope) = seq.next_element::<Scope>()? {
                    if scopes.len() == MAX_SCOPES {
                        return Err(serde::de::Error::custom(ScopeSetError::TooMany {
                            max: MAX_SCOPES,
                        }));
                    }
                    scopes.push(scope);
                }
                Ok(ScopeSet::from_vec(scopes))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Why a scope set failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeSetError {
    /// One scope is invalid; its offset is within the whole scope string. Separators
    /// are single spaces, so a doubled, leading or trailing space is an empty scope.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// More than [`MAX_SCOPES`] scopes.
    #[error("more than {max} scopes")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// Longer than [`MAX_SCOPE_SET_LEN`] bytes.
    #[error("scope string longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScopeErrorKind;

    fn set(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    #[test]
    fn exact_scopes_are_never_reached_through_a_wildcard() {
        let cross = Scope::new("admin:tenants").unwrap();
        let big: ScopeSet = (0..20)
            .map(|i| Scope::new(&format!("s{i}")).unwrap())
            .chain([cross.clone()])
            .collect();
        assert!(big.holds_exactly(&cross), "indexed sets too");
        assert!(!big.holds_exactly(&Scope::new("admin:keys").unwrap()));
        let child = set("admin:tenants admin:keys");
        assert!(child.is_subset(&set("admin:*")));
        assert!(!child.is_subset_keeping_exact(&set("admin:*"), &cross));
        assert!(!child.is_subset_keeping_exact(&set("*"), &cross));
        assert!(child.is_subset_keeping_exact(&set("admin:keys admin:tenants"), &cross));
        // A wildcard child does not hold it exactly, so only the plain subset matters.
        assert!(set("admin:*").is_subset_keeping_exact(&set("*"), &cross));
    }

    #[test]
    fn prints_canonically() {
        assert_eq!(set("b a a").to_string(), "a b");
        assert_eq!(set("read:x read:* read:y:*").to_string(), "read:*");
        assert_eq!(set("read:x * write:y").to_string(), "*");
        assert_eq!(set("read read:*").to_string(), "read read:*");
        assert_eq!(set("").to_string(), "");
        assert!(set("").is_empty());
    }

    #[test]
    fn parse_errors_give_the_offset_in_the_whole_string() {
        let e = ScopeSet::parse("read:a  write").unwrap_err();
        let ScopeSetError::Scope(e) = e else { panic!() };
        assert_eq!((e.kind(), e.offset()), (&ScopeErrorKind::Empty, 7));
        let ScopeSetError::Scope(e) = ScopeSet::parse("read:a write:B").unwrap_err() else {
            panic!()
        };
        assert_eq!((e.kind(), e.offset()), (&ScopeErrorKind::Uppercase, 13));
        assert!(matches!(
            ScopeSet::parse("a\tb"),
            Err(ScopeSetError::Scope(_))
        ));
        assert!(matches!(
            ScopeSet::parse(" a"),
            Err(ScopeSetError::Scope(_))
        ));
        assert!(matches!(
            ScopeSet::parse("a "),
            Err(ScopeSetError::Scope(_))
        ));
        let many = vec!["a"; MAX_SCOPES + 1].join(" ");
        assert_eq!(
            ScopeSet::parse(&many),
            Err(ScopeSetError::TooMany { max: MAX_SCOPES })
        );
        let long = "a".repeat(MAX_SCOPE_SET_LEN + 1);
        assert_eq!(
            ScopeSet::parse(&long),
            Err(ScopeSetError::TooLong {
                max: MAX_SCOPE_SET_LEN
            })
        );
    }

    #[test]
    fn grants_is_exact_with_wildcards() {
        let s = set("read:analytics:* write:notifications admin:keys:*");
        let yes = [
            "read:analytics:daily",
            "read:analytics:*",
            "write:notifications",
            "admin:keys:x:y",
        ];
        let no = [
            "read:analytics",
            "read:*",
            "write:*",
            "admin:key",
            "admin:keysx:y",
            "*",
        ];
        for y in yes {
            assert!(s.grants(&y.parse().unwrap()), "{y}");
        }
        for n in no {
            assert!(!s.grants(&n.parse().unwrap()), "{n}");
        }
        assert!(set("*").grants(&"*".parse().unwrap()));
        assert!(!set("").grants(&"a".parse().unwrap()));
    }

    #[test]
    fn many_wildcards_use_the_sorted_search_and_agree_with_a_scan() {
        let text = (0..12)
            .map(|i| format!("w{i}:*"))
            .collect::<Vec<_>>()
            .join(" ");
        let s = set(&format!("{text} w3:x:y plain"));
        assert_eq!(s.wildcards.len(), 12);
        for probe in [
            "w0:a", "w11:a:b", "w1", "w12:a", "w3:x:y", "plain", "w:a", "a", "w5:*",
        ] {
            let p: Scope = probe.parse().unwrap();
            assert_eq!(s.grants(&p), s.iter().any(|m| m.grants(&p)), "{probe}");
        }
    }

    #[test]
    fn subset_is_the_least_privilege_check() {
        assert!(set("read:analytics:*").is_subset(&set("read:*")));
        assert!(!set("read:*").is_subset(&set("read:analytics:*")));
        assert!(set("").is_subset(&set("")));
        assert!(set("a b").is_subset(&set("*")));
        assert!(!set("*").is_subset(&set("a:* b:*")));
        assert!(set("read:*").is_superset(&set("read:a read:b:c")));
        assert!(!set("read:a").is_superset(&set("read:*")));
    }

    #[test]
    fn intersect_union_difference() {
        assert_eq!(
            set("read:*").intersect(&set("read:sales")).to_string(),
            "read:sales"
        );
        assert_eq!(
            set("read:sales").intersect(&set("read:*")).to_string(),
            "read:sales"
        );
        assert_eq!(
            set("read:* write:a")
                .intersect(&set("read:x:* write:b"))
                .to_string(),
            "read:x:*"
        );
        assert!(set("a").intersect(&set("b")).is_empty());
        assert_eq!(
            set("a read:x").union(&set("read:*")).to_string(),
            "a read:*"
        );
        assert_eq!(
            set("a b read:*").difference(&set("b")).to_string(),
            "a read:*"
        );
        assert_eq!(
            set("read:x read:y").difference(&set("read:*")).to_string(),
            ""
        );
        // A partly granted wildcard is kept whole.
        assert_eq!(
            set("read:*").difference(&set("read:x")).to_string(),
            "read:*"
        );
    }

    #[test]
    fn insert_keeps_canonical_form() {
        let mut s = set("read:x");
        s.insert("read:*".parse().unwrap());
        assert_eq!(s.to_string(), "read:*");
        s.insert("read:y".parse().unwrap());
        assert_eq!(s.to_string(), "read:*");
        s.insert("a".parse().unwrap());
        assert_eq!(s, set("a read:*"));
    }

    #[test]
    fn serde_takes_string_or_array_and_writes_the_string() {
        let a: ScopeSet = serde_json::from_str(r#"["b", "a", "read:*", "read:x"]"#).unwrap();
        let b: ScopeSet = serde_json::from_str(r#""read:x read:* a b""#).unwrap();
        assert_eq!(a, b);
        assert_eq!(serde_json::to_string(&a).unwrap(), r#""a b read:*""#);
        assert!(serde_json::from_str::<ScopeSet>(r#"["a", "B"]"#).is_err());
        assert!(serde_json::from_str::<ScopeSet>("7").is_err());
    }

    #[test]
    fn debug_lists_scopes() {
        assert_eq!(format!("{:?}", set("b a")), r#"{"a", "b"}"#);
    }
}
