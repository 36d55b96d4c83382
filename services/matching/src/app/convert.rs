//! The read models' stored messages → the domain's [`PoolFamily`] and [`Request`]. The events
//! were checked by their publishers; what still does not convert (an enum value this build does
//! not know) is left out of the list it is in, and an unknown fee level ranks above every
//! maximum, so a family is never let through on a fact matching cannot read.

use crate::domain::pool::{family_position, main_town};
use crate::domain::{
    AvailabilityKind, AvailabilityPeriod, PoolFamily, Proximity, Request, Urgency,
};
use crate::store::entities::family as row;
use hearth_county::{County, GeoPoint};
use hearth_proto::common::v1 as common;
use hearth_proto::convert;
use hearth_proto::events::v1::{
    FamilyAvailabilityChanged, FamilyProfileFacts, PlacementRequestFacts,
};
use hearth_rpc::ServiceError;
use prost::Message;

fn known<T>(values: &[i32], convert: impl Fn(i32) -> Option<T>) -> Vec<T> {
    values.iter().copied().filter_map(convert).collect()
}

fn geo_point(point: &common::GeoPoint) -> GeoPoint {
    GeoPoint {
        latitude_microdegrees: point.latitude_microdegrees,
        longitude_microdegrees: point.longitude_microdegrees,
    }
}

fn period(period: &common::AvailabilityPeriod) -> Option<AvailabilityPeriod> {
    let dates = period.period.as_ref()?;
    let kind = match common::AvailabilityKind::try_from(period.kind).ok()? {
        common::AvailabilityKind::Available => AvailabilityKind::Available,
        common::AvailabilityKind::Paused => AvailabilityKind::Paused,
        common::AvailabilityKind::Unspecified => return None,
    };
    Some(AvailabilityPeriod {
        kind,
        start: convert::date(dates.start.as_ref()?)?,
        end: dates.end.as_ref().and_then(convert::date),
    })
}

/// A stored family of the pool as the rules read it; `None` without a readable profile.
///
/// No placements or proposals are followed yet (later slices): nobody is placed with the
/// family, no proposal holds it, and it has waited since its approval.
pub fn pool_family(county: &County, stored: &row::Model) -> Option<PoolFamily> {
    let facts = FamilyProfileFacts::decode(stored.profile.as_deref()?).ok()?;
    let availability = stored
        .availability
        .as_deref()
        .and_then(|bytes| FamilyAvailabilityChanged::decode(bytes).ok())
        .unwrap_or_default();
    let location = facts.location.clone().unwrap_or_default();
    let home = convert::municipality_code(location.municipality.as_ref()?).ok()?;
    Some(PoolFamily {
        id: stored.id.clone(),
        capacity: facts.capacity,
        placed_now: 0,
        age_bands: known(&facts.age_bands, convert::age_band),
        commission_kinds: known(&facts.commission_kinds, convert::commission_kind),
        accepted_needs: known(&facts.accepted_needs, convert::need),
        fee_level_rank: county
            .fee_level_rank(&facts.fee_level)
            .unwrap_or(usize::MAX),
        home_municipality: home,
        position: family_position(county, home, location.position.as_ref().map(geo_point)),
        basic_course_done: stored.basic_course_done,
        support_needs: known(&facts.support_needs, convert::support_kind),
        has_earlier_experience: facts.has_earlier_experience,
        waiting_since: stored.approved_on,
        availability: availability
            .availability
            .iter()
            .filter_map(period)
            .collect(),
        left_pool: stored.left_pool,
        held_by_proposal: false,
    })
}

fn urgency(value: i32) -> Option<Urgency> {
    match common::Urgency::try_from(value).ok()? {
        common::Urgency::Acute => Some(Urgency::Acute),
        common::Urgency::Soon => Some(Urgency::Soon),
        common::Urgency::Planned => Some(Urgency::Planned),
        common::Urgency::Unspecified => None,
    }
}

/// An open request's facts as the rules read them. Intake checked them; one that still does
/// not convert is an internal error (nothing the caller can change).
pub fn request(county: &County, facts: &PlacementRequestFacts) -> Result<Request, ServiceError> {
    let broken = |what: &str| ServiceError::internal(format!("the stored request has no {what}"));
    let municipality = facts
        .requesting_unit
        .as_ref()
        .and_then(|unit| unit.municipality.as_ref())
        .and_then(|code| convert::municipality_code(code).ok())
        .ok_or_else(|| broken("requesting municipality"))?;
    let proximity = facts.proximity.clone().unwrap_or_default();
    Ok(Request {
        age_band: convert::age_band(facts.age_band).ok_or_else(|| broken("age band"))?,
        sibling_age_bands: known(&facts.sibling_age_bands, convert::age_band),
        commission_kind: convert::commission_kind(facts.commission_kind)
            .ok_or_else(|| broken("commission kind"))?,
        needs: known(&facts.needs, convert::need),
        max_fee_level_rank: county
            .fee_level_rank(&facts.max_fee_level)
            .ok_or_else(|| broken("known maximum fee level"))?,
        proximity: Proximity {
            acceptable_municipalities: proximity
                .acceptable_municipalities
                .iter()
                .filter_map(|code| convert::municipality_code(code).ok())
                .collect(),
            max_distance_km: Some(proximity.max_distance_km).filter(|km| *km > 0),
        },
        origin: main_town(county, municipality),
        wanted_start_date: facts
            .wanted_start_date
            .as_ref()
            .and_then(convert::date)
            .ok_or_else(|| broken("wanted start date"))?,
        offered_support: known(&facts.offered_support, convert::support_kind),
        urgency: urgency(facts.urgency).ok_or_else(|| broken("urgency"))?,
        in_emergency_home_since: facts
            .emergency_home_since
            .as_ref()
            .filter(|_| facts.in_emergency_home)
            .and_then(convert::date),
    })
}
