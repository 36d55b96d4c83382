//! Which real backends this test run may use.

use std::io::Write;
use std::path::PathBuf;

/// PostgreSQL server URL for tests (each test creates its own database on it).
pub const DATABASE_URL_VAR: &str = "HEARTH_TEST_DATABASE_URL";
/// Shared NATS server URL for tests.
pub const NATS_URL_VAR: &str = "HEARTH_TEST_NATS_URL";
/// Path of the `nats-server` binary for tests that start their own server; when unset it is
/// looked up on `PATH`, then at `/usr/sbin/nats-server`.
pub const NATS_SERVER_VAR: &str = "HEARTH_TEST_NATS_SERVER";
/// Set to `true` by CI systems; a missing backend is then a failure.
pub const CI_VAR: &str = "CI";
/// The name of the running test, as nextest passes it to each test process.
const NEXTEST_TEST_NAME_VAR: &str = "NEXTEST_TEST_NAME";

/// Whether a test's name marks it as a real-backend test: the rule behind the default filter in
/// `.config/nextest.toml` (`test(/postgres|nats/)`), which leaves such tests out of a plain
/// `cargo nextest run` so that nextest counts them as skipped instead of as passed.
pub fn is_named_for_a_backend(test: &str) -> bool {
    test.contains("postgres") || test.contains("nats")
}

/// Refuses a test that asks for a backend but is not named for one: the default profile would
/// run it, and without the backend it would pass by skipping, unseen.
fn check_named_for_a_backend(test: &str, what: &str) -> Result<(), String> {
    if is_named_for_a_backend(test) {
        Ok(())
    } else {
        Err(format!(
            "{test} needs {what}, but its name has neither `postgres` nor `nats`: nextest's \
             default profile runs it, and without {what} it would pass by skipping. Name it for \
             its backend (see .config/nextest.toml)"
        ))
    }
}

/// The real backends the environment offers to this test run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBackends {
    database_url: Option<String>,
    nats_url: Option<String>,
    nats_server: Option<PathBuf>,
    in_ci: bool,
    /// The running test's name, checked against [`is_named_for_a_backend`] whenever it asks for
    /// a backend. `None` where the name is unknown or for explicitly built backends.
    checked_test: Option<String>,
}

impl TestBackends {
    /// Reads `HEARTH_TEST_DATABASE_URL`, `HEARTH_TEST_NATS_URL`, `HEARTH_TEST_NATS_SERVER` and
    /// `CI`, and finds the `nats-server` binary. An empty variable counts as absent.
    #[allow(clippy::disallowed_methods)] // this crate is the one place that reads the test environment
    pub fn from_env() -> Self {
        let read = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let in_ci = read(CI_VAR).is_some_and(|value| {
            value.eq_ignore_ascii_case("true") || value == "1" || value.eq_ignore_ascii_case("yes")
        });
        let test = read(NEXTEST_TEST_NAME_VAR).unwrap_or_else(current_test_name);
        Self {
            database_url: read(DATABASE_URL_VAR),
            nats_url: read(NATS_URL_VAR),
            nats_server: crate::nats_server::locate_binary(read(NATS_SERVER_VAR)),
            in_ci,
            checked_test: (test != UNKNOWN_TEST).then_some(test),
        }
    }

    /// Builds the backends explicitly (for tests of this crate and for tools that already know).
    pub fn new(database_url: Option<String>, nats_url: Option<String>, in_ci: bool) -> Self {
        Self {
            database_url,
            nats_url,
            nats_server: None,
            in_ci,
            checked_test: None,
        }
    }

    /// The `nats-server` binary found, without reporting anything.
    pub(crate) fn nats_server_path(&self) -> Option<PathBuf> {
        self.nats_server.clone()
    }

    /// The same backends with this `nats-server` binary (or none).
    pub fn with_nats_server(mut self, binary: Option<PathBuf>) -> Self {
        self.nats_server = binary;
        self
    }

    /// Whether this run is in CI, where a missing backend fails instead of skipping.
    pub fn in_ci(&self) -> bool {
        self.in_ci
    }

    /// The PostgreSQL server URL, or `None` after printing a visible skip line for the
    /// current test.
    ///
    /// # Panics
    /// When the variable is absent and `CI=true`: a missing backend is a failure in CI.
    pub fn postgres_url(&self) -> Option<String> {
        self.require(DATABASE_URL_VAR, self.database_url.as_ref())
    }

    /// The shared NATS server URL, or `None` after printing a visible skip line for the
    /// current test.
    ///
    /// # Panics
    /// When the variable is absent and `CI=true`: a missing backend is a failure in CI.
    pub fn nats_url(&self) -> Option<String> {
        self.require(NATS_URL_VAR, self.nats_url.as_ref())
    }

    /// The `nats-server` binary for a private server ([`crate::NatsServer`]), or `None` after
    /// printing a visible skip line for the current test. Tests that stop and restart NATS need
    /// this binary, not the shared server.
    ///
    /// # Panics
    /// When there is no binary and `CI=true`.
    pub fn nats_server(&self) -> Option<PathBuf> {
        let found = self
            .nats_server
            .as_ref()
            .map(|path| path.display().to_string());
        self.require(NATS_SERVER_BINARY, found.as_ref())
            .map(PathBuf::from)
    }

    /// Refuses (with the reason) when the running test asks for `what` but is not named for
    /// a backend.
    pub(crate) fn check_test_name(&self, what: &str) -> Result<(), String> {
        match &self.checked_test {
            Some(test) => check_named_for_a_backend(test, what),
            None => Ok(()),
        }
    }

    fn require(&self, variable: &str, value: Option<&String>) -> Option<String> {
        if let Err(message) = self.check_test_name(variable) {
            panic!("{message}");
        }
        // Straight to the process's stderr: the test harness captures `eprintln!` of passing
        // tests, and a skip must stay visible.
        self.require_reporting_to(variable, value, &mut std::io::stderr())
    }

    fn require_reporting_to(
        &self,
        variable: &str,
        value: Option<&String>,
        report: &mut dyn Write,
    ) -> Option<String> {
        if let Some(value) = value {
            return Some(value.clone());
        }
        let test = self.checked_test.clone().unwrap_or_else(current_test_name);
        assert!(
            !self.in_ci,
            "{variable} is not set but CI=true: in CI a missing backend is a failure, not a skip ({test})"
        );
        let _ = writeln!(report, "SKIPPED (no {variable}): {test}");
        None
    }
}

/// Shortcut for `TestBackends::from_env().postgres_url()`.
pub fn postgres_url() -> Option<String> {
    TestBackends::from_env().postgres_url()
}

/// Shortcut for `TestBackends::from_env().nats_url()`.
pub fn nats_url() -> Option<String> {
    TestBackends::from_env().nats_url()
}

/// Shortcut for `TestBackends::from_env().nats_server()`.
pub fn nats_server_binary() -> Option<PathBuf> {
    TestBackends::from_env().nats_server()
}

/// What a skip line names when the `nats-server` binary is missing.
const NATS_SERVER_BINARY: &str = "nats-server binary (PATH, /usr/sbin or HEARTH_TEST_NATS_SERVER)";
/// [`current_test_name`] where the thread does not say.
const UNKNOWN_TEST: &str = "<unknown test>";

/// The name of the running test: libtest (and nextest, which runs one test per process through
/// it) names the test's thread after the test. Falls back to `<unknown test>` elsewhere, for
/// example inside a multi-threaded runtime's worker.
pub fn current_test_name() -> String {
    std::thread::current()
        .name()
        .filter(|name| *name != "main" && !name.starts_with("tokio-runtime"))
        .map_or_else(|| UNKNOWN_TEST.to_owned(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn present_variables_are_returned() {
        let backends = TestBackends::new(
            Some("postgres://localhost/postgres".into()),
            Some("nats://localhost:4222".into()),
            true,
        );
        assert_eq!(
            backends.postgres_url().as_deref(),
            Some("postgres://localhost/postgres")
        );
        assert_eq!(
            backends.nats_url().as_deref(),
            Some("nats://localhost:4222")
        );
    }

    #[test]
    fn absent_variables_skip_visibly_outside_ci() {
        let backends = TestBackends::new(None, None, false);
        let mut report = Vec::new();
        assert_eq!(
            backends.require_reporting_to(DATABASE_URL_VAR, None, &mut report),
            None
        );
        let report = String::from_utf8_lossy(&report);
        assert!(
            report.starts_with("SKIPPED (no HEARTH_TEST_DATABASE_URL): ")
                && report
                    .trim_end()
                    .ends_with("absent_variables_skip_visibly_outside_ci"),
            "{report}"
        );
    }

    #[test]
    #[should_panic(expected = "CI=true")]
    fn absent_variables_fail_in_ci() {
        let backends = TestBackends::new(None, None, true);
        let _ = backends.nats_url();
    }

    #[test]
    fn backend_tests_are_recognised_by_name() {
        assert!(is_named_for_a_backend("postgres::migrations_apply_once"));
        assert!(is_named_for_a_backend(
            "monitoring::outbox_backlog_rises_while_nats_is_down_and_drains_after"
        ));
        assert!(!is_named_for_a_backend("sqlite::migrations_apply_once"));
        assert!(check_named_for_a_backend("nats::fetch_waits", NATS_URL_VAR).is_ok());
        let refused = check_named_for_a_backend("sqlite::fetch_waits", DATABASE_URL_VAR)
            .expect_err("a backend test without the name");
        assert!(
            refused.starts_with("sqlite::fetch_waits needs HEARTH_TEST_DATABASE_URL")
                && refused.contains(".config/nextest.toml"),
            "{refused}"
        );
    }

    #[test]
    #[should_panic(expected = "neither `postgres` nor `nats`")]
    fn asking_for_a_backend_without_the_name_fails() {
        let mut backends =
            TestBackends::new(Some("postgres://localhost/postgres".into()), None, false);
        backends.checked_test = Some("store::tests::data_survives".into());
        let _ = backends.postgres_url();
    }

    #[test]
    fn a_missing_server_binary_is_a_skip_or_a_failure_in_ci() {
        let binary = PathBuf::from("/usr/sbin/nats-server");
        let found = TestBackends::new(None, None, true).with_nats_server(Some(binary.clone()));
        assert_eq!(found.nats_server(), Some(binary));
        assert_eq!(TestBackends::new(None, None, false).nats_server(), None);
        let in_ci = std::panic::catch_unwind(|| TestBackends::new(None, None, true).nats_server());
        assert!(in_ci.is_err(), "no binary in CI is a failure");
    }

    #[test]
    fn the_test_name_is_the_thread_name() {
        assert!(current_test_name().ends_with("the_test_name_is_the_thread_name"));
    }
}
