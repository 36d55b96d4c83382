//! Largest-remainder apportionment: share a whole number of units between weights so that the
//! parts add up to exactly the total and each part is within one unit of its exact value.

use super::AllocationError;

/// Shares `total` units between `weights` by the largest-remainder method.
///
/// Each part first gets the floor of its exact value `|total| × weight / Σweights`; the units
/// left over (fewer than the number of parts) go one each to the parts with the largest
/// remainders. Ties are broken deterministically: the larger weight first, then the earlier
/// position (callers order members by municipality code). A negative total (a surplus paid
/// back) is shared as its magnitude and every part negated, so the same rules hold for credits.
///
/// Guarantees, for any input that does not fail:
/// - the parts add up to exactly `total`;
/// - every part is within one unit of its exact value (`floor ≤ part ≤ floor + 1`);
/// - a larger weight never gets a smaller magnitude;
/// - a zero weight gets nothing.
///
/// Fails when the weights are all zero (or there are none) while the total is not zero, and
/// on arithmetic overflow (never silently).
pub fn largest_remainder(total: i64, weights: &[u128]) -> Result<Vec<i64>, AllocationError> {
    let sum = weights
        .iter()
        .try_fold(0u128, |acc, weight| acc.checked_add(*weight))
        .ok_or(AllocationError::Overflow)?;
    if total == 0 {
        return Ok(vec![0; weights.len()]);
    }
    if sum == 0 {
        return Err(AllocationError::NothingToShareBy);
    }
    let magnitude = u128::from(total.unsigned_abs());
    let mut floors = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut allocated: u128 = 0;
    for (index, weight) in weights.iter().enumerate() {
        let product = magnitude
            .checked_mul(*weight)
            .ok_or(AllocationError::Overflow)?;
        let floor = product / sum;
        allocated += floor;
        floors.push(floor);
        remainders.push((product % sum, *weight, index));
    }
    // Fewer than `weights.len()` units are left: Σ remainders = leftover × Σ weights.
    let leftover = magnitude - allocated;
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    for (_, _, index) in remainders.iter().take(leftover as usize) {
        floors[*index] += 1;
    }
    floors
        .into_iter()
        .map(|part| {
            let signed = i128::try_from(part).map_err(|_| AllocationError::Overflow)?;
            let signed = if total < 0 { -signed } else { signed };
            i64::try_from(signed).map_err(|_| AllocationError::Overflow)
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shares_exactly_with_the_largest_remainders_first() {
        // 10 by 1:1:1 → 3.33 each; the one left goes to the first (ties by position).
        assert_eq!(largest_remainder(10, &[1, 1, 1]).unwrap(), [4, 3, 3]);
        // 100 by 2:3:5 is exact.
        assert_eq!(largest_remainder(100, &[2, 3, 5]).unwrap(), [20, 30, 50]);
        // 7 by 1:2 → 2.33, 4.67: the larger remainder gets the unit.
        assert_eq!(largest_remainder(7, &[1, 2]).unwrap(), [2, 5]);
    }

    #[test]
    fn ties_prefer_the_larger_weight_then_the_earlier_position() {
        // 1 by 1:2:1 → 0.25, 0.5, 0.25: the larger remainder (and weight) wins.
        assert_eq!(largest_remainder(1, &[1, 2, 1]).unwrap(), [0, 1, 0]);
        // 2 by 1:1:1:1 → 0.5 each: the first two.
        assert_eq!(largest_remainder(2, &[1, 1, 1, 1]).unwrap(), [1, 1, 0, 0]);
    }

    #[test]
    fn negative_totals_share_credits_the_same_way() {
        assert_eq!(largest_remainder(-10, &[1, 1, 1]).unwrap(), [-4, -3, -3]);
    }

    #[test]
    fn zero_weights_and_zero_totals() {
        assert_eq!(largest_remainder(0, &[0, 0]).unwrap(), [0, 0]);
        assert_eq!(largest_remainder(5, &[0, 3]).unwrap(), [0, 5]);
        assert_eq!(
            largest_remainder(5, &[0, 0]),
            Err(AllocationError::NothingToShareBy)
        );
        assert_eq!(
            largest_remainder(5, &[]),
            Err(AllocationError::NothingToShareBy)
        );
    }

    #[test]
    fn overflow_is_an_error() {
        assert_eq!(
            largest_remainder(i64::MAX, &[u128::MAX, 1]),
            Err(AllocationError::Overflow)
        );
        // The extremes of i64 themselves are fine.
        assert_eq!(largest_remainder(i64::MIN, &[1]).unwrap(), [i64::MIN]);
        assert_eq!(largest_remainder(i64::MAX, &[1, 0]).unwrap(), [i64::MAX, 0]);
    }

    proptest! {
        #[test]
        fn parts_add_up_are_close_and_monotone(
            total in -10_000_000_000i64..10_000_000_000,
            weights in prop::collection::vec(0u128..2_000_000_000_000, 1..20),
        ) {
            prop_assume!(weights.iter().any(|w| *w > 0));
            let parts = largest_remainder(total, &weights).unwrap();
            prop_assert_eq!(parts.iter().map(|p| i128::from(*p)).sum::<i128>(), i128::from(total));
            let sum: u128 = weights.iter().sum();
            for (part, weight) in parts.iter().zip(&weights) {
                // |part × Σw − total × w| < Σw: within one unit of the exact value.
                let exact_times_sum = i128::from(total) * (*weight as i128);
                let difference = i128::from(*part) * (sum as i128) - exact_times_sum;
                prop_assert!(difference.unsigned_abs() < sum, "part {part} weight {weight}");
            }
            for (i, wi) in weights.iter().enumerate() {
                for (j, wj) in weights.iter().enumerate() {
                    if wi > wj {
                        prop_assert!(parts[i].unsigned_abs() >= parts[j].unsigned_abs(),
                            "weight {wi} got {} but weight {wj} got {}", parts[i], parts[j]);
                    }
                }
            }
        }
    }
}
