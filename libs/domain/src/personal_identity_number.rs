//! Swedish personal identity numbers (personnummer) and coordination numbers (samordningsnummer).
//!
//! People and municipal systems write a number in six forms, all accepted by
//! [`PersonalIdentityNumber::parse_on`], the one rule for every entry point:
//!
//! | form            | century                                                         |
//! |-----------------|-----------------------------------------------------------------|
//! | `YYYYMMDDNNNC`  | written                                                         |
//! | `YYYYMMDD-NNNC` | written                                                         |
//! | `YYYYMMDD+NNNC` | written; the `+` must agree with it (see below)                 |
//! | `YYMMDD-NNNC`, `YYMMDDNNNC` | the person is under 100 on the day of parsing       |
//! | `YYMMDD+NNNC`   | the person turns 100 this calendar year or has already          |
//!
//! The century of a ten-digit form follows the Swedish Tax Agency (Skatteverket): the dash
//! between date and birth number becomes a plus *in the year* the person turns 100
//! (folkbokföringslagen 18 § second paragraph). So with `-` or no separator the person is
//! under 100 on `today` (the latest century that puts the birth on or before today), and with
//! `+` the birth year is the latest one ending in `YY` that is at most `today`'s year − 100. A
//! `+` for someone who turns 100 after this year is a contradiction and refused in the
//! twelve-digit form too; a twelve-digit `-` for someone over 100 is accepted, as most systems
//! write twelve digits with a dash whatever the age. A birth date after `today` is refused.
//! What is stored and exposed is always the twelve digits `YYYYMMDDNNNC`.
//!
//! Hand-written rather than the `personnummer` crate: the rules are a date, a century and a
//! Luhn digit (a few lines), while that crate pulls in `regex` and `lazy_static`, reads the
//! system clock for the century and ages and has no redaction.

use std::fmt;

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

/// The accepted forms, named by the messages that refuse the others.
const ACCEPTED_FORMS: &str = "write YYYYMMDD-NNNC, YYYYMMDDNNNC, YYMMDD-NNNC or YYMMDDNNNC \
     (+ instead of - from the year the person turns 100)";

/// Why a personal identity number was refused. Messages never repeat the number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonalIdentityNumberError {
    /// Not 10 or 12 digits.
    #[error("personal identity number must be 10 or 12 digits: {}", ACCEPTED_FORMS)]
    Format,
    /// 10 or 12 digits with something other than one `-` or `+` right before the last four: a
    /// space, `/`, `.`, `_`, two separators or one in the wrong place.
    #[error(
        "personal identity number may only have one - or + between the date of birth and the last four digits: {}",
        ACCEPTED_FORMS
    )]
    Separator,
    /// The date of birth is not a date (after removing 60 from a coordination number's day),
    /// or not one in the century that the form gives (29 February 1900).
    #[error("personal identity number's date of birth is not a valid date")]
    InvalidDate,
    /// Birth number `000`, which is never issued.
    #[error("personal identity number's birth number (digits 9-11) cannot be 000")]
    ZeroBirthNumber,
    /// The last digit does not match the Luhn check over the ten digits `YYMMDDNNNC`.
    #[error("personal identity number's check digit is wrong")]
    CheckDigit,
    /// `YYYYMMDD+NNNC` for someone who turns 100 after this year: the `+` contradicts the date.
    #[error(
        "personal identity number has a + (100 years or older) but a date of birth less than 100 years ago: write - instead"
    )]
    PlusUnderHundred,
    /// A twelve-digit form whose date of birth is after today.
    #[error("personal identity number's date of birth is after today")]
    BornAfterToday,
}

/// Coordination numbers add this to the day of birth.
const COORDINATION_DAY_OFFSET: u32 = 60;

/// What the text says, before any date is checked.
struct Written {
    /// The ten digits `YYMMDDNNNC`, as numbers 0..=9.
    ten: [u8; 10],
    /// The two century digits, when written.
    century: Option<u32>,
    /// Whether the separator is `+`.
    plus: bool,
}

impl Written {
    /// The shape alone: 10 or 12 ASCII digits, with at most one `-` or `+` right before the
    /// last four.
    fn read(text: &str) -> Result<Self, PersonalIdentityNumberError> {
        let bytes = text.as_bytes();
        let digits: Vec<u8> = bytes
            .iter()
            .filter(|byte| byte.is_ascii_digit())
            .map(|byte| byte - b'0')
            .collect();
        if digits.len() != 10 && digits.len() != 12 {
            return Err(PersonalIdentityNumberError::Format);
        }
        let separator_at = digits.len() - 4;
        let plus = match bytes.len() - digits.len() {
            0 => false,
            1 if bytes[separator_at] == b'-' => false,
            1 if bytes[separator_at] == b'+' => true,
            _ => return Err(PersonalIdentityNumberError::Separator),
        };
        let (century, ten) = digits.split_at(digits.len() - 10);
        Ok(Self {
            ten: ten
                .try_into()
                .map_err(|_| PersonalIdentityNumberError::Format)?,
            century: (!century.is_empty()).then(|| two_digits(century)),
            plus,
        })
    }
}

impl PersonalIdentityNumber {
    /// Parses any accepted form (`YYYYMMDDNNNC`, `YYYYMMDD-NNNC`, `YYYYMMDD+NNNC`,
    /// `YYMMDD-NNNC`, `YYMMDDNNNC`, `YYMMDD+NNNC`; surrounding whitespace ignored) as of
    /// `today`, the caller's date from its injected clock, which gives the century of a
    /// ten-digit form: with `-` or none the person is under 100 today, with `+` they turn 100
    /// this year or have already (the Tax Agency's rule, detailed in this module's source). Checks a valid date (day + 60 for a coordination number),
    /// a birth number other than 000, a matching Luhn check digit over the last ten digits, a
    /// `+` that agrees with the date and a date of birth on or before `today`.
    pub fn parse_on(value: &str, today: NaiveDate) -> Result<Self, PersonalIdentityNumberError> {
        let written = Written::read(value.trim())?;
        let year_in_century = two_digits(&written.ten[..2]);
        let year = match written.century {
            Some(century) => i64::from(century * 100 + year_in_century),
            None => {
                let (birth_day, _) = split_day(two_digits(&written.ten[4..6]));
                let month = two_digits(&written.ten[2..4]);
                infer_year(year_in_century, (month, birth_day), written.plus, today)
            }
        };
        let number = Self::validate(year, &written.ten)?;
        if written.plus && number.birth_date.year() > today.year() - 100 {
            return Err(PersonalIdentityNumberError::PlusUnderHundred);
        }
        if number.birth_date > today {
            return Err(PersonalIdentityNumberError::BornAfterToday);
        }
        Ok(number)
    }

    /// Builds the number for a date of birth and birth number (1..=999), computing the check
    /// digit. For synthetic test and demo people; real numbers come through
    /// [`parse_on`](Self::parse_on).
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
        let text = format!(
            "{:02}{:02}{:02}{:03}0",
            birth_date.year() % 100,
            birth_date.month(),
            day,
            birth_number
        );
        let mut ten = [0u8; 10];
        for (digit, byte) in ten.iter_mut().zip(text.bytes()) {
            *digit = byte - b'0';
        }
        ten[9] = luhn_check_digit(&ten[..9]);
        Self::validate(i64::from(birth_date.year()), &ten)
    }

    /// The checks that every form shares, once the full year of birth is known; `ten` is
    /// `YYMMDDNNNC`.
    fn validate(year: i64, ten: &[u8; 10]) -> Result<Self, PersonalIdentityNumberError> {
        let (birth_day, coordination) = split_day(two_digits(&ten[4..6]));
        let birth_date = i32::try_from(year)
            .ok()
            .filter(|year| (0..=9999).contains(year))
            .and_then(|year| NaiveDate::from_ymd_opt(year, two_digits(&ten[2..4]), birth_day))
            .ok_or(PersonalIdentityNumberError::InvalidDate)?;
        if ten[6..9] == [0, 0, 0] {
            return Err(PersonalIdentityNumberError::ZeroBirthNumber);
        }
        if luhn_check_digit(&ten[..9]) != ten[9] {
            return Err(PersonalIdentityNumberError::CheckDigit);
        }
        let mut digits = format!("{:02}", year / 100);
        digits.extend(ten.iter().map(|digit| char::from(b'0' + digit)));
        Ok(Self {
            digits,
            birth_date,
            coordination,
        })
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

/// The full year of birth of a ten-digit form written on `today`. `+`: the latest year ending
/// in `year_in_century` that is at most 100 years before this year (the person turns 100 this
/// year or has already). `-` or none: the latest such year that puts `(month, day)` on or
/// before today, so the person is under 100. `day` may be one the year lacks (29 February):
/// the date is checked afterwards.
fn infer_year(year_in_century: u32, (month, day): (u32, u32), plus: bool, today: NaiveDate) -> i64 {
    let latest = i64::from(if plus {
        today.year() - 100
    } else if (month, day) <= (today.month(), today.day()) {
        today.year()
    } else {
        today.year() - 1
    });
    latest - (latest - i64::from(year_in_century)).rem_euclid(100)
}

/// The day of birth and whether the number is a coordination number (day + 60).
fn split_day(day: u32) -> (u32, bool) {
    if day > COORDINATION_DAY_OFFSET {
        (day - COORDINATION_DAY_OFFSET, true)
    } else {
        (day, false)
    }
}

/// Two digits (0..=9 each) as a number.
fn two_digits(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0, |number, digit| number * 10 + u32::from(*digit))
}

/// The Luhn check digit over digits 0..=9 (weights 2, 1, 2, … from the left, as Skatteverket
/// applies it to `YYMMDDNNN`).
fn luhn_check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(index, digit)| {
            let value = u32::from(*digit) * if index % 2 == 0 { 2 } else { 1 };
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A day after every generated or written date of birth in these tests.
    fn today() -> NaiveDate {
        date(2031, 1, 1)
    }

    fn parse(value: &str) -> Result<PersonalIdentityNumber, PersonalIdentityNumberError> {
        PersonalIdentityNumber::parse_on(value, today())
    }

    /// The number written with twelve digits and `separator` ("", "-" or "+") after the date.
    fn long(number: &PersonalIdentityNumber, separator: &str) -> String {
        let digits = number.expose();
        format!("{}{separator}{}", &digits[..8], &digits[8..])
    }

    /// The number written with ten digits and `separator` after the date.
    fn short(number: &PersonalIdentityNumber, separator: &str) -> String {
        let digits = number.expose();
        format!("{}{separator}{}", &digits[2..8], &digits[8..])
    }

    /// Whole years from `born` to `today`, counted as the intake counts them: a birthday is
    /// reached when (month, day) is; someone born on 29 February is a year older on 1 March of
    /// a common year.
    fn age(born: NaiveDate, today: NaiveDate) -> i32 {
        let years = today.year() - born.year();
        if (today.month(), today.day()) < (born.month(), born.day()) {
            years - 1
        } else {
            years
        }
    }

    fn born_on(
        born: NaiveDate,
        text: &str,
        today: NaiveDate,
    ) -> Result<NaiveDate, PersonalIdentityNumberError> {
        PersonalIdentityNumber::parse_on(text, today).map(|number| {
            assert_eq!(
                number.birth_date(),
                born.with_year(number.birth_date().year()).unwrap()
            );
            number.birth_date()
        })
    }

    #[test]
    fn accepts_known_valid_numbers_in_both_forms() {
        // Skatteverket's published test number 19121212-1212.
        let number = parse("19121212-1212").unwrap();
        assert_eq!(number.expose(), "191212121212");
        assert_eq!(number.birth_date(), date(1912, 12, 12));
        assert!(!number.is_coordination_number());
        assert_eq!(parse("191212121212").unwrap(), number);
        assert_eq!(parse("  191212121212\n").unwrap(), number);
    }

    #[test]
    fn accepts_every_written_form_and_stores_twelve_digits() {
        let today = date(2026, 1, 14);
        let on = |text: &str| {
            PersonalIdentityNumber::parse_on(text, today)
                .unwrap()
                .expose()
                .to_owned()
        };
        for text in [
            "191212121212",
            "19121212-1212",
            "19121212+1212",
            "121212+1212",
        ] {
            assert_eq!(on(text), "191212121212", "{text}");
        }
        // Without a plus, the ten digits name someone under 100: born in 2012.
        for text in ["121212-1212", "1212121212", " 121212-1212 "] {
            assert_eq!(on(text), "201212121212", "{text}");
        }
    }

    #[test]
    fn accepts_and_flags_coordination_numbers() {
        // Day 12 + 60 = 72.
        let number = PersonalIdentityNumber::from_parts(date(1990, 1, 12), 239, true).unwrap();
        assert!(number.expose().starts_with("19900172239"));
        assert!(number.is_coordination_number());
        assert_eq!(number.birth_date(), date(1990, 1, 12));
        let reparsed = parse(number.expose()).unwrap();
        assert!(reparsed.is_coordination_number());
        for text in [short(&number, "-"), short(&number, ""), long(&number, "-")] {
            assert_eq!(parse(&text).unwrap(), number, "{text}");
        }
    }

    #[test]
    fn refuses_wrong_check_digit() {
        assert_eq!(
            parse("191212121213"),
            Err(PersonalIdentityNumberError::CheckDigit)
        );
        assert_eq!(
            parse("121212-1213"),
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
            "121312-1212",   // month 13, short
            "19000229-1212", // 1900 was not a leap year
        ] {
            assert_eq!(
                parse(bad),
                Err(PersonalIdentityNumberError::InvalidDate),
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_bad_shapes() {
        for bad in [
            "",
            "1912121212123",
            "19121212-121",
            "19121212-12a2",
            "121212-121",
            "12121212",
            "١٩١٢١٢١٢١٢١٢",
            "20000101P220",
            "000101-T220",
        ] {
            assert_eq!(
                parse(bad),
                Err(PersonalIdentityNumberError::Format),
                "{bad}"
            );
        }
    }

    /// Refused as a separator, with a message that names the accepted forms and not the number.
    fn assert_refused_separator(text: &str) {
        let error = parse(text).unwrap_err();
        assert_eq!(error, PersonalIdentityNumberError::Separator, "{text:?}");
        let message = error.to_string();
        for form in [
            "YYYYMMDD-NNNC",
            "YYYYMMDDNNNC",
            "YYMMDD-NNNC",
            "YYMMDDNNNC",
            "+",
        ] {
            assert!(message.contains(form), "{message}");
        }
        assert!(!message.contains("1212"), "{message}");
    }

    macro_rules! refuses_separator {
        ($($name:ident: $text:expr,)*) => {
            $(#[test] fn $name() { assert_refused_separator($text) })*
        };
    }

    refuses_separator! {
        refuses_a_space_long: "19121212 1212",
        refuses_a_space_short: "121212 1212",
        refuses_a_slash: "19121212/1212",
        refuses_a_slash_short: "121212/1212",
        refuses_a_dot: "19121212.1212",
        refuses_a_dot_short: "121212.1212",
        refuses_an_underscore: "19121212_1212",
        refuses_an_underscore_short: "121212_1212",
        refuses_a_colon: "121212:1212",
        refuses_a_tab: "121212\t1212",
        refuses_an_en_dash: "121212\u{2013}1212",
        refuses_a_no_break_space: "121212\u{a0}1212",
        refuses_two_dashes: "19121212--1212",
        refuses_dash_and_plus: "121212-+1212",
        refuses_two_separators_apart: "1912-1212-1212",
        refuses_a_dash_in_the_date: "1912-12-12-1212",
        refuses_a_dash_too_early: "1912121-21212",
        refuses_a_dash_too_late: "121212121-2",
        refuses_a_dash_after_six_of_twelve: "191212-121212",
        refuses_a_plus_after_eight_of_ten: "12121212+12",
        refuses_a_leading_sign: "+1212121212",
        refuses_a_trailing_dash: "1212121212-",
        refuses_letters_around: "x19121212-1212",
    }

    #[test]
    fn refuses_birth_number_zero() {
        assert_eq!(
            PersonalIdentityNumber::from_parts(date(2001, 5, 5), 0, false),
            Err(PersonalIdentityNumberError::ZeroBirthNumber)
        );
        // A correct Luhn digit does not make birth number 000 valid.
        let check = luhn_check_digit(&[0, 1, 0, 5, 0, 5, 0, 0, 0]);
        assert_eq!(
            parse(&format!("20010505000{check}")),
            Err(PersonalIdentityNumberError::ZeroBirthNumber)
        );
        assert_eq!(
            parse(&format!("010505-000{check}")),
            Err(PersonalIdentityNumberError::ZeroBirthNumber)
        );
    }

    #[test]
    fn a_twelve_digit_plus_must_agree_with_the_date() {
        let today = date(2026, 6, 15);
        // Born 1926: turns 100 this year, so the Tax Agency already writes a plus.
        for born in [date(1926, 1, 1), date(1926, 12, 31), date(1900, 1, 1)] {
            let number = PersonalIdentityNumber::from_parts(born, 17, false).unwrap();
            assert_eq!(
                PersonalIdentityNumber::parse_on(&long(&number, "+"), today),
                Ok(number)
            );
        }
        // Born 1927: turns 100 next year; the plus contradicts the date.
        for born in [date(1927, 1, 1), date(1990, 5, 5)] {
            let number = PersonalIdentityNumber::from_parts(born, 17, false).unwrap();
            let error = PersonalIdentityNumber::parse_on(&long(&number, "+"), today).unwrap_err();
            assert_eq!(error, PersonalIdentityNumberError::PlusUnderHundred);
            assert!(!error.to_string().contains(&number.expose()[2..8]));
            // The same number with a dash or no separator is fine.
            assert!(PersonalIdentityNumber::parse_on(&long(&number, "-"), today).is_ok());
        }
        // A twelve-digit dash is accepted at any age: most systems always write one.
        let old = PersonalIdentityNumber::from_parts(date(1912, 12, 12), 121, false).unwrap();
        assert!(PersonalIdentityNumber::parse_on(&long(&old, "-"), today).is_ok());
    }

    #[test]
    fn a_date_of_birth_after_today_is_refused() {
        let today = date(2026, 6, 15);
        let born_today = PersonalIdentityNumber::from_parts(today, 5, false).unwrap();
        assert!(PersonalIdentityNumber::parse_on(born_today.expose(), today).is_ok());
        let tomorrow = PersonalIdentityNumber::from_parts(date(2026, 6, 16), 5, true).unwrap();
        assert_eq!(
            PersonalIdentityNumber::parse_on(&long(&tomorrow, "-"), today),
            Err(PersonalIdentityNumberError::BornAfterToday)
        );
        // The ten-digit form of tomorrow's date means someone born 100 years earlier.
        assert_eq!(
            PersonalIdentityNumber::parse_on(&short(&tomorrow, "-"), today)
                .unwrap()
                .birth_date(),
            date(1926, 6, 16)
        );
    }

    #[test]
    fn the_hundredth_birthday_switches_dash_to_plus() {
        let born = date(1926, 3, 1);
        for coordination in [false, true] {
            let number = PersonalIdentityNumber::from_parts(born, 42, coordination).unwrap();
            let (dash, plus) = (short(&number, "-"), short(&number, "+"));
            // The day before: 99, both forms mean them (the plus from 1 January of the year).
            assert_eq!(born_on(born, &dash, date(2026, 2, 28)), Ok(born));
            assert_eq!(born_on(born, &plus, date(2026, 2, 28)), Ok(born));
            assert_eq!(born_on(born, &plus, date(2026, 1, 1)), Ok(born));
            // On the birthday the dash means a child born today; only the plus means them.
            assert_eq!(born_on(born, &dash, date(2026, 3, 1)), Ok(date(2026, 3, 1)));
            assert_eq!(
                born_on(born, &short(&number, ""), date(2026, 3, 1)),
                Ok(date(2026, 3, 1))
            );
            assert_eq!(born_on(born, &plus, date(2026, 3, 1)), Ok(born));
            let parsed = PersonalIdentityNumber::parse_on(&plus, date(2026, 3, 1)).unwrap();
            assert_eq!(parsed.is_coordination_number(), coordination);
            // The year before they turn 100, the plus means someone 100 years older.
            assert_eq!(
                born_on(born, &plus, date(2025, 12, 31)),
                Ok(date(1826, 3, 1))
            );
        }
    }

    #[test]
    fn leap_days() {
        // Born 29 February 1928: a year older on 1 March in common years.
        let born = date(1928, 2, 29);
        let number = PersonalIdentityNumber::from_parts(born, 480, false).unwrap();
        let (dash, plus) = (short(&number, "-"), short(&number, "+"));
        for today in [date(2027, 2, 28), date(2027, 3, 1), date(2028, 2, 28)] {
            assert_eq!(born_on(born, &dash, today), Ok(born), "{today}");
        }
        // Their 100th birthday is 29 February 2028.
        assert_eq!(
            born_on(born, &dash, date(2028, 2, 29)),
            Ok(date(2028, 2, 29))
        );
        assert_eq!(born_on(born, &plus, date(2028, 2, 29)), Ok(born));
        assert_eq!(born_on(born, &plus, date(2028, 2, 28)), Ok(born));

        // Born 29 February 2024, read in the common year 2025.
        let young = PersonalIdentityNumber::from_parts(date(2024, 2, 29), 2, true).unwrap();
        for today in [date(2025, 2, 28), date(2025, 3, 1)] {
            assert_eq!(
                born_on(date(2024, 2, 29), &short(&young, "-"), today),
                Ok(date(2024, 2, 29))
            );
        }
        // On 28 February 2024 that date is tomorrow: the dash means 29 February 1924, a leap
        // day too.
        assert_eq!(
            born_on(date(2024, 2, 29), &short(&young, ""), date(2024, 2, 28)),
            Ok(date(1924, 2, 29))
        );
    }

    #[test]
    fn only_2000_has_a_29_february_among_the_years_ending_in_00() {
        let number = PersonalIdentityNumber::from_parts(date(2000, 2, 29), 123, false).unwrap();
        let (dash, plus) = (short(&number, "-"), short(&number, "+"));
        assert!(dash.starts_with("000229-"));
        let today = date(2026, 6, 15);
        assert_eq!(
            born_on(date(2000, 2, 29), &dash, today),
            Ok(date(2000, 2, 29))
        );
        // 100 or older means 1900, which had no 29 February.
        assert_eq!(
            PersonalIdentityNumber::parse_on(&plus, today),
            Err(PersonalIdentityNumberError::InvalidDate)
        );
        assert_eq!(
            parse(&format!("19{}", &number.expose()[2..])),
            Err(PersonalIdentityNumberError::InvalidDate)
        );
        // 2100 has none either: on 28 February 2100 they are 99, on 1 March 100.
        assert_eq!(
            born_on(date(2000, 2, 29), &dash, date(2100, 2, 28)),
            Ok(date(2000, 2, 29))
        );
        assert_eq!(
            PersonalIdentityNumber::parse_on(&dash, date(2100, 3, 1)),
            Err(PersonalIdentityNumberError::InvalidDate)
        );
        assert_eq!(
            born_on(date(2000, 2, 29), &plus, date(2100, 3, 1)),
            Ok(date(2000, 2, 29))
        );
    }

    #[test]
    fn debug_and_display_are_redacted() {
        let number = parse("19121212-1212").unwrap();
        assert_eq!(format!("{number:?}"), "PersonalIdentityNumber(<redacted>)");
        assert_eq!(number.to_string(), "********-****");
        assert!(!format!("{:?}", Some(&number)).contains("1212"));
    }

    #[test]
    fn errors_never_repeat_the_number() {
        for bad in [
            "19121212-1213",
            "19121312-1212",
            "121212-1213",
            "121212 1212",
            "121212/1212",
            "x19121212-1212",
            "19301212+1212",
            "20301212-1212",
        ] {
            let message = PersonalIdentityNumber::parse_on(bad, date(2026, 1, 1))
                .unwrap_err()
                .to_string();
            assert!(!message.contains("1212"), "{message}");
        }
    }

    fn any_birth_date() -> impl Strategy<Value = NaiveDate> {
        (1900i32..=2030, 1u32..=12, 1u32..=31)
            .prop_filter_map("a real date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
    }

    /// Any day from 1950 to 2150 (leap days and century years included).
    fn any_today() -> impl Strategy<Value = NaiveDate> {
        (0u64..73_415).prop_map(|days| date(1950, 1, 1) + chrono::Days::new(days))
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
            let reparsed = parse(&dashed).unwrap();
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
                parse(&tampered),
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
            prop_assert!(parse(&tampered).is_err());
        }

        #[test]
        fn under_100_the_dash_and_no_separator_give_the_birth_date(
            today in any_today(),
            days_back in 0u64..=36_525,
            birth_number in 1u16..=999,
            coordination in any::<bool>(),
        ) {
            let born = today - chrono::Days::new(days_back);
            prop_assume!(age(born, today) < 100);
            let number = PersonalIdentityNumber::from_parts(born, birth_number, coordination).unwrap();
            for separator in ["-", ""] {
                let parsed = PersonalIdentityNumber::parse_on(&short(&number, separator), today).unwrap();
                prop_assert_eq!(parsed.birth_date(), born);
                prop_assert_eq!(parsed.is_coordination_number(), coordination);
                prop_assert_eq!(&parsed, &number);
            }
        }

        #[test]
        fn at_100_or_older_the_plus_gives_the_birth_date(
            today in any_today(),
            days_back in 36_500u64..=55_000,
            birth_number in 1u16..=999,
            coordination in any::<bool>(),
        ) {
            let born = today - chrono::Days::new(days_back);
            prop_assume!(age(born, today) >= 100);
            let number = PersonalIdentityNumber::from_parts(born, birth_number, coordination).unwrap();
            let parsed = PersonalIdentityNumber::parse_on(&short(&number, "+"), today).unwrap();
            prop_assert_eq!(&parsed, &number);
            prop_assert_eq!(PersonalIdentityNumber::parse_on(&long(&number, "+"), today), Ok(number));
        }

        #[test]
        fn on_the_hundredth_birthday_the_dash_gives_way_to_the_plus(
            today in any_today(),
            birth_number in 1u16..=999,
            coordination in any::<bool>(),
        ) {
            // Born 100 years ago today (no such day for 29 February in 1900 or 2000 - 100).
            let born = NaiveDate::from_ymd_opt(today.year() - 100, today.month(), today.day());
            prop_assume!(born.is_some());
            let born = born.unwrap();
            let number = PersonalIdentityNumber::from_parts(born, birth_number, coordination).unwrap();
            let dash = short(&number, "-");
            let plus = short(&number, "+");
            let yesterday = today.pred_opt().unwrap();
            // Yesterday they were 99: the dash meant them (and the plus, in the year they
            // turn 100).
            prop_assert_eq!(PersonalIdentityNumber::parse_on(&dash, yesterday).unwrap().birth_date(), born);
            if yesterday.year() == today.year() {
                prop_assert_eq!(PersonalIdentityNumber::parse_on(&plus, yesterday).unwrap().birth_date(), born);
            }
            // Today the dash means a child born today, the plus means them.
            prop_assert_eq!(PersonalIdentityNumber::parse_on(&dash, today).unwrap().birth_date(), today);
            let parsed = PersonalIdentityNumber::parse_on(&plus, today).unwrap();
            prop_assert_eq!(parsed.birth_date(), born);
            prop_assert_eq!(parsed.is_coordination_number(), coordination);
        }

        #[test]
        fn in_the_year_they_turn_100_both_forms_mean_them(
            today in any_today(),
            day_of_year in 0u64..366,
            birth_number in 1u16..=999,
            coordination in any::<bool>(),
        ) {
            let born = date(today.year() - 100, 1, 1) + chrono::Days::new(day_of_year);
            prop_assume!(born.year() == today.year() - 100 && age(born, today) == 99);
            let number = PersonalIdentityNumber::from_parts(born, birth_number, coordination).unwrap();
            for separator in ["-", "", "+"] {
                let parsed = PersonalIdentityNumber::parse_on(&short(&number, separator), today).unwrap();
                prop_assert_eq!(&parsed, &number);
            }
            prop_assert!(PersonalIdentityNumber::parse_on(&long(&number, "+"), today).is_ok());
        }

        #[test]
        fn a_twelve_digit_plus_is_accepted_exactly_from_the_year_of_the_100th_birthday(
            today in any_today(),
            days_back in 0u64..=55_000,
            birth_number in 1u16..=999,
        ) {
            let born = today - chrono::Days::new(days_back);
            let number = PersonalIdentityNumber::from_parts(born, birth_number, false).unwrap();
            let parsed = PersonalIdentityNumber::parse_on(&long(&number, "+"), today);
            if born.year() <= today.year() - 100 {
                prop_assert_eq!(parsed, Ok(number));
            } else {
                prop_assert_eq!(parsed, Err(PersonalIdentityNumberError::PlusUnderHundred));
            }
        }

        #[test]
        fn any_ten_digits_give_a_birth_on_or_before_today_in_the_century_of_the_separator(
            today in any_today(),
            ten in "[0-9]{10}",
            separator in prop::sample::select(vec!["-", "+", ""]),
        ) {
            let text = format!("{}{separator}{}", &ten[..6], &ten[6..]);
            if let Ok(number) = PersonalIdentityNumber::parse_on(&text, today) {
                prop_assert_eq!(&number.expose()[2..], ten.as_str());
                prop_assert!(number.birth_date() <= today);
                if separator == "+" {
                    prop_assert!(number.birth_date().year() <= today.year() - 100);
                    prop_assert!(number.birth_date().year() > today.year() - 200);
                } else {
                    prop_assert!(age(number.birth_date(), today) < 100);
                }
            }
        }
    }
}
