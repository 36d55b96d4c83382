//! The pool's read model, from assessment's `family.*` and training's `training.completed`.
//!
//! Which events carry the full state: `family.approved` carries the whole profile and its
//! availability; `family.updated` the whole profile but not the availability;
//! `family.availability_changed` the whole availability and whether the family left, but not
//! the profile. So each of the two parts keeps the aggregate version it was set at, and an event
//! applies to its part only when its version is newer than the part's: an older or equal one
//! (a redelivery, or an event overtaken by a later one) changes nothing, and a gap is fine
//! because each event replaces its part whole. An event may arrive before `family.approved`
//! (another subscription, a redelivery): it starts the row, and the approval fills in the rest.
//! `family.erased` is final: the facts are cleared and nothing later applies. The sealed
//! contact details (names, e-mail, phone) are never stored: ranking needs none of them.

use crate::store::entities::family as row;
use chrono::{DateTime, Utc};
use hearth_proto::common::v1 as common;
use hearth_proto::convert;
use hearth_proto::events::v1::{
    FamilyApproved, FamilyAvailabilityChanged, FamilyProfileFacts, FamilyUpdated, TrainingCompleted,
};
use hearth_rpc::ServiceError;
use prost::Message;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// The resource type of a family in the audit log.
pub const RESOURCE: &str = "family";

/// The stored row of `id`, or a new empty one (and whether it is stored).
async fn find_or_new<C: ConnectionTrait>(
    now: DateTime<Utc>,
    conn: &C,
    id: &str,
) -> Result<(row::Model, bool), ServiceError> {
    if let Some(found) = row::Entity::find_by_id(id.to_owned()).one(conn).await? {
        return Ok((found, true));
    }
    let empty = row::Model {
        id: id.to_owned(),
        profile_version: 0,
        profile: None,
        availability_version: 0,
        availability: None,
        left_pool: false,
        approved_on: None,
        basic_course_done: false,
        erased: false,
        updated_at: now,
    };
    Ok((empty, false))
}

/// Inserts or updates `model`. A concurrent insert of the same family (two subscriptions) is a
/// conflict the handler retries.
async fn save<C: ConnectionTrait>(
    now: DateTime<Utc>,
    conn: &C,
    mut model: row::Model,
    stored: bool,
) -> Result<(), ServiceError> {
    model.updated_at = now;
    let active = row::ActiveModel::from(model).reset_all();
    if stored {
        active.update(conn).await?;
        return Ok(());
    }
    super::insert(conn, active).await
}

/// The profile part: the facts without the availability (kept in its own part).
fn profile_part(facts: &FamilyProfileFacts) -> Vec<u8> {
    FamilyProfileFacts {
        availability: Vec::new(),
        ..facts.clone()
    }
    .encode_to_vec()
}

/// The availability part: the periods and the state, without the id.
fn availability_part(changed: &FamilyAvailabilityChanged) -> Vec<u8> {
    FamilyAvailabilityChanged {
        family_profile_id: String::new(),
        ..changed.clone()
    }
    .encode_to_vec()
}

fn set_profile(model: &mut row::Model, facts: &FamilyProfileFacts, version: i64) {
    if version > model.profile_version {
        model.profile = Some(profile_part(facts));
        model.profile_version = version;
    }
}

fn set_availability(model: &mut row::Model, changed: &FamilyAvailabilityChanged, version: i64) {
    if version > model.availability_version {
        model.availability = Some(availability_part(changed));
        model.left_pool = changed.state == common::FamilyProfileState::Left as i32;
        model.availability_version = version;
    }
}

/// `family.approved` at `version`: the family joins the pool.
pub async fn approved<C: ConnectionTrait>(
    now: DateTime<Utc>,
    conn: &C,
    event: &FamilyApproved,
    version: i64,
) -> Result<(), ServiceError> {
    let (mut model, stored) = find_or_new(now, conn, &event.family_profile_id).await?;
    if model.erased {
        return Ok(());
    }
    let facts = event.profile.clone().unwrap_or_default();
    model.approved_on = event.approved_on.as_ref().and_then(convert::date);
    set_profile(&mut model, &facts, version);
    let availability = FamilyAvailabilityChanged {
        family_profile_id: String::new(),
        availability: facts.availability.clone(),
        state: common::FamilyProfileState::Active as i32,
        left_on: None,
    };
    set_availability(&mut model, &availability, version);
    save(now, conn, model, stored).await
}

/// `family.updated` at `version`: the profile (not the availability) is replaced.
pub async fn updated<C: ConnectionTrait>(
    now: DateTime<Utc>,
    conn: &C,
    event: &FamilyUpdated,
    version: i64,
) -> Result<(), ServiceError> {
    let (mut model, stored) = find_or_new(now, conn, &event.family_profile_id).await?;
    if model.erased || version <= model.profile_version {
        return Ok(());
    }
    set_profile(
        &mut model,
        &event.profile.clone().unwrap_or_default(),
        version,
    );
    save(now, conn, model, stored).await
}

/// `family.availability_changed` at `version`: the periods and the state are replaced (a
/// family that left stays, marked, so that "why not this family?" can say it left).
pub async fn availability_changed<C: ConnectionTrait>(
    now: DateTime<Utc>,
    conn: &C,
    event: &FamilyAvailabilityChanged,
    version: i64,
) -> Result<(), ServiceError> {
    let (mut model, stored) = find_or_new(now, conn, &event.family_profile_id).await?;
    if model.erased || version <= model.availability_version {
        return Ok(());
    }
    set_availability(&mut model, event, version);
    save(now, conn, model, stored).await
}

/// `family.erased` of the aggregate `id`: every fact of the family is removed, and the row stays
/// as a tombstone (the id only) so that a late or replayed event cannot bring it back. Today
/// assessment erases only cases that never became families (their id is no family's), so the
/// tombstone then names nothing in the pool.
pub async fn erased<C: ConnectionTrait>(
    now: DateTime<Utc>,
    conn: &C,
    id: &str,
) -> Result<(), ServiceError> {
    let (mut model, stored) = find_or_new(now, conn, id).await?;
    if model.erased {
        return Ok(());
    }
    model.erased = true;
    model.profile = None;
    model.availability = None;
    model.approved_on = None;
    model.left_pool = false;
    model.basic_course_done = false;
    save(now, conn, model, stored).await
}

/// `training.completed`: a basic course done counts for the family (other courses do not).
pub async fn training_completed<C: ConnectionTrait>(
    now: DateTime<Utc>,
    conn: &C,
    event: &TrainingCompleted,
) -> Result<(), ServiceError> {
    if event.course_kind != common::CourseKind::Basic as i32 {
        return Ok(());
    }
    let (mut model, stored) = find_or_new(now, conn, &event.family_profile_id).await?;
    if model.erased || model.basic_course_done {
        return Ok(());
    }
    model.basic_course_done = true;
    save(now, conn, model, stored).await
}

/// The families of the pool whose profile is known (left ones included, marked), by id.
pub async fn load<C: ConnectionTrait>(conn: &C) -> Result<Vec<row::Model>, ServiceError> {
    Ok(row::Entity::find()
        .filter(row::Column::Erased.eq(false))
        .filter(row::Column::Profile.is_not_null())
        .all(conn)
        .await?)
}
