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

/// How much each component can add at most, and the references its share is measured
/// against. The maxima are the county's (`[matching.weights]` in the county file, see
/// [`hearth_county::ScoreWeights`] for the defaults and why); the references are fixed.
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

impl Weights {
    /// Distance points fall to none at 100 km.
    pub const DISTANCE_REFERENCE_KM: u32 = 100;
    /// Full waiting points after a year without a placement.
    pub const WAITING_REFERENCE_DAYS: u32 = 365;
}

impl Default for Weights {
    /// The weights of a county file without `[matching.weights]`.
    fn default() -> Self {
        Self::from(&hearth_county::MatchingSettings::default())
    }
}

impl From<&hearth_county::MatchingSettings> for Weights {
    /// A county's ranking weights from its county file.
    fn from(settings: &hearth_county::MatchingSettings) -> Self {
        let given = settings.weights;
        Self {
            needs_experience: given.needs_experience,
            distance: given.distance,
            distance_reference_km: Self::DISTANCE_REFERENCE_KM,
            basic_course: given.basic_course,
            support: given.support,
            earlier_experience: given.earlier_experience,
            waiting: given.waiting,
            waiting_reference_days: Self::WAITING_REFERENCE_DAYS,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::fixtures::{county_with, date, family, request};
    use crate::domain::pool::{Need, SupportKind};

    const ON: fn() -> NaiveDate = || date(2026, 3, 1);

    fn component(
        family: &PoolFamily,
        request: &Request,
        distance: Option<Distance>,
        kind: ComponentKind,
    ) -> Component {
        let score = score(request, family, distance, ON(), &Weights::default());
        *score.components.iter().find(|c| c.kind() == kind).unwrap()
    }

    #[test]
    fn the_weights_come_from_the_county_file() {
        assert_eq!(
            Weights::default(),
            Weights {
                needs_experience: 40,
                distance: 20,
                distance_reference_km: 100,
                basic_course: 10,
                support: 15,
                earlier_experience: 10,
                waiting: 10,
                waiting_reference_days: 365,
            },
            "a county file without [matching.weights] ranks as before"
        );
        let county = county_with("[matching.weights]\nneeds_experience = 100\nbasic_course = 0");
        let weights = Weights::from(county.matching());
        assert_eq!(weights.needs_experience, 100);
        assert_eq!(weights.basic_course, 0);
        assert_eq!(weights.support, 15);
        let mut f = family("a");
        f.accepted_needs = vec![Need::Trauma];
        f.basic_course_done = true;
        let mut r = request();
        r.needs = vec![Need::Trauma, Need::SchoolProblems];
        let scored = score(&r, &f, None, ON(), &weights);
        let points = |kind| {
            scored
                .components
                .iter()
                .find(|c: &&Component| c.kind() == kind)
                .unwrap()
                .points
        };
        assert_eq!(points(ComponentKind::NeedsExperience), 50);
        assert_eq!(points(ComponentKind::BasicCourse), 0);
    }

    #[test]
    fn experience_with_the_childs_needs_is_shared_out_by_needs_met() {
        let mut f = family("a");
        f.accepted_needs = vec![Need::Trauma, Need::SchoolProblems];
        let mut r = request();
        r.needs = vec![Need::Trauma, Need::SchoolProblems, Need::SubstanceUse];
        let got = component(&f, &r, None, ComponentKind::NeedsExperience);
        assert_eq!(got.points, 26); // 40 × 2 / 3, rounded down
        assert_eq!(
            got.explain().sv,
            "Familjen har erfarenhet av 2 av barnets 3 behov"
        );
        assert_eq!(
            got.explain().en,
            "The family has experience with 2 of the child's 3 needs"
        );
        r.needs = vec![Need::Trauma];
        let got = component(&f, &r, None, ComponentKind::NeedsExperience);
        assert_eq!(got.points, 40);
        assert_eq!(
            got.explain().en,
            "The family has experience with 1 of the child's 1 need"
        );
        r.needs = vec![];
        let got = component(&f, &r, None, ComponentKind::NeedsExperience);
        assert_eq!(got.points, 0);
        assert_eq!(got.explain().en, "The child has no recorded needs");
    }

    #[test]
    fn distance_points_fall_linearly_to_none_at_the_reference() {
        let (f, r) = (family("a"), request());
        let at = |metres| {
            component(
                &f,
                &r,
                Some(Distance::from_metres(metres)),
                ComponentKind::Distance,
            )
        };
        assert_eq!(at(0).points, 20);
        assert_eq!(at(50_000).points, 10);
        assert_eq!(at(50_001).points, 9);
        assert_eq!(at(100_000).points, 0);
        assert_eq!(at(400_000).points, 0);
        assert_eq!(
            at(17_400).explain().sv,
            "Familjen bor 17 km från kommunens centralort"
        );
        let unknown = component(&f, &r, None, ComponentKind::Distance);
        assert_eq!(unknown.points, 0);
        assert_eq!(
            unknown.explain().en,
            "The distance to the municipality's main town is unknown"
        );
    }

    #[test]
    fn the_basic_course_and_earlier_experience() {
        let mut f = family("a");
        f.basic_course_done = true;
        f.has_earlier_experience = true;
        let r = request();
        let course = component(&f, &r, None, ComponentKind::BasicCourse);
        assert_eq!(
            (course.points, course.explain().sv.as_str()),
            (10, "Familjen har gått grundutbildningen")
        );
        let earlier = component(&f, &r, None, ComponentKind::EarlierExperience);
        assert_eq!(
            (earlier.points, earlier.explain().en.as_str()),
            (10, "The family has been a foster home before")
        );
        f.basic_course_done = false;
        f.has_earlier_experience = false;
        assert_eq!(
            component(&f, &r, None, ComponentKind::BasicCourse).points,
            0
        );
        assert_eq!(
            component(&f, &r, None, ComponentKind::EarlierExperience).points,
            0
        );
    }

    #[test]
    fn support_the_family_needs_against_support_offered() {
        let mut f = family("a");
        let mut r = request();
        f.support_needs = vec![];
        let none = component(&f, &r, None, ComponentKind::Support);
        assert_eq!(
            (none.points, none.explain().en.as_str()),
            (15, "The family needs no extra support")
        );
        f.support_needs = vec![SupportKind::ExtraSupervision, SupportKind::ReliefCare];
        r.offered_support = vec![SupportKind::ExtraSupervision];
        let half = component(&f, &r, None, ComponentKind::Support);
        assert_eq!(half.points, 7);
        assert_eq!(
            half.explain().sv,
            "Kommunens stöd täcker 1 av familjens 2 stödbehov"
        );
        r.offered_support = vec![SupportKind::ReliefCare, SupportKind::ExtraSupervision];
        assert_eq!(component(&f, &r, None, ComponentKind::Support).points, 15);
        r.offered_support = vec![];
        assert_eq!(component(&f, &r, None, ComponentKind::Support).points, 0);
    }

    #[test]
    fn the_wait_without_a_placement_counts_up_to_a_year() {
        let mut f = family("a");
        let r = request();
        f.waiting_since = Some(ON());
        assert_eq!(component(&f, &r, None, ComponentKind::Waiting).points, 0);
        f.waiting_since = Some(date(2025, 12, 18)); // 73 days: a fifth of a year
        let got = component(&f, &r, None, ComponentKind::Waiting);
        assert_eq!(got.points, 2);
        assert_eq!(
            got.explain().en,
            "The family has waited 73 days without a placement, since 2025-12-18"
        );
        assert_eq!(
            got.explain().sv,
            "Familjen har väntat på en placering i 73 dagar, sedan 2025-12-18"
        );
        f.waiting_since = Some(date(2025, 2, 28));
        assert_eq!(component(&f, &r, None, ComponentKind::Waiting).points, 10);
        f.waiting_since = Some(date(2020, 1, 1));
        assert_eq!(component(&f, &r, None, ComponentKind::Waiting).points, 10);
        f.waiting_since = None;
        let placed = component(&f, &r, None, ComponentKind::Waiting);
        assert_eq!(
            (placed.points, placed.explain().en.as_str()),
            (0, "A child is placed with the family now")
        );
        // A date after the ranking's date (bad data) counts as no wait, never negative.
        f.waiting_since = Some(date(2026, 6, 1));
        assert_eq!(component(&f, &r, None, ComponentKind::Waiting).points, 0);
    }

    #[test]
    fn the_total_is_the_sum_and_the_components_read_largest_first() {
        let f = family("a");
        let r = request();
        let got = score(
            &r,
            &f,
            Some(Distance::from_metres(0)),
            ON(),
            &Weights::default(),
        );
        let sum: i32 = got.components.iter().map(|c| c.points).sum();
        assert_eq!(got.total, sum);
        // Needs 40, distance 20, course 10, support 15, earlier 0, wait 59 days → 1.
        assert_eq!(got.total, 86);
        let order: Vec<ComponentKind> = got.by_points().iter().map(Component::kind).collect();
        assert_eq!(
            order,
            vec![
                ComponentKind::NeedsExperience,
                ComponentKind::Distance,
                ComponentKind::Support,
                ComponentKind::BasicCourse,
                ComponentKind::Waiting,
                ComponentKind::EarlierExperience,
            ]
        );
    }

    #[test]
    fn the_weights_decide_the_points() {
        let weights = Weights {
            needs_experience: 0,
            distance: 0,
            basic_course: 7,
            support: 0,
            earlier_experience: 0,
            waiting: 0,
            ..Weights::default()
        };
        let got = score(&request(), &family("a"), None, ON(), &weights);
        assert_eq!(got.total, 7);
        let zero_reference = Weights {
            distance_reference_km: 0,
            waiting_reference_days: 0,
            ..Weights::default()
        };
        let got = score(
            &request(),
            &family("a"),
            Some(Distance::from_metres(0)),
            ON(),
            &zero_reference,
        );
        assert_eq!(
            got.components[1].points, 0,
            "no reference distance: no distance points"
        );
        assert_eq!(got.components[5].points, 0);
    }
}
