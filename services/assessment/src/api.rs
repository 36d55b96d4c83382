//! The gRPC adapter of the assessment service: requests in, domain calls, responses out.

use hearth_proto::assessment::v1::assessment_service_server::AssessmentService;
use hearth_rpc::ServiceContext;

pub struct AssessmentApi {
    #[expect(
        dead_code,
        reason = "the handlers arrive with the assessment service's own issue"
    )]
    ctx: ServiceContext,
}

impl AssessmentApi {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl AssessmentService for AssessmentApi {}
