//! What a valid family profile is (on approval and on every update), and a family's
//! availability on a date.

use chrono::NaiveDate;
use hearth_county::County;
use hearth_proto::assessment::v1 as pb;
use hearth_proto::common::v1 as common;
use hearth_proto::convert;
use hearth_proto::events::v1::FamilyProfileFacts;
use hearth_rpc::Violations;

/// The longest display name.
pub const MAX_DISPLAY_NAME: usize = 120;
/// The most children a family can be approved for at once.
pub const MAX_CAPACITY: u32 = 10;

/// A checked profile: its personal part and what matching needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileDraft {
    pub display_name: String,
    pub facts: FamilyProfileFacts,
}

/// The fields UpdateFamilyProfile may change.
pub const UPDATABLE: &[&str] = &[
    "display_name",
    "location",
    "capacity",
    "age_bands",
    "commission_kinds",
    "accepted_needs",
    "fee_level",
    "support_needs",
    "has_earlier_experience",
    "availability",
];

/// Checks a profile from the wire (`field` is its path). An empty availability means available
/// from `default_from` on.
pub fn check_profile(
    input: &pb::FamilyProfile,
    field: &str,
    county: &County,
    default_from: NaiveDate,
    violations: &mut Violations,
) -> Option<ProfileDraft> {
    let before = violations.len();
    let display_name = input.display_name.trim();
    if display_name.is_empty() {
        violations.add(format!("{field}.display_name"), "is required");
    } else if display_name.chars().count() > MAX_DISPLAY_NAME {
        violations.add(
            format!("{field}.display_name"),
            format!("must be at most {MAX_DISPLAY_NAME} characters"),
        );
    }
    let location = check_location(input.location.as_ref(), field, county, violations);
    if !(1..=MAX_CAPACITY).contains(&input.capacity) {
        violations.add(
            format!("{field}.capacity"),
            format!("must be 1 to {MAX_CAPACITY}"),
        );
    }
    check_enums(
        &input.age_bands,
        &format!("{field}.age_bands"),
        true,
        violations,
        |v| convert::age_band(v).is_some(),
    );
    check_enums(
        &input.commission_kinds,
        &format!("{field}.commission_kinds"),
        true,
        violations,
        |v| convert::commission_kind(v).is_some_and(|kind| kind.can_register_for()),
    );
    check_enums(
        &input.accepted_needs,
        &format!("{field}.accepted_needs"),
        false,
        violations,
        |v| common::Need::try_from(v).is_ok_and(|need| need != common::Need::Unspecified),
    );
    check_enums(
        &input.support_needs,
        &format!("{field}.support_needs"),
        false,
        violations,
        |v| {
            common::SupportKind::try_from(v)
                .is_ok_and(|kind| kind != common::SupportKind::Unspecified)
        },
    );
    if county.fee_level(input.fee_level.trim()).is_none() {
        let known: Vec<&str> = county
            .fee_levels()
            .iter()
            .map(|level| level.code.as_str())
            .collect();
        violations.add(
            format!("{field}.fee_level"),
            format!(
                "must be one of the county's fee levels: {}",
                known.join(", ")
            ),
        );
    }
    let availability = if input.availability.is_empty() {
        vec![common::AvailabilityPeriod {
            period: Some(common::DatePeriod {
                start: Some(convert::date_to_proto(default_from)),
                end: None,
            }),
            kind: common::AvailabilityKind::Available as i32,
        }]
    } else {
        check_availability(
            &input.availability,
            &format!("{field}.availability"),
            violations,
        );
        input.availability.clone()
    };
    if violations.len() > before {
        return None;
    }
    Some(ProfileDraft {
        display_name: display_name.to_owned(),
        facts: FamilyProfileFacts {
            location,
            capacity: input.capacity,
            age_bands: sorted(&input.age_bands),
            commission_kinds: sorted(&input.commission_kinds),
            accepted_needs: sorted(&input.accepted_needs),
            fee_level: input.fee_level.trim().to_owned(),
            support_needs: sorted(&input.support_needs),
            has_earlier_experience: input.has_earlier_experience,
            availability,
        },
    })
}

fn sorted(values: &[i32]) -> Vec<i32> {
    let mut values = values.to_vec();
    values.sort_unstable();
    values.dedup();
    values
}

fn check_location(
    location: Option<&common::Location>,
    field: &str,
    county: &County,
    violations: &mut Violations,
) -> Option<common::Location> {
    let Some(location) = location else {
        violations.add(format!("{field}.location"), "is required");
        return None;
    };
    let path = format!("{field}.location.municipality.value");
    let Some(code) = location.municipality.as_ref() else {
        violations.add(format!("{field}.location.municipality"), "is required");
        return None;
    };
    let code = violations.check(&path, convert::municipality_code(code))?;
    if county.member(code).is_none() {
        violations.add(
            path,
            format!("{code} is not a member municipality of this county"),
        );
        return None;
    }
    if let Some(position) = &location.position
        && (position.latitude_microdegrees.unsigned_abs() > 90_000_000
            || position.longitude_microdegrees.unsigned_abs() > 180_000_000)
    {
        violations.add(
            format!("{field}.location.position"),
            "must be within ±90 degrees latitude and ±180 degrees longitude",
        );
        return None;
    }
    Some(location.clone())
}

fn check_enums(
    values: &[i32],
    field: &str,
    required: bool,
    violations: &mut Violations,
    valid: impl Fn(i32) -> bool,
) {
    if required && values.is_empty() {
        violations.add(field, "must name at least one");
    }
    for (index, value) in values.iter().enumerate() {
        if !valid(*value) {
            violations.add(
                format!("{field}[{index}]"),
                format!("unknown, unspecified or not allowed value {value}"),
            );
        }
    }
}

/// A checked period: its kind and its dates (end inclusive, `None` open-ended).
fn period_of(period: &common::AvailabilityPeriod) -> Option<(i32, NaiveDate, Option<NaiveDate>)> {
    let dates = period.period.as_ref()?;
    let start = convert::date(dates.start.as_ref()?)?;
    let end = match &dates.end {
        Some(end) => Some(convert::date(end)?),
        None => None,
    };
    Some((period.kind, start, end))
}

fn check_availability(
    periods: &[common::AvailabilityPeriod],
    field: &str,
    violations: &mut Violations,
) {
    let mut checked = Vec::with_capacity(periods.len());
    for (index, period) in periods.iter().enumerate() {
        let path = format!("{field}[{index}]");
        let kind_ok = common::AvailabilityKind::try_from(period.kind)
            .is_ok_and(|kind| kind != common::AvailabilityKind::Unspecified);
        if !kind_ok {
            violations.add(
                format!("{path}.kind"),
                format!("unknown or unspecified value {}", period.kind),
            );
        }
        match period_of(period) {
            None => violations.add(
                format!("{path}.period"),
                "needs a valid start date (and a valid end date when set)",
            ),
            Some((_, start, Some(end))) if end < start => {
                violations.add(format!("{path}.period.end"), "is before the start");
            }
            Some(found) if kind_ok => checked.push((index, found)),
            Some(_) => {}
        }
    }
    for (position, (index, (kind, start, end))) in checked.iter().enumerate() {
        let overlaps =
            checked[..position]
                .iter()
                .any(|(_, (other_kind, other_start, other_end))| {
                    other_kind == kind
                        && end.is_none_or(|end| *other_start <= end)
                        && other_end.is_none_or(|other_end| *start <= other_end)
                });
        if overlaps {
            violations.add(
                format!("{field}[{index}].period"),
                "overlaps an earlier period of the same kind",
            );
        }
    }
}

/// Copies the fields named in `paths` from `incoming` onto `stored`; unknown paths are
/// violations against `update_mask.paths[i]`.
pub fn apply_mask(
    stored: &pb::FamilyProfile,
    incoming: &pb::FamilyProfile,
    paths: &[String],
    violations: &mut Violations,
) -> pb::FamilyProfile {
    let mut merged = stored.clone();
    for (index, path) in paths.iter().enumerate() {
        match path.as_str() {
            "display_name" => merged.display_name.clone_from(&incoming.display_name),
            "location" => merged.location.clone_from(&incoming.location),
            "capacity" => merged.capacity = incoming.capacity,
            "age_bands" => merged.age_bands.clone_from(&incoming.age_bands),
            "commission_kinds" => merged
                .commission_kinds
                .clone_from(&incoming.commission_kinds),
            "accepted_needs" => merged.accepted_needs.clone_from(&incoming.accepted_needs),
            "fee_level" => merged.fee_level.clone_from(&incoming.fee_level),
            "support_needs" => merged.support_needs.clone_from(&incoming.support_needs),
            "has_earlier_experience" => {
                merged.has_earlier_experience = incoming.has_earlier_experience;
            }
            "availability" => {
                merged.availability.clone_from(&incoming.availability);
                if merged.availability.is_empty() {
                    violations.add(
                        "family_profile.availability",
                        "must list at least one period (use a paused period to pause the family)",
                    );
                }
            }
            other => violations.add(
                format!("update_mask.paths[{index}]"),
                format!(
                    "`{other}` cannot be changed; changeable fields: {}",
                    UPDATABLE.join(", ")
                ),
            ),
        }
    }
    merged
}

/// A family's availability on `on`: a paused period covering the day wins over an available
/// one; a day in no period counts as paused.
pub fn availability_on(
    periods: &[common::AvailabilityPeriod],
    left: bool,
    on: NaiveDate,
) -> pb::CurrentAvailability {
    if left {
        return pb::CurrentAvailability::Left;
    }
    let covering = |wanted: common::AvailabilityKind| {
        periods
            .iter()
            .filter_map(period_of)
            .any(|(kind, start, end)| {
                kind == wanted as i32 && start <= on && end.is_none_or(|end| on <= end)
            })
    };
    if covering(common::AvailabilityKind::Available) && !covering(common::AvailabilityKind::Paused)
    {
        pb::CurrentAvailability::Available
    } else {
        pb::CurrentAvailability::Paused
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn period(
        kind: common::AvailabilityKind,
        start: &str,
        end: Option<&str>,
    ) -> common::AvailabilityPeriod {
        common::AvailabilityPeriod {
            period: Some(common::DatePeriod {
                start: Some(convert::date_to_proto(date(start))),
                end: end.map(|end| convert::date_to_proto(date(end))),
            }),
            kind: kind as i32,
        }
    }

    pub fn valid() -> pb::FamilyProfile {
        pb::FamilyProfile {
            display_name: "Öberg, Falun".to_owned(),
            location: Some(common::Location {
                municipality: Some(common::MunicipalityCode {
                    value: "2080".to_owned(),
                }),
                position: None,
            }),
            capacity: 2,
            age_bands: vec![common::AgeBand::AgeBand1320 as i32],
            commission_kinds: vec![common::CommissionKind::LongTermFosterHome as i32],
            fee_level: "2".to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_profile_defaults_to_available() {
        let mut violations = Violations::new();
        let draft = check_profile(
            &valid(),
            "family_profile",
            &County::dalarna(),
            date("2026-03-01"),
            &mut violations,
        )
        .unwrap();
        assert!(violations.is_empty());
        assert_eq!(
            availability_on(&draft.facts.availability, false, date("2026-03-01")),
            pb::CurrentAvailability::Available
        );
        assert_eq!(
            availability_on(&draft.facts.availability, false, date("2026-02-28")),
            pb::CurrentAvailability::Paused
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut bad = valid();
        bad.display_name = " ".to_owned();
        bad.capacity = 0;
        bad.age_bands.clear();
        bad.commission_kinds = vec![common::CommissionKind::NetworkHome as i32];
        bad.fee_level = "9".to_owned();
        bad.availability = vec![
            period(common::AvailabilityKind::Available, "2026-01-01", None),
            period(
                common::AvailabilityKind::Available,
                "2026-06-01",
                Some("2026-07-01"),
            ),
            period(
                common::AvailabilityKind::Paused,
                "2026-07-01",
                Some("2026-06-01"),
            ),
        ];
        let mut violations = Violations::new();
        assert!(
            check_profile(
                &bad,
                "p",
                &County::dalarna(),
                date("2026-01-01"),
                &mut violations
            )
            .is_none()
        );
        let error = violations.finish().unwrap_err().to_string();
        for field in [
            "p.display_name",
            "p.capacity",
            "p.age_bands",
            "p.commission_kinds[0]",
            "p.fee_level",
            "p.availability[1].period",
            "p.availability[2].period.end",
        ] {
            assert!(error.contains(field), "{field} missing in {error}");
        }
    }

    #[test]
    fn pauses_win_over_available_periods() {
        let periods = vec![
            period(common::AvailabilityKind::Available, "2026-01-01", None),
            period(
                common::AvailabilityKind::Paused,
                "2026-07-01",
                Some("2026-07-31"),
            ),
        ];
        assert_eq!(
            availability_on(&periods, false, date("2026-07-15")),
            pb::CurrentAvailability::Paused
        );
        assert_eq!(
            availability_on(&periods, false, date("2026-08-01")),
            pb::CurrentAvailability::Available
        );
        assert_eq!(
            availability_on(&periods, true, date("2026-08-01")),
            pb::CurrentAvailability::Left
        );
    }
}
