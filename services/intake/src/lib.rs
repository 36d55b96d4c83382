//! Intake: interest registrations from prospective foster families and placement requests from municipalities.
//!
//! Layout (the same in every service): `api.rs` is the gRPC adapter, `domain/` the pure rules,
//! `store/` the entities, queries and migrations, `events.rs` the event handlers, and this file
//! the wiring. RPCs that are not built yet answer `Unimplemented` (the generated default).

mod api;
pub mod domain;
mod events;
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
