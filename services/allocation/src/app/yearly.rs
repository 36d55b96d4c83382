//! Keys and budgets are one row per year: a JSON record, a version (the etag) and the time of
//! the last change. Both are read, changed (etag-checked, frozen once the year is allocated,
//! audited) and written the same way, here.

use chrono::{DateTime, Utc};
use hearth_auth::Principal;
use hearth_rpc::handler::{etag, require_fresh};
use hearth_rpc::{ServiceContext, ServiceError};
use sea_orm::sea_query::{Expr, IntoCondition};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use sea_orm::{Condition, Select};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::audit_change;
use crate::store::entities::{KIND_ANNUAL, budget, key, run};
use crate::store::records::{BudgetRecord, KeyRecord, from_json, to_json};

/// A table of one versioned record per year.
pub trait YearTable: EntityTrait {
    type Record: Serialize + DeserializeOwned;
    const YEAR: Self::Column;
    const BODY: Self::Column;
    const VERSION: Self::Column;
    const UPDATE_TIME: Self::Column;
    /// What a row is, in errors: `allocation key`.
    const NOUN: &'static str;
    /// The resource type of its audit records: `allocation_key`.
    const RESOURCE_TYPE: &'static str;
    /// Why a change of an existing row without an etag is refused.
    const ETAG_REQUIRED: &'static str;
}

impl YearTable for key::Entity {
    type Record = KeyRecord;
    const YEAR: key::Column = key::Column::Year;
    const BODY: key::Column = key::Column::Body;
    const VERSION: key::Column = key::Column::Version;
    const UPDATE_TIME: key::Column = key::Column::UpdateTime;
    const NOUN: &'static str = "allocation key";
    const RESOURCE_TYPE: &'static str = "allocation_key";
    const ETAG_REQUIRED: &'static str = "is required to change an existing key";
}

impl YearTable for budget::Entity {
    type Record = BudgetRecord;
    const YEAR: budget::Column = budget::Column::Year;
    const BODY: budget::Column = budget::Column::Body;
    const VERSION: budget::Column = budget::Column::Version;
    const UPDATE_TIME: budget::Column = budget::Column::UpdateTime;
    const NOUN: &'static str = "budget";
    const RESOURCE_TYPE: &'static str = "allocation_budget";
    const ETAG_REQUIRED: &'static str = "is required to change an existing budget";
}

/// A year's stored record.
pub struct Stored<R> {
    pub year: i32,
    pub record: R,
    pub version: i64,
    pub update_time: DateTime<Utc>,
}

/// How a read locks: a change or a run holds the row until it commits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    Exclusive,
}

/// The stored record of `year`.
pub async fn read<E: YearTable, C: ConnectionTrait>(
    conn: &C,
    year: i32,
    lock: Lock,
) -> Result<Option<Stored<E::Record>>, ServiceError> {
    latest::<E, C>(conn, E::YEAR.eq(year), lock).await
}

/// The stored record of `year`, or `NOT_FOUND`.
pub async fn get<E: YearTable, C: ConnectionTrait>(
    conn: &C,
    year: i32,
) -> Result<Stored<E::Record>, ServiceError> {
    read::<E, C>(conn, year, Lock::None)
        .await?
        .ok_or_else(|| ServiceError::not_found(E::NOUN, year.to_string()))
}

/// The latest stored record of `year` or an earlier year, locked for a run.
pub async fn read_up_to<E: YearTable, C: ConnectionTrait>(
    conn: &C,
    year: i32,
) -> Result<Option<Stored<E::Record>>, ServiceError> {
    latest::<E, C>(conn, E::YEAR.lte(year), Lock::Exclusive).await
}

/// Every stored record, newest year first, locked for a change.
pub async fn all<E: YearTable, C: ConnectionTrait>(
    conn: &C,
) -> Result<Vec<Stored<E::Record>>, ServiceError> {
    let rows: Vec<Row> = select::<E>(Condition::all(), Lock::Exclusive)
        .into_tuple()
        .all(conn)
        .await?;
    rows.into_iter().map(stored).collect()
}

async fn latest<E: YearTable, C: ConnectionTrait>(
    conn: &C,
    filter: impl IntoCondition,
    lock: Lock,
) -> Result<Option<Stored<E::Record>>, ServiceError> {
    let row: Option<Row> = select::<E>(filter, lock).into_tuple().one(conn).await?;
    row.map(stored).transpose()
}

/// A stored row's year, body, version and update time.
type Row = (i32, String, i64, DateTime<Utc>);

fn select<E: YearTable>(filter: impl IntoCondition, lock: Lock) -> Select<E> {
    let select = E::find()
        .select_only()
        .column(E::YEAR)
        .column(E::BODY)
        .column(E::VERSION)
        .column(E::UPDATE_TIME)
        .filter(filter)
        .order_by_desc(E::YEAR);
    match lock {
        Lock::None => select,
        Lock::Exclusive => select.lock_exclusive(),
    }
}

fn stored<R: DeserializeOwned>(
    (year, body, version, update_time): Row,
) -> Result<Stored<R>, ServiceError> {
    Ok(Stored {
        year,
        record: from_json(&body)?,
        version,
        update_time,
    })
}

/// A change of a year's record, as the request asks it.
pub struct Change<'a> {
    pub year: i32,
    /// The etag the caller last read; required when the record exists.
    pub etag: &'a str,
    /// Create the record from the default when the year has none.
    pub allow_missing: bool,
    /// The RPC, for the audit record.
    pub method: &'static str,
}

/// [`change`] in a transaction of its own (`UpdateAllocationKey`, `UpdateBudget`).
pub async fn update<E: YearTable>(
    ctx: &ServiceContext,
    principal: &Principal,
    request: Change<'_>,
    default: impl FnOnce() -> E::Record,
    apply: impl FnOnce(&mut E::Record) -> Result<(), ServiceError>,
) -> Result<Stored<E::Record>, ServiceError> {
    let txn = ctx.begin().await?;
    let stored = change::<E, _>(ctx, &txn, principal, request, default, apply).await?;
    txn.commit().await?;
    Ok(stored)
}

/// Reads the year's record for a change, checks the freeze and the etag, applies `apply` (to
/// `default()` when the year has none and `allow_missing`), writes the result as the next
/// version and records the change in the audit log, all in `txn`.
pub async fn change<E: YearTable, C: ConnectionTrait>(
    ctx: &ServiceContext,
    txn: &C,
    principal: &Principal,
    change: Change<'_>,
    default: impl FnOnce() -> E::Record,
    apply: impl FnOnce(&mut E::Record) -> Result<(), ServiceError>,
) -> Result<Stored<E::Record>, ServiceError> {
    let year = change.year;
    let existing = read::<E, C>(txn, year, Lock::Exclusive).await?;
    refuse_if_allocated(txn, year).await?;
    let (mut record, version) = match existing {
        Some(stored) => {
            check_etag::<E>(change.etag, stored.version)?;
            (stored.record, Some(stored.version))
        }
        None if change.allow_missing => (default(), None),
        None => return Err(ServiceError::not_found(E::NOUN, year.to_string())),
    };
    apply(&mut record)?;
    let now = ctx.now();
    let next = write::<E, C>(txn, year, &record, version, now).await?;
    audit_change(
        ctx,
        txn,
        principal,
        E::RESOURCE_TYPE,
        &year.to_string(),
        change.method,
    )
    .await?;
    Ok(Stored {
        year,
        record,
        version: next,
        update_time: now,
    })
}

fn check_etag<E: YearTable>(etag: &str, version: i64) -> Result<(), ServiceError> {
    if etag.trim().is_empty() {
        return Err(ServiceError::invalid("etag", E::ETAG_REQUIRED));
    }
    require_fresh(etag, version, false)
}

/// Writes `record` over the stored version `stored` as the next version, at `now`: a change
/// that is not a caller's (use values from placement events), so it is not audited.
pub async fn rewrite<E: YearTable, C: ConnectionTrait>(
    txn: &C,
    stored: &Stored<E::Record>,
    record: &E::Record,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    write::<E, C>(txn, stored.year, record, Some(stored.version), now).await
}

/// Writes `record` as the version after `version` (`None`: a new row); returns the new version.
async fn write<E: YearTable, C: ConnectionTrait>(
    txn: &C,
    year: i32,
    record: &E::Record,
    version: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let body = to_json(record)?;
    let Some(version) = version else {
        let mut row = <E::ActiveModel as ActiveModelTrait>::default();
        row.try_set(E::YEAR, year.into())?;
        row.try_set(E::BODY, body.into())?;
        row.try_set(E::VERSION, 1_i64.into())?;
        row.try_set(E::UPDATE_TIME, now.into())?;
        E::insert(row).exec_without_returning(txn).await?;
        return Ok(1);
    };
    let next = version + 1;
    let updated = E::update_many()
        .col_expr(E::BODY, Expr::value(body))
        .col_expr(E::VERSION, Expr::value(next))
        .col_expr(E::UPDATE_TIME, Expr::value(now))
        .filter(E::YEAR.eq(year))
        .filter(E::VERSION.eq(version))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        // Changed since it was read: the version the change started from is not the current
        // one (always an error here, the etags differ).
        require_fresh(&etag(version), next, false)?;
    }
    Ok(next)
}

/// Whether an annual run of `year` was stored: its key and budget are then part of the run's
/// record, and frozen.
pub async fn is_allocated<C: ConnectionTrait>(conn: &C, year: i32) -> Result<bool, ServiceError> {
    let annual = run::Entity::find()
        .filter(run::Column::Year.eq(year))
        .filter(run::Column::Kind.eq(KIND_ANNUAL))
        .one(conn)
        .await?;
    Ok(annual.is_some())
}

/// Refuses a change of `year` once it is allocated.
async fn refuse_if_allocated<C: ConnectionTrait>(conn: &C, year: i32) -> Result<(), ServiceError> {
    if is_allocated(conn, year).await? {
        return Err(ServiceError::rule(
            "YEAR_ALLOCATED",
            format!("{year} has been allocated: its key and budget are part of the run's record"),
        ));
    }
    Ok(())
}
