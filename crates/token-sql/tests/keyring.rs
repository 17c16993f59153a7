//! The signing keyring in the database, on both engines: installed once, rotated in
//! one transaction (the old key verifying until its retirement), shared by a second
//! process, and sealed: the database never holds a private key in clear, a wrong
//! seal key opens nothing, and a sealed key moved to another row does not open.

mod common;

use common::{Postgres, Sql, Sqlite};
use token_core::jose::{Algorithm, SigningKey};
use token_sql::{Database, KeyringError, Options, SealKey};

const NOW: i64 = 1_800_000_000;

fn seal() -> (SealKey, String) {
    let (key, hex) = SealKey::generate().unwrap();
    (key, hex.to_string())
}

/// The private member `d` of a key's JWK (what must never be stored in clear).
fn private_d(key: &SigningKey) -> String {
    let jwk: serde_json::Value = serde_json::from_str(&key.to_private_jwk().to_json()).unwrap();
    jwk["d"].as_str().unwrap().to_owned()
}

async fn keyring_contract(sql: &Sql, reopen: Database) {
    let (seal_key, hex) = seal();
    let ring = sql.db.keyring(seal_key);
    assert!(ring.load(NOW).await.unwrap().is_none());

    let first = SigningKey::generate(Algorithm::EdDSA).unwrap();
    ring.install(&first, NOW).await.unwrap();
    let second_install = ring
        .install(&SigningKey::generate(Algorithm::ES256).unwrap(), NOW)
        .await;
    assert!(
        matches!(second_install, Err(KeyringError::ActiveExists { ref kid }) if kid == first.kid())
    );
    let loaded = ring.load(NOW).await.unwrap().unwrap();
    assert_eq!(loaded.signing_key().unwrap().kid(), first.kid());

    // Rotation: the new key signs, the old one verifies until its retirement.
    let next = SigningKey::generate(Algorithm::ES256).unwrap();
    ring.rotate(&next, NOW + 3_600, NOW).await.unwrap();
    let loaded = ring.load(NOW).await.unwrap().unwrap();
    assert_eq!(loaded.signing_key().unwrap().kid(), next.kid());
    let verifying: Vec<(String, Option<i64>)> = loaded
        .verifying_keys()
        .map(|(k, at)| (k.kid().to_owned(), at))
        .collect();
    assert!(
        verifying.contains(&(first.kid().to_owned(), Some(NOW + 3_600))),
        "{verifying:?}"
    );
    assert_eq!(loaded.public_jwks().keys.len(), 2);
    let later = ring.load(NOW + 3_600).await.unwrap().unwrap();
    assert_eq!(
        later.verifying_keys().count(),
        1,
        "a retired key past its time is gone"
    );

    // Another process with the same seal key signs with the same key.
    let other = reopen.keyring(SealKey::from_hex(&hex).unwrap());
    let theirs = other.load(NOW).await.unwrap().unwrap();
    assert_eq!(theirs.signing_key().unwrap().kid(), next.kid());
    // Without it, nothing opens.
    let wrong = reopen.keyring(SealKey::generate().unwrap().0);
    assert!(matches!(
        wrong.load(NOW).await,
        Err(KeyringError::WrongSealKey { .. })
    ));

    // The private keys are not in the rows in clear.
    let rows = dump(sql).await;
    for key in [&first, &next] {
        assert!(
            !rows.contains(&private_d(key)),
            "a private key is stored in clear"
        );
    }
    // A sealed key moved to another row does not open (the kid is bound to it).
    swap_sealed(sql, first.kid(), next.kid()).await;
    let moved = ring.load(NOW).await;
    assert!(
        matches!(moved, Err(KeyringError::WrongSealKey { .. })),
        "{moved:?}"
    );
}

/// Every column of every keyring row, as text.
async fn dump(sql: &Sql) -> String {
    let rows = sql
        .raw(
            "SELECT kid || ' ' || alg || ' ' || COALESCE(public_jwk, '') || ' ' || sealed_private \
             FROM tokenkit_signing_keys",
            &[],
        )
        .await;
    rows.join("\n")
}

/// Puts `b`'s sealed private key on `a`'s row.
async fn swap_sealed(sql: &Sql, a: &str, b: &str) {
    sql.raw(
        "UPDATE tokenkit_signing_keys SET sealed_private = \
         (SELECT sealed_private FROM tokenkit_signing_keys WHERE kid = $2) WHERE kid = $1 \
         RETURNING kid",
        &[a, b],
    )
    .await;
}

#[tokio::test]
async fn sqlite() {
    let (Sqlite(sql), _) = Sqlite::open_with(Options::new()).await;
    let reopen = Database::connect(&sql.raw.0).await.unwrap();
    keyring_contract(&sql, reopen).await;
}

#[tokio::test]
async fn postgres() {
    let Some(Postgres(sql)) = Postgres::open_with(Options::new()).await else {
        return;
    };
    let schema = sql.raw.1.clone().unwrap();
    let reopen = Database::connect_with(&sql.raw.0, Options::new().postgres_schema(&schema))
        .await
        .unwrap();
    keyring_contract(&sql, reopen).await;
}
