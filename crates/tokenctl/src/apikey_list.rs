//! `tokenctl key list`: one page of the key records `key mint` wrote (JSON Lines),
//! or of a database's, filtered and in the admin API's order, through token-core's
//! own listing ([`KeyStore::list_page`] over a memory store, or token-sql's), so the
//! filters, the order and the cursors are the library's.

use std::collections::HashMap;

use serde_json::Value;
use token_core::apikey::admin::{KeyFilter, PageCursor};
use token_core::apikey::{ApiKeyError, ApiKeyErrorKind, KeyRecord};
use token_core::backend::{KeyStore, MemoryKeyStore};

use crate::block_on::block_on;
use crate::failure::Failure;
use crate::{KeyListArgs, io};

/// A refusal of token-core's rules, named by its flag.
fn usage(e: &ApiKeyError) -> Failure {
    match e.kind() {
        ApiKeyErrorKind::InvalidInput { field, rule } => Failure::usage(format_args!(
            "invalid --{}: {rule}",
            field.replace('_', "-")
        )),
        _ => Failure::usage(format_args!("cannot list: {e} ({})", e.code())),
    }
}

/// Prints one page: a JSON object per key (never its hash), and `next: --cursor C` on
/// standard error when more follow.
pub(crate) fn list(args: &KeyListArgs) -> Result<(), Failure> {
    let limit = token_core::apikey::admin::checked_limit(args.limit).map_err(|e| usage(&e))?;
    let mut filter = KeyFilter::new();
    if let Some(owner) = &args.owner {
        filter = filter.owner(owner);
    }
    if let Some(status) = &args.status {
        filter = filter.status(status.parse().map_err(|e| usage(&e))?);
    }
    if let Some(prefix) = &args.name_prefix {
        filter = filter.name_prefix(prefix);
    }
    if let Some(tenant) = &args.tenant {
        filter = filter.tenant(Some(tenant));
    }
    let after = args
        .cursor
        .as_deref()
        .map(str::parse::<PageCursor>)
        .transpose()
        .map_err(|e| usage(&e))?;
    let page = match (&args.from, &args.database) {
        (Some(file), _) => block_on(load(file)?.list_page(&filter, after.as_ref(), limit)),
        (None, Some(url)) => crate::db::run(async {
            let db = crate::db::open(url).await?;
            let page = db.keys().list_page(&filter, after.as_ref(), limit).await;
            db.close().await;
            Ok::<_, Failure>(page)
        })??,
        (None, None) => return Err(Failure::usage("--from FILE or --database URL is needed")),
    }
    .map_err(|e| Failure::usage(format_args!("cannot list: {e}")))?;
    print_records(&page.records, args.json)?;
    if let Some(next) = &page.next {
        io::print_stderr(&format!("next: --cursor {}", next.encode()))?;
    }
    Ok(())
}

/// The records of the file, the last of each id winning, in a memory store.
fn load(from: &std::path::Path) -> Result<MemoryKeyStore, Failure> {
    let shown = from.display();
    let bytes = io::read_file(from)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::usage(format_args!("{shown} is not UTF-8")))?;
    let mut records: HashMap<String, KeyRecord> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: KeyRecord = serde_json::from_str(line).map_err(|e| {
            Failure::usage(format_args!("{shown}:{}: not a key record: {e}", n + 1))
        })?;
        records.insert(record.id.clone(), record);
    }
    let store = MemoryKeyStore::new();
    for record in records.into_values() {
        block_on(store.insert(record)).map_err(|e| Failure::usage(format_args!("{shown}: {e}")))?;
    }
    Ok(store)
}

/// `records` as a table, or (`json`) one JSON line each.
pub(crate) fn print_records(records: &[KeyRecord], json: bool) -> Result<(), Failure> {
    if !json {
        return io::print(&crate::table::render(records));
    }
    for record in records {
        io::print(&view(record)?)?;
    }
    Ok(())
}

/// A record as one line of JSON, without its hash.
pub(crate) fn view(record: &KeyRecord) -> Result<String, Failure> {
    let mut value = serde_json::to_value(record)
        .map_err(|e| Failure::usage(format_args!("cannot print a key record: {e}")))?;
    if let Value::Object(map) = &mut value {
        map.remove("hash");
        map.remove("version");
    }
    Ok(value.to_string())
}
