//! An interest registration reaches the bus as `interest.registered` exactly once in effect,
//! with the caller's trace context in the message headers and the household's personal data
//! sealed — however the client retries and however often the outbox relay publishes it again.
//!
//! Over real gRPC against all six services, on the embedded backends and on PostgreSQL + NATS
//! JetStream. The bus is watched through a durable consumer of its own, created before the
//! first call, on the county's `hearth.<county>.interest.registered` subject; on NATS that is
//! a JetStream pull consumer on the county's stream, so what it counts is what the stream
//! stored (JetStream de-duplicates by `Nats-Msg-Id` = event id), which is what every service's
//! consumer will receive.

use chrono::NaiveDate;
use hearth_auth::Role;
use hearth_bus::entities::outbox;
use hearth_bus::{ConsumerSpec, CountySubjects, EventBus, Outbox};
use hearth_domain::PersonalIdentityNumber;
use hearth_proto::common::v1 as common;
use hearth_proto::events::v1::{EventEnvelope, HouseholdDetails, InterestRegistered};
use hearth_proto::intake::v1::intake_service_client::IntakeServiceClient;
use hearth_proto::intake::v1::{
    CreateInterestRegistrationRequest, CreateInterestRegistrationResponse, InterestRegistration,
    RegisteredAdult, RegistrationOutcome,
};
use hearth_rpc::backends;
use hearth_testkit::{Bus, Storage, TestHearth, authorized};
use prost::Message as _;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::time::Instant;
use tonic::Code;
use tonic::transport::Channel;

const EVENT_TYPE: &str = "interest.registered";
/// Falun, a member of Dalarna, the testkit's county.
const FALUN: &str = "2080";
/// How many clients send the same registration with the same key at once.
const CONCURRENT_RETRIES: usize = 8;

/// One registering household: the registration to send and what must never be on the bus in
/// the clear.
struct Household {
    registration: InterestRegistration,
    personal_identity_numbers: Vec<String>,
    /// Other personal data: names, e-mail address, phone number, street address.
    other_personal_data: Vec<String>,
}

fn household(
    birth_dates: [(i32, u32, u32); 2],
    birth_numbers: [u16; 2],
    family: &str,
) -> Household {
    let numbers: Vec<String> = birth_dates
        .iter()
        .zip(birth_numbers)
        .map(|(&(year, month, day), birth_number)| {
            let date = NaiveDate::from_ymd_opt(year, month, day).expect("a valid date");
            PersonalIdentityNumber::from_parts(date, birth_number, false)
                .expect("a valid synthetic personal identity number")
                .expose()
                .to_owned()
        })
        .collect();
    let adult = |given: &str, number: &str| RegisteredAdult {
        given_name: given.to_owned(),
        family_name: family.to_owned(),
        personal_identity_number: number.to_owned(),
        email: format!(
            "{}.{}@example.se",
            given.to_lowercase(),
            family.to_lowercase()
        ),
        phone: "+46701234567".to_owned(),
    };
    let street = format!("{family}vägen 12");
    Household {
        registration: InterestRegistration {
            adults: vec![
                adult("Ingegerd", &numbers[0]),
                adult("Torbjörn", &numbers[1]),
            ],
            home_municipality: Some(common::MunicipalityCode {
                value: FALUN.to_owned(),
            }),
            address: Some(common::PostalAddress {
                street_address: street.clone(),
                postal_code: "79131".to_owned(),
                locality: "Falun".to_owned(),
            }),
            housing: common::Housing::HouseInCountryside.into(),
            own_bedroom_for_child: true,
            household_children_ages: vec![9],
            has_earlier_experience: false,
            commission_kinds: vec![common::CommissionKind::LongTermFosterHome.into()],
            age_bands: vec![common::AgeBand::AgeBand712.into()],
            channel: common::InterestChannel::WordOfMouth.into(),
            message: "Vi har en stor trädgård och hundar.".to_owned(),
            ..InterestRegistration::default()
        },
        personal_identity_numbers: numbers,
        other_personal_data: vec![
            "Ingegerd".to_owned(),
            "Torbjörn".to_owned(),
            family.to_owned(),
            format!("ingegerd.{}@example.se", family.to_lowercase()),
            "+46701234567".to_owned(),
            street,
        ],
    }
}

/// A random trace id (32 hex digits) and a `traceparent` of a sampled client span in it.
fn client_trace() -> (String, String) {
    let trace_id = hearth_domain::new_id().simple().to_string();
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    (trace_id, traceparent)
}

async fn register(
    channel: Channel,
    token: &str,
    registration: &InterestRegistration,
    idempotency_key: &str,
    traceparent: &str,
) -> Result<CreateInterestRegistrationResponse, tonic::Status> {
    let mut request = authorized(
        CreateInterestRegistrationRequest {
            interest_registration: Some(registration.clone()),
            idempotency_key: idempotency_key.to_owned(),
        },
        token,
    );
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().expect("valid metadata"));
    IntakeServiceClient::new(channel)
        .create_interest_registration(request)
        .await
        .map(tonic::Response::into_inner)
}

/// What the watching consumer received, as it came off the bus.
struct Received {
    subject: String,
    msg_id: Option<String>,
    headers: BTreeMap<String, String>,
    payload: Vec<u8>,
    delivered_count: u32,
    envelope: EventEnvelope,
}

/// Waits until the intake outbox has nothing unsent: every row was published and acknowledged.
async fn outbox_drained(db: &sea_orm::DatabaseConnection, outbox: &Outbox) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let unsent = outbox.unsent_count(db).await.unwrap();
        if unsent == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{unsent} intake outbox row(s) still unsent after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn exactly_once_with_trace_context(storage: Storage, bus: Bus) {
    let Some(hearth) = TestHearth::builder(hearth::all_services())
        .storage(storage)
        .bus(bus)
        .start()
        .await
    else {
        return;
    };
    let settings = hearth.settings().clone();
    let county = hearth.county().to_owned();
    let subject = CountySubjects::new(&county)
        .unwrap()
        .event(EVENT_TYPE)
        .unwrap();

    // Watch the subject before anything is registered.
    let observer: std::sync::Arc<dyn EventBus> = backends::open_bus(&settings).await.unwrap();
    let watch = observer
        .consumer(ConsumerSpec::new("e2ewatch-interest", subject.clone()))
        .await
        .unwrap();

    let channel = hearth.channel().await;
    let token = hearth.token(&[Role::PublicIntake], None);
    let intake_db = backends::open_database(&settings, "intake").await.unwrap();
    let intake_outbox = Outbox::new(&county, "intake").unwrap();
    let started = chrono::Utc::now() - chrono::TimeDelta::seconds(1);

    // 1. A registration, then the client's retry with the same key in another trace: the
    //    first answer again, no second event.
    let first = household([(1984, 3, 12), (1986, 7, 1)], [123, 456], "Lindqvist");
    let first_key = hearth_domain::new_id().to_string();
    let (first_trace, first_traceparent) = client_trace();
    let created = register(
        channel.clone(),
        &token,
        &first.registration,
        &first_key,
        &first_traceparent,
    )
    .await
    .expect("a valid registration is accepted");
    assert_eq!(
        created.outcome(),
        RegistrationOutcome::Created,
        "{created:?}"
    );
    assert!(!created.interest_registration_id.is_empty());
    let (_, retry_traceparent) = client_trace();
    let retried = register(
        channel.clone(),
        &token,
        &first.registration,
        &first_key,
        &retry_traceparent,
    )
    .await
    .expect("a retry with the same key is answered");
    assert_eq!(
        retried, created,
        "a retry with the same idempotency key returns the first result"
    );

    // 2. The same household sending the form again (a new key): linked to its open
    //    registration, nothing new stored or published.
    let (_, again_traceparent) = client_trace();
    let again = register(
        channel.clone(),
        &token,
        &first.registration,
        &hearth_domain::new_id().to_string(),
        &again_traceparent,
    )
    .await
    .expect("a repeated registration is answered");
    assert_eq!(
        again.outcome(),
        RegistrationOutcome::LinkedToOpenRegistration,
        "{again:?}"
    );
    assert_eq!(
        again.interest_registration_id,
        created.interest_registration_id
    );

    // 3. Another household, sent by several clients at once with one key (a client that
    //    retries before its first call has answered): one registration, one event. A call
    //    that overlaps the first may be answered `ABORTED` (`CONCURRENT_RETRY`); the client
    //    retries it, as gRPC clients do, and then gets the first result.
    let second = household([(1979, 11, 30), (1981, 2, 14)], [789, 321], "Berglund");
    let second_key = hearth_domain::new_id().to_string();
    let mut callers = Vec::new();
    let mut second_traces = BTreeSet::new();
    for _ in 0..CONCURRENT_RETRIES {
        let (trace_id, traceparent) = client_trace();
        second_traces.insert(trace_id);
        let (channel, token, registration, key) = (
            channel.clone(),
            token.clone(),
            second.registration.clone(),
            second_key.clone(),
        );
        callers.push(tokio::spawn(async move {
            let mut attempts = 1;
            loop {
                match register(channel.clone(), &token, &registration, &key, &traceparent).await {
                    Err(status) if status.code() == Code::Aborted && attempts < 5 => {
                        attempts += 1;
                        tokio::time::sleep(Duration::from_millis(20 * attempts)).await;
                    }
                    answer => return answer,
                }
            }
        }));
    }
    let mut answers = Vec::new();
    for caller in callers {
        answers.push(
            caller
                .await
                .unwrap()
                .expect("concurrent calls with one key are all answered (after retrying ABORTED)"),
        );
    }
    let second_id = answers[0].interest_registration_id.clone();
    assert_ne!(second_id, created.interest_registration_id);
    for answer in &answers {
        assert_eq!(
            answer, &answers[0],
            "concurrent calls with one idempotency key get one answer"
        );
    }
    assert_eq!(answers[0].outcome(), RegistrationOutcome::Created);

    // 4. The relay publishes both rows again with their event ids, as after a crash between
    //    the bus's acknowledgement and marking the rows sent (or `hearth replay`): the bus
    //    keeps the first copy only.
    outbox_drained(&intake_db, &intake_outbox).await;
    let marked = intake_outbox
        .mark_for_replay(&intake_db, started)
        .await
        .unwrap();
    assert!(
        marked >= 2,
        "both registrations' events were sent: {marked}"
    );
    outbox_drained(&intake_db, &intake_outbox).await;

    // The database: one outbox row per registration.
    for id in [&created.interest_registration_id, &second_id] {
        let rows = outbox::Entity::find()
            .filter(outbox::Column::EventType.eq(EVENT_TYPE))
            .filter(outbox::Column::AggregateId.eq(id.as_str()))
            .count(&intake_db)
            .await
            .unwrap();
        assert_eq!(rows, 1, "one {EVENT_TYPE} outbox row for registration {id}");
    }

    // The bus: every message on the subject. Every publish was acknowledged before the outbox
    // drained, so what is stored is in the stream now; a quiet second ends the watch.
    let mut received: BTreeMap<String, Vec<Received>> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let deliveries = watch.fetch(100, Duration::from_secs(1)).await.unwrap();
        if deliveries.is_empty() {
            break;
        }
        for delivery in deliveries {
            let envelope = delivery.envelope().expect("the envelope decodes");
            received
                .entry(envelope.aggregate_id.clone())
                .or_default()
                .push(Received {
                    subject: delivery.subject().to_owned(),
                    msg_id: delivery.msg_id().map(str::to_owned),
                    headers: delivery.headers().clone(),
                    payload: delivery.payload().to_vec(),
                    delivered_count: delivery.delivered_count(),
                    envelope,
                });
            delivery.ack().await.unwrap();
        }
        assert!(Instant::now() < deadline, "the subject never went quiet");
    }
    assert_eq!(
        received.keys().collect::<BTreeSet<_>>(),
        BTreeSet::from([&created.interest_registration_id, &second_id]),
        "{EVENT_TYPE} messages arrived for exactly the two registrations"
    );

    let keyring = backends::open_keyring(&settings).unwrap();
    let expectations = [
        (
            &created.interest_registration_id,
            &first,
            BTreeSet::from([first_trace]),
        ),
        (&second_id, &second, second_traces),
    ];
    for (id, household, caller_traces) in expectations {
        let messages = &received[id];
        assert_eq!(
            messages.len(),
            1,
            "exactly one {EVENT_TYPE} message for registration {id}"
        );
        let message = &messages[0];
        assert_eq!(message.delivered_count, 1);
        assert_eq!(message.subject, subject);

        let envelope = &message.envelope;
        assert_eq!(envelope.event_type, EVENT_TYPE);
        assert_eq!(&envelope.aggregate_id, id);
        assert_eq!(envelope.aggregate_version, 1);
        assert_eq!(envelope.county, county);
        assert_eq!(envelope.producer, "intake");
        assert_eq!(
            message.msg_id.as_deref(),
            Some(envelope.event_id.as_str()),
            "the message id is the event id"
        );
        let any = envelope.payload.as_ref().expect("a payload");
        assert_eq!(
            any.type_url,
            "type.googleapis.com/hearth.events.v1.InterestRegistered"
        );
        let payload =
            InterestRegistered::decode(any.value.as_slice()).expect("the payload decodes");
        assert_eq!(&payload.interest_registration_id, id);
        assert_eq!(
            payload
                .home_municipality
                .as_ref()
                .map(|code| code.value.as_str()),
            Some(FALUN)
        );

        // The trace: the first caller's (for the concurrent calls, one of theirs).
        let traceparent = message
            .headers
            .get("traceparent")
            .unwrap_or_else(|| panic!("a traceparent header: {:?}", message.headers.keys()));
        let trace_id = traceparent.split('-').nth(1).unwrap_or_default();
        assert!(
            caller_traces.contains(trace_id),
            "the message continues the caller's trace: {traceparent} not in {caller_traces:?}"
        );

        // The household: sealed with the county's data key, bound to the registration, and
        // the clear text nowhere in the message.
        let sealed = payload.household.as_ref().expect("the household is sent");
        assert!(!sealed.key_id.is_empty() && !sealed.ciphertext.is_empty());
        let opened: HouseholdDetails = keyring
            .open_message(sealed, id)
            .expect("the household opens with the data key and the registration's id");
        assert_eq!(
            opened
                .adults
                .iter()
                .map(|adult| adult.personal_identity_number.clone())
                .collect::<Vec<_>>(),
            household.personal_identity_numbers
        );
        let mut raw = message.subject.as_bytes().to_vec();
        raw.extend(message.msg_id.iter().flat_map(|id| id.bytes()));
        for (name, value) in &message.headers {
            raw.extend(name.bytes().chain(value.bytes()));
        }
        raw.extend(&message.payload);
        for secret in household
            .personal_identity_numbers
            .iter()
            .chain(&household.other_personal_data)
        {
            assert!(
                !contains(&raw, secret.as_bytes()),
                "personal data in the clear on the bus (registration {id})"
            );
        }
        // Nor the ten-digit form of the numbers.
        for number in &household.personal_identity_numbers {
            assert!(!contains(&raw, &number.as_bytes()[2..]));
        }
    }

    intake_db.close().await.unwrap();
    hearth.stop().await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_interest_registered_exactly_once_with_trace_context() {
    exactly_once_with_trace_context(Storage::Sqlite, Bus::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_nats_interest_registered_exactly_once_with_trace_context() {
    exactly_once_with_trace_context(Storage::Postgres, Bus::Nats).await;
}
