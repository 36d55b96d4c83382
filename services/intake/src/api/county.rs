//! The county's shape for integrators' pick-lists: member municipalities and fee levels, as
//! the county file gives them. Any authenticated caller may read them.

use super::support::caller;
use hearth_proto::common::v1 as common;
use hearth_proto::convert;
use hearth_proto::intake::v1 as pb;
use hearth_rpc::paging::{self, Position};
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use tonic::{Request, Response, Status};

const DEFAULT_PAGE_SIZE: u32 = 100;
const MAX_PAGE_SIZE: u32 = 200;

pub fn list_members(
    ctx: &ServiceContext,
    request: Request<pb::ListMemberMunicipalitiesRequest>,
) -> Result<Response<pb::ListMemberMunicipalitiesResponse>, Status> {
    caller(&request)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let on = request.membership_date.as_ref().and_then(|date| {
        let parsed = convert::date(date);
        if parsed.is_none() {
            violations.add("membership_date", "is not a valid calendar date");
        }
        parsed
    });
    let filter = format!("{:?}", on);
    let page = Page::check(
        request.page_size,
        &request.page_token,
        filter.as_bytes(),
        &mut violations,
    );
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
    let (members, next_page_token) = page.apply(members);
    Ok(Response::new(pb::ListMemberMunicipalitiesResponse {
        members,
        next_page_token,
    }))
}

pub fn list_fee_levels(
    ctx: &ServiceContext,
    request: Request<pb::ListFeeLevelsRequest>,
) -> Result<Response<pb::ListFeeLevelsResponse>, Status> {
    caller(&request)?;
    let request = request.into_inner();
    let mut violations = Violations::new();
    let page = Page::check(request.page_size, &request.page_token, b"", &mut violations);
    violations.finish()?;
    let levels = ctx
        .county
        .fee_levels()
        .iter()
        .map(|level| pb::FeeLevel {
            code: level.code.clone(),
            name: level.name.clone(),
            monthly_fee: Some(common::Money {
                ore: level.monthly_fee_ore,
            }),
        })
        .collect();
    let (fee_levels, next_page_token) = page.apply(levels);
    Ok(Response::new(pb::ListFeeLevelsResponse {
        fee_levels,
        next_page_token,
    }))
}

/// A page of a list from the county file: a fixed, short list, so the token is a position in it.
struct Page {
    size: usize,
    start: usize,
    fingerprint: [u8; 8],
}

impl Page {
    fn check(size: i32, token: &str, filter: &[u8], violations: &mut Violations) -> Self {
        let fingerprint = paging::fingerprint(&[filter]);
        let size = match paging::page_size(size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size") {
            Ok(size) => usize::try_from(size).unwrap_or(usize::MAX),
            Err(ServiceError::InvalidArgument(found)) => {
                found
                    .into_iter()
                    .for_each(|v| violations.add(v.field, v.description));
                0
            }
            Err(other) => {
                violations.add("page_size", other.to_string());
                0
            }
        };
        let start = match paging::decode_token(token, fingerprint, "page_token") {
            Ok(position) => position
                .and_then(|position| position.id.parse().ok())
                .unwrap_or(0),
            Err(_) => {
                violations.add("page_token", "is not a page token from this list");
                0
            }
        };
        Self {
            size,
            start,
            fingerprint,
        }
    }

    fn apply<T>(&self, items: Vec<T>) -> (Vec<T>, String) {
        let total = items.len();
        let end = self.start.saturating_add(self.size).min(total);
        let page: Vec<T> = items.into_iter().skip(self.start).take(self.size).collect();
        let token = if end < total {
            paging::encode_token(
                &Position {
                    time: chrono::DateTime::UNIX_EPOCH,
                    id: end.to_string(),
                },
                self.fingerprint,
            )
        } else {
            String::new()
        };
        (page, token)
    }
}
