//! The open placement requests' read model, from intake's `request.*`.
//!
//! Every `request.*` event carries the request's whole state (`request.opened` and
//! `request.updated` all of its facts, `request.withdrawn` and `request.erased` its end), so one
//! aggregate version decides: an older or equal version than the stored one is skipped (a
//! redelivery, or an update overtaken by a later one), a newer one applies even after a gap. A
//! closed request keeps its row (the id and the version, no facts) so that a late
//! `request.updated` cannot reopen it.

use crate::store::entities::request as row;
use chrono::{DateTime, Utc};
use hearth_proto::events::v1::PlacementRequestFacts;
use hearth_rpc::ServiceError;
use prost::Message;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait};

/// The resource type of a placement request.
pub const RESOURCE: &str = "placement_request";

/// What a `request.*` event says the request is now.
pub enum Change<'a> {
    /// Opened or updated, with all of its facts.
    Open(&'a PlacementRequestFacts),
    /// Withdrawn or erased: no longer to be matched.
    Closed,
}

/// Applies `change` of the request `id` at `version`, unless the stored one is as new.
pub async fn apply<C: ConnectionTrait>(
    now: DateTime<Utc>,
    conn: &C,
    id: &str,
    version: i64,
    change: Change<'_>,
) -> Result<(), ServiceError> {
    let found = row::Entity::find_by_id(id.to_owned()).one(conn).await?;
    if found.as_ref().is_some_and(|found| version <= found.version) {
        return Ok(());
    }
    let (open, facts) = match change {
        // Only what matching and followup were given; the link to an earlier placement is not
        // needed to rank.
        Change::Open(facts) => (
            true,
            Some(
                PlacementRequestFacts {
                    follows_placement_id: String::new(),
                    ..facts.clone()
                }
                .encode_to_vec(),
            ),
        ),
        Change::Closed => (false, None),
    };
    let model = row::ActiveModel::from(row::Model {
        id: id.to_owned(),
        version,
        open,
        facts,
        updated_at: now,
    })
    .reset_all();
    if found.is_some() {
        model.update(conn).await?;
        return Ok(());
    }
    super::insert(conn, model).await
}

/// The facts of the open request `id`: `NotFound` when matching does not know it (or not yet:
/// its `request.opened` is still on the way), `FAILED_PRECONDITION` with reason
/// `PLACEMENT_REQUEST_CLOSED` once it is withdrawn or erased.
pub async fn open_facts<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<PlacementRequestFacts, ServiceError> {
    let Some(found) = row::Entity::find_by_id(id.to_owned()).one(conn).await? else {
        return Err(ServiceError::not_found(RESOURCE, id));
    };
    let Some(facts) = found.facts.filter(|_| found.open) else {
        return Err(ServiceError::rule(
            "PLACEMENT_REQUEST_CLOSED",
            "the placement request is no longer open",
        ));
    };
    PlacementRequestFacts::decode(facts.as_slice()).map_err(ServiceError::internal)
}
