//! The gRPC adapter of the allocation service: requests in, domain calls, responses out.
//!
//! Every handler converts its request with [`Violations`] (one field violation per bad field,
//! named as the client sent it), checks the caller with `hearth_auth`, and writes state, audit
//! records and outbox rows in one transaction. Municipality staff see their own municipality's
//! shares and invoices only.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use hearth_audit::{AuditAction, AuditEntry, Purpose, ResourceId, ResourceType};
use hearth_auth::{Principal, Role};
use hearth_bus::{NewEvent, pack_payload};
use hearth_domain::{Money, MunicipalityCode};
use hearth_proto::allocation::v1 as pb;
use hearth_proto::allocation::v1::allocation_service_server::AllocationService;
use hearth_proto::common::v1::AllocationRunKind;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use prost::Message as _;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use crate::convert;
use crate::domain::{
    self, AllocationError, AllocationRequest, BudgetLine, KeyBasis, KeyValues, MemberKey,
    Membership, Rounding, Split,
};
use crate::files;
use crate::store::entities::{budget, invoice, key, run};
use crate::store::records::{
    BudgetRecord, BudgetSnapshot, InstalmentRecord, InvoiceRecord, KeyRecord, KeySnapshot,
    KeyValueRecord, MemberRecord, RunRecord, ShareRecord, from_json, to_json,
};

/// Who may change keys and budgets and run allocations.
const FINANCE: &[Role] = &[Role::Finance, Role::Admin];
/// Who may read members, keys, budgets and runs.
const READERS: &[Role] = &[
    Role::Finance,
    Role::UnitStaff,
    Role::Admin,
    Role::MunicipalityStaff,
];
/// Who may read invoices (municipality staff their own only).
const INVOICE_READERS: &[Role] = &[Role::Finance, Role::Admin, Role::MunicipalityStaff];

const SERVICE_PATH: &str = "/hearth.allocation.v1.AllocationService/";

/// Years the service accepts.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2200;

const STATE_COMPLETED: i32 = pb::AllocationRunState::Completed as i32;
const STATE_SUPERSEDED: i32 = pb::AllocationRunState::Superseded as i32;
const INVOICE_ISSUED: i32 = pb::InvoiceState::Issued as i32;
const INVOICE_SUPERSEDED: i32 = pb::InvoiceState::Superseded as i32;
const KIND_ANNUAL: i32 = AllocationRunKind::AnnualBudget as i32;
const KIND_SETTLEMENT: i32 = AllocationRunKind::YearEndSettlement as i32;

pub struct AllocationApi {
    ctx: ServiceContext,
}

impl AllocationApi {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

/// Now, at the precision both databases store (microseconds), so that what a change returns is
/// what a later read returns.
fn stored_now(ctx: &ServiceContext) -> DateTime<Utc> {
    let now = ctx.clock.now_utc();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

fn caller<T>(request: &Request<T>) -> Result<Principal, ServiceError> {
    hearth_auth::principal(request)
        .cloned()
        .map_err(|status| ServiceError::Unauthenticated(status.message().to_owned()))
}

fn answer<T>(result: Result<T, ServiceError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

fn check_year(violations: &mut Violations, field: &str, year: i32) {
    if !YEARS.contains(&year) {
        violations.add(
            field,
            format!("must be a year from {} to {}", YEARS.start(), YEARS.end()),
        );
    }
}

fn purpose(method: &str) -> Result<Purpose, ServiceError> {
    Purpose::parse(&format!("{SERVICE_PATH}{method}")).map_err(ServiceError::internal)
}

async fn audit_change<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    principal: &Principal,
    resource_type: &str,
    resource_id: &str,
    method: &str,
) -> Result<(), ServiceError> {
    let entry = AuditEntry::new(
        principal,
        AuditAction::Update,
        ResourceType::parse(resource_type).map_err(ServiceError::internal)?,
        ResourceId::parse(resource_id).map_err(ServiceError::internal)?,
        purpose(method)?,
    );
    ctx.audit.record(conn, &entry).await?;
    Ok(())
}

/// Maps a domain refusal to the caller's error: a rule of the data (`FAILED_PRECONDITION`).
fn not_allocatable(error: AllocationError) -> ServiceError {
    match error {
        AllocationError::KeyMissing { .. } => {
            ServiceError::rule("ALLOCATION_KEY_INCOMPLETE", error.to_string())
        }
        AllocationError::NoMembers { .. } => ServiceError::rule("NO_MEMBERS", error.to_string()),
        AllocationError::Overflow => ServiceError::internal(error),
        other => ServiceError::rule("NOT_ALLOCATABLE", other.to_string()),
    }
}

fn key_etag_mismatch() -> ServiceError {
    ServiceError::Aborted {
        reason: "STALE_ETAG",
        message: "the etag is not the current one: read again and retry".to_owned(),
    }
}

/// The default key of a year that has none: population 0–17 on 31 December of the previous
/// year, every cost shared by population.
fn default_key(year: i32) -> KeyRecord {
    KeyRecord {
        population_reference_date: NaiveDate::from_ymd_opt(year - 1, 12, 31),
        values: Vec::new(),
        use_measure: pb::UseMeasure::Unspecified as i32,
        common_split: vec![(KeyBasis::Population0To17, 10_000)],
        specific_split: vec![(KeyBasis::Population0To17, 10_000)],
        last_import: None,
    }
}

/// SHA-256 of a request's encoding, in hex.
fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut text, byte| {
            use std::fmt::Write as _;
            let _ = write!(text, "{byte:02x}");
            text
        })
}

/// Whether an annual run of `year` was stored (keys and budgets are then frozen).
async fn year_allocated<C: ConnectionTrait>(conn: &C, year: i32) -> Result<bool, ServiceError> {
    Ok(run::Entity::find()
        .filter(run::Column::Year.eq(year))
        .filter(run::Column::Kind.eq(KIND_ANNUAL))
        .one(conn)
        .await?
        .is_some())
}

fn year_allocated_error(year: i32) -> ServiceError {
    ServiceError::rule(
        "YEAR_ALLOCATED",
        format!("{year} has been allocated: its key and budget are part of the run's record"),
    )
}

/// Checks the key values of a request against the county's members.
fn key_values_from_request(
    ctx: &ServiceContext,
    violations: &mut Violations,
    values: &[pb::KeyValues],
) -> Vec<KeyValueRecord> {
    let mut seen = HashSet::new();
    let mut records = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let field = |name: &str| format!("allocation_key.values[{index}].{name}");
        let Some(code) = violations
            .required(&field("municipality"), value.municipality.as_ref())
            .and_then(|code| {
                violations.check(&field("municipality"), MunicipalityCode::parse(&code.value))
            })
        else {
            continue;
        };
        if ctx.county.member(code).is_none() {
            violations.add(
                field("municipality"),
                format!("{code} is not a member municipality of this county"),
            );
            continue;
        }
        if !seen.insert(code) {
            violations.add(field("municipality"), format!("{code} is listed twice"));
            continue;
        }
        let tax_base = value.tax_base.as_ref().map_or(0, |money| money.ore);
        if tax_base < 0 {
            violations.add(field("tax_base.ore"), "must not be negative");
        }
        records.push(KeyValueRecord {
            municipality: code.to_string(),
            population_0_17: value.population_0_17,
            tax_base_ore: tax_base,
            use_value: value.r#use,
        });
    }
    records.sort_by(|a, b| a.municipality.cmp(&b.municipality));
    records
}

fn split_from_request(
    violations: &mut Violations,
    field: &str,
    weights: &[pb::KeyWeight],
) -> Option<Vec<(KeyBasis, u32)>> {
    let mut parts = Vec::with_capacity(weights.len());
    let before = violations.is_empty();
    let mut bad = false;
    for (index, weight) in weights.iter().enumerate() {
        match convert::from_basis(weight.basis) {
            Some(basis) => parts.push((basis, weight.weight_basis_points)),
            None => {
                bad = true;
                violations.add(
                    format!("{field}[{index}].basis"),
                    "must be KEY_BASIS_POPULATION_0_17, KEY_BASIS_TAX_BASE or KEY_BASIS_USE",
                );
            }
        }
    }
    let _ = before;
    if bad {
        return None;
    }
    match Split::new(parts) {
        Ok(split) => Some(split.parts().to_vec()),
        Err(error) => {
            violations.add(field, error.to_string());
            None
        }
    }
}

fn check_use_measure(violations: &mut Violations, record: &KeyRecord) {
    let uses_use = record
        .common_split
        .iter()
        .chain(&record.specific_split)
        .any(|(basis, _)| *basis == KeyBasis::Use);
    if uses_use && record.use_measure == pb::UseMeasure::Unspecified as i32 {
        violations.add(
            "allocation_key.use_measure",
            "is required when a split shares costs by use",
        );
    }
}

/// Reads a year's key row for a change, checks the etag and the freeze, and writes the result
/// of `change` back (creating the row with `allow_missing`).
struct KeyChange<'a> {
    year: i32,
    etag: &'a str,
    allow_missing: bool,
    /// The RPC, for the audit record.
    method: &'static str,
}

async fn change_key<C: ConnectionTrait>(
    ctx: &ServiceContext,
    txn: &C,
    principal: &Principal,
    KeyChange {
        year,
        etag,
        allow_missing,
        method,
    }: KeyChange<'_>,
    change: impl FnOnce(&mut KeyRecord) -> Result<(), ServiceError>,
) -> Result<pb::AllocationKey, ServiceError> {
    let existing = key::Entity::find_by_id(year)
        .lock_exclusive()
        .one(txn)
        .await?;
    if year_allocated(txn, year).await? {
        return Err(year_allocated_error(year));
    }
    let now = stored_now(ctx);
    let (mut record, version) = match &existing {
        Some(row) => {
            if etag != convert::etag(row.version) {
                return Err(if etag.is_empty() {
                    ServiceError::invalid("etag", "is required to change an existing key")
                } else {
                    key_etag_mismatch()
                });
            }
            (from_json::<KeyRecord>(&row.body)?, row.version)
        }
        None if allow_missing => (default_key(year), 0),
        None => return Err(ServiceError::not_found("allocation key", year.to_string())),
    };
    change(&mut record)?;
    let mut violations = Violations::new();
    check_use_measure(&mut violations, &record);
    violations.finish()?;
    let body = to_json(&record)?;
    let next = version + 1;
    if existing.is_some() {
        let updated = key::Entity::update_many()
            .col_expr(key::Column::Body, Expr::value(body))
            .col_expr(key::Column::Version, Expr::value(next))
            .col_expr(key::Column::UpdateTime, Expr::value(now))
            .filter(key::Column::Year.eq(year))
            .filter(key::Column::Version.eq(version))
            .exec(txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(key_etag_mismatch());
        }
    } else {
        key::Entity::insert(key::ActiveModel {
            year: ActiveValue::Set(year),
            body: ActiveValue::Set(body),
            version: ActiveValue::Set(next),
            update_time: ActiveValue::Set(now),
        })
        .exec_without_returning(txn)
        .await?;
    }
    audit_change(
        ctx,
        txn,
        principal,
        "allocation_key",
        &year.to_string(),
        method,
    )
    .await?;
    Ok(convert::key(year, &record, next, now, None))
}

/// The budget a run of `year` shares: the year's own, or the latest earlier one projected.
async fn budget_for<C: ConnectionTrait>(
    txn: &C,
    year: i32,
    rounding: Rounding,
) -> Result<Option<BudgetSnapshot>, ServiceError> {
    let Some(row) = budget::Entity::find()
        .filter(budget::Column::Year.lte(year))
        .order_by_desc(budget::Column::Year)
        .lock_exclusive()
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    let mut record: BudgetRecord = from_json(&row.body)?;
    if row.year < year {
        let years = u32::try_from(year - row.year).map_err(ServiceError::internal)?;
        record.lines = domain::project_lines(
            &record.lines,
            record.yearly_increase_basis_points,
            years,
            rounding,
        )
        .map_err(not_allocatable)?;
    }
    Ok(Some(BudgetSnapshot {
        from_year: row.year,
        version: row.version,
        update_time: row.update_time,
        budget: record,
    }))
}

/// The members of `year` from the county file: those that pay for at least one month.
fn members_of(ctx: &ServiceContext, year: i32) -> Vec<MemberRecord> {
    let mut members: Vec<MemberRecord> = ctx
        .county
        .members()
        .iter()
        .filter(|member| {
            Membership {
                from: member.member_from,
                to: member.member_to,
            }
            .months_in(year)
            .count()
                > 0
        })
        .map(convert::member_record)
        .collect();
    members.sort_by(|a, b| a.municipality.cmp(&b.municipality));
    members
}

/// The members with their key values, for the domain.
fn member_keys(members: &[MemberRecord], key: &KeyRecord) -> Result<Vec<MemberKey>, ServiceError> {
    members
        .iter()
        .map(|member| {
            let municipality =
                MunicipalityCode::parse(&member.municipality).map_err(ServiceError::internal)?;
            let values = key
                .values
                .iter()
                .find(|value| value.municipality == member.municipality)
                .ok_or_else(|| {
                    ServiceError::rule(
                        "ALLOCATION_KEY_INCOMPLETE",
                        format!(
                            "{} ({}) has no key values for the year",
                            member.municipality, member.name
                        ),
                    )
                })?;
            Ok(MemberKey {
                municipality,
                name: member.name.clone(),
                membership: Membership {
                    from: member.member_from,
                    to: member.member_to,
                },
                values: KeyValues {
                    population_0_17: Some(values.population_0_17),
                    tax_base_ore: Some(values.tax_base_ore.unsigned_abs()),
                    use_value: Some(values.use_value),
                },
            })
        })
        .collect()
}

/// The due dates: the last day of each month of the year; a settlement's one instalment on the
/// last day of the month after it was made.
fn monthly_due_date(year: i32, month: u32) -> Result<NaiveDate, ServiceError> {
    domain::calendar::day_of_month(year, month, 31)
        .ok_or_else(|| ServiceError::internal(format!("no month {month} in {year}")))
}

struct Computed {
    total: Money,
    record: RunRecord,
}

/// What a `CreateAllocationRun` asks, after its checks.
struct RunAsk {
    year: i32,
    kind: i32,
    rounding: Rounding,
    key_basis: Option<KeyBasis>,
    settlement: Option<Money>,
    actual_cost: Option<Money>,
}

async fn compute_run<C: ConnectionTrait>(
    ctx: &ServiceContext,
    txn: &C,
    ask: &RunAsk,
) -> Result<Computed, ServiceError> {
    let key_row = key::Entity::find_by_id(ask.year)
        .lock_exclusive()
        .one(txn)
        .await?;
    let key_snapshot = key_row
        .map(|row| -> Result<KeySnapshot, ServiceError> {
            Ok(KeySnapshot {
                year: row.year,
                version: row.version,
                update_time: row.update_time,
                key: from_json(&row.body)?,
            })
        })
        .transpose()?;
    let missing_key = || {
        ServiceError::rule(
            "ALLOCATION_KEY_MISSING",
            format!("{} has no allocation key yet", ask.year),
        )
    };
    let today = ctx.clock.today_stockholm();
    if ask.kind == KIND_ANNUAL {
        let members = members_of(ctx, ask.year);
        if members.is_empty() {
            return Err(ServiceError::rule(
                "NO_MEMBERS",
                format!("no municipality is a member in {}", ask.year),
            ));
        }
        let snapshot = key_snapshot.ok_or_else(missing_key)?;
        let budget = budget_for(txn, ask.year, ask.rounding)
            .await?
            .ok_or_else(|| {
                ServiceError::rule(
                    "BUDGET_MISSING",
                    format!("{} has no budget, and no earlier year has one", ask.year),
                )
            })?;
        let keys = member_keys(&members, &snapshot.key)?;
        let sum = |specific: bool| {
            budget
                .budget
                .lines
                .iter()
                .filter(|line| line.specific == specific)
                .try_fold(Money::ZERO, |sum, line| sum.checked_add(line.amount))
                .map_err(ServiceError::internal)
        };
        let (common_split, specific_split) = match ask.key_basis {
            Some(basis) => (Split::single(basis), Split::single(basis)),
            None => (
                Split::new(snapshot.key.common_split.clone()).map_err(ServiceError::internal)?,
                Split::new(snapshot.key.specific_split.clone()).map_err(ServiceError::internal)?,
            ),
        };
        let allocation = domain::allocate(&AllocationRequest {
            year: ask.year,
            rounding: ask.rounding,
            members: &keys,
            common_total: sum(false)?,
            common_split: &common_split,
            specific_total: sum(true)?,
            specific_split: &specific_split,
        })
        .map_err(not_allocatable)?;
        let mut shares = Vec::with_capacity(allocation.shares.len());
        for share in &allocation.shares {
            let mut instalments = Vec::with_capacity(12);
            for (index, amount) in share.instalments.iter().enumerate() {
                let month = index as u32 + 1;
                instalments.push(InstalmentRecord {
                    number: month,
                    due_date: monthly_due_date(ask.year, month)?,
                    amount_ore: amount.as_ore(),
                });
            }
            shares.push(ShareRecord {
                municipality: share.municipality.to_string(),
                months: share.months,
                common_ore: share.common.as_ore(),
                specific_ore: share.specific.as_ore(),
                amount_ore: share.amount.as_ore(),
                share_millionths: share.share_millionths,
                invoice_id: String::new(),
                instalments,
            });
        }
        return Ok(Computed {
            total: allocation.total,
            record: RunRecord {
                rounding: ask.rounding,
                members,
                key: Some(snapshot),
                budget: Some(budget),
                key_basis: ask.key_basis,
                annual_run_id: None,
                shares,
            },
        });
    }

    // A settlement: against the year's completed annual run.
    let annual = run::Entity::find()
        .filter(run::Column::Year.eq(ask.year))
        .filter(run::Column::Kind.eq(KIND_ANNUAL))
        .filter(run::Column::State.eq(STATE_COMPLETED))
        .one(txn)
        .await?;
    let annual_missing = || {
        ServiceError::rule(
            "ANNUAL_RUN_MISSING",
            format!("{} has no completed annual run to settle against", ask.year),
        )
    };
    let difference = match (ask.settlement, ask.actual_cost) {
        (Some(settlement), _) => settlement,
        (None, Some(actual)) => {
            let annual = annual.as_ref().ok_or_else(annual_missing)?;
            actual
                .checked_sub(Money::from_ore(annual.total_ore))
                .map_err(ServiceError::internal)?
        }
        (None, None) => return Err(ServiceError::internal("settlement without an amount")),
    };
    let due_date = domain::calendar::day_of_month(
        chrono::Datelike::year(&today) + i32::from(chrono::Datelike::month(&today) == 12),
        chrono::Datelike::month(&today) % 12 + 1,
        31,
    )
    .ok_or_else(|| ServiceError::internal("no due date"))?;
    let (members, settled, key, annual_run_id) = match ask.key_basis {
        Some(basis) => {
            let members = match &annual {
                Some(row) => from_json::<RunRecord>(&row.body)?.members,
                None => members_of(ctx, ask.year),
            };
            let snapshot = key_snapshot.ok_or_else(missing_key)?;
            let keys = member_keys(&members, &snapshot.key)?;
            let settled = domain::settle_by_key(ask.year, ask.rounding, difference, &keys, basis)
                .map_err(not_allocatable)?;
            (members, settled, Some(snapshot), None)
        }
        None => {
            let annual = annual.ok_or_else(annual_missing)?;
            let record: RunRecord = from_json(&annual.body)?;
            let shares = record
                .shares
                .iter()
                .map(|share| {
                    Ok((
                        MunicipalityCode::parse(&share.municipality)
                            .map_err(ServiceError::internal)?,
                        Money::from_ore(share.amount_ore),
                    ))
                })
                .collect::<Result<Vec<_>, ServiceError>>()?;
            let settled = domain::settle_by_shares(ask.rounding, difference, &shares)
                .map_err(not_allocatable)?;
            (record.members, settled, record.key, Some(annual.id))
        }
    };
    let shares = settled
        .iter()
        .map(|(code, amount)| ShareRecord {
            municipality: code.to_string(),
            months: 0,
            common_ore: amount.as_ore(),
            specific_ore: 0,
            amount_ore: amount.as_ore(),
            share_millionths: domain::share_millionths(*amount, difference),
            invoice_id: String::new(),
            instalments: vec![InstalmentRecord {
                number: 1,
                due_date,
                amount_ore: amount.as_ore(),
            }],
        })
        .collect();
    Ok(Computed {
        total: difference,
        record: RunRecord {
            rounding: ask.rounding,
            members,
            key,
            budget: None,
            key_basis: ask.key_basis,
            annual_run_id,
            shares,
        },
    })
}

#[allow(clippy::too_many_arguments)]
fn run_to_proto(
    id: &str,
    year: i32,
    kind: i32,
    state: i32,
    total_ore: i64,
    create_time: Option<DateTime<Utc>>,
    created_by: &str,
    record: &RunRecord,
    only: Option<MunicipalityCode>,
) -> pb::AllocationRun {
    let visible = |municipality: &str| only.is_none_or(|own| own.to_string() == municipality);
    let months_of = |municipality: &str| {
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
    pb::AllocationRun {
        id: id.to_owned(),
        year,
        kind,
        rounding: match record.rounding {
            Rounding::Krona => pb::Rounding::Krona,
            Rounding::Ore => pb::Rounding::Ore,
        } as i32,
        total: Some(convert::money(total_ore)),
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
        shares: record
            .shares
            .iter()
            .filter(|share| visible(&share.municipality))
            .map(|share| pb::AllocationShare {
                municipality: Some(convert::code(&share.municipality)),
                common_costs: Some(convert::money(share.common_ore)),
                specific_costs: Some(convert::money(share.specific_ore)),
                amount: Some(convert::money(share.amount_ore)),
                share_millionths: share.share_millionths,
                invoice_id: share.invoice_id.clone(),
                months: if share.months > 0 {
                    u32::from(share.months)
                } else {
                    months_of(&share.municipality)
                },
            })
            .collect(),
        state,
        create_time: create_time.map(convert::timestamp),
        created_by: created_by.to_owned(),
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

fn stored_run_to_proto(
    row: &run::Model,
    only: Option<MunicipalityCode>,
) -> Result<pb::AllocationRun, ServiceError> {
    let record: RunRecord = from_json(&row.body)?;
    Ok(run_to_proto(
        &row.id,
        row.year,
        row.kind,
        row.state,
        row.total_ore,
        Some(row.create_time),
        &row.created_by,
        &record,
        only,
    ))
}

fn invoice_to_proto(row: &invoice::Model) -> Result<pb::Invoice, ServiceError> {
    let record: InvoiceRecord = from_json(&row.body)?;
    Ok(pb::Invoice {
        id: row.id.clone(),
        allocation_run_id: row.run_id.clone(),
        municipality: Some(convert::code(&row.municipality)),
        year: row.year,
        kind: row.kind,
        amount: Some(convert::money(row.amount_ore)),
        instalments: convert::instalments(&record.instalments),
        state: row.state,
        issue_time: Some(convert::timestamp(row.issue_time)),
    })
}

/// The page size of a list: 0 means `default`, more than `max` is reduced to `max`.
fn page_size(violations: &mut Violations, requested: i32, default: u64, max: u64) -> u64 {
    match requested {
        0 => default,
        size if size < 0 => {
            violations.add("page_size", "must not be negative");
            default
        }
        size => u64::try_from(size).unwrap_or(max).min(max),
    }
}

/// A page token: the last id of the previous page (ids are UUIDv7, so they order by time).
fn page_after(violations: &mut Violations, token: &str) -> Option<String> {
    if token.is_empty() {
        return None;
    }
    match uuid::Uuid::parse_str(token) {
        Ok(id) => Some(id.hyphenated().to_string()),
        Err(_) => {
            violations.add("page_token", "is not a page token from this list");
            None
        }
    }
}

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
    let rounding = match pb::Rounding::try_from(request.rounding) {
        Ok(pb::Rounding::Krona) => Some(Rounding::Krona),
        Ok(pb::Rounding::Ore) => Some(Rounding::Ore),
        _ => {
            violations.add("rounding", "must be ROUNDING_KRONA or ROUNDING_ORE");
            None
        }
    };
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
    match kind {
        Some(KIND_ANNUAL) => {
            if settlement.is_some() {
                violations.add(
                    "settlement",
                    "must be unset for an annual budget run: it shares the year's budget",
                );
            }
            if actual_cost.is_some() {
                violations.add("actual_cost", "must be unset for an annual budget run");
            }
        }
        Some(_) => match (settlement, actual_cost) {
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
        },
        None => {}
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

impl AllocationApi {
    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<pb::ListMembersResponse, ServiceError> {
        let principal = caller(&request)?;
        principal.require_any_role(READERS)?;
        let request = request.into_inner();
        let mut violations = Violations::new();
        let size = page_size(&mut violations, request.page_size, 50, 200);
        let member_on = request.member_on.as_ref().and_then(|date| {
            let parsed = convert::from_date(date);
            if parsed.is_none() {
                violations.add("member_on", "is not a calendar date");
            }
            parsed
        });
        let after = if request.page_token.is_empty() {
            None
        } else {
            violations.check(
                "page_token",
                MunicipalityCode::parse(&request.page_token)
                    .map_err(|_| "is not a page token from this list"),
            )
        };
        violations.finish()?;
        let mut members: Vec<&hearth_county::Member> = self
            .ctx
            .county
            .members()
            .iter()
            .filter(|member| member_on.is_none_or(|date| member.is_member_on(date)))
            .filter(|member| after.is_none_or(|after| member.code > after))
            .collect();
        members.sort_by_key(|member| member.code);
        let has_more = members.len() as u64 > size;
        members.truncate(size as usize);
        let next_page_token = match members.last() {
            Some(last) if has_more => last.code.to_string(),
            _ => String::new(),
        };
        Ok(pb::ListMembersResponse {
            members: members
                .into_iter()
                .map(|member| convert::member(&convert::member_record(member)))
                .collect(),
            next_page_token,
        })
    }

    async fn get_allocation_key(
        &self,
        request: Request<pb::GetAllocationKeyRequest>,
    ) -> Result<pb::GetAllocationKeyResponse, ServiceError> {
        let principal = caller(&request)?;
        principal.require_any_role(READERS)?;
        let year = request.get_ref().year;
        let mut violations = Violations::new();
        check_year(&mut violations, "year", year);
        violations.finish()?;
        let row = key::Entity::find_by_id(year)
            .one(&self.ctx.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("allocation key", year.to_string()))?;
        let record: KeyRecord = from_json(&row.body)?;
        Ok(pb::GetAllocationKeyResponse {
            allocation_key: Some(convert::key(
                year,
                &record,
                row.version,
                row.update_time,
                None,
            )),
        })
    }

    async fn update_allocation_key(
        &self,
        request: Request<pb::UpdateAllocationKeyRequest>,
    ) -> Result<pb::UpdateAllocationKeyResponse, ServiceError> {
        let principal = caller(&request)?;
        principal.require_any_role(FINANCE)?;
        let request = request.into_inner();
        let mut violations = Violations::new();
        let Some(wanted) = violations.required("allocation_key", request.allocation_key) else {
            return Err(violations
                .finish()
                .err()
                .unwrap_or_else(|| ServiceError::invalid("allocation_key", "is required")));
        };
        check_year(&mut violations, "allocation_key.year", wanted.year);
        let paths = request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default();
        if paths.is_empty() {
            violations.add("update_mask", "is required: name the fields to change");
        }
        let mut values = None;
        let mut common = None;
        let mut specific = None;
        let mut reference_date = None;
        let mut use_measure = None;
        for path in &paths {
            match path.as_str() {
                "values" => {
                    values = Some(key_values_from_request(
                        &self.ctx,
                        &mut violations,
                        &wanted.values,
                    ))
                }
                "common_cost_split" => {
                    common = split_from_request(
                        &mut violations,
                        "allocation_key.common_cost_split",
                        &wanted.common_cost_split,
                    )
                }
                "specific_cost_split" => {
                    specific = split_from_request(
                        &mut violations,
                        "allocation_key.specific_cost_split",
                        &wanted.specific_cost_split,
                    )
                }
                "population_reference_date" => {
                    reference_date =
                        Some(wanted.population_reference_date.as_ref().and_then(|date| {
                            let parsed = convert::from_date(date);
                            if parsed.is_none() {
                                violations.add(
                                    "allocation_key.population_reference_date",
                                    "is not a calendar date",
                                );
                            }
                            parsed
                        }))
                }
                "use_measure" => {
                    if pb::UseMeasure::try_from(wanted.use_measure).is_err() {
                        violations.add("allocation_key.use_measure", "is not a use measure");
                    }
                    use_measure = Some(wanted.use_measure);
                }
                other => violations.add(
                    "update_mask",
                    format!(
                        "`{other}` cannot be changed; the fields are population_reference_date, \
                         values, use_measure, common_cost_split, specific_cost_split"
                    ),
                ),
            }
        }
        violations.finish()?;
        let txn = self.ctx.db.begin().await?;
        let key = change_key(
            &self.ctx,
            &txn,
            &principal,
            KeyChange {
                year: wanted.year,
                etag: &request.etag,
                allow_missing: request.allow_missing,
                method: "UpdateAllocationKey",
            },
            |record| {
                if let Some(values) = values {
                    record.values = values;
                }
                if let Some(split) = common {
                    record.common_split = split;
                }
                if let Some(split) = specific {
                    record.specific_split = split;
                }
                if let Some(date) = reference_date {
                    record.population_reference_date = date;
                }
                if let Some(measure) = use_measure {
                    record.use_measure = measure;
                }
                Ok(())
            },
        )
        .await?;
        txn.commit().await?;
        Ok(pb::UpdateAllocationKeyResponse {
            allocation_key: Some(key),
        })
    }

    async fn import_allocation_key(
        &self,
        request: Request<pb::ImportAllocationKeyRequest>,
    ) -> Result<pb::ImportAllocationKeyResponse, ServiceError> {
        let principal = caller(&request)?;
        principal.require_any_role(FINANCE)?;
        let request = request.into_inner();
        let mut violations = Violations::new();
        check_year(&mut violations, "year", request.year);
        let mark = if request.idempotency_key.is_empty() {
            None
        } else {
            let key = violations.check(
                "idempotency_key",
                uuid::Uuid::parse_str(request.idempotency_key.trim()).map_err(|_| "must be a UUID"),
            );
            key.map(|key| {
                let mut without_key = request.clone();
                without_key.idempotency_key.clear();
                without_key.etag.clear();
                crate::store::records::ImportMark {
                    idempotency_key: key.hyphenated().to_string(),
                    digest: digest(&without_key.encode_to_vec()),
                }
            })
        };
        let rows = violations
            .check("csv", files::parse_key_values("csv", &request.csv))
            .unwrap_or_default();
        for (code, _) in &rows {
            if self.ctx.county.member(*code).is_none() {
                violations.add(
                    "csv",
                    format!("{code} is not a member municipality of this county"),
                );
            }
        }
        violations.finish()?;
        let mut values: Vec<KeyValueRecord> = rows
            .into_iter()
            .map(|(code, values)| KeyValueRecord {
                municipality: code.to_string(),
                population_0_17: values.population_0_17.unwrap_or_default(),
                tax_base_ore: i64::try_from(values.tax_base_ore.unwrap_or_default())
                    .unwrap_or(i64::MAX),
                use_value: values.use_value.unwrap_or_default(),
            })
            .collect();
        values.sort_by(|a, b| a.municipality.cmp(&b.municipality));
        let txn = self.ctx.db.begin().await?;
        if let Some(mark) = &mark
            && let Some(row) = key::Entity::find_by_id(request.year).one(&txn).await?
        {
            let record: KeyRecord = from_json(&row.body)?;
            if let Some(last) = &record.last_import
                && last.idempotency_key == mark.idempotency_key
            {
                if last.digest != mark.digest {
                    return Err(ServiceError::invalid(
                        "idempotency_key",
                        "was used before with a different request: use a new key for a new request",
                    ));
                }
                txn.commit().await?;
                return Ok(pb::ImportAllocationKeyResponse {
                    allocation_key: Some(convert::key(
                        request.year,
                        &record,
                        row.version,
                        row.update_time,
                        None,
                    )),
                });
            }
        }
        let key = change_key(
            &self.ctx,
            &txn,
            &principal,
            KeyChange {
                year: request.year,
                etag: &request.etag,
                allow_missing: request.allow_missing,
                method: "ImportAllocationKey",
            },
            |record| {
                record.values = values;
                record.last_import = mark;
                Ok(())
            },
        )
        .await?;
        txn.commit().await?;
        Ok(pb::ImportAllocationKeyResponse {
            allocation_key: Some(key),
        })
    }

    async fn get_budget(
        &self,
        request: Request<pb::GetBudgetRequest>,
    ) -> Result<pb::GetBudgetResponse, ServiceError> {
        let principal = caller(&request)?;
        principal.require_any_role(READERS)?;
        let year = request.get_ref().year;
        let mut violations = Violations::new();
        check_year(&mut violations, "year", year);
        violations.finish()?;
        let row = budget::Entity::find_by_id(year)
            .one(&self.ctx.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("budget", year.to_string()))?;
        let record: BudgetRecord = from_json(&row.body)?;
        Ok(pb::GetBudgetResponse {
            budget: Some(convert::budget(year, &record, row.version, row.update_time)),
        })
    }

    async fn update_budget(
        &self,
        request: Request<pb::UpdateBudgetRequest>,
    ) -> Result<pb::UpdateBudgetResponse, ServiceError> {
        let principal = caller(&request)?;
        principal.require_any_role(FINANCE)?;
        let request = request.into_inner();
        let mut violations = Violations::new();
        let Some(wanted) = violations.required("budget", request.budget) else {
            return Err(ServiceError::invalid("budget", "is required"));
        };
        check_year(&mut violations, "budget.year", wanted.year);
        let paths = request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default();
        if paths.is_empty() {
            violations.add("update_mask", "is required: name the fields to change");
        }
        let mut lines = None;
        let mut increase = None;
        for path in &paths {
            match path.as_str() {
                "lines" => {
                    if wanted.lines.is_empty() {
                        violations.add("budget.lines", "must have at least one line");
                    }
                    let mut names = HashSet::new();
                    let mut checked = Vec::with_capacity(wanted.lines.len());
                    for (index, line) in wanted.lines.iter().enumerate() {
                        let field = |name: &str| format!("budget.lines[{index}].{name}");
                        let name = line.name.trim();
                        if name.is_empty() {
                            violations.add(field("name"), "is required");
                        } else if !names.insert(name.to_owned()) {
                            violations.add(field("name"), format!("`{name}` is listed twice"));
                        }
                        let specific = match pb::CostCategory::try_from(line.category) {
                            Ok(pb::CostCategory::Common) => false,
                            Ok(pb::CostCategory::Specific) => true,
                            _ => {
                                violations.add(
                                    field("category"),
                                    "must be COST_CATEGORY_COMMON or COST_CATEGORY_SPECIFIC",
                                );
                                false
                            }
                        };
                        let amount = match line.amount.as_ref() {
                            None => {
                                violations.add(field("amount"), "is required");
                                Money::ZERO
                            }
                            Some(money) if money.ore < 0 => {
                                violations.add(field("amount.ore"), "must not be negative");
                                Money::ZERO
                            }
                            Some(money) => Money::from_ore(money.ore),
                        };
                        checked.push(BudgetLine {
                            name: name.to_owned(),
                            specific,
                            amount,
                        });
                    }
                    lines = Some(checked);
                }
                "yearly_increase_basis_points" => {
                    if wanted.yearly_increase_basis_points > 10_000 {
                        violations.add(
                            "budget.yearly_increase_basis_points",
                            "must be at most 10000 (100 %)",
                        );
                    }
                    increase = Some(wanted.yearly_increase_basis_points);
                }
                other => violations.add(
                    "update_mask",
                    format!(
                        "`{other}` cannot be changed; the fields are lines, \
                         yearly_increase_basis_points"
                    ),
                ),
            }
        }
        violations.finish()?;
        let year = wanted.year;
        let txn = self.ctx.db.begin().await?;
        let existing = budget::Entity::find_by_id(year)
            .lock_exclusive()
            .one(&txn)
            .await?;
        if year_allocated(&txn, year).await? {
            return Err(year_allocated_error(year));
        }
        let now = stored_now(&self.ctx);
        let (mut record, version) = match &existing {
            Some(row) => {
                if request.etag != convert::etag(row.version) {
                    return Err(if request.etag.is_empty() {
                        ServiceError::invalid("etag", "is required to change an existing budget")
                    } else {
                        key_etag_mismatch()
                    });
                }
                (from_json::<BudgetRecord>(&row.body)?, row.version)
            }
            None if request.allow_missing => (
                BudgetRecord {
                    lines: Vec::new(),
                    yearly_increase_basis_points: 0,
                },
                0,
            ),
            None => return Err(ServiceError::not_found("budget", year.to_string())),
        };
        if let Some(lines) = lines {
            record.lines = lines;
        }
        if let Some(increase) = increase {
            record.yearly_increase_basis_points = increase;
        }
        if record.lines.is_empty() {
            return Err(ServiceError::invalid(
                "budget.lines",
                "must have at least one line (include `lines` in update_mask)",
            ));
        }
        let body = to_json(&record)?;
        let next = version + 1;
        if existing.is_some() {
            let updated = budget::Entity::update_many()
                .col_expr(budget::Column::Body, Expr::value(body))
                .col_expr(budget::Column::Version, Expr::value(next))
                .col_expr(budget::Column::UpdateTime, Expr::value(now))
                .filter(budget::Column::Year.eq(year))
                .filter(budget::Column::Version.eq(version))
                .exec(&txn)
                .await?;
            if updated.rows_affected != 1 {
                return Err(key_etag_mismatch());
            }
        } else {
            budget::Entity::insert(budget::ActiveModel {
                year: ActiveValue::Set(year),
                body: ActiveValue::Set(body),
                version: ActiveValue::Set(next),
                update_time: ActiveValue::Set(now),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        audit_change(
            &self.ctx,
            &txn,
            &principal,
            "allocation_budget",
            &year.to_string(),
            "UpdateBudget",
        )
        .await?;
        txn.commit().await?;
        Ok(pb::UpdateBudgetResponse {
            budget: Some(convert::budget(year, &record, next, now)),
        })
    }

    async fn create_allocation_run(
        &self,
        request: Request<pb::CreateAllocationRunRequest>,
    ) -> Result<pb::CreateAllocationRunResponse, ServiceError> {
        let principal = caller(&request)?;
        principal.require_any_role(FINANCE)?;
        let request = request.into_inner();
        let mut violations = Violations::new();
        let idempotency_key = match uuid::Uuid::parse_str(request.idempotency_key.trim()) {
            Ok(id) => Some(id.hyphenated().to_string()),
            Err(_) if request.validate_only && request.idempotency_key.is_empty() => None,
            Err(_) => {
                violations.add(
                    "idempotency_key",
                    if request.idempotency_key.is_empty() {
                        "is required: a UUID chosen by the client"
                    } else {
                        "must be a UUID"
                    },
                );
                None
            }
        };
        let ask = run_ask(&mut violations, &request);
        violations.finish()?;
        let Some(ask) = ask else {
            return Err(ServiceError::internal("a checked request without a run"));
        };
        let digest = {
            let mut without_key = request.clone();
            without_key.idempotency_key.clear();
            digest(&without_key.encode_to_vec())
        };

        let txn = self.ctx.db.begin().await?;
        if let Some(key) = &idempotency_key
            && !request.validate_only
            && let Some(first) = run::Entity::find()
                .filter(run::Column::IdempotencyKey.eq(key.as_str()))
                .one(&txn)
                .await?
        {
            if first.request_digest != digest {
                return Err(ServiceError::invalid(
                    "idempotency_key",
                    "was used before with a different request: use a new key for a new request",
                ));
            }
            let run = stored_run_to_proto(&first, None)?;
            txn.commit().await?;
            return Ok(pb::CreateAllocationRunResponse {
                allocation_run: Some(run),
            });
        }
        let Computed { total, mut record } = compute_run(&self.ctx, &txn, &ask).await?;
        if request.validate_only {
            drop(txn);
            return Ok(pb::CreateAllocationRunResponse {
                allocation_run: Some(run_to_proto(
                    "",
                    ask.year,
                    ask.kind,
                    pb::AllocationRunState::Preview as i32,
                    total.as_ore(),
                    None,
                    principal.subject(),
                    &record,
                    None,
                )),
            });
        }
        let Some(idempotency_key) = idempotency_key else {
            return Err(ServiceError::invalid("idempotency_key", "is required"));
        };
        let now = stored_now(&self.ctx);
        let id = uuid::Uuid::now_v7().hyphenated().to_string();

        // The earlier completed run of the year and kind, and its invoices, are superseded.
        let earlier: Vec<String> = run::Entity::find()
            .filter(run::Column::Year.eq(ask.year))
            .filter(run::Column::Kind.eq(ask.kind))
            .filter(run::Column::State.eq(STATE_COMPLETED))
            .all(&txn)
            .await?
            .into_iter()
            .map(|row| row.id)
            .collect();
        if !earlier.is_empty() {
            run::Entity::update_many()
                .col_expr(run::Column::State, Expr::value(STATE_SUPERSEDED))
                .filter(run::Column::Id.is_in(earlier.clone()))
                .exec(&txn)
                .await?;
            invoice::Entity::update_many()
                .col_expr(invoice::Column::State, Expr::value(INVOICE_SUPERSEDED))
                .filter(invoice::Column::RunId.is_in(earlier))
                .exec(&txn)
                .await?;
        }

        let mut invoices = Vec::with_capacity(record.shares.len());
        for share in &mut record.shares {
            let invoice_id = uuid::Uuid::now_v7().hyphenated().to_string();
            share.invoice_id = invoice_id.clone();
            invoices.push(invoice::ActiveModel {
                id: ActiveValue::Set(invoice_id),
                run_id: ActiveValue::Set(id.clone()),
                municipality: ActiveValue::Set(share.municipality.clone()),
                year: ActiveValue::Set(ask.year),
                kind: ActiveValue::Set(ask.kind),
                state: ActiveValue::Set(INVOICE_ISSUED),
                amount_ore: ActiveValue::Set(share.amount_ore),
                issue_time: ActiveValue::Set(now),
                body: ActiveValue::Set(to_json(&InvoiceRecord {
                    instalments: share.instalments.clone(),
                })?),
            });
        }
        let inserted = run::Entity::insert(run::ActiveModel {
            id: ActiveValue::Set(id.clone()),
            year: ActiveValue::Set(ask.year),
            kind: ActiveValue::Set(ask.kind),
            state: ActiveValue::Set(STATE_COMPLETED),
            total_ore: ActiveValue::Set(total.as_ore()),
            idempotency_key: ActiveValue::Set(idempotency_key),
            request_digest: ActiveValue::Set(digest),
            created_by: ActiveValue::Set(principal.subject().to_owned()),
            create_time: ActiveValue::Set(now),
            body: ActiveValue::Set(to_json(&record)?),
        })
        .exec_without_returning(&txn)
        .await;
        if let Err(error) = inserted {
            if matches!(
                error.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) {
                return Err(ServiceError::Aborted {
                    reason: "CONCURRENT_RETRY",
                    message: "another call with the same idempotency key is in progress; retry it"
                        .to_owned(),
                });
            }
            return Err(error.into());
        }
        if !invoices.is_empty() {
            invoice::Entity::insert_many(invoices)
                .exec_without_returning(&txn)
                .await?;
        }
        let event = hearth_proto::events::v1::AllocationCompleted {
            allocation_run_id: id.clone(),
            year: ask.year,
            kind: ask.kind,
            total: Some(convert::money(total.as_ore())),
            shares: record
                .shares
                .iter()
                .map(|share| hearth_proto::events::v1::MemberShare {
                    municipality: Some(convert::code(&share.municipality)),
                    amount: Some(convert::money(share.amount_ore)),
                    invoice_id: share.invoice_id.clone(),
                })
                .collect(),
        };
        self.ctx
            .outbox
            .enqueue(
                &txn,
                NewEvent::new(
                    "allocation.completed",
                    id.clone(),
                    1,
                    pack_payload("hearth.events.v1.AllocationCompleted", &event),
                )
                .with_occurred_at(now),
            )
            .await
            .map_err(ServiceError::internal)?;
        audit_change(
            &self.ctx,
            &txn,
            &principal,
            "allocation_run",
            &id,
            "CreateAllocationRun",
        )
        .await?;
        txn.commit().await?;
        self.ctx.outbox.notify_relay();
        tracing::info!(
            allocation_run_id = %id,
            year = ask.year,
            kind = ask.kind,
            total_ore = total.as_ore(),
            "allocation run completed"
        );
        Ok(pb::CreateAllocationRunResponse {
            allocation_run: Some(run_to_proto(
                &id,
                ask.year,
                ask.kind,
                STATE_COMPLETED,
                total.as_ore(),
                Some(now),
                principal.subject(),
                &record,
                None,
            )),
        })
    }

    async fn get_allocation_run(
        &self,
        request: Request<pb::GetAllocationRunRequest>,
    ) -> Result<pb::GetAllocationRunResponse, ServiceError> {
        let principal = caller(&request)?;
        principal.require_any_role(READERS)?;
        let id = request.get_ref().allocation_run_id.trim().to_owned();
        let id = uuid::Uuid::parse_str(&id)
            .map_err(|_| ServiceError::invalid("allocation_run_id", "must be a run id (a UUID)"))?
            .hyphenated()
            .to_string();
        let row = run::Entity::find_by_id(id.clone())
            .one(&self.ctx.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("allocation run", id))?;
        Ok(pb::GetAllocationRunResponse {
            allocation_run: Some(stored_run_to_proto(&row, own_only(&principal))?),
        })
    }

    async fn list_allocation_runs(
        &self,
        request: Request<pb::ListAllocationRunsRequest>,
    ) -> Result<pb::ListAllocationRunsResponse, ServiceError> {
        let principal = caller(&request)?;
        principal.require_any_role(READERS)?;
        let request = request.into_inner();
        let mut violations = Violations::new();
        let size = page_size(&mut violations, request.page_size, 20, 100);
        let after = page_after(&mut violations, &request.page_token);
        if request.year != 0 {
            check_year(&mut violations, "year", request.year);
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
        violations.finish()?;
        let mut filter = Condition::all();
        if request.year != 0 {
            filter = filter.add(run::Column::Year.eq(request.year));
        }
        if !request.kinds.is_empty() {
            filter = filter.add(run::Column::Kind.is_in(request.kinds.clone()));
        }
        if !request.states.is_empty() {
            filter = filter.add(run::Column::State.is_in(request.states.clone()));
        }
        if let Some(after) = after {
            filter = filter.add(run::Column::Id.lt(after));
        }
        let mut rows = run::Entity::find()
            .filter(filter)
            .order_by_desc(run::Column::Id)
            .limit(size + 1)
            .all(&self.ctx.db)
            .await?;
        let has_more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        let next_page_token = match rows.last() {
            Some(last) if has_more => last.id.clone(),
            _ => String::new(),
        };
        let only = own_only(&principal);
        Ok(pb::ListAllocationRunsResponse {
            allocation_runs: rows
                .iter()
                .map(|row| stored_run_to_proto(row, only))
                .collect::<Result<_, _>>()?,
            next_page_token,
        })
    }

    async fn get_invoice(
        &self,
        request: Request<pb::GetInvoiceRequest>,
    ) -> Result<pb::GetInvoiceResponse, ServiceError> {
        let principal = caller(&request)?;
        principal.require_any_role(INVOICE_READERS)?;
        let id = uuid::Uuid::parse_str(request.get_ref().invoice_id.trim())
            .map_err(|_| ServiceError::invalid("invoice_id", "must be an invoice id (a UUID)"))?
            .hyphenated()
            .to_string();
        let row = invoice::Entity::find_by_id(id.clone())
            .one(&self.ctx.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("invoice", id))?;
        if let Some(own) = own_only(&principal)
            && own.to_string() != row.municipality
        {
            let code =
                MunicipalityCode::parse(&row.municipality).map_err(ServiceError::internal)?;
            principal.require_municipality_scope(&code)?;
        }
        Ok(pb::GetInvoiceResponse {
            invoice: Some(invoice_to_proto(&row)?),
        })
    }

    async fn list_invoices(
        &self,
        request: Request<pb::ListInvoicesRequest>,
    ) -> Result<pb::ListInvoicesResponse, ServiceError> {
        let principal = caller(&request)?;
        principal.require_any_role(INVOICE_READERS)?;
        let request = request.into_inner();
        let mut violations = Violations::new();
        let size = page_size(&mut violations, request.page_size, 50, 200);
        let after = page_after(&mut violations, &request.page_token);
        if request.year != 0 {
            check_year(&mut violations, "year", request.year);
        }
        let mut municipalities = Vec::with_capacity(request.municipalities.len());
        for (index, code) in request.municipalities.iter().enumerate() {
            if let Some(code) = violations.check(
                &format!("municipalities[{index}]"),
                MunicipalityCode::parse(&code.value),
            ) {
                municipalities.push(code);
            }
        }
        let run_id = if request.allocation_run_id.is_empty() {
            None
        } else {
            violations.check(
                "allocation_run_id",
                uuid::Uuid::parse_str(&request.allocation_run_id)
                    .map(|id| id.hyphenated().to_string())
                    .map_err(|_| "must be a run id (a UUID)"),
            )
        };
        for (index, state) in request.states.iter().enumerate() {
            if !matches!(
                pb::InvoiceState::try_from(*state),
                Ok(pb::InvoiceState::Issued | pb::InvoiceState::Superseded)
            ) {
                violations.add(format!("states[{index}]"), "is not an invoice state");
            }
        }
        violations.finish()?;
        let only = own_only(&principal);
        if let Some(own) = only {
            for code in &municipalities {
                if *code != own {
                    principal.require_municipality_scope(code)?;
                }
            }
            municipalities = vec![own];
        }
        let mut filter = Condition::all();
        if request.year != 0 {
            filter = filter.add(invoice::Column::Year.eq(request.year));
        }
        if !municipalities.is_empty() {
            filter = filter.add(
                invoice::Column::Municipality.is_in(municipalities.iter().map(ToString::to_string)),
            );
        }
        if let Some(run_id) = run_id {
            filter = filter.add(invoice::Column::RunId.eq(run_id));
        }
        if !request.states.is_empty() {
            filter = filter.add(invoice::Column::State.is_in(request.states.clone()));
        }
        if let Some(after) = after {
            filter = filter.add(invoice::Column::Id.lt(after));
        }
        let mut rows = invoice::Entity::find()
            .filter(filter)
            .order_by_desc(invoice::Column::Id)
            .limit(size + 1)
            .all(&self.ctx.db)
            .await?;
        let has_more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        let next_page_token = match rows.last() {
            Some(last) if has_more => last.id.clone(),
            _ => String::new(),
        };
        Ok(pb::ListInvoicesResponse {
            invoices: rows
                .iter()
                .map(invoice_to_proto)
                .collect::<Result<_, _>>()?,
            next_page_token,
        })
    }
}

/// `Some(own)` when the caller sees one municipality's shares and invoices only: municipality
/// staff without a county-wide or finance role.
fn own_only(principal: &Principal) -> Option<MunicipalityCode> {
    if principal.has_role(Role::Finance) {
        return None;
    }
    principal.visible_municipality()
}

#[tonic::async_trait]
impl AllocationService for AllocationApi {
    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        answer(AllocationApi::list_members(self, request).await)
    }

    async fn get_allocation_key(
        &self,
        request: Request<pb::GetAllocationKeyRequest>,
    ) -> Result<Response<pb::GetAllocationKeyResponse>, Status> {
        answer(AllocationApi::get_allocation_key(self, request).await)
    }

    async fn update_allocation_key(
        &self,
        request: Request<pb::UpdateAllocationKeyRequest>,
    ) -> Result<Response<pb::UpdateAllocationKeyResponse>, Status> {
        answer(AllocationApi::update_allocation_key(self, request).await)
    }

    async fn import_allocation_key(
        &self,
        request: Request<pb::ImportAllocationKeyRequest>,
    ) -> Result<Response<pb::ImportAllocationKeyResponse>, Status> {
        answer(AllocationApi::import_allocation_key(self, request).await)
    }

    async fn get_budget(
        &self,
        request: Request<pb::GetBudgetRequest>,
    ) -> Result<Response<pb::GetBudgetResponse>, Status> {
        answer(AllocationApi::get_budget(self, request).await)
    }

    async fn update_budget(
        &self,
        request: Request<pb::UpdateBudgetRequest>,
    ) -> Result<Response<pb::UpdateBudgetResponse>, Status> {
        answer(AllocationApi::update_budget(self, request).await)
    }

    async fn create_allocation_run(
        &self,
        request: Request<pb::CreateAllocationRunRequest>,
    ) -> Result<Response<pb::CreateAllocationRunResponse>, Status> {
        answer(AllocationApi::create_allocation_run(self, request).await)
    }

    async fn get_allocation_run(
        &self,
        request: Request<pb::GetAllocationRunRequest>,
    ) -> Result<Response<pb::GetAllocationRunResponse>, Status> {
        answer(AllocationApi::get_allocation_run(self, request).await)
    }

    async fn list_allocation_runs(
        &self,
        request: Request<pb::ListAllocationRunsRequest>,
    ) -> Result<Response<pb::ListAllocationRunsResponse>, Status> {
        answer(AllocationApi::list_allocation_runs(self, request).await)
    }

    async fn get_invoice(
        &self,
        request: Request<pb::GetInvoiceRequest>,
    ) -> Result<Response<pb::GetInvoiceResponse>, Status> {
        answer(AllocationApi::get_invoice(self, request).await)
    }

    async fn list_invoices(
        &self,
        request: Request<pb::ListInvoicesRequest>,
    ) -> Result<Response<pb::ListInvoicesResponse>, Status> {
        answer(AllocationApi::list_invoices(self, request).await)
    }
}
