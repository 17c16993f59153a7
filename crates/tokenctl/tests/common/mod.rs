//! What the CLI tests share: a scratch directory and running the binary.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scratch directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("tokenctl-test-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    /// `path(file)` as a `&str` argument.
    pub fn arg(&self, file: &str) -> String {
        self.path(file).to_str().unwrap().to_owned()
    }

    /// The `.jsonl` files inside, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().path().to_str().unwrap().to_owned())
            .filter(|p| Path::new(p).extension().is_some_and(|e| e == "jsonl"))
            .collect();
        v.sort();
        v
    }

    pub fn dir(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `tokenctl` with `args`.
pub fn tokenctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenctl"))
        .args(args)
        .output()
        .unwrap()
}
