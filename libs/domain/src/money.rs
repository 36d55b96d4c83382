//! Money as a whole number of öre. Fees, invoices and the cost allocation must add up to the
//! öre, so no float ever holds an amount.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of Swedish money in öre (1 krona = 100 öre); may be negative (credits, corrections).
///
/// Arithmetic is checked: an overflow is an error, never a wrap-around or a panic.
///
/// `Display` writes kronor with two decimals and the currency code, `1234.56 SEK` (and
/// `-0.50 SEK`): unambiguous in logs and CLI output whatever the reader's locale, unlike
/// `1 234,56 kr`. Files that want the bare number use [`Money::to_decimal_string`].
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(i64);

/// Why an amount could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The result does not fit in 64-bit öre (about ±92 233 billion kronor).
    #[error("amount out of range: {operation} overflows 64-bit öre")]
    Overflow {
        /// What was being computed, e.g. `"addition"`.
        operation: &'static str,
    },
}

impl Money {
    /// Nothing.
    pub const ZERO: Money = Money(0);

    /// An amount in öre. Every `i64` is a valid amount, so this cannot fail.
    pub const fn from_ore(ore: i64) -> Self {
        Self(ore)
    }

    /// An amount in whole kronor; refuses amounts that overflow when counted in öre.
    pub fn from_kronor(kronor: i64) -> Result<Self, MoneyError> {
        kronor
            .checked_mul(100)
            .map(Self)
            .ok_or(MoneyError::Overflow {
                operation: "conversion from kronor",
            })
    }

    /// The amount in öre, for storage and the wire (protos carry `int64` öre).
    pub const fn as_ore(self) -> i64 {
        self.0
    }

    /// `self + other`, or an error instead of overflowing.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Self)
            .ok_or(MoneyError::Overflow {
                operation: "addition",
            })
    }

    /// `self - other`, or an error instead of overflowing.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Self)
            .ok_or(MoneyError::Overflow {
                operation: "subtraction",
            })
    }

    /// Whether the amount is below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Kronor with exactly two decimals and no unit, `185493.53` or `-0.50`: the format of the
    /// allocation files, written from integers so that no float rounds anything.
    pub fn to_decimal_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        // `unsigned_abs` because `i64::MIN.abs()` overflows.
        let magnitude = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} SEK", self.to_decimal_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn displays_kronor_with_two_decimals() {
        assert_eq!(Money::from_ore(123_456).to_string(), "1234.56 SEK");
        assert_eq!(Money::from_ore(5).to_string(), "0.05 SEK");
        assert_eq!(Money::from_ore(-50).to_string(), "-0.50 SEK");
        assert_eq!(Money::ZERO.to_string(), "0.00 SEK");
        assert_eq!(Money::from_ore(18_549_353).to_decimal_string(), "185493.53");
        assert_eq!(
            Money::from_ore(i64::MIN).to_decimal_string(),
            "-92233720368547758.08"
        );
    }

    #[test]
    fn from_kronor_counts_in_ore() {
        assert_eq!(Money::from_kronor(12).unwrap().as_ore(), 1200);
        assert_eq!(Money::from_kronor(-3).unwrap().as_ore(), -300);
        assert!(matches!(
            Money::from_kronor(i64::MAX / 10),
            Err(MoneyError::Overflow { .. })
        ));
    }

    #[test]
    fn arithmetic_is_checked() {
        let a = Money::from_ore(150);
        let b = Money::from_ore(275);
        assert_eq!(a.checked_add(b).unwrap(), Money::from_ore(425));
        assert_eq!(a.checked_sub(b).unwrap(), Money::from_ore(-125));
        assert!(a.checked_sub(b).unwrap().is_negative());
        let error = Money::from_ore(i64::MAX)
            .checked_add(Money::from_ore(1))
            .unwrap_err();
        assert!(error.to_string().contains("addition"), "{error}");
        assert!(
            Money::from_ore(i64::MIN)
                .checked_sub(Money::from_ore(1))
                .is_err()
        );
    }

    #[test]
    fn serde_is_plain_ore() {
        assert_eq!(
            serde_json::to_string(&Money::from_ore(123_456)).unwrap(),
            "123456"
        );
        let money: Money = serde_json::from_str("-42").unwrap();
        assert_eq!(money, Money::from_ore(-42));
    }

    proptest! {
        #[test]
        fn add_then_sub_is_identity(a in -1_000_000_000_000i64..1_000_000_000_000, b in -1_000_000_000_000i64..1_000_000_000_000) {
            let (a, b) = (Money::from_ore(a), Money::from_ore(b));
            prop_assert_eq!(a.checked_add(b).unwrap().checked_sub(b).unwrap(), a);
        }

        #[test]
        fn decimal_string_is_exact(ore in any::<i64>()) {
            // Parsing the text back with integers gives the same öre: nothing was rounded.
            let text = Money::from_ore(ore).to_decimal_string();
            let (negative, digits) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text.as_str()),
            };
            let (kronor, ore_part) = digits.split_once('.').unwrap();
            prop_assert_eq!(ore_part.len(), 2);
            let magnitude = kronor.parse::<i128>().unwrap() * 100 + ore_part.parse::<i128>().unwrap();
            let value = if negative { -magnitude } else { magnitude };
            prop_assert_eq!(value, i128::from(ore));
        }

        #[test]
        fn checked_add_agrees_with_wide_arithmetic(a in any::<i64>(), b in any::<i64>()) {
            let wide = i128::from(a) + i128::from(b);
            let checked = Money::from_ore(a).checked_add(Money::from_ore(b));
            match i64::try_from(wide) {
                Ok(sum) => prop_assert_eq!(checked, Ok(Money::from_ore(sum))),
                Err(_) => prop_assert!(checked.is_err()),
            }
        }
    }
}
