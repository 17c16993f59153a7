//! The store contract, written once and run on every backend
//! (`tests/conformance.rs`): what token-core's traits promise, checked the same way
//! on the memory stores, SQLite and PostgreSQL.

#![allow(dead_code, unreachable_pub)]

pub mod concurrency;
pub mod keys;
pub mod tokens;

use serde_json::{Value, json};
use token_core::backend::{ClientRecord, KeyHash, KeyRecord, RefreshRecord};

/// A hash whose every byte is `n`.
pub fn hash(n: u8) -> KeyHash {
    KeyHash::from_bytes([n; 32])
}

fn hex(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

/// An active, unmetered key record; `extra` overrides or adds fields.
pub fn key(id: &str, n: u8, created_at: i64, extra: Value) -> KeyRecord {
    let mut record = json!({
        "id": id, "hash": hex(n), "hint": format!("tk_test_{n}…"), "name": format!("key {id}"),
        "owner": null, "tenant": null, "scopes": "read:reports", "created_at": created_at,
        "expires_at": null, "status": {"state": "active"}, "networks": [], "rate_limit": null,
        "credits": null, "metadata": {}, "last_used_at": null, "version": 0,
    });
    if let (Some(fields), Value::Object(extra)) = (record.as_object_mut(), extra) {
        fields.extend(extra);
    }
    serde_json::from_value(record).expect("a key record")
}

/// Every field set, none at its default.
pub fn full_key(id: &str, n: u8) -> KeyRecord {
    key(
        id,
        n,
        1_700_000_000,
        json!({
            "owner": "team-ä", "tenant": "acme", "scopes": "admin:keys read:* write:reports",
            "expires_at": 1_800_000_000,
            "status": {"state": "rotated", "successor": "key_next", "grace_end": 1_700_086_400},
            "networks": ["10.0.0.0/8", "2001:db8::/32"], "rate_limit": "100/minute",
            "credits": {"remaining": 42, "refill": {"amount": 100, "period": "monthly", "next_at": 1_701_388_800}},
            "credits_from": "key_first",
            "metadata": {"plan": "pro", "ключ": "значение", "empty": ""},
            "last_used_at": 1_700_000_500, "version": 7,
        }),
    )
}

pub fn client(id: &str, n: u8) -> ClientRecord {
    serde_json::from_value(json!({
        "client_id": id, "secret_hash": hex(n), "name": "Reports dashboard",
        "allowed_scopes": "read:reports write:reports", "tenant": "acme", "created_at": 1_700_000_000,
    }))
    .expect("a client record")
}

pub fn refresh(n: u8, family: &str, issued_at: i64, expires_at: i64) -> RefreshRecord {
    serde_json::from_value(json!({
        "hash": hex(n), "family": family, "subject": "user-1", "client_id": "client-1",
        "scope": "read:reports", "tenant": null, "issued_at": issued_at,
        "expires_at": expires_at, "used": false,
    }))
    .expect("a refresh record")
}
