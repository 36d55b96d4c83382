//! The allocation service's own tables, written with sea-query's schema builder so that the
//! same migration runs on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

pub(crate) fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(CreateAllocationTables)]
}

#[derive(DeriveIden)]
enum AllocationKey {
    Table,
    Year,
    Body,
    Version,
    UpdateTime,
}

#[derive(DeriveIden)]
enum AllocationBudget {
    Table,
    Year,
    Body,
    Version,
    UpdateTime,
}

#[derive(DeriveIden)]
enum AllocationRun {
    Table,
    Id,
    Year,
    Kind,
    State,
    TotalOre,
    IdempotencyKey,
    RequestDigest,
    CreatedBy,
    CreateTime,
    Body,
}

#[derive(DeriveIden)]
enum AllocationInvoice {
    Table,
    Id,
    RunId,
    Municipality,
    Year,
    Kind,
    State,
    AmountOre,
    IssueTime,
    Body,
}

/// Keys and budgets per year, runs and their invoices.
struct CreateAllocationTables;

impl MigrationName for CreateAllocationTables {
    fn name(&self) -> &str {
        "m20261201_000001_create_allocation_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAllocationTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AllocationKey::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AllocationKey::Year)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AllocationKey::Body).text().not_null())
                    .col(
                        ColumnDef::new(AllocationKey::Version)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AllocationKey::UpdateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AllocationBudget::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AllocationBudget::Year)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AllocationBudget::Body).text().not_null())
                    .col(
                        ColumnDef::new(AllocationBudget::Version)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AllocationBudget::UpdateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AllocationRun::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AllocationRun::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AllocationRun::Year).integer().not_null())
                    .col(ColumnDef::new(AllocationRun::Kind).integer().not_null())
                    .col(ColumnDef::new(AllocationRun::State).integer().not_null())
                    .col(
                        ColumnDef::new(AllocationRun::TotalOre)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AllocationRun::IdempotencyKey)
                            .string_len(36)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(AllocationRun::RequestDigest)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AllocationRun::CreatedBy)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AllocationRun::CreateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AllocationRun::Body).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("allocation_run_year_kind_state")
                    .table(AllocationRun::Table)
                    .col(AllocationRun::Year)
                    .col(AllocationRun::Kind)
                    .col(AllocationRun::State)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AllocationInvoice::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AllocationInvoice::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AllocationInvoice::RunId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AllocationInvoice::Municipality)
                            .string_len(4)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AllocationInvoice::Year).integer().not_null())
                    .col(ColumnDef::new(AllocationInvoice::Kind).integer().not_null())
                    .col(
                        ColumnDef::new(AllocationInvoice::State)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AllocationInvoice::AmountOre)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AllocationInvoice::IssueTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AllocationInvoice::Body).text().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("allocation_invoice_run")
                            .from(AllocationInvoice::Table, AllocationInvoice::RunId)
                            .to(AllocationRun::Table, AllocationRun::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("allocation_invoice_run", AllocationInvoice::RunId),
            (
                "allocation_invoice_municipality",
                AllocationInvoice::Municipality,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AllocationInvoice::Table)
                        .col(column)
                        .col(AllocationInvoice::Id)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AllocationInvoice::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AllocationRun::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AllocationBudget::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AllocationKey::Table).to_owned())
            .await
    }
}
