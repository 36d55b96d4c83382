//! Follow-up: surveys, responses, statistics and reports; the read model of every event.
//!
//! Layout (the same in every service): `api.rs` is the gRPC adapter, `domain/` the pure rules,
//! `store/` the entities, queries and migrations, `events.rs` the event handlers, and this file
//! the wiring. RPCs that are not built yet answer `Unimplemented` (the generated default).

mod api;
pub mod store;

use hearth_proto::followup::v1::followup_service_server::FollowupServiceServer;
use hearth_rpc::{HearthService, ServiceContext};
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;

/// The followup service, as the runtime hosts it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Followup;

impl HearthService for Followup {
    const NAME: &'static str = "followup";
    type Migrator = store::Migrator;

    fn grpc_service_names(&self) -> Vec<&'static str> {
        vec![<FollowupServiceServer<api::FollowupApi> as NamedService>::NAME]
    }

    fn mount(&self, ctx: &ServiceContext, routes: &mut RoutesBuilder) {
        routes.add_service(FollowupServiceServer::new(api::FollowupApi::new(
            ctx.clone(),
        )));
    }
}
