//! Placement requests' rules: one child's needs as the municipality states them, never the
//! child's identity — which fields a change may touch, the child's age band on the wanted start
//! date, and the limits of what a request holds.

use chrono::{Datelike, NaiveDate};
use hearth_domain::{AgeBand, AgeBandError};

/// Free-text and list limits.
pub const MAX_CASE_REFERENCE: usize = 64;
pub const MAX_NEEDS_DESCRIPTION: usize = 2000;
pub const MAX_SUPPORT_DESCRIPTION: usize = 1000;
pub const MAX_WITHDRAWAL_NOTE: usize = 1000;
pub const MAX_SIBLINGS: usize = 10;
/// The largest proximity distance a request may set (0 means no limit).
pub const MAX_DISTANCE_KM: u32 = 1000;
/// The oldest a child in care can be (the top age band ends at 20).
pub const MAX_CHILD_AGE: i32 = 20;

/// The fields of a placement request that an update may change (`update_mask` paths). The
/// requesting unit is not among them: a request moves to another unit by being withdrawn and
/// opened again.
pub const UPDATABLE_FIELDS: &[&str] = &[
    "case_reference",
    "birth_year",
    "sex",
    "needs",
    "needs_description",
    "sibling_birth_years",
    "commission_kind",
    "proximity",
    "max_fee_level",
    "offered_support",
    "offered_support_description",
    "urgency",
    "wanted_start_date",
    "follows_placement_id",
    "in_emergency_home",
    "emergency_home_since",
];

/// The earliest birth year of a child (or sibling) in a request made on `today`.
pub fn oldest_birth_year(today: NaiveDate) -> i32 {
    today.year() - MAX_CHILD_AGE
}

/// Whether `year` can be a child's birth year in a request made on `today`.
pub fn is_child_birth_year(year: i32, today: NaiveDate) -> bool {
    (oldest_birth_year(today)..=today.year()).contains(&year)
}

/// The latest wanted start date a request made on `today` may give: two years ahead.
pub fn latest_start(today: NaiveDate) -> NaiveDate {
    today + chrono::Days::new(366 * 2)
}

/// The child's (or a sibling's) age band on the wanted start date, by birth year (requests
/// carry the year, not the date of birth). A birth year that is valid today can still be over
/// 20 on a start date up to two years ahead: such a request is refused, since matching counts
/// the places needed from these bands and a child without one would go uncounted.
pub fn age_band_at_start(birth_year: i32, start: NaiveDate) -> Result<AgeBand, AgeBandError> {
    let years = u32::try_from((start.year() - birth_year).max(0)).unwrap_or(0);
    AgeBand::for_age(years)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_age_band_is_the_one_on_the_start_date() {
        assert_eq!(
            age_band_at_start(2020, day(2026, 1, 1)),
            Ok(AgeBand::Age0To6)
        );
        assert_eq!(
            age_band_at_start(2019, day(2026, 1, 1)),
            Ok(AgeBand::Age7To12)
        );
        assert_eq!(
            age_band_at_start(2013, day(2026, 1, 1)),
            Ok(AgeBand::Age13To20)
        );
        assert!(age_band_at_start(2005, day(2026, 1, 1)).is_err());
    }

    #[test]
    fn a_birth_year_valid_today_can_be_over_twenty_on_the_start_date() {
        let today = day(2026, 11, 25);
        assert!(is_child_birth_year(2006, today));
        assert_eq!(
            age_band_at_start(2006, day(2026, 12, 31)),
            Ok(AgeBand::Age13To20)
        );
        assert_eq!(
            age_band_at_start(2006, day(2027, 1, 1)),
            Err(AgeBandError::OutOfRange { years: 21 })
        );
        assert_eq!(
            age_band_at_start(2006, latest_start(today)),
            Err(AgeBandError::OutOfRange { years: 22 })
        );
    }

    #[test]
    fn birth_years_span_the_oldest_child_in_care_to_this_year() {
        let today = day(2026, 11, 25);
        assert!(is_child_birth_year(2006, today));
        assert!(is_child_birth_year(2026, today));
        assert!(!is_child_birth_year(2005, today));
        assert!(!is_child_birth_year(2027, today));
        assert_eq!(latest_start(today), day(2028, 11, 26));
    }
}
