//! `hearth allocation`: `run` offline on the Dalarna files as finance runs it (the CLI contract
//! that finance's scripts depend on), its refusals of bad input, and `submit` against a running
//! `hearth serve` as the yearly CronJob runs it.

use std::path::{Path, PathBuf};
use std::process::Output;

use chrono::Datelike;
use hearth_domain::Clock;
use hearth_proto::allocation::v1 as pb;
use hearth_proto::allocation::v1::allocation_service_client::AllocationServiceClient;

use super::{connect, hearth, serve};

fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn run(dir: &Path, members: &Path, budget: &Path, extra: &[&str]) -> Output {
    hearth(dir)
        .args(["allocation", "run", "--members"])
        .arg(members)
        .arg("--budget")
        .arg(budget)
        .args(["--year", "2026", "--key", "population", "--out", "out"])
        .args(extra)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn allocation_run_writes_the_dalarna_files() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        dir.path(),
        &data_file("dalarna-members.csv"),
        &data_file("dalarna-budget-lines.csv"),
        &[],
    )
    .await;
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("Falun"), "{stdout}");
    assert!(stdout.contains("3998600"), "{stdout}");

    let allocation = std::fs::read_to_string(dir.path().join("out/allocation-2026.csv")).unwrap();
    assert_eq!(
        allocation,
        "municipality_code,municipality_name,key_value,share_percent,annual_sek\n\
         2021,Vansbro,1260,2.4852,99372\n\
         2026,Gagnef,2352,4.6389,185493\n\
         2029,Leksand,2994,5.9052,236126\n\
         2031,Rättvik,1799,3.5482,141880\n\
         2034,Orsa,1197,2.3609,94403\n\
         2039,Älvdalen,1289,2.5424,101659\n\
         2080,Falun,12745,25.1376,1005151\n\
         2081,Borlänge,11600,22.8792,914849\n\
         2082,Säter,2293,4.5226,180840\n\
         2083,Hedemora,3030,5.9762,238965\n\
         2084,Avesta,4631,9.1339,365230\n\
         2085,Ludvika,5511,10.8696,434632\n"
    );
    let instalments = std::fs::read_to_string(dir.path().join("out/instalments-2026.csv")).unwrap();
    let mut lines = instalments.lines();
    assert_eq!(lines.next(), Some("municipality_code,month,amount_sek"));
    let mut per_member = std::collections::BTreeMap::<String, (i64, Vec<u32>)>::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        let entry = per_member.entry(fields[0].to_owned()).or_default();
        entry.0 += fields[2].parse::<i64>().unwrap();
        entry.1.push(fields[1].parse().unwrap());
    }
    assert_eq!(per_member.len(), 12);
    assert_eq!(per_member["2080"].0, 1_005_151);
    assert!(
        per_member
            .values()
            .all(|(_, months)| *months == (1..=12).collect::<Vec<_>>())
    );
    assert_eq!(
        per_member.values().map(|(sum, _)| sum).sum::<i64>(),
        3_998_600
    );
    let html = std::fs::read_to_string(dir.path().join("out/allocation-2026.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script"));

    // Öre: exact decimals with two places.
    let output = run(
        dir.path(),
        &data_file("dalarna-members.csv"),
        &data_file("dalarna-budget-lines.csv"),
        &["--rounding", "ore"],
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let allocation = std::fs::read_to_string(dir.path().join("out/allocation-2026.csv")).unwrap();
    assert!(
        allocation.contains("2026,Gagnef,2352,4.6390,185493.53\n"),
        "{allocation}"
    );
}

#[tokio::test]
async fn allocation_run_names_file_line_and_column_of_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let budget = dir.path().join("budget.csv");
    std::fs::write(&budget, "line,annual_sek\nStaff,1000\n").unwrap();
    let header = "municipality_code,municipality_name,population_0_17";
    let cases = [
        (
            format!("{header},colour\n2080,Falun,1,red\n"),
            "members.csv, line 1, column 4 (colour): unknown column `colour`",
        ),
        (
            format!("{header}\n2080,Falun,12\n2081,Borlänge,-5\n"),
            "members.csv, line 3, column 3 (population_0_17): must not be negative",
        ),
        (
            format!("{header}\n2080,Falun,\n"),
            "members.csv, line 2, column 3 (population_0_17): missing population_0_17 value",
        ),
        (
            format!("{header}\n2080,Falun,1\n2081,Borlänge,2\n2080,Falun,3\n"),
            "members.csv, line 4, column 1 (municipality_code): duplicate municipality code 2080",
        ),
        (
            String::new(),
            "members.csv, line 1, column 1: the file is empty",
        ),
    ];
    for (content, expected) in cases {
        let members = dir.path().join("members.csv");
        std::fs::write(&members, &content).unwrap();
        let output = hearth(dir.path())
            .args([
                "allocation",
                "run",
                "--members",
                "members.csv",
                "--budget",
                "budget.csv",
                "--year",
                "2026",
                "--key",
                "population",
                "--out",
                "refused",
            ])
            .output()
            .await
            .unwrap();
        let (stdout, stderr) = text(&output);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{content:?}: {stdout}{stderr}"
        );
        assert!(stderr.contains(expected), "{content:?}: {stderr}");
        assert!(!dir.path().join("refused").exists(), "nothing is written");
    }
    // The budget file is checked the same way.
    std::fs::write(
        dir.path().join("members.csv"),
        format!("{header}\n2080,Falun,1\n"),
    )
    .unwrap();
    std::fs::write(&budget, "line,annual_sek,vat\nStaff,1000,0\n").unwrap();
    let output = run(dir.path(), &dir.path().join("members.csv"), &budget, &[]).await;
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains("budget.csv, line 1, column 3 (vat): unknown column"),
        "{stderr}"
    );
}

#[tokio::test]
async fn allocation_submit_runs_next_year_against_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let (_child, addr, _) = serve(dir.path()).await;
    let token = hearth(dir.path())
        .args([
            "token",
            "--role",
            "finance",
            "--subject",
            "allocation-cronjob",
        ])
        .output()
        .await
        .unwrap();
    assert!(token.status.success());
    let token = String::from_utf8(token.stdout).unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, &token).unwrap();

    // Finance has set next year's key and budget.
    let next = hearth_domain::SystemClock.today_stockholm().year() + 1;
    let mut client = AllocationServiceClient::new(connect(&addr).await);
    let bearer = |message| hearth_testkit::authorized(message, token.trim());
    client
        .import_allocation_key(bearer(pb::ImportAllocationKeyRequest {
            year: next,
            csv: std::fs::read_to_string(data_file("dalarna-members.csv")).unwrap(),
            etag: String::new(),
            allow_missing: true,
            idempotency_key: String::new(),
        }))
        .await
        .unwrap();
    client
        .update_budget(hearth_testkit::authorized(
            pb::UpdateBudgetRequest {
                budget: Some(pb::Budget {
                    year: next,
                    lines: vec![pb::BudgetLine {
                        name: "Everything".to_owned(),
                        category: pb::CostCategory::Common as i32,
                        amount: Some(hearth_proto::common::v1::Money { ore: 399_860_000 }),
                    }],
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["lines".to_owned()],
                }),
                etag: String::new(),
                allow_missing: true,
            },
            token.trim(),
        ))
        .await
        .unwrap();

    let submit = |dir: &Path| {
        let mut command = hearth(dir);
        command
            .args(["allocation", "submit", "--endpoint"])
            .arg(format!("http://{addr}"))
            .arg("--token-file")
            .arg(&token_file)
            .args(["--year", "next"]);
        command
    };
    let output = submit(dir.path()).output().await.unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    let first_line = stdout.lines().next().unwrap();
    let run_id = first_line
        .strip_prefix("allocation run ")
        .unwrap()
        .to_owned();
    assert!(uuid_like(&run_id), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "year {next}, annual budget, total 3998600 SEK, 12 members"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("2080  Falun") && stdout.contains("1005151 SEK"),
        "{stdout}"
    );

    // The job retried the same day gets the same run back.
    let again = submit(dir.path()).output().await.unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).starts_with(first_line));

    // A bad token file is named.
    let output = hearth(dir.path())
        .args(["allocation", "submit", "--endpoint"])
        .arg(format!("http://{addr}"))
        .args(["--token-file", "missing-token", "--year", "next"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).1.contains("--token-file missing-token"));
}

fn uuid_like(text: &str) -> bool {
    text.len() == 36 && text.chars().filter(|c| *c == '-').count() == 4
}
