//! The store suite: the same tests on embedded SQLite and on PostgreSQL (when
//! `HEARTH_TEST_DATABASE_URL` is set; with `CI=true` it must be).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use hearth_store::{Backend, StoreError, StoreTarget, connect, ensure_migrated, migrate};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use sea_orm_migration::prelude::*;
use std::time::Duration;

// ---- a small migrator of our own, as a service would have ----

struct CreateItems;
impl MigrationName for CreateItems {
    fn name(&self) -> &str {
        "m20260101_000001_create_items"
    }
}
#[async_trait::async_trait]
impl MigrationTrait for CreateItems {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("items")
                    .col(ColumnDef::new("id").big_integer().not_null().primary_key())
                    .col(ColumnDef::new("name").string().not_null())
                    .to_owned(),
            )
            .await
    }
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("items").to_owned())
            .await
    }
}

struct IndexItems;
impl MigrationName for IndexItems {
    fn name(&self) -> &str {
        "m20260101_000002_index_items_name"
    }
}
#[async_trait::async_trait]
impl MigrationTrait for IndexItems {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("items_by_name")
                    .table("items")
                    .col("name")
                    .to_owned(),
            )
            .await
    }
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("items_by_name")
                    .table("items")
                    .to_owned(),
            )
            .await
    }
}

struct FullMigrator;
#[async_trait::async_trait]
impl MigratorTrait for FullMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateItems), Box::new(IndexItems)]
    }
}

struct FirstOnly;
#[async_trait::async_trait]
impl MigratorTrait for FirstOnly {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateItems)]
    }
}

// ---- the backends ----

/// A place for a fresh database; keeps its temporary directory or database alive.
struct Fixture {
    target: StoreTarget,
    _dir: Option<tempfile::TempDir>,
    _database: Option<hearth_testenv::FreshDatabase>,
}

async fn sqlite() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    Some(Fixture {
        target: StoreTarget::Sqlite {
            dir: dir.path().join("db"),
        },
        _dir: Some(dir),
        _database: None,
    })
}

async fn postgres() -> Option<Fixture> {
    let server = hearth_testenv::postgres_url()?;
    let database = hearth_testenv::fresh_postgres_database(&server, "hearth_store")
        .await
        .unwrap();
    Some(Fixture {
        target: StoreTarget::Postgres {
            url: database.url.clone(),
            max_connections: 8,
            connect_timeout: Duration::from_secs(10),
        },
        _dir: None,
        _database: Some(database),
    })
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

fn insert(backend: DbBackend, id: i64, name: &str) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => "INSERT INTO items (id, name) VALUES ($1, $2)",
        _ => "INSERT INTO items (id, name) VALUES (?, ?)",
    };
    Statement::from_sql_and_values(backend, sql, [id.into(), name.into()])
}

// ---- the suite: each test takes a fixture ----

async fn migrations_apply_once(fixture: Fixture) {
    let db = connect(&fixture.target, "alpha").await.unwrap();
    assert_eq!(migrate::<FullMigrator>(&db, "alpha").await.unwrap(), 2);
    assert_eq!(
        migrate::<FullMigrator>(&db, "alpha").await.unwrap(),
        0,
        "a second run applies nothing"
    );
    ensure_migrated::<FullMigrator>(&db, "alpha").await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM items").await, 0);
}

async fn a_schema_behind_is_named(fixture: Fixture) {
    let db = connect(&fixture.target, "alpha").await.unwrap();
    migrate::<FirstOnly>(&db, "alpha").await.unwrap();
    match ensure_migrated::<FullMigrator>(&db, "alpha").await {
        Err(StoreError::SchemaBehind { pending, names, .. }) => {
            assert_eq!(pending, 1);
            assert_eq!(names, "m20260101_000002_index_items_name");
        }
        other => panic!("expected SchemaBehind, got {other:?}"),
    }
    let message = ensure_migrated::<FullMigrator>(&db, "alpha")
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("hearth migrate"), "{message}");
}

async fn a_never_migrated_database_is_behind(fixture: Fixture) {
    let db = connect(&fixture.target, "gamma").await.unwrap();
    match ensure_migrated::<FullMigrator>(&db, "gamma").await {
        Err(StoreError::SchemaBehind { pending, .. }) => assert_eq!(pending, 2),
        other => panic!("expected SchemaBehind, got {other:?}"),
    }
}

async fn transactions_commit_and_roll_back(fixture: Fixture) {
    let db = connect(&fixture.target, "alpha").await.unwrap();
    migrate::<FullMigrator>(&db, "alpha").await.unwrap();
    let backend = db.get_database_backend();
    let txn = db.begin().await.unwrap();
    txn.execute_raw(insert(backend, 1, "kept")).await.unwrap();
    txn.commit().await.unwrap();
    let txn = db.begin().await.unwrap();
    txn.execute_raw(insert(backend, 2, "rolled back"))
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM items").await, 1);
    assert!(
        db.execute_raw(insert(backend, 1, "duplicate"))
            .await
            .is_err(),
        "primary key holds"
    );
}

async fn concurrent_writers_all_land(fixture: Fixture) {
    let db = connect(&fixture.target, "alpha").await.unwrap();
    migrate::<FullMigrator>(&db, "alpha").await.unwrap();
    let backend = db.get_database_backend();
    let tasks: Vec<_> = (0..16_i64)
        .map(|task| {
            let db = db.clone();
            tokio::spawn(async move {
                for n in 0..10_i64 {
                    let txn = db.begin().await.unwrap();
                    txn.execute_raw(insert(backend, task * 100 + n, "x"))
                        .await
                        .unwrap();
                    txn.commit().await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(count(&db, "SELECT COUNT(*) FROM items").await, 160);
}

async fn services_keep_apart(fixture: Fixture) {
    let alpha = connect(&fixture.target, "alpha").await.unwrap();
    let beta = connect(&fixture.target, "beta").await.unwrap();
    migrate::<FullMigrator>(&alpha, "alpha").await.unwrap();
    alpha
        .execute_raw(insert(alpha.get_database_backend(), 7, "alpha's"))
        .await
        .unwrap();
    // beta has its own database (SQLite file or PostgreSQL schema): no items table yet …
    assert!(
        beta.execute_unprepared("SELECT COUNT(*) FROM items")
            .await
            .is_err()
    );
    // … and its own, once migrated, starts empty.
    migrate::<FullMigrator>(&beta, "beta").await.unwrap();
    assert_eq!(count(&beta, "SELECT COUNT(*) FROM items").await, 0);
    assert_eq!(count(&alpha, "SELECT COUNT(*) FROM items").await, 1);
}

async fn bad_service_names_are_refused(fixture: Fixture) {
    for name in ["", "Intake", "in-take", "x;drop"] {
        match connect(&fixture.target, name).await {
            Err(StoreError::InvalidServiceName(_)) => {}
            other => panic!("{name:?}: expected InvalidServiceName, got {other:?}"),
        }
    }
}

async fn data_survives_reconnecting(fixture: Fixture) {
    let db = connect(&fixture.target, "alpha").await.unwrap();
    migrate::<FullMigrator>(&db, "alpha").await.unwrap();
    db.execute_raw(insert(db.get_database_backend(), 1, "durable"))
        .await
        .unwrap();
    db.close().await.unwrap();
    let db = connect(&fixture.target, "alpha").await.unwrap();
    ensure_migrated::<FullMigrator>(&db, "alpha").await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM items").await, 1);
}

/// A service starting again (connecting, with nothing to migrate) logs no database notices:
/// PostgreSQL answers `CREATE … IF NOT EXISTS` on an existing object with a NOTICE ("relation
/// seaql_migrations already exists, skipping"), which sqlx would log at info on every start.
async fn starting_again_logs_no_notices(fixture: Fixture) {
    let db = connect(&fixture.target, "alpha").await.unwrap();
    migrate::<FullMigrator>(&db, "alpha").await.unwrap();
    db.close().await.unwrap();

    let (capture, logs) = hearth_testenv::capture_logs("info");
    let db = connect(&fixture.target, "alpha").await.unwrap();
    let applied = migrate::<FullMigrator>(&db, "alpha").await.unwrap();
    tracing::info!("started again");
    db.close().await.unwrap();
    drop(capture);
    assert_eq!(applied, 0);
    let logged = logs.contents();
    assert!(
        logged.contains("started again"),
        "logs are captured: {logged}"
    );
    assert!(
        !logged.contains("sqlx::postgres::notice") && !logged.contains("already exists"),
        "{logged}"
    );
}

macro_rules! store_suite {
    ($backend:ident, $expected:expr) => {
        mod $backend {
            use super::*;

            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test]
                    async fn $name() {
                        let Some(fixture) = super::$backend().await else {
                            return;
                        };
                        let db = connect(&fixture.target, "probe").await.unwrap();
                        assert_eq!(Backend::of(&db), $expected);
                        super::$name(fixture).await;
                    }
                };
            }

            case!(migrations_apply_once);
            case!(a_schema_behind_is_named);
            case!(a_never_migrated_database_is_behind);
            case!(transactions_commit_and_roll_back);
            case!(concurrent_writers_all_land);
            case!(services_keep_apart);
            case!(bad_service_names_are_refused);
            case!(data_survives_reconnecting);
            case!(starting_again_logs_no_notices);
        }
    };
}

store_suite!(sqlite, Backend::Sqlite);
store_suite!(postgres, Backend::Postgres);

#[tokio::test]
async fn sqlite_uses_one_wal_file_per_service() {
    let dir = tempfile::tempdir().unwrap();
    let target = StoreTarget::Sqlite {
        dir: dir.path().to_path_buf(),
    };
    let db = connect(&target, "intake").await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA journal_mode".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "wal");
    assert!(hearth_store::sqlite_path(dir.path(), "intake").is_file());
}
