//! token-audit: a non-blocking, tamper-evident audit trail for tokenkit, with anomaly
//! detection and usage roll-ups.
//!
//! - [`AuditEvent`]: one record with a versioned JSON schema (`"v": 1`), built from
//!   token-core's secret-free types, so it cannot carry a secret; every string field
//!   is bounded.
//! - [`Auditor`]: a cheap `Clone` handle whose [`Auditor::record`] enqueues without
//!   I/O; a background thread batches events into one or more [`Sink`](sink::Sink)s, retries a
//!   failing sink with backoff, runs the [`anomaly`] detectors and keeps usage
//!   roll-ups ([`Auditor::usage`]). Overflow policy: [`Overflow::Block`] or
//!   [`Overflow::DropNewest`] (counted and reported). Shutdown flushes everything.
//! - Sinks: [`JsonlSink`](sink::JsonlSink) (append-only JSON Lines, mode 0600, rotation, fsync policy,
//!   SHA-256 hash chain across files, HMAC-SHA-256 checkpoints), [`TracingSink`](sink::TracingSink),
//!   [`MemorySink`](sink::MemorySink).
//! - [`verify::verify_chain`]: streams the files and reports the first edited, inserted,
//!   deleted, reordered or truncated line.
//!
//! ```
//! use std::sync::Arc;
//! use token_audit::sink::{JsonlConfig, JsonlSink, MemorySink};
//! use token_audit::verify::verify_chain;
//! use token_audit::{AuditEvent, Auditor, CheckpointKey};
//!
//! let dir = std::env::temp_dir().join(format!("token-audit-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("audit.jsonl");
//! let key = CheckpointKey::new(b"0123456789abcdef0123456789abcdef")?;
//!
//! let memory = MemorySink::new();
//! let auditor = Auditor::builder()
//!     .sink(JsonlSink::open(&path, JsonlConfig::new().checkpoint_key(key.clone()))?)
//!     .sink(memory.clone())
//!     .build()?;
//!
//! // In a service: one event per decision, recorded without blocking.
//! auditor.record(
//!     AuditEvent::auth_failed_code("credential_missing")
//!         .ip("203.0.113.7".parse().unwrap())
//!         .method("GET")
//!         .route("/v1/reports/{id}")
//!         .status(401),
//! );
//! let stats = auditor.shutdown(); // flushes, writes the final checkpoint
//! assert_eq!(stats.sinks[0].written, 1);
//! assert_eq!(memory.events()[0].reason_code(), Some("credential_missing"));
//!
//! let report = verify_chain(&[&path], Some(&key)).expect("intact");
//! assert!(report.closed);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `docs/audit.md` describes the schema, the chain format (and how to check it with
//! `sha256sum` and `openssl`), rotation, fsync trade-offs, the detectors and their
//! defaults, and the roll-ups.
//!
//! # Features
//!
//! None. The crate needs no async runtime: the worker is a `std` thread.

pub mod anchor;
pub mod anomaly;
mod bounded;
mod chain;
mod error;
mod event;
mod pipeline;
mod rollup;
pub mod sink;
pub mod summary;
mod time;
pub mod verify;

pub use chain::CheckpointKey;
pub use error::{AuditError, AuditErrorKind};
pub use event::{AuditEvent, Change, EventKind, Outcome, UnknownKind, limits};
pub use pipeline::{AuditStats, Auditor, AuditorBuilder, Overflow, SinkStats};
pub use rollup::{RollupConfig, UsageBucket, UsageReport};
pub use time::{Timestamp, TimestampError, TimestampErrorKind};
