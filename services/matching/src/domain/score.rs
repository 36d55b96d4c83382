//! The score of a candidate: integer points from named components, each with the facts that
//! gave its points and a sentence for staff.
//!
//! Integers, not floats, because the score decides the order and the order must be the same on
//! every machine and explainable to the point: each component is `weight × share` in whole
//! points, rounded down, where the share is a ratio of whole numbers (needs met of needs,
//! metres under the reference distance, days waited of the reference wait).

use chrono::NaiveDate;

use super::distance::Distance;
use super::pool::{PoolFamily, Request};
use super::text::{Sentence, count};

/// How much each component can add at most. The county file will carry a county's own weights
/// (a later slice); until then every county ranks with [`Weights::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weights {
    /// Points for experience with every one of the child's needs (shared out by needs met).
    pub needs_experience: u32,
    /// Points at distance zero, falling linearly to none at `distance_reference_km`.
    pub distance: u32,
    pub distance_reference_km: u32,
    /// Points for having completed the basic course.
    pub basic_course: u32,
    /// Points when the municipality's offer covers all the support the family needs (shared
    /// out by needs covered; a family that needs none gets them all).
    pub support: u32,
    /// Points for having been a foster home before.
    pub earlier_experience: u32,
    /// Points for waiting `waiting_reference_days` or longer without a placement, rising
    /// linearly from none on the first day.
    pub waiting: u32,
    pub waiting_reference_days: u32,
}

impl Default for Weights {
    /// The child's needs weigh most (the point of matching); then the support the home will
    /// need, and the distance (school and network, though the hard limit already keeps the
    /// family near); the basic course and earlier experience count as much as each other; the
    /// wait keeps the pool fair without outranking the child's needs: a year's wait is worth
    /// as much as one of four needs met.
    fn default() -> Self {
        Self {
            needs_experience: 40,
            distance: 20,
            distance_reference_km: 100,
            basic_course: 10,
            support: 15,
            earlier_experience: 10,
            waiting: 10,
            waiting_reference_days: 365,
        }
    }
}

/// The named components of the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentKind {
    NeedsExperience,
    Distance,
    BasicCourse,
    Support,
    EarlierExperience,
    Waiting,
}

/// One component: the facts that gave it its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// The family has experience with `met` of the child's `of` needs.
    NeedsExperience {
        met: u32,
        of: u32,
    },
    /// Distance to the requesting municipality's main town; `None` when unknown.
    Distance {
        distance: Option<Distance>,
    },
    BasicCourse {
        done: bool,
    },
    /// The municipality's offer covers `covered` of the family's `needed` kinds of support.
    Support {
        covered: u32,
        needed: u32,
    },
    EarlierExperience {
        has: bool,
    },
    /// Waiting without a placement since `since`, `days` days on the ranking's date; `None`
    /// while a child is placed with the family.
    Waiting {
        since: Option<NaiveDate>,
        days: u32,
    },
}

/// A component of a candidate's score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    pub factor: Factor,
    pub points: i32,
}

/// A candidate's score: the total and its components, in [`ComponentKind`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    pub total: i32,
    pub components: [Component; 6],
}

impl Score {
    /// The components, largest contribution first (ties in [`ComponentKind`] order), as staff
    /// read them.
    pub fn by_points(&self) -> [Component; 6] {
        let mut components = self.components;
        components.sort_by_key(|component| std::cmp::Reverse(component.points));
        components
    }
}

/// Scores a family that passed the hard constraints.
pub fn score(
    request: &Request,
    family: &PoolFamily,
    distance: Option<Distance>,
    on_date: NaiveDate,
    weights: &Weights,
) -> Score {
    let needs = small(request.needs.len());
    let met = small(
        request
            .needs
            .iter()
            .filter(|need| family.accepted_needs.contains(need))
            .count(),
    );
    let support_needed = small(family.support_needs.len());
    let covered = small(
        family
            .support_needs
            .iter()
            .filter(|kind| request.offered_support.contains(kind))
            .count(),
    );
    let waited = family.waiting_since.map_or(0, |since| {
        u32::try_from((on_date - since).num_days().max(0)).unwrap_or(u32::MAX)
    });
    let reference_m = u64::from(weights.distance_reference_km) * 1000;
    let components = [
        Component {
            factor: Factor::NeedsExperience { met, of: needs },
            points: share(weights.needs_experience, u64::from(met), u64::from(needs)),
        },
        Component {
            factor: Factor::Distance { distance },
            points: distance.map_or(0, |distance| {
                share(
                    weights.distance,
                    reference_m - distance.metres.min(reference_m),
                    reference_m,
                )
            }),
        },
        Component {
            factor: Factor::BasicCourse {
                done: family.basic_course_done,
            },
            points: all_or_none(weights.basic_course, family.basic_course_done),
        },
        Component {
            factor: Factor::Support {
                covered,
                needed: support_needed,
            },
            points: if support_needed == 0 {
                all_or_none(weights.support, true)
            } else {
                share(
                    weights.support,
                    u64::from(covered),
                    u64::from(support_needed),
                )
            },
        },
        Component {
            factor: Factor::EarlierExperience {
                has: family.has_earlier_experience,
            },
            points: all_or_none(weights.earlier_experience, family.has_earlier_experience),
        },
        Component {
            factor: Factor::Waiting {
                since: family.waiting_since,
                days: waited,
            },
            points: share(
                weights.waiting,
                u64::from(waited.min(weights.waiting_reference_days)),
                u64::from(weights.waiting_reference_days),
            ),
        },
    ];
    let total = components.iter().fold(0i32, |total, component| {
        total.saturating_add(component.points)
    });
    Score { total, components }
}

/// `weight × part / whole` in whole points, rounded down; none when `whole` is zero.
fn share(weight: u32, part: u64, whole: u64) -> i32 {
    if whole == 0 {
        return 0;
    }
    let points = u64::from(weight) * part.min(whole) / whole;
    i32::try_from(points).unwrap_or(i32::MAX)
}

fn all_or_none(weight: u32, yes: bool) -> i32 {
    if yes {
        i32::try_from(weight).unwrap_or(i32::MAX)
    } else {
        0
    }
}

/// A count of needs or kinds of support: a handful, never near `u32::MAX`.
fn small(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Component {
    pub fn kind(&self) -> ComponentKind {
        match self.factor {
            Factor::NeedsExperience { .. } => ComponentKind::NeedsExperience,
            Factor::Distance { .. } => ComponentKind::Distance,
            Factor::BasicCourse { .. } => ComponentKind::BasicCourse,
            Factor::Support { .. } => ComponentKind::Support,
            Factor::EarlierExperience { .. } => ComponentKind::EarlierExperience,
            Factor::Waiting { .. } => ComponentKind::Waiting,
        }
    }

    /// The component in plain language. Built on demand, so ranking a large pool allocates
    /// sentences only for the page that is shown.
    pub fn explain(&self) -> Sentence {
        match self.factor {
            Factor::NeedsExperience { of: 0, .. } => Sentence::new(
                "Barnet har inga angivna behov",
                "The child has no recorded needs",
            ),
            Factor::NeedsExperience { met, of } => Sentence::new(
                format!("Familjen har erfarenhet av {met} av barnets {of} behov"),
                format!(
                    "The family has experience with {met} of the child's {}",
                    count(of as usize, "need", "needs")
                ),
            ),
            Factor::Distance { distance: None } => Sentence::new(
                "Avståndet till kommunens centralort är okänt",
                "The distance to the municipality's main town is unknown",
            ),
            Factor::Distance {
                distance: Some(distance),
            } => {
                let km = distance.rounded_km();
                Sentence::new(
                    format!("Familjen bor {km} km från kommunens centralort"),
                    format!("The family lives {km} km from the municipality's main town"),
                )
            }
            Factor::BasicCourse { done: true } => Sentence::new(
                "Familjen har gått grundutbildningen",
                "The family has completed the basic course",
            ),
            Factor::BasicCourse { done: false } => Sentence::new(
                "Familjen har inte gått grundutbildningen",
                "The family has not completed the basic course",
            ),
            Factor::Support { needed: 0, .. } => Sentence::new(
                "Familjen behöver inget extra stöd",
                "The family needs no extra support",
            ),
            Factor::Support { covered, needed } => Sentence::new(
                format!("Kommunens stöd täcker {covered} av familjens {needed} stödbehov"),
                format!(
                    "The municipality's support covers {covered} of the family's {}",
                    count(needed as usize, "support need", "support needs")
                ),
            ),
            Factor::EarlierExperience { has: true } => Sentence::new(
                "Familjen har varit familjehem tidigare",
                "The family has been a foster home before",
            ),
            Factor::EarlierExperience { has: false } => Sentence::new(
                "Familjen har inte varit familjehem tidigare",
                "The family has not been a foster home before",
            ),
            Factor::Waiting { since: None, .. } => Sentence::new(
                "Familjen har ett barn placerat nu",
                "A child is placed with the family now",
            ),
            Factor::Waiting {
                since: Some(since),
                days,
            } => Sentence::new(
                format!(
                    "Familjen har väntat på en placering i {}, sedan {since}",
                    count(days as usize, "dag", "dagar")
                ),
                format!(
                    "The family has waited {} without a placement, since {since}",
                    count(days as usize, "day", "days")
                ),
            ),
        }
    }
}
