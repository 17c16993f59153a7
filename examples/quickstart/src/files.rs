//! Files that hold secrets: created owner-only, never through a symbolic link.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use ring::rand::SecureRandom as _;
use token_audit::CheckpointKey;
use token_core::jose::{Algorithm, Jwk, SigningKey};
use zeroize::Zeroizing;

/// Creates the data dir (and its parents) with mode 0700 if it is missing, and
/// makes an existing one owner-only too.
pub(crate) fn data_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// Makes the files of a SQLite database owner-only (the main file, its WAL and
/// shared-memory files, those that exist).
pub(crate) fn private_database(file: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        match fs::set_permissions(&name, fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Writes `contents` to a new file with mode 0600 (`O_CREAT | O_EXCL`: an existing
/// file or link is never followed).
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Replaces a secrets file: the old one is removed first, then a new 0600 file made.
pub(crate) fn replace_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    write_private(path, contents)
}

/// The signing key in `path`, or a new `EdDSA` key saved there.
pub(crate) fn signing_key(path: &Path) -> Result<(SigningKey, bool), String> {
    let shown = path.display();
    match fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            let jwk = Jwk::from_json(&bytes).map_err(|e| {
                format!("{shown}: not a JWK ({e}); write one with `tokenctl keygen --out`")
            })?;
            if !jwk.is_private() {
                return Err(format!(
                    "{shown} holds a public key; signing needs the private key"
                ));
            }
            SigningKey::from_jwk(&jwk, None)
                .map(|k| (k, false))
                .map_err(|e| format!("{shown}: {e}"))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let key = SigningKey::generate(Algorithm::EdDSA).map_err(|e| e.to_string())?;
            let json = Zeroizing::new(key.to_private_jwk().to_json());
            write_private(path, json.as_bytes())
                .map_err(|e| format!("cannot create {shown}: {e}"))?;
            Ok((key, true))
        }
        Err(e) => Err(format!("cannot read {shown}: {e}")),
    }
}

/// The `kid` of the private key in `path`, if it holds one.
pub(crate) fn signing_key_kid(path: &Path) -> Option<String> {
    let bytes = Zeroizing::new(fs::read(path).ok()?);
    let jwk = Jwk::from_json(&bytes).ok()?;
    SigningKey::from_jwk(&jwk, None)
        .ok()
        .map(|k| k.kid().to_owned())
}

/// The audit checkpoint key in `path` (its bytes without trailing whitespace, as
/// `tokenctl audit verify --key` reads them), or a new one (64 hex digits of 32
/// random bytes) saved there with mode 0600.
pub(crate) fn audit_key(path: &Path) -> Result<(CheckpointKey, bool), String> {
    let shown = path.display();
    match fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            CheckpointKey::new(bytes.trim_ascii_end())
                .map(|k| (k, false))
                .map_err(|e| format!("{shown}: {e}"))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mut raw = Zeroizing::new([0u8; 32]);
            ring::rand::SystemRandom::new()
                .fill(raw.as_mut())
                .map_err(|_| "no system randomness for the audit key".to_owned())?;
            let mut text = Zeroizing::new(String::with_capacity(65));
            for b in raw.iter() {
                let _ = std::fmt::Write::write_fmt(&mut *text, format_args!("{b:02x}"));
            }
            let key = CheckpointKey::new(text.as_bytes()).map_err(|e| e.to_string())?;
            text.push('\n');
            write_private(path, text.as_bytes())
                .map_err(|e| format!("cannot create {shown}: {e}"))?;
            Ok((key, true))
        }
        Err(e) => Err(format!("cannot read {shown}: {e}")),
    }
}
