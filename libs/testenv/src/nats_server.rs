//! A private `nats-server` child with JetStream, for tests that stop and restart the bus.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::backends::NATS_SERVER_VAR;
use crate::{TestBackends, TestEnvError};

/// Where Debian puts the binary when it is not on `PATH`.
const FALLBACK_BINARY: &str = "/usr/sbin/nats-server";
/// How long a starting server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A `nats-server -js` child process on 127.0.0.1 and a free port, with its own store
/// directory. [`stop`](Self::stop) kills it (an outage, as abrupt as a crash);
/// [`restart`](Self::restart) starts it again on the same port and store, so clients reconnect
/// to the same address and find their streams. Killed when dropped.
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    port: u16,
    directory: TempDir,
    child: Option<Child>,
    jetstream: bool,
}

impl NatsServer {
    /// Starts a server on a free port and waits until it accepts connections.
    ///
    /// The binary is `HEARTH_TEST_NATS_SERVER`, else `nats-server` on `PATH`, else
    /// `/usr/sbin/nats-server`; a test that may run where it is missing asks
    /// [`crate::nats_server_binary`] first, to skip visibly. The calling test must be named for
    /// NATS (see [`crate::is_named_for_a_backend`]).
    pub async fn start() -> Result<Self, TestEnvError> {
        Self::start_with(true).await
    }

    /// Starts a server without JetStream: a live connection on which every JetStream request
    /// and publish gets "no responders", as while a server stops.
    /// [`restart_with_jetstream`](Self::restart_with_jetstream) turns it on.
    pub async fn start_without_jetstream() -> Result<Self, TestEnvError> {
        Self::start_with(false).await
    }

    async fn start_with(jetstream: bool) -> Result<Self, TestEnvError> {
        let backends = TestBackends::from_env();
        backends
            .check_test_name("a private nats-server")
            .map_err(TestEnvError::Invalid)?;
        let binary = backends.nats_server_path().ok_or_else(|| {
            TestEnvError::NatsServer(format!(
                "nats-server is not at {NATS_SERVER_VAR}, on PATH nor at {FALLBACK_BINARY}"
            ))
        })?;
        let directory = tempfile::Builder::new().prefix("hearth-nats-").tempdir()?;
        let port = free_port()?;
        let mut server = Self {
            binary,
            port,
            directory,
            child: None,
            jetstream,
        };
        server.spawn_and_wait().await?;
        Ok(server)
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store directory (the same across restarts).
    pub fn store_dir(&self) -> PathBuf {
        self.directory.path().join("jetstream")
    }

    /// Whether the child is running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the server and waits for it to exit. Stopping a stopped server does nothing.
    pub async fn stop(&mut self) -> Result<(), TestEnvError> {
        if let Some(mut child) = self.child.take() {
            // SIGKILL: an outage as abrupt as a crash. The store is in the page cache, so
            // nothing acknowledged is lost by this (unlike a power failure).
            let _ = child.kill();
            tokio::task::spawn_blocking(move || child.wait())
                .await
                .map_err(|error| TestEnvError::NatsServer(error.to_string()))??;
        }
        Ok(())
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing is answered, so a
    /// request in flight waits. [`stop`](Self::stop) or [`restart`](Self::restart) it after.
    pub fn freeze(&mut self) -> Result<(), TestEnvError> {
        let child = self
            .child
            .as_ref()
            .ok_or_else(|| TestEnvError::NatsServer("not running".to_owned()))?;
        signal(child, "-STOP")
    }

    /// [`restart`](Self::restart) with JetStream on.
    pub async fn restart_with_jetstream(&mut self) -> Result<(), TestEnvError> {
        self.jetstream = true;
        self.restart().await
    }

    /// Starts the server again on the same port and store directory (stopping it first if it
    /// is running) and waits until it accepts connections.
    pub async fn restart(&mut self) -> Result<(), TestEnvError> {
        self.stop().await?;
        self.spawn_and_wait().await
    }

    async fn spawn_and_wait(&mut self) -> Result<(), TestEnvError> {
        let store = self.store_dir();
        let log = self.log_path();
        let mut command = Command::new(&self.binary);
        if self.jetstream {
            command.arg("-js");
        }
        let child = command
            .args(["-a", "127.0.0.1"])
            .args(["-p", &self.port.to_string()])
            .arg("-sd")
            .arg(&store)
            .arg("-l")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| {
                TestEnvError::NatsServer(format!(
                    "could not start {}: {error}",
                    self.binary.display()
                ))
            })?;
        self.child = Some(child);

        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(TestEnvError::NatsServer(format!(
                    "exited with {status} while starting; log:\n{}",
                    self.log_tail()
                )));
            }
            if tokio::net::TcpStream::connect(address).await.is_ok() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = self.stop().await;
                return Err(TestEnvError::NatsServer(format!(
                    "not accepting connections on port {} after {READY_TIMEOUT:?}; log:\n{}",
                    self.port,
                    self.log_tail()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log_path(&self) -> PathBuf {
        self.directory.path().join("nats-server.log")
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends `signal` (e.g. `-TERM`) to the child with `kill`: std only kills.
fn signal(child: &Child, signal: &str) -> Result<(), TestEnvError> {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(TestEnvError::NatsServer(format!(
            "kill {signal} {} failed: {status}",
            child.id()
        )))
    }
}

/// The `nats-server` binary: `explicit` (the value of `HEARTH_TEST_NATS_SERVER`) when given,
/// else the first on `PATH`, else the Debian location. `None` when that file does not exist.
pub(crate) fn locate_binary(explicit: Option<String>) -> Option<PathBuf> {
    if let Some(explicit) = explicit {
        let explicit = PathBuf::from(explicit);
        return is_executable(&explicit).then_some(explicit);
    }
    #[allow(clippy::disallowed_methods)]
    // this crate is the one place that reads the test environment
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|directory| directory.join("nats-server"))
        .find(|candidate| is_executable(candidate))
        .or_else(|| {
            let fallback = PathBuf::from(FALLBACK_BINARY);
            is_executable(&fallback).then_some(fallback)
        })
}

fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// A port that was free a moment ago (the OS picks it; the listener is closed at once).
fn free_port() -> Result<u16, TestEnvError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
