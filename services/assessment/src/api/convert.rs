//! Wire ⇄ domain at the edge: each request message checked field by field (every bad field
//! named, `violations.finish()?` once) into what a handler works with, and stored rows into
//! the messages answered.

use crate::app::cases::{self, Related};
use crate::app::convert::{
    availability_kind_from_proto, check_outcome_from_proto, need_from_proto, outcome_from_proto,
    outcome_to_proto, period_dates, periods_of, register_from_proto, support_kind_from_proto,
};
use crate::app::profiles::{self, Leaving};
use crate::domain::checks::{CheckOutcome, Register};
use crate::domain::profile::{
    self, CurrentAvailability, GeoPoint, Location, PeriodInput, ProfileDraft, ProfileInput,
};
use crate::domain::stage::{Outcome, Stage};
use crate::domain::timing::{self, Distribution};
use crate::store::entities::{assessment_case, family_profile, register_check};
use chrono::NaiveDate;
use hearth_county::County;
use hearth_domain::{MunicipalityCode, Violations};
use hearth_proto::assessment::v1 as pb;
use hearth_proto::common::v1 as common;
use hearth_proto::convert;
use hearth_proto::events::v1::HouseholdDetails;
use hearth_rpc::handler::{self, TimeRange, idempotency_key, resource_id, time_range};
use hearth_rpc::idempotency::IdempotencyKey;
use hearth_rpc::{ServiceContext, ServiceError};
use prost::Message;

const MAX_RATIONALE: usize = 4000;
const MAX_STAFF_ID: usize = 128;
const MAX_REFERENCE: usize = 64;
const MAX_NOTE: usize = 2000;
const MAX_LEAVING_NOTE: usize = 1000;

// ---------------------------------------------------------------------------------------------
// Fields.

/// A calendar date from the request, required; violations against `field`.
pub fn required_date(
    date: Option<&common::Date>,
    field: &str,
    violations: &mut Violations,
) -> Option<NaiveDate> {
    let Some(date) = date else {
        violations.add(field, "is required");
        return None;
    };
    let parsed = convert::date(date);
    if parsed.is_none() {
        violations.add(field, "is not a valid date");
    }
    parsed
}

/// Free text up to `max` characters, trimmed; violations against `field`.
pub fn bounded_text(value: &str, max: usize, field: &str, violations: &mut Violations) -> String {
    let trimmed = value.trim();
    if trimmed.chars().count() > max {
        violations.add(field, format!("must be at most {max} characters"));
    }
    trimmed.to_owned()
}

/// Each of `values` read by `read`; an unknown one is a violation of `field[i]`.
fn each<T>(
    values: &[i32],
    field: &str,
    violations: &mut Violations,
    read: impl Fn(i32) -> Option<T>,
) -> Vec<T> {
    let mut found = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        match read(*value) {
            Some(read) => found.push(read),
            None => violations.add(
                format!("{field}[{index}]"),
                format!("unknown or unspecified value {value}"),
            ),
        }
    }
    found
}

/// Each municipality code of a filter; violations against `field[i].value`.
fn municipalities(
    codes: &[common::MunicipalityCode],
    field: &str,
    violations: &mut Violations,
) -> Vec<MunicipalityCode> {
    codes
        .iter()
        .enumerate()
        .filter_map(|(index, code)| {
            violations.check(
                &format!("{field}[{index}].value"),
                convert::municipality_code(code),
            )
        })
        .collect()
}

/// Whether `value` is a specified `AssessmentMethod`.
fn is_method(value: i32) -> bool {
    pb::AssessmentMethod::try_from(value)
        .is_ok_and(|method| method != pb::AssessmentMethod::Unspecified)
}

/// The stage of a wire value; `None` for unspecified or unknown.
pub fn stage_from_proto(value: i32) -> Option<Stage> {
    match pb::AssessmentStage::try_from(value).ok()? {
        pb::AssessmentStage::Unspecified => None,
        pb::AssessmentStage::FirstContact => Some(Stage::FirstContact),
        pb::AssessmentStage::RegisterChecks => Some(Stage::RegisterChecks),
        pb::AssessmentStage::Interviews => Some(Stage::Interviews),
        pb::AssessmentStage::References => Some(Stage::References),
        pb::AssessmentStage::ReadyForDecision => Some(Stage::ReadyForDecision),
        pb::AssessmentStage::Decided => Some(Stage::Decided),
    }
}

/// The wire value of a stage.
pub fn stage_to_proto(stage: Stage) -> pb::AssessmentStage {
    match stage {
        Stage::FirstContact => pb::AssessmentStage::FirstContact,
        Stage::RegisterChecks => pb::AssessmentStage::RegisterChecks,
        Stage::Interviews => pb::AssessmentStage::Interviews,
        Stage::References => pb::AssessmentStage::References,
        Stage::ReadyForDecision => pb::AssessmentStage::ReadyForDecision,
        Stage::Decided => pb::AssessmentStage::Decided,
    }
}

fn current_availability_to_proto(availability: CurrentAvailability) -> pb::CurrentAvailability {
    match availability {
        CurrentAvailability::Available => pb::CurrentAvailability::Available,
        CurrentAvailability::Paused => pb::CurrentAvailability::Paused,
        CurrentAvailability::Left => pb::CurrentAvailability::Left,
    }
}

// ---------------------------------------------------------------------------------------------
// Cases: requests.

/// The filters of the queue.
pub struct CaseQuery {
    pub stages: Vec<Stage>,
    pub municipalities: Vec<MunicipalityCode>,
    /// Trimmed; `None` when not filtered on.
    pub assigned_staff_id: Option<String>,
    pub outcomes: Vec<Outcome>,
    pub received: TimeRange,
    pub over_time_limit: bool,
}

pub fn case_query(
    message: &pb::ListAssessmentCasesRequest,
    violations: &mut Violations,
) -> CaseQuery {
    let stages = each(&message.stages, "stages", violations, stage_from_proto);
    let municipalities = municipalities(
        &message.home_municipalities,
        "home_municipalities",
        violations,
    );
    let outcomes = each(
        &message.outcomes,
        "outcomes",
        violations,
        outcome_from_proto,
    );
    let received = time_range(message.received_time.as_ref(), "received_time", violations);
    let assigned = message.assigned_staff_id.trim();
    CaseQuery {
        stages,
        municipalities,
        assigned_staff_id: (!assigned.is_empty()).then(|| assigned.to_owned()),
        outcomes,
        received,
        over_time_limit: message.over_time_limit,
    }
}

/// The received-time range of the timings.
pub fn timings_range(message: &pb::GetAssessmentTimingsRequest) -> Result<TimeRange, ServiceError> {
    let mut violations = Violations::new();
    let range = time_range(
        message.received_time.as_ref(),
        "received_time",
        &mut violations,
    );
    violations.finish()?;
    Ok(range)
}

/// The working fields of a case to change.
pub struct CaseChanges {
    pub id: String,
    /// A specified `AssessmentMethod`.
    pub method: Option<i32>,
    /// `Some(None)` clears the assignment.
    pub assigned_staff_id: Option<Option<String>>,
    pub first_contact_date: Option<NaiveDate>,
    pub etag: String,
}

pub fn case_changes(
    message: pb::UpdateAssessmentCaseRequest,
    today: NaiveDate,
) -> Result<CaseChanges, ServiceError> {
    let mut violations = Violations::new();
    let incoming = message.assessment_case.unwrap_or_default();
    let id = resource_id(&incoming.id, "assessment_case.id", &mut violations);
    let paths = message
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
                if is_method(incoming.method) {
                    method = Some(incoming.method);
                } else {
                    violations.add(
                        "assessment_case.method",
                        format!("unknown or unspecified value {}", incoming.method),
                    );
                }
            }
            "assigned_staff_id" => {
                let staff = bounded_text(
                    &incoming.assigned_staff_id,
                    MAX_STAFF_ID,
                    "assessment_case.assigned_staff_id",
                    &mut violations,
                );
                assigned = Some((!staff.is_empty()).then_some(staff));
            }
            "first_contact_date" => {
                let date = required_date(
                    incoming.first_contact_date.as_ref(),
                    "assessment_case.first_contact_date",
                    &mut violations,
                );
                if date.is_some_and(|date| date > today) {
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
    if message.etag.trim().is_empty() {
        violations.add("etag", "is required");
    }
    violations.finish()?;
    Ok(CaseChanges {
        id: id.unwrap_or_default(),
        method,
        assigned_staff_id: assigned,
        first_contact_date: first_contact,
        etag: message.etag,
    })
}

/// A case moved to the next stage.
pub struct StageChange {
    pub id: String,
    pub target: Stage,
    /// A specified `AssessmentMethod` given with the move.
    pub method: Option<i32>,
    pub etag: String,
    pub key: IdempotencyKey,
}

pub fn stage_change(
    ctx: &ServiceContext,
    message: &pb::ChangeAssessmentStageRequest,
) -> Result<StageChange, ServiceError> {
    let mut violations = Violations::new();
    let id = resource_id(
        &message.assessment_case_id,
        "assessment_case_id",
        &mut violations,
    );
    let target = stage_from_proto(message.stage);
    if target.is_none() {
        violations.add(
            "stage",
            format!("unknown or unspecified value {}", message.stage),
        );
    }
    if pb::AssessmentMethod::try_from(message.method).is_err() {
        violations.add("method", format!("unknown value {}", message.method));
    }
    let rest = pb::ChangeAssessmentStageRequest {
        idempotency_key: String::new(),
        ..message.clone()
    };
    let key = idempotency_key(
        ctx,
        "ChangeAssessmentStage",
        &message.idempotency_key,
        &rest.encode_to_vec(),
        &mut violations,
    );
    violations.finish()?;
    let (Some(id), Some(target), Some(key)) = (id, target, key) else {
        return Err(ServiceError::internal("checked transition missing"));
    };
    Ok(StageChange {
        id,
        target,
        method: (message.method != pb::AssessmentMethod::Unspecified as i32)
            .then_some(message.method),
        etag: message.etag.clone(),
        key,
    })
}

/// A decision on a case, with the family's profile when it is an approval.
pub struct DecisionInput {
    pub id: String,
    pub outcome: Outcome,
    pub on: NaiveDate,
    pub rationale: String,
    pub profile: Option<ProfileDraft>,
    pub etag: String,
    pub key: IdempotencyKey,
}

pub fn decision(
    ctx: &ServiceContext,
    message: &pb::DecideAssessmentRequest,
) -> Result<DecisionInput, ServiceError> {
    let mut violations = Violations::new();
    let id = resource_id(
        &message.assessment_case_id,
        "assessment_case_id",
        &mut violations,
    );
    let outcome = outcome_from_proto(message.outcome);
    if outcome.is_none() {
        violations.add(
            "outcome",
            "is required: approved, not suitable or withdrawn by the family",
        );
    }
    let today = ctx.today();
    let on = required_date(message.decided_on.as_ref(), "decided_on", &mut violations);
    if on.is_some_and(|on| on > today) {
        violations.add("decided_on", "must not be in the future");
    }
    let rationale = bounded_text(
        &message.rationale,
        MAX_RATIONALE,
        "rationale",
        &mut violations,
    );
    let profile = match (outcome, &message.family_profile) {
        (Some(Outcome::Approved), None) => {
            violations.add("family_profile", "is required when approving");
            None
        }
        (Some(Outcome::Approved), Some(input)) => profile_draft(
            input,
            "family_profile",
            &ctx.county,
            on.unwrap_or(today),
            &mut violations,
        ),
        (_, Some(_)) => {
            violations.add("family_profile", "is only given when approving");
            None
        }
        (_, None) => None,
    };
    let rest = pb::DecideAssessmentRequest {
        idempotency_key: String::new(),
        ..message.clone()
    };
    let key = idempotency_key(
        ctx,
        "DecideAssessment",
        &message.idempotency_key,
        &rest.encode_to_vec(),
        &mut violations,
    );
    violations.finish()?;
    let (Some(id), Some(outcome), Some(on), Some(key)) = (id, outcome, on, key) else {
        return Err(ServiceError::internal("checked decision missing"));
    };
    Ok(DecisionInput {
        id,
        outcome,
        on,
        rationale,
        profile,
        etag: message.etag.clone(),
        key,
    })
}

// ---------------------------------------------------------------------------------------------
// Cases: answers.

/// A stored case as the API shows it; without `full`, the list view (no personal identity
/// numbers, contact details, address, check notes and references, or grounds of the decision).
pub fn case_to_proto(
    ctx: &ServiceContext,
    case: &assessment_case::Model,
    related: &Related,
    full: bool,
) -> Result<pb::AssessmentCase, ServiceError> {
    let household: HouseholdDetails = handler::open(ctx, &case.household, &case.id)?;
    let adults = household
        .adults
        .into_iter()
        .zip(cases::adult_ids(case))
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
        .map(|check| check_to_proto(ctx, check, full))
        .collect::<Result<Vec<_>, _>>()?;
    let stage_history = related
        .stages_of(&case.id)
        .iter()
        .filter_map(|entry| {
            Some(pb::StageEntry {
                stage: stage_to_proto(Stage::parse(&entry.stage)?) as i32,
                enter_time: Some(convert::timestamp_to_proto(entry.entered_at)),
                entered_by: entry.entered_by.clone(),
                days_from_registration: u32::try_from(entry.days_from_registration)
                    .unwrap_or_default(),
            })
        })
        .collect();
    let today = ctx.today();
    let outcome = cases::outcome_of(case);
    let decision = match (outcome, case.decided_on) {
        (Some(outcome), Some(decided_on)) => Some(pb::Decision {
            outcome: outcome_to_proto(outcome) as i32,
            decided_on: Some(convert::date_to_proto(decided_on)),
            decided_by: case.decided_by.clone().unwrap_or_default(),
            rationale: match (&case.rationale, full) {
                (Some(sealed), true) => handler::open_text(ctx, sealed, &case.id)?,
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
        home_municipality: Some(common::MunicipalityCode {
            value: case.home_municipality.clone(),
        }),
        stage: stage_to_proto(cases::stage_of(case)?) as i32,
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
        etag: handler::etag(case.version),
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

/// The timing of one stage.
pub fn stage_timing(stage: Stage, found: Distribution) -> pb::StageTiming {
    pb::StageTiming {
        stage: stage_to_proto(stage) as i32,
        cases: found.count,
        median_days: found.median,
        p90_days: found.p90,
        max_days: found.max,
    }
}

// ---------------------------------------------------------------------------------------------
// Register checks.

/// A register check to record.
pub struct CheckInput {
    pub case_id: String,
    pub adult_id: String,
    pub register: Register,
    pub outcome: CheckOutcome,
    pub checked_on: NaiveDate,
    pub reference: String,
    pub note: String,
    /// Empty: the caller.
    pub checked_by: String,
    pub key: IdempotencyKey,
}

pub fn register_check(
    ctx: &ServiceContext,
    message: &pb::CreateRegisterCheckRequest,
) -> Result<CheckInput, ServiceError> {
    let mut violations = Violations::new();
    let input = message.register_check.clone().unwrap_or_default();
    if message.register_check.is_none() {
        violations.add("register_check", "is required");
    }
    let case_id = resource_id(
        &input.assessment_case_id,
        "register_check.assessment_case_id",
        &mut violations,
    );
    let adult_id = resource_id(&input.adult_id, "register_check.adult_id", &mut violations);
    let register = register_from_proto(input.register);
    if register.is_none() {
        violations.add(
            "register_check.register",
            format!("unknown or unspecified value {}", input.register),
        );
    }
    let outcome = check_outcome_from_proto(input.outcome);
    if outcome.is_none() {
        violations.add(
            "register_check.outcome",
            format!("unknown or unspecified value {}", input.outcome),
        );
    }
    let checked_on = required_date(
        input.checked_on.as_ref(),
        "register_check.checked_on",
        &mut violations,
    );
    if checked_on.is_some_and(|on| on > ctx.today()) {
        violations.add("register_check.checked_on", "must not be in the future");
    }
    let reference = bounded_text(
        &input.reference,
        MAX_REFERENCE,
        "register_check.reference",
        &mut violations,
    );
    let note = bounded_text(
        &input.note,
        MAX_NOTE,
        "register_check.note",
        &mut violations,
    );
    if outcome.is_some_and(CheckOutcome::needs_note) && note.is_empty() {
        violations.add(
            "register_check.note",
            "is required when entries were found: what they are and how they were weighed",
        );
    }
    let checked_by = bounded_text(
        &input.checked_by,
        MAX_STAFF_ID,
        "register_check.checked_by",
        &mut violations,
    );
    let rest = pb::CreateRegisterCheckRequest {
        idempotency_key: String::new(),
        ..message.clone()
    };
    let key = idempotency_key(
        ctx,
        "CreateRegisterCheck",
        &message.idempotency_key,
        &rest.encode_to_vec(),
        &mut violations,
    );
    violations.finish()?;
    let (Some(case_id), Some(adult_id), Some(register), Some(outcome), Some(checked_on), Some(key)) =
        (case_id, adult_id, register, outcome, checked_on, key)
    else {
        return Err(ServiceError::internal("checked register check missing"));
    };
    Ok(CheckInput {
        case_id,
        adult_id,
        register,
        outcome,
        checked_on,
        reference,
        note,
        checked_by,
        key,
    })
}

/// A stored check as the API shows it; without `full`, no reference and no note.
pub fn check_to_proto(
    ctx: &ServiceContext,
    check: &register_check::Model,
    full: bool,
) -> Result<pb::RegisterCheck, ServiceError> {
    let sealed: pb::RegisterCheck = if full {
        handler::open(ctx, &check.content, &check.id)?
    } else {
        pb::RegisterCheck::default()
    };
    Ok(pb::RegisterCheck {
        id: check.id.clone(),
        assessment_case_id: check.case_id.clone(),
        adult_id: check.adult_id.clone(),
        register: check.register,
        outcome: check.outcome,
        checked_by: check.checked_by.clone(),
        checked_on: Some(convert::date_to_proto(check.checked_on)),
        reference: sealed.reference,
        note: sealed.note,
        create_time: Some(convert::timestamp_to_proto(check.created_at)),
    })
}

// ---------------------------------------------------------------------------------------------
// Family profiles: requests.

/// The fields UpdateFamilyProfile may change.
pub const UPDATABLE: &[&str] = &[
    "display_name",
    "location",
    "capacity",
    "age_bands",
    "commission_kinds",
    "accepted_needs",
    "fee_level",
    "support_needs",
    "has_earlier_experience",
    "availability",
];

/// A profile from the wire, checked (`field` is its path): read field by field here, then the
/// domain's rules. An empty availability means available from `default_from` on.
pub fn profile_draft(
    input: &pb::FamilyProfile,
    field: &str,
    county: &County,
    default_from: NaiveDate,
    violations: &mut Violations,
) -> Option<ProfileDraft> {
    let input = profile_input(input, field, violations);
    profile::check_profile(input, field, county, default_from, violations)
}

/// Reads a wire profile; what cannot be read is a violation, and `None` in the input.
fn profile_input(
    input: &pb::FamilyProfile,
    field: &str,
    violations: &mut Violations,
) -> ProfileInput {
    ProfileInput {
        display_name: input.display_name.clone(),
        location: location(input.location.as_ref(), field, violations),
        capacity: input.capacity,
        age_bands: listed(
            &input.age_bands,
            &format!("{field}.age_bands"),
            violations,
            convert::age_band,
        ),
        commission_kinds: listed(
            &input.commission_kinds,
            &format!("{field}.commission_kinds"),
            violations,
            |value| convert::commission_kind(value).filter(|kind| profile::may_take(*kind)),
        ),
        accepted_needs: listed(
            &input.accepted_needs,
            &format!("{field}.accepted_needs"),
            violations,
            need_from_proto,
        ),
        fee_level: input.fee_level.clone(),
        support_needs: listed(
            &input.support_needs,
            &format!("{field}.support_needs"),
            violations,
            support_kind_from_proto,
        ),
        has_earlier_experience: input.has_earlier_experience,
        availability: input
            .availability
            .iter()
            .enumerate()
            .map(|(index, period)| {
                availability_period(
                    period,
                    &format!("{field}.availability[{index}]"),
                    violations,
                )
            })
            .collect(),
    }
}

/// The values of a list, or `None` when one is unknown, unspecified or not allowed (each such
/// one a violation of `field[i]`).
fn listed<T>(
    values: &[i32],
    field: &str,
    violations: &mut Violations,
    read: impl Fn(i32) -> Option<T>,
) -> Option<Vec<T>> {
    let mut found = Some(Vec::with_capacity(values.len()));
    for (index, value) in values.iter().enumerate() {
        match (read(*value), found.as_mut()) {
            (Some(read), Some(found)) => found.push(read),
            (Some(_), None) => {}
            (None, _) => {
                violations.add(
                    format!("{field}[{index}]"),
                    format!("unknown, unspecified or not allowed value {value}"),
                );
                found = None;
            }
        }
    }
    found
}

fn location(
    location: Option<&common::Location>,
    field: &str,
    violations: &mut Violations,
) -> Option<Location> {
    let Some(location) = location else {
        violations.add(format!("{field}.location"), "is required");
        return None;
    };
    let Some(code) = location.municipality.as_ref() else {
        violations.add(format!("{field}.location.municipality"), "is required");
        return None;
    };
    let municipality = violations.check(
        &format!("{field}.location.municipality.value"),
        convert::municipality_code(code),
    )?;
    Some(Location {
        municipality,
        position: location.position.as_ref().map(|position| GeoPoint {
            latitude_microdegrees: position.latitude_microdegrees,
            longitude_microdegrees: position.longitude_microdegrees,
        }),
    })
}

/// A period as sent (`path` is its path).
fn availability_period(
    period: &common::AvailabilityPeriod,
    path: &str,
    violations: &mut Violations,
) -> PeriodInput {
    let kind = availability_kind_from_proto(period.kind);
    if kind.is_none() {
        violations.add(
            format!("{path}.kind"),
            format!("unknown or unspecified value {}", period.kind),
        );
    }
    let dates = period_dates(period);
    if dates.is_none() {
        violations.add(
            format!("{path}.period"),
            "needs a valid start date (and a valid end date when set)",
        );
    }
    PeriodInput { kind, dates }
}

/// Copies the fields named in `paths` from `incoming` onto `stored`; unknown paths are
/// violations against `update_mask.paths[i]`.
fn apply_mask(
    stored: &pb::FamilyProfile,
    incoming: &pb::FamilyProfile,
    paths: &[String],
    violations: &mut Violations,
) -> pb::FamilyProfile {
    let mut merged = stored.clone();
    for (index, path) in paths.iter().enumerate() {
        match path.as_str() {
            "display_name" => merged.display_name.clone_from(&incoming.display_name),
            "location" => merged.location.clone_from(&incoming.location),
            "capacity" => merged.capacity = incoming.capacity,
            "age_bands" => merged.age_bands.clone_from(&incoming.age_bands),
            "commission_kinds" => merged
                .commission_kinds
                .clone_from(&incoming.commission_kinds),
            "accepted_needs" => merged.accepted_needs.clone_from(&incoming.accepted_needs),
            "fee_level" => merged.fee_level.clone_from(&incoming.fee_level),
            "support_needs" => merged.support_needs.clone_from(&incoming.support_needs),
            "has_earlier_experience" => {
                merged.has_earlier_experience = incoming.has_earlier_experience;
            }
            "availability" => {
                merged.availability.clone_from(&incoming.availability);
                if merged.availability.is_empty() {
                    violations.add(
                        "family_profile.availability",
                        "must list at least one period (use a paused period to pause the family)",
                    );
                }
            }
            other => violations.add(
                format!("update_mask.paths[{index}]"),
                format!(
                    "`{other}` cannot be changed; changeable fields: {}",
                    UPDATABLE.join(", ")
                ),
            ),
        }
    }
    merged
}

/// The filters of the profile list.
pub struct ProfileQuery {
    /// Stored states; the active ones when none is asked for.
    pub states: Vec<&'static str>,
    pub municipalities: Vec<MunicipalityCode>,
    /// Specified `BasicTrainingStatus` values.
    pub basic_training_statuses: Vec<i32>,
}

pub fn profile_query(
    message: &pb::ListFamilyProfilesRequest,
    violations: &mut Violations,
) -> ProfileQuery {
    let mut states = each(&message.states, "states", violations, |state| {
        match common::FamilyProfileState::try_from(state) {
            Ok(common::FamilyProfileState::Active) => Some(profiles::ACTIVE),
            Ok(common::FamilyProfileState::Left) => Some(profiles::LEFT),
            _ => None,
        }
    });
    if states.is_empty() {
        states.push(profiles::ACTIVE);
    }
    let municipalities = municipalities(&message.municipalities, "municipalities", violations);
    let basic_training_statuses = each(
        &message.basic_training_statuses,
        "basic_training_statuses",
        violations,
        |status| {
            common::BasicTrainingStatus::try_from(status)
                .is_ok_and(|status| status != common::BasicTrainingStatus::Unspecified)
                .then_some(status)
        },
    );
    // What the family takes and when it is available are sealed with the profile: matching's
    // pool is where families are searched by them.
    for (field, used) in [
        ("age_bands", !message.age_bands.is_empty()),
        ("commission_kinds", !message.commission_kinds.is_empty()),
        ("available_on", message.available_on.is_some()),
    ] {
        if used {
            violations.add(
                field,
                "is not a filter of this list yet; search the pool in matching",
            );
        }
    }
    ProfileQuery {
        states,
        municipalities,
        basic_training_statuses,
    }
}

/// A change of a profile: the fields named in its mask, sent in `incoming`.
pub struct ProfileChanges {
    pub id: String,
    pub incoming: pb::FamilyProfile,
    pub paths: Vec<String>,
    pub etag: String,
}

pub fn profile_changes(
    message: pb::UpdateFamilyProfileRequest,
) -> Result<ProfileChanges, ServiceError> {
    let mut violations = Violations::new();
    let incoming = message.family_profile.unwrap_or_default();
    let id = resource_id(&incoming.id, "family_profile.id", &mut violations);
    let paths = message
        .update_mask
        .map(|mask| mask.paths)
        .unwrap_or_default();
    if paths.is_empty() {
        violations.add("update_mask", "must name at least one field to change");
    }
    if message.etag.trim().is_empty() {
        violations.add("etag", "is required");
    }
    violations.finish()?;
    Ok(ProfileChanges {
        id: id.unwrap_or_default(),
        incoming,
        paths,
        etag: message.etag,
    })
}

/// The stored profile `stored` with `changes` applied, checked again as a whole.
pub fn changed_profile(
    stored: &pb::FamilyProfile,
    changes: &ProfileChanges,
    county: &County,
    today: NaiveDate,
) -> Result<ProfileDraft, ServiceError> {
    let mut violations = Violations::new();
    let merged = apply_mask(stored, &changes.incoming, &changes.paths, &mut violations);
    let draft = profile_draft(&merged, "family_profile", county, today, &mut violations);
    violations.finish()?;
    draft.ok_or_else(|| ServiceError::internal("checked profile missing"))
}

/// A family leaving the pool.
pub struct Closing {
    pub id: String,
    pub leaving: Leaving,
    pub etag: String,
    pub key: IdempotencyKey,
}

pub fn closing(
    ctx: &ServiceContext,
    message: &pb::CloseFamilyProfileRequest,
) -> Result<Closing, ServiceError> {
    let mut violations = Violations::new();
    let id = resource_id(
        &message.family_profile_id,
        "family_profile_id",
        &mut violations,
    );
    let leaving = message.leaving.clone().unwrap_or_default();
    if message.leaving.is_none() {
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
    let left_on = required_date(leaving.left_on.as_ref(), "leaving.left_on", &mut violations);
    let note = bounded_text(
        &leaving.note,
        MAX_LEAVING_NOTE,
        "leaving.note",
        &mut violations,
    );
    let rest = pb::CloseFamilyProfileRequest {
        idempotency_key: String::new(),
        ..message.clone()
    };
    let key = idempotency_key(
        ctx,
        "CloseFamilyProfile",
        &message.idempotency_key,
        &rest.encode_to_vec(),
        &mut violations,
    );
    violations.finish()?;
    let (Some(id), Some(left_on), Some(key)) = (id, left_on, key) else {
        return Err(ServiceError::internal("checked closing missing"));
    };
    Ok(Closing {
        id,
        leaving: Leaving {
            reason: leaving.reason,
            left_on,
            note,
        },
        etag: message.etag.clone(),
        key,
    })
}

// ---------------------------------------------------------------------------------------------
// Family profiles: answers.

/// A stored profile as the API shows it.
pub fn profile_to_proto(
    ctx: &ServiceContext,
    found: &family_profile::Model,
) -> Result<pb::FamilyProfile, ServiceError> {
    let content = profiles::content(ctx, found)?;
    let left = found.state == profiles::LEFT;
    let availability =
        profile::availability_on(&periods_of(&content.availability), left, ctx.today());
    Ok(pb::FamilyProfile {
        id: found.id.clone(),
        assessment_case_id: found.case_id.clone(),
        basic_training_status: found.basic_training_status,
        current_availability: current_availability_to_proto(availability) as i32,
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
        etag: handler::etag(found.version),
        ..content
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::profile::availability_on;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn period(
        kind: common::AvailabilityKind,
        start: &str,
        end: Option<&str>,
    ) -> common::AvailabilityPeriod {
        common::AvailabilityPeriod {
            period: Some(common::DatePeriod {
                start: Some(convert::date_to_proto(date(start))),
                end: end.map(|end| convert::date_to_proto(date(end))),
            }),
            kind: kind as i32,
        }
    }

    pub fn valid() -> pb::FamilyProfile {
        pb::FamilyProfile {
            display_name: "Öberg, Falun".to_owned(),
            location: Some(common::Location {
                municipality: Some(common::MunicipalityCode {
                    value: "2080".to_owned(),
                }),
                position: None,
            }),
            capacity: 2,
            age_bands: vec![common::AgeBand::AgeBand1320 as i32],
            commission_kinds: vec![common::CommissionKind::LongTermFosterHome as i32],
            fee_level: "2".to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_profile_defaults_to_available() {
        let mut violations = Violations::new();
        let draft = profile_draft(
            &valid(),
            "family_profile",
            &County::dalarna(),
            date("2026-03-01"),
            &mut violations,
        )
        .unwrap();
        assert!(violations.is_empty());
        assert_eq!(
            availability_on(&draft.facts.availability, false, date("2026-03-01")),
            CurrentAvailability::Available
        );
        assert_eq!(
            availability_on(&draft.facts.availability, false, date("2026-02-28")),
            CurrentAvailability::Paused
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut bad = valid();
        bad.display_name = " ".to_owned();
        bad.capacity = 0;
        bad.age_bands.clear();
        bad.commission_kinds = vec![common::CommissionKind::NetworkHome as i32];
        bad.fee_level = "9".to_owned();
        bad.availability = vec![
            period(common::AvailabilityKind::Available, "2026-01-01", None),
            period(
                common::AvailabilityKind::Available,
                "2026-06-01",
                Some("2026-07-01"),
            ),
            period(
                common::AvailabilityKind::Paused,
                "2026-07-01",
                Some("2026-06-01"),
            ),
        ];
        let mut violations = Violations::new();
        assert!(
            profile_draft(
                &bad,
                "p",
                &County::dalarna(),
                date("2026-01-01"),
                &mut violations
            )
            .is_none()
        );
        let error = violations.finish().unwrap_err().to_string();
        for field in [
            "p.display_name",
            "p.capacity",
            "p.age_bands",
            "p.commission_kinds[0]",
            "p.fee_level",
            "p.availability[1].period",
            "p.availability[2].period.end",
        ] {
            assert!(error.contains(field), "{field} missing in {error}");
        }
    }

    #[test]
    fn stages_round_trip() {
        for stage in Stage::ALL {
            assert_eq!(stage_from_proto(stage_to_proto(stage) as i32), Some(stage));
        }
        assert_eq!(stage_from_proto(0), None);
    }
}
