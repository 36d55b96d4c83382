//! The matching service over real gRPC, hosted with intake (whose `request.*` events open the
//! requests) and assessment (whose `family.*` events fill the pool), on an injected clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod service;
