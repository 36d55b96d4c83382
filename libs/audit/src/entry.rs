//! What an audit entry says: who (from the [`Principal`]), how ([`AuditAction`]), which
//! resource ([`ResourceType`] and [`ResourceId`]) and why ([`Purpose`]).
//!
//! **Ids, never personal data.** An entry names a resource by its id (a UUID, in practice) and
//! nothing else: no names, no personal identity numbers, no e-mail addresses, phone numbers,
//! case notes or search terms. The audit log is kept for years and read by admins; it must not
//! become a second copy of the data it guards. The types below refuse the obvious mistakes
//! (spaces, `@`, `+`, anything shaped like a personal identity number or a Swedish phone
//! number), but they cannot tell a name from an id: only the caller can, so pass ids.

use std::fmt;
use std::str::FromStr;

use hearth_auth::{Principal, Role};
use hearth_domain::MunicipalityCode;
use uuid::Uuid;

use crate::error::AuditError;

/// What was done with the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuditAction {
    /// One resource read with its personal data (a `Get…`).
    Read,
    /// Resources returned, with personal data, in a list or search result (one entry each).
    List,
    /// Resources taken out of Hearth: a file, a report, an extract for a data-subject request.
    Export,
    /// Personal data changed.
    Update,
    /// Personal data erased (retention, or a data subject's request).
    Erase,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 5] = [
        AuditAction::Read,
        AuditAction::List,
        AuditAction::Export,
        AuditAction::Update,
        AuditAction::Erase,
    ];

    /// The stored name: `read`, `list`, `export`, `update`, `erase`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditAction::Read => "read",
            AuditAction::List => "list",
            AuditAction::Export => "export",
            AuditAction::Update => "update",
            AuditAction::Erase => "erase",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditAction {
    type Err = AuditError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        AuditAction::ALL
            .into_iter()
            .find(|action| action.as_str() == value)
            .ok_or(AuditError::invalid(
                "action",
                "must be read, list, export, update or erase",
            ))
    }
}

/// Checks a value's length and characters; the error never contains the value.
fn check(
    field: &'static str,
    value: &str,
    max_len: usize,
    allowed: fn(char) -> bool,
    allowed_description: &'static str,
) -> Result<(), AuditError> {
    if value.is_empty() {
        return Err(AuditError::invalid(field, "must not be empty"));
    }
    if value.len() > max_len {
        return Err(AuditError::invalid(field, "is too long"));
    }
    if !value.chars().all(allowed) {
        return Err(AuditError::invalid(field, allowed_description));
    }
    Ok(())
}

/// Declares a validated string newtype with `parse`, `as_str`, `Display`, `FromStr` and
/// `AsRef<str>`.
macro_rules! audit_text {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// A value read back from the log: written through `parse`, so not checked again
            /// (rules that tighten later must not make old rows unreadable).
            pub(crate) fn from_stored(value: String) -> Self {
                Self(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = AuditError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

audit_text!(
    /// The kind of resource, in `snake_case` as the API names it: `interest_registration`,
    /// `assessment`, `placement_request`. 1 to 64 characters of `a-z`, `0-9` and `_`, starting
    /// with a letter.
    ResourceType
);

impl ResourceType {
    /// The longest resource type.
    pub const MAX_LEN: usize = 64;

    /// Checks and wraps a resource type.
    pub fn parse(value: &str) -> Result<Self, AuditError> {
        check(
            "resource_type",
            value,
            Self::MAX_LEN,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_',
            "must be snake_case: a-z, 0-9 and _",
        )?;
        if !value.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(AuditError::invalid(
                "resource_type",
                "must start with a letter",
            ));
        }
        Ok(Self(value.to_owned()))
    }
}

audit_text!(
    /// The id of the resource: the id Hearth gave it (a UUIDv7, usually through
    /// `From<Uuid>`), **never personal data**. 1 to 64 characters of ASCII letters, digits,
    /// `-`, `_`, `.` and `:`; anything that is 10 or 12 digits once dashes are removed (the
    /// shape of a personal identity number or a phone number) is refused.
    ResourceId
);

impl ResourceId {
    /// The longest resource id.
    pub const MAX_LEN: usize = 64;

    /// Checks and wraps a resource id.
    pub fn parse(value: &str) -> Result<Self, AuditError> {
        check(
            "resource_id",
            value,
            Self::MAX_LEN,
            |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'),
            "must be an id: ASCII letters, digits, -, _, . and :",
        )?;
        let digits = value.chars().filter(|c| *c != '-').count();
        let only_digits = value.chars().all(|c| c.is_ascii_digit() || c == '-');
        if only_digits && (digits == 10 || digits == 12) {
            return Err(AuditError::invalid(
                "resource_id",
                "looks like a personal identity number or phone number; record the resource's id",
            ));
        }
        Ok(Self(value.to_owned()))
    }
}

impl From<Uuid> for ResourceId {
    /// The hyphenated lower-case form, as Hearth's APIs write ids.
    fn from(id: Uuid) -> Self {
        Self(id.hyphenated().to_string())
    }
}

audit_text!(
    /// Why the data was accessed: the full gRPC method
    /// (`/hearth.intake.v1.IntakeService/GetInterestRegistration`) or the name of the job or
    /// command (`hearth.intake.retention`). A name, never prose: 1 to 128 characters of ASCII
    /// letters, digits, `.`, `_`, `/`, `-` and `:`.
    Purpose
);

impl Purpose {
    /// The longest purpose.
    pub const MAX_LEN: usize = 128;

    /// Checks and wraps a purpose.
    pub fn parse(value: &str) -> Result<Self, AuditError> {
        check(
            "purpose",
            value,
            Self::MAX_LEN,
            |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-' | ':'),
            "must be an RPC or job name: ASCII letters, digits, ., _, /, - and :",
        )?;
        Ok(Self(value.to_owned()))
    }
}

audit_text!(
    /// What ties the access to the request and its logs: the trace id or request id. 1 to 128
    /// characters of ASCII letters, digits, `-`, `_`, `.` and `:`.
    CorrelationId
);

impl CorrelationId {
    /// The longest correlation id.
    pub const MAX_LEN: usize = 128;

    /// Checks and wraps a correlation id.
    pub fn parse(value: &str) -> Result<Self, AuditError> {
        check(
            "correlation_id",
            value,
            Self::MAX_LEN,
            |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'),
            "must be an id: ASCII letters, digits, -, _, . and :",
        )?;
        Ok(Self(value.to_owned()))
    }
}

/// Who accessed which type of resource, how and why: an audit entry without the resource id,
/// for [`AuditLog::record_many`](crate::AuditLog::record_many) (a list result) and for
/// building several [`AuditEntry`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditAccess {
    subject: String,
    roles: Vec<Role>,
    municipality: Option<MunicipalityCode>,
    action: AuditAction,
    resource_type: ResourceType,
    purpose: Purpose,
    correlation_id: Option<CorrelationId>,
}

impl AuditAccess {
    /// `principal` did `action` on resources of `resource_type` for `purpose`. The principal's
    /// subject, roles and municipality (municipality staff's own) are copied into the entry.
    pub fn new(
        principal: &Principal,
        action: AuditAction,
        resource_type: ResourceType,
        purpose: Purpose,
    ) -> Self {
        Self {
            subject: principal.subject().to_owned(),
            roles: principal.roles().to_vec(),
            municipality: principal.municipality(),
            action,
            resource_type,
            purpose,
            correlation_id: None,
        }
    }

    /// Ties the access to its request (trace or request id).
    #[must_use]
    pub fn with_correlation_id(mut self, correlation_id: CorrelationId) -> Self {
        self.correlation_id = Some(correlation_id);
        self
    }

    /// The entry for one resource.
    pub fn entry(&self, resource_id: ResourceId) -> AuditEntry {
        AuditEntry {
            access: self.clone(),
            resource_id,
        }
    }

    /// The principal's `sub`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The principal's roles.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// The principal's municipality, if the token named one.
    pub fn municipality(&self) -> Option<MunicipalityCode> {
        self.municipality
    }

    /// What was done.
    pub fn action(&self) -> AuditAction {
        self.action
    }

    /// The type of resource.
    pub fn resource_type(&self) -> &ResourceType {
        &self.resource_type
    }

    /// Why.
    pub fn purpose(&self) -> &Purpose {
        &self.purpose
    }

    /// The request it belongs to, if known.
    pub fn correlation_id(&self) -> Option<&CorrelationId> {
        self.correlation_id.as_ref()
    }
}

/// One access to one resource's personal data, ready for
/// [`AuditLog::record`](crate::AuditLog::record).
///
/// Holds the principal's subject, roles and municipality, the action, the resource's type and
/// **id** and the purpose; no personal data of the resource (see the [module
/// docs](crate::entry)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    access: AuditAccess,
    resource_id: ResourceId,
}

impl AuditEntry {
    /// `principal` did `action` on the resource `resource_type`/`resource_id` for `purpose`.
    pub fn new(
        principal: &Principal,
        action: AuditAction,
        resource_type: ResourceType,
        resource_id: ResourceId,
        purpose: Purpose,
    ) -> Self {
        AuditAccess::new(principal, action, resource_type, purpose).entry(resource_id)
    }

    /// Ties the access to its request (trace or request id).
    #[must_use]
    pub fn with_correlation_id(mut self, correlation_id: CorrelationId) -> Self {
        self.access.correlation_id = Some(correlation_id);
        self
    }

    /// Who, how, which type and why.
    pub fn access(&self) -> &AuditAccess {
        &self.access
    }

    /// Which resource.
    pub fn resource_id(&self) -> &ResourceId {
        &self.resource_id
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use hearth_domain::CountySlug;

    #[test]
    fn actions_round_trip() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>().unwrap(), action);
        }
        assert!("delete".parse::<AuditAction>().is_err());
    }

    #[test]
    fn resource_types_are_snake_case() {
        assert!(ResourceType::parse("interest_registration").is_ok());
        assert!(ResourceType::parse("assessment2").is_ok());
        for bad in [
            "",
            "InterestRegistration",
            "interest-registration",
            "_x",
            "2x",
            "a b",
        ] {
            assert!(ResourceType::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ResourceType::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn resource_ids_are_ids_not_personal_data() {
        let uuid = Uuid::now_v7();
        assert_eq!(
            ResourceId::from(uuid).as_str(),
            uuid.hyphenated().to_string()
        );
        for good in [
            "42",
            "0195f6a2-7c1e-7d4b-9a57-3c1c2f0e9b11",
            "req:2080:17",
            "a.b_c",
        ] {
            assert!(ResourceId::parse(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            "191212121212",    // personal identity number, 12 digits
            "19121212-1212",   // with a dash
            "121212-1212",     // ten digits
            "0701234567",      // phone number
            "070-1234567",     // phone number with a dash
            "+46701234567",    // `+`
            "anna@example.se", // e-mail
            "Anna Svensson",   // a space
            "åsa",             // not ASCII
        ] {
            assert!(ResourceId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ResourceId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn errors_never_repeat_the_value() {
        let error = ResourceId::parse("19121212-1212").unwrap_err().to_string();
        assert!(!error.contains("1212"), "{error}");
        let error = ResourceId::parse("anna@example.se")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("anna"), "{error}");
    }

    #[test]
    fn purposes_and_correlation_ids() {
        assert!(Purpose::parse("/hearth.intake.v1.IntakeService/GetInterestRegistration").is_ok());
        assert!(Purpose::parse("hearth.intake.retention").is_ok());
        assert!(Purpose::parse("looked at Anna's file").is_err());
        assert!(CorrelationId::parse("4bf92f3577b34da6a3ce929d0e0e4736").is_ok());
        assert!(CorrelationId::parse("a b").is_err());
        assert!(CorrelationId::parse("").is_err());
    }

    #[test]
    fn entries_copy_the_principal() {
        let principal = Principal::try_new(
            "staff-7",
            CountySlug::parse("dalarna").unwrap(),
            [Role::MunicipalityStaff],
            Some(MunicipalityCode::parse("2080").unwrap()),
        )
        .unwrap();
        let access = AuditAccess::new(
            &principal,
            AuditAction::List,
            ResourceType::parse("placement_request").unwrap(),
            Purpose::parse("/hearth.intake.v1.IntakeService/ListPlacementRequests").unwrap(),
        )
        .with_correlation_id(CorrelationId::parse("trace-1").unwrap());
        let entry = access.entry(ResourceId::parse("r1").unwrap());
        assert_eq!(entry.access().subject(), "staff-7");
        assert_eq!(entry.access().roles(), &[Role::MunicipalityStaff]);
        assert_eq!(
            entry.access().municipality(),
            Some(MunicipalityCode::parse("2080").unwrap())
        );
        assert_eq!(entry.access().action(), AuditAction::List);
        assert_eq!(entry.resource_id().as_str(), "r1");
        assert_eq!(
            entry.access().correlation_id().map(CorrelationId::as_str),
            Some("trace-1")
        );
    }
}
