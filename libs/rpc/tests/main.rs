//! The platform's runtime with a small service of its own, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Generates `sqlite::<name>` and `postgres::<name>` for each scenario `name(Storage)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(hearth_testkit::Storage::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(hearth_testkit::Storage::Postgres).await })*
        }
    };
}

mod jobs;
