//! Invoices: one member's share of a run with its instalments. Get and list; municipality staff
//! see their own municipality's only.

use hearth_auth::Principal;
use hearth_domain::MunicipalityCode;
use hearth_proto::allocation::v1 as pb;
use hearth_proto::convert::{municipality_code, municipality_code_to_proto, timestamp_to_proto};
use hearth_rpc::handler::{PAGE_SIZES, accept, list_page, resource_id};
use hearth_rpc::paging::Position;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tonic::Request;

use super::support::{INVOICE_ID, INVOICE_READERS, check_year, own_only};
use crate::convert;
use crate::store::entities::invoice;
use crate::store::records::{InvoiceRecord, from_json};

pub async fn get(
    ctx: &ServiceContext,
    request: Request<pb::GetInvoiceRequest>,
) -> Result<pb::GetInvoiceResponse, ServiceError> {
    let (principal, request) = accept(request, INVOICE_READERS)?;
    let row = INVOICE_ID
        .find::<invoice::Entity, _>(&ctx.db, &request.invoice_id)
        .await?;
    let municipality = stored_code(&row.municipality)?;
    if let Some(own) = own_only(&principal)
        && own != municipality
    {
        principal.require_municipality_scope(&municipality)?;
    }
    Ok(pb::GetInvoiceResponse {
        invoice: Some(to_proto(&row)?),
    })
}

pub async fn list(
    ctx: &ServiceContext,
    request: Request<pb::ListInvoicesRequest>,
) -> Result<pb::ListInvoicesResponse, ServiceError> {
    let (principal, request) = accept(request, INVOICE_READERS)?;
    let mut violations = Violations::new();
    let page = list_page(&request, PAGE_SIZES, &mut violations);
    let filters = Filters::check(&request, &mut violations);
    violations.finish()?;
    let municipalities = visible(&principal, filters.municipalities)?;
    let mut query = invoice::Entity::find();
    if request.year != 0 {
        query = query.filter(invoice::Column::Year.eq(request.year));
    }
    if !municipalities.is_empty() {
        query = query.filter(
            invoice::Column::Municipality.is_in(municipalities.iter().map(ToString::to_string)),
        );
    }
    if let Some(run_id) = filters.run_id {
        query = query.filter(invoice::Column::RunId.eq(run_id));
    }
    if !request.states.is_empty() {
        query = query.filter(invoice::Column::State.is_in(request.states.clone()));
    }
    let mut rows = page
        .newest_first(query, invoice::Column::IssueTime, invoice::Column::Id)
        .all(&ctx.db)
        .await?;
    let next_page_token = page.finish(&mut rows, |last| Position {
        time: last.issue_time,
        id: last.id.clone(),
    });
    Ok(pb::ListInvoicesResponse {
        invoices: rows.iter().map(to_proto).collect::<Result<_, _>>()?,
        next_page_token,
    })
}

/// The checked filters of a `ListInvoices` that need parsing.
struct Filters {
    municipalities: Vec<MunicipalityCode>,
    run_id: Option<String>,
}

impl Filters {
    fn check(request: &pb::ListInvoicesRequest, violations: &mut Violations) -> Self {
        if request.year != 0 {
            check_year(violations, "year", request.year);
        }
        let municipalities = request
            .municipalities
            .iter()
            .enumerate()
            .filter_map(|(index, code)| {
                violations.check(&format!("municipalities[{index}]"), municipality_code(code))
            })
            .collect();
        let run_id = if request.allocation_run_id.is_empty() {
            None
        } else {
            resource_id(&request.allocation_run_id, "allocation_run_id", violations)
        };
        for (index, state) in request.states.iter().enumerate() {
            if !matches!(
                pb::InvoiceState::try_from(*state),
                Ok(pb::InvoiceState::Issued | pb::InvoiceState::Superseded)
            ) {
                violations.add(format!("states[{index}]"), "is not an invoice state");
            }
        }
        Self {
            municipalities,
            run_id,
        }
    }
}

/// The municipalities the caller lists: municipality staff their own only (asking for another
/// is refused).
fn visible(
    principal: &Principal,
    asked: Vec<MunicipalityCode>,
) -> Result<Vec<MunicipalityCode>, ServiceError> {
    let Some(own) = own_only(principal) else {
        return Ok(asked);
    };
    for code in asked.iter().filter(|code| **code != own) {
        principal.require_municipality_scope(code)?;
    }
    Ok(vec![own])
}

/// A municipality code as the invoice table keeps it.
fn stored_code(text: &str) -> Result<MunicipalityCode, ServiceError> {
    MunicipalityCode::parse(text).map_err(ServiceError::internal)
}

fn to_proto(row: &invoice::Model) -> Result<pb::Invoice, ServiceError> {
    let record: InvoiceRecord = from_json(&row.body)?;
    Ok(pb::Invoice {
        id: row.id.clone(),
        allocation_run_id: row.run_id.clone(),
        municipality: Some(municipality_code_to_proto(stored_code(&row.municipality)?)),
        year: row.year,
        kind: row.kind,
        amount: Some(convert::money(row.amount_ore)),
        instalments: convert::instalments(&record.instalments),
        state: row.state,
        issue_time: Some(timestamp_to_proto(row.issue_time)),
    })
}
