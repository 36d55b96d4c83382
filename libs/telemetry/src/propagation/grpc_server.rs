//! The server side of gRPC trace propagation: one `grpc.request` span per call, parented from
//! the caller's `traceparent`, carrying the gRPC status when the call ends.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http_body::{Body, Frame, SizeHint};
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
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcTraceLayer {
    // Not a unit struct: `GrpcTraceLayer::default()` stays lint-clean and options can be added.
    _private: (),
}

impl GrpcTraceLayer {
    pub fn new() -> Self {
        GrpcTraceLayer::default()
    }
}

impl<S> Layer<S> for GrpcTraceLayer {
    type Service = GrpcTraceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcTraceService { inner }
    }
}

/// The service [`GrpcTraceLayer`] wraps around the server's routes.
#[derive(Debug, Clone)]
pub struct GrpcTraceService<S> {
    inner: S,
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
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        ResponseFuture {
            inner,
            span: Some(span),
        }
    }
}

pin_project! {
    /// The inner service's future, polled inside the request span.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Option<Span>,
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
            let _entered = this.span.as_ref().map(Span::enter);
            ready!(this.inner.poll(cx))
        };
        let span = this.span.take().unwrap_or_else(Span::none);
        Poll::Ready(match result {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                let span_until_trailers = match grpc_status(&parts.headers) {
                    // Trailers-only response: the status is already here, the call is over.
                    Some(code) => {
                        record_status(&span, code);
                        None
                    }
                    None => Some(span),
                };
                Ok(http::Response::from_parts(
                    parts,
                    TracedBody {
                        inner: body,
                        span: span_until_trailers,
                    },
                ))
            }
            Err(error) => {
                span.record("otel.status_code", "ERROR");
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
        span: Option<Span>,
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
        let call_is_over = match &frame {
            Some(Ok(frame)) => match frame.trailers_ref() {
                Some(trailers) => {
                    if let (Some(span), Some(code)) = (this.span.as_ref(), grpc_status(trailers)) {
                        record_status(span, code);
                    }
                    true
                }
                None => false,
            },
            Some(Err(_)) => {
                if let Some(span) = this.span.as_ref() {
                    span.record("otel.status_code", "ERROR");
                }
                true
            }
            None => true,
        };
        if call_is_over {
            // Dropping our handle closes the span (and ends the OpenTelemetry span).
            *this.span = None;
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
fn service_and_method(path: &str) -> Option<(&str, &str)> {
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

fn record_status(span: &Span, code: i32) {
    span.record("rpc.grpc.status_code", i64::from(code));
    if is_server_error(code) {
        span.record("otel.status_code", "ERROR");
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
