//! The shape of every Hearth binary's `main`: load and validate settings (exit 2 naming the bad
//! key), start the async runtime, run the command, print its error (exit 1). Used by `hearth`
//! and by each standalone `hearth-<name>`, so that they fail the same way.

use hearth_config::{Settings, Sources};
use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;

/// Exit code for settings that do not load or validate (as for bad arguments).
pub const EXIT_BAD_SETTINGS: u8 = 2;

/// Run `command` with the settings from `sources`.
pub fn run<F, Fut, E>(sources: &Sources, command: F) -> ExitCode
where
    F: FnOnce(Settings) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let settings = match hearth_config::load(sources) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_BAD_SETTINGS);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
