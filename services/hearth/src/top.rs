//! `hearth top`: a running Hearth, live, from its Prometheus scrape endpoint(s) — for an
//! operator without Grafana during a recruitment campaign. Registrations per minute, gRPC calls,
//! errors and p99 per service, outbox backlog per service, consumer lag and dead letters.
//!
//! - [`exposition`] reads the scrape text (lenient: a bad line is skipped, never a panic);
//! - [`report`] computes what to show from two snapshots (rates from counter increases);
//! - [`render`] writes it as aligned text;
//! - [`scrape`] fetches an endpoint; this module runs the loop.

pub mod exposition;
pub mod render;
pub mod report;
pub mod scrape;

use anyhow::bail;
use hearth_config::Settings;
use report::{Report, Scrape, Snapshot};
use scrape::Target;
use std::io::{self, IsTerminal};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

/// Clear the screen and move to its top-left corner.
const CLEAR_SCREEN: &str = "\x1b[2J\x1b[H";

/// `hearth top`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct TopArgs {
    /// A Prometheus scrape endpoint of Hearth; repeat for several pods or processes (their
    /// counters and gauges are added up) [default: the `hearth serve` running on the data
    /// directory, else `telemetry.metrics_listen`].
    #[arg(long = "url", value_name = "URL", value_parser = Target::parse)]
    pub urls: Vec<Target>,
    /// Time between scrapes; rates are taken over it (e.g. 5s, 500ms, 1m).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_interval)]
    pub interval: Duration,
    /// Scrape twice, `--interval` apart, print one report and exit (for scripts). Exits 1 when
    /// no endpoint answered.
    #[arg(long)]
    pub once: bool,
}

/// `5s`, `500ms`, `1m`, `2.5s`, or a number of seconds; from 100 ms to an hour.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit_seconds) = if let Some(number) = text.strip_suffix("ms") {
        (number, 0.001)
    } else if let Some(number) = text.strip_suffix('s') {
        (number, 1.0)
    } else if let Some(number) = text.strip_suffix('m') {
        (number, 60.0)
    } else {
        (text, 1.0)
    };
    let seconds = number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|number| number.is_finite())
        .map(|number| number * unit_seconds)
        .ok_or_else(|| format!("expected a duration such as 5s, 500ms or 1m, not `{text}`"))?;
    if !(0.1..=3600.0).contains(&seconds) {
        return Err(format!(
            "`{text}`: the interval must be between 100ms and 60m"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// The local instance's scrape endpoint, found from the same settings as `hearth serve`'s: the
/// address a `hearth serve` running on the data directory wrote into its lock file (it may
/// have moved off a taken default port), else `telemetry.metrics_listen`.
pub fn local_target(settings: &Settings) -> anyhow::Result<Target> {
    let running = crate::data_dir::running(&settings.data_dir).and_then(|running| running.metrics);
    let Some(addr) = running.or(settings.telemetry.metrics_listen) else {
        bail!(
            "no metrics endpoint to watch: no `hearth serve` runs on the data directory {} and \
             telemetry.metrics_listen is unset; pass --url URL",
            crate::data_dir::shown(&settings.data_dir).display()
        );
    };
    Target::parse(&format!("http://{}/metrics", reachable(addr))).map_err(anyhow::Error::msg)
}

/// A listen address as a client reaches it: `0.0.0.0` listens on every interface, including
/// the loopback one.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// Run `hearth top` until Ctrl-C (or, with `--once`, for one report).
pub async fn run(args: TopArgs, settings: &Settings) -> anyhow::Result<()> {
    let urls = if args.urls.is_empty() {
        vec![local_target(settings)?]
    } else {
        args.urls
    };
    let mut targets: Vec<Target> = Vec::new();
    for target in urls {
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    if args.once {
        return once(&targets, args.interval).await;
    }
    let terminal = io::stdout().is_terminal();
    tokio::select! {
        result = watch(&targets, args.interval, terminal) => result,
        () = hearth_rpc::runtime::shutdown_signal() => Ok(()),
    }
}

/// Two scrapes, one report; an error (exit 1) when no endpoint answered the second.
async fn once(targets: &[Target], interval: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    let earlier = snapshot(targets).await;
    tokio::time::sleep_until(started + interval).await;
    let seconds = started.elapsed().as_secs_f64();
    let later = snapshot(targets).await;
    let report = Report::compute(Some(&earlier), &later, seconds);
    // A reader that went away (`hearth top --once | head`) ends it quietly (crate::output).
    emit("", &report)?;
    if report.answered() == 0 {
        bail!(
            "no metrics endpoint answered ({})",
            targets
                .iter()
                .map(Target::url)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// A report every interval until the output closes: redrawn in place on a terminal, otherwise
/// one after another, a blank line apart.
async fn watch(targets: &[Target], interval: Duration, terminal: bool) -> anyhow::Result<()> {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut previous: Option<(Instant, Snapshot)> = None;
    loop {
        ticks.tick().await;
        let taken_at = Instant::now();
        let snapshot = snapshot(targets).await;
        // The first report has gauges only; rates come with the second.
        let report = match &previous {
            Some((then, earlier)) => {
                let seconds = taken_at.duration_since(*then).as_secs_f64();
                Report::compute(Some(earlier), &snapshot, seconds)
            }
            None => Report::compute(None, &snapshot, 0.0),
        };
        let before = if terminal {
            CLEAR_SCREEN
        } else if previous.is_some() {
            "\n"
        } else {
            ""
        };
        // Until the reader goes away: a closed stdout ends it quietly (crate::output).
        emit(before, &report)?;
        previous = Some((taken_at, snapshot));
    }
}

/// Scrape every target at once.
async fn snapshot(targets: &[Target]) -> Snapshot {
    let scrapes = futures::future::join_all(targets.iter().map(|target| async move {
        Scrape {
            url: target.url().to_owned(),
            result: scrape::fetch(target)
                .await
                .map(|text| exposition::parse(&text))
                .map_err(|error| error.to_string()),
        }
    }))
    .await;
    Snapshot { scrapes }
}

/// Write `before` and one report to stdout in one go.
fn emit(before: &str, report: &Report) -> anyhow::Result<()> {
    let mut text = before.as_bytes().to_vec();
    render::render(&mut text, report)?;
    crate::output::write(&text)
}
