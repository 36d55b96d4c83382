//! The kinds of commission (uppdrag) a family can take on and a municipality can ask for.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a family is asked to be for a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommissionKind {
    /// Long-term foster home (familjehem).
    LongTermFosterHome,
    /// Emergency home (jourhem): takes a child at short notice, for a short time.
    EmergencyHome,
    /// Contact family or contact person (kontaktfamilj/kontaktperson).
    ContactFamily,
    /// Network home (nätverkshem): relatives or others from the child's own network.
    NetworkHome,
}

impl CommissionKind {
    /// Every kind, in a fixed order.
    pub const ALL: [CommissionKind; 4] = [
        CommissionKind::LongTermFosterHome,
        CommissionKind::EmergencyHome,
        CommissionKind::ContactFamily,
        CommissionKind::NetworkHome,
    ];

    /// Whether a family may register interest for this kind of commission.
    ///
    /// A network home can be requested but never registered for: it comes from the child's own
    /// network, not from the unit's pool of families.
    pub const fn can_register_for(self) -> bool {
        !matches!(self, CommissionKind::NetworkHome)
    }

    /// The stable snake_case name, as in serde and configuration.
    pub const fn as_str(self) -> &'static str {
        match self {
            CommissionKind::LongTermFosterHome => "long_term_foster_home",
            CommissionKind::EmergencyHome => "emergency_home",
            CommissionKind::ContactFamily => "contact_family",
            CommissionKind::NetworkHome => "network_home",
        }
    }
}

impl fmt::Display for CommissionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn network_home_cannot_be_registered_for() {
        assert!(!CommissionKind::NetworkHome.can_register_for());
        assert!(CommissionKind::LongTermFosterHome.can_register_for());
        assert!(CommissionKind::EmergencyHome.can_register_for());
        assert!(CommissionKind::ContactFamily.can_register_for());
    }

    #[test]
    fn serde_names_match_as_str() {
        for kind in CommissionKind::ALL {
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
    }
}
