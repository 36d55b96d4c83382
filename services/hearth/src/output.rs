//! Everything a command prints on stdout goes through here ([`outln!`], [`out!`], [`write`]),
//! so that a reader that went away (`hearth dlq list | head -1`, `hearth config | true`) ends
//! the command quietly instead of panicking as `println!` does on a closed pipe. The crate
//! denies `clippy::print_stdout` so that nothing slips past.
//!
//! A closed stdout is the error [`StdoutClosed`]; [`crate::cli::main`] turns it into a
//! successful exit, the one place for every command.

use std::io::{self, Write};

/// Stdout was closed by its reader: the normal end of a command whose output was cut short.
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed by its reader")]
pub struct StdoutClosed;

/// Writes `text` to stdout and flushes it: [`StdoutClosed`] when the reader went away, another
/// I/O error otherwise.
pub fn write(text: &[u8]) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text)
        .and_then(|()| stdout.flush())
        .map_err(|error| {
            if error.kind() == io::ErrorKind::BrokenPipe {
                anyhow::Error::new(StdoutClosed)
            } else {
                anyhow::Error::new(error).context("cannot write to stdout")
            }
        })
}

/// Whether `error` is (or was caused by) a closed stdout.
pub fn is_closed(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<StdoutClosed>())
}

/// `print!` to stdout through [`write`]: evaluates to `anyhow::Result<()>`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write(format!($($arg)*).as_bytes())
    };
}

/// `println!` to stdout through [`write`]: evaluates to `anyhow::Result<()>`.
macro_rules! outln {
    () => {
        $crate::output::write(b"\n")
    };
    ($($arg:tt)*) => {
        $crate::output::write(format!("{}\n", format_args!($($arg)*)).as_bytes())
    };
}

/// A note for the person at the terminal (`hearth token`'s key id, a fallback port): on
/// stderr, so that stdout stays what scripts read. A closed stderr is ignored.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

pub(crate) use {note, out, outln};
