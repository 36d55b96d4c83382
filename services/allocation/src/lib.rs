//! Cost allocation: members, keys, budgets, allocation runs and invoices between the member municipalities.
//!
//! Layout (the same in every service): `api.rs` is the gRPC adapter, `domain/` the pure rules,
//! `store/` the entities, queries and migrations, `events.rs` the event handlers, and this file
//! the wiring. Beside them: `files.rs` and `report.rs` (the CLI contract of `hearth allocation
//! run`: the members and budget files, the CSV outputs and the printable HTML report) and
//! `submit.rs` (`hearth allocation submit`, the yearly job's call), so that the `hearth` binary
//! only parses arguments. Every RPC of the contract is built; `placement.*` events are not
//! consumed yet (use values come from finance's key).

mod api;
mod convert;
pub mod domain;
pub mod files;
pub mod report;
pub mod store;
pub mod submit;

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
