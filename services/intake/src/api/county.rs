//! The county's shape for integrators' pick-lists: member municipalities and fee levels, as
//! the county file gives them. Any authenticated caller may read them.

use hearth_auth::Role;
use hearth_proto::common::v1 as common;
use hearth_proto::convert;
use hearth_proto::intake::v1 as pb;
use hearth_rpc::handler::{PageSizes, accept, list_page};
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use tonic::Request;

/// The county file's lists are short: most fit one page.
const PAGE_SIZES: PageSizes = PageSizes {
    default: 100,
    max: 200,
};

pub async fn list_members(
    ctx: &ServiceContext,
    request: Request<pb::ListMemberMunicipalitiesRequest>,
) -> Result<pb::ListMemberMunicipalitiesResponse, ServiceError> {
    let (_, request) = accept(request, &Role::ALL)?;
    let mut violations = Violations::new();
    let on = request.membership_date.as_ref().and_then(|date| {
        let parsed = convert::date(date);
        if parsed.is_none() {
            violations.add("membership_date", "is not a valid calendar date");
        }
        parsed
    });
    let page = list_page(&request, PAGE_SIZES, &mut violations);
    violations.finish()?;
    let members: Vec<_> = ctx
        .county
        .members()
        .iter()
        .filter(|member| on.is_none_or(|date| member.is_member_on(date)))
        .map(|member| pb::MemberMunicipality {
            code: Some(convert::municipality_code_to_proto(member.code)),
            name: member.name.clone(),
            sub_region: member.sub_region.clone().unwrap_or_default(),
            districts: member
                .districts
                .iter()
                .map(|district| pb::District {
                    code: district.code.clone(),
                    name: district.name.clone(),
                })
                .collect(),
            membership: (member.member_from.is_some() || member.member_to.is_some()).then(|| {
                common::DatePeriod {
                    start: member.member_from.map(convert::date_to_proto),
                    end: member.member_to.map(convert::date_to_proto),
                }
            }),
        })
        .collect();
    let (members, next_page_token) = page.of_list(members);
    Ok(pb::ListMemberMunicipalitiesResponse {
        members,
        next_page_token,
    })
}

pub async fn list_fee_levels(
    ctx: &ServiceContext,
    request: Request<pb::ListFeeLevelsRequest>,
) -> Result<pb::ListFeeLevelsResponse, ServiceError> {
    let (_, request) = accept(request, &Role::ALL)?;
    let mut violations = Violations::new();
    let page = list_page(&request, PAGE_SIZES, &mut violations);
    violations.finish()?;
    let levels = ctx.county.fee_levels().iter().map(|level| pb::FeeLevel {
        code: level.code.clone(),
        name: level.name.clone(),
        monthly_fee: Some(common::Money {
            ore: level.monthly_fee_ore,
        }),
    });
    let (fee_levels, next_page_token) = page.of_list(levels);
    Ok(pb::ListFeeLevelsResponse {
        fee_levels,
        next_page_token,
    })
}
