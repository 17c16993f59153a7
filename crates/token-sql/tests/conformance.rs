//! The store contract on every backend: token-core's memory stores, SQLite, and
//! PostgreSQL (when `TOKENKIT_TEST_POSTGRES_URL` names a server; skipped, saying
//! so, otherwise). Each check is written once, in `suite/`.

mod common;
mod suite;

/// One `#[tokio::test]` per check, on backend `$backend`.
macro_rules! checks {
    ($backend:ty) => {
        checks!($backend:
            keys::records_round_trip,
            keys::duplicates_conflict,
            keys::updates_are_compare_and_swap,
            keys::revocation_wins_and_keeps_the_first,
            keys::pages_follow_the_filter_in_keyset_order,
            keys::bulk_revocation_is_all_or_nothing,
            keys::credits_are_taken_one_at_a_time,
            keys::monthly_credits_refill_on_the_first,
            keys::last_use_only_moves_forward,
            tokens::clients_are_stored_once,
            tokens::refresh_tokens_are_redeemed_once,
            tokens::families_are_revoked_whole,
            tokens::expired_families_are_forgotten,
            concurrency::sixteen_spenders_admit_exactly_the_balance,
            concurrency::eight_redeemers_one_winner,
            concurrency::revoke_racing_verify_never_lets_the_key_back,
        );
    };
    ($backend:ty: $($module:ident :: $check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                use crate::common::Backend as _;
                let Some(backend) = <$backend>::open().await else { return };
                crate::suite::$module::$check::<$backend>(std::sync::Arc::new(backend)).await;
            }
        )*
    };
}

mod memory {
    checks!(crate::common::Memory);
}

mod sqlite {
    checks!(crate::common::Sqlite);
}

mod postgres {
    checks!(crate::common::Postgres);
}
