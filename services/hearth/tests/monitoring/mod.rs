//! What operators watch: the Prometheus scrape of a running `hearth serve`.
//!
//! - The outbox backlog rises while NATS is down and drains once it is back (PostgreSQL and a
//!   private `nats-server` that the test stops and restarts).
//! - The Grafana dashboard and the alert rules shipped with the chart are well-formed, and every
//!   metric their queries name is one Hearth really exports, checked against a scrape.

use crate::{hearth, household, serve_with};
use chrono::NaiveDate;
use hearth_domain::PersonalIdentityNumber;
use hearth_proto::intake::v1 as pb;
use hearth_proto::intake::v1::intake_service_client::IntakeServiceClient;
use hearth_testenv::{NatsServer, TestBackends, fresh_postgres_database};
use hearth_testkit::authorized;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// One sample of a scrape: its name, its labels (as written) and its value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: String,
    value: f64,
}

/// `GET` the scrape over plain HTTP/1.0 and split it into samples.
async fn scrape(metrics_url: &str) -> Vec<Sample> {
    let rest = metrics_url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream
        .write_all(format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("text/plain; version=0.0.4"),
        "{head}"
    );
    body.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            Sample {
                name: name.to_owned(),
                labels: labels.to_owned(),
                value: value.parse().unwrap(),
            }
        })
        .collect()
}

/// The sum of the samples named `name` whose labels contain every one of `labels`.
fn total(samples: &[Sample], name: &str, labels: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|sample| sample.name == name && labels.iter().all(|l| sample.labels.contains(l)))
        .map(|sample| sample.value)
        .sum()
}

/// Scrapes until `done` holds, for at most `within`; returns the last scrape.
async fn scrape_until(
    metrics_url: &str,
    within: Duration,
    what: &str,
    done: impl Fn(&[Sample]) -> bool,
) -> Vec<Sample> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let samples = scrape(metrics_url).await;
        if done(&samples) {
            return samples;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not seen within {within:?}; last scrape: {samples:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The `metrics:` line of `hearth serve`'s welcome text.
fn metrics_url(welcome: &[String]) -> String {
    welcome
        .iter()
        .find_map(|line| line.trim().strip_prefix("metrics:"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no metrics line in {welcome:#?}"))
        .to_owned()
}

/// Registers one household whose adult has the `serial`th number born on 30 April 1979.
async fn register(addr: &str, token: &str, serial: u16) {
    let born = NaiveDate::from_ymd_opt(1979, 4, 30).unwrap();
    let number = PersonalIdentityNumber::from_parts(born, serial, false).unwrap();
    let registration = household(
        pb::RegisteredAdult {
            given_name: "Maj".to_owned(),
            family_name: "Andersson".to_owned(),
            personal_identity_number: number.expose().to_owned(),
            email: format!("maj.{serial}@example.se"),
            phone: "070-123 45 67".to_owned(),
        },
        "2080",
        &format!("Åsgatan {serial}"),
        "Falun",
        "",
    );
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    IntakeServiceClient::new(channel)
        .create_interest_registration(authorized(
            pb::CreateInterestRegistrationRequest {
                interest_registration: Some(registration),
                idempotency_key: uuid::Uuid::now_v7().to_string(),
            },
            token,
        ))
        .await
        .unwrap();
}

async fn public_token(dir: &Path) -> String {
    let output = hearth(dir)
        .args(["token", "--role", "public_intake"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn outbox_backlog_rises_while_nats_is_down_and_drains_after() {
    let backends = TestBackends::from_env();
    let Some(server_url) = backends.postgres_url() else {
        return;
    };
    // The outage is a private nats-server's: the binary is what this test needs of NATS.
    if backends.nats_server().is_none() {
        return;
    }
    let database = fresh_postgres_database(&server_url, "hearth_metrics")
        .await
        .unwrap();
    let mut nats = NatsServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let nats_url = nats.url();
    let (_child, addr, welcome) = serve_with(
        dir.path(),
        &[
            ("HEARTH__DATABASE__URL", &database.url),
            ("HEARTH__DATABASE__MIGRATE_ON_START", "true"),
            ("HEARTH__BUS__NATS_URL", &nats_url),
        ],
    )
    .await;
    let metrics = metrics_url(&welcome);
    let token = public_token(dir.path()).await;
    let backlog = |samples: &[Sample]| {
        total(
            samples,
            "hearth_outbox_backlog",
            &[r#"hearth_service="intake""#],
        )
    };

    // With the bus up, a registration goes straight through.
    register(&addr, &token, 101).await;
    scrape_until(
        &metrics,
        Duration::from_secs(30),
        "one registration published",
        |s| total(s, "hearth_registrations_total", &[]) == 1.0 && backlog(s) == 0.0,
    )
    .await;

    // NATS goes down: registrations are still accepted, and wait in the outbox.
    nats.stop().await.unwrap();
    for serial in [102, 103, 104] {
        register(&addr, &token, serial).await;
    }
    let during = scrape_until(
        &metrics,
        Duration::from_secs(30),
        "the backlog rising",
        |s| {
            backlog(s) >= 3.0
                && total(
                    s,
                    "hearth_outbox_publish_failures_total",
                    &[r#"hearth_service="intake""#],
                ) > 0.0
        },
    )
    .await;
    assert_eq!(backlog(&during), 3.0);
    let oldest = total(
        &during,
        "hearth_outbox_oldest_age_seconds",
        &[r#"hearth_service="intake""#],
    );
    assert!(oldest > 0.0, "the oldest unsent event has an age: {oldest}");
    assert_eq!(total(&during, "hearth_registrations_total", &[]), 1.0);

    // NATS is back: the relay drains the outbox and the age returns to zero.
    nats.restart().await.unwrap();
    let after = scrape_until(
        &metrics,
        Duration::from_secs(90),
        "the backlog draining",
        |s| backlog(s) == 0.0 && total(s, "hearth_registrations_total", &[]) == 4.0,
    )
    .await;
    assert_eq!(
        total(
            &after,
            "hearth_outbox_oldest_age_seconds",
            &[r#"hearth_service="intake""#]
        ),
        0.0
    );
    // Assessment opened a case for each, on the consumer that was waiting.
    scrape_until(
        &metrics,
        Duration::from_secs(30),
        "assessment catching up",
        |s| {
            total(
                s,
                "messaging_process_duration_seconds_count",
                &[
                    r#"messaging_consumer_group_name="assessment-interests""#,
                    r#"hearth_outcome="applied""#,
                ],
            ) >= 4.0
                && total(
                    s,
                    "hearth_consumer_lag",
                    &[r#"messaging_consumer_group_name="assessment-interests""#],
                ) == 0.0
        },
    )
    .await;
}

/// The chart's monitoring files.
fn monitoring_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../helm/hearth/monitoring")
}

/// Every metric name a PromQL expression selects.
fn metric_names(expr: &str, names: &mut BTreeSet<String>) {
    use promql_parser::parser::{self, Expr};
    // Grafana's interval variables are not PromQL.
    let expr = expr
        .replace("$__rate_interval", "5m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h");
    let parsed = parser::parse(&expr).unwrap_or_else(|error| panic!("{expr}: {error}"));
    fn walk(expr: &Expr, names: &mut BTreeSet<String>) {
        match expr {
            Expr::VectorSelector(selector) => {
                let name = selector.name.clone().or_else(|| {
                    selector
                        .matchers
                        .matchers
                        .iter()
                        .find(|m| m.name == "__name__")
                        .map(|m| m.value.clone())
                });
                names.insert(name.expect("every selector names its metric"));
            }
            Expr::MatrixSelector(matrix) => {
                walk(&Expr::VectorSelector(matrix.vs.clone()), names);
            }
            Expr::Aggregate(aggregate) => {
                walk(&aggregate.expr, names);
                if let Some(param) = &aggregate.param {
                    walk(param, names);
                }
            }
            Expr::Unary(unary) => walk(&unary.expr, names),
            Expr::Binary(binary) => {
                walk(&binary.lhs, names);
                walk(&binary.rhs, names);
            }
            Expr::Paren(paren) => walk(&paren.expr, names),
            Expr::Subquery(subquery) => walk(&subquery.expr, names),
            Expr::Call(call) => {
                for arg in &call.args.args {
                    walk(arg, names);
                }
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
    }
    walk(&parsed, names);
}

/// Every `expr` of the dashboard's panels, after checking the dashboard's shape: what Grafana
/// needs to load it (a uid, a title, a schema version, panels with unique ids, a place on the
/// 24-column grid, a data source and queries with reference ids).
fn dashboard_queries() -> Vec<String> {
    let text = std::fs::read_to_string(monitoring_dir().join("dashboard.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    for key in ["uid", "title"] {
        assert!(
            dashboard[key].as_str().is_some_and(|v| !v.is_empty()),
            "dashboard.{key}"
        );
    }
    assert!(dashboard["schemaVersion"].as_u64().is_some_and(|v| v >= 30));
    let variables: BTreeSet<&str> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variable| variable["name"].as_str().unwrap())
        .collect();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(!panels.is_empty());
    let mut ids = BTreeSet::new();
    let mut queries = Vec::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or_default();
        assert!(
            ids.insert(panel["id"].as_u64().unwrap()),
            "duplicate id: {title}"
        );
        assert!(panel["type"].as_str().is_some(), "{title}: type");
        let grid = &panel["gridPos"];
        let (x, w, h) = (
            grid["x"].as_u64().unwrap(),
            grid["w"].as_u64().unwrap(),
            grid["h"].as_u64().unwrap(),
        );
        assert!(
            grid["y"].as_u64().is_some() && w > 0 && h > 0 && x + w <= 24,
            "{title}: gridPos"
        );
        if panel["type"] == "row" {
            continue;
        }
        let source = panel["datasource"]["uid"].as_str().unwrap_or_default();
        if let Some(variable) = source.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
            assert!(
                variables.contains(variable),
                "{title}: data source ${{{variable}}}"
            );
        }
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}: no query");
        for target in targets {
            assert!(target["refId"].as_str().is_some(), "{title}: refId");
            queries.push(target["expr"].as_str().unwrap().to_owned());
        }
    }
    queries
}

/// Every `expr` of the alert rules, after checking each alert has what its runbook needs.
fn alert_queries() -> Vec<String> {
    let text = std::fs::read_to_string(monitoring_dir().join("alerts.yaml")).unwrap();
    let rules: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let mut queries = Vec::new();
    for group in rules["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            let alert = rule["alert"].as_str().unwrap();
            assert!(
                rule["labels"]["severity"].as_str().is_some(),
                "{alert}: severity"
            );
            for annotation in ["summary", "description", "runbook_url"] {
                assert!(
                    rule["annotations"][annotation].as_str().is_some(),
                    "{alert}: {annotation}"
                );
            }
            queries.push(rule["expr"].as_str().unwrap().to_owned());
        }
    }
    assert!(queries.len() >= 8, "{} alerts", queries.len());
    queries
}

#[tokio::test]
async fn dashboard_and_alerts_query_only_metrics_hearth_exports() {
    let dir = tempfile::tempdir().unwrap();
    let (_child, addr, welcome) = serve_with(dir.path(), &[]).await;
    let metrics = metrics_url(&welcome);
    // One registration through the whole pipeline makes every series exist: a call, a
    // publish, a handled event.
    register(&addr, &public_token(dir.path()).await, 201).await;
    let samples = scrape_until(&metrics, Duration::from_secs(30), "the pipeline", |s| {
        total(
            s,
            "messaging_process_duration_seconds_count",
            &[r#"hearth_event_type="interest.registered""#],
        ) >= 1.0
            && s.iter().any(|sample| sample.name == "hearth_consumer_lag")
    })
    .await;
    let exported: BTreeSet<&str> = samples.iter().map(|s| s.name.as_str()).collect();
    assert!(
        samples
            .iter()
            .all(|s| s.labels.contains(r#"hearth_county="dalarna""#)),
        "every series names its county"
    );

    let mut named = BTreeSet::new();
    for query in dashboard_queries().iter().chain(&alert_queries()) {
        metric_names(query, &mut named);
    }
    let missing: Vec<&String> = named
        .iter()
        .filter(|name| !exported.contains(name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "queried but not exported: {missing:?}\nexported: {exported:?}"
    );
    // And the other way round: what the dashboard shows covers the pipeline.
    for needed in [
        "hearth_registrations_total",
        "hearth_outbox_backlog",
        "hearth_outbox_oldest_age_seconds",
        "hearth_consumer_lag",
        "hearth_dead_letters_total",
        "rpc_server_call_duration_seconds_bucket",
    ] {
        assert!(named.contains(needed), "nothing queries {needed}");
    }
}

/// `hearth top` against a real `hearth serve`: the names it looks for are the ones exported.
#[tokio::test]
async fn hearth_top_shows_a_real_instance() {
    let dir = tempfile::tempdir().unwrap();
    let (_child, addr, welcome) = serve_with(dir.path(), &[]).await;
    let metrics = metrics_url(&welcome);
    let token = public_token(dir.path()).await;
    let top = hearth(dir.path())
        .args(["top", "--once", "--interval", "5s", "--url", &metrics])
        .output();
    let registrations = async {
        // After top's first scrape, before its second.
        tokio::time::sleep(Duration::from_millis(700)).await;
        for serial in [301, 302, 303] {
            register(&addr, &token, serial).await;
        }
    };
    let (output, ()) = tokio::join!(top, registrations);
    let output = output.unwrap();
    assert!(output.status.success(), "{output:?}");
    let report = String::from_utf8(output.stdout).unwrap();
    let per_minute = report
        .lines()
        .find_map(|line| line.trim().strip_prefix("registrations"))
        .and_then(|rest| rest.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no registrations line: {report}"));
    // Three in five seconds: 36 a minute (fewer if the machine is slow to register them all
    // before the second scrape; never more).
    assert!(
        per_minute > 0.0 && per_minute <= 40.0,
        "{per_minute}/min\n{report}"
    );
    for shown in [
        "hearth.intake.v1.IntakeService",
        "intake",
        "assessment-interests",
    ] {
        assert!(report.contains(shown), "{shown} is not shown:\n{report}");
    }
}
