//! The gRPC adapter of the allocation service: requests in, application and domain calls,
//! responses out. One module per resource, one line per RPC here; `support` holds what is
//! allocation's own in them (roles, years, ids, refusals), `compute` what a run shares.
//!
//! Every handler starts with `hearth_rpc::handler::accept` (the caller, checked against the
//! RPC's roles), converts its request with [`hearth_rpc::Violations`] (one field violation per
//! bad field, named as the client sent it), and writes state, audit records, idempotency keys
//! and outbox rows in one transaction. Municipality staff see their own municipality's shares
//! and invoices only.

mod budgets;
mod compute;
mod invoices;
mod keys;
mod members;
mod runs;
mod support;

use hearth_proto::allocation::v1 as pb;
use hearth_proto::allocation::v1::allocation_service_server::AllocationService;
use hearth_rpc::ServiceContext;
use hearth_rpc::handler::answer;
use tonic::{Request, Response, Status};

pub struct AllocationApi {
    ctx: ServiceContext,
}

impl AllocationApi {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl AllocationService for AllocationApi {
    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        answer(members::list(&self.ctx, request))
    }

    async fn get_allocation_key(
        &self,
        request: Request<pb::GetAllocationKeyRequest>,
    ) -> Result<Response<pb::GetAllocationKeyResponse>, Status> {
        answer(keys::get(&self.ctx, request).await)
    }

    async fn update_allocation_key(
        &self,
        request: Request<pb::UpdateAllocationKeyRequest>,
    ) -> Result<Response<pb::UpdateAllocationKeyResponse>, Status> {
        answer(keys::update(&self.ctx, request).await)
    }

    async fn import_allocation_key(
        &self,
        request: Request<pb::ImportAllocationKeyRequest>,
    ) -> Result<Response<pb::ImportAllocationKeyResponse>, Status> {
        answer(keys::import(&self.ctx, request).await)
    }

    async fn get_budget(
        &self,
        request: Request<pb::GetBudgetRequest>,
    ) -> Result<Response<pb::GetBudgetResponse>, Status> {
        answer(budgets::get(&self.ctx, request).await)
    }

    async fn update_budget(
        &self,
        request: Request<pb::UpdateBudgetRequest>,
    ) -> Result<Response<pb::UpdateBudgetResponse>, Status> {
        answer(budgets::update(&self.ctx, request).await)
    }

    async fn create_allocation_run(
        &self,
        request: Request<pb::CreateAllocationRunRequest>,
    ) -> Result<Response<pb::CreateAllocationRunResponse>, Status> {
        answer(runs::create(&self.ctx, request).await)
    }

    async fn get_allocation_run(
        &self,
        request: Request<pb::GetAllocationRunRequest>,
    ) -> Result<Response<pb::GetAllocationRunResponse>, Status> {
        answer(runs::get(&self.ctx, request).await)
    }

    async fn list_allocation_runs(
        &self,
        request: Request<pb::ListAllocationRunsRequest>,
    ) -> Result<Response<pb::ListAllocationRunsResponse>, Status> {
        answer(runs::list(&self.ctx, request).await)
    }

    async fn get_invoice(
        &self,
        request: Request<pb::GetInvoiceRequest>,
    ) -> Result<Response<pb::GetInvoiceResponse>, Status> {
        answer(invoices::get(&self.ctx, request).await)
    }

    async fn list_invoices(
        &self,
        request: Request<pb::ListInvoicesRequest>,
    ) -> Result<Response<pb::ListInvoicesResponse>, Status> {
        answer(invoices::list(&self.ctx, request).await)
    }
}
