//! The one handler contract of all six services, and what every handler needs: the caller and
//! the message (`accept`), the answer (`answer`), resource ids, idempotency keys, typed list
//! requests and audited list pages, etags, sealing personal data at rest, audit entries, and
//! writing events to the outbox.
//!
//! A handler is `async fn rpc(ctx: &ServiceContext, request: Request<M>) -> Result<R,
//! ServiceError>`: `accept(request, ROLES)?` first, `?` on every check and backend error, and
//! the generated trait method is one line, `answer(rpc(&self.ctx, request).await)`.
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
use crate::paging::{Page, Position};
use crate::{ServiceContext, ServiceError, Transaction, Violations};
use tonic::{Request, Response, Status};

/// An event type and the full name of its payload message, e.g. `interest.registered` and
/// `hearth.events.v1.InterestRegistered`. Each service lists its kinds in `events.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKind {
    pub event_type: &'static str,
    pub payload_type: &'static str,
}

/// The first step of every handler: the verified caller of `request` (the auth layer put it
/// there), refused unless it has one of `roles`, and the request's message.
pub fn accept<T>(request: Request<T>, roles: &[Role]) -> Result<(Principal, T), ServiceError> {
    let principal = hearth_auth::principal(&request)
        .cloned()
        .map_err(|status| ServiceError::Unauthenticated(status.message().to_owned()))?;
    principal.require_any_role(roles)?;
    Ok((principal, request.into_inner()))
}

/// The last step: a handler's result as gRPC answers it. The generated trait's methods are one
/// line each, `answer(resource::rpc(&self.ctx, request).await)`.
pub fn answer<T>(result: Result<T, ServiceError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

/// The full path of an RPC, `/hearth.intake.v1.IntakeService/GetInterestRegistration`: the
/// purpose an audit entry records.
pub fn rpc_path(service: &str, method: &str) -> String {
    format!("/{service}/{method}")
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

/// The ends of a `TimeRange` filter (`hearth.common.v1.TimeRange`): `from` inclusive, `to`
/// exclusive, either open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A `TimeRange` filter's ends; violations against `field` (`field.start_time`,
/// `field.end_time`).
pub fn time_range(
    range: Option<&hearth_proto::common::v1::TimeRange>,
    field: &str,
    violations: &mut Violations,
) -> TimeRange {
    let Some(range) = range else {
        return TimeRange::default();
    };
    let mut end = |value: Option<&prost_types::Timestamp>, name: &str| {
        let value = value?;
        let parsed = hearth_proto::convert::timestamp(value);
        if parsed.is_none() {
            violations.add(format!("{field}.{name}"), "is not a valid timestamp");
        }
        parsed
    };
    let from = end(range.start_time.as_ref(), "start_time");
    let to = end(range.end_time.as_ref(), "end_time");
    if from.zip(to).is_some_and(|(from, to)| to <= from) {
        violations.add(format!("{field}.end_time"), "must be later than start_time");
    }
    TimeRange { from, to }
}

/// The idempotency key of a create or action named `operation` (AIP-155): `key` as the client
/// sent it, and `rest` the request's bytes without the key, which a retry must repeat. A bad
/// key is a violation of `idempotency_key`.
pub fn idempotency_key(
    ctx: &ServiceContext,
    operation: &str,
    key: &str,
    rest: &[u8],
    violations: &mut Violations,
) -> Option<IdempotencyKey> {
    match IdempotencyKey::new(operation, key, "idempotency_key", &ctx.keyring, rest) {
        Ok(key) => Some(key),
        Err(error) => {
            violations.extend(error.into_violations("idempotency_key"));
            None
        }
    }
}

/// A list request (AIP-158): its page size and token, and its filters (everything else). The
/// generated messages get it from [`list_requests!`](crate::list_requests), invoked below for
/// every service's lists.
pub trait ListRequest: Message + Clone {
    fn page_size(&self) -> i32;
    fn page_token(&self) -> &str;
    /// The request without its page size and token: what a page token is bound to.
    fn filters(&self) -> Self;
}

/// Implements [`ListRequest`] for generated list requests that have `page_size` and
/// `page_token` fields.
#[macro_export]
macro_rules! list_requests {
    ($($request:ty),* $(,)?) => {$(
        impl $crate::handler::ListRequest for $request {
            fn page_size(&self) -> i32 {
                self.page_size
            }

            fn page_token(&self) -> &str {
                &self.page_token
            }

            fn filters(&self) -> Self {
                let mut filters = self.clone();
                filters.page_size = 0;
                filters.page_token.clear();
                filters
            }
        }
    )*};
}

// Every list request of the built services (the trait and the messages are both foreign to a
// service crate, so the impls live here). A new service adds its own.
crate::list_requests!(
    hearth_proto::intake::v1::ListInterestRegistrationsRequest,
    hearth_proto::intake::v1::ListPlacementRequestsRequest,
    hearth_proto::intake::v1::ListPlacementRequestVersionsRequest,
    hearth_proto::intake::v1::ListMemberMunicipalitiesRequest,
    hearth_proto::intake::v1::ListFeeLevelsRequest,
    hearth_proto::assessment::v1::ListAssessmentCasesRequest,
    hearth_proto::assessment::v1::ListFamilyProfilesRequest,
    hearth_proto::allocation::v1::ListMembersRequest,
    hearth_proto::allocation::v1::ListAllocationRunsRequest,
    hearth_proto::allocation::v1::ListInvoicesRequest,
    hearth_proto::matching::v1::ListCandidatesRequest,
);

/// A list's page sizes: what page size 0 means, and the largest page served.
#[derive(Debug, Clone, Copy)]
pub struct PageSizes {
    pub default: u32,
    pub max: u32,
}

/// The page sizes of most lists.
pub const PAGE_SIZES: PageSizes = PageSizes {
    default: 50,
    max: 200,
};

/// A list request's page, checked (violations name `page_size` and `page_token`), with its
/// tokens bound to the request's filters.
pub fn list_page<R: ListRequest>(
    request: &R,
    sizes: PageSizes,
    violations: &mut Violations,
) -> Page {
    Page::check(
        request.page_size(),
        request.page_token(),
        &request.filters().encode_to_vec(),
        sizes.default,
        sizes.max,
        violations,
    )
}

/// A row of a list read newest first by `(time, id)` and audited by id.
pub trait ListedRow {
    /// Where the row stands in the list's order.
    fn position(&self) -> Position;
    /// The id the audit log records for the row.
    fn resource_id(&self) -> String;
}

/// Implements [`ListedRow`] for stored rows listed newest first by their `created_at` and
/// audited by their `id` (a `String`): most resources.
#[macro_export]
macro_rules! listed_by_creation {
    ($($model:ty),* $(,)?) => {$(
        impl $crate::handler::ListedRow for $model {
            fn position(&self) -> $crate::paging::Position {
                $crate::paging::Position {
                    time: self.created_at,
                    id: self.id.clone(),
                }
            }

            fn resource_id(&self) -> String {
                self.id.clone()
            }
        }
    )*};
}

/// Where an audited read is recorded: the resource type and the purpose (an RPC's path).
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub resource: &'a str,
    pub purpose: &'a str,
}

/// One audited page of a list: `rows` as fetched for `page` (one more than the page, see
/// [`Page::newest_first`]) are cut to the page, converted for the answer, recorded in the
/// audit log as listed by `principal`, and the transaction is committed — the read is on record
/// before the data leaves. Answers the items and the next page's token.
pub async fn audited_page<R: ListedRow, T>(
    ctx: &ServiceContext,
    txn: Transaction,
    principal: &Principal,
    (page, mut rows): (&Page, Vec<R>),
    access: Access<'_>,
    convert: impl FnMut(&R) -> Result<T, ServiceError>,
) -> Result<(Vec<T>, String), ServiceError> {
    let next_page_token = page.finish(&mut rows, ListedRow::position);
    let items = rows.iter().map(convert).collect::<Result<Vec<_>, _>>()?;
    audit(
        ctx,
        &txn,
        principal,
        AuditAction::List,
        access.resource,
        access.purpose,
        rows.iter().map(ListedRow::resource_id),
    )
    .await?;
    txn.commit().await?;
    Ok((items, next_page_token))
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

/// An event handler's view of a service error: an unavailable backend, a conflict or a missing
/// earlier event may get better (retry); a broken rule or bad data cannot (dead-letter).
pub fn handler_error(error: ServiceError) -> hearth_bus::HandlerError {
    use hearth_bus::HandlerError;
    match error {
        ServiceError::Unavailable(message) | ServiceError::Aborted { message, .. } => {
            HandlerError::Retry(message)
        }
        ServiceError::NotFound { .. } => HandlerError::Retry(error.to_string()),
        other => HandlerError::Permanent(other.to_string()),
    }
}

/// Whether a database error is a unique-key violation (a concurrent duplicate).
pub fn is_unique_violation(error: &sea_orm::DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
