//! The use of the unit per member municipality, from the placements made through it: the key
//! values of a use-based key.
//!
//! - **Placement days** of a key for year `Y` count the days of year `Y − 1` each placement
//!   ran, both ends inclusive, times the children it placed (child-days). A placement without an
//!   end runs to the end of the year.
//! - **Placed children** count the children of the placements running on the key's reference
//!   date (31 December of `Y − 1` by default), both ends inclusive.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use hearth_domain::MunicipalityCode;

/// What a key's use values count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseMeasure {
    PlacementDays,
    PlacedChildren,
}

/// A placement through the unit, as use counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The municipality that placed the child.
    pub municipality: MunicipalityCode,
    /// The child and its siblings placed with it.
    pub children: u32,
    /// The first day.
    pub start: NaiveDate,
    /// The last day; `None` while it runs.
    pub end: Option<NaiveDate>,
}

impl Placement {
    /// Whether it runs on `date`.
    pub fn runs_on(&self, date: NaiveDate) -> bool {
        self.start <= date && self.end.is_none_or(|end| date <= end)
    }

    /// The days of `year` it runs.
    pub fn days_in(&self, year: i32) -> u64 {
        let (Some(first), Some(last)) = (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year, 12, 31),
        ) else {
            return 0;
        };
        let from = self.start.max(first);
        let to = self.end.map_or(last, |end| end.min(last));
        u64::try_from((to - from).num_days() + 1).unwrap_or(0)
    }
}

/// The use values of the key of `key_year` by `measure`, per municipality with any use; a
/// municipality without placements has none (zero).
pub fn use_values(
    measure: UseMeasure,
    placements: &[Placement],
    key_year: i32,
    reference_date: NaiveDate,
) -> BTreeMap<MunicipalityCode, u64> {
    let mut values = BTreeMap::new();
    for placement in placements {
        let children = u64::from(placement.children);
        let used = match measure {
            UseMeasure::PlacementDays => placement.days_in(key_year - 1) * children,
            UseMeasure::PlacedChildren if placement.runs_on(reference_date) => children,
            UseMeasure::PlacedChildren => 0,
        };
        if used > 0 {
            *values.entry(placement.municipality).or_insert(0) += used;
        }
    }
    values
}

/// The reference date of a key of `year` that sets none: 31 December of the year before.
pub fn default_reference_date(year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year - 1, 12, 31)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn placement(code: &str, children: u32, start: &str, end: Option<&str>) -> Placement {
        Placement {
            municipality: MunicipalityCode::parse(code).unwrap(),
            children,
            start: date(start),
            end: end.map(date),
        }
    }

    fn code(text: &str) -> MunicipalityCode {
        MunicipalityCode::parse(text).unwrap()
    }

    #[test]
    fn placement_days_count_the_previous_year_both_ends_inclusive() {
        let placements = [
            // Across the new year: 1–31 December 2025 only, two siblings.
            placement("2080", 2, "2025-12-01", Some("2026-01-15")),
            // Open: 1 July to 31 December 2025.
            placement("2080", 1, "2025-07-01", None),
            // One day.
            placement("2081", 1, "2025-03-03", Some("2025-03-03")),
            // Before and after the year: nothing.
            placement("2081", 1, "2024-01-01", Some("2024-12-31")),
            placement("2082", 1, "2026-01-01", None),
        ];
        let values = use_values(
            UseMeasure::PlacementDays,
            &placements,
            2026,
            date("2025-12-31"),
        );
        assert_eq!(
            values.into_iter().collect::<Vec<_>>(),
            [(code("2080"), 2 * 31 + 184), (code("2081"), 1)]
        );
    }

    #[test]
    fn placed_children_count_the_reference_date() {
        let placements = [
            placement("2080", 2, "2025-06-01", None),
            placement("2080", 1, "2025-01-01", Some("2025-12-31")),
            placement("2081", 3, "2025-01-01", Some("2025-12-30")),
            placement("2082", 1, "2026-01-01", None),
        ];
        let values = use_values(
            UseMeasure::PlacedChildren,
            &placements,
            2026,
            date("2025-12-31"),
        );
        assert_eq!(values.into_iter().collect::<Vec<_>>(), [(code("2080"), 3)]);
    }

    #[test]
    fn a_leap_year_has_366_days() {
        let open = placement("2080", 1, "2000-01-01", None);
        assert_eq!(open.days_in(2024), 366);
        assert_eq!(open.days_in(2025), 365);
        assert_eq!(
            placement("2080", 1, "2025-05-01", Some("2025-04-30")).days_in(2025),
            0
        );
    }
}
