//! JSON log lines that carry the OpenTelemetry `trace_id` and `span_id` of the span they were
//! written in, so that a log search and a trace view join on the same ids.
//!
//! tracing-subscriber's JSON formatter knows tracing's span ids, not OpenTelemetry's, hence
//! this layer. One line per event:
//!
//! ```json
//! {"timestamp":"2026-11-25T21:03:04.123456Z","level":"INFO","target":"hearth_bus::relay",
//!  "message":"event published","sequence":7,"span":"outbox.publish",
//!  "trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7",
//!  "spans":{"event_type":"interest.registered"}}
//! ```
//!
//! `spans` holds the fields of the event's span and its parents (innermost wins), as the
//! formatter's `with_current_span` did.

use std::fmt;
use std::io::Write as _;
use std::sync::OnceLock;

use opentelemetry::trace::TraceContextExt as _;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber, span};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Writes one JSON object per event to `W`.
pub(crate) struct JsonLogLayer<W> {
    writer: W,
    /// The subscriber this layer is part of, to ask the OpenTelemetry layer for span contexts.
    dispatch: OnceLock<tracing::dispatcher::WeakDispatch>,
}

impl<W> JsonLogLayer<W> {
    pub(crate) fn new(writer: W) -> Self {
        JsonLogLayer {
            writer,
            dispatch: OnceLock::new(),
        }
    }
}

/// A span's recorded fields, kept in its extensions.
struct SpanFields(Map<String, Value>);

impl<S, W> Layer<S> for JsonLogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = JsonFields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(SpanFields(fields.0));
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(map)) = extensions.get_mut::<SpanFields>() {
            let mut fields = JsonFields(std::mem::take(map));
            values.record(&mut fields);
            *map = fields.0;
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".to_owned(),
            Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        line.insert(
            "level".to_owned(),
            Value::String(metadata.level().to_string()),
        );
        line.insert(
            "target".to_owned(),
            Value::String(metadata.target().to_owned()),
        );
        let mut fields = JsonFields::default();
        event.record(&mut fields);
        for (key, value) in fields.0 {
            // An event field never hides the line's own keys.
            line.entry(key).or_insert(value);
        }
        if let Some(span) = ctx.event_span(event) {
            line.insert("span".to_owned(), Value::String(span.name().to_owned()));
            let mut span_fields = Map::new();
            for ancestor in span.scope().from_root() {
                if let Some(SpanFields(map)) = ancestor.extensions().get::<SpanFields>() {
                    span_fields.extend(map.clone());
                }
            }
            if !span_fields.is_empty() {
                line.insert("spans".to_owned(), Value::Object(span_fields));
            }
            let id = span.id();
            drop(span);
            if let Some((trace_id, span_id)) = self.otel_ids(&id) {
                line.insert("trace_id".to_owned(), Value::String(trace_id));
                line.insert("span_id".to_owned(), Value::String(span_id));
            }
        }
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        // A log line that cannot be written has nowhere else to go.
        let _ = self.writer.make_writer().write_all(text.as_bytes());
    }
}

impl<W> JsonLogLayer<W> {
    /// The OpenTelemetry trace and span ids of a tracing span, hex-encoded.
    fn otel_ids(&self, id: &span::Id) -> Option<(String, String)> {
        let dispatch = self.dispatch.get()?.upgrade()?;
        let context = tracing_opentelemetry::get_otel_context(id, &dispatch)?;
        let span = context.span();
        let span_context = span.span_context();
        span_context.is_valid().then(|| {
            (
                span_context.trace_id().to_string(),
                span_context.span_id().to_string(),
            )
        })
    }
}

/// Collects fields as JSON values; `message` stays a string.
#[derive(Default)]
struct JsonFields(Map<String, Value>);

impl Visit for JsonFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let value = serde_json::Number::from_f64(value)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(value.to_string()));
        self.0.insert(field.name().to_owned(), value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt as _;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Sink {
        type Writer = Sink;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[allow(clippy::unwrap_used)]
    #[test]
    fn lines_carry_the_otel_trace_and_span_ids() {
        use opentelemetry::trace::TracerProvider as _;
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let sink = Sink::default();
        let subscriber = tracing_subscriber::Registry::default()
            .with(JsonLogLayer::new(sink.clone()))
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        let ids = tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::info_span!("outer", county = "dalarna");
            let _outer = outer.enter();
            let inner = tracing::info_span!("inner", attempt = 2);
            let _inner = inner.enter();
            tracing::info!(count = 3, "hello");
            crate::propagation::trace_id_of_current_span()
        });
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["message"], "hello");
        assert_eq!(line["count"], 3);
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["span"], "inner");
        assert_eq!(line["spans"]["county"], "dalarna");
        assert_eq!(line["spans"]["attempt"], 2);
        assert_eq!(line["trace_id"].as_str().unwrap().len(), 32);
        assert_eq!(line["span_id"].as_str().unwrap().len(), 16);
        if let Some(trace_id) = ids {
            assert_eq!(line["trace_id"], trace_id);
        }
    }
}
