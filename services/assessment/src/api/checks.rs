//! Register checks: staff record, for one adult of a case, what one register showed.

use super::convert;
use super::support::ASSESSORS;
use crate::app::cases::{self, RESOURCE as CASE_RESOURCE};
use crate::app::convert::{check_outcome_to_proto, register_to_proto};
use crate::domain::stage;
use crate::store::entities::{assessment_case, register_check as row};
use hearth_audit::AuditAction;
use hearth_proto::assessment::v1 as pb;
use hearth_proto::assessment::v1::assessment_service_server::SERVICE_NAME;
use hearth_rpc::handler::{accept, audit, rpc_path, seal};
use hearth_rpc::{ServiceContext, ServiceError};
use sea_orm::{ActiveModelTrait, ActiveValue, EntityTrait};
use tonic::Request;

pub async fn create(
    ctx: &ServiceContext,
    request: Request<pb::CreateRegisterCheckRequest>,
) -> Result<pb::CreateRegisterCheckResponse, ServiceError> {
    let (principal, message) = accept(request, ASSESSORS)?;
    let input = convert::register_check(ctx, &message)?;
    let txn = ctx.begin().await?;
    if let Some(first) = input.key.find(&txn).await? {
        let found = row::Entity::find_by_id(first.resource_id.clone())
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::not_found("register_check", &first.resource_id))?;
        let answer = convert::check_to_proto(ctx, &found, true)?;
        txn.commit().await?;
        return Ok(pb::CreateRegisterCheckResponse {
            register_check: Some(answer),
        });
    }
    let case = cases::load(&txn, &input.case_id).await?;
    stage::check_open(&cases::facts(&case, &[], false)?)?;
    if !case.adult_ids.split(',').any(|id| id == input.adult_id) {
        return Err(ServiceError::invalid(
            "register_check.adult_id",
            "is not an adult of this case",
        ));
    }
    let now = ctx.now();
    let id = hearth_domain::new_id().to_string();
    let sealed = pb::RegisterCheck {
        reference: input.reference,
        note: input.note,
        ..Default::default()
    };
    let check = row::Model {
        id: id.clone(),
        case_id: input.case_id.clone(),
        adult_id: input.adult_id,
        register: register_to_proto(input.register) as i32,
        outcome: check_outcome_to_proto(input.outcome) as i32,
        checked_by: if input.checked_by.is_empty() {
            principal.subject().to_owned()
        } else {
            input.checked_by
        },
        checked_on: input.checked_on,
        content: seal(ctx, &sealed, &id)?,
        created_at: now,
    };
    row::Entity::insert(row::ActiveModel::from(check.clone()))
        .exec_without_returning(&txn)
        .await?;
    // The case changed: its etag moves on.
    let mut touched: assessment_case::ActiveModel = case.clone().into();
    touched.version = ActiveValue::Set(case.version + 1);
    touched.updated_at = ActiveValue::Set(now);
    touched.update(&txn).await?;
    input.key.remember(&txn, &id, "created", now).await?;
    audit(
        ctx,
        &txn,
        &principal,
        AuditAction::Update,
        CASE_RESOURCE,
        &rpc_path(SERVICE_NAME, "CreateRegisterCheck"),
        [input.case_id.clone()],
    )
    .await?;
    let answer = convert::check_to_proto(ctx, &check, true)?;
    txn.commit().await?;
    tracing::info!(assessment_case_id = %input.case_id, register_check_id = %id, "register check recorded");
    Ok(pb::CreateRegisterCheckResponse {
        register_check: Some(answer),
    })
}
