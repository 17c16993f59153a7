//! Streaming verification of hash-chained audit files.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::chain::{CheckpointKey, GENESIS, LineHead, MAX_LINE_LEN, line_hash};

/// What to require of a chain. By default: it starts at the genesis line, and (only
/// when a key is given) every checkpoint verifies and the last line is a checkpoint.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    key: Option<CheckpointKey>,
    allow_partial_start: bool,
    allow_unsealed_tail: bool,
    require_final: bool,
    expected_last_seq: Option<u64>,
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
    /// counts them in [`ChainReport::unsealed_lines`].
    pub fn allow_unsealed_tail(mut self, yes: bool) -> Self {
        self.allow_unsealed_tail = yes;
        self
    }

    /// With a key, requires the last line to be the final checkpoint written when the
    /// sink was closed: the log was shut down cleanly and nothing was cut after it.
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
    /// Not a chain line: not UTF-8 JSON, no valid `seq`/`prev`, or too long.
    Malformed,
    /// The line's SHA-256 does not match the next line's `prev`: it was changed.
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
    /// a key), no final checkpoint when one is required, or fewer lines than expected.
    Truncated,
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
                return Err(err(
                    ChainErrorKind::Truncated,
                    &place,
                    "the last line is cut short (no newline): the file was truncated",
                ));
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
                let expected = seq + 1;
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
        self.last_was_checkpoint = parsed.checkpoint.is_some();
        if let Some(cp) = &parsed.checkpoint {
            self.report.checkpoints += 1;
            self.last_checkpoint_final = cp.is_final;
            if let Some(key) = &self.options.key {
                if !key.verify(parsed.seq, &parsed.prev, &cp.time, cp.is_final, &cp.mac) {
                    return Err(err(
                        ChainErrorKind::BadCheckpoint,
                        at,
                        "checkpoint MAC does not verify with this key: forged or altered (or the wrong key)",
                    ));
                }
                self.report.verified_checkpoints += 1;
            }
            self.report.unsealed_lines = 0;
        } else {
            self.report.unsealed_lines += 1;
        }
        self.report.lines += 1;
        self.report.last_seq = parsed.seq;
        self.head = Some((parsed.seq, hash));
        self.last = at.clone();
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
        let last = self.last.clone();
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
        }
        self.report.closed = self.last_was_checkpoint && self.last_checkpoint_final;
        Ok(self.report)
    }
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
