//! What the allocation handlers share: who may call what, the caller, years, audit records of
//! changes, refusals, idempotency keys and list pages.

use hearth_audit::AuditAction;
use hearth_auth::{Principal, Role};
use hearth_domain::MunicipalityCode;
use hearth_proto::allocation::v1 as pb;
use hearth_proto::common::v1::AllocationRunKind;
use hearth_rpc::idempotency::IdempotencyKey;
use hearth_rpc::paging::Page;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use prost::Message;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PrimaryKeyTrait, QueryFilter};
use tonic::{Request, Response, Status};

use crate::domain::AllocationError;
use crate::store::entities::run;

/// Who may change keys and budgets and run allocations.
pub const FINANCE: &[Role] = &[Role::Finance, Role::Admin];
/// Who may read members, keys, budgets and runs.
pub const READERS: &[Role] = &[
    Role::Finance,
    Role::UnitStaff,
    Role::Admin,
    Role::MunicipalityStaff,
];
/// Who may read invoices (municipality staff their own only).
pub const INVOICE_READERS: &[Role] = &[Role::Finance, Role::Admin, Role::MunicipalityStaff];

pub const STATE_COMPLETED: i32 = pb::AllocationRunState::Completed as i32;
pub const STATE_SUPERSEDED: i32 = pb::AllocationRunState::Superseded as i32;
pub const INVOICE_ISSUED: i32 = pb::InvoiceState::Issued as i32;
pub const INVOICE_SUPERSEDED: i32 = pb::InvoiceState::Superseded as i32;
pub const KIND_ANNUAL: i32 = AllocationRunKind::AnnualBudget as i32;
pub const KIND_SETTLEMENT: i32 = AllocationRunKind::YearEndSettlement as i32;

const SERVICE_PATH: &str = "/hearth.allocation.v1.AllocationService/";

/// Years the service accepts.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2200;

/// The verified caller of a request (the auth layer put it there), when it has one of `roles`,
/// and the request's message.
pub fn accept<T>(request: Request<T>, roles: &[Role]) -> Result<(Principal, T), ServiceError> {
    let principal = hearth_auth::principal(&request)
        .cloned()
        .map_err(|status| ServiceError::Unauthenticated(status.message().to_owned()))?;
    principal.require_any_role(roles)?;
    Ok((principal, request.into_inner()))
}

/// A handler's result as gRPC answers it.
pub fn answer<T>(result: Result<T, ServiceError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

pub fn check_year(violations: &mut Violations, field: &str, year: i32) {
    if !YEARS.contains(&year) {
        violations.add(
            field,
            format!("must be a year from {} to {}", YEARS.start(), YEARS.end()),
        );
    }
}

/// A resource id in a request: its field, what it must be, and the resource's name in
/// `NOT_FOUND`.
pub struct IdField {
    field: &'static str,
    must_be: &'static str,
    noun: &'static str,
}

pub const RUN_ID: IdField = IdField {
    field: "allocation_run_id",
    must_be: "must be a run id (a UUID)",
    noun: "allocation run",
};

pub const INVOICE_ID: IdField = IdField {
    field: "invoice_id",
    must_be: "must be an invoice id (a UUID)",
    noun: "invoice",
};

impl IdField {
    /// The id, hyphenated.
    pub fn parse(&self, value: &str) -> Result<String, ServiceError> {
        uuid::Uuid::parse_str(value.trim())
            .map(|id| id.hyphenated().to_string())
            .map_err(|_| ServiceError::invalid(self.field, self.must_be))
    }

    /// The row of `E` with the id `value`.
    pub async fn find<E, C>(&self, conn: &C, value: &str) -> Result<E::Model, ServiceError>
    where
        E: EntityTrait,
        <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<String>,
        C: ConnectionTrait,
    {
        let id = self.parse(value)?;
        E::find_by_id(id.clone())
            .one(conn)
            .await?
            .ok_or_else(|| ServiceError::not_found(self.noun, id))
    }
}

/// The value of a check, else its field violations added to the request's others (a refusal
/// without any against `field`).
pub fn collect<T>(
    violations: &mut Violations,
    field: &str,
    checked: Result<T, ServiceError>,
) -> Option<T> {
    match checked {
        Ok(value) => Some(value),
        Err(ServiceError::InvalidArgument(found)) => {
            for violation in found {
                violations.add(violation.field, violation.description);
            }
            None
        }
        Err(other) => {
            violations.add(field, other.to_string());
            None
        }
    }
}

/// The idempotency key of `operation`, for the request as the key stands for it (without the
/// key); else a violation against `idempotency_key`.
pub fn idempotency_key(
    ctx: &ServiceContext,
    operation: &str,
    key: &str,
    without_key: &impl Message,
    violations: &mut Violations,
) -> Option<IdempotencyKey> {
    let request = without_key.encode_to_vec();
    let checked = IdempotencyKey::new(operation, key, "idempotency_key", &ctx.keyring, &request);
    collect(violations, "idempotency_key", checked)
}

/// Records a change of one resource by `method` in the caller's transaction.
pub async fn audit_change<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    principal: &Principal,
    resource_type: &str,
    resource_id: &str,
    method: &str,
) -> Result<(), ServiceError> {
    hearth_rpc::handler::audit(
        ctx,
        conn,
        principal,
        AuditAction::Update,
        resource_type,
        &format!("{SERVICE_PATH}{method}"),
        [resource_id.to_owned()],
    )
    .await
}

/// Maps a domain refusal to the caller's error: a rule of the data (`FAILED_PRECONDITION`).
pub fn not_allocatable(error: AllocationError) -> ServiceError {
    match error {
        AllocationError::KeyMissing { .. } => {
            ServiceError::rule("ALLOCATION_KEY_INCOMPLETE", error.to_string())
        }
        AllocationError::NoMembers { .. } => ServiceError::rule("NO_MEMBERS", error.to_string()),
        AllocationError::Overflow => ServiceError::internal(error),
        other => ServiceError::rule("NOT_ALLOCATABLE", other.to_string()),
    }
}

pub fn stale_etag() -> ServiceError {
    ServiceError::Aborted {
        reason: "STALE_ETAG",
        message: "the etag is not the current one: read again and retry".to_owned(),
    }
}

/// Whether an annual run of `year` was stored: its key and budget are then part of the run's
/// record, and frozen.
pub async fn is_allocated<C: ConnectionTrait>(conn: &C, year: i32) -> Result<bool, ServiceError> {
    let annual = run::Entity::find()
        .filter(run::Column::Year.eq(year))
        .filter(run::Column::Kind.eq(KIND_ANNUAL))
        .one(conn)
        .await?;
    Ok(annual.is_some())
}

/// Refuses a change of `year` once it is allocated.
pub async fn refuse_if_allocated<C: ConnectionTrait>(
    conn: &C,
    year: i32,
) -> Result<(), ServiceError> {
    if is_allocated(conn, year).await? {
        return Err(ServiceError::rule(
            "YEAR_ALLOCATED",
            format!("{year} has been allocated: its key and budget are part of the run's record"),
        ));
    }
    Ok(())
}

/// `Some(own)` when the caller sees one municipality's shares and invoices only: municipality
/// staff without a county-wide or finance role.
pub fn own_only(principal: &Principal) -> Option<MunicipalityCode> {
    if principal.has_role(Role::Finance) {
        return None;
    }
    principal.visible_municipality()
}

/// A list request: its page size and token, and its filters (everything else).
pub trait ListRequest: Message + Clone {
    fn page_size(&self) -> i32;
    fn page_token(&self) -> &str;
    /// The request without its page size and token, encoded: what a page token is bound to.
    fn filters(&self) -> Vec<u8>;
}

macro_rules! list_requests {
    ($($request:ty),* $(,)?) => {$(
        impl ListRequest for $request {
            fn page_size(&self) -> i32 {
                self.page_size
            }

            fn page_token(&self) -> &str {
                &self.page_token
            }

            fn filters(&self) -> Vec<u8> {
                let mut filters = self.clone();
                filters.page_size = 0;
                filters.page_token.clear();
                filters.encode_to_vec()
            }
        }
    )*};
}

list_requests!(
    pb::ListMembersRequest,
    pb::ListAllocationRunsRequest,
    pb::ListInvoicesRequest,
);

/// One page of a list request, checked by `hearth_rpc::paging::Page` with its tokens bound to
/// the request's filters.
pub fn list_page<R: ListRequest>(
    request: &R,
    default: u32,
    max: u32,
    violations: &mut Violations,
) -> Page {
    Page::check(
        request.page_size(),
        request.page_token(),
        &request.filters(),
        default,
        max,
        violations,
    )
}
