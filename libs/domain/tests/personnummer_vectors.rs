//! The shared test vectors of the open-source personnummer projects (see
//! `data/personnummer-vectors.json` for their source and licence), read with Hearth's rule on
//! the pinned day the file names.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Datelike, NaiveDate};
use hearth_domain::{PersonalIdentityNumber, PersonalIdentityNumberError};
use serde_json::Value;

const VECTORS: &str = include_str!("data/personnummer-vectors.json");

fn vectors() -> (NaiveDate, Vec<Value>) {
    let file: Value = serde_json::from_str(VECTORS).unwrap();
    let today = file["today"].as_str().unwrap().parse().unwrap();
    (today, file["vectors"].as_array().unwrap().clone())
}

fn field<'a>(vector: &'a Value, name: &str) -> &'a str {
    vector[name].as_str().expect(name)
}

#[test]
fn the_file_has_valid_and_invalid_numbers_of_each_type() {
    let (_, vectors) = vectors();
    for (kind, valid) in [("ssn", true), ("ssn", false), ("con", true), ("con", false)] {
        assert!(
            vectors
                .iter()
                .any(|v| v["type"] == kind && v["valid"] == valid),
            "{kind} {valid}"
        );
    }
}

#[test]
fn valid_numbers_parse_in_every_form_to_the_long_format() {
    let (today, vectors) = vectors();
    let mut checked = 0;
    for vector in vectors.iter().filter(|v| v["valid"] == true) {
        let long = field(vector, "long_format");
        let coordination = vector["type"] == "con";
        for name in ["long_format", "separated_long", "separated_format"] {
            let number = PersonalIdentityNumber::parse_on(field(vector, name), today)
                .unwrap_or_else(|error| panic!("{name} of {long}: {error}"));
            assert_eq!(number.expose(), long, "{name}");
            assert_eq!(number.is_coordination_number(), coordination, "{long}");
            checked += 1;
        }
        // Without a separator the ten digits mean someone under 100: the same number for
        // everyone but the four people over 100, where it is the person born a century later.
        let short = PersonalIdentityNumber::parse_on(field(vector, "short_format"), today).unwrap();
        let over_100 = field(vector, "separated_format").contains('+');
        let year: i32 = long[..4].parse().unwrap();
        assert_eq!(
            short.birth_date().year(),
            if over_100 { year + 100 } else { year },
            "{long}"
        );
        assert_eq!(&short.expose()[2..], &long[2..]);
        assert!(short.birth_date() <= today);
    }
    assert_eq!(checked, 3 * 19, "19 valid numbers in three forms");
}

#[test]
fn invalid_numbers_are_refused_in_every_form() {
    let (today, vectors) = vectors();
    let mut checked = 0;
    for vector in vectors.iter().filter(|v| v["valid"] == false) {
        for name in [
            "long_format",
            "short_format",
            "separated_format",
            "separated_long",
        ] {
            let text = field(vector, name);
            let error =
                PersonalIdentityNumber::parse_on(text, today).expect_err(&format!("{name} {text}"));
            // Interim numbers (a letter for a digit) are not numbers; a space is a separator.
            let expected = match vector["type"].as_str() {
                Some("interim") => Some(PersonalIdentityNumberError::Format),
                _ if text.contains(' ') => Some(PersonalIdentityNumberError::Separator),
                _ => None,
            };
            if let Some(expected) = expected {
                assert_eq!(error, expected, "{text}");
            }
            assert!(!error.to_string().contains(&text[text.len() - 4..]));
            checked += 1;
        }
    }
    assert_eq!(checked, 4 * 27, "27 invalid numbers in four forms");
}
