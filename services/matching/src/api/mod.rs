//! The gRPC adapter of the matching service: requests in, domain calls, responses out.

use hearth_proto::matching::v1::matching_service_server::MatchingService;
use hearth_rpc::ServiceContext;

pub struct MatchingApi {
    #[expect(
        dead_code,
        reason = "the handlers arrive with the matching service's own issue"
    )]
    ctx: ServiceContext,
}

impl MatchingApi {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl MatchingService for MatchingApi {}
