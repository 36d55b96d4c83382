//! Dead letters as bus messages, the same on both implementations.

use hearth_proto::events::v1::DeadLetter;
use prost::Message as _;

use crate::BusError;
use crate::bus::OutgoingMessage;
use crate::subject::{CountySubjects, service_of_consumer};

/// The message that carries `dead_letter` to `hearth-dlq.<county>.<service>`. Its message id
/// (`dlq:<consumer>:<event id>`) makes a retried dead-lettering (after a crash between
/// publishing it and terminating the delivery) a duplicate inside the duplicate window.
pub(crate) fn dead_letter_message(
    subjects: &CountySubjects,
    dead_letter: &DeadLetter,
) -> Result<OutgoingMessage, BusError> {
    let subject = subjects.dead_letter(service_of_consumer(&dead_letter.consumer))?;
    let msg_id = match &dead_letter.event {
        Some(event) if !event.event_id.is_empty() => {
            format!("dlq:{}:{}", dead_letter.consumer, event.event_id)
        }
        _ => format!("dlq:{}:{}", dead_letter.consumer, uuid::Uuid::now_v7()),
    };
    Ok(OutgoingMessage {
        subject,
        msg_id,
        headers: hearth_telemetry::propagation::current_trace_headers(),
        payload: dead_letter.encode_to_vec(),
    })
}

/// Decodes a stored dead letter.
pub(crate) fn decode_dead_letter(payload: &[u8], sequence: u64) -> Result<DeadLetter, BusError> {
    DeadLetter::decode(payload).map_err(|error| {
        BusError::Decode(format!(
            "dead-letter message {sequence} is not a DeadLetter: {error}"
        ))
    })
}
