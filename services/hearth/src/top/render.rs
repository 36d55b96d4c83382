//! A [`Report`] as plain text: a header naming every endpoint, then the sections Intake,
//! gRPC, Outbox and Consumers, each an aligned table. `-` where a value is not known (rates
//! before the second scrape, a gauge no endpoint exports).

use super::report::{Report, RpcRow, SourceStatus};
use std::io::{self, Write};

/// Write `report` to `out`.
pub fn render(out: &mut impl Write, report: &Report) -> io::Result<()> {
    let answered = report.answered();
    let window = if report.has_rates {
        format!("rates over the last {:.1} s", report.seconds)
    } else {
        "rates after the next scrape".to_owned()
    };
    writeln!(
        out,
        "hearth top: {answered} of {} endpoint(s) answered; {window}",
        report.sources.len()
    )?;
    for source in &report.sources {
        match &source.status {
            SourceStatus::Answered {
                samples,
                skipped_lines,
                has_rates,
                restarted,
            } => {
                let mut notes = vec![format!("{samples} samples")];
                if *skipped_lines > 0 {
                    notes.push(format!("{skipped_lines} malformed line(s) skipped"));
                }
                if *restarted {
                    notes.push("restarted since the last scrape".to_owned());
                }
                if !has_rates && report.has_rates {
                    notes.push("no rates yet".to_owned());
                }
                writeln!(out, "  ok    {}  ({})", source.url, notes.join(", "))?;
            }
            SourceStatus::Failed(error) => writeln!(out, "  FAIL  {}  {error}", source.url)?,
        }
    }
    if answered == 0 {
        return Ok(());
    }
    let errors = match report.rpc_all.error_percent {
        Some(share) => format!("errors {} of gRPC calls", percent(Some(share))),
        None if report.has_rates => "no gRPC calls".to_owned(),
        None => "errors -".to_owned(),
    };
    let dead = report
        .consumers
        .iter()
        .filter_map(|row| row.dead_letters)
        .fold(0.0, |total, value| total + value);
    writeln!(
        out,
        "  {errors}; dead letters {}",
        dead_letters(Some(dead), report.new_dead_letters())
    )?;

    writeln!(out)?;
    let intake = &report.intake;
    let mut table = Table::new(["Intake", "per minute"]);
    table.row(["registrations", &rate(intake.registrations_per_minute)]);
    table.row([
        "placement requests",
        &rate(intake.placement_requests_per_minute),
    ]);
    table.row(["proposals", &rate(intake.proposals_per_minute)]);
    table.row(["placements", &rate(intake.placements_per_minute)]);
    table.write(out)?;

    writeln!(out)?;
    let mut table = Table::new(["gRPC per service", "calls/s", "errors", "p99 ms"]);
    let rpc_row = |table: &mut Table<4>, row: &RpcRow| {
        table.row([
            &row.service,
            &rate(row.calls_per_second),
            &percent(row.error_percent),
            &rate(row.p99_seconds.map(|seconds| seconds * 1000.0)),
        ]);
    };
    for row in &report.rpc {
        rpc_row(&mut table, row);
    }
    rpc_row(&mut table, &report.rpc_all);
    table.write(out)?;

    writeln!(out)?;
    let mut table = Table::new([
        "Outbox per service",
        "backlog",
        "oldest",
        "published/s",
        "failures",
    ]);
    for row in &report.outbox {
        table.row([
            name(&row.service),
            &count(row.backlog),
            &age(row.oldest_age_seconds),
            &rate(row.published_per_second),
            &increase(row.failures),
        ]);
    }
    table.write(out)?;

    writeln!(out)?;
    let mut table = Table::new([
        "Consumers per group",
        "lag",
        "handled/s",
        "redeliveries",
        "dead letters",
    ]);
    for row in &report.consumers {
        table.row([
            name(&row.group),
            &count(row.lag),
            &rate(row.handled_per_second),
            &increase(row.redeliveries),
            &dead_letters(row.dead_letters, row.new_dead_letters),
        ]);
    }
    table.write(out)?;
    if report.has_rates {
        writeln!(
            out,
            "\n(+N: during the last {:.1} s; counts and lags are summed over endpoints)",
            report.seconds
        )?;
    }
    Ok(())
}

/// A table whose first column is left-aligned and the others right-aligned; the header's first
/// cell is the section's title, the rows are indented under it.
struct Table<const N: usize> {
    header: [String; N],
    rows: Vec<[String; N]>,
}

impl<const N: usize> Table<N> {
    fn new(header: [&str; N]) -> Self {
        Table {
            header: header.map(str::to_owned),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: [&str; N]) {
        let mut cells = cells.map(str::to_owned);
        if let Some(first) = cells.first_mut() {
            first.insert_str(0, "  ");
        }
        self.rows.push(cells);
    }

    fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let mut widths = [0; N];
        for cells in std::iter::once(&self.header).chain(&self.rows) {
            for (width, cell) in widths.iter_mut().zip(cells) {
                *width = (*width).max(cell.chars().count());
            }
        }
        for cells in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (column, (cell, width)) in cells.iter().zip(widths).enumerate() {
                let padding = " ".repeat(width - cell.chars().count());
                if column == 0 {
                    line.push_str(cell);
                    line.push_str(&padding);
                } else {
                    line.push_str("  ");
                    line.push_str(&padding);
                    line.push_str(cell);
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

const UNKNOWN: &str = "-";

fn name(name: &str) -> &str {
    if name.is_empty() {
        "(unlabelled)"
    } else {
        name
    }
}

/// `-0.0` prints as `-0.0`; adding `0.0` makes it `0.0`.
fn plain(value: Option<f64>) -> Option<f64> {
    value.map(|value| value + 0.0)
}

fn rate(value: Option<f64>) -> String {
    plain(value).map_or_else(|| UNKNOWN.to_owned(), |value| format!("{value:.1}"))
}

fn count(value: Option<f64>) -> String {
    plain(value).map_or_else(|| UNKNOWN.to_owned(), |value| format!("{value:.0}"))
}

fn increase(value: Option<f64>) -> String {
    plain(value).map_or_else(|| UNKNOWN.to_owned(), |value| format!("+{value:.0}"))
}

fn percent(value: Option<f64>) -> String {
    plain(value).map_or_else(|| UNKNOWN.to_owned(), |value| format!("{value:.1} %"))
}

fn dead_letters(total: Option<f64>, new: Option<f64>) -> String {
    match (total, new) {
        (Some(total), Some(new)) => format!("{} ({})", count(Some(total)), increase(Some(new))),
        (total, _) => count(total),
    }
}

/// `850ms`, `4.2s`, `3m05s`, `2h07m`.
fn age(seconds: Option<f64>) -> String {
    let Some(seconds) = seconds.filter(|seconds| seconds.is_finite() && *seconds >= 0.0) else {
        return UNKNOWN.to_owned();
    };
    if seconds < 1.0 {
        return format!("{:.0}ms", seconds * 1000.0);
    }
    if seconds < 60.0 {
        return format!("{seconds:.1}s");
    }
    // Whole seconds; an f64 this large is far beyond any real age, and `as` saturates.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let whole = seconds as u64;
    if whole < 3600 {
        format!("{}m{:02}s", whole / 60, whole % 60)
    } else {
        format!("{}h{:02}m", whole / 3600, whole % 3600 / 60)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::report::{ConsumerRow, Intake, OutboxRow, Source};
    use super::*;

    fn sample_report() -> Report {
        Report {
            seconds: 5.0,
            sources: vec![
                Source {
                    url: "http://10.0.0.5:9464/metrics".into(),
                    status: SourceStatus::Answered {
                        samples: 812,
                        skipped_lines: 0,
                        has_rates: true,
                        restarted: false,
                    },
                },
                Source {
                    url: "http://10.0.0.6:9464/metrics".into(),
                    status: SourceStatus::Failed(
                        "cannot connect: Connection refused (os error 111)".into(),
                    ),
                },
            ],
            has_rates: true,
            intake: Intake {
                registrations_per_minute: Some(36.0),
                placement_requests_per_minute: Some(2.4),
                proposals_per_minute: Some(0.0),
                placements_per_minute: Some(0.0),
            },
            rpc: vec![
                RpcRow {
                    service: "hearth.assessment.v1.AssessmentService".into(),
                    calls_per_second: Some(0.4),
                    error_percent: Some(0.0),
                    p99_seconds: Some(0.004),
                },
                RpcRow {
                    service: "hearth.intake.v1.IntakeService".into(),
                    calls_per_second: Some(12.0),
                    error_percent: Some(1.6666),
                    p99_seconds: Some(0.02375),
                },
            ],
            rpc_all: RpcRow {
                service: "all".into(),
                calls_per_second: Some(12.4),
                error_percent: Some(1.6129),
                p99_seconds: Some(0.0231),
            },
            outbox: vec![
                OutboxRow {
                    service: "assessment".into(),
                    backlog: Some(0.0),
                    oldest_age_seconds: None,
                    published_per_second: Some(0.4),
                    failures: Some(0.0),
                },
                OutboxRow {
                    service: "intake".into(),
                    backlog: Some(12.0),
                    oldest_age_seconds: Some(3.42),
                    published_per_second: Some(10.2),
                    failures: Some(2.0),
                },
            ],
            consumers: vec![ConsumerRow {
                group: "assessment-interest".into(),
                lag: Some(4.0),
                handled_per_second: Some(9.8),
                redeliveries: Some(0.0),
                new_dead_letters: Some(1.0),
                dead_letters: Some(3.0),
            }],
        }
    }

    fn text(report: &Report) -> String {
        let mut out = Vec::new();
        render(&mut out, report).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn renders_a_sample_report() {
        let expected = "\
hearth top: 1 of 2 endpoint(s) answered; rates over the last 5.0 s
  ok    http://10.0.0.5:9464/metrics  (812 samples)
  FAIL  http://10.0.0.6:9464/metrics  cannot connect: Connection refused (os error 111)
  errors 1.6 % of gRPC calls; dead letters 3 (+1)

Intake                per minute
  registrations             36.0
  placement requests         2.4
  proposals                  0.0
  placements                 0.0

gRPC per service                          calls/s  errors  p99 ms
  hearth.assessment.v1.AssessmentService      0.4   0.0 %     4.0
  hearth.intake.v1.IntakeService             12.0   1.7 %    23.8
  all                                        12.4   1.6 %    23.1

Outbox per service  backlog  oldest  published/s  failures
  assessment              0       -          0.4        +0
  intake                 12    3.4s         10.2        +2

Consumers per group    lag  handled/s  redeliveries  dead letters
  assessment-interest    4        9.8            +0        3 (+1)

(+N: during the last 5.0 s; counts and lags are summed over endpoints)
";
        assert_eq!(text(&sample_report()), expected);
    }

    #[test]
    fn unknown_values_no_calls_and_no_answers_read_plainly() {
        let mut report = sample_report();
        report.has_rates = false;
        report.intake = Intake::default();
        let rendered = text(&report);
        assert!(
            rendered.contains("rates after the next scrape"),
            "{rendered}"
        );
        assert!(
            rendered
                .lines()
                .any(|line| line.split_whitespace().eq(["registrations", "-"])),
            "{rendered}"
        );

        report.has_rates = true;
        report.rpc.clear();
        report.rpc_all = RpcRow {
            service: "all".into(),
            calls_per_second: Some(0.0),
            ..RpcRow::default()
        };
        let rendered = text(&report);
        assert!(
            rendered.contains("\n  no gRPC calls; dead letters 3 (+1)\n"),
            "{rendered}"
        );

        report.has_rates = false;
        report.sources.remove(0);
        let rendered = text(&report);
        assert_eq!(
            rendered,
            "hearth top: 0 of 1 endpoint(s) answered; rates after the next scrape\n  \
             FAIL  http://10.0.0.6:9464/metrics  cannot connect: Connection refused (os error 111)\n"
        );
    }

    #[test]
    fn ages_read_at_a_glance() {
        assert_eq!(age(Some(0.25)), "250ms");
        assert_eq!(age(Some(4.24)), "4.2s");
        assert_eq!(age(Some(185.0)), "3m05s");
        assert_eq!(age(Some(7620.0)), "2h07m");
        assert_eq!(age(Some(f64::NAN)), "-");
        assert_eq!(
            age(Some(1e300)),
            format!("{}h{:02}m", u64::MAX / 3600, u64::MAX % 3600 / 60)
        );
        assert_eq!(age(None), "-");
    }

    #[test]
    fn a_closed_output_is_an_error_not_a_panic() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let error = render(&mut Closed, &sample_report()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    }
}
