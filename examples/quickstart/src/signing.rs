//! The signing keyring: in the database, its private keys sealed with the seal key
//! (`--seal-key FILE`, or the `TOKENKIT_SEAL_KEY` environment variable holding the
//! 64 hex digits), so that every quickstart on one database signs with one key.
//! On the first start the key comes from the `--signing-key` file (generated there
//! if missing, for `tokenctl jwt mint --key`) and is stored sealed; later starts,
//! and other processes, load it from the database.

use std::path::Path;

use token_core::jose::SigningKey;
use token_core::jwt::Keyring;
use token_sql::{Database, KeyringError, SealKey};
use zeroize::Zeroizing;

use crate::{Options, StartError, fail, files};

/// The environment variable that may hold the seal key (64 hex digits).
pub const SEAL_KEY_ENV: &str = "TOKENKIT_SEAL_KEY";

/// The keyring the start settled on.
#[derive(Debug)]
pub(crate) struct Signing {
    pub(crate) keyring: Keyring,
    /// The active key's id.
    pub(crate) kid: String,
    /// Whether the key was generated at this start.
    pub(crate) generated: bool,
    /// Whether the key file holds the active key (so `tokenctl jwt mint --key` works).
    pub(crate) file_is_active: bool,
}

/// The seal key: from the environment, else from its file (generated, mode 0600,
/// if missing).
fn seal_key(path: &Path) -> Result<SealKey, StartError> {
    if let Ok(hex) = std::env::var(SEAL_KEY_ENV) {
        let hex = Zeroizing::new(hex);
        return SealKey::from_hex(&hex).map_err(|e| fail(SEAL_KEY_ENV)(&e));
    }
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            SealKey::from_hex(&text).map_err(|e| fail("--seal-key")(&e))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (key, hex) = SealKey::generate().map_err(|e| fail("--seal-key")(&e))?;
            let line = Zeroizing::new(format!("{}\n", hex.as_str()));
            files::write_private(path, line.as_bytes()).map_err(|e| {
                fail("--seal-key")(&format!("cannot create {}: {e}", path.display()))
            })?;
            Ok(key)
        }
        Err(e) => Err(fail("--seal-key")(&format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Loads the keyring from the database, or installs the key file's key (generated if
/// missing) as its first key.
pub(crate) async fn keyring(
    options: &Options,
    db: &Database,
    now: i64,
) -> Result<Signing, StartError> {
    let ring = db.keyring(seal_key(&options.seal_key_path())?);
    let err = |e: &KeyringError| fail("signing keyring")(e);
    if let Some(keyring) = ring.load(now).await.map_err(|e| err(&e))? {
        return Ok(settled(options, keyring, false));
    }
    let (key, generated): (SigningKey, bool) =
        files::signing_key(&options.signing_key_path()).map_err(StartError)?;
    match ring.install(&key, now).await {
        Ok(()) => Ok(settled(options, Keyring::new(key), generated)),
        // Another process installed one first: use it.
        Err(KeyringError::ActiveExists { .. }) => {
            let keyring = ring.load(now).await.map_err(|e| err(&e))?.ok_or_else(|| {
                StartError("signing keyring: the active key vanished while starting".into())
            })?;
            Ok(settled(options, keyring, false))
        }
        Err(e) => Err(err(&e)),
    }
}

fn settled(options: &Options, keyring: Keyring, generated: bool) -> Signing {
    let kid = keyring
        .signing_key()
        .map(|k| k.kid().to_owned())
        .unwrap_or_default();
    let file_is_active =
        files::signing_key_kid(&options.signing_key_path()).as_deref() == Some(kid.as_str());
    Signing {
        keyring,
        kid,
        generated,
        file_is_active,
    }
}
