//! What every assessment handler needs: the caller with its roles checked, ids, idempotency
//! keys, etags, sealing, audit entries and event writing.

use crate::events::EventKind;
use chrono::{DateTime, Utc};
use hearth_audit::{AuditAccess, AuditAction, CorrelationId, Purpose, ResourceId, ResourceType};
use hearth_auth::{Principal, Role};
use hearth_bus::{NewEvent, pack_payload};
use hearth_rpc::idempotency::IdempotencyKey;
use hearth_rpc::paging::Page;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use prost::Message;
use sea_orm::ConnectionTrait;

/// Unit staff and admins: who may read cases and profiles.
pub const READERS: &[Role] = &[Role::UnitStaff, Role::Admin];
/// Unit staff: who may change a case's stage, record checks and decide.
pub const ASSESSORS: &[Role] = &[Role::UnitStaff];

/// The verified caller of a request, refused unless it has one of `roles`.
pub fn caller_with<T>(
    request: &tonic::Request<T>,
    roles: &[Role],
) -> Result<Principal, ServiceError> {
    let principal = hearth_auth::principal(request)
        .map_err(|status| ServiceError::Unauthenticated(status.message().to_owned()))?
        .clone();
    principal.require_any_role(roles)?;
    Ok(principal)
}

/// A resource id from the request: a UUID in its hyphenated form, else a violation.
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

/// The idempotency key of an action: `key` takes the key out of a copy of the request, and the
/// rest of the request is what a retry must repeat.
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
            violations.add("idempotency_key", describe(error));
            None
        }
    }
}

/// A list's page: `paging` takes the page size and token out of a copy of the request, and the
/// rest (the filters) is what the page token is bound to.
pub fn list_page<M: Message + Clone>(
    request: &M,
    paging: fn(&mut M) -> (&mut i32, &mut String),
    violations: &mut Violations,
) -> Page {
    let mut filters = request.clone();
    let (size, token) = paging(&mut filters);
    let (size, token) = (std::mem::take(size), std::mem::take(token));
    Page::check(
        size,
        &token,
        &filters.encode_to_vec(),
        DEFAULT_PAGE_SIZE,
        MAX_PAGE_SIZE,
        violations,
    )
}

/// Lists' default page size.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Lists' largest page size.
pub const MAX_PAGE_SIZE: u32 = 200;

/// A service error's descriptions, for a field violation.
fn describe(error: ServiceError) -> String {
    match error {
        ServiceError::InvalidArgument(found) => found
            .into_iter()
            .map(|violation| violation.description)
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// The etag of a version (AIP-154): opaque to clients.
pub fn etag(version: i64) -> String {
    format!("v{version}")
}

/// Refuses a stale etag with `ABORTED`; an empty one passes when `optional`.
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

/// Seals an encoded message for a column, bound to the row's id.
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

/// Records that `principal` did `action` on the resources `ids` through `operation` (an RPC
/// name or a job's), in the caller's transaction, before the data leaves.
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
    let mut access = AuditAccess::new(
        principal,
        action,
        ResourceType::parse(resource).map_err(ServiceError::internal)?,
        Purpose::parse(&purpose).map_err(ServiceError::internal)?,
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

/// Writes an event into the caller's transaction through the outbox.
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
