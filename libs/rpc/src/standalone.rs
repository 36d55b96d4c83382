//! The whole `main` of a standalone service binary (`hearth-intake` …): the production shape,
//! one service per process against PostgreSQL and NATS, configured by file and environment.

use crate::runtime;
use crate::service::{HearthService, HostedService};
use clap::{Parser, Subcommand};
use hearth_config::{Settings, Sources};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    about = "Run one Hearth service against PostgreSQL and NATS (production). \
             Settings come from --config FILE and HEARTH__… environment variables."
)]
struct Args {
    /// TOML settings file; environment variables (HEARTH__SECTION__KEY) override it.
    #[arg(long, global = true, value_name = "FILE", env = "HEARTH_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the service (the default).
    Serve,
    /// Apply the service's pending database migrations and exit.
    Migrate,
    /// Print the effective settings with secrets masked.
    Config,
}

/// Parse arguments, load settings, and run `S` until SIGTERM or Ctrl-C.
pub fn main<S: HearthService + Default>() -> ExitCode {
    let args = Args::parse();
    crate::entry::run(
        &Sources::standard(args.config.clone()),
        |settings| async move {
            match args.command.unwrap_or(Command::Serve) {
                Command::Config => {
                    print!("{}", settings.to_masked_toml());
                    Ok(())
                }
                Command::Migrate => {
                    let _telemetry = crate::init_telemetry(&settings, &binary_name::<S>())?;
                    let services: Vec<Box<dyn HostedService>> = vec![Box::new(S::default())];
                    for (service, applied) in runtime::migrate_all(&settings, &services).await? {
                        println!("{service}: {applied} migration(s) applied");
                    }
                    Ok(())
                }
                Command::Serve => serve::<S>(settings).await,
            }
        },
    )
}

/// `hearth-intake`, …: the binary, and the `service.name` of its telemetry.
fn binary_name<S: HearthService>() -> String {
    format!("hearth-{}", S::NAME)
}

async fn serve<S: HearthService + Default>(
    settings: Settings,
) -> Result<(), Box<dyn std::error::Error>> {
    settings.validate_standalone()?;
    let telemetry = crate::init_telemetry(&settings, &binary_name::<S>())?;
    let listener = runtime::bind(&settings).await?;
    let instance = runtime::start(&settings, vec![Box::new(S::default())], listener).await?;
    let stop = instance.shutdown_token();
    tokio::spawn(async move {
        runtime::shutdown_signal().await;
        stop.cancel();
    });
    instance.wait().await?;
    telemetry.shutdown();
    Ok(())
}
