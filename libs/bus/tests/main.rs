//! hearth-bus integration tests: one contract suite (`contract.rs`), run against every bus
//! implementation and database it must hold for (Quickwit's test-suite-over-every-backend).
//!
//! - `in_process`: the in-process bus on a SQLite file, the service database on SQLite. Always
//!   runs.
//! - `nats`: NATS JetStream at `HEARTH_TEST_NATS_URL` (a unique county per test), outage tests on
//!   a private `nats-server` child; the service database on SQLite.
//! - `postgres`: the outbox, relay and inbox tests with the service database on a fresh
//!   PostgreSQL database at `HEARTH_TEST_DATABASE_URL`.
//!
//! A missing backend skips its tests with a visible `SKIPPED` line, and fails them when
//! `CI=true`.

mod contract;
mod nats_restart;
mod support;

/// Declares one `#[tokio::test]` per contract function, for one bus and database.
macro_rules! contract_tests {
    ($bus:expr, $db:expr; $($test:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                crate::contract::$test($bus, $db).await;
            }
        )+
    };
}

mod in_process {
    use crate::support::{BusKind, DbKind};

    contract_tests!(BusKind::InProcess, DbKind::Sqlite;
        publish_is_acknowledged_and_duplicates_are_reported,
        publish_outside_the_county_streams_is_refused,
        consumers_get_matching_messages_in_order,
        fetch_waits_for_new_messages,
        unacknowledged_delivery_is_redelivered_after_ack_wait,
        nak_redelivers_after_its_delay_and_term_stops_delivery,
        rebound_consumer_resumes_where_it_left_off,
        dead_letters_are_kept_per_service,
        committed_events_are_delivered_and_rolled_back_ones_never,
        redelivered_events_are_applied_once,
        events_written_while_the_bus_is_down_arrive_after_it_returns,
        failing_events_end_in_the_dead_letters,
        redriven_dead_letters_are_applied_once_after_the_fix,
        redriving_what_is_not_there_is_an_error_naming_it,
        unhandled_event_types_are_acknowledged_and_skipped,
        a_panicking_handler_is_retried,
        malformed_messages_are_dead_lettered,
        a_slow_handler_keeps_its_delivery,
        trace_context_travels_from_the_outbox_to_the_handler,
        sent_rows_are_kept_until_purged,
        flush_is_bounded_while_the_bus_is_down,
    );

    mod only {
        //! What only the in-process bus has: its own retention and de-duplication window.

        use std::time::Duration;

        use hearth_bus::{EventBus as _, InProcessBus, InProcessConfig};

        use crate::support::{fetch_n, message};

        #[tokio::test]
        async fn expired_messages_are_purged_and_duplicate_ids_expire() {
            let dir = tempfile::tempdir().expect("temporary directory");
            let county = hearth_testenv::unique_county();
            let config = InProcessConfig::file(&county, dir.path().join("bus.db"))
                .with_duplicate_window(Duration::from_millis(200));
            let bus = InProcessBus::open(config.clone()).await.expect("open");
            let subject = format!("hearth.{county}.family.approved");
            let first = bus
                .publish(message(&subject, "m1", b"1"))
                .await
                .expect("publish");
            assert!(
                bus.publish(message(&subject, "m1", b"1"))
                    .await
                    .expect("publish")
                    .duplicate
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
            let later = bus
                .publish(message(&subject, "m1", b"1"))
                .await
                .expect("publish");
            assert!(
                !later.duplicate,
                "after the window the same id is stored again"
            );
            assert!(later.sequence > first.sequence);
            bus.close().await.expect("close");

            // Reopened with a replay window that both messages are older than.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let bus = InProcessBus::open(config.with_max_age(Duration::from_millis(10)))
                .await
                .expect("reopen");
            let consumer = bus
                .consumer(hearth_bus::ConsumerSpec::new(
                    "audit",
                    format!("hearth.{county}.>"),
                ))
                .await
                .expect("consumer");
            let left = consumer
                .fetch(10, Duration::from_millis(100))
                .await
                .expect("fetch");
            assert!(left.is_empty(), "expired messages are purged at open");
            let fresh = bus
                .publish(message(&subject, "m2", b"2"))
                .await
                .expect("publish");
            assert!(
                fresh.sequence > later.sequence,
                "sequences are never reused"
            );
            let delivered = fetch_n(consumer.as_ref(), 1, Duration::from_secs(2)).await;
            assert_eq!(delivered[0].msg_id(), Some("m2"));
        }

        #[tokio::test]
        async fn an_in_memory_bus_works_too() {
            let county = hearth_testenv::unique_county();
            let bus = InProcessBus::open(InProcessConfig::in_memory(&county))
                .await
                .expect("open");
            let subject = format!("hearth.{county}.family.approved");
            bus.publish(message(&subject, "m1", b"1"))
                .await
                .expect("publish");
            let consumer = bus
                .consumer(hearth_bus::ConsumerSpec::new(
                    "audit",
                    format!("hearth.{county}.>"),
                ))
                .await
                .expect("consumer");
            let delivered = fetch_n(consumer.as_ref(), 1, Duration::from_secs(2)).await;
            assert_eq!(delivered[0].payload(), b"1");
        }
    }
}

mod nats {
    use crate::support::{BusKind, DbKind};

    contract_tests!(BusKind::Nats, DbKind::Sqlite;
        publish_is_acknowledged_and_duplicates_are_reported,
        publish_outside_the_county_streams_is_refused,
        consumers_get_matching_messages_in_order,
        fetch_waits_for_new_messages,
        unacknowledged_delivery_is_redelivered_after_ack_wait,
        nak_redelivers_after_its_delay_and_term_stops_delivery,
        rebound_consumer_resumes_where_it_left_off,
        dead_letters_are_kept_per_service,
        committed_events_are_delivered_and_rolled_back_ones_never,
        redelivered_events_are_applied_once,
        events_written_while_the_bus_is_down_arrive_after_it_returns,
        failing_events_end_in_the_dead_letters,
        redriven_dead_letters_are_applied_once_after_the_fix,
        redriving_what_is_not_there_is_an_error_naming_it,
        unhandled_event_types_are_acknowledged_and_skipped,
        a_panicking_handler_is_retried,
        malformed_messages_are_dead_lettered,
        a_slow_handler_keeps_its_delivery,
        trace_context_travels_from_the_outbox_to_the_handler,
        sent_rows_are_kept_until_purged,
        flush_is_bounded_while_the_bus_is_down,
    );
}

mod postgres {
    use crate::support::{BusKind, DbKind};

    contract_tests!(BusKind::InProcess, DbKind::Postgres;
        committed_events_are_delivered_and_rolled_back_ones_never,
        redelivered_events_are_applied_once,
        events_written_while_the_bus_is_down_arrive_after_it_returns,
        failing_events_end_in_the_dead_letters,
        redriven_dead_letters_are_applied_once_after_the_fix,
        unhandled_event_types_are_acknowledged_and_skipped,
        sent_rows_are_kept_until_purged,
        several_relays_never_send_a_row_twice,
    );
}
