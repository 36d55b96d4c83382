//! The gRPC adapter of the intake service: requests in, domain calls, responses out.

use hearth_proto::intake::v1::intake_service_server::IntakeService;
use hearth_rpc::ServiceContext;

pub struct IntakeApi {
    #[expect(
        dead_code,
        reason = "the handlers arrive with the intake service's own issue"
    )]
    ctx: ServiceContext,
}

impl IntakeApi {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl IntakeService for IntakeApi {}
