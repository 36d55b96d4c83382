//! Traces leave `hearth serve` over OTLP as an operator's collector receives them: a receiver in
//! the test takes the spans (and metrics) the binary exports; one interest is registered; the
//! spans of intake's gRPC call, the relay's publish and assessment's handler form one trace with
//! the right parent links, the call's database work hangs under it, and no attribute anywhere
//! holds the family's personal identity number, name or e-mail. Run on the embedded backends and
//! on PostgreSQL with NATS JetStream.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use hearth_domain::PersonalIdentityNumber;
use hearth_proto::intake::v1 as pb;
use hearth_proto::intake::v1::intake_service_client::IntakeServiceClient;
use hearth_testkit::authorized;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{Exemplar, ResourceMetrics};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use tokio::process::Child;
use tokio_stream::wrappers::TcpListenerStream;

use crate::{RealBackends, hearth, household, stop_cleanly};

/// The metric every gRPC call records (OpenTelemetry's RPC semantic conventions).
const RPC_SERVER_DURATION: &str = "rpc.server.call.duration";

/// What the in-test collector received.
#[derive(Debug, Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<ResourceSpans>>>,
    metrics: Arc<Mutex<Vec<ResourceMetrics>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.spans
            .lock()
            .unwrap()
            .extend(request.into_inner().resource_spans);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.metrics
            .lock()
            .unwrap()
            .extend(request.into_inner().resource_metrics);
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

impl Collector {
    /// An OTLP/gRPC receiver on a free port of 127.0.0.1, served until the test ends.
    async fn start() -> (Self, SocketAddr, AbortOnDrop) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let collector = Self::default();
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .add_service(MetricsServiceServer::new(collector.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener));
        let task = tokio::spawn(async move { server.await.expect("the OTLP receiver serves") });
        (collector, addr, AbortOnDrop(task))
    }

    fn spans(&self) -> Vec<Span> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .flat_map(|scope| scope.spans.iter().cloned())
            .collect()
    }

    fn metric_names(&self) -> HashSet<String> {
        self.metrics
            .lock()
            .unwrap()
            .iter()
            .flat_map(|resource| &resource.scope_metrics)
            .flat_map(|scope| scope.metrics.iter().map(|metric| metric.name.clone()))
            .collect()
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The family registered in the test: what must never appear in telemetry.
struct Family {
    registration: pb::InterestRegistration,
    /// The personal identity number in every written form, and the other personal data.
    secrets: Vec<String>,
}

fn family() -> Family {
    let born = NaiveDate::from_ymd_opt(1984, 11, 7).unwrap();
    let number = PersonalIdentityNumber::from_parts(born, 472, false).unwrap();
    let digits = number.expose().to_owned();
    assert_eq!(digits.len(), 12, "{digits:?} has 12 digits");
    let (date, serial) = digits.split_at(8);
    let short_date = &date[2..];
    let registration = household(
        pb::RegisteredAdult {
            given_name: "Ingegerd".to_owned(),
            family_name: "Östlundqvist".to_owned(),
            personal_identity_number: format!("{date}-{serial}"),
            email: "ingegerd.ostlundqvist@example.se".to_owned(),
            phone: "070-246 81 35".to_owned(),
        },
        "2080",
        "Slaggatan 23",
        "Falun",
        "Vi har ett rum över.",
    );
    let secrets = vec![
        digits.clone(),
        digits[2..].to_owned(),
        format!("{date}-{serial}"),
        format!("{date}+{serial}"),
        format!("{short_date}-{serial}"),
        format!("{short_date}+{serial}"),
        "Ingegerd".to_owned(),
        "Östlundqvist".to_owned(),
        "ingegerd.ostlundqvist".to_owned(),
        "Slaggatan".to_owned(),
        "246 81 35".to_owned(),
    ];
    Family {
        registration,
        secrets,
    }
}

/// Where `hearth serve` runs: the embedded defaults, or a config file naming real backends.
struct Instance {
    dir: PathBuf,
    config: Option<PathBuf>,
}

impl Instance {
    fn command(&self) -> tokio::process::Command {
        let mut command = hearth(&self.dir);
        if let Some(config) = &self.config {
            command.arg("--config").arg(config);
        }
        command
    }

    /// `hearth migrate`: `hearth serve` migrates SQLite itself, PostgreSQL is migrated first.
    async fn migrate(&self) {
        let output = self.command().arg("migrate").output().await.unwrap();
        assert!(output.status.success(), "{output:?}");
    }

    /// `hearth serve` exporting to `otlp`, once it listens: the child and its gRPC address.
    async fn serve(&self, otlp: SocketAddr) -> (Child, String) {
        let stdout_path = self.dir.join("stdout.log");
        let stderr_path = self.dir.join("stderr.log");
        let mut child = self
            .command()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("HEARTH__TELEMETRY__LOG_FORMAT", "json")
            .env("HEARTH__TELEMETRY__OTLP_ENDPOINT", format!("http://{otlp}"))
            .env("HEARTH__TELEMETRY__SAMPLE_RATIO", "1")
            .env("HEARTH__TELEMETRY__METRICS_LISTEN", "127.0.0.1:0")
            // Export batches every quarter second rather than every five: the test waits less.
            .env("OTEL_BSP_SCHEDULE_DELAY", "250")
            .env("OTEL_METRIC_EXPORT_INTERVAL", "1000")
            .stdout(Stdio::from(std::fs::File::create(&stdout_path).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(&stderr_path).unwrap()))
            .spawn()
            .unwrap();
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let text = std::fs::read_to_string(&stdout_path).unwrap_or_default();
                if let Some(addr) = text.lines().find_map(|line| {
                    let rest = line.strip_prefix("Hearth is serving county `")?;
                    Some(rest.split_once("` on ")?.1.trim().to_owned())
                }) {
                    return addr;
                }
                if let Ok(Some(status)) = child.try_wait() {
                    let errors = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                    panic!("hearth serve exited ({status}) before listening:\n{text}\n{errors}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .expect("hearth serve listens within a minute");
        (child, addr)
    }

    async fn token(&self, role: &str) -> String {
        let output = self
            .command()
            .args(["token", "--role", role])
            .output()
            .await
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }
}

// ---- reading spans ----

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|value| value.value.as_ref())
}

fn string_attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    match attribute(span, key)? {
        Value::StringValue(text) => Some(text),
        _ => None,
    }
}

fn is_kind(span: &Span, kind: SpanKind) -> bool {
    span.kind == kind as i32
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn kind_name(span: &Span) -> &'static str {
    SpanKind::try_from(span.kind).map_or("?", |kind| match kind {
        SpanKind::Unspecified => "unspecified",
        SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    })
}

/// What a failure message needs to find a broken link: one line per span of every trace that
/// has a span other than a database call, then only a count of the rest (the background work's
/// database calls, each a trace of its own, run to thousands).
fn summary(spans: &[Span]) -> String {
    const SHOWN: [&str; 9] = [
        "rpc.method",
        "hearth.event_type",
        "messaging.system",
        "messaging.operation.type",
        "messaging.consumer.group.name",
        "db.system",
        "db.operation",
        "event_type",
        "consumer",
    ];
    let interesting: HashSet<&[u8]> = spans
        .iter()
        .filter(|span| !is_kind(span, SpanKind::Client))
        .map(|span| span.trace_id.as_slice())
        .collect();
    let mut shown: Vec<&Span> = spans
        .iter()
        .filter(|span| interesting.contains(span.trace_id.as_slice()))
        .collect();
    shown.sort_by_key(|span| (span.trace_id.clone(), span.start_time_unix_nano));
    let mut text = format!(
        "{} span(s) received; the {} in traces with more than database calls:\n",
        spans.len(),
        shown.len()
    );
    for span in &shown {
        let attributes: Vec<String> = SHOWN
            .iter()
            .filter_map(|key| attribute(span, key).map(|value| format!("{key}={value:?}")))
            .collect();
        let _ = writeln!(
            text,
            "  trace {trace} span {id} parent {parent:<16} {kind:<9} {name} {attributes}",
            name = span.name,
            kind = kind_name(span),
            trace = hex(&span.trace_id),
            id = hex(&span.span_id),
            parent = hex(&span.parent_span_id),
            attributes = attributes.join(" "),
        );
    }
    let mut others: HashMap<&str, usize> = HashMap::new();
    for span in spans
        .iter()
        .filter(|span| !interesting.contains(span.trace_id.as_slice()))
    {
        *others.entry(span.name.as_str()).or_default() += 1;
    }
    let mut others: Vec<_> = others.into_iter().collect();
    others.sort();
    let _ = writeln!(
        text,
        "  and only database calls in the other traces: {others:?}"
    );
    text
}

/// The spans the test looks for, once all have arrived.
struct Trace {
    server: Span,
    producer: Span,
    consumer: Span,
}

fn find_trace(spans: &[Span]) -> Option<Trace> {
    let server = spans.iter().find(|span| {
        is_kind(span, SpanKind::Server)
            && string_attribute(span, "rpc.method") == Some("CreateInterestRegistration")
    })?;
    let producer = spans.iter().find(|span| {
        is_kind(span, SpanKind::Producer)
            && string_attribute(span, "hearth.event_type") == Some("interest.registered")
    })?;
    let consumer = spans.iter().find(|span| {
        is_kind(span, SpanKind::Consumer)
            && string_attribute(span, "hearth.event_type") == Some("interest.registered")
            && string_attribute(span, "messaging.consumer.group.name")
                .is_some_and(|group| group.starts_with("assessment"))
    })?;
    Some(Trace {
        server: server.clone(),
        producer: producer.clone(),
        consumer: consumer.clone(),
    })
}

/// Whether `ancestor` is reached from `span` by following parent links through `spans`.
fn descends_from(span: &Span, ancestor: &Span, by_id: &HashMap<&[u8], &Span>) -> bool {
    let mut parent = span.parent_span_id.as_slice();
    for _ in 0..by_id.len() + 1 {
        if parent.is_empty() {
            return false;
        }
        if parent == ancestor.span_id.as_slice() {
            return true;
        }
        match by_id.get(parent) {
            Some(next) => parent = next.parent_span_id.as_slice(),
            None => return false,
        }
    }
    false
}

// ---- personal data ----

/// Every text in `value`, nested arrays and key-value lists included; numbers as they print.
fn texts_of(value: Option<&AnyValue>, out: &mut Vec<String>) {
    let Some(value) = value.and_then(|value| value.value.as_ref()) else {
        return;
    };
    match value {
        Value::StringValue(text) => out.push(text.clone()),
        Value::BoolValue(_) => {}
        Value::IntValue(number) => out.push(number.to_string()),
        Value::DoubleValue(number) => out.push(format!("{number}")),
        Value::BytesValue(bytes) => out.push(String::from_utf8_lossy(bytes).into_owned()),
        Value::ArrayValue(array) => {
            for item in &array.values {
                texts_of(Some(item), out);
            }
        }
        Value::KvlistValue(list) => texts_of_attributes(&list.values, out),
        #[allow(unreachable_patterns)] // the profiling signal's string-table reference
        _ => out.push(format!("{value:?}")),
    }
}

fn texts_of_attributes(attributes: &[KeyValue], out: &mut Vec<String>) {
    for kv in attributes {
        out.push(kv.key.clone());
        texts_of(kv.value.as_ref(), out);
    }
}

/// Every name, attribute key and attribute value the collector received, with where it was.
fn everything_received(collector: &Collector) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut add = |place: String, texts: Vec<String>| {
        found.extend(texts.into_iter().map(|text| (place.clone(), text)));
    };
    for resource in collector.spans.lock().unwrap().iter() {
        let mut texts = Vec::new();
        if let Some(resource) = &resource.resource {
            texts_of_attributes(&resource.attributes, &mut texts);
        }
        add("span resource".to_owned(), texts);
        for scope in &resource.scope_spans {
            let mut texts = Vec::new();
            if let Some(scope) = &scope.scope {
                texts.push(scope.name.clone());
                texts_of_attributes(&scope.attributes, &mut texts);
            }
            add("instrumentation scope".to_owned(), texts);
            for span in &scope.spans {
                let mut texts = vec![span.name.clone(), span.trace_state.clone()];
                texts_of_attributes(&span.attributes, &mut texts);
                for event in &span.events {
                    texts.push(event.name.clone());
                    texts_of_attributes(&event.attributes, &mut texts);
                }
                for link in &span.links {
                    texts.push(link.trace_state.clone());
                    texts_of_attributes(&link.attributes, &mut texts);
                }
                if let Some(status) = &span.status {
                    texts.push(status.message.clone());
                }
                add(format!("span {:?}", span.name), texts);
            }
        }
    }
    for resource in collector.metrics.lock().unwrap().iter() {
        let mut texts = Vec::new();
        if let Some(resource) = &resource.resource {
            texts_of_attributes(&resource.attributes, &mut texts);
        }
        add("metric resource".to_owned(), texts);
        for metric in resource
            .scope_metrics
            .iter()
            .flat_map(|scope| &scope.metrics)
        {
            let mut texts = vec![metric.name.clone(), metric.description.clone()];
            texts_of_attributes(&metric.metadata, &mut texts);
            let mut points = |attributes: &[KeyValue], exemplars: &[Exemplar]| {
                texts_of_attributes(attributes, &mut texts);
                for exemplar in exemplars {
                    texts_of_attributes(&exemplar.filtered_attributes, &mut texts);
                }
            };
            match &metric.data {
                Some(Data::Gauge(gauge)) => gauge
                    .data_points
                    .iter()
                    .for_each(|point| points(&point.attributes, &point.exemplars)),
                Some(Data::Sum(sum)) => sum
                    .data_points
                    .iter()
                    .for_each(|point| points(&point.attributes, &point.exemplars)),
                Some(Data::Histogram(histogram)) => histogram
                    .data_points
                    .iter()
                    .for_each(|point| points(&point.attributes, &point.exemplars)),
                Some(Data::ExponentialHistogram(histogram)) => histogram
                    .data_points
                    .iter()
                    .for_each(|point| points(&point.attributes, &point.exemplars)),
                Some(Data::Summary(summary)) => summary
                    .data_points
                    .iter()
                    .for_each(|point| points(&point.attributes, &[])),
                None => {}
            }
            add(format!("metric {:?}", metric.name), texts);
        }
    }
    found
}

// ---- the scenario ----

/// Register one interest on `instance` and check the trace it leaves. `messaging_system` is what
/// the producer span must name as its broker (`None`: any, for the embedded bus).
async fn one_interest_leaves_one_trace(instance: &Instance, messaging_system: Option<&str>) {
    let (collector, otlp, _receiver) = Collector::start().await;
    let (child, addr) = instance.serve(otlp).await;
    let public = instance.token("public_intake").await;
    let family = family();

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    // No `traceparent`: the server starts the trace.
    let receipt = IntakeServiceClient::new(channel)
        .create_interest_registration(authorized(
            pb::CreateInterestRegistrationRequest {
                interest_registration: Some(family.registration.clone()),
                idempotency_key: uuid::Uuid::now_v7().to_string(),
            },
            &public,
        ))
        .await
        .expect("intake registers the interest")
        .into_inner();
    assert!(!receipt.interest_registration_id.is_empty());

    // The three spans arrive as their batches are exported; the rest is flushed at the stop.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while find_trace(&collector.spans()).is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop_cleanly(child, "-TERM").await;

    let spans = collector.spans();
    let Some(Trace {
        server,
        producer,
        consumer,
    }) = find_trace(&spans)
    else {
        panic!(
            "expected intake's server span (rpc.method CreateInterestRegistration), the relay's \
             producer span and assessment's consumer span (hearth.event_type \
             interest.registered)\n{}",
            summary(&spans)
        );
    };
    let report = summary(&spans);
    let by_id: HashMap<&[u8], &Span> = spans
        .iter()
        .map(|span| (span.span_id.as_slice(), span))
        .collect();

    // The server span: the RPC, and the root of the trace.
    assert_eq!(
        string_attribute(&server, "rpc.service"),
        Some("hearth.intake.v1.IntakeService"),
        "{report}"
    );
    assert!(
        server.parent_span_id.is_empty() || !by_id.contains_key(server.parent_span_id.as_slice()),
        "the server span starts the trace: {report}"
    );

    // The producer span: the relay sends.
    assert_eq!(
        string_attribute(&producer, "messaging.operation.type"),
        Some("send"),
        "{report}"
    );
    if let Some(system) = messaging_system {
        assert_eq!(
            string_attribute(&producer, "messaging.system"),
            Some(system),
            "{report}"
        );
    }

    // One trace, linked parent to child: server → … → producer → consumer.
    assert_eq!(producer.trace_id, server.trace_id, "{report}");
    assert_eq!(consumer.trace_id, server.trace_id, "{report}");
    assert_eq!(
        hex(&consumer.parent_span_id),
        hex(&producer.span_id),
        "the consumer span's parent is the producer span: {report}"
    );
    assert!(
        descends_from(&producer, &server, &by_id),
        "the producer span descends from the server span: {report}"
    );

    // The relay's batch (claiming and marking the rows) is a trace of its own, linked to the
    // request whose row it published.
    assert!(
        spans.iter().any(|span| span.name == "outbox.relay"
            && span
                .links
                .iter()
                .any(|link| link.trace_id == server.trace_id)),
        "an outbox.relay span links to the request's trace: {report}"
    );

    // The call's database work is part of its trace.
    let database_spans: Vec<&Span> = spans
        .iter()
        .filter(|span| {
            is_kind(span, SpanKind::Client)
                && attribute(span, "db.system").is_some()
                && descends_from(span, &server, &by_id)
        })
        .collect();
    assert!(
        !database_spans.is_empty(),
        "a database span (kind client, db.system) descends from the server span: {report}"
    );
    // The call's transaction is a span of its own, with its statements beneath it.
    let transactions: Vec<&Span> = spans
        .iter()
        .filter(|span| span.name == "transaction" && descends_from(span, &server, &by_id))
        .collect();
    assert!(
        transactions.iter().any(|transaction| database_spans
            .iter()
            .any(|statement| statement.parent_span_id == transaction.span_id)),
        "a transaction span under the call holds statements: {report}"
    );
    assert!(
        database_spans
            .iter()
            .all(|span| span.trace_id == server.trace_id),
        "{report}"
    );

    // No personal data anywhere in what was exported.
    let received = everything_received(&collector);
    assert!(
        received
            .iter()
            .any(|(place, text)| place.starts_with("span") && text == "interest.registered")
            && received
                .iter()
                .any(|(place, _)| place.starts_with("metric")),
        "the search below sees span attributes and metrics: {report}"
    );
    for secret in &family.secrets {
        let holders: Vec<&str> = received
            .iter()
            .filter(|(_, text)| text.contains(secret.as_str()))
            .map(|(place, _)| place.as_str())
            .collect();
        assert!(
            holders.is_empty(),
            "personal data `{secret}` exported in: {holders:?}"
        );
    }

    // The RPC's duration arrives as a metric (exported periodically and at the stop).
    let metrics = collector.metric_names();
    assert!(
        metrics.contains(RPC_SERVER_DURATION),
        "{RPC_SERVER_DURATION} not among the metrics received: {metrics:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_interest_one_trace_on_the_embedded_backends() {
    let dir = tempfile::tempdir().unwrap();
    let instance = Instance {
        dir: dir.path().to_owned(),
        config: None,
    };
    one_interest_leaves_one_trace(&instance, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_interest_one_trace_on_postgres_and_nats() {
    let dir = tempfile::tempdir().unwrap();
    let Some(backends) = RealBackends::new(dir.path(), "hearth_traces").await else {
        return;
    };
    let instance = Instance {
        dir: dir.path().to_owned(),
        config: Some(backends.config.clone()),
    };
    instance.migrate().await;
    one_interest_leaves_one_trace(&instance, Some("nats")).await;
    backends.database.drop_database().await.unwrap();
}
