//! The gRPC adapter of the assessment service: requests in, domain checks, storage and events,
//! responses out. One module per resource; `support` holds what they share.

pub(crate) mod cases;
mod checks;
pub(crate) mod profiles;
pub(crate) mod support;

use hearth_proto::assessment::v1 as pb;
use hearth_proto::assessment::v1::assessment_service_server::AssessmentService;
use hearth_rpc::ServiceContext;
use tonic::{Request, Response, Status};

pub struct AssessmentApi {
    ctx: ServiceContext,
}

impl AssessmentApi {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl AssessmentService for AssessmentApi {
    async fn get_assessment_case(
        &self,
        request: Request<pb::GetAssessmentCaseRequest>,
    ) -> Result<Response<pb::GetAssessmentCaseResponse>, Status> {
        cases::get(&self.ctx, request).await
    }

    async fn list_assessment_cases(
        &self,
        request: Request<pb::ListAssessmentCasesRequest>,
    ) -> Result<Response<pb::ListAssessmentCasesResponse>, Status> {
        cases::list(&self.ctx, request).await
    }

    async fn update_assessment_case(
        &self,
        request: Request<pb::UpdateAssessmentCaseRequest>,
    ) -> Result<Response<pb::UpdateAssessmentCaseResponse>, Status> {
        cases::update(&self.ctx, request).await
    }

    async fn change_assessment_stage(
        &self,
        request: Request<pb::ChangeAssessmentStageRequest>,
    ) -> Result<Response<pb::ChangeAssessmentStageResponse>, Status> {
        cases::change_stage(&self.ctx, request).await
    }

    async fn get_assessment_timings(
        &self,
        request: Request<pb::GetAssessmentTimingsRequest>,
    ) -> Result<Response<pb::GetAssessmentTimingsResponse>, Status> {
        cases::timings(&self.ctx, request).await
    }

    async fn create_register_check(
        &self,
        request: Request<pb::CreateRegisterCheckRequest>,
    ) -> Result<Response<pb::CreateRegisterCheckResponse>, Status> {
        checks::create(&self.ctx, request).await
    }

    async fn decide_assessment(
        &self,
        request: Request<pb::DecideAssessmentRequest>,
    ) -> Result<Response<pb::DecideAssessmentResponse>, Status> {
        cases::decide(&self.ctx, request).await
    }

    async fn get_family_profile(
        &self,
        request: Request<pb::GetFamilyProfileRequest>,
    ) -> Result<Response<pb::GetFamilyProfileResponse>, Status> {
        profiles::get(&self.ctx, request).await
    }

    async fn list_family_profiles(
        &self,
        request: Request<pb::ListFamilyProfilesRequest>,
    ) -> Result<Response<pb::ListFamilyProfilesResponse>, Status> {
        profiles::list(&self.ctx, request).await
    }

    async fn update_family_profile(
        &self,
        request: Request<pb::UpdateFamilyProfileRequest>,
    ) -> Result<Response<pb::UpdateFamilyProfileResponse>, Status> {
        profiles::update(&self.ctx, request).await
    }

    async fn close_family_profile(
        &self,
        request: Request<pb::CloseFamilyProfileRequest>,
    ) -> Result<Response<pb::CloseFamilyProfileResponse>, Status> {
        profiles::close(&self.ctx, request).await
    }
}
