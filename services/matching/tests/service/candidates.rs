//! ListCandidates over gRPC, fed by the real events of intake and assessment.

use super::*;
use tonic::Code;
use tonic_types::StatusExt;

on_both_backends!(an_approved_family_is_ranked_for_an_open_request);

async fn an_approved_family_is_ranked_for_an_open_request(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    let family = fixture.approved_family().await;
    let request = fixture
        .open_request(
            common::AgeBand::AgeBand712 as i32,
            common::CommissionKind::LongTermFosterHome,
        )
        .await;

    // The family is a candidate once both events have arrived.
    let listed = fixture
        .candidates_when(&request, false, |answer| {
            answer.as_ref().is_ok_and(|list| {
                list.candidates
                    .iter()
                    .any(|c| c.family_profile_id == family)
            })
        })
        .await
        .unwrap();
    assert_eq!(listed.pool_size, 1);
    let candidate = &listed.candidates[0];
    assert_eq!(candidate.rank, 1);
    assert!(candidate.failed_constraints.is_empty());
    assert_eq!(candidate.score_factors.len(), 6);
    assert_eq!(
        candidate.score,
        candidate
            .score_factors
            .iter()
            .map(|f| f.points)
            .sum::<i32>()
    );
    assert!(candidate.score > 0);
    let needs = candidate
        .score_factors
        .iter()
        .find(|f| f.preference() == pb::SoftPreference::NeedsExperience)
        .unwrap();
    assert_eq!(needs.points, 40, "experience with the child's one need");
    assert!(needs.explanation_sv.contains("erfarenhet"), "{needs:?}");
    assert!(needs.explanation_en.contains("experience"), "{needs:?}");
    for factor in &candidate.score_factors {
        assert!(!factor.explanation_sv.is_empty() && !factor.explanation_en.is_empty());
    }
    assert_eq!(candidate.waiting_since, date(2026, 2, 2));
    assert!(candidate.display_name.is_empty(), "no names in matching");

    // A request the family cannot take: it is excluded, with every constraint it fails.
    let other = fixture
        .open_request(
            common::AgeBand::AgeBand06 as i32,
            common::CommissionKind::EmergencyHome,
        )
        .await;
    let listed = fixture
        .candidates_when(&other, true, Result::is_ok)
        .await
        .unwrap();
    assert_eq!(listed.pool_size, 1);
    assert_eq!(listed.candidates.len(), 1);
    let excluded = &listed.candidates[0];
    assert_eq!(excluded.family_profile_id, family);
    assert_eq!(excluded.rank, 0);
    assert_eq!(
        excluded.failed_constraints().collect::<Vec<_>>(),
        [
            pb::HardConstraint::AgeBand,
            pb::HardConstraint::CommissionKind
        ]
    );
    // Each failure says why, in Swedish and English, in the same order.
    assert_eq!(
        excluded
            .failures
            .iter()
            .map(|failure| failure.constraint())
            .collect::<Vec<_>>(),
        [
            pb::HardConstraint::AgeBand,
            pb::HardConstraint::CommissionKind
        ]
    );
    for failure in &excluded.failures {
        assert!(!failure.explanation_sv.is_empty(), "{failure:?}");
        assert!(!failure.explanation_en.is_empty(), "{failure:?}");
        assert_ne!(failure.explanation_sv, failure.explanation_en);
    }
    let without = fixture
        .candidates(&other, false, &fixture.staff())
        .await
        .unwrap();
    assert!(without.candidates.is_empty());
    assert_eq!(without.pool_size, 1);

    // A withdrawn request is no longer matched.
    fixture.withdraw_request(&other).await;
    let closed = fixture
        .candidates_when(&other, false, Result::is_err)
        .await
        .unwrap_err();
    assert_eq!(closed.code(), Code::FailedPrecondition, "{closed:?}");
    assert_eq!(
        closed.get_details_error_info().unwrap().reason,
        "PLACEMENT_REQUEST_CLOSED"
    );

    // An unknown request, a bad id, the wrong caller.
    let unknown = fixture
        .candidates(&new_key(), false, &fixture.staff())
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let bad = fixture
        .candidates("not-an-id", false, &fixture.staff())
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let violations = bad.get_details_bad_request().unwrap().field_violations;
    assert_eq!(violations[0].field, "placement_request_id");
    let municipality = fixture
        .hearth
        .token(&[Role::MunicipalityStaff], Some("2080"));
    let refused = fixture
        .candidates(&request, false, &municipality)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}
