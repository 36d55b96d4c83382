//! The one error contract of every Hearth RPC (AIP-193). Handlers return [`ServiceError`];
//! the mapping to a `tonic::Status` — code, message, `google.rpc.BadRequest` field violations
//! and `google.rpc.ErrorInfo` with a stable reason — lives here and nowhere else.

use std::collections::HashMap;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.domain` of every Hearth error.
pub const ERROR_DOMAIN: &str = "hearth";

pub use hearth_domain::{FieldViolation, Invalid, Violations};

/// What a handler can fail with. Each variant maps to exactly one gRPC code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The caller's input is wrong; nothing was changed.
    #[error("invalid argument: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{resource} `{id}` not found")]
    NotFound { resource: &'static str, id: String },
    #[error("{resource} `{id}` already exists")]
    AlreadyExists { resource: &'static str, id: String },
    /// A domain rule refuses the action (e.g. `PROPOSAL_LAPSED`).
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
    },
    /// A stale write: the etag or version the caller sent is not the current one (AIP-154).
    #[error("{message}")]
    Aborted {
        reason: &'static str,
        message: String,
    },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    /// A backend (database, bus) is down: retry later.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected backend answer. The detail is logged, never sent to the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ServiceError {
    /// One bad field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }

    pub fn not_found(resource: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            resource,
            id: id.into(),
        }
    }

    pub fn rule(reason: &'static str, message: impl Into<String>) -> Self {
        Self::FailedPrecondition {
            reason,
            message: message.into(),
        }
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(error.to_string())
    }

    /// The gRPC code of this error.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidArgument(_) => Code::InvalidArgument,
            Self::NotFound { .. } => Code::NotFound,
            Self::AlreadyExists { .. } => Code::AlreadyExists,
            Self::FailedPrecondition { .. } => Code::FailedPrecondition,
            Self::Aborted { .. } => Code::Aborted,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::PermissionDenied(_) => Code::PermissionDenied,
            Self::Unavailable(_) => Code::Unavailable,
            Self::Internal(_) => Code::Internal,
        }
    }

    /// The stable `ErrorInfo.reason` integrators switch on.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidArgument(_) => "INVALID_ARGUMENT",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::AlreadyExists { .. } => "ALREADY_EXISTS",
            Self::FailedPrecondition { reason, .. } | Self::Aborted { reason, .. } => reason,
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::PermissionDenied(_) => "PERMISSION_DENIED",
            Self::Unavailable(_) => "BACKEND_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl From<ServiceError> for Status {
    fn from(error: ServiceError) -> Self {
        let mut details = ErrorDetails::new();
        let mut metadata = HashMap::new();
        let message = match &error {
            ServiceError::InvalidArgument(violations) => {
                for violation in violations {
                    details.add_bad_request_violation(&violation.field, &violation.description);
                }
                error.to_string()
            }
            ServiceError::NotFound { resource, id }
            | ServiceError::AlreadyExists { resource, id } => {
                metadata.insert("resource".to_owned(), (*resource).to_owned());
                metadata.insert("id".to_owned(), id.clone());
                error.to_string()
            }
            ServiceError::Internal(detail) => {
                // The caller gets no detail: it may hold data they should not see.
                tracing::error!(error = %detail, "internal error");
                "internal error; the operators have the details in the logs".to_owned()
            }
            ServiceError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "backend unavailable");
                "a backend is unavailable; retry later".to_owned()
            }
            _ => error.to_string(),
        };
        details.set_error_info(error.reason(), ERROR_DOMAIN, metadata);
        Status::with_error_details(error.code(), message, details)
    }
}

impl From<sea_orm::DbErr> for ServiceError {
    fn from(error: sea_orm::DbErr) -> Self {
        match &error {
            sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_) => {
                Self::Unavailable(format!("database: {error}"))
            }
            _ => Self::Internal(format!("database: {error}")),
        }
    }
}

impl From<hearth_auth::AuthError> for ServiceError {
    fn from(error: hearth_auth::AuthError) -> Self {
        match Status::from(error) {
            status if status.code() == Code::PermissionDenied => {
                Self::PermissionDenied(status.message().to_owned())
            }
            status => Self::Unauthenticated(status.message().to_owned()),
        }
    }
}

impl From<hearth_audit::AuditError> for ServiceError {
    fn from(error: hearth_audit::AuditError) -> Self {
        match error {
            hearth_audit::AuditError::InvalidQuery { field, reason } => {
                Self::invalid(field, reason)
            }
            hearth_audit::AuditError::Database(db) => db.into(),
            other => Self::internal(other),
        }
    }
}

impl From<Invalid> for ServiceError {
    fn from(invalid: Invalid) -> Self {
        Self::InvalidArgument(invalid.0)
    }
}

impl ServiceError {
    /// The field violations of this error, to join a request's others: its own when it is
    /// `InvalidArgument`, else one violation of `field` with its message.
    pub fn into_violations(self, field: &str) -> Vec<FieldViolation> {
        match self {
            Self::InvalidArgument(found) => found,
            other => vec![FieldViolation {
                field: field.to_owned(),
                description: other.to_string(),
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_field_violations_and_reason() {
        let mut violations = Violations::new();
        violations.add("placement_request.age_band", "is required");
        let parsed: Option<u32> = violations.check("page_size", "x".parse::<u32>());
        assert!(parsed.is_none());
        let status = Status::from(ServiceError::from(
            violations.finish().expect_err("two violations"),
        ));
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad_request = details.bad_request().expect("BadRequest detail");
        let fields: Vec<&str> = bad_request
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["placement_request.age_band", "page_size"]);
        assert_eq!(
            details.error_info().map(|i| i.reason.as_str()),
            Some("INVALID_ARGUMENT")
        );
        assert!(status.message().contains("placement_request.age_band"));
    }

    #[test]
    fn rules_keep_their_reason() {
        let status = Status::from(ServiceError::rule("PROPOSAL_LAPSED", "the proposal lapsed"));
        assert_eq!(status.code(), Code::FailedPrecondition);
        let details = status.get_error_details();
        let info = details.error_info().expect("ErrorInfo");
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("PROPOSAL_LAPSED", ERROR_DOMAIN)
        );
    }

    #[test]
    fn internal_errors_hide_their_detail() {
        let status = Status::from(ServiceError::internal(
            "relation \"x\" does not exist; pnr 19121212-1212",
        ));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("1212"));
    }
}
