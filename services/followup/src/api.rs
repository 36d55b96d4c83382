//! The gRPC adapter of the followup service: requests in, domain calls, responses out.

use hearth_proto::followup::v1::followup_service_server::FollowupService;
use hearth_rpc::ServiceContext;

pub struct FollowupApi {
    #[expect(
        dead_code,
        reason = "the handlers arrive with the followup service's own issue"
    )]
    ctx: ServiceContext,
}

impl FollowupApi {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl FollowupService for FollowupApi {}
