//! The events assessment consumes: `interest.registered` opens a case (once per registration),
//! `interest.updated` refreshes its contact details, `interest.withdrawn` ends an undecided case
//! as withdrawn by the family, and `training.completed` marks a profile's basic course
//! completed. Each handler decodes its payload and hands it to `app`; what assessment publishes
//! is in `published`.

use crate::app::{cases, profiles};
use hearth_bus::{EventEnvelope, EventHandler, HandlerError, decode_payload as payload};
use hearth_proto::events::v1::{
    InterestRegistered, InterestRegistrationUpdated, InterestRegistrationWithdrawn,
    TrainingCompleted,
};
use hearth_rpc::ServiceContext;
use hearth_rpc::handler::handler_error;
use sea_orm::DatabaseTransaction;

/// Applies `interest.registered`, `interest.updated` and `interest.withdrawn` from intake.
pub struct InterestHandler {
    ctx: ServiceContext,
}

impl InterestHandler {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[async_trait::async_trait]
impl EventHandler for InterestHandler {
    fn handles(&self, event_type: &str) -> bool {
        matches!(
            event_type,
            "interest.registered" | "interest.updated" | "interest.withdrawn"
        )
    }

    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &EventEnvelope,
    ) -> Result<(), HandlerError> {
        let version = i64::try_from(event.aggregate_version).unwrap_or(i64::MAX);
        let applied = match event.event_type.as_str() {
            "interest.registered" => {
                let registered: InterestRegistered =
                    payload(event, "hearth.events.v1.InterestRegistered")?;
                let received_at = event
                    .occurred_at
                    .as_ref()
                    .and_then(hearth_bus::instant)
                    .unwrap_or_else(|| self.ctx.now());
                cases::open_case(&self.ctx, txn, &registered, version, received_at).await
            }
            "interest.updated" => {
                let updated: InterestRegistrationUpdated =
                    payload(event, "hearth.events.v1.InterestRegistrationUpdated")?;
                cases::refresh_household(&self.ctx, txn, &updated, version).await
            }
            "interest.withdrawn" => {
                let withdrawn: InterestRegistrationWithdrawn =
                    payload(event, "hearth.events.v1.InterestRegistrationWithdrawn")?;
                cases::withdraw_by_family(&self.ctx, txn, &withdrawn).await
            }
            _ => Ok(()),
        };
        applied.map_err(handler_error)
    }
}

/// Applies `training.completed` from training: a completed basic course shows on the profile.
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
        let completed: TrainingCompleted = payload(event, "hearth.events.v1.TrainingCompleted")?;
        profiles::record_training(&self.ctx, txn, &completed)
            .await
            .map_err(handler_error)
    }
}
