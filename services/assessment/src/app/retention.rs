//! The retention job: a case that ended without approval (not suitable, withdrawn by the
//! family) is erased `[assessment] retention_days` after its decision. Its personal data (the
//! household, register checks, the grounds of the decision) is deleted; its stage entries stay
//! as anonymous timing statistics, detached from it; `family.erased` tells every consumer to
//! forget it, the registration is remembered as erased so that no replayed
//! `interest.registered` opens it again, and each erasure is written to the audit log.

use super::cases;
use crate::domain::stage::Outcome;
use crate::published;
use crate::store::entities::{
    assessment_case as row, erased_registration, register_check, stage_entry,
};
use hearth_audit::AuditAction;
use hearth_auth::Principal;
use hearth_proto::convert;
use hearth_proto::events::v1::{AggregateErased, ErasureReason};
use hearth_rpc::handler;
use hearth_rpc::{Job, JobRun, ServiceContext, ServiceError};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::sync::Arc;
use std::time::Duration;

/// The job's name (`Instance::run_job("assessment", NAME)`).
pub const NAME: &str = "retention";
/// The job's purpose in the audit log and its subject there.
const PURPOSE: &str = "hearth.assessment.retention";
/// How often it runs.
const INTERVAL: Duration = Duration::from_secs(60 * 60);
/// Cases erased per run at most (the next run goes on).
const BATCH: u64 = 500;

/// The retention job of the assessment service.
pub fn job(ctx: &ServiceContext) -> Job {
    Job {
        name: NAME,
        interval: INTERVAL,
        run: Arc::new(Retention { ctx: ctx.clone() }),
    }
}

struct Retention {
    ctx: ServiceContext,
}

#[async_trait::async_trait]
impl JobRun for Retention {
    async fn run(&self) -> Result<String, ServiceError> {
        let ctx = &self.ctx;
        let days = ctx.county.assessment().retention_days;
        let cutoff = ctx.now() - chrono::TimeDelta::days(i64::from(days));
        let due = row::Entity::find()
            .filter(row::Column::Outcome.is_in([
                Outcome::NotSuitable.as_str(),
                Outcome::WithdrawnByFamily.as_str(),
            ]))
            .filter(row::Column::DecidedAt.lt(cutoff))
            .order_by_asc(row::Column::DecidedAt)
            .limit(BATCH)
            .all(&ctx.db)
            .await?;
        let mut erased = Vec::with_capacity(due.len());
        for case in &due {
            erase(ctx, case).await?;
            erased.push(case.id.as_str());
        }
        if erased.is_empty() {
            return Ok(String::new());
        }
        Ok(format!(
            "erased {} assessment case(s) that ended without approval more than {days} days ago: {}",
            erased.len(),
            erased.join(", ")
        ))
    }
}

async fn erase(ctx: &ServiceContext, case: &row::Model) -> Result<(), ServiceError> {
    let now = ctx.now();
    let txn = ctx.begin().await?;
    register_check::Entity::delete_many()
        .filter(register_check::Column::CaseId.eq(case.id.clone()))
        .exec(&txn)
        .await?;
    let deleted = row::Entity::delete_by_id(case.id.clone())
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        // Erased meanwhile (a run triggered beside the periodic one).
        return Ok(());
    }
    // The timing statistics stay, under an id that leads nowhere.
    stage_entry::Entity::update_many()
        .col_expr(
            stage_entry::Column::CaseId,
            Expr::value(hearth_domain::new_id().to_string()),
        )
        .col_expr(stage_entry::Column::EnteredBy, Expr::value(String::new()))
        .filter(stage_entry::Column::CaseId.eq(case.id.clone()))
        .exec(&txn)
        .await?;
    erased_registration::Entity::insert(erased_registration::ActiveModel {
        interest_registration_id: ActiveValue::Set(case.interest_registration_id.clone()),
        case_id: ActiveValue::Set(case.id.clone()),
        erased_at: ActiveValue::Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    let tombstone = AggregateErased {
        reason: ErasureReason::RetentionExpired as i32,
        erased_on: Some(convert::date_to_proto(ctx.today())),
    };
    handler::publish(
        ctx,
        &txn,
        &published::FAMILY_ERASED,
        (&case.id, published::CASE_ERASED_VERSION),
        &tombstone,
        now,
    )
    .await?;
    let job = Principal::try_new(PURPOSE, ctx.county.slug().clone(), [], None)
        .map_err(ServiceError::internal)?;
    handler::audit(
        ctx,
        &txn,
        &job,
        AuditAction::Erase,
        cases::RESOURCE,
        PURPOSE,
        [case.id.clone()],
    )
    .await?;
    txn.commit().await?;
    ctx.outbox.notify_relay();
    tracing::info!(assessment_case_id = %case.id, "assessment case erased: its retention period ended");
    Ok(())
}
