//! hearth-audit integration tests: one set of cases (`cases`), run on every database the
//! audit log must work on.
//!
//! - `sqlite`: a SQLite file in a temporary directory, opened and migrated the way services do
//!   (`hearth_store::connect` + `hearth_store::migrate`). Always runs.
//! - `postgres`: a fresh PostgreSQL database on the server at `HEARTH_TEST_DATABASE_URL`,
//!   through the same two calls (so in the service's own schema). Without the variable each
//!   test prints a visible `SKIPPED` line (and fails when `CI=true`).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hearth_audit::AuditLog;
use hearth_domain::FixedClock;
use hearth_store::StoreTarget;
use hearth_testenv::FreshDatabase;
use sea_orm::DatabaseConnection;
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use tempfile::TempDir;

mod cases;

/// What a service's migrator starts with: the bus's tables, then the audit log.
struct TestMigrator;

impl MigratorTrait for TestMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = hearth_bus::migrations();
        migrations.extend(hearth_audit::migrations());
        migrations
    }
}

/// The service name: the SQLite file's name, the PostgreSQL schema.
const SERVICE: &str = "auditing";

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One test's database, clock and log. Dropping it removes the database.
pub struct Env {
    pub db: DatabaseConnection,
    pub clock: FixedClock,
    pub log: AuditLog,
    // Dropped after the connection.
    _database: Option<FreshDatabase>,
    _dir: Option<TempDir>,
}

pub fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

impl Env {
    /// `None` (after a visible skip line) when the environment lacks the backend.
    pub async fn start(backend: Backend) -> Option<Self> {
        let (target, dir, database) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("hearth-audit-test-")
                    .tempdir()
                    .unwrap();
                let target = StoreTarget::Sqlite {
                    dir: dir.path().to_owned(),
                };
                (target, Some(dir), None)
            }
            Backend::Postgres => {
                let server = hearth_testenv::postgres_url()?;
                let fresh = hearth_testenv::fresh_postgres_database(&server, "hearth_audit_test")
                    .await
                    .expect("a fresh PostgreSQL database");
                let target = StoreTarget::Postgres {
                    url: fresh.url.clone(),
                    max_connections: 4,
                    connect_timeout: Duration::from_secs(10),
                };
                (target, None, Some(fresh))
            }
        };
        let db = hearth_store::connect(&target, SERVICE).await.unwrap();
        let applied = hearth_store::migrate::<TestMigrator>(&db, SERVICE)
            .await
            .unwrap();
        assert_eq!(applied, 3, "the bus's two migrations and the audit log's");
        // Microseconds and nanoseconds: the log keeps microseconds on both backends.
        let clock = FixedClock::new(utc("2026-03-01T08:00:00.000001999Z"));
        let log = AuditLog::new(Arc::new(clock.clone()));
        Some(Self {
            db,
            clock,
            log,
            _database: database,
            _dir: dir,
        })
    }

    /// Runs the migrations again, as every start of an embedded service does.
    pub async fn migrate_again(&self) -> usize {
        hearth_store::migrate::<TestMigrator>(&self.db, SERVICE)
            .await
            .unwrap()
    }
}

/// Declares one `#[tokio::test]` per case, for one backend.
macro_rules! cases {
    ($backend:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some(env) = crate::Env::start($backend).await else {
                    return;
                };
                crate::cases::$case(&env).await;
            }
        )+
    };
}

mod sqlite {
    cases!(crate::Backend::Sqlite;
        record_and_list_back,
        a_record_rolled_back_with_its_read_is_gone,
        record_many_writes_one_row_per_resource_in_one_statement,
        pages_return_every_entry_once_newest_first,
        page_tokens_are_stable_and_bound_to_their_filters,
        filters,
        purge_removes_what_is_older_than_the_cutoff,
        only_admins_may_read,
        municipality_staff_entries_carry_their_municipality,
        migrating_again_changes_nothing,
    );
}

mod postgres {
    cases!(crate::Backend::Postgres;
        record_and_list_back,
        a_record_rolled_back_with_its_read_is_gone,
        record_many_writes_one_row_per_resource_in_one_statement,
        pages_return_every_entry_once_newest_first,
        page_tokens_are_stable_and_bound_to_their_filters,
        filters,
        purge_removes_what_is_older_than_the_cutoff,
        only_admins_may_read,
        municipality_staff_entries_carry_their_municipality,
        migrating_again_changes_nothing,
    );
}
