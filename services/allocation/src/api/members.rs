//! The member municipalities of the agreement, from the county file, by municipality code.

use hearth_proto::allocation::v1 as pb;
use hearth_proto::convert;
use hearth_rpc::handler::{PAGE_SIZES, accept, list_page};
use hearth_rpc::paging::Position;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use tonic::Request;

use super::support::READERS;

pub fn list(
    ctx: &ServiceContext,
    request: Request<pb::ListMembersRequest>,
) -> Result<pb::ListMembersResponse, ServiceError> {
    let (_, request) = accept(request, READERS)?;
    let mut violations = Violations::new();
    let page = list_page(&request, PAGE_SIZES, &mut violations);
    let member_on = request.member_on.as_ref().and_then(|date| {
        let parsed = convert::date(date);
        if parsed.is_none() {
            violations.add("member_on", "is not a calendar date");
        }
        parsed
    });
    violations.finish()?;
    // Codes are four digits: their text sorts as they do.
    let after = page.after.as_ref().map(|position| position.id.as_str());
    let mut members: Vec<&hearth_county::Member> = ctx
        .county
        .members()
        .iter()
        .filter(|member| member_on.is_none_or(|date| member.is_member_on(date)))
        .filter(|member| after.is_none_or(|after| member.code.to_string().as_str() > after))
        .collect();
    members.sort_by_key(|member| member.code);
    members.truncate(usize::try_from(page.size + 1).unwrap_or(usize::MAX));
    let next_page_token = page.finish(&mut members, |last| Position {
        time: chrono::DateTime::UNIX_EPOCH,
        id: last.code.to_string(),
    });
    Ok(pb::ListMembersResponse {
        members: members
            .into_iter()
            .map(|member| crate::convert::member(&crate::convert::member_record(member)))
            .collect(),
        next_page_token,
    })
}
