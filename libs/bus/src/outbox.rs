//! The transactional outbox: events are written in the same database transaction as the state
//! change that causes them, and published afterwards by the [`crate::OutboxRelay`]. Never
//! publish from a handler or a request before commit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hearth_proto::events::v1::EventEnvelope;
use prost::Message as _;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use tokio::sync::Notify;

use crate::BusError;
use crate::entities::outbox;
use crate::envelope::{NewEvent, timestamp};
use crate::subject::{CountySubjects, validate_event_type, validate_service};

/// The largest encoded envelope accepted: well under NATS's default 1 MiB message limit, so a
/// written event can always be published (an unpublishable row would block the outbox).
pub const MAX_ENVELOPE_BYTES: usize = 512 * 1024;

/// How long sent rows are kept by default (the replay window).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// What waits in an outbox ([`Outbox::backlog`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Unsent rows.
    pub events: u64,
    /// When the oldest unsent row was written.
    pub oldest: Option<DateTime<Utc>>,
}

/// Writes events into `hearth_outbox` for one county and producing service. Cheap to clone;
/// clones share the relay's wake-up.
#[derive(Debug, Clone)]
pub struct Outbox {
    subjects: CountySubjects,
    producer: String,
    retention: Duration,
    wake: Arc<Notify>,
}

impl Outbox {
    /// An outbox for `county`'s events produced by `producer` (a service name), keeping sent
    /// rows for [`DEFAULT_RETENTION`].
    pub fn new(county: &str, producer: &str) -> Result<Self, BusError> {
        validate_service(producer)?;
        Ok(Self {
            subjects: CountySubjects::new(county)?,
            producer: producer.to_owned(),
            retention: DEFAULT_RETENTION,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Keeps sent rows for `retention` (see [`Outbox::purge_expired`]).
    #[must_use]
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The county.
    pub fn county(&self) -> &str {
        self.subjects.county()
    }

    /// The producing service.
    pub fn producer(&self) -> &str {
        &self.producer
    }

    /// How long sent rows are kept.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    pub(crate) fn wake_handle(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Writes `event` into the caller's transaction (any connection works, but only a
    /// transaction makes the write atomic with the state change) and returns its envelope. The
    /// current span's W3C trace context is stored with it and travels in the message headers.
    ///
    /// Call [`Outbox::notify_relay`] after the transaction commits so the relay publishes at
    /// once instead of at its next poll.
    pub async fn enqueue<C: ConnectionTrait>(
        &self,
        txn: &C,
        event: NewEvent,
    ) -> Result<EventEnvelope, BusError> {
        validate_event_type(&event.event_type)?;
        if event.aggregate_id.is_empty() || event.aggregate_version == 0 {
            return Err(BusError::Invalid(format!(
                "event {} needs an aggregate id and a version from 1",
                event.event_type
            )));
        }
        if event.schema_version == 0 {
            return Err(BusError::Invalid(format!(
                "event {} needs a schema version from 1",
                event.event_type
            )));
        }
        let aggregate_version = i64::try_from(event.aggregate_version).map_err(|_| {
            BusError::Invalid(format!(
                "aggregate version {} is out of range",
                event.aggregate_version
            ))
        })?;
        let subject = self.subjects.event(&event.event_type)?;
        let now = Utc::now();
        let envelope = EventEnvelope {
            event_id: uuid::Uuid::now_v7().to_string(),
            event_type: event.event_type,
            schema_version: event.schema_version,
            county: self.subjects.county().to_owned(),
            producer: self.producer.clone(),
            aggregate_id: event.aggregate_id,
            aggregate_version: event.aggregate_version,
            correlation_id: event.correlation_id,
            occurred_at: Some(timestamp(event.occurred_at.unwrap_or(now))),
            payload: Some(event.payload),
        };
        let encoded = envelope.encode_to_vec();
        if encoded.len() > MAX_ENVELOPE_BYTES {
            return Err(BusError::Invalid(format!(
                "event {} is {} bytes encoded; the limit is {MAX_ENVELOPE_BYTES}",
                envelope.event_type,
                encoded.len()
            )));
        }
        let headers = serde_json::to_string(&trace_headers())
            .map_err(|error| BusError::Invalid(format!("trace headers: {error}")))?;

        let row = outbox::ActiveModel {
            id: ActiveValue::NotSet,
            event_id: ActiveValue::Set(envelope.event_id.clone()),
            event_type: ActiveValue::Set(envelope.event_type.clone()),
            subject: ActiveValue::Set(subject),
            aggregate_id: ActiveValue::Set(envelope.aggregate_id.clone()),
            aggregate_version: ActiveValue::Set(aggregate_version),
            envelope: ActiveValue::Set(encoded),
            headers: ActiveValue::Set(headers),
            created_at: ActiveValue::Set(now),
            sent_at: ActiveValue::Set(None),
            publish_attempts: ActiveValue::Set(0),
            last_error: ActiveValue::Set(None),
        };
        outbox::Entity::insert(row)
            .exec_without_returning(txn)
            .await?;
        tracing::debug!(
            event_type = %envelope.event_type,
            event_id = %envelope.event_id,
            "event written to the outbox"
        );
        Ok(envelope)
    }

    /// Wakes the relay (call after committing a transaction that enqueued events).
    pub fn notify_relay(&self) {
        self.wake.notify_one();
    }

    /// Rows not yet acknowledged by the bus.
    pub async fn unsent_count<C: ConnectionTrait>(&self, db: &C) -> Result<u64, BusError> {
        Ok(outbox::Entity::find()
            .filter(outbox::Column::SentAt.is_null())
            .count(db)
            .await?)
    }

    /// How many rows are unsent and when the oldest of them was written.
    pub async fn backlog<C: ConnectionTrait>(&self, db: &C) -> Result<Backlog, BusError> {
        let events = self.unsent_count(db).await?;
        let oldest = if events == 0 {
            None
        } else {
            outbox::Entity::find()
                .filter(outbox::Column::SentAt.is_null())
                .order_by_asc(outbox::Column::Id)
                .one(db)
                .await?
                .map(|row| row.created_at)
        };
        Ok(Backlog { events, oldest })
    }

    /// Deletes rows sent before `before`; returns how many.
    pub async fn purge_sent_before<C: ConnectionTrait>(
        &self,
        db: &C,
        before: DateTime<Utc>,
    ) -> Result<u64, BusError> {
        let deleted = outbox::Entity::delete_many()
            .filter(outbox::Column::SentAt.is_not_null())
            .filter(outbox::Column::SentAt.lt(before))
            .exec(db)
            .await?;
        Ok(deleted.rows_affected)
    }

    /// Deletes rows sent longer ago than the retention; returns how many.
    pub async fn purge_expired<C: ConnectionTrait>(&self, db: &C) -> Result<u64, BusError> {
        let retention = chrono::Duration::from_std(self.retention)
            .map_err(|_| BusError::Invalid("retention out of range".to_owned()))?;
        self.purge_sent_before(db, Utc::now() - retention).await
    }

    /// Marks rows sent since `since` as unsent, so that the relay publishes them again (the
    /// operator's `hearth replay`); returns how many. "Sent since" rather than "written since":
    /// what a bus that lost its recent messages lost is what was *published* after a time,
    /// including rows written earlier that waited in the outbox (during an outage). Consumers'
    /// inboxes make a replay harmless.
    pub async fn mark_for_replay<C: ConnectionTrait>(
        &self,
        db: &C,
        since: DateTime<Utc>,
    ) -> Result<u64, BusError> {
        let updated = outbox::Entity::update_many()
            .col_expr(
                outbox::Column::SentAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(outbox::Column::SentAt.gte(since))
            .exec(db)
            .await?;
        self.notify_relay();
        Ok(updated.rows_affected)
    }
}

fn trace_headers() -> BTreeMap<String, String> {
    hearth_telemetry::propagation::current_trace_headers()
}
