//! What intake's handlers share beyond `hearth_rpc::handler`: the caller as a `Status`, the
//! idempotency key of a request whose key sits beside the resource, and audit entries named
//! by intake's RPCs.

use hearth_audit::AuditAction;
use hearth_auth::Principal;
use hearth_rpc::idempotency::IdempotencyKey;
use hearth_rpc::{ServiceContext, ServiceError, Violations, handler};
use sea_orm::ConnectionTrait;

/// The verified caller of a request (the auth layer put it there).
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Principal, tonic::Status> {
    Ok(handler::caller(request)?)
}

/// The idempotency key of `operation` over `request` (the request's bytes without the key),
/// or a violation against `idempotency_key`.
pub fn check_idempotency_key(
    ctx: &ServiceContext,
    operation: &str,
    key: &str,
    request: &[u8],
    violations: &mut Violations,
) -> Option<IdempotencyKey> {
    IdempotencyKey::new(operation, key, "idempotency_key", &ctx.keyring, request)
        .map_err(|error| violations.absorb("idempotency_key", error))
        .ok()
}

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
    let purpose = format!("/hearth.intake.v1.IntakeService/{rpc}");
    handler::audit(ctx, conn, principal, action, resource, &purpose, ids).await
}
