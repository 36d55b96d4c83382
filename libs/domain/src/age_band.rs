//! The age bands that requests, families' preferences and statistics are grouped by.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which age band a child or young person falls in.
///
/// The top band runs to 20, not 17 or 19, because young adults may stay in care after 18; the
/// county's population key for cost allocation uses ages 0–17, a different thing that does not
/// use these bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AgeBand {
    /// 0–6 years.
    #[serde(rename = "age_0_6")]
    Age0To6,
    /// 7–12 years.
    #[serde(rename = "age_7_12")]
    Age7To12,
    /// 13–20 years: teenagers and young adults still in care.
    #[serde(rename = "age_13_20")]
    Age13To20,
}

/// Why no age band fits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgeBandError {
    /// Older than the oldest band.
    #[error("age {years} is outside every age band (0-20 years)")]
    OutOfRange {
        /// The age that was given, in whole years.
        years: u32,
    },
}

impl AgeBand {
    /// Every band, youngest first.
    pub const ALL: [AgeBand; 3] = [AgeBand::Age0To6, AgeBand::Age7To12, AgeBand::Age13To20];

    /// The band for an age in whole years; ages above 20 belong to no band.
    pub fn for_age(years: u32) -> Result<Self, AgeBandError> {
        match years {
            0..=6 => Ok(AgeBand::Age0To6),
            7..=12 => Ok(AgeBand::Age7To12),
            13..=20 => Ok(AgeBand::Age13To20),
            _ => Err(AgeBandError::OutOfRange { years }),
        }
    }

    /// Youngest age in the band, in whole years.
    pub const fn min_years(self) -> u32 {
        match self {
            AgeBand::Age0To6 => 0,
            AgeBand::Age7To12 => 7,
            AgeBand::Age13To20 => 13,
        }
    }

    /// Oldest age in the band, in whole years (inclusive).
    pub const fn max_years(self) -> u32 {
        match self {
            AgeBand::Age0To6 => 6,
            AgeBand::Age7To12 => 12,
            AgeBand::Age13To20 => 20,
        }
    }
}

impl fmt::Display for AgeBand {
    /// `0-6 years`, for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{} years", self.min_years(), self.max_years())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn band_edges() {
        assert_eq!(AgeBand::for_age(0), Ok(AgeBand::Age0To6));
        assert_eq!(AgeBand::for_age(6), Ok(AgeBand::Age0To6));
        assert_eq!(AgeBand::for_age(7), Ok(AgeBand::Age7To12));
        assert_eq!(AgeBand::for_age(12), Ok(AgeBand::Age7To12));
        assert_eq!(AgeBand::for_age(13), Ok(AgeBand::Age13To20));
        assert_eq!(AgeBand::for_age(20), Ok(AgeBand::Age13To20));
        assert_eq!(
            AgeBand::for_age(21),
            Err(AgeBandError::OutOfRange { years: 21 })
        );
        assert!(AgeBand::for_age(21).unwrap_err().to_string().contains("21"));
    }

    #[test]
    fn serde_names_are_stable() {
        assert_eq!(
            serde_json::to_string(&AgeBand::Age13To20).unwrap(),
            "\"age_13_20\""
        );
        let band: AgeBand = serde_json::from_str("\"age_0_6\"").unwrap();
        assert_eq!(band, AgeBand::Age0To6);
        assert_eq!(AgeBand::Age7To12.to_string(), "7-12 years");
    }

    proptest! {
        #[test]
        fn every_age_up_to_20_falls_in_exactly_its_band(years in 0u32..=20) {
            let band = AgeBand::for_age(years).unwrap();
            prop_assert!(band.min_years() <= years && years <= band.max_years());
            let containing = AgeBand::ALL
                .iter()
                .filter(|b| b.min_years() <= years && years <= b.max_years())
                .count();
            prop_assert_eq!(containing, 1);
        }

        #[test]
        fn older_than_20_has_no_band(years in 21u32..) {
            prop_assert!(AgeBand::for_age(years).is_err());
        }
    }
}
