//! The written line format is fixed: the hash chain covers every byte, so a change in
//! how times (or anything else) are written would break every existing log's chain.
//! The expected text was produced by the writer before the switch to chrono.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TempDir, key};
use token_audit::sink::{JsonlConfig, JsonlSink, Sink};
use token_audit::{AuditEvent, EventKind, Outcome, Timestamp};
use token_core::ManualClock;

/// Times that exercise the formatting: fractions, a leap day, the end of a year, a
/// century leap year, before the epoch, and far ahead.
const TIMES_MICROS: [i64; 7] = [
    1_795_862_700_123_456,
    1_709_164_799_999_999,
    1_798_761_599_000_001,
    951_782_400_000_000,
    -1,
    0,
    4_102_444_800_000_000,
];

fn golden_log() -> String {
    let dir = TempDir::new("golden");
    let path = dir.path("audit.jsonl");
    let time = ManualClock::new(1_795_862_700);
    time.advance(Duration::from_micros(654_321));
    let config = JsonlConfig::new()
        .clock(Arc::new(time.clone()))
        .checkpoints(key(), Some(3), None);
    let mut sink = JsonlSink::open(&path, config).unwrap();
    let events: Vec<AuditEvent> = TIMES_MICROS
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            AuditEvent::new(EventKind::AuthSucceeded, Outcome::Allowed)
                .with_id(&format!("evt_{i}"))
                .at(Timestamp::from_unix_micros(t))
                .key_id("key_1")
                .status(200)
        })
        .collect();
    sink.write(&events[..4]).unwrap();
    time.advance(Duration::from_secs(86_400 * 40 + 7));
    sink.write(&events[4..]).unwrap();
    sink.close().unwrap();
    std::fs::read_to_string(&path).unwrap()
}

const GOLDEN: &str = include_str!("golden/audit.jsonl");

#[test]
fn the_written_lines_are_byte_identical_to_the_format_of_record() {
    let written = golden_log();
    if std::env::var_os("TOKEN_AUDIT_PRINT_GOLDEN").is_some() {
        print!("{written}");
    }
    assert_eq!(written, GOLDEN);
}

#[test]
fn rotated_file_names_keep_their_time_stamp_format() {
    let stamps: Vec<String> = TIMES_MICROS
        .iter()
        .map(|&t| Timestamp::from_unix_micros(t).file_stamp())
        .collect();
    assert_eq!(
        stamps,
        [
            "2026-11-28T10-45-00Z",
            "2024-02-28T23-59-59Z",
            "2026-12-31T23-59-59Z",
            "2000-02-29T00-00-00Z",
            "1969-12-31T23-59-59Z",
            "1970-01-01T00-00-00Z",
            "2100-01-01T00-00-00Z",
        ]
    );
}
