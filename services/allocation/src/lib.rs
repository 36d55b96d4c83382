//! Cost allocation: members, keys, budgets, allocation runs and invoices between the member municipalities.
//!
//! Layout (the same in every service): `api.rs` is the gRPC adapter, `domain/` the pure rules,
//! `store/` the entities, queries and migrations, `events.rs` the event handlers, and this file
//! the wiring. RPCs that are not built yet answer `Unimplemented` (the generated default).

mod api;
pub mod store;

use hearth_proto::allocation::v1::allocation_service_server::AllocationServiceServer;
use hearth_rpc::{HearthService, ServiceContext};
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;

/// The allocation service, as the runtime hosts it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Allocation;

impl HearthService for Allocation {
    const NAME: &'static str = "allocation";
    type Migrator = store::Migrator;

    fn grpc_service_names(&self) -> Vec<&'static str> {
        vec![<AllocationServiceServer<api::AllocationApi> as NamedService>::NAME]
    }

    fn mount(&self, ctx: &ServiceContext, routes: &mut RoutesBuilder) {
        routes.add_service(AllocationServiceServer::new(api::AllocationApi::new(
            ctx.clone(),
        )));
    }
}
