//! A municipality's four-digit SCB code (kommunkod): how Hearth names member municipalities in
//! configuration, tokens, requests and invoices.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::county_code::{CountyCode, CountyCodeError};

/// A municipality's SCB code: four ASCII digits whose first two are its county's code
/// (Falun `2080`, Jönköping `0680`).
///
/// Kept as text-with-leading-zeros on the outside (`"0680"`, never `680`), because that is how
/// SCB, the municipalities and spreadsheets write it and a lost zero silently names nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MunicipalityCode {
    // Field order matters: the derived `Ord` sorts by county, then by number, which is the
    // numeric order of the four-digit code.
    county: CountyCode,
    /// The last two digits.
    local: u8,
}

/// Why a municipality code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MunicipalityCodeError {
    /// Not exactly four ASCII digits.
    #[error("municipality code must be exactly four digits, such as \"0680\" or \"2080\"")]
    NotFourDigits,
    /// Four digits, but the first two are not a county code in use. (The cause is said in
    /// the message, so it is not also a `source()`: a report would say it twice.)
    #[error("municipality code's first two digits must be a county code: {0}")]
    County(CountyCodeError),
}

impl MunicipalityCode {
    /// Parses four ASCII digits whose first two name a county in use.
    pub fn parse(value: &str) -> Result<Self, MunicipalityCodeError> {
        let bytes = value.as_bytes();
        if bytes.len() != 4 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(MunicipalityCodeError::NotFourDigits);
        }
        let county = CountyCode::parse(&value[..2]).map_err(MunicipalityCodeError::County)?;
        let local = (bytes[2] - b'0') * 10 + (bytes[3] - b'0');
        Ok(Self { county, local })
    }

    /// The county the municipality belongs to: its first two digits.
    pub fn county_code(self) -> CountyCode {
        self.county
    }
}

impl fmt::Display for MunicipalityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:02}", self.county, self.local)
    }
}

impl FromStr for MunicipalityCode {
    type Err = MunicipalityCodeError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl TryFrom<&str> for MunicipalityCode {
    type Error = MunicipalityCodeError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl TryFrom<String> for MunicipalityCode {
    type Error = MunicipalityCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MunicipalityCode> for String {
    fn from(code: MunicipalityCode) -> Self {
        code.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_leading_zeros_and_knows_its_county() {
        let jonkoping = MunicipalityCode::parse("0680").unwrap();
        assert_eq!(jonkoping.to_string(), "0680");
        assert_eq!(jonkoping.county_code().to_string(), "06");

        let falun = MunicipalityCode::parse("2080").unwrap();
        assert_eq!(falun.county_code(), CountyCode::parse("20").unwrap());
        assert_eq!(MunicipalityCode::parse("0114").unwrap().to_string(), "0114");
    }

    #[test]
    fn refuses_bad_shapes() {
        for bad in ["", "680", "06800", "06 80", "068O", "-680", "２０８０"] {
            assert_eq!(
                MunicipalityCode::parse(bad),
                Err(MunicipalityCodeError::NotFourDigits),
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_unknown_county_part() {
        let error = MunicipalityCode::parse("1180").unwrap_err();
        assert!(matches!(
            error,
            MunicipalityCodeError::County(CountyCodeError::NotInUse { code: 11 })
        ));
        assert!(error.to_string().contains("county code"), "{error}");
        assert!(MunicipalityCode::parse("0080").is_err());
    }

    #[test]
    fn serde_round_trip_keeps_zeros() {
        let code: MunicipalityCode = serde_json::from_str("\"0680\"").unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"0680\"");
        assert!(serde_json::from_str::<MunicipalityCode>("\"680\"").is_err());
    }

    proptest! {
        #[test]
        fn display_round_trips(county in prop::sample::select(vec![1u16, 3, 6, 12, 14, 20, 22, 25]), rest in 0u16..100) {
            let text = format!("{:04}", county * 100 + rest);
            let code = MunicipalityCode::parse(&text).unwrap();
            prop_assert_eq!(code.to_string(), text);
            prop_assert_eq!(u16::from(code.county_code().number()), county);
        }
    }
}
