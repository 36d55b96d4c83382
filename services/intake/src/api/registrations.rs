//! Interest registrations: register (public intake), get, list, update contact details,
//! withdraw.

use super::support::{self, caller};
use crate::domain::registration::{check_address, check_contact_update, check_registration};
use crate::events;
use crate::store::entities::{interest_registration as row, open_household_member as member};
use hearth_audit::AuditAction;
use hearth_auth::Role;
use hearth_proto::convert;
use hearth_proto::events::v1::{
    HouseholdDetails, InterestRegistered, InterestRegistrationUpdated,
    InterestRegistrationWithdrawn,
};
use hearth_proto::intake::v1 as pb;
use hearth_rpc::handler;
use hearth_rpc::paging::{Page, Position};
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use prost::Message;
use sea_orm::{ActiveModelTrait, ActiveValue, ColumnTrait, EntityTrait, QueryFilter};
use tonic::{Request, Response, Status};

const RESOURCE: &str = "interest_registration";
const OPEN: &str = "open";
const WITHDRAWN: &str = "withdrawn";
const CREATED: &str = "created";
const LINKED: &str = "linked";
const DEFAULT_PAGE_SIZE: u32 = 50;
const MAX_PAGE_SIZE: u32 = 200;

const READERS: &[Role] = &[Role::UnitStaff, Role::Admin];

pub async fn create(
    ctx: &ServiceContext,
    request: Request<pb::CreateInterestRegistrationRequest>,
) -> Result<Response<pb::CreateInterestRegistrationResponse>, Status> {
    let principal = caller(&request)?;
    principal
        .require_any_role(&[Role::PublicIntake, Role::UnitStaff, Role::Admin])
        .map_err(ServiceError::from)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let draft = check_registration(
        request.interest_registration.as_ref(),
        "interest_registration",
        &ctx.county,
        ctx.today(),
        &mut violations,
    );
    let request_bytes = request
        .interest_registration
        .as_ref()
        .map(Message::encode_to_vec)
        .unwrap_or_default();
    let key = support::check_idempotency_key(
        ctx,
        "CreateInterestRegistration",
        &request.idempotency_key,
        &request_bytes,
        &mut violations,
    );
    violations.finish()?;
    let (Some(draft), Some(key)) = (draft, key) else {
        return Err(ServiceError::internal("checked registration missing").into());
    };
    let pin_indexes: Vec<String> = draft
        .personal_identity_numbers
        .iter()
        .map(|number| ctx.keyring.blind_index_pin(number))
        .collect();

    // Two attempts: a concurrent call can win the race for the open-member keys or for the
    // idempotency key; the second attempt then finds what it committed and answers from it.
    for attempt in 0..2 {
        let txn = ctx.begin().await.map_err(ServiceError::from)?;
        if let Some(first) = key.find(&txn).await? {
            let found = row::Entity::find_by_id(first.resource_id.clone())
                .one(&txn)
                .await
                .map_err(ServiceError::from)?;
            txn.commit().await.map_err(ServiceError::from)?;
            return Ok(Response::new(receipt(
                &first.resource_id,
                found.as_ref(),
                &first.outcome,
            )));
        }
        let now = ctx.now();
        let open_member = member::Entity::find()
            .filter(member::Column::PinIndex.is_in(pin_indexes.clone()))
            .one(&txn)
            .await
            .map_err(ServiceError::from)?;
        if let Some(open_member) = open_member {
            let Some(existing) =
                row::Entity::find_by_id(open_member.interest_registration_id.clone())
                    .one(&txn)
                    .await
                    .map_err(ServiceError::from)?
            else {
                return Err(
                    ServiceError::internal("open household member without registration").into(),
                );
            };
            let mut update: row::ActiveModel = existing.clone().into();
            update.repeat_count = ActiveValue::Set(existing.repeat_count.saturating_add(1));
            update.last_repeat_at = ActiveValue::Set(Some(now));
            update.update(&txn).await.map_err(ServiceError::from)?;
            match key.remember(&txn, &existing.id, LINKED, now).await {
                Err(ServiceError::Aborted { .. }) if attempt == 0 => {
                    txn.rollback().await.map_err(ServiceError::from)?;
                    continue;
                }
                outcome => outcome?,
            }
            txn.commit().await.map_err(ServiceError::from)?;
            tracing::info!(interest_registration_id = %existing.id, "registration linked to the household's open registration");
            return Ok(Response::new(receipt(
                &existing.id,
                Some(&existing),
                LINKED,
            )));
        }

        let id = hearth_domain::new_id().to_string();
        let registration = row::ActiveModel {
            id: ActiveValue::Set(id.clone()),
            home_municipality: ActiveValue::Set(draft.home_municipality.to_string()),
            housing: ActiveValue::Set(draft.housing as i32),
            channel: ActiveValue::Set(draft.channel as i32),
            has_earlier_experience: ActiveValue::Set(draft.has_earlier_experience),
            commission_kinds: ActiveValue::Set(join_numbers(
                draft
                    .commission_kinds
                    .iter()
                    .map(|kind| convert::commission_kind_to_proto(*kind) as i32),
            )),
            age_bands: ActiveValue::Set(join_numbers(
                draft
                    .age_bands
                    .iter()
                    .map(|band| convert::age_band_to_proto(*band) as i32),
            )),
            household: ActiveValue::Set(handler::seal(ctx, &draft.household, &id)?),
            state: ActiveValue::Set(OPEN.to_owned()),
            version: ActiveValue::Set(1),
            repeat_count: ActiveValue::Set(0),
            last_repeat_at: ActiveValue::Set(None),
            created_at: ActiveValue::Set(now),
            updated_at: ActiveValue::Set(now),
            withdrawn_at: ActiveValue::Set(None),
        };
        row::Entity::insert(registration)
            .exec_without_returning(&txn)
            .await
            .map_err(ServiceError::from)?;
        let members = pin_indexes.iter().map(|pin_index| member::ActiveModel {
            pin_index: ActiveValue::Set(pin_index.clone()),
            interest_registration_id: ActiveValue::Set(id.clone()),
        });
        match member::Entity::insert_many(members)
            .exec_without_returning(&txn)
            .await
        {
            Ok(_) => {}
            Err(error) if attempt == 0 && handler::is_unique_violation(&error) => {
                txn.rollback().await.map_err(ServiceError::from)?;
                continue;
            }
            Err(error) => return Err(ServiceError::from(error).into()),
        }
        let event = InterestRegistered {
            interest_registration_id: id.clone(),
            home_municipality: Some(convert::municipality_code_to_proto(draft.home_municipality)),
            commission_kinds: draft
                .commission_kinds
                .iter()
                .map(|kind| convert::commission_kind_to_proto(*kind) as i32)
                .collect(),
            age_bands: draft
                .age_bands
                .iter()
                .map(|band| convert::age_band_to_proto(*band) as i32)
                .collect(),
            channel: draft.channel as i32,
            has_earlier_experience: draft.has_earlier_experience,
            household: Some(
                ctx.keyring
                    .seal_message(&draft.household, &id)
                    .map_err(ServiceError::internal)?,
            ),
        };
        handler::publish(
            ctx,
            &txn,
            &events::INTEREST_REGISTERED,
            (&id, 1),
            &event,
            now,
        )
        .await?;
        match key.remember(&txn, &id, CREATED, now).await {
            Err(ServiceError::Aborted { .. }) if attempt == 0 => {
                txn.rollback().await.map_err(ServiceError::from)?;
                continue;
            }
            outcome => outcome?,
        }
        txn.commit().await.map_err(ServiceError::from)?;
        ctx.outbox.notify_relay();
        tracing::info!(interest_registration_id = %id, home_municipality = %draft.home_municipality, "interest registered");
        return Ok(Response::new(pb::CreateInterestRegistrationResponse {
            interest_registration_id: id,
            create_time: Some(convert::timestamp_to_proto(now)),
            outcome: pb::RegistrationOutcome::Created as i32,
        }));
    }
    Err(ServiceError::Aborted {
        reason: "CONCURRENT_REGISTRATION",
        message: "the household was registered concurrently; retry the call".to_owned(),
    }
    .into())
}

fn receipt(
    id: &str,
    found: Option<&row::Model>,
    outcome: &str,
) -> pb::CreateInterestRegistrationResponse {
    pb::CreateInterestRegistrationResponse {
        interest_registration_id: id.to_owned(),
        create_time: found.map(|found| convert::timestamp_to_proto(found.created_at)),
        outcome: if outcome == LINKED {
            pb::RegistrationOutcome::LinkedToOpenRegistration as i32
        } else {
            pb::RegistrationOutcome::Created as i32
        },
    }
}

pub async fn get(
    ctx: &ServiceContext,
    request: Request<pb::GetInterestRegistrationRequest>,
) -> Result<Response<pb::GetInterestRegistrationResponse>, Status> {
    let principal = caller(&request)?;
    principal
        .require_any_role(READERS)
        .map_err(ServiceError::from)?;
    let mut violations = Violations::new();
    let id = handler::resource_id(
        &request.get_ref().interest_registration_id,
        "interest_registration_id",
        &mut violations,
    );
    violations.finish()?;
    let id = id.unwrap_or_default();
    let txn = ctx.begin().await.map_err(ServiceError::from)?;
    let found = row::Entity::find_by_id(id.clone())
        .one(&txn)
        .await
        .map_err(ServiceError::from)?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, &id))?;
    let registration = to_proto(ctx, &found, true)?;
    support::audit(
        ctx,
        &txn,
        &principal,
        AuditAction::Read,
        RESOURCE,
        "GetInterestRegistration",
        [id.clone()],
    )
    .await?;
    // The read is on record before the data leaves.
    txn.commit().await.map_err(ServiceError::from)?;
    Ok(Response::new(pb::GetInterestRegistrationResponse {
        interest_registration: Some(registration),
    }))
}

pub async fn list(
    ctx: &ServiceContext,
    request: Request<pb::ListInterestRegistrationsRequest>,
) -> Result<Response<pb::ListInterestRegistrationsResponse>, Status> {
    let principal = caller(&request)?;
    principal
        .require_any_role(READERS)
        .map_err(ServiceError::from)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let mut municipalities = Vec::new();
    for (index, code) in request.home_municipalities.iter().enumerate() {
        if let Some(code) = violations.check(
            &format!("home_municipalities[{index}].value"),
            convert::municipality_code(code),
        ) {
            municipalities.push(code.to_string());
        }
    }
    for (index, channel) in request.channels.iter().enumerate() {
        if *channel == 0 || hearth_proto::common::v1::InterestChannel::try_from(*channel).is_err() {
            violations.add(
                format!("channels[{index}]"),
                format!("unknown or unspecified value {channel}"),
            );
        }
    }
    let (from, to) = check_time_range(request.create_time.as_ref(), "create_time", &mut violations);
    let view = match pb::InterestRegistrationView::try_from(request.view) {
        Ok(view) => view,
        Err(_) => {
            violations.add("view", format!("unknown value {}", request.view));
            pb::InterestRegistrationView::Basic
        }
    };
    let mut filters = request.clone();
    filters.page_size = 0;
    filters.page_token.clear();
    let page = Page::check(
        request.page_size,
        &request.page_token,
        &filters.encode_to_vec(),
        DEFAULT_PAGE_SIZE,
        MAX_PAGE_SIZE,
        &mut violations,
    );
    violations.finish()?;

    let mut query = row::Entity::find();
    if !municipalities.is_empty() {
        query = query.filter(row::Column::HomeMunicipality.is_in(municipalities));
    }
    if !request.channels.is_empty() {
        query = query.filter(row::Column::Channel.is_in(request.channels.clone()));
    }
    if let Some(from) = from {
        query = query.filter(row::Column::CreatedAt.gte(from));
    }
    if let Some(to) = to {
        query = query.filter(row::Column::CreatedAt.lt(to));
    }
    let txn = ctx.begin().await.map_err(ServiceError::from)?;
    let mut rows = page
        .newest_first(query, row::Column::CreatedAt, row::Column::Id)
        .all(&txn)
        .await
        .map_err(ServiceError::from)?;
    let next_page_token = page.finish(&mut rows, |last| Position {
        time: last.created_at,
        id: last.id.clone(),
    });
    let full = view == pb::InterestRegistrationView::Full;
    let registrations = rows
        .iter()
        .map(|found| to_proto(ctx, found, full))
        .collect::<Result<Vec<_>, _>>()?;
    support::audit(
        ctx,
        &txn,
        &principal,
        AuditAction::List,
        RESOURCE,
        "ListInterestRegistrations",
        rows.iter().map(|found| found.id.clone()),
    )
    .await?;
    txn.commit().await.map_err(ServiceError::from)?;
    Ok(Response::new(pb::ListInterestRegistrationsResponse {
        interest_registrations: registrations,
        next_page_token,
    }))
}

pub async fn update(
    ctx: &ServiceContext,
    request: Request<pb::UpdateInterestRegistrationRequest>,
) -> Result<Response<pb::UpdateInterestRegistrationResponse>, Status> {
    let principal = caller(&request)?;
    principal
        .require_any_role(READERS)
        .map_err(ServiceError::from)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let incoming = request.interest_registration.unwrap_or_default();
    let id = handler::resource_id(&incoming.id, "interest_registration.id", &mut violations);
    let paths = request
        .update_mask
        .map(|mask| mask.paths)
        .unwrap_or_default();
    if paths.is_empty() {
        violations.add(
            "update_mask",
            "must name the fields to change: adults and/or address",
        );
    }
    for (index, path) in paths.iter().enumerate() {
        if path != "adults" && path != "address" {
            violations.add(
                format!("update_mask.paths[{index}]"),
                format!("`{path}` cannot be changed; changeable fields: adults, address"),
            );
        }
    }
    if request.etag.trim().is_empty() {
        violations.add("etag", "is required");
    }
    violations.finish()?;
    let id = id.unwrap_or_default();

    let txn = ctx.begin().await.map_err(ServiceError::from)?;
    let found = row::Entity::find_by_id(id.clone())
        .one(&txn)
        .await
        .map_err(ServiceError::from)?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, &id))?;
    if found.state != OPEN {
        return Err(ServiceError::rule(
            "INTEREST_REGISTRATION_CLOSED",
            "the registration is withdrawn and cannot be changed",
        )
        .into());
    }
    handler::require_fresh(&request.etag, found.version, false)?;
    let mut household: HouseholdDetails = handler::open(ctx, &found.household, &found.id)?;
    let mut violations = Violations::new();
    if paths.iter().any(|path| path == "adults")
        && let Some(adults) = check_contact_update(
            &incoming.adults,
            "interest_registration.adults",
            &household.adults,
            ctx.today(),
            &mut violations,
        )
    {
        household.adults = adults;
    }
    if paths.iter().any(|path| path == "address")
        && let Some(address) = check_address(
            incoming.address.as_ref(),
            "interest_registration.address",
            &mut violations,
        )
    {
        household.address = Some(address);
    }
    violations.finish()?;
    let now = ctx.now();
    let version = found.version + 1;
    let mut update: row::ActiveModel = found.clone().into();
    update.household = ActiveValue::Set(handler::seal(ctx, &household, &id)?);
    update.version = ActiveValue::Set(version);
    update.updated_at = ActiveValue::Set(now);
    let updated = update.update(&txn).await.map_err(ServiceError::from)?;
    let event = InterestRegistrationUpdated {
        interest_registration_id: id.clone(),
        household: Some(
            ctx.keyring
                .seal_message(&household, &id)
                .map_err(ServiceError::internal)?,
        ),
    };
    handler::publish(
        ctx,
        &txn,
        &events::INTEREST_UPDATED,
        (&id, version),
        &event,
        now,
    )
    .await?;
    support::audit(
        ctx,
        &txn,
        &principal,
        AuditAction::Update,
        RESOURCE,
        "UpdateInterestRegistration",
        [id.clone()],
    )
    .await?;
    let registration = to_proto(ctx, &updated, true)?;
    txn.commit().await.map_err(ServiceError::from)?;
    ctx.outbox.notify_relay();
    Ok(Response::new(pb::UpdateInterestRegistrationResponse {
        interest_registration: Some(registration),
    }))
}

pub async fn withdraw(
    ctx: &ServiceContext,
    request: Request<pb::WithdrawInterestRegistrationRequest>,
) -> Result<Response<pb::WithdrawInterestRegistrationResponse>, Status> {
    let principal = caller(&request)?;
    principal
        .require_any_role(READERS)
        .map_err(ServiceError::from)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let id = handler::resource_id(
        &request.interest_registration_id,
        "interest_registration_id",
        &mut violations,
    );
    let key = support::check_idempotency_key(
        ctx,
        "WithdrawInterestRegistration",
        &request.idempotency_key,
        request.interest_registration_id.as_bytes(),
        &mut violations,
    );
    violations.finish()?;
    let (Some(id), Some(key)) = (id, key) else {
        return Err(ServiceError::internal("checked withdrawal missing").into());
    };
    let txn = ctx.begin().await.map_err(ServiceError::from)?;
    let found = row::Entity::find_by_id(id.clone())
        .one(&txn)
        .await
        .map_err(ServiceError::from)?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, &id))?;
    if key.find(&txn).await?.is_some() {
        let registration = to_proto(ctx, &found, false)?;
        txn.commit().await.map_err(ServiceError::from)?;
        return Ok(Response::new(pb::WithdrawInterestRegistrationResponse {
            interest_registration: Some(registration),
        }));
    }
    if found.state != OPEN {
        return Err(ServiceError::rule(
            "INTEREST_REGISTRATION_CLOSED",
            "the registration is withdrawn already",
        )
        .into());
    }
    let now = ctx.now();
    let version = found.version + 1;
    let mut update: row::ActiveModel = found.clone().into();
    update.state = ActiveValue::Set(WITHDRAWN.to_owned());
    update.withdrawn_at = ActiveValue::Set(Some(now));
    update.updated_at = ActiveValue::Set(now);
    update.version = ActiveValue::Set(version);
    let updated = update.update(&txn).await.map_err(ServiceError::from)?;
    // The household may register again later: its adults no longer have an open registration.
    member::Entity::delete_many()
        .filter(member::Column::InterestRegistrationId.eq(id.clone()))
        .exec(&txn)
        .await
        .map_err(ServiceError::from)?;
    let event = InterestRegistrationWithdrawn {
        interest_registration_id: id.clone(),
        withdrawn_on: Some(convert::date_to_proto(ctx.today())),
    };
    handler::publish(
        ctx,
        &txn,
        &events::INTEREST_WITHDRAWN,
        (&id, version),
        &event,
        now,
    )
    .await?;
    key.remember(&txn, &id, WITHDRAWN, now).await?;
    let registration = to_proto(ctx, &updated, false)?;
    txn.commit().await.map_err(ServiceError::from)?;
    ctx.outbox.notify_relay();
    Ok(Response::new(pb::WithdrawInterestRegistrationResponse {
        interest_registration: Some(registration),
    }))
}

/// A stored registration as the API shows it; without `full`, the basic view (no personal
/// identity numbers, e-mail addresses, phone numbers or postal address).
fn to_proto(
    ctx: &ServiceContext,
    found: &row::Model,
    full: bool,
) -> Result<pb::InterestRegistration, ServiceError> {
    let household: HouseholdDetails = handler::open(ctx, &found.household, &found.id)?;
    let adults = household
        .adults
        .into_iter()
        .map(|adult| pb::RegisteredAdult {
            given_name: adult.given_name,
            family_name: adult.family_name,
            personal_identity_number: if full {
                adult.personal_identity_number
            } else {
                String::new()
            },
            email: if full { adult.email } else { String::new() },
            phone: if full { adult.phone } else { String::new() },
        })
        .collect();
    let state = if found.state == OPEN {
        pb::InterestRegistrationState::Open
    } else {
        pb::InterestRegistrationState::Withdrawn
    };
    Ok(pb::InterestRegistration {
        id: found.id.clone(),
        adults,
        home_municipality: Some(hearth_proto::common::v1::MunicipalityCode {
            value: found.home_municipality.clone(),
        }),
        address: if full { household.address } else { None },
        housing: household.housing,
        own_bedroom_for_child: household.own_bedroom_for_child,
        household_children_ages: household.household_children_ages,
        has_earlier_experience: found.has_earlier_experience,
        commission_kinds: split_numbers(&found.commission_kinds),
        age_bands: split_numbers(&found.age_bands),
        channel: found.channel,
        channel_other: household.channel_other,
        message: household.message,
        create_time: Some(convert::timestamp_to_proto(found.created_at)),
        state: state as i32,
        update_time: Some(convert::timestamp_to_proto(found.updated_at)),
        withdraw_time: found.withdrawn_at.map(convert::timestamp_to_proto),
        repeat_registration_count: u32::try_from(found.repeat_count).unwrap_or_default(),
        last_repeat_time: found.last_repeat_at.map(convert::timestamp_to_proto),
        etag: handler::etag(found.version),
    })
}

/// A `TimeRange` filter's ends; violations against `field`.
pub fn check_time_range(
    range: Option<&hearth_proto::common::v1::TimeRange>,
    field: &str,
    violations: &mut Violations,
) -> (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
) {
    let Some(range) = range else {
        return (None, None);
    };
    let mut end = |value: Option<&prost_types::Timestamp>, name: &str| {
        value.and_then(|value| {
            let parsed = convert::timestamp(value);
            if parsed.is_none() {
                violations.add(format!("{field}.{name}"), "is not a valid timestamp");
            }
            parsed
        })
    };
    let from = end(range.start_time.as_ref(), "start_time");
    let to = end(range.end_time.as_ref(), "end_time");
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        violations.add(format!("{field}.end_time"), "must be later than start_time");
    }
    (from, to)
}

fn join_numbers(values: impl Iterator<Item = i32>) -> String {
    values
        .map(|value| value.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn split_numbers(text: &str) -> Vec<i32> {
    text.split(',')
        .filter_map(|part| part.parse().ok())
        .collect()
}
