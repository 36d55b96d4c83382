//! The client side of gRPC tracing: one `grpc.client` span per call, a child of the caller's
//! current span, whose context goes out as `traceparent`, so the server's span is its child.

use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::metrics::Histogram;
use opentelemetry::propagation::Injector;
use tower::{Layer, Service};
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::grpc_server::{
    Call, OTHER, ResponseFuture, TracedBody, call_duration_histogram, service_and_method,
};

/// A tower layer around a tonic `Channel`:
/// `MyClient::new(ServiceBuilder::new().layer(GrpcClientTraceLayer::new()).service(channel))`.
///
/// For each call it creates an `info` span `grpc.client` (OpenTelemetry name
/// `package.Service/Method`, kind client, `rpc.system`, `rpc.service`, `rpc.method`), injects its
/// context into the request headers, records `rpc.grpc.status_code` when the call ends, and
/// measures the call in `rpc.client.call.duration` (seconds). Like the server layer, it records
/// no metadata value and no message.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcClientTraceLayer {
    _private: (),
}

impl GrpcClientTraceLayer {
    pub fn new() -> Self {
        GrpcClientTraceLayer::default()
    }
}

impl<S> Layer<S> for GrpcClientTraceLayer {
    type Service = GrpcClientTraceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcClientTraceService { inner }
    }
}

/// The service [`GrpcClientTraceLayer`] wraps around a channel.
#[derive(Debug, Clone)]
pub struct GrpcClientTraceService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcClientTraceService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let (service, method) = service_and_method(request.uri().path())
            .map(|(service, method)| (service.to_owned(), method.to_owned()))
            .unwrap_or_else(|| (OTHER.to_owned(), OTHER.to_owned()));
        let span = tracing::info_span!(
            "grpc.client",
            otel.name = format!("{service}/{method}"),
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            otel.status_code = Empty,
            rpc.grpc.status_code = Empty,
        );
        let context = span.context();
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&context, &mut HeaderInjector(request.headers_mut()));
        });
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        ResponseFuture::new(
            inner,
            Call {
                span,
                started: Instant::now(),
                service,
                method,
                duration: client_call_duration(),
            },
        )
    }
}

/// `rpc.client.call.duration`, made on first use.
fn client_call_duration() -> &'static Histogram<f64> {
    static HISTOGRAM: OnceLock<Histogram<f64>> = OnceLock::new();
    HISTOGRAM.get_or_init(|| {
        call_duration_histogram(
            "rpc.client.call.duration",
            "Duration of gRPC calls made, by service, method and status",
        )
    })
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}
