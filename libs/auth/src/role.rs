//! The roles a token can carry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a caller may do. The county's identity provider puts these names in the token's
/// `roles` claim; Hearth knows no others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Staff of the county's foster-home unit: the whole county.
    UnitStaff,
    /// Staff of one member municipality: that municipality's requests, proposals, placements,
    /// invoices and allocation runs only.
    MunicipalityStaff,
    /// Finance: cost allocation.
    Finance,
    /// The public intake form's backend: may only register interest.
    PublicIntake,
    /// Administration, including the audit log of personal-data reads.
    Admin,
}

/// A role name that Hearth does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {given:?}; valid roles are unit_staff, municipality_staff, finance, public_intake, admin"
)]
pub struct ParseRoleError {
    /// What was given.
    pub given: String,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::UnitStaff,
        Role::MunicipalityStaff,
        Role::Finance,
        Role::PublicIntake,
        Role::Admin,
    ];

    /// The name used in tokens, configuration and the CLI.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::UnitStaff => "unit_staff",
            Role::MunicipalityStaff => "municipality_staff",
            Role::Finance => "finance",
            Role::PublicIntake => "public_intake",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ParseRoleError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == value)
            .ok_or_else(|| ParseRoleError {
                given: value.to_owned(),
            })
    }
}

/// `a, b or c`, for messages that name the roles needed.
pub(crate) fn describe_roles(roles: &[Role]) -> String {
    match roles {
        [] => "no role".to_owned(),
        [only] => only.as_str().to_owned(),
        [rest @ .., last] => {
            let rest: Vec<&str> = rest.iter().map(|role| role.as_str()).collect();
            format!("{} or {}", rest.join(", "), last.as_str())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_str_and_serde() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{role}\""));
        }
        assert_eq!(
            serde_json::from_str::<Role>("\"municipality_staff\"").unwrap(),
            Role::MunicipalityStaff
        );
    }

    #[test]
    fn unknown_role_lists_the_valid_ones() {
        let error = "superuser".parse::<Role>().unwrap_err();
        let message = error.to_string();
        assert!(message.contains("\"superuser\""), "{message}");
        for role in Role::ALL {
            assert!(message.contains(role.as_str()), "{message}");
        }
        assert!("UnitStaff".parse::<Role>().is_err());
    }

    #[test]
    fn describes_role_lists() {
        assert_eq!(describe_roles(&[Role::Admin]), "admin");
        assert_eq!(
            describe_roles(&[Role::UnitStaff, Role::Finance, Role::Admin]),
            "unit_staff, finance or admin"
        );
    }
}
