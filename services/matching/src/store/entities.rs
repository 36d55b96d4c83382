//! sea-orm entities of matching's tables (see [`super::migrations`]).

pub mod family {
    use sea_orm::entity::prelude::*;

    /// A family of the pool as the events told it. The profile and the availability come in
    /// separate events (`family.updated`, `family.availability_changed`), each carrying the
    /// whole of its part, so each part keeps the aggregate version it was last set at.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "matching_family")]
    pub struct Model {
        /// The family profile's id (assessment's).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The version of the event that set `profile` (0: none yet).
        pub profile_version: i64,
        /// Encoded `FamilyProfileFacts` without its availability; `None` until known. No names,
        /// no identity numbers: the sealed contact of the events is not stored.
        pub profile: Option<Vec<u8>>,
        /// The version of the event that set `availability` and `left_pool` (0: none yet).
        pub availability_version: i64,
        /// Encoded `FamilyAvailabilityChanged` (periods and state; the id cleared).
        pub availability: Option<Vec<u8>>,
        pub left_pool: bool,
        /// The date of approval (`family.approved`); the wait is counted from it.
        pub approved_on: Option<Date>,
        pub basic_course_done: bool,
        /// `family.erased` arrived: every fact is cleared and no later event applies.
        pub erased: bool,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod request {
    use sea_orm::entity::prelude::*;

    /// A placement request as the events told it; every `request.*` event carries its whole
    /// state, so one version decides.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "matching_request")]
    pub struct Model {
        /// The placement request's id (intake's).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The version of the last event applied.
        pub version: i64,
        /// Open for matching; false once withdrawn or erased.
        pub open: bool,
        /// Encoded `PlacementRequestFacts` (the child's age bands, needs and the municipality's
        /// terms; never the child's identity); `None` once closed.
        pub facts: Option<Vec<u8>>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
