//! The county's matching settings (the `[matching]` section of the county file): how long a
//! municipality has to answer a proposal and how much each component of a candidate's score
//! can add at most.
//!
//! Plain values: the matching service turns them into its own ranking weights, so this crate
//! knows the components' names but none of the scoring.

/// The matching settings of a county. A county file without a `[matching]` section (or
/// without some of its keys) gets [`MatchingSettings::default`] for what it leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchingSettings {
    /// Calendar days after a proposal within which the municipality must meet the family and
    /// answer (`answer_days`).
    pub answer_days: u32,
    /// The most points each score component can add (`[matching.weights]`).
    pub weights: ScoreWeights,
}

impl MatchingSettings {
    /// The default answer window: two weeks.
    pub const DEFAULT_ANSWER_DAYS: u32 = 14;
    /// The answer window a county may set, in days.
    pub const ANSWER_DAYS: std::ops::RangeInclusive<u32> = 1..=60;
    /// The weight a county may give a component.
    pub const WEIGHT: std::ops::RangeInclusive<u32> = 0..=1000;
}

impl Default for MatchingSettings {
    fn default() -> Self {
        Self {
            answer_days: Self::DEFAULT_ANSWER_DAYS,
            weights: ScoreWeights::default(),
        }
    }
}

/// The most points of each score component, named as in the county file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreWeights {
    /// Experience with every one of the child's needs.
    pub needs_experience: u32,
    /// Being at distance zero from the requesting municipality's main town.
    pub distance: u32,
    /// Having completed the basic course.
    pub basic_course: u32,
    /// The municipality's offer covering all the support the family needs.
    pub support: u32,
    /// Having been a foster home before.
    pub earlier_experience: u32,
    /// A full reference wait without a placement.
    pub waiting: u32,
}

impl ScoreWeights {
    /// The components' names in the county file, in the score's order.
    pub const NAMES: [&'static str; 6] = [
        "needs_experience",
        "distance",
        "basic_course",
        "support",
        "earlier_experience",
        "waiting",
    ];
}

impl Default for ScoreWeights {
    /// The child's needs weigh most (the point of matching); then the support the home will
    /// need, and the distance (school and network, though the hard limit already keeps the
    /// family near); the basic course and earlier experience count as much as each other; the
    /// wait keeps the pool fair without outranking the child's needs: a year's wait is worth
    /// as much as one of four needs met.
    fn default() -> Self {
        Self {
            needs_experience: 40,
            distance: 20,
            basic_course: 10,
            support: 15,
            earlier_experience: 10,
            waiting: 10,
        }
    }
}
