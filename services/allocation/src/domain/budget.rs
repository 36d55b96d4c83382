//! The unit's budget: lines of common or specific costs, projected to later years with a yearly
//! increase in basis points (300 = 3 %).
//!
//! **The projection rule.** Each line grows year by year: `amount × (10000 + increase) / 10000`,
//! rounded half away from zero to the rounding's unit *each year* (as a budget written in a
//! spreadsheet one year at a time would be). The projected total is the sum of the projected
//! lines, so lines and total always agree.

use hearth_domain::Money;
use serde::{Deserialize, Serialize};

use super::AllocationError;
use super::method::Rounding;

/// One line of a budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetLine {
    pub name: String,
    /// `true` for a specific cost (shared by the specific-cost split), `false` for a common one.
    pub specific: bool,
    pub amount: Money,
}

/// `amount` grown by `increase_basis_points` a year for `years` years.
pub fn project_amount(
    amount: Money,
    increase_basis_points: u32,
    years: u32,
    rounding: Rounding,
) -> Result<Money, AllocationError> {
    if amount.is_negative() {
        return Err(AllocationError::Negative {
            what: "a budget amount".to_owned(),
        });
    }
    let unit = i128::from(rounding.unit_ore());
    let factor = 10_000 + i128::from(increase_basis_points);
    let divisor = 10_000 * unit;
    let mut ore = i128::from(amount.as_ore());
    for _ in 0..years {
        let grown = ore.checked_mul(factor).ok_or(AllocationError::Overflow)?;
        // Half away from zero (amounts are not negative here).
        ore = (grown * 2 + divisor) / (divisor * 2) * unit;
    }
    i64::try_from(ore)
        .map(Money::from_ore)
        .map_err(|_| AllocationError::Overflow)
}

/// Every line projected `years` years ahead.
pub fn project_lines(
    lines: &[BudgetLine],
    increase_basis_points: u32,
    years: u32,
    rounding: Rounding,
) -> Result<Vec<BudgetLine>, AllocationError> {
    lines
        .iter()
        .map(|line| {
            Ok(BudgetLine {
                name: line.name.clone(),
                specific: line.specific,
                amount: project_amount(line.amount, increase_basis_points, years, rounding)?,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn three_percent_a_year_rounded_each_year() {
        let kronor = |k| Money::from_kronor(k).unwrap();
        assert_eq!(
            project_amount(kronor(3_998_600), 300, 1, Rounding::Krona).unwrap(),
            kronor(4_118_558)
        );
        // 4 118 558 × 1.03 = 4 242 114.74 → 4 242 115
        assert_eq!(
            project_amount(kronor(3_998_600), 300, 2, Rounding::Krona).unwrap(),
            kronor(4_242_115)
        );
        // Öre rounding keeps the öre: 4 242 114.74
        assert_eq!(
            project_amount(kronor(3_998_600), 300, 2, Rounding::Ore).unwrap(),
            Money::from_ore(424_211_474)
        );
        assert_eq!(
            project_amount(kronor(100), 300, 0, Rounding::Krona).unwrap(),
            kronor(100)
        );
        assert!(project_amount(Money::from_ore(-1), 300, 1, Rounding::Ore).is_err());
    }

    proptest! {
        #[test]
        fn projection_never_shrinks_and_stays_in_units(
            ore in 0i64..1_000_000_000_000,
            points in 0u32..2_000,
            years in 0u32..10,
        ) {
            let amount = Money::from_ore(ore / 100 * 100);
            let projected = project_amount(amount, points, years, Rounding::Krona).unwrap();
            prop_assert!(projected >= amount);
            prop_assert_eq!(projected.as_ore() % 100, 0);
        }
    }
}
