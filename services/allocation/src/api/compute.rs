//! What a run shares and how, from the stored key and budget and the county's members: an
//! annual run shares the year's budget by the key, a settlement shares a year-end surplus or
//! deficit by the annual run's shares or by one basis of the key.

use chrono::{Datelike, NaiveDate};
use hearth_domain::{Money, MunicipalityCode};
use hearth_rpc::{ServiceContext, ServiceError};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::support::not_allocatable;
use crate::app::yearly::{self, Lock, Stored};
use crate::convert;
use crate::domain::{
    self, AllocationRequest, KeyBasis, KeyValues, MemberKey, MemberShare, Membership, Rounding,
    Split,
};
use crate::store::entities::{KIND_ANNUAL, STATE_COMPLETED, budget, key, run};
use crate::store::records::{
    BudgetRecord, BudgetSnapshot, InstalmentRecord, KeyRecord, KeySnapshot, MemberRecord,
    RunRecord, ShareRecord, from_json,
};

/// What a `CreateAllocationRun` asks, after its checks.
pub struct RunAsk {
    pub year: i32,
    pub kind: i32,
    pub rounding: Rounding,
    pub key_basis: Option<KeyBasis>,
    pub settlement: Option<Money>,
    pub actual_cost: Option<Money>,
}

/// A computed run: its total and its record (invoice ids not yet assigned).
pub struct Computed {
    pub total: Money,
    pub record: RunRecord,
}

/// Computes the run `ask` asks for, reading (and locking) its inputs in `txn`.
pub async fn compute<C: ConnectionTrait>(
    ctx: &ServiceContext,
    txn: &C,
    ask: &RunAsk,
) -> Result<Computed, ServiceError> {
    let key = yearly::read::<key::Entity, C>(txn, ask.year, Lock::Exclusive)
        .await?
        .map(key_snapshot);
    if ask.kind == KIND_ANNUAL {
        annual(ctx, txn, ask, key).await
    } else {
        settlement(ctx, txn, ask, key).await
    }
}

fn key_snapshot(stored: Stored<KeyRecord>) -> KeySnapshot {
    KeySnapshot {
        year: stored.year,
        version: stored.version,
        update_time: stored.update_time,
        key: stored.record,
    }
}

fn key_missing(year: i32) -> ServiceError {
    ServiceError::rule(
        "ALLOCATION_KEY_MISSING",
        format!("{year} has no allocation key yet"),
    )
}

async fn annual<C: ConnectionTrait>(
    ctx: &ServiceContext,
    txn: &C,
    ask: &RunAsk,
    key: Option<KeySnapshot>,
) -> Result<Computed, ServiceError> {
    let members = members_of(ctx, ask.year);
    if members.is_empty() {
        return Err(ServiceError::rule(
            "NO_MEMBERS",
            format!("no municipality is a member in {}", ask.year),
        ));
    }
    let snapshot = key.ok_or_else(|| key_missing(ask.year))?;
    let budget = budget_for(txn, ask.year, ask.rounding)
        .await?
        .ok_or_else(|| {
            ServiceError::rule(
                "BUDGET_MISSING",
                format!("{} has no budget, and no earlier year has one", ask.year),
            )
        })?;
    let keys = member_keys(&members, &snapshot.key)?;
    let (common_split, specific_split) = splits(ask.key_basis, &snapshot.key)?;
    let allocation = domain::allocate(&AllocationRequest {
        year: ask.year,
        rounding: ask.rounding,
        members: &keys,
        common_total: budget_total(&budget.budget, false)?,
        common_split: &common_split,
        specific_total: budget_total(&budget.budget, true)?,
        specific_split: &specific_split,
    })
    .map_err(not_allocatable)?;
    let shares = allocation
        .shares
        .iter()
        .map(|share| annual_share(ask.year, share))
        .collect::<Result<_, _>>()?;
    Ok(Computed {
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
    })
}

/// The common and specific splits of an annual run: the one basis it asks for, else the key's.
fn splits(basis: Option<KeyBasis>, key: &KeyRecord) -> Result<(Split, Split), ServiceError> {
    Ok(match basis {
        Some(basis) => (Split::single(basis), Split::single(basis)),
        None => (
            Split::new(key.common_split.clone()).map_err(ServiceError::internal)?,
            Split::new(key.specific_split.clone()).map_err(ServiceError::internal)?,
        ),
    })
}

/// The sum of the budget's specific (or common) lines.
fn budget_total(budget: &BudgetRecord, specific: bool) -> Result<Money, ServiceError> {
    budget
        .lines
        .iter()
        .filter(|line| line.specific == specific)
        .try_fold(Money::ZERO, |sum, line| sum.checked_add(line.amount))
        .map_err(ServiceError::internal)
}

/// A member's annual share with its twelve instalments, due on the last day of each month.
fn annual_share(year: i32, share: &MemberShare) -> Result<ShareRecord, ServiceError> {
    let instalments = (1..=12_u32)
        .zip(&share.instalments)
        .map(|(month, amount)| {
            let due_date = domain::calendar::day_of_month(year, month, 31)
                .ok_or_else(|| ServiceError::internal(format!("no month {month} in {year}")))?;
            Ok(InstalmentRecord {
                number: month,
                due_date,
                amount_ore: amount.as_ore(),
            })
        })
        .collect::<Result<_, ServiceError>>()?;
    Ok(ShareRecord {
        municipality: share.municipality,
        months: share.months,
        common_ore: share.common.as_ore(),
        specific_ore: share.specific.as_ore(),
        amount_ore: share.amount.as_ore(),
        share_millionths: share.share_millionths,
        invoice_id: String::new(),
        instalments,
    })
}

/// The budget a run of `year` shares: the year's own, or the latest earlier one projected.
async fn budget_for<C: ConnectionTrait>(
    txn: &C,
    year: i32,
    rounding: Rounding,
) -> Result<Option<BudgetSnapshot>, ServiceError> {
    let Some(stored) = yearly::read_up_to::<budget::Entity, C>(txn, year).await? else {
        return Ok(None);
    };
    let mut record = stored.record;
    if stored.year < year {
        let years = u32::try_from(year - stored.year).map_err(ServiceError::internal)?;
        record.lines = domain::project_lines(
            &record.lines,
            record.yearly_increase_basis_points,
            years,
            rounding,
        )
        .map_err(not_allocatable)?;
    }
    Ok(Some(BudgetSnapshot {
        from_year: stored.year,
        version: stored.version,
        update_time: stored.update_time,
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
    members.sort_by_key(|member| member.municipality);
    members
}

/// The members with their key values, for the domain.
fn member_keys(members: &[MemberRecord], key: &KeyRecord) -> Result<Vec<MemberKey>, ServiceError> {
    members
        .iter()
        .map(|member| {
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
                municipality: member.municipality,
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

/// A settlement's amounts and what they were shared by.
struct Settled {
    members: Vec<MemberRecord>,
    amounts: Vec<(MunicipalityCode, Money)>,
    key: Option<KeySnapshot>,
    annual_run_id: Option<String>,
}

async fn settlement<C: ConnectionTrait>(
    ctx: &ServiceContext,
    txn: &C,
    ask: &RunAsk,
    key: Option<KeySnapshot>,
) -> Result<Computed, ServiceError> {
    let annual = run::Entity::find()
        .filter(run::Column::Year.eq(ask.year))
        .filter(run::Column::Kind.eq(KIND_ANNUAL))
        .filter(run::Column::State.eq(STATE_COMPLETED))
        .one(txn)
        .await?;
    let difference = settlement_difference(ask, annual.as_ref())?;
    let due_date = settlement_due_date(ctx.today())?;
    let settled = match ask.key_basis {
        Some(basis) => settle_by_key(ctx, ask, basis, difference, annual, key)?,
        None => settle_by_annual_shares(ask, difference, annual)?,
    };
    let shares = settled
        .amounts
        .iter()
        .map(|(code, amount)| ShareRecord {
            municipality: *code,
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
            members: settled.members,
            key: settled.key,
            budget: None,
            key_basis: ask.key_basis,
            annual_run_id: settled.annual_run_id,
            shares,
        },
    })
}

fn annual_run_missing(year: i32) -> ServiceError {
    ServiceError::rule(
        "ANNUAL_RUN_MISSING",
        format!("{year} has no completed annual run to settle against"),
    )
}

/// The surplus or deficit to share: as given, or the actual cost less the annual run's total.
fn settlement_difference(ask: &RunAsk, annual: Option<&run::Model>) -> Result<Money, ServiceError> {
    match (ask.settlement, ask.actual_cost) {
        (Some(settlement), _) => Ok(settlement),
        (None, Some(actual)) => {
            let annual = annual.ok_or_else(|| annual_run_missing(ask.year))?;
            actual
                .checked_sub(Money::from_ore(annual.total_ore))
                .map_err(ServiceError::internal)
        }
        (None, None) => Err(ServiceError::internal("settlement without an amount")),
    }
}

/// A settlement's one instalment is due on the last day of the month after today.
fn settlement_due_date(today: NaiveDate) -> Result<NaiveDate, ServiceError> {
    domain::calendar::day_of_month(
        today.year() + i32::from(today.month() == 12),
        today.month() % 12 + 1,
        31,
    )
    .ok_or_else(|| ServiceError::internal("no due date"))
}

/// By one basis of the year's key: the annual run's members (the county's when there is none).
fn settle_by_key(
    ctx: &ServiceContext,
    ask: &RunAsk,
    basis: KeyBasis,
    difference: Money,
    annual: Option<run::Model>,
    key: Option<KeySnapshot>,
) -> Result<Settled, ServiceError> {
    let members = match &annual {
        Some(row) => from_json::<RunRecord>(&row.body)?.members,
        None => members_of(ctx, ask.year),
    };
    let snapshot = key.ok_or_else(|| key_missing(ask.year))?;
    let keys = member_keys(&members, &snapshot.key)?;
    let amounts = domain::settle_by_key(ask.year, ask.rounding, difference, &keys, basis)
        .map_err(not_allocatable)?;
    Ok(Settled {
        members,
        amounts,
        key: Some(snapshot),
        annual_run_id: None,
    })
}

/// By the shares of the year's completed annual run.
fn settle_by_annual_shares(
    ask: &RunAsk,
    difference: Money,
    annual: Option<run::Model>,
) -> Result<Settled, ServiceError> {
    let annual = annual.ok_or_else(|| annual_run_missing(ask.year))?;
    let record: RunRecord = from_json(&annual.body)?;
    let shares: Vec<(MunicipalityCode, Money)> = record
        .shares
        .iter()
        .map(|share| (share.municipality, Money::from_ore(share.amount_ore)))
        .collect();
    let amounts =
        domain::settle_by_shares(ask.rounding, difference, &shares).map_err(not_allocatable)?;
    Ok(Settled {
        members: record.members,
        amounts,
        key: record.key,
        annual_run_id: Some(annual.id),
    })
}
