//! The candidate list of an open placement request.
//!
//! The pool is loaded from the database for every call: every replica follows the database by
//! construction, so any replica answers the same. An in-memory copy kept current with a change
//! watermark is a later slice, when the pool is large enough for the load to show.

use super::convert;
use super::support::READERS;
use crate::app;
use crate::domain::{self, RankOptions, Weights};
use hearth_audit::AuditAction;
use hearth_proto::matching::v1 as pb;
use hearth_proto::matching::v1::matching_service_server::SERVICE_NAME;
use hearth_rpc::handler::{PageSizes, accept, audit, list_page, resource_id, rpc_path};
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use tonic::Request;

/// 20 a page unless asked, at most 100.
const PAGE_SIZES: PageSizes = PageSizes {
    default: 20,
    max: 100,
};

pub async fn list(
    ctx: &ServiceContext,
    request: Request<pb::ListCandidatesRequest>,
) -> Result<pb::ListCandidatesResponse, ServiceError> {
    let (principal, message) = accept(request, READERS)?;
    let mut violations = Violations::new();
    let id = resource_id(
        &message.placement_request_id,
        "placement_request_id",
        &mut violations,
    );
    let page = list_page(&message, PAGE_SIZES, &mut violations);
    violations.finish()?;
    let id = id.ok_or_else(|| ServiceError::invalid("placement_request_id", "is required"))?;

    let txn = ctx.begin().await?;
    let facts = app::requests::open_facts(&txn, &id).await?;
    let request = app::convert::request(&ctx.county, &facts)?;
    let pool: Vec<_> = app::pool::load(&txn)
        .await?
        .iter()
        .filter_map(|stored| app::convert::pool_family(&ctx.county, stored))
        .collect();
    let ranking = domain::rank(
        &request,
        &pool,
        ctx.today(),
        &Weights::from(ctx.county.matching()),
        RankOptions {
            top_n: None,
            include_excluded: message.include_excluded,
        },
    );

    // Candidates best first, then (when asked) the excluded by id: one list, paged.
    let entries = ranking
        .candidates
        .iter()
        .map(convert::candidate)
        .chain(ranking.excluded.iter().map(convert::excluded));
    let (candidates, next_page_token) = page.of_list(entries);

    audit(
        ctx,
        &txn,
        &principal,
        AuditAction::List,
        app::pool::RESOURCE,
        &rpc_path(SERVICE_NAME, "ListCandidates"),
        candidates
            .iter()
            .map(|candidate| candidate.family_profile_id.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(pb::ListCandidatesResponse {
        candidates,
        next_page_token,
        pool_size: u32::try_from(ranking.pool_size).unwrap_or(u32::MAX),
    })
}
