//! Months of membership in a year, and monthly instalments.
//!
//! **The month rule.** A municipality pays for a month when it is a member on the month's first
//! day. Joining on 1 July pays July–December (6 months); joining on 15 July pays
//! August–December (5); leaving with `member_to` 30 June pays January–June (6); leaving on
//! 15 June still pays June (a member on 1 June). Its key value is weighted by the months
//! (`key × months`), so a half-year member carries half its key's weight, in integers.

use chrono::{Datelike, NaiveDate};

use super::AllocationError;

/// A membership period; both ends inclusive, open where `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Membership {
    /// First day of membership; `None`: a member since before the records.
    pub from: Option<NaiveDate>,
    /// Last day of membership; `None`: still a member.
    pub to: Option<NaiveDate>,
}

impl Membership {
    /// A member on every date.
    pub const ALWAYS: Membership = Membership {
        from: None,
        to: None,
    };

    /// Whether the municipality is a member on `date`.
    pub fn includes(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|from| from <= date) && self.to.is_none_or(|to| date <= to)
    }

    /// Which months of `year` it pays for: those whose first day it is a member on.
    pub fn months_in(&self, year: i32) -> MemberMonths {
        let mut months = [false; 12];
        for (index, month) in months.iter_mut().enumerate() {
            *month = NaiveDate::from_ymd_opt(year, index as u32 + 1, 1)
                .is_some_and(|first_day| self.includes(first_day));
        }
        MemberMonths(months)
    }
}

/// The months of a year a member pays for (January first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberMonths(pub [bool; 12]);

impl MemberMonths {
    /// Every month.
    pub const FULL_YEAR: MemberMonths = MemberMonths([true; 12]);

    /// How many months.
    pub fn count(&self) -> u8 {
        self.0.iter().filter(|paid| **paid).count() as u8
    }
}

/// Splits an annual amount (in units: whole kronor or öre) into twelve monthly instalments over
/// the months the member pays for, January first: each month gets the same whole number of
/// units and the units left over go one each to the earliest paid months. Months it does not
/// pay for get nothing. The instalments add up to exactly `annual`.
pub fn monthly_instalments(
    annual: i64,
    months: MemberMonths,
) -> Result<[i64; 12], AllocationError> {
    let mut instalments = [0i64; 12];
    let count = u64::from(months.count());
    if annual == 0 {
        return Ok(instalments);
    }
    if count == 0 {
        return Err(AllocationError::NoMonthsToInvoice);
    }
    let magnitude = annual.unsigned_abs();
    let base = magnitude / count;
    let mut extra = magnitude % count;
    for (instalment, paid) in instalments.iter_mut().zip(months.0) {
        if !paid {
            continue;
        }
        let mut amount = base;
        if extra > 0 {
            amount += 1;
            extra -= 1;
        }
        let signed = i128::from(amount);
        let signed = if annual < 0 { -signed } else { signed };
        *instalment = i64::try_from(signed).map_err(|_| AllocationError::Overflow)?;
    }
    Ok(instalments)
}

/// The date of `year`'s `month` (1..=12) day `day`, clamped to the month's last day.
pub fn day_of_month(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let last_day = (28..=31)
        .rev()
        .find(|candidate| NaiveDate::from_ymd_opt(year, month, *candidate).is_some())
        .unwrap_or(28);
    first.with_day(day.clamp(1, last_day))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_member_pays_for_the_months_it_is_a_member_on_the_first_day() {
        let joins_july = Membership {
            from: Some(date("2026-07-01")),
            to: None,
        };
        assert_eq!(joins_july.months_in(2026).count(), 6);
        assert!(!joins_july.months_in(2026).0[5] && joins_july.months_in(2026).0[6]);
        let joins_mid_july = Membership {
            from: Some(date("2026-07-15")),
            to: None,
        };
        assert_eq!(joins_mid_july.months_in(2026).count(), 5);
        let leaves_june = Membership {
            from: None,
            to: Some(date("2026-06-30")),
        };
        assert_eq!(leaves_june.months_in(2026).count(), 6);
        let leaves_mid_june = Membership {
            from: None,
            to: Some(date("2026-06-15")),
        };
        assert_eq!(leaves_mid_june.months_in(2026).count(), 6);
        assert_eq!(leaves_june.months_in(2027).count(), 0);
        assert_eq!(joins_july.months_in(2025).count(), 0);
        assert_eq!(Membership::ALWAYS.months_in(2026).count(), 12);
    }

    #[test]
    fn instalments_spread_the_leftover_over_the_first_months() {
        assert_eq!(
            monthly_instalments(100, MemberMonths::FULL_YEAR).unwrap(),
            [9, 9, 9, 9, 8, 8, 8, 8, 8, 8, 8, 8]
        );
        let second_half = Membership {
            from: Some(date("2026-07-01")),
            to: None,
        }
        .months_in(2026);
        assert_eq!(
            monthly_instalments(-13, second_half).unwrap(),
            [0, 0, 0, 0, 0, 0, -3, -2, -2, -2, -2, -2]
        );
        assert_eq!(
            monthly_instalments(5, MemberMonths([false; 12])),
            Err(AllocationError::NoMonthsToInvoice)
        );
        assert_eq!(
            monthly_instalments(0, MemberMonths([false; 12])).unwrap(),
            [0; 12]
        );
    }

    #[test]
    fn days_of_month_clamp() {
        assert_eq!(day_of_month(2026, 2, 31), Some(date("2026-02-28")));
        assert_eq!(day_of_month(2028, 2, 31), Some(date("2028-02-29")));
        assert_eq!(day_of_month(2026, 1, 25), Some(date("2026-01-25")));
    }

    proptest! {
        #[test]
        fn instalments_add_up_to_the_annual_share(
            annual in -10_000_000_000i64..10_000_000_000,
            months in prop::array::uniform12(any::<bool>()),
        ) {
            let months = MemberMonths(months);
            prop_assume!(months.count() > 0);
            let instalments = monthly_instalments(annual, months).unwrap();
            prop_assert_eq!(instalments.iter().sum::<i64>(), annual);
            let paid: Vec<i64> = instalments.iter().zip(months.0).filter(|(_, p)| *p).map(|(a, _)| *a).collect();
            let (min, max) = (paid.iter().min().unwrap(), paid.iter().max().unwrap());
            prop_assert!(max - min <= 1, "{instalments:?}");
            for (amount, paid) in instalments.iter().zip(months.0) {
                if !paid { prop_assert_eq!(*amount, 0); }
            }
        }

        #[test]
        fn membership_months_match_the_first_days(
            from_offset in proptest::option::of(0i64..900),
            length in proptest::option::of(0i64..900),
        ) {
            let base = date("2025-06-01");
            let from = from_offset.map(|days| base + chrono::Duration::days(days));
            let to = length.map(|days| from.unwrap_or(base) + chrono::Duration::days(days));
            let membership = Membership { from, to };
            let months = membership.months_in(2026);
            for month in 1..=12u32 {
                let first = NaiveDate::from_ymd_opt(2026, month, 1).unwrap();
                prop_assert_eq!(months.0[month as usize - 1], membership.includes(first));
            }
        }
    }
}
