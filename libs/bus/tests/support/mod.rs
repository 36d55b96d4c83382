//! What the contract suite runs on: a bus (in-process or NATS) wrapped so tests can inject
//! faults, a service database (SQLite in a temporary directory, or a fresh PostgreSQL
//! database) with the bus's migrations and a table the test handler writes to, and helpers.

pub mod faults;
pub mod handler;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hearth_bus::{BusError, Outbox};
use hearth_bus::{
    BusMigrator, ConsumerSpec, CountySubjects, Delivery, EventBus, EventConsumer, EventEnvelope,
    EventHandler, InProcessBus, InProcessConfig, NatsBus, NatsConfig, NewEvent, OutboxRelay,
    OutgoingMessage, RelayConfig, RetryPolicy, Subscription, pack_payload,
};
use hearth_testenv::{DeleteStreamsOnDrop, FreshDatabase, NatsServer, PrepareError};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
    TransactionTrait,
};
use sea_orm_migration::MigratorTrait as _;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use faults::FaultyBus;
pub use handler::{Mode, TestHandler};

/// The service name of the producing side in these tests.
pub const PRODUCER: &str = "intake";

/// Which bus implementation a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusKind {
    InProcess,
    Nats,
}

/// Which database holds the outbox and inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// What a test needs beyond the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvOptions {
    /// NATS: a private `nats-server` child that the test may stop (outages). Otherwise the
    /// shared server at `HEARTH_TEST_NATS_URL`, with a unique county.
    pub private_nats: bool,
    /// The bus's de-duplication window (default: 2 minutes).
    pub duplicate_window: Option<Duration>,
}

/// One test's world. Dropping it cleans up (streams on the shared server, the database, the
/// private server, the temporary directory).
pub struct Env {
    pub county: String,
    pub subjects: CountySubjects,
    pub faulty: Arc<FaultyBus>,
    pub bus: Arc<dyn EventBus>,
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    kind: BusKind,
    options: EnvOptions,
    nats_url: Option<String>,
    in_process: Option<InProcessBus>,
    bus_path: PathBuf,
    _streams: Option<DeleteStreamsOnDrop>,
    nats_server: Option<NatsServer>,
    _database: Option<FreshDatabase>,
    _dir: TempDir,
}

impl Env {
    /// `None` (after a visible skip line) when the environment lacks the backend.
    pub async fn start(bus: BusKind, db: DbKind, options: EnvOptions) -> Option<Self> {
        hearth_telemetry::init_for_tests();
        // Skip before creating anything.
        let postgres_server = match db {
            DbKind::Sqlite => None,
            DbKind::Postgres => Some(hearth_testenv::postgres_url()?),
        };
        // The outage tests start their own server: they need the binary, not the shared one.
        let shared_nats = match bus {
            BusKind::Nats if options.private_nats => {
                hearth_testenv::nats_server_binary()?;
                None
            }
            BusKind::Nats => Some(hearth_testenv::nats_url()?),
            BusKind::InProcess => None,
        };

        let county = hearth_testenv::unique_county();
        let subjects = CountySubjects::new(&county).expect("a valid county");
        let dir = tempfile::Builder::new()
            .prefix("hearth-bus-test-")
            .tempdir()
            .expect("a temporary directory");

        let (db, database) = match postgres_server {
            None => (open_sqlite(&dir.path().join("service.db")).await, None),
            Some(server) => {
                let fresh = hearth_testenv::fresh_postgres_database_from_template(
                    &server,
                    "hearth_bus_test",
                    "hearth_bus_template",
                    prepare_template,
                )
                .await
                .expect("a fresh PostgreSQL database");
                let db = Database::connect(fresh.url.clone())
                    .await
                    .expect("connect to the fresh database");
                (db, Some(fresh))
            }
        };
        if db.get_database_backend() == DbBackend::Sqlite {
            migrate(&db).await.expect("migrate the SQLite database");
        }

        let bus_path = dir.path().join("bus.db");
        let (nats_server, nats_url) = match bus {
            BusKind::InProcess => (None, None),
            BusKind::Nats if options.private_nats => {
                let server = NatsServer::start().await.expect("a private nats-server");
                let url = server.url();
                (Some(server), Some(url))
            }
            BusKind::Nats => (None, shared_nats),
        };
        let streams = match (&nats_url, &nats_server) {
            (Some(url), None) => Some(DeleteStreamsOnDrop::new(
                url.clone(),
                [subjects.events_stream(), subjects.dead_letter_stream()],
            )),
            _ => None,
        };
        let (real_bus, in_process) =
            open_bus(bus, &county, &bus_path, nats_url.as_deref(), options).await;
        let faulty = Arc::new(FaultyBus::new(real_bus));
        let outbox = Outbox::new(&county, PRODUCER).expect("an outbox");
        Some(Self {
            county,
            subjects,
            bus: faulty.clone(),
            faulty,
            db,
            outbox,
            kind: bus,
            options,
            nats_url,
            in_process,
            bus_path,
            _streams: streams,
            nats_server,
            _database: database,
            _dir: dir,
        })
    }

    /// A consumer on all of the county's events.
    pub fn spec(&self, durable_name: &str, ack_wait: Duration) -> ConsumerSpec {
        ConsumerSpec::new(durable_name, self.subjects.all_events()).with_ack_wait(ack_wait)
    }

    pub fn subject(&self, event_type: &str) -> String {
        self.subjects.event(event_type).expect("a valid event type")
    }

    /// Stops (`false`) or restarts (`true`) the bus: the private NATS server, or for the
    /// in-process bus the fault switch (publish, fetch and acknowledge fail as Unavailable).
    pub async fn set_bus_available(&mut self, available: bool) {
        match (&mut self.nats_server, self.kind) {
            (Some(server), BusKind::Nats) => {
                if available {
                    server.restart().await.expect("restart nats-server");
                } else {
                    server.stop().await.expect("stop nats-server");
                }
            }
            (None, BusKind::Nats) => panic!("outage tests need EnvOptions::private_nats"),
            _ => self.faulty.set_down(!available),
        }
    }

    /// Closes the bus and opens it again from its storage (the in-process file; a new NATS
    /// connection), as a restarted service would.
    pub async fn reopen_bus(&mut self) {
        if let Some(old) = self.in_process.take() {
            old.close().await.expect("close the in-process bus");
        }
        let (real_bus, in_process) = open_bus(
            self.kind,
            &self.county,
            &self.bus_path,
            self.nats_url.as_deref(),
            self.options,
        )
        .await;
        self.in_process = in_process;
        self.faulty.replace(real_bus);
    }

    /// Writes events of the given types in one committed transaction and wakes the relay.
    pub async fn commit_events(&self, event_types: &[&str]) -> Vec<EventEnvelope> {
        let txn = self.db.begin().await.expect("begin");
        let mut envelopes = Vec::new();
        for event_type in event_types {
            envelopes.push(
                self.outbox
                    .enqueue(&txn, new_event(event_type))
                    .await
                    .expect("enqueue"),
            );
        }
        txn.commit().await.expect("commit");
        self.outbox.notify_relay();
        envelopes
    }

    /// Writes events in a transaction that is rolled back.
    pub async fn roll_back_events(&self, event_types: &[&str]) -> Vec<EventEnvelope> {
        let txn = self.db.begin().await.expect("begin");
        let mut envelopes = Vec::new();
        for event_type in event_types {
            envelopes.push(
                self.outbox
                    .enqueue(&txn, new_event(event_type))
                    .await
                    .expect("enqueue"),
            );
        }
        txn.rollback().await.expect("rollback");
        envelopes
    }

    pub fn relay(&self) -> OutboxRelay {
        OutboxRelay::new(
            self.db.clone(),
            self.bus.clone(),
            &self.outbox,
            test_relay_config(),
        )
    }

    pub fn spawn_relay(&self) -> Running {
        let relay = self.relay();
        Running::spawn(move |cancel| relay.run(cancel))
    }

    pub fn spawn_subscription(
        &self,
        spec: ConsumerSpec,
        handler: Arc<dyn EventHandler>,
        retry: RetryPolicy,
    ) -> Running {
        let db = self.db.clone();
        let bus = self.bus.clone();
        Running::spawn(move |cancel| Subscription::run(db, bus, spec, handler, retry, cancel))
    }

    /// How many times the test handler applied the event (0: never).
    pub async fn times_applied(&self, event_id: &str) -> i64 {
        let sql = match self.db.get_database_backend() {
            DbBackend::Postgres => "SELECT times FROM applied_events WHERE event_id = $1",
            _ => "SELECT times FROM applied_events WHERE event_id = ?",
        };
        self.db
            .query_one_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                sql,
                [event_id.into()],
            ))
            .await
            .expect("query applied_events")
            .map(|row| i64::from(row.try_get::<i32>("", "times").expect("times")))
            .unwrap_or(0)
    }

    /// Whether every event was applied exactly once.
    pub async fn all_applied_once(&self, events: &[EventEnvelope]) -> bool {
        for event in events {
            if self.times_applied(&event.event_id).await != 1 {
                return false;
            }
        }
        true
    }

    pub async fn unsent(&self) -> u64 {
        self.outbox
            .unsent_count(&self.db)
            .await
            .expect("count unsent rows")
    }
}

async fn open_bus(
    kind: BusKind,
    county: &str,
    bus_path: &std::path::Path,
    nats_url: Option<&str>,
    options: EnvOptions,
) -> (Arc<dyn EventBus>, Option<InProcessBus>) {
    match kind {
        BusKind::InProcess => {
            let mut config = InProcessConfig::file(county, bus_path);
            config.poll_interval = Duration::from_millis(200);
            if let Some(window) = options.duplicate_window {
                config = config.with_duplicate_window(window);
            }
            let bus = InProcessBus::open(config)
                .await
                .expect("open the in-process bus");
            (Arc::new(bus.clone()), Some(bus))
        }
        BusKind::Nats => {
            let mut config = NatsConfig::new(nats_url.expect("a NATS URL"), county);
            config.connection_name = Some(format!("hearth-bus-test-{county}"));
            config.reconnect_delay_max = Duration::from_millis(200);
            if let Some(window) = options.duplicate_window {
                config.duplicate_window = window;
            }
            let bus = NatsBus::connect(config).await.expect("connect to NATS");
            bus.wait_connected(Duration::from_secs(10))
                .await
                .expect("connected to NATS");
            bus.ensure_streams().await.expect("create the streams");
            (Arc::new(bus), None)
        }
    }
}

/// The relay's pacing in tests: short back-off and polls.
pub fn test_relay_config() -> RelayConfig {
    RelayConfig {
        batch_size: 50,
        poll_interval: Duration::from_millis(200),
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(300),
        shutdown_flush_timeout: Duration::from_secs(2),
        ..RelayConfig::default()
    }
}

/// Retry quickly in tests.
pub fn quick_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
    }
}

pub fn new_event(event_type: &str) -> NewEvent {
    NewEvent::new(
        event_type,
        uuid::Uuid::now_v7().to_string(),
        1,
        pack_payload(
            "google.protobuf.Timestamp",
            &prost_types::Timestamp {
                seconds: 1_764_000_000,
                nanos: 0,
            },
        ),
    )
    .with_correlation_id(uuid::Uuid::now_v7().to_string())
}

pub fn message(subject: &str, msg_id: &str, payload: &[u8]) -> OutgoingMessage {
    OutgoingMessage {
        subject: subject.to_owned(),
        msg_id: msg_id.to_owned(),
        headers: [("x-test".to_owned(), msg_id.to_owned())].into(),
        payload: payload.to_vec(),
    }
}

/// Fetches until `count` deliveries arrived, failing after `timeout`.
pub async fn fetch_n(
    consumer: &dyn EventConsumer,
    count: usize,
    timeout: Duration,
) -> Vec<Delivery> {
    let deadline = Instant::now() + timeout;
    let mut deliveries = Vec::new();
    while deliveries.len() < count {
        let remaining = deadline.saturating_duration_since(Instant::now());
        assert!(
            !remaining.is_zero(),
            "timed out after {timeout:?} with {} of {count} deliveries",
            deliveries.len()
        );
        let fetched = consumer
            .fetch(
                count - deliveries.len(),
                remaining.min(Duration::from_secs(1)),
            )
            .await
            .expect("fetch");
        deliveries.extend(fetched);
    }
    deliveries
}

/// Fetches everything the consumer has until a fetch waiting `quiet` returns nothing;
/// acknowledges it all.
pub async fn drain(consumer: &dyn EventConsumer, quiet: Duration) -> Vec<EventEnvelope> {
    let mut envelopes = Vec::new();
    loop {
        let fetched = consumer.fetch(100, quiet).await.expect("fetch");
        if fetched.is_empty() {
            return envelopes;
        }
        for delivery in fetched {
            envelopes.push(delivery.envelope().expect("an envelope"));
            delivery.ack().await.expect("ack");
        }
    }
}

/// Polls `check` every 20 ms until it holds; panics naming `what` after `timeout`.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A background task (relay, subscription) stopped by cancellation.
pub struct Running {
    cancel: CancellationToken,
    handle: Option<JoinHandle<Result<(), BusError>>>,
}

impl Running {
    fn spawn<F, Fut>(start: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = Result<(), BusError>> + Send + 'static,
    {
        let cancel = CancellationToken::new();
        let handle = tokio::spawn(start(cancel.clone()));
        Self {
            cancel,
            handle: Some(handle),
        }
    }

    /// Cancels and waits for the task's result.
    pub async fn stop(mut self) -> Result<(), BusError> {
        self.cancel.cancel();
        let handle = self.handle.take().expect("a running task");
        tokio::time::timeout(Duration::from_secs(10), handle)
            .await
            .expect("the task stops within 10 s")
            .expect("the task did not panic")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

pub async fn open_sqlite(path: &std::path::Path) -> DatabaseConnection {
    let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", path.display()));
    options
        .max_connections(1)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(5))
        });
    Database::connect(options).await.expect("open SQLite")
}

/// The bus's migrations plus the table the test handler writes its side effect to.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    BusMigrator::up(db, None).await?;
    db.execute_unprepared(
        "CREATE TABLE IF NOT EXISTS applied_events (
            event_id VARCHAR(36) PRIMARY KEY,
            event_type VARCHAR(128) NOT NULL,
            times INTEGER NOT NULL)",
    )
    .await?;
    Ok(())
}

async fn prepare_template(url: String) -> Result<(), PrepareError> {
    let db = Database::connect(url).await?;
    migrate(&db).await?;
    db.close().await?;
    Ok(())
}
