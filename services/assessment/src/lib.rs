//! Assessment: assessment cases, register checks, decisions and the family profiles of approved families.
//!
//! Layout (the same in every service): `api.rs` is the gRPC adapter, `domain/` the pure rules,
//! `store/` the entities, queries and migrations, `events.rs` the event handlers, and this file
//! the wiring. RPCs that are not built yet answer `Unimplemented` (the generated default).

mod api;
pub mod store;

use hearth_proto::assessment::v1::assessment_service_server::AssessmentServiceServer;
use hearth_rpc::{HearthService, ServiceContext};
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;

/// The assessment service, as the runtime hosts it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Assessment;

impl HearthService for Assessment {
    const NAME: &'static str = "assessment";
    type Migrator = store::Migrator;

    fn grpc_service_names(&self) -> Vec<&'static str> {
        vec![<AssessmentServiceServer<api::AssessmentApi> as NamedService>::NAME]
    }

    fn mount(&self, ctx: &ServiceContext, routes: &mut RoutesBuilder) {
        routes.add_service(AssessmentServiceServer::new(api::AssessmentApi::new(
            ctx.clone(),
        )));
    }
}
