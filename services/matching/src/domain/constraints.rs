//! The hard constraints: what a family must meet to be a candidate at all.
//!
//! Every constraint is checked, not only the first that fails, so that "why not this family?"
//! gets the whole answer and staff can show the pool was searched on equal terms. Each failure
//! is a named variant carrying the facts that decided it, and explains itself in Swedish and
//! English.

use chrono::NaiveDate;
use hearth_domain::{AgeBand, CommissionKind};

use super::distance::{Distance, Origin};
use super::pool::{AvailabilityKind, PoolFamily, Request};
use super::text::{Sentence, count};

/// Which child of the request an age-band failure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Child {
    /// The child the request is for.
    Requested,
    /// A sibling to be placed together with it (0 is the first sibling listed).
    Sibling(usize),
}

/// A hard constraint a family fails, with what decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HardConstraint {
    /// The family does not take the age band of the child or of a sibling.
    AgeBand { child: Child, band: AgeBand },
    /// The family does not take the kind of commission asked for.
    CommissionKind { asked: CommissionKind },
    /// Fewer free places than the children to be placed together.
    Capacity { free: u32, needed: u32 },
    /// The family's fee level is above the municipality's maximum (ranks in the county's
    /// order, 0 the lowest).
    FeeLevel { family_rank: usize, max_rank: usize },
    /// Not in an acceptable municipality and not within the distance (`None`: unknown, because
    /// the family's or the municipality's position is).
    Proximity {
        distance: Option<Distance>,
        max_km: Option<u32>,
    },
    /// Paused or away on the wanted start date, until `until` (`None`: open-ended).
    PausedOnStartDate { until: Option<NaiveDate> },
    /// No availability period covers the start date; the next one begins on `from` (`None`:
    /// none ahead).
    NotYetAvailable { from: Option<NaiveDate> },
    /// A pending proposal holds the family.
    HeldByProposal,
    /// The family has left the pool.
    LeftPool,
}

/// The coarse kind of a hard constraint, as the API names it
/// (`hearth.matching.v1.HardConstraint`): the four availability failures are one kind there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConstraintKind {
    AgeBand,
    CommissionKind,
    Capacity,
    FeeLevel,
    Proximity,
    Availability,
}

impl HardConstraint {
    pub fn kind(&self) -> ConstraintKind {
        match self {
            Self::AgeBand { .. } => ConstraintKind::AgeBand,
            Self::CommissionKind { .. } => ConstraintKind::CommissionKind,
            Self::Capacity { .. } => ConstraintKind::Capacity,
            Self::FeeLevel { .. } => ConstraintKind::FeeLevel,
            Self::Proximity { .. } => ConstraintKind::Proximity,
            Self::PausedOnStartDate { .. }
            | Self::NotYetAvailable { .. }
            | Self::HeldByProposal
            | Self::LeftPool => ConstraintKind::Availability,
        }
    }

    /// Why the family is not a candidate, for staff.
    pub fn explain(&self) -> Sentence {
        match *self {
            Self::AgeBand { child, band } => {
                let (sv, en) = match child {
                    Child::Requested => ("barnets".to_owned(), "the child's".to_owned()),
                    Child::Sibling(index) => (
                        format!("syskon {}s", index + 1),
                        format!("sibling {}'s", index + 1),
                    ),
                };
                let years = format!("{}–{}", band.min_years(), band.max_years());
                Sentence::new(
                    format!("Familjen tar inte emot {sv} åldersgrupp {years} år"),
                    format!("The family does not take {en} age band, {years} years"),
                )
            }
            Self::CommissionKind { asked } => {
                let (sv, en) = commission_names(asked);
                Sentence::new(
                    format!("Familjen tar inte uppdrag som {sv}"),
                    format!("The family does not take commissions as {en}"),
                )
            }
            Self::Capacity { free, needed } => Sentence::new(
                format!(
                    "Familjen har {} men {needed} barn ska placeras",
                    count(free as usize, "ledig plats", "lediga platser")
                ),
                format!(
                    "The family has {} but {} to be placed",
                    count(free as usize, "free place", "free places"),
                    if needed == 1 {
                        "1 child is".to_owned()
                    } else {
                        format!("{needed} children are")
                    }
                ),
            ),
            Self::FeeLevel {
                family_rank,
                max_rank,
            } => Sentence::new(
                format!(
                    "Familjens arvodesnivå ({}) är över kommunens högsta ({})",
                    family_rank + 1,
                    max_rank + 1
                ),
                format!(
                    "The family's fee level ({}) is above the municipality's maximum ({})",
                    family_rank + 1,
                    max_rank + 1
                ),
            ),
            Self::Proximity { distance, max_km } => match (distance, max_km) {
                (Some(distance), Some(max)) => {
                    let km = distance.rounded_km();
                    Sentence::new(
                        format!(
                            "Familjen bor {km} km bort, längre än {max} km, och inte i en godtagen kommun"
                        ),
                        format!(
                            "The family lives {km} km away, further than {max} km, and not in an acceptable municipality"
                        ),
                    )
                }
                (None, Some(max)) => Sentence::new(
                    format!(
                        "Avståndet är okänt, så det kan inte visas att familjen bor inom {max} km, och den bor inte i en godtagen kommun"
                    ),
                    format!(
                        "The distance is unknown, so the family cannot be shown to live within {max} km, and it does not live in an acceptable municipality"
                    ),
                ),
                (_, None) => Sentence::new(
                    "Familjen bor inte i någon av de godtagna kommunerna",
                    "The family does not live in any of the acceptable municipalities",
                ),
            },
            Self::PausedOnStartDate { until } => match until {
                Some(until) => Sentence::new(
                    format!("Familjen har uppehåll på startdagen, till och med {until}"),
                    format!("The family is paused on the start date, until {until}"),
                ),
                None => Sentence::new(
                    "Familjen har uppehåll på startdagen, tills vidare",
                    "The family is paused on the start date, until further notice",
                ),
            },
            Self::NotYetAvailable { from } => match from {
                Some(from) => Sentence::new(
                    format!("Familjen är inte tillgänglig på startdagen, först från {from}"),
                    format!("The family is not available on the start date, only from {from}"),
                ),
                None => Sentence::new(
                    "Familjen har ingen tillgänglig period från startdagen",
                    "The family has no period of availability from the start date",
                ),
            },
            Self::HeldByProposal => Sentence::new(
                "Familjen är reserverad av ett förslag som väntar på svar",
                "The family is held by a proposal awaiting an answer",
            ),
            Self::LeftPool => Sentence::new(
                "Familjen har lämnat familjehemsbanken",
                "The family has left the pool",
            ),
        }
    }
}

/// The kind of commission in Swedish and in English, for sentences.
pub(crate) fn commission_names(kind: CommissionKind) -> (&'static str, &'static str) {
    match kind {
        CommissionKind::LongTermFosterHome => ("familjehem", "a long-term foster home"),
        CommissionKind::EmergencyHome => ("jourhem", "an emergency home"),
        CommissionKind::ContactFamily => ("kontaktfamilj", "a contact family"),
        CommissionKind::NetworkHome => ("nätverkshem", "a network home"),
    }
}

/// Checks every hard constraint of `request` against `family`, pushing each failure onto
/// `failures` (which the caller clears and reuses: no allocation per family). Returns the
/// distance when both positions are known, for the score.
///
/// With `all` false it stops at the first failure: enough when the excluded families are not
/// listed.
pub(crate) fn check(
    request: &Request,
    origin: Option<&Origin>,
    family: &PoolFamily,
    all: bool,
    failures: &mut Vec<HardConstraint>,
) -> Option<Distance> {
    macro_rules! fail {
        ($failure:expr) => {{
            failures.push($failure);
            if !all {
                return None;
            }
        }};
    }
    if family.left_pool {
        fail!(HardConstraint::LeftPool);
    }
    if family.held_by_proposal {
        fail!(HardConstraint::HeldByProposal);
    }
    let children = std::iter::once((Child::Requested, request.age_band)).chain(
        request
            .sibling_age_bands
            .iter()
            .enumerate()
            .map(|(index, band)| (Child::Sibling(index), *band)),
    );
    for (child, band) in children {
        if !family.age_bands.contains(&band) {
            fail!(HardConstraint::AgeBand { child, band });
        }
    }
    if !family.commission_kinds.contains(&request.commission_kind) {
        fail!(HardConstraint::CommissionKind {
            asked: request.commission_kind
        });
    }
    let free = family.free_capacity();
    let needed = request.children();
    if free < needed {
        fail!(HardConstraint::Capacity { free, needed });
    }
    if family.fee_level_rank > request.max_fee_level_rank {
        fail!(HardConstraint::FeeLevel {
            family_rank: family.fee_level_rank,
            max_rank: request.max_fee_level_rank,
        });
    }
    let distance = origin
        .zip(family.position)
        .map(|(origin, position)| origin.distance_to(position));
    if !meets_proximity(request, family, distance) {
        fail!(HardConstraint::Proximity {
            distance,
            max_km: request.proximity.max_distance_km,
        });
    }
    if let Some(failure) = availability_failure(family, request.wanted_start_date) {
        fail!(failure);
    }
    distance
}

/// Proximity: in a listed municipality OR within the distance; with neither rule, no limit. An
/// unknown distance never shows the family to be within it.
fn meets_proximity(request: &Request, family: &PoolFamily, distance: Option<Distance>) -> bool {
    let rule = &request.proximity;
    if rule.acceptable_municipalities.is_empty() && rule.max_distance_km.is_none() {
        return true;
    }
    rule.acceptable_municipalities
        .contains(&family.home_municipality)
        || rule
            .max_distance_km
            .zip(distance)
            .is_some_and(|(max, distance)| distance.is_within_km(max))
}

/// Why the family is not available on `start`, if it is not: a paused period covering the day
/// wins over an available one; a day in no available period is "not yet available".
fn availability_failure(family: &PoolFamily, start: NaiveDate) -> Option<HardConstraint> {
    let covering = |kind| {
        family
            .availability
            .iter()
            .filter(move |period| period.kind == kind && period.covers(start))
    };
    // Periods of one kind do not overlap (assessment refuses it), so one pause at most covers it.
    if let Some(pause) = covering(AvailabilityKind::Paused).next() {
        return Some(HardConstraint::PausedOnStartDate { until: pause.end });
    }
    if covering(AvailabilityKind::Available).next().is_some() {
        return None;
    }
    let from = family
        .availability
        .iter()
        .filter(|period| period.kind == AvailabilityKind::Available && period.start > start)
        .map(|period| period.start)
        .min();
    Some(HardConstraint::NotYetAvailable { from })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::fixtures::{
        BORLANGE, FALUN, available_from, code, date, family, point, request,
    };
    use crate::domain::pool::{AvailabilityPeriod, Proximity};
    use hearth_county::GeoPoint;

    /// Every failure, as `rank` with `include_excluded` sees them.
    fn failures(request: &Request, family: &PoolFamily) -> Vec<HardConstraint> {
        let origin = request.origin.map(Origin::new);
        let mut failures = Vec::new();
        check(request, origin.as_ref(), family, true, &mut failures);
        failures
    }

    #[test]
    fn the_fixture_family_passes_every_constraint() {
        assert_eq!(failures(&request(), &family("a")), vec![]);
    }

    #[test]
    fn the_childs_age_band() {
        let mut f = family("a");
        f.age_bands = vec![AgeBand::Age0To6];
        assert_eq!(
            failures(&request(), &f),
            vec![HardConstraint::AgeBand {
                child: Child::Requested,
                band: AgeBand::Age7To12
            }]
        );
    }

    #[test]
    fn every_siblings_age_band() {
        let mut f = family("a");
        f.age_bands = vec![AgeBand::Age7To12];
        f.capacity = 3;
        let mut r = request();
        r.sibling_age_bands = vec![AgeBand::Age7To12, AgeBand::Age13To20];
        let got = failures(&r, &f);
        assert_eq!(
            got,
            vec![HardConstraint::AgeBand {
                child: Child::Sibling(1),
                band: AgeBand::Age13To20
            }]
        );
        assert_eq!(
            got[0].explain().en,
            "The family does not take sibling 2's age band, 13–20 years"
        );
    }

    #[test]
    fn the_commission_kind() {
        let mut f = family("a");
        f.commission_kinds = vec![CommissionKind::EmergencyHome];
        let got = failures(&request(), &f);
        assert_eq!(
            got,
            vec![HardConstraint::CommissionKind {
                asked: CommissionKind::LongTermFosterHome
            }]
        );
        assert_eq!(
            got[0].explain().sv,
            "Familjen tar inte uppdrag som familjehem"
        );
    }

    #[test]
    fn free_capacity_counts_every_sibling() {
        let mut f = family("a");
        f.capacity = 3;
        f.placed_now = 1;
        let mut r = request();
        r.sibling_age_bands = vec![AgeBand::Age7To12];
        assert_eq!(failures(&r, &f), vec![]);
        r.sibling_age_bands.push(AgeBand::Age7To12);
        assert_eq!(
            failures(&r, &f),
            vec![HardConstraint::Capacity { free: 2, needed: 3 }]
        );
    }

    #[test]
    fn free_capacity_is_never_negative() {
        let mut f = family("a");
        f.capacity = 1;
        f.placed_now = 3;
        assert_eq!(f.free_capacity(), 0);
        assert_eq!(
            failures(&request(), &f),
            vec![HardConstraint::Capacity { free: 0, needed: 1 }]
        );
    }

    #[test]
    fn the_fee_level_up_to_the_maximum() {
        let mut f = family("a");
        f.fee_level_rank = 1;
        assert_eq!(failures(&request(), &f), vec![]);
        f.fee_level_rank = 2;
        assert_eq!(
            failures(&request(), &f),
            vec![HardConstraint::FeeLevel {
                family_rank: 2,
                max_rank: 1
            }]
        );
    }

    /// A family due north of the request's origin, `microdegrees` of latitude away.
    fn north_of_origin(microdegrees: i32) -> PoolFamily {
        let mut f = family("a");
        f.home_municipality = code(BORLANGE);
        let origin = request().origin.unwrap();
        f.position = Some(GeoPoint {
            latitude_microdegrees: origin.latitude_microdegrees + microdegrees,
            longitude_microdegrees: origin.longitude_microdegrees,
        });
        f
    }

    /// The offset (about 0.11 m a step) at which the distance first rounds to `metres`.
    fn offset_for(metres: u64) -> i32 {
        let start = request().origin.unwrap();
        let origin = Origin::new(start);
        let guess = i32::try_from(metres * 1_000_000 / 111_195).unwrap();
        (guess - 2_000..guess + 2_000)
            .find(|&k| {
                let position = GeoPoint {
                    latitude_microdegrees: start.latitude_microdegrees + k,
                    ..start
                };
                origin.distance_to(position).metres == metres
            })
            .unwrap()
    }

    #[test]
    fn exactly_at_the_maximum_distance_passes_and_a_metre_over_fails() {
        let mut r = request();
        r.proximity.max_distance_km = Some(50);
        assert_eq!(failures(&r, &north_of_origin(offset_for(50_000))), vec![]);
        assert_eq!(
            failures(&r, &north_of_origin(offset_for(50_001))),
            vec![HardConstraint::Proximity {
                distance: Some(Distance::from_metres(50_001)),
                max_km: Some(50)
            }]
        );
    }

    #[test]
    fn a_listed_municipality_or_the_distance_is_enough() {
        let far = {
            let mut f = family("a");
            f.home_municipality = code(BORLANGE);
            f.position = Some(point(61.5, 15.6));
            f
        };
        let near_unlisted = north_of_origin(offset_for(10_000));
        let listed_only = Proximity {
            acceptable_municipalities: vec![code(BORLANGE)],
            max_distance_km: None,
        };
        let distance_only = Proximity {
            acceptable_municipalities: vec![],
            max_distance_km: Some(20),
        };
        let both = Proximity {
            acceptable_municipalities: vec![code(FALUN)],
            max_distance_km: Some(20),
        };
        let mut r = request();
        r.proximity = listed_only;
        assert_eq!(failures(&r, &far), vec![], "listed, however far");
        assert_eq!(
            failures(&r, &family("in-falun")),
            vec![HardConstraint::Proximity {
                distance: Some(Distance::from_metres(0)),
                max_km: None
            }],
            "not listed, though at the main town"
        );
        r.proximity = distance_only;
        assert_eq!(failures(&r, &near_unlisted), vec![]);
        assert_eq!(failures(&r, &far).len(), 1);
        r.proximity = both;
        assert_eq!(failures(&r, &family("in-falun")), vec![], "listed");
        assert_eq!(failures(&r, &near_unlisted), vec![], "within 20 km");
        let got = failures(&r, &far);
        assert_eq!(got.len(), 1);
        assert!(
            got[0].explain().sv.contains("längre än 20 km"),
            "{}",
            got[0].explain()
        );
    }

    #[test]
    fn without_either_rule_there_is_no_limit() {
        let mut f = family("a");
        f.position = Some(point(67.85, 20.22)); // Kiruna
        assert_eq!(failures(&request(), &f), vec![]);
        f.position = None;
        assert_eq!(failures(&request(), &f), vec![]);
    }

    #[test]
    fn an_unknown_distance_is_never_within_the_maximum() {
        let mut f = family("a");
        f.position = None;
        let mut r = request();
        r.proximity.max_distance_km = Some(500);
        assert_eq!(
            failures(&r, &f),
            vec![HardConstraint::Proximity {
                distance: None,
                max_km: Some(500)
            }]
        );
    }

    #[test]
    fn paused_or_away_on_the_start_date() {
        let mut f = family("a");
        // Away in July.
        f.availability.push(AvailabilityPeriod {
            kind: AvailabilityKind::Paused,
            start: date(2026, 7, 1),
            end: Some(date(2026, 7, 31)),
        });
        let mut r = request();
        r.wanted_start_date = date(2026, 7, 15);
        let got = failures(&r, &f);
        assert_eq!(
            got,
            vec![HardConstraint::PausedOnStartDate {
                until: Some(date(2026, 7, 31))
            }]
        );
        assert_eq!(
            got[0].explain().sv,
            "Familjen har uppehåll på startdagen, till och med 2026-07-31"
        );
        r.wanted_start_date = date(2026, 8, 1);
        assert_eq!(failures(&r, &f), vec![]);
        r.wanted_start_date = date(2026, 6, 30);
        assert_eq!(failures(&r, &f), vec![]);
    }

    #[test]
    fn not_yet_available_on_the_start_date() {
        let mut f = family("a");
        // Free from March.
        f.availability = vec![available_from(date(2026, 3, 1))];
        let mut r = request();
        r.wanted_start_date = date(2026, 2, 20);
        assert_eq!(
            failures(&r, &f),
            vec![HardConstraint::NotYetAvailable {
                from: Some(date(2026, 3, 1))
            }]
        );
        r.wanted_start_date = date(2026, 3, 1);
        assert_eq!(failures(&r, &f), vec![]);
        f.availability = vec![];
        assert_eq!(
            failures(&r, &f),
            vec![HardConstraint::NotYetAvailable { from: None }]
        );
    }

    #[test]
    fn held_by_a_proposal_and_left_the_pool() {
        let mut f = family("a");
        f.held_by_proposal = true;
        assert_eq!(
            failures(&request(), &f),
            vec![HardConstraint::HeldByProposal]
        );
        f.left_pool = true;
        assert_eq!(
            failures(&request(), &f),
            vec![HardConstraint::LeftPool, HardConstraint::HeldByProposal]
        );
        assert!(
            failures(&request(), &f)
                .iter()
                .all(|failure| failure.kind() == ConstraintKind::Availability)
        );
    }

    #[test]
    fn every_failure_is_listed_and_the_short_check_stops_at_the_first() {
        let mut f = family("a");
        f.left_pool = true;
        f.age_bands = vec![AgeBand::Age0To6];
        f.commission_kinds = vec![];
        f.capacity = 0;
        f.fee_level_rank = 5;
        f.position = None;
        f.availability = vec![];
        let mut r = request();
        r.proximity.max_distance_km = Some(10);
        let kinds: Vec<ConstraintKind> =
            failures(&r, &f).iter().map(HardConstraint::kind).collect();
        assert_eq!(
            kinds,
            vec![
                ConstraintKind::Availability,
                ConstraintKind::AgeBand,
                ConstraintKind::CommissionKind,
                ConstraintKind::Capacity,
                ConstraintKind::FeeLevel,
                ConstraintKind::Proximity,
                ConstraintKind::Availability,
            ]
        );
        let mut first = Vec::new();
        check(&r, None, &f, false, &mut first);
        assert_eq!(first, vec![HardConstraint::LeftPool]);
    }

    #[test]
    fn every_failure_explains_itself_in_both_languages() {
        let all = [
            HardConstraint::AgeBand {
                child: Child::Requested,
                band: AgeBand::Age0To6,
            },
            HardConstraint::CommissionKind {
                asked: CommissionKind::EmergencyHome,
            },
            HardConstraint::Capacity { free: 1, needed: 2 },
            HardConstraint::FeeLevel {
                family_rank: 2,
                max_rank: 0,
            },
            HardConstraint::Proximity {
                distance: Some(Distance::from_metres(61_600)),
                max_km: Some(50),
            },
            HardConstraint::Proximity {
                distance: None,
                max_km: Some(50),
            },
            HardConstraint::Proximity {
                distance: None,
                max_km: None,
            },
            HardConstraint::PausedOnStartDate { until: None },
            HardConstraint::NotYetAvailable { from: None },
            HardConstraint::HeldByProposal,
            HardConstraint::LeftPool,
        ];
        for failure in all {
            let sentence = failure.explain();
            assert!(!sentence.sv.is_empty() && !sentence.en.is_empty());
            assert_ne!(sentence.sv, sentence.en, "{failure:?}");
        }
        assert_eq!(
            all[4].explain().en,
            "The family lives 62 km away, further than 50 km, and not in an acceptable municipality"
        );
        assert_eq!(
            all[2].explain().sv,
            "Familjen har 1 ledig plats men 2 barn ska placeras"
        );
    }
}
