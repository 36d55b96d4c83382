//! Assessment's own tables, after the platform's. Written with sea-query's schema builder so the
//! same migration runs on SQLite and PostgreSQL.
//!
//! Personal data lives only in the sealed columns (`household`, `rationale`, a check's
//! `content`, a profile's `content`): AES-256-GCM under the county's data key, bound to the
//! row's id. The clear columns hold what the queue sorts and filters on and nothing that names
//! a person. Stage entries are timing statistics: the retention job keeps them, detached from
//! the erased case.

use sea_orm_migration::prelude::*;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(CreateAssessmentTables)]
}

#[derive(DeriveIden)]
enum AssessmentCase {
    Table,
    Id,
    InterestRegistrationId,
    RegistrationVersion,
    HomeMunicipality,
    AgeBands,
    CommissionKinds,
    HasEarlierExperience,
    PriorityRank,
    Household,
    AdultIds,
    Stage,
    Method,
    AssignedStaffId,
    FirstContactDate,
    Outcome,
    DecidedOn,
    DecidedBy,
    Rationale,
    FamilyProfileId,
    ReceivedAt,
    DecidedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AssessmentStageEntry {
    Table,
    CaseId,
    Stage,
    EnteredAt,
    EnteredBy,
    ReceivedAt,
    DaysFromRegistration,
}

#[derive(DeriveIden)]
enum AssessmentRegisterCheck {
    Table,
    Id,
    CaseId,
    AdultId,
    Register,
    Outcome,
    CheckedBy,
    CheckedOn,
    Content,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AssessmentFamilyProfile {
    Table,
    Id,
    CaseId,
    Municipality,
    State,
    BasicTrainingStatus,
    Content,
    ApprovedOn,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AssessmentErasedRegistration {
    Table,
    InterestRegistrationId,
    CaseId,
    ErasedAt,
}

struct CreateAssessmentTables;

impl MigrationName for CreateAssessmentTables {
    fn name(&self) -> &str {
        "m20261201_000001_create_assessment_tables"
    }
}

fn id(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).string_len(36).not_null().to_owned()
}

fn instant(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAssessmentTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use AssessmentCase as C;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(id(C::Id).primary_key())
                    .col(id(C::InterestRegistrationId))
                    .col(
                        ColumnDef::new(C::RegistrationVersion)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(C::HomeMunicipality).string_len(4).not_null())
                    // Enum numbers, comma-separated and sorted.
                    .col(ColumnDef::new(C::AgeBands).string_len(64).not_null())
                    .col(ColumnDef::new(C::CommissionKinds).string_len(64).not_null())
                    .col(ColumnDef::new(C::HasEarlierExperience).boolean().not_null())
                    .col(ColumnDef::new(C::PriorityRank).integer().not_null())
                    // Sealed `HouseholdDetails`: names, numbers, contact, address.
                    .col(ColumnDef::new(C::Household).text().not_null())
                    // The adults' ids within the case, comma-separated, in the household's order.
                    .col(ColumnDef::new(C::AdultIds).text().not_null())
                    .col(ColumnDef::new(C::Stage).string_len(24).not_null())
                    .col(ColumnDef::new(C::Method).integer().not_null())
                    .col(ColumnDef::new(C::AssignedStaffId).string_len(128).null())
                    .col(ColumnDef::new(C::FirstContactDate).date().null())
                    .col(ColumnDef::new(C::Outcome).string_len(24).null())
                    .col(ColumnDef::new(C::DecidedOn).date().null())
                    .col(ColumnDef::new(C::DecidedBy).string_len(128).null())
                    // Sealed grounds of the decision.
                    .col(ColumnDef::new(C::Rationale).text().null())
                    .col(ColumnDef::new(C::FamilyProfileId).string_len(36).null())
                    .col(instant(C::ReceivedAt))
                    .col(
                        ColumnDef::new(C::DecidedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(C::Version).big_integer().not_null())
                    .col(instant(C::CreatedAt))
                    .col(instant(C::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // One case per interest registration, even for a replayed event with a new event id.
        manager
            .create_index(
                Index::create()
                    .name("assessment_case_registration")
                    .table(C::Table)
                    .col(C::InterestRegistrationId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The queue: priority rank, then oldest registration first, keyset-paged.
        manager
            .create_index(
                Index::create()
                    .name("assessment_case_queue")
                    .table(C::Table)
                    .col(C::PriorityRank)
                    .col(C::ReceivedAt)
                    .col(C::Id)
                    .to_owned(),
            )
            .await?;
        // The retention job's scan.
        manager
            .create_index(
                Index::create()
                    .name("assessment_case_decided")
                    .table(C::Table)
                    .col(C::DecidedAt)
                    .to_owned(),
            )
            .await?;

        use AssessmentStageEntry as S;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(id(S::CaseId))
                    .col(ColumnDef::new(S::Stage).string_len(24).not_null())
                    .col(instant(S::EnteredAt))
                    .col(ColumnDef::new(S::EnteredBy).string_len(128).not_null())
                    .col(instant(S::ReceivedAt))
                    .col(ColumnDef::new(S::DaysFromRegistration).integer().not_null())
                    .primary_key(Index::create().col(S::CaseId).col(S::Stage))
                    .to_owned(),
            )
            .await?;

        use AssessmentRegisterCheck as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(id(R::Id).primary_key())
                    .col(id(R::CaseId))
                    .col(id(R::AdultId))
                    .col(ColumnDef::new(R::Register).integer().not_null())
                    .col(ColumnDef::new(R::Outcome).integer().not_null())
                    .col(ColumnDef::new(R::CheckedBy).string_len(128).not_null())
                    .col(ColumnDef::new(R::CheckedOn).date().not_null())
                    // Sealed reference and note.
                    .col(ColumnDef::new(R::Content).text().not_null())
                    .col(instant(R::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("assessment_register_check_case")
                    .table(R::Table)
                    .col(R::CaseId)
                    .col(R::CreatedAt)
                    .to_owned(),
            )
            .await?;

        use AssessmentFamilyProfile as P;
        manager
            .create_table(
                Table::create()
                    .table(P::Table)
                    .col(id(P::Id).primary_key())
                    .col(id(P::CaseId))
                    .col(ColumnDef::new(P::Municipality).string_len(4).not_null())
                    .col(ColumnDef::new(P::State).string_len(16).not_null())
                    .col(ColumnDef::new(P::BasicTrainingStatus).integer().not_null())
                    // Sealed `FamilyProfile`: display name, location, what it takes, periods.
                    .col(ColumnDef::new(P::Content).text().not_null())
                    .col(ColumnDef::new(P::ApprovedOn).date().not_null())
                    .col(ColumnDef::new(P::Version).big_integer().not_null())
                    .col(instant(P::CreatedAt))
                    .col(instant(P::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("assessment_family_profile_created")
                    .table(P::Table)
                    .col(P::CreatedAt)
                    .col(P::Id)
                    .to_owned(),
            )
            .await?;

        // Registrations whose case was erased: a replayed `interest.registered` opens no case.
        use AssessmentErasedRegistration as E;
        manager
            .create_table(
                Table::create()
                    .table(E::Table)
                    .col(id(E::InterestRegistrationId).primary_key())
                    .col(id(E::CaseId))
                    .col(instant(E::ErasedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
