//! The events intake consumes: `placement.started` marks the placement request placed. (What
//! intake publishes is in `published.rs`.)

use crate::app::requests::mark_placed;
use hearth_bus::{EventEnvelope, EventHandler, HandlerError, decode_payload};
use hearth_proto::events::v1::PlacementStarted;
use hearth_rpc::ServiceContext;
use hearth_rpc::handler::handler_error;
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
        let started: PlacementStarted = decode_payload(event, "hearth.events.v1.PlacementStarted")?;
        // A request that is unknown, withdrawn or placed already is left alone: the event is
        // applied (recorded in the inbox) and has nothing more to change.
        mark_placed(txn, &self.ctx, &started.placement_request_id)
            .await
            .map(|_placed| ())
            .map_err(handler_error)
    }
}
