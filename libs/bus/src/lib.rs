//! Hearth's event bus: the publish/subscribe contract, its two implementations (NATS JetStream
//! and the in-process bus), the transactional outbox and its relay, the idempotent inbox and
//! the consumer runtime, and dead letters.
//!
//! How an event travels:
//!
//! ```text
//! request ─▶ service txn ─┬─ state change
//!                         └─ Outbox::enqueue ─▶ hearth_outbox ─▶ OutboxRelay ─▶ EventBus::publish
//!                                                                  (Nats-Msg-Id = event id)
//! EventBus consumer ─▶ Subscription::run ─▶ txn ─┬─ Inbox::record (skip if seen)
//!                                                └─ EventHandler::handle ─▶ commit ─▶ ack
//!                       after N failures ─▶ EventBus::dead_letter ─▶ hearth-dlq.<county>.<service>
//! operator (`hearth dlq redrive`) ─▶ redrive_dead_letter ─▶ original subject, then removed
//! ```
//!
//! Both bus implementations pass one contract test suite (`tests/main.rs`). The database is
//! the source of truth: outbox rows stay after sending (for replay), and consumers' inboxes
//! make redelivery and replay harmless.

mod backoff;
mod bus;
mod dead_letters;
pub mod entities;
mod envelope;
mod error;
mod in_process;
mod inbox;
pub mod metrics;
mod migrations;
mod nats;
mod outbox;
mod relay;
pub mod subject;
mod subscription;

pub use bus::{
    AckAction, Acknowledger, ConsumerSpec, Delivery, DeliveryParts, EventBus, EventConsumer,
    OutgoingMessage, PublishAck,
};
pub use dead_letters::{
    RedriveReport, Redriven, StoredDeadLetter, redrive_dead_letter, redrive_dead_letters,
    redrive_msg_id, select_dead_letters,
};
pub use envelope::{
    NewEvent, TYPE_URL_PREFIX, instant, pack_payload, payload_type_name, timestamp,
};
pub use error::BusError;
pub use hearth_proto::events::v1::{DeadLetter, EventEnvelope};
pub use in_process::{InProcessBus, InProcessConfig};
pub use inbox::Inbox;
pub use migrations::{BusMigrator, migrations};
pub use nats::{NatsAuth, NatsBus, NatsConfig};
pub use outbox::{Backlog, DEFAULT_RETENTION, MAX_ENVELOPE_BYTES, Outbox};
pub use relay::{OutboxRelay, RelayConfig, RelayNotifier, RelayPass};
pub use subject::CountySubjects;
pub use subscription::{EventHandler, HandlerError, RetryPolicy, Subscription, decode_payload};
