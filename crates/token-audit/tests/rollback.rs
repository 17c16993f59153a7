//! Rolling the log back: while the writer is stopped, the file is cut back to an
//! earlier checkpoint line, the writer restarts and writes more. The chain alone
//! cannot show it; the opening checkpoints and the anchor do.

mod common;

use std::sync::{Arc, Mutex};

use common::{TempDir, config, event, key, lines, time, write_lines, write_log};
use token_audit::anchor::{AnchorEntry, CallbackAnchor, FileAnchor, read_anchor_file};
use token_audit::sink::JsonlConfig;
use token_audit::verify::{ChainErrorKind, VerifyOptions, verify_chain_with};

fn sha256_hex(line: &str) -> String {
    use std::fmt::Write as _;
    ring::digest::digest(&ring::digest::SHA256, line.as_bytes())
        .as_ref()
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn seq_of(line: &str) -> u64 {
    line[7..].split(',').next().unwrap().parse().unwrap()
}

/// Every option that a rollback used to pass: a key, a clean close, the last seq a
/// monitor saw.
fn strict(expected_last_seq: u64) -> VerifyOptions {
    VerifyOptions::new()
        .key(key())
        .require_final(true)
        .expected_last_seq(Some(expected_last_seq))
}

/// Cuts the log back to its `n`th checkpoint line (1-based), as the attacker does.
fn cut_back_to_checkpoint(path: &std::path::Path, n: usize) -> u64 {
    let l = lines(path);
    let at = l
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("\"checkpoint\":"))
        .nth(n - 1)
        .unwrap()
        .0;
    write_lines(path, &l[..=at]);
    seq_of(&l[at])
}

#[test]
fn a_clean_restart_opens_with_a_checkpoint_naming_the_previous_final_line() {
    let dir = TempDir::new("opening");
    let t = time();
    let path = dir.path("audit.jsonl");
    let anchor_path = dir.path("audit.anchor");
    let cfg = || {
        config(&t)
            .checkpoints(key(), Some(5), None)
            .anchor(Arc::new(FileAnchor::open(&anchor_path).unwrap()))
    };
    write_log(&path, cfg(), 7, 3);
    let before = lines(&path);
    let final_line = before.last().unwrap().clone();
    assert!(final_line.contains("\"final\":true"));
    write_log(&path, cfg(), 2, 2);
    let after = lines(&path);
    let opening = &after[before.len()];
    assert_eq!(seq_of(opening), seq_of(&final_line) + 1);
    assert!(
        opening.contains(&format!(
            "\"opening\":{{\"seq\":{},\"hash\":\"{}\"}}",
            seq_of(&final_line),
            sha256_hex(&final_line)
        )),
        "{opening}"
    );
    // Every seq once; every checkpoint anchored, with its time.
    let seqs: Vec<u64> = after.iter().map(|l| seq_of(l)).collect();
    assert_eq!(seqs, (1..=after.len() as u64).collect::<Vec<_>>());
    let anchored = read_anchor_file(&anchor_path).unwrap();
    let checkpoints: Vec<&String> = after
        .iter()
        .filter(|l| l.contains("\"checkpoint\":"))
        .collect();
    assert_eq!(anchored.len(), checkpoints.len());
    for (a, line) in anchored.iter().zip(&checkpoints) {
        assert_eq!((a.seq, a.hash.as_str()), (seq_of(line), &*sha256_hex(line)));
        assert!(line.contains(&format!("\"time\":\"{}\"", a.time)));
    }
    let report = verify_chain_with(
        &[&path],
        strict(after.len() as u64).anchor(anchored.clone()),
    )
    .unwrap();
    assert_eq!(report.starts, 1);
    assert_eq!(report.anchored_checkpoints, anchored.len() as u64);
    assert_eq!(report.last_anchored_seq, Some(after.len() as u64));
    assert!(report.closed);
}

#[test]
fn a_rollback_while_stopped_passes_every_chain_check_but_not_the_anchor() {
    let dir = TempDir::new("rollback-callback");
    let t = time();
    let path = dir.path("audit.jsonl");
    // An anchor that cannot read back (a callback into a remote log): the writer
    // cannot know it was rolled back, and reuses the cut seqs.
    let recorded: Arc<Mutex<Vec<AnchorEntry>>> = Arc::default();
    let cfg = || {
        let r = Arc::clone(&recorded);
        config(&t)
            .checkpoints(key(), Some(5), None)
            .anchor(Arc::new(CallbackAnchor::new(move |e: &AnchorEntry| {
                r.lock().unwrap().push(e.clone());
                Ok(())
            })))
    };
    write_log(&path, cfg(), 20, 4);
    let full = lines(&path).len() as u64;
    let cut = cut_back_to_checkpoint(&path, 2);
    assert!(cut < full);
    write_log(&path, cfg(), 30, 4);
    let last = lines(&path).len() as u64;
    assert!(last > full);
    // The chain alone: intact, closed cleanly, past the last seq seen before.
    let report = verify_chain_with(&[&path], strict(full)).unwrap();
    assert!(report.closed);
    // The anchor: the checkpoints after the cut are not in the chain.
    let anchored = recorded.lock().unwrap().clone();
    let e = verify_chain_with(&[&path], strict(full).anchor(anchored.clone())).unwrap_err();
    assert_eq!(e.kind(), ChainErrorKind::RolledBack, "{e}");
    assert!(e.to_string().contains("not in the chain"), "{e}");
    // Without the key or the other options too.
    let e = verify_chain_with(&[&path], VerifyOptions::new().anchor(anchored)).unwrap_err();
    assert_eq!(e.kind(), ChainErrorKind::RolledBack, "{e}");
}

#[test]
fn a_log_cut_back_and_not_continued_ends_before_the_last_anchor() {
    let dir = TempDir::new("rollback-cut");
    let t = time();
    let path = dir.path("audit.jsonl");
    let anchor_path = dir.path("audit.anchor");
    let cfg = config(&t)
        .checkpoints(key(), Some(5), None)
        .anchor(Arc::new(FileAnchor::open(&anchor_path).unwrap()));
    write_log(&path, cfg, 20, 4);
    let cut = cut_back_to_checkpoint(&path, 3);
    let anchored = read_anchor_file(&anchor_path).unwrap();
    // Sealed by a checkpoint, so the chain checks pass (short of a clean close).
    verify_chain_with(&[&path], VerifyOptions::new().key(key())).unwrap();
    let e =
        verify_chain_with(&[&path], VerifyOptions::new().key(key()).anchor(anchored)).unwrap_err();
    assert_eq!(e.kind(), ChainErrorKind::RolledBack, "{e}");
    assert!(
        e.to_string()
            .contains(&format!("the chain ends at seq {cut}")),
        "{e}"
    );
}

#[test]
fn a_writer_that_reads_its_anchor_never_reuses_a_seq_after_a_rollback() {
    let dir = TempDir::new("rollback-file");
    let t = time();
    let path = dir.path("audit.jsonl");
    let anchor_path = dir.path("audit.anchor");
    let cfg = || -> JsonlConfig {
        config(&t)
            .checkpoints(key(), Some(5), None)
            .anchor(Arc::new(FileAnchor::open(&anchor_path).unwrap()))
    };
    write_log(&path, cfg(), 20, 4);
    let before = lines(&path);
    let final_line = before.last().unwrap().clone();
    let cut = cut_back_to_checkpoint(&path, 2);
    write_log(&path, cfg(), 6, 3);
    let after = lines(&path);
    // The opening checkpoint continues after the last anchored one, and names it.
    let opening = &after[usize::try_from(cut).unwrap()];
    assert_eq!(seq_of(opening), seq_of(&final_line) + 1, "{opening}");
    assert!(
        opening.contains(&format!(
            "\"opening\":{{\"seq\":{},\"hash\":\"{}\"}}",
            seq_of(&final_line),
            sha256_hex(&final_line)
        )),
        "{opening}"
    );
    // No seq twice, in the log or in the anchor.
    let mut seqs: Vec<u64> = after.iter().map(|l| seq_of(l)).collect();
    let n = seqs.len();
    seqs.dedup();
    assert_eq!(seqs.len(), n);
    let anchored = read_anchor_file(&anchor_path).unwrap();
    assert!(anchored.windows(2).all(|w| w[0].seq < w[1].seq));
    // The gap shows even without the anchor; with it, too.
    let e = verify_chain_with(&[&path], VerifyOptions::new().key(key())).unwrap_err();
    assert_eq!(e.kind(), ChainErrorKind::Deleted, "{e}");
    let e =
        verify_chain_with(&[&path], VerifyOptions::new().key(key()).anchor(anchored)).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ChainErrorKind::Deleted | ChainErrorKind::RolledBack
        ),
        "{e}"
    );
}

#[test]
fn an_anchor_needs_a_key() {
    let dir = TempDir::new("anchor-no-key");
    let t = time();
    let anchor = Arc::new(FileAnchor::open(dir.path("a")).unwrap());
    let e = token_audit::sink::JsonlSink::open(dir.path("audit.jsonl"), config(&t).anchor(anchor))
        .unwrap_err();
    assert_eq!(e.kind(), token_audit::AuditErrorKind::InvalidConfig);
    let _ = event(0);
}
