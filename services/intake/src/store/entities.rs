//! sea-orm entities of intake's tables (see [`super::migrations`]).

pub mod interest_registration {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "intake_interest_registration")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub home_municipality: String,
        pub housing: i32,
        pub channel: i32,
        pub has_earlier_experience: bool,
        pub commission_kinds: String,
        pub age_bands: String,
        /// Sealed `HouseholdDetails`.
        pub household: String,
        pub state: String,
        pub version: i64,
        pub repeat_count: i32,
        pub last_repeat_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub withdrawn_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod open_household_member {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "intake_open_household_member")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub pin_index: String,
        pub interest_registration_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod placement_request {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "intake_placement_request")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub municipality: String,
        pub district: Option<String>,
        pub state: String,
        pub age_band: i32,
        pub commission_kind: i32,
        /// Sealed `PlacementRequest`.
        pub content: String,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub withdrawn_at: Option<DateTimeUtc>,
        pub withdrawal_reason: Option<i32>,
        /// Sealed note.
        pub withdrawal_note: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod placement_request_version {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "intake_placement_request_version")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub placement_request_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i64,
        /// Sealed `PlacementRequest` as it was in this version.
        pub content: String,
        /// Update-mask paths, comma-separated.
        pub changed_fields: String,
        pub changed_by: String,
        pub changed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
