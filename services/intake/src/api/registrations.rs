//! Interest registrations: register (public intake), get, list, update contact details,
//! withdraw.

use super::convert::registration::{check_address, check_contact_update, check_registration};
use super::support::{self, REGISTRANTS, REGISTRATION_STAFF};
use crate::published;
use crate::store::entities::{interest_registration as row, open_household_member as member};
use hearth_audit::AuditAction;
use hearth_proto::convert;
use hearth_proto::events::v1::{
    HouseholdDetails, InterestRegistered, InterestRegistrationUpdated,
    InterestRegistrationWithdrawn,
};
use hearth_proto::intake::v1 as pb;
use hearth_rpc::handler::{self, Access, PAGE_SIZES, accept, list_page};
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use prost::Message;
use sea_orm::{ActiveModelTrait, ActiveValue, ColumnTrait, EntityTrait, QueryFilter};
use tonic::Request;

const RESOURCE: &str = "interest_registration";
const OPEN: &str = "open";
const WITHDRAWN: &str = "withdrawn";
const CREATED: &str = "created";
const LINKED: &str = "linked";

pub async fn create(
    ctx: &ServiceContext,
    request: Request<pb::CreateInterestRegistrationRequest>,
) -> Result<pb::CreateInterestRegistrationResponse, ServiceError> {
    let (_, request) = accept(request, REGISTRANTS)?;
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
    let key = handler::idempotency_key(
        ctx,
        "CreateInterestRegistration",
        &request.idempotency_key,
        &request_bytes,
        &mut violations,
    );
    violations.finish()?;
    let (Some(draft), Some(key)) = (draft, key) else {
        return Err(ServiceError::internal("checked registration missing"));
    };
    let pin_indexes: Vec<String> = draft
        .personal_identity_numbers
        .iter()
        .map(|number| ctx.keyring.blind_index_pin(number))
        .collect();

    // Two attempts: a concurrent call can win the race for the open-member keys or for the
    // idempotency key; the second attempt then finds what it committed and answers from it.
    for attempt in 0..2 {
        let txn = ctx.begin().await?;
        if let Some(first) = key.find(&txn).await? {
            let found = row::Entity::find_by_id(first.resource_id.clone())
                .one(&txn)
                .await?;
            txn.commit().await?;
            return Ok(receipt(&first.resource_id, found.as_ref(), &first.outcome));
        }
        let now = ctx.now();
        let open_member = member::Entity::find()
            .filter(member::Column::PinIndex.is_in(pin_indexes.clone()))
            .one(&txn)
            .await?;
        if let Some(open_member) = open_member {
            let Some(existing) =
                row::Entity::find_by_id(open_member.interest_registration_id.clone())
                    .one(&txn)
                    .await?
            else {
                return Err(ServiceError::internal(
                    "open household member without registration",
                ));
            };
            let mut update: row::ActiveModel = existing.clone().into();
            update.repeat_count = ActiveValue::Set(existing.repeat_count.saturating_add(1));
            update.last_repeat_at = ActiveValue::Set(Some(now));
            update.update(&txn).await?;
            match key.remember(&txn, &existing.id, LINKED, now).await {
                Err(ServiceError::Aborted { .. }) if attempt == 0 => {
                    txn.rollback().await?;
                    continue;
                }
                outcome => outcome?,
            }
            txn.commit().await?;
            tracing::info!(interest_registration_id = %existing.id, "registration linked to the household's open registration");
            return Ok(receipt(&existing.id, Some(&existing), LINKED));
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
            .await?;
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
                txn.rollback().await?;
                continue;
            }
            Err(error) => return Err(ServiceError::from(error)),
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
            &published::INTEREST_REGISTERED,
            (&id, 1),
            &event,
            now,
        )
        .await?;
        match key.remember(&txn, &id, CREATED, now).await {
            Err(ServiceError::Aborted { .. }) if attempt == 0 => {
                txn.rollback().await?;
                continue;
            }
            outcome => outcome?,
        }
        txn.commit().await?;
        ctx.outbox.notify_relay();
        tracing::info!(interest_registration_id = %id, home_municipality = %draft.home_municipality, "interest registered");
        return Ok(pb::CreateInterestRegistrationResponse {
            interest_registration_id: id,
            create_time: Some(convert::timestamp_to_proto(now)),
            outcome: pb::RegistrationOutcome::Created as i32,
        });
    }
    Err(ServiceError::Aborted {
        reason: "CONCURRENT_REGISTRATION",
        message: "the household was registered concurrently; retry the call".to_owned(),
    })
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
) -> Result<pb::GetInterestRegistrationResponse, ServiceError> {
    let (principal, request) = accept(request, REGISTRATION_STAFF)?;
    let mut violations = Violations::new();
    let id = handler::resource_id(
        &request.interest_registration_id,
        "interest_registration_id",
        &mut violations,
    );
    violations.finish()?;
    let id = id.unwrap_or_default();
    let txn = ctx.begin().await?;
    let found = row::Entity::find_by_id(id.clone())
        .one(&txn)
        .await?
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
    txn.commit().await?;
    Ok(pb::GetInterestRegistrationResponse {
        interest_registration: Some(registration),
    })
}

pub async fn list(
    ctx: &ServiceContext,
    request: Request<pb::ListInterestRegistrationsRequest>,
) -> Result<pb::ListInterestRegistrationsResponse, ServiceError> {
    let (principal, request) = accept(request, REGISTRATION_STAFF)?;
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
    let created = handler::time_range(request.create_time.as_ref(), "create_time", &mut violations);
    let view = match pb::InterestRegistrationView::try_from(request.view) {
        Ok(view) => view,
        Err(_) => {
            violations.add("view", format!("unknown value {}", request.view));
            pb::InterestRegistrationView::Basic
        }
    };
    let page = list_page(&request, PAGE_SIZES, &mut violations);
    violations.finish()?;

    let mut query = row::Entity::find();
    if !municipalities.is_empty() {
        query = query.filter(row::Column::HomeMunicipality.is_in(municipalities));
    }
    if !request.channels.is_empty() {
        query = query.filter(row::Column::Channel.is_in(request.channels.clone()));
    }
    if let Some(from) = created.from {
        query = query.filter(row::Column::CreatedAt.gte(from));
    }
    if let Some(to) = created.to {
        query = query.filter(row::Column::CreatedAt.lt(to));
    }
    let txn = ctx.begin().await?;
    let rows = page
        .newest_first(query, row::Column::CreatedAt, row::Column::Id)
        .all(&txn)
        .await?;
    let full = view == pb::InterestRegistrationView::Full;
    let purpose = handler::rpc_path(support::SERVICE, "ListInterestRegistrations");
    let access = Access {
        resource: RESOURCE,
        purpose: &purpose,
    };
    let (registrations, next_page_token) =
        handler::audited_page(ctx, txn, &principal, (&page, rows), access, |found| {
            to_proto(ctx, found, full)
        })
        .await?;
    Ok(pb::ListInterestRegistrationsResponse {
        interest_registrations: registrations,
        next_page_token,
    })
}

pub async fn update(
    ctx: &ServiceContext,
    request: Request<pb::UpdateInterestRegistrationRequest>,
) -> Result<pb::UpdateInterestRegistrationResponse, ServiceError> {
    let (principal, request) = accept(request, REGISTRATION_STAFF)?;
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

    let txn = ctx.begin().await?;
    let found = row::Entity::find_by_id(id.clone())
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, &id))?;
    if found.state != OPEN {
        return Err(ServiceError::rule(
            "INTEREST_REGISTRATION_CLOSED",
            "the registration is withdrawn and cannot be changed",
        ));
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
    let updated = update.update(&txn).await?;
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
        &published::INTEREST_UPDATED,
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
    txn.commit().await?;
    ctx.outbox.notify_relay();
    Ok(pb::UpdateInterestRegistrationResponse {
        interest_registration: Some(registration),
    })
}

pub async fn withdraw(
    ctx: &ServiceContext,
    request: Request<pb::WithdrawInterestRegistrationRequest>,
) -> Result<pb::WithdrawInterestRegistrationResponse, ServiceError> {
    let (_, request) = accept(request, REGISTRATION_STAFF)?;
    let mut violations = Violations::new();
    let id = handler::resource_id(
        &request.interest_registration_id,
        "interest_registration_id",
        &mut violations,
    );
    let key = handler::idempotency_key(
        ctx,
        "WithdrawInterestRegistration",
        &request.idempotency_key,
        request.interest_registration_id.as_bytes(),
        &mut violations,
    );
    violations.finish()?;
    let (Some(id), Some(key)) = (id, key) else {
        return Err(ServiceError::internal("checked withdrawal missing"));
    };
    let txn = ctx.begin().await?;
    let found = row::Entity::find_by_id(id.clone())
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, &id))?;
    if key.find(&txn).await?.is_some() {
        let registration = to_proto(ctx, &found, false)?;
        txn.commit().await?;
        return Ok(pb::WithdrawInterestRegistrationResponse {
            interest_registration: Some(registration),
        });
    }
    if found.state != OPEN {
        return Err(ServiceError::rule(
            "INTEREST_REGISTRATION_CLOSED",
            "the registration is withdrawn already",
        ));
    }
    let now = ctx.now();
    let version = found.version + 1;
    let mut update: row::ActiveModel = found.clone().into();
    update.state = ActiveValue::Set(WITHDRAWN.to_owned());
    update.withdrawn_at = ActiveValue::Set(Some(now));
    update.updated_at = ActiveValue::Set(now);
    update.version = ActiveValue::Set(version);
    let updated = update.update(&txn).await?;
    // The household may register again later: its adults no longer have an open registration.
    member::Entity::delete_many()
        .filter(member::Column::InterestRegistrationId.eq(id.clone()))
        .exec(&txn)
        .await?;
    let event = InterestRegistrationWithdrawn {
        interest_registration_id: id.clone(),
        withdrawn_on: Some(convert::date_to_proto(ctx.today())),
    };
    handler::publish(
        ctx,
        &txn,
        &published::INTEREST_WITHDRAWN,
        (&id, version),
        &event,
        now,
    )
    .await?;
    key.remember(&txn, &id, WITHDRAWN, now).await?;
    let registration = to_proto(ctx, &updated, false)?;
    txn.commit().await?;
    ctx.outbox.notify_relay();
    Ok(pb::WithdrawInterestRegistrationResponse {
        interest_registration: Some(registration),
    })
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

hearth_rpc::listed_by_creation!(row::Model);

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
