//! Domain values ⇄ the messages the application layer seals, stores and publishes: decision
//! outcomes, register checks (stored as their wire numbers), and family profiles (their sealed
//! content and the facts their events carry). The gRPC adapter reads requests and writes
//! answers with the same conversions.

use crate::domain::checks::{CheckOutcome, Register};
use crate::domain::profile::{
    AvailabilityKind, AvailabilityPeriod, GeoPoint, Location, ProfileDraft, ProfileFacts,
};
use crate::domain::stage::Outcome;
use chrono::NaiveDate;
use hearth_proto::assessment::v1 as pb;
use hearth_proto::common::v1 as common;
use hearth_proto::convert;
use hearth_proto::events::v1::FamilyProfileFacts;

/// The wire value of a decision's outcome.
pub fn outcome_to_proto(outcome: Outcome) -> common::DecisionOutcome {
    match outcome {
        Outcome::Approved => common::DecisionOutcome::Approved,
        Outcome::NotSuitable => common::DecisionOutcome::NotSuitable,
        Outcome::WithdrawnByFamily => common::DecisionOutcome::WithdrawnByFamily,
    }
}

/// The outcome of a wire value; `None` for unspecified or unknown.
pub fn outcome_from_proto(value: i32) -> Option<Outcome> {
    match common::DecisionOutcome::try_from(value).ok()? {
        common::DecisionOutcome::Unspecified => None,
        common::DecisionOutcome::Approved => Some(Outcome::Approved),
        common::DecisionOutcome::NotSuitable => Some(Outcome::NotSuitable),
        common::DecisionOutcome::WithdrawnByFamily => Some(Outcome::WithdrawnByFamily),
    }
}

/// The wire (and stored) value of a register.
pub fn register_to_proto(register: Register) -> pb::Register {
    match register {
        Register::CriminalRecord => pb::Register::CriminalRecord,
        Register::EnforcementAuthority => pb::Register::EnforcementAuthority,
        Register::SocialServices => pb::Register::SocialServices,
        Register::SocialInsurance => pb::Register::SocialInsurance,
    }
}

/// The register of a wire (or stored) value; `None` for unspecified or unknown.
pub fn register_from_proto(value: i32) -> Option<Register> {
    match pb::Register::try_from(value).ok()? {
        pb::Register::Unspecified => None,
        pb::Register::CriminalRecord => Some(Register::CriminalRecord),
        pb::Register::EnforcementAuthority => Some(Register::EnforcementAuthority),
        pb::Register::SocialServices => Some(Register::SocialServices),
        pb::Register::SocialInsurance => Some(Register::SocialInsurance),
    }
}

/// The wire (and stored) value of what a check found.
pub fn check_outcome_to_proto(outcome: CheckOutcome) -> pb::RegisterCheckOutcome {
    match outcome {
        CheckOutcome::NoEntries => pb::RegisterCheckOutcome::NoEntries,
        CheckOutcome::EntriesFound => pb::RegisterCheckOutcome::EntriesFound,
        CheckOutcome::NotCheckable => pb::RegisterCheckOutcome::NotCheckable,
    }
}

/// What a check found, from a wire (or stored) value; `None` for unspecified or unknown.
pub fn check_outcome_from_proto(value: i32) -> Option<CheckOutcome> {
    match pb::RegisterCheckOutcome::try_from(value).ok()? {
        pb::RegisterCheckOutcome::Unspecified => None,
        pb::RegisterCheckOutcome::NoEntries => Some(CheckOutcome::NoEntries),
        pb::RegisterCheckOutcome::EntriesFound => Some(CheckOutcome::EntriesFound),
        pb::RegisterCheckOutcome::NotCheckable => Some(CheckOutcome::NotCheckable),
    }
}

// The needs and support kinds are the shared vocabulary (matching converts them too).
pub use hearth_proto::convert::{
    need as need_from_proto, need_to_proto, support_kind as support_kind_from_proto,
    support_kind_to_proto,
};

pub fn availability_kind_to_proto(kind: AvailabilityKind) -> common::AvailabilityKind {
    match kind {
        AvailabilityKind::Available => common::AvailabilityKind::Available,
        AvailabilityKind::Paused => common::AvailabilityKind::Paused,
    }
}

/// The availability kind of a wire value; `None` for unspecified or unknown.
pub fn availability_kind_from_proto(value: i32) -> Option<AvailabilityKind> {
    match common::AvailabilityKind::try_from(value).ok()? {
        common::AvailabilityKind::Unspecified => None,
        common::AvailabilityKind::Available => Some(AvailabilityKind::Available),
        common::AvailabilityKind::Paused => Some(AvailabilityKind::Paused),
    }
}

/// The days of a wire period: a valid start, and a valid end when set.
pub fn period_dates(period: &common::AvailabilityPeriod) -> Option<(NaiveDate, Option<NaiveDate>)> {
    let dates = period.period.as_ref()?;
    let start = convert::date(dates.start.as_ref()?)?;
    let end = match &dates.end {
        Some(end) => Some(convert::date(end)?),
        None => None,
    };
    Some((start, end))
}

/// Stored periods (checked when they were stored); one that does not read is left out.
pub fn periods_of(periods: &[common::AvailabilityPeriod]) -> Vec<AvailabilityPeriod> {
    periods
        .iter()
        .filter_map(|period| {
            let kind = availability_kind_from_proto(period.kind)?;
            let (start, end) = period_dates(period)?;
            Some(AvailabilityPeriod { kind, start, end })
        })
        .collect()
}

fn period_to_proto(period: &AvailabilityPeriod) -> common::AvailabilityPeriod {
    common::AvailabilityPeriod {
        period: Some(common::DatePeriod {
            start: Some(convert::date_to_proto(period.start)),
            end: period.end.map(convert::date_to_proto),
        }),
        kind: availability_kind_to_proto(period.kind) as i32,
    }
}

fn location_to_proto(location: &Location) -> common::Location {
    common::Location {
        municipality: Some(convert::municipality_code_to_proto(location.municipality)),
        position: location
            .position
            .map(|position: GeoPoint| common::GeoPoint {
                latitude_microdegrees: position.latitude_microdegrees,
                longitude_microdegrees: position.longitude_microdegrees,
            }),
    }
}

/// What a profile's events tell matching.
pub fn facts_to_proto(facts: &ProfileFacts) -> FamilyProfileFacts {
    FamilyProfileFacts {
        location: Some(location_to_proto(&facts.location)),
        capacity: facts.capacity,
        age_bands: facts
            .age_bands
            .iter()
            .map(|band| convert::age_band_to_proto(*band) as i32)
            .collect(),
        commission_kinds: facts
            .commission_kinds
            .iter()
            .map(|kind| convert::commission_kind_to_proto(*kind) as i32)
            .collect(),
        accepted_needs: facts
            .accepted_needs
            .iter()
            .map(|need| need_to_proto(*need) as i32)
            .collect(),
        fee_level: facts.fee_level.clone(),
        support_needs: facts
            .support_needs
            .iter()
            .map(|kind| support_kind_to_proto(*kind) as i32)
            .collect(),
        has_earlier_experience: facts.has_earlier_experience,
        availability: facts.availability.iter().map(period_to_proto).collect(),
    }
}

/// The sealed part of a profile from a checked draft.
pub fn content_of(draft: &ProfileDraft) -> pb::FamilyProfile {
    let facts = facts_to_proto(&draft.facts);
    pb::FamilyProfile {
        display_name: draft.display_name.clone(),
        location: facts.location,
        capacity: facts.capacity,
        age_bands: facts.age_bands,
        commission_kinds: facts.commission_kinds,
        accepted_needs: facts.accepted_needs,
        fee_level: facts.fee_level,
        support_needs: facts.support_needs,
        has_earlier_experience: facts.has_earlier_experience,
        availability: facts.availability,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checks::CheckOutcome;

    #[test]
    fn enums_round_trip_and_refuse_unspecified_values() {
        for outcome in Outcome::ALL {
            assert_eq!(
                outcome_from_proto(outcome_to_proto(outcome) as i32),
                Some(outcome)
            );
        }
        for register in Register::ALL {
            assert_eq!(
                register_from_proto(register_to_proto(register) as i32),
                Some(register)
            );
        }
        for outcome in CheckOutcome::ALL {
            assert_eq!(
                check_outcome_from_proto(check_outcome_to_proto(outcome) as i32),
                Some(outcome)
            );
        }
        for value in 1..=9 {
            let need = need_from_proto(value).map(need_to_proto);
            assert_eq!(need.map(|need| need as i32), Some(value));
        }
        for value in 1..=6 {
            let kind = support_kind_from_proto(value).map(support_kind_to_proto);
            assert_eq!(kind.map(|kind| kind as i32), Some(value));
        }
        for value in 1..=2 {
            let kind = availability_kind_from_proto(value).map(availability_kind_to_proto);
            assert_eq!(kind.map(|kind| kind as i32), Some(value));
        }
        assert_eq!(outcome_from_proto(0), None);
        assert_eq!(register_from_proto(0), None);
        assert_eq!(check_outcome_from_proto(99), None);
        assert_eq!(need_from_proto(0), None);
        assert_eq!(support_kind_from_proto(-1), None);
        assert_eq!(availability_kind_from_proto(0), None);
    }
}
