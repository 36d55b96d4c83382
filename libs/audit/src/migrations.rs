//! The audit log's table, as sea-orm-migration migrations that every service's `Migrator` lists
//! after the bus's and before its own:
//!
//! ```ignore
//! impl MigratorTrait for Migrator {
//!     fn migrations() -> Vec<Box<dyn MigrationTrait>> {
//!         let mut migrations = hearth_bus::migrations();
//!         migrations.extend(hearth_audit::migrations());
//!         migrations.push(Box::new(m20261201_000001_create_families::Migration));
//!         migrations
//!     }
//! }
//! ```
//!
//! Written with sea-query's schema builder so that the same migration runs on SQLite and
//! PostgreSQL; nothing here alters a column (SQLite cannot).

use sea_orm_migration::prelude::*;

/// The audit log's migrations, in order (named `m20261125_0001xx_…`: after the bus's
/// `m20261125_000001`/`000002`, before any service's own).
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(CreateAuditLog)]
}

#[derive(DeriveIden)]
pub(crate) enum HearthAuditLog {
    Table,
    Id,
    OccurredAt,
    Subject,
    Roles,
    Municipality,
    Action,
    ResourceType,
    ResourceId,
    Purpose,
    CorrelationId,
}

/// `hearth_audit_log`: one row per access to one resource's personal data.
struct CreateAuditLog;

impl MigrationName for CreateAuditLog {
    fn name(&self) -> &str {
        "m20261125_000101_create_audit_log"
    }
}

/// The statement, shared with the tests that check its SQL on both backends.
pub(crate) fn create_audit_log_table() -> TableCreateStatement {
    Table::create()
        .table(HearthAuditLog::Table)
        .if_not_exists()
        // The tie-breaker of the newest-first order: SQLite's INTEGER PRIMARY KEY
        // AUTOINCREMENT, PostgreSQL's bigint identity.
        .col(
            ColumnDef::new(HearthAuditLog::Id)
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        // Microsecond precision (what PostgreSQL keeps), so a page token round-trips exactly.
        .col(
            ColumnDef::new(HearthAuditLog::OccurredAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        // The token's `sub`: text, as identity providers do not agree on a length.
        .col(ColumnDef::new(HearthAuditLog::Subject).text().not_null())
        // Role names, comma-separated, sorted.
        .col(
            ColumnDef::new(HearthAuditLog::Roles)
                .string_len(255)
                .not_null(),
        )
        // The four-digit SCB code of municipality staff; NULL for county-wide roles.
        .col(
            ColumnDef::new(HearthAuditLog::Municipality)
                .string_len(4)
                .null(),
        )
        .col(
            ColumnDef::new(HearthAuditLog::Action)
                .string_len(16)
                .not_null(),
        )
        .col(
            ColumnDef::new(HearthAuditLog::ResourceType)
                .string_len(64)
                .not_null(),
        )
        .col(
            ColumnDef::new(HearthAuditLog::ResourceId)
                .string_len(64)
                .not_null(),
        )
        .col(
            ColumnDef::new(HearthAuditLog::Purpose)
                .string_len(128)
                .not_null(),
        )
        .col(
            ColumnDef::new(HearthAuditLog::CorrelationId)
                .string_len(128)
                .null(),
        )
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAuditLog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(create_audit_log_table()).await?;
        // Newest first over the whole log (the keyset order), time-range filters, and the
        // retention purge (`occurred_at < cutoff`).
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("hearth_audit_log_occurred_at_id")
                    .table(HearthAuditLog::Table)
                    .col(HearthAuditLog::OccurredAt)
                    .col(HearthAuditLog::Id)
                    .to_owned(),
            )
            .await?;
        // "Who accessed this resource?", newest first; the id leads, so a filter on the id
        // alone uses it too.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("hearth_audit_log_resource")
                    .table(HearthAuditLog::Table)
                    .col(HearthAuditLog::ResourceId)
                    .col(HearthAuditLog::ResourceType)
                    .col(HearthAuditLog::OccurredAt)
                    .col(HearthAuditLog::Id)
                    .to_owned(),
            )
            .await?;
        // "What did this person access?", newest first.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("hearth_audit_log_subject")
                    .table(HearthAuditLog::Table)
                    .col(HearthAuditLog::Subject)
                    .col(HearthAuditLog::OccurredAt)
                    .col(HearthAuditLog::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(HearthAuditLog::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::DbBackend;

    #[test]
    fn the_id_is_an_autoincrementing_key_on_both_backends() {
        let sqlite = DbBackend::Sqlite
            .build(&create_audit_log_table())
            .to_string();
        assert!(
            sqlite.contains("integer NOT NULL PRIMARY KEY AUTOINCREMENT"),
            "{sqlite}"
        );
        let postgres = DbBackend::Postgres
            .build(&create_audit_log_table())
            .to_string();
        assert!(
            postgres.contains("bigint GENERATED BY DEFAULT AS IDENTITY"),
            "{postgres}"
        );
        assert!(postgres.contains("timestamp with time zone"), "{postgres}");
    }

    #[test]
    fn migrations_come_after_the_bus_and_are_ordered() {
        let names: Vec<String> = migrations().iter().map(|m| m.name().to_owned()).collect();
        assert_eq!(names, ["m20261125_000101_create_audit_log"]);
        // The bus's are m20261125_000001 and m20261125_000002; services' start at m20261201.
        assert!(
            names
                .iter()
                .all(|name| name.as_str() > "m20261125_000002_create_inbox")
        );
        assert!(names.iter().all(|name| name.as_str() < "m20261201"));
    }
}
