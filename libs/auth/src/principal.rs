//! The principal: who is calling, as handlers see it, and the scope rules on it.

use hearth_domain::{CountySlug, MunicipalityCode};

use crate::error::AuthError;
use crate::role::Role;

/// Who is calling, after the token was verified: the only identity handlers see.
///
/// Its constructor enforces the claim rules (a subject; municipality staff carry their
/// municipality), so a `Principal` in hand is always a usable one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    subject: String,
    county: CountySlug,
    roles: Vec<Role>,
    municipality: Option<MunicipalityCode>,
}

/// Which municipalities' data a principal may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MunicipalityScope {
    /// Every municipality in the county (unit staff, admin).
    County,
    /// One municipality (municipality staff).
    Only(MunicipalityCode),
    /// None: the principal's roles give no access to municipality data.
    Nothing,
}

impl Principal {
    /// Builds a principal, refusing municipality staff without a municipality and an empty
    /// subject. Roles are de-duplicated.
    ///
    /// The token path goes through [`TokenVerifier`](crate::TokenVerifier); this is public for
    /// tests and for in-process callers (e.g. the CLI acting as admin).
    pub fn try_new(
        subject: impl Into<String>,
        county: CountySlug,
        roles: impl IntoIterator<Item = Role>,
        municipality: Option<MunicipalityCode>,
    ) -> Result<Self, AuthError> {
        let subject = subject.into();
        if subject.trim().is_empty() {
            return Err(AuthError::InvalidClaim { claim: "sub" });
        }
        let mut roles: Vec<Role> = roles.into_iter().collect();
        roles.sort_unstable();
        roles.dedup();
        if roles.contains(&Role::MunicipalityStaff) && municipality.is_none() {
            return Err(AuthError::InvalidClaim {
                claim: "municipality",
            });
        }
        Ok(Self {
            subject,
            county,
            roles,
            municipality,
        })
    }

    /// The identity provider's id for the caller (for the audit log and `created_by`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The county the token was issued for (always this instance's county).
    pub fn county(&self) -> &CountySlug {
        &self.county
    }

    /// The caller's roles, sorted, without duplicates.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// The municipality named in the token, if any.
    pub fn municipality(&self) -> Option<MunicipalityCode> {
        self.municipality
    }

    /// Whether the caller has `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Succeeds if the caller has at least one of `roles`; otherwise `PermissionDenied` naming
    /// them, so the caller learns what access to ask for.
    pub fn require_any_role(&self, roles: &[Role]) -> Result<(), AuthError> {
        if roles.iter().any(|role| self.has_role(*role)) {
            Ok(())
        } else {
            Err(AuthError::MissingRole {
                needed: roles.to_vec(),
            })
        }
    }

    /// Which municipalities' data the caller may see. A county-wide role wins over
    /// municipality staff when a token carries both.
    pub fn municipality_scope(&self) -> MunicipalityScope {
        if self.has_role(Role::UnitStaff) || self.has_role(Role::Admin) {
            return MunicipalityScope::County;
        }
        match (self.has_role(Role::MunicipalityStaff), self.municipality) {
            (true, Some(code)) => MunicipalityScope::Only(code),
            _ => MunicipalityScope::Nothing,
        }
    }

    /// Succeeds if the caller may act on `municipality`'s data: unit staff and admin for every
    /// municipality, municipality staff for their own; every other role is denied.
    pub fn require_municipality_scope(
        &self,
        municipality: &MunicipalityCode,
    ) -> Result<(), AuthError> {
        match self.municipality_scope() {
            MunicipalityScope::County => Ok(()),
            MunicipalityScope::Only(own) if own == *municipality => Ok(()),
            MunicipalityScope::Only(_) => Err(AuthError::OutsideMunicipality {
                municipality: *municipality,
            }),
            MunicipalityScope::Nothing => Err(AuthError::MissingRole {
                needed: vec![Role::UnitStaff, Role::MunicipalityStaff, Role::Admin],
            }),
        }
    }

    /// The filter a list must apply: `Some(code)` when the caller sees only that municipality.
    ///
    /// `None` means "not limited to one municipality" and grants nothing by itself: check roles
    /// with [`require_any_role`](Self::require_any_role) first, or match on
    /// [`municipality_scope`](Self::municipality_scope), which also tells "nothing" apart.
    pub fn visible_municipality(&self) -> Option<MunicipalityCode> {
        match self.municipality_scope() {
            MunicipalityScope::Only(code) => Some(code),
            MunicipalityScope::County | MunicipalityScope::Nothing => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn county() -> CountySlug {
        CountySlug::parse("dalarna").unwrap()
    }

    fn code(text: &str) -> MunicipalityCode {
        MunicipalityCode::parse(text).unwrap()
    }

    fn principal(roles: &[Role], municipality: Option<&str>) -> Principal {
        Principal::try_new(
            "user-1",
            county(),
            roles.iter().copied(),
            municipality.map(code),
        )
        .unwrap()
    }

    #[test]
    fn municipality_staff_need_a_municipality() {
        assert_eq!(
            Principal::try_new("u", county(), [Role::MunicipalityStaff], None),
            Err(AuthError::InvalidClaim {
                claim: "municipality"
            })
        );
        assert_eq!(
            Principal::try_new(" ", county(), [Role::UnitStaff], None),
            Err(AuthError::InvalidClaim { claim: "sub" })
        );
    }

    #[test]
    fn roles_are_deduplicated() {
        let p = principal(&[Role::Admin, Role::Finance, Role::Admin], None);
        assert_eq!(p.roles(), &[Role::Finance, Role::Admin]);
    }

    #[test]
    fn require_any_role_names_what_is_needed() {
        let p = principal(&[Role::Finance], None);
        assert!(p.require_any_role(&[Role::Finance, Role::Admin]).is_ok());
        let error = p
            .require_any_role(&[Role::UnitStaff, Role::Admin])
            .unwrap_err();
        assert_eq!(error.code(), tonic::Code::PermissionDenied);
        assert!(error.to_string().contains("unit_staff or admin"), "{error}");
    }

    #[test]
    fn municipality_staff_see_only_their_own() {
        let falun = principal(&[Role::MunicipalityStaff], Some("2080"));
        assert!(falun.require_municipality_scope(&code("2080")).is_ok());
        assert_eq!(
            falun.require_municipality_scope(&code("2081")),
            Err(AuthError::OutsideMunicipality {
                municipality: code("2081")
            })
        );
        assert_eq!(falun.visible_municipality(), Some(code("2080")));
        assert_eq!(
            falun.municipality_scope(),
            MunicipalityScope::Only(code("2080"))
        );
    }

    #[test]
    fn unit_staff_and_admin_see_the_whole_county() {
        for role in [Role::UnitStaff, Role::Admin] {
            let p = principal(&[role], None);
            assert!(p.require_municipality_scope(&code("2080")).is_ok());
            assert!(p.require_municipality_scope(&code("0680")).is_ok());
            assert_eq!(p.visible_municipality(), None);
            assert_eq!(p.municipality_scope(), MunicipalityScope::County);
        }
        // A county-wide role wins over a municipality in the same token.
        let both = principal(&[Role::UnitStaff, Role::MunicipalityStaff], Some("2080"));
        assert!(both.require_municipality_scope(&code("2081")).is_ok());
        assert_eq!(both.visible_municipality(), None);
    }

    #[test]
    fn other_roles_have_no_municipality_scope() {
        for role in [Role::Finance, Role::PublicIntake] {
            let p = principal(&[role], Some("2080"));
            let error = p.require_municipality_scope(&code("2080")).unwrap_err();
            assert_eq!(error.code(), tonic::Code::PermissionDenied);
            assert_eq!(p.municipality_scope(), MunicipalityScope::Nothing);
            assert_eq!(p.visible_municipality(), None);
        }
    }
}
