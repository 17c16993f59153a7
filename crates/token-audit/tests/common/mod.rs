//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use token_audit::CheckpointKey;
use token_audit::sink::{JsonlConfig, JsonlSink, Sink};
use token_audit::{AuditEvent, EventKind, Outcome};
use token_core::ManualClock;

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "token-audit-test-{}-{n}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    /// Files in the directory, rotated ones first (name order), the live file last.
    pub fn chain_files(&self, live: &str) -> Vec<PathBuf> {
        let mut rotated: Vec<PathBuf> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap() != live)
            .collect();
        rotated.sort();
        rotated.push(self.path(live));
        rotated
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn key() -> CheckpointKey {
    CheckpointKey::new(b"0123456789abcdef0123456789abcdef").unwrap()
}

pub fn time() -> ManualClock {
    ManualClock::new(1_795_862_700)
}

pub fn event(i: u64) -> AuditEvent {
    AuditEvent::new(EventKind::AuthSucceeded, Outcome::Allowed)
        .key_id(&format!("key_{}", i % 3))
        .tenant("acme")
        .status(200)
        .count(i)
}

/// Writes `n` events in batches of `batch` straight into a JSONL sink and closes it.
pub fn write_log(path: &Path, config: JsonlConfig, n: u64, batch: usize) {
    let mut sink = JsonlSink::open(path, config).unwrap();
    let events: Vec<AuditEvent> = (0..n).map(event).collect();
    for chunk in events.chunks(batch) {
        sink.write(chunk).unwrap();
    }
    sink.close().unwrap();
}

pub fn config(time: &ManualClock) -> JsonlConfig {
    JsonlConfig::new().clock(Arc::new(time.clone()))
}

pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

pub fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}
