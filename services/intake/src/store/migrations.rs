//! Intake's own tables, after the platform's. Written with sea-query's schema builder so the
//! same migration runs on SQLite and PostgreSQL.
//!
//! Personal data and facts about children live only in the sealed columns (`household`,
//! `content`, `note`): AES-256-GCM under the county's data key, bound to the row's id. The
//! clear columns hold what lists filter on and nothing that names a person.

use sea_orm_migration::prelude::*;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(CreateIntakeTables)]
}

#[derive(DeriveIden)]
enum IntakeInterestRegistration {
    Table,
    Id,
    HomeMunicipality,
    Housing,
    Channel,
    HasEarlierExperience,
    CommissionKinds,
    AgeBands,
    Household,
    State,
    Version,
    RepeatCount,
    LastRepeatAt,
    CreatedAt,
    UpdatedAt,
    WithdrawnAt,
}

#[derive(DeriveIden)]
enum IntakeOpenHouseholdMember {
    Table,
    PinIndex,
    InterestRegistrationId,
}

#[derive(DeriveIden)]
enum IntakePlacementRequest {
    Table,
    Id,
    Municipality,
    District,
    State,
    AgeBand,
    CommissionKind,
    Content,
    Version,
    CreatedAt,
    UpdatedAt,
    WithdrawnAt,
    WithdrawalReason,
    WithdrawalNote,
}

#[derive(DeriveIden)]
enum IntakePlacementRequestVersion {
    Table,
    PlacementRequestId,
    Version,
    Content,
    ChangedFields,
    ChangedBy,
    ChangedAt,
}

struct CreateIntakeTables;

impl MigrationName for CreateIntakeTables {
    fn name(&self) -> &str {
        "m20261126_000001_create_intake_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateIntakeTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use IntakeInterestRegistration as R;
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
                    .col(ColumnDef::new(R::HomeMunicipality).string_len(4).not_null())
                    .col(ColumnDef::new(R::Housing).integer().not_null())
                    .col(ColumnDef::new(R::Channel).integer().not_null())
                    .col(ColumnDef::new(R::HasEarlierExperience).boolean().not_null())
                    // Enum numbers, comma-separated and sorted: small, never filtered on here.
                    .col(ColumnDef::new(R::CommissionKinds).string_len(64).not_null())
                    .col(ColumnDef::new(R::AgeBands).string_len(64).not_null())
                    // Sealed `HouseholdDetails`: names, numbers, contact, address, free text.
                    .col(ColumnDef::new(R::Household).text().not_null())
                    .col(ColumnDef::new(R::State).string_len(16).not_null())
                    .col(ColumnDef::new(R::Version).big_integer().not_null())
                    .col(ColumnDef::new(R::RepeatCount).integer().not_null())
                    .col(
                        ColumnDef::new(R::LastRepeatAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(R::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(R::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(R::WithdrawnAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Newest first, keyset-paged.
        manager
            .create_index(
                Index::create()
                    .name("intake_interest_registration_created")
                    .table(R::Table)
                    .col(R::CreatedAt)
                    .col(R::Id)
                    .to_owned(),
            )
            .await?;

        // One row per adult of an open registration, keyed by the blind index of the personal
        // identity number: the primary key is what stops a household being registered twice,
        // even by two concurrent calls.
        use IntakeOpenHouseholdMember as M;
        manager
            .create_table(
                Table::create()
                    .table(M::Table)
                    .col(
                        ColumnDef::new(M::PinIndex)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(M::InterestRegistrationId)
                            .string_len(36)
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("intake_open_household_member_registration")
                    .table(M::Table)
                    .col(M::InterestRegistrationId)
                    .to_owned(),
            )
            .await?;

        use IntakePlacementRequest as P;
        manager
            .create_table(
                Table::create()
                    .table(P::Table)
                    .col(
                        ColumnDef::new(P::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(P::Municipality).string_len(4).not_null())
                    .col(ColumnDef::new(P::District).string_len(32).null())
                    .col(ColumnDef::new(P::State).string_len(16).not_null())
                    .col(ColumnDef::new(P::AgeBand).integer().not_null())
                    .col(ColumnDef::new(P::CommissionKind).integer().not_null())
                    // Sealed `PlacementRequest` (case reference, needs, …).
                    .col(ColumnDef::new(P::Content).text().not_null())
                    .col(ColumnDef::new(P::Version).big_integer().not_null())
                    .col(
                        ColumnDef::new(P::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(P::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(P::WithdrawnAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(P::WithdrawalReason).integer().null())
                    .col(ColumnDef::new(P::WithdrawalNote).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("intake_placement_request_created")
                    .table(P::Table)
                    .col(P::CreatedAt)
                    .col(P::Id)
                    .to_owned(),
            )
            .await?;
        // A municipality's own list.
        manager
            .create_index(
                Index::create()
                    .name("intake_placement_request_municipality_created")
                    .table(P::Table)
                    .col(P::Municipality)
                    .col(P::CreatedAt)
                    .col(P::Id)
                    .to_owned(),
            )
            .await?;

        use IntakePlacementRequestVersion as V;
        manager
            .create_table(
                Table::create()
                    .table(V::Table)
                    .col(
                        ColumnDef::new(V::PlacementRequestId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(ColumnDef::new(V::Version).big_integer().not_null())
                    .col(ColumnDef::new(V::Content).text().not_null())
                    .col(ColumnDef::new(V::ChangedFields).text().not_null())
                    .col(ColumnDef::new(V::ChangedBy).text().not_null())
                    .col(
                        ColumnDef::new(V::ChangedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(V::PlacementRequestId).col(V::Version))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
