//! sea-orm entities of assessment's tables (see [`super::migrations`]).

pub mod assessment_case {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "assessment_case")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub interest_registration_id: String,
        pub registration_version: i64,
        pub home_municipality: String,
        pub age_bands: String,
        pub commission_kinds: String,
        pub has_earlier_experience: bool,
        pub priority_rank: i32,
        /// Sealed `HouseholdDetails`.
        pub household: String,
        pub adult_ids: String,
        pub stage: String,
        pub method: i32,
        pub assigned_staff_id: Option<String>,
        pub first_contact_date: Option<Date>,
        pub outcome: Option<String>,
        pub decided_on: Option<Date>,
        pub decided_by: Option<String>,
        /// Sealed grounds of the decision.
        pub rationale: Option<String>,
        pub family_profile_id: Option<String>,
        pub received_at: DateTimeUtc,
        pub decided_at: Option<DateTimeUtc>,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod stage_entry {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "assessment_stage_entry")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub case_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub stage: String,
        pub entered_at: DateTimeUtc,
        pub entered_by: String,
        pub received_at: DateTimeUtc,
        pub days_from_registration: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod register_check {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "assessment_register_check")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub case_id: String,
        pub adult_id: String,
        pub register: i32,
        pub outcome: i32,
        pub checked_by: String,
        pub checked_on: Date,
        /// Sealed `RegisterCheck` holding the reference and the note.
        pub content: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod family_profile {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "assessment_family_profile")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub case_id: String,
        pub municipality: String,
        pub state: String,
        pub basic_training_status: i32,
        /// Sealed `FamilyProfile` (display name, location, what it takes, periods, leaving).
        pub content: String,
        pub approved_on: Date,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod erased_registration {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "assessment_erased_registration")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub interest_registration_id: String,
        pub case_id: String,
        pub erased_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
