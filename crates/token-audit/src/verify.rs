//! Checking an audit log: streaming verification of hash-chained audit files, for
//! the people and tools that audit a log rather than the service that writes it
//! (`tokenctl audit verify` is built on it).
//!
//! # The line format
//!
//! Every line is one JSON object that starts with `"seq"` (1 for the first line ever
//! written, then +1 per line, across rotated files) and `"prev"`: the lowercase hex
//! SHA-256 of the previous line's exact bytes, without its newline ([`GENESIS`] for
//! the first line). An event line continues with the event's own fields; a checkpoint
//! line has one more member, `"checkpoint": {"time", "final", "interval", "mac"}`
//! (and `"resumed": {"file", "last_seq"}` before `mac` on the first line a writer
//! wrote after finding an unsealed or invalid tail, then `"opening": {"seq", "hash"}`
//! on the first line a writer wrote after it started on an existing chain: the seq and
//! hash of the line the previous run ended with), where `mac` is the hex
//! HMAC-SHA-256, under the configured key, of
//! `token-audit-checkpoint-v2|{seq}|{prev}|{time}|{final}|{interval}`, followed by
//! `|resumed|{last_seq}|{file}` for a resumption and `|opening|{seq}|{hash}` for an
//! opening. A checkpoint line must be exactly
//! the bytes the writer produces (one canonical form). See `docs/audit.md`.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Duration;

use crate::anchor::AnchorEntry;
pub use crate::chain::GENESIS;
use crate::chain::{CheckpointKey, LineHead, MAX_LINE_LEN, line_hash};
use crate::time::Timestamp;

/// What to require of a chain. By default: it starts at the genesis line, and (only
/// when a key is given) every checkpoint verifies, there is at least one, no run of
/// event lines is longer than the checkpoint interval the checkpoints declare, and
/// the last line is a checkpoint.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    key: Option<CheckpointKey>,
    allow_partial_start: bool,
    allow_unsealed_tail: bool,
    require_final: bool,
    expected_last_seq: Option<u64>,
    max_age: Option<(Duration, Timestamp)>,
    /// Sorted by seq (stable).
    anchor: Option<Vec<AnchorEntry>>,
}

impl VerifyOptions {
    /// The default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Verifies checkpoint MACs with `key`, and requires the chain to end with a
    /// checkpoint (so a cut tail is caught), unless [`Self::allow_unsealed_tail`].
    pub fn key(mut self, key: CheckpointKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Accepts a chain that starts after seq 1 (older files deleted by retention): its
    /// first line is trusted as the anchor.
    pub fn allow_partial_start(mut self, yes: bool) -> Self {
        self.allow_partial_start = yes;
        self
    }

    /// With a key, accepts lines after the last checkpoint (a live file); the report
    /// counts them in [`ChainReport::unsealed_lines`]. There must still be at least
    /// one verified checkpoint, and the unsealed tail may not be longer than the
    /// checkpoint interval (when the checkpoints declare one).
    pub fn allow_unsealed_tail(mut self, yes: bool) -> Self {
        self.allow_unsealed_tail = yes;
        self
    }

    /// With a key, requires the last line to be the final checkpoint written when the
    /// sink was closed (the log was shut down cleanly and nothing was cut after it),
    /// and no resumption after an unsealed tail anywhere in the chain.
    pub fn require_final(mut self, yes: bool) -> Self {
        self.require_final = yes;
        self
    }

    /// Requires the chain to reach this seq (known from elsewhere, e.g. a monitoring
    /// system): catches a cut tail even without a key.
    pub fn expected_last_seq(mut self, seq: Option<u64>) -> Self {
        self.expected_last_seq = seq;
        self
    }

    /// With a key, requires the last verified checkpoint to be no older than `age`
    /// at `now`: for a live log that writes time-based checkpoints every T, a cut
    /// tail shows once the last checkpoint is older than T (plus some slack).
    pub fn max_checkpoint_age(mut self, age: Duration, now: Timestamp) -> Self {
        self.max_age = Some((age, now));
        self
    }

    /// Requires every checkpoint recorded in the anchor (see [`crate::anchor`]) to
    /// be in the chain, byte for byte (its line hashes to the anchored hash), and the
    /// chain to reach the last one: a log cut back to an earlier checkpoint, and
    /// perhaps continued, fails with [`ChainErrorKind::RolledBack`]. Entries before
    /// the chain's first line are skipped (older files deleted by retention, with
    /// [`Self::allow_partial_start`]). Needs no key: it compares hashes. Without an
    /// anchor, nothing excludes such a rollback.
    pub fn anchor(mut self, mut entries: Vec<AnchorEntry>) -> Self {
        entries.sort_by_key(|e| e.seq);
        self.anchor = Some(entries);
        self
    }
}

/// Something a verified chain says that a reader should know: the chain is intact,
/// but not everything in it is sealed by a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainWarning {
    kind: ChainWarningKind,
    file: String,
    line: u64,
    message: String,
}

/// The kinds of [`ChainWarning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainWarningKind {
    /// A file that is not the last one ends in a partial line (a crash mid-write) and
    /// the next file continues the chain from its last complete line.
    PartialLine,
    /// The writer found the previous file's tail unsealed (a crash, or lines cut or
    /// edited after the last checkpoint), moved that file aside and resumed; the
    /// lines between that file's last checkpoint and this line are not sealed.
    Resumed,
}

impl ChainWarning {
    /// What kind of warning.
    pub fn kind(&self) -> ChainWarningKind {
        self.kind
    }

    /// The file, as given.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The 1-based line number in [`ChainWarning::file`].
    pub fn line(&self) -> u64 {
        self.line
    }
}

impl fmt::Display for ChainWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// A chain that verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainReport {
    /// Files read.
    pub files: usize,
    /// Lines read (events and checkpoints).
    pub lines: u64,
    /// Checkpoint lines.
    pub checkpoints: u64,
    /// Checkpoint lines whose MAC verified (0 without a key).
    pub verified_checkpoints: u64,
    /// The first line's seq (0 when empty).
    pub first_seq: u64,
    /// The last line's seq (0 when empty).
    pub last_seq: u64,
    /// Lines after the last checkpoint.
    pub unsealed_lines: u64,
    /// Whether the last line is a final checkpoint.
    pub closed: bool,
    /// The time of the last checkpoint whose MAC verified (`None` without a key).
    pub last_checkpoint_time: Option<Timestamp>,
    /// The checkpoint interval (most event lines between checkpoints) the last
    /// verified checkpoint declares; 0 when only time triggers checkpoints.
    pub checkpoint_interval: Option<u64>,
    /// Resumptions after an unsealed or invalid tail (also in `warnings`).
    pub resumptions: u64,
    /// Writer starts on an existing chain: opening checkpoints, each naming where
    /// the previous run ended.
    pub starts: u64,
    /// Anchored checkpoints found in the chain (0 without an anchor).
    pub anchored_checkpoints: u64,
    /// The last anchored checkpoint's seq (`None` without an anchor, or with an empty
    /// one).
    pub last_anchored_seq: Option<u64>,
    /// Partial lines and resumptions, in chain order.
    pub warnings: Vec<ChainWarning>,
}

/// The first problem found in a chain: where, and what kind. Opaque: match on
/// [`ChainError::kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainError {
    kind: ChainErrorKind,
    file: String,
    line: u64,
    message: String,
}

/// The kinds of [`ChainError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainErrorKind {
    /// A file could not be read.
    Io,
    /// Not a chain line: not UTF-8 JSON, no valid `seq`/`prev`, a `seq` that cannot
    /// be followed, or too long.
    Malformed,
    /// The line's SHA-256 does not match the next line's `prev`, or a checkpoint line
    /// is not byte for byte in the form the writer produces: it was changed.
    Edited,
    /// A line that does not belong: its `seq` is taken by the next line.
    Inserted,
    /// Lines are missing before this one (`seq` jumps forward), or the chain does not
    /// start at the genesis line.
    Deleted,
    /// `seq` goes backwards: lines were moved, or an old line copied here.
    Reordered,
    /// A checkpoint's MAC does not verify with the key: forged or altered.
    BadCheckpoint,
    /// The end is missing: a partial last line, lines after the last checkpoint (with
    /// a key), no final checkpoint or a resumption when a clean close is required,
    /// fewer lines than expected, or a last checkpoint older than allowed.
    Truncated,
    /// With a key: more event lines in a row than the checkpoint interval allows, or
    /// no checkpoint at all. Checkpoints were removed, typically by someone who
    /// edited lines and recomputed the chain.
    MissingCheckpoint,
    /// With an anchor: a checkpoint the anchor records is not in the chain (the line
    /// with its seq hashes to something else), or the chain ends before the last
    /// anchored checkpoint. The log was cut back to an earlier checkpoint while the
    /// writer was stopped (and perhaps continued from there), or the anchor belongs
    /// to another log.
    RolledBack,
}

impl ChainError {
    /// What is wrong.
    pub fn kind(&self) -> ChainErrorKind {
        self.kind
    }

    /// The file, as given.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The 1-based line number in [`ChainError::file`] (0 when the file as a whole).
    pub fn line(&self) -> u64 {
        self.line
    }
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for ChainError {}

/// A line's place.
#[derive(Debug, Clone, Default)]
struct Place {
    file: String,
    line: u64,
}

/// A suspicion that the next line decides.
#[derive(Debug)]
enum Pending {
    /// `prev` did not match at `at` (whose seq was right); the line before is `before`.
    PrevMismatch { at: Place, seq: u64, before: Place },
    /// `seq` jumped from `expected` to `seq` at `at`.
    Gap { at: Place, expected: u64, seq: u64 },
}

/// Verifies a chain one file at a time, streaming: feed the files in chain order with
/// [`ChainVerifier::read`], then call [`ChainVerifier::finish`].
#[derive(Debug)]
pub struct ChainVerifier {
    options: VerifyOptions,
    report: ChainReport,
    head: Option<(u64, String)>,
    last: Place,
    last_was_checkpoint: bool,
    last_checkpoint_final: bool,
    pending: Option<Pending>,
    /// A partial last line of the previous file, accepted if the next file continues
    /// the chain from the line before it.
    partial: Option<Place>,
    /// Event lines since the last verified checkpoint (or the start).
    run: u64,
    /// Where the last verified checkpoint is.
    last_verified: Option<Place>,
    /// The next anchor entry to meet (index into the options' anchor).
    anchor_next: usize,
}

fn err(kind: ChainErrorKind, at: &Place, message: impl Into<String>) -> ChainError {
    ChainError {
        kind,
        file: at.file.clone(),
        line: at.line,
        message: message.into(),
    }
}

impl ChainVerifier {
    /// A verifier with `options`.
    pub fn new(options: VerifyOptions) -> Self {
        ChainVerifier {
            options,
            report: ChainReport::default(),
            head: None,
            last: Place::default(),
            last_was_checkpoint: false,
            last_checkpoint_final: false,
            pending: None,
            partial: None,
            run: 0,
            last_verified: None,
            anchor_next: 0,
        }
    }

    /// Reads the next file of the chain from `reader`; `name` is how errors name it.
    pub fn read(&mut self, name: &str, mut reader: impl BufRead) -> Result<(), ChainError> {
        self.report.files += 1;
        let mut place = Place {
            file: name.to_owned(),
            line: 0,
        };
        let mut line = Vec::with_capacity(1024);
        loop {
            line.clear();
            let limit = MAX_LINE_LEN as u64 + 1;
            let n = Read::take(&mut reader, limit)
                .read_until(b'\n', &mut line)
                .map_err(|e| err(ChainErrorKind::Io, &place, format!("cannot read: {e}")))?;
            if n == 0 {
                return Ok(());
            }
            place.line += 1;
            if line.last() != Some(&b'\n') {
                if line.len() > MAX_LINE_LEN {
                    return Err(err(
                        ChainErrorKind::Malformed,
                        &place,
                        format!("line longer than {MAX_LINE_LEN} bytes"),
                    ));
                }
                // A crash mid-write; accepted only if the next file continues from
                // the last complete line (see `line` and `finish`).
                self.partial = Some(place);
                return Ok(());
            }
            line.pop();
            self.line(&place, &line)?;
        }
    }

    fn line(&mut self, at: &Place, bytes: &[u8]) -> Result<(), ChainError> {
        let Some(parsed) = LineHead::parse(bytes) else {
            if let Some(p) = self.pending.take() {
                return Err(Self::resolve(p, None));
            }
            return Err(err(
                ChainErrorKind::Malformed,
                at,
                "not an audit chain line (JSON with seq and prev)",
            ));
        };
        if let Some(p) = self.pending.take() {
            return Err(Self::resolve(p, Some(parsed.seq)));
        }
        self.settle_partial(at, &parsed)?;
        if !parsed.is_canonical(bytes) {
            return Err(err(
                ChainErrorKind::Edited,
                at,
                "this checkpoint line is not in the exact form the writer produces: it was changed",
            ));
        }
        let hash = line_hash(bytes);
        match &self.head {
            None => {
                let genesis = parsed.seq == 1 && parsed.prev == GENESIS;
                if !genesis && !self.options.allow_partial_start {
                    return Err(err(
                        ChainErrorKind::Deleted,
                        at,
                        format!(
                            "the chain starts at seq {}, not at the genesis line: earlier lines or files are missing",
                            parsed.seq
                        ),
                    ));
                }
                self.report.first_seq = parsed.seq;
            }
            Some((seq, prev_hash)) => {
                let Some(expected) = seq.checked_add(1) else {
                    return Err(err(
                        ChainErrorKind::Malformed,
                        &self.last,
                        "seq is the largest possible number: no line can follow it",
                    ));
                };
                if parsed.seq == expected && parsed.prev != *prev_hash {
                    self.pending = Some(Pending::PrevMismatch {
                        at: at.clone(),
                        seq: parsed.seq,
                        before: self.last.clone(),
                    });
                } else if parsed.seq > expected {
                    self.pending = Some(Pending::Gap {
                        at: at.clone(),
                        expected,
                        seq: parsed.seq,
                    });
                } else if parsed.seq < expected {
                    let repeat = format!(
                        "it repeats the seq of line {}: one of the two was inserted",
                        self.last.line
                    );
                    let (kind, what) = if parsed.seq == *seq {
                        (ChainErrorKind::Inserted, repeat.as_str())
                    } else {
                        (
                            ChainErrorKind::Reordered,
                            "a line was moved or an old line copied here",
                        )
                    };
                    return Err(err(
                        kind,
                        at,
                        format!("seq {} after seq {seq}: {what}", parsed.seq),
                    ));
                }
            }
        }
        if self.pending.is_none() {
            // (A pending suspicion always ends in an error of its own.)
            self.check_anchor(at, parsed.seq, &hash)?;
        }
        self.last_was_checkpoint = parsed.checkpoint.is_some();
        self.seal(at, &parsed)?;
        self.report.lines += 1;
        self.report.last_seq = parsed.seq;
        self.head = Some((parsed.seq, hash));
        self.last = at.clone();
        Ok(())
    }

    /// Meets the anchor entries up to this line's seq: an entry at this seq must
    /// carry this line's hash; entries before the chain's first line are skipped.
    fn check_anchor(&mut self, at: &Place, seq: u64, hash: &str) -> Result<(), ChainError> {
        let Some(entries) = &self.options.anchor else {
            return Ok(());
        };
        while let Some(e) = entries.get(self.anchor_next) {
            if e.seq > seq {
                break;
            }
            if e.seq == seq {
                if e.hash != hash {
                    return Err(err(
                        ChainErrorKind::RolledBack,
                        at,
                        format!(
                            "the anchor records a checkpoint at seq {seq} ({}) that is not in the chain: this line has another hash; the log was cut back to an earlier checkpoint and continued (or the anchor belongs to another log)",
                            e.time
                        ),
                    ));
                }
                self.report.anchored_checkpoints += 1;
            } else if self.head.is_some() {
                // Seqs are consecutive, so only entries before the first line can be
                // passed over.
                return Err(err(
                    ChainErrorKind::RolledBack,
                    at,
                    format!(
                        "the anchor records a checkpoint at seq {} ({}) that is not in the chain",
                        e.seq, e.time
                    ),
                ));
            }
            self.anchor_next += 1;
        }
        Ok(())
    }

    /// At the end: the chain must have reached the last anchored checkpoint.
    fn check_anchor_end(&mut self, last: &Place) -> Result<(), ChainError> {
        let Some(entries) = &self.options.anchor else {
            return Ok(());
        };
        self.report.last_anchored_seq = entries.last().map(|e| e.seq);
        match entries.get(self.anchor_next) {
            Some(e) => Err(err(
                ChainErrorKind::RolledBack,
                last,
                format!(
                    "the chain ends at seq {}, before the checkpoint at seq {} ({}) that the anchor records: the log was cut back (or its tail cut)",
                    self.report.last_seq, e.seq, e.time
                ),
            )),
            None => Ok(()),
        }
    }

    /// After a file that ended in a partial line: accepts it (with a warning) if
    /// this line continues the chain from the line before it.
    fn settle_partial(&mut self, at: &Place, parsed: &LineHead<'_>) -> Result<(), ChainError> {
        if let Some(partial) = self.partial.take() {
            let continues = self.head.as_ref().is_some_and(|(seq, hash)| {
                seq.checked_add(1) == Some(parsed.seq) && parsed.prev == *hash
            });
            if !continues {
                return Err(partial_error(&partial));
            }
            self.report.warnings.push(ChainWarning {
                kind: ChainWarningKind::PartialLine,
                file: partial.file.clone(),
                line: partial.line,
                message: format!(
                    "the file ends in a partial line (a crash mid-write); the chain continues at {}:{}",
                    at.file, at.line
                ),
            });
        }
        Ok(())
    }

    /// Checkpoint bookkeeping for one line: MAC, interval, resumptions, runs.
    fn seal(&mut self, at: &Place, parsed: &LineHead<'_>) -> Result<(), ChainError> {
        if let Some(cp) = &parsed.checkpoint {
            self.report.checkpoints += 1;
            if let Some(o) = &cp.opening {
                if o.seq.checked_add(1) != Some(parsed.seq) || o.hash != parsed.prev {
                    return Err(err(
                        ChainErrorKind::Edited,
                        at,
                        format!(
                            "this opening checkpoint names seq {} as where the previous run ended, but it follows seq {} in the chain",
                            o.seq,
                            parsed.seq - 1
                        ),
                    ));
                }
                self.report.starts += 1;
            }
            self.last_checkpoint_final = cp.is_final;
            if let Some(key) = &self.options.key {
                if !key.verify(parsed.seq, &parsed.prev, &cp.signed(), &cp.mac) {
                    return Err(err(
                        ChainErrorKind::BadCheckpoint,
                        at,
                        "checkpoint MAC does not verify with this key: forged or altered (or the wrong key)",
                    ));
                }
                let time: Timestamp = cp.time.parse().map_err(|_| {
                    err(
                        ChainErrorKind::Malformed,
                        at,
                        "the checkpoint time is not an RFC 3339 UTC timestamp",
                    )
                })?;
                if self.last_verified.is_none() && cp.interval > 0 && self.run > cp.interval {
                    return Err(err(
                        ChainErrorKind::MissingCheckpoint,
                        at,
                        format!(
                            "{} event line(s) before the first checkpoint, which says checkpoints come every {} events: checkpoints were removed",
                            self.run, cp.interval
                        ),
                    ));
                }
                self.report.verified_checkpoints += 1;
                self.report.last_checkpoint_time = Some(time);
                self.report.checkpoint_interval = Some(cp.interval);
                self.last_verified = Some(at.clone());
                self.run = 0;
            }
            if let Some(r) = &cp.resumed {
                self.report.resumptions += 1;
                self.report.warnings.push(ChainWarning {
                    kind: ChainWarningKind::Resumed,
                    file: at.file.clone(),
                    line: at.line,
                    message: format!(
                        "the writer resumed after an unsealed or invalid tail in {} (last seq {}): the lines after the last checkpoint before this one are not sealed; that file was kept as evidence",
                        r.file, r.last_seq
                    ),
                });
            }
            self.report.unsealed_lines = 0;
        } else {
            self.report.unsealed_lines += 1;
            if self.options.key.is_some() {
                self.run += 1;
                if let (Some(n), Some(cp_at)) =
                    (self.report.checkpoint_interval, &self.last_verified)
                    && n > 0
                    && self.run > n
                {
                    return Err(err(
                        ChainErrorKind::MissingCheckpoint,
                        at,
                        format!(
                            "{} event lines since the checkpoint at {}:{}, which says checkpoints come every {n} events: checkpoints were removed (lines edited and the chain recomputed?)",
                            self.run, cp_at.file, cp_at.line
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Turns a suspicion into the error, knowing the next line's seq (`None` at the
    /// end or before a malformed line).
    fn resolve(pending: Pending, next_seq: Option<u64>) -> ChainError {
        match pending {
            Pending::PrevMismatch { at, seq, before } => {
                if next_seq == Some(seq) {
                    err(
                        ChainErrorKind::Inserted,
                        &at,
                        format!(
                            "this line does not chain to line {} and its seq {seq} is repeated by the next line: it was inserted",
                            before.line
                        ),
                    )
                } else {
                    err(
                        ChainErrorKind::Edited,
                        &before,
                        format!(
                            "this line was changed: its SHA-256 does not match the prev of the next line ({}:{})",
                            at.file, at.line
                        ),
                    )
                }
            }
            Pending::Gap { at, expected, seq } => {
                if next_seq.is_some_and(|n| n < seq) {
                    err(
                        ChainErrorKind::Reordered,
                        &at,
                        format!(
                            "seq {seq} where {expected} was expected, and a lower seq follows: lines were moved"
                        ),
                    )
                } else {
                    let missing = seq - expected;
                    err(
                        ChainErrorKind::Deleted,
                        &at,
                        format!(
                            "{missing} line(s) missing before this line (seq {expected} to {}): deleted lines or a deleted file",
                            seq - 1
                        ),
                    )
                }
            }
        }
    }

    /// Ends verification: settles any open suspicion and checks the end of the chain.
    pub fn finish(mut self) -> Result<ChainReport, ChainError> {
        if let Some(p) = self.pending.take() {
            return Err(Self::resolve(p, None));
        }
        if let Some(partial) = self.partial.take() {
            return Err(partial_error(&partial));
        }
        let last = self.last.clone();
        self.check_anchor_end(&last)?;
        if let Some(expected) = self.options.expected_last_seq
            && self.report.last_seq < expected
        {
            return Err(err(
                ChainErrorKind::Truncated,
                &last,
                format!(
                    "the chain ends at seq {}, but seq {expected} was expected: the tail was cut",
                    self.report.last_seq
                ),
            ));
        }
        if self.options.key.is_some() {
            if self.report.lines == 0 {
                return Err(err(
                    ChainErrorKind::Truncated,
                    &last,
                    "no lines, so no checkpoint",
                ));
            }
            if self.report.verified_checkpoints == 0 {
                return Err(err(
                    ChainErrorKind::MissingCheckpoint,
                    &last,
                    "no checkpoint in the chain (a writer with a key starts every file with one): checkpoints were removed",
                ));
            }
            if !self.last_was_checkpoint && !self.options.allow_unsealed_tail {
                return Err(err(
                    ChainErrorKind::Truncated,
                    &last,
                    format!(
                        "the last {} line(s) are not sealed by a checkpoint: the tail was cut, or the writer is still running or crashed",
                        self.report.unsealed_lines
                    ),
                ));
            }
            if self.options.require_final
                && !(self.last_was_checkpoint && self.last_checkpoint_final)
            {
                return Err(err(
                    ChainErrorKind::Truncated,
                    &last,
                    "the chain does not end with the final checkpoint of a clean shutdown: the tail was cut",
                ));
            }
            if self.options.require_final
                && let Some(w) = self
                    .report
                    .warnings
                    .iter()
                    .find(|w| w.kind == ChainWarningKind::Resumed)
            {
                return Err(ChainError {
                    kind: ChainErrorKind::Truncated,
                    file: w.file.clone(),
                    line: w.line,
                    message: format!("not a clean log: {}", w.message),
                });
            }
            if let Some((age, now)) = self.options.max_age {
                let limit = now
                    .unix_micros()
                    .saturating_sub(i64::try_from(age.as_micros()).unwrap_or(i64::MAX));
                let at = self.last_verified.clone().unwrap_or(last);
                match self.report.last_checkpoint_time {
                    Some(t) if t.unix_micros() >= limit => {}
                    Some(t) => {
                        return Err(err(
                            ChainErrorKind::Truncated,
                            &at,
                            format!(
                                "the last checkpoint is from {t}, more than {}s before {now}: the tail was cut, or the writer stopped",
                                age.as_secs()
                            ),
                        ));
                    }
                    None => {}
                }
            }
        }
        self.report.closed = self.last_was_checkpoint && self.last_checkpoint_final;
        Ok(self.report)
    }
}

fn partial_error(at: &Place) -> ChainError {
    err(
        ChainErrorKind::Truncated,
        at,
        "the last line is cut short (no newline): the file was truncated",
    )
}

/// Verifies the chain across `files`, in chain order (oldest rotated file first, the
/// live file last), streaming each file. With `key`, checkpoint MACs are verified and
/// the chain must end with a checkpoint; see [`VerifyOptions`] for more control.
pub fn verify_chain<P: AsRef<Path>>(
    files: &[P],
    key: Option<&CheckpointKey>,
) -> Result<ChainReport, ChainError> {
    let mut options = VerifyOptions::new();
    if let Some(k) = key {
        options = options.key(k.clone());
    }
    verify_chain_with(files, options)
}

/// [`verify_chain`] with options.
pub fn verify_chain_with<P: AsRef<Path>>(
    files: &[P],
    options: VerifyOptions,
) -> Result<ChainReport, ChainError> {
    let mut verifier = ChainVerifier::new(options);
    for path in files {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| ChainError {
            kind: ChainErrorKind::Io,
            file: name.clone(),
            line: 0,
            message: format!("cannot open: {e}"),
        })?;
        verifier.read(&name, BufReader::with_capacity(256 * 1024, file))?;
    }
    verifier.finish()
}
