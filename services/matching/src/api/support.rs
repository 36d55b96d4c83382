//! What is matching's own in its handlers: who may call what.

use hearth_auth::Role;

/// Unit staff and admins: who may read the candidate lists (facts about every family of the
/// pool, so never municipality staff).
pub const READERS: &[Role] = &[Role::UnitStaff, Role::Admin];
