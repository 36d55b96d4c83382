//! The bus contract suite: each function is one test, run by `main.rs` against every bus
//! implementation (and, for the outbox and inbox, every database) it is given.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hearth_bus::entities::outbox;
use hearth_bus::{BusError, DeadLetter, EventEnvelope, Inbox, OutgoingMessage, timestamp};
use prost::Message as _;
use sea_orm::EntityTrait as _;
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::support::{
    BusKind, DbKind, Env, EnvOptions, Mode, TestHandler, drain, eventually, fetch_n, message,
    quick_retry,
};

const SECOND: Duration = Duration::from_secs(1);

fn ids(events: &[EventEnvelope]) -> Vec<String> {
    events.iter().map(|event| event.event_id.clone()).collect()
}

// ---------------------------------------------------------------------------------------------
// The bus itself
// ---------------------------------------------------------------------------------------------

/// Publish returns once stored, with increasing sequences; the same message id again is a
/// duplicate (with the original's sequence) and is not delivered twice.
pub async fn publish_is_acknowledged_and_duplicates_are_reported(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let subject = env.subject("family.approved");
    let first = env
        .bus
        .publish(message(&subject, "msg-1", b"one"))
        .await
        .expect("first publish");
    let second = env
        .bus
        .publish(message(&subject, "msg-2", b"two"))
        .await
        .expect("second publish");
    assert!(!first.duplicate && !second.duplicate);
    assert!(second.sequence > first.sequence, "{first:?} {second:?}");

    let again = env
        .bus
        .publish(message(&subject, "msg-1", b"one, again"))
        .await
        .expect("duplicate publish");
    assert!(again.duplicate, "{again:?}");
    assert_eq!(again.sequence, first.sequence);

    let consumer = env
        .bus
        .consumer(env.spec("audit", 5 * SECOND))
        .await
        .expect("consumer");
    let deliveries = fetch_n(consumer.as_ref(), 2, 5 * SECOND).await;
    let payloads: Vec<&[u8]> = deliveries.iter().map(|d| d.payload()).collect();
    assert_eq!(payloads, [b"one".as_slice(), b"two".as_slice()]);
    assert_eq!(deliveries[0].msg_id(), Some("msg-1"));
    assert_eq!(
        deliveries[0].headers().get("x-test").map(String::as_str),
        Some("msg-1")
    );
    assert_eq!(deliveries[0].delivered_count(), 1);
    assert_eq!(deliveries[0].stream_sequence(), first.sequence);
    assert_eq!(deliveries[0].subject(), subject);
    for delivery in deliveries {
        delivery.ack().await.expect("ack");
    }
    let rest = consumer
        .fetch(10, Duration::from_millis(300))
        .await
        .expect("fetch");
    assert!(
        rest.is_empty(),
        "the duplicate must not be delivered: {rest:?}"
    );
}

/// Subjects outside the county's streams are refused; malformed ones are invalid.
pub async fn publish_outside_the_county_streams_is_refused(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let elsewhere = format!("hearth.{}x.family.approved", env.county);
    let refused = env
        .bus
        .publish(message(&elsewhere, "m", b""))
        .await
        .expect_err("no stream stores another county's subject");
    assert!(matches!(refused, BusError::Rejected(_)), "{refused:?}");

    let wildcard = format!("hearth.{}.family.*", env.county);
    let invalid = env
        .bus
        .publish(message(&wildcard, "m", b""))
        .await
        .expect_err("wildcards cannot be published to");
    assert!(matches!(invalid, BusError::Invalid(_)), "{invalid:?}");

    let outside = env
        .bus
        .consumer(hearth_bus::ConsumerSpec::new("audit", "hearth.other.>"))
        .await
        .err()
        .expect("a consumer outside the county's events is refused");
    assert!(matches!(outside, BusError::Invalid(_)), "{outside:?}");
}

/// A consumer gets the messages its filter matches, oldest first, each consumer all of them.
pub async fn consumers_get_matching_messages_in_order(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let published = [
        ("family.approved", "m1"),
        ("request.opened", "m2"),
        ("family.rejected", "m3"),
        ("family.approved", "m4"),
    ];
    for (event_type, msg_id) in published {
        env.bus
            .publish(message(&env.subject(event_type), msg_id, msg_id.as_bytes()))
            .await
            .expect("publish");
    }
    let families = env
        .bus
        .consumer(
            hearth_bus::ConsumerSpec::new(
                "matching-family",
                format!("hearth.{}.family.*", env.county),
            )
            .with_ack_wait(5 * SECOND),
        )
        .await
        .expect("consumer");
    let everything = env
        .bus
        .consumer(env.spec("followup", 5 * SECOND))
        .await
        .expect("consumer");

    let family_ids: Vec<Option<String>> = fetch_n(families.as_ref(), 3, 5 * SECOND)
        .await
        .iter()
        .map(|d| d.msg_id().map(str::to_owned))
        .collect();
    assert_eq!(
        family_ids,
        [Some("m1".into()), Some("m3".into()), Some("m4".into())]
    );
    let all_ids: Vec<Option<String>> = fetch_n(everything.as_ref(), 4, 5 * SECOND)
        .await
        .iter()
        .map(|d| d.msg_id().map(str::to_owned))
        .collect();
    assert_eq!(
        all_ids,
        [
            Some("m1".into()),
            Some("m2".into()),
            Some("m3".into()),
            Some("m4".into())
        ]
    );
}

/// A waiting fetch returns as soon as a message is published, and an idle one after its wait.
pub async fn fetch_waits_for_new_messages(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let consumer = env
        .bus
        .consumer(env.spec("audit", 5 * SECOND))
        .await
        .expect("consumer");

    let started = Instant::now();
    let idle = consumer
        .fetch(10, Duration::from_millis(400))
        .await
        .expect("fetch");
    let idle_for = started.elapsed();
    assert!(idle.is_empty());
    assert!(
        idle_for >= Duration::from_millis(350) && idle_for < 3 * SECOND,
        "an idle fetch waits about its wait: {idle_for:?}"
    );

    let bus = env.bus.clone();
    let subject = env.subject("family.approved");
    let publisher = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        bus.publish(message(&subject, "late", b"late")).await
    });
    let started = Instant::now();
    let woken = consumer.fetch(10, 10 * SECOND).await.expect("fetch");
    let woken_after = started.elapsed();
    publisher.await.expect("publisher").expect("publish");
    assert_eq!(woken.len(), 1);
    assert!(
        woken_after < 3 * SECOND,
        "a waiting fetch returns soon after a publish: {woken_after:?}"
    );
}

/// An unacknowledged delivery comes again after `ack_wait` (a crash between delivery and
/// acknowledgement redelivers); an acknowledged one never does.
pub async fn unacknowledged_delivery_is_redelivered_after_ack_wait(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let ack_wait = Duration::from_millis(700);
    env.bus
        .publish(message(&env.subject("family.approved"), "m1", b"m1"))
        .await
        .expect("publish");
    let consumer = env
        .bus
        .consumer(env.spec("audit", ack_wait))
        .await
        .expect("consumer");

    let delivered_at = Instant::now();
    let first = fetch_n(consumer.as_ref(), 1, 5 * SECOND).await.remove(0);
    assert_eq!(first.delivered_count(), 1);
    let sequence = first.stream_sequence();
    drop(first); // neither acknowledged nor rejected: the handler "crashed"

    let too_early = consumer.fetch(10, Duration::ZERO).await.expect("fetch");
    assert!(too_early.is_empty(), "not redelivered before ack_wait");

    let again = fetch_n(consumer.as_ref(), 1, 5 * SECOND).await.remove(0);
    assert!(
        delivered_at.elapsed() >= ack_wait - Duration::from_millis(100),
        "redelivered after ack_wait, not before: {:?}",
        delivered_at.elapsed()
    );
    assert_eq!(again.stream_sequence(), sequence);
    assert_eq!(again.delivered_count(), 2);
    again.ack().await.expect("ack");

    let after_ack = consumer
        .fetch(10, ack_wait + Duration::from_millis(400))
        .await
        .expect("fetch");
    assert!(
        after_ack.is_empty(),
        "an acknowledged delivery is not redelivered"
    );
}

/// A nak with a delay redelivers after the delay; a nak without one at once; a terminated
/// delivery never comes again.
pub async fn nak_redelivers_after_its_delay_and_term_stops_delivery(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let ack_wait = SECOND;
    env.bus
        .publish(message(&env.subject("family.approved"), "m1", b"m1"))
        .await
        .expect("publish");
    let consumer = env
        .bus
        .consumer(env.spec("audit", ack_wait))
        .await
        .expect("consumer");

    let delay = Duration::from_millis(600);
    let first = fetch_n(consumer.as_ref(), 1, 5 * SECOND).await.remove(0);
    let naked_at = Instant::now();
    first.nak(delay).await.expect("nak with delay");
    let early = consumer
        .fetch(10, Duration::from_millis(200))
        .await
        .expect("fetch");
    assert!(early.is_empty(), "not redelivered before the nak delay");

    let second = fetch_n(consumer.as_ref(), 1, 5 * SECOND).await.remove(0);
    let waited = naked_at.elapsed();
    assert!(
        waited >= delay - Duration::from_millis(100) && waited < ack_wait + delay,
        "redelivered after the nak delay: {waited:?}"
    );
    assert_eq!(second.delivered_count(), 2);

    second.nak(Duration::ZERO).await.expect("nak at once");
    let started = Instant::now();
    let third = fetch_n(consumer.as_ref(), 1, 5 * SECOND).await.remove(0);
    assert!(
        started.elapsed() < ack_wait,
        "a nak without delay redelivers at once"
    );
    assert_eq!(third.delivered_count(), 3);

    third.term().await.expect("term");
    let after_term = consumer
        .fetch(10, ack_wait + Duration::from_millis(300))
        .await
        .expect("fetch");
    assert!(
        after_term.is_empty(),
        "a terminated delivery is not redelivered"
    );
}

/// A consumer bound again by its durable name, after the bus was closed and reopened, resumes
/// where it left off: acknowledged messages never come again, the unacknowledged one does.
pub async fn rebound_consumer_resumes_where_it_left_off(bus: BusKind, db: DbKind) {
    let Some(mut env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let spec = env.spec("assessment", Duration::from_millis(800));
    for msg_id in ["m1", "m2", "m3"] {
        env.bus
            .publish(message(
                &env.subject("family.approved"),
                msg_id,
                msg_id.as_bytes(),
            ))
            .await
            .expect("publish");
    }
    {
        let consumer = env.bus.consumer(spec.clone()).await.expect("consumer");
        let m1 = fetch_n(consumer.as_ref(), 1, 5 * SECOND).await.remove(0);
        assert_eq!(m1.msg_id(), Some("m1"));
        m1.ack().await.expect("ack");
        let m2 = fetch_n(consumer.as_ref(), 1, 5 * SECOND).await.remove(0);
        assert_eq!(m2.msg_id(), Some("m2"));
        // m2 is never settled: the service stops here.
    }
    env.reopen_bus().await;

    let consumer = env.bus.consumer(spec).await.expect("consumer bound again");
    let mut seen = Vec::new();
    for delivery in fetch_n(consumer.as_ref(), 2, 10 * SECOND).await {
        seen.push((
            delivery.msg_id().map(str::to_owned),
            delivery.delivered_count(),
        ));
        delivery.ack().await.expect("ack");
    }
    seen.sort();
    assert_eq!(seen, [(Some("m2".into()), 2), (Some("m3".into()), 1)]);
    let rest = consumer.fetch(10, SECOND).await.expect("fetch");
    assert!(
        rest.is_empty(),
        "m1 was acknowledged before the restart: {rest:?}"
    );
}

/// Dead letters are kept per service, listed oldest first, de-duplicated, and invisible to
/// event consumers.
pub async fn dead_letters_are_kept_per_service(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let events = env
        .commit_events(&["family.approved", "family.rejected"])
        .await;
    let letter = |event: &EventEnvelope, consumer: &str| DeadLetter {
        event: Some(event.clone()),
        consumer: consumer.to_owned(),
        error: format!("cannot apply {}", event.event_type),
        attempts: 5,
        dead_lettered_at: Some(timestamp(Utc::now())),
        original_subject: env.subject(&event.event_type),
    };
    let matching_first = letter(&events[0], "matching-family");
    let matching_second = letter(&events[1], "matching");
    let training = letter(&events[0], "training");
    let mut sequences = Vec::new();
    for dead_letter in [&matching_first, &matching_second, &training] {
        let ack = env
            .bus
            .dead_letter(dead_letter.clone(), None)
            .await
            .expect("dead letter");
        assert!(!ack.duplicate);
        sequences.push(ack.sequence);
    }
    let again = env
        .bus
        .dead_letter(matching_first.clone(), Some(&events[0].event_id))
        .await
        .expect("dead letter");
    assert!(
        again.duplicate,
        "dead-lettering the same delivery twice is a duplicate"
    );

    let matching = env.bus.dead_letters("matching").await.expect("list");
    assert_eq!(
        matching
            .iter()
            .map(|stored| &stored.letter)
            .collect::<Vec<_>>(),
        [&matching_first, &matching_second]
    );
    assert_eq!(
        matching
            .iter()
            .map(|stored| stored.sequence)
            .collect::<Vec<_>>(),
        sequences[..2],
        "each carries its sequence in the dead-letter stream"
    );
    let training_letters = env.bus.dead_letters("training").await.expect("list");
    assert_eq!(training_letters.len(), 1);
    assert_eq!(training_letters[0].letter, training);
    assert_eq!(training_letters[0].sequence, sequences[2]);
    assert!(
        env.bus
            .dead_letters("followup")
            .await
            .expect("list")
            .is_empty()
    );

    let consumer = env
        .bus
        .consumer(env.spec("audit", 5 * SECOND))
        .await
        .expect("consumer");
    let seen = consumer
        .fetch(10, Duration::from_millis(300))
        .await
        .expect("fetch");
    assert!(seen.is_empty(), "event consumers never see dead letters");
}

// ---------------------------------------------------------------------------------------------
// Outbox, relay, inbox and the consumer runtime
// ---------------------------------------------------------------------------------------------

/// (a) Every committed event is delivered (and applied) at least once, in order; events of a
/// rolled-back transaction never are.
pub async fn committed_events_are_delivered_and_rolled_back_ones_never(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let relay = env.spawn_relay();
    let handler = Arc::new(TestHandler::new(Mode::Apply));
    let subscription = env.spawn_subscription(
        env.spec("assessment", 5 * SECOND),
        handler.clone(),
        quick_retry(5),
    );

    let mut committed = env
        .commit_events(&["family.approved", "family.rejected", "request.opened"])
        .await;
    let rolled_back = env
        .roll_back_events(&["family.approved", "request.opened"])
        .await;
    committed.extend(
        env.commit_events(&["request.opened", "request.withdrawn"])
            .await,
    );

    eventually("every committed event applied once", 10 * SECOND, || {
        env.all_applied_once(&committed)
    })
    .await;
    relay.stop().await.expect("relay stops");
    subscription.stop().await.expect("subscription stops");
    assert_eq!(env.unsent().await, 0);

    // The bus holds exactly the committed events, in commit order.
    let audit = env
        .bus
        .consumer(env.spec("audit", 5 * SECOND))
        .await
        .expect("consumer");
    let on_the_bus = drain(audit.as_ref(), Duration::from_millis(500)).await;
    assert_eq!(ids(&on_the_bus), ids(&committed));
    for event in &rolled_back {
        assert_eq!(env.times_applied(&event.event_id).await, 0);
    }
    assert_eq!(handler.calls() as usize, committed.len());
    let delivered = &on_the_bus[0];
    assert_eq!(delivered.county, env.county);
    assert_eq!(delivered.producer, crate::support::PRODUCER);
    assert_eq!(delivered, &committed[0], "the envelope arrives as written");
}

/// (b) A redelivered event is applied once: after a lost acknowledgement, after a publish of the
/// same event under another message id (a replay after the duplicate window), and after an
/// outbox replay; a publish with the same message id is reported a duplicate.
pub async fn redelivered_events_are_applied_once(bus: BusKind, db: DbKind) {
    let duplicate_window = SECOND;
    let options = EnvOptions {
        duplicate_window: Some(duplicate_window),
        ..EnvOptions::default()
    };
    let Some(env) = Env::start(bus, db, options).await else {
        return;
    };
    let handler = Arc::new(TestHandler::new(Mode::Apply));
    let ack_wait = Duration::from_millis(600);
    // The first acknowledgement is lost: as if the service crashed after committing.
    env.faulty.lose_acks(1);
    let subscription = env.spawn_subscription(
        env.spec("assessment", ack_wait),
        handler.clone(),
        quick_retry(5),
    );

    let since = Utc::now() - chrono::Duration::seconds(1);
    let events = env.commit_events(&["family.approved"]).await;
    let event = &events[0];
    let relay = env.relay();
    let first_pass = relay.flush(5 * SECOND).await.expect("flush");
    assert_eq!(first_pass, 1);
    let published_at = Instant::now();

    // 1. The same event and message id again, inside the window: a duplicate, not stored.
    let subject = env.subject(&event.event_type);
    let again = env
        .bus
        .publish(OutgoingMessage {
            subject: subject.clone(),
            msg_id: event.event_id.clone(),
            headers: Default::default(),
            payload: event.encode_to_vec(),
        })
        .await
        .expect("publish again");
    assert!(
        again.duplicate,
        "same message id inside the window: {again:?}"
    );

    // 2. The lost acknowledgement makes the bus redeliver after ack_wait; the inbox skips it.
    eventually(
        "the event redelivered after the lost ack",
        5 * SECOND,
        || async { env.faulty.deliveries() >= 2 },
    )
    .await;
    eventually("the first delivery applied", 5 * SECOND, || async {
        env.times_applied(&event.event_id).await == 1
    })
    .await;

    // 3. The same event under another message id (what a replay after the window looks like).
    let replayed = env
        .bus
        .publish(OutgoingMessage {
            subject,
            msg_id: format!("replay-{}", event.event_id),
            headers: Default::default(),
            payload: event.encode_to_vec(),
        })
        .await
        .expect("publish under another id");
    assert!(!replayed.duplicate);
    eventually("the re-published event delivered", 5 * SECOND, || async {
        env.faulty.deliveries() >= 3
    })
    .await;

    // 4. An outbox replay after the duplicate window: published anew, delivered, skipped.
    let window_passed = published_at + duplicate_window + Duration::from_millis(500);
    tokio::time::sleep_until(window_passed).await;
    assert_eq!(relay.replay(since).await.expect("replay"), 1);
    relay.flush(5 * SECOND).await.expect("flush the replay");
    eventually("the replayed event delivered", 5 * SECOND, || async {
        env.faulty.deliveries() >= 4
    })
    .await;

    subscription.stop().await.expect("subscription stops");
    assert_eq!(
        env.times_applied(&event.event_id).await,
        1,
        "applied exactly once"
    );
    assert_eq!(
        handler.calls(),
        1,
        "the inbox skipped every redelivery before the handler"
    );
    assert!(
        Inbox::contains(&env.db, "assessment", &event.event_id)
            .await
            .expect("inbox")
    );
}

/// (c) Events written while the bus is down stay in the outbox and are delivered once it
/// returns; none is lost.
pub async fn events_written_while_the_bus_is_down_arrive_after_it_returns(
    bus: BusKind,
    db: DbKind,
) {
    let options = EnvOptions {
        private_nats: true,
        ..EnvOptions::default()
    };
    let Some(mut env) = Env::start(bus, db, options).await else {
        return;
    };
    let relay = env.spawn_relay();
    let handler = Arc::new(TestHandler::new(Mode::Apply));
    let subscription = env.spawn_subscription(
        env.spec("matching", 5 * SECOND),
        handler.clone(),
        quick_retry(5),
    );

    let before = env.commit_events(&["family.approved"]).await;
    eventually("the event before the outage applied", 10 * SECOND, || {
        env.all_applied_once(&before)
    })
    .await;

    env.set_bus_available(false).await;
    let mut during = Vec::new();
    for event_type in [
        "family.approved",
        "family.rejected",
        "request.opened",
        "request.withdrawn",
    ] {
        during.extend(env.commit_events(&[event_type]).await);
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        env.unsent().await,
        4,
        "the outbox keeps what the bus could not take"
    );
    for event in &during {
        assert_eq!(env.times_applied(&event.event_id).await, 0);
    }

    env.set_bus_available(true).await;
    eventually(
        "every event written during the outage applied once",
        20 * SECOND,
        || env.all_applied_once(&during),
    )
    .await;
    relay.stop().await.expect("relay stops");
    subscription.stop().await.expect("subscription stops");
    assert_eq!(env.unsent().await, 0);
    assert!(env.all_applied_once(&before).await);
}

/// (d) A handler that keeps failing ends in the dead letters with its error and the number of
/// attempts, and its delivery is terminated; a permanent error goes there at once.
pub async fn failing_events_end_in_the_dead_letters(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let retrying = Arc::new(TestHandler::new(Mode::FailRetry));
    let refusing = Arc::new(TestHandler::new(Mode::FailPermanent));
    let max_attempts = 3;
    let followup = env.spawn_subscription(
        env.spec("followup", 5 * SECOND),
        retrying.clone(),
        quick_retry(max_attempts),
    );
    let training = env.spawn_subscription(
        env.spec("training-all", 5 * SECOND),
        refusing.clone(),
        quick_retry(max_attempts),
    );
    let events = env.commit_events(&["family.approved"]).await;
    let event = &events[0];
    env.relay().flush(5 * SECOND).await.expect("flush");

    let dead_letters = |service: &'static str| {
        let bus = env.bus.clone();
        async move { bus.dead_letters(service).await.expect("list dead letters") }
    };
    eventually("the retried event dead-lettered", 10 * SECOND, || async {
        !dead_letters("followup").await.is_empty()
    })
    .await;
    eventually("the refused event dead-lettered", 10 * SECOND, || async {
        !dead_letters("training").await.is_empty()
    })
    .await;

    let retried = dead_letters("followup").await;
    assert_eq!(retried.len(), 1);
    let retried = &retried[0].letter;
    assert_eq!(retried.event.as_ref(), Some(event));
    assert_eq!(retried.consumer, "followup");
    assert_eq!(retried.attempts, max_attempts);
    assert_eq!(retried.error, format!("boom {max_attempts}"));
    assert_eq!(retried.original_subject, env.subject("family.approved"));
    assert!(retried.dead_lettered_at.is_some());

    let refused = dead_letters("training").await;
    assert_eq!(refused.len(), 1);
    let refused = &refused[0].letter;
    assert_eq!(refused.attempts, 1);
    assert_eq!(refused.consumer, "training-all");
    assert_eq!(refused.error, "this event breaks a rule");

    // Terminated: no further attempts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    followup.stop().await.expect("subscription stops");
    training.stop().await.expect("subscription stops");
    assert_eq!(retrying.calls(), max_attempts);
    assert_eq!(refusing.calls(), 1);
    assert_eq!(env.times_applied(&event.event_id).await, 0);
    assert!(
        !Inbox::contains(&env.db, "followup", &event.event_id)
            .await
            .expect("inbox")
    );
}

/// Redrive: once the handler is fixed, a dead letter sent back is delivered again on its
/// original subject, applied exactly once by the consumer that failed (consumers that had
/// applied it skip it by their inbox), and gone from the dead letters. A redriven event that
/// still fails is dead-lettered again (not swallowed by the first dead letter's message id).
pub async fn redriven_dead_letters_are_applied_once_after_the_fix(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let failing = Arc::new(TestHandler::broken());
    let bystander = Arc::new(TestHandler::new(Mode::Apply));
    let followup = env.spawn_subscription(
        env.spec("followup", 5 * SECOND),
        failing.clone(),
        quick_retry(2),
    );
    let training = env.spawn_subscription(
        env.spec("training", 5 * SECOND),
        bystander.clone(),
        quick_retry(2),
    );
    let events = env.commit_events(&["family.approved"]).await;
    let event = &events[0];
    env.relay().flush(5 * SECOND).await.expect("flush");

    let letters = |service: &'static str| {
        let bus = env.bus.clone();
        async move { bus.dead_letters(service).await.expect("list dead letters") }
    };
    eventually("the event dead-lettered", 10 * SECOND, || async {
        letters("followup").await.len() == 1
    })
    .await;
    eventually("the bystander applied it", 10 * SECOND, || async {
        Inbox::contains(&env.db, "training", &event.event_id)
            .await
            .expect("inbox")
    })
    .await;
    let first = letters("followup").await.remove(0);
    assert_eq!(first.event_id(), event.event_id);

    // Sent back before the fix (inside the duplicate window of the event's first publish): it
    // is delivered again, fails again, and is dead-lettered again as a new dead letter.
    let report = hearth_bus::redrive_dead_letters(
        env.bus.as_ref(),
        "followup",
        std::slice::from_ref(&event.event_id),
    )
    .await
    .expect("redrive");
    assert_eq!(report.redriven.len(), 1);
    let redriven = &report.redriven[0];
    assert!(!redriven.ack.duplicate, "a redrive has its own message id");
    assert_eq!(redriven.subject, env.subject("family.approved"));
    assert_eq!(redriven.consumer, "followup");
    assert_eq!(
        redriven.msg_id,
        format!("redrive:followup:{}:{}", event.event_id, first.sequence)
    );
    eventually(
        "the redriven event dead-lettered again",
        10 * SECOND,
        || async {
            let now = letters("followup").await;
            now.len() == 1 && now[0].sequence != first.sequence
        },
    )
    .await;
    let second = letters("followup").await.remove(0);
    assert_eq!(second.letter.event.as_ref(), Some(event));
    assert_eq!(second.letter.error, "still broken 4");
    assert_eq!(
        env.times_applied(&event.event_id).await,
        1,
        "the bystander's"
    );

    // The cause is fixed: sent back again, applied once, and the dead letters are empty.
    failing.fix();
    let report = hearth_bus::redrive_dead_letters(env.bus.as_ref(), "followup", &[])
        .await
        .expect("redrive");
    assert_eq!(report.redriven.len(), 1);
    assert!(report.without_event.is_empty());
    assert_eq!(report.redriven[0].dead_letter_sequence, second.sequence);
    eventually("the redriven event applied", 10 * SECOND, || async {
        Inbox::contains(&env.db, "followup", &event.event_id)
            .await
            .expect("inbox")
    })
    .await;
    assert!(
        letters("followup").await.is_empty(),
        "the dead letter is gone"
    );
    // Every delivery happened: followup 2 + 2 + 1, training 1 + 1 + 1 (both redrives).
    eventually("every redelivery seen", 10 * SECOND, || async {
        env.faulty.deliveries() >= 8
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    followup.stop().await.expect("subscription stops");
    training.stop().await.expect("subscription stops");

    assert_eq!(failing.calls(), 5, "2 failures, 2 failures, 1 success");
    assert_eq!(
        bystander.calls(),
        1,
        "the consumer that had applied the event skipped both redrives by its inbox"
    );
    assert_eq!(
        env.times_applied(&event.event_id).await,
        2,
        "applied once by each consumer"
    );
    assert!(letters("followup").await.is_empty());
    assert!(letters("training").await.is_empty());
}

/// Redriving (or removing) what is not there is an error naming it, and changes nothing; a dead
/// letter without an event cannot be sent back and stays; a service only reaches its own.
pub async fn redriving_what_is_not_there_is_an_error_naming_it(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let events = env.commit_events(&["family.approved"]).await;
    let event = &events[0];
    let with_event = DeadLetter {
        event: Some(event.clone()),
        consumer: "matching-family".to_owned(),
        error: "cannot apply".to_owned(),
        attempts: 5,
        dead_lettered_at: Some(timestamp(Utc::now())),
        original_subject: env.subject("family.approved"),
    };
    let malformed = DeadLetter {
        event: None,
        consumer: "matching".to_owned(),
        error: "not an EventEnvelope".to_owned(),
        attempts: 1,
        dead_lettered_at: Some(timestamp(Utc::now())),
        original_subject: env.subject("family.approved"),
    };
    env.bus
        .dead_letter(with_event.clone(), None)
        .await
        .expect("dead letter");
    env.bus
        .dead_letter(malformed.clone(), Some("garbage"))
        .await
        .expect("dead letter");
    let before = env.bus.dead_letters("matching").await.expect("list");
    assert_eq!(before.len(), 2);

    let unknown = uuid::Uuid::now_v7().to_string();
    let error = hearth_bus::redrive_dead_letters(
        env.bus.as_ref(),
        "matching",
        &[event.event_id.clone(), unknown.clone()],
    )
    .await
    .expect_err("an unknown event id");
    assert!(matches!(error, BusError::NotFound(_)), "{error:?}");
    assert!(error.to_string().contains(&unknown), "{error}");
    assert!(
        !error.to_string().contains(&event.event_id),
        "only the missing id is named: {error}"
    );
    assert_eq!(
        env.bus.dead_letters("matching").await.expect("list"),
        before,
        "nothing was sent back"
    );

    // Another service's dead letters are out of reach.
    let elsewhere = hearth_bus::redrive_dead_letters(
        env.bus.as_ref(),
        "training",
        std::slice::from_ref(&event.event_id),
    )
    .await
    .expect_err("training has no dead letter of this event");
    assert!(matches!(elsewhere, BusError::NotFound(_)), "{elsewhere:?}");
    let removed = env
        .bus
        .remove_dead_letter("training", before[0].sequence)
        .await
        .expect_err("a dead letter of matching is not training's to remove");
    assert!(matches!(removed, BusError::NotFound(_)), "{removed:?}");
    let missing = env
        .bus
        .remove_dead_letter("matching", before[1].sequence + 1000)
        .await
        .expect_err("no such dead letter");
    assert!(matches!(missing, BusError::NotFound(_)), "{missing:?}");
    assert!(
        missing
            .to_string()
            .contains(&(before[1].sequence + 1000).to_string())
    );

    // All of the service's: the one with an event goes back, the malformed one stays.
    let report = hearth_bus::redrive_dead_letters(env.bus.as_ref(), "matching", &[])
        .await
        .expect("redrive");
    assert_eq!(report.redriven.len(), 1);
    assert_eq!(report.redriven[0].event_id, event.event_id);
    assert_eq!(report.redriven[0].consumer, "matching-family");
    assert_eq!(report.without_event.len(), 1);
    assert_eq!(report.without_event[0].letter, malformed);
    let after = env.bus.dead_letters("matching").await.expect("list");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].letter, malformed);

    // The event went back on its subject, with its own message id.
    let consumer = env
        .bus
        .consumer(env.spec("audit", 5 * SECOND))
        .await
        .expect("consumer");
    let delivered = fetch_n(consumer.as_ref(), 1, 5 * SECOND).await;
    assert_eq!(delivered[0].subject(), env.subject("family.approved"));
    assert_eq!(delivered[0].envelope().expect("an envelope"), *event);
    assert_eq!(
        delivered[0].msg_id(),
        Some(report.redriven[0].msg_id.as_str())
    );

    // Redriving it again: it is no longer there.
    let again = hearth_bus::redrive_dead_letters(
        env.bus.as_ref(),
        "matching",
        std::slice::from_ref(&event.event_id),
    )
    .await
    .expect_err("already sent back");
    assert!(again.to_string().contains(&event.event_id), "{again}");
}

/// Event types the handler does not handle are acknowledged and skipped.
pub async fn unhandled_event_types_are_acknowledged_and_skipped(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let ack_wait = Duration::from_millis(500);
    let handler = Arc::new(TestHandler::new(Mode::Apply).only(&["family.approved"]));
    let subscription = env.spawn_subscription(
        env.spec("training", ack_wait),
        handler.clone(),
        quick_retry(5),
    );
    let events = env
        .commit_events(&["request.opened", "family.approved", "session.cancelled"])
        .await;
    env.relay().flush(5 * SECOND).await.expect("flush");
    eventually("the handled event applied", 10 * SECOND, || async {
        env.times_applied(&events[1].event_id).await == 1
    })
    .await;
    eventually("all three delivered", 5 * SECOND, || async {
        env.faulty.deliveries() >= 3
    })
    .await;
    subscription.stop().await.expect("subscription stops");

    assert_eq!(handler.seen_types(), ["family.approved"]);
    assert_eq!(env.times_applied(&events[0].event_id).await, 0);
    assert_eq!(env.times_applied(&events[2].event_id).await, 0);
    // All three were acknowledged: nothing comes back after ack_wait.
    let consumer = env
        .bus
        .consumer(env.spec("training", ack_wait))
        .await
        .expect("consumer");
    let left = consumer
        .fetch(10, ack_wait + Duration::from_millis(500))
        .await
        .expect("fetch");
    assert!(
        left.is_empty(),
        "skipped events were acknowledged: {left:?}"
    );
}

/// A panicking handler counts as a failed attempt; the event is retried and applied once.
pub async fn a_panicking_handler_is_retried(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let handler = Arc::new(TestHandler::panicking_once());
    let subscription = env.spawn_subscription(
        env.spec("allocation", 5 * SECOND),
        handler.clone(),
        quick_retry(5),
    );
    let events = env.commit_events(&["placement.started"]).await;
    env.relay().flush(5 * SECOND).await.expect("flush");
    eventually("the event applied after the panic", 10 * SECOND, || {
        env.all_applied_once(&events)
    })
    .await;
    subscription.stop().await.expect("subscription stops");
    assert_eq!(handler.calls(), 2);
}

/// Messages that are not valid event envelopes go to the dead letters without reaching the
/// handler.
pub async fn malformed_messages_are_dead_lettered(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let handler = Arc::new(TestHandler::new(Mode::Apply));
    let subscription = env.spawn_subscription(
        env.spec("followup", 5 * SECOND),
        handler.clone(),
        quick_retry(5),
    );
    let subject = env.subject("family.approved");
    env.bus
        .publish(message(&subject, "garbage", &[0xff, 0xff, 0xff, 0xff]))
        .await
        .expect("publish garbage");
    env.bus
        .publish(message(&subject, "empty", b""))
        .await
        .expect("publish an empty envelope");
    eventually("both dead-lettered", 10 * SECOND, || async {
        env.bus.dead_letters("followup").await.expect("list").len() == 2
    })
    .await;
    subscription.stop().await.expect("subscription stops");
    let letters: Vec<DeadLetter> = env
        .bus
        .dead_letters("followup")
        .await
        .expect("list")
        .into_iter()
        .map(|stored| stored.letter)
        .collect();
    for letter in &letters {
        assert_eq!(letter.event, None);
        assert_eq!(letter.attempts, 1);
        assert_eq!(letter.original_subject, subject);
    }
    assert!(
        letters[0].error.contains("not an EventEnvelope"),
        "{}",
        letters[0].error
    );
    assert!(
        letters[1].error.contains("no valid event id"),
        "{}",
        letters[1].error
    );
    assert_eq!(handler.calls(), 0);
}

/// A handler that takes longer than `ack_wait` keeps its delivery (the runtime reports it in
/// progress), so it is not redelivered meanwhile.
pub async fn a_slow_handler_keeps_its_delivery(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let ack_wait = Duration::from_millis(500);
    let handler = Arc::new(TestHandler::new(Mode::Slow(3 * ack_wait)));
    let subscription = env.spawn_subscription(
        env.spec("matching", ack_wait),
        handler.clone(),
        quick_retry(5),
    );
    let events = env.commit_events(&["family.approved"]).await;
    env.relay().flush(5 * SECOND).await.expect("flush");
    eventually("the slow event applied", 10 * SECOND, || {
        env.all_applied_once(&events)
    })
    .await;
    tokio::time::sleep(ack_wait + Duration::from_millis(300)).await;
    subscription.stop().await.expect("subscription stops");
    assert_eq!(
        env.faulty.deliveries(),
        1,
        "never redelivered while in progress"
    );
    assert_eq!(handler.calls(), 1);
}

/// The W3C trace context of the request that wrote the event reaches the handler's span.
pub async fn trace_context_travels_from_the_outbox_to_the_handler(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let handler = Arc::new(TestHandler::new(Mode::Apply));
    let subscription = env.spawn_subscription(
        env.spec("followup", 5 * SECOND),
        handler.clone(),
        quick_retry(5),
    );
    let (request_trace, events) = async {
        let trace = hearth_telemetry::propagation::trace_id_of_current_span();
        (trace, env.commit_events(&["survey.sent"]).await)
    }
    .instrument(tracing::info_span!("test.request"))
    .await;
    assert!(
        request_trace.is_some(),
        "the test subscriber gives spans trace ids"
    );
    env.relay().flush(5 * SECOND).await.expect("flush");
    eventually("the event applied", 10 * SECOND, || {
        env.all_applied_once(&events)
    })
    .await;
    subscription.stop().await.expect("subscription stops");
    assert_eq!(handler.trace_ids(), [request_trace]);
}

/// Sent rows are kept (marked sent) until purged.
pub async fn sent_rows_are_kept_until_purged(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    env.commit_events(&[
        "interest.registered",
        "interest.registered",
        "request.opened",
    ])
    .await;
    assert_eq!(env.unsent().await, 3);
    // Written before `before_sending`, sent after it.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let before_sending = Utc::now();
    assert_eq!(env.relay().flush(5 * SECOND).await.expect("flush"), 3);
    let rows = outbox::Entity::find().all(&env.db).await.expect("rows");
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter().all(|row| row.sent_at.is_some()),
        "kept and marked sent"
    );
    assert!(rows.windows(2).all(|pair| pair[0].id < pair[1].id));

    // A replay takes the rows *sent* since a time (what a bus that lost its recent messages
    // lost), also those written before it.
    let hour = chrono::Duration::hours(1);
    assert_eq!(
        env.outbox
            .mark_for_replay(&env.db, Utc::now() + hour)
            .await
            .expect("replay"),
        0
    );
    assert_eq!(
        env.outbox
            .mark_for_replay(&env.db, before_sending)
            .await
            .expect("replay"),
        3
    );
    assert_eq!(env.unsent().await, 3);
    assert_eq!(
        env.relay()
            .flush(5 * SECOND)
            .await
            .expect("flush the replay"),
        3
    );
    assert_eq!(env.unsent().await, 0);

    assert_eq!(
        env.outbox
            .purge_sent_before(&env.db, Utc::now() - hour)
            .await
            .expect("purge"),
        0
    );
    assert_eq!(env.outbox.purge_expired(&env.db).await.expect("purge"), 0);
    assert_eq!(
        env.outbox
            .purge_sent_before(&env.db, Utc::now() + hour)
            .await
            .expect("purge"),
        3
    );
    assert!(
        outbox::Entity::find()
            .all(&env.db)
            .await
            .expect("rows")
            .is_empty()
    );
}

/// A flush fails (bounded) while the bus is down, records the error on the row, and succeeds
/// once the bus is back.
pub async fn flush_is_bounded_while_the_bus_is_down(bus: BusKind, db: DbKind) {
    let options = EnvOptions {
        private_nats: true,
        ..EnvOptions::default()
    };
    let Some(mut env) = Env::start(bus, db, options).await else {
        return;
    };
    env.set_bus_available(false).await;
    env.commit_events(&["family.approved"]).await;
    let started = Instant::now();
    let failed = env.relay().flush(Duration::from_millis(1500)).await;
    assert!(failed.is_err(), "{failed:?}");
    assert!(started.elapsed() < 4 * SECOND, "{:?}", started.elapsed());
    let row = outbox::Entity::find()
        .one(&env.db)
        .await
        .expect("row")
        .expect("a row");
    assert!(row.sent_at.is_none());
    assert!(row.publish_attempts >= 1, "{row:?}");
    assert!(row.last_error.is_some());

    env.set_bus_available(true).await;
    assert_eq!(env.relay().flush(10 * SECOND).await.expect("flush"), 1);
    assert_eq!(env.unsent().await, 0);
}

/// PostgreSQL: several relays share one outbox with `FOR UPDATE SKIP LOCKED` and never send a
/// row twice.
pub async fn several_relays_never_send_a_row_twice(bus: BusKind, db: DbKind) {
    let Some(env) = Env::start(bus, db, EnvOptions::default()).await else {
        return;
    };
    let mut committed = Vec::new();
    for _ in 0..8 {
        committed.extend(
            env.commit_events(&[
                "family.approved",
                "family.rejected",
                "request.opened",
                "request.withdrawn",
                "interest.registered",
            ])
            .await,
        );
    }
    let relay_config = hearth_bus::RelayConfig {
        batch_size: 3,
        ..crate::support::test_relay_config()
    };
    let relays: Vec<_> = (0..3)
        .map(|_| {
            hearth_bus::OutboxRelay::new(
                env.db.clone(),
                env.bus.clone(),
                &env.outbox,
                relay_config.clone(),
            )
        })
        .collect();
    let mut passes = Vec::new();
    for relay in &relays {
        let relay = relay.clone();
        passes.push(tokio::spawn(async move {
            let mut total = hearth_bus::RelayPass::default();
            loop {
                let pass = relay.publish_pass().await.expect("pass");
                if pass.claimed == 0 {
                    return total;
                }
                total.claimed += pass.claimed;
                total.published += pass.published;
                total.duplicates += pass.duplicates;
            }
        }));
    }
    let mut published = 0;
    let mut duplicates = 0;
    for pass in passes {
        let total = pass.await.expect("relay task");
        published += total.published;
        duplicates += total.duplicates;
    }
    assert_eq!(env.unsent().await, 0);
    assert_eq!(
        published,
        committed.len() as u64,
        "every row published once"
    );
    assert_eq!(duplicates, 0, "no row was sent twice");
    let audit = env
        .bus
        .consumer(env.spec("audit", 5 * SECOND))
        .await
        .expect("consumer");
    let on_the_bus: BTreeSet<String> =
        ids(&drain(audit.as_ref(), Duration::from_millis(500)).await)
            .into_iter()
            .collect();
    assert_eq!(on_the_bus, ids(&committed).into_iter().collect());
}
