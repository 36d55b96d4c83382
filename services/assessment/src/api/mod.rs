//! The gRPC adapter of the assessment service: one module per resource with one function per
//! RPC (accept the caller and the message, convert, call, answer); `convert` is wire ⇄ domain,
//! `support` who may call what and assessment's refusals.

mod cases;
mod checks;
mod convert;
mod profiles;
mod support;

use hearth_proto::assessment::v1 as pb;
use hearth_proto::assessment::v1::assessment_service_server::AssessmentService;
use hearth_rpc::ServiceContext;
use hearth_rpc::handler::answer;
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
        answer(cases::get(&self.ctx, request).await)
    }

    async fn list_assessment_cases(
        &self,
        request: Request<pb::ListAssessmentCasesRequest>,
    ) -> Result<Response<pb::ListAssessmentCasesResponse>, Status> {
        answer(cases::list(&self.ctx, request).await)
    }

    async fn update_assessment_case(
        &self,
        request: Request<pb::UpdateAssessmentCaseRequest>,
    ) -> Result<Response<pb::UpdateAssessmentCaseResponse>, Status> {
        answer(cases::update(&self.ctx, request).await)
    }

    async fn change_assessment_stage(
        &self,
        request: Request<pb::ChangeAssessmentStageRequest>,
    ) -> Result<Response<pb::ChangeAssessmentStageResponse>, Status> {
        answer(cases::change_stage(&self.ctx, request).await)
    }

    async fn get_assessment_timings(
        &self,
        request: Request<pb::GetAssessmentTimingsRequest>,
    ) -> Result<Response<pb::GetAssessmentTimingsResponse>, Status> {
        answer(cases::timings(&self.ctx, request).await)
    }

    async fn create_register_check(
        &self,
        request: Request<pb::CreateRegisterCheckRequest>,
    ) -> Result<Response<pb::CreateRegisterCheckResponse>, Status> {
        answer(checks::create(&self.ctx, request).await)
    }

    async fn decide_assessment(
        &self,
        request: Request<pb::DecideAssessmentRequest>,
    ) -> Result<Response<pb::DecideAssessmentResponse>, Status> {
        answer(cases::decide(&self.ctx, request).await)
    }

    async fn get_family_profile(
        &self,
        request: Request<pb::GetFamilyProfileRequest>,
    ) -> Result<Response<pb::GetFamilyProfileResponse>, Status> {
        answer(profiles::get(&self.ctx, request).await)
    }

    async fn list_family_profiles(
        &self,
        request: Request<pb::ListFamilyProfilesRequest>,
    ) -> Result<Response<pb::ListFamilyProfilesResponse>, Status> {
        answer(profiles::list(&self.ctx, request).await)
    }

    async fn update_family_profile(
        &self,
        request: Request<pb::UpdateFamilyProfileRequest>,
    ) -> Result<Response<pb::UpdateFamilyProfileResponse>, Status> {
        answer(profiles::update(&self.ctx, request).await)
    }

    async fn close_family_profile(
        &self,
        request: Request<pb::CloseFamilyProfileRequest>,
    ) -> Result<Response<pb::CloseFamilyProfileResponse>, Status> {
        answer(profiles::close(&self.ctx, request).await)
    }
}
