//! What the event pipeline tells an operator: the outbox's backlog and the age of its oldest
//! unsent event, what the relays publish (and the business events among them), and per
//! consumer its lag, redeliveries, handling time and dead letters.
//!
//! Instruments come from [`hearth_telemetry::metrics::meter`] on first use, so they bind to the
//! provider the binary installed; without one (most tests) they record nothing.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram};
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::Outbox;

/// How often [`watch_outbox`] samples the backlog, and a consumer its lag.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);

/// Business events, counted once when their producer's relay publishes them: the event type
/// and the counter's name.
const BUSINESS_EVENTS: [(&str, &str, &str); 4] = [
    (
        "interest.registered",
        "hearth.registrations",
        "Interest registrations received",
    ),
    (
        "request.opened",
        "hearth.placement_requests",
        "Placement requests opened by municipalities",
    ),
    (
        "proposal.made",
        "hearth.proposals",
        "Families proposed for a placement request",
    ),
    (
        "placement.started",
        "hearth.placements",
        "Placements started",
    ),
];

struct Instruments {
    backlog: Gauge<u64>,
    oldest_age: Gauge<f64>,
    published: Counter<u64>,
    publish_failures: Counter<u64>,
    business: Vec<(&'static str, Counter<u64>)>,
    lag: Gauge<u64>,
    redeliveries: Counter<u64>,
    process_duration: Histogram<f64>,
    dead_letters: Counter<u64>,
}

fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = hearth_telemetry::metrics::meter();
        let business = BUSINESS_EVENTS
            .iter()
            .map(|(event_type, name, description)| {
                let counter = meter
                    .u64_counter(*name)
                    .with_description(*description)
                    .build();
                // Present from the start at zero, so `rate()` and alerts see the series.
                counter.add(0, &[]);
                (*event_type, counter)
            })
            .collect();
        Instruments {
            backlog: meter
                .u64_gauge("hearth.outbox.backlog")
                .with_unit("{event}")
                .with_description("Events in a service's outbox not yet acknowledged by the bus")
                .build(),
            oldest_age: meter
                .f64_gauge("hearth.outbox.oldest_age")
                .with_unit("s")
                .with_description("Age of the oldest unsent event in a service's outbox (0: none)")
                .build(),
            published: meter
                .u64_counter("hearth.outbox.published")
                .with_unit("{event}")
                .with_description("Events the outbox relay published, by type")
                .build(),
            publish_failures: meter
                .u64_counter("hearth.outbox.publish_failures")
                .with_description("Failed publish attempts of the outbox relay (the bus was down)")
                .build(),
            business,
            lag: meter
                .u64_gauge("hearth.consumer.lag")
                .with_unit("{message}")
                .with_description(
                    "Messages a durable consumer has not yet acknowledged (waiting and in flight)",
                )
                .build(),
            redeliveries: meter
                .u64_counter("hearth.consumer.redeliveries")
                .with_description("Deliveries that were not a message's first")
                .build(),
            process_duration: meter
                .f64_histogram("messaging.process.duration")
                .with_unit("s")
                .with_description("Time to handle one delivered event, by consumer and outcome")
                .with_boundaries(hearth_telemetry::metrics::DURATION_BUCKETS_SECONDS.to_vec())
                .build(),
            dead_letters: meter
                .u64_counter("hearth.dead_letters")
                .with_description("Events a consumer gave up on and dead-lettered")
                .build(),
        }
    })
}

fn service(outbox: &Outbox) -> KeyValue {
    KeyValue::new("hearth.service", outbox.producer().to_owned())
}

fn consumer(name: &str) -> KeyValue {
    KeyValue::new("messaging.consumer.group.name", name.to_owned())
}

/// The relay published `event_type`.
pub(crate) fn published(outbox: &Outbox, event_type: &str) {
    let instruments = instruments();
    instruments.published.add(
        1,
        &[
            service(outbox),
            KeyValue::new("hearth.event_type", event_type.to_owned()),
        ],
    );
    if let Some((_, counter)) = instruments
        .business
        .iter()
        .find(|(business, _)| *business == event_type)
    {
        counter.add(1, &[]);
    }
}

/// A relay pass failed to publish.
pub(crate) fn publish_failed(outbox: &Outbox) {
    instruments().publish_failures.add(1, &[service(outbox)]);
}

/// A consumer started: its counters exist from now on, at zero.
pub(crate) fn consumer_started(name: &str) {
    let instruments = instruments();
    instruments.dead_letters.add(0, &[consumer(name)]);
    instruments.redeliveries.add(0, &[consumer(name)]);
}

/// A consumer's lag, as its bus reports it.
pub(crate) fn consumer_lag(name: &str, lag: u64) {
    instruments().lag.record(lag, &[consumer(name)]);
}

/// A delivery came for the `attempt`th time.
pub(crate) fn delivered(name: &str, attempt: u32) {
    if attempt > 1 {
        instruments().redeliveries.add(1, &[consumer(name)]);
    }
}

/// One delivery handled, with its outcome.
pub(crate) fn processed(
    name: &str,
    messaging_system: &'static str,
    event_type: &str,
    outcome: &'static str,
    took: Duration,
) {
    instruments().process_duration.record(
        took.as_secs_f64(),
        &[
            KeyValue::new("messaging.system", messaging_system),
            consumer(name),
            KeyValue::new("hearth.event_type", event_type.to_owned()),
            KeyValue::new("hearth.outcome", outcome),
        ],
    );
}

/// An event was dead-lettered by consumer `name`.
pub(crate) fn dead_lettered(name: &str) {
    instruments().dead_letters.add(1, &[consumer(name)]);
}

/// Samples `outbox`'s backlog and the age of its oldest unsent event every
/// [`SAMPLE_INTERVAL`] until `stop`. Every replica of a service reports the same outbox.
pub async fn watch_outbox(db: DatabaseConnection, outbox: Outbox, stop: CancellationToken) {
    let instruments = instruments();
    let service = [service(&outbox)];
    instruments.publish_failures.add(0, &service);
    loop {
        match outbox.backlog(&db).await {
            Ok(backlog) => {
                let age = backlog
                    .oldest
                    .map(|oldest| (chrono::Utc::now() - oldest).as_seconds_f64().max(0.0))
                    .unwrap_or(0.0);
                instruments.backlog.record(backlog.events, &service);
                instruments.oldest_age.record(age, &service);
            }
            Err(error) => tracing::debug!(%error, "could not sample the outbox backlog"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(SAMPLE_INTERVAL) => {}
        }
    }
}
