//! The county's shape: its member municipalities (with districts, sub-regions, membership
//! periods and main towns), its fee levels, its assessment settings (priority list, time
//! limit, retention) and its matching settings (answer window, ranking weights), read from the
//! county file.
//!
//! The county file is the one source of this shape for every service
//! (docs/design.md#the-county-file). A deployment names it with `county.file`; without one, the
//! built-in file of the county's slug is used (Dalarna and Jönköping ship in `counties/`).
//! Everything is validated when the file is read, so a service never meets a half-valid county:
//! every error names the file and the key, e.g. `members[3].code`.

mod assessment;
mod file;
mod matching;

pub use assessment::{AssessmentSettings, FamilyOpenness, PriorityRule};
use chrono::NaiveDate;
use hearth_domain::{CountyCode, CountySlug, MunicipalityCode};
pub use matching::{MatchingSettings, ScoreWeights};
use std::path::Path;

pub use file::parse_decimal_degrees;

/// The built-in county files, by slug: the demo default and the examples of the deployment.
const BUILT_IN: &[(&str, &str)] = &[
    ("dalarna", include_str!("../../../counties/dalarna.toml")),
    (
        "jonkoping",
        include_str!("../../../counties/jonkoping.toml"),
    ),
];

/// One county's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct County {
    slug: CountySlug,
    code: CountyCode,
    name: String,
    members: Vec<Member>,
    fee_levels: Vec<FeeLevel>,
    assessment: AssessmentSettings,
    matching: MatchingSettings,
}

/// A member municipality of the county's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub code: MunicipalityCode,
    pub name: String,
    /// The sub-region (länsdel) it belongs to, for governance and reporting; `None` where the
    /// county has none.
    pub sub_region: Option<String>,
    /// The districts that raise requests on its behalf; empty when it raises them as a whole.
    pub districts: Vec<District>,
    /// First day of membership; `None` when it has been a member since before Hearth's records.
    pub member_from: Option<NaiveDate>,
    /// Last day of membership; `None` while it is a member.
    pub member_to: Option<NaiveDate>,
    /// Where its main town is, for distances (proximity requirement); `None` when not known.
    pub main_town: Option<GeoPoint>,
}

/// A district of a member municipality that raises placement requests itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct District {
    /// Short lower-case code, e.g. `soder`.
    pub code: String,
    pub name: String,
}

/// A point in integer micro-degrees (WGS 84): no floats anywhere in Hearth's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeoPoint {
    pub latitude_microdegrees: i32,
    pub longitude_microdegrees: i32,
}

/// A fee level (arvodesnivå) of the county, in the file's order from lowest to highest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeLevel {
    pub code: String,
    pub name: String,
    /// Monthly fee for one placed child, in öre.
    pub monthly_fee_ore: i64,
}

/// Why the county file cannot be used. Each names the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum CountyError {
    #[error("county file {file}: cannot be read: {message}")]
    Read { file: String, message: String },
    #[error("county file {file}: {message}")]
    Syntax { file: String, message: String },
    #[error("county file {file}: `{key}` {message}")]
    Invalid {
        file: String,
        key: String,
        message: String,
    },
    #[error(
        "county `{slug}` has no built-in county file; set `county.file` (HEARTH__COUNTY__FILE) to the county's file"
    )]
    NoFile { slug: String },
    /// A setting that says otherwise than the county file.
    #[error(
        "county file {file}: {evidence}: {key} is `{set}` but the file is {in_file}; unset {key} to take the file's, or fix the one that is wrong"
    )]
    Contradiction {
        file: String,
        /// What in the file says otherwise.
        evidence: String,
        key: &'static str,
        set: String,
        in_file: String,
    },
}

/// SCB's name of each county (län), by code: the county's name where neither the settings nor
/// the county file give one.
const SCB_NAMES: [(u8, &str); 21] = [
    (1, "Stockholm"),
    (3, "Uppsala"),
    (4, "Södermanland"),
    (5, "Östergötland"),
    (6, "Jönköping"),
    (7, "Kronoberg"),
    (8, "Kalmar"),
    (9, "Gotland"),
    (10, "Blekinge"),
    (12, "Skåne"),
    (13, "Halland"),
    (14, "Västra Götaland"),
    (17, "Värmland"),
    (18, "Örebro"),
    (19, "Västmanland"),
    (20, "Dalarna"),
    (21, "Gävleborg"),
    (22, "Västernorrland"),
    (23, "Jämtland"),
    (24, "Västerbotten"),
    (25, "Norrbotten"),
];

/// SCB's name of the county `code` (`Jönköping` for 06), or `""` for a code SCB does not use.
pub fn scb_name(code: CountyCode) -> &'static str {
    SCB_NAMES
        .iter()
        .find(|(number, _)| *number == code.number())
        .map_or("", |(_, name)| name)
}

/// Why a requesting unit or municipality was refused for a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    #[error("{0} is not a member municipality of this county")]
    NotMember(MunicipalityCode),
    #[error("{code} is not a member of this county on {date}")]
    NotMemberOn {
        code: MunicipalityCode,
        date: NaiveDate,
    },
    #[error("{code} has no district `{district}`; its districts are: {known}")]
    UnknownDistrict {
        code: MunicipalityCode,
        district: String,
        known: String,
    },
    #[error("{code} raises requests per district; name one of: {known}")]
    DistrictRequired {
        code: MunicipalityCode,
        known: String,
    },
}

impl County {
    /// Reads the county file at `path`, or the built-in one of `slug` when `path` is `None`.
    pub fn load(
        slug: &CountySlug,
        code: CountyCode,
        name: &str,
        path: Option<&Path>,
    ) -> Result<Self, CountyError> {
        Self::resolve(slug, Some(code), Some(name), path)
    }

    /// [`County::load`] where the settings may leave the code and the name to the county file:
    /// the code is the file's `scb_code`, or the one its members' codes begin with; the name
    /// is the settings', the file's `name`, or SCB's name of the code. A code or name that the
    /// settings do set must agree with the file's.
    pub fn resolve(
        slug: &CountySlug,
        code: Option<CountyCode>,
        name: Option<&str>,
        path: Option<&Path>,
    ) -> Result<Self, CountyError> {
        match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|error| CountyError::Read {
                    file: path.display().to_string(),
                    message: error.to_string(),
                })?;
                Self::parse_with(slug, code, name, &path.display().to_string(), &text)
            }
            None => {
                let text =
                    Self::built_in_text(slug.as_str()).ok_or_else(|| CountyError::NoFile {
                        slug: slug.as_str().to_owned(),
                    })?;
                Self::parse_with(
                    slug,
                    code,
                    name,
                    &format!("(built-in {}.toml)", slug.as_str()),
                    text,
                )
            }
        }
    }

    /// The text of a built-in county file, if the slug has one.
    pub fn built_in_text(slug: &str) -> Option<&'static str> {
        BUILT_IN
            .iter()
            .find(|(known, _)| *known == slug)
            .map(|(_, text)| *text)
    }

    /// Parses and validates a county file's text; `file` names it in errors.
    pub fn parse(
        slug: &CountySlug,
        code: CountyCode,
        name: &str,
        file: &str,
        text: &str,
    ) -> Result<Self, CountyError> {
        Self::parse_with(slug, Some(code), Some(name), file, text)
    }

    /// [`County::parse`] with the code and the name optional, as in [`County::resolve`].
    pub fn parse_with(
        slug: &CountySlug,
        code: Option<CountyCode>,
        name: Option<&str>,
        file: &str,
        text: &str,
    ) -> Result<Self, CountyError> {
        let parsed = file::parse(code, file, text)?;
        let name = match (name, parsed.name) {
            (Some(set), Some(in_file)) if set != in_file => {
                return Err(CountyError::Contradiction {
                    file: file.to_owned(),
                    evidence: format!("`name` is `{in_file}`"),
                    key: "county.name",
                    set: set.to_owned(),
                    in_file: format!("named `{in_file}`"),
                });
            }
            (Some(set), _) => set.to_owned(),
            (None, Some(in_file)) => in_file,
            (None, None) => match scb_name(parsed.code) {
                "" => slug.as_str().to_owned(),
                known => known.to_owned(),
            },
        };
        Ok(Self {
            slug: slug.clone(),
            code: parsed.code,
            name,
            members: parsed.members,
            fee_levels: parsed.fee_levels,
            assessment: parsed.assessment,
            matching: parsed.matching,
        })
    }

    /// The built-in Dalarna county: the embedded default, and handy in tests.
    pub fn dalarna() -> Self {
        let slug = CountySlug::parse("dalarna").expect("a valid slug");
        let code = CountyCode::parse("20").expect("a valid code");
        Self::load(&slug, code, "Dalarna", None).expect("the built-in Dalarna file is valid")
    }

    pub fn slug(&self) -> &CountySlug {
        &self.slug
    }

    pub fn code(&self) -> CountyCode {
        self.code
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every member municipality that has ever been one, in the file's order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member with this code, whatever its membership period.
    pub fn member(&self, code: MunicipalityCode) -> Option<&Member> {
        self.members.iter().find(|member| member.code == code)
    }

    /// The member with this code if it is a member on `date`.
    pub fn member_on(
        &self,
        code: MunicipalityCode,
        date: NaiveDate,
    ) -> Result<&Member, MembershipError> {
        let member = self.member(code).ok_or(MembershipError::NotMember(code))?;
        if member.is_member_on(date) {
            Ok(member)
        } else {
            Err(MembershipError::NotMemberOn { code, date })
        }
    }

    /// Checks a requesting unit on `date`: a member, and a district of it exactly when it
    /// raises requests per district.
    pub fn check_requesting_unit(
        &self,
        code: MunicipalityCode,
        district: Option<&str>,
        date: NaiveDate,
    ) -> Result<&Member, MembershipError> {
        let member = self.member_on(code, date)?;
        let known = || {
            member
                .districts
                .iter()
                .map(|district| district.code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match district {
            None if member.districts.is_empty() => Ok(member),
            None => Err(MembershipError::DistrictRequired {
                code,
                known: known(),
            }),
            Some(district) if member.district(district).is_some() => Ok(member),
            Some(district) => Err(MembershipError::UnknownDistrict {
                code,
                district: district.to_owned(),
                known: if member.districts.is_empty() {
                    "none".to_owned()
                } else {
                    known()
                },
            }),
        }
    }

    /// The fee levels, lowest first.
    pub fn fee_levels(&self) -> &[FeeLevel] {
        &self.fee_levels
    }

    /// The fee level with this code.
    pub fn fee_level(&self, code: &str) -> Option<&FeeLevel> {
        self.fee_levels.iter().find(|level| level.code == code)
    }

    /// The assessment settings: priority list, time limit, retention of cases that ended
    /// without approval (`[assessment]`; defaults when the file has no such section).
    pub fn assessment(&self) -> &AssessmentSettings {
        &self.assessment
    }

    /// The matching settings: answer window and ranking weights (`[matching]`; defaults for
    /// what the file leaves out).
    pub fn matching(&self) -> &MatchingSettings {
        &self.matching
    }

    /// Where a fee level stands in the order (0 is the lowest), for "at most this level".
    pub fn fee_level_rank(&self, code: &str) -> Option<usize> {
        self.fee_levels.iter().position(|level| level.code == code)
    }
}

impl Member {
    /// Whether the municipality is a member on `date` (both ends of the period inclusive).
    pub fn is_member_on(&self, date: NaiveDate) -> bool {
        self.member_from.is_none_or(|from| from <= date)
            && self.member_to.is_none_or(|to| date <= to)
    }

    /// The district with this code.
    pub fn district(&self, code: &str) -> Option<&District> {
        self.districts.iter().find(|district| district.code == code)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
