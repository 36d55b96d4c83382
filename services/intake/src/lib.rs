//! Intake: interest registrations from prospective foster families and placement requests from municipalities.
//!
//! Layout (the same in every service; ARCHITECTURE.md, "The shape of a service"): `api/` is the
//! gRPC adapter (accept, convert, call, answer), `events.rs` the event consumers, `app/` what
//! both of them do, `domain/` the pure rules, `store/` the entities, queries and migrations,
//! `published.rs` the events intake publishes, and this file the wiring.

mod api;
mod app;
pub mod domain;
mod events;
mod published;
pub mod store;

use hearth_proto::intake::v1::intake_service_server::IntakeServiceServer;
use hearth_rpc::{HearthService, ServiceContext, Subscription};
use std::sync::Arc;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;

/// The intake service, as the runtime hosts it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Intake;

impl HearthService for Intake {
    const NAME: &'static str = "intake";
    type Migrator = store::Migrator;

    fn grpc_service_names(&self) -> Vec<&'static str> {
        vec![<IntakeServiceServer<api::IntakeApi> as NamedService>::NAME]
    }

    fn mount(&self, ctx: &ServiceContext, routes: &mut RoutesBuilder) {
        routes.add_service(IntakeServiceServer::new(api::IntakeApi::new(ctx.clone())));
    }

    fn subscriptions(&self, ctx: &ServiceContext) -> Vec<Subscription> {
        vec![Subscription {
            name: "placements",
            subject_pattern: "placement.started",
            handler: Arc::new(events::PlacementStartedHandler::new(ctx.clone())),
        }]
    }
}
