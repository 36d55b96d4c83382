//! Family profiles: created by an approval, read, listed, changed (profile and availability)
//! and closed when the family leaves the pool; the basic course's status from training.

use super::support::{self, ASSESSORS, READERS, caller_with};
use crate::domain::profile::{self, ProfileDraft};
use crate::events;
use crate::store::entities::{assessment_case, family_profile as row};
use chrono::NaiveDate;
use hearth_audit::AuditAction;
use hearth_proto::assessment::v1 as pb;
use hearth_proto::common::v1 as common;
use hearth_proto::convert;
use hearth_proto::events::v1::{
    FamilyApproved, FamilyAvailabilityChanged, FamilyContact, FamilyContactAdult,
    FamilyProfileFacts, FamilyUpdated, HouseholdDetails, TrainingCompleted,
};
use hearth_rpc::paging::Position;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use tonic::{Request, Response, Status};

const RESOURCE: &str = "family_profile";
const ACTIVE: &str = "active";
const LEFT: &str = "left";
const MAX_LEAVING_NOTE: usize = 1000;

pub async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<row::Model, ServiceError> {
    row::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))
}

/// The sealed part of a profile from a checked draft.
fn content_of(draft: &ProfileDraft) -> pb::FamilyProfile {
    let facts = &draft.facts;
    pb::FamilyProfile {
        display_name: draft.display_name.clone(),
        location: facts.location.clone(),
        capacity: facts.capacity,
        age_bands: facts.age_bands.clone(),
        commission_kinds: facts.commission_kinds.clone(),
        accepted_needs: facts.accepted_needs.clone(),
        fee_level: facts.fee_level.clone(),
        support_needs: facts.support_needs.clone(),
        has_earlier_experience: facts.has_earlier_experience,
        availability: facts.availability.clone(),
        ..Default::default()
    }
}

fn facts_of(content: &pb::FamilyProfile) -> FamilyProfileFacts {
    FamilyProfileFacts {
        location: content.location.clone(),
        capacity: content.capacity,
        age_bands: content.age_bands.clone(),
        commission_kinds: content.commission_kinds.clone(),
        accepted_needs: content.accepted_needs.clone(),
        fee_level: content.fee_level.clone(),
        support_needs: content.support_needs.clone(),
        has_earlier_experience: content.has_earlier_experience,
        availability: content.availability.clone(),
    }
}

/// The family's name and contact details, sealed for an event of the profile.
fn sealed_contact(
    ctx: &ServiceContext,
    case: &assessment_case::Model,
    profile_id: &str,
    display_name: &str,
) -> Result<hearth_proto::events::v1::EncryptedField, ServiceError> {
    let household: HouseholdDetails = support::open(ctx, &case.household, &case.id)?;
    let contact = FamilyContact {
        display_name: display_name.to_owned(),
        adults: household
            .adults
            .into_iter()
            .map(|adult| FamilyContactAdult {
                given_name: adult.given_name,
                family_name: adult.family_name,
                email: adult.email,
                phone: adult.phone,
            })
            .collect(),
    };
    ctx.keyring
        .seal_message(&contact, profile_id)
        .map_err(ServiceError::internal)
}

/// A stored profile as the API shows it.
pub fn to_proto(
    ctx: &ServiceContext,
    found: &row::Model,
) -> Result<pb::FamilyProfile, ServiceError> {
    let content: pb::FamilyProfile = support::open(ctx, &found.content, &found.id)?;
    let left = found.state == LEFT;
    Ok(pb::FamilyProfile {
        id: found.id.clone(),
        assessment_case_id: found.case_id.clone(),
        basic_training_status: found.basic_training_status,
        current_availability: profile::availability_on(&content.availability, left, ctx.today())
            as i32,
        placed_children: 0,
        state: if left {
            common::FamilyProfileState::Left as i32
        } else {
            common::FamilyProfileState::Active as i32
        },
        approved_on: Some(convert::date_to_proto(found.approved_on)),
        leaving: if left { content.leaving.clone() } else { None },
        create_time: Some(convert::timestamp_to_proto(found.created_at)),
        update_time: Some(convert::timestamp_to_proto(found.updated_at)),
        etag: support::etag(found.version),
        ..content
    })
}

/// Creates the profile of an approved case and publishes `family.approved`.
pub async fn create<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    case: &assessment_case::Model,
    draft: &ProfileDraft,
    approved_on: NaiveDate,
) -> Result<pb::FamilyProfile, ServiceError> {
    let now = ctx.now();
    let id = hearth_domain::new_id().to_string();
    let municipality = draft
        .facts
        .location
        .as_ref()
        .and_then(|location| location.municipality.as_ref())
        .map(|code| code.value.clone())
        .unwrap_or_default();
    let model = row::Model {
        id: id.clone(),
        case_id: case.id.clone(),
        municipality,
        state: ACTIVE.to_owned(),
        basic_training_status: common::BasicTrainingStatus::NotStarted as i32,
        content: support::seal(ctx, &content_of(draft), &id)?,
        approved_on,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    row::Entity::insert(row::ActiveModel::from(model.clone()))
        .exec_without_returning(conn)
        .await?;
    let event = FamilyApproved {
        family_profile_id: id.clone(),
        assessment_case_id: case.id.clone(),
        interest_registration_id: case.interest_registration_id.clone(),
        approved_on: Some(convert::date_to_proto(approved_on)),
        profile: Some(draft.facts.clone()),
        contact: Some(sealed_contact(ctx, case, &id, &draft.display_name)?),
    };
    support::publish(ctx, conn, &events::FAMILY_APPROVED, (&id, 1), &event, now).await?;
    tracing::info!(family_profile_id = %id, assessment_case_id = %case.id, "family approved");
    to_proto(ctx, &model)
}

pub async fn get(
    ctx: &ServiceContext,
    request: Request<pb::GetFamilyProfileRequest>,
) -> Result<Response<pb::GetFamilyProfileResponse>, Status> {
    let principal = caller_with(&request, READERS)?;
    let id = support::required_id(&request.get_ref().family_profile_id, "family_profile_id")?;
    let txn = ctx.begin().await.map_err(ServiceError::from)?;
    let found = load(&txn, &id).await?;
    let answer = to_proto(ctx, &found)?;
    support::audit(
        ctx,
        &txn,
        &principal,
        AuditAction::Read,
        RESOURCE,
        "GetFamilyProfile",
        [id],
    )
    .await?;
    txn.commit().await.map_err(ServiceError::from)?;
    Ok(Response::new(pb::GetFamilyProfileResponse {
        family_profile: Some(answer),
    }))
}

pub async fn list(
    ctx: &ServiceContext,
    request: Request<pb::ListFamilyProfilesRequest>,
) -> Result<Response<pb::ListFamilyProfilesResponse>, Status> {
    let principal = caller_with(&request, READERS)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let mut states = Vec::new();
    for (index, state) in request.states.iter().enumerate() {
        match common::FamilyProfileState::try_from(*state) {
            Ok(common::FamilyProfileState::Active) => states.push(ACTIVE),
            Ok(common::FamilyProfileState::Left) => states.push(LEFT),
            _ => violations.add(
                format!("states[{index}]"),
                format!("unknown or unspecified value {state}"),
            ),
        }
    }
    if states.is_empty() {
        states.push(ACTIVE);
    }
    let mut municipalities = Vec::new();
    for (index, code) in request.municipalities.iter().enumerate() {
        if let Some(code) = violations.check(
            &format!("municipalities[{index}].value"),
            convert::municipality_code(code),
        ) {
            municipalities.push(code.to_string());
        }
    }
    for (index, status) in request.basic_training_statuses.iter().enumerate() {
        if !common::BasicTrainingStatus::try_from(*status)
            .is_ok_and(|status| status != common::BasicTrainingStatus::Unspecified)
        {
            violations.add(
                format!("basic_training_statuses[{index}]"),
                format!("unknown or unspecified value {status}"),
            );
        }
    }
    // What the family takes and when it is available are sealed with the profile: matching's
    // pool is where families are searched by them.
    for (field, used) in [
        ("age_bands", !request.age_bands.is_empty()),
        ("commission_kinds", !request.commission_kinds.is_empty()),
        ("available_on", request.available_on.is_some()),
    ] {
        if used {
            violations.add(
                field,
                "is not a filter of this list yet; search the pool in matching",
            );
        }
    }
    let page = support::list_page(
        &request,
        |request| (&mut request.page_size, &mut request.page_token),
        &mut violations,
    );
    violations.finish()?;
    let mut query = row::Entity::find().filter(row::Column::State.is_in(states));
    if !municipalities.is_empty() {
        query = query.filter(row::Column::Municipality.is_in(municipalities));
    }
    if !request.basic_training_statuses.is_empty() {
        query = query.filter(
            row::Column::BasicTrainingStatus.is_in(request.basic_training_statuses.clone()),
        );
    }
    let txn = ctx.begin().await.map_err(ServiceError::from)?;
    let mut rows = page
        .newest_first(query, row::Column::CreatedAt, row::Column::Id)
        .all(&txn)
        .await
        .map_err(ServiceError::from)?;
    let next_page_token = page.finish(&mut rows, |last| Position {
        time: last.created_at,
        id: last.id.clone(),
    });
    let profiles = rows
        .iter()
        .map(|found| to_proto(ctx, found))
        .collect::<Result<Vec<_>, _>>()?;
    support::audit(
        ctx,
        &txn,
        &principal,
        AuditAction::List,
        RESOURCE,
        "ListFamilyProfiles",
        rows.iter().map(|found| found.id.clone()),
    )
    .await?;
    txn.commit().await.map_err(ServiceError::from)?;
    Ok(Response::new(pb::ListFamilyProfilesResponse {
        family_profiles: profiles,
        next_page_token,
    }))
}

fn family_left() -> ServiceError {
    ServiceError::rule(
        "FAMILY_LEFT",
        "the family has left the pool; its profile no longer changes",
    )
}

fn availability_event(
    id: &str,
    content: &pb::FamilyProfile,
    left_on: Option<NaiveDate>,
) -> FamilyAvailabilityChanged {
    FamilyAvailabilityChanged {
        family_profile_id: id.to_owned(),
        availability: content.availability.clone(),
        state: if left_on.is_some() {
            common::FamilyProfileState::Left as i32
        } else {
            common::FamilyProfileState::Active as i32
        },
        left_on: left_on.map(convert::date_to_proto),
    }
}

pub async fn update(
    ctx: &ServiceContext,
    request: Request<pb::UpdateFamilyProfileRequest>,
) -> Result<Response<pb::UpdateFamilyProfileResponse>, Status> {
    let principal = caller_with(&request, ASSESSORS)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let incoming = request.family_profile.unwrap_or_default();
    let id = support::resource_id(&incoming.id, "family_profile.id", &mut violations);
    let paths = request
        .update_mask
        .map(|mask| mask.paths)
        .unwrap_or_default();
    if paths.is_empty() {
        violations.add("update_mask", "must name at least one field to change");
    }
    if request.etag.trim().is_empty() {
        violations.add("etag", "is required");
    }
    violations.finish()?;
    let id = id.unwrap_or_default();
    let txn = ctx.begin().await.map_err(ServiceError::from)?;
    let found = load(&txn, &id).await?;
    if found.state == LEFT {
        return Err(family_left().into());
    }
    support::require_fresh(&request.etag, found.version, false)?;
    let stored: pb::FamilyProfile = support::open(ctx, &found.content, &found.id)?;
    let mut violations = Violations::new();
    let merged = profile::apply_mask(&stored, &incoming, &paths, &mut violations);
    let draft = profile::check_profile(
        &merged,
        "family_profile",
        &ctx.county,
        ctx.today(),
        &mut violations,
    );
    violations.finish()?;
    let Some(draft) = draft else {
        return Err(ServiceError::internal("checked profile missing").into());
    };
    let content = content_of(&draft);
    let availability_changed = content.availability != stored.availability;
    let rest_changed = pb::FamilyProfile {
        availability: Vec::new(),
        ..content.clone()
    } != pb::FamilyProfile {
        availability: Vec::new(),
        leaving: None,
        ..stored.clone()
    };
    if !availability_changed && !rest_changed {
        let answer = to_proto(ctx, &found)?;
        txn.commit().await.map_err(ServiceError::from)?;
        return Ok(Response::new(pb::UpdateFamilyProfileResponse {
            family_profile: Some(answer),
        }));
    }
    let now = ctx.now();
    let mut version = found.version;
    if rest_changed {
        version += 1;
        let case = super::cases::load(&txn, &found.case_id).await?;
        let event = FamilyUpdated {
            family_profile_id: id.clone(),
            profile: Some(facts_of(&content)),
            contact: Some(sealed_contact(ctx, &case, &id, &content.display_name)?),
        };
        support::publish(
            ctx,
            &txn,
            &events::FAMILY_UPDATED,
            (&id, version),
            &event,
            now,
        )
        .await?;
    }
    if availability_changed {
        version += 1;
        let event = availability_event(&id, &content, None);
        support::publish(
            ctx,
            &txn,
            &events::FAMILY_AVAILABILITY_CHANGED,
            (&id, version),
            &event,
            now,
        )
        .await?;
    }
    let mut update: row::ActiveModel = found.clone().into();
    update.content = ActiveValue::Set(support::seal(ctx, &content, &id)?);
    update.municipality = ActiveValue::Set(
        content
            .location
            .as_ref()
            .and_then(|location| location.municipality.as_ref())
            .map(|code| code.value.clone())
            .unwrap_or_default(),
    );
    update.version = ActiveValue::Set(version);
    update.updated_at = ActiveValue::Set(now);
    let updated = update.update(&txn).await.map_err(ServiceError::from)?;
    support::audit(
        ctx,
        &txn,
        &principal,
        AuditAction::Update,
        RESOURCE,
        "UpdateFamilyProfile",
        [id],
    )
    .await?;
    let answer = to_proto(ctx, &updated)?;
    txn.commit().await.map_err(ServiceError::from)?;
    ctx.outbox.notify_relay();
    Ok(Response::new(pb::UpdateFamilyProfileResponse {
        family_profile: Some(answer),
    }))
}

pub async fn close(
    ctx: &ServiceContext,
    request: Request<pb::CloseFamilyProfileRequest>,
) -> Result<Response<pb::CloseFamilyProfileResponse>, Status> {
    let principal = caller_with(&request, ASSESSORS)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let id = support::resource_id(
        &request.family_profile_id,
        "family_profile_id",
        &mut violations,
    );
    let leaving = request.leaving.clone().unwrap_or_default();
    if request.leaving.is_none() {
        violations.add("leaving", "is required");
    }
    if !pb::LeaveReason::try_from(leaving.reason)
        .is_ok_and(|reason| reason != pb::LeaveReason::Unspecified)
    {
        violations.add(
            "leaving.reason",
            format!("unknown or unspecified value {}", leaving.reason),
        );
    }
    let left_on =
        support::required_date(leaving.left_on.as_ref(), "leaving.left_on", &mut violations);
    let note = support::bounded_text(
        &leaving.note,
        MAX_LEAVING_NOTE,
        "leaving.note",
        &mut violations,
    );
    let key = support::action_key(
        ctx,
        "CloseFamilyProfile",
        &request,
        |request| &mut request.idempotency_key,
        &mut violations,
    );
    violations.finish()?;
    let (Some(id), Some(left_on), Some(key)) = (id, left_on, key) else {
        return Err(ServiceError::internal("checked closing missing").into());
    };
    let txn = ctx.begin().await.map_err(ServiceError::from)?;
    let found = load(&txn, &id).await?;
    if key.find(&txn).await?.is_some() {
        let answer = to_proto(ctx, &found)?;
        txn.commit().await.map_err(ServiceError::from)?;
        return Ok(Response::new(pb::CloseFamilyProfileResponse {
            family_profile: Some(answer),
        }));
    }
    if found.state == LEFT {
        return Err(
            ServiceError::rule("FAMILY_LEFT", "the family has left the pool already").into(),
        );
    }
    support::require_fresh(&request.etag, found.version, true)?;
    let mut content: pb::FamilyProfile = support::open(ctx, &found.content, &found.id)?;
    content.leaving = Some(pb::Leaving {
        reason: leaving.reason,
        left_on: Some(convert::date_to_proto(left_on)),
        note,
    });
    let now = ctx.now();
    let version = found.version + 1;
    let event = availability_event(&id, &content, Some(left_on));
    support::publish(
        ctx,
        &txn,
        &events::FAMILY_AVAILABILITY_CHANGED,
        (&id, version),
        &event,
        now,
    )
    .await?;
    let mut update: row::ActiveModel = found.clone().into();
    update.content = ActiveValue::Set(support::seal(ctx, &content, &id)?);
    update.state = ActiveValue::Set(LEFT.to_owned());
    update.version = ActiveValue::Set(version);
    update.updated_at = ActiveValue::Set(now);
    let updated = update.update(&txn).await.map_err(ServiceError::from)?;
    key.remember(&txn, &id, LEFT, now).await?;
    support::audit(
        ctx,
        &txn,
        &principal,
        AuditAction::Update,
        RESOURCE,
        "CloseFamilyProfile",
        [id],
    )
    .await?;
    let answer = to_proto(ctx, &updated)?;
    txn.commit().await.map_err(ServiceError::from)?;
    ctx.outbox.notify_relay();
    Ok(Response::new(pb::CloseFamilyProfileResponse {
        family_profile: Some(answer),
    }))
}

/// Marks a profile's basic course completed (`training.completed` of a basic course). A profile
/// Hearth does not know (erased, or another county's mistake) is left alone.
pub async fn record_training<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    completed: &TrainingCompleted,
) -> Result<(), ServiceError> {
    if completed.course_kind != common::CourseKind::Basic as i32 {
        return Ok(());
    }
    let Some(found) = row::Entity::find_by_id(completed.family_profile_id.clone())
        .one(conn)
        .await?
    else {
        return Ok(());
    };
    // Not a change the profile's consumers need an event for (they read `training.completed`
    // themselves), so the version (the aggregate's event count) stays.
    let mut update: row::ActiveModel = found.into();
    update.basic_training_status = ActiveValue::Set(common::BasicTrainingStatus::Completed as i32);
    update.updated_at = ActiveValue::Set(ctx.now());
    update.update(conn).await?;
    Ok(())
}
