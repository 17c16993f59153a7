//! [`SqlKeyring`]: the JWT signing keyring in `tokenkit_signing_keys`, so that every
//! process on the database signs with the same key and rotates together. Private
//! keys are sealed with a [`SealKey`] (AES-256-GCM, ring) before they reach the
//! database, with the key id as associated data (a sealed key moved to another row
//! does not open).

use std::fmt;

use base64::Engine as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom as _, SystemRandom};
use sqlx::Row as _;
use token_core::backend::{StoreError, StoreErrorKind};
use token_core::jose::{Jwk, SigningKey};
use token_core::jwt::Keyring;
use zeroize::Zeroizing;

use crate::db::Database;
use crate::pool::{in_write_tx, on_pool, store_error, unreadable};

/// The operator's key that seals private signing keys: 32 bytes, written as 64 hex
/// digits (a file of mode 0600, or an environment variable). Its `Debug` shows
/// nothing of it.
pub struct SealKey(LessSafeKey);

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey(..)")
    }
}

/// Why a seal key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a seal key is 64 hex digits (32 bytes)")]
#[non_exhaustive]
pub struct SealKeyError;

impl SealKey {
    /// The seal key written as 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<SealKey, SealKeyError> {
        let text = text.trim().as_bytes();
        if text.len() != 64 {
            return Err(SealKeyError);
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        for (i, pair) in text.chunks(2).enumerate() {
            let digit = |c: u8| char::from(c).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                (Some(h), Some(l)) => {
                    bytes[i] = u8::try_from(h * 16 + l).map_err(|_| SealKeyError)?;
                }
                _ => return Err(SealKeyError),
            }
        }
        SealKey::from_bytes(&bytes)
    }

    /// The seal key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<SealKey, SealKeyError> {
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealKeyError)?;
        Ok(SealKey(LessSafeKey::new(key)))
    }

    /// A new random seal key, and its 64 hex digits to keep (in a 0600 file).
    pub fn generate() -> Result<(SealKey, Zeroizing<String>), SealKeyError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| SealKeyError)?;
        let mut hex = Zeroizing::new(String::with_capacity(64));
        for b in bytes.iter() {
            hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        Ok((SealKey::from_bytes(&bytes)?, hex))
    }

    /// base64url(nonce ‖ ciphertext ‖ tag) of `plain`, bound to `kid`.
    fn seal(&self, kid: &str, plain: &[u8]) -> Result<String, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| StoreError::new(StoreErrorKind::Unavailable, "no system randomness"))?;
        let mut sealed = Zeroizing::new(plain.to_vec());
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut *sealed,
            )
            .map_err(|_| StoreError::new(StoreErrorKind::Unavailable, "sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out))
    }

    /// The plain text of a sealed value, if this key sealed it for `kid`.
    fn open(&self, kid: &str, sealed: &str) -> Option<Zeroizing<Vec<u8>>> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed)
            .ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = Zeroizing::new(body.to_vec());
        let len = self
            .0
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut body)
            .ok()?
            .len();
        body.truncate(len);
        Some(body)
    }
}

/// Why the keyring could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed key does not open with this seal key: the wrong seal key, or a row
    /// that was changed.
    #[error(
        "the signing key {kid} does not open with this seal key (the wrong key, or a changed row)"
    )]
    WrongSealKey {
        /// The key's id.
        kid: String,
    },
    /// There is an active key already ([`SqlKeyring::install`] is for the first).
    #[error("the database holds an active signing key already ({kid})")]
    ActiveExists {
        /// The active key's id.
        kid: String,
    },
    /// A stored key does not parse.
    #[error("the signing key {kid} is not a usable key: {reason}")]
    BadKey {
        /// The key's id.
        kid: String,
        /// What is wrong.
        reason: String,
    },
}

/// The signing keyring on a [`Database`], from [`Database::keyring`].
#[derive(Debug)]
pub struct SqlKeyring {
    db: Database,
    seal: SealKey,
}

/// One row, unsealed.
struct Stored {
    key: SigningKey,
    active: bool,
    retire_at: Option<i64>,
}

impl Database {
    /// The signing keyring stored in this database, its private keys sealed with
    /// `seal`.
    pub fn keyring(&self, seal: SealKey) -> SqlKeyring {
        SqlKeyring {
            db: self.clone(),
            seal,
        }
    }
}

impl SqlKeyring {
    /// The keyring as stored: the active key signing, and every retired key that
    /// has not reached its retirement at `now` verifying until then. `None` when no
    /// key is active (a new database: [`SqlKeyring::install`] one).
    pub async fn load(&self, now: i64) -> Result<Option<Keyring>, KeyringError> {
        let rows = self.rows().await?;
        let (active, retired): (Vec<Stored>, Vec<Stored>) =
            rows.into_iter().partition(|s| s.active);
        let Some(active) = active.into_iter().next() else {
            return Ok(None);
        };
        let mut live: Vec<Stored> = retired
            .into_iter()
            .filter(|s| s.retire_at.is_none_or(|at| at > now))
            .collect();
        live.sort_by_key(|s| s.retire_at.unwrap_or(i64::MAX));
        // Rebuild by rotation: each retired key signed before the next one, and
        // verifies until its own retirement.
        let mut chain = live.into_iter();
        let Some(first) = chain.next() else {
            return Ok(Some(Keyring::new(active.key)));
        };
        let mut ring = Keyring::new(first.key);
        let mut retire = first.retire_at.unwrap_or(i64::MAX);
        for next in chain {
            ring = rotate(&ring, next.key, retire)?;
            retire = next.retire_at.unwrap_or(i64::MAX);
        }
        Ok(Some(rotate(&ring, active.key, retire)?))
    }

    /// Stores `key` as the first active key: [`KeyringError::ActiveExists`] if the
    /// database has one (then [`SqlKeyring::load`] it, or rotate).
    pub async fn install(&self, key: &SigningKey, now: i64) -> Result<(), KeyringError> {
        let row = self.row(key, now)?;
        let inserted = on_pool!(self.db.pool(), p => {
            bind_row(sqlx::query(INSERT_ACTIVE), &row)
                .execute(p)
                .await
                .map(|_| ())
        });
        match inserted {
            Ok(()) => Ok(()),
            Err(e) if store_error("", &e).kind() == StoreErrorKind::Conflict => {
                Err(KeyringError::ActiveExists {
                    kid: self.active_kid().await?.unwrap_or_default(),
                })
            }
            Err(e) => Err(store_error("storing a signing key", &e).into()),
        }
    }

    /// Makes `next` the active key, in one transaction: the active key becomes
    /// retired and verifies until `retire_previous_at`. Every process that loads the
    /// keyring afterwards signs with `next`.
    pub async fn rotate(
        &self,
        next: &SigningKey,
        retire_previous_at: i64,
        now: i64,
    ) -> Result<(), KeyringError> {
        let row = self.row(next, now)?;
        let err = |e: sqlx::Error| KeyringError::from(store_error("rotating the signing key", &e));
        macro_rules! in_tx {
            ($begin:expr) => {{
                let mut tx = $begin.await.map_err(err)?;
                sqlx::query(
                    "UPDATE tokenkit_signing_keys SET state = 'retired', retire_at = $1 \
                     WHERE state = 'active'",
                )
                .bind(retire_previous_at)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
                bind_row(sqlx::query(INSERT_ACTIVE), &row)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                tx.commit().await.map_err(err)?;
            }};
        }
        in_write_tx!(self.db.pool(), in_tx);
        Ok(())
    }

    async fn active_kid(&self) -> Result<Option<String>, KeyringError> {
        let kid = on_pool!(self.db.pool(), p => {
            match sqlx::query("SELECT kid FROM tokenkit_signing_keys WHERE state = 'active'")
                .fetch_optional(p)
                .await
                .map_err(|e| store_error("reading the keyring", &e))?
            {
                Some(row) => Some(row.try_get::<String, _>(0).map_err(|_| unreadable("kid"))?),
                None => None,
            }
        });
        Ok(kid)
    }

    fn row(&self, key: &SigningKey, now: i64) -> Result<Row, KeyringError> {
        let private = Zeroizing::new(key.to_private_jwk().to_json());
        Ok(Row {
            kid: key.kid().to_owned(),
            alg: key.algorithm().to_string(),
            public_jwk: key.verifying_key().to_public_jwk().map(|j| j.to_json()),
            sealed: self.seal.seal(key.kid(), private.as_bytes())?,
            created_at: now,
        })
    }

    async fn rows(&self) -> Result<Vec<Stored>, KeyringError> {
        let raw: Vec<(String, String, String, Option<i64>)> = on_pool!(self.db.pool(), p => {
            let rows = sqlx::query(
                "SELECT kid, sealed_private, state, retire_at FROM tokenkit_signing_keys",
            )
            .fetch_all(p)
            .await
            .map_err(|e| store_error("reading the keyring", &e))?;
            rows.iter()
                .map(|r| Ok((
                    r.try_get(0).map_err(|_| unreadable("kid"))?,
                    r.try_get(1).map_err(|_| unreadable("sealed_private"))?,
                    r.try_get(2).map_err(|_| unreadable("state"))?,
                    r.try_get(3).map_err(|_| unreadable("retire_at"))?,
                )))
                .collect::<Result<_, StoreError>>()?
        });
        raw.into_iter()
            .map(|(kid, sealed, state, retire_at)| {
                let plain = self
                    .seal
                    .open(&kid, &sealed)
                    .ok_or_else(|| KeyringError::WrongSealKey { kid: kid.clone() })?;
                let bad = |reason: String| KeyringError::BadKey {
                    kid: kid.clone(),
                    reason,
                };
                let jwk = Jwk::from_json(&plain).map_err(|e| bad(e.to_string()))?;
                let key = SigningKey::from_jwk(&jwk, None).map_err(|e| bad(e.to_string()))?;
                if key.kid() != kid {
                    return Err(bad("its kid differs from its row's".into()));
                }
                Ok(Stored {
                    key,
                    active: state == "active",
                    retire_at,
                })
            })
            .collect()
    }
}

fn rotate(ring: &Keyring, next: SigningKey, retire_at: i64) -> Result<Keyring, KeyringError> {
    let kid = next.kid().to_owned();
    ring.rotate(next, retire_at)
        .map_err(|e| KeyringError::BadKey {
            kid,
            reason: e.to_string(),
        })
}

/// A key as written.
struct Row {
    kid: String,
    alg: String,
    public_jwk: Option<String>,
    sealed: String,
    created_at: i64,
}

const INSERT_ACTIVE: &str = "INSERT INTO tokenkit_signing_keys \
    (kid, alg, public_jwk, sealed_private, state, created_at, retire_at) \
    VALUES ($1, $2, $3, $4, 'active', $5, NULL)";

fn bind_row<'q, DB>(query: crate::pool::Query<'q, DB>, row: &'q Row) -> crate::pool::Query<'q, DB>
where
    DB: sqlx::Database,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    query
        .bind(row.kid.as_str())
        .bind(row.alg.as_str())
        .bind(row.public_jwk.as_deref())
        .bind(row.sealed.as_str())
        .bind(row.created_at)
}
