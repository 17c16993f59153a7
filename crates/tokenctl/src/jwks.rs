//! `tokenctl jwks`: the public JWKS of key files.

use token_core::jose::{JwkSet, VerifyingKey};

use crate::JwksArgs;
use crate::failure::Failure;
use crate::{io, keys};

/// Prints `{"keys": [...]}` with the public JWK of every usable key in the files.
/// Shared secrets, keys that cannot be used and repeated key ids are skipped with a
/// warning; no private member is ever printed.
pub(crate) fn run(args: &JwksArgs) -> Result<(), Failure> {
    let mut set = JwkSet::default();
    for path in &args.files {
        let shown = path.display();
        for found in keys::read(path)? {
            let label = &found.label;
            if found.is_shared_secret() {
                io::warn(format_args!(
                    "{shown}: skipping key {label}: oct keys are shared secrets and are never published"
                ));
                continue;
            }
            let public = match found.verifying_keys(&[]) {
                Ok(keys) => keys.first().and_then(VerifyingKey::to_public_jwk),
                Err(e) => {
                    io::warn(format_args!("{shown}: skipping key {label}: {e}"));
                    continue;
                }
            };
            let Some(public) = public else {
                io::warn(format_args!(
                    "{shown}: skipping key {label}: shared secrets are never published"
                ));
                continue;
            };
            if let Some(other) = set.keys.iter().find(|k| k.kid == public.kid) {
                let why = if *other == public {
                    "the same key is already in the set"
                } else {
                    "another key in the set has its kid"
                };
                io::warn(format_args!("{shown}: skipping key {label}: {why}"));
                continue;
            }
            set.keys.push(public);
        }
    }
    io::print(&set.to_json())
}
