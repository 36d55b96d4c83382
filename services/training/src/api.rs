//! The gRPC adapter of the training service: requests in, domain calls, responses out.

use hearth_proto::training::v1::training_service_server::TrainingService;
use hearth_rpc::ServiceContext;

pub struct TrainingApi {
    #[expect(
        dead_code,
        reason = "the handlers arrive with the training service's own issue"
    )]
    ctx: ServiceContext,
}

impl TrainingApi {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl TrainingService for TrainingApi {}
