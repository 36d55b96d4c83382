//! Between the wire (protos) and the allocation service's records and domain values. The shared
//! value types (dates, instants, municipality codes) convert through `hearth_proto::convert`;
//! what is here is allocation's own.

use chrono::{DateTime, Utc};
use hearth_domain::{Money, MunicipalityCode};
use hearth_proto::allocation::v1 as pb;
use hearth_proto::common::v1 as common;
use hearth_proto::convert::{date_to_proto, municipality_code_to_proto, timestamp_to_proto};

use crate::domain::{BudgetLine, KeyBasis, Rounding};
use crate::store::records::{
    BudgetRecord, InstalmentRecord, KeyRecord, KeyValueRecord, MemberRecord,
};

pub fn money(ore: i64) -> common::Money {
    common::Money { ore }
}

/// `Money` of the wire, `None` when unset.
pub fn from_money(value: Option<&common::Money>) -> Option<Money> {
    value.map(|money| Money::from_ore(money.ore))
}

pub fn basis(basis: KeyBasis) -> pb::KeyBasis {
    match basis {
        KeyBasis::Population0To17 => pb::KeyBasis::Population017,
        KeyBasis::TaxBase => pb::KeyBasis::TaxBase,
        KeyBasis::Use => pb::KeyBasis::Use,
    }
}

/// A wire basis; `None` for unspecified or unknown numbers.
pub fn from_basis(value: i32) -> Option<KeyBasis> {
    match pb::KeyBasis::try_from(value).ok()? {
        pb::KeyBasis::Population017 => Some(KeyBasis::Population0To17),
        pb::KeyBasis::TaxBase => Some(KeyBasis::TaxBase),
        pb::KeyBasis::Use => Some(KeyBasis::Use),
        pb::KeyBasis::Unspecified => None,
    }
}

pub fn rounding(rounding: Rounding) -> pb::Rounding {
    match rounding {
        Rounding::Krona => pb::Rounding::Krona,
        Rounding::Ore => pb::Rounding::Ore,
    }
}

/// A wire rounding; `None` for unspecified or unknown numbers.
pub fn from_rounding(value: i32) -> Option<Rounding> {
    match pb::Rounding::try_from(value).ok()? {
        pb::Rounding::Krona => Some(Rounding::Krona),
        pb::Rounding::Ore => Some(Rounding::Ore),
        pb::Rounding::Unspecified => None,
    }
}

fn split(parts: &[(KeyBasis, u32)]) -> Vec<pb::KeyWeight> {
    parts
        .iter()
        .map(|(key_basis, weight)| pb::KeyWeight {
            basis: basis(*key_basis) as i32,
            weight_basis_points: *weight,
        })
        .collect()
}

pub use hearth_rpc::handler::etag;

pub fn key(
    year: i32,
    record: &KeyRecord,
    version: i64,
    update_time: DateTime<Utc>,
    only: Option<MunicipalityCode>,
) -> pb::AllocationKey {
    pb::AllocationKey {
        year,
        population_reference_date: record.population_reference_date.map(date_to_proto),
        values: record
            .values
            .iter()
            .filter(|value| only.is_none_or(|own| own == value.municipality))
            .map(key_values)
            .collect(),
        use_measure: record.use_measure,
        common_cost_split: split(&record.common_split),
        specific_cost_split: split(&record.specific_split),
        update_time: Some(timestamp_to_proto(update_time)),
        etag: etag(version),
    }
}

fn key_values(value: &KeyValueRecord) -> pb::KeyValues {
    pb::KeyValues {
        municipality: Some(municipality_code_to_proto(value.municipality)),
        population_0_17: value.population_0_17,
        tax_base: Some(money(value.tax_base_ore)),
        r#use: value.use_value,
    }
}

pub fn budget(
    year: i32,
    record: &BudgetRecord,
    version: i64,
    update_time: DateTime<Utc>,
) -> pb::Budget {
    let total: i64 = record.lines.iter().map(|line| line.amount.as_ore()).sum();
    pb::Budget {
        year,
        lines: record.lines.iter().map(budget_line).collect(),
        total: Some(money(total)),
        yearly_increase_basis_points: record.yearly_increase_basis_points,
        update_time: Some(timestamp_to_proto(update_time)),
        etag: etag(version),
    }
}

fn budget_line(line: &BudgetLine) -> pb::BudgetLine {
    pb::BudgetLine {
        name: line.name.clone(),
        category: if line.specific {
            pb::CostCategory::Specific
        } else {
            pb::CostCategory::Common
        } as i32,
        amount: Some(money(line.amount.as_ore())),
    }
}

pub fn member(member: &MemberRecord) -> pb::Member {
    pb::Member {
        municipality: Some(municipality_code_to_proto(member.municipality)),
        name: member.name.clone(),
        sub_region: member.sub_region.clone().unwrap_or_default(),
        districts: member.districts.clone(),
        membership: Some(common::DatePeriod {
            start: member.member_from.map(date_to_proto),
            end: member.member_to.map(date_to_proto),
        }),
    }
}

pub fn member_record(member: &hearth_county::Member) -> MemberRecord {
    MemberRecord {
        municipality: member.code,
        name: member.name.clone(),
        sub_region: member.sub_region.clone(),
        districts: member
            .districts
            .iter()
            .map(|district| district.code.clone())
            .collect(),
        member_from: member.member_from,
        member_to: member.member_to,
    }
}

pub fn instalments(records: &[InstalmentRecord]) -> Vec<pb::Instalment> {
    records
        .iter()
        .map(|instalment| pb::Instalment {
            number: instalment.number,
            due_date: Some(date_to_proto(instalment.due_date)),
            amount: Some(money(instalment.amount_ore)),
        })
        .collect()
}
