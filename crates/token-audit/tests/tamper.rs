//! Attacks on a keyed chain by someone without the key: editing lines and
//! recomputing the chain, stripping checkpoints, tampering while the writer is
//! stopped, altering the last checkpoint, absurd sequence numbers, a stale tail.

mod common;

use std::time::Duration;

use common::{TempDir, config, event, key, lines, time, write_lines, write_log};
use token_audit::sink::{JsonlSink, Sink};
use token_audit::verify::{
    ChainErrorKind, ChainWarningKind, VerifyOptions, verify_chain, verify_chain_with,
};
use token_audit::{AuditErrorKind, Timestamp};

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

/// Renumbers and rechains `lines[from..]` after the line before, as an attacker
/// without the key would (tamper.py of the review).
fn rechain_from(lines: &mut [String], from: usize) {
    for i in from..lines.len() {
        let prev_seq: u64 = lines[i - 1][7..]
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let prev_hash = sha256_hex(&lines[i - 1]);
        let rest = &lines[i][lines[i].find("\"prev\":\"").unwrap() + 8 + 64 + 1..];
        lines[i] = format!("{{\"seq\":{},\"prev\":\"{prev_hash}\"{rest}", prev_seq + 1);
    }
}

fn unsealed() -> VerifyOptions {
    VerifyOptions::new().key(key()).allow_unsealed_tail(true)
}

#[test]
fn an_edit_that_strips_every_later_checkpoint_is_caught_even_on_a_live_file() {
    let dir = TempDir::new("strip");
    let path = dir.path("audit.jsonl");
    write_log(
        &path,
        config(&time()).checkpoints(key(), Some(5), None),
        23,
        4,
    );
    let mut l = lines(&path);
    // Edit the third event, drop every later checkpoint, renumber and rechain.
    let third = l
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.contains("\"checkpoint\""))
        .nth(2)
        .unwrap()
        .0;
    let mut forged: Vec<String> = l[..third].to_vec();
    forged.extend(
        l[third..]
            .iter()
            .filter(|l| !l.contains("\"checkpoint\""))
            .cloned(),
    );
    forged[third] = forged[third].replace("\"status\":200", "\"status\":500");
    rechain_from(&mut forged, third);
    write_lines(&path, &forged);
    assert!(
        verify_chain(&[&path], None).is_ok(),
        "the plain chain is fooled"
    );
    let e = verify_chain_with(&[&path], unsealed()).unwrap_err();
    // The sixth event line after the opening checkpoint (which says: every 5).
    assert_eq!(
        (e.kind(), e.line()),
        (ChainErrorKind::MissingCheckpoint, 7),
        "{e}"
    );
    // Stripping the opening checkpoint too leaves no checkpoint at all.
    l = forged[1..].to_vec();
    l[0] = l[0].replacen(
        &l[0][l[0].find("\"prev\":\"").unwrap() + 8..][..64],
        token_audit::verify::GENESIS,
        1,
    );
    l[0] = l[0].replacen("{\"seq\":2,", "{\"seq\":1,", 1);
    rechain_from(&mut l, 1);
    write_lines(&path, &l);
    assert!(verify_chain(&[&path], None).is_ok());
    let e = verify_chain_with(&[&path], unsealed()).unwrap_err();
    assert_eq!(e.kind(), ChainErrorKind::MissingCheckpoint, "{e}");
}

#[test]
fn a_live_tail_no_longer_than_the_interval_is_accepted() {
    let dir = TempDir::new("live");
    let path = dir.path("audit.jsonl");
    let mut sink =
        JsonlSink::open(&path, config(&time()).checkpoints(key(), Some(5), None)).unwrap();
    // 3 events: only the opening checkpoint so far.
    sink.write(&[event(1), event(2), event(3)]).unwrap();
    let report = verify_chain_with(&[&path], unsealed()).unwrap();
    assert_eq!((report.unsealed_lines, report.verified_checkpoints), (3, 1));
    // 12 events: checkpoints after 5 and 10, 2 unsealed.
    for i in 4..=12 {
        sink.write(&[event(i)]).unwrap();
    }
    let report = verify_chain_with(&[&path], unsealed()).unwrap();
    assert_eq!((report.unsealed_lines, report.verified_checkpoints), (2, 3));
}

#[test]
fn a_restart_after_offline_tampering_records_a_resumption_instead_of_sealing_it() {
    let dir = TempDir::new("launder");
    let t = time();
    let path = dir.path("audit.jsonl");
    let cfg = || config(&t).checkpoints(key(), Some(5), None);
    write_log(&path, cfg(), 12, 4);
    // Cut back to the second checkpoint and append a forged, correctly chained event.
    let l = lines(&path);
    let second = l
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("\"checkpoint\""))
        .nth(1)
        .unwrap()
        .0;
    let mut forged = l[..=second].to_vec();
    forged.push(event(99).to_json_line_for_test(&forged[second]));
    write_lines(&path, &forged);
    // A live-file check cannot tell this from a crash.
    assert!(verify_chain_with(&[&path], unsealed()).is_ok());
    // The writer restarts: it must not seal the forged tail as if it were its own.
    t.advance(Duration::from_secs(10));
    write_log(&path, cfg(), 3, 3);
    let files = dir.chain_files("audit.jsonl");
    assert_eq!(files.len(), 2, "the tampered file is kept aside: {files:?}");
    assert_eq!(lines(&files[0]), forged, "unchanged, as evidence");
    let first = &lines(&path)[0];
    assert!(
        first.contains("\"resumed\":{\"file\":\"audit.2026-11-28T10-45-10Z.1.jsonl\""),
        "{first}"
    );
    let report = verify_chain(&files, Some(&key())).unwrap();
    assert_eq!(report.resumptions, 1);
    let w = &report.warnings[0];
    assert_eq!(
        (w.kind(), w.file(), w.line()),
        (
            ChainWarningKind::Resumed,
            path.display().to_string().as_str(),
            1
        )
    );
    assert!(w.to_string().contains("last seq"), "{w}");
    // A clean log is one without resumptions.
    let strict = VerifyOptions::new().key(key()).require_final(true);
    let e = verify_chain_with(&files, strict).unwrap_err();
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::Truncated, 1), "{e}");
}

/// `AuditEvent` has no public line writer; this builds one the way the sink does.
trait ForgeLine {
    fn to_json_line_for_test(&self, after: &str) -> String;
}

impl ForgeLine for token_audit::AuditEvent {
    fn to_json_line_for_test(&self, after: &str) -> String {
        let seq: u64 = after[7..].split(',').next().unwrap().parse().unwrap();
        let body = serde_json::to_string(self).unwrap();
        format!(
            "{{\"seq\":{},\"prev\":\"{}\",{}",
            seq + 1,
            sha256_hex(after),
            &body[1..]
        )
    }
}

#[test]
fn a_clean_restart_resumes_in_place_and_a_crash_is_recorded() {
    let dir = TempDir::new("restart");
    let t = time();
    let path = dir.path("audit.jsonl");
    let cfg = || config(&t).checkpoints(key(), Some(5), None);
    write_log(&path, cfg(), 3, 3);
    write_log(&path, cfg(), 3, 3);
    let report = verify_chain(&[&path], Some(&key())).unwrap();
    assert_eq!((report.files, report.resumptions), (1, 0));
    assert!(report.closed);
    // A crash: events written, no final checkpoint.
    let mut sink = JsonlSink::open(&path, cfg()).unwrap();
    sink.write(&[event(7)]).unwrap();
    drop(sink);
    write_log(&path, cfg(), 1, 1);
    let files = dir.chain_files("audit.jsonl");
    assert_eq!(files.len(), 2);
    let report = verify_chain(&files, Some(&key())).unwrap();
    assert_eq!(report.resumptions, 1);
    assert!(report.closed);
}

#[test]
fn an_altered_last_checkpoint_is_an_edit() {
    let dir = TempDir::new("final");
    let path = dir.path("audit.jsonl");
    write_log(
        &path,
        config(&time()).checkpoints(key(), Some(5), None),
        7,
        7,
    );
    let l = lines(&path);
    let last = l.len() - 1;
    for altered in [
        l[last].replacen("}}", "},\"note\":\"approved by admin\"}", 1),
        l[last].replacen("\"checkpoint\":{", "\"checkpoint\":{\"x\":1,", 1),
        l[last].replacen("{\"seq\":", "{ \"seq\":", 1),
    ] {
        let mut m = l.clone();
        m[last] = altered;
        write_lines(&path, &m);
        for key in [None, Some(key())] {
            let e = verify_chain(&[&path], key.as_ref()).unwrap_err();
            assert_eq!(
                (e.kind(), e.line()),
                (ChainErrorKind::Edited, last as u64 + 1),
                "{e}"
            );
        }
    }
}

#[test]
fn the_largest_seq_is_malformed_not_a_panic() {
    let dir = TempDir::new("max");
    let path = dir.path("max.jsonl");
    // The reviewer's file: seq u64::MAX, then a line.
    std::fs::write(
        &path,
        format!(
            "{{\"seq\":18446744073709551615,\"prev\":\"{g}\"}}\n{{\"seq\":1,\"prev\":\"{g}\"}}\n",
            g = token_audit::verify::GENESIS
        ),
    )
    .unwrap();
    let partial = VerifyOptions::new().allow_partial_start(true);
    let e = verify_chain_with(&[&path], partial).unwrap_err();
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::Malformed, 1), "{e}");
    // A sink does not resume such a chain.
    let lone = dir.path("audit.jsonl");
    std::fs::write(
        &lone,
        format!(
            "{{\"seq\":18446744073709551615,\"prev\":\"{}\"}}\n",
            token_audit::verify::GENESIS
        ),
    )
    .unwrap();
    let e = JsonlSink::open(&lone, config(&time())).unwrap_err();
    assert_eq!(e.kind(), AuditErrorKind::Corrupt, "{e}");
}

#[test]
fn a_last_checkpoint_older_than_the_max_age_is_a_cut_tail() {
    let dir = TempDir::new("age");
    let t = time();
    let path = dir.path("audit.jsonl");
    let cfg = config(&t).checkpoints(key(), Some(100), Some(Duration::from_secs(60)));
    let mut sink = JsonlSink::open(&path, cfg).unwrap();
    for _ in 0..5 {
        sink.write(&[event(1)]).unwrap();
        t.advance(Duration::from_secs(60));
        sink.flush().unwrap();
    }
    let report = verify_chain_with(&[&path], unsealed()).unwrap();
    let last = report.last_checkpoint_time.unwrap();
    assert_eq!(
        last,
        Timestamp::from_unix_micros((1_795_862_700 + 300) * 1_000_000)
    );
    let at = |secs: i64| Timestamp::from_unix_micros((1_795_862_700 + secs) * 1_000_000);
    let fresh = unsealed().max_checkpoint_age(Duration::from_secs(90), at(390));
    assert!(verify_chain_with(&[&path], fresh).is_ok());
    // Cut after the third time checkpoint: a valid, sealed chain, but a stale one.
    let l = lines(&path);
    let cut = l
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("\"checkpoint\""))
        .nth(3)
        .unwrap()
        .0;
    write_lines(&path, &l[..=cut]);
    assert!(verify_chain_with(&[&path], unsealed()).is_ok());
    let stale = unsealed().max_checkpoint_age(Duration::from_secs(90), at(390));
    let e = verify_chain_with(&[&path], stale).unwrap_err();
    assert_eq!(
        (e.kind(), e.line()),
        (ChainErrorKind::Truncated, cut as u64 + 1),
        "{e}"
    );
    assert!(e.to_string().contains("more than 90s"), "{e}");
}
