//! The assessment service over real gRPC, hosted with intake (whose `interest.*` events open
//! and end cases), on an injected clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod service;
