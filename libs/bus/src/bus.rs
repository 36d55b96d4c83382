//! The bus contract: what both implementations (NATS JetStream and the in-process bus) promise.
//!
//! - [`EventBus::publish`] returns once the bus has *stored* the message, with its sequence; a
//!   second publish with the same message id inside the duplicate window is not stored again
//!   and is reported as a duplicate.
//! - Consumers are durable and named: their position survives restarts and re-binding.
//! - A fetched [`Delivery`] is acknowledged ([`Delivery::ack`]), negatively acknowledged with a
//!   delay ([`Delivery::nak`]), or terminated ([`Delivery::term`]); one that is none of these
//!   within the consumer's `ack_wait` is delivered again (a crash between delivery and
//!   acknowledgement redelivers). Delivery is at least once.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use hearth_proto::events::v1::{DeadLetter, EventEnvelope};
use prost::Message as _;

use crate::BusError;
use crate::dead_letters::StoredDeadLetter;
use crate::subject::{validate_consumer_name, validate_filter_subject};

/// A message to publish.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The subject, e.g. `hearth.dalarna.family.approved`.
    pub subject: String,
    /// The de-duplication id (`Nats-Msg-Id`); for events, the event id. Empty: no
    /// de-duplication.
    pub msg_id: String,
    /// Headers, e.g. the W3C trace context (`traceparent`, `tracestate`).
    pub headers: BTreeMap<String, String>,
    /// The encoded message.
    pub payload: Vec<u8>,
}

impl fmt::Debug for OutgoingMessage {
    // Never payloads in logs: they may hold (encrypted) personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMessage")
            .field("subject", &self.subject)
            .field("msg_id", &self.msg_id)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// The bus's acknowledgement of a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishAck {
    /// The message's sequence in its stream (for a duplicate: the sequence of the original).
    pub sequence: u64,
    /// Whether the bus had already stored a message with this message id (inside the
    /// duplicate window) and so did not store it again.
    pub duplicate: bool,
}

/// A durable pull consumer to create, or to bind to if it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSpec {
    /// The durable name: `<service>` or `<service>-<qualifier>` (see [`crate::subject`]).
    pub durable_name: String,
    /// The one subject (wildcards allowed) the consumer receives, e.g. `hearth.dalarna.>`.
    pub filter_subject: String,
    /// How long a delivery may stay unacknowledged before it is delivered again.
    pub ack_wait: Duration,
}

impl ConsumerSpec {
    /// Default time to acknowledge a delivery before it is redelivered.
    pub const DEFAULT_ACK_WAIT: Duration = Duration::from_secs(30);

    /// A spec with the default `ack_wait`.
    pub fn new(durable_name: impl Into<String>, filter_subject: impl Into<String>) -> Self {
        Self {
            durable_name: durable_name.into(),
            filter_subject: filter_subject.into(),
            ack_wait: Self::DEFAULT_ACK_WAIT,
        }
    }

    /// Sets `ack_wait`.
    #[must_use]
    pub fn with_ack_wait(mut self, ack_wait: Duration) -> Self {
        self.ack_wait = ack_wait;
        self
    }

    /// Checks the name, the filter and the ack wait.
    pub fn validate(&self) -> Result<(), BusError> {
        validate_consumer_name(&self.durable_name)?;
        validate_filter_subject(&self.filter_subject)?;
        if self.ack_wait < Duration::from_millis(100) {
            return Err(BusError::Invalid(format!(
                "ack_wait {:?} of consumer {} is shorter than 100 ms",
                self.ack_wait, self.durable_name
            )));
        }
        Ok(())
    }
}

/// A publish/subscribe bus with durable consumers and dead letters, for one county.
///
/// Object safe: services hold an `Arc<dyn EventBus>` and do not know which implementation
/// they run on.
#[async_trait]
pub trait EventBus: Send + Sync + fmt::Debug {
    /// The county whose streams this bus uses.
    fn county(&self) -> &str;

    /// `messaging.system` in spans and metrics: `nats`, or `embedded` for the in-process bus.
    fn messaging_system(&self) -> &'static str;

    /// Ticks each time the bus connects to its server again, so that a caller backing off
    /// after [`BusError::Unavailable`] (the outbox relay) can retry at once instead of at the
    /// end of its back-off. `None` (the default): nothing to watch.
    fn reconnections(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }

    /// Creates the county's event and dead-letter streams if they are missing.
    async fn ensure_streams(&self) -> Result<(), BusError>;

    /// Publishes a message and returns once the bus has stored it (or found it a duplicate).
    async fn publish(&self, message: OutgoingMessage) -> Result<PublishAck, BusError>;

    /// Creates the durable consumer, or binds to it if it exists (resuming where it left off).
    async fn consumer(&self, spec: ConsumerSpec) -> Result<Box<dyn EventConsumer>, BusError>;

    /// Publishes a dead letter to `hearth-dlq.<county>.<service>`, the service being the one
    /// of `dead_letter.consumer`. `delivered_msg_id` is the message id of the delivery that
    /// failed (the event id, or a redrive's id); the dead letter's own message id is
    /// `dlq:<consumer>:<delivered_msg_id>` (the event id when `None`), so dead-lettering the
    /// same delivery twice is a duplicate while a redriven event that fails again is a new
    /// dead letter.
    async fn dead_letter(
        &self,
        dead_letter: DeadLetter,
        delivered_msg_id: Option<&str>,
    ) -> Result<PublishAck, BusError>;

    /// The dead letters of a service, oldest first, each with its sequence in the dead-letter
    /// stream.
    async fn dead_letters(&self, service: &str) -> Result<Vec<StoredDeadLetter>, BusError>;

    /// Removes the dead letter with this sequence (from [`EventBus::dead_letters`]) of
    /// `service`; [`BusError::NotFound`] when the service has no dead letter with it (already
    /// removed, or another service's). See [`crate::redrive_dead_letter`], which sends a dead
    /// letter back before removing it.
    async fn remove_dead_letter(&self, service: &str, sequence: u64) -> Result<(), BusError>;
}

/// A bound durable pull consumer.
#[async_trait]
pub trait EventConsumer: Send + Sync {
    /// The durable name.
    fn name(&self) -> &str;

    /// Up to `max` deliveries: those whose acknowledgement is overdue or whose negative
    /// acknowledgement delay has passed, then new messages, oldest first. Returns as soon as
    /// at least one is ready, or empty after `wait`.
    async fn fetch(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError>;

    /// Messages for this consumer it has not acknowledged yet: waiting to be delivered plus
    /// delivered and unsettled.
    async fn lag(&self) -> Result<u64, BusError>;
}

/// How a delivery is settled; implemented by each bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckAction {
    /// Handled: never deliver it again.
    Ack,
    /// Not handled now: deliver it again after the delay (zero: at once).
    Nak(Duration),
    /// Never deliver it again, without having handled it (it went to the dead letters).
    Term,
    /// Still working on it: restart the `ack_wait` clock.
    InProgress,
}

/// Settles deliveries on the bus that delivered them.
#[async_trait]
pub trait Acknowledger: Send + Sync {
    /// Sends the acknowledgement.
    async fn acknowledge(&self, action: AckAction) -> Result<(), BusError>;
}

/// The received parts of a delivery.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DeliveryParts {
    /// The subject it was published on.
    pub subject: String,
    /// Its de-duplication id, if it had one.
    pub msg_id: Option<String>,
    /// Its headers (the message id excluded).
    pub headers: BTreeMap<String, String>,
    /// Its encoded payload.
    pub payload: Vec<u8>,
    /// How many times it has been delivered to this consumer, this time included (1 on the
    /// first delivery).
    pub delivered_count: u32,
    /// Its sequence in the stream.
    pub stream_sequence: u64,
}

/// A message delivered to a consumer, to settle with exactly one of [`ack`](Self::ack),
/// [`nak`](Self::nak) or [`term`](Self::term).
pub struct Delivery {
    parts: DeliveryParts,
    acknowledger: Box<dyn Acknowledger>,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("subject", &self.parts.subject)
            .field("msg_id", &self.parts.msg_id)
            .field("headers", &self.parts.headers.keys().collect::<Vec<_>>())
            .field("payload_len", &self.parts.payload.len())
            .field("delivered_count", &self.parts.delivered_count)
            .field("stream_sequence", &self.parts.stream_sequence)
            .finish()
    }
}

impl Delivery {
    /// A delivery from its parts and the means to settle it (for bus implementations and test
    /// doubles).
    pub fn new(parts: DeliveryParts, acknowledger: Box<dyn Acknowledger>) -> Self {
        Self {
            parts,
            acknowledger,
        }
    }

    /// Its parts and the means to settle it (for decorators that wrap a bus).
    pub fn into_parts(self) -> (DeliveryParts, Box<dyn Acknowledger>) {
        (self.parts, self.acknowledger)
    }

    /// The subject it was published on.
    pub fn subject(&self) -> &str {
        &self.parts.subject
    }

    /// Its de-duplication id, if it had one.
    pub fn msg_id(&self) -> Option<&str> {
        self.parts.msg_id.as_deref()
    }

    /// Its headers (the message id excluded).
    pub fn headers(&self) -> &BTreeMap<String, String> {
        &self.parts.headers
    }

    /// Its encoded payload.
    pub fn payload(&self) -> &[u8] {
        &self.parts.payload
    }

    /// How many times it has been delivered to this consumer, this time included.
    pub fn delivered_count(&self) -> u32 {
        self.parts.delivered_count
    }

    /// Its sequence in the stream.
    pub fn stream_sequence(&self) -> u64 {
        self.parts.stream_sequence
    }

    /// Decodes the payload as an event envelope.
    pub fn envelope(&self) -> Result<EventEnvelope, BusError> {
        EventEnvelope::decode(self.parts.payload.as_slice()).map_err(|error| {
            BusError::Decode(format!(
                "message {} on {} is not an EventEnvelope: {error}",
                self.parts.stream_sequence, self.parts.subject
            ))
        })
    }

    /// Decodes the payload as a dead letter.
    pub fn dead_letter(&self) -> Result<DeadLetter, BusError> {
        DeadLetter::decode(self.parts.payload.as_slice()).map_err(|error| {
            BusError::Decode(format!(
                "message {} on {} is not a DeadLetter: {error}",
                self.parts.stream_sequence, self.parts.subject
            ))
        })
    }

    /// Handled: it is not delivered again.
    pub async fn ack(self) -> Result<(), BusError> {
        self.acknowledger.acknowledge(AckAction::Ack).await
    }

    /// Not handled now: deliver it again after `delay` (zero: at once).
    pub async fn nak(self, delay: Duration) -> Result<(), BusError> {
        self.acknowledger.acknowledge(AckAction::Nak(delay)).await
    }

    /// Never deliver it again (after it was dead-lettered).
    pub async fn term(self) -> Result<(), BusError> {
        self.acknowledger.acknowledge(AckAction::Term).await
    }

    /// Still working on it: restart the `ack_wait` clock.
    pub async fn in_progress(&self) -> Result<(), BusError> {
        self.acknowledger.acknowledge(AckAction::InProgress).await
    }
}
