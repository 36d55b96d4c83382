//! The county file's TOML form and its validation into the domain types.

use crate::{
    AssessmentSettings, CountyError, District, FeeLevel, GeoPoint, MatchingSettings, Member,
    PriorityRule, ScoreWeights,
};
use chrono::NaiveDate;
use hearth_domain::{CountyCode, MunicipalityCode};
use serde::Deserialize;
use std::collections::HashSet;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CountyFile {
    /// The county's two-digit SCB code; unset: the one every member's code begins with.
    scb_code: Option<String>,
    /// The county's display name; unset: SCB's name of the code.
    name: Option<String>,
    members: Vec<MemberEntry>,
    #[serde(default)]
    fee_levels: Vec<FeeLevelEntry>,
    assessment: Option<AssessmentEntry>,
    matching: Option<MatchingEntry>,
}

/// `[assessment]`: every key optional, defaults from [`AssessmentSettings::default`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssessmentEntry {
    time_limit_days: Option<i64>,
    retention_days: Option<i64>,
    priority: Option<Vec<String>>,
}

/// `[matching]`: every key optional, defaults from [`MatchingSettings::default`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchingEntry {
    answer_days: Option<i64>,
    weights: Option<WeightsEntry>,
}

/// `[matching.weights]`: one optional integer per score component.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsEntry {
    needs_experience: Option<i64>,
    distance: Option<i64>,
    basic_course: Option<i64>,
    support: Option<i64>,
    earlier_experience: Option<i64>,
    waiting: Option<i64>,
}

/// What a county file holds, validated.
pub(crate) struct Parsed {
    /// The county the file describes: its `scb_code`, or its members'.
    pub code: CountyCode,
    /// Its `name`, if it sets one.
    pub name: Option<String>,
    pub members: Vec<Member>,
    pub fee_levels: Vec<FeeLevel>,
    pub assessment: AssessmentSettings,
    pub matching: MatchingSettings,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberEntry {
    code: String,
    name: String,
    sub_region: Option<String>,
    #[serde(default)]
    districts: Vec<DistrictEntry>,
    member_from: Option<NaiveDate>,
    member_to: Option<NaiveDate>,
    main_town: Option<TownEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DistrictEntry {
    code: String,
    name: String,
}

/// Decimal degrees as strings (`"60.6065"`), converted exactly to micro-degrees.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TownEntry {
    latitude: String,
    longitude: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeeLevelEntry {
    code: String,
    name: String,
    monthly_fee_ore: i64,
}

/// Parses and validates a county file. `expected` is the county code the settings name, if
/// they name one: a file of another county is refused naming both.
pub(crate) fn parse(
    expected: Option<CountyCode>,
    file: &str,
    text: &str,
) -> Result<Parsed, CountyError> {
    let raw: CountyFile = toml::from_str(text).map_err(|error| CountyError::Syntax {
        file: file.to_owned(),
        message: error.to_string(),
    })?;
    let invalid = |key: String, message: String| CountyError::Invalid {
        file: file.to_owned(),
        key,
        message,
    };
    if raw.members.is_empty() {
        return Err(invalid(
            "members".to_owned(),
            "must list at least one member municipality".to_owned(),
        ));
    }
    let name = match &raw.name {
        None => None,
        Some(name) => Some(
            required_text(name)
                .ok_or_else(|| invalid("name".to_owned(), "must not be empty".to_owned()))?,
        ),
    };
    // The county the file describes: as it says, or as its first member's code says (the
    // others are checked against it below).
    let county = match &raw.scb_code {
        Some(code) => CountyCode::parse(code)
            .map_err(|error| invalid("scb_code".to_owned(), format!("{error} (got `{code}`)")))?,
        None => MunicipalityCode::parse(&raw.members[0].code)
            .map_err(|error| {
                invalid(
                    "members[0].code".to_owned(),
                    format!("{error} (got `{}`)", raw.members[0].code),
                )
            })?
            .county_code(),
    };
    if let Some(expected) = expected
        && expected != county
    {
        let evidence = match &raw.scb_code {
            Some(code) => format!("`scb_code` is {code}"),
            None => format!(
                "`members[0].code` {} is not in county {expected}",
                raw.members[0].code
            ),
        };
        let name = name
            .clone()
            .unwrap_or_else(|| crate::scb_name(county).to_owned());
        return Err(CountyError::Contradiction {
            file: file.to_owned(),
            evidence,
            key: "county.scb_code",
            set: expected.to_string(),
            in_file: format!("county {county} ({name})"),
        });
    }
    let mut seen = HashSet::new();
    let mut members = Vec::with_capacity(raw.members.len());
    for (index, entry) in raw.members.into_iter().enumerate() {
        let key = |field: &str| format!("members[{index}].{field}");
        let code = MunicipalityCode::parse(&entry.code)
            .map_err(|error| invalid(key("code"), format!("{error} (got `{}`)", entry.code)))?;
        if code.county_code() != county {
            return Err(invalid(
                key("code"),
                format!("{code} is not in county {county}"),
            ));
        }
        if !seen.insert(code) {
            return Err(invalid(key("code"), format!("{code} is listed twice")));
        }
        let name = required_text(&entry.name)
            .ok_or_else(|| invalid(key("name"), "must not be empty".to_owned()))?;
        if let (Some(from), Some(to)) = (entry.member_from, entry.member_to)
            && to < from
        {
            return Err(invalid(
                key("member_to"),
                format!("{to} is before member_from {from}"),
            ));
        }
        let mut district_codes = HashSet::new();
        let mut districts = Vec::with_capacity(entry.districts.len());
        for (district_index, district) in entry.districts.into_iter().enumerate() {
            let district_key = |field: &str| key(&format!("districts[{district_index}].{field}"));
            if !is_district_code(&district.code) {
                return Err(invalid(
                    district_key("code"),
                    format!(
                        "must be 1 to 32 lower-case ASCII letters, digits or hyphens (got `{}`)",
                        district.code
                    ),
                ));
            }
            if !district_codes.insert(district.code.clone()) {
                return Err(invalid(
                    district_key("code"),
                    format!("`{}` is listed twice", district.code),
                ));
            }
            let district_name = required_text(&district.name)
                .ok_or_else(|| invalid(district_key("name"), "must not be empty".to_owned()))?;
            districts.push(District {
                code: district.code,
                name: district_name,
            });
        }
        let main_town = match entry.main_town {
            None => None,
            Some(town) => Some(GeoPoint {
                latitude_microdegrees: parse_decimal_degrees(&town.latitude, 90)
                    .map_err(|message| invalid(key("main_town.latitude"), message))?,
                longitude_microdegrees: parse_decimal_degrees(&town.longitude, 180)
                    .map_err(|message| invalid(key("main_town.longitude"), message))?,
            }),
        };
        members.push(Member {
            code,
            name,
            sub_region: entry.sub_region.as_deref().and_then(required_text),
            districts,
            member_from: entry.member_from,
            member_to: entry.member_to,
            main_town,
        });
    }
    let mut level_codes = HashSet::new();
    let mut fee_levels = Vec::with_capacity(raw.fee_levels.len());
    for (index, entry) in raw.fee_levels.into_iter().enumerate() {
        let key = |field: &str| format!("fee_levels[{index}].{field}");
        let code = required_text(&entry.code)
            .filter(|code| code.len() <= 16)
            .ok_or_else(|| invalid(key("code"), "must be 1 to 16 characters".to_owned()))?;
        if !level_codes.insert(code.clone()) {
            return Err(invalid(key("code"), format!("`{code}` is listed twice")));
        }
        let name = required_text(&entry.name)
            .ok_or_else(|| invalid(key("name"), "must not be empty".to_owned()))?;
        if entry.monthly_fee_ore < 0 {
            return Err(invalid(
                key("monthly_fee_ore"),
                "must not be negative".to_owned(),
            ));
        }
        fee_levels.push(FeeLevel {
            code,
            name,
            monthly_fee_ore: entry.monthly_fee_ore,
        });
    }
    let assessment = match raw.assessment {
        None => AssessmentSettings::default(),
        Some(entry) => parse_assessment(entry).map_err(|(key, message)| invalid(key, message))?,
    };
    let matching = match raw.matching {
        None => MatchingSettings::default(),
        Some(entry) => parse_matching(entry).map_err(|(key, message)| invalid(key, message))?,
    };
    Ok(Parsed {
        code: county,
        name,
        members,
        fee_levels,
        assessment,
        matching,
    })
}

fn parse_assessment(entry: AssessmentEntry) -> Result<AssessmentSettings, (String, String)> {
    let days = |value: Option<i64>, key: &str, default: u32| match value {
        None => Ok(default),
        Some(days) => u32::try_from(days)
            .ok()
            .filter(|days| (1..=3650).contains(days))
            .ok_or_else(|| {
                (
                    format!("assessment.{key}"),
                    format!("must be 1 to 3650 days (got {days})"),
                )
            }),
    };
    let time_limit_days = days(
        entry.time_limit_days,
        "time_limit_days",
        AssessmentSettings::DEFAULT_TIME_LIMIT_DAYS,
    )?;
    let retention_days = days(
        entry.retention_days,
        "retention_days",
        AssessmentSettings::DEFAULT_RETENTION_DAYS,
    )?;
    let priority = match entry.priority {
        None => AssessmentSettings::default_priority(),
        Some(names) => {
            let mut rules: Vec<PriorityRule> = Vec::with_capacity(names.len());
            for (index, name) in names.iter().enumerate() {
                let key = format!("assessment.priority[{index}]");
                let rule = PriorityRule::parse(name).ok_or_else(|| {
                    (
                        key.clone(),
                        format!(
                            "`{name}` is not a priority rule; known rules: {}",
                            PriorityRule::known_names().join(", ")
                        ),
                    )
                })?;
                if rules.contains(&rule) {
                    return Err((key, format!("`{name}` is listed twice")));
                }
                rules.push(rule);
            }
            rules
        }
    };
    Ok(AssessmentSettings {
        time_limit_days,
        retention_days,
        priority,
    })
}

fn parse_matching(entry: MatchingEntry) -> Result<MatchingSettings, (String, String)> {
    // A whole number within `range`, or `default` when the key is absent.
    let bounded = |value: Option<i64>,
                   key: &str,
                   range: std::ops::RangeInclusive<u32>,
                   unit: &str,
                   default: u32| match value {
        None => Ok(default),
        Some(number) => u32::try_from(number)
            .ok()
            .filter(|number| range.contains(number))
            .ok_or_else(|| {
                (
                    format!("matching.{key}"),
                    format!(
                        "must be {} to {}{unit} (got {number})",
                        range.start(),
                        range.end()
                    ),
                )
            }),
    };
    let defaults = MatchingSettings::default();
    let answer_days = bounded(
        entry.answer_days,
        "answer_days",
        MatchingSettings::ANSWER_DAYS,
        " days",
        defaults.answer_days,
    )?;
    let given = entry.weights.unwrap_or_default();
    let weight = |value: Option<i64>, name: &str, default: u32| {
        bounded(
            value,
            &format!("weights.{name}"),
            MatchingSettings::WEIGHT,
            " points",
            default,
        )
    };
    let fallback = defaults.weights;
    let weights = ScoreWeights {
        needs_experience: weight(
            given.needs_experience,
            "needs_experience",
            fallback.needs_experience,
        )?,
        distance: weight(given.distance, "distance", fallback.distance)?,
        basic_course: weight(given.basic_course, "basic_course", fallback.basic_course)?,
        support: weight(given.support, "support", fallback.support)?,
        earlier_experience: weight(
            given.earlier_experience,
            "earlier_experience",
            fallback.earlier_experience,
        )?,
        waiting: weight(given.waiting, "waiting", fallback.waiting)?,
    };
    Ok(MatchingSettings {
        answer_days,
        weights,
    })
}

fn required_text(value: &str) -> Option<String> {
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

fn is_district_code(code: &str) -> bool {
    (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

/// Converts decimal degrees written as text (`"60.6065"`, `"-14.1"`) to integer micro-degrees
/// without a float, refusing more than six decimals and values beyond `limit` degrees.
pub fn parse_decimal_degrees(text: &str, limit: i64) -> Result<i32, String> {
    let malformed = || format!("must be decimal degrees such as \"60.6065\" (got `{text}`)");
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((_, "")) => return Err(malformed()),
        Some(parts) => parts,
        None => (unsigned, ""),
    };
    if whole.is_empty()
        || whole.len() > 3
        || fraction.len() > 6
        || !whole.bytes().all(|byte| byte.is_ascii_digit())
        || !fraction.bytes().all(|byte| byte.is_ascii_digit())
    {
        return Err(malformed());
    }
    let whole: i64 = whole.parse().map_err(|_| malformed())?;
    let mut micro: i64 = 0;
    for (position, digit) in fraction.bytes().enumerate() {
        micro += i64::from(digit - b'0') * 10_i64.pow(5 - position as u32);
    }
    let magnitude = whole * 1_000_000 + micro;
    if magnitude > limit * 1_000_000 {
        return Err(format!("must be within ±{limit} degrees (got `{text}`)"));
    }
    let value = if negative { -magnitude } else { magnitude };
    i32::try_from(value).map_err(|_| malformed())
}
