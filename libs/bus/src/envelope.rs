//! Building and reading event envelopes.

use chrono::{DateTime, Utc};
use prost_types::{Any, Timestamp};

/// The prefix of every payload's type URL.
pub const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

/// An event to write to the outbox; the outbox adds the event id, county, producer, time and
/// trace context.
#[derive(Clone, PartialEq)]
pub struct NewEvent {
    /// `<aggregate>.<event>`, e.g. `family.approved`.
    pub event_type: String,
    /// The aggregate's id (UUIDv7 text form).
    pub aggregate_id: String,
    /// The aggregate's version after this event (1 for its first event).
    pub aggregate_version: u64,
    /// The request (or event) that caused this event.
    pub correlation_id: String,
    /// The payload message, packed with its full type URL (see [`pack_payload`]).
    pub payload: Any,
    /// The payload's schema version for this event type (starts at 1).
    pub schema_version: u32,
    /// When the change happened; `None`: now. Set it from the service's clock to keep time
    /// injectable in tests.
    pub occurred_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for NewEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewEvent")
            .field("event_type", &self.event_type)
            .field("aggregate_id", &self.aggregate_id)
            .field("aggregate_version", &self.aggregate_version)
            .field("correlation_id", &self.correlation_id)
            .field("payload_type", &self.payload.type_url)
            .field("schema_version", &self.schema_version)
            .field("occurred_at", &self.occurred_at)
            .finish()
    }
}

impl NewEvent {
    /// An event with schema version 1, no correlation id, occurring now.
    pub fn new(
        event_type: impl Into<String>,
        aggregate_id: impl Into<String>,
        aggregate_version: u64,
        payload: Any,
    ) -> Self {
        Self {
            event_type: event_type.into(),
            aggregate_id: aggregate_id.into(),
            aggregate_version,
            correlation_id: String::new(),
            payload,
            schema_version: 1,
            occurred_at: None,
        }
    }

    /// Sets the correlation id.
    #[must_use]
    pub fn with_correlation_id(mut self, correlation_id: impl Into<String>) -> Self {
        self.correlation_id = correlation_id.into();
        self
    }

    /// Sets the schema version.
    #[must_use]
    pub fn with_schema_version(mut self, schema_version: u32) -> Self {
        self.schema_version = schema_version;
        self
    }

    /// Sets when the change happened.
    #[must_use]
    pub fn with_occurred_at(mut self, occurred_at: DateTime<Utc>) -> Self {
        self.occurred_at = Some(occurred_at);
        self
    }
}

/// Packs a payload message as `Any` with type URL `type.googleapis.com/<full_type_name>`,
/// e.g. `pack_payload("hearth.events.v1.FamilyApproved", &payload)`.
pub fn pack_payload<M: prost::Message>(full_type_name: &str, message: &M) -> Any {
    Any {
        type_url: format!("{TYPE_URL_PREFIX}{full_type_name}"),
        value: message.encode_to_vec(),
    }
}

/// The full type name in a payload's type URL (`hearth.events.v1.FamilyApproved`).
pub fn payload_type_name(payload: &Any) -> &str {
    payload
        .type_url
        .rsplit_once('/')
        .map_or(payload.type_url.as_str(), |(_, name)| name)
}

/// A protobuf timestamp for a UTC instant.
pub fn timestamp(instant: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: instant.timestamp(),
        nanos: i32::try_from(instant.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// The UTC instant of a protobuf timestamp, if it is in range.
pub fn instant(timestamp: &Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(timestamp.nanos).ok()?;
    DateTime::from_timestamp(timestamp.seconds, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        let now = Utc::now();
        assert_eq!(instant(&timestamp(now)), Some(now));
    }

    #[test]
    fn payloads_carry_their_type() {
        let packed = pack_payload("hearth.events.v1.FamilyApproved", &Timestamp::default());
        assert_eq!(
            packed.type_url,
            "type.googleapis.com/hearth.events.v1.FamilyApproved"
        );
        assert_eq!(
            payload_type_name(&packed),
            "hearth.events.v1.FamilyApproved"
        );
    }
}
