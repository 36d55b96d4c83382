//! The county's assessment settings (the `[assessment]` section of the county file): the
//! priority list that orders the assessment queue, the time limit that flags slow cases and how
//! long a case that ended without approval is kept.

use hearth_domain::{AgeBand, CommissionKind};

/// The assessment settings of a county. A county file without an `[assessment]` section gets
/// [`AssessmentSettings::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentSettings {
    /// Days from the interest registration after which an open case is over the time limit.
    pub time_limit_days: u32,
    /// Days after the decision that a case which ended without approval (not suitable,
    /// withdrawn by the family) is kept before the retention job erases it.
    pub retention_days: u32,
    /// The priority list, first rule first: a case's rank is the position of the first rule
    /// it matches (1 comes first); a case that matches none comes after all of them.
    pub priority: Vec<PriorityRule>,
}

impl AssessmentSettings {
    /// The default time limit: four months, the time the units aim for.
    pub const DEFAULT_TIME_LIMIT_DAYS: u32 = 120;
    /// The default retention of cases that ended without approval: a year.
    pub const DEFAULT_RETENTION_DAYS: u32 = 365;

    /// The default priority list: families for teenagers first, then experienced families
    /// (those who can take complex needs), then emergency homes — the scarcest first.
    pub fn default_priority() -> Vec<PriorityRule> {
        vec![
            PriorityRule::AgeBand(AgeBand::Age13To20),
            PriorityRule::EarlierExperience,
            PriorityRule::CommissionKind(CommissionKind::EmergencyHome),
        ]
    }

    /// The rank of a case in the queue (1 comes first) from what the family is open to.
    pub fn priority_rank(&self, family: &FamilyOpenness<'_>) -> u32 {
        let position = self
            .priority
            .iter()
            .position(|rule| rule.matches(family))
            .unwrap_or(self.priority.len());
        u32::try_from(position).unwrap_or(u32::MAX - 1) + 1
    }
}

impl Default for AssessmentSettings {
    fn default() -> Self {
        Self {
            time_limit_days: Self::DEFAULT_TIME_LIMIT_DAYS,
            retention_days: Self::DEFAULT_RETENTION_DAYS,
            priority: Self::default_priority(),
        }
    }
}

/// What a registering family is open to: what the priority rules look at.
#[derive(Debug, Clone, Copy)]
pub struct FamilyOpenness<'a> {
    pub age_bands: &'a [AgeBand],
    pub commission_kinds: &'a [CommissionKind],
    pub has_earlier_experience: bool,
}

/// One rule of the priority list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorityRule {
    /// `age_band_0_6`, `age_band_7_12`, `age_band_13_20`: families open to this age band.
    AgeBand(AgeBand),
    /// `commission_kind_<kind>`, e.g. `commission_kind_emergency_home`: families open to it.
    CommissionKind(CommissionKind),
    /// `earlier_experience`: families that have been a foster home, emergency home or contact
    /// family before (those most likely to take complex needs).
    EarlierExperience,
}

impl PriorityRule {
    /// Every rule name the county file accepts.
    pub fn known_names() -> Vec<String> {
        let mut names: Vec<String> = AgeBand::ALL
            .iter()
            .map(|band| Self::AgeBand(*band).name())
            .collect();
        names.extend(
            CommissionKind::ALL
                .iter()
                .filter(|kind| kind.can_register_for())
                .map(|kind| Self::CommissionKind(*kind).name()),
        );
        names.push(Self::EarlierExperience.name());
        names
    }

    /// Parses a rule name, e.g. `age_band_13_20`.
    pub fn parse(name: &str) -> Option<Self> {
        let mut rules = AgeBand::ALL
            .iter()
            .map(|band| Self::AgeBand(*band))
            .chain(
                CommissionKind::ALL
                    .iter()
                    .filter(|kind| kind.can_register_for())
                    .map(|kind| Self::CommissionKind(*kind)),
            )
            .chain([Self::EarlierExperience]);
        rules.find(|rule| rule.name() == name)
    }

    /// The rule's name in the county file.
    pub fn name(&self) -> String {
        match self {
            Self::AgeBand(AgeBand::Age0To6) => "age_band_0_6".to_owned(),
            Self::AgeBand(AgeBand::Age7To12) => "age_band_7_12".to_owned(),
            Self::AgeBand(AgeBand::Age13To20) => "age_band_13_20".to_owned(),
            Self::CommissionKind(kind) => format!("commission_kind_{}", kind.as_str()),
            Self::EarlierExperience => "earlier_experience".to_owned(),
        }
    }

    /// Whether a family matches the rule.
    pub fn matches(&self, family: &FamilyOpenness<'_>) -> bool {
        match self {
            Self::AgeBand(band) => family.age_bands.contains(band),
            Self::CommissionKind(kind) => family.commission_kinds.contains(kind),
            Self::EarlierExperience => family.has_earlier_experience,
        }
    }
}
