//! A process killed (`SIGKILL`) in the middle of a write loop leaves a SQLite
//! database that opens with no torn record: every write it reported committed is
//! there, whole, and the file passes `PRAGMA integrity_check`.
//!
//! The writer is this test binary run again (`child_writer`, which does nothing
//! unless `TOKENKIT_CRASH_WRITER` names a database).

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use sqlx::{Connection as _, Row as _};
use token_core::apikey::{ApiKeys, KeyFormat, NewKey};
use token_core::backend::KeyStore;
use token_sql::Database;

const WRITER: &str = "TOKENKIT_CRASH_WRITER";

/// The child: mints keys (each an insert, then an update and a credit taken, so
/// that every kind of write is in flight) and prints each id once committed.
#[tokio::test]
async fn child_writer() {
    let Ok(url) = std::env::var(WRITER) else {
        return;
    };
    let db = Database::connect(&url).await.unwrap();
    let keys = ApiKeys::new(db.keys(), KeyFormat::new("tk_crash").unwrap());
    for i in 0u64.. {
        let spec = NewKey::new(&format!("crash {i}"), "read:reports".parse().unwrap())
            .credits(token_core::apikey::Credits::fixed(10));
        let (_, record) = keys.mint(spec).await.unwrap();
        db.keys().consume_credit(&record.id, 1).await.unwrap();
        keys.revoke(&record.id, "crash test").await.unwrap();
        println!("committed {}", record.id);
    }
}

#[tokio::test]
async fn a_killed_writer_leaves_no_torn_record() {
    let (dir, _cleanup) = common::temp_dir();
    let url = format!("sqlite://{}", dir.join("crash.db").display());
    let db = Database::connect(&url).await.unwrap();
    db.migrate().await.unwrap();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_writer",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(WRITER, &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // A writer that wedges is killed after a minute, so the test fails rather than
    // hangs (its output then ends early).
    let pid = child.id();
    let reaped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = reaped.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(60));
        if !watchdog.load(std::sync::atomic::Ordering::Acquire) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    });
    let mut committed = Vec::new();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines {
        if let Some(id) = line.unwrap().strip_prefix("committed ") {
            committed.push(id.to_owned());
            if committed.len() == 300 {
                // SIGKILL: no destructor, no flush, mid-write.
                child.kill().unwrap();
                break;
            }
        }
    }
    reaped.store(true, std::sync::atomic::Ordering::Release);
    let _ = child.wait();
    assert_eq!(committed.len(), 300, "the writer ran");

    let reopened = Database::connect(&url).await.unwrap();
    reopened.ensure_schema().await.unwrap();
    let store = reopened.keys();
    // Every row reads back as a whole record (a torn one would be Corrupt).
    let all = store.list(None).await.unwrap();
    assert!(all.len() >= committed.len());
    for id in &committed {
        let record = store
            .get(id)
            .await
            .unwrap()
            .expect("a committed key is there");
        assert_eq!(record.credits.unwrap().remaining, 9);
        assert!(matches!(
            record.status,
            token_core::apikey::KeyStatus::Revoked { .. }
        ));
    }
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let check: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(check, "ok");
}
