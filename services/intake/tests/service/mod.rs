//! The intake API over real gRPC, every scenario on SQLite and on PostgreSQL (the embedded bus
//! in both; the bus path on NATS is covered by the e2e suite).

mod identity_numbers;
mod registrations;
mod requests;

use chrono::NaiveDate;
use hearth_auth::Role;
use hearth_domain::PersonalIdentityNumber;
use hearth_intake::Intake;
use hearth_proto::common::v1 as common;
use hearth_proto::intake::v1 as pb;
use hearth_proto::intake::v1::intake_service_client::IntakeServiceClient;
use hearth_testkit::{Storage, TestHearth, authorized};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

pub(crate) use hearth_testkit::on_both_backends;

pub struct Fixture {
    pub hearth: TestHearth,
    pub channel: Channel,
}

impl Fixture {
    /// Intake alone on `storage`; `None` when the backend is not configured (skipped).
    pub async fn start(storage: Storage) -> Option<Self> {
        let hearth = TestHearth::builder(vec![Box::new(Intake)])
            .storage(storage)
            .start()
            .await?;
        let channel = hearth.channel().await;
        Some(Self { hearth, channel })
    }

    pub fn client(&self) -> IntakeServiceClient<Channel> {
        IntakeServiceClient::new(self.channel.clone())
    }

    pub fn token(&self, roles: &[Role], municipality: Option<&str>) -> String {
        self.hearth.token(roles, municipality)
    }

    pub fn staff(&self) -> String {
        self.token(&[Role::UnitStaff], None)
    }

    pub fn public(&self) -> String {
        self.token(&[Role::PublicIntake], None)
    }

    pub fn municipality(&self, code: &str) -> String {
        self.token(&[Role::MunicipalityStaff], Some(code))
    }
}

pub fn request<T>(message: T, token: &str) -> tonic::Request<T> {
    authorized(message, token)
}

/// A synthetic, valid personal identity number of an adult born on `born` (YYYY-MM-DD).
pub fn pin(born: &str, serial: u16) -> String {
    let date: NaiveDate = born.parse().unwrap();
    PersonalIdentityNumber::from_parts(date, serial, false)
        .unwrap()
        .expose()
        .to_owned()
}

pub fn municipality(code: &str) -> Option<common::MunicipalityCode> {
    Some(common::MunicipalityCode {
        value: code.to_owned(),
    })
}

pub fn new_key() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A complete, valid registration of a two-adult household in Falun.
pub fn registration(first_pin: &str, second_pin: &str) -> pb::InterestRegistration {
    pb::InterestRegistration {
        adults: vec![
            pb::RegisteredAdult {
                given_name: "Åsa-Märta".to_owned(),
                family_name: "Öberg".to_owned(),
                personal_identity_number: first_pin.to_owned(),
                email: "asa@example.se".to_owned(),
                phone: "070-123 45 67".to_owned(),
            },
            pb::RegisteredAdult {
                given_name: "Seán".to_owned(),
                family_name: "O'Connor".to_owned(),
                personal_identity_number: second_pin.to_owned(),
                email: String::new(),
                phone: String::new(),
            },
        ],
        home_municipality: municipality("2080"),
        address: Some(common::PostalAddress {
            street_address: "Storgatan 1".to_owned(),
            postal_code: "791 31".to_owned(),
            locality: "Falun".to_owned(),
        }),
        housing: common::Housing::HouseInTown as i32,
        own_bedroom_for_child: true,
        household_children_ages: vec![4, 9],
        has_earlier_experience: true,
        commission_kinds: vec![
            common::CommissionKind::LongTermFosterHome as i32,
            common::CommissionKind::EmergencyHome as i32,
        ],
        age_bands: vec![common::AgeBand::AgeBand06 as i32],
        channel: common::InterestChannel::SocialMedia as i32,
        message: "Vi har plats för ett barn.".to_owned(),
        ..Default::default()
    }
}

/// The field paths of an `InvalidArgument`'s BadRequest details.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .map(|details| {
            details
                .field_violations
                .into_iter()
                .map(|v| v.field)
                .collect()
        })
        .unwrap_or_default()
}

/// The `ErrorInfo.reason` of an error.
pub fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}
