//! Assessment cases, what RPC handlers and event handlers both do with them: load one (with
//! its stage entries and register checks), the facts the stage rules look at, open a case from
//! `interest.registered`, keep its household current, and record a decision (by staff, or the
//! family's withdrawal through intake) with its stage entry and event.

use super::convert::{check_outcome_from_proto, outcome_to_proto, register_from_proto};
use super::profiles;
use crate::domain::checks::{self, Coverage, RecordedCheck};
use crate::domain::profile::ProfileDraft;
use crate::domain::stage::{CaseFacts, Outcome, Stage};
use crate::domain::timing;
use crate::published;
use crate::store::entities::{
    assessment_case as row, erased_registration, family_profile, register_check, stage_entry,
};
use chrono::{DateTime, NaiveDate, Utc};
use hearth_county::FamilyOpenness;
use hearth_proto::assessment::v1 as pb;
use hearth_proto::convert;
use hearth_proto::events::v1::{
    FamilyRejected, HouseholdDetails, InterestRegistered, InterestRegistrationUpdated,
    InterestRegistrationWithdrawn,
};
use hearth_rpc::handler::{self, is_unique_violation};
use hearth_rpc::{ServiceContext, ServiceError};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use std::collections::HashMap;

/// The resource type of cases in the audit log.
pub const RESOURCE: &str = "assessment_case";

/// The case with this id.
pub async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<row::Model, ServiceError> {
    row::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))
}

async fn by_registration<C: ConnectionTrait>(
    conn: &C,
    registration_id: &str,
) -> Result<Option<row::Model>, ServiceError> {
    Ok(row::Entity::find()
        .filter(row::Column::InterestRegistrationId.eq(registration_id))
        .one(conn)
        .await?)
}

async fn is_erased<C: ConnectionTrait>(
    conn: &C,
    registration_id: &str,
) -> Result<bool, ServiceError> {
    Ok(
        erased_registration::Entity::find_by_id(registration_id.to_owned())
            .one(conn)
            .await?
            .is_some(),
    )
}

/// The stage entries and register checks of a set of cases: two queries whatever the count.
#[derive(Default)]
pub struct Related {
    stages: HashMap<String, Vec<stage_entry::Model>>,
    checks: HashMap<String, Vec<register_check::Model>>,
}

impl Related {
    pub async fn load<C: ConnectionTrait>(conn: &C, ids: &[String]) -> Result<Self, ServiceError> {
        let mut related = Self::default();
        if ids.is_empty() {
            return Ok(related);
        }
        for entry in stage_entry::Entity::find()
            .filter(stage_entry::Column::CaseId.is_in(ids.to_vec()))
            .order_by_asc(stage_entry::Column::EnteredAt)
            .all(conn)
            .await?
        {
            related
                .stages
                .entry(entry.case_id.clone())
                .or_default()
                .push(entry);
        }
        for check in register_check::Entity::find()
            .filter(register_check::Column::CaseId.is_in(ids.to_vec()))
            .order_by_asc(register_check::Column::CreatedAt)
            .order_by_asc(register_check::Column::Id)
            .all(conn)
            .await?
        {
            related
                .checks
                .entry(check.case_id.clone())
                .or_default()
                .push(check);
        }
        Ok(related)
    }

    pub fn checks_of(&self, case_id: &str) -> &[register_check::Model] {
        self.checks.get(case_id).map_or(&[], Vec::as_slice)
    }

    pub fn stages_of(&self, case_id: &str) -> &[stage_entry::Model] {
        self.stages.get(case_id).map_or(&[], Vec::as_slice)
    }
}

/// A case's register checks, oldest first.
pub async fn load_checks<C: ConnectionTrait>(
    conn: &C,
    case_id: &str,
) -> Result<Vec<register_check::Model>, ServiceError> {
    Ok(register_check::Entity::find()
        .filter(register_check::Column::CaseId.eq(case_id))
        .order_by_asc(register_check::Column::CreatedAt)
        .order_by_asc(register_check::Column::Id)
        .all(conn)
        .await?)
}

/// The ids of a case's adults, in the household's order.
pub fn adult_ids(case: &row::Model) -> Vec<String> {
    case.adult_ids
        .split(',')
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Where a stored case stands.
pub fn stage_of(case: &row::Model) -> Result<Stage, ServiceError> {
    Stage::parse(&case.stage)
        .ok_or_else(|| ServiceError::internal(format!("unknown stored stage {}", case.stage)))
}

/// How a stored case ended, if it did.
pub fn outcome_of(case: &row::Model) -> Option<Outcome> {
    case.outcome.as_deref().and_then(Outcome::parse)
}

/// What the stage rules look at for `case`.
pub fn facts(
    case: &row::Model,
    checks: &[register_check::Model],
    method_given: bool,
) -> Result<CaseFacts, ServiceError> {
    let recorded: Vec<RecordedCheck<'_>> = checks
        .iter()
        .filter_map(|check| {
            Some(RecordedCheck {
                adult_id: &check.adult_id,
                register: register_from_proto(check.register)?,
                outcome: check_outcome_from_proto(check.outcome)?,
            })
        })
        .collect();
    let coverage: Coverage = checks::coverage(&adult_ids(case), &recorded);
    Ok(CaseFacts {
        stage: stage_of(case)?,
        outcome: outcome_of(case),
        has_method: method_given || case.method != pb::AssessmentMethod::Unspecified as i32,
        checks: coverage,
    })
}

/// The stage entry of `case` entering `stage`.
pub fn stage_row(
    case: &row::Model,
    stage: Stage,
    entered_at: DateTime<Utc>,
    entered_by: &str,
    on: NaiveDate,
) -> stage_entry::ActiveModel {
    stage_entry::ActiveModel {
        case_id: ActiveValue::Set(case.id.clone()),
        stage: ActiveValue::Set(stage.as_str().to_owned()),
        entered_at: ActiveValue::Set(entered_at),
        entered_by: ActiveValue::Set(entered_by.to_owned()),
        received_at: ActiveValue::Set(case.received_at),
        days_from_registration: ActiveValue::Set(
            i32::try_from(timing::days_between(case.received_at, on)).unwrap_or(i32::MAX),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// What intake's events do.

/// Opens the case of a registration, once: a redelivered or replayed event finds it (or finds
/// the registration erased) and changes nothing.
pub async fn open_case<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    registered: &InterestRegistered,
    registration_version: i64,
    received_at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let registration_id = registered.interest_registration_id.as_str();
    if uuid::Uuid::parse_str(registration_id).is_err() {
        return Err(ServiceError::invalid(
            "interest_registration_id",
            "must be an id (a UUID)",
        ));
    }
    if is_erased(conn, registration_id).await?
        || by_registration(conn, registration_id).await?.is_some()
    {
        return Ok(());
    }
    let Some(sealed) = &registered.household else {
        return Err(ServiceError::invalid("household", "is required"));
    };
    let household: HouseholdDetails = ctx
        .keyring
        .open_message(sealed, registration_id)
        .map_err(ServiceError::internal)?;
    let home = registered
        .home_municipality
        .as_ref()
        .map(|code| code.value.clone())
        .unwrap_or_default();
    let age_bands: Vec<_> = registered
        .age_bands
        .iter()
        .filter_map(|band| convert::age_band(*band))
        .collect();
    let commission_kinds: Vec<_> = registered
        .commission_kinds
        .iter()
        .filter_map(|kind| convert::commission_kind(*kind))
        .collect();
    let rank = ctx.county.assessment().priority_rank(&FamilyOpenness {
        age_bands: &age_bands,
        commission_kinds: &commission_kinds,
        has_earlier_experience: registered.has_earlier_experience,
    });
    let now = ctx.now();
    let id = hearth_domain::new_id().to_string();
    let adult_ids: Vec<String> = household
        .adults
        .iter()
        .map(|_| hearth_domain::new_id().to_string())
        .collect();
    let case = row::Model {
        id: id.clone(),
        interest_registration_id: registration_id.to_owned(),
        registration_version,
        home_municipality: home,
        age_bands: join_numbers(&registered.age_bands),
        commission_kinds: join_numbers(&registered.commission_kinds),
        has_earlier_experience: registered.has_earlier_experience,
        priority_rank: i32::try_from(rank).unwrap_or(i32::MAX),
        household: handler::seal(ctx, &household, &id)?,
        adult_ids: adult_ids.join(","),
        stage: Stage::FirstContact.as_str().to_owned(),
        method: pb::AssessmentMethod::Unspecified as i32,
        assigned_staff_id: None,
        first_contact_date: None,
        outcome: None,
        decided_on: None,
        decided_by: None,
        rationale: None,
        family_profile_id: None,
        received_at,
        decided_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let inserted = row::Entity::insert(row::ActiveModel::from(case.clone()))
        .exec_without_returning(conn)
        .await;
    if let Err(error) = inserted {
        if is_unique_violation(&error) {
            return Err(ServiceError::Aborted {
                reason: "CONCURRENT_OPEN",
                message: "the registration's case was opened concurrently".to_owned(),
            });
        }
        return Err(error.into());
    }
    stage_entry::Entity::insert(stage_row(&case, Stage::FirstContact, now, "", ctx.today()))
        .exec_without_returning(conn)
        .await?;
    tracing::info!(assessment_case_id = %id, interest_registration_id = %registration_id, priority_rank = rank, "assessment case opened");
    Ok(())
}

/// The case of a registration that an event is about: `None` when it was erased (the event is
/// moot), `NotFound` (retried) while `interest.registered` has not arrived.
async fn case_for_event<C: ConnectionTrait>(
    conn: &C,
    registration_id: &str,
) -> Result<Option<row::Model>, ServiceError> {
    if let Some(case) = by_registration(conn, registration_id).await? {
        return Ok(Some(case));
    }
    if is_erased(conn, registration_id).await? {
        return Ok(None);
    }
    Err(ServiceError::not_found(
        "interest_registration",
        registration_id,
    ))
}

/// Keeps a case's household details current (`interest.updated`); an older version is skipped.
pub async fn refresh_household<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    updated: &InterestRegistrationUpdated,
    registration_version: i64,
) -> Result<(), ServiceError> {
    let registration_id = updated.interest_registration_id.as_str();
    let Some(case) = case_for_event(conn, registration_id).await? else {
        return Ok(());
    };
    if registration_version <= case.registration_version {
        return Ok(());
    }
    let Some(sealed) = &updated.household else {
        return Err(ServiceError::invalid("household", "is required"));
    };
    let household: HouseholdDetails = ctx
        .keyring
        .open_message(sealed, registration_id)
        .map_err(ServiceError::internal)?;
    let mut ids = adult_ids(&case);
    ids.resize_with(household.adults.len(), || {
        hearth_domain::new_id().to_string()
    });
    let mut update: row::ActiveModel = case.clone().into();
    update.household = ActiveValue::Set(handler::seal(ctx, &household, &case.id)?);
    update.adult_ids = ActiveValue::Set(ids.join(","));
    update.registration_version = ActiveValue::Set(registration_version);
    update.version = ActiveValue::Set(case.version + 1);
    update.updated_at = ActiveValue::Set(ctx.now());
    update.update(conn).await?;
    Ok(())
}

/// Ends an undecided case as withdrawn by the family (`interest.withdrawn`).
pub async fn withdraw_by_family<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    withdrawn: &InterestRegistrationWithdrawn,
) -> Result<(), ServiceError> {
    let Some(case) = case_for_event(conn, &withdrawn.interest_registration_id).await? else {
        return Ok(());
    };
    if case.outcome.is_some() {
        return Ok(());
    }
    let on = withdrawn
        .withdrawn_on
        .as_ref()
        .and_then(convert::date)
        .unwrap_or_else(|| ctx.today());
    record_decision(
        ctx,
        conn,
        &case,
        Decided {
            outcome: Outcome::WithdrawnByFamily,
            on,
            by: "",
            rationale: "",
        },
        None,
    )
    .await?;
    tracing::info!(assessment_case_id = %case.id, "assessment case ended: withdrawn by the family");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Deciding.

/// A decision to record.
pub struct Decided<'a> {
    pub outcome: Outcome,
    pub on: NaiveDate,
    /// The staff member's subject; empty when the family withdrew through intake.
    pub by: &'a str,
    pub rationale: &'a str,
}

/// Records a decision on `case` (whose rules were checked) with its stage entry and event:
/// `family.approved` with the new profile (answered beside the case), else `family.rejected`.
pub async fn record_decision<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    case: &row::Model,
    decided: Decided<'_>,
    profile: Option<&ProfileDraft>,
) -> Result<(row::Model, Option<family_profile::Model>), ServiceError> {
    let now = ctx.now();
    let profile = match profile {
        Some(draft) => Some(profiles::create(ctx, conn, case, draft, decided.on).await?),
        None => None,
    };
    let mut update: row::ActiveModel = case.clone().into();
    update.stage = ActiveValue::Set(Stage::Decided.as_str().to_owned());
    update.outcome = ActiveValue::Set(Some(decided.outcome.as_str().to_owned()));
    update.decided_on = ActiveValue::Set(Some(decided.on));
    update.decided_by = ActiveValue::Set((!decided.by.is_empty()).then(|| decided.by.to_owned()));
    update.rationale = ActiveValue::Set(if decided.rationale.is_empty() {
        None
    } else {
        Some(handler::seal_text(ctx, decided.rationale, &case.id)?)
    });
    update.family_profile_id = ActiveValue::Set(profile.as_ref().map(|found| found.id.clone()));
    update.decided_at = ActiveValue::Set(Some(now));
    update.version = ActiveValue::Set(case.version + 1);
    update.updated_at = ActiveValue::Set(now);
    let updated = update.update(conn).await?;
    stage_entry::Entity::insert(stage_row(case, Stage::Decided, now, decided.by, decided.on))
        .exec_without_returning(conn)
        .await?;
    if decided.outcome != Outcome::Approved {
        let event = FamilyRejected {
            assessment_case_id: case.id.clone(),
            interest_registration_id: case.interest_registration_id.clone(),
            home_municipality: Some(hearth_proto::common::v1::MunicipalityCode {
                value: case.home_municipality.clone(),
            }),
            outcome: outcome_to_proto(decided.outcome) as i32,
            decided_on: Some(convert::date_to_proto(decided.on)),
        };
        handler::publish(
            ctx,
            conn,
            &published::FAMILY_REJECTED,
            (&case.id, published::CASE_REJECTED_VERSION),
            &event,
            now,
        )
        .await?;
    }
    Ok((updated, profile))
}

/// Enum numbers as a sorted, comma-separated column.
fn join_numbers(values: &[i32]) -> String {
    let mut values = values.to_vec();
    values.sort_unstable();
    values.dedup();
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
