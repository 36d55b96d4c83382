//! The rules of cost allocation, pure: no I/O, no tonic, no sea-orm. The CLI's offline mode and
//! the service call the same functions, so a run from files and a run in the service agree to
//! the öre.
//!
//! - [`apportion`]: largest-remainder sharing of a whole number of units.
//! - [`calendar`]: the months a member pays for, and monthly instalments.
//! - [`method`]: keys, splits, rounding and [`allocate`] (a year's budget between the members).
//! - [`settlement`]: a year-end surplus or deficit shared by the annual run's shares or a key.
//! - [`budget`]: budget lines and their projection with a yearly increase in basis points.
//! - [`usage`]: the use of the unit per member (placement days, placed children), from the
//!   placements made through it, for use-based keys.
//!
//! Money is `hearth_domain::Money` (öre); amounts are computed in *units* (whole kronor or öre,
//! see [`Rounding`]) and converted back exactly. No float touches an amount.

pub mod apportion;
pub mod budget;
pub mod calendar;
pub mod method;
pub mod settlement;
pub mod usage;

pub use apportion::largest_remainder;
pub use budget::{BudgetLine, project_amount, project_lines};
pub use calendar::{MemberMonths, Membership, monthly_instalments};
pub use method::{
    Allocation, AllocationRequest, KeyBasis, KeyValues, MemberKey, MemberShare, Rounding, Split,
    SplitError, allocate, format_amount, format_share_percent, share_millionths,
};
pub use settlement::{settle_by_key, settle_by_shares};

use hearth_domain::MunicipalityCode;

/// Why an allocation cannot be computed. Each names what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    /// The weights of a sharing are all zero while there is something to share.
    #[error("every key value is zero: there is nothing to share the total by")]
    NothingToShareBy,
    /// A member pays for some months but has no value for a key basis the method uses.
    #[error("{municipality} has no {basis} key value")]
    KeyMissing {
        municipality: MunicipalityCode,
        basis: KeyBasis,
    },
    /// The members' values of a basis, weighted by months, add up to zero.
    #[error("the {basis} key values of the year's members add up to zero")]
    KeyTotalZero { basis: KeyBasis },
    /// No member pays for any month of the year.
    #[error("no municipality is a member in {year}")]
    NoMembers { year: i32 },
    /// A member is listed twice.
    #[error("{0} is listed twice")]
    DuplicateMember(MunicipalityCode),
    /// An amount cannot be shared in whole kronor.
    #[error("{amount} is not a whole number of kronor; share it with öre rounding")]
    NotWholeKronor { amount: hearth_domain::Money },
    /// A budget line or total is negative.
    #[error("{what} must not be negative")]
    Negative { what: String },
    /// A non-zero amount for a member that pays for no month.
    #[error("an amount for a member with no paid months cannot be invoiced")]
    NoMonthsToInvoice,
    /// A settlement by the annual shares when those are all zero.
    #[error("the annual run's shares are all zero: share the settlement by a key instead")]
    NoAnnualShares,
    /// A result does not fit in 64-bit öre.
    #[error("amount out of range: the arithmetic overflows")]
    Overflow,
}
