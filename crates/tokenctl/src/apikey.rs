//! `tokenctl key mint` and `tokenctl key check`: API keys.
//!
//! `mint` prints the secret on standard output and its record, which holds only the
//! key's hash and a non-secret hint, as JSON on standard error. `check` tests format and
//! checksum with no store, as a secret scanner or pre-commit hook would. Neither ever
//! puts a key in a message.

use token_core::apikey::{ApiKeyErrorKind, ApiKeys, KeyFormat, NewKey};
use token_core::backend::MemoryKeyStore;
use token_scopes::ScopeSet;

use crate::block_on::block_on;
use crate::failure::Failure;
use crate::{KeyCheckArgs, KeyMintArgs, duration, io};

/// Mints an API key: the secret on standard output, then its record (no secret) as one
/// line of JSON on standard error. A bad prefix, an empty or bad scope set, a bad name
/// or a bad lifetime is a usage error (token-core's rules, the admin API's too).
pub(crate) fn mint(args: &KeyMintArgs) -> Result<(), Failure> {
    let format = KeyFormat::new(&args.prefix)
        .map_err(|e| Failure::usage(format_args!("invalid --prefix: {e}")))?;
    let scopes: ScopeSet = args
        .scopes
        .parse()
        .map_err(|e| Failure::usage(format_args!("invalid --scopes: {e}")))?;
    let ttl = args
        .ttl
        .as_deref()
        .map(|text| duration::parse_duration(text, duration::MAX_KEY_TTL_SECS))
        .transpose()
        .map_err(|e| Failure::usage(format_args!("invalid --ttl: {e}")))?;

    let mut spec = NewKey::new(&args.name, scopes);
    if let Some(tenant) = &args.tenant {
        spec = spec.tenant(tenant);
    }
    if let Some(secs) = ttl {
        spec = spec.ttl_secs(secs);
    }
    // The key lives only as long as this process: nothing is stored.
    let keys = ApiKeys::new(MemoryKeyStore::new(), format);
    let (secret, record) = block_on(keys.mint(spec)).map_err(|e| match e.kind() {
        // The library's rules name the field; the user knows it as a flag.
        ApiKeyErrorKind::InvalidInput { field, rule } => {
            Failure::usage(format_args!("invalid --{field}: {rule}"))
        }
        _ => Failure::usage(format_args!("cannot mint: {e} ({})", e.code())),
    })?;
    let record = serde_json::to_string(&record)
        .map_err(|e| Failure::usage(format_args!("cannot print the key record: {e}")))?;
    io::print(secret.expose_secret())?;
    io::print_stderr(&record)
}

/// Checks an API key's format and checksum (from the argument, or standard input when
/// it is `-` or absent) and prints `ok: <hint>`. Exit status 1, with the reason and its
/// code, when it is not a well-formed key.
pub(crate) fn check(args: &KeyCheckArgs) -> Result<(), Failure> {
    let given = args.key.as_deref().filter(|key| *key != "-");
    let key = io::secret_input(given, "API key")?;
    let parsed = token_core::apikey::format::check(&key)
        .map_err(|e| Failure::invalid(format_args!("not an API key: {e} ({})", e.code())))?;
    io::print(&format!("ok: {}", parsed.display_hint()))
}
