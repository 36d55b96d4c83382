//! Assessment cases: read, listed as the queue, worked on (assessor, method, first contact),
//! moved through the stages, decided; and their timings. (Cases are opened and ended by
//! intake's events, in `app::cases`.)

use super::convert;
use super::support::{ASSESSORS, READERS};
use crate::app::cases::{self, Decided, RESOURCE, Related};
use crate::app::profiles;
use crate::domain::stage::{self, Stage};
use crate::domain::timing::{self, Distribution};
use crate::store::entities::{assessment_case as row, stage_entry};
use hearth_audit::AuditAction;
use hearth_auth::Principal;
use hearth_proto::assessment::v1 as pb;
use hearth_proto::assessment::v1::assessment_service_server::SERVICE_NAME;
use hearth_rpc::handler::{
    Access, ListedRow, PAGE_SIZES, accept, audit, audited_page, list_page, require_fresh,
    required_id, rpc_path,
};
use hearth_rpc::paging::Position;
use hearth_rpc::{ServiceContext, ServiceError, Transaction, Violations};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, Condition, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashMap;
use tonic::Request;

/// One case, full, its read recorded in `txn` (then committed) before it is returned.
async fn audited_case(
    ctx: &ServiceContext,
    txn: Transaction,
    principal: &Principal,
    case: &row::Model,
    action: AuditAction,
    method: &str,
) -> Result<pb::AssessmentCase, ServiceError> {
    let related = Related::load(&txn, std::slice::from_ref(&case.id)).await?;
    let answer = convert::case_to_proto(ctx, case, &related, true)?;
    audit(
        ctx,
        &txn,
        principal,
        action,
        RESOURCE,
        &rpc_path(SERVICE_NAME, method),
        [case.id.clone()],
    )
    .await?;
    txn.commit().await?;
    Ok(answer)
}

pub async fn get(
    ctx: &ServiceContext,
    request: Request<pb::GetAssessmentCaseRequest>,
) -> Result<pb::GetAssessmentCaseResponse, ServiceError> {
    let (principal, message) = accept(request, READERS)?;
    let id = required_id(&message.assessment_case_id, "assessment_case_id")?;
    let txn = ctx.begin().await?;
    let case = cases::load(&txn, &id).await?;
    let answer = audited_case(
        ctx,
        txn,
        &principal,
        &case,
        AuditAction::Read,
        "GetAssessmentCase",
    )
    .await?;
    Ok(pb::GetAssessmentCaseResponse {
        assessment_case: Some(answer),
    })
}

/// The queue's order: by priority rank, then oldest first. Its keyset position carries the
/// rank in the id part (`<rank>/<id>`).
impl ListedRow for row::Model {
    fn position(&self) -> Position {
        Position {
            time: self.received_at,
            id: format!("{}/{}", self.priority_rank, self.id),
        }
    }

    fn resource_id(&self) -> String {
        self.id.clone()
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
) -> Result<pb::ListAssessmentCasesResponse, ServiceError> {
    let (principal, message) = accept(request, READERS)?;
    let mut violations = Violations::new();
    let filter = convert::case_query(&message, &mut violations);
    let page = list_page(&message, PAGE_SIZES, &mut violations);
    violations.finish()?;

    let mut query = row::Entity::find();
    if !filter.stages.is_empty() {
        query = query.filter(row::Column::Stage.is_in(filter.stages.iter().map(|s| s.as_str())));
    }
    if !filter.municipalities.is_empty() {
        query = query.filter(
            row::Column::HomeMunicipality
                .is_in(filter.municipalities.iter().map(ToString::to_string)),
        );
    }
    if let Some(staff) = &filter.assigned_staff_id {
        query = query.filter(row::Column::AssignedStaffId.eq(staff.as_str()));
    }
    if !filter.outcomes.is_empty() {
        query =
            query.filter(row::Column::Outcome.is_in(filter.outcomes.iter().map(|o| o.as_str())));
    }
    if let Some(from) = filter.received.from {
        query = query.filter(row::Column::ReceivedAt.gte(from));
    }
    if let Some(to) = filter.received.to {
        query = query.filter(row::Column::ReceivedAt.lt(to));
    }
    if filter.over_time_limit {
        let cutoff =
            timing::over_time_limit_cutoff(ctx.today(), ctx.county.assessment().time_limit_days);
        query = query
            .filter(row::Column::Outcome.is_null())
            .filter(row::Column::ReceivedAt.lt(cutoff));
    }
    if let Some(after) = &page.after {
        query = query.filter(after_queue_position(after)?);
    }
    let txn = ctx.begin().await?;
    let rows = query
        .order_by_asc(row::Column::PriorityRank)
        .order_by_asc(row::Column::ReceivedAt)
        .order_by_asc(row::Column::Id)
        .limit(page.fetch_limit())
        .all(&txn)
        .await?;
    let ids: Vec<String> = rows.iter().map(|case| case.id.clone()).collect();
    let related = Related::load(&txn, &ids).await?;
    let (assessment_cases, next_page_token) = audited_page(
        ctx,
        txn,
        &principal,
        (&page, rows),
        Access {
            resource: RESOURCE,
            purpose: &rpc_path(SERVICE_NAME, "ListAssessmentCases"),
        },
        |case| convert::case_to_proto(ctx, case, &related, false),
    )
    .await?;
    Ok(pb::ListAssessmentCasesResponse {
        assessment_cases,
        next_page_token,
    })
}

pub async fn update(
    ctx: &ServiceContext,
    request: Request<pb::UpdateAssessmentCaseRequest>,
) -> Result<pb::UpdateAssessmentCaseResponse, ServiceError> {
    let (principal, message) = accept(request, READERS)?;
    let changes = convert::case_changes(message, ctx.today())?;
    let txn = ctx.begin().await?;
    let case = cases::load(&txn, &changes.id).await?;
    stage::check_open(&cases::facts(&case, &[], false)?)?;
    require_fresh(&changes.etag, case.version, false)?;
    let mut update: row::ActiveModel = case.clone().into();
    if let Some(method) = changes.method {
        update.method = ActiveValue::Set(method);
    }
    if let Some(assigned) = changes.assigned_staff_id {
        update.assigned_staff_id = ActiveValue::Set(assigned);
    }
    if let Some(date) = changes.first_contact_date {
        update.first_contact_date = ActiveValue::Set(Some(date));
    }
    update.version = ActiveValue::Set(case.version + 1);
    update.updated_at = ActiveValue::Set(ctx.now());
    let updated = update.update(&txn).await?;
    let answer = audited_case(
        ctx,
        txn,
        &principal,
        &updated,
        AuditAction::Update,
        "UpdateAssessmentCase",
    )
    .await?;
    Ok(pb::UpdateAssessmentCaseResponse {
        assessment_case: Some(answer),
    })
}

pub async fn change_stage(
    ctx: &ServiceContext,
    request: Request<pb::ChangeAssessmentStageRequest>,
) -> Result<pb::ChangeAssessmentStageResponse, ServiceError> {
    let (principal, message) = accept(request, ASSESSORS)?;
    let change = convert::stage_change(ctx, &message)?;
    let id = &change.id;
    let txn = ctx.begin().await?;
    let case = cases::load(&txn, id).await?;
    if change.key.find(&txn).await?.is_some() {
        let answer = audited_case(
            ctx,
            txn,
            &principal,
            &case,
            AuditAction::Read,
            "ChangeAssessmentStage",
        )
        .await?;
        return Ok(pb::ChangeAssessmentStageResponse {
            assessment_case: Some(answer),
        });
    }
    require_fresh(&change.etag, case.version, true)?;
    let checks = cases::load_checks(&txn, id).await?;
    let from = cases::stage_of(&case)?;
    let facts = cases::facts(&case, &checks, change.method.is_some())?;
    let next = stage::transition(&facts, change.target)?;
    let now = ctx.now();
    let today = ctx.today();
    let mut update: row::ActiveModel = case.clone().into();
    update.stage = ActiveValue::Set(next.as_str().to_owned());
    if let Some(method) = change.method {
        update.method = ActiveValue::Set(method);
    }
    if from == Stage::FirstContact && case.first_contact_date.is_none() {
        // Leaving first contact records that it happened, on the day it was left at the latest.
        update.first_contact_date = ActiveValue::Set(Some(today));
    }
    update.version = ActiveValue::Set(case.version + 1);
    update.updated_at = ActiveValue::Set(now);
    let updated = update.update(&txn).await?;
    stage_entry::Entity::insert(cases::stage_row(
        &case,
        next,
        now,
        principal.subject(),
        today,
    ))
    .exec_without_returning(&txn)
    .await?;
    change.key.remember(&txn, id, next.as_str(), now).await?;
    let answer = audited_case(
        ctx,
        txn,
        &principal,
        &updated,
        AuditAction::Update,
        "ChangeAssessmentStage",
    )
    .await?;
    tracing::info!(assessment_case_id = %id, stage = next.as_str(), "assessment case moved");
    Ok(pb::ChangeAssessmentStageResponse {
        assessment_case: Some(answer),
    })
}

pub async fn decide(
    ctx: &ServiceContext,
    request: Request<pb::DecideAssessmentRequest>,
) -> Result<pb::DecideAssessmentResponse, ServiceError> {
    let (principal, message) = accept(request, ASSESSORS)?;
    let decision = convert::decision(ctx, &message)?;
    let id = &decision.id;
    let txn = ctx.begin().await?;
    let case = cases::load(&txn, id).await?;
    if decision.key.find(&txn).await?.is_some() {
        let family_profile = match &case.family_profile_id {
            Some(profile_id) => Some(convert::profile_to_proto(
                ctx,
                &profiles::load(&txn, profile_id).await?,
            )?),
            None => None,
        };
        let answer = audited_case(
            ctx,
            txn,
            &principal,
            &case,
            AuditAction::Read,
            "DecideAssessment",
        )
        .await?;
        return Ok(pb::DecideAssessmentResponse {
            assessment_case: Some(answer),
            family_profile,
        });
    }
    require_fresh(&decision.etag, case.version, true)?;
    let checks = cases::load_checks(&txn, id).await?;
    stage::check_decision(&cases::facts(&case, &checks, false)?, decision.outcome)?;
    let (updated, profile) = cases::record_decision(
        ctx,
        &txn,
        &case,
        Decided {
            outcome: decision.outcome,
            on: decision.on,
            by: principal.subject(),
            rationale: &decision.rationale,
        },
        decision.profile.as_ref(),
    )
    .await?;
    let family_profile = profile
        .map(|profile| convert::profile_to_proto(ctx, &profile))
        .transpose()?;
    decision
        .key
        .remember(&txn, id, decision.outcome.as_str(), ctx.now())
        .await?;
    let answer = audited_case(
        ctx,
        txn,
        &principal,
        &updated,
        AuditAction::Update,
        "DecideAssessment",
    )
    .await?;
    ctx.outbox.notify_relay();
    tracing::info!(assessment_case_id = %id, outcome = decision.outcome.as_str(), "assessment decided");
    Ok(pb::DecideAssessmentResponse {
        assessment_case: Some(answer),
        family_profile,
    })
}

pub async fn timings(
    ctx: &ServiceContext,
    request: Request<pb::GetAssessmentTimingsRequest>,
) -> Result<pb::GetAssessmentTimingsResponse, ServiceError> {
    let (_, message) = accept(request, READERS)?;
    let received = convert::timings_range(&message)?;
    let mut entries = stage_entry::Entity::find()
        .select_only()
        .column(stage_entry::Column::Stage)
        .column(stage_entry::Column::DaysFromRegistration);
    let mut open = row::Entity::find().filter(row::Column::Outcome.is_null());
    if let Some(from) = received.from {
        entries = entries.filter(stage_entry::Column::ReceivedAt.gte(from));
        open = open.filter(row::Column::ReceivedAt.gte(from));
    }
    if let Some(to) = received.to {
        entries = entries.filter(stage_entry::Column::ReceivedAt.lt(to));
        open = open.filter(row::Column::ReceivedAt.lt(to));
    }
    let limit_days = ctx.county.assessment().time_limit_days;
    let cutoff = timing::over_time_limit_cutoff(ctx.today(), limit_days);
    let rows: Vec<(String, i32)> = entries.into_tuple().all(&ctx.db).await?;
    let open_cases = open.clone().count(&ctx.db).await?;
    let over = open
        .filter(row::Column::ReceivedAt.lt(cutoff))
        .count(&ctx.db)
        .await?;
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
            convert::stage_timing(*stage, found)
        })
        .collect();
    Ok(pb::GetAssessmentTimingsResponse {
        stages,
        time_limit_days: limit_days,
        open_cases: u32::try_from(open_cases).unwrap_or(u32::MAX),
        open_cases_over_time_limit: u32::try_from(over).unwrap_or(u32::MAX),
    })
}
