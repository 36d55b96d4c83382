//! Allocation methods: by population aged 0–17, by tax base, by use, or a split (a share of a
//! total by one key, the rest by another), with members paying for their months only.

use std::collections::HashSet;
use std::fmt;

use hearth_domain::{Money, MunicipalityCode};
use serde::{Deserialize, Serialize};

use super::AllocationError;
use super::apportion::largest_remainder;
use super::calendar::{Membership, monthly_instalments};

/// What a cost is shared by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyBasis {
    /// Inhabitants aged 0–17 on 31 December of the previous year.
    Population0To17,
    /// The municipality's tax base (skattekraft), in öre.
    TaxBase,
    /// The municipality's use of the unit (placed children or placement days).
    Use,
}

impl KeyBasis {
    /// The name in files and on the command line: `population`, `tax-base`, `use`.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyBasis::Population0To17 => "population",
            KeyBasis::TaxBase => "tax-base",
            KeyBasis::Use => "use",
        }
    }
}

impl fmt::Display for KeyBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyBasis::Population0To17 => "population 0–17",
            KeyBasis::TaxBase => "tax base",
            KeyBasis::Use => "use",
        })
    }
}

impl std::str::FromStr for KeyBasis {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "population" => Ok(KeyBasis::Population0To17),
            "tax-base" => Ok(KeyBasis::TaxBase),
            "use" => Ok(KeyBasis::Use),
            other => Err(format!(
                "unknown key `{other}`; expected population, tax-base or use"
            )),
        }
    }
}

/// How amounts are rounded: the unit every share and instalment is a whole number of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Whole kronor.
    Krona,
    /// Whole öre.
    Ore,
}

impl Rounding {
    /// The unit in öre.
    pub const fn unit_ore(self) -> i64 {
        match self {
            Rounding::Krona => 100,
            Rounding::Ore => 1,
        }
    }

    /// `amount` in units; an error when it is not a whole number of them.
    pub fn to_units(self, amount: Money) -> Result<i64, AllocationError> {
        let unit = self.unit_ore();
        if amount.as_ore() % unit != 0 {
            return Err(AllocationError::NotWholeKronor { amount });
        }
        Ok(amount.as_ore() / unit)
    }

    /// `units` as money.
    pub fn to_money(self, units: i64) -> Result<Money, AllocationError> {
        units
            .checked_mul(self.unit_ore())
            .map(Money::from_ore)
            .ok_or(AllocationError::Overflow)
    }
}

impl std::str::FromStr for Rounding {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "krona" => Ok(Rounding::Krona),
            "ore" => Ok(Rounding::Ore),
            other => Err(format!("unknown rounding `{other}`; expected krona or ore")),
        }
    }
}

/// A member's key values for a year; `None` where the value is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyValues {
    pub population_0_17: Option<u64>,
    /// In öre.
    pub tax_base_ore: Option<u64>,
    pub use_value: Option<u64>,
}

impl KeyValues {
    /// The value of `basis`.
    pub fn get(&self, basis: KeyBasis) -> Option<u64> {
        match basis {
            KeyBasis::Population0To17 => self.population_0_17,
            KeyBasis::TaxBase => self.tax_base_ore,
            KeyBasis::Use => self.use_value,
        }
    }
}

/// Why a split was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("must name at least one basis")]
    Empty,
    #[error("names {0} twice")]
    Duplicate(KeyBasis),
    #[error("weights must add up to 10000 basis points (got {0})")]
    NotWhole(u64),
    #[error("a weight must be greater than zero")]
    ZeroWeight,
}

/// How one category of costs is shared: bases with weights in basis points adding up to
/// 10000. `population 10000` is the plain population key; `population 6000, use 4000` shares
/// 60 % by population and the rest by use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split(Vec<(KeyBasis, u32)>);

impl Split {
    /// The whole by one basis.
    pub fn single(basis: KeyBasis) -> Self {
        Self(vec![(basis, 10_000)])
    }

    /// Checks the weights: at least one basis, each once, each above zero, adding up to 10000.
    pub fn new(parts: Vec<(KeyBasis, u32)>) -> Result<Self, SplitError> {
        if parts.is_empty() {
            return Err(SplitError::Empty);
        }
        let mut seen = HashSet::new();
        let mut sum: u64 = 0;
        for (basis, weight) in &parts {
            if !seen.insert(*basis) {
                return Err(SplitError::Duplicate(*basis));
            }
            if *weight == 0 {
                return Err(SplitError::ZeroWeight);
            }
            sum += u64::from(*weight);
        }
        if sum != 10_000 {
            return Err(SplitError::NotWhole(sum));
        }
        Ok(Self(parts))
    }

    /// The bases with their weights, in the order given.
    pub fn parts(&self) -> &[(KeyBasis, u32)] {
        &self.0
    }
}

/// A member as an allocation sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberKey {
    pub municipality: MunicipalityCode,
    pub name: String,
    pub membership: Membership,
    pub values: KeyValues,
}

/// What to share and how.
#[derive(Debug, Clone)]
pub struct AllocationRequest<'a> {
    pub year: i32,
    pub rounding: Rounding,
    pub members: &'a [MemberKey],
    /// Common costs (staff, premises …), shared by `common_split`.
    pub common_total: Money,
    pub common_split: &'a Split,
    /// Specific costs, shared by `specific_split`.
    pub specific_total: Money,
    pub specific_split: &'a Split,
}

/// One member's share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberShare {
    pub municipality: MunicipalityCode,
    /// Months of the year it pays for.
    pub months: u8,
    pub common: Money,
    pub specific: Money,
    /// `common + specific`.
    pub amount: Money,
    /// Its share of the total in millionths, for display only.
    pub share_millionths: u32,
    /// Twelve monthly instalments (January first) adding up to `amount`.
    pub instalments: [Money; 12],
}

/// The result: one share per member, in municipality-code order, adding up to `total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub total: Money,
    pub shares: Vec<MemberShare>,
}

/// Shares the year's common and specific costs between the members.
///
/// For each category: the total is first divided between the split's bases by their basis
/// points (largest remainder), then each basis's part between the members by their key value
/// × the months they pay for (largest remainder). A member's annual share is the sum of its
/// parts, and its instalments spread it over its paid months. Everything is in whole units
/// of `rounding`, so every sum is exact.
pub fn allocate(request: &AllocationRequest<'_>) -> Result<Allocation, AllocationError> {
    let rounding = request.rounding;
    for (what, total) in [
        ("common costs", request.common_total),
        ("specific costs", request.specific_total),
    ] {
        if total.is_negative() {
            return Err(AllocationError::Negative {
                what: what.to_owned(),
            });
        }
    }
    let mut members: Vec<&MemberKey> = request.members.iter().collect();
    members.sort_by_key(|member| member.municipality);
    for pair in members.windows(2) {
        if pair[0].municipality == pair[1].municipality {
            return Err(AllocationError::DuplicateMember(pair[0].municipality));
        }
    }
    let months: Vec<_> = members
        .iter()
        .map(|member| member.membership.months_in(request.year))
        .collect();
    if months.iter().all(|paid| paid.count() == 0) {
        return Err(AllocationError::NoMembers { year: request.year });
    }
    let common = share_category(
        rounding,
        &members,
        &months,
        request.common_total,
        request.common_split,
    )?;
    let specific = share_category(
        rounding,
        &members,
        &months,
        request.specific_total,
        request.specific_split,
    )?;
    let total = request
        .common_total
        .checked_add(request.specific_total)
        .map_err(|_| AllocationError::Overflow)?;
    let mut shares = Vec::with_capacity(members.len());
    for (index, member) in members.iter().enumerate() {
        let units = common[index]
            .checked_add(specific[index])
            .ok_or(AllocationError::Overflow)?;
        let amount = rounding.to_money(units)?;
        let instalments = monthly_instalments(units, months[index])?;
        let mut instalment_money = [Money::ZERO; 12];
        for (slot, units) in instalment_money.iter_mut().zip(instalments) {
            *slot = rounding.to_money(units)?;
        }
        shares.push(MemberShare {
            municipality: member.municipality,
            months: months[index].count(),
            common: rounding.to_money(common[index])?,
            specific: rounding.to_money(specific[index])?,
            amount,
            share_millionths: share_millionths(amount, total),
            instalments: instalment_money,
        });
    }
    Ok(Allocation { total, shares })
}

/// Shares one category's total by its split; returns units per member (in `members` order).
fn share_category(
    rounding: Rounding,
    members: &[&MemberKey],
    months: &[super::MemberMonths],
    total: Money,
    split: &Split,
) -> Result<Vec<i64>, AllocationError> {
    let mut per_member = vec![0i64; members.len()];
    let total_units = rounding.to_units(total)?;
    if total_units == 0 {
        return Ok(per_member);
    }
    let basis_weights: Vec<u128> = split
        .parts()
        .iter()
        .map(|(_, weight)| u128::from(*weight))
        .collect();
    let parts = largest_remainder(total_units, &basis_weights)?;
    for ((basis, _), part) in split.parts().iter().zip(parts) {
        if part == 0 {
            continue;
        }
        let weights = weights_by_key(members, months, *basis)?;
        let shares = largest_remainder(part, &weights).map_err(|error| match error {
            AllocationError::NothingToShareBy => AllocationError::KeyTotalZero { basis: *basis },
            other => other,
        })?;
        for (slot, share) in per_member.iter_mut().zip(shares) {
            *slot = slot.checked_add(share).ok_or(AllocationError::Overflow)?;
        }
    }
    Ok(per_member)
}

/// Each member's weight for `basis`: its key value × the months it pays for. A member paying
/// for no month weighs nothing and needs no value.
pub(crate) fn weights_by_key(
    members: &[&MemberKey],
    months: &[super::MemberMonths],
    basis: KeyBasis,
) -> Result<Vec<u128>, AllocationError> {
    members
        .iter()
        .zip(months)
        .map(|(member, paid)| {
            if paid.count() == 0 {
                return Ok(0);
            }
            let value = member
                .values
                .get(basis)
                .ok_or(AllocationError::KeyMissing {
                    municipality: member.municipality,
                    basis,
                })?;
            Ok(u128::from(value) * u128::from(paid.count()))
        })
        .collect()
}

/// `amount / total` in millionths (123456 is 12.3456 %), rounded half away from zero, from
/// integers; 0 when the total is 0. For display only.
pub fn share_millionths(amount: Money, total: Money) -> u32 {
    if total.as_ore() == 0 {
        return 0;
    }
    let numerator = i128::from(amount.as_ore()).unsigned_abs() * 1_000_000;
    let denominator = i128::from(total.as_ore()).unsigned_abs();
    let rounded = (numerator * 2 + denominator) / (denominator * 2);
    u32::try_from(rounded).unwrap_or(u32::MAX)
}

/// Millionths as a percentage with four decimals: `12.3456`.
pub fn format_share_percent(millionths: u32) -> String {
    format!("{}.{:04}", millionths / 10_000, millionths % 10_000)
}

/// An amount as the allocation files write it: whole kronor (`185494`) with krona rounding,
/// kronor with two decimals (`185493.53`) with öre rounding. From integers only.
pub fn format_amount(amount: Money, rounding: Rounding) -> String {
    match rounding {
        Rounding::Krona if amount.as_ore() % 100 == 0 => (amount.as_ore() / 100).to_string(),
        _ => amount.to_decimal_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::calendar::Membership;
    use proptest::prelude::*;

    fn code(text: &str) -> MunicipalityCode {
        MunicipalityCode::parse(text).unwrap()
    }

    fn member(text: &str, population: u64) -> MemberKey {
        MemberKey {
            municipality: code(text),
            name: format!("M{text}"),
            membership: Membership::ALWAYS,
            values: KeyValues {
                population_0_17: Some(population),
                tax_base_ore: Some(population * 1_000),
                use_value: Some(population % 7),
            },
        }
    }

    fn by_population(members: &[MemberKey], total: Money, rounding: Rounding) -> Allocation {
        let split = Split::single(KeyBasis::Population0To17);
        allocate(&AllocationRequest {
            year: 2026,
            rounding,
            members,
            common_total: total,
            common_split: &split,
            specific_total: Money::ZERO,
            specific_split: &split,
        })
        .unwrap()
    }

    #[test]
    fn splits_are_checked() {
        assert_eq!(Split::new(vec![]), Err(SplitError::Empty));
        assert_eq!(
            Split::new(vec![(KeyBasis::Use, 5000)]),
            Err(SplitError::NotWhole(5000))
        );
        assert_eq!(
            Split::new(vec![(KeyBasis::Use, 5000), (KeyBasis::Use, 5000)]),
            Err(SplitError::Duplicate(KeyBasis::Use))
        );
        assert_eq!(
            Split::new(vec![(KeyBasis::Use, 10000), (KeyBasis::TaxBase, 0)]),
            Err(SplitError::ZeroWeight)
        );
        assert!(
            Split::new(vec![
                (KeyBasis::Population0To17, 6000),
                (KeyBasis::Use, 4000)
            ])
            .is_ok()
        );
    }

    #[test]
    fn a_split_shares_common_costs_by_population_and_specific_costs_by_use() {
        let members = [member("2080", 300), member("2081", 100)];
        let mut members = members.to_vec();
        members[0].values.use_value = Some(1);
        members[1].values.use_value = Some(3);
        let common = Split::single(KeyBasis::Population0To17);
        let specific = Split::single(KeyBasis::Use);
        let result = allocate(&AllocationRequest {
            year: 2026,
            rounding: Rounding::Krona,
            members: &members,
            common_total: Money::from_kronor(1000).unwrap(),
            common_split: &common,
            specific_total: Money::from_kronor(400).unwrap(),
            specific_split: &specific,
        })
        .unwrap();
        let amounts: Vec<i64> = result
            .shares
            .iter()
            .map(|s| s.amount.as_ore() / 100)
            .collect();
        assert_eq!(amounts, [750 + 100, 250 + 300]);
        assert_eq!(result.shares[0].common.as_ore(), 75_000);
        assert_eq!(result.shares[1].specific.as_ore(), 30_000);
        // A split within one category: 60 % by population, 40 % by use.
        let mixed = Split::new(vec![
            (KeyBasis::Population0To17, 6000),
            (KeyBasis::Use, 4000),
        ])
        .unwrap();
        let result = allocate(&AllocationRequest {
            year: 2026,
            rounding: Rounding::Krona,
            members: &members,
            common_total: Money::from_kronor(1000).unwrap(),
            common_split: &mixed,
            specific_total: Money::ZERO,
            specific_split: &specific,
        })
        .unwrap();
        let amounts: Vec<i64> = result
            .shares
            .iter()
            .map(|s| s.amount.as_ore() / 100)
            .collect();
        assert_eq!(amounts, [450 + 100, 150 + 300]);
    }

    #[test]
    fn a_member_joining_in_july_pays_half_its_weight() {
        let mut members = vec![member("2080", 100), member("2081", 100)];
        members[1].membership = Membership {
            from: Some("2026-07-01".parse().unwrap()),
            to: None,
        };
        let result = by_population(&members, Money::from_kronor(300).unwrap(), Rounding::Krona);
        assert_eq!(result.shares[0].amount.as_ore(), 20_000);
        assert_eq!(result.shares[1].amount.as_ore(), 10_000);
        assert_eq!(result.shares[1].months, 6);
        assert_eq!(result.shares[1].instalments[0], Money::ZERO);
        assert_eq!(
            result.shares[1].instalments[6..]
                .iter()
                .map(|m| m.as_ore())
                .sum::<i64>(),
            10_000
        );
    }

    #[test]
    fn refusals_name_what_to_fix() {
        let mut members = vec![member("2080", 100), member("2081", 100)];
        members[1].values.population_0_17 = None;
        let split = Split::single(KeyBasis::Population0To17);
        let request = AllocationRequest {
            year: 2026,
            rounding: Rounding::Krona,
            members: &members,
            common_total: Money::from_kronor(300).unwrap(),
            common_split: &split,
            specific_total: Money::ZERO,
            specific_split: &split,
        };
        assert_eq!(
            allocate(&request),
            Err(AllocationError::KeyMissing {
                municipality: code("2081"),
                basis: KeyBasis::Population0To17
            })
        );
        let members = vec![member("2080", 0)];
        assert_eq!(
            allocate(&AllocationRequest {
                members: &members,
                ..request.clone()
            }),
            Err(AllocationError::KeyTotalZero {
                basis: KeyBasis::Population0To17
            })
        );
        let members = vec![member("2080", 1)];
        assert!(matches!(
            allocate(&AllocationRequest {
                members: &members,
                common_total: Money::from_ore(150),
                ..request.clone()
            }),
            Err(AllocationError::NotWholeKronor { .. })
        ));
        let members = vec![member("2080", 1), member("2080", 2)];
        assert_eq!(
            allocate(&AllocationRequest {
                members: &members,
                ..request.clone()
            }),
            Err(AllocationError::DuplicateMember(code("2080")))
        );
    }

    #[test]
    fn display_helpers_use_integers() {
        assert_eq!(
            share_millionths(Money::from_ore(1), Money::from_ore(3)),
            333_333
        );
        assert_eq!(
            share_millionths(Money::from_ore(2), Money::from_ore(3)),
            666_667
        );
        assert_eq!(format_share_percent(123_456), "12.3456");
        assert_eq!(format_share_percent(1_000_000), "100.0000");
        assert_eq!(format_share_percent(5), "0.0005");
        assert_eq!(
            format_amount(Money::from_ore(18_549_353), Rounding::Ore),
            "185493.53"
        );
        assert_eq!(
            format_amount(Money::from_ore(18_549_300), Rounding::Krona),
            "185493"
        );
        assert_eq!(format_amount(Money::from_ore(-500), Rounding::Krona), "-5");
    }

    fn arbitrary_members() -> impl Strategy<Value = Vec<MemberKey>> {
        prop::collection::btree_map(
            0u16..100,
            (0u64..5_000_000, 0u64..2_000_000_000_000_000),
            1..15,
        )
        .prop_map(|entries| {
            entries
                .into_iter()
                .map(|(local, (population, tax_base))| MemberKey {
                    municipality: code(&format!("20{local:02}")),
                    name: format!("M{local}"),
                    membership: Membership::ALWAYS,
                    values: KeyValues {
                        population_0_17: Some(population),
                        tax_base_ore: Some(tax_base),
                        use_value: None,
                    },
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn shares_sum_to_the_total_are_close_and_a_larger_key_never_pays_less(
            members in arbitrary_members(),
            total_units in 0i64..100_000_000_000,
            ore in any::<bool>(),
            by_tax_base in any::<bool>(),
        ) {
            let basis = if by_tax_base { KeyBasis::TaxBase } else { KeyBasis::Population0To17 };
            let rounding = if ore { Rounding::Ore } else { Rounding::Krona };
            let key_sum: u128 = members.iter().map(|m| u128::from(m.values.get(basis).unwrap())).sum();
            prop_assume!(key_sum > 0);
            let total = rounding.to_money(total_units).unwrap();
            let split = Split::single(basis);
            let result = allocate(&AllocationRequest {
                year: 2026, rounding, members: &members,
                common_total: total, common_split: &split,
                specific_total: Money::ZERO, specific_split: &split,
            }).unwrap();
            let sum: i64 = result.shares.iter().map(|s| s.amount.as_ore()).sum();
            prop_assert_eq!(sum, total.as_ore());
            let unit = rounding.unit_ore();
            let mut sorted = members.clone();
            sorted.sort_by_key(|m| m.municipality);
            for (share, member) in result.shares.iter().zip(&sorted) {
                prop_assert_eq!(share.municipality, member.municipality);
                // Within one unit of total × key / Σkey.
                let key = u128::from(member.values.get(basis).unwrap());
                let exact_times_sum = (total.as_ore() as u128) * key;
                let share_times_sum = (share.amount.as_ore() as u128) * key_sum;
                prop_assert!(share_times_sum.abs_diff(exact_times_sum) < (unit as u128) * key_sum);
                let instalments: i64 = share.instalments.iter().map(|m| m.as_ore()).sum();
                prop_assert_eq!(instalments, share.amount.as_ore());
            }
            for (a, ma) in result.shares.iter().zip(&sorted) {
                for (b, mb) in result.shares.iter().zip(&sorted) {
                    if ma.values.get(basis) > mb.values.get(basis) {
                        prop_assert!(a.amount >= b.amount);
                    }
                }
            }
        }

        #[test]
        fn months_only_members_pay_in_proportion_to_their_months(
            members in arbitrary_members(),
            joins in prop::collection::vec(proptest::option::of(1u32..=12), 15),
            total_units in 0i64..10_000_000_000,
        ) {
            let mut members = members;
            for (member, join) in members.iter_mut().zip(&joins) {
                member.membership.from = join.map(|month| chrono::NaiveDate::from_ymd_opt(2026, month, 1).unwrap());
            }
            let weights: u128 = members.iter().map(|m| {
                u128::from(m.values.population_0_17.unwrap()) * u128::from(m.membership.months_in(2026).count())
            }).sum();
            prop_assume!(weights > 0);
            let total = Money::from_ore(total_units);
            let result = by_population(&members, total, Rounding::Ore);
            prop_assert_eq!(result.shares.iter().map(|s| s.amount.as_ore()).sum::<i64>(), total.as_ore());
            let mut sorted = members.clone();
            sorted.sort_by_key(|m| m.municipality);
            for (share, member) in result.shares.iter().zip(&sorted) {
                let months = member.membership.months_in(2026);
                prop_assert_eq!(share.months, months.count());
                let exact = (total_units as u128) * u128::from(member.values.population_0_17.unwrap()) * u128::from(months.count());
                prop_assert!(((share.amount.as_ore() as u128) * weights).abs_diff(exact) < weights);
                for (instalment, paid) in share.instalments.iter().zip(months.0) {
                    if !paid { prop_assert_eq!(*instalment, Money::ZERO); }
                }
                prop_assert_eq!(share.instalments.iter().map(|m| m.as_ore()).sum::<i64>(), share.amount.as_ore());
            }
        }

        #[test]
        fn a_split_adds_up_to_both_totals(
            members in arbitrary_members(),
            common in 0i64..1_000_000_000,
            specific in 0i64..1_000_000_000,
            population_points in 1u32..10_000,
        ) {
            let members: Vec<MemberKey> = members.into_iter().map(|mut m| {
                m.values.use_value = Some(m.values.population_0_17.unwrap() % 13 + 1);
                m
            }).collect();
            prop_assume!(members.iter().any(|m| m.values.population_0_17 > Some(0)));
            let common_split = Split::new(vec![(KeyBasis::Population0To17, population_points), (KeyBasis::Use, 10_000 - population_points)]).unwrap();
            let specific_split = Split::single(KeyBasis::Use);
            let result = allocate(&AllocationRequest {
                year: 2026, rounding: Rounding::Ore, members: &members,
                common_total: Money::from_ore(common), common_split: &common_split,
                specific_total: Money::from_ore(specific), specific_split: &specific_split,
            }).unwrap();
            prop_assert_eq!(result.shares.iter().map(|s| s.common.as_ore()).sum::<i64>(), common);
            prop_assert_eq!(result.shares.iter().map(|s| s.specific.as_ore()).sum::<i64>(), specific);
            prop_assert_eq!(result.total.as_ore(), common + specific);
        }
    }
}
