//! `tokenctl audit verify` and `tokenctl audit stats` against real audit files written
//! by token-audit's JSON Lines sink.

mod common;

use common::{TempDir, tokenctl};

use std::path::Path;
use std::sync::Arc;

use token_audit::CheckpointKey;
use token_audit::sink::{JsonlConfig, JsonlSink, Sink};
use token_audit::{AuditEvent, EventKind, Outcome};
use token_core::ManualClock;

const KEY: &[u8] = b"9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c";

/// Writes `n` events (with checkpoints every 10) into `dir/audit.jsonl`, rotating at
/// `rotate` bytes, and closes the sink.
fn write_log(path: &Path, n: u64, rotate: Option<u64>) {
    let time = ManualClock::new(1_795_862_700);
    let config = JsonlConfig::new()
        .clock(Arc::new(time.clone()))
        .rotate_bytes(rotate)
        .checkpoints(CheckpointKey::new(KEY).unwrap(), Some(10), None);
    let mut sink = JsonlSink::open(path, config).unwrap();
    for i in 0..n {
        let e = if i % 4 == 0 {
            AuditEvent::auth_failed_code("key_revoked").tenant("globex")
        } else {
            AuditEvent::new(EventKind::AuthSucceeded, Outcome::Allowed).tenant("acme")
        };
        sink.write(&[e
            .key_id(&format!("key_{}", i % 2))
            .at(token_audit::Timestamp::now(&time))])
            .unwrap();
        time.advance(std::time::Duration::from_secs(1));
    }
    sink.close().unwrap();
}

fn run(args: &[String]) -> (i32, String, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = tokenctl(&args);
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn args(head: &[&str], files: &[String], tail: &[&str]) -> Vec<String> {
    head.iter()
        .map(|s| (*s).to_owned())
        .chain(files.iter().cloned())
        .chain(tail.iter().map(|s| (*s).to_owned()))
        .collect()
}

#[test]
fn verify_accepts_an_intact_rotated_chain_in_any_argument_order() {
    let dir = TempDir::new("intact");
    write_log(&dir.path("audit.jsonl"), 100, Some(3000));
    std::fs::write(dir.path("audit.key"), [KEY, b"\n"].concat()).unwrap();
    let mut files = dir.files();
    assert!(files.len() >= 3, "{files:?}");
    files.reverse();
    let key = dir.path("audit.key").to_str().unwrap().to_owned();
    let (code, out, err) = run(&args(
        &["audit", "verify", "--key", &key, "--closed"],
        &files,
        &[],
    ));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("ok: 1") && out.contains("closed cleanly"),
        "{out}"
    );
    assert!(err.is_empty(), "no progress bar off a terminal: {err}");
}

#[test]
fn verify_names_the_first_bad_line_and_exits_1() {
    let dir = TempDir::new("edited");
    let path = dir.path("audit.jsonl");
    write_log(&path, 30, None);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    // Line 1 is the opening checkpoint; line 6 the fifth event, a refusal.
    let edited = lines[5].replace("key_revoked", "key_unknown");
    assert_ne!(edited, lines[5]);
    lines[5] = &edited;
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (code, out, err) = run(&args(&["audit", "verify"], &dir.files(), &[]));
    assert_eq!(code, 1, "{out}");
    let shown = format!("{}:6: ", path.display());
    assert!(err.contains(&shown) && err.contains("(Edited)"), "{err}");
}

#[test]
fn verify_with_the_key_catches_a_cut_tail_and_a_wrong_key() {
    let dir = TempDir::new("cut");
    let path = dir.path("audit.jsonl");
    write_log(&path, 25, None);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&path, lines[..lines.len() - 3].join("\n") + "\n").unwrap();
    std::fs::write(dir.path("k"), KEY).unwrap();
    let key = dir.path("k").to_str().unwrap().to_owned();
    let files = vec![path.to_str().unwrap().to_owned()];
    assert_eq!(run(&args(&["audit", "verify"], &files, &[])).0, 0);
    let (code, _, err) = run(&args(&["audit", "verify", "--key", &key], &files, &[]));
    assert_eq!(code, 1);
    assert!(err.contains("(Truncated)"), "{err}");
    let (code, out, _) = run(&args(
        &["audit", "verify", "--key", &key, "--allow-unsealed"],
        &files,
        &[],
    ));
    assert_eq!(code, 0);
    assert!(out.contains("unsealed line(s)"), "{out}");
    std::fs::write(dir.path("k"), b"a different key of 32 bytes or more").unwrap();
    let (code, _, err) = run(&args(&["audit", "verify", "--key", &key], &files, &[]));
    assert_eq!(code, 1);
    assert!(err.contains("(BadCheckpoint)"), "{err}");
}

#[test]
fn verify_usage_errors_exit_2() {
    let dir = TempDir::new("usage");
    let missing = dir.path("nope.jsonl").to_str().unwrap().to_owned();
    assert_eq!(
        run(&args(
            &["audit", "verify"],
            std::slice::from_ref(&missing),
            &[]
        ))
        .0,
        2
    );
    std::fs::write(dir.path("short.key"), b"short").unwrap();
    write_log(&dir.path("audit.jsonl"), 3, None);
    let key = dir.path("short.key").to_str().unwrap().to_owned();
    let (code, _, err) = run(&args(
        &["audit", "verify", "--key", &key],
        &dir.files(),
        &[],
    ));
    assert_eq!(code, 2);
    assert!(err.contains("at least 32 bytes"), "{err}");
    assert_eq!(
        run(&args(&["audit", "verify", "--closed"], &dir.files(), &[])).0,
        2
    );
    assert_eq!(tokenctl(&["audit", "verify"]).status.code(), Some(2));
}

#[test]
fn stats_summarise_by_kind_reason_key_and_tenant_and_survive_garbage() {
    let dir = TempDir::new("stats");
    let path = dir.path("audit.jsonl");
    write_log(&path, 40, None);
    let mut text = std::fs::read(&path).unwrap();
    text.extend_from_slice(b"not json\n\xff\xfe\n");
    std::fs::write(&path, &text).unwrap();
    let files = dir.files();
    let (code, out, err) = run(&args(&["audit", "stats"], &files, &[]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("events 40  checkpoints 6  malformed 2"),
        "{out}"
    );
    assert!(out.contains("auth.succeeded  30"), "{out}");
    assert!(out.contains("key_revoked  10"), "{out}");
    assert!(out.contains("acme  "), "{out}");
    let (code, out, _) = run(&args(&["audit", "stats", "--json"], &files, &[]));
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["by_kind"]["auth.failed"], 10);
    assert_eq!(json["by_key"]["key_0"], 20);
    assert_eq!(json["by_tenant"]["globex"], 10);
    assert_eq!(json["first_time"], "2026-11-28T10:45:00.000000Z");
    // --top limits rows and sums the rest.
    let (_, out, _) = run(&args(&["audit", "stats", "--top", "1"], &files, &[]));
    assert!(out.contains("(1 more)"), "{out}");
}

#[test]
fn stats_escape_control_characters_from_the_file() {
    let dir = TempDir::new("escape");
    let path = dir.path("esc.jsonl");
    // The reviewer's file: a key id that clears the screen and retitles the terminal.
    std::fs::write(
        &path,
        concat!(
            r#"{"seq":1,"prev":"0000000000000000000000000000000000000000000000000000000000000000","v":1,"kind":"auth.succeeded","outcome":"allowed","key_id":"\u001b[2J\u001b]0;owned\u0007key_1\u009b\u007f"}"#,
            "\n"
        ),
    )
    .unwrap();
    let files = vec![path.to_str().unwrap().to_owned()];
    let (code, out, _) = run(&args(&["audit", "stats"], &files, &[]));
    assert_eq!(code, 0);
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    assert!(
        out.contains(r"\u{1b}[2J\u{1b}]0;owned\u{7}key_1\u{9b}\u{7f}"),
        "{out}"
    );
    // JSON output is escaped by the encoder.
    let (_, out, _) = run(&args(&["audit", "stats", "--json"], &files, &[]));
    assert!(!out.contains('\u{1b}'), "{out:?}");
}

#[test]
fn verify_expect_last_seq_and_max_age_catch_a_tail_cut_after_a_checkpoint() {
    let dir = TempDir::new("expect");
    let path = dir.path("audit.jsonl");
    write_log(&path, 25, None);
    std::fs::write(dir.path("k"), KEY).unwrap();
    let key = dir.path("k").to_str().unwrap().to_owned();
    // Cut right after the checkpoint that follows the 20th event.
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = lines
        .iter()
        .rposition(|l| l.contains("\"final\":false"))
        .unwrap();
    std::fs::write(&path, lines[..=cut].join("\n") + "\n").unwrap();
    let files = vec![path.to_str().unwrap().to_owned()];
    let last_seq = cut as u64 + 1;
    assert_eq!(
        run(&args(&["audit", "verify", "--key", &key], &files, &[])).0,
        0
    );
    let expect = |n: u64| {
        run(&args(
            &["audit", "verify", "--expect-last-seq", &n.to_string()],
            &files,
            &[],
        ))
    };
    assert_eq!(expect(last_seq).0, 0);
    let (code, _, err) = expect(last_seq + 3);
    assert_eq!(code, 1);
    assert!(err.contains("(Truncated)"), "{err}");
    // The log's clock starts at 1_795_862_700 and ticks a second per event; the
    // checkpoint after the 20th event is at +19 s.
    let (code, out, _) = run(&args(&["audit", "verify", "--key", &key], &files, &[]));
    assert_eq!(code, 0);
    assert!(
        out.contains("last checkpoint at 2026-11-28T10:45:19.000000Z"),
        "{out}"
    );
    let max_age = |now: i64| {
        run(&args(
            &["audit", "verify", "--key", &key, "--max-age", "60"],
            &files,
            &["--now", &now.to_string()],
        ))
    };
    assert_eq!(max_age(1_795_862_700 + 19 + 60).0, 0);
    let (code, _, err) = max_age(1_795_862_700 + 19 + 61);
    assert_eq!(code, 1);
    assert!(
        err.contains("(Truncated)") && err.contains("more than 60s"),
        "{err}"
    );
    // --max-age needs the key: the checkpoint time is only trusted with it.
    assert_eq!(
        run(&args(&["audit", "verify", "--max-age", "60"], &files, &[])).0,
        2
    );
}

#[test]
fn verify_warns_about_a_resumption_and_closed_refuses_it() {
    let dir = TempDir::new("resumed");
    let path = dir.path("audit.jsonl");
    write_log(&path, 5, None);
    // A crash: the last line (the final checkpoint) is lost.
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&path, lines[..lines.len() - 1].join("\n") + "\n").unwrap();
    write_log(&path, 5, None);
    std::fs::write(dir.path("k"), KEY).unwrap();
    let key = dir.path("k").to_str().unwrap().to_owned();
    let files = dir.files();
    assert_eq!(files.len(), 2, "{files:?}");
    let (code, out, err) = run(&args(&["audit", "verify", "--key", &key], &files, &[]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ok: "), "{out}");
    assert!(
        err.starts_with("warning: ") && err.contains("resumed after an unsealed"),
        "{err}"
    );
    let (code, _, err) = run(&args(
        &["audit", "verify", "--key", &key, "--closed"],
        &files,
        &[],
    ));
    assert_eq!(code, 1);
    assert!(err.contains("not a clean log"), "{err}");
}

/// Writes `n` events into `path` with every checkpoint sent to `anchor` too.
fn write_anchored_log(path: &Path, n: u64, anchor: Arc<dyn token_audit::anchor::Anchor>) {
    let time = ManualClock::new(1_795_862_700);
    let config = JsonlConfig::new()
        .clock(Arc::new(time.clone()))
        .checkpoints(CheckpointKey::new(KEY).unwrap(), Some(10), None)
        .anchor(anchor);
    let mut sink = JsonlSink::open(path, config).unwrap();
    for _ in 0..n {
        let e = AuditEvent::new(EventKind::AuthSucceeded, Outcome::Allowed).tenant("acme");
        sink.write(&[e.at(token_audit::Timestamp::now(&time))])
            .unwrap();
        time.advance(std::time::Duration::from_secs(1));
    }
    sink.close().unwrap();
}

/// Cuts `path` back to just after its second checkpoint line.
fn cut_back(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let second = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("\"checkpoint\":"))
        .nth(1)
        .unwrap()
        .0;
    std::fs::write(path, lines[..=second].join("\n") + "\n").unwrap();
}

#[test]
fn verify_with_an_anchor_catches_a_rollback_that_passes_every_other_check() {
    let dir = TempDir::new("rollback");
    let path = dir.path("audit.jsonl");
    let anchor = dir.path("audit.anchor");
    std::fs::write(dir.path("k"), KEY).unwrap();
    let key = dir.path("k").to_str().unwrap().to_owned();
    let anchor_arg = anchor.to_str().unwrap().to_owned();
    write_anchored_log(
        &path,
        30,
        Arc::new(token_audit::anchor::FileAnchor::open(&anchor).unwrap()),
    );
    let last_seq = std::fs::read_to_string(&path).unwrap().lines().count();
    let file = vec![path.to_str().unwrap().to_owned()];
    let (code, out, err) = run(&args(
        &[
            "audit",
            "verify",
            "--key",
            &key,
            "--closed",
            "--anchor",
            &anchor_arg,
        ],
        &file,
        &[],
    ));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("anchored checkpoint(s) found"), "{out}");
    assert!(!out.contains("rollback not excluded"), "{out}");
    // Stopped, cut back to a checkpoint, restarted by a writer whose anchor cannot
    // be read back (it is shipped elsewhere), and more written.
    cut_back(&path);
    let shipped = anchor.clone();
    write_anchored_log(
        &path,
        40,
        Arc::new(token_audit::anchor::CallbackAnchor::new(
            move |e: &token_audit::anchor::AnchorEntry| {
                use std::io::Write as _;
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&shipped)
                    .unwrap();
                writeln!(f, "{}", e.to_line()).unwrap();
                Ok(())
            },
        )),
    );
    let seq = last_seq.to_string();
    let (code, out, err) = run(&args(
        &[
            "audit",
            "verify",
            "--key",
            &key,
            "--closed",
            "--expect-last-seq",
            &seq,
        ],
        &file,
        &["--max-age", "3600", "--now", "1795862800"],
    ));
    assert_eq!(code, 0, "every check short of the anchor passes: {err}");
    assert!(out.contains("rollback not excluded"), "{out}");
    let (code, out, err) = run(&args(
        &[
            "audit",
            "verify",
            "--key",
            &key,
            "--closed",
            "--anchor",
            &anchor_arg,
        ],
        &file,
        &[],
    ));
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("RolledBack") && err.contains("not in the chain"),
        "{err}"
    );
    // A missing anchor file is a usage error.
    let (code, _, err) = run(&args(
        &["audit", "verify", "--anchor", "/nonexistent/anchor"],
        &file,
        &[],
    ));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn verify_with_an_anchor_catches_a_log_cut_back_to_a_checkpoint() {
    let dir = TempDir::new("cutback");
    let path = dir.path("audit.jsonl");
    let anchor = dir.path("audit.anchor");
    let anchor_arg = anchor.to_str().unwrap().to_owned();
    write_anchored_log(
        &path,
        30,
        Arc::new(token_audit::anchor::FileAnchor::open(&anchor).unwrap()),
    );
    cut_back(&path);
    let file = vec![path.to_str().unwrap().to_owned()];
    let (code, out, err) = run(&args(
        &["audit", "verify", "--anchor", &anchor_arg],
        &file,
        &[],
    ));
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("the chain ends at seq"), "{err}");
    // Restarted with the anchor it reads back: the seqs after the cut are not used
    // again, so even the chain alone shows the gap.
    write_anchored_log(
        &path,
        5,
        Arc::new(token_audit::anchor::FileAnchor::open(&anchor).unwrap()),
    );
    let (code, _, err) = run(&args(&["audit", "verify"], &file, &[]));
    assert_eq!(code, 1);
    assert!(err.contains("Deleted"), "{err}");
}
