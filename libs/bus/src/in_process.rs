//! The embedded bus: the same contract and durability as a JetStream stream, within one
//! process, kept in a SQLite file.
//!
//! Tables (created at open, versioned with `PRAGMA user_version`):
//! - `bus_messages(seq, msg_id, subject, headers, payload, stored_at)`: the log, for both of the
//!   county's streams (events and dead letters); sequences are never reused;
//! - `bus_msg_ids(msg_id, seq, stored_at)`: message ids seen inside the duplicate window;
//! - `bus_consumers(name, filter_subject, ack_wait_ms, cursor)`: durable consumers and the last
//!   sequence each has looked at;
//! - `bus_pending(consumer, seq, delivered_count, next_delivery_at)`: deliveries not yet
//!   acknowledged, and when each is due again (its `ack_wait` deadline, or its nak delay).
//!
//! A fetch first redelivers pending messages that are due (so a crash between delivery and
//! acknowledgement redelivers, exactly as JetStream's `ack_wait` does), then delivers new
//! matching messages and advances the cursor, in one transaction. Waiting fetchers are woken by
//! publishes and naks, and otherwise wake when the next pending delivery is due or at the poll
//! interval. Messages older than the replay window are purged.
//!
//! Everything goes through one SQLite connection (writes serialize in SQLite anyway); the file
//! uses WAL with `synchronous = NORMAL`: a committed publish survives a crash of the process;
//! the last ones may be lost on power failure, as with JetStream's default file store — which is
//! why the producers' outboxes keep what they sent.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use hearth_proto::events::v1::DeadLetter;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait, Value,
};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::BusError;
use crate::bus::{
    AckAction, Acknowledger, ConsumerSpec, Delivery, DeliveryParts, EventBus, EventConsumer,
    OutgoingMessage, PublishAck,
};
use crate::dead_letters::{StoredDeadLetter, dead_letter_message, decode_dead_letter};
use crate::subject::{CountySubjects, subject_matches, validate_publish_subject, validate_service};

/// The schema version this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;
/// Messages scanned per step when looking for new matches.
const SCAN_BATCH: i64 = 256;
/// How often expired messages are purged at most.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// Where and how the in-process bus keeps its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InProcessConfig {
    /// The county whose streams this bus holds.
    pub county: String,
    /// The SQLite file (created if missing); `None`: in memory, gone when the bus is dropped.
    pub path: Option<PathBuf>,
    /// Messages with a message id seen this recently are duplicates (JetStream's default: 2
    /// minutes).
    pub duplicate_window: Duration,
    /// How long messages are kept (the replay window; default 30 days).
    pub max_age: Duration,
    /// How often a waiting fetch looks again without being woken (covers writers in other
    /// processes).
    pub poll_interval: Duration,
}

impl InProcessConfig {
    /// A bus kept in `path`.
    pub fn file(county: &str, path: impl Into<PathBuf>) -> Self {
        Self {
            path: Some(path.into()),
            ..Self::in_memory(county)
        }
    }

    /// A bus kept in memory (tests).
    pub fn in_memory(county: &str) -> Self {
        Self {
            county: county.to_owned(),
            path: None,
            duplicate_window: Duration::from_secs(120),
            max_age: Duration::from_secs(30 * 24 * 60 * 60),
            poll_interval: Duration::from_millis(500),
        }
    }

    /// Sets the duplicate window.
    #[must_use]
    pub fn with_duplicate_window(mut self, duplicate_window: Duration) -> Self {
        self.duplicate_window = duplicate_window;
        self
    }

    /// Sets the replay window.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }
}

/// The embedded bus. Cheap to clone; clones share the log and the wake-ups.
#[derive(Clone)]
pub struct InProcessBus {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    subjects: CountySubjects,
    config: InProcessConfig,
    /// Woken on every publish and nak, so that waiting fetchers look again.
    changed: Notify,
    last_purge: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for InProcessBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessBus")
            .field("county", &self.inner.subjects.county())
            .field("path", &self.inner.config.path)
            .finish()
    }
}

impl InProcessBus {
    /// Opens (creating if needed) the bus's log.
    pub async fn open(config: InProcessConfig) -> Result<Self, BusError> {
        let subjects = CountySubjects::new(&config.county)?;
        let mut options = ConnectOptions::new("sqlite::memory:");
        options
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None::<Duration>)
            .max_lifetime(None::<Duration>)
            .acquire_timeout(Duration::from_secs(30))
            .sqlx_logging(false);
        match config.path.clone() {
            Some(path) => {
                options.map_sqlx_sqlite_opts(move |sqlite| {
                    sqlite
                        .in_memory(false)
                        .shared_cache(false)
                        .filename(&path)
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(Duration::from_secs(5))
                });
            }
            None => {
                options.map_sqlx_sqlite_opts(|sqlite| sqlite.busy_timeout(Duration::from_secs(5)));
            }
        }
        let db = Database::connect(options).await?;
        create_schema(&db).await?;
        let bus = Self {
            inner: Arc::new(Inner {
                db,
                subjects,
                config,
                changed: Notify::new(),
                last_purge: Mutex::new(None),
            }),
        };
        bus.purge_expired().await?;
        Ok(bus)
    }

    /// Closes the log (other clones stop working).
    pub async fn close(self) -> Result<(), BusError> {
        self.inner.db.close_by_ref().await?;
        Ok(())
    }

    /// Deletes messages older than the replay window, and their pending deliveries; returns
    /// how many messages. Runs by itself at most once a minute on publish.
    pub async fn purge_expired(&self) -> Result<u64, BusError> {
        let cutoff = now_millis().saturating_sub(millis(self.inner.config.max_age));
        let txn = self.begin_immediate().await?;
        let purged = async {
            let newest_expired = query_one(
                &txn,
                "SELECT MAX(seq) AS seq FROM bus_messages WHERE stored_at < ?",
                [cutoff.into()],
            )
            .await?
            .and_then(|row| row.try_get::<Option<i64>>("", "seq").ok().flatten());
            let Some(newest_expired) = newest_expired else {
                return Ok(0);
            };
            let deleted = execute(
                &txn,
                "DELETE FROM bus_messages WHERE seq <= ?",
                [newest_expired.into()],
            )
            .await?;
            execute(
                &txn,
                "DELETE FROM bus_pending WHERE seq <= ?",
                [newest_expired.into()],
            )
            .await?;
            Ok::<u64, BusError>(deleted)
        }
        .await;
        finish(txn, purged).await
    }

    async fn purge_if_due(&self) {
        let due = {
            let Ok(mut last_purge) = self.inner.last_purge.lock() else {
                return;
            };
            let due = last_purge.is_none_or(|last| last.elapsed() >= PURGE_EVERY);
            if due {
                *last_purge = Some(Instant::now());
            }
            due
        };
        if due && let Err(error) = self.purge_expired().await {
            tracing::warn!(%error, "purging expired bus messages failed");
        }
    }

    async fn begin_immediate(&self) -> Result<DatabaseTransaction, BusError> {
        Ok(self
            .inner
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await?)
    }

    async fn store(&self, message: &OutgoingMessage) -> Result<PublishAck, BusError> {
        let headers = serde_json::to_string(&message.headers)
            .map_err(|error| BusError::Invalid(format!("headers: {error}")))?;
        let now = now_millis();
        let window_start = now.saturating_sub(millis(self.inner.config.duplicate_window));
        let msg_id = (!message.msg_id.is_empty()).then_some(message.msg_id.as_str());

        let txn = self.begin_immediate().await?;
        let stored = async {
            if let Some(msg_id) = msg_id {
                execute(
                    &txn,
                    "DELETE FROM bus_msg_ids WHERE stored_at < ?",
                    [window_start.into()],
                )
                .await?;
                let original = query_one(
                    &txn,
                    "SELECT seq FROM bus_msg_ids WHERE msg_id = ?",
                    [msg_id.into()],
                )
                .await?;
                if let Some(original) = original {
                    return Ok(PublishAck {
                        sequence: get_u64(&original, "seq")?,
                        duplicate: true,
                    });
                }
            }
            let inserted = txn
                .execute_raw(statement(
                    "INSERT INTO bus_messages (msg_id, subject, headers, payload, stored_at) \
                     VALUES (?, ?, ?, ?, ?)",
                    [
                        msg_id.map(str::to_owned).into(),
                        message.subject.clone().into(),
                        headers.into(),
                        message.payload.clone().into(),
                        now.into(),
                    ],
                ))
                .await?;
            let sequence = inserted.last_insert_id();
            if let Some(msg_id) = msg_id {
                execute(
                    &txn,
                    "INSERT INTO bus_msg_ids (msg_id, seq, stored_at) VALUES (?, ?, ?)",
                    [msg_id.into(), to_i64(sequence)?.into(), now.into()],
                )
                .await?;
            }
            Ok(PublishAck {
                sequence,
                duplicate: false,
            })
        }
        .await;
        finish(txn, stored).await
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    fn messaging_system(&self) -> &'static str {
        "embedded"
    }

    fn county(&self) -> &str {
        self.inner.subjects.county()
    }

    /// The log's tables are created at open; nothing else to do.
    async fn ensure_streams(&self) -> Result<(), BusError> {
        Ok(())
    }

    async fn publish(&self, message: OutgoingMessage) -> Result<PublishAck, BusError> {
        validate_publish_subject(&message.subject)?;
        if !self.inner.subjects.is_stored(&message.subject) {
            return Err(BusError::Rejected(format!(
                "no stream of county {} stores subject {}",
                self.inner.subjects.county(),
                message.subject
            )));
        }
        let ack = self.store(&message).await?;
        if !ack.duplicate {
            self.inner.changed.notify_waiters();
        }
        self.purge_if_due().await;
        Ok(ack)
    }

    async fn consumer(&self, spec: ConsumerSpec) -> Result<Box<dyn EventConsumer>, BusError> {
        spec.validate()?;
        self.inner
            .subjects
            .check_event_filter(&spec.filter_subject)?;
        execute(
            &self.inner.db,
            "INSERT INTO bus_consumers (name, filter_subject, ack_wait_ms, cursor, created_at) \
             VALUES (?, ?, ?, 0, ?) \
             ON CONFLICT (name) DO UPDATE SET \
               filter_subject = excluded.filter_subject, ack_wait_ms = excluded.ack_wait_ms",
            [
                spec.durable_name.clone().into(),
                spec.filter_subject.clone().into(),
                millis(spec.ack_wait).into(),
                now_millis().into(),
            ],
        )
        .await?;
        Ok(Box::new(InProcessConsumer {
            bus: self.clone(),
            name: spec.durable_name,
        }))
    }

    async fn dead_letter(
        &self,
        dead_letter: DeadLetter,
        delivered_msg_id: Option<&str>,
    ) -> Result<PublishAck, BusError> {
        let message = dead_letter_message(&self.inner.subjects, &dead_letter, delivered_msg_id)?;
        self.publish(message).await
    }

    async fn dead_letters(&self, service: &str) -> Result<Vec<StoredDeadLetter>, BusError> {
        validate_service(service)?;
        let subject = self.inner.subjects.dead_letter(service)?;
        let rows = self
            .inner
            .db
            .query_all_raw(statement(
                "SELECT seq, payload FROM bus_messages WHERE subject = ? ORDER BY seq",
                [subject.into()],
            ))
            .await?;
        rows.iter()
            .map(|row| {
                let sequence = get_u64(row, "seq")?;
                let payload: Vec<u8> = row.try_get("", "payload")?;
                decode_dead_letter(&payload, sequence)
            })
            .collect()
    }

    async fn remove_dead_letter(&self, service: &str, sequence: u64) -> Result<(), BusError> {
        validate_service(service)?;
        let subject = self.inner.subjects.dead_letter(service)?;
        // Only messages on the service's dead-letter subject: never an event, nor another
        // service's dead letter. (Its message id stays in `bus_msg_ids` for the duplicate
        // window, as JetStream keeps it.)
        let removed = execute(
            &self.inner.db,
            "DELETE FROM bus_messages WHERE seq = ? AND subject = ?",
            [to_i64(sequence)?.into(), subject.into()],
        )
        .await?;
        if removed == 0 {
            return Err(BusError::NotFound(format!(
                "service {service} has no dead letter {sequence}"
            )));
        }
        Ok(())
    }
}

struct InProcessConsumer {
    bus: InProcessBus,
    name: String,
}

struct ConsumerState {
    filter_subject: String,
    ack_wait_ms: i64,
    cursor: i64,
}

#[async_trait]
impl EventConsumer for InProcessConsumer {
    fn name(&self) -> &str {
        &self.name
    }

    async fn fetch(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let max = max.max(1);
        let deadline = Instant::now() + wait;
        loop {
            // Listen before looking, so that a publish between the look and the wait is not
            // missed.
            let changed = self.bus.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();

            let deliveries = self.fetch_ready(max).await?;
            let now = Instant::now();
            if !deliveries.is_empty() || now >= deadline {
                return Ok(deliveries);
            }
            let mut wake_at = deadline.min(now + self.bus.inner.config.poll_interval);
            if let Some(due_in) = self.next_due_in().await? {
                wake_at = wake_at.min(now + due_in);
            }
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    async fn lag(&self) -> Result<u64, BusError> {
        let db = &self.bus.inner.db;
        let state = self.state(db).await?;
        let unsettled = query_one(
            db,
            "SELECT COUNT(*) AS n FROM bus_pending WHERE consumer = ?",
            [self.name.clone().into()],
        )
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
        // Messages past the cursor that the filter takes; subjects are matched here because
        // the filter's wildcards are NATS's, not SQL's.
        let waiting = db
            .query_all_raw(statement(
                "SELECT subject FROM bus_messages WHERE seq > ?",
                [state.cursor.into()],
            ))
            .await?
            .iter()
            .filter_map(|row| row.try_get::<String>("", "subject").ok())
            .filter(|subject| subject_matches(&state.filter_subject, subject))
            .count();
        Ok(u64::try_from(unsettled).unwrap_or(0) + waiting as u64)
    }
}

impl InProcessConsumer {
    /// Due redeliveries, then new matching messages, in one transaction.
    async fn fetch_ready(&self, max: usize) -> Result<Vec<Delivery>, BusError> {
        let txn = self.bus.begin_immediate().await?;
        let fetched = self.fetch_ready_in(&txn, max).await;
        let parts = finish(txn, fetched).await?;
        Ok(parts
            .into_iter()
            .map(|parts| {
                let acknowledger = InProcessAcknowledger {
                    bus: self.bus.clone(),
                    consumer: self.name.clone(),
                    sequence: parts.stream_sequence,
                };
                Delivery::new(parts, Box::new(acknowledger))
            })
            .collect())
    }

    async fn fetch_ready_in(
        &self,
        txn: &DatabaseTransaction,
        max: usize,
    ) -> Result<Vec<DeliveryParts>, BusError> {
        let state = self.state(txn).await?;
        let now = now_millis();
        let next_deadline = now.saturating_add(state.ack_wait_ms);
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let mut ready = Vec::new();

        // 1. Deliveries whose ack deadline or nak delay has passed.
        let due = txn
            .query_all_raw(statement(
                "SELECT p.seq AS seq, p.delivered_count AS delivered_count, m.msg_id AS msg_id, \
                        m.subject AS subject, m.headers AS headers, m.payload AS payload \
                 FROM bus_pending p JOIN bus_messages m ON m.seq = p.seq \
                 WHERE p.consumer = ? AND p.next_delivery_at <= ? \
                 ORDER BY p.seq LIMIT ?",
                [self.name.clone().into(), now.into(), limit.into()],
            ))
            .await?;
        for row in &due {
            let delivered_count = row.try_get::<i64>("", "delivered_count")?.saturating_add(1);
            let sequence: i64 = row.try_get("", "seq")?;
            execute(
                txn,
                "UPDATE bus_pending SET delivered_count = ?, next_delivery_at = ? \
                 WHERE consumer = ? AND seq = ?",
                [
                    delivered_count.into(),
                    next_deadline.into(),
                    self.name.clone().into(),
                    sequence.into(),
                ],
            )
            .await?;
            ready.push(delivery_parts(row, delivered_count)?);
        }

        // 2. New messages after the cursor that match the filter.
        let mut cursor = state.cursor;
        'scan: while ready.len() < max {
            let scanned = txn
                .query_all_raw(statement(
                    "SELECT seq, subject FROM bus_messages WHERE seq > ? ORDER BY seq LIMIT ?",
                    [cursor.into(), SCAN_BATCH.into()],
                ))
                .await?;
            if scanned.is_empty() {
                break;
            }
            for row in &scanned {
                let sequence: i64 = row.try_get("", "seq")?;
                let subject: String = row.try_get("", "subject")?;
                cursor = sequence;
                if !subject_matches(&state.filter_subject, &subject) {
                    continue;
                }
                execute(
                    txn,
                    "INSERT INTO bus_pending (consumer, seq, delivered_count, next_delivery_at) \
                     VALUES (?, ?, 1, ?) ON CONFLICT (consumer, seq) DO NOTHING",
                    [
                        self.name.clone().into(),
                        sequence.into(),
                        next_deadline.into(),
                    ],
                )
                .await?;
                let message = query_one(
                    txn,
                    "SELECT seq, msg_id, subject, headers, payload FROM bus_messages WHERE seq = ?",
                    [sequence.into()],
                )
                .await?
                .ok_or_else(|| BusError::Unavailable(format!("message {sequence} vanished")))?;
                ready.push(delivery_parts(&message, 1)?);
                if ready.len() >= max {
                    break 'scan;
                }
            }
        }
        if cursor != state.cursor {
            execute(
                txn,
                "UPDATE bus_consumers SET cursor = ? WHERE name = ?",
                [cursor.into(), self.name.clone().into()],
            )
            .await?;
        }
        Ok(ready)
    }

    async fn state(&self, db: &impl ConnectionTrait) -> Result<ConsumerState, BusError> {
        let row = query_one(
            db,
            "SELECT filter_subject, ack_wait_ms, cursor FROM bus_consumers WHERE name = ?",
            [self.name.clone().into()],
        )
        .await?
        .ok_or_else(|| BusError::Rejected(format!("consumer {} does not exist", self.name)))?;
        Ok(ConsumerState {
            filter_subject: row.try_get("", "filter_subject")?,
            ack_wait_ms: row.try_get("", "ack_wait_ms")?,
            cursor: row.try_get("", "cursor")?,
        })
    }

    /// How long until the next pending delivery is due, if any is pending.
    async fn next_due_in(&self) -> Result<Option<Duration>, BusError> {
        let row = query_one(
            &self.bus.inner.db,
            "SELECT MIN(next_delivery_at) AS due FROM bus_pending WHERE consumer = ?",
            [self.name.clone().into()],
        )
        .await?;
        let due = row.and_then(|row| row.try_get::<Option<i64>>("", "due").ok().flatten());
        Ok(due.map(|due| {
            Duration::from_millis(u64::try_from(due.saturating_sub(now_millis())).unwrap_or(0))
        }))
    }
}

struct InProcessAcknowledger {
    bus: InProcessBus,
    consumer: String,
    sequence: u64,
}

#[async_trait]
impl Acknowledger for InProcessAcknowledger {
    async fn acknowledge(&self, action: AckAction) -> Result<(), BusError> {
        let db = &self.bus.inner.db;
        let consumer: Value = self.consumer.clone().into();
        let sequence: Value = to_i64(self.sequence)?.into();
        match action {
            AckAction::Ack | AckAction::Term => {
                execute(
                    db,
                    "DELETE FROM bus_pending WHERE consumer = ? AND seq = ?",
                    [consumer, sequence],
                )
                .await?;
            }
            AckAction::Nak(delay) => {
                let due = now_millis().saturating_add(millis(delay));
                execute(
                    db,
                    "UPDATE bus_pending SET next_delivery_at = ? WHERE consumer = ? AND seq = ?",
                    [due.into(), consumer, sequence],
                )
                .await?;
                // Waiting fetchers recompute when the next delivery is due.
                self.bus.inner.changed.notify_waiters();
            }
            AckAction::InProgress => {
                execute(
                    db,
                    "UPDATE bus_pending SET next_delivery_at = ? + \
                       (SELECT ack_wait_ms FROM bus_consumers WHERE name = bus_pending.consumer) \
                     WHERE consumer = ? AND seq = ?",
                    [now_millis().into(), consumer, sequence],
                )
                .await?;
            }
        }
        Ok(())
    }
}

async fn create_schema(db: &DatabaseConnection) -> Result<(), BusError> {
    let version = query_one(db, "PRAGMA user_version", [])
        .await?
        .and_then(|row| row.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0);
    if version > SCHEMA_VERSION {
        return Err(BusError::Rejected(format!(
            "the bus file has schema version {version}, newer than this build's {SCHEMA_VERSION}"
        )));
    }
    for sql in [
        "CREATE TABLE IF NOT EXISTS bus_messages (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            msg_id TEXT,
            subject TEXT NOT NULL,
            headers TEXT NOT NULL,
            payload BLOB NOT NULL,
            stored_at INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS bus_messages_stored_at ON bus_messages (stored_at)",
        "CREATE INDEX IF NOT EXISTS bus_messages_subject ON bus_messages (subject, seq)",
        "CREATE TABLE IF NOT EXISTS bus_msg_ids (
            msg_id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            stored_at INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS bus_msg_ids_stored_at ON bus_msg_ids (stored_at)",
        "CREATE TABLE IF NOT EXISTS bus_consumers (
            name TEXT PRIMARY KEY,
            filter_subject TEXT NOT NULL,
            ack_wait_ms INTEGER NOT NULL,
            cursor INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS bus_pending (
            consumer TEXT NOT NULL,
            seq INTEGER NOT NULL,
            delivered_count INTEGER NOT NULL,
            next_delivery_at INTEGER NOT NULL,
            PRIMARY KEY (consumer, seq)) WITHOUT ROWID",
        "CREATE INDEX IF NOT EXISTS bus_pending_due ON bus_pending (consumer, next_delivery_at)",
    ] {
        db.execute_unprepared(sql).await?;
    }
    db.execute_unprepared(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
        .await?;
    Ok(())
}

fn delivery_parts(row: &QueryResult, delivered_count: i64) -> Result<DeliveryParts, BusError> {
    let headers: String = row.try_get("", "headers")?;
    Ok(DeliveryParts {
        subject: row.try_get("", "subject")?,
        msg_id: row.try_get("", "msg_id")?,
        headers: serde_json::from_str(&headers).unwrap_or_default(),
        payload: row.try_get("", "payload")?,
        delivered_count: u32::try_from(delivered_count).unwrap_or(u32::MAX),
        stream_sequence: get_u64(row, "seq")?,
    })
}

/// Commits on success, rolls back on failure.
async fn finish<T>(txn: DatabaseTransaction, result: Result<T, BusError>) -> Result<T, BusError> {
    match result {
        Ok(value) => {
            txn.commit().await?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback_error) = txn.rollback().await {
                tracing::warn!(%rollback_error, "rollback of a bus transaction failed");
            }
            Err(error)
        }
    }
}

fn statement<I: IntoIterator<Item = Value>>(sql: &str, values: I) -> Statement {
    Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)
}

async fn execute<C: ConnectionTrait, I: IntoIterator<Item = Value>>(
    db: &C,
    sql: &str,
    values: I,
) -> Result<u64, BusError> {
    Ok(db
        .execute_raw(statement(sql, values))
        .await?
        .rows_affected())
}

async fn query_one<C: ConnectionTrait, I: IntoIterator<Item = Value>>(
    db: &C,
    sql: &str,
    values: I,
) -> Result<Option<QueryResult>, BusError> {
    Ok(db.query_one_raw(statement(sql, values)).await?)
}

fn get_u64(row: &QueryResult, column: &str) -> Result<u64, BusError> {
    let value: i64 = row.try_get("", column)?;
    u64::try_from(value).map_err(|_| BusError::Decode(format!("negative {column} {value}")))
}

fn to_i64(value: u64) -> Result<i64, BusError> {
    i64::try_from(value).map_err(|_| BusError::Invalid(format!("{value} is out of range")))
}

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
