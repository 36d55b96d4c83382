//! Which real backends this test run may use.

use std::io::Write;

/// PostgreSQL server URL for tests (each test creates its own database on it).
pub const DATABASE_URL_VAR: &str = "HEARTH_TEST_DATABASE_URL";
/// Shared NATS server URL for tests.
pub const NATS_URL_VAR: &str = "HEARTH_TEST_NATS_URL";
/// Set to `true` by CI systems; a missing backend is then a failure.
pub const CI_VAR: &str = "CI";

/// The real backends the environment offers to this test run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBackends {
    database_url: Option<String>,
    nats_url: Option<String>,
    in_ci: bool,
}

impl TestBackends {
    /// Reads `HEARTH_TEST_DATABASE_URL`, `HEARTH_TEST_NATS_URL` and `CI`. An empty variable
    /// counts as absent.
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
        Self {
            database_url: read(DATABASE_URL_VAR),
            nats_url: read(NATS_URL_VAR),
            in_ci,
        }
    }

    /// Builds the backends explicitly (for tests of this crate and for tools that already know).
    pub fn new(database_url: Option<String>, nats_url: Option<String>, in_ci: bool) -> Self {
        Self {
            database_url,
            nats_url,
            in_ci,
        }
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

    fn require(&self, variable: &str, value: Option<&String>) -> Option<String> {
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
        let test = current_test_name();
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

/// The name of the running test: libtest (and nextest, which runs one test per process through
/// it) names the test's thread after the test. Falls back to `<unknown test>` elsewhere, for
/// example inside a multi-threaded runtime's worker.
pub fn current_test_name() -> String {
    std::thread::current()
        .name()
        .filter(|name| *name != "main" && !name.starts_with("tokio-runtime"))
        .map_or_else(|| "<unknown test>".to_owned(), str::to_owned)
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
    fn the_test_name_is_the_thread_name() {
        assert!(current_test_name().ends_with("the_test_name_is_the_thread_name"));
    }
}
