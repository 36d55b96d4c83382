//! Assessment cases: opened from `interest.registered`, read, listed as the queue, worked on
//! (assessor, method, first contact), moved through the stages, decided; and their timings.

use super::support::{self, ASSESSORS, READERS, caller_with};
use crate::domain::checks::{self, CheckOutcome, Coverage, RecordedCheck, Register};
use crate::domain::profile::{self, ProfileDraft};
use crate::domain::stage::{self, CaseFacts, Outcome, Rule, Stage};
use crate::domain::timing::{self, Distribution};
use crate::events;
use crate::store::entities::{
    assessment_case as row, erased_registration, register_check, stage_entry,
};
use chrono::{DateTime, NaiveDate, Utc};
use hearth_audit::AuditAction;
use hearth_auth::Principal;
use hearth_county::FamilyOpenness;
use hearth_proto::assessment::v1 as pb;
use hearth_proto::convert;
use hearth_proto::events::v1::{
    FamilyRejected, HouseholdDetails, InterestRegistered, InterestRegistrationUpdated,
    InterestRegistrationWithdrawn,
};
use hearth_rpc::paging::Position;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashMap;
use tonic::{Request, Response, Status};

pub const RESOURCE: &str = "assessment_case";
const MAX_RATIONALE: usize = 4000;
const MAX_STAFF_ID: usize = 128;

/// A refused transition or decision, as the caller sees it.
pub fn rule_error(rule: Rule) -> ServiceError {
    ServiceError::rule(rule.reason(), rule.message())
}

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

    fn checks_of(&self, case_id: &str) -> &[register_check::Model] {
        self.checks.get(case_id).map_or(&[], Vec::as_slice)
    }

    fn stages_of(&self, case_id: &str) -> &[stage_entry::Model] {
        self.stages.get(case_id).map_or(&[], Vec::as_slice)
    }
}

/// A case's register checks, oldest first.
async fn load_checks<C: ConnectionTrait>(
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

fn adult_ids(case: &row::Model) -> Vec<String> {
    case.adult_ids
        .split(',')
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

fn stage_of(case: &row::Model) -> Result<Stage, ServiceError> {
    Stage::parse(&case.stage)
        .ok_or_else(|| ServiceError::internal(format!("unknown stored stage {}", case.stage)))
}

fn outcome_of(case: &row::Model) -> Option<Outcome> {
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
                register: Register::from_proto(check.register)?,
                outcome: CheckOutcome::from_proto(check.outcome)?,
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

fn stage_row(
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

/// A stored case as the API shows it; without `full`, the list view (no personal identity
/// numbers, contact details, address, check notes and references, or grounds of the decision).
pub fn to_proto(
    ctx: &ServiceContext,
    case: &row::Model,
    related: &Related,
    full: bool,
) -> Result<pb::AssessmentCase, ServiceError> {
    let household: HouseholdDetails = support::open(ctx, &case.household, &case.id)?;
    let adults = household
        .adults
        .into_iter()
        .zip(adult_ids(case))
        .map(|(adult, id)| pb::CaseAdult {
            id,
            given_name: adult.given_name,
            family_name: adult.family_name,
            personal_identity_number: if full {
                adult.personal_identity_number
            } else {
                String::new()
            },
            email: if full { adult.email } else { String::new() },
            phone: if full { adult.phone } else { String::new() },
        })
        .collect();
    let register_checks = related
        .checks_of(&case.id)
        .iter()
        .map(|check| super::checks::to_proto(ctx, check, full))
        .collect::<Result<Vec<_>, _>>()?;
    let stage_history = related
        .stages_of(&case.id)
        .iter()
        .filter_map(|entry| {
            Some(pb::StageEntry {
                stage: Stage::parse(&entry.stage)?.to_proto() as i32,
                enter_time: Some(convert::timestamp_to_proto(entry.entered_at)),
                entered_by: entry.entered_by.clone(),
                days_from_registration: u32::try_from(entry.days_from_registration)
                    .unwrap_or_default(),
            })
        })
        .collect();
    let today = ctx.today();
    let outcome = outcome_of(case);
    let decision = match (outcome, case.decided_on) {
        (Some(outcome), Some(decided_on)) => Some(pb::Decision {
            outcome: outcome.to_proto() as i32,
            decided_on: Some(convert::date_to_proto(decided_on)),
            decided_by: case.decided_by.clone().unwrap_or_default(),
            rationale: match (&case.rationale, full) {
                (Some(sealed), true) => {
                    let plain = ctx
                        .keyring
                        .open_text(sealed, case.id.as_bytes())
                        .map_err(ServiceError::internal)?;
                    String::from_utf8(plain.to_vec()).map_err(ServiceError::internal)?
                }
                _ => String::new(),
            },
            family_profile_id: case.family_profile_id.clone().unwrap_or_default(),
        }),
        _ => None,
    };
    let until = case.decided_on.unwrap_or(today);
    Ok(pb::AssessmentCase {
        id: case.id.clone(),
        interest_registration_id: case.interest_registration_id.clone(),
        adults,
        home_municipality: Some(hearth_proto::common::v1::MunicipalityCode {
            value: case.home_municipality.clone(),
        }),
        stage: stage_of(case)?.to_proto() as i32,
        method: case.method,
        assigned_staff_id: case.assigned_staff_id.clone().unwrap_or_default(),
        first_contact_date: case.first_contact_date.map(convert::date_to_proto),
        priority_rank: u32::try_from(case.priority_rank).unwrap_or_default(),
        register_checks,
        decision,
        received_time: Some(convert::timestamp_to_proto(case.received_at)),
        days_in_assessment: timing::days_between(case.received_at, until),
        create_time: Some(convert::timestamp_to_proto(case.created_at)),
        update_time: Some(convert::timestamp_to_proto(case.updated_at)),
        etag: support::etag(case.version),
        stage_history,
        over_time_limit: outcome.is_none()
            && timing::over_time_limit(
                case.received_at,
                today,
                ctx.county.assessment().time_limit_days,
            ),
        address: if full { household.address } else { None },
    })
}

/// One case, full, its read recorded in `txn` (then committed) before it is returned.
async fn answer(
    ctx: &ServiceContext,
    txn: hearth_rpc::Transaction,
    principal: &Principal,
    case: &row::Model,
    action: AuditAction,
    operation: &str,
) -> Result<pb::AssessmentCase, ServiceError> {
    let related = Related::load(&txn, std::slice::from_ref(&case.id)).await?;
    let answer = to_proto(ctx, case, &related, true)?;
    support::audit(
        ctx,
        &txn,
        principal,
        action,
        RESOURCE,
        operation,
        [case.id.clone()],
    )
    .await?;
    txn.commit().await?;
    Ok(answer)
}

// ---------------------------------------------------------------------------------------------
// Events from intake.

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
        age_bands: support::join_numbers(&registered.age_bands),
        commission_kinds: support::join_numbers(&registered.commission_kinds),
        has_earlier_experience: registered.has_earlier_experience,
        priority_rank: i32::try_from(rank).unwrap_or(i32::MAX),
        household: support::seal(ctx, &household, &id)?,
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
        if matches!(
            error.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ) {
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
    update.household = ActiveValue::Set(support::seal(ctx, &household, &case.id)?);
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
/// `family.approved` with the new profile, else `family.rejected`.
async fn record_decision<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    case: &row::Model,
    decided: Decided<'_>,
    profile: Option<&ProfileDraft>,
) -> Result<(row::Model, Option<pb::FamilyProfile>), ServiceError> {
    let now = ctx.now();
    let profile = match profile {
        Some(draft) => Some(super::profiles::create(ctx, conn, case, draft, decided.on).await?),
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
        Some(
            ctx.keyring
                .seal_text(decided.rationale.as_bytes(), case.id.as_bytes())
                .map_err(ServiceError::internal)?,
        )
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
            outcome: decided.outcome.to_proto() as i32,
            decided_on: Some(convert::date_to_proto(decided.on)),
        };
        support::publish(
            ctx,
            conn,
            &events::FAMILY_REJECTED,
            (&case.id, events::CASE_REJECTED_VERSION),
            &event,
            now,
        )
        .await?;
    }
    Ok((updated, profile))
}

pub async fn decide(
    ctx: &ServiceContext,
    request: Request<pb::DecideAssessmentRequest>,
) -> Result<Response<pb::DecideAssessmentResponse>, Status> {
    let principal = caller_with(&request, ASSESSORS)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let id = support::resource_id(
        &request.assessment_case_id,
        "assessment_case_id",
        &mut violations,
    );
    let outcome = Outcome::from_proto(request.outcome);
    if outcome.is_none() {
        violations.add(
            "outcome",
            "is required: approved, not suitable or withdrawn by the family",
        );
    }
    let on = support::required_date(request.decided_on.as_ref(), "decided_on", &mut violations);
    if on.is_some_and(|on| on > ctx.today()) {
        violations.add("decided_on", "must not be in the future");
    }
    let rationale = support::bounded_text(
        &request.rationale,
        MAX_RATIONALE,
        "rationale",
        &mut violations,
    );
    let draft = match (outcome, &request.family_profile) {
        (Some(Outcome::Approved), None) => {
            violations.add("family_profile", "is required when approving");
            None
        }
        (Some(Outcome::Approved), Some(input)) => profile::check_profile(
            input,
            "family_profile",
            &ctx.county,
            on.unwrap_or_else(|| ctx.today()),
            &mut violations,
        ),
        (_, Some(_)) => {
            violations.add("family_profile", "is only given when approving");
            None
        }
        (_, None) => None,
    };
    let key = support::action_key(
        ctx,
        "DecideAssessment",
        &request,
        |request| &mut request.idempotency_key,
        &mut violations,
    );
    violations.finish()?;
    let (Some(id), Some(outcome), Some(on), Some(key)) = (id, outcome, on, key) else {
        return Err(ServiceError::internal("checked decision missing").into());
    };

    let txn = ctx.begin().await.map_err(ServiceError::from)?;
    let case = load(&txn, &id).await?;
    if key.find(&txn).await?.is_some() {
        let profile = match &case.family_profile_id {
            Some(profile_id) => Some(super::profiles::to_proto(
                ctx,
                &super::profiles::load(&txn, profile_id).await?,
            )?),
            None => None,
        };
        let answer = answer(
            ctx,
            txn,
            &principal,
            &case,
            AuditAction::Read,
            "DecideAssessment",
        )
        .await?;
        return Ok(Response::new(pb::DecideAssessmentResponse {
            assessment_case: Some(answer),
            family_profile: profile,
        }));
    }
    support::require_fresh(&request.etag, case.version, true)?;
    let checks = load_checks(&txn, &id).await?;
    stage::check_decision(&facts(&case, &checks, false)?, outcome).map_err(rule_error)?;
    let (updated, profile) = record_decision(
        ctx,
        &txn,
        &case,
        Decided {
            outcome,
            on,
            by: principal.subject(),
            rationale: &rationale,
        },
        draft.as_ref(),
    )
    .await?;
    key.remember(&txn, &id, outcome.as_str(), ctx.now()).await?;
    let answer = answer(
        ctx,
        txn,
        &principal,
        &updated,
        AuditAction::Update,
        "DecideAssessment",
    )
    .await?;
    ctx.outbox.notify_relay();
    tracing::info!(assessment_case_id = %id, outcome = outcome.as_str(), "assessment decided");
    Ok(Response::new(pb::DecideAssessmentResponse {
        assessment_case: Some(answer),
        family_profile: profile,
    }))
}

// ---------------------------------------------------------------------------------------------
// Reading.

pub async fn get(
    ctx: &ServiceContext,
    request: Request<pb::GetAssessmentCaseRequest>,
) -> Result<Response<pb::GetAssessmentCaseResponse>, Status> {
    let principal = caller_with(&request, READERS)?;
    let id = support::required_id(&request.get_ref().assessment_case_id, "assessment_case_id")?;
    let txn = ctx.begin().await.map_err(ServiceError::from)?;
    let case = load(&txn, &id).await?;
    let answer = answer(
        ctx,
        txn,
        &principal,
        &case,
        AuditAction::Read,
        "GetAssessmentCase",
    )
    .await?;
    Ok(Response::new(pb::GetAssessmentCaseResponse {
        assessment_case: Some(answer),
    }))
}

/// The queue's keyset position: the id part carries the rank (`<rank>/<id>`).
fn queue_position(case: &row::Model) -> Position {
    Position {
        time: case.received_at,
        id: format!("{}/{}", case.priority_rank, case.id),
    }
}

fn after_queue_position(position: &Position) -> Result<Condition, ServiceError> {
    let invalid = || ServiceError::invalid("page_token", "is not a page token from this list");
    let (rank, id) = position.id.split_once('/').ok_or_else(invalid)?;
    let rank: i32 = rank.parse().map_err(|_| invalid())?;
    Ok(Condition::any()
        .add(row::Column::PriorityRank.gt(rank))
        .add(
            Condition::all()
                .add(row::Column::PriorityRank.eq(rank))
                .add(row::Column::ReceivedAt.gt(position.time)),
        )
        .add(
            Condition::all()
                .add(row::Column::PriorityRank.eq(rank))
                .add(row::Column::ReceivedAt.eq(position.time))
                .add(row::Column::Id.gt(id.to_owned())),
        ))
}

pub async fn list(
    ctx: &ServiceContext,
    request: Request<pb::ListAssessmentCasesRequest>,
) -> Result<Response<pb::ListAssessmentCasesResponse>, Status> {
    let principal = caller_with(&request, READERS)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let mut stages = Vec::new();
    for (index, value) in request.stages.iter().enumerate() {
        match Stage::from_proto(*value) {
            Some(stage) => stages.push(stage.as_str()),
            None => violations.add(
                format!("stages[{index}]"),
                format!("unknown or unspecified value {value}"),
            ),
        }
    }
    let mut municipalities = Vec::new();
    for (index, code) in request.home_municipalities.iter().enumerate() {
        if let Some(code) = violations.check(
            &format!("home_municipalities[{index}].value"),
            convert::municipality_code(code),
        ) {
            municipalities.push(code.to_string());
        }
    }
    let mut outcomes = Vec::new();
    for (index, value) in request.outcomes.iter().enumerate() {
        match Outcome::from_proto(*value) {
            Some(outcome) => outcomes.push(outcome.as_str()),
            None => violations.add(
                format!("outcomes[{index}]"),
                format!("unknown or unspecified value {value}"),
            ),
        }
    }
    let (from, to) = time_range(
        request.received_time.as_ref(),
        "received_time",
        &mut violations,
    );
    let page = support::list_page(
        &request,
        |request| (&mut request.page_size, &mut request.page_token),
        &mut violations,
    );
    violations.finish()?;

    let mut query = row::Entity::find();
    if !stages.is_empty() {
        query = query.filter(row::Column::Stage.is_in(stages));
    }
    if !municipalities.is_empty() {
        query = query.filter(row::Column::HomeMunicipality.is_in(municipalities));
    }
    if !request.assigned_staff_id.trim().is_empty() {
        query = query.filter(row::Column::AssignedStaffId.eq(request.assigned_staff_id.trim()));
    }
    if !outcomes.is_empty() {
        query = query.filter(row::Column::Outcome.is_in(outcomes));
    }
    if let Some(from) = from {
        query = query.filter(row::Column::ReceivedAt.gte(from));
    }
    if let Some(to) = to {
        query = query.filter(row::Column::ReceivedAt.lt(to));
    }
    if request.over_time_limit {
        let cutoff =
            timing::over_time_limit_cutoff(ctx.today(), ctx.county.assessment().time_limit_days);
        query = query
            .filter(row::Column::Outcome.is_null())
            .filter(row::Column::ReceivedAt.lt(cutoff));
    }
    if let Some(after) = &page.after {
        query = query.filter(after_queue_position(after)?);
    }
    let txn = ctx.begin().await.map_err(ServiceError::from)?;
    let mut cases = query
        .order_by_asc(row::Column::PriorityRank)
        .order_by_asc(row::Column::ReceivedAt)
        .order_by_asc(row::Column::Id)
        .limit(page.fetch_limit())
        .all(&txn)
        .await
        .map_err(ServiceError::from)?;
    let next_page_token = page.finish(&mut cases, queue_position);
    let ids: Vec<String> = cases.iter().map(|case| case.id.clone()).collect();
    let related = Related::load(&txn, &ids).await?;
    let answers = cases
        .iter()
        .map(|case| to_proto(ctx, case, &related, false))
        .collect::<Result<Vec<_>, _>>()?;
    support::audit(
        ctx,
        &txn,
        &principal,
        AuditAction::List,
        RESOURCE,
        "ListAssessmentCases",
        ids,
    )
    .await?;
    txn.commit().await.map_err(ServiceError::from)?;
    Ok(Response::new(pb::ListAssessmentCasesResponse {
        assessment_cases: answers,
        next_page_token,
    }))
}

/// A `TimeRange` filter's ends; violations against `field`.
fn time_range(
    range: Option<&hearth_proto::common::v1::TimeRange>,
    field: &str,
    violations: &mut Violations,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let Some(range) = range else {
        return (None, None);
    };
    let mut end = |value: Option<&prost_types::Timestamp>, name: &str| {
        let value = value?;
        let parsed = convert::timestamp(value);
        if parsed.is_none() {
            violations.add(format!("{field}.{name}"), "is not a valid timestamp");
        }
        parsed
    };
    let from = end(range.start_time.as_ref(), "start_time");
    let to = end(range.end_time.as_ref(), "end_time");
    if from.zip(to).is_some_and(|(from, to)| to <= from) {
        violations.add(format!("{field}.end_time"), "must be later than start_time");
    }
    (from, to)
}

// ---------------------------------------------------------------------------------------------
// Working on a case.

pub async fn update(
    ctx: &ServiceContext,
    request: Request<pb::UpdateAssessmentCaseRequest>,
) -> Result<Response<pb::UpdateAssessmentCaseResponse>, Status> {
    let principal = caller_with(&request, READERS)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let incoming = request.assessment_case.unwrap_or_default();
    let id = support::resource_id(&incoming.id, "assessment_case.id", &mut violations);
    let paths = request
        .update_mask
        .map(|mask| mask.paths)
        .unwrap_or_default();
    if paths.is_empty() {
        violations.add(
            "update_mask",
            "must name the fields to change: method, assigned_staff_id, first_contact_date",
        );
    }
    let mut method = None;
    let mut assigned = None;
    let mut first_contact = None;
    for (index, path) in paths.iter().enumerate() {
        match path.as_str() {
            "method" => {
                if pb::AssessmentMethod::try_from(incoming.method)
                    .is_ok_and(|method| method != pb::AssessmentMethod::Unspecified)
                {
                    method = Some(incoming.method);
                } else {
                    violations.add(
                        "assessment_case.method",
                        format!("unknown or unspecified value {}", incoming.method),
                    );
                }
            }
            "assigned_staff_id" => {
                let staff = support::bounded_text(
                    &incoming.assigned_staff_id,
                    MAX_STAFF_ID,
                    "assessment_case.assigned_staff_id",
                    &mut violations,
                );
                assigned = Some((!staff.is_empty()).then_some(staff));
            }
            "first_contact_date" => {
                let date = support::required_date(
                    incoming.first_contact_date.as_ref(),
                    "assessment_case.first_contact_date",
                    &mut violations,
                );
                if date.is_some_and(|date| date > ctx.today()) {
                    violations.add(
                        "assessment_case.first_contact_date",
                        "must not be in the future",
                    );
                }
                first_contact = date;
            }
            other => violations.add(
                format!("update_mask.paths[{index}]"),
                format!(
                    "`{other}` cannot be changed here; changeable fields: method, assigned_staff_id, first_contact_date (the stage moves with ChangeAssessmentStage)"
                ),
            ),
        }
    }
    if request.etag.trim().is_empty() {
        violations.add("etag", "is required");
    }
    violations.finish()?;
    let id = id.unwrap_or_default();
    let txn = ctx.begin().await.map_err(ServiceError::from)?;
    let case = load(&txn, &id).await?;
    stage::check_open(&facts(&case, &[], false)?).map_err(rule_error)?;
    support::require_fresh(&request.etag, case.version, false)?;
    let mut update: row::ActiveModel = case.clone().into();
    if let Some(method) = method {
        update.method = ActiveValue::Set(method);
    }
    if let Some(assigned) = assigned {
        update.assigned_staff_id = ActiveValue::Set(assigned);
    }
    if let Some(date) = first_contact {
        update.first_contact_date = ActiveValue::Set(Some(date));
    }
    update.version = ActiveValue::Set(case.version + 1);
    update.updated_at = ActiveValue::Set(ctx.now());
    let updated = update.update(&txn).await.map_err(ServiceError::from)?;
    let answer = answer(
        ctx,
        txn,
        &principal,
        &updated,
        AuditAction::Update,
        "UpdateAssessmentCase",
    )
    .await?;
    Ok(Response::new(pb::UpdateAssessmentCaseResponse {
        assessment_case: Some(answer),
    }))
}

pub async fn change_stage(
    ctx: &ServiceContext,
    request: Request<pb::ChangeAssessmentStageRequest>,
) -> Result<Response<pb::ChangeAssessmentStageResponse>, Status> {
    let principal = caller_with(&request, ASSESSORS)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let id = support::resource_id(
        &request.assessment_case_id,
        "assessment_case_id",
        &mut violations,
    );
    let target = Stage::from_proto(request.stage);
    if target.is_none() {
        violations.add(
            "stage",
            format!("unknown or unspecified value {}", request.stage),
        );
    }
    let method_given = request.method != pb::AssessmentMethod::Unspecified as i32;
    if pb::AssessmentMethod::try_from(request.method).is_err() {
        violations.add("method", format!("unknown value {}", request.method));
    }
    let key = support::action_key(
        ctx,
        "ChangeAssessmentStage",
        &request,
        |request| &mut request.idempotency_key,
        &mut violations,
    );
    violations.finish()?;
    let (Some(id), Some(target), Some(key)) = (id, target, key) else {
        return Err(ServiceError::internal("checked transition missing").into());
    };
    let txn = ctx.begin().await.map_err(ServiceError::from)?;
    let case = load(&txn, &id).await?;
    if key.find(&txn).await?.is_some() {
        let answer = answer(
            ctx,
            txn,
            &principal,
            &case,
            AuditAction::Read,
            "ChangeAssessmentStage",
        )
        .await?;
        return Ok(Response::new(pb::ChangeAssessmentStageResponse {
            assessment_case: Some(answer),
        }));
    }
    support::require_fresh(&request.etag, case.version, true)?;
    let checks = load_checks(&txn, &id).await?;
    let from = stage_of(&case)?;
    let next =
        stage::transition(&facts(&case, &checks, method_given)?, target).map_err(rule_error)?;
    let now = ctx.now();
    let today = ctx.today();
    let mut update: row::ActiveModel = case.clone().into();
    update.stage = ActiveValue::Set(next.as_str().to_owned());
    if method_given {
        update.method = ActiveValue::Set(request.method);
    }
    if from == Stage::FirstContact && case.first_contact_date.is_none() {
        // Leaving first contact records that it happened, on the day it was left at the latest.
        update.first_contact_date = ActiveValue::Set(Some(today));
    }
    update.version = ActiveValue::Set(case.version + 1);
    update.updated_at = ActiveValue::Set(now);
    let updated = update.update(&txn).await.map_err(ServiceError::from)?;
    stage_entry::Entity::insert(stage_row(&case, next, now, principal.subject(), today))
        .exec_without_returning(&txn)
        .await
        .map_err(ServiceError::from)?;
    key.remember(&txn, &id, next.as_str(), now).await?;
    let answer = answer(
        ctx,
        txn,
        &principal,
        &updated,
        AuditAction::Update,
        "ChangeAssessmentStage",
    )
    .await?;
    tracing::info!(assessment_case_id = %id, stage = next.as_str(), "assessment case moved");
    Ok(Response::new(pb::ChangeAssessmentStageResponse {
        assessment_case: Some(answer),
    }))
}

// ---------------------------------------------------------------------------------------------
// Timings.

pub async fn timings(
    ctx: &ServiceContext,
    request: Request<pb::GetAssessmentTimingsRequest>,
) -> Result<Response<pb::GetAssessmentTimingsResponse>, Status> {
    caller_with(&request, READERS)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let (from, to) = time_range(
        request.received_time.as_ref(),
        "received_time",
        &mut violations,
    );
    violations.finish()?;
    let mut entries = stage_entry::Entity::find()
        .select_only()
        .column(stage_entry::Column::Stage)
        .column(stage_entry::Column::DaysFromRegistration);
    let mut open = row::Entity::find().filter(row::Column::Outcome.is_null());
    if let Some(from) = from {
        entries = entries.filter(stage_entry::Column::ReceivedAt.gte(from));
        open = open.filter(row::Column::ReceivedAt.gte(from));
    }
    if let Some(to) = to {
        entries = entries.filter(stage_entry::Column::ReceivedAt.lt(to));
        open = open.filter(row::Column::ReceivedAt.lt(to));
    }
    let limit_days = ctx.county.assessment().time_limit_days;
    let cutoff = timing::over_time_limit_cutoff(ctx.today(), limit_days);
    let rows: Vec<(String, i32)> = entries
        .into_tuple()
        .all(&ctx.db)
        .await
        .map_err(ServiceError::from)?;
    let open_cases = open
        .clone()
        .count(&ctx.db)
        .await
        .map_err(ServiceError::from)?;
    let over = open
        .filter(row::Column::ReceivedAt.lt(cutoff))
        .count(&ctx.db)
        .await
        .map_err(ServiceError::from)?;
    let mut by_stage: HashMap<&str, Vec<u32>> = HashMap::new();
    for (stage, days) in &rows {
        by_stage
            .entry(stage.as_str())
            .or_default()
            .push(u32::try_from(*days).unwrap_or_default());
    }
    let stages = Stage::ALL[1..]
        .iter()
        .map(|stage| {
            let found = Distribution::of(by_stage.remove(stage.as_str()).unwrap_or_default());
            pb::StageTiming {
                stage: stage.to_proto() as i32,
                cases: found.count,
                median_days: found.median,
                p90_days: found.p90,
                max_days: found.max,
            }
        })
        .collect();
    Ok(Response::new(pb::GetAssessmentTimingsResponse {
        stages,
        time_limit_days: limit_days,
        open_cases: u32::try_from(open_cases).unwrap_or(u32::MAX),
        open_cases_over_time_limit: u32::try_from(over).unwrap_or(u32::MAX),
    }))
}
