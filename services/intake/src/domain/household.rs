//! Who registers interest: the one or two adults of a household, each of age on the day, and
//! the limits of what a registration holds.

use chrono::{Datelike, NaiveDate};
use hearth_domain::PersonalIdentityNumber;

/// At most this many adults register together: the one or two foster parents.
pub const MAX_ADULTS: usize = 2;
/// Foster parents must be adults on the day they register.
pub const MIN_ADULT_AGE: u32 = 18;
/// The most children of its own a household lists, and the oldest age it may give.
pub const MAX_HOUSEHOLD_CHILDREN: usize = 15;
pub const MAX_HOUSEHOLD_CHILD_AGE: u32 = 40;
/// Free-text limits, in characters.
pub const MAX_CHANNEL_OTHER: usize = 200;
pub const MAX_MESSAGE: usize = 2000;
pub const MAX_STREET: usize = 200;
pub const MAX_LOCALITY: usize = 100;

/// Age in whole years on `today` from the number's date of birth (a birthday counts from the
/// day itself).
pub fn age_on(number: &PersonalIdentityNumber, today: NaiveDate) -> u32 {
    let born = number.birth_date();
    let mut years = today.year() - born.year();
    if (today.month(), today.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// Whether the number's holder is an adult on `today`.
pub fn is_adult_on(number: &PersonalIdentityNumber, today: NaiveDate) -> bool {
    age_on(number, today) >= MIN_ADULT_AGE
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn an_adult_from_the_eighteenth_birthday() {
        // Born 14 March 1985 (synthetic number with a valid check digit).
        let number = PersonalIdentityNumber::parse_on("198503142385", day(2026, 11, 25)).unwrap();
        assert_eq!(age_on(&number, day(2003, 3, 13)), 17);
        assert!(!is_adult_on(&number, day(2003, 3, 13)));
        assert_eq!(age_on(&number, day(2003, 3, 14)), 18);
        assert!(is_adult_on(&number, day(2003, 3, 14)));
        assert_eq!(age_on(&number, day(2026, 11, 25)), 41);
    }
}
