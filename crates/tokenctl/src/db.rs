//! `tokenctl db migrate` and the `--database` of the `key` commands: token-sql on
//! SQLite or PostgreSQL, driven on a runtime of this process's own.

use token_core::apikey::{ApiKeyErrorKind, ApiKeys, KeyFormat};
use token_sql::{Database, Options, SqlKeyStore};

use crate::failure::Failure;
use crate::{DbMigrateArgs, KeyRevokeArgs, KeyRotateArgs, KeyShowArgs, apikey_list, duration, io};

/// Runs `future` to completion on a current-thread tokio runtime (sqlx needs one).
pub(crate) fn run<F: Future>(future: F) -> Result<F::Output, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(format_args!("cannot start a runtime: {e}")))?;
    Ok(runtime.block_on(future))
}

/// Opens `url` and checks that its schema is this binary's (`db migrate` makes it
/// so). A SQLite file that does not exist is refused, never created empty. The
/// errors name the URL without its password.
pub(crate) async fn open(url: &str) -> Result<Database, Failure> {
    let db = Database::connect_with(url, Options::new().create_missing(false))
        .await
        .map_err(|e| Failure::usage(format_args!("--database: {e}")))?;
    db.ensure_schema()
        .await
        .map_err(|e| Failure::usage(format_args!("--database: {e}")))?;
    Ok(db)
}

/// The key service on a database: the prefix only shapes minted keys (the records
/// it reads and revokes are any prefix's).
pub(crate) fn keys(db: &Database, prefix: &str) -> Result<ApiKeys<SqlKeyStore>, Failure> {
    let format = KeyFormat::new(prefix)
        .map_err(|e| Failure::usage(format_args!("invalid --prefix: {e}")))?;
    Ok(ApiKeys::new(db.keys(), format))
}

/// `tokenctl db migrate --database URL`: applies the missing migrations and says
/// what it did on standard output.
pub(crate) fn migrate(args: &DbMigrateArgs) -> Result<(), Failure> {
    run(async {
        let db = Database::connect(&args.database)
            .await
            .map_err(|e| Failure::usage(format_args!("--database: {e}")))?;
        let done = db
            .migrate()
            .await
            .map_err(|e| Failure::usage(format_args!("--database: {e}")));
        db.close().await;
        let done = done?;
        let line = if done.from == done.to {
            format!("{}: schema version {} already", db.url(), done.to)
        } else {
            format!(
                "{}: schema version {} (was {})",
                db.url(),
                done.to,
                done.from
            )
        };
        io::print(&line)
    })?
}

/// `tokenctl key show ID --database URL`: the record, without its hash.
pub(crate) fn show(args: &KeyShowArgs) -> Result<(), Failure> {
    run(async {
        let db = open(&args.database).await?;
        let keys = keys(&db, "tk")?;
        let record = keys.get(&args.id).await.map_err(|e| match e.kind() {
            ApiKeyErrorKind::NotFound => Failure::usage(format_args!("no key {}", args.id)),
            _ => Failure::usage(format_args!("cannot read the key: {e} ({})", e.code())),
        });
        db.close().await;
        apikey_list::print_records(&[record?], args.json)
    })?
}

/// `tokenctl key revoke ID --database URL [--reason R]`: revokes the key for good,
/// with every key it created (at any depth, as the admin API's `DELETE` does), and
/// prints the key's record, then one line per key revoked with it. A process that
/// has a key cached refuses it once its cache entry expires (the cache TTL).
pub(crate) fn revoke(args: &KeyRevokeArgs) -> Result<(), Failure> {
    run(async {
        let db = open(&args.database).await?;
        let keys = keys(&db, "tk")?;
        let revoked = keys
            .revoke_cascading(&args.id, &args.reason)
            .await
            .map_err(|e| match e.kind() {
                ApiKeyErrorKind::NotFound => Failure::usage(format_args!("no key {}", args.id)),
                _ => Failure::usage(format_args!("cannot revoke the key: {e} ({})", e.code())),
            });
        db.close().await;
        let (record, mut offspring) = revoked?;
        offspring.insert(0, record);
        apikey_list::print_records(&offspring, args.json)
    })?
}

/// The most a rotation's grace may be: 30 days.
const MAX_GRACE_SECS: i64 = 30 * 86_400;

/// `tokenctl key rotate ID --database URL [--grace 1h] [--prefix P]`: the
/// successor's secret alone on standard output, its record on standard error.
pub(crate) fn rotate(args: &KeyRotateArgs) -> Result<(), Failure> {
    let grace = duration::parse_duration(&args.grace, MAX_GRACE_SECS)
        .map_err(|e| Failure::usage(format_args!("invalid --grace: {e}")))?;
    run(async {
        let db = open(&args.database).await?;
        let result = rotate_in(&db, args, grace).await;
        db.close().await;
        let (secret, record) = result?;
        io::print(secret.expose_secret())?;
        let shown = if args.json {
            apikey_list::view(&record)?
        } else {
            crate::table::render(std::slice::from_ref(&record))
        };
        io::print_stderr(&shown)
    })?
}

async fn rotate_in(
    db: &Database,
    args: &KeyRotateArgs,
    grace: i64,
) -> Result<
    (
        token_core::apikey::ApiKeySecret,
        token_core::apikey::KeyRecord,
    ),
    Failure,
> {
    let failed = |e: token_core::apikey::ApiKeyError| match e.kind() {
        ApiKeyErrorKind::NotFound => Failure::usage(format_args!("no key {}", args.id)),
        _ => Failure::usage(format_args!("cannot rotate the key: {e} ({})", e.code())),
    };
    let prefix = if let Some(prefix) = &args.prefix {
        prefix.clone()
    } else {
        let record = token_core::backend::KeyStore::get(&db.keys(), &args.id)
            .await
            .map_err(|e| Failure::usage(format_args!("cannot read the key: {e}")))?
            .ok_or_else(|| Failure::usage(format_args!("no key {}", args.id)))?;
        prefix_of(&record.hint)?
    };
    keys(db, &prefix)?
        .rotate(&args.id, grace)
        .await
        .map_err(failed)
}

/// The prefix of a key from its hint (`tk_live_3Fq9…` is `tk_live`).
fn prefix_of(hint: &str) -> Result<String, Failure> {
    hint.rsplit_once('_')
        .map(|(prefix, _)| prefix.to_owned())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| Failure::usage("the key's hint names no prefix: give --prefix"))
}
