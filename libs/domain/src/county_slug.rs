//! The county's slug: the name that keeps counties apart in NATS subjects, database names and
//! token claims (`dalarna`, `jonkoping`, `vasternorrland`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A county's slug: 2 to 32 lower-case ASCII letters.
///
/// Only letters, because the slug is embedded in NATS subjects (`hearth.<county>.>`), database
/// and role names, where dots, dashes and non-ASCII letters (å, ä, ö) would need quoting or
/// change meaning. Write Jönköping as `jonkoping`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountySlug(String);

/// Why a county slug was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountySlugError {
    /// Shorter than [`CountySlug::MIN_LEN`] or longer than [`CountySlug::MAX_LEN`].
    #[error(
        "county slug must be {min} to {max} letters long, got {len}",
        min = CountySlug::MIN_LEN,
        max = CountySlug::MAX_LEN
    )]
    Length {
        /// The length that was given, in characters.
        len: usize,
    },
    /// A character other than `a`..=`z`.
    #[error(
        "county slug may contain only lower-case ASCII letters a-z; found {found:?} at position {position}"
    )]
    InvalidCharacter {
        /// The offending character.
        found: char,
        /// Its position (0-based, in characters).
        position: usize,
    },
}

impl CountySlug {
    /// Fewest letters a slug may have.
    pub const MIN_LEN: usize = 2;
    /// Most letters a slug may have (keeps derived names within PostgreSQL's 63-byte limit).
    pub const MAX_LEN: usize = 32;

    /// Parses a slug, refusing anything but 2..=32 lower-case ASCII letters.
    pub fn parse(value: &str) -> Result<Self, CountySlugError> {
        if let Some((position, found)) = value
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_lowercase())
        {
            return Err(CountySlugError::InvalidCharacter { found, position });
        }
        let len = value.len();
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&len) {
            return Err(CountySlugError::Length { len });
        }
        Ok(Self(value.to_owned()))
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CountySlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for CountySlug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for CountySlug {
    type Err = CountySlugError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl TryFrom<&str> for CountySlug {
    type Error = CountySlugError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl TryFrom<String> for CountySlug {
    type Error = CountySlugError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CountySlug> for String {
    fn from(slug: CountySlug) -> Self {
        slug.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_real_county_slugs() {
        for slug in ["dalarna", "jonkoping", "vasternorrland", "skane", "ab"] {
            assert_eq!(CountySlug::parse(slug).unwrap().as_str(), slug);
        }
    }

    #[test]
    fn refuses_upper_case_digits_and_non_ascii() {
        assert_eq!(
            CountySlug::parse("Dalarna"),
            Err(CountySlugError::InvalidCharacter {
                found: 'D',
                position: 0
            })
        );
        assert_eq!(
            CountySlug::parse("jönköping"),
            Err(CountySlugError::InvalidCharacter {
                found: 'ö',
                position: 1
            })
        );
        assert!(matches!(
            CountySlug::parse("county-1"),
            Err(CountySlugError::InvalidCharacter { found: '-', .. })
        ));
        assert!(CountySlug::parse(" dalarna").is_err());
    }

    #[test]
    fn refuses_wrong_lengths() {
        assert_eq!(
            CountySlug::parse(""),
            Err(CountySlugError::Length { len: 0 })
        );
        assert_eq!(
            CountySlug::parse("a"),
            Err(CountySlugError::Length { len: 1 })
        );
        assert_eq!(
            CountySlug::parse(&"a".repeat(33)),
            Err(CountySlugError::Length { len: 33 })
        );
        assert!(CountySlug::parse(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn error_names_the_problem() {
        let message = CountySlug::parse("Dalarna").unwrap_err().to_string();
        assert!(message.contains("lower-case"), "{message}");
    }

    #[test]
    fn serde_validates() {
        let slug: CountySlug = serde_json::from_str("\"dalarna\"").unwrap();
        assert_eq!(serde_json::to_string(&slug).unwrap(), "\"dalarna\"");
        assert!(serde_json::from_str::<CountySlug>("\"Dalarna\"").is_err());
    }

    proptest! {
        #[test]
        fn any_lowercase_word_of_valid_length_parses(slug in "[a-z]{2,32}") {
            prop_assert_eq!(CountySlug::parse(&slug).unwrap().to_string(), slug);
        }

        #[test]
        fn anything_with_a_non_letter_is_refused(prefix in "[a-z]{0,10}", bad in "[^a-z]", suffix in "[a-z]{0,10}") {
            let candidate = format!("{prefix}{bad}{suffix}");
            let refused = matches!(
                CountySlug::parse(&candidate),
                Err(CountySlugError::InvalidCharacter { .. })
            );
            prop_assert!(refused);
        }
    }
}
