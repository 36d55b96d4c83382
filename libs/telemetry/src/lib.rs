//! Tracing subscriber, OTLP export and W3C trace-context propagation over gRPC metadata and
//! NATS headers.
//!
//! Telemetry in two functions (STYLE.md): [`build_subscriber`] takes its options and its output
//! sink (tests discard logs), [`init_subscriber`] installs the result once. [`init`] does both
//! with stdout for binaries; [`init_for_tests`] does both once per test process.
//!
//! The OpenTelemetry layer is always part of the subscriber, so every span has a trace id that
//! [`propagation`] carries across gRPC calls and NATS messages, whether or not spans are
//! exported. Spans are exported over OTLP/gRPC only when an endpoint is configured.
//!
//! This crate takes its own [`TelemetryOptions`]; it does not read configuration files, and reads
//! the environment only in [`init_for_tests`] (`TEST_LOG`).

mod json_log;
pub mod metrics;
mod options;
pub mod propagation;
mod subscriber;

pub use options::{LogFormat, TelemetryOptions};
pub use subscriber::{
    TelemetryError, TelemetryGuard, build_subscriber, init, init_for_tests, init_subscriber,
};
