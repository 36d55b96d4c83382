//! `hearth-bench`: load generators for Hearth, each beside a pgbench baseline measured by
//! `bench/run.sh` on the same PostgreSQL in the same run (the machine is shared and noisy:
//! compare ratios, not absolute figures across runs).
//!
//! - `--scenario events` (the default): the event path end to end — outbox commits, relay, bus,
//!   consumer inbox — on SQLite + the embedded bus and on PostgreSQL + NATS ([`events`]).
//! - `--scenario intake`: many concurrent gRPC clients registering interest with the intake
//!   service on PostgreSQL + NATS ([`intake`]).

mod cpu;
mod events;
mod intake;
mod stats;

use clap::{Parser, ValueEnum};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Outbox → relay → bus → consumer inbox, on both backend pairs.
    Events,
    /// CreateInterestRegistration over gRPC on PostgreSQL + NATS.
    Intake,
}

#[derive(Debug, Parser)]
#[command(about = "Load generators for Hearth: the event path, or intake over gRPC.")]
struct Args {
    /// What to measure.
    #[arg(long, value_enum, default_value_t = Scenario::Events)]
    scenario: Scenario,
    /// PostgreSQL server URL (events: with --nats-url, also PostgreSQL + NATS; intake: required).
    #[arg(long)]
    database_url: Option<String>,
    /// NATS URL (events: with --database-url, also PostgreSQL + NATS; intake: required).
    #[arg(long)]
    nats_url: Option<String>,

    /// events: events to send per backend.
    #[arg(long, default_value_t = 5000)]
    events: u64,
    /// events: concurrent producer tasks (requests in flight).
    #[arg(long, default_value_t = 16)]
    concurrency: u64,

    /// intake: concurrent gRPC clients, one call in flight each.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// intake: gRPC connections the clients share (round robin).
    #[arg(long, default_value_t = 1)]
    channels: usize,
    /// intake: seconds of load before measuring.
    #[arg(long, default_value_t = 5)]
    warmup_secs: u64,
    /// intake: seconds measured.
    #[arg(long, default_value_t = 20)]
    duration_secs: u64,
    /// intake: the service's PostgreSQL pool size (`database.max_connections`); unset: the
    /// setting's default.
    #[arg(long)]
    db_pool: Option<u32>,
    /// intake: the service's log filter; lines are formatted and discarded, as a production
    /// service formats them for its collector.
    #[arg(long, default_value = "info")]
    log_filter: String,
    /// intake: do not ANALYZE the fresh database after the warm-up (measures the cold start,
    /// with plans cached while the tables were empty).
    #[arg(long)]
    no_analyze: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.scenario {
        Scenario::Events => {
            events::main(events::EventsArgs {
                events: args.events,
                concurrency: args.concurrency,
                database_url: args.database_url,
                nats_url: args.nats_url,
            })
            .await
        }
        Scenario::Intake => {
            let (Some(database_url), Some(nats_url)) = (args.database_url, args.nats_url) else {
                anyhow::bail!("--scenario intake needs --database-url and --nats-url");
            };
            intake::main(intake::IntakeArgs {
                clients: args.clients,
                channels: args.channels,
                warmup: Duration::from_secs(args.warmup_secs),
                duration: Duration::from_secs(args.duration_secs),
                db_pool: args.db_pool,
                log_filter: args.log_filter,
                analyze_after_warmup: !args.no_analyze,
                database_url,
                nats_url,
            })
            .await
        }
    }
}
