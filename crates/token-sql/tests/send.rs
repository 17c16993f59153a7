//! Every future this crate returns is `Send`, so it runs on any tokio task.

fn is_send<T: Send>(_: &T) {}

#[allow(dead_code)]
fn futures_are_send(db: &token_sql::Database) {
    is_send(&token_sql::Database::connect("sqlite::memory:"));
    is_send(&db.migrate());
    is_send(&db.schema_version());
    is_send(&db.ensure_schema());
    is_send(&db.close());
}

#[test]
fn compiles() {}
