//! Matching's `placement.started` and `placement.ended`, written into the bus as matching's
//! relay writes them, keep the use values of use-based keys current: applied once (a redelivery
//! changes nothing), an end before its start waits for it, an allocated year stays frozen.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hearth_bus::{EventBus, EventEnvelope, OutgoingMessage, pack_payload, timestamp};
use hearth_proto::allocation::v1 as pb;
use hearth_proto::common::v1::{Date, MunicipalityCode, RequestingUnit};
use hearth_proto::events::v1::{PlacementEnded, PlacementStarted};
use hearth_testkit::{Storage, TestHearth, authorized};
use prost::Message;

use super::service::{Client, annual, callers, mask, new_key, set_up_year, start};

/// Publishes events on the test instance's bus, as matching's relay does.
struct Matching {
    bus: Arc<dyn EventBus>,
    county: String,
}

impl Matching {
    async fn new(hearth: &TestHearth) -> Self {
        Self {
            bus: hearth_rpc::backends::open_bus(hearth.settings())
                .await
                .unwrap(),
            county: hearth.county().to_owned(),
        }
    }

    async fn publish(&self, event: &EventEnvelope, msg_id: &str) {
        self.bus
            .publish(OutgoingMessage {
                subject: format!("hearth.{}.{}", self.county, event.event_type),
                msg_id: msg_id.to_owned(),
                headers: BTreeMap::new(),
                payload: event.encode_to_vec(),
            })
            .await
            .unwrap();
    }

    /// Publishes a new event; returns it.
    async fn send(&self, placement: &str, version: u64, payload: Payload) -> EventEnvelope {
        let (event_type, payload) = match payload {
            Payload::Started(started) => (
                "placement.started",
                pack_payload("hearth.events.v1.PlacementStarted", &started),
            ),
            Payload::Ended(ended) => (
                "placement.ended",
                pack_payload("hearth.events.v1.PlacementEnded", &ended),
            ),
        };
        let event = EventEnvelope {
            event_id: uuid::Uuid::now_v7().to_string(),
            event_type: event_type.to_owned(),
            schema_version: 1,
            county: self.county.clone(),
            producer: "matching".to_owned(),
            aggregate_id: placement.to_owned(),
            aggregate_version: version,
            correlation_id: String::new(),
            occurred_at: Some(timestamp(chrono::Utc::now())),
            payload: Some(payload),
        };
        self.publish(&event, &event.event_id).await;
        event
    }
}

enum Payload {
    Started(PlacementStarted),
    Ended(PlacementEnded),
}

fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

fn unit(code: &str) -> Option<RequestingUnit> {
    Some(RequestingUnit {
        municipality: Some(MunicipalityCode {
            value: code.to_owned(),
        }),
        district: String::new(),
    })
}

fn started(placement: &str, code: &str, children: u32, start: Option<Date>) -> Payload {
    Payload::Started(PlacementStarted {
        placement_id: placement.to_owned(),
        requesting_unit: unit(code),
        children,
        start_date: start,
        ..Default::default()
    })
}

fn ended(placement: &str, code: &str, end: Option<Date>) -> Payload {
    Payload::Ended(PlacementEnded {
        placement_id: placement.to_owned(),
        requesting_unit: unit(code),
        end_date: end,
        ..Default::default()
    })
}

/// A key's etag and its use values other than zero, by municipality code.
async fn uses(client: &mut Client, token: &str, year: i32) -> (String, Vec<(String, u64)>) {
    let key = client
        .get_allocation_key(authorized(pb::GetAllocationKeyRequest { year }, token))
        .await
        .unwrap()
        .into_inner()
        .allocation_key
        .unwrap();
    let values = key
        .values
        .iter()
        .filter(|value| value.r#use > 0)
        .map(|value| (value.municipality.clone().unwrap().value, value.r#use))
        .collect();
    (key.etag, values)
}

/// Waits until the key of `year` has the etag and use values expected.
async fn eventually(client: &mut Client, token: &str, year: i32, expected: (&str, &[(&str, u64)])) {
    let expected = (
        expected.0.to_owned(),
        expected
            .1
            .iter()
            .map(|(code, value)| ((*code).to_owned(), *value))
            .collect::<Vec<_>>(),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let found = uses(client, token, year).await;
        if found == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{year}: expected {expected:?}, found {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sets the key of `year` to count use by `measure` (after `set_up_year`, at `v1`).
async fn count_use_by(client: &mut Client, token: &str, year: i32, measure: pb::UseMeasure) {
    let request = pb::UpdateAllocationKeyRequest {
        allocation_key: Some(pb::AllocationKey {
            year,
            use_measure: measure as i32,
            ..Default::default()
        }),
        update_mask: mask(&["use_measure"]),
        etag: "v1".to_owned(),
        allow_missing: false,
    };
    let response = client.update_allocation_key(authorized(request, token));
    let key = response.await.unwrap().into_inner().allocation_key.unwrap();
    assert_eq!(key.etag, "v2");
}

async fn placements_keep_the_use_key_current(hearth: &TestHearth) {
    let who = callers(hearth);
    let finance = who.finance.as_str();
    let mut client = Client::new(hearth.channel().await);
    // 2026 counts the children placed on 31 December 2025, 2027 the placement days of 2026.
    set_up_year(&mut client, finance, 2026).await;
    set_up_year(&mut client, finance, 2027).await;
    count_use_by(&mut client, finance, 2026, pb::UseMeasure::PlacedChildren).await;
    count_use_by(&mut client, finance, 2027, pb::UseMeasure::PlacementDays).await;
    let matching = Matching::new(hearth).await;
    let (falun, borlange, falun_again) = (new_key(), new_key(), new_key());

    // Borlänge's placement ends before its start arrived: the end waits for the start.
    matching
        .send(&borlange, 2, ended(&borlange, "2081", date(2025, 12, 15)))
        .await;
    let first = matching
        .send(&falun, 1, started(&falun, "2080", 2, date(2025, 6, 1)))
        .await;
    matching
        .send(
            &borlange,
            1,
            started(&borlange, "2081", 1, date(2025, 10, 1)),
        )
        .await;
    // Falun's two siblings from 1 June 2025: on 31 December, and every day of 2026; Borlänge's
    // placement had ended by then.
    eventually(&mut client, finance, 2026, ("v5", &[("2080", 2)])).await;
    eventually(&mut client, finance, 2027, ("v5", &[("2080", 2 * 365)])).await;

    // A redelivery is applied once, and a start recorded already is not started again.
    matching.publish(&first, "redelivered").await;
    matching
        .send(&falun, 1, started(&falun, "2080", 5, date(2025, 1, 1)))
        .await;
    matching
        .send(
            &falun_again,
            1,
            started(&falun_again, "2080", 1, date(2026, 7, 1)),
        )
        .await;
    // (Applied in order: once the last changed 2027's key, the first two were skipped.)
    eventually(
        &mut client,
        finance,
        2027,
        ("v6", &[("2080", 2 * 365 + 184)]),
    )
    .await;
    eventually(&mut client, finance, 2026, ("v5", &[("2080", 2)])).await;

    // Once 2026 is allocated its key is part of the run's record: only 2027 changes.
    client
        .create_allocation_run(authorized(annual(2026, &new_key()), finance))
        .await
        .unwrap();
    matching
        .send(&falun, 2, ended(&falun, "2080", date(2026, 6, 30)))
        .await;
    eventually(
        &mut client,
        finance,
        2027,
        ("v7", &[("2080", 2 * 181 + 184)]),
    )
    .await;
    eventually(&mut client, finance, 2026, ("v5", &[("2080", 2)])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let hearth = start(Storage::Sqlite).await.unwrap();
    placements_keep_the_use_key_current(&hearth).await;
    hearth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let Some(hearth) = start(Storage::Postgres).await else {
        return;
    };
    placements_keep_the_use_key_current(&hearth).await;
    hearth.stop().await;
}
