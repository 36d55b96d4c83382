//! A case's life over gRPC: opened once from `interest.registered`, walked through every
//! stage with each illegal transition refused, decided, and the family on the bus.

use super::*;
use hearth_proto::events::v1::{
    FamilyApproved, FamilyAvailabilityChanged, FamilyRejected, TrainingCompleted,
};
use pb::AssessmentMethod as Method;
use pb::AssessmentStage as S;
use tonic::Code;

on_both_backends!(
    a_case_walks_every_stage_to_an_approved_family,
    a_withdrawn_case_cannot_be_decided,
);

fn refused(result: Result<impl std::fmt::Debug, tonic::Status>, expected: &str) {
    let status = result.expect_err(expected);
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(reason(&status), expected, "{status:?}");
}

async fn a_case_walks_every_stage_to_an_approved_family(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    let interests = fixture.watch("interest", "interest.registered").await;
    let families = fixture.watch("family", "family.*").await;

    // A household open to teenagers: first in Dalarna's priority list.
    let mut household = Household::new(1);
    household.age_bands = vec![common::AgeBand::AgeBand1320];
    let registration = fixture.register(household.clone()).await;
    let case = fixture.case_of(&registration, |_| true).await;
    assert_eq!(case.stage(), S::FirstContact);
    assert_eq!(case.priority_rank, 1);
    assert_eq!(case.adults.len(), 2);
    assert_eq!(case.adults[0].personal_identity_number, household.pin(0));
    assert_eq!(case.adults[0].email, "asa@example.se");
    assert_eq!(case.address.as_ref().unwrap().locality, "Falun");
    assert_eq!(case.stage_history.len(), 1);
    assert!(!case.over_time_limit);

    // The event again — redelivered under its own id and replayed under a new one: still one
    // case. A later registration's case shows that both were handled before it.
    let registered = next_event(interests.as_ref(), "interest.registered").await;
    assert_eq!(registered.aggregate_id, registration);
    fixture.publish(&registered).await;
    let mut replayed = registered.clone();
    replayed.event_id = hearth_domain::new_id().to_string();
    fixture.publish(&replayed).await;
    let marker = fixture.register(Household::new(2)).await;
    fixture.case_of(&marker, |_| true).await;
    let cases = fixture.all_cases().await;
    assert_eq!(
        cases
            .iter()
            .filter(|found| found.interest_registration_id == registration)
            .count(),
        1
    );

    // Stages are neither skipped nor gone back to, and nothing is decided before the checks.
    refused(
        fixture.move_to(&case, S::Interviews, Method::BraFam).await,
        "STAGE_NOT_NEXT",
    );
    refused(
        fixture
            .decide(&case.id, common::DecisionOutcome::Approved, Some(profile()))
            .await,
        "REGISTER_CHECKS_INCOMPLETE",
    );
    refused(
        fixture
            .decide(&case.id, common::DecisionOutcome::NotSuitable, None)
            .await,
        "REGISTER_CHECKS_INCOMPLETE",
    );
    fixture.advance_days(7);
    let case = fixture
        .move_to(&case, S::RegisterChecks, Method::Unspecified)
        .await
        .unwrap();
    assert_eq!(case.stage(), S::RegisterChecks);
    assert_eq!(
        case.first_contact_date,
        Some(hearth_proto::convert::date_to_proto(fixture.today()))
    );
    assert_eq!(case.stage_history[1].days_from_registration, 7);
    assert_eq!(case.stage_history[1].entered_by, "test");

    // Register checks: every register for every adult, "could not be checked" included.
    for register in REGISTERS {
        fixture
            .check(&case, 0, register, pb::RegisterCheckOutcome::NoEntries)
            .await
            .unwrap();
    }
    for register in &REGISTERS[..3] {
        fixture
            .check(&case, 1, *register, pb::RegisterCheckOutcome::NoEntries)
            .await
            .unwrap();
    }
    refused(
        fixture.move_to(&case, S::Interviews, Method::BraFam).await,
        "REGISTER_CHECKS_INCOMPLETE",
    );
    let not_checkable = fixture
        .check(
            &case,
            1,
            pb::Register::SocialInsurance,
            pb::RegisterCheckOutcome::NotCheckable,
        )
        .await
        .unwrap();
    assert_eq!(not_checkable.checked_by, "test");
    assert_eq!(not_checkable.reference, "PM-2026-0042");
    let no_note = fixture
        .client()
        .create_register_check(authorized(
            pb::CreateRegisterCheckRequest {
                register_check: Some(pb::RegisterCheck {
                    outcome: pb::RegisterCheckOutcome::EntriesFound as i32,
                    note: String::new(),
                    ..not_checkable.clone()
                }),
                idempotency_key: new_key(),
            },
            &fixture.staff(),
        ))
        .await
        .unwrap_err();
    assert_eq!(no_note.code(), Code::InvalidArgument);

    // Interviews need a method; then references; approval only when ready for decision.
    refused(
        fixture
            .move_to(&case, S::Interviews, Method::Unspecified)
            .await,
        "ASSESSMENT_METHOD_MISSING",
    );
    fixture.advance_days(14);
    let case = fixture
        .move_to(&case, S::Interviews, Method::BraFam)
        .await
        .unwrap();
    assert_eq!(case.method(), Method::BraFam);
    refused(
        fixture
            .move_to(&case, S::RegisterChecks, Method::Unspecified)
            .await,
        "STAGE_NOT_NEXT",
    );
    fixture.advance_days(20);
    let case = fixture
        .move_to(&case, S::References, Method::Unspecified)
        .await
        .unwrap();
    // The social insurance check could not be made: an approval needs one that could.
    refused(
        fixture
            .decide(&case.id, common::DecisionOutcome::Approved, Some(profile()))
            .await,
        "REGISTER_CHECKS_INCOMPLETE",
    );
    fixture
        .check(
            &case,
            1,
            pb::Register::SocialInsurance,
            pb::RegisterCheckOutcome::EntriesFound,
        )
        .await
        .unwrap();
    refused(
        fixture
            .decide(&case.id, common::DecisionOutcome::Approved, Some(profile()))
            .await,
        "ASSESSMENT_NOT_READY",
    );
    fixture.advance_days(5);
    let case = fixture
        .move_to(&case, S::ReadyForDecision, Method::Unspecified)
        .await
        .unwrap();
    refused(
        fixture
            .move_to(&case, S::Decided, Method::Unspecified)
            .await,
        "STAGE_NOT_NEXT",
    );

    // Approved, with the family's profile: `family.approved` reaches the bus.
    fixture.advance_days(4);
    let mut bad = profile();
    bad.fee_level = "99".to_owned();
    let invalid = fixture
        .decide(&case.id, common::DecisionOutcome::Approved, Some(bad))
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    let decided = fixture
        .decide(&case.id, common::DecisionOutcome::Approved, Some(profile()))
        .await
        .unwrap();
    let case = decided.assessment_case.unwrap();
    let family = decided.family_profile.unwrap();
    assert_eq!(case.stage(), S::Decided);
    let decision = case.decision.clone().unwrap();
    assert_eq!(decision.outcome(), common::DecisionOutcome::Approved);
    assert_eq!(decision.decided_by, "test");
    assert_eq!(decision.family_profile_id, family.id);
    assert_eq!(case.days_in_assessment, 50);
    let days: Vec<u32> = case
        .stage_history
        .iter()
        .map(|entry| entry.days_from_registration)
        .collect();
    assert_eq!(days, [0, 7, 21, 41, 46, 50]);
    assert_eq!(case.register_checks.len(), 9);
    assert_eq!(
        family.current_availability(),
        pb::CurrentAvailability::Available
    );
    assert_eq!(
        family.basic_training_status(),
        common::BasicTrainingStatus::NotStarted
    );

    let approved = next_event(families.as_ref(), "family.approved").await;
    assert_eq!(approved.aggregate_id, family.id);
    assert_eq!(approved.aggregate_version, 1);
    let payload =
        FamilyApproved::decode(approved.payload.as_ref().unwrap().value.as_slice()).unwrap();
    assert_eq!(payload.assessment_case_id, case.id);
    assert_eq!(payload.interest_registration_id, registration);
    assert_eq!(payload.profile.as_ref().unwrap().capacity, 2);
    // The contact details travel sealed, bound to the profile.
    let keyring = hearth_rpc::backends::open_keyring(fixture.hearth.settings()).unwrap();
    let contact: hearth_proto::events::v1::FamilyContact = keyring
        .open_message(payload.contact.as_ref().unwrap(), &family.id)
        .unwrap();
    assert_eq!(contact.adults[0].email, "asa@example.se");

    // A decided case changes no more.
    refused(
        fixture
            .decide(&case.id, common::DecisionOutcome::NotSuitable, None)
            .await,
        "ASSESSMENT_DECIDED",
    );
    refused(
        fixture
            .check(
                &case,
                0,
                pb::Register::CriminalRecord,
                pb::RegisterCheckOutcome::NoEntries,
            )
            .await,
        "ASSESSMENT_DECIDED",
    );

    // The profile: paused for the summer (family.availability_changed), the basic course
    // from training, then the family leaves the pool.
    let mut paused = family.clone();
    paused.availability.push(common::AvailabilityPeriod {
        period: Some(common::DatePeriod {
            start: Some(hearth_proto::convert::date_to_proto(fixture.today())),
            end: None,
        }),
        kind: common::AvailabilityKind::Paused as i32,
    });
    let update = |profile: pb::FamilyProfile, etag: String| {
        let fixture = &fixture;
        async move {
            fixture
                .client()
                .update_family_profile(authorized(
                    pb::UpdateFamilyProfileRequest {
                        family_profile: Some(profile),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec!["availability".to_owned(), "capacity".to_owned()],
                        }),
                        etag,
                    },
                    &fixture.staff(),
                ))
                .await
                .map(|response| response.into_inner().family_profile.unwrap())
        }
    };
    paused.capacity = 1;
    let updated = update(paused.clone(), family.etag.clone()).await.unwrap();
    assert_eq!(
        updated.current_availability(),
        pb::CurrentAvailability::Paused
    );
    assert_eq!(updated.capacity, 1);
    let stale = update(paused.clone(), family.etag.clone())
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let changed = next_event(families.as_ref(), "family.availability_changed").await;
    assert_eq!(changed.aggregate_version, 3, "family.updated was version 2");
    let changed =
        FamilyAvailabilityChanged::decode(changed.payload.as_ref().unwrap().value.as_slice())
            .unwrap();
    assert_eq!(changed.availability.len(), 2);

    let completed = TrainingCompleted {
        enrolment_id: hearth_domain::new_id().to_string(),
        family_profile_id: family.id.clone(),
        course_id: hearth_domain::new_id().to_string(),
        session_id: hearth_domain::new_id().to_string(),
        course_kind: common::CourseKind::Basic as i32,
        completed_on: Some(hearth_proto::convert::date_to_proto(fixture.today())),
    };
    fixture
        .publish(&EventEnvelope {
            event_id: hearth_domain::new_id().to_string(),
            event_type: "training.completed".to_owned(),
            schema_version: 1,
            county: fixture.hearth.county().to_owned(),
            producer: "training".to_owned(),
            aggregate_id: completed.enrolment_id.clone(),
            aggregate_version: 1,
            correlation_id: String::new(),
            occurred_at: None,
            payload: Some(hearth_bus::pack_payload(
                "hearth.events.v1.TrainingCompleted",
                &completed,
            )),
        })
        .await;
    let get_profile = || async {
        fixture
            .client()
            .get_family_profile(authorized(
                pb::GetFamilyProfileRequest {
                    family_profile_id: family.id.clone(),
                },
                &fixture.staff(),
            ))
            .await
            .unwrap()
            .into_inner()
            .family_profile
            .unwrap()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while get_profile().await.basic_training_status() != common::BasicTrainingStatus::Completed {
        assert!(
            tokio::time::Instant::now() < deadline,
            "training status not applied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let closed = fixture
        .client()
        .close_family_profile(authorized(
            pb::CloseFamilyProfileRequest {
                family_profile_id: family.id.clone(),
                leaving: Some(pb::Leaving {
                    reason: pb::LeaveReason::MovedAway as i32,
                    left_on: Some(hearth_proto::convert::date_to_proto(fixture.today())),
                    note: String::new(),
                }),
                etag: String::new(),
                idempotency_key: new_key(),
            },
            &fixture.staff(),
        ))
        .await
        .unwrap()
        .into_inner()
        .family_profile
        .unwrap();
    assert_eq!(closed.current_availability(), pb::CurrentAvailability::Left);
    let left = next_event(families.as_ref(), "family.availability_changed").await;
    let left =
        FamilyAvailabilityChanged::decode(left.payload.as_ref().unwrap().value.as_slice()).unwrap();
    assert_eq!(left.state(), common::FamilyProfileState::Left);
    let after = update(paused, closed.etag.clone()).await.unwrap_err();
    assert_eq!(reason(&after), "FAMILY_LEFT");

    // Timing: each stage's distribution (two cases entered first contact, one the rest).
    let timings = fixture
        .client()
        .get_assessment_timings(authorized(
            pb::GetAssessmentTimingsRequest::default(),
            &fixture.staff(),
        ))
        .await
        .unwrap()
        .into_inner();
    let decided = timings
        .stages
        .iter()
        .find(|stage| stage.stage() == S::Decided)
        .unwrap();
    assert_eq!(
        (decided.cases, decided.median_days, decided.p90_days),
        (1, 50, 50)
    );
    assert_eq!(timings.time_limit_days, 120);
    assert_eq!(timings.open_cases, 1);
}

async fn a_withdrawn_case_cannot_be_decided(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    let families = fixture.watch("rejected", "family.rejected").await;
    let registration = fixture.register(Household::new(3)).await;
    let case = fixture.case_of(&registration, |_| true).await;
    fixture.check_everything(&case).await;
    fixture.advance_days(3);
    fixture.withdraw_registration(&registration).await;
    let case = fixture
        .case_of(&registration, |case| case.stage() == S::Decided)
        .await;
    let decision = case.decision.clone().unwrap();
    assert_eq!(
        decision.outcome(),
        common::DecisionOutcome::WithdrawnByFamily
    );
    assert_eq!(decision.decided_by, "");
    assert_eq!(case.days_in_assessment, 3);
    refused(
        fixture
            .decide(&case.id, common::DecisionOutcome::NotSuitable, None)
            .await,
        "ASSESSMENT_WITHDRAWN",
    );
    refused(
        fixture
            .move_to(&case, S::RegisterChecks, Method::Unspecified)
            .await,
        "ASSESSMENT_DECIDED",
    );
    let rejected = next_event(families.as_ref(), "family.rejected").await;
    assert_eq!(rejected.aggregate_id, case.id);
    let rejected =
        FamilyRejected::decode(rejected.payload.as_ref().unwrap().value.as_slice()).unwrap();
    assert_eq!(
        rejected.outcome(),
        common::DecisionOutcome::WithdrawnByFamily
    );
    assert_eq!(rejected.interest_registration_id, registration);
}
