//! The `hearth` command line.

use crate::data_dir::{self, Running, ServeLock};
use crate::operations;
use crate::output::{note, out, outln};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};
use hearth_auth::{DevelopmentKey, MintRequest, Role};
use hearth_config::{Origin, Settings, Sources};
use hearth_domain::{CountySlug, MunicipalityCode};
use hearth_rpc::{backends, runtime};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "hearth",
    version,
    about = "Hearth: the platform of a county's shared foster-home unit.",
    long_about = "Hearth: the platform of a county's shared foster-home unit.\n\n\
        Start with `hearth serve`: it runs all six services (intake, assessment, matching, \
        training, follow-up, cost allocation) in one process on embedded storage, with no \
        servers needed, and prints development tokens to call them with.\n\n\
        Settings come from built-in defaults, then --config FILE, then HEARTH__SECTION__KEY \
        environment variables (e.g. HEARTH__COUNTY__SLUG=jonkoping); `hearth config` shows the result."
)]
struct Cli {
    /// TOML settings file (see `hearth config` for every key and its current value).
    #[arg(long, global = true, value_name = "FILE", env = "HEARTH_CONFIG")]
    config: Option<PathBuf>,
    /// Directory for embedded data: SQLite databases, the event log, the development key.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run all six services in one process (embedded SQLite and event bus by default).
    Serve {
        /// gRPC address to listen on [default: 127.0.0.1:50051, or `listen` in the settings].
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Prometheus scrape address [default: 127.0.0.1:9464, or `telemetry.metrics_listen`;
        /// when the default port is taken, a free one, printed at start].
        #[arg(long, value_name = "ADDR")]
        metrics_listen: Option<SocketAddr>,
    },
    /// Mint a development token signed with the development key in the data directory that
    /// `hearth serve` created. The token goes to stdout (`TOKEN=$(hearth token …)`), the key
    /// id (`kid`) to stderr.
    Token {
        /// unit_staff, municipality_staff, finance, public_intake or admin (repeat for several).
        #[arg(
            long = "role",
            required_unless_present = "print_public_key",
            value_name = "ROLE"
        )]
        roles: Vec<Role>,
        /// Print the development key's public key (PEM) instead of a token, and its `kid` and
        /// the `auth.trusted_keys` entry that trusts it on stderr: for a server that does not
        /// trust the development key itself (see docs/operations.md).
        #[arg(long, conflicts_with_all = ["roles", "municipality", "minutes"])]
        print_public_key: bool,
        /// Four-digit municipality code; required for municipality_staff (e.g. 2080 for Falun).
        #[arg(long, value_name = "CODE")]
        municipality: Option<String>,
        /// Who the token is for (the `sub` claim).
        #[arg(long, default_value = "developer")]
        subject: String,
        /// Lifetime in minutes [default: auth.development_token_minutes].
        #[arg(long, value_name = "MINUTES")]
        minutes: Option<u32>,
    },
    /// Apply every service's pending database migrations and exit (production runs this as a
    /// job before each rollout).
    Migrate,
    /// Print the effective settings with secrets masked.
    Config,
    /// Dead letters: events a consumer could not apply after its retries.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Publish a service's outbox rows sent since a time again, with their event ids (after the
    /// bus lost messages). Consumers' inboxes skip what they already applied.
    Replay {
        /// The producing service.
        #[arg(long, value_parser = service_names())]
        service: String,
        /// Replay rows sent at or after this time, e.g. 2026-11-30T08:00:00Z.
        #[arg(long, value_name = "RFC3339-TIME", value_parser = parse_time)]
        since: DateTime<Utc>,
    },
    /// Cost allocation: share the unit's yearly cost between the member municipalities, offline
    /// from files (`run`) or through the allocation service (`submit`, the yearly job).
    Allocation {
        #[command(subcommand)]
        command: AllocationCommand,
    },
    /// Watch a running Hearth live from its Prometheus scrape endpoint(s): registrations per
    /// minute, gRPC calls, errors and p99 per service, outbox backlog, consumer lag and dead
    /// letters. Without --url, the `hearth serve` of the data directory (or
    /// `telemetry.metrics_listen`). Redraws every interval until Ctrl-C.
    Top(crate::top::TopArgs),
}

#[derive(Debug, Subcommand)]
enum AllocationCommand {
    /// Allocate a budget between members from files, offline. Writes DIR/allocation-YYYY.csv,
    /// DIR/instalments-YYYY.csv and the printable DIR/allocation-YYYY.html, and prints the table.
    Run {
        /// municipality_code,municipality_name,population_0_17 (and tax_base_sek for the
        /// tax-base key; optional member_from, member_to as ISO dates).
        #[arg(long, value_name = "MEMBERS.csv")]
        members: PathBuf,
        /// line,annual_sek.
        #[arg(long, value_name = "BUDGET.csv")]
        budget: PathBuf,
        /// The year to allocate.
        #[arg(long, value_name = "YYYY", value_parser = clap::value_parser!(i32).range(2000..=2200))]
        year: i32,
        /// What the costs are shared by.
        #[arg(long, value_parser = ["population", "tax-base"])]
        key: String,
        /// Whole kronor, or exact öre (amounts then have two decimals).
        #[arg(long, default_value = "krona", value_parser = ["krona", "ore"])]
        rounding: String,
        /// Where to write the files (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Ask the allocation service for a year's annual run (the yearly cron job) and print the
    /// run id and a summary.
    Submit {
        /// The allocation service, e.g. http://allocation:50051.
        #[arg(long, value_name = "URL")]
        endpoint: String,
        /// A file holding the bearer token.
        #[arg(long, value_name = "FILE")]
        token_file: PathBuf,
        /// YYYY, or `next` for the next calendar year (Europe/Stockholm).
        #[arg(long, value_name = "YYYY|next")]
        year: String,
        /// Share everything by this key [default: the year's key as configured in the service,
        /// population 0–17 where it sets none].
        #[arg(long, value_parser = ["population", "tax-base", "use"])]
        key: Option<String>,
        /// Whole kronor or exact öre.
        #[arg(long, default_value = "krona", value_parser = ["krona", "ore"])]
        rounding: String,
        /// A UUID; a retry with the same one returns the first run [default: derived from the
        /// endpoint, year, key, rounding and today's date].
        #[arg(long, value_name = "UUID")]
        idempotency_key: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// List the county's dead letters: when, consumer, event type, event id, attempts, error
    /// (never the payload).
    List {
        /// Only this service's dead letters [default: every service's].
        #[arg(long, value_parser = service_names())]
        service: Option<String>,
    },
    /// Once the cause is fixed, send a service's dead letters back: each event is published
    /// again on its original subject (so the consumer that failed receives it again) and the
    /// dead letter is removed.
    Redrive {
        /// The service whose consumer failed.
        #[arg(long, value_parser = service_names())]
        service: String,
        /// Only the dead letters of this event (repeat for several) [default: all of the
        /// service's].
        #[arg(long = "event-id", value_name = "ID")]
        event_ids: Vec<String>,
    },
}

/// `--service` takes the name of one of the six services.
fn service_names() -> PossibleValuesParser {
    let names: Vec<&'static str> = crate::all_services()
        .iter()
        .map(|service| service.name())
        .collect();
    PossibleValuesParser::new(names)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| {
            format!("expected an RFC 3339 time such as 2026-11-30T08:00:00Z ({error})")
        })
}

/// Run the command line; the exit code is 2 for bad settings or arguments, 1 for failures, and
/// 0 when stdout was closed by its reader (`hearth dlq list | head -1`).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut sources = Sources::standard(cli.config.clone());
    if let Some(dir) = &cli.data_dir {
        sources = sources.with_override("data_dir", dir.display().to_string());
    }
    if let Command::Serve {
        listen,
        metrics_listen,
    } = &cli.command
    {
        if let Some(addr) = listen {
            sources = sources.with_override("listen", addr.to_string());
        }
        if let Some(addr) = metrics_listen {
            sources = sources.with_override("telemetry.metrics_listen", addr.to_string());
        }
        // `hearth serve` is the development mode: it generates and trusts development keys
        // (the token signing key and the data keys) in its data directory.
        sources = sources
            .with_override("auth.allow_development_key", "true")
            .with_override("privacy.allow_development_keys", "true");
    }
    let origins = Origins {
        data_dir: hearth_config::origin_of(&sources, "data_dir"),
        listen: hearth_config::origin_of(&sources, "listen"),
        metrics_listen: hearth_config::origin_of(&sources, "telemetry.metrics_listen"),
    };
    hearth_rpc::entry::run(&sources, |settings| async move {
        let outcome = run(cli.command, settings, &origins).await;
        match outcome {
            // The reader went away: the normal end of output cut short, for every command.
            Err(error) if crate::output::is_closed(&error) => Ok(()),
            // `{:#}`: the whole chain of causes, on one line.
            outcome => outcome.map_err(|error| format!("{error:#}")),
        }
    })
}

/// Where the settings that commands treat specially came from.
struct Origins {
    data_dir: Origin,
    listen: Origin,
    metrics_listen: Origin,
}

async fn run(command: Command, settings: Settings, origins: &Origins) -> anyhow::Result<()> {
    // Commands that read an embedded data directory refuse a missing one rather than create a
    // new one beside the one `hearth serve` uses.
    let embedded = settings.bus.is_embedded() || settings.database.is_embedded();
    match &command {
        Command::Token { .. } => data_dir::require_existing(&settings, &origins.data_dir)?,
        Command::Dlq { .. } if settings.bus.is_embedded() => {
            data_dir::require_existing(&settings, &origins.data_dir)?
        }
        Command::Replay { .. } if embedded => {
            data_dir::require_existing(&settings, &origins.data_dir)?
        }
        _ => {}
    }
    match command {
        Command::Serve { .. } => serve(settings, &origins.listen, &origins.metrics_listen).await,
        Command::Token {
            roles,
            print_public_key,
            municipality,
            subject,
            minutes,
        } => {
            if print_public_key {
                public_key(&settings)
            } else {
                token(&settings, roles, municipality, subject, minutes)
            }
        }
        Command::Migrate => migrate(&settings).await,
        Command::Config => config(settings),
        Command::Dlq {
            command: DlqCommand::List { service },
        } => operations::dlq_list(&settings, service.as_deref()).await,
        Command::Dlq {
            command: DlqCommand::Redrive { service, event_ids },
        } => operations::dlq_redrive(&settings, &service, &event_ids).await,
        Command::Replay { service, since } => operations::replay(&settings, &service, since).await,
        Command::Allocation { command } => allocation(command).await,
        Command::Top(args) => crate::top::run(args, &settings).await,
    }
}

/// `hearth config`: the effective settings, with the county's code and name as its county file
/// says them (the file is part of the settings: a broken one fails here, not at start).
fn config(mut settings: Settings) -> anyhow::Result<()> {
    let county = hearth_rpc::backends::open_county(&settings)?;
    settings.county.scb_code = Some(county.code().to_string());
    settings.county.name = Some(county.name().to_owned());
    out!("{}", settings.to_masked_toml())
}

/// `hearth allocation …`: the allocation crate does the work; this only maps the arguments.
async fn allocation(command: AllocationCommand) -> anyhow::Result<()> {
    use hearth_allocation::domain::{KeyBasis, Rounding};
    use hearth_domain::Clock as _;
    let parse = |text: &str| anyhow::anyhow!("{text}");
    match command {
        AllocationCommand::Run {
            members,
            budget,
            year,
            key,
            rounding,
            out,
        } => {
            let output = hearth_allocation::files::run(&hearth_allocation::files::RunOptions {
                members,
                budget,
                year,
                key: key.parse::<KeyBasis>().map_err(|e| parse(&e))?,
                rounding: rounding.parse::<Rounding>().map_err(|e| parse(&e))?,
                out,
            })?;
            out!("{}", output.table)?;
            for file in &output.files {
                outln!("wrote {}", file.display())?;
            }
            Ok(())
        }
        AllocationCommand::Submit {
            endpoint,
            token_file,
            year,
            key,
            rounding,
            idempotency_key,
        } => {
            let today = hearth_domain::SystemClock.today_stockholm();
            let year = match year.as_str() {
                "next" => chrono::Datelike::year(&today) + 1,
                text => text
                    .parse::<i32>()
                    .ok()
                    .filter(|year| (2000..=2200).contains(year))
                    .ok_or_else(|| anyhow::anyhow!("--year {text}: expected YYYY or `next`"))?,
            };
            let summary =
                hearth_allocation::submit::submit(&hearth_allocation::submit::SubmitOptions {
                    endpoint,
                    token_file,
                    year,
                    key: key
                        .map(|key| key.parse::<KeyBasis>().map_err(|e| parse(&e)))
                        .transpose()?,
                    rounding: rounding.parse::<Rounding>().map_err(|e| parse(&e))?,
                    idempotency_key,
                    today,
                })
                .await?;
            out!("{summary}")
        }
    }
}

fn mint(
    settings: &Settings,
    key: &DevelopmentKey,
    roles: Vec<Role>,
    municipality: Option<String>,
    subject: String,
    minutes: Option<u32>,
) -> anyhow::Result<String> {
    let minutes = minutes.unwrap_or(settings.auth.development_token_minutes);
    let municipality = municipality
        .map(|code| {
            MunicipalityCode::parse(&code)
                .map_err(|error| anyhow::anyhow!("--municipality {code}: {error}"))
        })
        .transpose()?;
    Ok(key.mint(MintRequest {
        county: CountySlug::parse(&settings.county.slug)?,
        roles,
        municipality,
        subject,
        ttl: Duration::from_secs(u64::from(minutes) * 60),
        issuer: settings.auth.issuer.clone(),
        audience: settings.auth.audience.clone(),
    })?)
}

fn token(
    settings: &Settings,
    roles: Vec<Role>,
    municipality: Option<String>,
    subject: String,
    minutes: Option<u32>,
) -> anyhow::Result<()> {
    let key = DevelopmentKey::load_or_generate(&backends::development_key_dir(settings))?;
    let token = mint(settings, &key, roles, municipality, subject, minutes)?;
    // stdout is the bare token (`TOKEN=$(hearth token …)`); which key signed it, on stderr.
    note!(
        "signed with kid {} ({})",
        key.kid(),
        data_dir::shown(&backends::development_key_dir(settings)).display()
    );
    outln!("{token}")
}

/// `hearth token --print-public-key`: the development key's public key on stdout, and how to
/// trust it on stderr.
fn public_key(settings: &Settings) -> anyhow::Result<()> {
    let dir = backends::development_key_dir(settings);
    let key = DevelopmentKey::load_or_generate(&dir)?;
    let file = data_dir::shown(&dir.join(hearth_auth::PUBLIC_KEY_FILE));
    note!("kid {} (public key file {})", key.kid(), file.display());
    note!(
        "to trust it: auth.trusted_keys = [{{ kid = {:?}, public_key_file = {:?} }}]",
        key.kid(),
        file.display().to_string()
    );
    out!("{}", key.public_key_pem())
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let _telemetry = hearth_rpc::init_telemetry(settings, "hearth")?;
    for (service, applied) in runtime::migrate_all(settings, &crate::all_services()).await? {
        outln!("{service}: {applied} migration(s) applied")?;
    }
    Ok(())
}

/// The metrics address `hearth serve` uses: the configured one, or — when it is the default and
/// its port is taken (another program, or another `hearth serve` on another data directory) —
/// a free port on the same interface, with a note saying so. A taken address that was asked
/// for is an error naming the flag and the setting.
fn metrics_address(settings: &mut Settings, origin: &Origin) -> anyhow::Result<()> {
    let Some(addr) = settings.telemetry.metrics_listen else {
        return Ok(());
    };
    let taken = match std::net::TcpListener::bind(addr) {
        Ok(_probe) => return Ok(()),
        Err(error) => error,
    };
    if origin.is_explicit() || taken.kind() != std::io::ErrorKind::AddrInUse {
        anyhow::bail!(
            "cannot serve metrics on {addr} (telemetry.metrics_listen from {origin}): {taken}; \
             choose another address with --metrics-listen ADDR or \
             HEARTH__TELEMETRY__METRICS_LISTEN (port 0 picks a free one)"
        );
    }
    settings.telemetry.metrics_listen = Some(SocketAddr::new(addr.ip(), 0));
    Ok(())
}

async fn serve(
    mut settings: Settings,
    listen_origin: &Origin,
    metrics_origin: &Origin,
) -> anyhow::Result<()> {
    // First: a second `hearth serve` on the same directory stops here, naming the first.
    let mut lock = ServeLock::acquire(&settings.data_dir)?;
    let default_metrics = settings.telemetry.metrics_listen;
    metrics_address(&mut settings, metrics_origin)?;
    let telemetry = hearth_rpc::init_telemetry(&settings, "hearth")?;
    let listener = runtime::bind(&settings)
        .await
        .map_err(|error| match error {
            runtime::StartError::Listen { addr, error } => anyhow::anyhow!(
                "cannot listen on {addr} (`listen` from {listen_origin}): {error}; choose another \
             address with --listen ADDR or HEARTH__LISTEN (port 0 picks a free one)"
            ),
            other => other.into(),
        })?;
    let instance = runtime::start(&settings, crate::all_services(), listener).await?;
    // Where this instance listens, for `hearth top` and for a second `hearth serve`.
    lock.record(&Running {
        pid: Some(std::process::id()),
        listen: Some(instance.local_addr()),
        metrics: instance.metrics_addr(),
    })
    .context("cannot write the data directory's lock file")?;
    let key = DevelopmentKey::load_or_generate(&backends::development_key_dir(&settings))?;
    // Listen for Ctrl-C before saying "Press Ctrl-C": one polled once has its handlers in place.
    let mut signal = Box::pin(runtime::shutdown_signal());
    let stop = instance.shutdown_token();
    if futures::poll!(&mut signal).is_pending() {
        tokio::spawn(async move {
            signal.await;
            stop.cancel();
        });
    } else {
        stop.cancel();
    }
    let moved = default_metrics.filter(|_| settings.telemetry.metrics_listen != default_metrics);
    // A reader that stops reading (`hearth serve | head -3`) does not stop the server.
    let welcome = print_welcome(&settings, &instance, &key, moved);
    match welcome {
        Err(error) if crate::output::is_closed(&error) => {}
        other => other?,
    }
    instance.wait().await?;
    telemetry.shutdown();
    outln!("Hearth stopped cleanly.").ok();
    drop(lock);
    Ok(())
}

fn print_welcome(
    settings: &Settings,
    instance: &runtime::Instance,
    key: &DevelopmentKey,
    moved_metrics_from: Option<SocketAddr>,
) -> anyhow::Result<()> {
    let addr = instance.local_addr();
    let data_dir = data_dir::shown(instance.data_dir());
    let unit_staff = mint(
        settings,
        key,
        vec![Role::UnitStaff],
        None,
        "developer".into(),
        None,
    )?;
    let admin = mint(
        settings,
        key,
        vec![Role::Admin],
        None,
        "developer".into(),
        None,
    )?;
    let storage = match &settings.database.url {
        None => format!(
            "SQLite, one file per service in {}",
            data_dir.join("db").display()
        ),
        Some(url) => format!("PostgreSQL {}", hearth_config::mask_url_password(url)),
    };
    let bus = match &settings.bus.nats_url {
        None => format!(
            "embedded event log {}",
            data_dir.join("bus.sqlite3").display()
        ),
        Some(url) => format!("NATS JetStream {}", hearth_config::mask_url_password(url)),
    };
    // The exact command, so that it finds the same development key from any directory.
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("hearth"));
    let mut text = String::new();
    let mut line = |line: String| {
        text.push_str(&line);
        text.push('\n');
    };
    line(format!(
        "Hearth is serving county `{}` on {addr}",
        settings.county.slug
    ));
    line(format!(
        "  services:  {}",
        instance.grpc_service_names().join(", ")
    ));
    line("  health:    grpc.health.v1.Health (each service by its full name, \"\" for all)".into());
    if let Some(metrics) = instance.metrics_addr() {
        line(format!(
            "  metrics:   http://{metrics}/metrics (Prometheus; `hearth top` shows them live)"
        ));
        if let Some(taken) = moved_metrics_from {
            line(format!(
                "             ({taken} is taken, so a free port instead; --metrics-listen ADDR \
                 or telemetry.metrics_listen chooses one)"
            ));
        }
    }
    line(format!("  data:      {}", data_dir.display()));
    line(format!("  database:  {storage}"));
    line(format!("  events:    {bus}"));
    line(format!(
        "  keys:      {} (development token signing key, kid {}, and data keys: back them up, or lose the data)",
        data_dir::shown(&backends::development_key_dir(settings)).display(),
        key.kid()
    ));
    line(String::new());
    line(format!(
        "Development tokens (valid {} minutes; `hearth token --help` mints others):",
        settings.auth.development_token_minutes
    ));
    line(format!("  unit_staff: {unit_staff}"));
    line(format!("  admin:      {admin}"));
    line(String::new());
    line("Try (any gRPC client with reflection works; here buf's, from npm):".into());
    line(format!(
        "  npx @bufbuild/buf curl --protocol grpc --http2-prior-knowledge --list-methods http://{addr}"
    ));
    line(format!(
        "  npx @bufbuild/buf curl --protocol grpc --http2-prior-knowledge -d '{{\"service\":\"hearth.intake.v1.IntakeService\"}}' http://{addr}/grpc.health.v1.Health/Check"
    ));
    line(format!(
        "  TOKEN=$({} --data-dir {} token --role unit_staff)",
        exe.display(),
        data_dir.display()
    ));
    line(format!(
        "  npx @bufbuild/buf curl --protocol grpc --http2-prior-knowledge -H \"authorization: Bearer $TOKEN\" -d '{{}}' http://{addr}/hearth.intake.v1.IntakeService/ListPlacementRequests"
    ));
    line(String::new());
    line("Press Ctrl-C to stop.".into());
    out!("{text}")
}
