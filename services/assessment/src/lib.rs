//! Assessment: assessment cases, register checks, decisions and the family profiles of approved families.
//!
//! Layout (the same in every service): `api/` is the gRPC adapter (one module per resource,
//! `api/convert.rs` wire ⇄ domain), `events.rs` the event handlers, both calling `app/` (what
//! they share, and the retention job), which works with `domain/` (the pure rules: the stage
//! machine, register-check coverage, timing, profiles), `store/` (entities and migrations) and
//! `published.rs` (the event kinds assessment publishes); this file is the wiring.

mod api;
mod app;
pub mod domain;
mod events;
mod published;
pub mod store;

use hearth_proto::assessment::v1::assessment_service_server::AssessmentServiceServer;
use hearth_rpc::{HearthService, Job, ServiceContext, Subscription};
use std::sync::Arc;
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

    fn subscriptions(&self, ctx: &ServiceContext) -> Vec<Subscription> {
        vec![
            Subscription {
                name: "interests",
                subject_pattern: "interest.*",
                handler: Arc::new(events::InterestHandler::new(ctx.clone())),
            },
            Subscription {
                name: "training",
                subject_pattern: "training.completed",
                handler: Arc::new(events::TrainingHandler::new(ctx.clone())),
            },
        ]
    }

    fn jobs(&self, ctx: &ServiceContext) -> Vec<Job> {
        vec![app::retention::job(ctx)]
    }
}
