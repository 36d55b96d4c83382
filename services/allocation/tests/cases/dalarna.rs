//! Dalarna's members and budget lines, allocated by population aged 0–17: exactly 3,998,600 SEK.

use hearth_allocation::domain::{KeyBasis, Rounding};
use hearth_allocation::files::{self, RunOptions};

use crate::{DALARNA_SHARES, data_file};

fn run(rounding: Rounding) -> (tempfile::TempDir, files::RunOutput) {
    let out = tempfile::tempdir().unwrap();
    let output = files::run(&RunOptions {
        members: data_file("dalarna-members.csv"),
        budget: data_file("dalarna-budget-lines.csv"),
        year: 2026,
        key: KeyBasis::Population0To17,
        rounding,
        out: out.path().to_path_buf(),
    })
    .unwrap();
    (out, output)
}

#[test]
fn dalarna_allocates_exactly_3_998_600_kronor() {
    let (out, output) = run(Rounding::Krona);
    assert_eq!(output.allocation.total.as_ore(), 3_998_600_00);
    let sum: i64 = output
        .allocation
        .shares
        .iter()
        .map(|s| s.amount.as_ore())
        .sum();
    assert_eq!(sum, 3_998_600_00);
    let shares: Vec<(String, i64)> = output
        .allocation
        .shares
        .iter()
        .map(|s| (s.municipality.to_string(), s.amount.as_ore() / 100))
        .collect();
    let expected: Vec<(String, i64)> = DALARNA_SHARES
        .iter()
        .map(|(code, _, kronor)| ((*code).to_owned(), *kronor))
        .collect();
    assert_eq!(shares, expected);
    for share in &output.allocation.shares {
        assert_eq!(share.amount.as_ore() % 100, 0, "whole kronor");
        let instalments: i64 = share.instalments.iter().map(|m| m.as_ore()).sum();
        assert_eq!(instalments, share.amount.as_ore());
    }

    let allocation = std::fs::read_to_string(out.path().join("allocation-2026.csv")).unwrap();
    let mut lines = allocation.lines();
    assert_eq!(
        lines.next(),
        Some("municipality_code,municipality_name,key_value,share_percent,annual_sek")
    );
    assert_eq!(lines.next(), Some("2021,Vansbro,1260,2.4852,99372"));
    assert!(allocation.contains("2080,Falun,12745,25.1376,1005151\n"));
    let total: i64 = allocation
        .lines()
        .skip(1)
        .map(|line| line.rsplit(',').next().unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(total, 3_998_600);

    let instalments = std::fs::read_to_string(out.path().join("instalments-2026.csv")).unwrap();
    assert!(instalments.starts_with("municipality_code,month,amount_sek\n2021,1,8281\n"));
    assert_eq!(instalments.lines().count(), 1 + 12 * 12);
    let html = std::fs::read_to_string(out.path().join("allocation-2026.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Älvdalen") && html.contains("3998600"));
    assert!(!html.contains("<script"), "no JavaScript in the report");
    assert!(output.table.contains("Total"), "{}", output.table);
}

#[test]
fn dalarna_in_ore_is_exact_decimals() {
    let (out, output) = run(Rounding::Ore);
    let sum: i64 = output
        .allocation
        .shares
        .iter()
        .map(|s| s.amount.as_ore())
        .sum();
    assert_eq!(sum, 3_998_600_00);
    let allocation = std::fs::read_to_string(out.path().join("allocation-2026.csv")).unwrap();
    // The example of docs/design.md#allocation-files: Gagnef's share with öre rounding.
    assert!(
        allocation.contains("2026,Gagnef,2352,4.6390,185493.53\n"),
        "{allocation}"
    );
    let total_ore: i64 = allocation
        .lines()
        .skip(1)
        .map(|line| {
            let amount = line.rsplit(',').next().unwrap();
            let (kronor, ore) = amount.split_once('.').unwrap();
            assert_eq!(ore.len(), 2, "{amount}");
            kronor.parse::<i64>().unwrap() * 100 + ore.parse::<i64>().unwrap()
        })
        .sum();
    assert_eq!(total_ore, 3_998_600_00);
}

#[test]
fn a_member_joining_in_july_pays_for_six_months() {
    let dir = tempfile::tempdir().unwrap();
    let members = dir.path().join("members.csv");
    std::fs::write(
        &members,
        "municipality_code,municipality_name,population_0_17,member_from,member_to\n\
         2080,Falun,1000,,\n2081,Borlänge,1000,2026-07-01,\n2082,Säter,1000,,2026-03-31\n",
    )
    .unwrap();
    let budget = dir.path().join("budget.csv");
    std::fs::write(&budget, "line,annual_sek\nStaff,210000\n").unwrap();
    let output = files::run(&RunOptions {
        members,
        budget,
        year: 2026,
        key: KeyBasis::Population0To17,
        rounding: Rounding::Krona,
        out: dir.path().join("out"),
    })
    .unwrap();
    // Weights 12 : 6 : 3 months of the same population.
    let amounts: Vec<i64> = output
        .allocation
        .shares
        .iter()
        .map(|s| s.amount.as_ore() / 100)
        .collect();
    assert_eq!(amounts, [120_000, 60_000, 30_000]);
    let borlange = &output.allocation.shares[1];
    assert!(borlange.instalments[..6].iter().all(|m| m.as_ore() == 0));
    assert!(
        borlange.instalments[6..]
            .iter()
            .all(|m| m.as_ore() == 10_000_00)
    );
}
