//! Writes a small hash-chained audit log with HMAC checkpoints, to try
//! `tokenctl audit verify` and the shell recipes of `docs/audit.md` on.
//!
//! `cargo run -p token-audit --example sample_log -- DIR` writes `DIR/audit.jsonl`
//! (rotated once, so there are two files) with the key in `DIR/audit.key`.
#![allow(missing_docs)]

use std::path::PathBuf;

use token_audit::CheckpointKey;
use token_audit::sink::{JsonlConfig, JsonlSink};
use token_audit::{AuditEvent, Auditor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: sample_log DIR")?);
    std::fs::create_dir_all(&dir)?;
    // The key file holds 64 hex characters; those characters are the key.
    let key_text = "5f1e7c2a9b3d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f";
    std::fs::write(dir.join("audit.key"), format!("{key_text}\n"))?;
    let key = CheckpointKey::new(key_text.as_bytes())?;
    let config = JsonlConfig::new()
        .checkpoints(key, Some(10), None)
        .rotate_bytes(Some(8 * 1024));
    let auditor = Auditor::builder()
        .sink(JsonlSink::open(dir.join("audit.jsonl"), config)?)
        .build()?;
    for i in 0..40u16 {
        let event = if i % 5 == 0 {
            AuditEvent::auth_failed_code("key_revoked")
        } else {
            AuditEvent::auth_failed_code("credential_missing")
        };
        auditor.record(
            event
                .ip("203.0.113.7".parse()?)
                .method("GET")
                .route("/v1/reports/{id}")
                .status(401)
                .user_agent("curl/8.5 (ünïcode ok)"),
        );
    }
    let stats = auditor.shutdown();
    println!(
        "wrote {} events to {}",
        stats.sinks[0].written,
        dir.display()
    );
    Ok(())
}
