//! The domain's ranking → the wire's candidates: each component's points and both sentences,
//! and each failed constraint of an excluded family.

use crate::domain::score::Factor;
use crate::domain::{Candidate, Component, ComponentKind, Excluded, HardConstraint};
use hearth_proto::convert::date_to_proto;
use hearth_proto::matching::v1 as pb;

fn preference(kind: ComponentKind) -> pb::SoftPreference {
    match kind {
        ComponentKind::NeedsExperience => pb::SoftPreference::NeedsExperience,
        ComponentKind::Distance => pb::SoftPreference::Distance,
        ComponentKind::BasicCourse => pb::SoftPreference::TrainingDone,
        ComponentKind::Support => pb::SoftPreference::SupportCovered,
        ComponentKind::EarlierExperience => pb::SoftPreference::EarlierExperience,
        ComponentKind::Waiting => pb::SoftPreference::Waiting,
    }
}

fn factor(component: &Component) -> pb::ScoreFactor {
    let sentence = component.explain();
    pb::ScoreFactor {
        preference: preference(component.kind()) as i32,
        points: component.points,
        explanation_sv: sentence.sv,
        explanation_en: sentence.en,
    }
}

/// The wire value of a failed constraint: the domain's failures one for one.
fn constraint(failure: &HardConstraint) -> pb::HardConstraint {
    match failure {
        HardConstraint::AgeBand { .. } => pb::HardConstraint::AgeBand,
        HardConstraint::CommissionKind { .. } => pb::HardConstraint::CommissionKind,
        HardConstraint::Capacity { .. } => pb::HardConstraint::Capacity,
        HardConstraint::FeeLevel { .. } => pb::HardConstraint::FeeLevel,
        HardConstraint::Proximity { .. } => pb::HardConstraint::Proximity,
        HardConstraint::PausedOnStartDate { .. } => pb::HardConstraint::PausedOnStartDate,
        HardConstraint::NotYetAvailable { .. } => pb::HardConstraint::NotYetAvailable,
        HardConstraint::HeldByProposal => pb::HardConstraint::HeldByProposal,
        HardConstraint::LeftPool => pb::HardConstraint::LeftPool,
    }
}

pub fn candidate(candidate: &Candidate<'_>) -> pb::Candidate {
    let components = candidate.components();
    pb::Candidate {
        family_profile_id: candidate.family.id.clone(),
        display_name: String::new(),
        rank: u32::try_from(candidate.rank).unwrap_or(u32::MAX),
        score: candidate.score.total,
        score_factors: components.iter().map(factor).collect(),
        failed_constraints: Vec::new(),
        failures: Vec::new(),
        distance_km: candidate.distance.map_or(0, |distance| {
            u32::try_from(distance.rounded_km()).unwrap_or(u32::MAX)
        }),
        waiting_since: components
            .iter()
            .find_map(|component| match component.factor {
                Factor::Waiting { since, .. } => since.map(date_to_proto),
                _ => None,
            }),
    }
}

pub fn excluded(excluded: &Excluded<'_>) -> pb::Candidate {
    pb::Candidate {
        family_profile_id: excluded.family.id.clone(),
        failed_constraints: excluded
            .failures
            .iter()
            .map(|failure| constraint(failure) as i32)
            .collect(),
        failures: excluded
            .failures
            .iter()
            .map(|failure| {
                let sentence = failure.explain();
                pb::ConstraintFailure {
                    constraint: constraint(failure) as i32,
                    explanation_sv: sentence.sv,
                    explanation_en: sentence.en,
                }
            })
            .collect(),
        waiting_since: excluded.family.waiting_since.map(date_to_proto),
        ..Default::default()
    }
}
