//! Anchors: a record of every checkpoint's `(seq, hash, time)` that the operator keeps
//! apart from the log, so that a log cut back to an earlier checkpoint (and perhaps
//! continued) is caught: an anchored checkpoint is then missing from the chain, or the
//! chain ends before the last one. See `docs/audit.md`.
//!
//! The default is a second append-only file ([`FileAnchor`]), one JSON line per
//! checkpoint: `{"seq":1001,"hash":"<hex SHA-256 of the line>","time":"<RFC 3339>"}`.
//! A [`CallbackAnchor`] hands each checkpoint to your code instead (a remote log, a
//! monitoring system, a write-once store).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Deserialize;

use crate::error::{AuditError, AuditErrorKind};
use crate::sink::SinkError;
use crate::time::Timestamp;

/// The longest anchor line read back, in bytes (a line is about 120).
const MAX_ANCHOR_LINE: u64 = 1024;

/// One checkpoint as an anchor records it: its seq, the hex SHA-256 of its line (the
/// `prev` of the line after it) and its time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnchorEntry {
    /// The checkpoint line's seq.
    pub seq: u64,
    /// The lowercase hex SHA-256 of the checkpoint line's bytes (without its newline).
    pub hash: String,
    /// The checkpoint's time.
    pub time: Timestamp,
}

impl AnchorEntry {
    /// An entry for the checkpoint at `seq` whose line hashes to `hash`.
    pub fn new(seq: u64, hash: impl Into<String>, time: Timestamp) -> Self {
        AnchorEntry {
            seq,
            hash: hash.into(),
            time,
        }
    }

    /// The entry as one anchor-file line (without its newline).
    pub fn to_line(&self) -> String {
        format!(
            "{{\"seq\":{},\"hash\":\"{}\",\"time\":\"{}\"}}",
            self.seq, self.hash, self.time
        )
    }

    /// Parses one anchor-file line; `None` if it is not one.
    pub fn parse_line(line: &[u8]) -> Option<AnchorEntry> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Line<'a> {
            seq: u64,
            hash: &'a str,
            time: &'a str,
        }
        let l: Line<'_> = serde_json::from_slice(line).ok()?;
        let hex = l.hash.len() == 64
            && l.hash
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
        (hex && l.seq > 0).then_some(())?;
        Some(AnchorEntry::new(l.seq, l.hash, l.time.parse().ok()?))
    }
}

/// Where a [`JsonlSink`](crate::sink::JsonlSink) sends every checkpoint it writes, after the checkpoint
/// is in the log. Implementations must be append-only and kept where whoever can edit
/// the log cannot (another host, another user, a write-once store).
pub trait Anchor: Send + Sync + fmt::Debug {
    /// Records one checkpoint.
    fn record(&self, entry: &AnchorEntry) -> Result<(), SinkError>;

    /// The last checkpoint recorded, when this anchor can read it back. The sink
    /// asks on open: if the anchor is ahead of the log (the log was cut back), it
    /// continues after the anchored checkpoint, so that no seq is used twice. An
    /// anchor that cannot read back returns `Ok(None)` (the default); a cut-back log
    /// is then still caught by the verifier, but the writer reuses the cut seqs.
    fn last(&self) -> Result<Option<AnchorEntry>, SinkError> {
        Ok(None)
    }
}

/// The default anchor: an append-only JSON Lines file (mode 0600), synced after every
/// entry. Read it back with [`read_anchor_file`].
#[derive(Debug)]
pub struct FileAnchor {
    path: PathBuf,
    file: Mutex<File>,
}

impl FileAnchor {
    /// Opens (or creates) the anchor file at `path`. A partial last line (a crash
    /// mid-write) is cut off, so the next entry starts on a line of its own.
    pub fn open(path: impl AsRef<Path>) -> Result<FileAnchor, AuditError> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| AuditError::io(format!("cannot open the anchor {shown}"), e))?;
        let (_, complete) = last_line(&mut file)
            .map_err(|e| AuditError::io(format!("cannot read the anchor {shown}"), e))?;
        let len = file.metadata().map_or(0, |m| m.len());
        if complete < len {
            file.set_len(complete)
                .map_err(|e| AuditError::io(format!("cannot repair the anchor {shown}"), e))?;
        }
        Ok(FileAnchor {
            path,
            file: Mutex::new(file),
        })
    }

    /// The anchor file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The last complete line of `file` (without its newline), and where the complete
/// lines end.
fn last_line(file: &mut File) -> std::io::Result<(Vec<u8>, u64)> {
    let len = file.metadata()?.len();
    let window = len.min(2 * MAX_ANCHOR_LINE + 2);
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(len - window))?;
    file.take(window).read_to_end(&mut tail)?;
    let Some(end) = tail.iter().rposition(|&b| b == b'\n') else {
        return Ok((Vec::new(), len - window));
    };
    let start = tail[..end]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Ok((tail[start..end].to_vec(), len - window + end as u64 + 1))
}

impl Anchor for FileAnchor {
    fn record(&self, entry: &AnchorEntry) -> Result<(), SinkError> {
        let mut line = entry.to_line().into_bytes();
        line.push(b'\n');
        let file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (&*file)
            .write_all(&line)
            .and_then(|()| file.sync_data())
            .map_err(|e| {
                SinkError::with_source(
                    format!("cannot append to the anchor {}", self.path.display()),
                    e,
                )
            })
    }

    fn last(&self) -> Result<Option<AnchorEntry>, SinkError> {
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let shown = self.path.display();
        let (line, _) = last_line(&mut file)
            .map_err(|e| SinkError::with_source(format!("cannot read the anchor {shown}"), e))?;
        if line.is_empty() {
            return Ok(None);
        }
        AnchorEntry::parse_line(&line)
            .map(Some)
            .ok_or_else(|| SinkError::new(format!("{shown} does not end in an anchor line")))
    }
}

/// An anchor that hands every checkpoint to a function (which should not block for
/// long: it runs on the audit worker).
pub struct CallbackAnchor<F> {
    record: F,
}

impl<F> CallbackAnchor<F>
where
    F: Fn(&AnchorEntry) -> Result<(), SinkError> + Send + Sync,
{
    /// An anchor that calls `record` for every checkpoint.
    pub fn new(record: F) -> Self {
        CallbackAnchor { record }
    }
}

impl<F> fmt::Debug for CallbackAnchor<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackAnchor")
    }
}

impl<F> Anchor for CallbackAnchor<F>
where
    F: Fn(&AnchorEntry) -> Result<(), SinkError> + Send + Sync,
{
    fn record(&self, entry: &AnchorEntry) -> Result<(), SinkError> {
        (self.record)(entry)
    }
}

/// Reads an anchor file written by [`FileAnchor`]: its entries in file order. A
/// partial last line (a crash mid-write) is ignored; any other line that is not an
/// anchor line is an error ([`AuditErrorKind::Corrupt`]).
pub fn read_anchor_file(path: impl AsRef<Path>) -> Result<Vec<AnchorEntry>, AuditError> {
    let path = path.as_ref();
    let shown = path.display();
    let file = File::open(path)
        .map_err(|e| AuditError::io(format!("cannot open the anchor {shown}"), e))?;
    let mut reader = BufReader::new(file);
    let mut entries = Vec::new();
    let mut line = Vec::new();
    for n in 1.. {
        line.clear();
        let read = (&mut reader)
            .take(MAX_ANCHOR_LINE + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| AuditError::io(format!("cannot read the anchor {shown}"), e))?;
        if read == 0 || line.last() != Some(&b'\n') && line.len() as u64 <= MAX_ANCHOR_LINE {
            break;
        }
        line.pop();
        let entry = AnchorEntry::parse_line(&line).ok_or_else(|| {
            AuditError::new(
                AuditErrorKind::Corrupt,
                format!("{shown}:{n}: not an anchor line ({{\"seq\",\"hash\",\"time\"}})"),
            )
        })?;
        entries.push(entry);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::{Anchor, AnchorEntry, FileAnchor, read_anchor_file};
    use crate::time::Timestamp;

    #[test]
    fn a_file_anchor_appends_reads_back_and_repairs_a_torn_line() {
        let dir = std::env::temp_dir().join(format!("token-audit-anchor-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.anchor");
        let a = FileAnchor::open(&path).unwrap();
        assert_eq!(a.last().unwrap(), None);
        let t = Timestamp::from_unix_micros(1_795_862_700_000_000);
        let e1 = AnchorEntry::new(1, "ab".repeat(32), t);
        let e2 = AnchorEntry::new(9, "cd".repeat(32), t);
        a.record(&e1).unwrap();
        a.record(&e2).unwrap();
        assert_eq!(a.last().unwrap(), Some(e2.clone()));
        drop(a);
        // A torn write: cut off on open, ignored when read.
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"seq\":10,\"ha");
        std::fs::write(&path, &text).unwrap();
        assert_eq!(read_anchor_file(&path).unwrap(), [e1.clone(), e2.clone()]);
        let a = FileAnchor::open(&path).unwrap();
        assert_eq!(a.last().unwrap(), Some(e2.clone()));
        a.record(&e1).unwrap();
        assert_eq!(read_anchor_file(&path).unwrap(), [e1.clone(), e2, e1]);
        // Garbage in the middle is an error.
        std::fs::write(
            &path,
            format!("x\n{}\n", AnchorEntry::new(1, "ab".repeat(32), t).to_line()),
        )
        .unwrap();
        assert!(read_anchor_file(&path).is_err());
        for bad in [
            &b"{\"seq\":0,\"hash\":\"abab\",\"time\":\"2026-11-28T10:45:00Z\"}"[..],
            b"{\"seq\":1,\"hash\":\"ab\",\"time\":\"2026-11-28T10:45:00Z\"}",
            b"{\"seq\":1,\"hash\":\"abababababababababababababababababababababababababababababababab\",\"time\":\"2026-02-31T10:45:00Z\"}",
        ] {
            assert_eq!(AnchorEntry::parse_line(bad), None);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
