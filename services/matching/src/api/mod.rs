//! The gRPC adapter of the matching service: one line per RPC, the handlers in one module per
//! resource. RPCs that are not built yet answer `Unimplemented` (the generated default).

mod candidates;
mod convert;
mod support;

use hearth_proto::matching::v1 as pb;
use hearth_proto::matching::v1::matching_service_server::MatchingService;
use hearth_rpc::ServiceContext;
use hearth_rpc::handler::answer;
use tonic::{Request, Response, Status};

pub struct MatchingApi {
    ctx: ServiceContext,
}

impl MatchingApi {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl MatchingService for MatchingApi {
    async fn list_candidates(
        &self,
        request: Request<pb::ListCandidatesRequest>,
    ) -> Result<Response<pb::ListCandidatesResponse>, Status> {
        answer(candidates::list(&self.ctx, request).await)
    }
}
