//! The event path, measured end to end: a producer service's tasks each commit one transaction
//! per event through the outbox (as a handler does per request); the relay publishes; a
//! consumer service applies each event once through its inbox. Reported: commits per second
//! with commit latency percentiles, and the end-to-end rate (first commit to last event
//! applied), on SQLite + the embedded bus and on PostgreSQL + NATS JetStream.

use crate::stats::percentile;
use anyhow::Context;
use async_trait::async_trait;
use hearth_bus::{
    BusMigrator, ConsumerSpec, CountySubjects, EventBus, EventHandler, HandlerError, InProcessBus,
    InProcessConfig, NatsBus, NatsConfig, NewEvent, Outbox, OutboxRelay, RelayConfig, RetryPolicy,
    Subscription, pack_payload,
};
use hearth_proto::events::v1::{EventEnvelope, PlacementRequestOpened};
use hearth_store::{StoreTarget, connect};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, Statement, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What the event-path scenario is asked to do.
#[derive(Debug, Clone)]
pub struct EventsArgs {
    /// Events to send per backend.
    pub events: u64,
    /// Concurrent producer tasks (requests in flight).
    pub concurrency: u64,
    /// PostgreSQL server URL and NATS URL: with both, also PostgreSQL + NATS.
    pub database_url: Option<String>,
    pub nats_url: Option<String>,
}

/// The consumer's work: nothing beyond the inbox entry the runtime writes.
struct Apply;

#[async_trait]
impl EventHandler for Apply {
    async fn handle(
        &self,
        _txn: &DatabaseTransaction,
        _event: &EventEnvelope,
    ) -> Result<(), HandlerError> {
        Ok(())
    }
}

struct Report {
    backend: &'static str,
    commits_per_second: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    end_to_end_per_second: f64,
}

async fn inbox_count(db: &DatabaseConnection) -> anyhow::Result<u64> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM hearth_inbox".to_owned(),
        ))
        .await?
        .context("a count")?;
    Ok(u64::try_from(row.try_get_by_index::<i64>(0)?)?)
}

async fn run(
    backend: &'static str,
    producer_db: DatabaseConnection,
    consumer_db: DatabaseConnection,
    bus: Arc<dyn EventBus>,
    county: &str,
    args: &EventsArgs,
) -> anyhow::Result<Report> {
    BusMigrator::up(&producer_db, None).await?;
    BusMigrator::up(&consumer_db, None).await?;
    bus.ensure_streams().await?;
    let outbox = Outbox::new(county, "intake")?;
    let cancel = CancellationToken::new();
    let relay = OutboxRelay::new(
        producer_db.clone(),
        bus.clone(),
        &outbox,
        RelayConfig::default(),
    );
    let relay = tokio::spawn(relay.run(cancel.clone()));
    let subjects = CountySubjects::new(county)?;
    let consumer = tokio::spawn(Subscription::run(
        consumer_db.clone(),
        bus.clone(),
        ConsumerSpec::new("matching", subjects.all_events()),
        Arc::new(Apply),
        RetryPolicy::default(),
        cancel.clone(),
    ));

    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut producers = Vec::new();
    for _ in 0..args.concurrency {
        let (db, outbox, next, total) = (
            producer_db.clone(),
            outbox.clone(),
            next.clone(),
            args.events,
        );
        producers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let id = hearth_domain::new_id().to_string();
                let payload = PlacementRequestOpened {
                    placement_request_id: id.clone(),
                    facts: None,
                };
                let event = NewEvent::new(
                    "request.opened",
                    id,
                    1,
                    pack_payload("hearth.events.v1.PlacementRequestOpened", &payload),
                );
                let commit_started = Instant::now();
                let txn = db.begin().await?;
                outbox.enqueue(&txn, event).await?;
                txn.commit().await?;
                latencies.push(commit_started.elapsed());
                outbox.notify_relay();
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for producer in producers {
        latencies.extend(producer.await??);
    }
    let written = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    while inbox_count(&consumer_db).await? < args.events {
        anyhow::ensure!(
            Instant::now() < deadline,
            "{backend}: events did not all arrive within 5 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let end_to_end = started.elapsed();
    cancel.cancel();
    relay.await??;
    consumer.await??;
    latencies.sort();
    Ok(Report {
        backend,
        commits_per_second: args.events as f64 / written.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        max: latencies.last().copied().unwrap_or_default(),
        end_to_end_per_second: args.events as f64 / end_to_end.as_secs_f64(),
    })
}

/// Runs the event-path scenario and prints its table and `RESULT` lines.
pub async fn main(args: EventsArgs) -> anyhow::Result<()> {
    let mut reports = Vec::new();

    let dir = tempfile::tempdir()?;
    let target = StoreTarget::Sqlite {
        dir: dir.path().join("db"),
    };
    let bus = InProcessBus::open(InProcessConfig::file(
        "bench",
        dir.path().join("bus.sqlite3"),
    ))
    .await?;
    reports.push(
        run(
            "sqlite + embedded bus",
            connect(&target, "intake").await?,
            connect(&target, "matching").await?,
            Arc::new(bus),
            "bench",
            &args,
        )
        .await?,
    );

    if let (Some(server), Some(nats)) = (&args.database_url, &args.nats_url) {
        let database = hearth_testenv::fresh_postgres_database(server, "hearth_bench").await?;
        let county = hearth_testenv::unique_county();
        let subjects = CountySubjects::new(&county)?;
        let _streams = hearth_testenv::DeleteStreamsOnDrop::new(
            nats.clone(),
            [subjects.events_stream(), subjects.dead_letter_stream()],
        );
        let target = StoreTarget::Postgres {
            url: database.url.clone(),
            max_connections: 20,
            connect_timeout: Duration::from_secs(10),
        };
        let producer = connect(&target, "intake").await?;
        producer
            .execute_unprepared("CREATE SCHEMA IF NOT EXISTS intake")
            .await?;
        let consumer = connect(&target, "matching").await?;
        consumer
            .execute_unprepared("CREATE SCHEMA IF NOT EXISTS matching")
            .await?;
        let bus = NatsBus::connect(NatsConfig::new(nats.clone(), county.clone())).await?;
        reports.push(
            run(
                "postgres + nats",
                producer,
                consumer,
                Arc::new(bus),
                &county,
                &args,
            )
            .await?,
        );
        database.drop_database().await?;
    }

    println!(
        "{} events per backend, {} concurrent producers, one transaction per event",
        args.events, args.concurrency
    );
    println!(
        "{:<24} {:>12} {:>10} {:>10} {:>10} {:>16}",
        "backend", "commits/s", "p50", "p99", "max", "end-to-end ev/s"
    );
    for report in &reports {
        println!(
            "{:<24} {:>12.0} {:>10.2?} {:>10.2?} {:>10.2?} {:>16.0}",
            report.backend,
            report.commits_per_second,
            report.p50,
            report.p99,
            report.max,
            report.end_to_end_per_second
        );
        println!(
            "RESULT backend={} commits_per_s={:.0} end_to_end_per_s={:.0} p99_ms={:.2}",
            report.backend.replace(" + ", "+").replace(' ', "-"),
            report.commits_per_second,
            report.end_to_end_per_second,
            report.p99.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
