//! A new user's first hour with the CLI: output into a closed pipe, a data directory that is
//! not there (or already served), a taken metrics port, a county by its slug alone, and error
//! messages that say what to change.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::{HEARTH, hearth, serve, stop_cleanly};

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `hearth config` in `dir` with `settings` in the environment.
async fn config_with(dir: &Path, settings: &[(&str, &str)]) -> (Output, String, String) {
    let output = hearth(dir)
        .arg("config")
        .envs(settings.iter().copied())
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = text(&output);
    (output, stdout, stderr)
}

fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
}

/// Runs `hearth ARGS` in `dir` with stdout a pipe whose reading end is closed before the
/// command starts: every write it makes meets EPIPE (`hearth … | true`).
fn into_closed_pipe(dir: &Path, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut command = std::process::Command::new(HEARTH);
    command
        .current_dir(dir)
        .env_clear()
        .env("HEARTH__TELEMETRY__METRICS_LISTEN", "127.0.0.1:0")
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    // The command holds the only writing end now.
    drop(command);
    child.wait_with_output().unwrap()
}

#[test]
fn every_command_ends_quietly_when_its_reader_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("hearth-data")).unwrap();
    let members = data_file("dalarna-members.csv");
    let budget = data_file("dalarna-budget-lines.csv");
    let allocation = [
        "allocation",
        "run",
        "--members",
        members.to_str().unwrap(),
        "--budget",
        budget.to_str().unwrap(),
        "--year",
        "2026",
        "--key",
        "population",
        "--out",
        "out",
    ];
    let commands: [&[&str]; 4] = [
        &["config"],
        &["dlq", "list"],
        &["token", "--role", "unit_staff"],
        &allocation,
    ];
    for args in commands {
        let output = into_closed_pipe(dir.path(), args);
        let (_, stderr) = text(&output);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert_ne!(output.status.code(), Some(101), "{args:?}: {stderr}");
        assert!(output.status.success(), "{args:?}: {output:?}");
    }
}

#[tokio::test]
async fn commands_that_read_the_data_directory_refuse_a_missing_one_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["token", "--role", "unit_staff"],
        vec!["dlq", "list"],
        vec![
            "replay",
            "--service",
            "intake",
            "--since",
            "2026-01-01T00:00:00Z",
        ],
    ] {
        let output = hearth(dir.path()).args(&args).output().await.unwrap();
        let (stdout, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        let expected = dir.path().join("hearth-data");
        assert!(
            stderr.contains(&format!("no data directory at {}", expected.display())),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("hearth serve") && stderr.contains("--data-dir"),
            "{args:?}: {stderr}"
        );
        assert!(
            !expected.exists(),
            "{args:?} created {}",
            expected.display()
        );
    }

    // A mistyped --data-dir is named as typed, and not created either.
    let output = hearth(dir.path())
        .args(["--data-dir", "hearth-dta", "token", "--role", "unit_staff"])
        .output()
        .await
        .unwrap();
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(stderr.contains("hearth-dta (--data-dir)"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_second_serve_on_the_same_directory_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let (child, addr, _) = serve(dir.path()).await;
    let pid = child.id().unwrap();
    let output = hearth(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .await
        .unwrap();
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let data = dir.path().join("hearth-data");
    assert!(
        stderr.contains(&format!(
            "the data directory {} is in use by another `hearth serve` (pid {pid}, gRPC on {addr}",
            data.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("--data-dir"), "{stderr}");
    stop_cleanly(child, "-INT").await;
}

/// Waits for `hearth serve`'s welcome text up to its last line.
async fn welcome(child: &mut tokio::process::Child) -> Vec<String> {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.starts_with("Press Ctrl-C");
            seen.push(line);
            if done {
                return;
            }
        }
        panic!("hearth serve exited: {seen:?}");
    })
    .await
    .expect("hearth serve starts within a minute");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    seen
}

/// The default metrics port (9464), held by this test (or by whatever holds it already).
fn hold_the_default_metrics_port() -> Option<std::net::TcpListener> {
    let held = std::net::TcpListener::bind("127.0.0.1:9464").ok();
    assert!(
        std::net::TcpListener::bind("127.0.0.1:9464").is_err(),
        "9464 is taken"
    );
    held
}

#[tokio::test]
async fn serve_moves_off_a_taken_default_metrics_port_and_top_finds_it() {
    let _held = hold_the_default_metrics_port();
    let dir = tempfile::tempdir().unwrap();
    let mut child = hearth(dir.path())
        .env_remove("HEARTH__TELEMETRY__METRICS_LISTEN")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let seen = welcome(&mut child).await;
    let metrics = seen
        .iter()
        .find_map(|line| line.trim().strip_prefix("metrics:"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no metrics line in {seen:#?}"))
        .to_owned();
    assert!(metrics.starts_with("http://127.0.0.1:"), "{metrics}");
    assert_ne!(metrics, "http://127.0.0.1:9464/metrics");
    assert!(
        seen.iter()
            .any(|line| line.contains("127.0.0.1:9464 is taken")
                && line.contains("--metrics-listen")),
        "{seen:#?}"
    );

    // `hearth top` without --url, from the same directory, watches this instance.
    let output = hearth(dir.path())
        .env_remove("HEARTH__TELEMETRY__METRICS_LISTEN")
        .args(["top", "--once", "--interval", "200ms"])
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("hearth top: 1 of 1 endpoint(s) answered"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("  ok    {metrics}")), "{stdout}");
    stop_cleanly(child, "-INT").await;
}

/// `hearth serve` with `flag` naming an address this test holds: its stderr, once it failed.
async fn serve_on_a_taken_address(flag: &str) -> (String, String) {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut command = hearth(dir.path());
    command.arg("serve");
    if flag != "--listen" {
        command.args(["--listen", "127.0.0.1:0"]);
    }
    let output = command.args([flag, &addr]).output().await.unwrap();
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("{flag} ADDR")), "{stderr}");
    // The operating system's reason is said once, not once per layer of the error.
    assert_eq!(
        stderr.matches("Address already in use").count(),
        1,
        "{stderr}"
    );
    (addr, stderr)
}

#[tokio::test]
async fn a_taken_metrics_address_that_was_asked_for_is_an_error_naming_the_flag() {
    let (addr, stderr) = serve_on_a_taken_address("--metrics-listen").await;
    assert!(
        stderr.contains(&format!(
            "cannot serve metrics on {addr} (telemetry.metrics_listen from the command line)"
        )),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_taken_grpc_address_says_why_once_and_names_the_flag() {
    let (addr, stderr) = serve_on_a_taken_address("--listen").await;
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_county_slug_alone_takes_the_code_and_name_from_the_county_file() {
    let dir = tempfile::tempdir().unwrap();
    let (output, stdout, stderr) =
        config_with(dir.path(), &[("HEARTH__COUNTY__SLUG", "jonkoping")]).await;
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("slug = \"jonkoping\""), "{stdout}");
    assert!(stdout.contains("scb_code = \"06\""), "{stdout}");
    assert!(stdout.contains("name = \"Jönköping\""), "{stdout}");

    // `hearth serve` starts as Jönköping's.
    let mut child = hearth(dir.path())
        .env("HEARTH__COUNTY__SLUG", "jonkoping")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let seen = welcome(&mut child).await;
    assert!(
        seen.iter()
            .any(|line| line.starts_with("Hearth is serving county `jonkoping` on ")),
        "{seen:#?}"
    );
    stop_cleanly(child, "-INT").await;

    // A code that contradicts the county file is refused, naming both.
    let (output, _, stderr) = config_with(
        dir.path(),
        &[
            ("HEARTH__COUNTY__SLUG", "jonkoping"),
            ("HEARTH__COUNTY__SCB_CODE", "20"),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("county.scb_code is `20` but the file is county 06 (Jönköping)"),
        "{stderr}"
    );
    assert!(stderr.contains("built-in jonkoping.toml"), "{stderr}");
}

#[tokio::test]
async fn a_bad_value_names_the_key_where_it_came_from_and_what_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let (output, _, stderr) =
        config_with(dir.path(), &[("HEARTH__TELEMETRY__LOG_FORMAT", "xml")]).await;
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "error: configuration: telemetry.log_format = \"xml\" (from \
         HEARTH__TELEMETRY__LOG_FORMAT): expected one of auto, pretty, json"
    );

    let (output, _, stderr) = config_with(
        dir.path(),
        &[("HEARTH__TELEMETRY__LOG_FILTER", "info,hearth_bus=loud")],
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "configuration key `telemetry.log_filter` (from HEARTH__TELEMETRY__LOG_FILTER): \
             `info,hearth_bus=loud` is not a log filter"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("such as `info`"), "{stderr}");
}

#[tokio::test]
async fn token_says_its_kid_on_stderr_and_prints_the_public_key_to_trust() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("hearth-data")).unwrap();
    let output = hearth(dir.path())
        .args(["token", "--role", "unit_staff"])
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let token = stdout.trim();
    assert_eq!(stdout, format!("{token}\n"), "stdout is the bare token");
    assert_eq!(token.split('.').count(), 3, "{token}");
    // The kid in the token's header is the one said on stderr.
    use base64::Engine as _;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    let kid = header["kid"].as_str().unwrap();
    assert!(
        stderr.contains(&format!("signed with kid {kid}")),
        "{stderr}"
    );

    let output = hearth(dir.path())
        .args(["token", "--print-public-key"])
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.starts_with("-----BEGIN PUBLIC KEY-----"), "{stdout}");
    let file = dir
        .path()
        .join("hearth-data/keys")
        .join(hearth_auth::PUBLIC_KEY_FILE);
    assert_eq!(stdout, std::fs::read_to_string(&file).unwrap());
    assert!(
        stderr.contains(&format!(
            "auth.trusted_keys = [{{ kid = \"{kid}\", public_key_file = \"{}\" }}]",
            file.display()
        )),
        "{stderr}"
    );
}
