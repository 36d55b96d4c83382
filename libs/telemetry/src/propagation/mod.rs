//! W3C trace context (`traceparent`, `tracestate`) across process boundaries, through the
//! global text-map propagator (System Initiative's `telemetry-nats-rs` shape):
//!
//! - NATS: [`current_trace_headers`] when publishing, [`set_parent_from_headers`] on the
//!   consumer's span.
//! - gRPC clients: [`GrpcClientTraceLayer`] (a client span per call), or just the context with
//!   [`TraceContextInterceptor`] or [`inject_trace_context`].
//! - gRPC servers: [`GrpcTraceLayer`].
//!
//! Only the trace context is read from headers and metadata; no other value is ever logged.

mod grpc_client;
mod grpc_server;

use std::collections::BTreeMap;
use std::sync::Once;

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, MetadataMap};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

pub use grpc_client::{GrpcClientTraceLayer, GrpcClientTraceService};
pub use grpc_server::{Call, GrpcTraceLayer, GrpcTraceService, ResponseFuture, TracedBody};

/// Set the global text-map propagator to W3C TraceContext. Idempotent; called by
/// [`crate::build_subscriber`]. Call it yourself only if you install a subscriber of your own.
pub fn install_propagator() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    });
}

/// The W3C trace context of the current tracing span, for NATS headers: `traceparent` and, when
/// there is one, `tracestate`. Empty when there is no valid context (no current span, or no
/// OpenTelemetry layer).
pub fn current_trace_headers() -> BTreeMap<String, String> {
    let mut headers = BTreeMap::new();
    let context = tracing::Span::current().context();
    if context.span().span_context().is_valid() {
        inject(&context, &mut BTreeMapCarrier(&mut headers));
    }
    headers
}

/// Make `span` a child of the remote context carried by `headers` (as produced by
/// [`current_trace_headers`]). Does nothing when the headers carry no valid context.
///
/// Call it before the span is entered or its context is read: a started span keeps its parent.
pub fn set_parent_from_headers(span: &tracing::Span, headers: &BTreeMap<String, String>) {
    set_parent(span, extract(&BTreeMapExtractor(headers)));
}

/// Link `span` to the context carried by `headers`: for work on behalf of many traces (the relay
/// publishing a batch of rows written by different requests). Does nothing without a valid
/// context.
pub fn link_from_headers(span: &tracing::Span, headers: &BTreeMap<String, String>) {
    let remote = extract(&BTreeMapExtractor(headers));
    let linked = remote.span().span_context().clone();
    if linked.is_valid() {
        span.add_link(linked);
    }
}

/// Add the current span's trace context to outgoing gRPC metadata. Does nothing when there is no
/// valid context.
pub fn inject_trace_context(metadata: &mut MetadataMap) {
    let context = tracing::Span::current().context();
    if context.span().span_context().is_valid() {
        inject(&context, &mut MetadataCarrier(metadata));
    }
}

/// A tonic client interceptor that adds the current span's trace context to every request, so
/// one trace follows a request across services:
/// `MyClient::with_interceptor(channel, TraceContextInterceptor::new())`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceContextInterceptor {
    _private: (),
}

impl TraceContextInterceptor {
    pub fn new() -> Self {
        TraceContextInterceptor::default()
    }
}

impl tonic::service::Interceptor for TraceContextInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        inject_trace_context(request.metadata_mut());
        Ok(request)
    }
}

/// The trace id (32 lowercase hex digits) of the current span, for tests and log correlation.
pub fn trace_id_of_current_span() -> Option<String> {
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

fn inject(context: &Context, carrier: &mut dyn Injector) {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(context, carrier);
    });
}

fn extract(carrier: &dyn Extractor) -> Context {
    opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(carrier))
}

/// Parent `span` from `remote` if it carries a valid span context.
fn set_parent(span: &tracing::Span, remote: Context) {
    if !remote.span().span_context().is_valid() {
        return;
    }
    if let Err(error) = span.set_parent(remote) {
        tracing::debug!(%error, "span not parented from the incoming trace context");
    }
}

struct BTreeMapCarrier<'a>(&'a mut BTreeMap<String, String>);

impl Injector for BTreeMapCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

struct BTreeMapExtractor<'a>(&'a BTreeMap<String, String>);

impl Extractor for BTreeMapExtractor<'_> {
    /// Exact key first; header names are case-insensitive, so fall back to a scan.
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .or_else(|| {
                self.0
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(key))
                    .map(|(_, value)| value)
            })
            .map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

struct MetadataCarrier<'a>(&'a mut MetadataMap);

impl Injector for MetadataCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        // Propagators produce valid ASCII header names and values; skip anything else.
        if let (Ok(key), Ok(value)) = (
            AsciiMetadataKey::from_bytes(key.as_bytes()),
            AsciiMetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}

pub(crate) struct HeaderExtractor<'a>(pub(crate) &'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The remote context carried by HTTP/2 headers (gRPC metadata).
pub(crate) fn extract_from_headers(headers: &http::HeaderMap) -> Context {
    extract(&HeaderExtractor(headers))
}

pub(crate) fn set_parent_from_context(span: &tracing::Span, remote: Context) {
    set_parent(span, remote);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extractor_falls_back_to_case_insensitive_names() {
        let headers = BTreeMap::from([("Traceparent".to_owned(), "x".to_owned())]);
        assert_eq!(BTreeMapExtractor(&headers).get("traceparent"), Some("x"));
        assert_eq!(BTreeMapExtractor(&headers).get("tracestate"), None);
    }

    #[test]
    fn metadata_carrier_skips_invalid_values() {
        let mut metadata = MetadataMap::new();
        MetadataCarrier(&mut metadata).set("traceparent", "bad\nvalue".to_owned());
        MetadataCarrier(&mut metadata).set("bad key", "value".to_owned());
        assert!(metadata.is_empty());
    }

    #[test]
    fn no_span_means_no_headers() {
        assert!(current_trace_headers().is_empty());
        assert_eq!(trace_id_of_current_span(), None);
    }

    #[test]
    fn garbage_headers_are_ignored() {
        install_propagator();
        let headers = BTreeMap::from([("traceparent".to_owned(), "not-a-traceparent".to_owned())]);
        set_parent_from_headers(&tracing::Span::none(), &headers);
        set_parent_from_headers(&tracing::info_span!("no subscriber"), &headers);
    }
}
