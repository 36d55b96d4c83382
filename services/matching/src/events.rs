//! The events matching consumes, one subscription per subject pattern (NATS 2.9 has one filter
//! subject per consumer): `family.*` and `training.completed` keep the pool, `request.*` the
//! open requests. Each handler decodes the payload, takes the aggregate version from the
//! envelope and hands both to `app`, in the handler's transaction (the inbox makes a
//! redelivery a no-op; `app` skips events older than what is stored).

use crate::app::pool;
use crate::app::requests::{self, Change};
use hearth_bus::{EventEnvelope, EventHandler, HandlerError, decode_payload};
use hearth_proto::events::v1::{
    FamilyApproved, FamilyAvailabilityChanged, FamilyUpdated, PlacementRequestOpened,
    PlacementRequestUpdated, TrainingCompleted,
};
use hearth_rpc::ServiceContext;
use hearth_rpc::handler::handler_error;
use sea_orm::DatabaseTransaction;

fn version(event: &EventEnvelope) -> i64 {
    i64::try_from(event.aggregate_version).unwrap_or(i64::MAX)
}

/// Applies `family.approved`, `family.updated`, `family.availability_changed` and
/// `family.erased` from assessment (`family.rejected` is a case's, not the pool's).
pub struct FamilyHandler {
    ctx: ServiceContext,
}

impl FamilyHandler {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[async_trait::async_trait]
impl EventHandler for FamilyHandler {
    fn handles(&self, event_type: &str) -> bool {
        matches!(
            event_type,
            "family.approved" | "family.updated" | "family.availability_changed" | "family.erased"
        )
    }

    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &EventEnvelope,
    ) -> Result<(), HandlerError> {
        let ctx = &self.ctx;
        let version = version(event);
        let applied = match event.event_type.as_str() {
            "family.approved" => {
                let approved: FamilyApproved =
                    decode_payload(event, "hearth.events.v1.FamilyApproved")?;
                pool::approved(ctx.now(), txn, &approved, version).await
            }
            "family.updated" => {
                let updated: FamilyUpdated =
                    decode_payload(event, "hearth.events.v1.FamilyUpdated")?;
                pool::updated(ctx.now(), txn, &updated, version).await
            }
            "family.availability_changed" => {
                let changed: FamilyAvailabilityChanged =
                    decode_payload(event, "hearth.events.v1.FamilyAvailabilityChanged")?;
                pool::availability_changed(ctx.now(), txn, &changed, version).await
            }
            // The tombstone's payload (reason, date) changes nothing here: the aggregate goes.
            "family.erased" => pool::erased(ctx.now(), txn, &event.aggregate_id).await,
            _ => Ok(()),
        };
        applied.map_err(handler_error)
    }
}

/// Applies `request.opened`, `request.updated`, `request.withdrawn` and `request.erased` from
/// intake.
pub struct RequestHandler {
    ctx: ServiceContext,
}

impl RequestHandler {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[async_trait::async_trait]
impl EventHandler for RequestHandler {
    fn handles(&self, event_type: &str) -> bool {
        matches!(
            event_type,
            "request.opened" | "request.updated" | "request.withdrawn" | "request.erased"
        )
    }

    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &EventEnvelope,
    ) -> Result<(), HandlerError> {
        let (now, id, version) = (self.ctx.now(), event.aggregate_id.as_str(), version(event));
        let applied = match event.event_type.as_str() {
            "request.opened" => {
                let opened: PlacementRequestOpened =
                    decode_payload(event, "hearth.events.v1.PlacementRequestOpened")?;
                let facts = opened.facts.unwrap_or_default();
                requests::apply(now, txn, id, version, Change::Open(&facts)).await
            }
            "request.updated" => {
                let updated: PlacementRequestUpdated =
                    decode_payload(event, "hearth.events.v1.PlacementRequestUpdated")?;
                let facts = updated.facts.unwrap_or_default();
                requests::apply(now, txn, id, version, Change::Open(&facts)).await
            }
            "request.withdrawn" | "request.erased" => {
                requests::apply(now, txn, id, version, Change::Closed).await
            }
            _ => Ok(()),
        };
        applied.map_err(handler_error)
    }
}

/// Applies `training.completed` from training: a basic course done counts in the score.
pub struct TrainingHandler {
    ctx: ServiceContext,
}

impl TrainingHandler {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[async_trait::async_trait]
impl EventHandler for TrainingHandler {
    fn handles(&self, event_type: &str) -> bool {
        event_type == "training.completed"
    }

    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &EventEnvelope,
    ) -> Result<(), HandlerError> {
        let completed: TrainingCompleted =
            decode_payload(event, "hearth.events.v1.TrainingCompleted")?;
        pool::training_completed(self.ctx.now(), txn, &completed)
            .await
            .map_err(handler_error)
    }
}
