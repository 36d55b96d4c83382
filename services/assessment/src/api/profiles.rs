//! Family profiles: read, listed, changed (profile and availability) and closed when the
//! family leaves the pool. (A profile is created by an approval, and its basic course recorded
//! from training's events, in `app::profiles`.)

use super::convert;
use super::support::{ASSESSORS, READERS, family_left, family_left_already};
use crate::app::profiles::{self, LEFT, RESOURCE};
use crate::store::entities::family_profile as row;
use hearth_audit::AuditAction;
use hearth_proto::assessment::v1 as pb;
use hearth_proto::assessment::v1::assessment_service_server::SERVICE_NAME;
use hearth_rpc::handler::{
    Access, ListedRow, PAGE_SIZES, accept, audit, audited_page, list_page, require_fresh,
    required_id, rpc_path,
};
use hearth_rpc::paging::Position;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tonic::Request;

/// Profiles are listed newest first.
impl ListedRow for row::Model {
    fn position(&self) -> Position {
        Position {
            time: self.created_at,
            id: self.id.clone(),
        }
    }

    fn resource_id(&self) -> String {
        self.id.clone()
    }
}

pub async fn get(
    ctx: &ServiceContext,
    request: Request<pb::GetFamilyProfileRequest>,
) -> Result<pb::GetFamilyProfileResponse, ServiceError> {
    let (principal, message) = accept(request, READERS)?;
    let id = required_id(&message.family_profile_id, "family_profile_id")?;
    let txn = ctx.begin().await?;
    let found = profiles::load(&txn, &id).await?;
    let answer = convert::profile_to_proto(ctx, &found)?;
    audit(
        ctx,
        &txn,
        &principal,
        AuditAction::Read,
        RESOURCE,
        &rpc_path(SERVICE_NAME, "GetFamilyProfile"),
        [id],
    )
    .await?;
    txn.commit().await?;
    Ok(pb::GetFamilyProfileResponse {
        family_profile: Some(answer),
    })
}

pub async fn list(
    ctx: &ServiceContext,
    request: Request<pb::ListFamilyProfilesRequest>,
) -> Result<pb::ListFamilyProfilesResponse, ServiceError> {
    let (principal, message) = accept(request, READERS)?;
    let mut violations = Violations::new();
    let filter = convert::profile_query(&message, &mut violations);
    let page = list_page(&message, PAGE_SIZES, &mut violations);
    violations.finish()?;
    let mut query = row::Entity::find().filter(row::Column::State.is_in(filter.states));
    if !filter.municipalities.is_empty() {
        query = query.filter(
            row::Column::Municipality.is_in(filter.municipalities.iter().map(ToString::to_string)),
        );
    }
    if !filter.basic_training_statuses.is_empty() {
        query =
            query.filter(row::Column::BasicTrainingStatus.is_in(filter.basic_training_statuses));
    }
    let txn = ctx.begin().await?;
    let rows = page
        .newest_first(query, row::Column::CreatedAt, row::Column::Id)
        .all(&txn)
        .await?;
    let (family_profiles, next_page_token) = audited_page(
        ctx,
        txn,
        &principal,
        (&page, rows),
        Access {
            resource: RESOURCE,
            purpose: &rpc_path(SERVICE_NAME, "ListFamilyProfiles"),
        },
        |found| convert::profile_to_proto(ctx, found),
    )
    .await?;
    Ok(pb::ListFamilyProfilesResponse {
        family_profiles,
        next_page_token,
    })
}

pub async fn update(
    ctx: &ServiceContext,
    request: Request<pb::UpdateFamilyProfileRequest>,
) -> Result<pb::UpdateFamilyProfileResponse, ServiceError> {
    let (principal, message) = accept(request, ASSESSORS)?;
    let changes = convert::profile_changes(message)?;
    let txn = ctx.begin().await?;
    let found = profiles::load(&txn, &changes.id).await?;
    if found.state == LEFT {
        return Err(family_left());
    }
    require_fresh(&changes.etag, found.version, false)?;
    let stored = profiles::content(ctx, &found)?;
    let draft = convert::changed_profile(&stored, &changes, &ctx.county, ctx.today())?;
    let Some(updated) = profiles::update(ctx, &txn, &found, &stored, &draft).await? else {
        let answer = convert::profile_to_proto(ctx, &found)?;
        txn.commit().await?;
        return Ok(pb::UpdateFamilyProfileResponse {
            family_profile: Some(answer),
        });
    };
    audit(
        ctx,
        &txn,
        &principal,
        AuditAction::Update,
        RESOURCE,
        &rpc_path(SERVICE_NAME, "UpdateFamilyProfile"),
        [changes.id],
    )
    .await?;
    let answer = convert::profile_to_proto(ctx, &updated)?;
    txn.commit().await?;
    ctx.outbox.notify_relay();
    Ok(pb::UpdateFamilyProfileResponse {
        family_profile: Some(answer),
    })
}

pub async fn close(
    ctx: &ServiceContext,
    request: Request<pb::CloseFamilyProfileRequest>,
) -> Result<pb::CloseFamilyProfileResponse, ServiceError> {
    let (principal, message) = accept(request, ASSESSORS)?;
    let closing = convert::closing(ctx, &message)?;
    let txn = ctx.begin().await?;
    let found = profiles::load(&txn, &closing.id).await?;
    if closing.key.find(&txn).await?.is_some() {
        let answer = convert::profile_to_proto(ctx, &found)?;
        txn.commit().await?;
        return Ok(pb::CloseFamilyProfileResponse {
            family_profile: Some(answer),
        });
    }
    if found.state == LEFT {
        return Err(family_left_already());
    }
    require_fresh(&closing.etag, found.version, true)?;
    let updated = profiles::close(ctx, &txn, &found, closing.leaving).await?;
    closing
        .key
        .remember(&txn, &closing.id, LEFT, ctx.now())
        .await?;
    audit(
        ctx,
        &txn,
        &principal,
        AuditAction::Update,
        RESOURCE,
        &rpc_path(SERVICE_NAME, "CloseFamilyProfile"),
        [closing.id.clone()],
    )
    .await?;
    let answer = convert::profile_to_proto(ctx, &updated)?;
    txn.commit().await?;
    ctx.outbox.notify_relay();
    Ok(pb::CloseFamilyProfileResponse {
        family_profile: Some(answer),
    })
}
