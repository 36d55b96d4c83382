//! The platform spine as a client sees it: health, reflection, and the token rules.

use hearth_auth::Role;
use hearth_bus::{ConsumerSpec, NewEvent, Outbox, pack_payload};
use hearth_proto::events::v1::PlacementRequestOpened;
use hearth_rpc::backends;
use hearth_testkit::{Bus, Storage, TestHearth, call_unrouted};
use sea_orm::{ConnectionTrait, TransactionTrait};
use std::collections::BTreeSet;
use std::time::Duration;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A method no service has: what the caller gets shows the auth layer's decision alone.
const UNROUTED: &str = "/hearth.matching.v1.MatchingService/NoSuchMethod";

const SERVICES: [&str; 6] = [
    "hearth.intake.v1.IntakeService",
    "hearth.assessment.v1.AssessmentService",
    "hearth.matching.v1.MatchingService",
    "hearth.training.v1.TrainingService",
    "hearth.followup.v1.FollowupService",
    "hearth.allocation.v1.AllocationService",
];

async fn start(storage: Storage, bus: Bus) -> Option<TestHearth> {
    TestHearth::builder(hearth::all_services())
        .storage(storage)
        .bus(bus)
        .start()
        .await
}

async fn every_service_is_serving(hearth: TestHearth) {
    let mut health = HealthClient::new(hearth.channel().await);
    for service in SERVICES.into_iter().chain([""]) {
        let status = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap_or_else(|status| panic!("{service:?}: {status:?}"))
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "hearth.nothing.v1.Nothing".to_owned(),
        })
        .await
        .expect_err("unknown service");
    assert_eq!(unknown.code(), Code::NotFound);
    hearth.stop().await;
}

async fn reflection_serves_old_and_new_clients(hearth: TestHearth) {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    let mut client = ServerReflectionClient::new(hearth.channel().await);
    let requests = [
        MessageRequest::ListServices(String::new()),
        MessageRequest::FileContainingSymbol("hearth.intake.v1.IntakeService".to_owned()),
    ]
    .map(|message| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(message),
    });
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    match responses.message().await.unwrap().unwrap().message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
            for service in SERVICES {
                assert!(
                    names.iter().any(|name| name == service),
                    "{service} missing from {names:?}"
                );
            }
        }
        other => panic!("expected a service list, got {other:?}"),
    }
    match responses.message().await.unwrap().unwrap().message_response {
        Some(MessageResponse::FileDescriptorResponse(files)) => {
            assert!(!files.file_descriptor_proto.is_empty());
        }
        other => panic!("expected the intake descriptor, got {other:?}"),
    }
    hearth.stop().await;
}

async fn tokens_are_checked(hearth: TestHearth) {
    let channel = hearth.channel().await;

    let none = call_unrouted(channel.clone(), UNROUTED, None).await;
    assert_eq!(none.code(), Code::Unauthenticated, "{none:?}");

    let garbage = call_unrouted(channel.clone(), UNROUTED, Some("not.a.token")).await;
    assert_eq!(garbage.code(), Code::Unauthenticated, "{garbage:?}");

    let two_hours_ago = chrono::Utc::now() - chrono::TimeDelta::hours(2);
    let expired = hearth
        .key()
        .mint_at(hearth.mint_request(), two_hours_ago)
        .unwrap();
    let expired = call_unrouted(channel.clone(), UNROUTED, Some(&expired)).await;
    assert_eq!(expired.code(), Code::Unauthenticated, "{expired:?}");

    let mut elsewhere = hearth.mint_request();
    elsewhere.county = hearth_domain::CountySlug::parse(if hearth.county() == "jonkoping" {
        "dalarna"
    } else {
        "jonkoping"
    })
    .unwrap();
    let elsewhere = call_unrouted(channel.clone(), UNROUTED, Some(&hearth.mint(elsewhere))).await;
    assert_eq!(elsewhere.code(), Code::PermissionDenied, "{elsewhere:?}");

    let mut wrong_issuer = hearth.mint_request();
    wrong_issuer.issuer = "someone-else".to_owned();
    let wrong_issuer =
        call_unrouted(channel.clone(), UNROUTED, Some(&hearth.mint(wrong_issuer))).await;
    assert_eq!(
        wrong_issuer.code(),
        Code::Unauthenticated,
        "{wrong_issuer:?}"
    );

    let valid = hearth.token(&[Role::UnitStaff], None);
    let through = call_unrouted(channel, UNROUTED, Some(&valid)).await;
    assert_eq!(
        through.code(),
        Code::Unimplemented,
        "a valid token reaches the router: {through:?}"
    );
    hearth.stop().await;
}

async fn shutdown_is_clean_and_quick(hearth: TestHearth) {
    let started = std::time::Instant::now();
    let addr = hearth.addr();
    hearth.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let refused = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await;
    assert!(refused.is_err(), "the port is closed after shutdown");
}

/// Ctrl-C must not lose what was committed: events written to a service's outbox just before
/// shutdown are on the bus once the instance has stopped.
async fn committed_events_are_flushed_on_shutdown(mut hearth: TestHearth) {
    let settings = hearth.settings().clone();
    // Write as the intake service does, through a second connection to its database.
    let db = backends::open_database(&settings, "intake").await.unwrap();
    let outbox = Outbox::new(hearth.county(), "intake").unwrap();
    let txn = db.begin().await.unwrap();
    let mut written = BTreeSet::new();
    for _ in 0..25 {
        let request_id = hearth_domain::new_id().to_string();
        let payload = PlacementRequestOpened {
            placement_request_id: request_id.clone(),
            facts: None,
        };
        let event = NewEvent::new(
            "request.opened",
            request_id,
            1,
            pack_payload("hearth.events.v1.PlacementRequestOpened", &payload),
        );
        written.insert(outbox.enqueue(&txn, event).await.unwrap().event_id);
    }
    txn.commit().await.unwrap();
    db.close().await.unwrap();

    hearth.shutdown().await;

    let bus = backends::open_bus(&settings).await.unwrap();
    let consumer = bus
        .consumer(ConsumerSpec::new(
            "e2e-check",
            format!("hearth.{}.request.>", hearth.county()),
        ))
        .await
        .unwrap();
    let mut delivered = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while delivered.len() < written.len() && tokio::time::Instant::now() < deadline {
        for delivery in consumer
            .fetch(100, Duration::from_millis(500))
            .await
            .unwrap()
        {
            delivered.insert(delivery.envelope().unwrap().event_id);
            delivery.ack().await.unwrap();
        }
    }
    assert_eq!(
        delivered, written,
        "every committed event is on the bus after shutdown"
    );
    hearth.stop().await;
}

/// Every service's database carries the shared tables (outbox, inbox, audit log) after start.
async fn every_service_database_is_migrated(hearth: TestHearth) {
    for service in hearth::all_services() {
        let db = backends::open_database(hearth.settings(), service.name())
            .await
            .unwrap();
        for table in ["hearth_outbox", "hearth_inbox", "hearth_audit_log"] {
            db.execute_unprepared(&format!("SELECT COUNT(*) FROM {table}"))
                .await
                .unwrap_or_else(|error| panic!("{}: {table}: {error}", service.name()));
        }
        service.ensure_migrated(&db).await.unwrap();
        db.close().await.unwrap();
    }
    hearth.stop().await;
}

macro_rules! platform_suite {
    ($name:ident, $storage:expr, $bus:expr) => {
        mod $name {
            use super::*;

            macro_rules! case {
                ($test:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $test() {
                        let Some(hearth) = start($storage, $bus).await else {
                            return;
                        };
                        super::$test(hearth).await;
                    }
                };
            }

            case!(every_service_is_serving);
            case!(reflection_serves_old_and_new_clients);
            case!(tokens_are_checked);
            case!(shutdown_is_clean_and_quick);
            case!(committed_events_are_flushed_on_shutdown);
            case!(every_service_database_is_migrated);
        }
    };
}

platform_suite!(embedded, Storage::Sqlite, Bus::Embedded);
platform_suite!(postgres_nats, Storage::Postgres, Bus::Nats);
