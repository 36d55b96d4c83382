//! The operators' commands: `hearth dlq list`, `hearth dlq redrive` and `hearth replay`, run as
//! an operator runs them, against the embedded backends and against PostgreSQL and NATS.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hearth_bus::{
    ConsumerSpec, DeadLetter, EventBus, EventEnvelope, NewEvent, Outbox, OutboxRelay, RelayConfig,
    pack_payload, timestamp,
};
use hearth_config::{Settings, Sources};
use hearth_rpc::backends;

use super::{RealBackends, hearth};

/// Personal data in the test event's payload: it must never be printed.
const PERSONAL: &str = "Anna Andersson 19121212-1212";

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `hearth --config FILE <args>` in `dir`.
async fn run(dir: &Path, config: &Path, args: &[&str]) -> Output {
    hearth(dir)
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn dlq_list_on_an_empty_county_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // `hearth dlq` reads the data directory of a `hearth serve`; an empty one will do.
    std::fs::create_dir(dir.path().join("hearth-data")).unwrap();
    let output = hearth(dir.path())
        .args(["dlq", "list"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output).trim(), "no dead letters in county dalarna");

    let output = hearth(dir.path())
        .args(["dlq", "list", "--service", "matching"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout(&output).trim(),
        "no dead letters for service matching in county dalarna"
    );
}

#[tokio::test]
async fn replay_with_a_bad_since_names_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let output = hearth(dir.path())
        .args(["replay", "--service", "intake", "--since", "yesterday"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let error = stderr(&output);
    assert!(error.contains("--since"), "{error}");
    assert!(error.contains("RFC 3339"), "{error}");
    assert!(
        !dir.path().join("hearth-data").exists(),
        "nothing was opened"
    );
}

#[tokio::test]
async fn redrive_of_an_unknown_service_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = hearth(dir.path())
        .args(["dlq", "redrive", "--service", "nosuch"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let error = stderr(&output);
    assert!(error.contains("nosuch"), "{error}");
    assert!(
        error.contains("matching"),
        "the services are listed: {error}"
    );
    assert!(
        !dir.path().join("hearth-data").exists(),
        "nothing was opened"
    );
}

#[tokio::test]
async fn dead_letters_and_replay_on_the_embedded_backends() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!("data_dir = \"{}\"\n", dir.path().join("data").display()),
    )
    .unwrap();
    operations_scenario(dir.path(), &config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_and_replay_on_postgres_and_nats() {
    let dir = tempfile::tempdir().unwrap();
    let Some(backends) = RealBackends::new(dir.path(), "hearth_cli_ops").await else {
        return;
    };
    operations_scenario(dir.path(), &backends.config).await;
    backends.database.drop_database().await.unwrap();
}

/// The same settings the binary reads (the file only: the test's environment stays out).
fn settings(config: &Path) -> Settings {
    hearth_config::load(&Sources {
        file: Some(PathBuf::from(config)),
        environment: false,
        overrides: Vec::new(),
    })
    .unwrap()
}

/// The bus of `settings`, once it answers.
async fn bus(settings: &Settings) -> Arc<dyn EventBus> {
    let bus = backends::open_bus(settings).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Err(error) = bus.ensure_streams().await {
        assert!(tokio::time::Instant::now() < deadline, "{error}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bus
}

/// An event of intake, sent through its outbox and relay, dead-lettered by an assessment
/// consumer; then listed, redriven and replayed with the binary.
async fn operations_scenario(dir: &Path, config: &Path) {
    let migrated = run(dir, config, &["migrate"]).await;
    assert!(migrated.status.success(), "{migrated:?}");

    let settings = settings(config);
    let county = settings.county.slug.clone();
    let db = backends::open_database(&settings, "intake").await.unwrap();
    let bus = bus(&settings).await;
    let audit = bus
        .consumer(ConsumerSpec::new("audit", format!("hearth.{county}.>")))
        .await
        .unwrap();

    // intake writes an event and its relay sends it.
    let outbox = Outbox::new(&county, "intake").unwrap();
    let payload = prost_types::Value {
        kind: Some(prost_types::value::Kind::StringValue(PERSONAL.to_owned())),
    };
    let event: EventEnvelope = outbox
        .enqueue(
            &db,
            NewEvent::new(
                "interest.registered",
                "0190f0a0-0000-7000-8000-0000000000aa",
                1,
                pack_payload("google.protobuf.Value", &payload),
            ),
        )
        .await
        .unwrap();
    let before_sending = Utc::now();
    let relay = OutboxRelay::new(db.clone(), bus.clone(), &outbox, RelayConfig::default());
    assert_eq!(relay.flush(Duration::from_secs(10)).await.unwrap(), 1);
    let subject = format!("hearth.{county}.interest.registered");

    // An assessment consumer gave up on it.
    bus.dead_letter(
        DeadLetter {
            event: Some(event.clone()),
            consumer: "assessment-interest".to_owned(),
            error: "no assessment case for this registration".to_owned(),
            attempts: 5,
            dead_lettered_at: Some(timestamp(Utc::now())),
            original_subject: subject.clone(),
        },
        Some(&event.event_id),
    )
    .await
    .unwrap();

    // Listed: what an operator needs, never the payload.
    let listed = run(dir, config, &["dlq", "list"]).await;
    assert!(listed.status.success(), "{listed:?}");
    let text = stdout(&listed);
    for expected in [
        "assessment-interest",
        "interest.registered",
        event.event_id.as_str(),
        "no assessment case for this registration",
        "1 dead letter(s) in county",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    assert!(
        !text.contains("Anna") && !text.contains("19121212"),
        "{text}"
    );
    let other = run(dir, config, &["dlq", "list", "--service", "matching"]).await;
    assert!(
        stdout(&other).contains("no dead letters for service matching"),
        "{other:?}"
    );

    // An event id that has no dead letter: an error naming it, and nothing sent back.
    let unknown = "0190f0a0-0000-7000-8000-0000000000ff";
    let refused = run(
        dir,
        config,
        &[
            "dlq",
            "redrive",
            "--service",
            "assessment",
            "--event-id",
            unknown,
        ],
    )
    .await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(stderr(&refused).contains(unknown), "{refused:?}");
    let still = run(dir, config, &["dlq", "list", "--service", "assessment"]).await;
    assert!(stdout(&still).contains(&event.event_id), "{still:?}");

    // Sent back: republished on its subject under a redrive id, and gone from the dead letters.
    let redriven = run(
        dir,
        config,
        &[
            "dlq",
            "redrive",
            "--service",
            "assessment",
            "--event-id",
            &event.event_id,
        ],
    )
    .await;
    assert!(redriven.status.success(), "{redriven:?}");
    let text = stdout(&redriven);
    assert!(
        text.contains(&format!(
            "sent back interest.registered {} to assessment-interest on {subject}",
            event.event_id
        )),
        "{text}"
    );
    assert!(
        text.contains("1 dead letter(s) of service assessment sent back"),
        "{text}"
    );
    let after = run(dir, config, &["dlq", "list"]).await;
    assert!(after.status.success(), "{after:?}");
    assert_eq!(
        stdout(&after).trim(),
        format!("no dead letters in county {county}")
    );

    let mut delivered = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while delivered.len() < 2 && tokio::time::Instant::now() < deadline {
        delivered.extend(audit.fetch(2, Duration::from_millis(500)).await.unwrap());
    }
    assert_eq!(delivered.len(), 2, "the event, and the event sent back");
    assert_eq!(delivered[0].msg_id(), Some(event.event_id.as_str()));
    let redrive_id = delivered[1].msg_id().unwrap_or_default();
    assert!(
        redrive_id.starts_with(&format!("redrive:assessment-interest:{}:", event.event_id)),
        "{redrive_id}"
    );
    assert_eq!(delivered[1].subject(), subject);
    assert_eq!(delivered[1].envelope().unwrap(), event);
    for delivery in delivered {
        delivery.ack().await.unwrap();
    }

    // Replay: the row sent since then goes out again (inside the duplicate window, the bus
    // keeps it once); nothing was sent after now.
    let since = before_sending.to_rfc3339();
    let replayed = run(
        dir,
        config,
        &["replay", "--service", "intake", "--since", &since],
    )
    .await;
    assert!(replayed.status.success(), "{replayed:?}");
    let text = stdout(&replayed);
    assert!(
        text.contains("1 event(s) of service intake sent since"),
        "{text}"
    );
    assert!(
        text.contains("1 published by this command (1 of them still inside"),
        "{text}"
    );
    let future = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let nothing = run(
        dir,
        config,
        &["replay", "--service", "intake", "--since", &future],
    )
    .await;
    assert!(nothing.status.success(), "{nothing:?}");
    assert!(
        stdout(&nothing).contains("nothing to replay"),
        "{nothing:?}"
    );
    assert_eq!(outbox.unsent_count(&db).await.unwrap(), 0);
    db.close().await.unwrap();
}
