//! The edge between the wire and intake's rules: request messages checked field by field into
//! what intake stores and publishes, with every bad field named as the client sent it.

pub mod registration;
pub mod request;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod proptests;

use hearth_proto::convert;
use hearth_rpc::Violations;

/// A `TimeRange` filter's ends; violations against `field`.
pub fn check_time_range(
    range: Option<&hearth_proto::common::v1::TimeRange>,
    field: &str,
    violations: &mut Violations,
) -> (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
) {
    let Some(range) = range else {
        return (None, None);
    };
    let mut end = |value: Option<&prost_types::Timestamp>, name: &str| {
        value.and_then(|value| {
            let parsed = convert::timestamp(value);
            if parsed.is_none() {
                violations.add(format!("{field}.{name}"), "is not a valid timestamp");
            }
            parsed
        })
    };
    let from = end(range.start_time.as_ref(), "start_time");
    let to = end(range.end_time.as_ref(), "end_time");
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        violations.add(format!("{field}.end_time"), "must be later than start_time");
    }
    (from, to)
}
