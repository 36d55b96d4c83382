//! The retention job, on an injected clock: cases that ended without approval are erased after
//! the county's retention period, with a tombstone on the bus; nothing else is.

use super::*;
use hearth_proto::events::v1::{AggregateErased, ErasureReason};
use tonic::Code;

on_both_backends!(retention_erases_cases_that_ended_without_approval);

async fn retention_erases_cases_that_ended_without_approval(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    let interests = fixture
        .watch("retention-interest", "interest.registered")
        .await;
    let erasures = fixture.watch("erased", "family.erased").await;
    let withdrawn = fixture.register(Household::new(20)).await;
    let unsuitable = fixture.register(Household::new(21)).await;
    let open = fixture.register(Household::new(22)).await;
    let withdrawn_case = fixture.case_of(&withdrawn, |_| true).await;
    let unsuitable_case = fixture.case_of(&unsuitable, |_| true).await;
    let open_case = fixture.case_of(&open, |_| true).await;
    let withdrawn_event = loop {
        let event = next_event(interests.as_ref(), "interest.registered").await;
        if event.aggregate_id == withdrawn {
            break event;
        }
    };

    fixture.withdraw_registration(&withdrawn).await;
    fixture
        .case_of(&withdrawn, |case| case.decision.is_some())
        .await;
    fixture.advance_days(10);
    fixture.check_everything(&unsuitable_case).await;
    fixture
        .decide(
            &unsuitable_case.id,
            common::DecisionOutcome::NotSuitable,
            None,
        )
        .await
        .unwrap();

    // Within the retention period (365 days in Dalarna's file) nothing goes.
    assert_eq!(
        fixture
            .hearth
            .run_job("assessment", "retention")
            .await
            .unwrap(),
        ""
    );
    fixture.advance_days(350);
    assert_eq!(
        fixture
            .hearth
            .run_job("assessment", "retention")
            .await
            .unwrap(),
        ""
    );

    // 366 days after the withdrawal: that case goes; the unsuitable one (decided 10 days later)
    // and the open one stay.
    fixture.advance_days(6);
    let summary = fixture
        .hearth
        .run_job("assessment", "retention")
        .await
        .unwrap();
    assert!(summary.contains("erased 1 assessment case"), "{summary}");
    assert!(summary.contains(&withdrawn_case.id), "{summary}");
    let gone = fixture.get(&withdrawn_case.id).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    fixture.get(&unsuitable_case.id).await.unwrap();
    fixture.get(&open_case.id).await.unwrap();

    let tombstone = next_event(erasures.as_ref(), "family.erased").await;
    assert_eq!(tombstone.aggregate_id, withdrawn_case.id);
    let erased =
        AggregateErased::decode(tombstone.payload.as_ref().unwrap().value.as_slice()).unwrap();
    assert_eq!(erased.reason(), ErasureReason::RetentionExpired);
    assert_eq!(
        erased.erased_on,
        Some(hearth_proto::convert::date_to_proto(fixture.today()))
    );

    // A replay of its `interest.registered` (under a new event id) opens no case again.
    let mut replayed = withdrawn_event.clone();
    replayed.event_id = hearth_domain::new_id().to_string();
    fixture.publish(&replayed).await;
    let marker = fixture.register(Household::new(23)).await;
    fixture.case_of(&marker, |_| true).await;
    assert!(
        fixture
            .all_cases()
            .await
            .iter()
            .all(|case| case.interest_registration_id != withdrawn)
    );

    // Its timing stays, anonymously: two cases reached a decision.
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
        .find(|stage| stage.stage() == pb::AssessmentStage::Decided)
        .unwrap();
    assert_eq!(decided.cases, 2);

    // Ten days on, the unsuitable case goes too.
    fixture.advance_days(10);
    let summary = fixture
        .hearth
        .run_job("assessment", "retention")
        .await
        .unwrap();
    assert!(summary.contains(&unsuitable_case.id), "{summary}");
    assert_eq!(
        fixture.get(&unsuitable_case.id).await.unwrap_err().code(),
        Code::NotFound
    );
    fixture.get(&open_case.id).await.unwrap();
}
