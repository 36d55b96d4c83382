//! Register checks: staff record, for one adult of a case, what one register showed.

use super::cases::{self, RESOURCE as CASE_RESOURCE, rule_error};
use super::support::{self, ASSESSORS, caller_with};
use crate::domain::checks::{CheckOutcome, Register};
use crate::domain::stage;
use crate::store::entities::register_check as row;
use hearth_audit::AuditAction;
use hearth_proto::assessment::v1 as pb;
use hearth_proto::convert;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use sea_orm::{ActiveValue, EntityTrait};
use tonic::{Request, Response, Status};

const MAX_REFERENCE: usize = 64;
const MAX_NOTE: usize = 2000;

/// A stored check as the API shows it; without `full`, no reference and no note.
pub fn to_proto(
    ctx: &ServiceContext,
    check: &row::Model,
    full: bool,
) -> Result<pb::RegisterCheck, ServiceError> {
    let sealed: pb::RegisterCheck = if full {
        support::open(ctx, &check.content, &check.id)?
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

pub async fn create(
    ctx: &ServiceContext,
    request: Request<pb::CreateRegisterCheckRequest>,
) -> Result<Response<pb::CreateRegisterCheckResponse>, Status> {
    let principal = caller_with(&request, ASSESSORS)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let input = request.register_check.clone().unwrap_or_default();
    if request.register_check.is_none() {
        violations.add("register_check", "is required");
    }
    let case_id = support::resource_id(
        &input.assessment_case_id,
        "register_check.assessment_case_id",
        &mut violations,
    );
    let adult_id =
        support::resource_id(&input.adult_id, "register_check.adult_id", &mut violations);
    if Register::from_proto(input.register).is_none() {
        violations.add(
            "register_check.register",
            format!("unknown or unspecified value {}", input.register),
        );
    }
    let outcome = CheckOutcome::from_proto(input.outcome);
    if outcome.is_none() {
        violations.add(
            "register_check.outcome",
            format!("unknown or unspecified value {}", input.outcome),
        );
    }
    let checked_on = support::required_date(
        input.checked_on.as_ref(),
        "register_check.checked_on",
        &mut violations,
    );
    if checked_on.is_some_and(|on| on > ctx.today()) {
        violations.add("register_check.checked_on", "must not be in the future");
    }
    let reference = support::bounded_text(
        &input.reference,
        MAX_REFERENCE,
        "register_check.reference",
        &mut violations,
    );
    let note = support::bounded_text(
        &input.note,
        MAX_NOTE,
        "register_check.note",
        &mut violations,
    );
    if outcome == Some(CheckOutcome::EntriesFound) && note.is_empty() {
        violations.add(
            "register_check.note",
            "is required when entries were found: what they are and how they were weighed",
        );
    }
    let checked_by = support::bounded_text(
        &input.checked_by,
        128,
        "register_check.checked_by",
        &mut violations,
    );
    let key = support::action_key(
        ctx,
        "CreateRegisterCheck",
        &request,
        |request| &mut request.idempotency_key,
        &mut violations,
    );
    violations.finish()?;
    let (Some(case_id), Some(adult_id), Some(checked_on), Some(key)) =
        (case_id, adult_id, checked_on, key)
    else {
        return Err(ServiceError::internal("checked register check missing").into());
    };

    let txn = ctx.begin().await.map_err(ServiceError::from)?;
    if let Some(first) = key.find(&txn).await? {
        let found = row::Entity::find_by_id(first.resource_id.clone())
            .one(&txn)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| ServiceError::not_found("register_check", &first.resource_id))?;
        let answer = to_proto(ctx, &found, true)?;
        txn.commit().await.map_err(ServiceError::from)?;
        return Ok(Response::new(pb::CreateRegisterCheckResponse {
            register_check: Some(answer),
        }));
    }
    let case = cases::load(&txn, &case_id).await?;
    stage::check_open(&cases::facts(&case, &[], false)?).map_err(rule_error)?;
    if !case.adult_ids.split(',').any(|id| id == adult_id) {
        return Err(ServiceError::invalid(
            "register_check.adult_id",
            "is not an adult of this case",
        )
        .into());
    }
    let now = ctx.now();
    let id = hearth_domain::new_id().to_string();
    let sealed = pb::RegisterCheck {
        reference,
        note,
        ..Default::default()
    };
    let check = row::Model {
        id: id.clone(),
        case_id: case_id.clone(),
        adult_id,
        register: input.register,
        outcome: input.outcome,
        checked_by: if checked_by.is_empty() {
            principal.subject().to_owned()
        } else {
            checked_by
        },
        checked_on,
        content: support::seal(ctx, &sealed, &id)?,
        created_at: now,
    };
    row::Entity::insert(row::ActiveModel::from(check.clone()))
        .exec_without_returning(&txn)
        .await
        .map_err(ServiceError::from)?;
    // The case changed: its etag moves on.
    let mut touched: crate::store::entities::assessment_case::ActiveModel = case.clone().into();
    touched.version = ActiveValue::Set(case.version + 1);
    touched.updated_at = ActiveValue::Set(now);
    sea_orm::ActiveModelTrait::update(touched, &txn)
        .await
        .map_err(ServiceError::from)?;
    key.remember(&txn, &id, "created", now).await?;
    support::audit(
        ctx,
        &txn,
        &principal,
        AuditAction::Update,
        CASE_RESOURCE,
        "CreateRegisterCheck",
        [case_id.clone()],
    )
    .await?;
    let answer = to_proto(ctx, &check, true)?;
    txn.commit().await.map_err(ServiceError::from)?;
    tracing::info!(assessment_case_id = %case_id, register_check_id = %id, "register check recorded");
    Ok(Response::new(pb::CreateRegisterCheckResponse {
        register_check: Some(answer),
    }))
}
