//! What every intake handler needs: the caller, today's date, sealing, audit entries, etags,
//! idempotency keys and event writing.

use crate::events::EventKind;
use chrono::{DateTime, Utc};
use hearth_audit::{
    AuditAccess, AuditAction, AuditEntry, CorrelationId, Purpose, ResourceId, ResourceType,
};
use hearth_auth::Principal;
use hearth_bus::{NewEvent, pack_payload};
use hearth_rpc::idempotency::IdempotencyKey;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use prost::Message;
use sea_orm::ConnectionTrait;

/// The verified caller of a request (the auth layer put it there).
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Principal, tonic::Status> {
    hearth_auth::principal(request).cloned()
}

/// A resource id from the request: a UUID, else a violation against `field`.
pub fn check_id(value: &str, field: &str, violations: &mut Violations) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        violations.add(field, "is required");
        return None;
    }
    match uuid::Uuid::parse_str(value) {
        Ok(id) => Some(id.hyphenated().to_string()),
        Err(_) => {
            violations.add(field, "must be an id (a UUID)");
            None
        }
    }
}

/// The idempotency key of `operation`, or a violation against `idempotency_key`.
pub fn check_idempotency_key(
    ctx: &ServiceContext,
    operation: &str,
    key: &str,
    request: &[u8],
    violations: &mut Violations,
) -> Option<IdempotencyKey> {
    match IdempotencyKey::new(operation, key, "idempotency_key", &ctx.keyring, request) {
        Ok(key) => Some(key),
        Err(ServiceError::InvalidArgument(found)) => {
            for violation in found {
                violations.add(violation.field, violation.description);
            }
            None
        }
        Err(_) => {
            violations.add("idempotency_key", "must be a UUID");
            None
        }
    }
}

/// The etag of a version (AIP-154): opaque to clients.
pub fn etag(version: i64) -> String {
    format!("v{version}")
}

/// Refuses a stale etag with `ABORTED`.
pub fn check_etag(sent: &str, version: i64) -> Result<(), ServiceError> {
    if sent.trim() == etag(version) {
        Ok(())
    } else {
        Err(ServiceError::Aborted {
            reason: "STALE_ETAG",
            message: format!(
                "the etag `{}` is not the current one: read the resource again and reapply the change",
                sent.trim()
            ),
        })
    }
}

/// Seals an encoded message for a column, bound to the row's id.
pub fn seal<M: Message>(
    ctx: &ServiceContext,
    message: &M,
    id: &str,
) -> Result<String, ServiceError> {
    let plaintext = zeroize_bytes(message.encode_to_vec());
    ctx.keyring
        .seal_text(&plaintext, id.as_bytes())
        .map_err(ServiceError::internal)
}

/// Opens a sealed column into its message.
pub fn open<M: Message + Default>(
    ctx: &ServiceContext,
    sealed: &str,
    id: &str,
) -> Result<M, ServiceError> {
    let plaintext = ctx
        .keyring
        .open_text(sealed, id.as_bytes())
        .map_err(ServiceError::internal)?;
    M::decode(plaintext.as_slice()).map_err(ServiceError::internal)
}

/// Seals free text for a column, bound to the row's id.
pub fn seal_text(ctx: &ServiceContext, text: &str, id: &str) -> Result<String, ServiceError> {
    ctx.keyring
        .seal_text(text.as_bytes(), id.as_bytes())
        .map_err(ServiceError::internal)
}

/// Opens sealed free text.
pub fn open_text(ctx: &ServiceContext, sealed: &str, id: &str) -> Result<String, ServiceError> {
    let plaintext = ctx
        .keyring
        .open_text(sealed, id.as_bytes())
        .map_err(ServiceError::internal)?;
    String::from_utf8(plaintext.to_vec()).map_err(ServiceError::internal)
}

fn zeroize_bytes(bytes: Vec<u8>) -> zeroize::Zeroizing<Vec<u8>> {
    zeroize::Zeroizing::new(bytes)
}

/// Who read or changed which resource through which RPC, for the audit log.
pub fn audit_access(
    principal: &Principal,
    action: AuditAction,
    resource: &str,
    rpc: &str,
) -> Result<AuditAccess, ServiceError> {
    let resource_type = ResourceType::parse(resource).map_err(ServiceError::internal)?;
    let purpose = Purpose::parse(&format!("/hearth.intake.v1.IntakeService/{rpc}"))
        .map_err(ServiceError::internal)?;
    let mut access = AuditAccess::new(principal, action, resource_type, purpose);
    if let Some(trace_id) = hearth_telemetry::propagation::trace_id_of_current_span()
        && let Ok(correlation) = CorrelationId::parse(&trace_id)
    {
        access = access.with_correlation_id(correlation);
    }
    Ok(access)
}

/// Records one access to one resource in the caller's transaction.
pub async fn audit_one<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    access: &AuditAccess,
    id: &str,
) -> Result<(), ServiceError> {
    let entry: AuditEntry = access.entry(ResourceId::parse(id).map_err(ServiceError::internal)?);
    ctx.audit.record(conn, &entry).await?;
    Ok(())
}

/// Records one access per resource of a list result, in one statement.
pub async fn audit_many<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    access: &AuditAccess,
    ids: impl IntoIterator<Item = String>,
) -> Result<(), ServiceError> {
    let ids = ids
        .into_iter()
        .map(|id| ResourceId::parse(&id).map_err(ServiceError::internal))
        .collect::<Result<Vec<_>, _>>()?;
    ctx.audit.record_many(conn, access, ids).await?;
    Ok(())
}

/// Writes an event into the caller's transaction through the outbox.
pub async fn publish<C: ConnectionTrait, M: Message>(
    ctx: &ServiceContext,
    conn: &C,
    kind: &EventKind,
    aggregate_id: &str,
    aggregate_version: i64,
    payload: &M,
    occurred_at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let correlation_id =
        hearth_telemetry::propagation::trace_id_of_current_span().unwrap_or_default();
    ctx.outbox
        .enqueue(
            conn,
            NewEvent {
                event_type: kind.event_type.to_owned(),
                aggregate_id: aggregate_id.to_owned(),
                aggregate_version: u64::try_from(aggregate_version).unwrap_or(1),
                correlation_id,
                payload: pack_payload(kind.payload_type, payload),
                schema_version: 1,
                occurred_at: Some(occurred_at),
            },
        )
        .await
        .map_err(ServiceError::internal)?;
    Ok(())
}

/// Whether a database error is a unique-key violation (a concurrent duplicate).
pub fn is_unique_violation(error: &sea_orm::DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
