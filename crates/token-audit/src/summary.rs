//! For tools that report on a log (`tokenctl audit stats`): [`LogSummary`], counts of an audit file by kind, outcome, reason, key and tenant,
//! read as a stream. Lines that are not events are counted, never fatal.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufRead, Read};

use serde::{Deserialize, Serialize};

use crate::chain::MAX_LINE_LEN;
use crate::event::bounded;

/// The most distinct values kept per table; the rest are counted under `(other)`.
pub const MAX_DISTINCT: usize = 100_000;

/// Counts of events by kind, outcome, reason, key and tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LogSummary {
    /// Lines read.
    pub lines: u64,
    /// Event lines.
    pub events: u64,
    /// Checkpoint lines.
    pub checkpoints: u64,
    /// Lines that are not audit lines (not JSON, no `kind`, too long, ...).
    pub malformed: u64,
    /// The earliest event time seen (RFC 3339).
    pub first_time: Option<String>,
    /// The latest event time seen (RFC 3339).
    pub last_time: Option<String>,
    /// Events by kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Events by outcome.
    pub by_outcome: BTreeMap<String, u64>,
    /// Events by reason code.
    pub by_reason: BTreeMap<String, u64>,
    /// Events by key id.
    pub by_key: BTreeMap<String, u64>,
    /// Events by tenant.
    pub by_tenant: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct Loose<'a> {
    #[serde(default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    outcome: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    key_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tenant: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    time: Option<Cow<'a, str>>,
    #[serde(default)]
    checkpoint: Option<serde::de::IgnoredAny>,
}

fn bump(table: &mut BTreeMap<String, u64>, value: &str) {
    let value = bounded(value, 128);
    if table.len() >= MAX_DISTINCT && !table.contains_key(&value) {
        *table.entry("(other)".to_owned()).or_default() += 1;
    } else {
        *table.entry(value).or_default() += 1;
    }
}

impl LogSummary {
    /// An empty summary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one line (without its newline).
    pub fn add_line(&mut self, line: &[u8]) {
        self.lines += 1;
        let Ok(l) = serde_json::from_slice::<Loose<'_>>(line) else {
            self.malformed += 1;
            return;
        };
        if l.checkpoint.is_some() {
            self.checkpoints += 1;
            return;
        }
        let Some(kind) = l.kind else {
            self.malformed += 1;
            return;
        };
        self.events += 1;
        bump(&mut self.by_kind, &kind);
        for (table, value) in [
            (&mut self.by_outcome, l.outcome),
            (&mut self.by_reason, l.reason),
            (&mut self.by_key, l.key_id),
            (&mut self.by_tenant, l.tenant),
        ] {
            if let Some(v) = value {
                bump(table, &v);
            }
        }
        if let Some(t) = l.time.filter(|t| t.parse::<crate::Timestamp>().is_ok()) {
            if self.first_time.as_deref().is_none_or(|f| *t < *f) {
                self.first_time = Some(t.to_string());
            }
            if self.last_time.as_deref().is_none_or(|f| *t > *f) {
                self.last_time = Some(t.to_string());
            }
        }
    }

    /// Counts every line of `reader`, streaming; a line longer than the chain's limit
    /// is skipped and counted as malformed.
    pub fn read(&mut self, mut reader: impl BufRead) -> std::io::Result<()> {
        let mut line = Vec::with_capacity(1024);
        let mut skipping = false;
        loop {
            line.clear();
            let n =
                Read::take(&mut reader, MAX_LINE_LEN as u64 + 1).read_until(b'\n', &mut line)?;
            if n == 0 {
                return Ok(());
            }
            let complete = line.last() == Some(&b'\n');
            if skipping {
                skipping = !complete;
                continue;
            }
            if !complete && line.len() > MAX_LINE_LEN {
                self.lines += 1;
                self.malformed += 1;
                skipping = true;
                continue;
            }
            if complete {
                line.pop();
            }
            self.add_line(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LogSummary;

    #[test]
    fn garbage_is_counted_not_fatal() {
        let mut s = LogSummary::new();
        let mut input = Vec::new();
        input.extend_from_slice(b"{\"seq\":1,\"prev\":\"x\",\"v\":1,\"kind\":\"auth.failed\",\"outcome\":\"denied\",\"reason\":\"key_revoked\",\"key_id\":\"key_1\",\"time\":\"2026-11-28T10:45:00.000000Z\"}\n");
        input.extend_from_slice(b"{\"seq\":2,\"prev\":\"x\",\"checkpoint\":{}}\n");
        input.extend_from_slice(b"\xff\xfe not json\n");
        input.extend_from_slice(&vec![b'a'; 200_000]);
        input.extend_from_slice(b"\n[1,2]\n{}\n{\"kind\":\"x\",\"time\":\"not a time\"}");
        s.read(&input[..]).unwrap();
        assert_eq!(
            (s.lines, s.events, s.checkpoints, s.malformed),
            (7, 2, 1, 4)
        );
        assert_eq!(s.by_reason["key_revoked"], 1);
        assert_eq!(s.by_key["key_1"], 1);
        assert_eq!(s.by_kind["x"], 1);
        assert_eq!(s.first_time.as_deref(), Some("2026-11-28T10:45:00.000000Z"));
        assert_eq!(s.last_time, s.first_time);
    }
}
