//! End-to-end: all six services hosted together, called over real gRPC, on the embedded
//! backends always and on PostgreSQL + NATS JetStream when the environment provides them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod intake_events;
mod platform;
mod tracing;
