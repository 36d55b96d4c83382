//! The events allocation publishes (through the outbox, in the transaction of the change).

use hearth_rpc::handler::EventKind;

/// A run stored: its total and each member's share with its invoice.
pub const ALLOCATION_COMPLETED: EventKind = EventKind {
    event_type: "allocation.completed",
    payload_type: "hearth.events.v1.AllocationCompleted",
};
