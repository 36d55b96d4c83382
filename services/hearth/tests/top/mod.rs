//! `hearth top` run as an operator runs it, against a stand-in scrape endpoint: a tiny HTTP
//! server whose counters move between scrapes.

use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::hearth;

/// What opentelemetry-prometheus exports, trimmed: `registrations` registrations so far, a
/// backlog of 12 in intake's outbox, a lag of 4 for the assessment consumer.
fn scrape_text(registrations: u32, dead_letters: u32) -> String {
    let scope = "hearth_county=\"dalarna\",otel_scope_name=\"hearth\",otel_scope_version=\"0.1.0\"";
    let rpc = format!(
        "{scope},rpc_method=\"CreateInterestRegistration\",rpc_response_status_code=\"OK\",\
         rpc_service=\"hearth.intake.v1.IntakeService\",rpc_system=\"grpc\""
    );
    let mut text = format!(
        "# HELP hearth_registrations_total Interest registrations accepted.\n\
         # TYPE hearth_registrations_total counter\n\
         hearth_registrations_total{{{scope}}} {registrations}\n\
         # TYPE hearth_outbox_backlog gauge\n\
         hearth_outbox_backlog{{{scope},hearth_service=\"intake\"}} 12\n\
         hearth_outbox_oldest_age_seconds{{{scope},hearth_service=\"intake\"}} 3.5\n\
         hearth_outbox_published_total{{{scope},hearth_event_type=\"interest.registered\",hearth_service=\"intake\"}} {registrations}\n\
         hearth_consumer_lag{{{scope},messaging_consumer_group_name=\"assessment-interest\"}} 4\n\
         hearth_dead_letters_total{{{scope},messaging_consumer_group_name=\"assessment-interest\"}} {dead_letters}\n\
         # TYPE rpc_server_call_duration_seconds histogram\n"
    );
    for le in [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
    ] {
        text.push_str(&format!(
            "rpc_server_call_duration_seconds_bucket{{{rpc},le=\"{le}\"}} {registrations}\n"
        ));
    }
    text.push_str(&format!(
        "rpc_server_call_duration_seconds_sum{{{rpc}}} 0.1\n\
         rpc_server_call_duration_seconds_count{{{rpc}}} {registrations}\n\
         a malformed line the parser skips\n"
    ));
    text
}

/// Serve `scrape_text(100, 1)` to the first request and `scrape_text(105, 2)` to every later
/// one; the URL to scrape.
async fn scrape_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let requests = requests.clone();
            tokio::spawn(async move {
                // Read the request head (a GET has no body).
                let mut head = Vec::new();
                let mut buffer = [0; 1024];
                while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => head.extend_from_slice(&buffer[..read]),
                    }
                }
                let body = match requests.fetch_add(1, Ordering::SeqCst) {
                    0 => scrape_text(100, 1),
                    _ => scrape_text(105, 2),
                };
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    format!("http://{addr}/metrics")
}

/// A URL where nothing listens.
async fn dead_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/metrics")
}

async fn top(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        hearth(dir.path()).arg("top").args(args).output(),
    )
    .await
    .expect("hearth top --once ends")
    .unwrap()
}

/// The first number on the line that starts with `label` (after indentation).
fn number_after(text: &str, label: &str) -> f64 {
    let line = text
        .lines()
        .find(|line| line.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{text}"));
    line.trim_start()[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|number| number.trim_start_matches('+').parse().ok())
        .unwrap_or_else(|| panic!("no number after `{label}` in {line:?}"))
}

#[tokio::test]
async fn top_once_prints_rates_backlog_and_lag_and_names_a_dead_endpoint() {
    let live = scrape_endpoint().await;
    let dead = dead_endpoint().await;
    let output = top(&["--once", "--interval", "1s", "--url", &live, "--url", &dead]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");

    assert!(
        stdout.starts_with("hearth top: 1 of 2 endpoint(s) answered; rates over the last 1."),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("  ok    {live}  ("))
            && stdout.contains("1 malformed line(s) skipped"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("  FAIL  {dead}  cannot connect: ")),
        "{stdout}"
    );
    // 5 registrations in a little over a second.
    let per_minute = number_after(&stdout, "registrations");
    assert!(
        (250.0..=300.0).contains(&per_minute),
        "{per_minute}\n{stdout}"
    );
    let calls_per_second = number_after(&stdout, "hearth.intake.v1.IntakeService");
    assert!((4.2..=5.0).contains(&calls_per_second), "{stdout}");
    assert_eq!(number_after(&stdout, "intake"), 12.0, "backlog\n{stdout}");
    assert!(stdout.contains("    3.5s"), "oldest age\n{stdout}");
    assert_eq!(
        number_after(&stdout, "assessment-interest"),
        4.0,
        "lag\n{stdout}"
    );
    assert!(stdout.contains("2 (+1)"), "dead letters\n{stdout}");
    assert!(stdout.contains("dead letters 2 (+1)"), "{stdout}");
}

#[tokio::test]
async fn top_once_fails_when_no_endpoint_answers() {
    let dead = dead_endpoint().await;
    let output = top(&["--once", "--interval", "100ms", "--url", &dead]).await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("  FAIL  {dead}  cannot connect: ")),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("error: no metrics endpoint answered ({dead})")),
        "{stderr}"
    );
}

#[tokio::test]
async fn top_refuses_urls_and_intervals_it_cannot_use() {
    for args in [
        ["--url", "https://127.0.0.1:9464/metrics"],
        ["--interval", "0s"],
        ["--interval", "soon"],
    ] {
        let output = top(&args).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
    }
}

#[tokio::test]
async fn top_reports_one_after_another_and_stops_quietly_when_the_reader_goes_away() {
    let live = scrape_endpoint().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = hearth(dir.path())
        .args(["top", "--interval", "200ms", "--url", &live])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut headers = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while headers.len() < 2 {
            let line = lines.next_line().await.unwrap().expect("a report");
            assert!(
                !line.contains('\x1b'),
                "no screen control codes into a pipe: {line:?}"
            );
            if line.starts_with("hearth top:") {
                headers.push(line);
            }
        }
    })
    .await
    .expect("two reports within 20 s");
    // The first has gauges only; the second has rates.
    assert!(
        headers[0].ends_with("rates after the next scrape"),
        "{headers:?}"
    );
    assert!(headers[1].contains("rates over the last"), "{headers:?}");

    // `hearth top | head`: the pipe closes, top ends without a panic.
    drop(lines);
    let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("top ends once its output is closed")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{output:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
