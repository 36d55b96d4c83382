//! Placement requests: open, get, list, update (keeping every version), withdraw.

use super::convert::request::{RequestDraft, apply_mask, check_request, check_withdrawal};
use super::support::{self, REQUEST_STAFF};
use crate::app::requests::{
    OPEN, PLACED, RESOURCE, WITHDRAWN, closed, load, load_visible, save_version, to_proto,
    to_proto_with, version_aad,
};
use crate::published;
use crate::store::entities::{placement_request as row, placement_request_version as version_row};
use hearth_audit::AuditAction;
use hearth_auth::MunicipalityScope;
use hearth_proto::convert;
use hearth_proto::events::v1::{
    PlacementRequestFacts, PlacementRequestOpened, PlacementRequestUpdated,
    PlacementRequestWithdrawn,
};
use hearth_proto::intake::v1 as pb;
use hearth_rpc::handler::{self, Access, PAGE_SIZES, accept, list_page};
use hearth_rpc::paging::Position;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use prost::Message;
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tonic::Request;

pub async fn create(
    ctx: &ServiceContext,
    request: Request<pb::CreatePlacementRequestRequest>,
) -> Result<pb::CreatePlacementRequestResponse, ServiceError> {
    let (principal, request) = accept(request, REQUEST_STAFF)?;
    let mut violations = Violations::new();
    let draft = match &request.placement_request {
        None => {
            violations.add("placement_request", "is required");
            None
        }
        Some(input) => check_request(
            input,
            "placement_request",
            &ctx.county,
            ctx.today(),
            &mut violations,
        ),
    };
    let request_bytes = request
        .placement_request
        .as_ref()
        .map(Message::encode_to_vec)
        .unwrap_or_default();
    let key = handler::idempotency_key(
        ctx,
        "CreatePlacementRequest",
        &request.idempotency_key,
        &request_bytes,
        &mut violations,
    );
    violations.finish()?;
    let (Some(draft), Some(key)) = (draft, key) else {
        return Err(ServiceError::internal("checked request missing"));
    };
    // Municipality staff open requests for their own municipality only.
    principal.require_municipality_scope(&draft.municipality)?;

    let txn = ctx.begin().await?;
    if let Some(first) = key.find(&txn).await? {
        let found = load(&txn, &first.resource_id).await?;
        let answer = to_proto(ctx, &found)?;
        txn.commit().await?;
        return Ok(pb::CreatePlacementRequestResponse {
            placement_request: Some(answer),
        });
    }
    let now = ctx.now();
    let id = hearth_domain::new_id().to_string();
    let model = row::Model {
        id: id.clone(),
        municipality: draft.municipality.to_string(),
        district: draft.district.clone(),
        state: OPEN.to_owned(),
        age_band: convert::age_band_to_proto(draft.age_band) as i32,
        commission_kind: convert::commission_kind_to_proto(draft.commission_kind) as i32,
        content: handler::seal(ctx, &draft.content, &id)?,
        version: 1,
        created_at: now,
        updated_at: now,
        withdrawn_at: None,
        withdrawal_reason: None,
        withdrawal_note: None,
    };
    row::Entity::insert(row::ActiveModel::from(model.clone()))
        .exec_without_returning(&txn)
        .await?;
    let answer = to_proto_with(&model, draft.content.clone(), None);
    save_version(ctx, &txn, &answer, &[], &principal, now).await?;
    let event = PlacementRequestOpened {
        placement_request_id: id.clone(),
        facts: Some(facts(&draft)),
    };
    handler::publish(ctx, &txn, &published::REQUEST_OPENED, (&id, 1), &event, now).await?;
    key.remember(&txn, &id, "created", now).await?;
    txn.commit().await?;
    ctx.outbox.notify_relay();
    tracing::info!(placement_request_id = %id, municipality = %draft.municipality, "placement request opened");
    Ok(pb::CreatePlacementRequestResponse {
        placement_request: Some(answer),
    })
}

pub async fn get(
    ctx: &ServiceContext,
    request: Request<pb::GetPlacementRequestRequest>,
) -> Result<pb::GetPlacementRequestResponse, ServiceError> {
    let (principal, request) = accept(request, REQUEST_STAFF)?;
    let mut violations = Violations::new();
    let id = handler::resource_id(
        &request.placement_request_id,
        "placement_request_id",
        &mut violations,
    );
    violations.finish()?;
    let id = id.unwrap_or_default();
    let txn = ctx.begin().await?;
    let found = load_visible(&txn, &principal, &id).await?;
    let answer = to_proto(ctx, &found)?;
    support::audit(
        ctx,
        &txn,
        &principal,
        AuditAction::Read,
        RESOURCE,
        "GetPlacementRequest",
        [id.clone()],
    )
    .await?;
    txn.commit().await?;
    Ok(pb::GetPlacementRequestResponse {
        placement_request: Some(answer),
    })
}

pub async fn list(
    ctx: &ServiceContext,
    request: Request<pb::ListPlacementRequestsRequest>,
) -> Result<pb::ListPlacementRequestsResponse, ServiceError> {
    let (principal, request) = accept(request, REQUEST_STAFF)?;
    let mut violations = Violations::new();
    let mut municipalities = Vec::new();
    for (index, code) in request.municipalities.iter().enumerate() {
        if let Some(code) = violations.check(
            &format!("municipalities[{index}].value"),
            convert::municipality_code(code),
        ) {
            municipalities.push(code);
        }
    }
    let mut states = Vec::new();
    for (index, state) in request.states.iter().enumerate() {
        match pb::PlacementRequestState::try_from(*state) {
            Ok(pb::PlacementRequestState::Open) => states.push(OPEN),
            Ok(pb::PlacementRequestState::Placed) => states.push(PLACED),
            Ok(pb::PlacementRequestState::Withdrawn) => states.push(WITHDRAWN),
            _ => violations.add(
                format!("states[{index}]"),
                format!("unknown or unspecified value {state}"),
            ),
        }
    }
    for (index, band) in request.age_bands.iter().enumerate() {
        if convert::age_band(*band).is_none() {
            violations.add(
                format!("age_bands[{index}]"),
                format!("unknown or unspecified value {band}"),
            );
        }
    }
    for (index, kind) in request.commission_kinds.iter().enumerate() {
        if convert::commission_kind(*kind).is_none() {
            violations.add(
                format!("commission_kinds[{index}]"),
                format!("unknown or unspecified value {kind}"),
            );
        }
    }
    let created = handler::time_range(request.create_time.as_ref(), "create_time", &mut violations);
    let page = list_page(&request, PAGE_SIZES, &mut violations);
    violations.finish()?;
    // Municipality staff see their own municipality's requests and nothing else.
    match principal.municipality_scope() {
        MunicipalityScope::County => {}
        MunicipalityScope::Only(own) => {
            if let Some(other) = municipalities.iter().find(|code| **code != own) {
                return Err(ServiceError::PermissionDenied(format!(
                    "municipality staff of {own} cannot list the requests of {other}"
                )));
            }
            municipalities = vec![own];
        }
        MunicipalityScope::Nothing => {
            return Err(ServiceError::PermissionDenied(
                "no municipality in the token".to_owned(),
            ));
        }
    }

    let mut query = row::Entity::find();
    if !municipalities.is_empty() {
        query = query.filter(
            row::Column::Municipality.is_in(municipalities.iter().map(ToString::to_string)),
        );
    }
    if !states.is_empty() {
        query = query.filter(row::Column::State.is_in(states));
    }
    if !request.age_bands.is_empty() {
        query = query.filter(row::Column::AgeBand.is_in(request.age_bands.clone()));
    }
    if !request.commission_kinds.is_empty() {
        query = query.filter(row::Column::CommissionKind.is_in(request.commission_kinds.clone()));
    }
    if let Some(from) = created.from {
        query = query.filter(row::Column::CreatedAt.gte(from));
    }
    if let Some(to) = created.to {
        query = query.filter(row::Column::CreatedAt.lt(to));
    }
    let txn = ctx.begin().await?;
    let rows = page
        .newest_first(query, row::Column::CreatedAt, row::Column::Id)
        .all(&txn)
        .await?;
    let purpose = handler::rpc_path(support::SERVICE, "ListPlacementRequests");
    let access = Access {
        resource: RESOURCE,
        purpose: &purpose,
    };
    let (requests, next_page_token) =
        handler::audited_page(ctx, txn, &principal, (&page, rows), access, |found| {
            to_proto(ctx, found)
        })
        .await?;
    Ok(pb::ListPlacementRequestsResponse {
        placement_requests: requests,
        next_page_token,
    })
}

pub async fn update(
    ctx: &ServiceContext,
    request: Request<pb::UpdatePlacementRequestRequest>,
) -> Result<pb::UpdatePlacementRequestResponse, ServiceError> {
    let (principal, request) = accept(request, REQUEST_STAFF)?;
    let mut violations = Violations::new();
    let incoming = request.placement_request.unwrap_or_default();
    let id = handler::resource_id(&incoming.id, "placement_request.id", &mut violations);
    let paths = request
        .update_mask
        .map(|mask| mask.paths)
        .unwrap_or_default();
    if request.etag.trim().is_empty() {
        violations.add("etag", "is required");
    }
    if paths.is_empty() {
        violations.add("update_mask", "must name at least one field to change");
    }
    violations.finish()?;
    let id = id.unwrap_or_default();

    let txn = ctx.begin().await?;
    let found = load_visible(&txn, &principal, &id).await?;
    if found.state != OPEN {
        return Err(closed(&found));
    }
    handler::require_fresh(&request.etag, found.version, false)?;
    let stored: pb::PlacementRequest = handler::open(ctx, &found.content, &found.id)?;
    let mut violations = Violations::new();
    let merged = apply_mask(&stored, &incoming, &paths, &mut violations);
    let draft = check_request(
        &merged,
        "placement_request",
        &ctx.county,
        ctx.today(),
        &mut violations,
    );
    violations.finish()?;
    let Some(draft) = draft else {
        return Err(ServiceError::internal("checked request missing"));
    };
    if draft.content == stored {
        // Nothing changed: no new version, no event.
        let answer = to_proto_with(&found, stored, None);
        txn.commit().await?;
        return Ok(pb::UpdatePlacementRequestResponse {
            placement_request: Some(answer),
        });
    }
    let now = ctx.now();
    let version = found.version + 1;
    let mut update: row::ActiveModel = found.clone().into();
    update.content = ActiveValue::Set(handler::seal(ctx, &draft.content, &id)?);
    update.age_band = ActiveValue::Set(convert::age_band_to_proto(draft.age_band) as i32);
    update.commission_kind =
        ActiveValue::Set(convert::commission_kind_to_proto(draft.commission_kind) as i32);
    update.version = ActiveValue::Set(version);
    update.updated_at = ActiveValue::Set(now);
    let updated = update.update(&txn).await?;
    let answer = to_proto_with(&updated, draft.content.clone(), None);
    let mut changed = paths.clone();
    changed.sort();
    changed.dedup();
    save_version(ctx, &txn, &answer, &changed, &principal, now).await?;
    let event = PlacementRequestUpdated {
        placement_request_id: id.clone(),
        facts: Some(facts(&draft)),
    };
    handler::publish(
        ctx,
        &txn,
        &published::REQUEST_UPDATED,
        (&id, version),
        &event,
        now,
    )
    .await?;
    txn.commit().await?;
    ctx.outbox.notify_relay();
    Ok(pb::UpdatePlacementRequestResponse {
        placement_request: Some(answer),
    })
}

pub async fn withdraw(
    ctx: &ServiceContext,
    request: Request<pb::WithdrawPlacementRequestRequest>,
) -> Result<pb::WithdrawPlacementRequestResponse, ServiceError> {
    let (principal, request) = accept(request, REQUEST_STAFF)?;
    let mut violations = Violations::new();
    let id = handler::resource_id(
        &request.placement_request_id,
        "placement_request_id",
        &mut violations,
    );
    let withdrawal = check_withdrawal(request.reason, &request.note, &mut violations);
    let mut keyed = request.clone();
    keyed.idempotency_key.clear();
    let key = handler::idempotency_key(
        ctx,
        "WithdrawPlacementRequest",
        &request.idempotency_key,
        &keyed.encode_to_vec(),
        &mut violations,
    );
    violations.finish()?;
    let (Some(id), Some((reason, note)), Some(key)) = (id, withdrawal, key) else {
        return Err(ServiceError::internal("checked withdrawal missing"));
    };
    let txn = ctx.begin().await?;
    let found = load_visible(&txn, &principal, &id).await?;
    if key.find(&txn).await?.is_some() {
        let answer = to_proto(ctx, &found)?;
        txn.commit().await?;
        return Ok(pb::WithdrawPlacementRequestResponse {
            placement_request: Some(answer),
        });
    }
    if found.state != OPEN {
        return Err(closed(&found));
    }
    if !request.etag.trim().is_empty() {
        handler::require_fresh(&request.etag, found.version, false)?;
    }
    let now = ctx.now();
    let version = found.version + 1;
    let content: pb::PlacementRequest = handler::open(ctx, &found.content, &found.id)?;
    let mut update: row::ActiveModel = found.clone().into();
    update.state = ActiveValue::Set(WITHDRAWN.to_owned());
    update.withdrawn_at = ActiveValue::Set(Some(now));
    update.withdrawal_reason = ActiveValue::Set(Some(reason as i32));
    update.withdrawal_note = ActiveValue::Set(if note.is_empty() {
        None
    } else {
        Some(handler::seal_text(ctx, &note, &id)?)
    });
    update.version = ActiveValue::Set(version);
    update.updated_at = ActiveValue::Set(now);
    let updated = update.update(&txn).await?;
    let answer = to_proto_with(&updated, content, Some(note));
    save_version(ctx, &txn, &answer, &["state".to_owned()], &principal, now).await?;
    let event = PlacementRequestWithdrawn {
        placement_request_id: id.clone(),
        requesting_unit: answer.requesting_unit.clone(),
        reason: reason as i32,
        withdrawn_on: Some(convert::date_to_proto(ctx.today())),
    };
    handler::publish(
        ctx,
        &txn,
        &published::REQUEST_WITHDRAWN,
        (&id, version),
        &event,
        now,
    )
    .await?;
    key.remember(&txn, &id, WITHDRAWN, now).await?;
    txn.commit().await?;
    ctx.outbox.notify_relay();
    Ok(pb::WithdrawPlacementRequestResponse {
        placement_request: Some(answer),
    })
}

pub async fn list_versions(
    ctx: &ServiceContext,
    request: Request<pb::ListPlacementRequestVersionsRequest>,
) -> Result<pb::ListPlacementRequestVersionsResponse, ServiceError> {
    let (principal, request) = accept(request, REQUEST_STAFF)?;
    let mut violations = Violations::new();
    let id = handler::resource_id(
        &request.placement_request_id,
        "placement_request_id",
        &mut violations,
    );
    let page = list_page(&request, PAGE_SIZES, &mut violations);
    violations.finish()?;
    // Oldest first: the position is the last version number shown.
    let after = page
        .after
        .as_ref()
        .and_then(|position| position.id.parse::<i64>().ok());
    let id = id.unwrap_or_default();
    let txn = ctx.begin().await?;
    load_visible(&txn, &principal, &id).await?;
    let mut rows = version_row::Entity::find()
        .filter(version_row::Column::PlacementRequestId.eq(id.clone()))
        .filter(version_row::Column::Version.gt(after.unwrap_or(0)))
        .order_by_asc(version_row::Column::Version)
        .limit(page.fetch_limit())
        .all(&txn)
        .await?;
    let next_page_token = page.finish(&mut rows, |last| Position {
        time: last.changed_at,
        id: last.version.to_string(),
    });
    let versions = rows
        .iter()
        .map(|found| {
            Ok(pb::PlacementRequestVersion {
                version: u32::try_from(found.version).unwrap_or_default(),
                placement_request: Some(handler::open(
                    ctx,
                    &found.content,
                    &version_aad(&id, found.version),
                )?),
                changed_fields: found
                    .changed_fields
                    .split(',')
                    .filter(|field| !field.is_empty())
                    .map(str::to_owned)
                    .collect(),
                changed_by: found.changed_by.clone(),
                change_time: Some(convert::timestamp_to_proto(found.changed_at)),
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    support::audit(
        ctx,
        &txn,
        &principal,
        AuditAction::Read,
        RESOURCE,
        "ListPlacementRequestVersions",
        [id.clone()],
    )
    .await?;
    txn.commit().await?;
    Ok(pb::ListPlacementRequestVersionsResponse {
        versions,
        next_page_token,
    })
}

hearth_rpc::listed_by_creation!(row::Model);

/// What matching and followup learn of a request: never the case reference or free text.
fn facts(draft: &RequestDraft) -> PlacementRequestFacts {
    let content = &draft.content;
    // The check gave every sibling a band (or refused the request), so none can be lost here.
    let sibling_age_bands = draft
        .sibling_age_bands
        .iter()
        .map(|band| convert::age_band_to_proto(*band) as i32)
        .collect();
    PlacementRequestFacts {
        requesting_unit: content.requesting_unit.clone(),
        age_band: convert::age_band_to_proto(draft.age_band) as i32,
        sibling_age_bands,
        needs: content.needs.clone(),
        commission_kind: content.commission_kind,
        proximity: content.proximity.clone(),
        max_fee_level: content.max_fee_level.clone(),
        offered_support: content.offered_support.clone(),
        urgency: content.urgency,
        wanted_start_date: content.wanted_start_date,
        follows_placement_id: content.follows_placement_id.clone(),
        in_emergency_home: content.in_emergency_home,
        emergency_home_since: content.emergency_home_since,
    }
}
