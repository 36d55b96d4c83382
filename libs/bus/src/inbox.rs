//! The idempotent inbox: each consumer records the events it has applied, in the same
//! transaction as the state change, so that a redelivered (or replayed) event is skipped.

use chrono::{DateTime, Utc};
use hearth_proto::events::v1::EventEnvelope;
use sea_orm::{
    ActiveValue, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    TryInsertResult,
};

use crate::BusError;
use crate::entities::inbox;

/// Operations on `hearth_inbox`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inbox;

impl Inbox {
    /// Records that `consumer` applies `event`, in the caller's transaction. Returns `false`
    /// when it was already recorded (a redelivery: roll back, acknowledge, skip). Race-safe:
    /// on PostgreSQL a concurrent insert of the same event waits for the first transaction and
    /// then finds it.
    pub async fn record<C: ConnectionTrait>(
        txn: &C,
        consumer: &str,
        event: &EventEnvelope,
    ) -> Result<bool, BusError> {
        let row = inbox::ActiveModel {
            consumer: ActiveValue::Set(consumer.to_owned()),
            event_id: ActiveValue::Set(event.event_id.clone()),
            event_type: ActiveValue::Set(event.event_type.clone()),
            applied_at: ActiveValue::Set(Utc::now()),
        };
        let inserted = inbox::Entity::insert(row)
            .on_conflict_do_nothing_on([inbox::Column::Consumer, inbox::Column::EventId])
            .exec_without_returning(txn)
            .await?;
        Ok(matches!(inserted, TryInsertResult::Inserted(rows) if rows > 0))
    }

    /// Whether `consumer` has applied the event.
    pub async fn contains<C: ConnectionTrait>(
        db: &C,
        consumer: &str,
        event_id: &str,
    ) -> Result<bool, BusError> {
        let found = inbox::Entity::find()
            .filter(inbox::Column::Consumer.eq(consumer))
            .filter(inbox::Column::EventId.eq(event_id))
            .count(db)
            .await?;
        Ok(found > 0)
    }

    /// How many events of `event_type` `consumer` applied in `[from, to)` (for reconciling
    /// with the producer's count).
    pub async fn applied_count<C: ConnectionTrait>(
        db: &C,
        consumer: &str,
        event_type: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, BusError> {
        Ok(inbox::Entity::find()
            .filter(inbox::Column::Consumer.eq(consumer))
            .filter(inbox::Column::EventType.eq(event_type))
            .filter(inbox::Column::AppliedAt.gte(from))
            .filter(inbox::Column::AppliedAt.lt(to))
            .count(db)
            .await?)
    }

    /// Deletes entries applied before `before`; returns how many. Keep them at least as long
    /// as the replay window, or a replay re-applies events.
    pub async fn purge_applied_before<C: ConnectionTrait>(
        db: &C,
        before: DateTime<Utc>,
    ) -> Result<u64, BusError> {
        let deleted = inbox::Entity::delete_many()
            .filter(inbox::Column::AppliedAt.lt(before))
            .exec(db)
            .await?;
        Ok(deleted.rows_affected)
    }
}
