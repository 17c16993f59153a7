//! `tokenctl keygen`: a new signing key as a JWK.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use token_core::jose::SigningKey;
use zeroize::Zeroizing;

use crate::KeygenArgs;
use crate::failure::Failure;
use crate::io;

/// Generates the key. With `--out`, writes the private JWK to a new 0600 file and
/// prints the public JWK (for HMAC: `kty`, `alg` and `kid` only); without it, prints
/// the private JWK.
pub(crate) fn run(args: &KeygenArgs) -> Result<(), Failure> {
    let key = SigningKey::generate(args.alg).map_err(Failure::usage)?;
    let key = match &args.kid {
        Some(kid) => key.with_kid(kid),
        None => key,
    };
    let private = key.to_private_jwk();
    let private_json = Zeroizing::new(private.to_json());
    let Some(out) = &args.out else {
        return io::print(&private_json);
    };
    write_new_private(out, private_json.as_bytes())?;
    // A shared secret has no public half: describe it without `k`.
    let public = key
        .verifying_key()
        .to_public_jwk()
        .unwrap_or_else(|| private.to_public());
    io::print(&public.to_json())
}

/// Writes `contents` to a new file readable by its owner only. An existing file, or a
/// symbolic link, is never followed or overwritten (`O_CREAT | O_EXCL`).
fn write_new_private(path: &Path, contents: &[u8]) -> Result<(), Failure> {
    let shown = path.display();
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            ErrorKind::AlreadyExists => {
                Failure::usage(format_args!("{shown} already exists; not overwriting it"))
            }
            _ => Failure::usage(format_args!("cannot create {shown}: {e}")),
        })?;
    let written = file
        .write_all(contents)
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        // Best effort: do not leave a partial key behind.
        let _ = fs::remove_file(path);
        return Err(Failure::usage(format_args!("cannot write {shown}: {e}")));
    }
    Ok(())
}
