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
use super::text::Sentence;

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
                format!("Familjen har {free} lediga platser men {needed} barn ska placeras"),
                format!("The family has {free} free places but {needed} children are to be placed"),
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
