//! One trace follows a request across services: a gRPC call with a W3C `traceparent` reaches
//! a handler that writes an event to its outbox; the relay carries the trace context in the
//! message headers; another service's consumer applies the event inside the same trace. Run on
//! the embedded bus and on NATS JetStream.
//!
//! The two services here are test doubles built on the real hosting runtime: the services'
//! own RPCs and handlers arrive with their issues, the propagation they rely on is tested now.

use hearth_auth::Role;
use hearth_bus::{EventHandler, HandlerError, NewEvent, pack_payload};
use hearth_proto::events::v1::{EventEnvelope, PlacementRequestOpened};
use hearth_proto::intake::v1::intake_service_client::IntakeServiceClient;
use hearth_proto::intake::v1::intake_service_server::{IntakeService, IntakeServiceServer};
use hearth_proto::intake::v1::{CreatePlacementRequestRequest, CreatePlacementRequestResponse};
use hearth_rpc::{HearthService, ServiceContext, ServiceError, Subscription};
use hearth_telemetry::propagation::trace_id_of_current_span;
use hearth_testkit::{Bus, Storage, TestHearth, authorized};
use sea_orm::{DatabaseTransaction, TransactionTrait};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::service::RoutesBuilder;

/// Where the work happened, and the trace id it happened in.
type Sighting = (&'static str, Option<String>);

/// Trace ids seen where the work happened.
#[derive(Debug, Default, Clone)]
struct Seen(Arc<Mutex<Vec<Sighting>>>);

impl Seen {
    fn record(&self, place: &'static str) {
        self.0
            .lock()
            .expect("not poisoned")
            .push((place, trace_id_of_current_span()));
    }

    fn at(&self, place: &str) -> Vec<Option<String>> {
        let seen = self.0.lock().expect("not poisoned");
        seen.iter()
            .filter(|(p, _)| *p == place)
            .map(|(_, id)| id.clone())
            .collect()
    }
}

/// A producer: answers `CreatePlacementRequest` by writing `request.opened` to its outbox.
struct Producer(Seen);

struct ProducerApi {
    ctx: ServiceContext,
    seen: Seen,
}

#[tonic::async_trait]
impl IntakeService for ProducerApi {
    async fn create_placement_request(
        &self,
        _request: tonic::Request<CreatePlacementRequestRequest>,
    ) -> Result<tonic::Response<CreatePlacementRequestResponse>, tonic::Status> {
        self.seen.record("grpc handler");
        let id = hearth_domain::new_id().to_string();
        let payload = PlacementRequestOpened {
            placement_request_id: id.clone(),
            facts: None,
        };
        let txn = self.ctx.db.begin().await.map_err(ServiceError::from)?;
        self.ctx
            .outbox
            .enqueue(
                &txn,
                NewEvent::new(
                    "request.opened",
                    id,
                    1,
                    pack_payload("hearth.events.v1.PlacementRequestOpened", &payload),
                ),
            )
            .await
            .map_err(ServiceError::internal)?;
        txn.commit().await.map_err(ServiceError::from)?;
        self.ctx.outbox.notify_relay();
        Ok(tonic::Response::new(
            CreatePlacementRequestResponse::default(),
        ))
    }
}

impl HearthService for Producer {
    const NAME: &'static str = "producer";
    type Migrator = hearth_bus::BusMigrator;

    fn grpc_service_names(&self) -> Vec<&'static str> {
        vec!["hearth.intake.v1.IntakeService"]
    }

    fn mount(&self, ctx: &ServiceContext, routes: &mut RoutesBuilder) {
        routes.add_service(IntakeServiceServer::new(ProducerApi {
            ctx: ctx.clone(),
            seen: self.0.clone(),
        }));
    }
}

/// A consumer of `request.*`.
struct Consumer(Seen);

struct RecordTrace(Seen);

#[tonic::async_trait]
impl EventHandler for RecordTrace {
    async fn handle(
        &self,
        _txn: &DatabaseTransaction,
        _event: &EventEnvelope,
    ) -> Result<(), HandlerError> {
        self.0.record("event handler");
        Ok(())
    }
}

impl HearthService for Consumer {
    const NAME: &'static str = "consumer";
    type Migrator = hearth_bus::BusMigrator;

    fn grpc_service_names(&self) -> Vec<&'static str> {
        Vec::new()
    }

    fn mount(&self, _ctx: &ServiceContext, _routes: &mut RoutesBuilder) {}

    fn subscriptions(&self, _ctx: &ServiceContext) -> Vec<Subscription> {
        vec![Subscription {
            name: "requests",
            subject_pattern: "request.*",
            handler: Arc::new(RecordTrace(self.0.clone())),
        }]
    }
}

async fn one_trace_spans_grpc_outbox_bus_and_consumer(storage: Storage, bus: Bus) {
    let seen = Seen::default();
    let Some(hearth) = TestHearth::builder(vec![
        Box::new(Producer(seen.clone())),
        Box::new(Consumer(seen.clone())),
    ])
    .storage(storage)
    .bus(bus)
    .start()
    .await
    else {
        return;
    };
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut request = authorized(
        CreatePlacementRequestRequest::default(),
        &hearth.token(&[Role::MunicipalityStaff], Some("2080")),
    );
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-00f067aa0ba902b7-01")
            .parse()
            .expect("valid metadata"),
    );
    IntakeServiceClient::new(hearth.channel().await)
        .create_placement_request(request)
        .await
        .expect("the producer answers");
    assert_eq!(
        seen.at("grpc handler"),
        [Some(trace_id.to_owned())],
        "the gRPC handler joins the caller's trace"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.at("event handler").is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen.at("event handler"),
        [Some(trace_id.to_owned())],
        "the consumer applies the event inside the caller's trace"
    );
    hearth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_one_trace_across_services() {
    one_trace_spans_grpc_outbox_bus_and_consumer(Storage::Sqlite, Bus::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_nats_one_trace_across_services() {
    one_trace_spans_grpc_outbox_bus_and_consumer(Storage::Postgres, Bus::Nats).await;
}
