//! A segment trie that matches request paths to rules.
//!
//! Priority is positional: at each segment a literal beats a parameter, which beats a
//! catch-all, and the search backtracks, so `/a/b` prefers `/a/b` over `/a/{x}` over
//! `/a/*rest`, and a rule whose path matches but whose methods do not lets a less
//! specific rule answer. Each trie node is visited at most once per lookup.

use super::MethodSet;
use super::template::{MAX_PARAMS, Segment};

#[derive(Debug, Default)]
pub(super) struct Node {
    /// Sorted by segment text.
    literals: Vec<(Box<str>, Node)>,
    param: Option<Box<Node>>,
    here: Vec<Endpoint>,
    catch_all: Vec<Endpoint>,
}

#[derive(Debug, Clone, Copy)]
struct Endpoint {
    methods: MethodSet,
    rule: usize,
}

/// Byte spans of captured parameters, in capture order. Fixed-size: no allocation.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Params {
    spans: [(u32, u32); MAX_PARAMS],
    len: usize,
}

impl Params {
    fn push(&mut self, start: usize, end: usize) -> bool {
        let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(end)) else {
            return false;
        };
        match self.spans.get_mut(self.len) {
            Some(slot) => {
                *slot = (start, end);
                self.len += 1;
                true
            }
            None => false,
        }
    }

    pub(super) fn get<'r>(&self, path: &'r str, i: usize) -> Option<&'r str> {
        let &(s, e) = self.spans[..self.len].get(i)?;
        path.get(s as usize..e as usize)
    }
}

impl Node {
    /// Adds a rule. On a conflict, returns the index of the rule already there.
    pub(super) fn insert(
        &mut self,
        segments: &[Segment],
        methods: MethodSet,
        rule: usize,
    ) -> Result<(), usize> {
        let Some((first, rest)) = segments.split_first() else {
            return add(&mut self.here, methods, rule);
        };
        match first {
            Segment::Literal(text) => {
                let i = match self.literals.binary_search_by(|(k, _)| k.cmp(text)) {
                    Ok(i) => i,
                    Err(i) => {
                        self.literals.insert(i, (text.clone(), Node::default()));
                        i
                    }
                };
                self.literals[i].1.insert(rest, methods, rule)
            }
            Segment::Param(_) => self
                .param
                .get_or_insert_with(Box::default)
                .insert(rest, methods, rule),
            Segment::CatchAll(_) => add(&mut self.catch_all, methods, rule),
        }
    }

    /// Finds the rule for `method` on `path` (which starts with `/`).
    pub(super) fn find(&self, method: &str, path: &str, params: &mut Params) -> Option<usize> {
        if !path.starts_with('/') {
            return None;
        }
        self.find_from(method, path, Some(1), params)
    }

    /// `pos` is where the next segment starts, or `None` when the path is consumed.
    fn find_from(
        &self,
        method: &str,
        path: &str,
        pos: Option<usize>,
        params: &mut Params,
    ) -> Option<usize> {
        let Some(start) = pos else {
            return pick(&self.here, method);
        };
        let rest = path.get(start..)?;
        let (end, next) = match rest.find('/') {
            Some(i) => (start + i, Some(start + i + 1)),
            None => (path.len(), None),
        };
        let segment = &path[start..end];
        if let Ok(i) = self.literals.binary_search_by(|(k, _)| (**k).cmp(segment))
            && let Some(rule) = self.literals[i].1.find_from(method, path, next, params)
        {
            return Some(rule);
        }
        if let Some(child) = &self.param {
            let saved = *params;
            if !segment.is_empty()
                && params.push(start, end)
                && let Some(rule) = child.find_from(method, path, next, params)
            {
                return Some(rule);
            }
            *params = saved;
        }
        if !rest.is_empty()
            && let Some(rule) = pick(&self.catch_all, method)
            && params.push(start, path.len())
        {
            return Some(rule);
        }
        None
    }
}

/// A rule for specific methods wins over one for any method on the same path.
fn pick(endpoints: &[Endpoint], method: &str) -> Option<usize> {
    let mut any = None;
    for e in endpoints {
        if e.methods.contains(method) {
            if !e.methods.is_any() {
                return Some(e.rule);
            }
            any = Some(e.rule);
        }
    }
    any
}

/// Two rules conflict when both list specific methods that overlap, or both are "any".
fn add(endpoints: &mut Vec<Endpoint>, methods: MethodSet, rule: usize) -> Result<(), usize> {
    if let Some(other) = endpoints
        .iter()
        .find(|e| e.methods.is_any() == methods.is_any() && e.methods.overlaps(methods))
    {
        return Err(other.rule);
    }
    endpoints.push(Endpoint { methods, rule });
    Ok(())
}
