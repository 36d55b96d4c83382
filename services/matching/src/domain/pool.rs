//! The pool and the request as matching sees them: only the facts the rules read, already
//! checked at the edge (the events of assessment and intake), so the rules never meet a
//! half-valid family. Names and contact details are not here: ranking needs none of them.

use chrono::NaiveDate;
use hearth_county::{County, GeoPoint};
use hearth_domain::{AgeBand, CommissionKind, MunicipalityCode};

pub use hearth_domain::{Need, SupportKind};

/// How soon a placement is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Urgency {
    /// Within days: the child needs a home now.
    Acute,
    /// Within a few weeks.
    Soon,
    /// Planned ahead, from the wanted start date.
    Planned,
}

/// What a family is in an availability period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvailabilityKind {
    /// Open for new placements ("free from March").
    Available,
    /// Paused or away ("away in July"): no proposals. Wins over an available period on the
    /// same day.
    Paused,
}

/// A period of availability: first and last day inclusive, `end` `None` when open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvailabilityPeriod {
    pub kind: AvailabilityKind,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

impl AvailabilityPeriod {
    /// Whether the period covers `day`.
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.start <= day && self.end.is_none_or(|end| day <= end)
    }
}

/// An approved family in the pool, as the rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolFamily {
    /// The family profile's id; the last tie-breaker of the ranking.
    pub id: String,
    /// How many children it may have placed at once.
    pub capacity: u32,
    /// How many are placed with it now (may exceed `capacity` after a change of approval; free
    /// capacity is then zero, never negative).
    pub placed_now: u32,
    pub age_bands: Vec<AgeBand>,
    pub commission_kinds: Vec<CommissionKind>,
    /// The needs it has experience with and is judged able to meet.
    pub accepted_needs: Vec<Need>,
    /// Its fee level's place in the county's ordered fee levels (0 is the lowest):
    /// [`County::fee_level_rank`].
    pub fee_level_rank: usize,
    /// The municipality it lives in (the proximity requirement's list is of municipalities).
    pub home_municipality: MunicipalityCode,
    /// Where it lives, for distances: [`family_position`]; `None` when neither its own
    /// coordinates nor its municipality's main town are known.
    pub position: Option<GeoPoint>,
    pub basic_course_done: bool,
    /// The support it says it will need.
    pub support_needs: Vec<SupportKind>,
    /// Whether it has been a foster home, emergency home or contact family before.
    pub has_earlier_experience: bool,
    /// Since when it has waited without a placement; `None` while a child is placed with it.
    pub waiting_since: Option<NaiveDate>,
    /// Its availability periods; a day in none of them counts as not available.
    pub availability: Vec<AvailabilityPeriod>,
    /// Whether it has left the pool.
    pub left_pool: bool,
    /// Whether a pending proposal (to this or another request) holds it.
    pub held_by_proposal: bool,
}

impl PoolFamily {
    /// Free places: capacity less the children placed now, never below zero.
    pub fn free_capacity(&self) -> u32 {
        self.capacity.saturating_sub(self.placed_now)
    }
}

/// A family's position: its own coordinates when it has them, else its home municipality's
/// main town from the county file.
pub fn family_position(
    county: &County,
    home: MunicipalityCode,
    own: Option<GeoPoint>,
) -> Option<GeoPoint> {
    own.or_else(|| main_town(county, home))
}

/// A municipality's main town from the county file (the origin of a request's distances).
pub fn main_town(county: &County, code: MunicipalityCode) -> Option<GeoPoint> {
    county.member(code).and_then(|member| member.main_town)
}

/// Where the family must live (närhetsprincipen). With both rules, living in a listed
/// municipality OR within the distance is enough; with neither, there is no limit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Proximity {
    pub acceptable_municipalities: Vec<MunicipalityCode>,
    /// Largest distance in whole km from the requesting municipality's main town.
    pub max_distance_km: Option<u32>,
}

/// An open placement request, as the rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The child's age band on the wanted start date.
    pub age_band: AgeBand,
    /// The age bands of siblings to be placed together with the child.
    pub sibling_age_bands: Vec<AgeBand>,
    pub commission_kind: CommissionKind,
    pub needs: Vec<Need>,
    /// The highest fee level the municipality accepts, as a rank in the county's order.
    pub max_fee_level_rank: usize,
    pub proximity: Proximity,
    /// The requesting municipality's main town ([`main_town`]): where distances are measured
    /// from; `None` when the county file does not know it.
    pub origin: Option<GeoPoint>,
    pub wanted_start_date: NaiveDate,
    /// The support the municipality offers the home.
    pub offered_support: Vec<SupportKind>,
    pub urgency: Urgency,
    /// Since when the child has lived in an emergency home; `None` when it does not.
    pub in_emergency_home_since: Option<NaiveDate>,
}

impl Request {
    /// How many children are to be placed together: the child and its siblings.
    pub fn children(&self) -> u32 {
        u32::try_from(self.sibling_age_bands.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }
}
