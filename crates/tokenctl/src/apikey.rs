//! `tokenctl key mint` and `tokenctl key check`: API keys (`key list` is in
//! `apikey_list.rs`).
//!
//! `mint` prints the secret on standard output and its record, which holds only the
//! key's hash and a non-secret hint, as JSON on standard error. `check` tests format and
//! checksum with no store, as a secret scanner or pre-commit hook would. Neither ever
//! puts a key in a message.

use std::collections::BTreeMap;

use token_core::Cidr;
use token_core::apikey::{ApiKeyErrorKind, ApiKeys, CreditPlan, KeyFormat, NewKey, RefillPeriod};
use token_core::backend::MemoryKeyStore;
use token_scopes::ScopeSet;

use crate::block_on::block_on;
use crate::failure::Failure;
use crate::{KeyCheckArgs, KeyMintArgs, duration, io};

/// Mints an API key: the secret on standard output, then its record (no secret) as one
/// line of JSON on standard error. A bad prefix, an empty or bad scope set, a bad name,
/// lifetime, network, quota, credit or metadata entry is a usage error naming the flag
/// (token-core's rules, the admin API's too).
pub(crate) fn mint(args: &KeyMintArgs) -> Result<(), Failure> {
    let format = KeyFormat::new(&args.prefix)
        .map_err(|e| Failure::usage(format_args!("invalid --prefix: {e}")))?;
    let spec = spec(args)?;
    let minted = match &args.database {
        // The key lives only as long as this process: nothing is stored.
        None => block_on(ApiKeys::new(MemoryKeyStore::new(), format).mint(spec)),
        Some(url) => crate::db::run(async {
            let db = crate::db::open(url).await?;
            let minted = crate::db::keys(&db, &args.prefix)?.mint(spec).await;
            db.close().await;
            Ok::<_, Failure>(minted)
        })??,
    };
    let (secret, record) = minted.map_err(|e| match e.kind() {
        // The library's rules name the field; the user knows it as a flag.
        ApiKeyErrorKind::InvalidInput { field, rule } => {
            Failure::usage(format_args!("invalid --{}: {rule}", flag(field)))
        }
        _ => Failure::usage(format_args!("cannot mint: {e} ({})", e.code())),
    })?;
    let record = serde_json::to_string(&record)
        .map_err(|e| Failure::usage(format_args!("cannot print the key record: {e}")))?;
    io::print(secret.expose_secret())?;
    io::print_stderr(&record)
}

/// The flag a field of token-core's rules is set with.
fn flag(field: &str) -> String {
    match field {
        "networks" => "network".to_owned(),
        "credits.refill.amount" => "refill-amount".to_owned(),
        other => other.replace('_', "-"),
    }
}

/// The key the flags ask for; the syntax of each flag checked here, its rules by
/// token-core.
fn spec(args: &KeyMintArgs) -> Result<NewKey, Failure> {
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
    if let Some(owner) = &args.owner {
        spec = spec.owner(owner);
    }
    if let Some(secs) = ttl {
        spec = spec.ttl_secs(secs);
    }
    if let Some(at) = args.expires_at {
        spec = spec.expires_at(at);
    }
    if !args.networks.is_empty() {
        let networks = args
            .networks
            .iter()
            .map(|n| n.parse::<Cidr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Failure::usage(format_args!("invalid --network: {e}")))?;
        spec = spec.networks(networks);
    }
    if let Some(quota) = &args.rate_limit {
        quota
            .parse::<token_ratelimit::Quota>()
            .map_err(|e| Failure::usage(format_args!("invalid --rate-limit: {e}")))?;
        spec = spec.rate_limit(quota);
    }
    if let Some(remaining) = args.credits {
        let plan = match args.refill.as_deref() {
            None => CreditPlan::fixed(remaining),
            Some(interval) => {
                let period = if interval == "monthly" {
                    RefillPeriod::Monthly
                } else {
                    RefillPeriod::Daily
                };
                // The refill defaults to --credits; with none to default to, the user
                // must say how many (and hears about the flag missing, not a zero
                // they never typed).
                let amount = match args.refill_amount {
                    Some(amount) => amount,
                    None if remaining == 0 => {
                        return Err(Failure::usage(
                            "invalid --refill: with --credits 0, give --refill-amount N \
                             (the count after each refill, at least 1)",
                        ));
                    }
                    None => remaining,
                };
                CreditPlan::refilling(remaining, amount, period)
            }
        };
        spec = spec.credit_plan(plan);
    }
    let mut metadata = BTreeMap::new();
    for entry in &args.metadata {
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| Failure::usage("invalid --metadata: must be KEY=VALUE"))?;
        metadata.insert(key.to_owned(), value.to_owned());
    }
    Ok(spec.metadata_map(metadata))
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
