//! The consumer runtime: fetches deliveries from a durable consumer and applies each event
//! exactly once to the service's database, through the idempotent inbox.
//!
//! For each delivery:
//! 1. the handler's span (`event.handle`) is parented from the message's trace headers;
//! 2. a transaction begins and `(consumer, event id)` goes into the inbox; already there ⇒
//!    roll back, acknowledge, skip (a redelivery or a replay);
//! 3. the handler runs in the same transaction; `Ok` ⇒ commit, then acknowledge;
//! 4. an error rolls back and naks with exponential back-off; after `max_attempts` (or at once
//!    for [`HandlerError::Permanent`]) the event goes to the dead letters with the error and
//!    the attempt count, and the delivery is terminated. Nothing is silently dropped.
//!
//! Event types the handler does not handle ([`EventHandler::handles`]) are acknowledged and
//! skipped, so one consumer may cover a county's whole subject space (NATS 2.9 allows one
//! filter subject per consumer).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use futures::FutureExt as _;
use hearth_proto::events::v1::{DeadLetter, EventEnvelope};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::backoff::{Backoff, exponential, with_jitter};
use crate::bus::{ConsumerSpec, Delivery, EventBus, EventConsumer};
use crate::envelope::timestamp;
use crate::metrics;
use crate::subject::validate_event_type;
use crate::{BusError, Inbox};

/// How many deliveries one fetch asks for.
const FETCH_BATCH: usize = 16;
/// How long one fetch waits for a delivery (cancellation interrupts it).
const FETCH_WAIT: Duration = Duration::from_secs(2);

/// Why a handler did not apply an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Try again later (a backend was unavailable, a missing earlier version has not arrived).
    #[error("{0}")]
    Retry(String),
    /// Trying again cannot help (the event breaks a rule): dead-letter it now.
    #[error("{0}")]
    Permanent(String),
}

/// The payload of `event` decoded as `M`, which must be of `payload_type` (its full name,
/// e.g. `hearth.events.v1.FamilyApproved`): a missing, mistyped or undecodable payload cannot
/// get better, so it is a permanent error.
pub fn decode_payload<M: prost::Message + Default>(
    event: &EventEnvelope,
    payload_type: &str,
) -> Result<M, HandlerError> {
    let Some(payload) = &event.payload else {
        return Err(HandlerError::Permanent(format!(
            "{} without a payload",
            event.event_type
        )));
    };
    let found = crate::envelope::payload_type_name(payload);
    if found != payload_type {
        return Err(HandlerError::Permanent(format!(
            "{} with payload {found}",
            event.event_type
        )));
    }
    M::decode(payload.value.as_slice())
        .map_err(|error| HandlerError::Permanent(format!("undecodable {payload_type}: {error}")))
}

impl From<DbErr> for HandlerError {
    /// Database errors are worth retrying: most are contention or a connection lost.
    fn from(error: DbErr) -> Self {
        Self::Retry(format!("database: {error}"))
    }
}

/// Applies events to a service's state.
#[async_trait]
pub trait EventHandler: Send + Sync {
    /// Whether this handler applies events of `event_type`; others are acknowledged and
    /// skipped. Default: all.
    fn handles(&self, event_type: &str) -> bool {
        let _ = event_type;
        true
    }

    /// Applies `event` within `txn`, which also holds the inbox entry and commits only if this
    /// returns `Ok`. Must not publish to the bus (write to the outbox instead) and should
    /// tolerate reordering by comparing the aggregate's version.
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &EventEnvelope,
    ) -> Result<(), HandlerError>;
}

/// How often and how patiently a failing event is retried before it is dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Deliveries before the event goes to the dead letters (at least 1).
    pub max_attempts: u32,
    /// Delay before the second attempt; doubles with each further attempt.
    pub backoff_base: Duration,
    /// Longest delay between attempts.
    pub backoff_max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The delay before the attempt after `attempt` (1-based), with jitter.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        with_jitter(exponential(
            self.backoff_base,
            self.backoff_max,
            attempt.saturating_sub(1),
        ))
    }
}

/// What happened to one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Applied,
    Duplicate,
}

/// The consumer runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subscription;

impl Subscription {
    /// Consumes `spec` on `bus` and applies its events to `db` with `handler`, until `cancel`
    /// is cancelled (the delivery in hand is finished; fetched ones not yet started are naked
    /// for prompt redelivery). Survives bus outages by re-binding the consumer with back-off.
    /// Returns an error only when the consumer cannot be created for a reason retrying cannot
    /// fix (an invalid spec, a refused configuration).
    pub async fn run(
        db: DatabaseConnection,
        bus: Arc<dyn EventBus>,
        spec: ConsumerSpec,
        handler: Arc<dyn EventHandler>,
        retry: RetryPolicy,
        cancel: CancellationToken,
    ) -> Result<(), BusError> {
        spec.validate()?;
        let worker = Worker {
            db,
            bus,
            consumer: spec.durable_name.clone(),
            ack_wait: spec.ack_wait,
            handler,
            retry: RetryPolicy {
                max_attempts: retry.max_attempts.max(1),
                ..retry
            },
        };
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let mut bound: Option<Box<dyn EventConsumer>> = None;
        let mut next_lag_sample = tokio::time::Instant::now();
        metrics::consumer_started(&worker.consumer);
        loop {
            if cancel.is_cancelled() {
                return Ok(());
            }
            if let Some(consumer) = bound.as_ref()
                && tokio::time::Instant::now() >= next_lag_sample
            {
                next_lag_sample = tokio::time::Instant::now() + metrics::SAMPLE_INTERVAL;
                match consumer.lag().await {
                    Ok(lag) => metrics::consumer_lag(&worker.consumer, lag),
                    Err(error) => {
                        tracing::debug!(consumer = %worker.consumer, %error, "could not read the consumer's lag")
                    }
                }
            }
            let consumer = match bound.as_ref() {
                Some(consumer) => consumer,
                None => match worker.bus.consumer(spec.clone()).await {
                    Ok(consumer) => bound.insert(consumer),
                    Err(error) if error.is_retryable() => {
                        let delay = backoff.next_delay();
                        tracing::warn!(consumer = %worker.consumer, %error, retry_in = ?delay, "cannot bind the consumer yet");
                        if sleep_or_cancel(delay, &cancel).await {
                            return Ok(());
                        }
                        continue;
                    }
                    Err(error) => return Err(error),
                },
            };
            let fetched = tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                fetched = consumer.fetch(FETCH_BATCH, FETCH_WAIT) => fetched,
            };
            match fetched {
                Ok(deliveries) => {
                    backoff.reset();
                    let mut deliveries = deliveries.into_iter();
                    while let Some(delivery) = deliveries.next() {
                        if cancel.is_cancelled() {
                            for unstarted in std::iter::once(delivery).chain(deliveries) {
                                let _ = unstarted.nak(Duration::ZERO).await;
                            }
                            return Ok(());
                        }
                        worker.process(delivery).await;
                    }
                }
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(consumer = %worker.consumer, %error, retry_in = ?delay, "fetch failed; re-binding the consumer");
                    bound = None;
                    if sleep_or_cancel(delay, &cancel).await {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// Sleeps; returns `true` if cancelled first.
async fn sleep_or_cancel(delay: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = cancel.cancelled() => true,
        () = tokio::time::sleep(delay) => false,
    }
}

struct Worker {
    db: DatabaseConnection,
    bus: Arc<dyn EventBus>,
    consumer: String,
    ack_wait: Duration,
    handler: Arc<dyn EventHandler>,
    retry: RetryPolicy,
}

impl Worker {
    async fn process(&self, delivery: Delivery) {
        let envelope = match delivery.envelope().and_then(|envelope| {
            check_envelope(&envelope)?;
            Ok(envelope)
        }) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::error!(consumer = %self.consumer, subject = delivery.subject(), %error, "malformed message");
                self.dead_letter(delivery, None, error.to_string()).await;
                return;
            }
        };
        if !self.handler.handles(&envelope.event_type) {
            settle(delivery.ack().await, "ack a skipped event");
            return;
        }
        metrics::delivered(&self.consumer, delivery.delivered_count());
        // Attributes after OpenTelemetry's messaging conventions; never the payload.
        let span = tracing::info_span!(
            "event.handle",
            otel.name = format!("process {}", envelope.event_type),
            otel.kind = "consumer",
            messaging.system = self.bus.messaging_system(),
            messaging.operation.type = "process",
            messaging.destination.name = delivery.subject(),
            messaging.consumer.group.name = %self.consumer,
            messaging.message.id = %envelope.event_id,
            hearth.event_type = %envelope.event_type,
            hearth.attempt = delivery.delivered_count(),
            hearth.outcome = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        hearth_telemetry::propagation::set_parent_from_headers(&span, delivery.headers());
        self.apply(delivery, envelope).instrument(span).await;
    }

    async fn apply(&self, delivery: Delivery, envelope: EventEnvelope) {
        let attempt = delivery.delivered_count();
        let span = tracing::Span::current();
        let started = std::time::Instant::now();
        let record = |outcome: &'static str| {
            span.record("hearth.outcome", outcome);
            if matches!(outcome, "retry" | "dead_lettered") {
                span.record("otel.status_code", "ERROR");
            }
            metrics::processed(
                &self.consumer,
                self.bus.messaging_system(),
                &envelope.event_type,
                outcome,
                started.elapsed(),
            );
        };
        // A handler that runs long keeps its delivery: tell the bus it is in progress every half
        // ack_wait, so that it is not redelivered meanwhile.
        let outcome = {
            let work = self.apply_in_transaction(&envelope);
            tokio::pin!(work);
            let half_ack_wait = (self.ack_wait / 2).max(Duration::from_millis(50));
            let mut heartbeat = tokio::time::interval_at(
                tokio::time::Instant::now() + half_ack_wait,
                half_ack_wait,
            );
            loop {
                tokio::select! {
                    outcome = &mut work => break outcome,
                    _ = heartbeat.tick() => {
                        if let Err(error) = delivery.in_progress().await {
                            tracing::debug!(%error, "could not extend the delivery's ack wait");
                        }
                    }
                }
            }
        };
        match outcome {
            Ok(Outcome::Applied) => {
                record("applied");
                settle(delivery.ack().await, "ack an applied event");
            }
            Ok(Outcome::Duplicate) => {
                record("duplicate");
                tracing::debug!("event already applied; skipped");
                settle(delivery.ack().await, "ack a duplicate event");
            }
            Err(HandlerError::Retry(error)) if attempt < self.retry.max_attempts => {
                record("retry");
                let delay = self.retry.delay_after(attempt);
                tracing::warn!(%error, attempt, max_attempts = self.retry.max_attempts, retry_in = ?delay, "event handler failed; will retry");
                settle(delivery.nak(delay).await, "nak a failed event");
            }
            Err(error) => {
                record("dead_lettered");
                self.dead_letter(delivery, Some(envelope), error.to_string())
                    .await;
            }
        }
    }

    async fn apply_in_transaction(
        &self,
        envelope: &EventEnvelope,
    ) -> Result<Outcome, HandlerError> {
        let txn = begin_write(&self.db).await?;
        let recorded = match Inbox::record(&txn, &self.consumer, envelope).await {
            Ok(recorded) => recorded,
            Err(error) => {
                rollback(txn).await;
                return Err(HandlerError::Retry(format!("inbox: {error}")));
            }
        };
        if !recorded {
            rollback(txn).await;
            return Ok(Outcome::Duplicate);
        }
        let handled = AssertUnwindSafe(self.handler.handle(&txn, envelope))
            .catch_unwind()
            .await;
        match handled {
            Ok(Ok(())) => {
                txn.commit()
                    .await
                    .map_err(|error| HandlerError::Retry(format!("commit: {error}")))?;
                Ok(Outcome::Applied)
            }
            Ok(Err(error)) => {
                rollback(txn).await;
                Err(error)
            }
            Err(panic) => {
                rollback(txn).await;
                Err(HandlerError::Retry(format!(
                    "handler panicked: {}",
                    panic_message(panic.as_ref())
                )))
            }
        }
    }

    /// Publishes a dead letter and terminates the delivery; if the dead letter cannot be
    /// published, naks it instead so that it is not lost.
    async fn dead_letter(&self, delivery: Delivery, event: Option<EventEnvelope>, error: String) {
        let attempts = delivery.delivered_count();
        let dead_letter = DeadLetter {
            event,
            consumer: self.consumer.clone(),
            error: error.clone(),
            attempts,
            dead_lettered_at: Some(timestamp(Utc::now())),
            original_subject: delivery.subject().to_owned(),
        };
        match self.bus.dead_letter(dead_letter, delivery.msg_id()).await {
            Ok(_) => {
                metrics::dead_lettered(&self.consumer);
                tracing::error!(%error, attempts, "event dead-lettered");
                settle(delivery.term().await, "terminate a dead-lettered event");
            }
            Err(publish_error) => {
                let delay = self.retry.backoff_max;
                tracing::warn!(%publish_error, %error, retry_in = ?delay, "could not dead-letter the event; it will be delivered again");
                settle(
                    delivery.nak(delay).await,
                    "nak an event that could not be dead-lettered",
                );
            }
        }
    }
}

/// An envelope needs a UUID event id (the inbox key) and a valid event type.
fn check_envelope(envelope: &EventEnvelope) -> Result<(), BusError> {
    uuid::Uuid::parse_str(&envelope.event_id).map_err(|_| {
        BusError::Decode(format!(
            "envelope has no valid event id ({:?})",
            envelope.event_id
        ))
    })?;
    validate_event_type(&envelope.event_type)
        .map_err(|error| BusError::Decode(format!("envelope: {error}")))
}

/// A write transaction: `BEGIN IMMEDIATE` on SQLite (no lock upgrade deadlocks; writes
/// serialize anyway), the default elsewhere.
async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await
        }
        _ => db.begin().await,
    }
}

async fn rollback(txn: DatabaseTransaction) {
    if let Err(error) = txn.rollback().await {
        tracing::warn!(%error, "rollback failed");
    }
}

/// Logs a failed acknowledgement: the delivery then comes again after `ack_wait`, and the
/// inbox absorbs it.
fn settle(result: Result<(), BusError>, what: &str) {
    if let Err(error) = result {
        tracing::warn!(%error, "could not {what}; it will be redelivered");
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}
