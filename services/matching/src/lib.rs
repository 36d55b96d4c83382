//! Matching: the pool of approved families, candidate lists, proposals and placements.
//!
//! Layout (the same in every service): `api.rs` is the gRPC adapter, `domain/` the pure rules,
//! `store/` the entities, queries and migrations, `events.rs` the event handlers, and this file
//! the wiring. RPCs that are not built yet answer `Unimplemented` (the generated default).

mod api;
pub mod domain;
pub mod store;

use hearth_proto::matching::v1::matching_service_server::MatchingServiceServer;
use hearth_rpc::{HearthService, ServiceContext};
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
}
