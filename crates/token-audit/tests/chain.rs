//! The hash chain: every tamper case is reported at the right line with the right
//! kind; rotation and restarts keep one chain; checkpoints catch a cut tail.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use common::{TempDir, config, event, key, lines, time, write_lines, write_log};
use token_audit::CheckpointKey;
use token_audit::sink::{JsonlSink, Sink};
use token_audit::verify::{
    ChainErrorKind, ChainWarningKind, VerifyOptions, verify_chain, verify_chain_with,
};

/// A 20-line log without checkpoints.
fn plain_log(dir: &TempDir) -> std::path::PathBuf {
    let path = dir.path("audit.jsonl");
    write_log(&path, config(&time()), 20, 7);
    path
}

fn first_error(path: &std::path::Path) -> token_audit::verify::ChainError {
    verify_chain(&[path], None).unwrap_err()
}

#[test]
fn an_intact_chain_verifies_and_the_file_is_private() {
    let dir = TempDir::new("intact");
    let path = plain_log(&dir);
    let report = verify_chain(&[&path], None).unwrap();
    assert_eq!(
        (report.lines, report.first_seq, report.last_seq),
        (20, 1, 20)
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn an_edited_field_is_reported_at_its_line() {
    let dir = TempDir::new("edit");
    let path = plain_log(&dir);
    let mut l = lines(&path);
    l[6] = l[6].replace("\"status\":200", "\"status\":201");
    write_lines(&path, &l);
    let e = first_error(&path);
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::Edited, 7), "{e}");
    assert!(e.to_string().contains("audit.jsonl:7:"), "{e}");
}

#[test]
fn an_inserted_line_is_reported() {
    let dir = TempDir::new("insert");
    let path = plain_log(&dir);
    let mut l = lines(&path);
    // A forged line that takes the next seq, with a made-up prev.
    let forged = l[10]
        .replace("\"prev\":\"", "\"prev\":\"f")
        .replace("\"status\":200", "\"status\":204");
    let forged = forged.replacen(
        &forged[forged.find("\"prev\":\"").unwrap() + 8..][..65],
        &"f".repeat(64),
        1,
    );
    l.insert(10, forged);
    write_lines(&path, &l);
    let e = first_error(&path);
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::Inserted, 11), "{e}");
    // A copy of the next line with its prev intact: both chain to line 10, so the
    // second of the two is reported, naming the first.
    let mut l = lines(&path);
    l[10] = l[11].replace("\"status\":200", "\"status\":204");
    write_lines(&path, &l);
    let e = first_error(&path);
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::Inserted, 12), "{e}");
    assert!(e.to_string().contains("line 11"), "{e}");
    // A copy of an older line pasted later goes backwards in seq.
    let again = TempDir::new("insert-copy");
    let path = plain_log(&again);
    let mut l = lines(&path);
    let old = l[2].clone();
    l.insert(15, old);
    write_lines(&path, &l);
    let e = first_error(&path);
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::Reordered, 16), "{e}");
}

#[test]
fn a_deleted_line_is_reported() {
    let dir = TempDir::new("delete");
    let path = plain_log(&dir);
    let mut l = lines(&path);
    l.remove(4);
    write_lines(&path, &l);
    let e = first_error(&path);
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::Deleted, 5), "{e}");
    assert!(e.to_string().contains("seq 5 to 5"), "{e}");
}

#[test]
fn deleting_the_first_line_is_reported() {
    let dir = TempDir::new("delete-first");
    let path = plain_log(&dir);
    let mut l = lines(&path);
    l.remove(0);
    write_lines(&path, &l);
    let e = first_error(&path);
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::Deleted, 1), "{e}");
    // Unless the verifier is told the start was removed by retention.
    let ok = verify_chain_with(&[&path], VerifyOptions::new().allow_partial_start(true)).unwrap();
    assert_eq!(ok.first_seq, 2);
}

#[test]
fn swapped_lines_are_reported() {
    let dir = TempDir::new("swap");
    let path = plain_log(&dir);
    let mut l = lines(&path);
    l.swap(8, 9);
    write_lines(&path, &l);
    let e = first_error(&path);
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::Reordered, 9), "{e}");
}

#[test]
fn a_cut_last_line_and_garbage_are_reported() {
    let dir = TempDir::new("cut");
    let path = plain_log(&dir);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() - 10]).unwrap();
    let e = first_error(&path);
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::Truncated, 20), "{e}");
    let other = TempDir::new("garbage");
    let path = plain_log(&other);
    let mut l = lines(&path);
    l[3] = "\u{0}garbage".to_owned();
    write_lines(&path, &l);
    let e = first_error(&path);
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::Malformed, 4), "{e}");
}

#[test]
fn arbitrary_bytes_never_panic() {
    let dir = TempDir::new("fuzzish");
    let path = dir.path("x.jsonl");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..200 {
        let len = (round * 37) % 3000;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                if seed.is_multiple_of(5) {
                    b'\n'
                } else {
                    seed.to_le_bytes()[3]
                }
            })
            .collect();
        std::fs::write(&path, &bytes).unwrap();
        let _ = verify_chain(&[&path], Some(&key()));
        let mut s = token_audit::summary::LogSummary::new();
        s.read(&bytes[..]).unwrap();
    }
    // A huge line is refused, not loaded.
    std::fs::write(&path, vec![b'{'; 200_000]).unwrap();
    assert_eq!(first_error(&path).kind(), ChainErrorKind::Malformed);
}

#[test]
fn the_chain_continues_across_rotation_and_a_deleted_file_is_reported() {
    let dir = TempDir::new("rotate");
    let t = time();
    let path = dir.path("audit.jsonl");
    let mut sink = JsonlSink::open(&path, config(&t).rotate_bytes(Some(2_000))).unwrap();
    for chunk in (0..60).map(event).collect::<Vec<_>>().chunks(5) {
        sink.write(chunk).unwrap();
        t.advance(Duration::from_secs(1));
    }
    sink.close().unwrap();
    let files = dir.chain_files("audit.jsonl");
    assert!(files.len() >= 4, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.starts_with("audit.2026-11-28T10-4") && name.ends_with(".1.jsonl"),
        "{name}"
    );
    let report = verify_chain(&files, None).unwrap();
    assert_eq!((report.files, report.last_seq), (files.len(), 60));
    // Each rotated file is private too.
    for f in &files {
        assert_eq!(
            std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Drop a middle file: the next file's first line names the gap.
    let mut missing = files.clone();
    missing.remove(1);
    let e = verify_chain(&missing, None).unwrap_err();
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::Deleted, 1), "{e}");
    assert_eq!(e.file(), files[2].display().to_string());
    // Files in the wrong order are reported too.
    let mut swapped = files.clone();
    swapped.swap(0, 1);
    assert!(verify_chain(&swapped, None).is_err());
}

#[test]
fn rotation_by_time() {
    let dir = TempDir::new("rotate-time");
    let t = time();
    let path = dir.path("audit.jsonl");
    let cfg = config(&t).rotate_every(Some(Duration::from_secs(3600)));
    let mut sink = JsonlSink::open(&path, cfg).unwrap();
    sink.write(&[event(1)]).unwrap();
    t.advance(Duration::from_secs(3599));
    sink.write(&[event(2)]).unwrap();
    assert_eq!(dir.chain_files("audit.jsonl").len(), 1);
    t.advance(Duration::from_secs(1));
    sink.write(&[event(3)]).unwrap();
    let files = dir.chain_files("audit.jsonl");
    assert_eq!(files.len(), 2);
    assert_eq!(lines(&files[1]).len(), 1);
    assert_eq!(verify_chain(&files, None).unwrap().last_seq, 3);
}

#[test]
fn the_chain_resumes_after_a_restart_and_after_a_crash_mid_line() {
    let dir = TempDir::new("resume");
    let t = time();
    let path = dir.path("audit.jsonl");
    write_log(&path, config(&t), 5, 2);
    write_log(&path, config(&t), 5, 2);
    assert_eq!(verify_chain(&[&path], None).unwrap().last_seq, 10);
    // A crash mid-write leaves a partial line: it is moved aside as evidence and the
    // chain resumes from the last complete line.
    let mut text = std::fs::read(&path).unwrap();
    text.extend_from_slice(b"{\"seq\":11,\"prev\":\"ab");
    std::fs::write(&path, &text).unwrap();
    t.advance(Duration::from_secs(5));
    write_log(&path, config(&t), 3, 3);
    let files = dir.chain_files("audit.jsonl");
    assert_eq!(files.len(), 2);
    // The moved-aside file ends in the partial line, and the next file continues from
    // the line before it: the chain verifies, with a warning naming the partial line.
    let report = verify_chain(&files, None).unwrap();
    assert_eq!(report.last_seq, 13);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    let w = &report.warnings[0];
    assert_eq!(
        (w.kind(), w.file(), w.line()),
        (
            ChainWarningKind::PartialLine,
            files[0].display().to_string().as_str(),
            11
        )
    );
    // A partial line in the last file, or one the next file does not continue from,
    // is still a cut.
    let e = verify_chain(&files[..1], None).unwrap_err();
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::Truncated, 11));
    let mut next = lines(&files[1]);
    next.remove(0);
    let stray = dir.path("stray.jsonl");
    write_lines(&stray, &next);
    let e = verify_chain(&[&files[0], &stray], None).unwrap_err();
    assert_eq!(
        (e.kind(), e.file(), e.line()),
        (
            ChainErrorKind::Truncated,
            files[0].display().to_string().as_str(),
            11
        )
    );
    // The new file continues the chain from seq 10.
    let fresh =
        verify_chain_with(&[&path], VerifyOptions::new().allow_partial_start(true)).unwrap();
    assert_eq!((fresh.first_seq, fresh.last_seq), (11, 13));
}

#[test]
fn checkpoints_catch_a_cut_tail_a_forged_checkpoint_and_a_recomputed_chain() {
    let dir = TempDir::new("checkpoints");
    let t = time();
    let path = dir.path("audit.jsonl");
    write_log(&path, config(&t).checkpoints(key(), Some(5), None), 23, 4);
    let all = lines(&path);
    let report = verify_chain(&[&path], Some(&key())).unwrap();
    assert!(report.closed);
    // The opening one, after 5, 10, 15, 20 events, and the final one.
    assert_eq!(report.checkpoints, 6);
    assert_eq!(report.verified_checkpoints, 6);
    assert_eq!(report.checkpoint_interval, Some(5));
    assert!(report.warnings.is_empty());

    // Cut the tail in the middle of the unsealed part: without a key nothing shows,
    // with the key the unsealed tail is reported.
    write_lines(&path, &all[..all.len() - 3]);
    assert!(verify_chain(&[&path], None).is_ok());
    let e = verify_chain(&[&path], Some(&key())).unwrap_err();
    assert_eq!(e.kind(), ChainErrorKind::Truncated, "{e}");
    // Cut right after a checkpoint: only the final checkpoint shows it.
    let cut = all
        .iter()
        .rposition(|l| l.contains("\"final\":false"))
        .unwrap();
    write_lines(&path, &all[..=cut]);
    assert!(verify_chain(&[&path], Some(&key())).is_ok());
    let strict = VerifyOptions::new().key(key()).require_final(true);
    let e = verify_chain_with(&[&path], strict).unwrap_err();
    assert_eq!(e.kind(), ChainErrorKind::Truncated, "{e}");
    // Flipping `final` on that checkpoint breaks its MAC.
    let mut forged = all[..=cut].to_vec();
    forged[cut] = forged[cut].replace("\"final\":false", "\"final\":true");
    write_lines(&path, &forged);
    let e = verify_chain(&[&path], Some(&key())).unwrap_err();
    assert_eq!(
        (e.kind(), e.line()),
        (ChainErrorKind::BadCheckpoint, cut as u64 + 1)
    );

    // A checkpoint signed with another key is a forgery.
    let other = CheckpointKey::new(b"another key, also 32 bytes long!").unwrap();
    write_log(
        &dir.path("forged.jsonl"),
        config(&t).checkpoints(other, Some(5), None),
        7,
        7,
    );
    let e = verify_chain(&[dir.path("forged.jsonl")], Some(&key())).unwrap_err();
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::BadCheckpoint, 1));

    // Editing a line and recomputing every later hash fools the plain chain, not the
    // next checkpoint.
    let mut l = all.clone();
    l[2] = l[2].replace("\"status\":200", "\"status\":500");
    rechain(&mut l);
    write_lines(&path, &l);
    assert!(verify_chain(&[&path], None).is_ok());
    let e = verify_chain(&[&path], Some(&key())).unwrap_err();
    assert_eq!((e.kind(), e.line()), (ChainErrorKind::BadCheckpoint, 7));
}

/// Recomputes every `prev` after an edit, as an attacker without the key would.
fn rechain(lines: &mut [String]) {
    use ring::digest;
    for i in 1..lines.len() {
        let hash = digest::digest(&digest::SHA256, lines[i - 1].as_bytes());
        let hex = hash.as_ref().iter().fold(String::new(), |mut s, b| {
            use std::fmt::Write as _;
            let _ = write!(s, "{b:02x}");
            s
        });
        let start = lines[i].find("\"prev\":\"").unwrap() + 8;
        lines[i].replace_range(start..start + 64, &hex);
    }
}

#[test]
fn time_based_checkpoints_are_written_when_due() {
    let dir = TempDir::new("cp-time");
    let t = time();
    let path = dir.path("audit.jsonl");
    let cfg = config(&t).checkpoints(key(), None, Some(Duration::from_secs(60)));
    let mut sink = JsonlSink::open(&path, cfg).unwrap();
    sink.write(&[event(1)]).unwrap();
    sink.flush().unwrap();
    assert_eq!(lines(&path).len(), 2); // the opening checkpoint and the event
    t.advance(Duration::from_secs(60));
    sink.flush().unwrap();
    assert_eq!(lines(&path).len(), 3);
    assert!(lines(&path)[2].contains("\"checkpoint\""));
    // Time-based only: the checkpoints say so (interval 0), and there is no limit
    // on events between them.
    assert!(lines(&path)[2].contains("\"interval\":0"));
    let opts = VerifyOptions::new().key(key());
    let report = verify_chain_with(&[&path], opts).unwrap();
    assert_eq!(report.checkpoint_interval, Some(0));
    assert_eq!(
        report.last_checkpoint_time,
        Some(token_audit::Timestamp::from_unix_micros(
            (1_795_862_700 + 60) * 1_000_000
        ))
    );
}

#[test]
fn a_failed_write_does_not_advance_the_chain() {
    // Every write to /dev/full fails with "no space left on device".
    let mut sink = JsonlSink::open("/dev/full", config(&time())).unwrap();
    let err = sink.write(&[event(1), event(2)]).unwrap_err();
    assert!(
        err.to_string().starts_with("cannot append to /dev/full"),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());
    assert_eq!(sink.last_seq(), 0);
    assert!(sink.write(&[event(1)]).is_err());
    assert_eq!(sink.last_seq(), 0);
}
