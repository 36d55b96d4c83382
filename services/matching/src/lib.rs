//! Matching: the pool of approved families, candidate lists, proposals and placements.
//!
//! Layout (the same in every service): `api/` is the gRPC adapter, `events.rs` the event
//! handlers, both calling `app/` (the read models of the pool and the open requests, and their
//! conversion to the rules' types), which works with `domain/` (the pure rules), `store/`
//! (entities and migrations) and `published.rs` (the events matching publishes); this file is
//! the wiring. RPCs that are not built yet answer `Unimplemented` (the generated default).

mod api;
pub mod app;
pub mod domain;
mod events;
mod published;
pub mod store;

use hearth_proto::matching::v1::matching_service_server::MatchingServiceServer;
use hearth_rpc::{HearthService, ServiceContext, Subscription};
use std::sync::Arc;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;

/// The matching service, as the runtime hosts it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Matching;

impl HearthService for Matching {
    const NAME: &'static str = "matching";
    type Migrator = store::Migrator;

    fn grpc_service_names(&self) -> Vec<&'static str> {
        vec![<MatchingServiceServer<api::MatchingApi> as NamedService>::NAME]
    }

    fn mount(&self, ctx: &ServiceContext, routes: &mut RoutesBuilder) {
        routes.add_service(MatchingServiceServer::new(api::MatchingApi::new(
            ctx.clone(),
        )));
    }

    fn subscriptions(&self, ctx: &ServiceContext) -> Vec<Subscription> {
        vec![
            Subscription {
                name: "families",
                subject_pattern: "family.*",
                handler: Arc::new(events::FamilyHandler::new(ctx.clone())),
            },
            Subscription {
                name: "requests",
                subject_pattern: "request.*",
                handler: Arc::new(events::RequestHandler::new(ctx.clone())),
            },
            Subscription {
                name: "training",
                subject_pattern: "training.completed",
                handler: Arc::new(events::TrainingHandler::new(ctx.clone())),
            },
        ]
    }
}
