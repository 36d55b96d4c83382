//! sea-orm entities of the outbox and inbox tables (see [`crate::migrations`]).

/// A row of `hearth_outbox`.
pub mod outbox {
    use sea_orm::entity::prelude::*;

    /// An event written by the producer, sent or not.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "hearth_outbox")]
    pub struct Model {
        /// Order of writing; the relay publishes in this order.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The event id (UUIDv7), also the `Nats-Msg-Id`.
        #[sea_orm(unique)]
        pub event_id: String,
        /// `<aggregate>.<event>`.
        pub event_type: String,
        /// Where it is published.
        pub subject: String,
        /// The aggregate's id.
        pub aggregate_id: String,
        /// The aggregate's version after the event.
        pub aggregate_version: i64,
        /// The encoded `EventEnvelope`.
        pub envelope: Vec<u8>,
        /// JSON object of the headers to publish with (the W3C trace context).
        pub headers: String,
        /// When it was written.
        pub created_at: DateTimeUtc,
        /// When the bus acknowledged it; `None` while unsent.
        pub sent_at: Option<DateTimeUtc>,
        /// Failed publish attempts.
        pub publish_attempts: i32,
        /// The last publish error, for operators.
        pub last_error: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A row of `hearth_inbox`.
pub mod inbox {
    use sea_orm::entity::prelude::*;

    /// An event a consumer has applied.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "hearth_inbox")]
    pub struct Model {
        /// The durable consumer's name.
        #[sea_orm(primary_key, auto_increment = false)]
        pub consumer: String,
        /// The event id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        /// `<aggregate>.<event>` (for reconciliation counts).
        pub event_type: String,
        /// When it was applied.
        pub applied_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
