//! What can go wrong when writing or reading the audit log.

use sea_orm::DbErr;

/// Why an audit operation failed.
///
/// Messages never repeat a rejected value: a value refused because it looks like a personal
/// identity number must not reach a log line through its error.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A part of an entry breaks its rules (see [`ResourceType`](crate::ResourceType),
    /// [`ResourceId`](crate::ResourceId), [`Purpose`](crate::Purpose),
    /// [`CorrelationId`](crate::CorrelationId)). When the value came from a handler's own
    /// code this is a bug; when it came from a request, the request is invalid.
    #[error("invalid audit {field}: {reason}")]
    InvalidField {
        /// `resource_type`, `resource_id`, `purpose`, `correlation_id` or `retention`.
        field: &'static str,
        /// What is wrong, in fixed words.
        reason: &'static str,
    },
    /// An [`AuditQuery`](crate::AuditQuery) the caller sent cannot be answered: the caller's
    /// input is wrong (`INVALID_ARGUMENT`).
    #[error("invalid audit query: {field} {reason}")]
    InvalidQuery {
        /// `page_token` or `to`.
        field: &'static str,
        /// What is wrong, in fixed words.
        reason: &'static str,
    },
    /// A stored row does not decode (a value written by something other than this crate).
    #[error("audit log row {id} cannot be read: {column} {reason}")]
    Corrupt {
        /// The row's id.
        id: i64,
        /// The column that does not decode.
        column: &'static str,
        /// What is wrong, in fixed words.
        reason: &'static str,
    },
    /// The database refused or failed.
    #[error("audit log database error: {0}")]
    Database(DbErr),
}

impl From<DbErr> for AuditError {
    fn from(error: DbErr) -> Self {
        Self::Database(error)
    }
}

impl AuditError {
    pub(crate) fn invalid(field: &'static str, reason: &'static str) -> Self {
        Self::InvalidField { field, reason }
    }
}
