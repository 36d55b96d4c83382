//! Where a Hearth service keeps its data, and how its schema gets there.
//!
//! Two backends behind one sea-orm `DatabaseConnection`:
//! - **embedded SQLite** (the default): one file per service under a directory, WAL journal,
//!   a busy timeout, and a single connection per file, because SQLite serialises writes anyway
//!   and one writer was measured faster and with a far better tail than a pool of writers;
//! - **PostgreSQL** (production): one database per county, one schema per service (the
//!   connection's `search_path`), so that per-service roles can own exactly their schema.
//!
//! Each service owns its migrations (a sea-orm-migration `Migrator`); [`migrate`] runs them,
//! at start in embedded mode and through `hearth migrate` in production.

mod transaction;

pub use transaction::Transaction;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use sea_orm_migration::MigratorTrait;
use std::path::PathBuf;
use std::time::Duration;

pub use sea_orm::DatabaseConnection as Db;

/// Where a service's data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreTarget {
    /// One SQLite file per service in this directory (created if missing).
    Sqlite { dir: PathBuf },
    /// A PostgreSQL database; each service works in its own schema.
    Postgres {
        url: String,
        max_connections: u32,
        connect_timeout: Duration,
    },
}

/// The database behind a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(db: &impl ConnectionTrait) -> Self {
        match db.get_database_backend() {
            DbBackend::Postgres => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

/// Why a store could not be opened or used. Each message says its cause, so no variant also
/// returns it as `source()`: a chain printed with its causes says each one once.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid service name `{0}`: lower-case ASCII letters only")]
    InvalidServiceName(String),
    #[error("cannot create data directory {path}: {error}")]
    DataDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot connect to the {service} database: {error}")]
    Connect { service: String, error: DbErr },
    #[error("migrating the {service} database failed: {error}")]
    Migrate { service: String, error: DbErr },
    #[error(
        "the {service} database schema is behind ({pending} migration(s) pending: {names}); run `hearth migrate`"
    )]
    SchemaBehind {
        service: String,
        pending: usize,
        names: String,
    },
    #[error("database error: {0}")]
    Db(DbErr),
}

impl From<DbErr> for StoreError {
    fn from(error: DbErr) -> Self {
        Self::Db(error)
    }
}

/// How long a SQLite writer waits for the file lock before giving up (it should never wait
/// long: one connection per file means contention only comes from other processes).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn check_service_name(service: &str) -> Result<(), StoreError> {
    if service.is_empty() || !service.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(StoreError::InvalidServiceName(service.to_owned()));
    }
    Ok(())
}

/// The SQLite file of `service` under `dir`.
pub fn sqlite_path(dir: &std::path::Path, service: &str) -> PathBuf {
    dir.join(format!("{service}.sqlite3"))
}

/// Open the database of `service`.
pub async fn connect(
    target: &StoreTarget,
    service: &str,
) -> Result<DatabaseConnection, StoreError> {
    check_service_name(service)?;
    let connect_error = |error| StoreError::Connect {
        service: service.to_owned(),
        error,
    };
    match target {
        StoreTarget::Sqlite { dir } => {
            std::fs::create_dir_all(dir).map_err(|error| StoreError::DataDir {
                path: dir.clone(),
                error,
            })?;
            let path = sqlite_path(dir, service);
            let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", path.display()));
            options
                .max_connections(1)
                .min_connections(1)
                // Keep the one connection for the life of the process.
                .idle_timeout(None::<Duration>)
                .max_lifetime(None::<Duration>)
                .acquire_timeout(Duration::from_secs(30))
                .sqlx_logging(false)
                .map_sqlx_sqlite_opts(|options| {
                    use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
                    options
                        .journal_mode(SqliteJournalMode::Wal)
                        // NORMAL is durable across application crashes in WAL mode; only a
                        // power cut can lose the last transactions, which the outbox replays.
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .foreign_keys(true)
                });
            Database::connect(options).await.map_err(connect_error)
        }
        StoreTarget::Postgres {
            url,
            max_connections,
            connect_timeout,
        } => {
            let mut options = ConnectOptions::new(url.clone());
            options
                .max_connections(*max_connections)
                .connect_timeout(*connect_timeout)
                .acquire_timeout(*connect_timeout)
                .sqlx_logging(false)
                // PostgreSQL answers `CREATE … IF NOT EXISTS` on an existing object with a
                // NOTICE, which sqlx logs at info: every start would log "relation
                // seaql_migrations already exists, skipping" per service. Warnings still show.
                .map_sqlx_postgres_opts(|options| {
                    options.options([("client_min_messages", "warning")])
                })
                .set_schema_search_path(service)
                .set_application_name(format!("hearth-{service}"));
            Database::connect(options).await.map_err(connect_error)
        }
    }
}

/// Run `M`'s pending migrations on the database of `service`; returns how many ran.
/// On PostgreSQL the service's schema is created first if it does not exist.
pub async fn migrate<M: MigratorTrait>(
    db: &DatabaseConnection,
    service: &str,
) -> Result<usize, StoreError> {
    check_service_name(service)?;
    let migrate_error = |error| StoreError::Migrate {
        service: service.to_owned(),
        error,
    };
    if Backend::of(db) == Backend::Postgres {
        // The name was checked above: lower-case letters only, so it is safe to splice.
        db.execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{service}\""))
            .await
            .map_err(migrate_error)?;
    }
    let pending = M::get_pending_migrations(db)
        .await
        .map_err(migrate_error)?
        .len();
    M::up(db, None).await.map_err(migrate_error)?;
    if pending > 0 {
        tracing::info!(service, applied = pending, "database migrated");
    }
    Ok(pending)
}

/// Fail with [`StoreError::SchemaBehind`] if `M` has migrations that have not been applied:
/// a production service that starts before `hearth migrate` ran must say so, not misbehave.
pub async fn ensure_migrated<M: MigratorTrait>(
    db: &DatabaseConnection,
    service: &str,
) -> Result<(), StoreError> {
    check_service_name(service)?;
    let names: Vec<String> = if schema_exists(db, service).await? {
        let pending = M::get_pending_migrations(db)
            .await
            .map_err(|error| StoreError::Migrate {
                service: service.to_owned(),
                error,
            })?;
        pending.iter().map(|m| m.name().to_owned()).collect()
    } else {
        // A database nobody migrated yet: everything is pending (and asking sea-orm would try
        // to create its bookkeeping table in a schema that does not exist).
        M::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect()
    };
    if names.is_empty() {
        return Ok(());
    }
    Err(StoreError::SchemaBehind {
        service: service.to_owned(),
        pending: names.len(),
        names: names.join(", "),
    })
}

/// Whether the service's schema exists (always true on SQLite: the file is the schema).
async fn schema_exists(db: &DatabaseConnection, service: &str) -> Result<bool, StoreError> {
    if Backend::of(db) != Backend::Postgres {
        return Ok(true);
    }
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = $1",
            [service.into()],
        ))
        .await?;
    Ok(row.is_some())
}

/// Check that the database answers: for readiness and `hearth doctor`-style checks.
pub async fn ping(db: &DatabaseConnection) -> Result<(), StoreError> {
    db.ping().await.map_err(StoreError::Db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn an_error_says_its_cause_once() {
        let error = StoreError::DataDir {
            path: PathBuf::from("/nowhere"),
            error: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied"),
        };
        // The message carries the cause; `source()` does not repeat it, so a printed chain
        // (`{:#}` of anyhow) says it once.
        assert_eq!(
            error.to_string(),
            "cannot create data directory /nowhere: permission denied"
        );
        assert!(error.source().is_none());
        let error = StoreError::from(DbErr::Custom("lost".to_owned()));
        assert!(error.to_string().contains("lost"));
        assert!(error.source().is_none());
    }
}
