//! Who may read the audit log: admins, and nobody else.

use hearth_auth::{AuthError, Principal, Role};

/// Proof that the caller may read the audit log, required by
/// [`AuditLog::list`](crate::AuditLog::list): the only way to get one is
/// [`require_audit_reader`], so the log cannot be read without the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditReader(());

/// The roles that may read the audit log.
pub const AUDIT_READER_ROLES: [Role; 1] = [Role::Admin];

/// Succeeds for admins only. Unit staff, municipality staff, finance and public intake get
/// [`AuthError::MissingRole`] (`PERMISSION_DENIED`, naming the role needed), whatever else
/// their token says.
pub fn require_audit_reader(principal: &Principal) -> Result<AuditReader, AuthError> {
    principal.require_any_role(&AUDIT_READER_ROLES)?;
    Ok(AuditReader(()))
}
