//! Matching's own tables, after the platform's. Written with sea-query's schema builder so the
//! same migration runs on SQLite and PostgreSQL.
//!
//! The read models keep the events' own facts messages, encoded: the pool is loaded whole and
//! converted in `app/` (never filtered by column), and a message keeps exactly what the
//! publisher chose to tell matching.

use sea_orm_migration::prelude::*;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(CreateReadModels)]
}

#[derive(DeriveIden)]
enum MatchingFamily {
    Table,
    Id,
    ProfileVersion,
    Profile,
    AvailabilityVersion,
    Availability,
    LeftPool,
    ApprovedOn,
    BasicCourseDone,
    Erased,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MatchingRequest {
    Table,
    Id,
    Version,
    Open,
    Facts,
    UpdatedAt,
}

struct CreateReadModels;

impl MigrationName for CreateReadModels {
    fn name(&self) -> &str {
        "m20261215_000001_create_matching_read_models"
    }
}

fn flag(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).boolean().not_null().to_owned()
}

fn version(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).big_integer().not_null().to_owned()
}

fn instant(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for CreateReadModels {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use MatchingFamily as F;
        manager
            .create_table(
                Table::create()
                    .table(F::Table)
                    .col(
                        ColumnDef::new(F::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(version(F::ProfileVersion))
                    .col(ColumnDef::new(F::Profile).blob().null())
                    .col(version(F::AvailabilityVersion))
                    .col(ColumnDef::new(F::Availability).blob().null())
                    .col(flag(F::LeftPool))
                    .col(ColumnDef::new(F::ApprovedOn).date().null())
                    .col(flag(F::BasicCourseDone))
                    .col(flag(F::Erased))
                    .col(instant(F::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        use MatchingRequest as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(
                        ColumnDef::new(R::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(version(R::Version))
                    .col(flag(R::Open))
                    .col(ColumnDef::new(R::Facts).blob().null())
                    .col(instant(R::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("matching_request_open")
                    .table(R::Table)
                    .col(R::Open)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MatchingRequest::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(MatchingFamily::Table).to_owned())
            .await
    }
}
