//! sea-orm entities of the allocation tables (see the migrations).

use hearth_proto::allocation::v1 as pb;
use hearth_proto::common::v1::AllocationRunKind;

// The numbers the `kind` and `state` columns of runs and invoices hold: the wire enums'.
pub const STATE_COMPLETED: i32 = pb::AllocationRunState::Completed as i32;
pub const STATE_SUPERSEDED: i32 = pb::AllocationRunState::Superseded as i32;
pub const INVOICE_ISSUED: i32 = pb::InvoiceState::Issued as i32;
pub const INVOICE_SUPERSEDED: i32 = pb::InvoiceState::Superseded as i32;
pub const KIND_ANNUAL: i32 = AllocationRunKind::AnnualBudget as i32;
pub const KIND_SETTLEMENT: i32 = AllocationRunKind::YearEndSettlement as i32;

/// `allocation_key`: a year's key; `body` is a [`super::records::KeyRecord`] as JSON.
pub mod key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "allocation_key")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub year: i32,
        pub body: String,
        /// Increases with every change; the etag.
        pub version: i64,
        pub update_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `allocation_budget`: a year's budget; `body` is a [`super::records::BudgetRecord`] as JSON.
pub mod budget {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "allocation_budget")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub year: i32,
        pub body: String,
        pub version: i64,
        pub update_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `allocation_run`: a run; `body` is a [`super::records::RunRecord`] as JSON. Lists are newest
/// first: by `create_time`, then by id (UUIDv7).
pub mod run {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "allocation_run")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub year: i32,
        /// `AllocationRunKind` number.
        pub kind: i32,
        /// `AllocationRunState` number.
        pub state: i32,
        pub total_ore: i64,
        pub created_by: String,
        pub create_time: DateTimeUtc,
        pub body: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `allocation_invoice`: one member's invoice of a run; `body` holds its instalments as JSON.
pub mod invoice {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "allocation_invoice")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub run_id: String,
        pub municipality: String,
        pub year: i32,
        pub kind: i32,
        /// `InvoiceState` number.
        pub state: i32,
        pub amount_ore: i64,
        pub issue_time: DateTimeUtc,
        pub body: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `allocation_placement`: the placements made through the unit, from matching's
/// `placement.started` and `placement.ended`, for use-based keys. No personal data: the placing
/// municipality, how many children, the first and last day.
pub mod placement {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "allocation_placement")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub placement_id: String,
        pub municipality: String,
        pub children: i32,
        pub start_date: Date,
        /// The last day; `None` while the placement runs.
        pub end_date: Option<Date>,
        /// The placement's aggregate version last applied.
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
