//! The edge between the wire and intake's rules: request messages checked field by field into
//! what intake stores and publishes, with every bad field named as the client sent it.

pub mod registration;
pub mod request;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod proptests;
