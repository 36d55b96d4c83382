//! The allocation service's own tables, written with sea-query's schema builder so that the
//! same migration runs on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

pub(crate) fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(CreateAllocationTables),
        Box::new(CreatePlacementTable),
    ]
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

#[derive(DeriveIden, Clone, Copy)]
enum AllocationRun {
    Table,
    Id,
    Year,
    Kind,
    State,
    TotalOre,
    CreatedBy,
    CreateTime,
    Body,
}

#[derive(DeriveIden, Clone, Copy)]
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

#[derive(DeriveIden)]
enum AllocationPlacement {
    Table,
    PlacementId,
    Municipality,
    Children,
    StartDate,
    EndDate,
    Version,
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
        use AllocationRun as Run;
        for (name, columns) in [
            (
                "allocation_run_year_kind_state",
                &[Run::Year, Run::Kind, Run::State][..],
            ),
            // Lists are newest first: by create time, then id.
            ("allocation_run_create_time", &[Run::CreateTime, Run::Id]),
        ] {
            manager
                .create_index(index(name, Run::Table, columns))
                .await?;
        }
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
        use AllocationInvoice as Invoice;
        for (name, column) in [
            ("allocation_invoice_run", Invoice::RunId),
            ("allocation_invoice_municipality", Invoice::Municipality),
        ] {
            let columns = [column, Invoice::IssueTime, Invoice::Id];
            manager
                .create_index(index(name, Invoice::Table, &columns))
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

/// The placements made through the unit, for use-based keys.
struct CreatePlacementTable;

impl MigrationName for CreatePlacementTable {
    fn name(&self) -> &str {
        "m20261202_000001_create_allocation_placement"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreatePlacementTable {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use AllocationPlacement as P;
        manager
            .create_table(
                Table::create()
                    .table(P::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(P::PlacementId)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(P::Municipality).string_len(4).not_null())
                    .col(ColumnDef::new(P::Children).integer().not_null())
                    .col(ColumnDef::new(P::StartDate).date().not_null())
                    .col(ColumnDef::new(P::EndDate).date().null())
                    .col(ColumnDef::new(P::Version).big_integer().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AllocationPlacement::Table).to_owned())
            .await
    }
}

/// An index `name` on `columns` of `table`.
fn index<T: Iden + Copy + 'static>(name: &str, table: T, columns: &[T]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table).if_not_exists();
    for column in columns {
        index.col(*column);
    }
    index.to_owned()
}
