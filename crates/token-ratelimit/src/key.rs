//! Which limit a request is counted against: layers, compact keys and limit names.

use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::{Mutex, OnceLock, PoisonError};

/// The tiers of limits a request passes through, in evaluation order (named so as
/// not to clash with tower's `Layer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Tier {
    /// Per principal (API key or token subject), with per-key overrides.
    Principal,
    /// Per tenant, shared by all of a tenant's principals.
    Tenant,
    /// Per principal within a route class (from the matched policy rule).
    Route,
    /// One limit shared by every request.
    Global,
}

impl Tier {
    /// The tier's name as used in headers (`principal`, `tenant`, `route`, `global`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Principal => "principal",
            Self::Tenant => "tenant",
            Self::Route => "route",
            Self::Global => "global",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The longest route class name, in bytes.
pub(crate) const MAX_CLASS_LEN: usize = 32;

/// The name of one limit, as shown in the `RateLimit-Policy` header: `principal`,
/// `tenant`, `global`, or the route class name. Two words, `Copy`; only ASCII letters,
/// digits, `_`, `-` and `.` occur, so it needs no escaping in headers.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LimitName {
    tier: Tier,
    name: &'static str,
}

impl LimitName {
    pub(crate) const fn tier_only(tier: Tier) -> Self {
        Self {
            tier,
            name: tier.name(),
        }
    }

    /// `class` must have passed [`valid_class_name`]. Class names are interned for the
    /// life of the process: each distinct name ever configured costs its few bytes once.
    pub(crate) fn route(class: &str) -> Self {
        Self {
            tier: Tier::Route,
            name: intern(class),
        }
    }

    /// The tier this limit belongs to.
    pub fn tier(&self) -> Tier {
        self.tier
    }

    /// The name: the route class for [`Tier::Route`], else the tier's name.
    pub fn as_str(&self) -> &'static str {
        self.name
    }
}

fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

impl fmt::Display for LimitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for LimitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LimitName({:?})", self.as_str())
    }
}

/// The names of the layers that have a single limit.
pub(crate) static PRINCIPAL: LimitName = LimitName::tier_only(Tier::Principal);
pub(crate) static TENANT: LimitName = LimitName::tier_only(Tier::Tenant);
pub(crate) static GLOBAL: LimitName = LimitName::tier_only(Tier::Global);

/// Whether `name` may name a route class: 1 to 32 ASCII letters, digits, `_`, `-`, `.`.
pub(crate) fn valid_class_name(name: &str) -> bool {
    (1..=MAX_CLASS_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// One counter a request is checked against: which limit, and whose.
///
/// A local store uses [`hash`](Self::hash), a keyed 64-bit hash (random per
/// limiter, so not predictable by callers and not stable across processes); a shared
/// store (e.g. Redis) builds its own key from [`name`](Self::name),
/// [`key`](Self::key) and [`is_anonymous`](Self::is_anonymous), which are the same on
/// every replica.
#[derive(Debug, Clone, Copy)]
pub struct LimitKey<'a> {
    name: &'a LimitName,
    key: &'a str,
    hash: u64,
    anonymous: bool,
}

impl<'a> LimitKey<'a> {
    /// The limit this counter belongs to.
    pub fn name(&self) -> LimitName {
        *self.name
    }

    /// Whose counter: the principal id for principal and route limits, the tenant
    /// for tenant limits, empty for the global limit.
    pub fn key(&self) -> &'a str {
        self.key
    }

    /// A keyed hash of (limit, key, anonymous), unique per counter with overwhelming
    /// probability.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// Whether the counter belongs to anonymous traffic (a
    /// [`CheckRequest::anonymous`](crate::CheckRequest::anonymous) request). Stores keep
    /// such counters apart from principals' (the [`LocalStore`](crate::backend::LocalStore) in a
    /// table of its own), so anonymous traffic can never exhaust what principals need;
    /// a shared store should put them in their own namespace.
    pub fn is_anonymous(&self) -> bool {
        self.anonymous
    }
}

/// Hashes one limit's keys with that limit's own random SipHash-1-3 key, so the same
/// id under two limits gives unrelated hashes and callers cannot predict them.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyHasher {
    state: RandomState,
}

impl KeyHasher {
    #[inline]
    pub(crate) fn key<'a>(&self, name: &'a LimitName, key: &'a str) -> LimitKey<'a> {
        self.key_of(name, key, false)
    }

    /// The counter of `key` under `name`, for a principal or for anonymous traffic (a
    /// distinct counter even for the same text).
    #[inline]
    pub(crate) fn key_of<'a>(
        &self,
        name: &'a LimitName,
        key: &'a str,
        anonymous: bool,
    ) -> LimitKey<'a> {
        let mut h = self.state.build_hasher();
        h.write_u8(u8::from(anonymous));
        h.write(key.as_bytes());
        LimitKey {
            name,
            key,
            hash: h.finish(),
            anonymous,
        }
    }

    /// A key that is never looked up (fills unused batch slots).
    pub(crate) const fn placeholder() -> LimitKey<'static> {
        LimitKey {
            name: &GLOBAL,
            key: "",
            hash: 0,
            anonymous: false,
        }
    }
}

/// A `Hasher` for keys that already are uniformly distributed 64-bit hashes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed with this; fold anything else in for safety.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_print_the_layer_or_the_class() {
        assert_eq!(LimitName::tier_only(Tier::Tenant).to_string(), "tenant");
        let search = LimitName::route("search.v2");
        assert_eq!(search.as_str(), "search.v2");
        assert_eq!(search.tier(), Tier::Route);
        assert_eq!(format!("{search:?}"), "LimitName(\"search.v2\")");
        // Interned once: the same class name is the same memory.
        assert!(std::ptr::eq(
            search.as_str(),
            LimitName::route("search.v2").as_str()
        ));
    }

    #[test]
    fn class_names_are_validated() {
        assert!(valid_class_name("search-heavy_1.x"));
        assert!(!valid_class_name(""));
        assert!(!valid_class_name("has space"));
        assert!(!valid_class_name("quote\""));
        assert!(!valid_class_name(&"a".repeat(33)));
        assert!(valid_class_name(&"a".repeat(32)));
    }

    #[test]
    fn hashes_separate_limits_and_keys() {
        let (principal, route) = (KeyHasher::default(), KeyHasher::default());
        let a = principal.key(&PRINCIPAL, "alice").hash();
        assert_eq!(a, principal.key(&PRINCIPAL, "alice").hash());
        assert_ne!(a, principal.key(&PRINCIPAL, "bob").hash());
        // Another limit (or another limiter) hashes with another key.
        assert_ne!(a, route.key(&PRINCIPAL, "alice").hash());
        assert_eq!(principal.key(&TENANT, "x").name(), TENANT);
        // Anonymous traffic with the same text is another counter.
        let anonymous = principal.key_of(&PRINCIPAL, "alice", true);
        assert!(anonymous.is_anonymous() && !principal.key(&PRINCIPAL, "alice").is_anonymous());
        assert_ne!(a, anonymous.hash());
    }

    #[test]
    fn prehashed_passes_u64_through() {
        let mut h = PreHashed::default();
        h.write_u64(42);
        assert_eq!(h.finish(), 42);
    }
}
