//! Dead letters as bus messages, the same on both implementations, and sending them back
//! (redrive) once the cause is fixed.
//!
//! A dead letter's message id is `dlq:<consumer>:<id of the failed delivery>`: the delivery's id
//! is the event id for events from the outbox and `redrive:<consumer>:<event id>:<dead-letter
//! sequence>` for a redriven one. So dead-lettering the same delivery twice (after a crash
//! between publishing the dead letter and terminating the delivery) is a duplicate inside the
//! duplicate window, while a redriven event that fails again becomes a new dead letter — it is
//! never swallowed by the de-duplication of its first one.
//!
//! Redrive ([`redrive_dead_letter`]) republishes the dead letter's event on its original
//! subject under a message id of its own (the event id is inside the duplicate window of the
//! first publish, or the first dead letter's), then removes the dead letter. Every consumer of
//! that subject receives the event again; those that applied it skip it by their inbox, so only
//! the consumer that failed applies it. A crash between the publish and the removal leaves the
//! dead letter in place; redriving it again publishes under the same message id (a duplicate
//! inside the window, skipped by the inboxes after it).

use std::collections::BTreeSet;
use std::fmt;

use hearth_proto::events::v1::{DeadLetter, EventEnvelope};
use prost::Message as _;
use tracing::Instrument as _;

use crate::BusError;
use crate::bus::{EventBus, OutgoingMessage, PublishAck};
use crate::subject::{CountySubjects, service_of_consumer, subject_matches, validate_service};

/// A dead letter as the bus keeps it: the letter, and its sequence in the county's dead-letter
/// stream (what [`EventBus::remove_dead_letter`] takes).
#[derive(Clone, PartialEq)]
pub struct StoredDeadLetter {
    /// Its sequence in the dead-letter stream (`HEARTH_<COUNTY>_DLQ`, or the embedded log).
    pub sequence: u64,
    /// The dead letter: the event, the consumer, the error, the attempts.
    pub letter: DeadLetter,
}

impl StoredDeadLetter {
    /// The event it holds; `None` when the delivered message was not a valid event envelope
    /// (such a dead letter cannot be redriven: only its error and subject were kept).
    pub fn event(&self) -> Option<&EventEnvelope> {
        self.letter
            .event
            .as_ref()
            .filter(|event| !event.event_id.is_empty())
    }

    /// The event id, or `""` for a dead letter without an event.
    pub fn event_id(&self) -> &str {
        self.event().map_or("", |event| event.event_id.as_str())
    }
}

impl fmt::Debug for StoredDeadLetter {
    // Never payloads in logs: they may hold (encrypted) personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredDeadLetter")
            .field("sequence", &self.sequence)
            .field("consumer", &self.letter.consumer)
            .field("event_id", &self.event_id())
            .field(
                "event_type",
                &self.event().map(|event| event.event_type.as_str()),
            )
            .field("attempts", &self.letter.attempts)
            .field("original_subject", &self.letter.original_subject)
            .finish_non_exhaustive()
    }
}

/// What redriving one dead letter did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redriven {
    /// The consumer that had failed.
    pub consumer: String,
    /// The event sent back.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// The subject it was published on again (its original subject).
    pub subject: String,
    /// The message id of the new publish: `redrive:<consumer>:<event id>:<dead-letter sequence>`.
    pub msg_id: String,
    /// The dead letter's sequence (now removed).
    pub dead_letter_sequence: u64,
    /// The bus's acknowledgement of the new publish (a duplicate when this dead letter had
    /// been redriven before, inside the duplicate window, without being removed).
    pub ack: PublishAck,
}

/// What [`redrive_dead_letters`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RedriveReport {
    /// The dead letters sent back (and removed), oldest first.
    pub redriven: Vec<Redriven>,
    /// Dead letters without an event (malformed messages), which cannot be sent back and stay.
    pub without_event: Vec<StoredDeadLetter>,
}

/// The message that carries `dead_letter` to `hearth-dlq.<county>.<service>`, with the message
/// id `dlq:<consumer>:<delivered message id>` (see the module documentation).
pub(crate) fn dead_letter_message(
    subjects: &CountySubjects,
    dead_letter: &DeadLetter,
    delivered_msg_id: Option<&str>,
) -> Result<OutgoingMessage, BusError> {
    let subject = subjects.dead_letter(service_of_consumer(&dead_letter.consumer))?;
    let source = delivered_msg_id
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            dead_letter
                .event
                .as_ref()
                .filter(|event| !event.event_id.is_empty())
                .map(|event| event.event_id.clone())
        })
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    Ok(OutgoingMessage {
        subject,
        msg_id: format!("dlq:{}:{source}", dead_letter.consumer),
        headers: hearth_telemetry::propagation::current_trace_headers(),
        payload: dead_letter.encode_to_vec(),
    })
}

/// Decodes a stored dead letter.
pub(crate) fn decode_dead_letter(
    payload: &[u8],
    sequence: u64,
) -> Result<StoredDeadLetter, BusError> {
    DeadLetter::decode(payload)
        .map(|letter| StoredDeadLetter { sequence, letter })
        .map_err(|error| {
            BusError::Decode(format!(
                "dead-letter message {sequence} is not a DeadLetter: {error}"
            ))
        })
}

/// The message id a redrive of `letter` publishes under:
/// `redrive:<consumer>:<event id>:<dead-letter sequence>`. Distinct from the event id (which
/// may still be inside the duplicate window) and from every other redrive, yet the same when
/// the same dead letter is redriven twice.
pub fn redrive_msg_id(letter: &StoredDeadLetter) -> String {
    format!(
        "redrive:{}:{}:{}",
        letter.letter.consumer,
        letter.event_id(),
        letter.sequence
    )
}

/// The dead letters of `service` to send back: all of them when `event_ids` is empty, else
/// those holding one of these events (several consumers of the service may have failed the
/// same event). An id that no dead letter of the service holds is a [`BusError::NotFound`]
/// naming it, before anything is sent.
pub async fn select_dead_letters(
    bus: &dyn EventBus,
    service: &str,
    event_ids: &[String],
) -> Result<Vec<StoredDeadLetter>, BusError> {
    validate_service(service)?;
    let letters = bus.dead_letters(service).await?;
    if event_ids.is_empty() {
        return Ok(letters);
    }
    if event_ids.iter().any(String::is_empty) {
        return Err(BusError::Invalid(
            "an event id to redrive is empty".to_owned(),
        ));
    }
    let wanted: BTreeSet<&str> = event_ids.iter().map(String::as_str).collect();
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|id| !letters.iter().any(|letter| letter.event_id() == *id))
        .collect();
    if !missing.is_empty() {
        return Err(BusError::NotFound(format!(
            "no dead letter of service {service} holds event id {}",
            missing.join(", ")
        )));
    }
    Ok(letters
        .into_iter()
        .filter(|letter| wanted.contains(letter.event_id()))
        .collect())
}

/// Sends one dead letter of `service` back: republishes its event on its original subject
/// under [`redrive_msg_id`], then removes the dead letter. A dead letter without an event
/// (a malformed message) is refused with [`BusError::Invalid`] and stays.
pub async fn redrive_dead_letter(
    bus: &dyn EventBus,
    service: &str,
    letter: &StoredDeadLetter,
) -> Result<Redriven, BusError> {
    validate_service(service)?;
    if service_of_consumer(&letter.letter.consumer) != service {
        return Err(BusError::Invalid(format!(
            "dead letter {} belongs to consumer {}, not to service {service}",
            letter.sequence, letter.letter.consumer
        )));
    }
    let Some(event) = letter.event() else {
        return Err(BusError::Invalid(format!(
            "dead letter {} of consumer {} holds no event (the message was malformed: {}); \
             it cannot be sent back",
            letter.sequence, letter.letter.consumer, letter.letter.error
        )));
    };
    let subjects = CountySubjects::new(bus.county())?;
    let subject = if letter.letter.original_subject.is_empty() {
        subjects.event(&event.event_type)?
    } else {
        letter.letter.original_subject.clone()
    };
    if !subject_matches(&subjects.all_events(), &subject) {
        return Err(BusError::Invalid(format!(
            "dead letter {} names subject {subject}, outside the county's events",
            letter.sequence
        )));
    }
    let msg_id = redrive_msg_id(letter);
    let span = tracing::info_span!(
        "dlq.redrive",
        consumer = %letter.letter.consumer,
        event_type = %event.event_type,
        event_id = %event.event_id,
        dead_letter_sequence = letter.sequence,
    );
    async {
        let ack = bus
            .publish(OutgoingMessage {
                subject: subject.clone(),
                msg_id: msg_id.clone(),
                headers: hearth_telemetry::propagation::current_trace_headers(),
                payload: event.encode_to_vec(),
            })
            .await?;
        // Removed only after the bus stored the event again: a failure in between leaves the
        // dead letter, and redriving it again is harmless.
        bus.remove_dead_letter(service, letter.sequence).await?;
        tracing::info!(
            sequence = ack.sequence,
            duplicate = ack.duplicate,
            "dead letter redriven"
        );
        Ok(Redriven {
            consumer: letter.letter.consumer.clone(),
            event_id: event.event_id.clone(),
            event_type: event.event_type.clone(),
            subject,
            msg_id,
            dead_letter_sequence: letter.sequence,
            ack,
        })
    }
    .instrument(span)
    .await
}

/// Sends the selected dead letters of `service` back ([`select_dead_letters`], then
/// [`redrive_dead_letter`] for each, oldest first); dead letters without an event are left and
/// reported. Stops at the first failure: what was redriven before it stays redriven.
pub async fn redrive_dead_letters(
    bus: &dyn EventBus,
    service: &str,
    event_ids: &[String],
) -> Result<RedriveReport, BusError> {
    let mut report = RedriveReport::default();
    for letter in select_dead_letters(bus, service, event_ids).await? {
        if letter.event().is_none() {
            report.without_event.push(letter);
            continue;
        }
        report
            .redriven
            .push(redrive_dead_letter(bus, service, &letter).await?);
    }
    Ok(report)
}
