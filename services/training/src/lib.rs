//! Training: courses, sessions, enrolments and attendance.
//!
//! Layout (the same in every service): `api.rs` is the gRPC adapter, `domain/` the pure rules,
//! `store/` the entities, queries and migrations, `events.rs` the event handlers, and this file
//! the wiring. RPCs that are not built yet answer `Unimplemented` (the generated default).

mod api;
pub mod store;

use hearth_proto::training::v1::training_service_server::TrainingServiceServer;
use hearth_rpc::{HearthService, ServiceContext};
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;

/// The training service, as the runtime hosts it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Training;

impl HearthService for Training {
    const NAME: &'static str = "training";
    type Migrator = store::Migrator;

    fn grpc_service_names(&self) -> Vec<&'static str> {
        vec![<TrainingServiceServer<api::TrainingApi> as NamedService>::NAME]
    }

    fn mount(&self, ctx: &ServiceContext, routes: &mut RoutesBuilder) {
        routes.add_service(TrainingServiceServer::new(api::TrainingApi::new(
            ctx.clone(),
        )));
    }
}
