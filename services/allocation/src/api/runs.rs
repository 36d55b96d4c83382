//! Allocation runs: create (idempotent; a preview with `validate_only`), get and list. A stored
//! run supersedes the earlier completed run of its year and kind with its invoices, issues one
//! invoice per share and publishes `allocation.completed`, in one transaction.

use chrono::{DateTime, Utc};
use hearth_auth::Principal;
use hearth_domain::{Money, MunicipalityCode};
use hearth_proto::allocation::v1 as pb;
use hearth_proto::common::v1::AllocationRunKind;
use hearth_proto::convert::{municipality_code_to_proto, timestamp_to_proto};
use hearth_proto::events::v1::{AllocationCompleted, MemberShare};
use hearth_rpc::handler::{self, accept, idempotency_key, list_page};
use hearth_rpc::idempotency::IdempotencyKey;
use hearth_rpc::paging::Position;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use prost::Message;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use tonic::Request;

use super::compute::{Computed, RunAsk, compute};
use super::support::{FINANCE, READERS, RUN_ID, RUN_PAGE_SIZES, check_year, own_only};
use crate::app::audit_change;
use crate::convert;
use crate::domain::Membership;
use crate::published::ALLOCATION_COMPLETED;
use crate::store::entities::{
    INVOICE_ISSUED, INVOICE_SUPERSEDED, KIND_ANNUAL, KIND_SETTLEMENT, STATE_COMPLETED,
    STATE_SUPERSEDED, invoice, run,
};
use crate::store::records::{InvoiceRecord, RunRecord, from_json, to_json};

const OPERATION: &str = "CreateAllocationRun";

pub async fn create(
    ctx: &ServiceContext,
    request: Request<pb::CreateAllocationRunRequest>,
) -> Result<pb::CreateAllocationRunResponse, ServiceError> {
    let (principal, request) = accept(request, FINANCE)?;
    let mut violations = Violations::new();
    let idempotency = run_idempotency_key(ctx, &request, &mut violations);
    let ask = run_ask(&mut violations, &request);
    violations.finish()?;
    let Some(ask) = ask else {
        return Err(ServiceError::internal("a checked request without a run"));
    };
    if request.validate_only {
        return preview(ctx, &principal, &ask).await;
    }
    let Some(idempotency) = idempotency else {
        return Err(ServiceError::internal("a checked request without a key"));
    };
    let txn = ctx.begin().await?;
    if let Some(first) = idempotency.find(&txn).await? {
        let row = run::Entity::find_by_id(first.resource_id.clone())
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::internal("an idempotency key of a missing run"))?;
        txn.commit().await?;
        return Ok(response(stored_to_proto(&row, None)?));
    }
    let Computed { total, mut record } = compute(ctx, &txn, &ask).await?;
    let now = ctx.now();
    let view = RunView {
        id: uuid::Uuid::now_v7().hyphenated().to_string(),
        year: ask.year,
        kind: ask.kind,
        state: STATE_COMPLETED,
        total_ore: total.as_ore(),
        create_time: Some(now),
        created_by: principal.subject().to_owned(),
    };
    store(ctx, &txn, &view, now, &mut record, &idempotency).await?;
    audit_change(ctx, &txn, &principal, "allocation_run", &view.id, OPERATION).await?;
    txn.commit().await?;
    ctx.outbox.notify_relay();
    tracing::info!(
        allocation_run_id = %view.id,
        year = view.year,
        kind = view.kind,
        total_ore = view.total_ore,
        "allocation run completed"
    );
    Ok(response(view.to_proto(&record, None)))
}

pub async fn get(
    ctx: &ServiceContext,
    request: Request<pb::GetAllocationRunRequest>,
) -> Result<pb::GetAllocationRunResponse, ServiceError> {
    let (principal, request) = accept(request, READERS)?;
    let row = RUN_ID
        .find::<run::Entity, _>(&ctx.db, &request.allocation_run_id)
        .await?;
    Ok(pb::GetAllocationRunResponse {
        allocation_run: Some(stored_to_proto(&row, own_only(&principal))?),
    })
}

pub async fn list(
    ctx: &ServiceContext,
    request: Request<pb::ListAllocationRunsRequest>,
) -> Result<pb::ListAllocationRunsResponse, ServiceError> {
    let (principal, request) = accept(request, READERS)?;
    let mut violations = Violations::new();
    let page = list_page(&request, RUN_PAGE_SIZES, &mut violations);
    check_list_filters(&request, &mut violations);
    violations.finish()?;
    let mut query = run::Entity::find();
    if request.year != 0 {
        query = query.filter(run::Column::Year.eq(request.year));
    }
    if !request.kinds.is_empty() {
        query = query.filter(run::Column::Kind.is_in(request.kinds.clone()));
    }
    if !request.states.is_empty() {
        query = query.filter(run::Column::State.is_in(request.states.clone()));
    }
    let mut rows = page
        .newest_first(query, run::Column::CreateTime, run::Column::Id)
        .all(&ctx.db)
        .await?;
    let next_page_token = page.finish(&mut rows, |last| Position {
        time: last.create_time,
        id: last.id.clone(),
    });
    let only = own_only(&principal);
    Ok(pb::ListAllocationRunsResponse {
        allocation_runs: rows
            .iter()
            .map(|row| stored_to_proto(row, only))
            .collect::<Result<_, _>>()?,
        next_page_token,
    })
}

fn check_list_filters(request: &pb::ListAllocationRunsRequest, violations: &mut Violations) {
    if request.year != 0 {
        check_year(violations, "year", request.year);
    }
    for (index, kind) in request.kinds.iter().enumerate() {
        if !matches!(
            AllocationRunKind::try_from(*kind),
            Ok(AllocationRunKind::AnnualBudget | AllocationRunKind::YearEndSettlement)
        ) {
            violations.add(format!("kinds[{index}]"), "is not a run kind");
        }
    }
    for (index, state) in request.states.iter().enumerate() {
        if !matches!(
            pb::AllocationRunState::try_from(*state),
            Ok(pb::AllocationRunState::Completed | pb::AllocationRunState::Superseded)
        ) {
            violations.add(
                format!("states[{index}]"),
                "must be ALLOCATION_RUN_STATE_COMPLETED or ALLOCATION_RUN_STATE_SUPERSEDED",
            );
        }
    }
}

/// The run's idempotency key; a preview may go without one.
fn run_idempotency_key(
    ctx: &ServiceContext,
    request: &pb::CreateAllocationRunRequest,
    violations: &mut Violations,
) -> Option<IdempotencyKey> {
    if request.validate_only && request.idempotency_key.is_empty() {
        return None;
    }
    let without_key = pb::CreateAllocationRunRequest {
        idempotency_key: String::new(),
        ..request.clone()
    };
    idempotency_key(
        ctx,
        OPERATION,
        &request.idempotency_key,
        &without_key.encode_to_vec(),
        violations,
    )
}

fn response(run: pb::AllocationRun) -> pb::CreateAllocationRunResponse {
    pb::CreateAllocationRunResponse {
        allocation_run: Some(run),
    }
}

/// A run computed and returned, not stored (`validate_only`).
async fn preview(
    ctx: &ServiceContext,
    principal: &Principal,
    ask: &RunAsk,
) -> Result<pb::CreateAllocationRunResponse, ServiceError> {
    let txn = ctx.begin().await?;
    let Computed { total, record } = compute(ctx, &txn, ask).await?;
    drop(txn);
    let view = RunView {
        id: String::new(),
        year: ask.year,
        kind: ask.kind,
        state: pb::AllocationRunState::Preview as i32,
        total_ore: total.as_ore(),
        create_time: None,
        created_by: principal.subject().to_owned(),
    };
    Ok(response(view.to_proto(&record, None)))
}

/// Stores a computed run: supersedes the earlier completed run of its year and kind, issues
/// its invoices, writes `allocation.completed` to the outbox and remembers the idempotency key.
async fn store<C: ConnectionTrait>(
    ctx: &ServiceContext,
    txn: &C,
    view: &RunView,
    now: DateTime<Utc>,
    record: &mut RunRecord,
    idempotency: &IdempotencyKey,
) -> Result<(), ServiceError> {
    supersede(txn, view.year, view.kind).await?;
    let invoices = issue_invoices(view, record, now)?;
    run::Entity::insert(run::ActiveModel {
        id: ActiveValue::Set(view.id.clone()),
        year: ActiveValue::Set(view.year),
        kind: ActiveValue::Set(view.kind),
        state: ActiveValue::Set(view.state),
        total_ore: ActiveValue::Set(view.total_ore),
        created_by: ActiveValue::Set(view.created_by.clone()),
        create_time: ActiveValue::Set(now),
        body: ActiveValue::Set(to_json(record)?),
    })
    .exec_without_returning(txn)
    .await?;
    if !invoices.is_empty() {
        invoice::Entity::insert_many(invoices)
            .exec_without_returning(txn)
            .await?;
    }
    publish(ctx, txn, view, record, now).await?;
    idempotency.remember(txn, &view.id, "completed", now).await
}

/// The earlier completed run of the year and kind, and its invoices, are superseded.
async fn supersede<C: ConnectionTrait>(txn: &C, year: i32, kind: i32) -> Result<(), ServiceError> {
    let earlier: Vec<String> = run::Entity::find()
        .filter(run::Column::Year.eq(year))
        .filter(run::Column::Kind.eq(kind))
        .filter(run::Column::State.eq(STATE_COMPLETED))
        .all(txn)
        .await?
        .into_iter()
        .map(|row| row.id)
        .collect();
    if earlier.is_empty() {
        return Ok(());
    }
    run::Entity::update_many()
        .col_expr(run::Column::State, Expr::value(STATE_SUPERSEDED))
        .filter(run::Column::Id.is_in(earlier.clone()))
        .exec(txn)
        .await?;
    invoice::Entity::update_many()
        .col_expr(invoice::Column::State, Expr::value(INVOICE_SUPERSEDED))
        .filter(invoice::Column::RunId.is_in(earlier))
        .exec(txn)
        .await?;
    Ok(())
}

/// One invoice per share; each share gets its invoice's id.
fn issue_invoices(
    view: &RunView,
    record: &mut RunRecord,
    now: DateTime<Utc>,
) -> Result<Vec<invoice::ActiveModel>, ServiceError> {
    record
        .shares
        .iter_mut()
        .map(|share| {
            share.invoice_id = uuid::Uuid::now_v7().hyphenated().to_string();
            Ok(invoice::ActiveModel {
                id: ActiveValue::Set(share.invoice_id.clone()),
                run_id: ActiveValue::Set(view.id.clone()),
                municipality: ActiveValue::Set(share.municipality.to_string()),
                year: ActiveValue::Set(view.year),
                kind: ActiveValue::Set(view.kind),
                state: ActiveValue::Set(INVOICE_ISSUED),
                amount_ore: ActiveValue::Set(share.amount_ore),
                issue_time: ActiveValue::Set(now),
                body: ActiveValue::Set(to_json(&InvoiceRecord {
                    instalments: share.instalments.clone(),
                })?),
            })
        })
        .collect()
}

/// `allocation.completed`, into the run's transaction.
async fn publish<C: ConnectionTrait>(
    ctx: &ServiceContext,
    txn: &C,
    view: &RunView,
    record: &RunRecord,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let event = AllocationCompleted {
        allocation_run_id: view.id.clone(),
        year: view.year,
        kind: view.kind,
        total: Some(convert::money(view.total_ore)),
        shares: record
            .shares
            .iter()
            .map(|share| MemberShare {
                municipality: Some(municipality_code_to_proto(share.municipality)),
                amount: Some(convert::money(share.amount_ore)),
                invoice_id: share.invoice_id.clone(),
            })
            .collect(),
    };
    handler::publish(ctx, txn, &ALLOCATION_COMPLETED, (&view.id, 1), &event, now).await
}

/// Checks a `CreateAllocationRun` (all but its idempotency key).
fn run_ask(
    violations: &mut Violations,
    request: &pb::CreateAllocationRunRequest,
) -> Option<RunAsk> {
    check_year(violations, "year", request.year);
    let kind = match AllocationRunKind::try_from(request.kind) {
        Ok(AllocationRunKind::AnnualBudget) => Some(KIND_ANNUAL),
        Ok(AllocationRunKind::YearEndSettlement) => Some(KIND_SETTLEMENT),
        _ => {
            violations.add(
                "kind",
                "must be ALLOCATION_RUN_KIND_ANNUAL_BUDGET or ALLOCATION_RUN_KIND_YEAR_END_SETTLEMENT",
            );
            None
        }
    };
    let rounding = convert::from_rounding(request.rounding);
    if rounding.is_none() {
        violations.add("rounding", "must be ROUNDING_KRONA or ROUNDING_ORE");
    }
    let key_basis = match request.key_basis {
        0 => None,
        value => {
            let basis = convert::from_basis(value);
            if basis.is_none() {
                violations.add("key_basis", "is not a key basis");
            }
            basis
        }
    };
    let settlement = convert::from_money(request.settlement.as_ref());
    let actual_cost = convert::from_money(request.actual_cost.as_ref());
    if let Some(kind) = kind {
        check_amounts(violations, kind, settlement, actual_cost);
    }
    Some(RunAsk {
        year: request.year,
        kind: kind?,
        rounding: rounding?,
        key_basis,
        settlement,
        actual_cost,
    })
}

/// An annual run shares the budget; a settlement shares the amount it is given, one way.
fn check_amounts(
    violations: &mut Violations,
    kind: i32,
    settlement: Option<Money>,
    actual_cost: Option<Money>,
) {
    if kind == KIND_ANNUAL {
        if settlement.is_some() {
            violations.add(
                "settlement",
                "must be unset for an annual budget run: it shares the year's budget",
            );
        }
        if actual_cost.is_some() {
            violations.add("actual_cost", "must be unset for an annual budget run");
        }
        return;
    }
    match (settlement, actual_cost) {
        (None, None) => violations.add(
            "settlement",
            "is required for a settlement (or set actual_cost instead)",
        ),
        (Some(_), Some(_)) => violations.add(
            "actual_cost",
            "must be unset when settlement is set: give one of them",
        ),
        (None, Some(actual)) if actual.is_negative() => {
            violations.add("actual_cost.ore", "must not be negative")
        }
        _ => {}
    }
}

/// A run's columns, as the answer shows them beside its record.
struct RunView {
    id: String,
    year: i32,
    kind: i32,
    state: i32,
    total_ore: i64,
    create_time: Option<DateTime<Utc>>,
    created_by: String,
}

fn stored_to_proto(
    row: &run::Model,
    only: Option<MunicipalityCode>,
) -> Result<pb::AllocationRun, ServiceError> {
    let record: RunRecord = from_json(&row.body)?;
    let view = RunView {
        id: row.id.clone(),
        year: row.year,
        kind: row.kind,
        state: row.state,
        total_ore: row.total_ore,
        create_time: Some(row.create_time),
        created_by: row.created_by.clone(),
    };
    Ok(view.to_proto(&record, only))
}

impl RunView {
    /// The run as the API shows it; `only` shows that municipality's shares alone.
    fn to_proto(&self, record: &RunRecord, only: Option<MunicipalityCode>) -> pb::AllocationRun {
        let year = self.year;
        pb::AllocationRun {
            id: self.id.clone(),
            year,
            kind: self.kind,
            rounding: convert::rounding(record.rounding) as i32,
            total: Some(convert::money(self.total_ore)),
            members: record.members.iter().map(convert::member).collect(),
            key: record.key.as_ref().map(|snapshot| {
                convert::key(
                    snapshot.year,
                    &snapshot.key,
                    snapshot.version,
                    snapshot.update_time,
                    only,
                )
            }),
            shares: shares(record, year, only),
            state: self.state,
            create_time: self.create_time.map(timestamp_to_proto),
            created_by: self.created_by.clone(),
            budget: record.budget.as_ref().map(|snapshot| {
                convert::budget(
                    year,
                    &snapshot.budget,
                    snapshot.version,
                    snapshot.update_time,
                )
            }),
            key_basis: record
                .key_basis
                .map_or(pb::KeyBasis::Unspecified, convert::basis) as i32,
            annual_run_id: record.annual_run_id.clone().unwrap_or_default(),
            budget_projected_from_year: record
                .budget
                .as_ref()
                .filter(|snapshot| snapshot.from_year != year)
                .map_or(0, |snapshot| snapshot.from_year),
        }
    }
}

/// The shares `only` may see (all when `None`); a settlement's shares show the months of
/// membership in the year.
fn shares(
    record: &RunRecord,
    year: i32,
    only: Option<MunicipalityCode>,
) -> Vec<pb::AllocationShare> {
    let months_of = |municipality: MunicipalityCode| {
        record
            .members
            .iter()
            .find(|member| member.municipality == municipality)
            .map_or(0, |member| {
                u32::from(
                    Membership {
                        from: member.member_from,
                        to: member.member_to,
                    }
                    .months_in(year)
                    .count(),
                )
            })
    };
    record
        .shares
        .iter()
        .filter(|share| only.is_none_or(|own| own == share.municipality))
        .map(|share| pb::AllocationShare {
            municipality: Some(municipality_code_to_proto(share.municipality)),
            common_costs: Some(convert::money(share.common_ore)),
            specific_costs: Some(convert::money(share.specific_ore)),
            amount: Some(convert::money(share.amount_ore)),
            share_millionths: share.share_millionths,
            invoice_id: share.invoice_id.clone(),
            months: if share.months > 0 {
                u32::from(share.months)
            } else {
                months_of(share.municipality)
            },
        })
        .collect()
}
