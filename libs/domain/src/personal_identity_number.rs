//! Swedish personal identity numbers (personnummer) and coordination numbers (samordningsnummer).
//!
//! Hand-written rather than the `personnummer` crate: the rules are a date and a Luhn digit
//! (a few lines), while that crate pulls in `regex` and `lazy_static`, accepts the ambiguous
//! ten-digit form, reads the system clock for ages and has no redaction.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

/// A valid personal identity number or coordination number, stored as its 12 digits
/// `YYYYMMDDNNNC`.
///
/// Personal data: `Debug` and `Display` are redacted and the type has no `Serialize`, so it
/// cannot reach a log line, an error message or a JSON body by accident. The few places that
/// need the digits (encryption at rest, the blind index) call [`expose`](Self::expose).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PersonalIdentityNumber {
    digits: String,
    birth_date: NaiveDate,
    coordination: bool,
}

/// Why a personal identity number was refused. Messages never repeat the number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonalIdentityNumberError {
    /// Ten digits: the century is missing.
    #[error(
        "personal identity number must include the century: write 12 digits, YYYYMMDDNNNC or YYYYMMDD-NNNC"
    )]
    MissingCentury,
    /// Anything else that is not `YYYYMMDDNNNC` or `YYYYMMDD-NNNC`.
    #[error("personal identity number must be 12 digits, YYYYMMDDNNNC or YYYYMMDD-NNNC")]
    Format,
    /// The first eight digits are not a date (after removing 60 from a coordination number's day).
    #[error("personal identity number's date of birth is not a valid date")]
    InvalidDate,
    /// Birth number `000`, which is never issued.
    #[error("personal identity number's birth number (digits 9-11) cannot be 000")]
    ZeroBirthNumber,
    /// The last digit does not match the Luhn check over the ten digits `YYMMDDNNNC`.
    #[error("personal identity number's check digit is wrong")]
    CheckDigit,
}

/// Coordination numbers add this to the day of birth.
const COORDINATION_DAY_OFFSET: u32 = 60;

impl PersonalIdentityNumber {
    /// Parses `YYYYMMDDNNNC` or `YYYYMMDD-NNNC` (surrounding whitespace ignored): a valid date
    /// (day + 60 for a coordination number), a birth number other than 000 and a matching Luhn
    /// check digit over the last ten digits.
    pub fn parse(value: &str) -> Result<Self, PersonalIdentityNumberError> {
        let value = value.trim();
        let digits: String = match value.len() {
            12 => value.to_owned(),
            13 if value.as_bytes()[8] == b'-' => {
                let mut joined = String::with_capacity(12);
                joined.push_str(&value[..8]);
                joined.push_str(&value[9..]);
                joined
            }
            10 | 11 if value.bytes().filter(u8::is_ascii_digit).count() == 10 => {
                return Err(PersonalIdentityNumberError::MissingCentury);
            }
            _ => return Err(PersonalIdentityNumberError::Format),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PersonalIdentityNumberError::Format);
        }
        let number = |range: std::ops::Range<usize>| -> u32 {
            digits.as_bytes()[range]
                .iter()
                .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
        };
        let (year, month, day) = (number(0..4), number(4..6), number(6..8));
        let (birth_day, coordination) = if day > COORDINATION_DAY_OFFSET {
            (day - COORDINATION_DAY_OFFSET, true)
        } else {
            (day, false)
        };
        let birth_date = i32::try_from(year)
            .ok()
            .and_then(|year| NaiveDate::from_ymd_opt(year, month, birth_day))
            .ok_or(PersonalIdentityNumberError::InvalidDate)?;
        if number(8..11) == 0 {
            return Err(PersonalIdentityNumberError::ZeroBirthNumber);
        }
        if luhn_check_digit(&digits.as_bytes()[2..11]) != digits.as_bytes()[11] - b'0' {
            return Err(PersonalIdentityNumberError::CheckDigit);
        }
        Ok(Self {
            digits,
            birth_date,
            coordination,
        })
    }

    /// Builds the number for a date of birth and birth number (1..=999), computing the check
    /// digit. For synthetic test and demo people; real numbers come through [`parse`](Self::parse).
    pub fn from_parts(
        birth_date: NaiveDate,
        birth_number: u16,
        coordination: bool,
    ) -> Result<Self, PersonalIdentityNumberError> {
        if birth_number == 0 {
            return Err(PersonalIdentityNumberError::ZeroBirthNumber);
        }
        if birth_number > 999 || !(0..=9999).contains(&birth_date.year()) {
            return Err(PersonalIdentityNumberError::Format);
        }
        let day = birth_date.day()
            + if coordination {
                COORDINATION_DAY_OFFSET
            } else {
                0
            };
        let without_check = format!(
            "{:04}{:02}{:02}{:03}",
            birth_date.year(),
            birth_date.month(),
            day,
            birth_number
        );
        let check = luhn_check_digit(&without_check.as_bytes()[2..11]);
        Self::parse(&format!("{without_check}{check}"))
    }

    /// The 12 digits `YYYYMMDDNNNC`. Only for the places allowed to handle the number itself:
    /// encryption at rest and the blind index. Never log or display the result.
    pub fn expose(&self) -> &str {
        &self.digits
    }

    /// The date of birth (for a coordination number, the day without the added 60). Personal
    /// data too: used to compute ages.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Whether this is a coordination number (samordningsnummer) rather than a personnummer:
    /// such people may lack a registered address, which matters to assessment.
    pub fn is_coordination_number(&self) -> bool {
        self.coordination
    }
}

/// The Luhn check digit over ASCII digits (weights 2, 1, 2, … from the left, as Skatteverket
/// applies it to `YYMMDDNNN`).
fn luhn_check_digit(ascii_digits: &[u8]) -> u8 {
    let sum: u32 = ascii_digits
        .iter()
        .enumerate()
        .map(|(index, digit)| {
            let value = u32::from(digit - b'0') * if index % 2 == 0 { 2 } else { 1 };
            if value > 9 { value - 9 } else { value }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

impl fmt::Debug for PersonalIdentityNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonalIdentityNumber(<redacted>)")
    }
}

impl fmt::Display for PersonalIdentityNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********-****")
    }
}

impl FromStr for PersonalIdentityNumber {
    type Err = PersonalIdentityNumberError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl TryFrom<&str> for PersonalIdentityNumber {
    type Error = PersonalIdentityNumberError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl TryFrom<String> for PersonalIdentityNumber {
    type Error = PersonalIdentityNumberError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn accepts_known_valid_numbers_in_both_forms() {
        // Skatteverket's published test number 19121212-1212.
        let number = PersonalIdentityNumber::parse("19121212-1212").unwrap();
        assert_eq!(number.expose(), "191212121212");
        assert_eq!(number.birth_date(), date(1912, 12, 12));
        assert!(!number.is_coordination_number());
        assert_eq!(
            PersonalIdentityNumber::parse("191212121212").unwrap(),
            number
        );
        assert_eq!(
            PersonalIdentityNumber::parse("  191212121212\n").unwrap(),
            number
        );
    }

    #[test]
    fn accepts_and_flags_coordination_numbers() {
        // Day 12 + 60 = 72.
        let number = PersonalIdentityNumber::from_parts(date(1990, 1, 12), 239, true).unwrap();
        assert!(number.expose().starts_with("19900172239"));
        assert!(number.is_coordination_number());
        assert_eq!(number.birth_date(), date(1990, 1, 12));
        let reparsed = PersonalIdentityNumber::parse(number.expose()).unwrap();
        assert!(reparsed.is_coordination_number());
    }

    #[test]
    fn refuses_wrong_check_digit() {
        assert_eq!(
            PersonalIdentityNumber::parse("191212121213"),
            Err(PersonalIdentityNumberError::CheckDigit)
        );
    }

    #[test]
    fn refuses_bad_dates() {
        for bad in [
            "19121312-1212", // month 13
            "19120230-1212", // 30 February
            "19120100-1212", // day 0
            "19120145-1212", // day 45: neither a day nor a coordination day
            "19120192-1212", // coordination day 32
            "19230229-1212", // not a leap year
        ] {
            assert_eq!(
                PersonalIdentityNumber::parse(bad),
                Err(PersonalIdentityNumberError::InvalidDate),
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_bad_shapes() {
        assert_eq!(
            PersonalIdentityNumber::parse("121212-1212"),
            Err(PersonalIdentityNumberError::MissingCentury)
        );
        assert_eq!(
            PersonalIdentityNumber::parse("1212121212"),
            Err(PersonalIdentityNumberError::MissingCentury)
        );
        for bad in [
            "",
            "19121212+1212",
            "1912121-21212",
            "19121212_1212",
            "1912121212123",
            "19121212-121",
            "19121212-12a2",
            "19121212--1212",
            "١٩١٢١٢١٢١٢١٢",
        ] {
            assert_eq!(
                PersonalIdentityNumber::parse(bad),
                Err(PersonalIdentityNumberError::Format),
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_birth_number_zero() {
        assert_eq!(
            PersonalIdentityNumber::from_parts(date(2001, 5, 5), 0, false),
            Err(PersonalIdentityNumberError::ZeroBirthNumber)
        );
        // A correct Luhn digit does not make birth number 000 valid.
        let check = luhn_check_digit(b"010505000");
        assert_eq!(
            PersonalIdentityNumber::parse(&format!("20010505000{check}")),
            Err(PersonalIdentityNumberError::ZeroBirthNumber)
        );
    }

    #[test]
    fn debug_and_display_are_redacted() {
        let number = PersonalIdentityNumber::parse("19121212-1212").unwrap();
        assert_eq!(format!("{number:?}"), "PersonalIdentityNumber(<redacted>)");
        assert_eq!(number.to_string(), "********-****");
        assert!(!format!("{:?}", Some(&number)).contains("1212"));
    }

    #[test]
    fn errors_never_repeat_the_number() {
        for bad in [
            "19121212-1213",
            "19121312-1212",
            "121212-1212",
            "x19121212-1212",
        ] {
            let message = PersonalIdentityNumber::parse(bad).unwrap_err().to_string();
            assert!(!message.contains("1212"), "{message}");
        }
    }

    fn any_birth_date() -> impl Strategy<Value = NaiveDate> {
        (1900i32..=2030, 1u32..=12, 1u32..=31)
            .prop_filter_map("a real date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
    }

    proptest! {
        #[test]
        fn generated_numbers_parse_in_both_forms(
            birth_date in any_birth_date(),
            birth_number in 1u16..=999,
            coordination in any::<bool>(),
        ) {
            let number = PersonalIdentityNumber::from_parts(birth_date, birth_number, coordination).unwrap();
            let digits = number.expose().to_owned();
            let dashed = format!("{}-{}", &digits[..8], &digits[8..]);
            let reparsed = PersonalIdentityNumber::parse(&dashed).unwrap();
            prop_assert_eq!(reparsed.birth_date(), birth_date);
            prop_assert_eq!(reparsed.is_coordination_number(), coordination);
            prop_assert_eq!(reparsed, number);
        }

        #[test]
        fn any_other_check_digit_is_refused(
            birth_date in any_birth_date(),
            birth_number in 1u16..=999,
            shift in 1u8..=9,
        ) {
            let number = PersonalIdentityNumber::from_parts(birth_date, birth_number, false).unwrap();
            let digits = number.expose();
            let wrong = (digits.as_bytes()[11] - b'0' + shift) % 10;
            let tampered = format!("{}{}", &digits[..11], wrong);
            prop_assert_eq!(
                PersonalIdentityNumber::parse(&tampered),
                Err(PersonalIdentityNumberError::CheckDigit)
            );
        }

        #[test]
        fn changing_one_birth_number_digit_is_caught(
            birth_date in any_birth_date(),
            birth_number in 1u16..=999,
            position in 8usize..11,
            shift in 1u8..=9,
        ) {
            // Luhn catches every single-digit error.
            let number = PersonalIdentityNumber::from_parts(birth_date, birth_number, false).unwrap();
            let mut bytes = number.expose().as_bytes().to_vec();
            bytes[position] = b'0' + (bytes[position] - b'0' + shift) % 10;
            let tampered = String::from_utf8(bytes).unwrap();
            prop_assert!(PersonalIdentityNumber::parse(&tampered).is_err());
        }
    }
}
