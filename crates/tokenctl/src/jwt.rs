//! `tokenctl jwt mint` and `tokenctl jwt verify`.

use std::sync::Arc;

use serde_json::{Map, Value};
use token_core::jose::KeyError;
use token_core::jwt::{
    AccessTokenRequest, JwtError, JwtErrorKind, Keyring, Minter, Validation, Verifier,
};
use token_core::{Clock, ManualClock, SystemClock};

use crate::failure::Failure;
use crate::{MintArgs, VerifyArgs, duration, io, keys};

/// Parses `--claim name=value`: the value is JSON if it parses as JSON, else the text
/// itself as a string.
pub(crate) fn parse_claim(text: &str) -> Result<(String, Value), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| "expected NAME=VALUE".to_owned())?;
    if name.is_empty() {
        return Err("the claim name is empty".to_owned());
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((name.to_owned(), value))
}

/// Mints an access token with the key file's private key and prints it. Registered
/// claim names in `--claim` are refused by the minter.
pub(crate) fn mint(args: &MintArgs) -> Result<(), Failure> {
    let key = keys::signing_key(&args.key)?;
    let minter = Minter::new(Keyring::new(key), &args.iss).max_ttl_secs(duration::MAX_TTL_SECS);

    let Some((first_aud, more_aud)) = args.aud.split_first() else {
        return Err(Failure::usage("give at least one --aud"));
    };
    let mut extra = Map::new();
    for (name, value) in &args.claims {
        if extra.insert(name.clone(), value.clone()).is_some() {
            return Err(Failure::usage(format_args!(
                "claim `{name}` is given twice"
            )));
        }
    }
    let mut request = AccessTokenRequest::new(&args.sub, first_aud).ttl_secs(args.ttl);
    for aud in more_aud {
        request = request.audience(aud);
    }
    if let Some(scope) = &args.scope {
        request = request.scope(scope.clone());
    }
    if let Some(tenant) = &args.tenant {
        request = request.tenant(tenant);
    }
    let token = minter
        .mint(&request.extra(extra))
        .map_err(|e| Failure::usage(format_args!("cannot mint: {e}")))?;
    io::print(&token)
}

/// Verifies a token and prints its claims as one JSON object.
///
/// Issuer and audience are checked only when given (this is an inspection tool);
/// without `--alg` each key's own algorithm applies.
pub(crate) fn verify(args: &VerifyArgs) -> Result<(), Failure> {
    let keyring = keyring(args)?;

    let mut builder = Validation::builder();
    builder = match &args.iss {
        Some(iss) => builder.issuer(iss),
        None => builder.dangerous_any_issuer(),
    };
    builder = match &args.aud {
        Some(aud) => builder.audience(aud),
        None => builder.dangerous_any_audience(),
    };
    if let Some(typ) = &args.typ {
        builder = builder.typ(typ);
    }
    if let Some(leeway) = args.leeway {
        builder = builder.leeway_secs(leeway);
    }
    if !args.algs.is_empty() {
        builder = builder.algorithms(&args.algs);
    }
    if let Some(max) = args.max_lifetime {
        builder = builder.max_lifetime_secs(max.0);
    }
    let validation = builder
        .tenant_claim(&args.tenant_claim)
        .build()
        .map_err(Failure::usage)?;

    let clock: Arc<dyn Clock> = match args.now {
        Some(now) => Arc::new(ManualClock::new(now)),
        None => Arc::new(SystemClock),
    };
    let verifier = Verifier::new(keyring, validation).with_clock(clock);
    let invalid = |e: JwtError| Failure::invalid(format_args!("invalid token: {e} ({})", e.code()));
    // A token too large to read is an invalid token, like one the verifier finds too large.
    let token = io::token_input(args.token.as_deref())?.ok_or_else(|| {
        invalid(
            JwtErrorKind::TooLarge {
                max: verifier.validation().max_token_len(),
            }
            .into(),
        )
    })?;
    let valid = verifier
        .verify_as::<Map<String, Value>>(&token)
        .map_err(invalid)?;
    io::print(&valid.claims.to_json(&args.tenant_claim).to_string())
}

/// The verify-only keyring of `--jwks`: each key bound to the allowed algorithms it
/// fits (all its own without `--alg`). Keys that fit no allowed algorithm, cannot be
/// used, or repeat a key id, are skipped with a warning; a file with no key usable
/// under any allowed algorithm is an error (exit status 2).
fn keyring(args: &VerifyArgs) -> Result<Keyring, Failure> {
    let shown = args.jwks.display();
    let mut keyring = Keyring::verify_only();
    let mut loaded = 0_usize;
    for found in keys::read(&args.jwks)? {
        let label = &found.label;
        let keys = found.verifying_keys(&args.algs).map_err(|e| match e {
            KeyError::NoAlgorithm => {
                format!("{e} (RSA and oct keys without \"alg\" need --alg)")
            }
            KeyError::NotAllowed => "it fits none of the --alg algorithms".to_owned(),
            e => e.to_string(),
        });
        let added = keys.and_then(|keys| {
            keys.into_iter().try_fold(keyring.clone(), |ring, key| {
                bind(&ring, key, args.iss.as_deref()).map_err(|e| e.to_string())
            })
        });
        match added {
            Ok(next) => {
                keyring = next;
                loaded += 1;
            }
            Err(reason) => io::warn(format_args!("{shown}: skipping key {label}: {reason}")),
        }
    }
    if loaded == 0 {
        return Err(Failure::usage(format_args!("{shown} holds no usable key")));
    }
    Ok(keyring)
}

/// Adds a key from the file bound to `--iss` (it then verifies only that issuer's
/// tokens), or, without `--iss`, bound to no issuer: an inspection of one token
/// against keys whose issuer the command was not told.
fn bind(
    keyring: &Keyring,
    key: token_core::jose::VerifyingKey,
    iss: Option<&str>,
) -> Result<Keyring, token_core::jwt::KeyringError> {
    match iss {
        Some(iss) => keyring.with_verifying_key(key, iss),
        None => keyring.dangerous_with_unbound_key(key),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parse_claim;

    #[test]
    fn claim_values_are_json_or_text() {
        assert_eq!(parse_claim("n=5"), Ok(("n".to_owned(), json!(5))));
        assert_eq!(parse_claim("ok=true"), Ok(("ok".to_owned(), json!(true))));
        assert_eq!(
            parse_claim(r#"o={"a":[1]}"#),
            Ok(("o".to_owned(), json!({"a": [1]})))
        );
        assert_eq!(
            parse_claim("plan=pro"),
            Ok(("plan".to_owned(), json!("pro")))
        );
        assert_eq!(parse_claim("eq=a=b"), Ok(("eq".to_owned(), json!("a=b"))));
        assert_eq!(parse_claim("empty="), Ok(("empty".to_owned(), json!(""))));
        assert!(parse_claim("novalue").is_err());
        assert!(parse_claim("=5").is_err());
    }
}
