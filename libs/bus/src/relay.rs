//! The outbox relay: publishes unsent outbox rows in order, with `Nats-Msg-Id` = event id, and
//! marks them sent once the bus has acknowledged them.
//!
//! - PostgreSQL: rows are claimed with `SELECT … FOR UPDATE SKIP LOCKED` in a transaction held
//!   until their publishes are acknowledged, so several relays (replicas) may run; a relay that
//!   selected outside its transaction would lose the lock and double-send.
//! - SQLite has no row locks: run one relay task per database file.
//!
//! When the bus is unavailable the relay backs off (exponentially, with jitter) and retries;
//! rows stay in the outbox meanwhile, so nothing is lost. A crash after a publish and before
//! the row is marked sent publishes it again, which the bus's de-duplication and the consumers'
//! inboxes absorb.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hearth_telemetry::propagation::{
    current_trace_headers, link_from_headers, set_parent_from_headers,
};
use sea_orm::sea_query::{Expr, ExprTrait as _, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::backoff::Backoff;
use crate::bus::{EventBus, OutgoingMessage};
use crate::entities::outbox;
use crate::metrics;
use crate::{BusError, Outbox};

/// How the relay paces itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// Rows claimed and published per pass.
    pub batch_size: u64,
    /// How often an idle relay looks for rows it was not told about.
    pub poll_interval: Duration,
    /// First back-off after a failed publish.
    pub backoff_base: Duration,
    /// Longest back-off.
    pub backoff_max: Duration,
    /// How long [`OutboxRelay::run`] keeps flushing after cancellation.
    pub shutdown_flush_timeout: Duration,
    /// How often [`OutboxRelay::run`] deletes sent rows older than the outbox's retention.
    pub purge_interval: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch_size: 100,
            poll_interval: Duration::from_secs(1),
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(30),
            shutdown_flush_timeout: Duration::from_secs(10),
            purge_interval: Duration::from_secs(60 * 60),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayPass {
    /// Rows claimed.
    pub claimed: u64,
    /// Rows the bus acknowledged (and that are now marked sent).
    pub published: u64,
    /// Of those, how many the bus reported as duplicates (already stored).
    pub duplicates: u64,
}

/// A handle that wakes a relay (cloneable; see [`Outbox::notify_relay`]).
#[derive(Debug, Clone)]
pub struct RelayNotifier(Arc<Notify>);

impl RelayNotifier {
    /// Wakes the relay now.
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

/// Publishes the outbox of one service database.
#[derive(Debug, Clone)]
pub struct OutboxRelay {
    db: DatabaseConnection,
    bus: Arc<dyn EventBus>,
    outbox: Outbox,
    wake: Arc<Notify>,
    config: RelayConfig,
}

impl OutboxRelay {
    /// A relay for the outbox in `db`, woken by `outbox`'s [`Outbox::notify_relay`].
    pub fn new(
        db: DatabaseConnection,
        bus: Arc<dyn EventBus>,
        outbox: &Outbox,
        config: RelayConfig,
    ) -> Self {
        Self {
            db,
            bus,
            outbox: outbox.clone(),
            wake: outbox.wake_handle(),
            config,
        }
    }

    /// A handle that wakes this relay.
    pub fn notifier(&self) -> RelayNotifier {
        RelayNotifier(Arc::clone(&self.wake))
    }

    /// Publishes until cancelled, then flushes what is left (bounded by
    /// `shutdown_flush_timeout`). Wakes on [`RelayNotifier::notify`] and polls every
    /// `poll_interval`; backs off with jitter while the bus is unavailable. Every
    /// `purge_interval` it deletes sent rows older than the outbox's retention.
    pub async fn run(self, cancel: CancellationToken) -> Result<(), BusError> {
        let mut backoff = Backoff::new(self.config.backoff_base, self.config.backoff_max);
        let mut recheck_soon = false;
        let mut next_purge = Instant::now();
        let mut reconnections = self.bus.reconnections();
        while !cancel.is_cancelled() {
            if Instant::now() >= next_purge {
                next_purge = Instant::now() + self.config.purge_interval;
                match self.outbox.purge_expired(&self.db).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, "sent outbox rows past retention deleted"),
                    Err(error) => tracing::warn!(%error, "purging the outbox failed"),
                }
            }
            match self.publish_pass().await {
                Ok(pass) if pass.claimed >= self.config.batch_size => {
                    backoff.reset();
                    // A full batch: there is probably more.
                }
                Ok(pass) => {
                    backoff.reset();
                    // Woken for an enqueue whose transaction had not committed yet: look
                    // again shortly rather than at the next poll.
                    let idle_wait = if recheck_soon && pass.claimed == 0 {
                        Duration::from_millis(50).min(self.config.poll_interval)
                    } else {
                        self.config.poll_interval
                    };
                    recheck_soon = false;
                    tokio::select! {
                        () = cancel.cancelled() => break,
                        () = self.wake.notified() => recheck_soon = true,
                        () = tokio::time::sleep(idle_wait) => {}
                    }
                }
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(%error, retry_in = ?delay, "outbox relay could not publish; backing off");
                    // The back-off grows with the outage; when the bus is back, go at once.
                    tokio::select! {
                        () = cancel.cancelled() => break,
                        () = tokio::time::sleep(delay) => {}
                        () = reconnected(reconnections.as_mut()) => {
                            tracing::info!("the event bus is back; outbox relay resumes");
                        }
                    }
                }
            }
        }
        match self.flush(self.config.shutdown_flush_timeout).await {
            Ok(published) => {
                tracing::info!(published, "outbox relay stopped after flushing");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, "outbox relay stopped with events still unsent; they go out at the next start");
                Err(error)
            }
        }
    }

    /// Publishes until the outbox is empty, retrying with back-off; fails with
    /// [`BusError::Timeout`] (or the last error) if rows remain after `timeout`. Returns how
    /// many rows were published.
    pub async fn flush(&self, timeout: Duration) -> Result<u64, BusError> {
        let deadline = Instant::now() + timeout;
        let mut backoff = Backoff::new(self.config.backoff_base, self.config.backoff_max);
        let mut published = 0;
        loop {
            let last_error = match tokio::time::timeout_at(deadline, self.publish_pass()).await {
                Err(_elapsed) => None,
                Ok(Ok(pass)) => {
                    published += pass.published;
                    if pass.claimed == 0 {
                        return Ok(published);
                    }
                    backoff.reset();
                    continue;
                }
                Ok(Err(error)) => Some(error),
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(last_error.unwrap_or_else(|| {
                    BusError::Timeout(format!("outbox not flushed within {timeout:?}"))
                }));
            }
            let delay = backoff.next_delay().min(deadline - now);
            tokio::time::sleep(delay).await;
        }
    }

    /// Marks rows sent since `since` as unsent (see [`Outbox::mark_for_replay`]) and wakes the
    /// relay, which publishes them again with their original event ids; returns how many. Inside the bus's duplicate
    /// window they are recognised as duplicates; after it, consumers' inboxes skip them.
    pub async fn replay(&self, since: DateTime<Utc>) -> Result<u64, BusError> {
        let marked = self.outbox.mark_for_replay(&self.db, since).await?;
        tracing::info!(marked, %since, "outbox rows marked for replay");
        self.wake.notify_one();
        Ok(marked)
    }

    /// One pass: claims up to `batch_size` unsent rows in order, publishes them, and marks the
    /// acknowledged ones sent. Stops at the first failed publish (keeping order), records the
    /// error on that row, and returns it.
    pub async fn publish_pass(&self) -> Result<RelayPass, BusError> {
        match self.db.get_database_backend() {
            DbBackend::Postgres => self.publish_pass_locked().await,
            _ => self.publish_pass_unlocked().await,
        }
    }

    /// PostgreSQL: rows stay locked until their publishes are acknowledged and marked.
    async fn publish_pass_locked(&self) -> Result<RelayPass, BusError> {
        let txn = self.db.begin().await?;
        let rows = outbox::Entity::find()
            .filter(outbox::Column::SentAt.is_null())
            .order_by_asc(outbox::Column::Id)
            .limit(self.config.batch_size)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .all(&txn)
            .await?;
        let outcome = self.publish_rows(&txn, &rows).await;
        txn.commit().await?;
        outcome
    }

    /// SQLite: no row locks, one relay per database.
    async fn publish_pass_unlocked(&self) -> Result<RelayPass, BusError> {
        let rows = outbox::Entity::find()
            .filter(outbox::Column::SentAt.is_null())
            .order_by_asc(outbox::Column::Id)
            .limit(self.config.batch_size)
            .all(&self.db)
            .await?;
        self.publish_rows(&self.db, &rows).await
    }

    async fn publish_rows<C: ConnectionTrait>(
        &self,
        db: &C,
        rows: &[outbox::Model],
    ) -> Result<RelayPass, BusError> {
        if rows.is_empty() {
            // No span for an idle poll: it would be a trace a second per service.
            return Ok(RelayPass::default());
        }
        let span = tracing::info_span!(
            "outbox.relay",
            claimed = rows.len(),
            published = tracing::field::Empty,
            duplicates = tracing::field::Empty,
        );
        // The trace context each request left with its row: the batch serves all their traces,
        // so it links to each (its statements, claiming and marking the rows, can then be found
        // from a request), and each row's publish continues its own.
        let contexts: Vec<BTreeMap<String, String>> = rows
            .iter()
            .map(|row| serde_json::from_str(&row.headers).unwrap_or_default())
            .collect();
        for context in &contexts {
            link_from_headers(&span, context);
        }
        let outcome = self
            .publish_and_mark(db, rows, contexts)
            .instrument(span.clone())
            .await;
        if let Ok(pass) = &outcome {
            span.record("published", pass.published);
            span.record("duplicates", pass.duplicates);
        }
        outcome
    }

    async fn publish_and_mark<C: ConnectionTrait>(
        &self,
        db: &C,
        rows: &[outbox::Model],
        contexts: Vec<BTreeMap<String, String>>,
    ) -> Result<RelayPass, BusError> {
        let mut pass = RelayPass {
            claimed: rows.len() as u64,
            ..RelayPass::default()
        };
        let mut sent_ids = Vec::with_capacity(rows.len());
        let mut failure = None;
        for (row, context) in rows.iter().zip(contexts) {
            match self.publish_row(row, context).await {
                Ok(duplicate) => {
                    sent_ids.push(row.id);
                    pass.published += 1;
                    pass.duplicates += u64::from(duplicate);
                    if !duplicate {
                        metrics::published(&self.outbox, &row.event_type);
                    }
                }
                Err(error) => {
                    metrics::publish_failed(&self.outbox);
                    failure = Some((row.id, error));
                    break;
                }
            }
        }
        if !sent_ids.is_empty() {
            outbox::Entity::update_many()
                .col_expr(outbox::Column::SentAt, Expr::value(Some(Utc::now())))
                .filter(outbox::Column::Id.is_in(sent_ids))
                .exec(db)
                .await?;
        }
        match failure {
            None => Ok(pass),
            Some((id, error)) => {
                let recorded = outbox::Entity::update_many()
                    .col_expr(
                        outbox::Column::PublishAttempts,
                        Expr::col(outbox::Column::PublishAttempts).add(1),
                    )
                    .col_expr(
                        outbox::Column::LastError,
                        Expr::value(Some(truncate(&error.to_string(), 1000))),
                    )
                    .filter(outbox::Column::Id.eq(id))
                    .exec(db)
                    .await;
                if let Err(db_error) = recorded {
                    tracing::debug!(%db_error, "could not record the publish error on the outbox row");
                }
                Err(error)
            }
        }
    }

    /// Publishes one row in an `outbox.publish` span that continues the trace of the request
    /// that wrote it; the message carries that span's context, so the consumer's
    /// `event.handle` span joins the same trace. Returns whether the bus reported a duplicate.
    async fn publish_row(
        &self,
        row: &outbox::Model,
        stored: BTreeMap<String, String>,
    ) -> Result<bool, BusError> {
        // Attributes after OpenTelemetry's messaging conventions; never the payload.
        let span = tracing::info_span!(
            "outbox.publish",
            otel.name = format!("send {}", row.event_type),
            otel.kind = "producer",
            messaging.system = self.bus.messaging_system(),
            messaging.operation.type = "send",
            messaging.operation.name = "publish",
            messaging.destination.name = %row.subject,
            messaging.message.id = %row.event_id,
            hearth.event_type = %row.event_type,
            hearth.service = self.outbox.producer(),
            otel.status_code = tracing::field::Empty,
        );
        set_parent_from_headers(&span, &stored);
        async {
            let mut headers = stored;
            headers.extend(current_trace_headers());
            let ack = self
                .bus
                .publish(OutgoingMessage {
                    subject: row.subject.clone(),
                    msg_id: row.event_id.clone(),
                    headers,
                    payload: row.envelope.clone(),
                })
                .await?;
            tracing::debug!(
                sequence = ack.sequence,
                duplicate = ack.duplicate,
                "event published"
            );
            Ok(ack.duplicate)
        }
        .instrument(span.clone())
        .await
        .inspect_err(|_| {
            span.record("otel.status_code", "ERROR");
        })
    }
}

/// Resolves at the bus's next connection; never without a connection to watch.
async fn reconnected(reconnections: Option<&mut tokio::sync::watch::Receiver<u64>>) {
    match reconnections {
        Some(reconnections) => {
            if reconnections.changed().await.is_err() {
                // The bus is gone: only the back-off is left.
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}
