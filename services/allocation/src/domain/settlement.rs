//! The year-end settlement: the difference between the actual cost and what the members paid
//! (positive: a deficit they pay; negative: a surplus paid back) shared as debits or credits.
//!
//! By default the difference is shared **by the annual run's shares** — the same key, with the
//! same month proration and splits, since each member's annual share is exactly what that key
//! gave it. The steering group may choose another key instead ([`settle_by_key`]).

use hearth_domain::{Money, MunicipalityCode};

use super::AllocationError;
use super::apportion::largest_remainder;
use super::method::{AllocationRequest, KeyBasis, MemberKey, Rounding, Split, allocate};

/// Shares `difference` in proportion to the members' annual shares. Returns one amount per
/// entry, in the given order, adding up to exactly `difference`.
pub fn settle_by_shares(
    rounding: Rounding,
    difference: Money,
    annual_shares: &[(MunicipalityCode, Money)],
) -> Result<Vec<(MunicipalityCode, Money)>, AllocationError> {
    let units = rounding.to_units(difference)?;
    let weights = annual_shares
        .iter()
        .map(|(_, amount)| {
            if amount.is_negative() {
                Err(AllocationError::Negative {
                    what: "an annual share".to_owned(),
                })
            } else {
                Ok(u128::from(amount.as_ore().unsigned_abs()))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let parts = largest_remainder(units, &weights).map_err(|error| match error {
        AllocationError::NothingToShareBy => AllocationError::NoAnnualShares,
        other => other,
    })?;
    annual_shares
        .iter()
        .zip(parts)
        .map(|((code, _), part)| Ok((*code, rounding.to_money(part)?)))
        .collect()
}

/// Shares `difference` by one key basis, members weighted by the months of `year` they paid
/// for. Returns one amount per member in municipality-code order.
pub fn settle_by_key(
    year: i32,
    rounding: Rounding,
    difference: Money,
    members: &[MemberKey],
    basis: KeyBasis,
) -> Result<Vec<(MunicipalityCode, Money)>, AllocationError> {
    // `allocate` refuses negative totals (a budget is never negative): share the magnitude
    // and turn the signs.
    let split = Split::single(basis);
    let magnitude = Money::from_ore(
        i64::try_from(difference.as_ore().unsigned_abs()).map_err(|_| AllocationError::Overflow)?,
    );
    let allocation = allocate(&AllocationRequest {
        year,
        rounding,
        members,
        common_total: magnitude,
        common_split: &split,
        specific_total: Money::ZERO,
        specific_split: &split,
    })?;
    Ok(allocation
        .shares
        .into_iter()
        .map(|share| {
            let amount = if difference.is_negative() {
                Money::from_ore(-share.amount.as_ore())
            } else {
                share.amount
            };
            (share.municipality, amount)
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::calendar::Membership;
    use crate::domain::method::KeyValues;
    use proptest::prelude::*;

    fn code(local: u16) -> MunicipalityCode {
        MunicipalityCode::parse(&format!("20{local:02}")).unwrap()
    }

    #[test]
    fn a_surplus_is_paid_back_in_proportion_to_the_annual_shares() {
        let shares = [
            (code(80), Money::from_kronor(300).unwrap()),
            (code(81), Money::from_kronor(100).unwrap()),
        ];
        let credits =
            settle_by_shares(Rounding::Krona, Money::from_kronor(-40).unwrap(), &shares).unwrap();
        assert_eq!(
            credits,
            [
                (code(80), Money::from_kronor(-30).unwrap()),
                (code(81), Money::from_kronor(-10).unwrap())
            ]
        );
        assert_eq!(
            settle_by_shares(
                Rounding::Krona,
                Money::from_kronor(5).unwrap(),
                &[(code(80), Money::ZERO)]
            ),
            Err(AllocationError::NoAnnualShares)
        );
    }

    #[test]
    fn the_steering_group_may_choose_another_key() {
        let members: Vec<MemberKey> = [(80, 1), (81, 3)]
            .into_iter()
            .map(|(local, use_value)| MemberKey {
                municipality: code(local),
                name: String::new(),
                membership: Membership::ALWAYS,
                values: KeyValues {
                    use_value: Some(use_value),
                    ..KeyValues::default()
                },
            })
            .collect();
        let debits = settle_by_key(
            2026,
            Rounding::Ore,
            Money::from_ore(-400),
            &members,
            KeyBasis::Use,
        )
        .unwrap();
        assert_eq!(
            debits,
            [
                (code(80), Money::from_ore(-100)),
                (code(81), Money::from_ore(-300))
            ]
        );
    }

    proptest! {
        #[test]
        fn settlement_sums_to_the_difference(
            annual in prop::collection::btree_map(0u16..100, 0i64..10_000_000_000, 1..15),
            difference in -1_000_000_000i64..1_000_000_000,
            ore in any::<bool>(),
        ) {
            let shares: Vec<(MunicipalityCode, Money)> = annual.iter().map(|(l, a)| (code(*l), Money::from_ore(*a))).collect();
            prop_assume!(shares.iter().any(|(_, a)| a.as_ore() > 0));
            let rounding = if ore { Rounding::Ore } else { Rounding::Krona };
            let difference = rounding.to_money(difference / rounding.unit_ore()).unwrap();
            let settled = settle_by_shares(rounding, difference, &shares).unwrap();
            prop_assert_eq!(settled.iter().map(|(_, m)| m.as_ore()).sum::<i64>(), difference.as_ore());
            for ((code_a, amount), (code_b, _)) in settled.iter().zip(&shares) {
                prop_assert_eq!(code_a, code_b);
                // Debits for a deficit, credits for a surplus, never the other way round.
                prop_assert!(amount.as_ore() == 0 || (amount.as_ore() > 0) == (difference.as_ore() > 0));
            }
        }

        #[test]
        fn settlement_by_key_sums_to_the_difference(
            values in prop::collection::btree_map(0u16..100, 1u64..1_000_000, 1..15),
            difference in -1_000_000_000i64..1_000_000_000,
        ) {
            let members: Vec<MemberKey> = values.iter().map(|(local, value)| MemberKey {
                municipality: code(*local), name: String::new(), membership: Membership::ALWAYS,
                values: KeyValues { tax_base_ore: Some(*value), ..KeyValues::default() },
            }).collect();
            let settled = settle_by_key(2026, Rounding::Ore, Money::from_ore(difference), &members, KeyBasis::TaxBase).unwrap();
            prop_assert_eq!(settled.iter().map(|(_, m)| m.as_ore()).sum::<i64>(), difference);
        }
    }
}
