//! Family profiles, what RPC handlers and event handlers both do with them: create one on
//! approval (`family.approved`), store a changed profile (`family.updated`,
//! `family.availability_changed`), close it when the family leaves the pool, and record the
//! basic course from `training.completed`.

use super::convert::{content_of, facts_to_proto};
use crate::domain::profile::ProfileDraft;
use crate::published;
use crate::store::entities::{assessment_case, family_profile as row};
use chrono::{DateTime, NaiveDate, Utc};
use hearth_proto::assessment::v1 as pb;
use hearth_proto::common::v1 as common;
use hearth_proto::convert;
use hearth_proto::events::v1::{
    EncryptedField, FamilyApproved, FamilyAvailabilityChanged, FamilyContact, FamilyContactAdult,
    FamilyUpdated, HouseholdDetails, TrainingCompleted,
};
use hearth_rpc::handler;
use hearth_rpc::{ServiceContext, ServiceError};
use sea_orm::{ActiveModelTrait, ActiveValue, ConnectionTrait, EntityTrait};

/// The resource type of profiles in the audit log.
pub const RESOURCE: &str = "family_profile";
/// The stored state of a profile in the pool.
pub const ACTIVE: &str = "active";
/// The stored state of a profile whose family left the pool.
pub const LEFT: &str = "left";

pub async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<row::Model, ServiceError> {
    row::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))
}

/// The sealed content of a stored profile.
pub fn content(
    ctx: &ServiceContext,
    found: &row::Model,
) -> Result<pb::FamilyProfile, ServiceError> {
    handler::open(ctx, &found.content, &found.id)
}

/// The family's name and contact details, sealed for an event of the profile.
fn sealed_contact(
    ctx: &ServiceContext,
    case: &assessment_case::Model,
    profile_id: &str,
    display_name: &str,
) -> Result<EncryptedField, ServiceError> {
    let household: HouseholdDetails = handler::open(ctx, &case.household, &case.id)?;
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

/// The municipality column of a profile's content.
fn municipality_of(content: &pb::FamilyProfile) -> String {
    content
        .location
        .as_ref()
        .and_then(|location| location.municipality.as_ref())
        .map(|code| code.value.clone())
        .unwrap_or_default()
}

/// Creates the profile of an approved case and publishes `family.approved`.
pub async fn create<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    case: &assessment_case::Model,
    draft: &ProfileDraft,
    approved_on: NaiveDate,
) -> Result<row::Model, ServiceError> {
    let now = ctx.now();
    let id = hearth_domain::new_id().to_string();
    let content = content_of(draft);
    let model = row::Model {
        id: id.clone(),
        case_id: case.id.clone(),
        municipality: municipality_of(&content),
        state: ACTIVE.to_owned(),
        basic_training_status: common::BasicTrainingStatus::NotStarted as i32,
        content: handler::seal(ctx, &content, &id)?,
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
        profile: Some(facts_to_proto(&draft.facts)),
        contact: Some(sealed_contact(ctx, case, &id, &draft.display_name)?),
    };
    handler::publish(
        ctx,
        conn,
        &published::FAMILY_APPROVED,
        (&id, 1),
        &event,
        now,
    )
    .await?;
    tracing::info!(family_profile_id = %id, assessment_case_id = %case.id, "family approved");
    Ok(model)
}

/// Publishes `family.availability_changed` of the profile `id` at `version`, as of `now`: its
/// periods in `content`, and whether (and when) the family left.
async fn publish_availability<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    (id, version): (&str, i64),
    content: &pb::FamilyProfile,
    left_on: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let event = FamilyAvailabilityChanged {
        family_profile_id: id.to_owned(),
        availability: content.availability.clone(),
        state: if left_on.is_some() {
            common::FamilyProfileState::Left as i32
        } else {
            common::FamilyProfileState::Active as i32
        },
        left_on: left_on.map(convert::date_to_proto),
    };
    handler::publish(
        ctx,
        conn,
        &published::FAMILY_AVAILABILITY_CHANGED,
        (id, version),
        &event,
        now,
    )
    .await
}

/// Stores `draft` (checked) as the profile `found`, whose content was `stored`:
/// `family.updated` when what matching sees of the family changed, `family.availability_changed`
/// when its periods did. `None` when nothing changed (nothing is written).
pub async fn update<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    found: &row::Model,
    stored: &pb::FamilyProfile,
    draft: &ProfileDraft,
) -> Result<Option<row::Model>, ServiceError> {
    let content = content_of(draft);
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
        return Ok(None);
    }
    let id = &found.id;
    let now = ctx.now();
    let mut version = found.version;
    if rest_changed {
        version += 1;
        let case = assessment_case::Entity::find_by_id(found.case_id.clone())
            .one(conn)
            .await?
            .ok_or_else(|| ServiceError::not_found("assessment_case", &found.case_id))?;
        let event = FamilyUpdated {
            family_profile_id: id.clone(),
            profile: Some(facts_to_proto(&draft.facts)),
            contact: Some(sealed_contact(ctx, &case, id, &content.display_name)?),
        };
        handler::publish(
            ctx,
            conn,
            &published::FAMILY_UPDATED,
            (id, version),
            &event,
            now,
        )
        .await?;
    }
    if availability_changed {
        version += 1;
        publish_availability(ctx, conn, (id, version), &content, None, now).await?;
    }
    let mut update: row::ActiveModel = found.clone().into();
    update.content = ActiveValue::Set(handler::seal(ctx, &content, id)?);
    update.municipality = ActiveValue::Set(municipality_of(&content));
    update.version = ActiveValue::Set(version);
    update.updated_at = ActiveValue::Set(now);
    Ok(Some(update.update(conn).await?))
}

/// How a family leaves the pool (checked).
pub struct Leaving {
    /// A `LeaveReason`, specified.
    pub reason: i32,
    pub left_on: NaiveDate,
    pub note: String,
}

/// Closes the profile `found` (in the pool) and publishes `family.availability_changed` with
/// the family left.
pub async fn close<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    found: &row::Model,
    leaving: Leaving,
) -> Result<row::Model, ServiceError> {
    let id = &found.id;
    let mut content = content(ctx, found)?;
    content.leaving = Some(pb::Leaving {
        reason: leaving.reason,
        left_on: Some(convert::date_to_proto(leaving.left_on)),
        note: leaving.note,
    });
    let now = ctx.now();
    let version = found.version + 1;
    let left_on = Some(leaving.left_on);
    publish_availability(ctx, conn, (id, version), &content, left_on, now).await?;
    let mut update: row::ActiveModel = found.clone().into();
    update.content = ActiveValue::Set(handler::seal(ctx, &content, id)?);
    update.state = ActiveValue::Set(LEFT.to_owned());
    update.version = ActiveValue::Set(version);
    update.updated_at = ActiveValue::Set(now);
    Ok(update.update(conn).await?)
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
