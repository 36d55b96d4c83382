//! The queue: the county's priority order, then the oldest registration; filters, paging and
//! who may see it.

use super::*;
use tonic::Code;

on_both_backends!(the_queue_is_prioritised_filtered_and_paged);

async fn list(
    fixture: &Fixture,
    request: pb::ListAssessmentCasesRequest,
) -> pb::ListAssessmentCasesResponse {
    fixture
        .client()
        .list_assessment_cases(authorized(request, &fixture.staff()))
        .await
        .unwrap()
        .into_inner()
}

async fn the_queue_is_prioritised_filtered_and_paged(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    // Dalarna's list: teenagers, then earlier experience, then emergency homes.
    let plain = fixture.register(Household::new(10)).await; // rank 4
    fixture.advance_days(1);
    let mut experienced = Household::new(11);
    experienced.experienced = true;
    let experienced = fixture.register(experienced).await; // rank 2
    fixture.advance_days(1);
    let mut teenagers = Household::new(12);
    teenagers.age_bands = vec![common::AgeBand::AgeBand1320];
    let teenagers = fixture.register(teenagers).await; // rank 1
    fixture.advance_days(1);
    let mut emergency = Household::new(13);
    emergency.commission_kinds = vec![common::CommissionKind::EmergencyHome];
    emergency.home = "2081";
    let emergency = fixture.register(emergency).await; // rank 3
    fixture.advance_days(1);
    let later_plain = fixture.register(Household::new(14)).await; // rank 4, newer
    fixture.case_of(&later_plain, |_| true).await;

    let expected = [&teenagers, &experienced, &emergency, &plain, &later_plain];
    let queue = fixture.all_cases().await;
    let order: Vec<&str> = queue
        .iter()
        .map(|case| case.interest_registration_id.as_str())
        .collect();
    assert_eq!(order, expected.map(String::as_str));
    let ranks: Vec<u32> = queue.iter().map(|case| case.priority_rank).collect();
    assert_eq!(ranks, [1, 2, 3, 4, 4]);
    // Lists leave out identity numbers and contact details.
    assert!(
        queue
            .iter()
            .all(|case| case.adults[0].personal_identity_number.is_empty()
                && case.adults[0].email.is_empty()
                && case.address.is_none()
                && !case.adults[0].given_name.is_empty())
    );

    // Pages of two, in the same order; a token with other filters is refused.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(
            &fixture,
            pb::ListAssessmentCasesRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            },
        )
        .await;
        assert!(page.assessment_cases.len() <= 2);
        paged.extend(page.assessment_cases);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(paged, queue);
    let first = list(
        &fixture,
        pb::ListAssessmentCasesRequest {
            page_size: 2,
            ..Default::default()
        },
    )
    .await;
    let mismatch = fixture
        .client()
        .list_assessment_cases(authorized(
            pb::ListAssessmentCasesRequest {
                page_size: 2,
                page_token: first.next_page_token,
                over_time_limit: true,
                ..Default::default()
            },
            &fixture.staff(),
        ))
        .await
        .unwrap_err();
    assert_eq!(mismatch.code(), Code::InvalidArgument);

    // Assignment, then the assessor's filter; the stage filter; the municipality filter.
    let teen_case = &queue[0];
    let assigned = fixture
        .client()
        .update_assessment_case(authorized(
            pb::UpdateAssessmentCaseRequest {
                assessment_case: Some(pb::AssessmentCase {
                    id: teen_case.id.clone(),
                    assigned_staff_id: "assessor-anna".to_owned(),
                    method: pb::AssessmentMethod::Kalvesten as i32,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["assigned_staff_id".to_owned(), "method".to_owned()],
                }),
                etag: teen_case.etag.clone(),
            },
            &fixture.staff(),
        ))
        .await
        .unwrap()
        .into_inner()
        .assessment_case
        .unwrap();
    assert_eq!(assigned.assigned_staff_id, "assessor-anna");
    assert_eq!(assigned.method(), pb::AssessmentMethod::Kalvesten);
    let stage_in_mask = fixture
        .client()
        .update_assessment_case(authorized(
            pb::UpdateAssessmentCaseRequest {
                assessment_case: Some(assigned.clone()),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["stage".to_owned()],
                }),
                etag: assigned.etag.clone(),
            },
            &fixture.staff(),
        ))
        .await
        .unwrap_err();
    assert_eq!(stage_in_mask.code(), Code::InvalidArgument);
    fixture
        .move_to(
            &assigned,
            pb::AssessmentStage::RegisterChecks,
            pb::AssessmentMethod::Unspecified,
        )
        .await
        .unwrap();
    let mine = list(
        &fixture,
        pb::ListAssessmentCasesRequest {
            assigned_staff_id: "assessor-anna".to_owned(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(mine.assessment_cases.len(), 1);
    assert_eq!(mine.assessment_cases[0].id, teen_case.id);
    let in_checks = list(
        &fixture,
        pb::ListAssessmentCasesRequest {
            stages: vec![pb::AssessmentStage::RegisterChecks as i32],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(in_checks.assessment_cases.len(), 1);
    let first_contact = list(
        &fixture,
        pb::ListAssessmentCasesRequest {
            stages: vec![pb::AssessmentStage::FirstContact as i32],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(first_contact.assessment_cases.len(), 4);
    let borlange = list(
        &fixture,
        pb::ListAssessmentCasesRequest {
            home_municipalities: vec![common::MunicipalityCode {
                value: "2081".to_owned(),
            }],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(borlange.assessment_cases.len(), 1);
    assert_eq!(
        borlange.assessment_cases[0].interest_registration_id,
        emergency
    );

    // Over the time limit (120 days): on day 123 the three oldest are (123, 122 and 121 days),
    // the two newest not (120 and 119 days).
    fixture.advance_days(119);
    let over = list(
        &fixture,
        pb::ListAssessmentCasesRequest {
            over_time_limit: true,
            ..Default::default()
        },
    )
    .await;
    let mut flagged: Vec<&str> = over
        .assessment_cases
        .iter()
        .map(|case| case.interest_registration_id.as_str())
        .collect();
    flagged.sort_unstable();
    let mut oldest = vec![plain.as_str(), experienced.as_str(), teenagers.as_str()];
    oldest.sort_unstable();
    assert_eq!(flagged, oldest);
    assert!(
        over.assessment_cases
            .iter()
            .all(|case| case.over_time_limit)
    );
    let timings = fixture
        .client()
        .get_assessment_timings(authorized(
            pb::GetAssessmentTimingsRequest::default(),
            &fixture.staff(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (timings.open_cases, timings.open_cases_over_time_limit),
        (5, 3)
    );

    // Municipality staff, the public form and finance see no cases.
    for token in [
        fixture.token(&[hearth_auth::Role::MunicipalityStaff], Some("2080")),
        fixture.token(&[hearth_auth::Role::PublicIntake], None),
        fixture.token(&[hearth_auth::Role::Finance], None),
    ] {
        let denied = fixture
            .client()
            .list_assessment_cases(authorized(
                pb::ListAssessmentCasesRequest::default(),
                &token,
            ))
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        let denied = fixture
            .client()
            .get_assessment_case(authorized(
                pb::GetAssessmentCaseRequest {
                    assessment_case_id: teen_case.id.clone(),
                },
                &token,
            ))
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
    }
    // Admins may read the queue; only unit staff move cases.
    let admin = fixture.token(&[hearth_auth::Role::Admin], None);
    fixture
        .client()
        .list_assessment_cases(authorized(
            pb::ListAssessmentCasesRequest::default(),
            &admin,
        ))
        .await
        .unwrap();
    let denied = fixture
        .client()
        .change_assessment_stage(authorized(
            pb::ChangeAssessmentStageRequest {
                assessment_case_id: teen_case.id.clone(),
                stage: pb::AssessmentStage::Interviews as i32,
                idempotency_key: new_key(),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}
