//! What every handler needs, in one place for all six services: the caller with its roles
//! checked, resource ids, idempotency keys and list pages from a request, etags, sealing
//! personal data at rest, audit entries, and writing events to the outbox.
//!
//! A service keeps only what is its own (its roles per RPC, its event kinds); the rest is here
//! so that every service checks, seals, audits and publishes the same way.

use chrono::{DateTime, Utc};
use hearth_audit::{AuditAccess, AuditAction, CorrelationId, Purpose, ResourceId, ResourceType};
use hearth_auth::{Principal, Role};
use hearth_bus::{NewEvent, pack_payload};
use prost::Message;
use sea_orm::ConnectionTrait;

use crate::idempotency::IdempotencyKey;
use crate::paging::Page;
use crate::{ServiceContext, ServiceError, Violations};

/// An event type and the full name of its payload message, e.g. `interest.registered` and
/// `hearth.events.v1.InterestRegistered`. Each service lists its kinds in `events.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKind {
    pub event_type: &'static str,
    pub payload_type: &'static str,
}

/// The verified caller of a request (the auth layer put it there), refused unless it has one
/// of `roles`.
pub fn caller_with<T>(
    request: &tonic::Request<T>,
    roles: &[Role],
) -> Result<Principal, ServiceError> {
    let principal = caller(request)?;
    principal.require_any_role(roles)?;
    Ok(principal)
}

/// The verified caller of a request, whatever its roles.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Principal, ServiceError> {
    hearth_auth::principal(request)
        .cloned()
        .map_err(|status| ServiceError::Unauthenticated(status.message().to_owned()))
}

/// A resource id from a request: a UUID in its hyphenated form, else a violation of `field`.
pub fn resource_id(value: &str, field: &str, violations: &mut Violations) -> Option<String> {
    match uuid::Uuid::parse_str(value.trim()) {
        Ok(id) => Some(id.hyphenated().to_string()),
        Err(_) if value.trim().is_empty() => {
            violations.add(field, "is required");
            None
        }
        Err(_) => {
            violations.add(field, "must be an id (a UUID)");
            None
        }
    }
}

/// The one id a request names (a get): the id, or `InvalidArgument` naming `field`.
pub fn required_id(value: &str, field: &str) -> Result<String, ServiceError> {
    let mut violations = Violations::new();
    let id = resource_id(value, field, &mut violations);
    violations.finish()?;
    id.ok_or_else(|| ServiceError::invalid(field, "is required"))
}

/// The idempotency key of a create or action named `operation`: `key` takes the key out of a
/// copy of the request, and the rest of the request is what a retry must repeat.
pub fn action_key<M: Message + Clone>(
    ctx: &ServiceContext,
    operation: &str,
    request: &M,
    key: fn(&mut M) -> &mut String,
    violations: &mut Violations,
) -> Option<IdempotencyKey> {
    let mut rest = request.clone();
    let sent = std::mem::take(key(&mut rest));
    match IdempotencyKey::new(
        operation,
        &sent,
        "idempotency_key",
        &ctx.keyring,
        &rest.encode_to_vec(),
    ) {
        Ok(key) => Some(key),
        Err(error) => {
            violations.absorb("idempotency_key", error);
            None
        }
    }
}

/// A list's page: `paging` takes the page size and token out of a copy of the request, and the
/// rest (the filters) is what the page token is bound to.
pub fn list_page<M: Message + Clone>(
    request: &M,
    paging: fn(&mut M) -> (&mut i32, &mut String),
    default_size: u32,
    max_size: u32,
    violations: &mut Violations,
) -> Page {
    let mut filters = request.clone();
    let (size, token) = paging(&mut filters);
    let (size, token) = (std::mem::take(size), std::mem::take(token));
    Page::check(
        size,
        &token,
        &filters.encode_to_vec(),
        default_size,
        max_size,
        violations,
    )
}

/// The etag of a version (AIP-154): opaque to clients.
pub fn etag(version: i64) -> String {
    format!("v{version}")
}

/// Refuses a stale etag with `ABORTED` (reason `STALE_ETAG`); an empty one passes when
/// `optional`.
pub fn require_fresh(sent: &str, version: i64, optional: bool) -> Result<(), ServiceError> {
    let sent = sent.trim();
    if (optional && sent.is_empty()) || sent == etag(version) {
        return Ok(());
    }
    Err(ServiceError::Aborted {
        reason: "STALE_ETAG",
        message: format!(
            "the etag `{sent}` is not the current one: read the resource again and reapply the change"
        ),
    })
}

/// Seals an encoded message for a column, bound to `id` (the row's id): a sealed value moved to
/// another row does not open.
pub fn seal<M: Message>(
    ctx: &ServiceContext,
    message: &M,
    id: &str,
) -> Result<String, ServiceError> {
    let plaintext = zeroize::Zeroizing::new(message.encode_to_vec());
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

/// Seals free text for a column, bound to `id`.
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

/// Records that `principal` did `action` on the resources `ids` of type `resource` for
/// `purpose` (the RPC's full path, e.g. `/hearth.intake.v1.IntakeService/GetInterestRegistration`,
/// or a job's name), in the caller's transaction: commit it before the data leaves.
pub async fn audit<C: ConnectionTrait>(
    ctx: &ServiceContext,
    conn: &C,
    principal: &Principal,
    action: AuditAction,
    resource: &str,
    purpose: &str,
    ids: impl IntoIterator<Item = String>,
) -> Result<(), ServiceError> {
    let mut access = AuditAccess::new(
        principal,
        action,
        ResourceType::parse(resource).map_err(ServiceError::internal)?,
        Purpose::parse(purpose).map_err(ServiceError::internal)?,
    );
    if let Some(trace) = hearth_telemetry::propagation::trace_id_of_current_span()
        && let Ok(correlation) = CorrelationId::parse(&trace)
    {
        access = access.with_correlation_id(correlation);
    }
    let ids = ids
        .into_iter()
        .map(|id| ResourceId::parse(&id).map_err(ServiceError::internal))
        .collect::<Result<Vec<_>, _>>()?;
    ctx.audit.record_many(conn, &access, ids).await?;
    Ok(())
}

/// Writes an event of `kind` about the aggregate `(id, version after the change)` into the
/// caller's transaction through the outbox, with the current trace as its correlation.
pub async fn publish<C: ConnectionTrait, M: Message>(
    ctx: &ServiceContext,
    conn: &C,
    kind: &EventKind,
    aggregate: (&str, i64),
    payload: &M,
    occurred_at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let (aggregate_id, aggregate_version) = aggregate;
    let event = NewEvent::new(
        kind.event_type,
        aggregate_id,
        u64::try_from(aggregate_version).unwrap_or(1),
        pack_payload(kind.payload_type, payload),
    )
    .with_correlation_id(
        hearth_telemetry::propagation::trace_id_of_current_span().unwrap_or_default(),
    )
    .with_occurred_at(occurred_at);
    ctx.outbox
        .enqueue(conn, event)
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
