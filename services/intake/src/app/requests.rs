//! Placement requests, shared by the RPCs and the `placement.started` consumer: loading a
//! request the caller may see, its state, its versions, how a stored request is shown, and
//! marking it placed.

use crate::store::entities::{placement_request as row, placement_request_version as version_row};
use hearth_auth::Principal;
use hearth_proto::convert;
use hearth_proto::intake::v1 as pb;
use hearth_rpc::handler;
use hearth_rpc::{ServiceContext, ServiceError};
use sea_orm::{ActiveModelTrait, ActiveValue, ConnectionTrait, EntityTrait};

pub const RESOURCE: &str = "placement_request";
pub const OPEN: &str = "open";
pub const PLACED: &str = "placed";
pub const WITHDRAWN: &str = "withdrawn";

/// Applies `placement.started`: the request is placed.
pub async fn mark_placed<C: ConnectionTrait>(
    conn: &C,
    ctx: &ServiceContext,
    id: &str,
) -> Result<bool, ServiceError> {
    let Some(found) = row::Entity::find_by_id(id.to_owned()).one(conn).await? else {
        return Ok(false);
    };
    if found.state != OPEN {
        return Ok(false);
    }
    let now = ctx.now();
    let content: pb::PlacementRequest = handler::open(ctx, &found.content, &found.id)?;
    let mut update: row::ActiveModel = found.clone().into();
    update.state = ActiveValue::Set(PLACED.to_owned());
    update.version = ActiveValue::Set(found.version + 1);
    update.updated_at = ActiveValue::Set(now);
    let updated = update.update(conn).await?;
    let answer = to_proto_with(&updated, content, None);
    let version = version_row::ActiveModel {
        placement_request_id: ActiveValue::Set(id.to_owned()),
        version: ActiveValue::Set(updated.version),
        content: ActiveValue::Set(handler::seal(
            ctx,
            &answer,
            &version_aad(id, updated.version),
        )?),
        changed_fields: ActiveValue::Set("state".to_owned()),
        changed_by: ActiveValue::Set("matching".to_owned()),
        changed_at: ActiveValue::Set(now),
    };
    version_row::Entity::insert(version)
        .exec_without_returning(conn)
        .await?;
    Ok(true)
}

pub async fn save_version<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    answer: &pb::PlacementRequest,
    changed: &[String],
    principal: &Principal,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ServiceError> {
    let version = i64::from(answer.version);
    let model = version_row::ActiveModel {
        placement_request_id: ActiveValue::Set(answer.id.clone()),
        version: ActiveValue::Set(version),
        content: ActiveValue::Set(handler::seal(
            ctx,
            answer,
            &version_aad(&answer.id, version),
        )?),
        changed_fields: ActiveValue::Set(changed.join(",")),
        changed_by: ActiveValue::Set(principal.subject().to_owned()),
        changed_at: ActiveValue::Set(now),
    };
    version_row::Entity::insert(model)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Each version is sealed bound to its request and number, so versions cannot be swapped.
pub fn version_aad(id: &str, version: i64) -> String {
    format!("{id}#{version}")
}

pub async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<row::Model, ServiceError> {
    row::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))
}

/// Loads a request the caller may see: municipality staff only their own municipality's.
pub async fn load_visible<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    id: &str,
) -> Result<row::Model, ServiceError> {
    let found = load(conn, id).await?;
    let municipality = hearth_domain::MunicipalityCode::parse(&found.municipality)
        .map_err(ServiceError::internal)?;
    principal.require_municipality_scope(&municipality)?;
    Ok(found)
}

pub fn closed(found: &row::Model) -> ServiceError {
    ServiceError::rule(
        "PLACEMENT_REQUEST_CLOSED",
        format!(
            "the placement request is {} and can no longer be changed",
            found.state
        ),
    )
}

pub fn to_proto(
    ctx: &ServiceContext,
    found: &row::Model,
) -> Result<pb::PlacementRequest, ServiceError> {
    let content: pb::PlacementRequest = handler::open(ctx, &found.content, &found.id)?;
    let note = match &found.withdrawal_note {
        Some(sealed) => Some(handler::open_text(ctx, sealed, &found.id)?),
        None => Some(String::new()),
    };
    Ok(to_proto_with(found, content, note))
}

/// The stored row and its opened content as the API shows it.
pub fn to_proto_with(
    found: &row::Model,
    mut content: pb::PlacementRequest,
    note: Option<String>,
) -> pb::PlacementRequest {
    content.id.clone_from(&found.id);
    content.age_band = found.age_band;
    content.state = match found.state.as_str() {
        OPEN => pb::PlacementRequestState::Open,
        PLACED => pb::PlacementRequestState::Placed,
        _ => pb::PlacementRequestState::Withdrawn,
    } as i32;
    content.withdrawal = found.withdrawal_reason.map(|reason| pb::Withdrawal {
        reason,
        note: note.unwrap_or_default(),
        withdraw_time: found.withdrawn_at.map(convert::timestamp_to_proto),
    });
    content.create_time = Some(convert::timestamp_to_proto(found.created_at));
    content.update_time = Some(convert::timestamp_to_proto(found.updated_at));
    content.etag = handler::etag(found.version);
    content.version = u32::try_from(found.version).unwrap_or_default();
    content
}
