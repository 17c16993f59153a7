//! Least-privilege analysis: what a grant does not need, and what a set of routes does.

use crate::requirement::{dnf_terms, prune};
use crate::{Policy, Scope, ScopeSet};

/// How many search steps [`Policy::minimal_scopes`] may take before settling for an
/// irreducible (rather than provably smallest) answer.
const SEARCH_BUDGET: usize = 100_000;

/// The result of [`Policy::analyze`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    granted: ScopeSet,
    unused: ScopeSet,
    narrowest: ScopeSet,
}

impl Analysis {
    /// Granted scopes that no rule can ever use (over-privilege).
    pub fn unused(&self) -> &ScopeSet {
        &self.unused
    }

    /// The narrowest grant that reaches exactly the same routes: the scopes the policy
    /// mentions that the grant covers. Swapping the grant for it changes no decision,
    /// so a wide `read:*` shrinks to the read scopes the routes actually check.
    pub fn narrowest(&self) -> &ScopeSet {
        &self.narrowest
    }

    /// Whether the grant already is its own narrowest equivalent.
    pub fn is_least_privilege(&self) -> bool {
        self.granted == self.narrowest
    }
}

/// Why [`Policy::minimal_scopes`] could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnalysisError {
    /// No rule matches one of the routes asked about.
    #[error("no rule matches {method} {path}")]
    NoRule {
        /// The method asked about.
        method: String,
        /// The path asked about.
        path: String,
    },
}

impl Policy {
    /// Every scope the policy checks: requirement scopes and the cross-tenant scope.
    pub fn mentioned_scopes(&self) -> ScopeSet {
        self.rules()
            .iter()
            .filter_map(|r| r.requirement())
            .flat_map(|r| r.scopes())
            .chain(self.cross_tenant_scope())
            .cloned()
            .collect()
    }

    /// Reports over-privilege in `granted`: the scopes no rule can use, and the
    /// narrowest grant that reaches exactly the same routes.
    ///
    /// ```
    /// use token_scopes::{Policy, RuleSpec, ScopeSet};
    ///
    /// let policy = Policy::builder()
    ///     .rule(RuleSpec::new("GET", "/api/reports").require("read:reports"))
    ///     .rule(RuleSpec::new("GET", "/api/sales").require("read:sales or admin:*"))
    ///     .build()?;
    /// let granted: ScopeSet = "read:* write:billing".parse()?;
    /// let report = policy.analyze(&granted);
    /// assert_eq!(report.unused().to_string(), "write:billing");
    /// assert_eq!(report.narrowest().to_string(), "read:reports read:sales");
    /// assert!(!report.is_least_privilege());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn analyze(&self, granted: &ScopeSet) -> Analysis {
        let leaves: Vec<&Scope> = self
            .rules()
            .iter()
            .filter_map(|r| r.requirement())
            .flat_map(|r| r.scopes())
            .chain(self.cross_tenant_scope())
            .collect();
        // The cross-tenant scope is used only by its exact holder, never through a
        // wildcard: `admin:*` does not cross tenants, so the narrowest grant it shrinks
        // to must not either.
        let exact = |leaf: &Scope| self.cross_tenant_scope() == Some(leaf);
        let reaches = |g: &Scope, leaf: &Scope| {
            if exact(leaf) {
                g == leaf || (g.grants(leaf) && self.requires(leaf))
            } else {
                g.grants(leaf)
            }
        };
        let unused = granted
            .iter()
            .filter(|g| !leaves.iter().any(|leaf| reaches(g, leaf)))
            .cloned()
            .collect();
        let narrowest = leaves
            .into_iter()
            .filter(|leaf| {
                if exact(leaf) {
                    granted.holds_exactly(leaf)
                } else {
                    granted.grants(leaf)
                }
            })
            .cloned()
            .collect();
        Analysis {
            granted: granted.clone(),
            unused,
            narrowest,
        }
    }

    /// Whether some rule's requirement names `scope`.
    fn requires(&self, scope: &Scope) -> bool {
        self.rules()
            .iter()
            .filter_map(|r| r.requirement())
            .any(|r| r.scopes().contains(&scope))
    }

    /// The smallest set of scopes that reaches every listed `(method, path)`.
    ///
    /// Choosing among `or` alternatives across routes is a hitting-set problem; the
    /// search is exact within a fixed budget and otherwise returns a set from which no
    /// scope can be removed without losing a route. Tenant bindings are assumed to be
    /// met by the principal's own tenant; public and authenticated-only routes need no
    /// scope.
    ///
    /// ```
    /// use token_scopes::{Policy, RuleSpec};
    ///
    /// let policy = Policy::builder()
    ///     .rule(RuleSpec::new("GET", "/api/reports").require("read:reports or admin:*"))
    ///     .rule(RuleSpec::new("POST", "/api/reports").require("write:reports or admin:*"))
    ///     .build()?;
    /// let need = policy.minimal_scopes(&[("GET", "/api/reports"), ("POST", "/api/reports")])?;
    /// assert_eq!(need.to_string(), "admin:*");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn minimal_scopes(&self, routes: &[(&str, &str)]) -> Result<ScopeSet, AnalysisError> {
        let mut options: Vec<Vec<Vec<&Scope>>> = Vec::new();
        for &(method, path) in routes {
            let route = self
                .match_route(method, path)
                .ok_or_else(|| AnalysisError::NoRule {
                    method: method.to_owned(),
                    path: path.to_owned(),
                })?;
            if let Some(requirement) = route.rule().requirement() {
                options.push(dnf_terms(requirement));
            }
        }
        options.sort_by_key(Vec::len);
        let mut search = Search {
            options: &options,
            best: greedy(&options),
            budget: SEARCH_BUDGET,
        };
        search.run(0, &[]);
        // Irreducible even if the budget ran out.
        let best = prune(search.best, |set| satisfies_all(&options, set));
        Ok(best.into_iter().cloned().collect())
    }
}

fn union<'a>(a: &[&'a Scope], b: &[&'a Scope]) -> Vec<&'a Scope> {
    let mut out: Vec<&Scope> = a.iter().chain(b).copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn satisfies_all(options: &[Vec<Vec<&Scope>>], set: &ScopeSet) -> bool {
    options
        .iter()
        .all(|terms| terms.iter().any(|t| t.iter().all(|s| set.grants(s))))
}

/// For each route in turn, the alternative that adds the fewest new scopes.
fn greedy<'a>(options: &[Vec<Vec<&'a Scope>>]) -> Vec<&'a Scope> {
    let mut chosen: Vec<&Scope> = Vec::new();
    for terms in options {
        if let Some(best) = terms.iter().map(|t| union(&chosen, t)).min_by_key(Vec::len) {
            chosen = best;
        }
    }
    chosen
}

struct Search<'o, 'a> {
    options: &'o [Vec<Vec<&'a Scope>>],
    best: Vec<&'a Scope>,
    budget: usize,
}

impl<'a> Search<'_, 'a> {
    /// Branch and bound over one alternative per route.
    fn run(&mut self, route: usize, chosen: &[&'a Scope]) {
        if self.budget == 0 || chosen.len() >= self.best.len() {
            return;
        }
        self.budget -= 1;
        let Some(terms) = self.options.get(route) else {
            self.best = chosen.to_vec();
            return;
        };
        for term in terms {
            self.run(route + 1, &union(chosen, term));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Policy, RuleSpec, ScopeSet};

    fn policy() -> Policy {
        Policy::builder()
            .rule(RuleSpec::new("GET", "/health").public())
            .rule(RuleSpec::new("GET", "/me").authenticated())
            .rule(RuleSpec::new("GET", "/a").require("(x or p) and (y or p)"))
            .rule(RuleSpec::new("GET", "/b").require("y and z"))
            .rule(RuleSpec::new("GET", "/c").require("q or w"))
            .cross_tenant_scope("admin:tenants")
            .build()
            .unwrap()
    }

    #[test]
    fn minimal_scopes_is_the_smallest_cover() {
        let p = policy();
        let need = |routes: &[(&str, &str)]| p.minimal_scopes(routes).unwrap().to_string();
        assert_eq!(need(&[("GET", "/health"), ("GET", "/me")]), "");
        assert_eq!(need(&[("GET", "/a")]), "p");
        // `/b` forces y; then x covers `/a` with one more scope, as does p.
        assert_eq!(need(&[("GET", "/a"), ("GET", "/b")]), "p y z");
        assert_eq!(need(&[("GET", "/c")]), "q");
        let err = p.minimal_scopes(&[("GET", "/nope")]).unwrap_err();
        assert_eq!(err.to_string(), "no rule matches GET /nope");
    }

    #[test]
    fn minimal_scopes_satisfies_every_route() {
        let p = policy();
        let routes = [("GET", "/a"), ("GET", "/b"), ("GET", "/c")];
        let need = p.minimal_scopes(&routes).unwrap();
        for (m, path) in routes {
            let who = crate::Grant::new(&need);
            assert!(p.authorize(m, path, Some(&who)).is_allowed(), "{path}");
        }
    }

    #[test]
    fn analysis_finds_unused_and_narrowest() {
        let p = policy();
        let granted: ScopeSet = "x:* y p admin:* unrelated".parse().unwrap();
        let a = p.analyze(&granted);
        // `admin:*` does not cross tenants (the cross-tenant scope is held exactly or
        // not at all), so it is unused, and the narrowest grant does not cross either.
        assert_eq!(a.unused().to_string(), "admin:* unrelated x:*");
        assert_eq!(a.narrowest().to_string(), "p y");
        let exact: ScopeSet = "admin:tenants p".parse().unwrap();
        assert_eq!(p.analyze(&exact).narrowest().to_string(), "admin:tenants p");
        assert!(p.analyze(&exact).unused().is_empty());
        let tight = p.analyze(a.narrowest());
        assert!(tight.is_least_privilege());
        assert!(tight.unused().is_empty());
        assert!(!a.is_least_privilege());
        assert_eq!(
            p.mentioned_scopes().to_string(),
            "admin:tenants p q w x y z"
        );
    }
}
