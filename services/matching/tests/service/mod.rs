//! Every scenario on SQLite and on PostgreSQL (the embedded bus in both).

mod candidates;

use chrono::NaiveDate;
use hearth_assessment::Assessment;
use hearth_auth::Role;
use hearth_domain::{FixedClock, PersonalIdentityNumber};
use hearth_intake::Intake;
use hearth_matching::Matching;
use hearth_proto::assessment::v1 as assessment;
use hearth_proto::assessment::v1::assessment_service_client::AssessmentServiceClient;
use hearth_proto::common::v1 as common;
use hearth_proto::intake::v1 as intake;
use hearth_proto::intake::v1::intake_service_client::IntakeServiceClient;
use hearth_proto::matching::v1 as pb;
use hearth_proto::matching::v1::matching_service_client::MatchingServiceClient;
use hearth_testkit::{Storage, TestHearth, authorized};
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::Channel;

pub(crate) use hearth_testkit::on_both_backends;

/// The day the tests start on (a Monday, winter time).
pub const START: &str = "2026-02-02T09:00:00Z";

pub struct Fixture {
    pub hearth: TestHearth,
    pub channel: Channel,
}

pub fn new_key() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn today() -> NaiveDate {
    "2026-02-02".parse().unwrap()
}

fn date(y: i32, m: i32, d: i32) -> Option<common::Date> {
    Some(common::Date {
        year: y,
        month: m,
        day: d,
    })
}

fn municipality(code: &str) -> Option<common::MunicipalityCode> {
    Some(common::MunicipalityCode {
        value: code.to_owned(),
    })
}

impl Fixture {
    pub async fn start(storage: Storage) -> Option<Self> {
        let clock = Arc::new(FixedClock::new(START.parse().unwrap()));
        let hearth = TestHearth::builder(vec![
            Box::new(Intake),
            Box::new(Assessment),
            Box::new(Matching),
        ])
        .storage(storage)
        .clock(clock)
        .start()
        .await?;
        let channel = hearth.channel().await;
        Some(Self { hearth, channel })
    }

    pub fn staff(&self) -> String {
        self.hearth.token(&[Role::UnitStaff], None)
    }

    pub fn matching(&self) -> MatchingServiceClient<Channel> {
        MatchingServiceClient::new(self.channel.clone())
    }

    fn intake(&self) -> IntakeServiceClient<Channel> {
        IntakeServiceClient::new(self.channel.clone())
    }

    fn assessment(&self) -> AssessmentServiceClient<Channel> {
        AssessmentServiceClient::new(self.channel.clone())
    }

    /// Registers interest and takes the case to an approved family taking children of 7–12 as
    /// a long-term foster home in Falun; returns the family profile's id.
    pub async fn approved_family(&self) -> String {
        let born: NaiveDate = "1984-05-17".parse().unwrap();
        let adult = |serial: u16, name: &str| intake::RegisteredAdult {
            given_name: name.to_owned(),
            family_name: "Öberg".to_owned(),
            personal_identity_number: PersonalIdentityNumber::from_parts(born, serial, false)
                .unwrap()
                .expose()
                .to_owned(),
            email: "asa@example.se".to_owned(),
            phone: "070-123 45 67".to_owned(),
        };
        let registration = self
            .intake()
            .create_interest_registration(authorized(
                intake::CreateInterestRegistrationRequest {
                    interest_registration: Some(intake::InterestRegistration {
                        adults: vec![adult(2, "Åsa")],
                        home_municipality: municipality("2080"),
                        address: Some(common::PostalAddress {
                            street_address: "Storgatan 1".to_owned(),
                            postal_code: "791 31".to_owned(),
                            locality: "Falun".to_owned(),
                        }),
                        housing: common::Housing::HouseInTown as i32,
                        own_bedroom_for_child: true,
                        commission_kinds: vec![common::CommissionKind::LongTermFosterHome as i32],
                        age_bands: vec![common::AgeBand::AgeBand712 as i32],
                        channel: common::InterestChannel::SocialMedia as i32,
                        ..Default::default()
                    }),
                    idempotency_key: new_key(),
                },
                &self.hearth.token(&[Role::PublicIntake], None),
            ))
            .await
            .unwrap()
            .into_inner()
            .interest_registration_id;
        let case = self.case_of(&registration).await;
        use assessment::AssessmentMethod as M;
        use assessment::AssessmentStage as S;
        let mut case = self.move_to(&case, S::RegisterChecks, M::Unspecified).await;
        for register in [
            assessment::Register::CriminalRecord,
            assessment::Register::EnforcementAuthority,
            assessment::Register::SocialServices,
            assessment::Register::SocialInsurance,
        ] {
            self.assessment()
                .create_register_check(authorized(
                    assessment::CreateRegisterCheckRequest {
                        register_check: Some(assessment::RegisterCheck {
                            assessment_case_id: case.id.clone(),
                            adult_id: case.adults[0].id.clone(),
                            register: register as i32,
                            outcome: assessment::RegisterCheckOutcome::NoEntries as i32,
                            checked_on: Some(hearth_proto::convert::date_to_proto(today())),
                            reference: "PM-2026-0042".to_owned(),
                            ..Default::default()
                        }),
                        idempotency_key: new_key(),
                    },
                    &self.staff(),
                ))
                .await
                .unwrap();
        }
        for (stage, method) in [
            (S::Interviews, M::BraFam),
            (S::References, M::Unspecified),
            (S::ReadyForDecision, M::Unspecified),
        ] {
            case = self.move_to(&case, stage, method).await;
        }
        self.assessment()
            .decide_assessment(authorized(
                assessment::DecideAssessmentRequest {
                    assessment_case_id: case.id.clone(),
                    outcome: common::DecisionOutcome::Approved as i32,
                    decided_on: Some(hearth_proto::convert::date_to_proto(today())),
                    rationale: "Bedömningen enligt BRA-Fam.".to_owned(),
                    family_profile: Some(assessment::FamilyProfile {
                        display_name: "Öberg, Falun".to_owned(),
                        location: Some(common::Location {
                            municipality: municipality("2080"),
                            position: None,
                        }),
                        capacity: 2,
                        age_bands: vec![common::AgeBand::AgeBand712 as i32],
                        commission_kinds: vec![common::CommissionKind::LongTermFosterHome as i32],
                        accepted_needs: vec![common::Need::Trauma as i32],
                        fee_level: "2".to_owned(),
                        ..Default::default()
                    }),
                    etag: String::new(),
                    idempotency_key: new_key(),
                },
                &self.staff(),
            ))
            .await
            .unwrap()
            .into_inner()
            .family_profile
            .unwrap()
            .id
    }

    async fn case_of(&self, registration: &str) -> assessment::AssessmentCase {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let page = self
                .assessment()
                .list_assessment_cases(authorized(
                    assessment::ListAssessmentCasesRequest {
                        page_size: 200,
                        ..Default::default()
                    },
                    &self.staff(),
                ))
                .await
                .unwrap()
                .into_inner();
            if let Some(case) = page
                .assessment_cases
                .into_iter()
                .find(|case| case.interest_registration_id == registration)
            {
                return case;
            }
            assert!(tokio::time::Instant::now() < deadline, "no case arrived");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn move_to(
        &self,
        case: &assessment::AssessmentCase,
        stage: assessment::AssessmentStage,
        method: assessment::AssessmentMethod,
    ) -> assessment::AssessmentCase {
        self.assessment()
            .change_assessment_stage(authorized(
                assessment::ChangeAssessmentStageRequest {
                    assessment_case_id: case.id.clone(),
                    stage: stage as i32,
                    method: method as i32,
                    etag: String::new(),
                    idempotency_key: new_key(),
                },
                &self.staff(),
            ))
            .await
            .unwrap()
            .into_inner()
            .assessment_case
            .unwrap()
    }

    /// Opens a placement request from Falun for a child of `band` as `kind`; returns its id.
    pub async fn open_request(&self, band: i32, kind: common::CommissionKind) -> String {
        let birth_year = if band == common::AgeBand::AgeBand712 as i32 {
            2017
        } else {
            2024
        };
        self.intake()
            .create_placement_request(authorized(
                intake::CreatePlacementRequestRequest {
                    placement_request: Some(intake::PlacementRequest {
                        requesting_unit: Some(common::RequestingUnit {
                            municipality: municipality("2080"),
                            district: String::new(),
                        }),
                        case_reference: "IFO-2026-0042".to_owned(),
                        birth_year,
                        sex: intake::Sex::Female as i32,
                        needs: vec![common::Need::Trauma as i32],
                        commission_kind: kind as i32,
                        max_fee_level: "2".to_owned(),
                        urgency: common::Urgency::Soon as i32,
                        wanted_start_date: date(2026, 3, 2),
                        ..Default::default()
                    }),
                    idempotency_key: new_key(),
                },
                &self.hearth.token(&[Role::UnitStaff], None),
            ))
            .await
            .unwrap()
            .into_inner()
            .placement_request
            .unwrap()
            .id
    }

    pub async fn withdraw_request(&self, id: &str) {
        self.intake()
            .withdraw_placement_request(authorized(
                intake::WithdrawPlacementRequestRequest {
                    placement_request_id: id.to_owned(),
                    reason: common::WithdrawalReason::ChildStaysHome as i32,
                    note: String::new(),
                    etag: String::new(),
                    idempotency_key: new_key(),
                },
                &self.staff(),
            ))
            .await
            .unwrap();
    }

    pub async fn candidates(
        &self,
        id: &str,
        include_excluded: bool,
        token: &str,
    ) -> Result<pb::ListCandidatesResponse, tonic::Status> {
        self.matching()
            .list_candidates(authorized(
                pb::ListCandidatesRequest {
                    placement_request_id: id.to_owned(),
                    include_excluded,
                    ..Default::default()
                },
                token,
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Polls the list until `ready` holds (the events have arrived), for at most 30 s.
    pub async fn candidates_when(
        &self,
        id: &str,
        include_excluded: bool,
        ready: impl Fn(&Result<pb::ListCandidatesResponse, tonic::Status>) -> bool,
    ) -> Result<pb::ListCandidatesResponse, tonic::Status> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let answer = self.candidates(id, include_excluded, &self.staff()).await;
            if ready(&answer) {
                return answer;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the list never became ready: {answer:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
