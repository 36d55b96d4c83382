//! The proposal's answer window: after a proposal of a family it has not met, the municipality
//! must meet the family and answer within the county's `answer_days` (`[matching]` in the
//! county file; 14 days unless it says otherwise).
//!
//! Counted on Europe/Stockholm calendar dates, never on instants, so that the last day is a
//! date both sides can read off a calendar and a summer-time switch cannot move it: made on
//! 1 March, the last day to answer is 15 March and the proposal has lapsed on 16 March. Today's
//! date comes from `hearth_domain::stockholm::stockholm_date` of the clock's instant.

use chrono::{Days, NaiveDate};

/// The window's length in days for a county file that does not set its own.
pub const DEFAULT_WINDOW_DAYS: u32 = hearth_county::MatchingSettings::DEFAULT_ANSWER_DAYS;

/// The county's window length in days.
pub fn window_days(county: &hearth_county::County) -> u32 {
    county.matching().answer_days
}

/// The last day to answer a proposal made on `made_on`: `days` calendar days later. `None` only
/// past the end of the calendar chrono can represent.
pub fn answer_due_date(made_on: NaiveDate, days: u32) -> Option<NaiveDate> {
    made_on.checked_add_days(Days::new(u64::from(days)))
}

/// Whether the proposal can still be answered on `today`: up to and including its due date.
pub fn is_answerable(due: NaiveDate, today: NaiveDate) -> bool {
    today <= due
}

/// Whether the proposal has lapsed on `today`: from the day after its due date.
pub fn has_lapsed(due: NaiveDate, today: NaiveDate) -> bool {
    !is_answerable(due, today)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::fixtures::county_with;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn made_on_1_march_is_answerable_to_15_march_and_lapsed_on_16_march() {
        let due = answer_due_date(date(2026, 3, 1), DEFAULT_WINDOW_DAYS).unwrap();
        assert_eq!(due, date(2026, 3, 15));
        assert!(is_answerable(due, date(2026, 3, 1)));
        assert!(is_answerable(due, date(2026, 3, 15)));
        assert!(!has_lapsed(due, date(2026, 3, 15)));
        assert!(!is_answerable(due, date(2026, 3, 16)));
        assert!(has_lapsed(due, date(2026, 3, 16)));
    }

    #[test]
    fn the_window_runs_across_month_and_year_ends() {
        assert_eq!(
            answer_due_date(date(2026, 1, 25), 14),
            Some(date(2026, 2, 8))
        );
        assert_eq!(
            answer_due_date(date(2026, 12, 25), 14),
            Some(date(2027, 1, 8))
        );
        // Over the spring switch to summer time (29 March 2026): still calendar days.
        assert_eq!(
            answer_due_date(date(2026, 3, 20), 14),
            Some(date(2026, 4, 3))
        );
    }

    #[test]
    fn a_leap_year_february_has_29_days() {
        assert_eq!(
            answer_due_date(date(2028, 2, 20), 14),
            Some(date(2028, 3, 5))
        );
        assert_eq!(
            answer_due_date(date(2027, 2, 20), 14),
            Some(date(2027, 3, 6))
        );
        assert_eq!(
            answer_due_date(date(2028, 2, 15), 14),
            Some(date(2028, 2, 29))
        );
    }

    #[test]
    fn the_window_comes_from_the_county_file() {
        assert_eq!(window_days(&hearth_county::County::dalarna()), 14);
        let county = county_with("[matching]\nanswer_days = 21");
        assert_eq!(
            answer_due_date(date(2026, 3, 1), window_days(&county)),
            Some(date(2026, 3, 22))
        );
    }

    #[test]
    fn the_window_is_a_parameter() {
        assert_eq!(answer_due_date(date(2026, 3, 1), 0), Some(date(2026, 3, 1)));
        assert_eq!(
            answer_due_date(date(2026, 3, 1), 21),
            Some(date(2026, 3, 22))
        );
        assert_eq!(answer_due_date(NaiveDate::MAX, 1), None);
    }

    proptest! {
        #[test]
        fn answerable_and_lapsed_split_the_days_at_the_due_date(
            offset in 0i64..20_000, days in 0u32..60, probe in -100i64..100,
        ) {
            let made_on = date(2000, 1, 1) + chrono::Duration::days(offset);
            let due = answer_due_date(made_on, days).unwrap();
            prop_assert_eq!((due - made_on).num_days(), i64::from(days));
            let today = due + chrono::Duration::days(probe);
            prop_assert_eq!(is_answerable(due, today), probe <= 0);
            prop_assert_eq!(has_lapsed(due, today), probe > 0);
        }
    }
}
