//! What only intake's handlers share: who may call what, and audit entries named by intake's
//! RPCs. Everything generic is `hearth_rpc::handler`'s.

use hearth_audit::AuditAction;
use hearth_auth::{Principal, Role};
use hearth_rpc::{ServiceContext, ServiceError, handler};
use sea_orm::ConnectionTrait;

/// The gRPC service whose RPCs audit entries name.
pub const SERVICE: &str = "hearth.intake.v1.IntakeService";

/// Who may register interest: the public form's backend, and staff entering a form by hand.
pub const REGISTRANTS: &[Role] = &[Role::PublicIntake, Role::UnitStaff, Role::Admin];
/// Who may read and change interest registrations.
pub const REGISTRATION_STAFF: &[Role] = &[Role::UnitStaff, Role::Admin];
/// Who may raise, read and change placement requests (municipality staff their own only).
pub const REQUEST_STAFF: &[Role] = &[Role::MunicipalityStaff, Role::UnitStaff, Role::Admin];

/// Records an access through intake's RPC `rpc` to the resources `ids`, in the caller's
/// transaction.
pub async fn audit<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    principal: &Principal,
    action: AuditAction,
    resource: &str,
    rpc: &str,
    ids: impl IntoIterator<Item = String>,
) -> Result<(), ServiceError> {
    let purpose = handler::rpc_path(SERVICE, rpc);
    handler::audit(ctx, conn, principal, action, resource, &purpose, ids).await
}
