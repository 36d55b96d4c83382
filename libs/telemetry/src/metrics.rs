//! Metrics: one OpenTelemetry meter provider per process, read by a Prometheus scrape
//! ([`scrape`]) and, when an OTLP endpoint is configured, pushed to the collector as well.
//!
//! Instruments are created from [`meter`] by the crate that measures (hearth-bus for the outbox
//! and consumers, this crate for gRPC calls). Create them after [`crate::init`] has installed
//! the provider (a `LazyLock` first touched while serving does that): an instrument made from
//! the global no-op provider stays a no-op.
//!
//! Every series carries the `hearth_county` label (the `hearth.county` resource attribute), so
//! several counties' instances can share one Prometheus.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::Key;
use opentelemetry::metrics::Meter;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use prometheus::{Encoder as _, TextEncoder};

use crate::TelemetryError;
use crate::subscriber::{COUNTY_ATTRIBUTE, EXPORT_TIMEOUT};

/// The instrumentation scope of every Hearth instrument.
const SCOPE: &str = "hearth";
/// How often metrics are pushed over OTLP (the scrape reads them whenever it comes).
const OTLP_PUSH_INTERVAL: Duration = Duration::from_secs(15);

/// Bucket boundaries, in seconds, for every duration histogram: from a fast cached read (5 ms)
/// to a call that has certainly gone wrong (10 s).
pub const DURATION_BUCKETS_SECONDS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The Prometheus registry the scrape endpoint renders; set once, by the first `init`.
static REGISTRY: OnceLock<prometheus::Registry> = OnceLock::new();

/// The meter every Hearth instrument comes from.
pub fn meter() -> Meter {
    opentelemetry::global::meter(SCOPE)
}

/// The current metrics in the Prometheus text format (version 0.0.4), for `GET /metrics`.
/// Empty before telemetry is initialised (tests that do not install it).
pub fn scrape() -> String {
    let Some(registry) = REGISTRY.get() else {
        return String::new();
    };
    let mut text = Vec::new();
    if let Err(error) = TextEncoder::new().encode(&registry.gather(), &mut text) {
        tracing::warn!(%error, "could not encode the metrics for a scrape");
    }
    String::from_utf8(text).unwrap_or_default()
}

/// The `Content-Type` of [`scrape`]'s text.
pub const SCRAPE_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Build the meter provider: a Prometheus reader always, an OTLP push reader with an endpoint.
/// Installs it as the global provider.
pub(crate) fn install_meter_provider(
    resource: Resource,
    otlp_endpoint: Option<&str>,
) -> Result<SdkMeterProvider, TelemetryError> {
    let registry = REGISTRY.get_or_init(prometheus::Registry::new).clone();
    let prometheus = opentelemetry_prometheus::exporter()
        .with_registry(registry)
        .with_resource_selector(std::collections::HashSet::from([Key::from_static_str(
            COUNTY_ATTRIBUTE,
        )]))
        // The resource is on every series already (the county); `target_info` would repeat it.
        .without_target_info()
        .build()
        .map_err(|error| TelemetryError::Metrics(error.to_string()))?;
    let mut builder = SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(prometheus);
    if let Some(endpoint) = otlp_endpoint {
        use opentelemetry_otlp::WithExportConfig as _;
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.to_owned())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(TelemetryError::Exporter)?;
        builder = builder.with_reader(
            PeriodicReader::builder(exporter)
                .with_interval(OTLP_PUSH_INTERVAL)
                .build(),
        );
    }
    let provider = builder.build();
    opentelemetry::global::set_meter_provider(provider.clone());
    Ok(provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_ascend() {
        assert!(DURATION_BUCKETS_SECONDS.windows(2).all(|w| w[0] < w[1]));
    }
}
