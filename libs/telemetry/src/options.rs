//! What a service tells the telemetry crate: its own options, not the configuration crate's.

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable when the output is a terminal, JSON lines otherwise.
    ///
    /// Only [`crate::init`] (which writes to stdout) can tell whether its output is a terminal;
    /// [`crate::build_subscriber`] with a caller-provided sink treats `Auto` as [`LogFormat::Json`].
    #[default]
    Auto,
    /// One human-readable line per event (colours only on a terminal).
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Options for [`crate::build_subscriber`] and [`crate::init`].
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryOptions {
    /// `service.name` of exported spans, e.g. `hearth-intake`.
    pub service_name: String,
    /// Format of log lines.
    pub log_format: LogFormat,
    /// `EnvFilter` directives for log lines, e.g. `info` or `info,hearth_bus=debug`.
    ///
    /// Spans are traced at `info` and above whatever this says (plus anything more verbose it
    /// enables), so quietening logs never breaks trace propagation.
    pub log_filter: String,
    /// OTLP/gRPC collector endpoint (`http://collector:4317`). `None`: spans get trace ids and
    /// propagate, but are not exported.
    pub otlp_endpoint: Option<String>,
    /// Head-sampling ratio for traces started here, `0.0..=1.0`. A remote parent's decision is
    /// always followed (parent-based sampling); keeping every error trace is the collector's
    /// tail sampling (docs/design.md#kubernetes-notes).
    pub sample_ratio: f64,
    /// The county this deployment serves, exported as the `hearth.county` resource attribute.
    pub county: Option<String>,
    /// Whether each database statement (and `BEGIN`/`COMMIT`) inside a traced operation is a
    /// span of its own. They show where a call's time goes, and cost CPU on every call.
    pub database_spans: bool,
}

impl TelemetryOptions {
    /// Defaults for a service: `Auto` format, `info` filter, no exporter, every trace sampled.
    pub fn new(service_name: impl Into<String>) -> Self {
        TelemetryOptions {
            service_name: service_name.into(),
            log_format: LogFormat::Auto,
            log_filter: "info".to_owned(),
            otlp_endpoint: None,
            sample_ratio: 1.0,
            county: None,
            database_spans: true,
        }
    }
}

impl Default for TelemetryOptions {
    fn default() -> Self {
        TelemetryOptions::new("hearth")
    }
}
