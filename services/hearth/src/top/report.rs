//! What `hearth top` shows, computed from two snapshots of every scrape endpoint: gauges from
//! the later one, rates and quantiles from the increase of counters and histogram buckets in
//! between. No I/O here.
//!
//! Several endpoints (pods) are added up, series by series, after each endpoint's increases are
//! taken on its own: a counter that went down means that process restarted, and then every
//! counter of that endpoint counts from zero (its new value is its increase).

use super::exposition::{Exposition, Sample};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// gRPC status codes that mean the server failed (as opposed to the caller's mistakes).
pub const SERVER_ERROR_CODES: [&str; 6] = [
    "UNKNOWN",
    "DEADLINE_EXCEEDED",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
];

const RPC_DURATION: &str = "rpc_server_call_duration_seconds";
const PROCESS_DURATION: &str = "messaging_process_duration_seconds";
const SERVICE: &str = "hearth_service";
const CONSUMER_GROUP: &str = "messaging_consumer_group_name";

/// One endpoint's answer: its samples, or why there are none.
#[derive(Debug, Clone)]
pub struct Scrape {
    pub url: String,
    pub result: Result<Exposition, String>,
}

/// Every endpoint, scraped at (about) the same moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub scrapes: Vec<Scrape>,
}

/// How one endpoint answered the later scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub url: String,
    pub status: SourceStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceStatus {
    Answered {
        samples: usize,
        skipped_lines: usize,
        /// It also answered the earlier scrape, so its rates are in the report.
        has_rates: bool,
        /// A counter went down between the scrapes: the process restarted.
        restarted: bool,
    },
    Failed(String),
}

/// The screen's content.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// Seconds between the two scrapes that rates are taken over.
    pub seconds: f64,
    pub sources: Vec<Source>,
    /// At least one endpoint answered both scrapes: rates (`Some` below) are known.
    pub has_rates: bool,
    pub intake: Intake,
    /// Per gRPC service, by name.
    pub rpc: Vec<RpcRow>,
    /// Every service together.
    pub rpc_all: RpcRow,
    pub outbox: Vec<OutboxRow>,
    pub consumers: Vec<ConsumerRow>,
}

/// Per minute, over the interval.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Intake {
    pub registrations_per_minute: Option<f64>,
    pub placement_requests_per_minute: Option<f64>,
    pub proposals_per_minute: Option<f64>,
    pub placements_per_minute: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RpcRow {
    pub service: String,
    pub calls_per_second: Option<f64>,
    /// Calls that ended with a server error code, as a percentage of all calls.
    pub error_percent: Option<f64>,
    pub p99_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OutboxRow {
    pub service: String,
    /// Events written and not yet published (summed over endpoints).
    pub backlog: Option<f64>,
    /// The oldest unsent event's age (the largest over endpoints); `None` when none waits.
    pub oldest_age_seconds: Option<f64>,
    pub published_per_second: Option<f64>,
    /// Failed publishing attempts during the interval.
    pub failures: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConsumerRow {
    pub group: String,
    pub lag: Option<f64>,
    pub handled_per_second: Option<f64>,
    /// Redeliveries during the interval.
    pub redeliveries: Option<f64>,
    /// Dead letters during the interval.
    pub new_dead_letters: Option<f64>,
    /// Dead letters since the processes started.
    pub dead_letters: Option<f64>,
}

impl Report {
    /// The report for `later`, with rates over `seconds` since `earlier` (none without it).
    pub fn compute(earlier: Option<&Snapshot>, later: &Snapshot, seconds: f64) -> Report {
        let mut sources = Vec::new();
        // The later scrape's samples (for gauges) and the counters' increases (for rates).
        let mut current: Vec<&Sample> = Vec::new();
        let mut increases: Vec<Sample> = Vec::new();
        let mut has_rates = false;
        for scrape in &later.scrapes {
            let exposition = match &scrape.result {
                Ok(exposition) => exposition,
                Err(error) => {
                    sources.push(Source {
                        url: scrape.url.clone(),
                        status: SourceStatus::Failed(error.clone()),
                    });
                    continue;
                }
            };
            current.extend(&exposition.samples);
            let before = earlier.and_then(|snapshot| {
                snapshot
                    .scrapes
                    .iter()
                    .find(|before| before.url == scrape.url)
                    .and_then(|before| before.result.as_ref().ok())
            });
            let mut restarted = false;
            if let Some(before) = before {
                let (increase, went_down) = counter_increases(before, exposition);
                increases.extend(increase);
                restarted = went_down;
                has_rates = true;
            }
            sources.push(Source {
                url: scrape.url.clone(),
                status: SourceStatus::Answered {
                    samples: exposition.samples.len(),
                    skipped_lines: exposition.skipped_lines,
                    has_rates: before.is_some(),
                    restarted,
                },
            });
        }
        let seconds_known = has_rates && seconds > 0.0;
        let per_second = |count: f64| seconds_known.then(|| count / seconds);
        let per_minute = |name: &str| per_second(sum(&increases, name)).map(|rate| rate * 60.0);
        let count = |count: f64| has_rates.then_some(count);

        let intake = Intake {
            registrations_per_minute: per_minute("hearth_registrations_total"),
            placement_requests_per_minute: per_minute("hearth_placement_requests_total"),
            proposals_per_minute: per_minute("hearth_proposals_total"),
            placements_per_minute: per_minute("hearth_placements_total"),
        };

        // gRPC: calls and errors from `_count`, p99 from the buckets, per service and together.
        let count_name = format!("{RPC_DURATION}_count");
        let bucket_name = format!("{RPC_DURATION}_bucket");
        let rpc_row = |service: &str, in_service: &dyn Fn(&Sample) -> bool| {
            let calls = sum_where(&increases, &count_name, |s| in_service(s));
            let errors = sum_where(&increases, &count_name, |s| {
                in_service(s) && SERVER_ERROR_CODES.contains(&s.label("rpc_response_status_code"))
            });
            RpcRow {
                service: service.to_owned(),
                calls_per_second: per_second(calls),
                error_percent: (has_rates && calls > 0.0).then(|| errors / calls * 100.0),
                p99_seconds: quantile(0.99, &buckets(&increases, &bucket_name, in_service)),
            }
        };
        let services = label_values(&increases, &[&count_name, &bucket_name], "rpc_service");
        let rpc = services
            .iter()
            .map(|service| rpc_row(service, &|s: &Sample| s.label("rpc_service") == service))
            .collect();
        let rpc_all = rpc_row("all", &|_| true);

        let outbox_names = [
            "hearth_outbox_backlog",
            "hearth_outbox_oldest_age_seconds",
            "hearth_outbox_published_total",
            "hearth_outbox_publish_failures_total",
        ];
        let backlog = sum_by(&current, "hearth_outbox_backlog", SERVICE);
        let oldest = max_by(&current, "hearth_outbox_oldest_age_seconds", SERVICE);
        let published = sum_by(&increases, "hearth_outbox_published_total", SERVICE);
        let failures = sum_by(&increases, "hearth_outbox_publish_failures_total", SERVICE);
        let outbox_services = label_values(&current, &outbox_names, SERVICE);
        let outbox = outbox_services
            .iter()
            .map(|service| OutboxRow {
                service: service.clone(),
                backlog: backlog.get(service).copied(),
                // The gauge says 0 when nothing is waiting.
                oldest_age_seconds: oldest.get(service).copied().filter(|age| *age > 0.0),
                published_per_second: per_second(published.get(service).copied().unwrap_or(0.0)),
                failures: count(failures.get(service).copied().unwrap_or(0.0)),
            })
            .collect();

        let process_count = format!("{PROCESS_DURATION}_count");
        let consumer_names = [
            "hearth_consumer_lag",
            "hearth_consumer_redeliveries_total",
            "hearth_dead_letters_total",
            process_count.as_str(),
        ];
        let lag = sum_by(&current, "hearth_consumer_lag", CONSUMER_GROUP);
        let dead_letters = sum_by(&current, "hearth_dead_letters_total", CONSUMER_GROUP);
        let handled = sum_by(&increases, &process_count, CONSUMER_GROUP);
        let redeliveries = sum_by(
            &increases,
            "hearth_consumer_redeliveries_total",
            CONSUMER_GROUP,
        );
        let new_dead_letters = sum_by(&increases, "hearth_dead_letters_total", CONSUMER_GROUP);
        let groups = label_values(&current, &consumer_names, CONSUMER_GROUP);
        let consumers = groups
            .iter()
            .map(|group| ConsumerRow {
                group: group.clone(),
                lag: lag.get(group).copied(),
                handled_per_second: per_second(handled.get(group).copied().unwrap_or(0.0)),
                redeliveries: count(redeliveries.get(group).copied().unwrap_or(0.0)),
                new_dead_letters: count(new_dead_letters.get(group).copied().unwrap_or(0.0)),
                dead_letters: Some(dead_letters.get(group).copied().unwrap_or(0.0)),
            })
            .collect();

        Report {
            seconds,
            sources,
            has_rates,
            intake,
            rpc,
            rpc_all,
            outbox,
            consumers,
        }
    }

    /// How many endpoints answered the later scrape.
    pub fn answered(&self) -> usize {
        self.sources
            .iter()
            .filter(|source| matches!(source.status, SourceStatus::Answered { .. }))
            .count()
    }

    /// Dead letters during the interval, over every consumer.
    pub fn new_dead_letters(&self) -> Option<f64> {
        self.has_rates.then(|| {
            self.consumers
                .iter()
                .filter_map(|row| row.new_dead_letters)
                .fold(0.0, |total, value| total + value)
        })
    }
}

/// Counters, and the parts of histograms that only grow, recognised by name.
fn is_counter(name: &str) -> bool {
    ["_total", "_bucket", "_count", "_sum"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// Each counter series' increase from `before` to `after` (one endpoint), and whether the
/// process restarted in between (some counter went down; then every increase is the new value).
/// A series that is new since `before` counts from zero: OpenTelemetry exports a series once it
/// is first recorded.
fn counter_increases(before: &Exposition, after: &Exposition) -> (Vec<Sample>, bool) {
    let earlier: HashMap<(&str, &super::exposition::Labels), f64> = before
        .samples
        .iter()
        .filter(|sample| is_counter(&sample.name))
        .map(|sample| ((sample.name.as_str(), &sample.labels), sample.value))
        .collect();
    let counters = || {
        after
            .samples
            .iter()
            .filter(|sample| is_counter(&sample.name) && sample.value.is_finite())
    };
    let restarted = counters().any(|sample| {
        earlier
            .get(&(sample.name.as_str(), &sample.labels))
            .is_some_and(|&earlier| sample.value < earlier)
    });
    let increases = counters()
        .filter_map(|sample| {
            let from = if restarted {
                0.0
            } else {
                earlier
                    .get(&(sample.name.as_str(), &sample.labels))
                    .copied()
                    .filter(|value| value.is_finite())
                    .unwrap_or(0.0)
            };
            let increase = sample.value - from;
            (increase.is_finite() && increase >= 0.0).then(|| Sample {
                name: sample.name.clone(),
                labels: sample.labels.clone(),
                value: increase,
            })
        })
        .collect();
    (increases, restarted)
}

fn sum_where(samples: &[Sample], name: &str, keep: impl Fn(&Sample) -> bool) -> f64 {
    samples
        .iter()
        .filter(|sample| sample.name == name && keep(sample))
        .map(|sample| sample.value)
        .fold(0.0, |total, value| total + value)
}

fn sum(samples: &[Sample], name: &str) -> f64 {
    sum_where(samples, name, |_| true)
}

/// `sum by (label) (name)`.
fn sum_by<S: std::borrow::Borrow<Sample>>(
    samples: &[S],
    name: &str,
    label: &str,
) -> BTreeMap<String, f64> {
    let mut sums = BTreeMap::new();
    for sample in samples.iter().map(S::borrow) {
        if sample.name == name && !sample.value.is_nan() {
            *sums.entry(sample.label(label).to_owned()).or_insert(0.0) += sample.value;
        }
    }
    sums
}

/// `max by (label) (name)`.
fn max_by(samples: &[&Sample], name: &str, label: &str) -> BTreeMap<String, f64> {
    let mut maxima = BTreeMap::<String, f64>::new();
    for sample in samples {
        if sample.name == name && !sample.value.is_nan() {
            let entry = maxima
                .entry(sample.label(label).to_owned())
                .or_insert(sample.value);
            *entry = entry.max(sample.value);
        }
    }
    maxima
}

/// The values of `label` on the series named any of `names`, sorted.
fn label_values<S: std::borrow::Borrow<Sample>>(
    samples: &[S],
    names: &[&str],
    label: &str,
) -> BTreeSet<String> {
    samples
        .iter()
        .map(S::borrow)
        .filter(|sample| names.contains(&sample.name.as_str()))
        .map(|sample| sample.label(label).to_owned())
        .collect()
}

/// A histogram's cumulative buckets `(le, count)` added up over the series `keep` selects.
fn buckets(samples: &[Sample], name: &str, keep: &dyn Fn(&Sample) -> bool) -> Vec<(f64, f64)> {
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for sample in samples.iter().filter(|s| s.name == name && keep(s)) {
        let Ok(bound) = sample.label("le").parse::<f64>() else {
            continue;
        };
        match buckets.iter_mut().find(|(le, _)| *le == bound) {
            Some((_, count)) => *count += sample.value,
            None => buckets.push((bound, sample.value)),
        }
    }
    buckets
}

/// The `q` quantile of cumulative buckets `(le, count)`, as Prometheus' `histogram_quantile`
/// computes it: linear interpolation within the bucket that holds the rank (from 0 in the first
/// bucket); the largest finite bound when the rank falls in `+Inf`. `None` without observations
/// or without a `+Inf` bucket.
pub fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let mut buckets: Vec<(f64, f64)> = buckets
        .iter()
        .copied()
        .filter(|(le, count)| !le.is_nan() && count.is_finite())
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last()?.0 != f64::INFINITY || !(0.0..=1.0).contains(&q) {
        return None;
    }
    // Cumulative counts never go down; scrapes taken mid-update can say otherwise.
    let mut highest = 0.0_f64;
    for (_, count) in &mut buckets {
        highest = highest.max(*count);
        *count = highest;
    }
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let index = buckets.iter().position(|(_, count)| *count >= rank)?;
    let (upper, count) = *buckets.get(index)?;
    if upper == f64::INFINITY {
        // Prometheus' answer: the highest finite bound (none when +Inf is the only bucket).
        return index
            .checked_sub(1)
            .and_then(|i| buckets.get(i))
            .map(|b| b.0);
    }
    let (lower, below) = match index.checked_sub(1).and_then(|i| buckets.get(i)) {
        Some(&previous) => previous,
        None if upper > 0.0 => (0.0, 0.0),
        None => return Some(upper),
    };
    if count <= below {
        return Some(upper);
    }
    Some(lower + (upper - lower) * (rank - below) / (count - below))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::exposition::parse;
    use super::*;

    const BOUNDS: [&str; 12] = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
    ];

    fn snapshot(texts: &[(&str, Result<&str, &str>)]) -> Snapshot {
        Snapshot {
            scrapes: texts
                .iter()
                .map(|(url, text)| Scrape {
                    url: (*url).to_owned(),
                    result: text.map(parse).map_err(str::to_owned),
                })
                .collect(),
        }
    }

    /// Cumulative buckets of `rpc_server_call_duration_seconds` for one service and code.
    fn rpc_histogram(service: &str, code: &str, cumulative: [u32; 12]) -> String {
        let labels = format!(
            "hearth_county=\"dalarna\",otel_scope_name=\"hearth\",rpc_system=\"grpc\",\
             rpc_service=\"{service}\",rpc_method=\"M\",rpc_response_status_code=\"{code}\""
        );
        let mut text = String::new();
        for (le, count) in BOUNDS.iter().zip(cumulative) {
            text.push_str(&format!(
                "rpc_server_call_duration_seconds_bucket{{{labels},le=\"{le}\"}} {count}\n"
            ));
        }
        text.push_str(&format!(
            "rpc_server_call_duration_seconds_count{{{labels}}} {}\n",
            cumulative[11]
        ));
        text
    }

    #[test]
    fn quantile_interpolates_within_the_bucket() {
        // 100 observations: 50 up to 10 ms, 40 more up to 50 ms, 10 more up to 100 ms.
        let buckets = [
            (0.01, 50.0),
            (0.05, 90.0),
            (0.1, 100.0),
            (f64::INFINITY, 100.0),
        ];
        // Rank 99 is the 9th of the 10 in (0.05, 0.1].
        let p99 = quantile(0.99, &buckets).unwrap();
        assert!((p99 - 0.095).abs() < 1e-12, "{p99}");
        // Rank 50 is the last of the first bucket, interpolated from 0.
        assert!((quantile(0.5, &buckets).unwrap() - 0.01).abs() < 1e-12);
        assert!((quantile(0.25, &buckets).unwrap() - 0.005).abs() < 1e-12);
        // Order does not matter.
        let mut shuffled = buckets;
        shuffled.reverse();
        assert_eq!(quantile(0.99, &shuffled), quantile(0.99, &buckets));
    }

    #[test]
    fn quantile_in_the_inf_bucket_is_the_highest_finite_bound() {
        let buckets = [(0.5, 10.0), (1.0, 50.0), (f64::INFINITY, 100.0)];
        assert_eq!(quantile(0.99, &buckets), Some(1.0));
        assert_eq!(quantile(0.99, &[(f64::INFINITY, 5.0)]), None);
    }

    #[test]
    fn quantile_needs_observations_and_an_inf_bucket() {
        assert_eq!(quantile(0.99, &[]), None);
        assert_eq!(quantile(0.99, &[(0.1, 0.0), (f64::INFINITY, 0.0)]), None);
        assert_eq!(quantile(0.99, &[(0.1, 3.0), (1.0, 4.0)]), None);
        assert_eq!(
            quantile(f64::NAN, &[(0.1, 3.0), (f64::INFINITY, 3.0)]),
            None
        );
        // Buckets that go down (a torn scrape) are read as flat, not as negative counts.
        let torn = [(0.1, 10.0), (0.5, 4.0), (f64::INFINITY, 10.0)];
        assert_eq!(quantile(0.99, &torn), Some(0.1 * 0.99));
    }

    #[test]
    fn p99_per_service_comes_from_the_bucket_increases() {
        let intake = "hearth.intake.v1.IntakeService";
        let before = rpc_histogram(intake, "OK", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        // 100 calls in the interval: 90 within 25 ms, 10 within 50 ms.
        let after = rpc_histogram(
            intake,
            "OK",
            [0, 0, 90, 100, 100, 100, 100, 100, 100, 100, 100, 100],
        );
        let report = Report::compute(
            Some(&snapshot(&[("a", Ok(&before))])),
            &snapshot(&[("a", Ok(&after))]),
            10.0,
        );
        let row = &report.rpc[0];
        assert_eq!(row.service, intake);
        assert_eq!(row.calls_per_second, Some(10.0));
        assert_eq!(row.error_percent, Some(0.0));
        // Rank 99 is the 9th of the 10 in (25 ms, 50 ms].
        let p99 = row.p99_seconds.unwrap();
        assert!((p99 - 0.0475).abs() < 1e-12, "{p99}");
        assert_eq!(report.rpc_all.p99_seconds, row.p99_seconds);
    }

    #[test]
    fn error_rate_counts_server_errors_only() {
        let service = "hearth.assessment.v1.AssessmentService";
        let mut after = rpc_histogram(service, "OK", [6; 12]);
        after.push_str(&rpc_histogram(service, "INVALID_ARGUMENT", [2; 12]));
        after.push_str(&rpc_histogram(service, "INTERNAL", [1; 12]));
        after.push_str(&rpc_histogram(service, "UNAVAILABLE", [1; 12]));
        let report = Report::compute(
            Some(&snapshot(&[("a", Ok(""))])),
            &snapshot(&[("a", Ok(&after))]),
            5.0,
        );
        assert_eq!(report.rpc[0].calls_per_second, Some(2.0));
        assert_eq!(report.rpc[0].error_percent, Some(20.0));
        assert_eq!(report.rpc_all.error_percent, Some(20.0));
    }

    #[test]
    fn rates_sum_over_endpoints_and_gauges_come_from_the_later_scrape() {
        let earlier = snapshot(&[
            (
                "a",
                Ok("hearth_registrations_total{hearth_county=\"dalarna\"} 100\n"),
            ),
            (
                "b",
                Ok("hearth_registrations_total{hearth_county=\"dalarna\"} 40\n"),
            ),
        ]);
        let later = snapshot(&[
            (
                "a",
                Ok(
                    "hearth_registrations_total{hearth_county=\"dalarna\"} 110\n\
                    hearth_outbox_backlog{hearth_service=\"intake\"} 7\n\
                    hearth_outbox_oldest_age_seconds{hearth_service=\"intake\"} 2.5\n\
                    hearth_consumer_lag{messaging_consumer_group_name=\"assessment-interest\"} 3\n",
                ),
            ),
            (
                "b",
                Ok("hearth_registrations_total{hearth_county=\"dalarna\"} 45\n\
                    hearth_outbox_backlog{hearth_service=\"intake\"} 5\n\
                    hearth_outbox_oldest_age_seconds{hearth_service=\"intake\"} 9\n\
                    hearth_consumer_lag{messaging_consumer_group_name=\"assessment-interest\"} 4\n"),
            ),
        ]);
        let report = Report::compute(Some(&earlier), &later, 30.0);
        assert_eq!(report.intake.registrations_per_minute, Some(30.0));
        // A counter no endpoint exports yet: none happened (and 0, not -0, on screen).
        let none = report.intake.placement_requests_per_minute.unwrap();
        assert!(none == 0.0 && none.is_sign_positive(), "{none}");
        assert_eq!(report.outbox[0].service, "intake");
        assert_eq!(report.outbox[0].backlog, Some(12.0));
        assert_eq!(report.outbox[0].oldest_age_seconds, Some(9.0));
        assert_eq!(report.consumers[0].group, "assessment-interest");
        assert_eq!(report.consumers[0].lag, Some(7.0));
    }

    #[test]
    fn a_counter_that_went_down_means_the_process_restarted() {
        let earlier = snapshot(&[
            (
                "restarted",
                Ok("hearth_registrations_total 100\nhearth_placements_total 2\n"),
            ),
            ("steady", Ok("hearth_registrations_total 50\n")),
        ]);
        let later = snapshot(&[
            // 100 → 4: restarted, so 4 registrations since; and its placements count from 0.
            (
                "restarted",
                Ok("hearth_registrations_total 4\nhearth_placements_total 3\n"),
            ),
            ("steady", Ok("hearth_registrations_total 56\n")),
        ]);
        let report = Report::compute(Some(&earlier), &later, 60.0);
        assert_eq!(report.intake.registrations_per_minute, Some(10.0));
        assert_eq!(report.intake.placements_per_minute, Some(3.0));
        assert!(matches!(
            report.sources[0].status,
            SourceStatus::Answered {
                restarted: true,
                ..
            }
        ));
        assert!(matches!(
            report.sources[1].status,
            SourceStatus::Answered {
                restarted: false,
                ..
            }
        ));
    }

    #[test]
    fn a_series_new_since_the_earlier_scrape_counts_from_zero() {
        let report = Report::compute(
            Some(&snapshot(&[("a", Ok("other_total 1\n"))])),
            &snapshot(&[(
                "a",
                Ok("hearth_dead_letters_total{messaging_consumer_group_name=\"g\"} 2\n"),
            )]),
            1.0,
        );
        assert_eq!(report.consumers[0].new_dead_letters, Some(2.0));
        assert_eq!(report.consumers[0].dead_letters, Some(2.0));
        assert_eq!(report.new_dead_letters(), Some(2.0));
    }

    #[test]
    fn endpoints_that_fail_are_named_and_give_no_rates() {
        let earlier = snapshot(&[
            ("a", Err("timed out")),
            ("b", Ok("hearth_registrations_total 1\n")),
        ]);
        let later = snapshot(&[
            (
                "a",
                Ok(
                    "hearth_registrations_total 9\nhearth_outbox_backlog{hearth_service=\"intake\"} 1\n",
                ),
            ),
            ("b", Err("connection refused")),
        ]);
        let report = Report::compute(Some(&earlier), &later, 5.0);
        assert_eq!(report.answered(), 1);
        assert!(!report.has_rates);
        assert_eq!(report.intake.registrations_per_minute, None);
        assert_eq!(report.outbox[0].backlog, Some(1.0));
        assert_eq!(report.outbox[0].published_per_second, None);
        assert_eq!(
            report.sources[1].status,
            SourceStatus::Failed("connection refused".into())
        );
        // Without an earlier snapshot there are gauges only.
        let first = Report::compute(None, &later, 0.0);
        assert!(!first.has_rates);
        assert_eq!(first.outbox[0].backlog, Some(1.0));
    }

    #[test]
    fn outbox_and_consumer_rates() {
        let earlier = "\
hearth_outbox_published_total{hearth_service=\"intake\",hearth_event_type=\"interest.registered\"} 10
hearth_outbox_publish_failures_total{hearth_service=\"intake\"} 1
hearth_consumer_redeliveries_total{messaging_consumer_group_name=\"assessment-interest\"} 0
messaging_process_duration_seconds_count{messaging_consumer_group_name=\"assessment-interest\",hearth_outcome=\"ok\"} 5
";
        let later = "\
hearth_outbox_published_total{hearth_service=\"intake\",hearth_event_type=\"interest.registered\"} 30
hearth_outbox_published_total{hearth_service=\"intake\",hearth_event_type=\"placement.requested\"} 10
hearth_outbox_publish_failures_total{hearth_service=\"intake\"} 3
hearth_outbox_oldest_age_seconds{hearth_service=\"intake\"} 0
hearth_consumer_redeliveries_total{messaging_consumer_group_name=\"assessment-interest\"} 2
messaging_process_duration_seconds_count{messaging_consumer_group_name=\"assessment-interest\",hearth_outcome=\"ok\"} 20
messaging_process_duration_seconds_count{messaging_consumer_group_name=\"assessment-interest\",hearth_outcome=\"failed\"} 5
";
        let report = Report::compute(
            Some(&snapshot(&[("a", Ok(earlier))])),
            &snapshot(&[("a", Ok(later))]),
            10.0,
        );
        let outbox = &report.outbox[0];
        assert_eq!(outbox.published_per_second, Some(3.0));
        assert_eq!(outbox.failures, Some(2.0));
        assert_eq!(outbox.backlog, None);
        assert_eq!(outbox.oldest_age_seconds, None, "0 means nothing waits");
        let consumer = &report.consumers[0];
        assert_eq!(consumer.handled_per_second, Some(2.0));
        assert_eq!(consumer.redeliveries, Some(2.0));
        assert_eq!(consumer.lag, None);
    }
}
