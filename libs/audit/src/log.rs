//! Writing, reading and purging `hearth_audit_log`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hearth_domain::{Clock, SystemClock};
use sea_orm::{
    ActiveValue, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::access::AuditReader;
use crate::entity;
use crate::entry::{AuditAccess, AuditEntry, ResourceId};
use crate::error::AuditError;
use crate::query::{
    AuditPage, AuditQuery, AuditRecord, Position, encode_roles, to_stored_precision,
};

/// The most rows one `INSERT` of [`AuditLog::record_many`] carries (9 bound values each: far
/// below SQLite's 32 766 and PostgreSQL's 65 535 bound values per statement). A page of any
/// size Hearth serves (at most a few hundred) is one statement; a larger batch is
/// `ceil(n / MAX_ROWS_PER_STATEMENT)` statements.
pub const MAX_ROWS_PER_STATEMENT: usize = 1000;

/// The audit log of one service's database. Cheap to clone.
///
/// Write with [`record`](Self::record) / [`record_many`](Self::record_many) **in the
/// transaction that reads the data**, then commit, then return the data: a read whose record
/// did not commit is a read that did not happen. Read with [`list`](Self::list) (admins only,
/// see [`require_audit_reader`](crate::require_audit_reader)). Purge with
/// [`purge_older_than`](Self::purge_older_than) / [`purge_expired`](Self::purge_expired).
#[derive(Debug, Clone)]
pub struct AuditLog {
    clock: Arc<dyn Clock>,
}

impl Default for AuditLog {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl AuditLog {
    /// An audit log that stamps entries with `clock`'s time.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock }
    }

    /// Writes `entry`, stamped now, on `conn`: pass the transaction that read the data.
    ///
    /// ```ignore
    /// let txn = db.begin().await?;
    /// let registration = registrations::find(&txn, id).await?.ok_or(not_found)?;
    /// audit.record(&txn, &AuditEntry::new(&principal, AuditAction::Read,
    ///     resource_type.clone(), id.into(), purpose)).await?;
    /// txn.commit().await?;           // the record is durable before the data leaves
    /// Ok(Response::new(to_proto(registration)))
    /// ```
    pub async fn record<C: ConnectionTrait>(
        &self,
        conn: &C,
        entry: &AuditEntry,
    ) -> Result<(), AuditError> {
        let now = self.now();
        entity::Entity::insert(row(entry.access(), entry.resource_id(), now))
            .exec_without_returning(conn)
            .await?;
        Ok(())
    }

    /// Writes one row per resource of a list result, all stamped with the same instant, in one
    /// `INSERT` (up to [`MAX_ROWS_PER_STATEMENT`] rows): the number of statements does not grow
    /// with the page size. Returns how many rows were written; no resources, no statement.
    pub async fn record_many<C, I>(
        &self,
        conn: &C,
        access: &AuditAccess,
        resource_ids: I,
    ) -> Result<u64, AuditError>
    where
        C: ConnectionTrait,
        I: IntoIterator<Item = ResourceId>,
    {
        let now = self.now();
        let rows: Vec<entity::ActiveModel> = resource_ids
            .into_iter()
            .map(|resource_id| row(access, &resource_id, now))
            .collect();
        let mut written = 0;
        for chunk in rows.chunks(MAX_ROWS_PER_STATEMENT) {
            written += entity::Entity::insert_many(chunk.iter().cloned())
                .exec_without_returning(conn)
                .await?;
        }
        Ok(written)
    }

    /// One page of the log, newest first (by time, then by id), after `query.page_token`.
    ///
    /// Keyset pagination: the token holds the last record's `(occurred_at, id)` and the next
    /// page is `WHERE (occurred_at, id) < token`, so every record is returned exactly once
    /// across pages however the log grows meanwhile (records written after the first page
    /// are newer and not part of this listing), and no page costs more than its own rows.
    /// Only for admins: the [`AuditReader`] comes from
    /// [`require_audit_reader`](crate::require_audit_reader).
    pub async fn list<C: ConnectionTrait>(
        &self,
        conn: &C,
        _reader: &AuditReader,
        query: &AuditQuery,
    ) -> Result<AuditPage, AuditError> {
        query.check()?;
        let position = query.position()?;
        let page_size = query.effective_page_size();

        let mut filter = Condition::all();
        if let Some(subject) = &query.subject {
            filter = filter.add(entity::Column::Subject.eq(subject.as_str()));
        }
        if let Some(resource_type) = &query.resource_type {
            filter = filter.add(entity::Column::ResourceType.eq(resource_type.as_str()));
        }
        if let Some(resource_id) = &query.resource_id {
            filter = filter.add(entity::Column::ResourceId.eq(resource_id.as_str()));
        }
        if let Some(from) = query.from {
            filter = filter.add(entity::Column::OccurredAt.gte(to_stored_precision(from)));
        }
        if let Some(to) = query.to {
            filter = filter.add(entity::Column::OccurredAt.lt(to_stored_precision(to)));
        }
        if let Some(Position { occurred_at, id }) = position {
            filter = filter.add(
                Condition::any()
                    .add(entity::Column::OccurredAt.lt(occurred_at))
                    .add(
                        Condition::all()
                            .add(entity::Column::OccurredAt.eq(occurred_at))
                            .add(entity::Column::Id.lt(id)),
                    ),
            );
        }

        // One more than the page: whether there is a next page, without an extra query.
        let mut rows = entity::Entity::find()
            .filter(filter)
            .order_by_desc(entity::Column::OccurredAt)
            .order_by_desc(entity::Column::Id)
            .limit(u64::from(page_size) + 1)
            .all(conn)
            .await?;
        let has_more = rows.len() > page_size as usize;
        rows.truncate(page_size as usize);
        let records = rows
            .into_iter()
            .map(AuditRecord::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let next_page_token = match records.last() {
            Some(last) if has_more => Some(
                Position {
                    occurred_at: last.occurred_at,
                    id: last.id,
                }
                .encode(query),
            ),
            _ => None,
        };
        Ok(AuditPage {
            records,
            next_page_token,
        })
    }

    /// Deletes the records of accesses before `cutoff`; returns how many. One `DELETE`,
    /// served by the time index.
    pub async fn purge_older_than<C: ConnectionTrait>(
        &self,
        conn: &C,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, AuditError> {
        let deleted = entity::Entity::delete_many()
            .filter(entity::Column::OccurredAt.lt(to_stored_precision(cutoff)))
            .exec(conn)
            .await?;
        Ok(deleted.rows_affected)
    }

    /// Deletes the records older than `retention` (the configured `audit.retention_days`);
    /// returns how many.
    pub async fn purge_expired<C: ConnectionTrait>(
        &self,
        conn: &C,
        retention: Duration,
    ) -> Result<u64, AuditError> {
        let retention = chrono::Duration::from_std(retention)
            .map_err(|_| AuditError::invalid("retention", "is longer than any date can express"))?;
        let cutoff = self
            .now()
            .checked_sub_signed(retention)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        self.purge_older_than(conn, cutoff).await
    }

    fn now(&self) -> DateTime<Utc> {
        to_stored_precision(self.clock.now_utc())
    }
}

fn row(access: &AuditAccess, resource_id: &ResourceId, now: DateTime<Utc>) -> entity::ActiveModel {
    entity::ActiveModel {
        id: ActiveValue::NotSet,
        occurred_at: ActiveValue::Set(now),
        subject: ActiveValue::Set(access.subject().to_owned()),
        roles: ActiveValue::Set(encode_roles(access.roles())),
        municipality: ActiveValue::Set(access.municipality().map(|code| code.to_string())),
        action: ActiveValue::Set(access.action().as_str().to_owned()),
        resource_type: ActiveValue::Set(access.resource_type().as_str().to_owned()),
        resource_id: ActiveValue::Set(resource_id.as_str().to_owned()),
        purpose: ActiveValue::Set(access.purpose().as_str().to_owned()),
        correlation_id: ActiveValue::Set(access.correlation_id().map(|id| id.as_str().to_owned())),
    }
}
