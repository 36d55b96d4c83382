//! Intake's rules, free of I/O: what a valid interest registration and placement request are.
//! The gRPC adapter hands requests in and gets either checked drafts or every violation with
//! its field path.

pub mod registration;
pub mod request;
pub mod text;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod proptests;
