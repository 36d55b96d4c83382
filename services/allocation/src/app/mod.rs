//! What the allocation service does for its RPC handlers and its event handlers alike: the
//! versioned year rows of keys and budgets (`yearly`), and the use values of use-based keys
//! kept current from the recorded placements (`keys`).

pub mod keys;
pub mod yearly;

use hearth_audit::AuditAction;
use hearth_auth::Principal;
use hearth_proto::allocation::v1::allocation_service_server::SERVICE_NAME;
use hearth_rpc::handler::{audit, rpc_path};
use hearth_rpc::{ServiceContext, ServiceError};
use sea_orm::ConnectionTrait;

/// Records a change of one resource by the RPC `method` in the caller's transaction.
pub async fn audit_change<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    principal: &Principal,
    resource_type: &str,
    resource_id: &str,
    method: &str,
) -> Result<(), ServiceError> {
    audit(
        ctx,
        conn,
        principal,
        AuditAction::Update,
        resource_type,
        &rpc_path(SERVICE_NAME, method),
        [resource_id.to_owned()],
    )
    .await
}
