//! The gRPC adapter of the intake service: one module per resource, each RPC a function that
//! accepts the caller and the message, converts it (`convert`), does the work and answers.
//! `support` holds what only intake's handlers share.

mod convert;
mod county;
mod registrations;
mod requests;
mod support;

use hearth_proto::intake::v1 as pb;
use hearth_proto::intake::v1::intake_service_server::IntakeService;
use hearth_rpc::ServiceContext;
use hearth_rpc::handler::answer;
use tonic::{Request, Response, Status};

pub struct IntakeApi {
    ctx: ServiceContext,
}

impl IntakeApi {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl IntakeService for IntakeApi {
    async fn create_interest_registration(
        &self,
        request: Request<pb::CreateInterestRegistrationRequest>,
    ) -> Result<Response<pb::CreateInterestRegistrationResponse>, Status> {
        answer(registrations::create(&self.ctx, request).await)
    }

    async fn get_interest_registration(
        &self,
        request: Request<pb::GetInterestRegistrationRequest>,
    ) -> Result<Response<pb::GetInterestRegistrationResponse>, Status> {
        answer(registrations::get(&self.ctx, request).await)
    }

    async fn list_interest_registrations(
        &self,
        request: Request<pb::ListInterestRegistrationsRequest>,
    ) -> Result<Response<pb::ListInterestRegistrationsResponse>, Status> {
        answer(registrations::list(&self.ctx, request).await)
    }

    async fn update_interest_registration(
        &self,
        request: Request<pb::UpdateInterestRegistrationRequest>,
    ) -> Result<Response<pb::UpdateInterestRegistrationResponse>, Status> {
        answer(registrations::update(&self.ctx, request).await)
    }

    async fn withdraw_interest_registration(
        &self,
        request: Request<pb::WithdrawInterestRegistrationRequest>,
    ) -> Result<Response<pb::WithdrawInterestRegistrationResponse>, Status> {
        answer(registrations::withdraw(&self.ctx, request).await)
    }

    async fn create_placement_request(
        &self,
        request: Request<pb::CreatePlacementRequestRequest>,
    ) -> Result<Response<pb::CreatePlacementRequestResponse>, Status> {
        answer(requests::create(&self.ctx, request).await)
    }

    async fn get_placement_request(
        &self,
        request: Request<pb::GetPlacementRequestRequest>,
    ) -> Result<Response<pb::GetPlacementRequestResponse>, Status> {
        answer(requests::get(&self.ctx, request).await)
    }

    async fn list_placement_requests(
        &self,
        request: Request<pb::ListPlacementRequestsRequest>,
    ) -> Result<Response<pb::ListPlacementRequestsResponse>, Status> {
        answer(requests::list(&self.ctx, request).await)
    }

    async fn update_placement_request(
        &self,
        request: Request<pb::UpdatePlacementRequestRequest>,
    ) -> Result<Response<pb::UpdatePlacementRequestResponse>, Status> {
        answer(requests::update(&self.ctx, request).await)
    }

    async fn withdraw_placement_request(
        &self,
        request: Request<pb::WithdrawPlacementRequestRequest>,
    ) -> Result<Response<pb::WithdrawPlacementRequestResponse>, Status> {
        answer(requests::withdraw(&self.ctx, request).await)
    }

    async fn list_placement_request_versions(
        &self,
        request: Request<pb::ListPlacementRequestVersionsRequest>,
    ) -> Result<Response<pb::ListPlacementRequestVersionsResponse>, Status> {
        answer(requests::list_versions(&self.ctx, request).await)
    }

    async fn list_member_municipalities(
        &self,
        request: Request<pb::ListMemberMunicipalitiesRequest>,
    ) -> Result<Response<pb::ListMemberMunicipalitiesResponse>, Status> {
        answer(county::list_members(&self.ctx, request).await)
    }

    async fn list_fee_levels(
        &self,
        request: Request<pb::ListFeeLevelsRequest>,
    ) -> Result<Response<pb::ListFeeLevelsResponse>, Status> {
        answer(county::list_fee_levels(&self.ctx, request).await)
    }
}
