//! What a valid family profile is (on approval and on every update), and a family's
//! availability on a date.

use chrono::NaiveDate;
use hearth_county::County;
use hearth_domain::{AgeBand, CommissionKind, MunicipalityCode, Violations};

/// The vocabulary of needs and support is shared with matching (`hearth_domain`).
pub use hearth_domain::{Need, SupportKind};

/// The longest display name.
pub const MAX_DISPLAY_NAME: usize = 120;
/// The most children a family can be approved for at once.
pub const MAX_CAPACITY: u32 = 10;

/// What a family is in an availability period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvailabilityKind {
    Available,
    Paused,
}

/// A family's availability on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentAvailability {
    Available,
    Paused,
    Left,
}

/// An approximate position, in micro-degrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeoPoint {
    pub latitude_microdegrees: i32,
    pub longitude_microdegrees: i32,
}

/// Where a family lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub municipality: MunicipalityCode,
    /// Unset: the municipality's main town.
    pub position: Option<GeoPoint>,
}

/// A period of a family's availability: its kind and its days (end inclusive, `None`
/// open-ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvailabilityPeriod {
    pub kind: AvailabilityKind,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

/// What matching needs of a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFacts {
    pub location: Location,
    pub capacity: u32,
    pub age_bands: Vec<AgeBand>,
    pub commission_kinds: Vec<CommissionKind>,
    pub accepted_needs: Vec<Need>,
    pub fee_level: String,
    pub support_needs: Vec<SupportKind>,
    pub has_earlier_experience: bool,
    pub availability: Vec<AvailabilityPeriod>,
}

/// A checked profile: its personal part and what matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileDraft {
    pub display_name: String,
    pub facts: ProfileFacts,
}

/// A profile as sent, read field by field: `None` where what was sent could not be read (the
/// reader recorded why), a list `None` when one of its values could not be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInput {
    pub display_name: String,
    pub location: Option<Location>,
    pub capacity: u32,
    pub age_bands: Option<Vec<AgeBand>>,
    /// Only kinds a family may be approved for (those it could register for).
    pub commission_kinds: Option<Vec<CommissionKind>>,
    pub accepted_needs: Option<Vec<Need>>,
    pub fee_level: String,
    pub support_needs: Option<Vec<SupportKind>>,
    pub has_earlier_experience: bool,
    /// One per period sent, in order.
    pub availability: Vec<PeriodInput>,
}

/// An availability period as sent: its kind and its days, each where it could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodInput {
    pub kind: Option<AvailabilityKind>,
    /// The first day and the last (inclusive, `None` open-ended).
    pub dates: Option<(NaiveDate, Option<NaiveDate>)>,
}

/// Whether a family may be approved for `kind`: the kinds it could register interest for.
pub fn may_take(kind: CommissionKind) -> bool {
    kind.can_register_for()
}

/// Checks a profile (`field` is its path; violations name the fields under it). An empty
/// availability means available from `default_from` on.
pub fn check_profile(
    input: ProfileInput,
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
    let location = input
        .location
        .filter(|location| check_location(location, field, county, violations));
    if !(1..=MAX_CAPACITY).contains(&input.capacity) {
        violations.add(
            format!("{field}.capacity"),
            format!("must be 1 to {MAX_CAPACITY}"),
        );
    }
    for (name, empty) in [
        (
            "age_bands",
            input.age_bands.as_ref().is_some_and(Vec::is_empty),
        ),
        (
            "commission_kinds",
            input.commission_kinds.as_ref().is_some_and(Vec::is_empty),
        ),
    ] {
        if empty {
            violations.add(format!("{field}.{name}"), "must name at least one");
        }
    }
    let fee_level = input.fee_level.trim();
    if county.fee_level(fee_level).is_none() {
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
        Some(vec![AvailabilityPeriod {
            kind: AvailabilityKind::Available,
            start: default_from,
            end: None,
        }])
    } else {
        check_availability(
            &input.availability,
            &format!("{field}.availability"),
            violations,
        )
    };
    if violations.len() > before {
        return None;
    }
    Some(ProfileDraft {
        display_name: display_name.to_owned(),
        facts: ProfileFacts {
            location: location?,
            capacity: input.capacity,
            age_bands: sorted(input.age_bands?),
            commission_kinds: sorted(input.commission_kinds?),
            accepted_needs: sorted(input.accepted_needs?),
            fee_level: fee_level.to_owned(),
            support_needs: sorted(input.support_needs?),
            has_earlier_experience: input.has_earlier_experience,
            availability: availability?,
        },
    })
}

fn sorted<T: Ord>(mut values: Vec<T>) -> Vec<T> {
    values.sort_unstable();
    values.dedup();
    values
}

/// Whether the family's home is in the county and its position on the globe.
fn check_location(
    location: &Location,
    field: &str,
    county: &County,
    violations: &mut Violations,
) -> bool {
    let code = location.municipality;
    if county.member(code).is_none() {
        violations.add(
            format!("{field}.location.municipality.value"),
            format!("{code} is not a member municipality of this county"),
        );
        return false;
    }
    if let Some(position) = &location.position
        && (position.latitude_microdegrees.unsigned_abs() > 90_000_000
            || position.longitude_microdegrees.unsigned_abs() > 180_000_000)
    {
        violations.add(
            format!("{field}.location.position"),
            "must be within ±90 degrees latitude and ±180 degrees longitude",
        );
        return false;
    }
    true
}

/// The periods, when each was read and none ends before it starts or overlaps an earlier one
/// of the same kind.
fn check_availability(
    periods: &[PeriodInput],
    field: &str,
    violations: &mut Violations,
) -> Option<Vec<AvailabilityPeriod>> {
    let mut complete = true;
    let mut checked = Vec::with_capacity(periods.len());
    for (index, period) in periods.iter().enumerate() {
        let Some((start, end)) = period.dates else {
            complete = false;
            continue;
        };
        if end.is_some_and(|end| end < start) {
            violations.add(
                format!("{field}[{index}].period.end"),
                "is before the start",
            );
            complete = false;
            continue;
        }
        match period.kind {
            Some(kind) => checked.push((index, AvailabilityPeriod { kind, start, end })),
            None => complete = false,
        }
    }
    for (position, (index, period)) in checked.iter().enumerate() {
        let overlaps = checked[..position].iter().any(|(_, other)| {
            other.kind == period.kind
                && period.end.is_none_or(|end| other.start <= end)
                && other.end.is_none_or(|other_end| period.start <= other_end)
        });
        if overlaps {
            violations.add(
                format!("{field}[{index}].period"),
                "overlaps an earlier period of the same kind",
            );
            complete = false;
        }
    }
    complete.then(|| checked.into_iter().map(|(_, period)| period).collect())
}

/// A family's availability on `on`: a paused period covering the day wins over an available
/// one; a day in no period counts as paused.
pub fn availability_on(
    periods: &[AvailabilityPeriod],
    left: bool,
    on: NaiveDate,
) -> CurrentAvailability {
    if left {
        return CurrentAvailability::Left;
    }
    let covering = |wanted: AvailabilityKind| {
        periods.iter().any(|period| {
            period.kind == wanted && period.start <= on && period.end.is_none_or(|end| on <= end)
        })
    };
    if covering(AvailabilityKind::Available) && !covering(AvailabilityKind::Paused) {
        CurrentAvailability::Available
    } else {
        CurrentAvailability::Paused
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn period(kind: AvailabilityKind, start: &str, end: Option<&str>) -> AvailabilityPeriod {
        AvailabilityPeriod {
            kind,
            start: date(start),
            end: end.map(date),
        }
    }

    fn input() -> ProfileInput {
        ProfileInput {
            display_name: " Öberg, Falun ".to_owned(),
            location: Some(Location {
                municipality: MunicipalityCode::parse("2080").unwrap(),
                position: None,
            }),
            capacity: 2,
            age_bands: Some(vec![
                AgeBand::Age13To20,
                AgeBand::Age0To6,
                AgeBand::Age13To20,
            ]),
            commission_kinds: Some(vec![CommissionKind::LongTermFosterHome]),
            accepted_needs: Some(vec![Need::Trauma]),
            fee_level: "2".to_owned(),
            support_needs: Some(Vec::new()),
            has_earlier_experience: false,
            availability: Vec::new(),
        }
    }

    #[test]
    fn a_read_profile_is_normalised() {
        let mut violations = Violations::new();
        let draft = check_profile(
            input(),
            "p",
            &County::dalarna(),
            date("2026-03-01"),
            &mut violations,
        )
        .unwrap();
        assert!(violations.is_empty());
        assert_eq!(draft.display_name, "Öberg, Falun");
        assert_eq!(
            draft.facts.age_bands,
            [AgeBand::Age0To6, AgeBand::Age13To20]
        );
        assert_eq!(
            draft.facts.availability,
            [period(AvailabilityKind::Available, "2026-03-01", None)]
        );
    }

    #[test]
    fn what_the_reader_refused_leaves_no_draft_and_no_second_violation() {
        let mut refused = input();
        // One of the kinds sent could not be read: that is the reader's violation, not
        // "must name at least one".
        refused.commission_kinds = None;
        refused.availability = vec![PeriodInput {
            kind: None,
            dates: Some((date("2026-01-01"), None)),
        }];
        let mut violations = Violations::new();
        let draft = check_profile(
            refused,
            "p",
            &County::dalarna(),
            date("2026-01-01"),
            &mut violations,
        );
        assert!(draft.is_none());
        assert!(violations.is_empty());
    }

    #[test]
    fn the_home_must_be_in_the_county_and_periods_must_not_overlap() {
        let mut outside = input();
        outside.location = Some(Location {
            municipality: MunicipalityCode::parse("0180").unwrap(),
            position: None,
        });
        outside.availability = [("2026-01-01", None), ("2026-02-01", Some("2026-03-01"))]
            .into_iter()
            .map(|(start, end)| PeriodInput {
                kind: Some(AvailabilityKind::Available),
                dates: Some((date(start), end.map(date))),
            })
            .collect();
        let mut violations = Violations::new();
        assert!(
            check_profile(
                outside,
                "p",
                &County::dalarna(),
                date("2026-01-01"),
                &mut violations
            )
            .is_none()
        );
        let error = violations.finish().unwrap_err().to_string();
        assert!(
            error.contains(
                "p.location.municipality.value: 0180 is not a member municipality of this county"
            ),
            "{error}"
        );
        assert!(
            error.contains("p.availability[1].period: overlaps an earlier period of the same kind"),
            "{error}"
        );
    }

    #[test]
    fn pauses_win_over_available_periods() {
        let periods = vec![
            period(AvailabilityKind::Available, "2026-01-01", None),
            period(AvailabilityKind::Paused, "2026-07-01", Some("2026-07-31")),
        ];
        assert_eq!(
            availability_on(&periods, false, date("2026-07-15")),
            CurrentAvailability::Paused
        );
        assert_eq!(
            availability_on(&periods, false, date("2026-08-01")),
            CurrentAvailability::Available
        );
        assert_eq!(
            availability_on(&periods, true, date("2026-08-01")),
            CurrentAvailability::Left
        );
    }
}
