//! The county's two-digit SCB code (län code), used in statistics and as the first two digits
//! of every municipality code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A county's SCB code, `"01"`..=`"25"`, written with its leading zero.
///
/// Only the 21 codes in use since 1998 are accepted: 02 (Stockholm city), 11 (Kristianstad),
/// 15 (Älvsborg) and 16 (Skaraborg) belonged to counties that were merged away, and a code that
/// names no county today is a typo, not data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountyCode(u8);

/// Why a county code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountyCodeError {
    /// Not exactly two ASCII digits.
    #[error("county code must be exactly two digits, such as \"06\" or \"20\"")]
    NotTwoDigits,
    /// Two digits, but no county has that code today.
    #[error("county code {code:02} is not in use; valid codes are 01, 03-10, 12-14 and 17-25")]
    NotInUse {
        /// The code that was given.
        code: u8,
    },
}

/// The SCB county codes in use (since Västra Götaland was formed in 1998).
const CODES_IN_USE: [u8; 21] = [
    1, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 17, 18, 19, 20, 21, 22, 23, 24, 25,
];

impl CountyCode {
    /// Parses two ASCII digits naming a county in use today.
    pub fn parse(value: &str) -> Result<Self, CountyCodeError> {
        match value.as_bytes() {
            [tens @ b'0'..=b'9', ones @ b'0'..=b'9'] => {
                Self::from_number((tens - b'0') * 10 + (ones - b'0'))
            }
            _ => Err(CountyCodeError::NotTwoDigits),
        }
    }

    /// Accepts the code as a number (`6` for `"06"`), for callers that already hold digits.
    pub fn from_number(code: u8) -> Result<Self, CountyCodeError> {
        if CODES_IN_USE.contains(&code) {
            Ok(Self(code))
        } else {
            Err(CountyCodeError::NotInUse { code })
        }
    }

    /// The code as a number (`6` for Jönköping).
    pub fn number(self) -> u8 {
        self.0
    }
}

impl fmt::Display for CountyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

impl FromStr for CountyCode {
    type Err = CountyCodeError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl TryFrom<&str> for CountyCode {
    type Error = CountyCodeError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl TryFrom<String> for CountyCode {
    type Error = CountyCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CountyCode> for String {
    fn from(code: CountyCode) -> Self {
        code.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_the_leading_zero() {
        let jonkoping = CountyCode::parse("06").unwrap();
        assert_eq!(jonkoping.number(), 6);
        assert_eq!(jonkoping.to_string(), "06");
        assert_eq!(CountyCode::parse("20").unwrap().to_string(), "20");
        assert_eq!(CountyCode::parse("01").unwrap().to_string(), "01");
        assert_eq!(CountyCode::parse("25").unwrap().to_string(), "25");
    }

    #[test]
    fn refuses_bad_shapes() {
        for bad in ["", "6", "006", "2O", " 6", "+6", "٠٦"] {
            assert_eq!(
                CountyCode::parse(bad),
                Err(CountyCodeError::NotTwoDigits),
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_codes_not_in_use() {
        for code in ["00", "02", "11", "15", "16", "26", "99"] {
            assert!(
                matches!(
                    CountyCode::parse(code),
                    Err(CountyCodeError::NotInUse { .. })
                ),
                "{code}"
            );
        }
        assert!(
            CountyCode::parse("11")
                .unwrap_err()
                .to_string()
                .contains("11 is not in use")
        );
    }

    #[test]
    fn serde_round_trip() {
        let code: CountyCode = serde_json::from_str("\"22\"").unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"22\"");
        assert!(serde_json::from_str::<CountyCode>("\"11\"").is_err());
    }

    proptest! {
        #[test]
        fn display_parses_back(index in 0usize..CODES_IN_USE.len()) {
            let code = CountyCode::from_number(CODES_IN_USE[index]).unwrap();
            prop_assert_eq!(CountyCode::parse(&code.to_string()).unwrap(), code);
        }
    }
}
