//! The relay and the NATS bus while a NATS server stops and starts again, on a private
//! `nats-server` (the test stops it): what JetStream not answering means, and how soon the
//! backlog goes out when the server is back.

use std::sync::Arc;
use std::time::Duration;

use hearth_bus::{
    BusError, CountySubjects, EventBus as _, NatsBus, NatsConfig, Outbox, OutboxRelay, RelayConfig,
};
use hearth_testenv::{NatsServer, capture_logs};
use sea_orm::{DatabaseConnection, TransactionTrait as _};
use tokio_util::sync::CancellationToken;

use crate::support::{PRODUCER, eventually, message, migrate, new_event, open_sqlite};

/// A bus whose requests would wait long: a stall on a lost answer is then unmistakable.
async fn connect(server: &NatsServer, county: &str) -> NatsBus {
    let mut config = NatsConfig::new(server.url(), county);
    config.request_timeout = Duration::from_secs(30);
    config.reconnect_delay_max = Duration::from_millis(200);
    NatsBus::connect(config).await.expect("connect to NATS")
}

async fn commit_event(db: &DatabaseConnection, outbox: &Outbox) {
    let txn = db.begin().await.expect("begin");
    outbox
        .enqueue(&txn, new_event("family.approved"))
        .await
        .expect("enqueue");
    txn.commit().await.expect("commit");
    outbox.notify_relay();
}

/// JetStream not answering on a live connection ("no responders", as while a server stops) is
/// the bus being unavailable, not a missing stream to create; a stream that JetStream says is
/// missing is created.
#[tokio::test]
async fn nats_without_jetstream_is_unavailable_and_a_missing_stream_is_created() {
    if hearth_testenv::nats_server_binary().is_none() {
        return;
    }
    let (_capture, logs) = capture_logs("hearth_bus=info");
    let mut server = NatsServer::start_without_jetstream()
        .await
        .expect("a private nats-server");
    let county = hearth_testenv::unique_county();
    let subjects = CountySubjects::new(&county).expect("a county");
    let subject = subjects.event("family.approved").expect("a subject");
    let bus = connect(&server, &county).await;
    bus.wait_connected(Duration::from_secs(10))
        .await
        .expect("connected");

    let refused = bus.publish(message(&subject, "m1", b"1")).await;
    assert!(
        matches!(refused, Err(BusError::Unavailable(_))),
        "{refused:?}"
    );
    assert!(
        !logs.contents().contains("stream missing"),
        "no stream is created while JetStream does not answer: {}",
        logs.contents()
    );

    server.restart_with_jetstream().await.expect("JetStream on");
    bus.wait_connected(Duration::from_secs(10))
        .await
        .expect("reconnected");
    let mut published = None;
    for _ in 0..50 {
        match bus.publish(message(&subject, "m1", b"1")).await {
            Ok(ack) => {
                published = Some(ack);
                break;
            }
            // JetStream may still be starting.
            Err(BusError::Unavailable(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(error) => panic!("{error}"),
        }
    }
    assert!(published.is_some(), "published once JetStream answers");
    assert!(
        logs.contents()
            .contains("stream missing on publish; creating it"),
        "{}",
        logs.contents()
    );
}

/// A publish whose answer is lost with its connection (the server stopped mid-request) fails
/// at once rather than after the request timeout, and the relay publishes the backlog as soon
/// as the server is back instead of at the end of its back-off.
#[tokio::test]
async fn nats_restart_mid_publish_lets_the_backlog_out_when_the_server_is_back() {
    if hearth_testenv::nats_server_binary().is_none() {
        return;
    }
    let (_capture, logs) = capture_logs("hearth_bus=info");
    let mut server = NatsServer::start().await.expect("a private nats-server");
    let county = hearth_testenv::unique_county();
    let bus = connect(&server, &county).await;
    bus.wait_connected(Duration::from_secs(10))
        .await
        .expect("connected");
    bus.ensure_streams().await.expect("streams");

    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = open_sqlite(&dir.path().join("service.db")).await;
    migrate(&db).await.expect("migrate");
    let outbox = Outbox::new(&county, PRODUCER).expect("an outbox");
    // Production pacing: the back-off grows to 30 s over an outage.
    let relay = OutboxRelay::new(db.clone(), Arc::new(bus), &outbox, RelayConfig::default());
    let cancel = CancellationToken::new();
    let running = tokio::spawn(relay.run(cancel.clone()));
    let unsent = || async { outbox.unsent_count(&db).await.expect("count") == 0 };

    commit_event(&db, &outbox).await;
    eventually("the first event published", Duration::from_secs(10), unsent).await;

    // The server stops answering with a publish in flight, then dies and comes back.
    server.freeze().expect("freeze nats-server");
    commit_event(&db, &outbox).await;
    commit_event(&db, &outbox).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !unsent().await,
        "nothing goes out while the server is frozen"
    );
    server.restart().await.expect("restart nats-server");

    // Well inside the 30 s request timeout that a lost acknowledgement used to wait out.
    eventually(
        "the backlog published after the restart",
        Duration::from_secs(10),
        unsent,
    )
    .await;
    cancel.cancel();
    running.await.expect("the relay task").expect("the relay");
    let logged = logs.contents();
    assert!(!logged.contains("stream missing"), "{logged}");
}
