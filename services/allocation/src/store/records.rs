//! The JSON bodies of the allocation tables: plain serde records, written once and read back
//! exactly (a run's inputs and results are its record).

use chrono::NaiveDate;
use hearth_domain::MunicipalityCode;
use hearth_proto::allocation::v1 as pb;
use serde::{Deserialize, Serialize};

use crate::domain::usage::UseMeasure;
use crate::domain::{BudgetLine, KeyBasis, Rounding};

/// A year's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub population_reference_date: Option<NaiveDate>,
    pub values: Vec<KeyValueRecord>,
    /// `UseMeasure` number.
    pub use_measure: i32,
    pub common_split: Vec<(KeyBasis, u32)>,
    pub specific_split: Vec<(KeyBasis, u32)>,
}

impl KeyRecord {
    /// The measure the key's use values count; `None` when unset or unknown.
    pub fn measure(&self) -> Option<UseMeasure> {
        match pb::UseMeasure::try_from(self.use_measure).ok()? {
            pb::UseMeasure::PlacementDays => Some(UseMeasure::PlacementDays),
            pb::UseMeasure::PlacedChildren => Some(UseMeasure::PlacedChildren),
            pb::UseMeasure::Unspecified => None,
        }
    }
}

/// One member's key values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValueRecord {
    pub municipality: MunicipalityCode,
    pub population_0_17: u64,
    pub tax_base_ore: i64,
    pub use_value: u64,
}

/// A year's budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetRecord {
    pub lines: Vec<BudgetLine>,
    pub yearly_increase_basis_points: u32,
}

/// A member as the run saw it (from the county file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub municipality: MunicipalityCode,
    pub name: String,
    pub sub_region: Option<String>,
    pub districts: Vec<String>,
    pub member_from: Option<NaiveDate>,
    pub member_to: Option<NaiveDate>,
}

/// A key as the run saw it, with its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySnapshot {
    pub year: i32,
    pub version: i64,
    pub update_time: chrono::DateTime<chrono::Utc>,
    pub key: KeyRecord,
}

/// A budget as the run saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetSnapshot {
    /// The year of the stored budget it came from (earlier than the run's when projected).
    pub from_year: i32,
    pub version: i64,
    pub update_time: chrono::DateTime<chrono::Utc>,
    /// The lines as allocated (projected when `from_year` is earlier than the run's year).
    pub budget: BudgetRecord,
}

/// One member's share in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRecord {
    pub municipality: MunicipalityCode,
    pub months: u8,
    pub common_ore: i64,
    pub specific_ore: i64,
    pub amount_ore: i64,
    pub share_millionths: u32,
    pub invoice_id: String,
    pub instalments: Vec<InstalmentRecord>,
}

/// One instalment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalmentRecord {
    pub number: u32,
    pub due_date: NaiveDate,
    pub amount_ore: i64,
}

/// Everything a run used and produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub rounding: Rounding,
    pub members: Vec<MemberRecord>,
    pub key: Option<KeySnapshot>,
    pub budget: Option<BudgetSnapshot>,
    /// The one basis the request chose, if any.
    pub key_basis: Option<KeyBasis>,
    /// For a settlement by the annual run's shares: that run.
    pub annual_run_id: Option<String>,
    pub shares: Vec<ShareRecord>,
}

/// An invoice's instalments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRecord {
    pub instalments: Vec<InstalmentRecord>,
}

/// JSON text of a record.
pub fn to_json<T: Serialize>(record: &T) -> Result<String, hearth_rpc::ServiceError> {
    serde_json::to_string(record).map_err(hearth_rpc::ServiceError::internal)
}

/// A record from its JSON text.
pub fn from_json<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, hearth_rpc::ServiceError> {
    serde_json::from_str(text).map_err(hearth_rpc::ServiceError::internal)
}
