//! The test environment, read in one place.
//!
//! Hearth's tests run on the embedded backends (SQLite, the in-process bus) everywhere, and on
//! the real ones (PostgreSQL, NATS JetStream) where the environment provides them:
//!
//! | variable | meaning |
//! |---|---|
//! | `HEARTH_TEST_DATABASE_URL` | a PostgreSQL *server* URL, e.g. `postgres://postgres@127.0.0.1:5432/postgres`; tests create their own databases on it |
//! | `HEARTH_TEST_NATS_URL` | a shared NATS server with JetStream, e.g. `nats://127.0.0.1:4222`; tests keep apart by unique names ([`unique_county`]) |
//! | `HEARTH_TEST_NATS_SERVER` | the `nats-server` binary for tests that start their own server (default: `PATH`, then `/usr/sbin/nats-server`) |
//! | `CI` | `true` in CI: a missing backend variable is then a failure, not a skip |
//!
//! A test that needs a backend asks [`TestBackends`] (or the shortcuts [`postgres_url`] and
//! [`nats_url`]); when the variable is absent it gets `None` and a visible
//! `SKIPPED (no HEARTH_TEST_DATABASE_URL): <test name>` line on stderr, so that a skipped
//! real-backend test is never mistaken for a passing one.
//!
//! Tests that stop NATS (outages) never touch the shared server: they start their own
//! [`NatsServer`] child on a free port and a private store directory, and ask
//! [`nats_server_binary`] first: they need the binary, not `HEARTH_TEST_NATS_URL`.
//!
//! Every test that asks for a backend must be named for it (`postgres` or `nats` in its name,
//! [`is_named_for_a_backend`]): `.config/nextest.toml`'s default profile leaves those tests out,
//! so that a plain `cargo nextest run` counts them as skipped instead of as passed. Asking for a
//! backend from a test not so named fails the test.

mod backends;
mod databases;
mod logs;
mod names;
mod nats_server;
mod streams;

pub use backends::{
    CI_VAR, DATABASE_URL_VAR, NATS_SERVER_VAR, NATS_URL_VAR, TestBackends, current_test_name,
    is_named_for_a_backend, nats_server_binary, nats_url, postgres_url,
};
pub use databases::{
    FreshDatabase, PrepareError, database_url, fresh_postgres_database,
    fresh_postgres_database_from_template,
};
pub use logs::{CapturedLogs, capture_logs};
pub use names::{unique_county, unique_name};
pub use nats_server::NatsServer;
pub use streams::DeleteStreamsOnDrop;

/// What can go wrong while setting up a test backend. Tests usually `expect` these: a broken
/// test environment should fail loudly.
#[derive(Debug, thiserror::Error)]
pub enum TestEnvError {
    /// The PostgreSQL server refused or failed a statement.
    #[error("PostgreSQL: {0}")]
    Database(sea_orm::DbErr),
    /// A URL or name could not be used.
    #[error("invalid test setup: {0}")]
    Invalid(String),
    /// The caller's template preparation (usually migrations) failed.
    #[error("preparing template database {template}: {message}")]
    Prepare {
        /// The template database being prepared.
        template: String,
        /// The caller's error, as text.
        message: String,
    },
    /// The private nats-server could not be started or stopped.
    #[error("nats-server: {0}")]
    NatsServer(String),
    /// A file-system or process operation failed.
    #[error("I/O: {0}")]
    Io(std::io::Error),
}

impl From<sea_orm::DbErr> for TestEnvError {
    fn from(error: sea_orm::DbErr) -> Self {
        Self::Database(error)
    }
}

impl From<std::io::Error> for TestEnvError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}
