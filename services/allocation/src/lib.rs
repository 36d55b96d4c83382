//! Cost allocation: members, keys, budgets, allocation runs and invoices between the member
//! municipalities.
//!
//! Layout (the same in every service): `api/` is the gRPC adapter (one module per resource),
//! `app/` what RPC and event handlers both do (the year rows of keys and budgets, use values),
//! `domain/` the pure rules, `store/` the entities, queries and migrations, `published.rs` the
//! event kinds the service publishes, `events.rs` the event handlers, and this file the wiring.
//! Beside them: `files.rs` and `report.rs` (the CLI contract of `hearth allocation run`: the
//! members and budget files, the CSV outputs and the printable HTML report), `submit.rs`
//! (`hearth allocation submit`, the yearly job's call), so that the `hearth` binary only parses
//! arguments, and `convert.rs` (wire ⇄ records and domain values), which sits here rather than in
//! `api/` because `submit.rs` converts with it too. Every RPC of the contract is built;
//! `placement.started` and `placement.ended` keep the use values of use-based keys current
//! (`events.rs`).

mod api;
mod app;
mod convert;
pub mod domain;
mod events;
pub mod files;
mod published;
pub mod report;
pub mod store;
pub mod submit;

use hearth_proto::allocation::v1::allocation_service_server::AllocationServiceServer;
use hearth_rpc::{HearthService, ServiceContext, Subscription};
use std::sync::Arc;
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

    fn subscriptions(&self, ctx: &ServiceContext) -> Vec<Subscription> {
        vec![Subscription {
            name: "placements",
            subject_pattern: "placement.*",
            handler: Arc::new(events::PlacementHandler::new(ctx.clone())),
        }]
    }
}
