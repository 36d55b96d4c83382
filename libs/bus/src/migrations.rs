//! The outbox and inbox tables, as sea-orm-migration migrations that every service's
//! `Migrator` lists before its own:
//!
//! ```ignore
//! impl MigratorTrait for Migrator {
//!     fn migrations() -> Vec<Box<dyn MigrationTrait>> {
//!         let mut migrations = hearth_bus::migrations();
//!         migrations.push(Box::new(m20261201_000001_create_families::Migration));
//!         migrations
//!     }
//! }
//! ```
//!
//! Written with sea-query's schema builder so that the same migration runs on SQLite and
//! PostgreSQL; nothing here alters a column (SQLite cannot).

use sea_orm_migration::prelude::*;

/// The bus's migrations, in order.
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(CreateOutbox), Box::new(CreateInbox)]
}

/// A migrator with only the bus's tables (for tests and tools; services list
/// [`migrations`] in their own migrator).
#[derive(Debug, Clone, Copy, Default)]
pub struct BusMigrator;

impl MigratorTrait for BusMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        migrations()
    }
}

#[derive(DeriveIden)]
pub(crate) enum HearthOutbox {
    Table,
    Id,
    EventId,
    EventType,
    Subject,
    AggregateId,
    AggregateVersion,
    Envelope,
    Headers,
    CreatedAt,
    SentAt,
    PublishAttempts,
    LastError,
}

#[derive(DeriveIden)]
pub(crate) enum HearthInbox {
    Table,
    Consumer,
    EventId,
    EventType,
    AppliedAt,
}

/// `hearth_outbox`: events written in the producer's transactions, kept after sending.
struct CreateOutbox;

impl MigrationName for CreateOutbox {
    fn name(&self) -> &str {
        "m20261125_000001_create_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOutbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(HearthOutbox::Table)
                    .if_not_exists()
                    // The relay's order: SQLite's INTEGER PRIMARY KEY AUTOINCREMENT, PostgreSQL's bigint identity.
                    .col(
                        ColumnDef::new(HearthOutbox::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(HearthOutbox::EventId)
                            .string_len(36)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(HearthOutbox::EventType)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(HearthOutbox::Subject)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(HearthOutbox::AggregateId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(HearthOutbox::AggregateVersion)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(HearthOutbox::Envelope).blob().not_null())
                    .col(ColumnDef::new(HearthOutbox::Headers).text().not_null())
                    .col(
                        ColumnDef::new(HearthOutbox::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(HearthOutbox::SentAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(HearthOutbox::PublishAttempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(HearthOutbox::LastError).text().null())
                    .to_owned(),
            )
            .await?;
        // Unsent rows in order (`sent_at IS NULL ORDER BY id`) and the purge of old sent ones.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("hearth_outbox_sent_at_id")
                    .table(HearthOutbox::Table)
                    .col(HearthOutbox::SentAt)
                    .col(HearthOutbox::Id)
                    .to_owned(),
            )
            .await?;
        // Replays by time.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("hearth_outbox_created_at")
                    .table(HearthOutbox::Table)
                    .col(HearthOutbox::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(HearthOutbox::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}

/// `hearth_inbox`: the events each consumer has applied, written in the handler's transaction.
struct CreateInbox;

impl MigrationName for CreateInbox {
    fn name(&self) -> &str {
        "m20261125_000002_create_inbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateInbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(HearthInbox::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(HearthInbox::Consumer)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(HearthInbox::EventId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(HearthInbox::EventType)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(HearthInbox::AppliedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .name("hearth_inbox_pkey")
                            .col(HearthInbox::Consumer)
                            .col(HearthInbox::EventId),
                    )
                    .to_owned(),
            )
            .await?;
        // Purging old entries, and counting applied events per type for reconciliation.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("hearth_inbox_applied_at")
                    .table(HearthInbox::Table)
                    .col(HearthInbox::AppliedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(HearthInbox::Table)
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

    fn create_outbox_sql(backend: DbBackend) -> String {
        let statement = Table::create()
            .table(HearthOutbox::Table)
            .col(
                ColumnDef::new(HearthOutbox::Id)
                    .big_integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .to_owned();
        backend.build(&statement).to_string()
    }

    #[test]
    fn the_outbox_id_is_an_autoincrementing_key_on_both_backends() {
        let sqlite = create_outbox_sql(DbBackend::Sqlite);
        assert!(
            sqlite.contains("integer NOT NULL PRIMARY KEY AUTOINCREMENT"),
            "{sqlite}"
        );
        let postgres = create_outbox_sql(DbBackend::Postgres);
        assert!(
            postgres.contains("bigint GENERATED BY DEFAULT AS IDENTITY"),
            "{postgres}"
        );
    }

    #[test]
    fn migration_names_are_ordered() {
        let names: Vec<String> = migrations().iter().map(|m| m.name().to_owned()).collect();
        assert_eq!(
            names,
            [
                "m20261125_000001_create_outbox",
                "m20261125_000002_create_inbox"
            ]
        );
    }
}
