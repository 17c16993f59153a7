//! Migrations on both engines: applied once, safe to run twice and from two
//! processes at once, a newer schema refused at connect and at migrate; and
//! connection errors that never show a password.

mod common;

use token_sql::{Database, Options, SCHEMA_VERSION, SqlError};

/// Where a check runs: the URL, the options, and the PostgreSQL schema if any.
struct Target {
    url: String,
    options: Options,
    schema: Option<String>,
}

/// Runs `$check(target)` on SQLite (a temporary file) and, when a server is
/// configured, on PostgreSQL (a schema of its own).
macro_rules! on_both {
    ($name:ident, $check:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let (dir, _cleanup) = crate::common::temp_dir();
                let url = format!("sqlite://{}", dir.join("t.db").display());
                let options = token_sql::Options::new();
                super::$check(super::Target {
                    url,
                    options,
                    schema: None,
                })
                .await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(url) = crate::common::postgres_url() else {
                    return;
                };
                let schema = crate::common::unique("tk_mig");
                let _cleanup = crate::common::Cleanup::Schema {
                    url: url.clone(),
                    schema: schema.clone(),
                };
                let options = token_sql::Options::new().postgres_schema(&schema);
                super::$check(super::Target {
                    url,
                    options,
                    schema: Some(schema),
                })
                .await;
            }
        }
    };
}

async fn applied_once_and_idempotent(t: Target) {
    let db = Database::connect_with(&t.url, t.options.clone())
        .await
        .unwrap();
    assert_eq!(db.schema_version().await.unwrap(), 0);
    let outdated = db.ensure_schema().await.unwrap_err();
    assert!(
        matches!(outdated, SqlError::SchemaOutdated { found: 0, .. }),
        "{outdated}"
    );
    assert!(
        outdated.to_string().contains("tokenctl db migrate"),
        "{outdated}"
    );

    // Two processes starting together: both succeed, each version applied once.
    let other = Database::connect_with(&t.url, t.options).await.unwrap();
    let (a, b) = tokio::join!(db.migrate(), other.migrate());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.to, b.to), (SCHEMA_VERSION, SCHEMA_VERSION));
    assert_eq!(
        a.from.min(b.from),
        0,
        "one of them found the empty database"
    );
    let again = db.migrate().await.unwrap();
    assert_eq!((again.from, again.to), (SCHEMA_VERSION, SCHEMA_VERSION));
    db.ensure_schema().await.unwrap();
    db.close().await;
    other.close().await;
}
on_both!(applied_once, applied_once_and_idempotent);

async fn newer_schema_is_refused(t: Target) {
    let db = Database::connect_with(&t.url, t.options.clone())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    // What a newer binary would leave behind.
    let newer = SCHEMA_VERSION + 1;
    record_version(&t, newer).await;
    let too_new =
        |e: &SqlError| matches!(e, SqlError::SchemaTooNew { found, .. } if *found == newer);
    let e = db.migrate().await.unwrap_err();
    assert!(too_new(&e), "{e}");
    assert!(e.to_string().contains("upgrade"), "{e}");
    let e = db.ensure_schema().await.unwrap_err();
    assert!(too_new(&e), "{e}");
    let e = Database::connect_with(&t.url, t.options).await.unwrap_err();
    assert!(too_new(&e), "{e}");
    db.close().await;
}
on_both!(newer_refused, newer_schema_is_refused);

/// Records schema version `version` as applied, behind the crate's back.
async fn record_version(t: &Target, version: u32) {
    use sqlx::Connection as _;
    let table = t.schema.as_ref().map_or_else(
        || "tokenkit_schema".to_owned(),
        |s| format!("\"{s}\".tokenkit_schema"),
    );
    let insert =
        format!("INSERT INTO {table} (version, name, applied_at) VALUES ($1, 'future', 0)");
    let version = i64::from(version);
    if t.schema.is_some() {
        let mut conn = sqlx::PgConnection::connect(&t.url).await.unwrap();
        sqlx::query(&insert)
            .bind(version)
            .execute(&mut conn)
            .await
            .unwrap();
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&t.url).await.unwrap();
        sqlx::query(&insert)
            .bind(version)
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn connection_errors_never_show_the_password() {
    // Nothing listens on port 1.
    let url = "postgres://app:hunter2-secret@127.0.0.1:1/keys?password=also-secret";
    let options = Options::new().acquire_timeout(std::time::Duration::from_secs(2));
    let e = Database::connect_with(url, options).await.unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(matches!(e, SqlError::Connect { .. }), "{shown}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("also-secret"),
        "{shown}"
    );
    assert!(
        shown.contains("postgres://app:***@127.0.0.1:1/keys"),
        "{shown}"
    );

    let e = Database::connect("host=db password=hunter2")
        .await
        .unwrap_err();
    assert!(matches!(e, SqlError::UnsupportedUrl { .. }), "{e}");
    assert!(!format!("{e} {e:?}").contains("hunter2"), "{e:?}");
}

#[tokio::test]
async fn schema_names_are_lowercase_identifiers() {
    for bad in ["Tokenkit", "1st", "a-b", "a\"b", ""] {
        let e = Database::connect_with(
            "postgres://u@127.0.0.1:1/x",
            Options::new().postgres_schema(bad),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, SqlError::UnsupportedUrl { .. }), "{bad:?}: {e}");
    }
    let e = Database::connect_with("sqlite::memory:", Options::new().postgres_schema("s"))
        .await
        .unwrap_err();
    assert!(matches!(e, SqlError::UnsupportedUrl { .. }), "{e}");
}
