//! The smallest set of scopes that would satisfy an unmet requirement.
//!
//! The requirement is expanded into disjunctive normal form (each term is a set of
//! scopes that together satisfy it), keeping only terms that no smaller term is a
//! subset of. The smallest term wins. Choosing it is a hitting-set problem, so the
//! number of terms kept is capped; past the cap the smallest terms are kept, which
//! still yields a set that satisfies the requirement, just not always the smallest.

use super::{Node, Requirement};
use crate::{Scope, ScopeSet};

/// The most DNF terms kept while expanding.
const MAX_TERMS: usize = 256;

/// A term: sorted, de-duplicated scopes not yet granted.
type Term<'a> = Vec<&'a Scope>;

pub(super) fn smallest_missing(req: &Requirement, granted: &ScopeSet) -> ScopeSet {
    let best = dnf(req, granted)
        .into_iter()
        .min_by(preference)
        .unwrap_or_default();
    // A wildcard in the term may already cover another of its scopes.
    prune(best, |fix| req.is_satisfied_by(&granted.union(fix)))
        .into_iter()
        .cloned()
        .collect()
}

/// Drops, one at a time, every scope whose removal still leaves `ok` true, so that
/// no single scope of the result can be removed.
pub(crate) fn prune(mut chosen: Vec<&Scope>, ok: impl Fn(&ScopeSet) -> bool) -> Vec<&Scope> {
    let mut i = 0;
    while i < chosen.len() {
        let without: ScopeSet = chosen
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, s)| (*s).clone())
            .collect();
        if ok(&without) {
            chosen.remove(i);
        } else {
            i += 1;
        }
    }
    chosen
}

/// Every minimal way to satisfy `req` from nothing, as sets of scopes.
pub(crate) fn dnf_terms(req: &Requirement) -> Vec<Term<'_>> {
    dnf(req, &ScopeSet::new())
}

fn dnf<'a>(req: &'a Requirement, granted: &ScopeSet) -> Vec<Term<'a>> {
    match &req.node {
        Node::Scope(s) if granted.grants(s) => vec![Vec::new()],
        Node::Scope(s) => vec![vec![s]],
        Node::Any(children) => minimal(children.iter().flat_map(|c| dnf(c, granted)).collect()),
        Node::All(children) => {
            let mut acc: Vec<Term<'a>> = vec![Vec::new()];
            for child in children {
                let options = dnf(child, granted);
                let mut next = Vec::with_capacity(acc.len() * options.len());
                for a in &acc {
                    for o in &options {
                        let mut t: Term<'a> = a.iter().chain(o).copied().collect();
                        t.sort_unstable();
                        t.dedup();
                        next.push(t);
                    }
                }
                acc = minimal(next);
            }
            acc
        }
    }
}

/// Drops every term that contains another term, then caps the count.
fn minimal(mut terms: Vec<Term<'_>>) -> Vec<Term<'_>> {
    terms.sort_unstable_by(preference);
    terms.dedup();
    let mut kept: Vec<Term<'_>> = Vec::new();
    for t in terms {
        if kept.len() == MAX_TERMS {
            break;
        }
        if !kept.iter().any(|k| is_sorted_subset(k, &t)) {
            kept.push(t);
        }
    }
    kept
}

/// Fewer scopes first; among equals, fewer wildcards (narrower grants), then by name
/// so the answer is deterministic.
fn preference(a: &Term<'_>, b: &Term<'_>) -> std::cmp::Ordering {
    let wild = |t: &Term<'_>| t.iter().filter(|s| s.is_wildcard()).count();
    a.len()
        .cmp(&b.len())
        .then_with(|| wild(a).cmp(&wild(b)))
        .then_with(|| a.cmp(b))
}

fn is_sorted_subset(small: &[&Scope], big: &[&Scope]) -> bool {
    let mut it = big.iter();
    small.iter().all(|s| it.any(|b| b == s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing(req: &str, held: &str) -> String {
        let r = Requirement::parse(req).unwrap();
        smallest_missing(&r, &ScopeSet::parse(held).unwrap()).to_string()
    }

    #[test]
    fn picks_the_smallest_term() {
        assert_eq!(missing("a and b", ""), "a b");
        assert_eq!(missing("a and b", "a"), "b");
        assert_eq!(missing("(a and b) or c", ""), "c");
        assert_eq!(missing("(a and b) or (c and d and e)", "c d"), "e");
        assert_eq!(missing("(x or a) and (y or a) and (z or a)", ""), "a");
    }

    #[test]
    fn stays_bounded_on_wide_products() {
        // 2^20 DNF terms before pruning; the cap keeps this cheap and still valid.
        let text = (0..20)
            .map(|i| format!("(a{i} or b{i})"))
            .collect::<Vec<_>>()
            .join(" and ");
        let r = Requirement::parse(&text).unwrap();
        let fix = smallest_missing(&r, &ScopeSet::new());
        assert!(r.is_satisfied_by(&fix));
        assert_eq!(fix.len(), 20);
    }
}
