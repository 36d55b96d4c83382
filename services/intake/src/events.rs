//! The events intake consumes: `placement.started` marks the placement request placed. (What
//! intake publishes is in `published.rs`.)

use crate::app::requests::mark_placed;
use hearth_bus::{EventEnvelope, EventHandler, HandlerError, payload_type_name};
use hearth_proto::events::v1::PlacementStarted;
use hearth_rpc::{ServiceContext, ServiceError};
use prost::Message;
use sea_orm::DatabaseTransaction;

/// Applies `placement.started` from matching.
pub struct PlacementStartedHandler {
    ctx: ServiceContext,
}

impl PlacementStartedHandler {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[async_trait::async_trait]
impl EventHandler for PlacementStartedHandler {
    fn handles(&self, event_type: &str) -> bool {
        event_type == "placement.started"
    }

    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &EventEnvelope,
    ) -> Result<(), HandlerError> {
        let Some(payload) = &event.payload else {
            return Err(HandlerError::Permanent(
                "placement.started without a payload".to_owned(),
            ));
        };
        if payload_type_name(payload) != "hearth.events.v1.PlacementStarted" {
            return Err(HandlerError::Permanent(format!(
                "placement.started with payload {}",
                payload_type_name(payload)
            )));
        }
        let started = PlacementStarted::decode(payload.value.as_slice()).map_err(|error| {
            HandlerError::Permanent(format!("undecodable PlacementStarted: {error}"))
        })?;
        // A request that is unknown, withdrawn or placed already is left alone: the event is
        // applied (recorded in the inbox) and has nothing more to change.
        match mark_placed(txn, &self.ctx, &started.placement_request_id).await {
            Ok(_) => Ok(()),
            Err(ServiceError::Internal(message)) => Err(HandlerError::Permanent(message)),
            Err(error) => Err(HandlerError::Retry(error.to_string())),
        }
    }
}
