//! Telemetry in two functions: [`build_subscriber`] and [`init_subscriber`].

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::resource::TelemetryResourceDetector;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::Subscriber;
use tracing_subscriber::filter::{
    EnvFilter, FilterExt as _, LevelFilter, ParseError, dynamic_filter_fn,
};
use tracing_subscriber::fmt::{MakeWriter, TestWriter};
use tracing_subscriber::layer::Context;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::{SubscriberInitExt as _, TryInitError};
use tracing_subscriber::{Layer, Registry};

use crate::json_log::JsonLogLayer;
use crate::propagation;
use crate::{LogFormat, TelemetryOptions};

/// How long one OTLP export may take before it is abandoned.
pub(crate) const EXPORT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long [`TelemetryGuard::shutdown`] waits for queued spans to be exported.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// `EnvFilter` directives used when the configured filter is empty.
const DEFAULT_FILTER: &str = "info";
/// Targets whose info lines say nothing to an operator, kept to warnings unless the configured
/// filter names them: OpenTelemetry's internal logs ("Global meter provider is set", at every
/// start).
const QUIET_TARGETS: &[&str] = &["opentelemetry", "opentelemetry_sdk"];
/// Resource attribute naming the county a deployment serves.
pub(crate) const COUNTY_ATTRIBUTE: &str = "hearth.county";

/// Why telemetry could not be set up. Each message says its cause, so no variant also returns
/// it as `source()`: a chain printed with its causes says each one once.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `log_filter` is not valid `EnvFilter` syntax.
    #[error("invalid log filter {directives:?}: {error}")]
    InvalidLogFilter {
        directives: String,
        error: ParseError,
    },
    /// `sample_ratio` is outside `0.0..=1.0` (or not a number).
    #[error("sample ratio must be between 0.0 and 1.0 (got {0})")]
    InvalidSampleRatio(f64),
    /// An OTLP endpoint was configured but no Tokio runtime is running on this thread.
    #[error("the OTLP exporter must be built inside a Tokio runtime")]
    NoTokioRuntime,
    /// The OTLP exporter rejected its configuration (e.g. a malformed or `https` endpoint).
    #[error("could not build the OTLP span exporter: {0}")]
    Exporter(opentelemetry_otlp::ExporterBuildError),
    /// The metrics exporter could not be set up.
    #[error("could not set up metrics: {0}")]
    Metrics(String),
    /// A global subscriber (or `log` logger) was already installed.
    #[error("could not install the global tracing subscriber: {0}")]
    AlreadyInstalled(TryInitError),
}

/// Keeps the tracer provider alive; flushes and shuts it down on [`TelemetryGuard::shutdown`] or
/// drop (waiting at most a few seconds).
///
/// Keep it until the process ends: once it is shut down, new spans get no trace id.
///
/// Shut it down (or drop it) while the Tokio runtime that built the exporter still runs, from a
/// multi-thread runtime or outside any runtime: on a current-thread runtime the export cannot
/// progress while the thread waits, and queued spans are lost after the timeout.
#[derive(Debug)]
#[must_use = "dropping the guard shuts the tracer provider down"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    meters: Option<SdkMeterProvider>,
}

impl TelemetryGuard {
    /// Install the global meter provider ([`crate::metrics`]: the Prometheus scrape, and OTLP
    /// push when `opts` has an endpoint), kept and shut down with this guard. [`init`] does it;
    /// a caller of [`build_subscriber`] that wants metrics calls it once, inside the runtime.
    pub fn install_metrics(&mut self, opts: &TelemetryOptions) -> Result<(), TelemetryError> {
        self.meters = Some(crate::metrics::install_meter_provider(
            resource(opts),
            opts.otlp_endpoint.as_deref(),
        )?);
        Ok(())
    }

    /// Export what is queued and shut the tracer provider down. Failures (a collector that does
    /// not answer in time) are logged, not returned: there is nothing left to do about them.
    pub fn shutdown(mut self) {
        self.shutdown_provider();
    }

    fn shutdown_provider(&mut self) {
        let meters = self.meters.take();
        let Some(provider) = self.provider.take() else {
            return;
        };
        let shut_down = move || {
            if let Some(meters) = meters
                && let Err(error) = meters.shutdown_with_timeout(SHUTDOWN_TIMEOUT)
            {
                tracing::debug!(%error, "meter provider did not shut down cleanly");
            }
            provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT)
        };
        let result = match tokio::runtime::Handle::try_current() {
            // Let the runtime move its other tasks (the exporter's connection among them) off
            // this worker while it waits.
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(shut_down)
            }
            _ => shut_down(),
        };
        if let Err(error) = result {
            tracing::warn!(%error, "tracer provider did not shut down cleanly; some spans may be lost");
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.shutdown_provider();
    }
}

/// Build the subscriber: log lines to `sink`, spans to OpenTelemetry.
///
/// - Log lines are filtered by `opts.log_filter` and written human-readable
///   ([`LogFormat::Pretty`]) or as JSON lines ([`LogFormat::Json`], and [`LogFormat::Auto`]: a
///   caller-provided sink is not known to be a terminal; [`init`] decides for stdout).
/// - The OpenTelemetry layer is always present, so spans have trace ids that propagate even with
///   no exporter. It sees spans at `info` and above, plus whatever `log_filter` enables.
/// - With `opts.otlp_endpoint`, spans are batched and exported over OTLP/gRPC. The exporter
///   **must be built inside a Tokio runtime** (its channel spawns a task); without one this
///   returns [`TelemetryError::NoTokioRuntime`]. Unset exporter options (headers, compression)
///   may still come from the standard `OTEL_EXPORTER_OTLP_*` variables.
/// - Sampling is parent-based: a remote parent's decision is followed, new traces are sampled at
///   `opts.sample_ratio`.
///
/// Side effect: sets the global text-map propagator to W3C TraceContext
/// ([`propagation::install_propagator`]).
pub fn build_subscriber<W>(
    opts: &TelemetryOptions,
    sink: W,
) -> Result<
    (
        impl Subscriber + for<'a> LookupSpan<'a> + Send + Sync + use<W>,
        TelemetryGuard,
    ),
    TelemetryError,
>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    build(opts, sink, false)
}

fn build<W>(
    opts: &TelemetryOptions,
    sink: W,
    sink_is_terminal: bool,
) -> Result<
    (
        impl Subscriber + for<'a> LookupSpan<'a> + Send + Sync + use<W>,
        TelemetryGuard,
    ),
    TelemetryError,
>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    if !(0.0..=1.0).contains(&opts.sample_ratio) {
        return Err(TelemetryError::InvalidSampleRatio(opts.sample_ratio));
    }
    let log_filter = parse_filter(&opts.log_filter)?;
    let trace_filter = parse_filter(&opts.log_filter)?.or(LevelFilter::INFO);
    let provider = tracer_provider(opts)?;
    let tracer = provider.tracer(env!("CARGO_PKG_NAME"));
    propagation::install_propagator();

    let log_layer = log_layer(opts.log_format, sink, sink_is_terminal, log_filter);
    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        // Thread names and busy/idle times say little about a request and cost on every span.
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_filter(trace_filter.and(dynamic_filter_fn({
            let database_spans = opts.database_spans;
            move |metadata, cx| wanted_span(metadata, cx, database_spans)
        })));
    let subscriber = Registry::default().with(log_layer).with(otel_layer);
    Ok((
        subscriber,
        TelemetryGuard {
            provider: Some(provider),
            meters: None,
        },
    ))
}

/// Database statements' spans (sea-orm's) only when `database_spans` is on, and then only inside
/// another span: the relays' and consumers' idle polls run statements outside any span, every
/// second per service, and each would be a trace of its own, drowning the requests' traces.
fn wanted_span<S>(
    metadata: &tracing::Metadata<'_>,
    cx: &Context<'_, S>,
    database_spans: bool,
) -> bool
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let statement = metadata.is_span() && metadata.target().starts_with("sea_orm");
    !statement || (database_spans && cx.lookup_current().is_some())
}

/// Install `subscriber` as the global default, once per process, and forward `log` records to
/// it. Fails if a global subscriber or `log` logger is already installed.
pub fn init_subscriber(
    subscriber: impl Subscriber + Send + Sync + 'static,
) -> Result<(), TelemetryError> {
    subscriber
        .try_init()
        .map_err(TelemetryError::AlreadyInstalled)
}

/// For binaries: build with stdout as the sink (human-readable if `Auto` and stdout is a
/// terminal) and install, with the global meter provider ([`crate::metrics`]: the Prometheus
/// scrape, and OTLP push beside the spans when an endpoint is set). Call inside the Tokio runtime when an OTLP endpoint is configured;
/// keep the guard until exit.
pub fn init(opts: TelemetryOptions) -> Result<TelemetryGuard, TelemetryError> {
    let stdout_is_terminal = std::io::stdout().is_terminal();
    let (subscriber, mut guard) = build(&opts, std::io::stdout, stdout_is_terminal)?;
    init_subscriber(subscriber)?;
    guard.install_metrics(&opts)?;
    Ok(guard)
}

/// For tests: install a global subscriber once per process, with the OpenTelemetry layer (so
/// trace context propagates) and no exporter. Safe to call from every test.
///
/// Logs are discarded unless the `TEST_LOG` environment variable is set (this function reads the
/// environment, on purpose): `TEST_LOG=1` logs at `info`, any other value is used as the filter
/// (`TEST_LOG=debug`, `TEST_LOG=hearth_bus=trace`). Logs go through the test harness's capture.
///
/// If another global subscriber is already installed this prints a notice and leaves it alone.
pub fn init_for_tests() {
    static TEST_TELEMETRY: OnceLock<Option<TelemetryGuard>> = OnceLock::new();
    TEST_TELEMETRY.get_or_init(|| {
        let mut opts = TelemetryOptions::new("hearth-test");
        opts.log_format = LogFormat::Pretty;
        // Tests only: TEST_LOG is a developer's switch, not a setting, so hearth-config has no say.
        #[allow(clippy::disallowed_methods)]
        let test_log = std::env::var("TEST_LOG");
        let installed = match test_log {
            Ok(test_log) => {
                opts.log_filter = test_log_filter(&test_log);
                build(&opts, TestWriter::new(), false)
                    .and_then(|(subscriber, guard)| init_subscriber(subscriber).map(|()| guard))
            }
            Err(_) => {
                opts.log_filter = "off".to_owned();
                build(&opts, std::io::sink, false)
                    .and_then(|(subscriber, guard)| init_subscriber(subscriber).map(|()| guard))
            }
        };
        match installed {
            Ok(guard) => Some(guard),
            Err(error) => {
                eprintln!("hearth-telemetry: test telemetry not installed: {error}");
                None
            }
        }
    });
}

/// The filter `TEST_LOG` asks for: a flag value means `info`, anything else is directives.
fn test_log_filter(test_log: &str) -> String {
    let value = test_log.trim();
    let is_flag = value.is_empty()
        || ["1", "true", "yes", "on"]
            .iter()
            .any(|flag| value.eq_ignore_ascii_case(flag));
    if is_flag || parse_filter(value).is_err() {
        DEFAULT_FILTER.to_owned()
    } else {
        value.to_owned()
    }
}

fn parse_filter(directives: &str) -> Result<EnvFilter, TelemetryError> {
    let directives = if directives.trim().is_empty() {
        DEFAULT_FILTER
    } else {
        directives
    };
    let mut filter = EnvFilter::builder().parse(directives).map_err(|error| {
        TelemetryError::InvalidLogFilter {
            directives: directives.to_owned(),
            error,
        }
    })?;
    for target in QUIET_TARGETS {
        let named = directives.split(',').any(|directive| {
            let named = directive
                .trim()
                .split(['=', '['])
                .next()
                .unwrap_or_default();
            named == *target || named.starts_with(&format!("{target}::"))
        });
        if !named && let Ok(quiet) = format!("{target}=warn").parse() {
            filter = filter.add_directive(quiet);
        }
    }
    Ok(filter)
}

fn log_layer<W>(
    format: LogFormat,
    sink: W,
    sink_is_terminal: bool,
    filter: EnvFilter,
) -> Box<dyn Layer<Registry> + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let human_readable = match format {
        LogFormat::Pretty => true,
        LogFormat::Json => false,
        LogFormat::Auto => sink_is_terminal,
    };
    if human_readable {
        tracing_subscriber::fmt::layer()
            .with_writer(sink)
            .with_ansi(sink_is_terminal)
            .with_filter(filter)
            .boxed()
    } else {
        JsonLogLayer::new(sink).with_filter(filter).boxed()
    }
}

/// The resource of spans and metrics: the service and the county it serves.
fn resource(opts: &TelemetryOptions) -> Resource {
    // `builder_empty`: no detector that reads `OTEL_*` variables; configuration comes from
    // hearth-config through `opts`.
    let mut resource = Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_service_name(opts.service_name.clone());
    if let Some(county) = &opts.county {
        resource = resource.with_attribute(KeyValue::new(COUNTY_ATTRIBUTE, county.clone()));
    }
    resource.build()
}

fn tracer_provider(opts: &TelemetryOptions) -> Result<SdkTracerProvider, TelemetryError> {
    let mut builder = SdkTracerProvider::builder()
        .with_resource(resource(opts))
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            opts.sample_ratio,
        ))));
    if let Some(endpoint) = &opts.otlp_endpoint {
        // Building the tonic channel spawns onto the current runtime and panics without one.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TelemetryError::NoTokioRuntime);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(TelemetryError::Exporter)?;
        builder = builder.with_batch_exporter(exporter);
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_filter_says_its_cause_once() {
        let Err(error) = EnvFilter::builder().parse("info,[[[").map_err(|error| {
            TelemetryError::InvalidLogFilter {
                directives: "info,[[[".to_owned(),
                error,
            }
        }) else {
            panic!("`[[[` is no filter")
        };
        assert!(
            error
                .to_string()
                .starts_with("invalid log filter \"info,[[[\": ")
        );
        assert!(std::error::Error::source(&error).is_none());
    }

    #[test]
    fn test_log_flags_mean_info_and_other_values_are_directives() {
        assert_eq!(test_log_filter("1"), "info");
        assert_eq!(test_log_filter(" TRUE "), "info");
        assert_eq!(test_log_filter(""), "info");
        assert_eq!(test_log_filter("debug"), "debug");
        assert_eq!(
            test_log_filter("info,hearth_bus=trace"),
            "info,hearth_bus=trace"
        );
        assert_eq!(test_log_filter("[unclosed"), "info");
    }

    #[test]
    fn errors_are_usable_with_anyhow() {
        fn usable<E: std::error::Error + Send + Sync + 'static>() {}
        usable::<TelemetryError>();
    }

    /// The OpenTelemetry span id current inside `span` (entered), or `None`.
    fn otel_span_id_in(span: &tracing::Span) -> Option<String> {
        use opentelemetry::trace::TraceContextExt as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        span.in_scope(|| {
            let context = tracing::Span::current().context();
            let id = context.span().span_context().span_id();
            (id != opentelemetry::trace::SpanId::INVALID).then(|| id.to_string())
        })
    }

    #[test]
    fn statement_spans_only_inside_another_span_and_only_when_wanted() {
        for database_spans in [true, false] {
            let opts = TelemetryOptions {
                database_spans,
                log_filter: "off".to_owned(),
                ..TelemetryOptions::new("test")
            };
            let Ok((subscriber, _guard)) = build_subscriber(&opts, std::io::sink) else {
                panic!("subscriber");
            };
            tracing::subscriber::with_default(subscriber, || {
                let lone = tracing::info_span!(target: "sea_orm::database", "sea_orm.query_one");
                assert_eq!(otel_span_id_in(&lone), None, "a lone statement is no span");
                let call = tracing::info_span!("call");
                let call_id = otel_span_id_in(&call);
                assert!(call_id.is_some());
                let inner = call.in_scope(
                    || tracing::info_span!(target: "sea_orm::database", "sea_orm.execute"),
                );
                let inner_id = call.in_scope(|| otel_span_id_in(&inner));
                // A span the OpenTelemetry layer filtered out has no context of its own.
                assert_eq!(
                    inner_id.is_some() && inner_id != call_id,
                    database_spans,
                    "a statement inside a call is its own span only with database_spans"
                );
            });
        }
    }

    #[test]
    fn empty_filter_means_info() {
        assert!(parse_filter("  ").is_ok());
    }
}
