//! The server side of gRPC trace propagation: one `grpc.request` span per call, parented from
//! the caller's `traceparent`, carrying the gRPC status when the call ends.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http_body::{Body, Frame, SizeHint};
use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::Span;
use tracing::field::Empty;

/// A tower layer for `tonic::transport::Server::builder().layer(GrpcTraceLayer::default())`.
///
/// For each request it creates an `info` span `grpc.request` (OpenTelemetry name
/// `package.Service/Method`, kind server, fields `rpc.system`, `rpc.service`, `rpc.method`),
/// parented from the incoming `traceparent`/`tracestate` metadata (a new trace otherwise, never
/// a child of whatever span happens to be current), and runs the inner service inside it.
///
/// When the call ends it records `rpc.grpc.status_code`, from the response headers for a
/// trailers-only response (how tonic sends errors) or from the trailers at the end of the body;
/// the span stays open until then, so it also covers a streamed response. `otel.status_code` is
/// set to `ERROR` for the codes OpenTelemetry counts as server errors (UNKNOWN,
/// DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS) and left unset otherwise.
///
/// Request bodies and metadata values are never recorded: they may carry tokens or personal
/// data. Only the path (service and method names) and the status code are.
///
/// Each call is also measured in the `rpc.server.call.duration` histogram (seconds; attributes
/// `rpc.system`, `rpc.service`, `rpc.method`, `rpc.response.status_code` as the code's name).
/// A path outside [`GrpcTraceLayer::with_methods`] is counted as service and method `_OTHER`, so
/// that callers probing random paths cannot mint new series.
#[derive(Debug, Clone, Default)]
pub struct GrpcTraceLayer {
    methods: Option<Arc<HashSet<String>>>,
}

impl GrpcTraceLayer {
    pub fn new() -> Self {
        GrpcTraceLayer::default()
    }

    /// The server's methods as paths (`/hearth.intake.v1.IntakeService/GetPlacementRequest`):
    /// only these get their own series in the duration metric. Without it, every path does.
    pub fn with_methods(mut self, paths: impl IntoIterator<Item = String>) -> Self {
        self.methods = Some(Arc::new(paths.into_iter().collect()));
        self
    }
}

impl<S> Layer<S> for GrpcTraceLayer {
    type Service = GrpcTraceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcTraceService {
            inner,
            methods: self.methods.clone(),
        }
    }
}

/// The service [`GrpcTraceLayer`] wraps around the server's routes.
#[derive(Debug, Clone)]
pub struct GrpcTraceService<S> {
    inner: S,
    methods: Option<Arc<HashSet<String>>>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcTraceService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let span = request_span(&request);
        let known = self
            .methods
            .as_ref()
            .is_none_or(|methods| methods.contains(request.uri().path()));
        let (service, method) = match service_and_method(request.uri().path()) {
            Some((service, method)) if known => (service.to_owned(), method.to_owned()),
            _ => (OTHER.to_owned(), OTHER.to_owned()),
        };
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        ResponseFuture {
            inner,
            call: Some(Call {
                span,
                started: Instant::now(),
                service,
                method,
                duration: server_call_duration(),
            }),
        }
    }
}

pin_project! {
    /// The inner service's future, polled inside the request span.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, call: Call) -> Self {
        ResponseFuture {
            inner,
            call: Some(call),
        }
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
{
    type Output = Result<http::Response<TracedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _entered = this.call.as_ref().map(|call| call.span.enter());
            ready!(this.inner.poll(cx))
        };
        let call = this.call.take();
        Poll::Ready(match result {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                let call_until_trailers = match (call, grpc_status(&parts.headers)) {
                    // Trailers-only response: the status is already here, the call is over.
                    (Some(call), Some(code)) => {
                        call.end(code);
                        None
                    }
                    (call, _) => call,
                };
                Ok(http::Response::from_parts(
                    parts,
                    TracedBody {
                        inner: body,
                        call: call_until_trailers,
                    },
                ))
            }
            Err(error) => {
                if let Some(call) = call {
                    call.end(UNKNOWN);
                }
                Err(error)
            }
        })
    }
}

pin_project! {
    /// A response body that records the gRPC status from its trailers into the request span,
    /// and keeps the span open until then.
    #[derive(Debug)]
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }
}

impl<B: Body> Body for TracedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        let ended_with = match &frame {
            Some(Ok(frame)) => frame
                .trailers_ref()
                .map(|trailers| grpc_status(trailers).unwrap_or(UNKNOWN)),
            Some(Err(_)) | None => Some(UNKNOWN),
        };
        if let Some(code) = ended_with
            && let Some(call) = this.call.take()
        {
            // Ending the call drops our handle, which closes the span.
            call.end(code);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn request_span<B>(request: &http::Request<B>) -> Span {
    let span = tracing::info_span!(
        parent: None,
        "grpc.request",
        otel.name = Empty,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = Empty,
        rpc.method = Empty,
        otel.status_code = Empty,
        rpc.grpc.status_code = Empty,
    );
    if let Some((service, method)) = service_and_method(request.uri().path()) {
        span.record("otel.name", format!("{service}/{method}"));
        span.record("rpc.service", service);
        span.record("rpc.method", method);
    }
    let remote = super::extract_from_headers(request.headers());
    super::set_parent_from_context(&span, remote);
    span
}

/// `/hearth.intake.v1.Intake/Submit` → (`hearth.intake.v1.Intake`, `Submit`).
pub(crate) fn service_and_method(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    let well_formed = !service.is_empty() && !method.is_empty() && !method.contains('/');
    well_formed.then_some((service, method))
}

fn grpc_status(headers: &http::HeaderMap) -> Option<i32> {
    headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// What a service and method outside the server's own are counted as.
pub(crate) const OTHER: &str = "_OTHER";
/// gRPC's UNKNOWN: a call that ended without a status.
const UNKNOWN: i32 = 2;

/// One call in flight, served or made: its span, when it started, what it is counted as and
/// in which histogram.
#[derive(Debug)]
pub struct Call {
    pub(crate) span: Span,
    pub(crate) started: Instant,
    pub(crate) service: String,
    pub(crate) method: String,
    pub(crate) duration: &'static Histogram<f64>,
}

impl Call {
    /// Records the status into the span and the duration metric; dropping `self` closes the span.
    fn end(self, code: i32) {
        self.span.record("rpc.grpc.status_code", i64::from(code));
        if is_server_error(code) {
            self.span.record("otel.status_code", "ERROR");
        }
        self.duration.record(
            self.started.elapsed().as_secs_f64(),
            &[
                KeyValue::new("rpc.system", "grpc"),
                KeyValue::new("rpc.service", self.service),
                KeyValue::new("rpc.method", self.method),
                KeyValue::new("rpc.response.status_code", code_name(code)),
            ],
        );
    }
}

/// `rpc.server.call.duration`, made on first use (after telemetry is installed).
fn server_call_duration() -> &'static Histogram<f64> {
    static HISTOGRAM: OnceLock<Histogram<f64>> = OnceLock::new();
    HISTOGRAM.get_or_init(|| {
        call_duration_histogram(
            "rpc.server.call.duration",
            "Duration of gRPC calls served, by service, method and status",
        )
    })
}

pub(crate) fn call_duration_histogram(
    name: &'static str,
    description: &'static str,
) -> Histogram<f64> {
    crate::metrics::meter()
        .f64_histogram(name)
        .with_unit("s")
        .with_description(description)
        .with_boundaries(crate::metrics::DURATION_BUCKETS_SECONDS.to_vec())
        .build()
}

/// The gRPC status code's name, as `rpc.response.status_code` wants it.
fn code_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// The codes OpenTelemetry's semantic conventions count as errors on the server side.
fn is_server_error(code: i32) -> bool {
    use tonic::Code;
    matches!(
        Code::from_i32(code),
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_service_and_method() {
        assert_eq!(
            service_and_method("/hearth.intake.v1.Intake/Submit"),
            Some(("hearth.intake.v1.Intake", "Submit"))
        );
        assert_eq!(service_and_method("/"), None);
        assert_eq!(service_and_method("/only"), None);
        assert_eq!(service_and_method("/a/b/c"), None);
        assert_eq!(service_and_method("a/b"), None);
    }

    #[test]
    fn status_is_read_from_headers() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(grpc_status(&headers), None);
        headers.insert("grpc-status", http::HeaderValue::from_static("13"));
        assert_eq!(grpc_status(&headers), Some(13));
        headers.insert("grpc-status", http::HeaderValue::from_static("x"));
        assert_eq!(grpc_status(&headers), None);
    }

    #[test]
    fn client_faults_are_not_server_errors() {
        assert!(is_server_error(13));
        assert!(is_server_error(14));
        assert!(!is_server_error(0));
        assert!(!is_server_error(3));
        assert!(!is_server_error(5));
        assert!(!is_server_error(16));
    }
}
