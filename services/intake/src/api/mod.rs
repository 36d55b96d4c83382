//! The gRPC adapter of the intake service: requests in, domain checks, storage and events,
//! responses out. One module per resource; `support` holds what they share.

mod county;
mod registrations;
pub(crate) mod requests;
mod support;

use hearth_proto::intake::v1 as pb;
use hearth_proto::intake::v1::intake_service_server::IntakeService;
use hearth_rpc::ServiceContext;
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
        registrations::create(&self.ctx, request).await
    }

    async fn get_interest_registration(
        &self,
        request: Request<pb::GetInterestRegistrationRequest>,
    ) -> Result<Response<pb::GetInterestRegistrationResponse>, Status> {
        registrations::get(&self.ctx, request).await
    }

    async fn list_interest_registrations(
        &self,
        request: Request<pb::ListInterestRegistrationsRequest>,
    ) -> Result<Response<pb::ListInterestRegistrationsResponse>, Status> {
        registrations::list(&self.ctx, request).await
    }

    async fn update_interest_registration(
        &self,
        request: Request<pb::UpdateInterestRegistrationRequest>,
    ) -> Result<Response<pb::UpdateInterestRegistrationResponse>, Status> {
        registrations::update(&self.ctx, request).await
    }

    async fn withdraw_interest_registration(
        &self,
        request: Request<pb::WithdrawInterestRegistrationRequest>,
    ) -> Result<Response<pb::WithdrawInterestRegistrationResponse>, Status> {
        registrations::withdraw(&self.ctx, request).await
    }

    async fn create_placement_request(
        &self,
        request: Request<pb::CreatePlacementRequestRequest>,
    ) -> Result<Response<pb::CreatePlacementRequestResponse>, Status> {
        requests::create(&self.ctx, request).await
    }

    async fn get_placement_request(
        &self,
        request: Request<pb::GetPlacementRequestRequest>,
    ) -> Result<Response<pb::GetPlacementRequestResponse>, Status> {
        requests::get(&self.ctx, request).await
    }

    async fn list_placement_requests(
        &self,
        request: Request<pb::ListPlacementRequestsRequest>,
    ) -> Result<Response<pb::ListPlacementRequestsResponse>, Status> {
        requests::list(&self.ctx, request).await
    }

    async fn update_placement_request(
        &self,
        request: Request<pb::UpdatePlacementRequestRequest>,
    ) -> Result<Response<pb::UpdatePlacementRequestResponse>, Status> {
        requests::update(&self.ctx, request).await
    }

    async fn withdraw_placement_request(
        &self,
        request: Request<pb::WithdrawPlacementRequestRequest>,
    ) -> Result<Response<pb::WithdrawPlacementRequestResponse>, Status> {
        requests::withdraw(&self.ctx, request).await
    }

    async fn list_placement_request_versions(
        &self,
        request: Request<pb::ListPlacementRequestVersionsRequest>,
    ) -> Result<Response<pb::ListPlacementRequestVersionsResponse>, Status> {
        requests::list_versions(&self.ctx, request).await
    }

    async fn list_member_municipalities(
        &self,
        request: Request<pb::ListMemberMunicipalitiesRequest>,
    ) -> Result<Response<pb::ListMemberMunicipalitiesResponse>, Status> {
        county::list_members(&self.ctx, request)
    }

    async fn list_fee_levels(
        &self,
        request: Request<pb::ListFeeLevelsRequest>,
    ) -> Result<Response<pb::ListFeeLevelsResponse>, Status> {
        county::list_fee_levels(&self.ctx, request)
    }
}
