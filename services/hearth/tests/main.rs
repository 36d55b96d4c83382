//! The `hearth` binary as a user meets it: the README's first command, tokens, settings, and
//! the operators' commands (`operations`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod allocation;
mod first_hour;
mod monitoring;
mod operations;
mod personal_data;
mod top;
mod traces;

use hearth_testkit::call_unrouted;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A method intake does not have: what the caller gets shows the auth layer's decision alone.
const UNROUTED: &str = "/hearth.intake.v1.IntakeService/NoSuchMethod";

const HEARTH: &str = env!("CARGO_BIN_EXE_hearth");

const SERVICES: [&str; 6] = [
    "hearth.intake.v1.IntakeService",
    "hearth.assessment.v1.AssessmentService",
    "hearth.matching.v1.MatchingService",
    "hearth.training.v1.TrainingService",
    "hearth.followup.v1.FollowupService",
    "hearth.allocation.v1.AllocationService",
];

/// A one-adult household's interest registration, as a public intake form sends it; the rest of
/// the form is the same for every test.
fn household(
    adult: hearth_proto::intake::v1::RegisteredAdult,
    municipality: &str,
    street_address: &str,
    locality: &str,
    message: &str,
) -> hearth_proto::intake::v1::InterestRegistration {
    use hearth_proto::common::v1 as common;
    hearth_proto::intake::v1::InterestRegistration {
        adults: vec![adult],
        home_municipality: Some(common::MunicipalityCode {
            value: municipality.to_owned(),
        }),
        address: Some(common::PostalAddress {
            street_address: street_address.to_owned(),
            postal_code: "791 71".to_owned(),
            locality: locality.to_owned(),
        }),
        housing: common::Housing::HouseInCountryside as i32,
        commission_kinds: vec![common::CommissionKind::EmergencyHome as i32],
        age_bands: vec![common::AgeBand::AgeBand1320 as i32],
        channel: common::InterestChannel::WordOfMouth as i32,
        message: message.to_owned(),
        ..Default::default()
    }
}

/// PostgreSQL and NATS for one test: a fresh database, a unique county (so unique streams,
/// deleted afterwards) and a settings file in `dir` naming them. `None` (after a visible skip
/// line) without the test backends.
struct RealBackends {
    database: hearth_testenv::FreshDatabase,
    _streams: hearth_testenv::DeleteStreamsOnDrop,
    config: std::path::PathBuf,
}

impl RealBackends {
    async fn new(dir: &Path, prefix: &str) -> Option<RealBackends> {
        let postgres = hearth_testenv::postgres_url()?;
        let nats = hearth_testenv::nats_url()?;
        let database = hearth_testenv::fresh_postgres_database(&postgres, prefix)
            .await
            .unwrap();
        let county = hearth_testenv::unique_county();
        let upper = county.to_uppercase();
        let streams = hearth_testenv::DeleteStreamsOnDrop::new(
            nats.clone(),
            [format!("HEARTH_{upper}"), format!("HEARTH_{upper}_DLQ")],
        );
        let county_file = dir.join("county.toml");
        std::fs::write(&county_file, hearth_testkit::dalarna_county_file()).unwrap();
        let config = dir.join("hearth.toml");
        std::fs::write(
            &config,
            format!(
                "data_dir = \"{data}\"\n\
                 [county]\nslug = \"{county}\"\nfile = \"{county_file}\"\n\
                 [database]\nurl = \"{db}\"\n\
                 [bus]\nnats_url = \"{nats}\"\n",
                data = dir.join("data").display(),
                county_file = county_file.display(),
                db = database.url,
            ),
        )
        .unwrap();
        Some(RealBackends {
            database,
            _streams: streams,
            config,
        })
    }
}

/// `hearth` in `dir`, with an empty environment: no `HEARTH__…` settings leak in from the
/// test's own environment, so each test sets exactly what it means.
fn hearth(dir: &Path) -> Command {
    let mut command = Command::new(HEARTH);
    // Each `hearth serve` gets its own scrape port: tests run side by side.
    command
        .current_dir(dir)
        .env_clear()
        .env("HEARTH__TELEMETRY__METRICS_LISTEN", "127.0.0.1:0")
        .kill_on_drop(true);
    command
}

/// Start `hearth serve` and wait for the line that says where it listens.
async fn serve(dir: &Path) -> (Child, String, Vec<String>) {
    serve_with(dir, &[]).await
}

/// [`serve`] with more settings in the environment.
async fn serve_with(dir: &Path, settings: &[(&str, &str)]) -> (Child, String, Vec<String>) {
    let mut child = hearth(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("HEARTH__TELEMETRY__LOG_FORMAT", "json")
        .envs(settings.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            seen.push(line.clone());
            if let Some(rest) = line.strip_prefix("Hearth is serving county `dalarna` on ") {
                return rest.trim().to_owned();
            }
        }
        panic!("hearth serve exited before listening: {seen:?}")
    })
    .await
    .expect("hearth serve listens within a minute");
    // Keep reading the welcome text (tokens, examples) until the prompt.
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_secs(5), lines.next_line()).await
    {
        let done = line.starts_with("Press Ctrl-C");
        seen.push(line);
        if done {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr, seen)
}

async fn connect(addr: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn check(addr: &str, service: &str) -> ServingStatus {
    let mut client = HealthClient::new(connect(addr).await);
    let response = client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .unwrap();
    response.into_inner().status()
}

#[tokio::test]
async fn serve_runs_all_six_services_on_the_embedded_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let (child, addr, welcome) = serve(dir.path()).await;

    for service in SERVICES.into_iter().chain([""]) {
        assert_eq!(
            check(&addr, service).await,
            ServingStatus::Serving,
            "{service:?}"
        );
    }
    // The default data directory, relative to where it was started.
    assert!(dir.path().join("hearth-data/db/intake.sqlite3").is_file());
    assert!(dir.path().join("hearth-data/bus.sqlite3").is_file());
    assert!(
        welcome.iter().any(|line| line.contains("unit_staff: ey")),
        "{welcome:?}"
    );

    // Reflection lists every service (v1; v1alpha is exercised in the end-to-end tests).
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(connect(&addr).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list")
    };
    let listed: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in SERVICES.into_iter().chain(["grpc.health.v1.Health"]) {
        assert!(
            listed.iter().any(|name| name == service),
            "{service} not in {listed:?}"
        );
    }

    // An RPC without a token is refused; with one from `hearth token` it gets through.
    let channel = connect(&addr).await;
    let refused = call_unrouted(channel.clone(), UNROUTED, None).await;
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let output = hearth(dir.path())
        .args(["token", "--role", "unit_staff"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let passed = call_unrouted(channel, UNROUTED, Some(&token)).await;
    assert_ne!(passed.code(), Code::Unauthenticated, "{passed:?}");
    assert_ne!(passed.code(), Code::PermissionDenied, "{passed:?}");

    // The operators' commands work beside a running `hearth serve` (SQLite in WAL mode admits
    // a second process; the embedded bus polls its file).
    let listed = hearth(dir.path())
        .args(["dlq", "list"])
        .output()
        .await
        .unwrap();
    assert!(listed.status.success(), "{listed:?}");
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("no dead letters in county dalarna"),
        "{listed:?}"
    );
    let replayed = hearth(dir.path())
        .args([
            "replay",
            "--service",
            "intake",
            "--since",
            "2026-01-01T00:00:00Z",
        ])
        .output()
        .await
        .unwrap();
    assert!(replayed.status.success(), "{replayed:?}");
    assert!(
        String::from_utf8_lossy(&replayed.stdout).contains("nothing to replay"),
        "{replayed:?}"
    );
    assert_eq!(check(&addr, "").await, ServingStatus::Serving);

    // Ctrl-C: a clean stop.
    stop_cleanly(child, "-INT").await;
}

/// Sends `signal` (`-INT` as Ctrl-C does, `-TERM` as Kubernetes does) and waits for a
/// successful exit: the binary flushes its outboxes and telemetry as it stops.
async fn stop_cleanly(mut child: Child, signal: &str) {
    let pid = child.id().expect("running").to_string();
    let status = Command::new("kill")
        .args([signal, &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("stops within 30 s")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn config_layers_environment_and_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let output = hearth(dir.path())
        .arg("config")
        .env("HEARTH__COUNTY__SLUG", "jonkoping")
        .env("HEARTH__COUNTY__SCB_CODE", "06")
        .env("HEARTH__BUS__PASSWORD", "not-for-your-eyes")
        .env(
            "HEARTH__DATABASE__URL",
            "postgres://hearth:also-secret@db/hearth_jonkoping",
        )
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(printed.contains("slug = \"jonkoping\""), "{printed}");
    assert!(
        printed.contains("postgres://hearth:********@db/hearth_jonkoping"),
        "{printed}"
    );
    assert!(
        !printed.contains("not-for-your-eyes") && !printed.contains("also-secret"),
        "{printed}"
    );
}

#[tokio::test]
async fn a_bad_setting_is_named_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    let output = hearth(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("HEARTH__TELEMETRY__SAMPLE_RATIO", "2.5")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("telemetry.sample_ratio"), "{stderr}");
    assert!(
        !dir.path().join("hearth-data").exists(),
        "nothing was created"
    );
}

#[tokio::test]
async fn municipality_staff_tokens_need_a_municipality() {
    let dir = tempfile::tempdir().unwrap();
    // `hearth token` reads the data directory of a `hearth serve`; an empty one will do.
    std::fs::create_dir(dir.path().join("hearth-data")).unwrap();
    let output = hearth(dir.path())
        .args(["token", "--role", "municipality_staff"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("municipality")
    );
    let output = hearth(dir.path())
        .args([
            "token",
            "--role",
            "municipality_staff",
            "--municipality",
            "2080",
        ])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let output = hearth(dir.path())
        .args(["token", "--role", "janitor"])
        .output()
        .await
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "clap refuses an unknown role"
    );
}
