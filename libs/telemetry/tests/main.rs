//! hearth-telemetry's test suite (one binary): propagation over NATS-style headers and gRPC
//! metadata, the gRPC server layer, log formats, and the OTLP exporter's life cycle.
//!
//! Most tests install a subscriber for their own thread (`tracing::subscriber::with_default` /
//! `set_default`) so they can run in parallel with their own options.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support {
    use std::io::Write;
    use std::sync::{Arc, Mutex, MutexGuard};

    use hearth_telemetry::{LogFormat, TelemetryGuard, TelemetryOptions, build_subscriber};
    use tracing::Subscriber;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::layer::{Context, Layer};
    use tracing_subscriber::registry::LookupSpan;

    pub fn options() -> TelemetryOptions {
        TelemetryOptions {
            log_format: LogFormat::Json,
            ..TelemetryOptions::new("hearth-telemetry-test")
        }
    }

    /// A subscriber with logs discarded, for tests about spans and propagation.
    pub fn quiet_subscriber(
        opts: &TelemetryOptions,
    ) -> (
        impl Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
        TelemetryGuard,
    ) {
        build_subscriber(opts, std::io::sink).unwrap()
    }

    /// A sink that keeps what is written, to read log lines back.
    #[derive(Clone, Default)]
    pub struct BufferSink(Arc<Mutex<Vec<u8>>>);

    impl BufferSink {
        pub fn contents(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    pub struct BufferWriter<'a>(MutexGuard<'a, Vec<u8>>);

    impl Write for BufferWriter<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for BufferSink {
        type Writer = BufferWriter<'a>;
        fn make_writer(&'a self) -> Self::Writer {
            BufferWriter(self.0.lock().unwrap())
        }
    }

    /// What a test layer saw of the spans with a given name: their field values (as text, last
    /// value wins) and whether they closed.
    #[derive(Clone, Default)]
    pub struct SpanRecorder {
        spans: Arc<Mutex<Vec<RecordedSpan>>>,
    }

    #[derive(Clone, Debug, Default)]
    pub struct RecordedSpan {
        pub id: u64,
        pub name: String,
        pub fields: Vec<(String, String)>,
        pub closed: bool,
    }

    impl RecordedSpan {
        pub fn field(&self, name: &str) -> Option<&str> {
            self.fields
                .iter()
                .rev()
                .find(|(field, _)| field == name)
                .map(|(_, value)| value.as_str())
        }
    }

    impl SpanRecorder {
        pub fn named(&self, name: &str) -> Vec<RecordedSpan> {
            self.spans
                .lock()
                .unwrap()
                .iter()
                .filter(|span| span.name == name)
                .cloned()
                .collect()
        }

        fn update(&self, id: &Id, change: impl FnOnce(&mut RecordedSpan)) {
            let mut spans = self.spans.lock().unwrap();
            if let Some(span) = spans.iter_mut().rev().find(|span| span.id == id.into_u64()) {
                change(span);
            }
        }
    }

    struct FieldVisitor<'a>(&'a mut Vec<(String, String)>);

    impl Visit for FieldVisitor<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.push((field.name().to_owned(), value.to_owned()));
        }
        fn record_i64(&mut self, field: &Field, value: i64) {
            self.0.push((field.name().to_owned(), value.to_string()));
        }
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push((field.name().to_owned(), format!("{value:?}")));
        }
    }

    impl<S: Subscriber> Layer<S> for SpanRecorder {
        fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
            let mut span = RecordedSpan {
                id: id.into_u64(),
                name: attrs.metadata().name().to_owned(),
                ..RecordedSpan::default()
            };
            attrs.record(&mut FieldVisitor(&mut span.fields));
            self.spans.lock().unwrap().push(span);
        }

        fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
            self.update(id, |span| {
                values.record(&mut FieldVisitor(&mut span.fields))
            });
        }

        fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
            self.update(&id, |span| span.closed = true);
        }
    }

    /// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`; returns (trace id, span id, flags).
    pub fn parse_traceparent(value: &str) -> (String, String, String) {
        let parts: Vec<&str> = value.split('-').collect();
        assert_eq!(parts.len(), 4, "traceparent {value:?}");
        assert_eq!(parts[0], "00", "version of {value:?}");
        for (part, len) in parts[1..].iter().zip([32, 16, 2]) {
            assert_eq!(part.len(), len, "{value:?}");
            assert!(
                part.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                "{value:?}"
            );
        }
        assert_ne!(parts[1], "0".repeat(32));
        assert_ne!(parts[2], "0".repeat(16));
        (
            parts[1].to_owned(),
            parts[2].to_owned(),
            parts[3].to_owned(),
        )
    }
}

mod propagation {
    use std::collections::BTreeMap;

    use hearth_telemetry::propagation::{
        TraceContextInterceptor, current_trace_headers, inject_trace_context,
        set_parent_from_headers, trace_id_of_current_span,
    };
    use tonic::metadata::MetadataMap;
    use tonic::service::Interceptor;

    use crate::support::{options, parse_traceparent, quiet_subscriber};

    #[test]
    fn headers_round_trip_keeps_the_trace_id() {
        let (subscriber, _guard) = quiet_subscriber(&options());
        tracing::subscriber::with_default(subscriber, || {
            let publish = tracing::info_span!("publish");
            let (publisher_trace_id, headers) =
                publish.in_scope(|| (trace_id_of_current_span(), current_trace_headers()));
            let publisher_trace_id =
                publisher_trace_id.expect("the publishing span has a trace id");
            let (trace_id, _, flags) = parse_traceparent(&headers["traceparent"]);
            assert_eq!(trace_id, publisher_trace_id);
            assert_eq!(flags, "01", "sampled at ratio 1.0");

            // The consumer's span lives elsewhere: no contextual parent, only the headers.
            let consume = tracing::info_span!(parent: None, "consume");
            set_parent_from_headers(&consume, &headers);
            let consumer_headers = consume.in_scope(|| {
                assert_eq!(trace_id_of_current_span(), Some(publisher_trace_id.clone()));
                current_trace_headers()
            });
            let (_, consumer_span_id, _) = parse_traceparent(&consumer_headers["traceparent"]);
            let (_, publisher_span_id, _) = parse_traceparent(&headers["traceparent"]);
            assert_ne!(
                consumer_span_id, publisher_span_id,
                "a new span in the same trace"
            );
        });
    }

    #[test]
    fn absent_or_invalid_headers_leave_the_span_alone() {
        let (subscriber, _guard) = quiet_subscriber(&options());
        tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::info_span!("outer");
            let outer_trace_id = outer.in_scope(trace_id_of_current_span).unwrap();
            for headers in [
                BTreeMap::new(),
                BTreeMap::from([("traceparent".to_owned(), "garbage".to_owned())]),
                BTreeMap::from([(
                    "traceparent".to_owned(),
                    format!("00-{}-{}-01", "0".repeat(32), "0".repeat(16)),
                )]),
            ] {
                let root = tracing::info_span!(parent: None, "root");
                set_parent_from_headers(&root, &headers);
                let root_trace_id = root.in_scope(trace_id_of_current_span).unwrap();
                assert_ne!(
                    root_trace_id, outer_trace_id,
                    "a root span starts its own trace"
                );

                let child = outer.in_scope(|| tracing::info_span!("child"));
                set_parent_from_headers(&child, &headers);
                assert_eq!(
                    child.in_scope(trace_id_of_current_span),
                    Some(outer_trace_id.clone())
                );
            }
        });
    }

    #[test]
    fn names_are_matched_case_insensitively() {
        let (subscriber, _guard) = quiet_subscriber(&options());
        tracing::subscriber::with_default(subscriber, || {
            let remote = format!(
                "00-{}-{}-01",
                "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
            );
            let headers = BTreeMap::from([("Traceparent".to_owned(), remote)]);
            let span = tracing::info_span!("consume");
            set_parent_from_headers(&span, &headers);
            assert_eq!(
                span.in_scope(trace_id_of_current_span).as_deref(),
                Some("4bf92f3577b34da6a3ce929d0e0e4736")
            );
        });
    }

    #[test]
    fn metadata_injection_produces_a_valid_traceparent() {
        let (subscriber, _guard) = quiet_subscriber(&options());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("client call");
            let _entered = span.enter();
            let trace_id = trace_id_of_current_span().unwrap();

            let mut metadata = MetadataMap::new();
            inject_trace_context(&mut metadata);
            let traceparent = metadata.get("traceparent").unwrap().to_str().unwrap();
            assert_eq!(parse_traceparent(traceparent).0, trace_id);

            let request = TraceContextInterceptor::new()
                .call(tonic::Request::new(()))
                .unwrap();
            let traceparent = request
                .metadata()
                .get("traceparent")
                .unwrap()
                .to_str()
                .unwrap();
            assert_eq!(parse_traceparent(traceparent).0, trace_id);
        });
    }

    #[test]
    fn no_current_span_injects_nothing() {
        let (subscriber, _guard) = quiet_subscriber(&options());
        tracing::subscriber::with_default(subscriber, || {
            let mut metadata = MetadataMap::new();
            inject_trace_context(&mut metadata);
            assert!(metadata.is_empty());
            assert!(current_trace_headers().is_empty());
            assert_eq!(trace_id_of_current_span(), None);
        });
    }

    #[test]
    fn quiet_logs_do_not_break_propagation() {
        let opts = hearth_telemetry::TelemetryOptions {
            log_filter: "warn".to_owned(),
            ..options()
        };
        let (subscriber, _guard) = quiet_subscriber(&opts);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("publish");
            let headers = span.in_scope(current_trace_headers);
            assert!(headers.contains_key("traceparent"), "{headers:?}");
        });
    }

    #[test]
    fn unsampled_traces_still_propagate_and_remote_decisions_are_followed() {
        let opts = hearth_telemetry::TelemetryOptions {
            sample_ratio: 0.0,
            ..options()
        };
        let (subscriber, _guard) = quiet_subscriber(&opts);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("local root");
            let headers = span.in_scope(current_trace_headers);
            let (_, _, flags) = parse_traceparent(&headers["traceparent"]);
            assert_eq!(
                flags, "00",
                "not sampled at ratio 0.0, but still has a trace id"
            );

            let remote = BTreeMap::from([(
                "traceparent".to_owned(),
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
            )]);
            let child = tracing::info_span!(parent: None, "remote child");
            set_parent_from_headers(&child, &remote);
            let headers = child.in_scope(current_trace_headers);
            let (trace_id, _, flags) = parse_traceparent(&headers["traceparent"]);
            assert_eq!(trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
            assert_eq!(flags, "01", "the remote parent was sampled");
        });
    }

    #[test]
    fn test_init_installs_a_global_subscriber_that_propagates() {
        hearth_telemetry::init_for_tests();
        hearth_telemetry::init_for_tests();
        // A fresh thread has no scoped subscriber: the global one applies.
        std::thread::spawn(|| {
            let span = tracing::info_span!("global");
            let headers = span.in_scope(current_trace_headers);
            parse_traceparent(&headers["traceparent"]);
        })
        .join()
        .unwrap();
    }
}

mod grpc_server {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::future::poll_fn;
    use std::net::SocketAddr;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};

    use hearth_telemetry::propagation::{
        GrpcTraceLayer, TraceContextInterceptor, current_trace_headers, trace_id_of_current_span,
    };
    use http_body::{Body, Frame};
    use tokio_stream::wrappers::TcpListenerStream;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    use tower::{Layer, Service, ServiceExt};
    use tracing::Instrument;
    use tracing_subscriber::layer::SubscriberExt;

    use crate::support::{SpanRecorder, options, parse_traceparent, quiet_subscriber};

    const REMOTE_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const REMOTE_SPAN_ID: &str = "00f067aa0ba902b7";

    /// A response body of fixed frames (data, then optionally trailers).
    struct Frames(VecDeque<Frame<&'static [u8]>>);

    impl Body for Frames {
        type Data = &'static [u8];
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
            Poll::Ready(self.0.pop_front().map(Ok))
        }
    }

    fn grpc_request(traceparent: Option<&str>) -> http::Request<()> {
        let mut request = http::Request::builder()
            .uri("http://hearth/hearth.intake.v1.Intake/Submit")
            .header("content-type", "application/grpc")
            .header("authorization", "Bearer secret-token");
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        request.body(()).unwrap()
    }

    /// What a handler saw: its trace id and its own `traceparent`.
    type Seen = Arc<Mutex<Vec<(Option<String>, String)>>>;

    /// A handler that reports the trace context it runs in, then answers with `response`.
    fn handler(
        seen: Seen,
        response: fn() -> http::Response<Frames>,
    ) -> impl Service<
        http::Request<()>,
        Response = http::Response<Frames>,
        Error = Infallible,
        Future: Send,
    > + Clone {
        tower::service_fn(move |_request: http::Request<()>| {
            let seen = Arc::clone(&seen);
            async move {
                let traceparent = current_trace_headers()
                    .remove("traceparent")
                    .unwrap_or_default();
                seen.lock()
                    .unwrap()
                    .push((trace_id_of_current_span(), traceparent));
                Ok::<_, Infallible>(response())
            }
        })
    }

    fn trailers_only(code: &'static str) -> http::Response<Frames> {
        http::Response::builder()
            .header("content-type", "application/grpc")
            .header("grpc-status", code)
            .body(Frames(VecDeque::new()))
            .unwrap()
    }

    fn with_trailers(code: &'static str) -> http::Response<Frames> {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static(code));
        http::Response::builder()
            .header("content-type", "application/grpc")
            .body(Frames(VecDeque::from([
                Frame::data(&b"\0\0\0\0\0"[..]),
                Frame::trailers(trailers),
            ])))
            .unwrap()
    }

    async fn drain<B: Body + Unpin>(mut body: B) -> usize {
        let mut frames = 0;
        while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            assert!(frame.is_ok());
            frames += 1;
        }
        frames
    }

    #[tokio::test]
    async fn server_span_is_parented_from_the_incoming_traceparent() {
        let recorder = SpanRecorder::default();
        let (subscriber, _guard) = quiet_subscriber(&options());
        let _default = tracing::subscriber::set_default(subscriber.with(recorder.clone()));

        let seen = Arc::default();
        let mut service =
            GrpcTraceLayer::default().layer(handler(Arc::clone(&seen), || trailers_only("5")));
        let incoming = format!("00-{REMOTE_TRACE_ID}-{REMOTE_SPAN_ID}-01");
        let response = service
            .ready()
            .await
            .unwrap()
            .call(grpc_request(Some(&incoming)))
            .await
            .unwrap();
        assert_eq!(drain(response.into_body()).await, 0);

        let (trace_id, traceparent) = seen.lock().unwrap()[0].clone();
        assert_eq!(trace_id.as_deref(), Some(REMOTE_TRACE_ID));
        let (_, span_id, flags) = parse_traceparent(&traceparent);
        assert_ne!(
            span_id, REMOTE_SPAN_ID,
            "the handler runs in the server's own span"
        );
        assert_eq!(flags, "01");

        let spans = recorder.named("grpc.request");
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.field("otel.kind"), Some("server"));
        assert_eq!(span.field("rpc.system"), Some("grpc"));
        assert_eq!(span.field("rpc.service"), Some("hearth.intake.v1.Intake"));
        assert_eq!(span.field("rpc.method"), Some("Submit"));
        assert_eq!(
            span.field("otel.name"),
            Some("hearth.intake.v1.Intake/Submit")
        );
        assert_eq!(span.field("rpc.grpc.status_code"), Some("5"));
        assert_eq!(
            span.field("otel.status_code"),
            None,
            "NOT_FOUND is the client's fault"
        );
        assert!(span.closed);
        let recorded = format!("{:?}", span.fields);
        assert!(
            !recorded.contains("secret-token"),
            "metadata values are never recorded: {recorded}"
        );
        assert!(!recorded.contains(REMOTE_SPAN_ID), "{recorded}");
    }

    #[tokio::test]
    async fn status_in_trailers_is_recorded_when_the_body_ends() {
        let recorder = SpanRecorder::default();
        let (subscriber, _guard) = quiet_subscriber(&options());
        let _default = tracing::subscriber::set_default(subscriber.with(recorder.clone()));

        let seen = Arc::default();
        let mut service =
            GrpcTraceLayer::default().layer(handler(Arc::clone(&seen), || with_trailers("13")));
        let response = service
            .ready()
            .await
            .unwrap()
            .call(grpc_request(None))
            .await
            .unwrap();

        let span = recorder.named("grpc.request").remove(0);
        assert!(!span.closed, "the span covers the response body");
        assert_eq!(span.field("rpc.grpc.status_code"), None);

        assert_eq!(drain(response.into_body()).await, 2);
        let span = recorder.named("grpc.request").remove(0);
        assert_eq!(span.field("rpc.grpc.status_code"), Some("13"));
        assert_eq!(span.field("otel.status_code"), Some("ERROR"));
        assert!(span.closed);
    }

    #[tokio::test]
    async fn a_request_without_context_starts_a_new_trace() {
        let (subscriber, _guard) = quiet_subscriber(&options());
        let _default = tracing::subscriber::set_default(subscriber);

        let seen = Arc::default();
        let mut service =
            GrpcTraceLayer::default().layer(handler(Arc::clone(&seen), || with_trailers("0")));
        let ambient = tracing::info_span!("ambient");
        let ambient_trace_id = ambient.in_scope(trace_id_of_current_span).unwrap();
        let response = service
            .ready()
            .await
            .unwrap()
            .call(grpc_request(None))
            .instrument(ambient)
            .await
            .unwrap();
        drain(response.into_body()).await;

        let trace_id = seen.lock().unwrap()[0].0.clone().unwrap();
        assert_ne!(trace_id, ambient_trace_id);
    }

    /// A health server behind the trace layer on a free port, recording the trace id each
    /// request arrives with.
    struct HealthServer {
        channel: tonic::transport::Channel,
        traces_seen: Arc<Mutex<Vec<Option<String>>>>,
        stop: tokio::sync::oneshot::Sender<()>,
        server: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
    }

    impl HealthServer {
        async fn start() -> HealthServer {
            let traces_seen = Arc::new(Mutex::new(Vec::new()));
            let probe = {
                let traces_seen = Arc::clone(&traces_seen);
                tower::util::MapRequestLayer::new(
                    move |request: http::Request<tonic::body::Body>| {
                        traces_seen.lock().unwrap().push(trace_id_of_current_span());
                        request
                    },
                )
            };
            let (_reporter, health) = tonic_health::server::health_reporter();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address: SocketAddr = listener.local_addr().unwrap();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(
                tonic::transport::Server::builder()
                    .layer(GrpcTraceLayer::default())
                    .layer(probe)
                    .add_service(health)
                    .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                        stopped.await.ok();
                    }),
            );
            let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
                .unwrap()
                .connect()
                .await
                .unwrap();
            HealthServer {
                channel,
                traces_seen,
                stop,
                server,
            }
        }

        /// Stops the server; returns the trace ids requests arrived with.
        async fn stop(self) -> Vec<Option<String>> {
            self.stop.send(()).unwrap();
            self.server.await.unwrap().unwrap();
            self.traces_seen.lock().unwrap().clone()
        }
    }

    /// A real tonic server and client over TCP: the client's trace reaches the server's handler.
    #[tokio::test]
    async fn one_trace_follows_a_call_across_tonic() {
        let recorder = SpanRecorder::default();
        let (subscriber, _guard) = quiet_subscriber(&options());
        // Current-thread runtime: the server's tasks run on this thread, under this subscriber.
        let _default = tracing::subscriber::set_default(subscriber.with(recorder.clone()));

        let server = HealthServer::start().await;
        let channel = server.channel.clone();
        let mut client = HealthClient::with_interceptor(channel, TraceContextInterceptor::new());
        let call = tracing::info_span!("client call");
        let client_trace_id = call.in_scope(trace_id_of_current_span).unwrap();
        let serving = client
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .instrument(call.clone())
            .await
            .unwrap();
        assert_eq!(serving.into_inner().status, 1, "SERVING");
        let unknown = client
            .check(HealthCheckRequest {
                service: "no.such.Service".to_owned(),
            })
            .instrument(call)
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), tonic::Code::NotFound);

        let seen = server.stop().await;
        assert_eq!(
            seen,
            vec![Some(client_trace_id.clone()), Some(client_trace_id)]
        );
        let spans = recorder.named("grpc.request");
        let codes: Vec<_> = spans
            .iter()
            .map(|span| span.field("rpc.grpc.status_code"))
            .collect();
        assert_eq!(
            codes,
            vec![Some("0"), Some("5")],
            "OK from trailers, NOT_FOUND trailers-only"
        );
        assert!(
            spans
                .iter()
                .all(|span| span.field("rpc.service") == Some("grpc.health.v1.Health"))
        );
    }

    /// The client layer makes a `grpc.client` span per call, the server's span is its child,
    /// and the call's status is recorded on the client's side too.
    #[tokio::test]
    async fn the_client_layer_makes_a_client_span_the_server_joins() {
        let recorder = SpanRecorder::default();
        let (subscriber, _guard) = quiet_subscriber(&options());
        let _default = tracing::subscriber::set_default(subscriber.with(recorder.clone()));
        let server = HealthServer::start().await;
        let channel = server.channel.clone();
        let mut client = HealthClient::new(
            tower::ServiceBuilder::new()
                .layer(hearth_telemetry::propagation::GrpcClientTraceLayer::new())
                .service(channel),
        );
        let job = tracing::info_span!("job");
        let job_trace_id = job.in_scope(trace_id_of_current_span).unwrap();
        client
            .check(HealthCheckRequest::default())
            .instrument(job.clone())
            .await
            .unwrap();
        let unknown = client
            .check(HealthCheckRequest {
                service: "no.such.Service".to_owned(),
            })
            .instrument(job)
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), tonic::Code::NotFound);
        let seen = server.stop().await;
        let clients = recorder.named("grpc.client");
        let codes: Vec<_> = clients
            .iter()
            .map(|span| span.field("rpc.grpc.status_code"))
            .collect();
        assert_eq!(codes, vec![Some("0"), Some("5")]);
        assert!(
            clients
                .iter()
                .all(|span| span.field("otel.kind") == Some("client"))
        );
        assert_eq!(seen, vec![Some(job_trace_id.clone()), Some(job_trace_id)]);
    }
}

mod subscriber {
    use hearth_telemetry::{LogFormat, TelemetryError, TelemetryOptions, build_subscriber};

    use crate::support::{BufferSink, options};

    fn log_some_lines(opts: &TelemetryOptions) -> String {
        let sink = BufferSink::default();
        let (subscriber, _guard) = build_subscriber(opts, sink.clone()).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("handle", case_id = 7);
            span.in_scope(|| {
                tracing::info!(answer = 42, "hello \"quoted\"\nsecond line");
                tracing::warn!(reason = %"a\tb", "careful");
                tracing::debug!("not at info");
            });
            tracing::info!("outside any span");
        });
        sink.contents()
    }

    #[test]
    fn json_format_writes_valid_json_lines() {
        let output = log_some_lines(&options());
        let lines: Vec<serde_json::Value> = output
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect();
        assert_eq!(lines.len(), 3, "{output}");
        assert!(lines.iter().all(serde_json::Value::is_object));
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[0]["message"], "hello \"quoted\"\nsecond line");
        assert_eq!(lines[0]["answer"], 42);
        assert_eq!(lines[0]["span"], "handle");
        // Logs and traces join on OpenTelemetry's ids.
        assert_eq!(lines[0]["trace_id"].as_str().map(str::len), Some(32));
        assert_eq!(lines[0]["span_id"].as_str().map(str::len), Some(16));
        assert!(
            lines[2].get("trace_id").is_none(),
            "outside any span: no trace"
        );
        assert_eq!(lines[1]["level"], "WARN");
        assert_eq!(lines[2]["message"], "outside any span");
    }

    #[test]
    fn auto_format_on_a_custom_sink_is_json() {
        let opts = TelemetryOptions {
            log_format: LogFormat::Auto,
            ..options()
        };
        let output = log_some_lines(&opts);
        for line in output.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
    }

    #[test]
    fn pretty_format_is_plain_text_without_colours_on_a_buffer() {
        let opts = TelemetryOptions {
            log_format: LogFormat::Pretty,
            ..options()
        };
        let output = log_some_lines(&opts);
        assert_eq!(
            output
                .lines()
                .filter(|line| line.contains("careful"))
                .count(),
            1,
            "{output}"
        );
        assert!(!output.contains('\u{1b}'), "no ANSI escapes: {output}");
        assert!(serde_json::from_str::<serde_json::Value>(output.lines().next().unwrap()).is_err());
    }

    #[test]
    fn the_log_filter_applies() {
        let opts = TelemetryOptions {
            log_filter: "warn".to_owned(),
            ..options()
        };
        let output = log_some_lines(&opts);
        assert_eq!(output.lines().count(), 1, "{output}");
        assert!(output.contains("careful"));
    }

    /// What `init` logs at a start: installing the metrics must not add OpenTelemetry's own
    /// "Global meter provider is set" info line, unless the filter asks for its logs.
    #[test]
    fn installing_metrics_logs_nothing_at_info() {
        let opts = TelemetryOptions {
            log_filter: "info".to_owned(),
            ..options()
        };
        let sink = BufferSink::default();
        let (subscriber, mut guard) = build_subscriber(&opts, sink.clone()).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            guard.install_metrics(&opts).unwrap();
            tracing::info!("started");
        });
        let output = sink.contents();
        assert!(
            output.contains("started"),
            "the filter lets info through: {output}"
        );
        assert!(
            !output.contains("meter provider") && !output.contains("opentelemetry"),
            "{output}"
        );

        let asked = TelemetryOptions {
            log_filter: "info,opentelemetry=info".to_owned(),
            ..options()
        };
        let sink = BufferSink::default();
        let (subscriber, _guard) = build_subscriber(&asked, sink.clone()).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "opentelemetry", "asked for");
        });
        assert!(
            sink.contents().contains("asked for"),
            "a filter naming it wins"
        );
    }

    #[test]
    fn invalid_options_are_errors() {
        let bad_filter = TelemetryOptions {
            log_filter: "[unclosed".to_owned(),
            ..options()
        };
        assert!(matches!(
            build_subscriber(&bad_filter, std::io::sink),
            Err(TelemetryError::InvalidLogFilter { .. })
        ));
        for ratio in [-0.1, 1.5, f64::NAN] {
            let bad_ratio = TelemetryOptions {
                sample_ratio: ratio,
                ..options()
            };
            assert!(matches!(
                build_subscriber(&bad_ratio, std::io::sink),
                Err(TelemetryError::InvalidSampleRatio(_))
            ));
        }
    }
}

mod otlp {
    use std::time::{Duration, Instant};

    use hearth_telemetry::propagation::trace_id_of_current_span;
    use hearth_telemetry::{TelemetryError, TelemetryGuard, TelemetryOptions, build_subscriber};

    use crate::support::options;

    /// Nothing listens there; the exporter must cope.
    fn exporting_options() -> TelemetryOptions {
        TelemetryOptions {
            otlp_endpoint: Some("http://127.0.0.1:9".to_owned()),
            county: Some("test-county".to_owned()),
            ..options()
        }
    }

    fn emit_spans(opts: &TelemetryOptions) -> TelemetryGuard {
        let (subscriber, guard) = build_subscriber(opts, std::io::sink).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            for n in 0..3 {
                let span = tracing::info_span!("exported", n);
                assert!(span.in_scope(trace_id_of_current_span).is_some());
            }
        });
        guard
    }

    #[test]
    fn the_exporter_needs_a_tokio_runtime() {
        let result = build_subscriber(&exporting_options(), std::io::sink);
        assert!(matches!(result, Err(TelemetryError::NoTokioRuntime)));
    }

    #[tokio::test]
    async fn bad_endpoints_are_errors_not_panics() {
        for endpoint in ["not a uri", "https://collector:4317"] {
            let opts = TelemetryOptions {
                otlp_endpoint: Some(endpoint.to_owned()),
                ..options()
            };
            let result = build_subscriber(&opts, std::io::sink);
            assert!(
                matches!(result, Err(TelemetryError::Exporter(_))),
                "{endpoint}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_on_a_multi_thread_runtime_is_bounded() {
        let guard = emit_spans(&exporting_options());
        let started = Instant::now();
        guard.shutdown();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_guard_on_a_blocking_thread_is_bounded() {
        let guard = emit_spans(&exporting_options());
        let dropped = tokio::task::spawn_blocking(move || drop(guard));
        tokio::time::timeout(Duration::from_secs(10), dropped)
            .await
            .expect("shutdown finished in time")
            .unwrap();
    }

    /// On a current-thread runtime the export cannot progress while shutdown waits: it gives up
    /// after its timeout instead of hanging.
    #[tokio::test]
    async fn shutdown_on_a_current_thread_runtime_is_bounded() {
        let guard = emit_spans(&exporting_options());
        let started = Instant::now();
        drop(guard);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }
}
