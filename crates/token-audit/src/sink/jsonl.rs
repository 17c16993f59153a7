//! [`JsonlSink`]: an append-only JSON Lines file with a hash chain, signed checkpoints,
//! rotation by size and time, and an fsync policy.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{Sink, SinkError};
use crate::anchor::{Anchor, AnchorEntry};
use crate::chain::{
    Checkpoint, CheckpointKey, Head, LineHead, MAX_LINE_LEN, Opening, Resumed, line_hash,
};
use crate::error::{AuditError, AuditErrorKind};
use crate::event::AuditEvent;
use crate::time::Timestamp;
use token_core::{Clock, SystemClock};

/// When written lines are forced to disk (`fsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FsyncPolicy {
    /// After every batch: a crash loses nothing that was written. The default.
    EveryBatch,
    /// At most this long after a batch (checked after each batch and when idle): a
    /// crash may lose the last interval.
    Interval(Duration),
    /// Never; the operating system decides. A crash may lose recent events.
    Never,
}

/// How a [`JsonlSink`] rotates, syncs, signs and anchors. Defaults: rotate at 64 MiB,
/// no time rotation, fsync every batch, no checkpoints, no anchor, the system clock.
#[derive(Debug, Clone)]
pub struct JsonlConfig {
    rotate_bytes: Option<u64>,
    rotate_every: Option<Duration>,
    fsync: FsyncPolicy,
    key: Option<CheckpointKey>,
    checkpoint_events: Option<u64>,
    checkpoint_every: Option<Duration>,
    anchor: Option<Arc<dyn Anchor>>,
    time: Arc<dyn Clock>,
}

impl Default for JsonlConfig {
    fn default() -> Self {
        JsonlConfig {
            rotate_bytes: Some(64 * 1024 * 1024),
            rotate_every: None,
            fsync: FsyncPolicy::EveryBatch,
            key: None,
            checkpoint_events: None,
            checkpoint_every: None,
            anchor: None,
            time: Arc::new(SystemClock),
        }
    }
}

impl JsonlConfig {
    /// The default configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rotates once the file reaches `bytes` (checked after each batch); `None`
    /// never rotates by size.
    pub fn rotate_bytes(mut self, bytes: Option<u64>) -> Self {
        self.rotate_bytes = bytes;
        self
    }

    /// Rotates once the file has been open for `every` (checked before each batch).
    pub fn rotate_every(mut self, every: Option<Duration>) -> Self {
        self.rotate_every = every;
        self
    }

    /// The fsync policy.
    pub fn fsync(mut self, policy: FsyncPolicy) -> Self {
        self.fsync = policy;
        self
    }

    /// Writes HMAC-SHA-256 checkpoints with `key`: as the first line of every file,
    /// after every `every_events` event lines (default 1000), every `every` (default
    /// 60 s, also when idle), before each rotation, and a final one on close. `None`
    /// for either turns that trigger off. Each checkpoint records `every_events` (0
    /// when `None`), and the verifier refuses longer runs of events without one; with
    /// time-based checkpoints only, a cut tail is caught only by a final checkpoint
    /// (`require_final`), an expected last seq or the age of the last checkpoint.
    pub fn checkpoints(
        mut self,
        key: CheckpointKey,
        every_events: Option<u64>,
        every: Option<Duration>,
    ) -> Self {
        self.key = Some(key);
        self.checkpoint_events = every_events.filter(|n| *n > 0);
        self.checkpoint_every = every;
        self
    }

    /// Checkpoints with the default triggers (1000 events, 60 s).
    pub fn checkpoint_key(self, key: CheckpointKey) -> Self {
        self.checkpoints(key, Some(1000), Some(Duration::from_secs(60)))
    }

    /// Sends every checkpoint's `(seq, hash, time)` to `anchor` too, once the
    /// checkpoint is on disk (the log is synced first). Keep the anchor where whoever
    /// can edit the log cannot: it is what shows a log cut back to an earlier
    /// checkpoint (`verify --anchor`). On open, an anchor that can read back
    /// ([`Anchor::last`]) and is ahead of the log makes the sink continue after the
    /// anchored checkpoint, so no seq is used twice. Needs checkpoints
    /// ([`Self::checkpoints`]): [`JsonlSink::open`] refuses an anchor without a key.
    /// A failed anchor write is logged and reported by the next flush or close; the
    /// events are written regardless.
    pub fn anchor(mut self, anchor: Arc<dyn Anchor>) -> Self {
        self.anchor = Some(anchor);
        self
    }

    /// The time source for checkpoint times, rotation and fsync intervals.
    pub fn clock(mut self, time: Arc<dyn Clock>) -> Self {
        self.time = time;
        self
    }
}

/// Writes events as hash-chained JSON Lines (format: [`crate::verify`] and
/// `docs/audit.md`). Files are created with mode 0600 and only appended to. On open,
/// an existing file's last line is read so that the chain resumes where it stopped.
///
/// With a checkpoint key, the sink resumes a file only if its last line is a valid
/// checkpoint (its MAC verifies and it chains to the line before it). Otherwise (a
/// crash before the final checkpoint, or lines cut, added or edited after it) the
/// file is moved aside unchanged, as evidence, and the new file starts with a
/// checkpoint that records the resumption (`"resumed": {"file", "last_seq"}`), which
/// the verifier reports. Without a key there is nothing to check the tail against:
/// a tail edited while the writer was stopped is resumed, and so sealed by the next
/// lines; only a copy of the chain's head kept elsewhere can show it.
///
/// With a key, every open on an existing chain writes an opening checkpoint naming the
/// seq and hash of the line the previous run ended with. A file cut back to an earlier
/// checkpoint still ends sealed; only an anchor ([`JsonlConfig::anchor`]) shows it: to
/// the verifier, and to the sink itself when the anchor reads back, in which case the
/// sink continues after the anchored checkpoint so that no seq is used twice.
///
/// Rotation renames `audit.jsonl` to `audit.2026-11-28T10-45-00Z.1.jsonl` (the UTC
/// time of rotation; the counter increases when that name exists) and starts a new
/// `audit.jsonl` whose first line chains to the last line of the rotated file.
#[derive(Debug)]
pub struct JsonlSink {
    path: PathBuf,
    file: File,
    size: u64,
    opened_at: i64,
    head: Head,
    config: JsonlConfig,
    buf: Vec<u8>,
    since_checkpoint: u64,
    last_checkpoint: i64,
    last_sync: i64,
    unsynced: bool,
    sync_error: Option<std::io::Error>,
    /// For the first checkpoint of the file: the file moved aside and its last seq.
    resumed: Option<(String, u64)>,
    /// For the first checkpoint after open on an existing chain: where the previous
    /// run ended (seq, hash).
    opening: Option<(u64, String)>,
    /// Checkpoints in `buf`, for the anchor once they are on disk.
    anchored: Vec<AnchorEntry>,
    /// The last anchor failure, reported by the next flush or close.
    anchor_error: Option<SinkError>,
    /// The live file was renamed by a rotation but the new one is not open yet.
    renamed: bool,
    /// Tests: how many of the next opens after a rotation's rename fail.
    #[cfg(test)]
    fail_opens: u32,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}

/// The name a rotated file gets: `{stem}.{stamp}.{n}.{ext}`, the first `n` from 1 that
/// does not exist.
fn rotated_name(path: &Path, stamp: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(|| "audit".into(), |s| s.to_string_lossy().into_owned());
    let ext = path.extension().map(|e| e.to_string_lossy().into_owned());
    let mut n = 1u32;
    loop {
        let name = match &ext {
            Some(ext) => format!("{stem}.{stamp}.{n}.{ext}"),
            None => format!("{stem}.{stamp}.{n}"),
        };
        let candidate = path.with_file_name(name);
        if !candidate.exists() {
            return candidate;
        }
        n += 1;
    }
}

/// What the end of an existing file says.
#[derive(Debug)]
struct Tail {
    /// Where the chain stands (its last complete line).
    head: Head,
    /// The file ends in a partial line.
    partial: bool,
    /// The last complete line is a valid checkpoint under the key (canonical, MAC
    /// verified, chained to the line before it when that is in the file).
    sealed: bool,
}

/// Reads the end of an existing file: where the chain stands, whether the file ends
/// in a partial line, and (with `key`) whether its last complete line seals it.
fn read_tail(
    file: &mut File,
    path: &Path,
    key: Option<&CheckpointKey>,
) -> Result<Tail, AuditError> {
    let shown = path.display();
    let corrupt = || {
        AuditError::new(
            AuditErrorKind::Corrupt,
            format!("{shown} does not end in an audit line"),
        )
    };
    let len = file
        .metadata()
        .map_err(|e| AuditError::io(format!("cannot stat {shown}"), e))?
        .len();
    if len == 0 {
        return Ok(Tail {
            head: Head::genesis(),
            partial: false,
            sealed: false,
        });
    }
    // A partial line, the last complete line and the one before it.
    let window = len.min(3 * MAX_LINE_LEN as u64 + 3);
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(len - window))
        .and_then(|_| Read::take(&mut *file, window).read_to_end(&mut tail))
        .map_err(|e| AuditError::io(format!("cannot read {shown}"), e))?;
    let partial = tail.last() != Some(&b'\n');
    let complete = match tail.iter().rposition(|&b| b == b'\n') {
        Some(end) => &tail[..end],
        None => &[][..],
    };
    if complete.is_empty() && len > window {
        return Err(corrupt());
    }
    let start = complete
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let last = &complete[start..];
    if last.is_empty() {
        // Only a partial first line.
        return Ok(Tail {
            head: Head::genesis(),
            partial,
            sealed: false,
        });
    }
    let h = LineHead::parse(last).ok_or_else(corrupt)?;
    if h.seq == u64::MAX {
        return Err(AuditError::new(
            AuditErrorKind::Corrupt,
            format!("{shown} ends at the largest possible seq: the chain cannot continue"),
        ));
    }
    let sealed = key.is_some_and(|key| {
        let chained = if start == 0 {
            // The file's first line (its MAC covers `prev`, which chains it to the
            // previous file); or a line after one longer than any audit line.
            len == window
        } else {
            let before_end = start - 1;
            let before_start = complete[..before_end]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let whole = before_start > 0 || len == window;
            let before = &complete[before_start..before_end];
            whole
                && LineHead::parse(before).is_some_and(|b| {
                    b.seq.checked_add(1) == Some(h.seq) && line_hash(before) == h.prev
                })
        };
        chained && h.is_valid_checkpoint(last, key)
    });
    Ok(Tail {
        head: Head {
            seq: h.seq,
            hash: line_hash(last),
        },
        partial,
        sealed,
    })
}

/// Where the chain continues: after the log's last line, or after the anchor's last
/// checkpoint when the anchor is ahead of the log (the log was cut back while the
/// writer was stopped), so that no seq is used twice.
fn anchored_head(head: Head, config: &JsonlConfig, shown: &str) -> Result<Head, AuditError> {
    let Some(anchor) = &config.anchor else {
        if config.key.is_some() {
            tracing::warn!(target: "token_audit", file = %shown, "audit checkpoints without an anchor: a log cut back to an earlier checkpoint cannot be detected");
        }
        return Ok(head);
    };
    if config.key.is_none() {
        return Err(AuditError::new(
            AuditErrorKind::InvalidConfig,
            "an audit anchor records checkpoints: it needs a checkpoint key",
        ));
    }
    let last = anchor.last().map_err(|e| {
        AuditError::new(
            AuditErrorKind::Io,
            format!("cannot read the audit anchor: {e}"),
        )
    })?;
    let Some(last) = last else { return Ok(head) };
    let behind = last.seq > head.seq || (last.seq == head.seq && last.hash != head.hash);
    if !behind {
        return Ok(head);
    }
    if last.seq == u64::MAX {
        return Err(AuditError::new(
            AuditErrorKind::Corrupt,
            "the audit anchor ends at the largest possible seq: the chain cannot continue",
        ));
    }
    tracing::error!(target: "token_audit", file = %shown, log_seq = head.seq, anchored_seq = last.seq, anchored_time = %last.time, "the audit log ends before the last checkpoint its anchor records: it was cut back (or the anchor belongs to another log); continuing after the anchored checkpoint, so the missing lines show as a gap");
    Ok(Head {
        seq: last.seq,
        hash: last.hash,
    })
}

impl JsonlSink {
    /// Opens (or creates, mode 0600) the file at `path` and resumes its chain. A file
    /// that ends in a partial line (a crash mid-write), or, with a checkpoint key,
    /// whose last line is not a valid checkpoint, is rotated aside unchanged, as
    /// evidence, and the chain resumes from its last complete line in a new file
    /// (with a key, starting with a checkpoint that records the resumption). With a
    /// key, a new file's first line is a checkpoint, written here.
    pub fn open(path: impl AsRef<Path>, config: JsonlConfig) -> Result<JsonlSink, AuditError> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display().to_string();
        let mut file =
            open_append(&path).map_err(|e| AuditError::io(format!("cannot open {shown}"), e))?;
        let tail = read_tail(&mut file, &path, config.key.as_ref())?;
        let now = config.time.unix_nanos();
        let mut size = file.metadata().map_or(0, |m| m.len());
        let unsealed = config.key.is_some() && tail.head.seq > 0 && !tail.sealed;
        let mut resumed = None;
        if tail.partial || unsealed {
            let aside = rotated_name(&path, &Timestamp::now(&*config.time).file_stamp());
            std::fs::rename(&path, &aside)
                .map_err(|e| AuditError::io(format!("cannot move {shown} aside"), e))?;
            if unsealed {
                tracing::warn!(target: "token_audit", file = %aside.display(), last_seq = tail.head.seq, "audit file does not end in a valid checkpoint (a crash, or lines cut, added or edited after the last one); moved aside, resuming");
                let name = aside
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                resumed = Some((name, tail.head.seq));
            } else {
                tracing::warn!(target: "token_audit", file = %aside.display(), "audit file ended in a partial line; moved aside");
            }
            file = open_append(&path)
                .map_err(|e| AuditError::io(format!("cannot open {shown}"), e))?;
            size = 0;
        }
        let head = anchored_head(tail.head, &config, &shown)?;
        let opening = (head.seq > 0 && config.key.is_some()).then(|| (head.seq, head.hash.clone()));
        let mut sink = JsonlSink {
            path,
            file,
            size,
            opened_at: now,
            head,
            config,
            buf: Vec::with_capacity(64 * 1024),
            since_checkpoint: 0,
            last_checkpoint: now,
            last_sync: now,
            unsynced: false,
            sync_error: None,
            resumed,
            opening,
            anchored: Vec::new(),
            anchor_error: None,
            renamed: false,
            #[cfg(test)]
            fail_opens: 0,
        };
        sink.start_file()
            .map_err(|e| AuditError::new(AuditErrorKind::Io, e.to_string()))?;
        Ok(sink)
    }

    /// The sequence number of the last line written (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.head.seq
    }

    /// The path of the live file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `self.buf` as one write; on failure, cuts off any partial write and
    /// restores the chain head so that a retry writes the same lines again.
    fn append(&mut self, saved: Head) -> Result<(), SinkError> {
        if let Err(e) = self.file.write_all(&self.buf) {
            let _ = self.file.set_len(self.size);
            self.head = saved;
            return Err(SinkError::with_source(
                format!("cannot append to {}", self.path.display()),
                e,
            ));
        }
        self.size += self.buf.len() as u64;
        self.unsynced = true;
        Ok(())
    }

    fn sync(&mut self, now: i64) {
        if let Err(e) = self.file.sync_data() {
            tracing::error!(target: "token_audit", file = %self.path.display(), error = %e, "audit fsync failed");
            self.sync_error = Some(e);
        }
        self.unsynced = false;
        self.last_sync = now;
    }

    fn sync_by_policy(&mut self, now: i64) {
        let due = match self.config.fsync {
            FsyncPolicy::EveryBatch => true,
            FsyncPolicy::Interval(d) => now.saturating_sub(self.last_sync) >= nanos(d),
            FsyncPolicy::Never => false,
        };
        if due && self.unsynced {
            self.sync(now);
        }
    }

    /// The checkpoint interval written into checkpoints (0: time-based only).
    fn interval(&self) -> u64 {
        self.config.checkpoint_events.unwrap_or(0)
    }

    /// With a key, an empty file starts with a checkpoint (recording a resumption,
    /// if any), and so does a run on an existing chain (naming where the previous
    /// run ended): pushes it onto `self.buf`.
    fn push_opening(&mut self) {
        if self.size > 0 && self.opening.is_none() {
            return;
        }
        let Some(key) = self.config.key.clone() else {
            return;
        };
        let time = Timestamp::now(&*self.config.time);
        let cp = Checkpoint {
            resumed: self.resumed.as_ref().map(|(file, last_seq)| Resumed {
                file: file.clone().into(),
                last_seq: *last_seq,
            }),
            opening: self.opening.as_ref().map(|(seq, hash)| Opening {
                seq: *seq,
                hash: hash.clone().into(),
            }),
            ..Checkpoint::at(time, false, self.interval())
        };
        self.push_checkpoint(&key, &cp, time);
    }

    /// Pushes a checkpoint onto `self.buf` and notes it for the anchor.
    fn push_checkpoint(&mut self, key: &CheckpointKey, cp: &Checkpoint<'_>, time: Timestamp) {
        self.head.push_checkpoint(&mut self.buf, key, cp);
        if self.config.anchor.is_some() {
            self.anchored.push(AnchorEntry::new(
                self.head.seq,
                self.head.hash.clone(),
                time,
            ));
        }
    }

    /// Appends `self.buf` (built from `saved`); after a success, the file has begun.
    fn append_lines(&mut self, saved: Head) -> Result<(), SinkError> {
        if let Err(e) = self.append(saved) {
            self.anchored.clear();
            return Err(e);
        }
        self.resumed = None;
        self.opening = None;
        Ok(())
    }

    /// Sends the checkpoints just written to the anchor, after syncing the log (the
    /// anchor must never name a line a crash could still take back).
    fn record_anchors(&mut self) {
        if self.anchored.is_empty() {
            return;
        }
        if self.unsynced {
            self.sync(self.config.time.unix_nanos());
        }
        let Some(anchor) = self.config.anchor.clone() else {
            self.anchored.clear();
            return;
        };
        for entry in self.anchored.drain(..) {
            if let Err(e) = anchor.record(&entry) {
                tracing::error!(target: "token_audit", seq = entry.seq, error = %e, "cannot record an audit checkpoint in the anchor");
                self.anchor_error = Some(e);
            }
        }
    }

    /// The first failure since the last call: an fsync, then an anchor write.
    fn take_error(&mut self) -> Result<(), SinkError> {
        if let Some(e) = self.sync_error.take() {
            return Err(SinkError::with_source(
                format!("cannot fsync {}", self.path.display()),
                e,
            ));
        }
        self.anchor_error.take().map_or(Ok(()), Err)
    }

    /// With a key, writes the opening checkpoint of an empty file now.
    fn start_file(&mut self) -> Result<(), SinkError> {
        let saved = self.head.clone();
        self.buf.clear();
        self.push_opening();
        if self.buf.is_empty() {
            return Ok(());
        }
        self.append_lines(saved)?;
        self.since_checkpoint = 0;
        self.sync(self.config.time.unix_nanos());
        self.record_anchors();
        Ok(())
    }

    /// Writes a checkpoint line now (when a key is configured).
    fn checkpoint(&mut self, is_final: bool) -> Result<(), SinkError> {
        let Some(key) = self.config.key.clone() else {
            return Ok(());
        };
        let saved = self.head.clone();
        self.buf.clear();
        self.push_opening();
        let now = Timestamp::now(&*self.config.time);
        self.push_checkpoint(&key, &Checkpoint::at(now, is_final, self.interval()), now);
        self.append_lines(saved)?;
        self.since_checkpoint = 0;
        self.last_checkpoint = now.unix_micros().saturating_mul(1000);
        self.record_anchors();
        Ok(())
    }

    /// Seals the live file, renames it aside and opens a new one. If the rename
    /// worked but the open failed, a retry only opens (meanwhile lines go on into
    /// the renamed file, whose name sorts before the new one's).
    fn rotate(&mut self) -> Result<(), SinkError> {
        let now = self.config.time.unix_nanos();
        if !self.renamed {
            self.checkpoint(false)?;
            self.sync(now);
            let aside = rotated_name(&self.path, &Timestamp::now(&*self.config.time).file_stamp());
            std::fs::rename(&self.path, &aside).map_err(|e| {
                SinkError::with_source(format!("cannot rotate {}", self.path.display()), e)
            })?;
            self.renamed = true;
        }
        #[cfg(test)]
        if self.fail_opens > 0 {
            self.fail_opens -= 1;
            return Err(SinkError::new("cannot open (test)"));
        }
        self.file = open_append(&self.path).map_err(|e| {
            SinkError::with_source(format!("cannot open {}", self.path.display()), e)
        })?;
        self.renamed = false;
        // Make the rename durable too.
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        self.size = 0;
        self.opened_at = now;
        self.start_file()
    }
}

impl Sink for JsonlSink {
    fn write(&mut self, batch: &[AuditEvent]) -> Result<(), SinkError> {
        let now = self.config.time.unix_nanos();
        if self.renamed {
            // A rotation that renamed the file but could not open the new one.
            if let Err(e) = self.rotate() {
                tracing::warn!(target: "token_audit", file = %self.path.display(), error = %e, "audit file rotation failed; will retry");
            }
        } else if let Some(every) = self.config.rotate_every
            && self.size > 0
            && now.saturating_sub(self.opened_at) >= nanos(every)
        {
            self.rotate()?;
        }
        let saved = self.head.clone();
        let saved_since = self.since_checkpoint;
        self.buf.clear();
        self.anchored.clear();
        if self.size == 0 && self.config.key.is_some() {
            self.push_opening();
            self.since_checkpoint = 0;
        }
        let key = self.config.key.clone();
        let interval = self.interval();
        let mut checkpointed = false;
        for event in batch {
            self.head.push_event(&mut self.buf, event);
            self.since_checkpoint += 1;
            if let (Some(key), Some(n)) = (&key, self.config.checkpoint_events)
                && self.since_checkpoint >= n
            {
                let time = Timestamp::now(&*self.config.time);
                self.push_checkpoint(key, &Checkpoint::at(time, false, interval), time);
                self.since_checkpoint = 0;
                checkpointed = true;
            }
        }
        if let Err(e) = self.append_lines(saved) {
            self.since_checkpoint = saved_since;
            return Err(e);
        }
        if checkpointed {
            self.last_checkpoint = now;
        }
        self.sync_by_policy(now);
        self.record_anchors();
        // The batch is written: a failed rotation must not make the auditor offer it
        // again (that would duplicate it). It is logged and retried after the next
        // batch.
        if self.config.rotate_bytes.is_some_and(|max| self.size >= max)
            && let Err(e) = self.rotate()
        {
            tracing::warn!(target: "token_audit", file = %self.path.display(), error = %e, "audit file rotation failed; will retry");
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        let now = self.config.time.unix_nanos();
        if let Some(every) = self.config.checkpoint_every
            && self.config.key.is_some()
            && now.saturating_sub(self.last_checkpoint) >= nanos(every)
        {
            self.checkpoint(false)?;
        }
        self.sync_by_policy(now);
        self.take_error()
    }

    fn close(&mut self) -> Result<(), SinkError> {
        self.checkpoint(true)?;
        let now = self.config.time.unix_nanos();
        if self.unsynced {
            self.sync(now);
        }
        self.take_error()
    }

    fn name(&self) -> &'static str {
        "jsonl"
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{JsonlConfig, JsonlSink};
    use crate::chain::CheckpointKey;
    use crate::event::{AuditEvent, EventKind, Outcome};
    use crate::sink::Sink;
    use crate::verify::{VerifyOptions, verify_chain_with};
    use token_core::ManualClock;

    #[test]
    fn a_rotation_whose_open_failed_after_the_rename_only_retries_the_open() {
        let dir =
            std::env::temp_dir().join(format!("token-audit-unit-rotate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.jsonl");
        let key = CheckpointKey::new(&[3; 32]).unwrap();
        let time = ManualClock::new(1_795_862_700);
        let config = JsonlConfig::new()
            .clock(Arc::new(time.clone()))
            .rotate_bytes(Some(1))
            .checkpoints(key.clone(), Some(100), None);
        let mut sink = JsonlSink::open(&path, config).unwrap();
        let e = || AuditEvent::new(EventKind::AuthSucceeded, Outcome::Allowed);
        sink.fail_opens = 3;
        // Written, then the rotation renames the file and fails to open a new one.
        sink.write(&[e()]).unwrap();
        assert!(sink.renamed);
        // The next write retries only the open, twice (before and after), and the
        // events go on into the renamed file.
        sink.write(&[e()]).unwrap();
        assert!(sink.renamed);
        // Then the open works.
        sink.write(&[e()]).unwrap();
        assert!(!sink.renamed);
        sink.close().unwrap();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|d| d.unwrap().path())
            .collect();
        files.sort();
        // Rotated files sort before the live one.
        let live = files.iter().position(|f| *f == path).unwrap();
        let last = files.remove(live);
        files.push(last);
        let report = verify_chain_with(&files, VerifyOptions::new().key(key)).unwrap();
        assert_eq!(report.lines - report.checkpoints, 3);
        assert!(report.closed);
        assert!(report.warnings.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
