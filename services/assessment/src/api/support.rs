//! What is assessment's own in its handlers: who may call what, and its refusals.

use crate::domain::stage::Rule;
use hearth_auth::Role;
use hearth_rpc::ServiceError;

/// Unit staff and admins: who may read cases and profiles (and change a case's working
/// fields).
pub const READERS: &[Role] = &[Role::UnitStaff, Role::Admin];
/// Unit staff: who may change a case's stage, record checks, decide, and change profiles.
pub const ASSESSORS: &[Role] = &[Role::UnitStaff];

/// A refused transition or decision, as the caller sees it.
impl From<Rule> for ServiceError {
    fn from(rule: Rule) -> Self {
        ServiceError::rule(rule.reason(), rule.message())
    }
}

/// A change of a profile whose family has left the pool.
pub fn family_left() -> ServiceError {
    ServiceError::rule(
        "FAMILY_LEFT",
        "the family has left the pool; its profile no longer changes",
    )
}

/// Closing a profile that is closed.
pub fn family_left_already() -> ServiceError {
    ServiceError::rule("FAMILY_LEFT", "the family has left the pool already")
}
