//! What is allocation's own in its handlers: who may call what, the years it accepts, the ids
//! it looks up, who sees one municipality only, the refusals of the rules, and how a year's key
//! or budget is asked for.

use hearth_auth::{Principal, Role};
use hearth_domain::MunicipalityCode;
use hearth_rpc::handler::{PageSizes, required_id};
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use prost_types::FieldMask;
use sea_orm::{ConnectionTrait, EntityTrait, PrimaryKeyTrait};

use crate::app::yearly::{self, Stored, YearTable};
use crate::domain::AllocationError;

/// Who may change keys and budgets and run allocations.
pub const FINANCE: &[Role] = &[Role::Finance, Role::Admin];
/// Who may read members, keys, budgets and runs.
pub const READERS: &[Role] = &[
    Role::Finance,
    Role::UnitStaff,
    Role::Admin,
    Role::MunicipalityStaff,
];
/// Who may read invoices (municipality staff their own only).
pub const INVOICE_READERS: &[Role] = &[Role::Finance, Role::Admin, Role::MunicipalityStaff];

/// The page sizes of `ListAllocationRuns` (a run is large).
pub const RUN_PAGE_SIZES: PageSizes = PageSizes {
    default: 20,
    max: 100,
};

/// Years the service accepts.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2200;

pub fn check_year(violations: &mut Violations, field: &str, year: i32) {
    if !YEARS.contains(&year) {
        violations.add(
            field,
            format!("must be a year from {} to {}", YEARS.start(), YEARS.end()),
        );
    }
}

/// A resource id in a request: its field, and the resource's name in `NOT_FOUND`.
pub struct IdField {
    field: &'static str,
    noun: &'static str,
}

pub const RUN_ID: IdField = IdField {
    field: "allocation_run_id",
    noun: "allocation run",
};

pub const INVOICE_ID: IdField = IdField {
    field: "invoice_id",
    noun: "invoice",
};

impl IdField {
    /// The row of `E` with the id `value`.
    pub async fn find<E, C>(&self, conn: &C, value: &str) -> Result<E::Model, ServiceError>
    where
        E: EntityTrait,
        <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<String>,
        C: ConnectionTrait,
    {
        let id = required_id(value, self.field)?;
        E::find_by_id(id.clone())
            .one(conn)
            .await?
            .ok_or_else(|| ServiceError::not_found(self.noun, id))
    }
}

/// The stored record of a year a reader asked for: a year in range, else a violation on `year`.
pub async fn get_year<E: YearTable>(
    ctx: &ServiceContext,
    year: i32,
) -> Result<Stored<E::Record>, ServiceError> {
    let mut violations = Violations::new();
    check_year(&mut violations, "year", year);
    violations.finish()?;
    yearly::get::<E, _>(&ctx.db, year).await
}

/// The paths of an update's field mask; none is a violation.
pub fn mask_paths<'a>(mask: Option<&'a FieldMask>, violations: &mut Violations) -> &'a [String] {
    let paths = mask.map(|mask| mask.paths.as_slice()).unwrap_or_default();
    if paths.is_empty() {
        violations.add("update_mask", "is required: name the fields to change");
    }
    paths
}

/// Maps a domain refusal to the caller's error: a rule of the data (`FAILED_PRECONDITION`).
pub fn not_allocatable(error: AllocationError) -> ServiceError {
    match error {
        AllocationError::KeyMissing { .. } => {
            ServiceError::rule("ALLOCATION_KEY_INCOMPLETE", error.to_string())
        }
        AllocationError::NoMembers { .. } => ServiceError::rule("NO_MEMBERS", error.to_string()),
        AllocationError::Overflow => ServiceError::internal(error),
        other => ServiceError::rule("NOT_ALLOCATABLE", other.to_string()),
    }
}

/// `Some(own)` when the caller sees one municipality's shares and invoices only: municipality
/// staff without a county-wide or finance role.
pub fn own_only(principal: &Principal) -> Option<MunicipalityCode> {
    if principal.has_role(Role::Finance) {
        return None;
    }
    principal.visible_municipality()
}
