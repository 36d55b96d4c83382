//! The data directory as the commands share it. `hearth serve` creates it, holds an exclusive
//! lock on it while it runs (`serve.lock`, which also says where it listens), and is the only
//! command that may create one; the commands that read it (`token`, `dlq`, `replay`) refuse a
//! directory that does not exist, since a new one would hold a new development key that the
//! running server does not trust.

use anyhow::Context as _;
use hearth_config::{Origin, Settings};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The lock file of a running `hearth serve`, in its data directory.
pub const LOCK_FILE: &str = "serve.lock";

/// The data directory as the user would find it: absolute where the working directory is known.
pub fn shown(dir: &Path) -> PathBuf {
    dir.canonicalize()
        .or_else(|_| std::path::absolute(dir))
        .unwrap_or_else(|_| dir.to_path_buf())
}

/// Refuses a data directory that does not exist, naming it, where its path came from and how to
/// fix it, and creates nothing.
pub fn require_existing(settings: &Settings, origin: &Origin) -> anyhow::Result<()> {
    let dir = &settings.data_dir;
    if dir.is_dir() {
        return Ok(());
    }
    let from = match origin {
        Origin::Default => "the default `data_dir`, relative to this directory".to_owned(),
        Origin::CommandLine => "--data-dir".to_owned(),
        other => format!("`data_dir` from {other}"),
    };
    if dir.exists() {
        anyhow::bail!(
            "the data directory {} ({from}) is not a directory",
            shown(dir).display()
        );
    }
    anyhow::bail!(
        "no data directory at {} ({from}); nothing was created. Start `hearth serve` first (it \
         creates the directory and the development key), or pass --data-dir DIR (or \
         HEARTH__DATA_DIR) naming the one it uses, as its welcome text shows",
        shown(dir).display()
    )
}

/// What a running `hearth serve` wrote into its lock file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Running {
    pub pid: Option<u32>,
    pub listen: Option<SocketAddr>,
    pub metrics: Option<SocketAddr>,
}

impl Running {
    fn parse(text: &str) -> Self {
        let mut running = Running::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match key.trim() {
                "pid" => running.pid = value.parse().ok(),
                "listen" => running.listen = value.parse().ok(),
                "metrics" => running.metrics = value.parse().ok(),
                _ => {}
            }
        }
        running
    }

    fn render(&self) -> String {
        let mut text = String::new();
        if let Some(pid) = self.pid {
            text.push_str(&format!("pid={pid}\n"));
        }
        if let Some(listen) = self.listen {
            text.push_str(&format!("listen={listen}\n"));
        }
        if let Some(metrics) = self.metrics {
            text.push_str(&format!("metrics={metrics}\n"));
        }
        text
    }

    /// ` (pid 1234, gRPC on 127.0.0.1:50051, metrics on http://127.0.0.1:9464/metrics)`, or
    /// nothing when it wrote nothing yet.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(pid) = self.pid {
            parts.push(format!("pid {pid}"));
        }
        if let Some(listen) = self.listen {
            parts.push(format!("gRPC on {listen}"));
        }
        if let Some(metrics) = self.metrics {
            parts.push(format!("metrics on http://{metrics}/metrics"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }
}

/// `hearth serve`'s exclusive hold on its data directory, for as long as it lives (the
/// operating system releases it when the process ends, however it ends).
#[derive(Debug)]
pub struct ServeLock {
    file: File,
}

impl ServeLock {
    /// Creates the data directory if needed and locks it; refuses one that another `hearth
    /// serve` holds, naming the directory and what the other wrote about itself.
    pub fn acquire(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| {
            format!("cannot create the data directory {}", shown(dir).display())
        })?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open {}", shown(&path).display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                file.read_to_string(&mut text).ok();
                anyhow::bail!(
                    "the data directory {} is in use by another `hearth serve`{}; stop that one \
                     first, or give this one a directory of its own with --data-dir DIR",
                    shown(dir).display(),
                    Running::parse(&text).describe()
                );
            }
            Err(TryLockError::Error(error)) => {
                return Err(error)
                    .with_context(|| format!("cannot lock {}", shown(&path).display()));
            }
        }
        let mut lock = Self { file };
        lock.record(&Running {
            pid: Some(std::process::id()),
            ..Running::default()
        })
        .with_context(|| format!("cannot write {}", shown(&path).display()))?;
        Ok(lock)
    }

    /// Writes where this instance listens, for `hearth top` and for a second `hearth serve`'s
    /// refusal.
    pub fn record(&mut self, running: &Running) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(running.render().as_bytes())?;
        self.file.flush()
    }
}

/// The `hearth serve` running on `dir`, if one is (it holds the lock), with what it wrote.
pub fn running(dir: &Path) -> Option<Running> {
    let mut file = File::open(dir.join(LOCK_FILE)).ok()?;
    match file.try_lock_shared() {
        // Nobody holds it: the file is a stopped instance's.
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            file.read_to_string(&mut text).ok()?;
            Some(Running::parse(&text))
        }
        Err(TryLockError::Error(_)) => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_says_where_serve_listens() {
        let running = Running {
            pid: Some(42),
            listen: "127.0.0.1:50051".parse().ok(),
            metrics: "127.0.0.1:9464".parse().ok(),
        };
        assert_eq!(Running::parse(&running.render()), running);
        assert_eq!(
            running.describe(),
            " (pid 42, gRPC on 127.0.0.1:50051, metrics on http://127.0.0.1:9464/metrics)"
        );
        assert_eq!(Running::parse("garbage\nlisten=nope\n"), Running::default());
    }

    #[test]
    fn a_held_directory_is_refused_and_found_running_and_free_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = ServeLock::acquire(dir.path()).unwrap();
        let listen = "127.0.0.1:1234".parse().ok();
        first
            .record(&Running {
                pid: Some(7),
                listen,
                metrics: None,
            })
            .unwrap();
        // flock is per open file, so a second open in the same process conflicts as another
        // process's would.
        let error = ServeLock::acquire(dir.path())
            .map(|_| ())
            .expect_err("held")
            .to_string();
        assert!(
            error.contains("in use by another `hearth serve`"),
            "{error}"
        );
        assert!(error.contains("pid 7, gRPC on 127.0.0.1:1234"), "{error}");
        assert_eq!(
            running(dir.path()).and_then(|running| running.listen),
            listen
        );
        drop(first);
        assert_eq!(running(dir.path()), None);
    }
}
