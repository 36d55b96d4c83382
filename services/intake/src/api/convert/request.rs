//! Placement requests: one child's needs as the municipality states them, never the child's
//! identity. Checked as a whole after each change, so a stored version is always valid.

use super::registration::check_member;
use crate::domain::request::{
    MAX_CASE_REFERENCE, MAX_DISTANCE_KM, MAX_NEEDS_DESCRIPTION, MAX_SIBLINGS,
    MAX_SUPPORT_DESCRIPTION, MAX_WITHDRAWAL_NOTE, UPDATABLE_FIELDS, age_band_at_start,
    is_child_birth_year, latest_start, oldest_birth_year,
};
use crate::domain::text;
use chrono::{Datelike, NaiveDate};
use hearth_county::County;
use hearth_domain::{AgeBand, CommissionKind, MunicipalityCode};
use hearth_proto::common::v1 as common;
use hearth_proto::convert;
use hearth_proto::intake::v1 as pb;
use hearth_rpc::Violations;

/// A placement request's content that passed every check, with the facts that lists filter on.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestDraft {
    pub municipality: MunicipalityCode,
    pub district: Option<String>,
    pub age_band: AgeBand,
    /// One band per sibling, in the request's order, on the wanted start date.
    pub sibling_age_bands: Vec<AgeBand>,
    pub commission_kind: CommissionKind,
    /// The request's content with output-only fields cleared: what is sealed and stored.
    pub content: pb::PlacementRequest,
}

/// Checks a whole placement request as of `today`. `field` is its path in the request (e.g.
/// `placement_request`). The requesting unit is checked too: give the stored one on updates.
pub fn check_request(
    input: &pb::PlacementRequest,
    field: &str,
    county: &County,
    today: NaiveDate,
    violations: &mut Violations,
) -> Option<RequestDraft> {
    let path = |name: &str| format!("{field}.{name}");
    let before = violations.len();

    let unit = check_requesting_unit(
        input.requesting_unit.as_ref(),
        &path("requesting_unit"),
        county,
        today,
        violations,
    );

    let case_reference = match text::required_text(&input.case_reference, MAX_CASE_REFERENCE) {
        Err(message) => {
            violations.add(path("case_reference"), message);
            None
        }
        Ok(reference) if text::looks_like_personal_identity_number(&reference) => {
            violations.add(
                path("case_reference"),
                "must not hold a personal identity number: use the case system's own reference",
            );
            None
        }
        Ok(reference) => Some(reference),
    };

    let wanted_start_date = match &input.wanted_start_date {
        None => {
            violations.add(path("wanted_start_date"), "is required");
            None
        }
        Some(date) => match convert::date(date) {
            None => {
                violations.add(path("wanted_start_date"), "is not a valid calendar date");
                None
            }
            Some(date) if date > latest_start(today) => {
                violations.add(
                    path("wanted_start_date"),
                    "must be within two years from today",
                );
                None
            }
            Some(date) => Some(date),
        },
    };

    let oldest_birth_year = oldest_birth_year(today);
    let birth_year = check_birth_year(
        input.birth_year,
        &path("birth_year"),
        oldest_birth_year,
        today,
        violations,
    );
    let age_band = check_age_band(
        birth_year,
        wanted_start_date,
        &path("birth_year"),
        violations,
    );

    match pb::Sex::try_from(input.sex) {
        Ok(pb::Sex::Unspecified) => {
            violations.add(path("sex"), "is required (SEX_NOT_STATED is allowed)")
        }
        Ok(_) => {}
        Err(_) => violations.add(path("sex"), format!("unknown value {}", input.sex)),
    }

    check_enum_list::<common::Need>(&input.needs, &path("needs"), violations);
    let needs_description = check_description(
        &input.needs_description,
        MAX_NEEDS_DESCRIPTION,
        &path("needs_description"),
        violations,
    );

    if input.sibling_birth_years.len() > MAX_SIBLINGS {
        violations.add(
            path("sibling_birth_years"),
            format!("may list at most {MAX_SIBLINGS} siblings"),
        );
    }
    // Every sibling needs a band on the start date: matching counts the places from them.
    let mut sibling_age_bands = Vec::with_capacity(input.sibling_birth_years.len());
    for (index, year) in input.sibling_birth_years.iter().enumerate() {
        let at = format!("{}[{index}]", path("sibling_birth_years"));
        let born = check_birth_year(*year, &at, oldest_birth_year, today, violations);
        if let Some(band) = check_age_band(born, wanted_start_date, &at, violations) {
            sibling_age_bands.push(band);
        }
    }

    let commission_kind = match convert::commission_kind(input.commission_kind) {
        Some(kind) => Some(kind),
        None if input.commission_kind == 0 => {
            violations.add(path("commission_kind"), "is required");
            None
        }
        None => {
            violations.add(
                path("commission_kind"),
                format!("unknown value {}", input.commission_kind),
            );
            None
        }
    };

    let proximity = input.proximity.clone().unwrap_or_default();
    for (index, code) in proximity.acceptable_municipalities.iter().enumerate() {
        let at = format!(
            "{}.acceptable_municipalities[{index}].value",
            path("proximity")
        );
        check_member(code, &at, county, today, violations);
        if proximity.acceptable_municipalities[..index]
            .iter()
            .any(|earlier| earlier.value == code.value)
        {
            violations.add(at, "is listed twice");
        }
    }
    if proximity.max_distance_km > MAX_DISTANCE_KM {
        violations.add(
            format!("{}.max_distance_km", path("proximity")),
            format!("must be at most {MAX_DISTANCE_KM} km (0 means no limit)"),
        );
    }

    if input.max_fee_level.trim().is_empty() {
        violations.add(path("max_fee_level"), "is required");
    } else if county.fee_level(input.max_fee_level.trim()).is_none() {
        let known: Vec<&str> = county
            .fee_levels()
            .iter()
            .map(|level| level.code.as_str())
            .collect();
        violations.add(
            path("max_fee_level"),
            format!(
                "is not one of the county's fee levels ({})",
                known.join(", ")
            ),
        );
    }

    check_enum_list::<common::SupportKind>(
        &input.offered_support,
        &path("offered_support"),
        violations,
    );
    let support_description = check_description(
        &input.offered_support_description,
        MAX_SUPPORT_DESCRIPTION,
        &path("offered_support_description"),
        violations,
    );

    match common::Urgency::try_from(input.urgency) {
        Ok(common::Urgency::Unspecified) => violations.add(path("urgency"), "is required"),
        Ok(_) => {}
        Err(_) => violations.add(path("urgency"), format!("unknown value {}", input.urgency)),
    }

    let follows = input.follows_placement_id.trim();
    if !follows.is_empty() && uuid::Uuid::parse_str(follows).is_err() {
        violations.add(
            path("follows_placement_id"),
            "must be a placement id (a UUID) or empty",
        );
    }

    match (input.in_emergency_home, &input.emergency_home_since) {
        (true, None) => violations.add(
            path("emergency_home_since"),
            "is required when in_emergency_home is set",
        ),
        (false, Some(_)) => violations.add(
            path("emergency_home_since"),
            "must be unset unless in_emergency_home is set",
        ),
        (true, Some(since)) => match convert::date(since) {
            None => violations.add(path("emergency_home_since"), "is not a valid calendar date"),
            Some(since) if since > today => {
                violations.add(path("emergency_home_since"), "must not be after today")
            }
            Some(since) if birth_year.is_some_and(|born| since.year() < born) => violations.add(
                path("emergency_home_since"),
                "must not be before the child's birth year",
            ),
            Some(_) => {}
        },
        (false, None) => {}
    }

    if violations.len() != before {
        return None;
    }
    let (municipality, district) = unit?;
    let content = pb::PlacementRequest {
        requesting_unit: Some(common::RequestingUnit {
            municipality: Some(convert::municipality_code_to_proto(municipality)),
            district: district.clone().unwrap_or_default(),
        }),
        case_reference: case_reference?,
        birth_year: input.birth_year,
        sex: input.sex,
        needs: sorted_unique(&input.needs),
        needs_description: needs_description?.unwrap_or_default(),
        sibling_birth_years: input.sibling_birth_years.clone(),
        commission_kind: input.commission_kind,
        proximity: Some(common::ProximityRequirement {
            acceptable_municipalities: proximity.acceptable_municipalities,
            max_distance_km: proximity.max_distance_km,
        }),
        max_fee_level: input.max_fee_level.trim().to_owned(),
        offered_support: sorted_unique(&input.offered_support),
        offered_support_description: support_description?.unwrap_or_default(),
        urgency: input.urgency,
        wanted_start_date: wanted_start_date.map(convert::date_to_proto),
        follows_placement_id: follows.to_owned(),
        in_emergency_home: input.in_emergency_home,
        emergency_home_since: input.emergency_home_since,
        ..Default::default()
    };
    Some(RequestDraft {
        municipality,
        district,
        age_band: age_band?,
        sibling_age_bands,
        commission_kind: commission_kind?,
        content,
    })
}

fn check_requesting_unit(
    unit: Option<&common::RequestingUnit>,
    field: &str,
    county: &County,
    today: NaiveDate,
    violations: &mut Violations,
) -> Option<(MunicipalityCode, Option<String>)> {
    let Some(unit) = unit else {
        violations.add(field, "is required");
        return None;
    };
    let Some(code) = &unit.municipality else {
        violations.add(format!("{field}.municipality"), "is required");
        return None;
    };
    let code = violations.check(
        &format!("{field}.municipality.value"),
        convert::municipality_code(code),
    )?;
    let district = Some(unit.district.trim()).filter(|district| !district.is_empty());
    match county.check_requesting_unit(code, district, today) {
        Ok(_) => Some((code, district.map(str::to_owned))),
        Err(
            error @ (hearth_county::MembershipError::NotMember(_)
            | hearth_county::MembershipError::NotMemberOn { .. }),
        ) => {
            violations.add(format!("{field}.municipality.value"), error.to_string());
            None
        }
        Err(error) => {
            violations.add(format!("{field}.district"), error.to_string());
            None
        }
    }
}

fn check_birth_year(
    year: i32,
    field: &str,
    oldest: i32,
    today: NaiveDate,
    violations: &mut Violations,
) -> Option<i32> {
    if year == 0 {
        violations.add(field, "is required");
        None
    } else if !is_child_birth_year(year, today) {
        violations.add(
            field,
            format!("must be a year from {oldest} to {}", today.year()),
        );
        None
    } else {
        Some(year)
    }
}

/// The age band on the wanted start date of a checked birth year; `None` (with a violation on
/// `field` when the band is missing) unless both the year and the date passed their checks.
fn check_age_band(
    birth_year: Option<i32>,
    start: Option<NaiveDate>,
    field: &str,
    violations: &mut Violations,
) -> Option<AgeBand> {
    match age_band_at_start(birth_year?, start?) {
        Ok(band) => Some(band),
        Err(error) => {
            violations.add(field, format!("{error} on the wanted start date"));
            None
        }
    }
}

fn check_description(
    value: &str,
    max: usize,
    field: &str,
    violations: &mut Violations,
) -> Option<Option<String>> {
    match text::free_text(value, max, true) {
        Err(message) => {
            violations.add(field, message);
            None
        }
        Ok(Some(description)) if text::looks_like_personal_identity_number(&description) => {
            violations.add(field, "must not hold a personal identity number");
            None
        }
        Ok(description) => Some(description),
    }
}

/// A list of a protobuf enum: each value known and specified (0 is always "unspecified").
fn check_enum_list<E: TryFrom<i32>>(values: &[i32], field: &str, violations: &mut Violations) {
    for (index, value) in values.iter().enumerate() {
        if *value == 0 || E::try_from(*value).is_err() {
            violations.add(
                format!("{field}[{index}]"),
                format!("unknown or unspecified value {value}"),
            );
        } else if values[..index].contains(value) {
            violations.add(format!("{field}[{index}]"), "is listed twice");
        }
    }
}

fn sorted_unique(values: &[i32]) -> Vec<i32> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
}

/// Applies the `update_mask` paths of an update to the stored content. Unknown or read-only
/// paths are violations against `update_mask.paths[i]`.
pub fn apply_mask(
    stored: &pb::PlacementRequest,
    incoming: &pb::PlacementRequest,
    paths: &[String],
    violations: &mut Violations,
) -> pb::PlacementRequest {
    let mut merged = stored.clone();
    if paths.is_empty() {
        violations.add("update_mask", "must name at least one field to change");
    }
    for (index, path) in paths.iter().enumerate() {
        match path.as_str() {
            "case_reference" => merged.case_reference.clone_from(&incoming.case_reference),
            "birth_year" => merged.birth_year = incoming.birth_year,
            "sex" => merged.sex = incoming.sex,
            "needs" => merged.needs.clone_from(&incoming.needs),
            "needs_description" => merged
                .needs_description
                .clone_from(&incoming.needs_description),
            "sibling_birth_years" => merged
                .sibling_birth_years
                .clone_from(&incoming.sibling_birth_years),
            "commission_kind" => merged.commission_kind = incoming.commission_kind,
            "proximity" => merged.proximity.clone_from(&incoming.proximity),
            "max_fee_level" => merged.max_fee_level.clone_from(&incoming.max_fee_level),
            "offered_support" => merged.offered_support.clone_from(&incoming.offered_support),
            "offered_support_description" => merged
                .offered_support_description
                .clone_from(&incoming.offered_support_description),
            "urgency" => merged.urgency = incoming.urgency,
            "wanted_start_date" => merged.wanted_start_date = incoming.wanted_start_date,
            "follows_placement_id" => merged
                .follows_placement_id
                .clone_from(&incoming.follows_placement_id),
            "in_emergency_home" => merged.in_emergency_home = incoming.in_emergency_home,
            "emergency_home_since" => merged.emergency_home_since = incoming.emergency_home_since,
            "requesting_unit" => violations.add(
                format!("update_mask.paths[{index}]"),
                "requesting_unit cannot be changed: withdraw the request and open a new one",
            ),
            other => violations.add(
                format!("update_mask.paths[{index}]"),
                format!(
                    "`{other}` cannot be changed; changeable fields: {}",
                    UPDATABLE_FIELDS.join(", ")
                ),
            ),
        }
    }
    merged
}

/// A withdrawal's reason and note.
pub fn check_withdrawal(
    reason: i32,
    note: &str,
    violations: &mut Violations,
) -> Option<(common::WithdrawalReason, String)> {
    let reason = match common::WithdrawalReason::try_from(reason) {
        Ok(common::WithdrawalReason::Unspecified) => {
            violations.add("reason", "is required");
            None
        }
        Ok(reason) => Some(reason),
        Err(_) => {
            violations.add("reason", format!("unknown value {reason}"));
            None
        }
    };
    let note = match text::free_text(note, MAX_WITHDRAWAL_NOTE, true) {
        Err(message) => {
            violations.add("note", message);
            None
        }
        Ok(None) if reason == Some(common::WithdrawalReason::Other) => {
            violations.add("note", "is required when reason is WITHDRAWAL_REASON_OTHER");
            None
        }
        Ok(Some(note)) if text::looks_like_personal_identity_number(&note) => {
            violations.add("note", "must not hold a personal identity number");
            None
        }
        Ok(note) => Some(note.unwrap_or_default()),
    };
    Some((reason?, note?))
}
