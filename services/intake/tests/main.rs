//! `hearth-intake`, the production shape of a service: alone in its process, against
//! PostgreSQL and NATS, configured by file and environment, migrated by `migrate`. Every
//! standalone binary is the same `hearth_rpc::standalone::main`, so this stands for all six.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod service;

use hearth_auth::{DevelopmentKey, MintRequest, Role};
use hearth_domain::CountySlug;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::process::Command;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const BINARY: &str = env!("CARGO_BIN_EXE_hearth-intake");

fn intake(config: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .arg("--config")
        .arg(config)
        .env_clear()
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn free_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn health(port: u16, service: &str) -> Result<ServingStatus, tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .map_err(|error| tonic::Status::unavailable(error.to_string()))?;
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await?;
    Ok(response.into_inner().status())
}

async fn call_intake(port: u16, token: &str) -> tonic::Status {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    hearth_testkit::call_unrouted(
        channel,
        "/hearth.intake.v1.IntakeService/NoSuchMethod",
        Some(token),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_alone_against_postgres_and_nats() {
    let Some(postgres) = hearth_testenv::postgres_url() else {
        return;
    };
    let Some(nats) = hearth_testenv::nats_url() else {
        return;
    };
    let database = hearth_testenv::fresh_postgres_database(&postgres, "hearth_standalone")
        .await
        .unwrap();
    let county = hearth_testenv::unique_county();
    let upper = county.to_uppercase();
    let _streams = hearth_testenv::DeleteStreamsOnDrop::new(
        nats.clone(),
        [format!("HEARTH_{upper}"), format!("HEARTH_{upper}_DLQ")],
    );

    // The county's identity provider: a key pair whose public half the service trusts.
    let dir = tempfile::tempdir().unwrap();
    let provider = DevelopmentKey::generate().unwrap();
    let public_key = dir.path().join("provider.pub.pem");
    std::fs::write(&public_key, provider.public_key_pem()).unwrap();
    let port = free_port().await;
    let county_file = dir.path().join("county.toml");
    std::fs::write(&county_file, hearth_testkit::dalarna_county_file()).unwrap();
    let county_file = county_file.display();
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{data}\"\n\
             [county]\nslug = \"{county}\"\nfile = \"{county_file}\"\n\
             [database]\nurl = \"{db}\"\n\
             [bus]\nnats_url = \"{nats}\"\n\
             [privacy]\ncurrent_data_key = \"k2026\"\nblind_index_key = \"{index_key}\"\n\
             [[privacy.data_keys]]\nid = \"k2026\"\nkey = \"{data_key}\"\n\
             [telemetry]\nmetrics_listen = \"127.0.0.1:0\"\n\
             [auth]\nissuer = \"https://idp.example\"\naudience = \"hearth\"\n\
             [[auth.trusted_keys]]\nkid = \"{kid}\"\npublic_key_file = \"{key}\"\n",
            data = dir.path().join("data").display(),
            db = database.url,
            kid = provider.kid(),
            // 32 bytes each, base64: test keys, as a Secret would mount them.
            data_key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            index_key = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
            key = public_key.display(),
        ),
    )
    .unwrap();

    // Before `migrate`, production refuses to start on a schema that is behind.
    let early = intake(&config).output().await.unwrap();
    assert!(!early.status.success());
    assert!(text(&early).contains("hearth migrate"), "{}", text(&early));

    let migrated = intake(&config).arg("migrate").output().await.unwrap();
    assert!(migrated.status.success(), "{}", text(&migrated));
    assert!(
        text(&migrated).contains("intake: 6 migration(s) applied"),
        "{}",
        text(&migrated)
    );

    let mut child = intake(&config)
        .env("HEARTH__TELEMETRY__LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match health(port, "hearth.intake.v1.IntakeService").await {
            Ok(ServingStatus::Serving) => break,
            other if tokio::time::Instant::now() > deadline => panic!("not serving: {other:?}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let other = health(port, "hearth.matching.v1.MatchingService").await;
    assert_eq!(
        other.unwrap_err().code(),
        Code::NotFound,
        "only intake runs here"
    );

    let token = provider
        .mint(MintRequest {
            county: CountySlug::parse(&county).unwrap(),
            roles: vec![Role::UnitStaff],
            municipality: None,
            subject: "integrator".to_owned(),
            ttl: Duration::from_secs(300),
            issuer: "https://idp.example".to_owned(),
            audience: "hearth".to_owned(),
        })
        .unwrap();
    assert_eq!(call_intake(port, &token).await.code(), Code::Unimplemented);
    // The development key is not trusted here: its tokens are refused.
    let development = DevelopmentKey::generate().unwrap();
    let untrusted = development
        .mint(MintRequest {
            county: CountySlug::parse(&county).unwrap(),
            roles: vec![Role::Admin],
            municipality: None,
            subject: "intruder".to_owned(),
            ttl: Duration::from_secs(300),
            issuer: "https://idp.example".to_owned(),
            audience: "hearth".to_owned(),
        })
        .unwrap();
    assert_eq!(
        call_intake(port, &untrusted).await.code(),
        Code::Unauthenticated
    );

    // SIGTERM, as Kubernetes sends it: a clean exit.
    let pid = child.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap()
            .success()
    );
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("stops within 30 s")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    database.drop_database().await.unwrap();
}

#[tokio::test]
async fn refuses_the_embedded_backends() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hearth.toml");
    std::fs::write(&config, "").unwrap();
    let output = intake(&config).output().await.unwrap();
    assert!(!output.status.success());
    assert!(text(&output).contains("database.url"), "{}", text(&output));
    assert!(
        !dir.path().join("hearth-data").exists(),
        "nothing was created"
    );
}
