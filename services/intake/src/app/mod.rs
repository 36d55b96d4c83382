//! Intake's application layer: what the gRPC handlers and the event consumers both do.

pub mod requests;
