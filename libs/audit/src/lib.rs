//! The audit log of personal-data access: the one way a Hearth service records who read,
//! listed, exported, changed or erased personal data, and the way admins read that record.
//!
//! - [`migrations`]: the `hearth_audit_log` table, listed in every service's `Migrator` after
//!   the bus's migrations.
//! - [`AuditEntry`] / [`AuditAccess`]: who (from the [`Principal`](hearth_auth::Principal)),
//!   what ([`AuditAction`]), which resource ([`ResourceType`], [`ResourceId`]: **ids only,
//!   never names, personal identity numbers or other personal data**) and why ([`Purpose`]).
//! - [`AuditLog::record`] / [`AuditLog::record_many`]: written in the same transaction as the
//!   read, committed before the data is returned.
//! - [`require_audit_reader`] then [`AuditLog::list`]: admins only, newest first, keyset pages.
//! - [`AuditLog::purge_older_than`] / [`AuditLog::purge_expired`]: retention
//!   (`audit.retention_days`).
//!
//! The pattern in a handler:
//!
//! ```ignore
//! let principal = hearth_auth::principal(&request)?;
//! principal.require_any_role(&[Role::UnitStaff, Role::Admin])?;
//! let txn = db.begin().await?;
//! let registration = registrations::find(&txn, id).await?.ok_or(not_found)?;
//! audit.record(&txn, &AuditEntry::new(&principal, AuditAction::Read,
//!     ResourceType::parse("interest_registration")?, ResourceId::from(id),
//!     Purpose::parse("/hearth.intake.v1.IntakeService/GetInterestRegistration")?)).await?;
//! txn.commit().await?; // recorded, then returned: an unrecorded read never happens
//! Ok(Response::new(to_proto(registration)))
//! ```

mod access;
mod entity;
pub mod entry;
mod error;
mod log;
mod migrations;
mod query;

pub use access::{AUDIT_READER_ROLES, AuditReader, require_audit_reader};
pub use entry::{
    AuditAccess, AuditAction, AuditEntry, CorrelationId, Purpose, ResourceId, ResourceType,
};
pub use error::AuditError;
pub use log::{AuditLog, MAX_ROWS_PER_STATEMENT};
pub use migrations::migrations;
pub use query::{AuditPage, AuditQuery, AuditRecord, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
