//! Intake under load: many concurrent gRPC clients registering interest, against the intake
//! service hosted in this process exactly as `hearth-intake` hosts it (`hearth_rpc::runtime`:
//! the auth and trace layers, the outbox relay) on a fresh PostgreSQL database and NATS
//! JetStream.
//!
//! Each client registers unique households (two adults with unique valid personal identity
//! numbers, a unique idempotency key) back to back, for a warm-up and then a measured window.
//! Reported: registrations per second in the window, latency p50/p90/p99/max of the calls that
//! succeeded, errors by gRPC code, and whether every registration reached NATS (the outbox
//! drained, and the stream holds one `interest.registered` message per registration).
//!
//! Telemetry is as in production without an exporter: the OpenTelemetry layer (every request
//! gets a span and a trace id that travels to NATS), JSON log lines at `--log-filter` into a
//! sink.

use crate::cpu::CpuSnapshot;
use crate::stats::{millis, percentile};
use anyhow::Context;
use chrono::{Days, NaiveDate};
use futures::StreamExt as _;
use hearth_auth::{DevelopmentKey, MintRequest, Role};
use hearth_bus::{CountySubjects, Outbox};
use hearth_config::Sources;
use hearth_domain::{CountySlug, PersonalIdentityNumber};
use hearth_proto::common::v1 as common;
use hearth_proto::intake::v1::intake_service_client::IntakeServiceClient;
use hearth_proto::intake::v1::{
    CreateInterestRegistrationRequest, InterestRegistration, RegisteredAdult, RegistrationOutcome,
};
use hearth_rpc::{backends, runtime};
use hearth_telemetry::{LogFormat, TelemetryOptions};
use prost::Message as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};

const EVENT_TYPE: &str = "interest.registered";
/// The servers whose CPU use is reported beside this process's.
const SERVERS: &[&str] = &["postgres", "nats-server"];

/// What the intake scenario is asked to do.
#[derive(Debug, Clone)]
pub struct IntakeArgs {
    /// Concurrent clients, each with one call in flight.
    pub clients: usize,
    /// gRPC connections (tonic `Channel`s) the clients share, round robin.
    pub channels: usize,
    /// Load before measuring (connections, pools, caches, JIT-free but warm).
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// `database.max_connections` of the intake service; `None`: the setting's default.
    pub db_pool: Option<u32>,
    /// The service's log filter (lines are formatted, then discarded).
    pub log_filter: String,
    /// `ANALYZE` the intake database at the end of the warm-up, as autovacuum keeps a database
    /// in service analyzed (see [`main`]).
    pub analyze_after_warmup: bool,
    /// PostgreSQL server URL (a fresh database is created on it and dropped after).
    pub database_url: String,
    /// NATS URL (a unique county, so unique streams, deleted after).
    pub nats_url: String,
}

/// What one client saw.
#[derive(Default)]
struct ClientTally {
    /// Latency of each successful call started inside the measured window.
    latencies: Vec<Duration>,
    /// Failed calls started inside the measured window, by gRPC code.
    errors: BTreeMap<String, u64>,
    /// Failed calls during the warm-up.
    warmup_errors: u64,
    /// Answers `CREATED` (warm-up included).
    created: u64,
    /// Any other outcome (warm-up included): would mean households were not unique.
    other_outcomes: u64,
}

/// Builds unique, valid registrations: household `n` has the adults `2n` and `2n + 1`, whose
/// personal identity numbers count through birth numbers 1–999 of consecutive days from
/// 1950-01-01 (a million households before the first adult is born after 1955).
struct Households {
    template: InterestRegistration,
    first_birth_date: NaiveDate,
}

impl Households {
    fn new() -> anyhow::Result<Self> {
        let adult = |given: &str| RegisteredAdult {
            given_name: given.to_owned(),
            family_name: "Lindqvist".to_owned(),
            personal_identity_number: String::new(),
            email: format!("{}.lindqvist@example.se", given.to_lowercase()),
            phone: "070-123 45 67".to_owned(),
        };
        // About what a family writes on the form: the sealed household is ~1 KB.
        let message = "Vi bor på en gård utanför Falun med plats för fler. Vi har haft \
                       kontaktbarn förut och vill nu bli familjehem. "
            .repeat(5);
        Ok(Self {
            template: InterestRegistration {
                adults: vec![adult("Ingegerd"), adult("Torbjörn")],
                home_municipality: Some(common::MunicipalityCode {
                    value: "2080".to_owned(),
                }),
                address: Some(common::PostalAddress {
                    street_address: "Gruvgatan 12".to_owned(),
                    postal_code: "791 31".to_owned(),
                    locality: "Falun".to_owned(),
                }),
                housing: common::Housing::HouseInCountryside.into(),
                own_bedroom_for_child: true,
                household_children_ages: vec![9, 14],
                has_earlier_experience: true,
                commission_kinds: vec![
                    common::CommissionKind::LongTermFosterHome.into(),
                    common::CommissionKind::ContactFamily.into(),
                ],
                age_bands: vec![
                    common::AgeBand::AgeBand712.into(),
                    common::AgeBand::AgeBand1320.into(),
                ],
                channel: common::InterestChannel::WordOfMouth.into(),
                message,
                ..InterestRegistration::default()
            },
            first_birth_date: NaiveDate::from_ymd_opt(1950, 1, 1).context("a date")?,
        })
    }

    fn personal_identity_number(&self, adult: u64) -> anyhow::Result<String> {
        let birth_date = self
            .first_birth_date
            .checked_add_days(Days::new(adult / 999))
            .context("birth date in range")?;
        let birth_number = u16::try_from(adult % 999 + 1)?;
        Ok(
            PersonalIdentityNumber::from_parts(birth_date, birth_number, false)?
                .expose()
                .to_owned(),
        )
    }

    fn household(&self, n: u64) -> anyhow::Result<InterestRegistration> {
        let mut registration = self.template.clone();
        for (index, adult) in registration.adults.iter_mut().enumerate() {
            adult.personal_identity_number = self.personal_identity_number(2 * n + index as u64)?;
        }
        Ok(registration)
    }
}

struct Window {
    measure_from: Instant,
    measure_until: Instant,
}

async fn client(
    channel: Channel,
    token: Arc<str>,
    households: Arc<Households>,
    next: Arc<AtomicU64>,
    window: Arc<Window>,
) -> anyhow::Result<ClientTally> {
    let mut intake = IntakeServiceClient::new(channel);
    let mut tally = ClientTally::default();
    let authorization: tonic::metadata::AsciiMetadataValue = format!("Bearer {token}").parse()?;
    loop {
        let registration = households.household(next.fetch_add(1, Ordering::Relaxed))?;
        let mut request = tonic::Request::new(CreateInterestRegistrationRequest {
            interest_registration: Some(registration),
            idempotency_key: hearth_domain::new_id().to_string(),
        });
        request
            .metadata_mut()
            .insert("authorization", authorization.clone());
        let started = Instant::now();
        if started >= window.measure_until {
            return Ok(tally);
        }
        let answer = intake.create_interest_registration(request).await;
        let elapsed = started.elapsed();
        let measured = started >= window.measure_from;
        match answer {
            Ok(response) => {
                if response.into_inner().outcome() == RegistrationOutcome::Created {
                    tally.created += 1;
                } else {
                    tally.other_outcomes += 1;
                }
                if measured {
                    tally.latencies.push(elapsed);
                }
            }
            Err(status) if measured => {
                *tally
                    .errors
                    .entry(format!("{:?}", status.code()))
                    .or_default() += 1;
            }
            Err(_) => tally.warmup_errors += 1,
        }
    }
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<u64> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await?
        .context("a count")?;
    Ok(u64::try_from(row.try_get_by_index::<i64>(0)?)?)
}

/// Messages the county's event stream holds on `subject`.
async fn stream_messages(nats_url: &str, stream: &str, subject: &str) -> anyhow::Result<u64> {
    let client = async_nats::connect(nats_url).await?;
    let jetstream = async_nats::jetstream::new(client);
    let stream = jetstream.get_stream(stream).await?;
    let mut subjects = stream.info_with_subjects(subject).await?;
    let mut total = 0;
    while let Some(entry) = subjects.next().await {
        let (name, messages) = entry?;
        if name == subject {
            total += u64::try_from(messages)?;
        }
    }
    Ok(total)
}

/// Runs the intake scenario and prints its report and a `RESULT` line.
pub async fn main(args: IntakeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.clients > 0 && args.channels > 0,
        "--clients and --channels must be at least 1"
    );
    let mut telemetry = TelemetryOptions::new("hearth-intake");
    telemetry.log_format = LogFormat::Json;
    telemetry.log_filter = args.log_filter.clone();
    telemetry.county = Some("dalarna".to_owned());
    let (subscriber, mut _telemetry_guard) =
        hearth_telemetry::build_subscriber(&telemetry, std::io::sink)?;
    hearth_telemetry::init_subscriber(subscriber)?;
    // Metrics as in production: every call, statement and event is measured.
    _telemetry_guard.install_metrics(&telemetry)?;

    let data_dir = tempfile::tempdir()?;
    let county_file = data_dir.path().join("county.toml");
    std::fs::write(
        &county_file,
        hearth_county::County::built_in_text("dalarna").context("the built-in Dalarna file")?,
    )?;
    let database =
        hearth_testenv::fresh_postgres_database(&args.database_url, "hearth_bench").await?;
    let county = hearth_testenv::unique_county();
    let subjects = CountySubjects::new(&county)?;
    let _streams = hearth_testenv::DeleteStreamsOnDrop::new(
        args.nats_url.clone(),
        [subjects.events_stream(), subjects.dead_letter_stream()],
    );
    let mut sources = Sources::defaults_only()
        .with_override("data_dir", data_dir.path().display().to_string())
        .with_override("listen", "127.0.0.1:0")
        .with_override("county.slug", county.clone())
        .with_override("county.file", county_file.display().to_string())
        .with_override("database.url", database.url.clone())
        .with_override("database.migrate_on_start", "true")
        .with_override("bus.nats_url", args.nats_url.clone())
        .with_override("auth.allow_development_key", "true")
        .with_override("privacy.allow_development_keys", "true");
    if let Some(pool) = args.db_pool {
        sources = sources.with_override("database.max_connections", pool.to_string());
    }
    let settings = hearth_config::load(&sources)?;
    let listener = runtime::bind(&settings).await?;
    let instance =
        runtime::start(&settings, vec![Box::new(hearth_intake::Intake)], listener).await?;
    let token: Arc<str> =
        DevelopmentKey::load_or_generate(&backends::development_key_dir(&settings))?
            .mint(MintRequest {
                county: CountySlug::parse(&county)?,
                roles: vec![Role::PublicIntake],
                municipality: None,
                subject: "hearth-bench".to_owned(),
                ttl: Duration::from_secs(3600),
                issuer: settings.auth.issuer.clone(),
                audience: settings.auth.audience.clone(),
            })?
            .into();

    let mut channels = Vec::with_capacity(args.channels);
    for _ in 0..args.channels {
        channels.push(
            Endpoint::from_shared(format!("http://{}", instance.local_addr()))?
                .connect_timeout(Duration::from_secs(5))
                .tcp_nodelay(true)
                .connect()
                .await?,
        );
    }
    let households = Arc::new(Households::new()?);
    let request_bytes = CreateInterestRegistrationRequest {
        interest_registration: Some(households.household(0)?),
        idempotency_key: hearth_domain::new_id().to_string(),
    }
    .encoded_len();
    let intake_db = backends::open_database(&settings, "intake").await?;
    let outbox = Outbox::new(&county, "intake")?;
    let commits = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()";
    let rows_scanned = "SELECT COALESCE(SUM(seq_tup_read), 0)::bigint FROM pg_stat_user_tables";

    println!(
        "intake: {} clients over {} gRPC connection(s), CreateInterestRegistration of unique \
         households ({request_bytes} B requests), {} s warm-up + {} s measured",
        args.clients,
        args.channels,
        args.warmup.as_secs(),
        args.duration.as_secs()
    );
    println!(
        "  server: intake alone via hearth_rpc::runtime in this process; PostgreSQL pool {} \
         connections; NATS JetStream stream {}; telemetry: spans (statements included) and metrics on, logs at {:?} into a sink; \
         {}",
        settings.database.max_connections,
        subjects.events_stream(),
        args.log_filter,
        if args.analyze_after_warmup {
            "ANALYZE after the warm-up (steady state)"
        } else {
            "no ANALYZE (cold start: empty tables)"
        }
    );

    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let window = Arc::new(Window {
        measure_from: start + args.warmup,
        measure_until: start + args.warmup + args.duration,
    });
    let mut clients = Vec::with_capacity(args.clients);
    for index in 0..args.clients {
        clients.push(tokio::spawn(client(
            channels[index % channels.len()].clone(),
            token.clone(),
            households.clone(),
            next.clone(),
            window.clone(),
        )));
    }
    if args.analyze_after_warmup {
        // The tables start empty: plans cached by the pool's connections while they were tiny
        // (sequential scans) stay until autovacuum's next ANALYZE (up to a minute away)
        // invalidates them, while the tables grow by thousands of rows. A database in service
        // is analyzed; this measures that steady state. `--no-analyze` shows the cold start.
        tokio::time::sleep_until(window.measure_from - args.warmup / 5).await;
        intake_db.execute_unprepared("ANALYZE").await?;
    }
    tokio::time::sleep_until(window.measure_from).await;
    let cpu_before = CpuSnapshot::take(SERVERS);
    let window_started = Instant::now();
    let commits_before = count(&intake_db, commits).await?;
    let scanned_before = count(&intake_db, rows_scanned).await?;
    let sent_before = count(
        &intake_db,
        "SELECT COUNT(*) FROM hearth_outbox WHERE sent_at IS NOT NULL",
    )
    .await?;
    tokio::time::sleep_until(window.measure_until).await;
    let cpu = cpu_before
        .zip(CpuSnapshot::take(SERVERS))
        .map(|(before, after)| before.until(&after, window_started.elapsed()));
    let backlog_at_end = outbox.unsent_count(&intake_db).await?;
    let sent_after = count(
        &intake_db,
        "SELECT COUNT(*) FROM hearth_outbox WHERE sent_at IS NOT NULL",
    )
    .await?;
    let commits_after = count(&intake_db, commits).await?;
    let scanned_after = count(&intake_db, rows_scanned).await?;

    let mut total = ClientTally::default();
    for client in clients {
        let tally = client.await??;
        total.latencies.extend(tally.latencies);
        for (code, errors) in tally.errors {
            *total.errors.entry(code).or_default() += errors;
        }
        total.warmup_errors += tally.warmup_errors;
        total.created += tally.created;
        total.other_outcomes += tally.other_outcomes;
    }
    let load_ended = Instant::now();

    // Every registration on the bus: the outbox drains, and the stream holds one message each.
    let drain_deadline = load_ended + Duration::from_secs(120);
    while outbox.unsent_count(&intake_db).await? > 0 {
        anyhow::ensure!(
            Instant::now() < drain_deadline,
            "the intake outbox did not drain within 2 minutes of the end of the load"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained_after = load_ended.elapsed();
    let outbox_rows = count(
        &intake_db,
        &format!("SELECT COUNT(*) FROM hearth_outbox WHERE event_type = '{EVENT_TYPE}'"),
    )
    .await?;
    let on_nats = stream_messages(
        &args.nats_url,
        &subjects.events_stream(),
        &subjects.event(EVENT_TYPE)?,
    )
    .await?;

    intake_db.close().await?;
    instance.shutdown().await?;
    database.drop_database().await?;

    let measured = total.latencies.len() as u64;
    let seconds = args.duration.as_secs_f64();
    let per_second = measured as f64 / seconds;
    total.latencies.sort();
    let latencies = &total.latencies;
    let [p50, p90, p99] = [0.50, 0.90, 0.99].map(|fraction| percentile(latencies, fraction));
    let max = latencies.last().copied().unwrap_or_default();
    let errors: u64 = total.errors.values().sum();
    let relay_per_second = sent_after.saturating_sub(sent_before) as f64 / seconds;
    let per_registration = |before: u64, after: u64| {
        if measured == 0 {
            0.0
        } else {
            after.saturating_sub(before) as f64 / measured as f64
        }
    };
    let commits_per_registration = per_registration(commits_before, commits_after);
    let scanned_per_registration = per_registration(scanned_before, scanned_after);

    println!(
        "  registrations/s {per_second:.0}   latency p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  \
         max {:.2} ms   ({measured} calls measured)",
        millis(p50),
        millis(p90),
        millis(p99),
        millis(max)
    );
    if total.errors.is_empty() {
        println!("  errors: none");
    } else {
        println!("  errors by gRPC code: {:?}", total.errors);
    }
    if total.warmup_errors > 0 {
        println!("  errors during the warm-up: {}", total.warmup_errors);
    }
    if total.other_outcomes > 0 {
        println!(
            "  WARNING: {} answers were not CREATED (households are meant to be unique)",
            total.other_outcomes
        );
    }
    println!(
        "  outbox relay: {relay_per_second:.0} events/s published during the window; backlog \
         at its end {backlog_at_end}; drained {:.2} s after the load",
        drained_after.as_secs_f64()
    );
    println!(
        "  database (intake's, relay included, per registration in the window): \
         {commits_per_registration:.2} committed transactions, {scanned_per_registration:.0} rows \
         read by sequential scans"
    );
    if let Some(cpu) = &cpu {
        println!(
            "  CPU in the window (cores; ms per registration): {}",
            cpu.describe(measured)
        );
    }
    let all_on_bus = total.created == outbox_rows && outbox_rows == on_nats;
    println!(
        "  on NATS: {on_nats} {EVENT_TYPE} messages for {} registrations created ({outbox_rows} \
         outbox rows): {}",
        total.created,
        if all_on_bus {
            "every registration reached the bus once"
        } else {
            "MISMATCH"
        }
    );
    println!(
        "RESULT scenario=intake registrations_per_s={per_second:.0} p50_ms={:.2} p90_ms={:.2} \
         p99_ms={:.2} max_ms={:.2} errors={errors} all_on_bus={all_on_bus}",
        millis(p50),
        millis(p90),
        millis(p99),
        millis(max)
    );
    anyhow::ensure!(
        all_on_bus,
        "registrations created, outbox rows and NATS messages differ"
    );
    Ok(())
}
