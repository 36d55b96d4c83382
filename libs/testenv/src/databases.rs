//! Fresh PostgreSQL databases for tests: one per test, optionally cloned from a template that is
//! prepared (migrated) once per build of the test binary.

use std::future::Future;
use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};

use crate::TestEnvError;

/// The error a template preparation returns (any error, boxed).
pub type PrepareError = Box<dyn std::error::Error + Send + Sync>;

/// PostgreSQL limits identifiers to 63 bytes.
const MAX_IDENTIFIER_LEN: usize = 63;
/// Room left in a template's name for `_<fingerprint>_build`.
const MAX_TEMPLATE_NAME_LEN: usize = 40;
/// Room left in a fresh database's name for `_<32 hex digits>`.
const MAX_PREFIX_LEN: usize = 30;

/// A database created for one test. Dropped (with `DROP DATABASE … WITH (FORCE)`) when this
/// guard is dropped, or earlier and with error reporting by [`FreshDatabase::drop_database`].
#[derive(Debug)]
pub struct FreshDatabase {
    /// URL of the new database (the server URL with the database name as its path).
    pub url: String,
    /// Name of the new database.
    pub name: String,
    server_url: String,
    dropped: bool,
}

impl FreshDatabase {
    /// Drops the database now, reporting failure. Connections still open to it are terminated.
    pub async fn drop_database(mut self) -> Result<(), TestEnvError> {
        self.dropped = true;
        drop_database(&self.server_url, &self.name).await
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        self.dropped = true;
        // The guard may be dropped inside or outside a runtime, even while the test's runtime is
        // shutting down: drop the database from a thread with its own small runtime, and wait
        // for it so that the test binary does not exit first.
        let server_url = self.server_url.clone();
        let name = self.name.clone();
        let spawned = std::thread::Builder::new()
            .name("drop-test-database".to_owned())
            .spawn(move || -> Result<(), String> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|error| error.to_string())?;
                runtime
                    .block_on(drop_database(&server_url, &name))
                    .map_err(|error| error.to_string())
            });
        let outcome = match spawned {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|_| Err("the dropping thread panicked".to_owned())),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = outcome {
            eprintln!(
                "warning: could not drop test database {}: {error}",
                self.name
            );
        }
    }
}

/// The URL of database `database` on the server at `server_url` (its path replaced, its query
/// string kept).
pub fn database_url(server_url: &str, database: &str) -> Result<String, TestEnvError> {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let authority_start = base
        .find("://")
        .map(|index| index + 3)
        .ok_or_else(|| TestEnvError::Invalid(format!("not a URL: {server_url}")))?;
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |index| authority_start + index);
    let mut url = format!("{}/{database}", &base[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    Ok(url)
}

/// Creates an empty, uniquely named database `<prefix>_<uuid>` on the server.
pub async fn fresh_postgres_database(
    server_url: &str,
    prefix: &str,
) -> Result<FreshDatabase, TestEnvError> {
    validate_identifier(prefix, MAX_PREFIX_LEN)?;
    let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
    let admin = admin_connection(server_url).await?;
    let created = admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await;
    close_quietly(admin).await;
    created?;
    Ok(FreshDatabase {
        url: database_url(server_url, &name)?,
        name,
        server_url: server_url.to_owned(),
        dropped: false,
    })
}

/// Creates a uniquely named database `<prefix>_<uuid>` as a copy of a template database that
/// `prepare` (given the template's URL; typically: connect, run migrations, close) fills once.
///
/// The template is named `<template_name>_<fingerprint of this test binary>`, so a rebuilt
/// binary (perhaps with new migrations) prepares a new one while the same binary, in any number
/// of processes (nextest runs one per test), prepares it once. Preparation and cloning happen
/// under a PostgreSQL advisory lock; a template is built under a temporary name and renamed
/// only when complete, so a crash mid-way never leaves a half-prepared template behind.
/// Connections that `prepare` leaves open to the template are terminated before it is used.
pub async fn fresh_postgres_database_from_template<F, Fut>(
    server_url: &str,
    prefix: &str,
    template_name: &str,
    prepare: F,
) -> Result<FreshDatabase, TestEnvError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<(), PrepareError>>,
{
    validate_identifier(prefix, MAX_PREFIX_LEN)?;
    validate_identifier(template_name, MAX_TEMPLATE_NAME_LEN)?;
    let template = format!("{template_name}_{}", build_fingerprint());
    let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());

    let admin = admin_connection(server_url).await?;
    // One lock per template name, not per build: another build's run drops this build's
    // template as stale (`drop_stale_templates`) only under the same lock, never between the
    // check and the clone here.
    let lock_key = advisory_lock_key(template_name);
    let locked = admin
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_lock($1)",
            [lock_key.into()],
        ))
        .await;
    if let Err(error) = locked {
        close_quietly(admin).await;
        return Err(error.into());
    }

    let outcome = async {
        ensure_template(&admin, server_url, template_name, &template, prepare).await?;
        admin
            .execute_unprepared(&format!(
                "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
            ))
            .await?;
        Ok::<(), TestEnvError>(())
    }
    .await;

    // Closing the session would release the lock too; unlock explicitly all the same.
    let _ = admin
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_unlock($1)",
            [lock_key.into()],
        ))
        .await;
    close_quietly(admin).await;
    outcome?;

    Ok(FreshDatabase {
        url: database_url(server_url, &name)?,
        name,
        server_url: server_url.to_owned(),
        dropped: false,
    })
}

async fn ensure_template<F, Fut>(
    admin: &DatabaseConnection,
    server_url: &str,
    template_name: &str,
    template: &str,
    prepare: F,
) -> Result<(), TestEnvError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<(), PrepareError>>,
{
    if database_exists(admin, template).await? {
        return Ok(());
    }
    let building = format!("{template}_build");
    admin
        .execute_unprepared(&format!(
            "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
        ))
        .await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{building}\""))
        .await?;
    if let Err(error) = prepare(database_url(server_url, &building)?).await {
        let _ = admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
            ))
            .await;
        return Err(TestEnvError::Prepare {
            template: template.to_owned(),
            message: error.to_string(),
        });
    }
    rename_when_free(admin, &building, template).await?;
    drop_stale_templates(admin, template_name, template).await;
    Ok(())
}

/// Renames a database, first terminating connections that the preparation left open.
async fn rename_when_free(
    admin: &DatabaseConnection,
    from: &str,
    to: &str,
) -> Result<(), TestEnvError> {
    let mut attempt = 0;
    loop {
        terminate_connections(admin, from).await?;
        match admin
            .execute_unprepared(&format!("ALTER DATABASE \"{from}\" RENAME TO \"{to}\""))
            .await
        {
            Ok(_) => return Ok(()),
            Err(error) if attempt < 50 => {
                tracing::debug!(%error, database = from, "template still in use, retrying rename");
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Drops templates of the same name made by earlier builds. Best effort: a template that is in
/// use (another run cloning it) is left alone.
async fn drop_stale_templates(admin: &DatabaseConnection, template_name: &str, current: &str) {
    let Ok(rows) = admin
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT datname FROM pg_database",
        ))
        .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else {
            continue;
        };
        let is_stale_template = name != current
            && name
                .strip_prefix(template_name)
                .and_then(|rest| rest.strip_prefix('_'))
                .is_some_and(|fingerprint| {
                    fingerprint.len() == 8 && fingerprint.chars().all(|c| c.is_ascii_hexdigit())
                });
        if is_stale_template {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .await;
        }
    }
}

async fn drop_database(server_url: &str, name: &str) -> Result<(), TestEnvError> {
    let admin = admin_connection(server_url).await?;
    let dropped = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
    close_quietly(admin).await;
    dropped?;
    Ok(())
}

async fn database_exists(admin: &DatabaseConnection, name: &str) -> Result<bool, TestEnvError> {
    let row = admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 AS present FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await?;
    Ok(row.is_some())
}

async fn terminate_connections(admin: &DatabaseConnection, name: &str) -> Result<(), TestEnvError> {
    admin
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            [name.into()],
        ))
        .await?;
    Ok(())
}

/// One connection, so that an advisory lock and its unlock run in the same session.
async fn admin_connection(server_url: &str) -> Result<DatabaseConnection, TestEnvError> {
    let mut options = ConnectOptions::new(server_url.to_owned());
    options
        .max_connections(1)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Ok(Database::connect(options).await?)
}

async fn close_quietly(connection: DatabaseConnection) {
    if let Err(error) = connection.close().await {
        tracing::debug!(%error, "closing the PostgreSQL admin connection failed");
    }
}

fn validate_identifier(name: &str, max_len: usize) -> Result<(), TestEnvError> {
    let valid = !name.is_empty()
        && name.len() <= max_len.min(MAX_IDENTIFIER_LEN)
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(TestEnvError::Invalid(format!(
            "{name:?} must be 1 to {max_len} characters of a-z, 0-9 and _, starting with a letter"
        )))
    }
}

/// Identifies this build of the test binary: its path, size and modification time. A new build
/// gets a new template; every process of one build shares one.
fn build_fingerprint() -> String {
    let mut hasher = Fnv1a::default();
    match std::env::current_exe() {
        Ok(path) => {
            hasher.write(path.to_string_lossy().as_bytes());
            if let Ok(metadata) = std::fs::metadata(&path) {
                hasher.write(&metadata.len().to_le_bytes());
                if let Ok(modified) = metadata.modified()
                    && let Ok(since_epoch) = modified.duration_since(std::time::UNIX_EPOCH)
                {
                    hasher.write(&since_epoch.as_nanos().to_le_bytes());
                }
            }
        }
        // Without a path, one template per process: still correct, only slower.
        Err(_) => hasher.write(&std::process::id().to_le_bytes()),
    }
    format!("{:08x}", hasher.finish() as u32)
}

fn advisory_lock_key(name: &str) -> i64 {
    let mut hasher = Fnv1a::default();
    hasher.write(b"hearth-testenv template ");
    hasher.write(name.as_bytes());
    i64::from_le_bytes(hasher.finish().to_le_bytes())
}

/// FNV-1a: a hash that every process computes alike (std's `DefaultHasher` promises no such
/// thing across builds).
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_replaces_the_path_and_keeps_the_query() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "t1").ok(),
            Some("postgres://postgres@127.0.0.1:5432/t1".to_owned())
        );
        assert_eq!(
            database_url("postgres://u:p@db:5432?sslmode=disable", "t2").ok(),
            Some("postgres://u:p@db:5432/t2?sslmode=disable".to_owned())
        );
        assert!(database_url("not a url", "x").is_err());
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(validate_identifier("hearth_test", 30).is_ok());
        assert!(validate_identifier("Hearth", 30).is_err());
        assert!(validate_identifier("a-b", 30).is_err());
        assert!(validate_identifier("1abc", 30).is_err());
        assert!(validate_identifier(&"a".repeat(31), 30).is_err());
    }

    #[test]
    fn fingerprints_and_lock_keys_are_stable() {
        assert_eq!(build_fingerprint(), build_fingerprint());
        assert_eq!(build_fingerprint().len(), 8);
        assert_eq!(advisory_lock_key("x"), advisory_lock_key("x"));
        assert_ne!(advisory_lock_key("x"), advisory_lock_key("y"));
    }
}
