//! The events allocation consumes: matching's `placement.started` and `placement.ended` record
//! the placements made through the unit, and with them the use values of use-based keys stay
//! current (see [`crate::domain::usage`]). Each event is applied once, in the transaction of
//! its inbox entry; an event older than what is recorded of its placement is skipped, and an
//! end that arrives before its start waits for it (`Retry`).

use hearth_bus::{EventEnvelope, EventHandler, HandlerError, decode_payload};
use hearth_domain::MunicipalityCode;
use hearth_proto::common::v1::RequestingUnit;
use hearth_proto::convert;
use hearth_proto::events::v1::{PlacementEnded, PlacementStarted};
use hearth_rpc::ServiceContext;
use sea_orm::DatabaseTransaction;

use crate::app::keys::refresh_use_values;
use crate::domain::usage::Placement;
use crate::store::placements::{self, Recorded};

pub const PLACEMENT_STARTED: &str = "placement.started";
pub const PLACEMENT_ENDED: &str = "placement.ended";

/// Applies `placement.started` and `placement.ended`.
pub struct PlacementHandler {
    ctx: ServiceContext,
}

impl PlacementHandler {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[async_trait::async_trait]
impl EventHandler for PlacementHandler {
    fn handles(&self, event_type: &str) -> bool {
        event_type == PLACEMENT_STARTED || event_type == PLACEMENT_ENDED
    }

    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &EventEnvelope,
    ) -> Result<(), HandlerError> {
        let applied = match event.event_type.as_str() {
            PLACEMENT_STARTED => started(txn, event).await?,
            PLACEMENT_ENDED => ended(txn, event).await?,
            other => return Err(permanent(format!("{other} is not a placement event"))),
        };
        if applied {
            let changed = refresh_use_values(&self.ctx, txn)
                .await
                .map_err(|error| HandlerError::Retry(error.to_string()))?;
            tracing::debug!(keys_changed = changed, "use values refreshed");
        }
        Ok(())
    }
}

/// Records a placement's start; `false` when it was recorded already.
async fn started(txn: &DatabaseTransaction, event: &EventEnvelope) -> Result<bool, HandlerError> {
    let started: PlacementStarted = decode_payload(event, "hearth.events.v1.PlacementStarted")?;
    let recorded = recorded(event, &started.placement_id)?;
    if placements::find(txn, recorded.placement_id)
        .await?
        .is_some()
    {
        return Ok(false);
    }
    let placement = Placement {
        municipality: municipality(started.requesting_unit.as_ref())?,
        children: started.children,
        start: date(started.start_date.as_ref(), "start_date")?,
        end: None,
    };
    placements::insert(txn, recorded, &placement).await?;
    Ok(true)
}

/// Records a placement's last day; `false` for an event older than what is recorded.
async fn ended(txn: &DatabaseTransaction, event: &EventEnvelope) -> Result<bool, HandlerError> {
    let ended: PlacementEnded = decode_payload(event, "hearth.events.v1.PlacementEnded")?;
    let recorded = recorded(event, &ended.placement_id)?;
    let last_day = date(ended.end_date.as_ref(), "end_date")?;
    let Some(row) = placements::find(txn, recorded.placement_id).await? else {
        return Err(HandlerError::Retry(format!(
            "placement {} ended before its placement.started was applied: waiting for it",
            recorded.placement_id
        )));
    };
    if row.version >= recorded.version {
        return Ok(false);
    }
    placements::end(txn, recorded, last_day).await?;
    Ok(true)
}

fn permanent(message: String) -> HandlerError {
    HandlerError::Permanent(message)
}

/// The placement and the version of the event.
fn recorded<'a>(
    event: &EventEnvelope,
    placement_id: &'a str,
) -> Result<Recorded<'a>, HandlerError> {
    if placement_id.is_empty() {
        return Err(permanent(format!(
            "{} without a placement id",
            event.event_type
        )));
    }
    let version = i64::try_from(event.aggregate_version)
        .map_err(|_| permanent(format!("aggregate version {}", event.aggregate_version)))?;
    Ok(Recorded {
        placement_id,
        version,
    })
}

fn municipality(unit: Option<&RequestingUnit>) -> Result<MunicipalityCode, HandlerError> {
    let code = unit
        .and_then(|unit| unit.municipality.as_ref())
        .ok_or_else(|| permanent("a placement without a requesting municipality".to_owned()))?;
    convert::municipality_code(code)
        .map_err(|error| permanent(format!("requesting_unit.municipality: {error}")))
}

fn date(
    date: Option<&hearth_proto::common::v1::Date>,
    field: &str,
) -> Result<chrono::NaiveDate, HandlerError> {
    date.and_then(convert::date)
        .ok_or_else(|| permanent(format!("{field} is missing or not a calendar date")))
}
