//! Personal data never reaches a log line: `hearth serve` at its most verbose (trace level,
//! every crate, SQL statements included) registers, reads and lists a family, and neither
//! stdout nor stderr holds its personal identity number, name, e-mail or street.

use crate::{hearth, household, stop_cleanly};
use chrono::NaiveDate;
use hearth_domain::PersonalIdentityNumber;
use hearth_proto::intake::v1 as pb;
use hearth_proto::intake::v1::intake_service_client::IntakeServiceClient;
use hearth_testkit::authorized;
use std::process::Stdio;
use std::time::Duration;

#[tokio::test]
async fn no_personal_data_in_trace_level_logs() {
    let dir = tempfile::tempdir().unwrap();
    let stdout_path = dir.path().join("stdout.log");
    let stderr_path = dir.path().join("stderr.log");
    let child = hearth(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("HEARTH__TELEMETRY__LOG_FORMAT", "json")
        .env("HEARTH__TELEMETRY__LOG_FILTER", "trace")
        .stdout(Stdio::from(std::fs::File::create(&stdout_path).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&stderr_path).unwrap()))
        .spawn()
        .unwrap();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let text = std::fs::read_to_string(&stdout_path).unwrap_or_default();
            if let Some(line) = text
                .lines()
                .find_map(|line| line.strip_prefix("Hearth is serving county `dalarna` on "))
            {
                return line.trim().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("hearth serve listens within a minute");

    let token = |role: &'static str| {
        let dir = dir.path().to_owned();
        async move {
            let output = hearth(&dir)
                .args(["token", "--role", role])
                .output()
                .await
                .unwrap();
            assert!(output.status.success(), "{output:?}");
            String::from_utf8(output.stdout).unwrap().trim().to_owned()
        }
    };
    let public = token("public_intake").await;
    let staff = token("unit_staff").await;

    let born = NaiveDate::from_ymd_opt(1979, 4, 30).unwrap();
    let number = PersonalIdentityNumber::from_parts(born, 358, false).unwrap();
    let digits = number.expose().to_owned();
    let registration = household(
        pb::RegisteredAdult {
            given_name: "Gunnel".to_owned(),
            family_name: "Zetterqvist".to_owned(),
            personal_identity_number: format!("{}-{}", &digits[..8], &digits[8..]),
            email: "gunnel.zetterqvist@example.se".to_owned(),
            phone: "070-987 65 43".to_owned(),
        },
        "2031",
        "Hantverkargatan 17",
        "Rättvik",
        "Vi bor nära skolan i Rättvik.",
    );
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = IntakeServiceClient::new(channel);
    let receipt = client
        .create_interest_registration(authorized(
            pb::CreateInterestRegistrationRequest {
                interest_registration: Some(registration.clone()),
                idempotency_key: uuid::Uuid::now_v7().to_string(),
            },
            &public,
        ))
        .await
        .unwrap()
        .into_inner();
    // A refused call with a mistyped number: errors must not echo it either.
    let mut mistyped = registration.clone();
    mistyped.adults[0].personal_identity_number = "197904301234".to_owned();
    client
        .create_interest_registration(authorized(
            pb::CreateInterestRegistrationRequest {
                interest_registration: Some(mistyped),
                idempotency_key: uuid::Uuid::now_v7().to_string(),
            },
            &public,
        ))
        .await
        .unwrap_err();
    let read = client
        .get_interest_registration(authorized(
            pb::GetInterestRegistrationRequest {
                interest_registration_id: receipt.interest_registration_id.clone(),
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .interest_registration
        .unwrap();
    assert_eq!(read.adults[0].personal_identity_number, digits);
    client
        .list_interest_registrations(authorized(
            pb::ListInterestRegistrationsRequest {
                view: pb::InterestRegistrationView::Full as i32,
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap();
    // Let the relay publish and the embedded bus log it.
    tokio::time::sleep(Duration::from_secs(2)).await;

    stop_cleanly(child, "-INT").await;
    let logs = std::fs::read_to_string(&stdout_path).unwrap()
        + &std::fs::read_to_string(&stderr_path).unwrap();
    assert!(
        logs.contains(&receipt.interest_registration_id),
        "the logs are there and name the registration by its id"
    );
    assert!(logs.lines().count() > 100, "trace level logs a lot");
    for secret in [
        digits.as_str(),
        &digits[2..],
        &digits[..8],
        "197904301234",
        "Zetterqvist",
        "gunnel.zetterqvist",
        "Hantverkargatan",
        "987 65 43",
        "46709876543",
        "nära skolan",
    ] {
        assert!(!logs.contains(secret), "the logs hold `{secret}`");
    }
}
