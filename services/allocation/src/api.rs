//! The gRPC adapter of the allocation service: requests in, domain calls, responses out.

use hearth_proto::allocation::v1::allocation_service_server::AllocationService;
use hearth_rpc::ServiceContext;

pub struct AllocationApi {
    #[expect(
        dead_code,
        reason = "the handlers arrive with the allocation service's own issue"
    )]
    ctx: ServiceContext,
}

impl AllocationApi {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl AllocationService for AllocationApi {}
