//! Every scenario on SQLite and on PostgreSQL (the embedded bus in both).

mod cases;
mod queue;
mod retention;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use hearth_assessment::Assessment;
use hearth_auth::Role;
use hearth_bus::{ConsumerSpec, EventBus, EventConsumer, EventEnvelope, OutgoingMessage};
use hearth_domain::{FixedClock, PersonalIdentityNumber};
use hearth_intake::Intake;
use hearth_proto::assessment::v1 as pb;
use hearth_proto::assessment::v1::assessment_service_client::AssessmentServiceClient;
use hearth_proto::common::v1 as common;
use hearth_proto::intake::v1 as intake;
use hearth_proto::intake::v1::intake_service_client::IntakeServiceClient;
use hearth_testkit::{Storage, TestHearth, authorized};
use prost::Message;
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::Channel;
use tonic_types::StatusExt;

pub(crate) use hearth_testkit::on_both_backends;

/// The day the tests start on (a Monday, winter time).
pub const START: &str = "2026-02-02T09:00:00Z";

pub struct Fixture {
    pub hearth: TestHearth,
    pub channel: Channel,
    pub clock: Arc<FixedClock>,
    pub bus: Arc<dyn EventBus>,
}

impl Fixture {
    /// Intake and assessment on `storage` at [`START`]; `None` when the backend is not
    /// configured (skipped).
    pub async fn start(storage: Storage) -> Option<Self> {
        let clock = Arc::new(FixedClock::new(START.parse().unwrap()));
        let hearth = TestHearth::builder(vec![Box::new(Intake), Box::new(Assessment)])
            .storage(storage)
            .clock(clock.clone())
            .start()
            .await?;
        let channel = hearth.channel().await;
        let bus = hearth_rpc::backends::open_bus(hearth.settings())
            .await
            .unwrap();
        Some(Self {
            hearth,
            channel,
            clock,
            bus,
        })
    }

    pub fn client(&self) -> AssessmentServiceClient<Channel> {
        AssessmentServiceClient::new(self.channel.clone())
    }

    pub fn intake(&self) -> IntakeServiceClient<Channel> {
        IntakeServiceClient::new(self.channel.clone())
    }

    pub fn staff(&self) -> String {
        self.hearth.token(&[Role::UnitStaff], None)
    }

    pub fn token(&self, roles: &[Role], municipality: Option<&str>) -> String {
        self.hearth.token(roles, municipality)
    }

    pub fn advance_days(&self, days: i64) {
        self.clock.advance(TimeDelta::days(days));
    }

    pub fn today(&self) -> NaiveDate {
        hearth_domain::stockholm::stockholm_date(self.now())
    }

    pub fn now(&self) -> DateTime<Utc> {
        hearth_domain::Clock::now_utc(self.clock.as_ref())
    }

    /// Watches `hearth.<county>.<pattern>` from now on.
    pub async fn watch(&self, name: &str, pattern: &str) -> Box<dyn EventConsumer> {
        self.bus
            .consumer(ConsumerSpec::new(
                format!("testwatch-{name}"),
                format!("hearth.{}.{pattern}", self.hearth.county()),
            ))
            .await
            .unwrap()
    }

    /// Publishes an event as its producer's relay would, under `event_id`.
    pub async fn publish(&self, envelope: &EventEnvelope) {
        self.bus
            .publish(OutgoingMessage {
                subject: format!("hearth.{}.{}", self.hearth.county(), envelope.event_type),
                msg_id: envelope.event_id.clone(),
                headers: Default::default(),
                payload: envelope.encode_to_vec(),
            })
            .await
            .unwrap();
    }

    /// Registers a household's interest through intake; returns the registration id.
    pub async fn register(&self, household: Household) -> String {
        self.intake()
            .create_interest_registration(authorized(
                intake::CreateInterestRegistrationRequest {
                    interest_registration: Some(household.registration()),
                    idempotency_key: new_key(),
                },
                &self.token(&[Role::PublicIntake], None),
            ))
            .await
            .unwrap()
            .into_inner()
            .interest_registration_id
    }

    /// Withdraws a registration through intake.
    pub async fn withdraw_registration(&self, registration_id: &str) {
        self.intake()
            .withdraw_interest_registration(authorized(
                intake::WithdrawInterestRegistrationRequest {
                    interest_registration_id: registration_id.to_owned(),
                    idempotency_key: new_key(),
                },
                &self.staff(),
            ))
            .await
            .unwrap();
    }

    /// Every case of the queue (all pages).
    pub async fn all_cases(&self) -> Vec<pb::AssessmentCase> {
        let mut cases = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .client()
                .list_assessment_cases(authorized(
                    pb::ListAssessmentCasesRequest {
                        page_size: 200,
                        page_token: token,
                        ..Default::default()
                    },
                    &self.staff(),
                ))
                .await
                .unwrap()
                .into_inner();
            cases.extend(page.assessment_cases);
            if page.next_page_token.is_empty() {
                return cases;
            }
            token = page.next_page_token;
        }
    }

    /// Waits until the case of `registration_id` satisfies `ready` (its events are applied).
    pub async fn case_of(
        &self,
        registration_id: &str,
        ready: impl Fn(&pb::AssessmentCase) -> bool,
    ) -> pb::AssessmentCase {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let found = self
                .all_cases()
                .await
                .into_iter()
                .find(|case| case.interest_registration_id == registration_id);
            if let Some(case) = found.filter(|case| ready(case)) {
                return self.get(&case.id).await.unwrap();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the case of {registration_id} did not arrive"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn get(&self, id: &str) -> Result<pb::AssessmentCase, tonic::Status> {
        self.client()
            .get_assessment_case(authorized(
                pb::GetAssessmentCaseRequest {
                    assessment_case_id: id.to_owned(),
                },
                &self.staff(),
            ))
            .await
            .map(|response| response.into_inner().assessment_case.unwrap())
    }

    pub async fn move_to(
        &self,
        case: &pb::AssessmentCase,
        stage: pb::AssessmentStage,
        method: pb::AssessmentMethod,
    ) -> Result<pb::AssessmentCase, tonic::Status> {
        self.client()
            .change_assessment_stage(authorized(
                pb::ChangeAssessmentStageRequest {
                    assessment_case_id: case.id.clone(),
                    stage: stage as i32,
                    method: method as i32,
                    etag: String::new(),
                    idempotency_key: new_key(),
                },
                &self.staff(),
            ))
            .await
            .map(|response| response.into_inner().assessment_case.unwrap())
    }

    /// Records a check of `register` for adult `adult` of `case`.
    pub async fn check(
        &self,
        case: &pb::AssessmentCase,
        adult: usize,
        register: pb::Register,
        outcome: pb::RegisterCheckOutcome,
    ) -> Result<pb::RegisterCheck, tonic::Status> {
        self.client()
            .create_register_check(authorized(
                pb::CreateRegisterCheckRequest {
                    register_check: Some(pb::RegisterCheck {
                        assessment_case_id: case.id.clone(),
                        adult_id: case.adults[adult].id.clone(),
                        register: register as i32,
                        outcome: outcome as i32,
                        checked_on: Some(hearth_proto::convert::date_to_proto(self.today())),
                        reference: "PM-2026-0042".to_owned(),
                        note: if outcome == pb::RegisterCheckOutcome::NoEntries {
                            String::new()
                        } else {
                            "En anteckning 2019, bedömd som utan betydelse.".to_owned()
                        },
                        ..Default::default()
                    }),
                    idempotency_key: new_key(),
                },
                &self.staff(),
            ))
            .await
            .map(tonic::Response::into_inner)
            .map(|response| response.register_check.unwrap())
    }

    /// Records a check without entries in every register for every adult.
    pub async fn check_everything(&self, case: &pb::AssessmentCase) {
        for adult in 0..case.adults.len() {
            for register in REGISTERS {
                self.check(case, adult, register, pb::RegisterCheckOutcome::NoEntries)
                    .await
                    .unwrap();
            }
        }
    }

    pub async fn decide(
        &self,
        case_id: &str,
        outcome: common::DecisionOutcome,
        profile: Option<pb::FamilyProfile>,
    ) -> Result<pb::DecideAssessmentResponse, tonic::Status> {
        self.client()
            .decide_assessment(authorized(
                pb::DecideAssessmentRequest {
                    assessment_case_id: case_id.to_owned(),
                    outcome: outcome as i32,
                    decided_on: Some(hearth_proto::convert::date_to_proto(self.today())),
                    rationale: "Bedömningen enligt BRA-Fam.".to_owned(),
                    family_profile: profile,
                    etag: String::new(),
                    idempotency_key: new_key(),
                },
                &self.staff(),
            ))
            .await
            .map(tonic::Response::into_inner)
    }
}

pub const REGISTERS: [pb::Register; 4] = [
    pb::Register::CriminalRecord,
    pb::Register::EnforcementAuthority,
    pb::Register::SocialServices,
    pb::Register::SocialInsurance,
];

/// The next event of `event_type` from `watch` (others are acknowledged and passed over).
pub async fn next_event(watch: &dyn EventConsumer, event_type: &str) -> EventEnvelope {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        for delivery in watch.fetch(10, Duration::from_millis(500)).await.unwrap() {
            let envelope = delivery.envelope().unwrap();
            delivery.ack().await.unwrap();
            if envelope.event_type == event_type {
                return envelope;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {event_type} on the bus"
        );
    }
}

pub fn new_key() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The `ErrorInfo.reason` of an error.
pub fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// A household registering its interest.
#[derive(Clone)]
pub struct Household {
    /// Distinguishes the adults' (synthetic) identity numbers.
    pub serial: u16,
    pub age_bands: Vec<common::AgeBand>,
    pub commission_kinds: Vec<common::CommissionKind>,
    pub experienced: bool,
    pub home: &'static str,
}

impl Household {
    pub fn new(serial: u16) -> Self {
        Self {
            serial,
            age_bands: vec![common::AgeBand::AgeBand06],
            commission_kinds: vec![common::CommissionKind::LongTermFosterHome],
            experienced: false,
            home: "2080",
        }
    }

    pub fn pin(&self, adult: u16) -> String {
        let born: NaiveDate = "1984-05-17".parse().unwrap();
        PersonalIdentityNumber::from_parts(born, self.serial * 2 + adult, false)
            .unwrap()
            .expose()
            .to_owned()
    }

    fn registration(&self) -> intake::InterestRegistration {
        intake::InterestRegistration {
            adults: vec![
                intake::RegisteredAdult {
                    given_name: "Åsa".to_owned(),
                    family_name: "Öberg".to_owned(),
                    personal_identity_number: self.pin(0),
                    email: "asa@example.se".to_owned(),
                    phone: "070-123 45 67".to_owned(),
                },
                intake::RegisteredAdult {
                    given_name: "Jonas".to_owned(),
                    family_name: "Berg".to_owned(),
                    personal_identity_number: self.pin(1),
                    email: String::new(),
                    phone: String::new(),
                },
            ],
            home_municipality: Some(common::MunicipalityCode {
                value: self.home.to_owned(),
            }),
            address: Some(common::PostalAddress {
                street_address: "Storgatan 1".to_owned(),
                postal_code: "791 31".to_owned(),
                locality: "Falun".to_owned(),
            }),
            housing: common::Housing::HouseInTown as i32,
            own_bedroom_for_child: true,
            has_earlier_experience: self.experienced,
            commission_kinds: self
                .commission_kinds
                .iter()
                .map(|kind| *kind as i32)
                .collect(),
            age_bands: self.age_bands.iter().map(|band| *band as i32).collect(),
            channel: common::InterestChannel::SocialMedia as i32,
            ..Default::default()
        }
    }
}

/// A valid first profile for an approval.
pub fn profile() -> pb::FamilyProfile {
    pb::FamilyProfile {
        display_name: "Öberg/Berg, Falun".to_owned(),
        location: Some(common::Location {
            municipality: Some(common::MunicipalityCode {
                value: "2080".to_owned(),
            }),
            position: None,
        }),
        capacity: 2,
        age_bands: vec![common::AgeBand::AgeBand1320 as i32],
        commission_kinds: vec![common::CommissionKind::LongTermFosterHome as i32],
        accepted_needs: vec![common::Need::Trauma as i32],
        fee_level: "2".to_owned(),
        ..Default::default()
    }
}
