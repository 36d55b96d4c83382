//! What every assessment handler needs: the caller with its roles checked, ids, idempotency
//! keys, etags, sealing, audit entries and event writing.

use hearth_audit::AuditAction;
use hearth_auth::{Principal, Role};
use hearth_rpc::paging::Page;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use prost::Message;
use sea_orm::ConnectionTrait;

/// Unit staff and admins: who may read cases and profiles.
pub const READERS: &[Role] = &[Role::UnitStaff, Role::Admin];
/// Unit staff: who may change a case's stage, record checks and decide.
pub const ASSESSORS: &[Role] = &[Role::UnitStaff];

pub use hearth_rpc::handler::{
    action_key, caller_with, etag, open, publish, require_fresh, required_id, resource_id, seal,
};

/// A list's page at assessment's page sizes (see `hearth_rpc::handler::list_page`).
pub fn list_page<M: Message + Clone>(
    request: &M,
    paging: fn(&mut M) -> (&mut i32, &mut String),
    violations: &mut Violations,
) -> Page {
    hearth_rpc::handler::list_page(
        request,
        paging,
        DEFAULT_PAGE_SIZE,
        MAX_PAGE_SIZE,
        violations,
    )
}

/// Lists' default page size.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Lists' largest page size.
pub const MAX_PAGE_SIZE: u32 = 200;

/// Records that `principal` did `action` on the resources `ids` through `operation` (an RPC
/// name of this service, or a job's full name), in the caller's transaction.
pub async fn audit<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    principal: &Principal,
    action: AuditAction,
    resource: &str,
    operation: &str,
    ids: impl IntoIterator<Item = String>,
) -> Result<(), ServiceError> {
    let purpose = if operation.contains('.') {
        operation.to_owned()
    } else {
        format!("/hearth.assessment.v1.AssessmentService/{operation}")
    };
    hearth_rpc::handler::audit(ctx, conn, principal, action, resource, &purpose, ids).await
}

/// Enum numbers as a sorted, comma-separated column.
pub fn join_numbers(values: &[i32]) -> String {
    let mut values = values.to_vec();
    values.sort_unstable();
    values.dedup();
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A calendar date from the request, required; violations against `field`.
pub fn required_date(
    date: Option<&hearth_proto::common::v1::Date>,
    field: &str,
    violations: &mut Violations,
) -> Option<chrono::NaiveDate> {
    let Some(date) = date else {
        violations.add(field, "is required");
        return None;
    };
    let parsed = hearth_proto::convert::date(date);
    if parsed.is_none() {
        violations.add(field, "is not a valid date");
    }
    parsed
}

/// Free text up to `max` characters, trimmed; violations against `field`.
pub fn bounded_text(value: &str, max: usize, field: &str, violations: &mut Violations) -> String {
    let trimmed = value.trim();
    if trimmed.chars().count() > max {
        violations.add(field, format!("must be at most {max} characters"));
    }
    trimmed.to_owned()
}
