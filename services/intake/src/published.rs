//! The events intake publishes: their types and payload messages, in one place. The application
//! layer writes them (`hearth_rpc::handler::publish`); other services consume them.

use hearth_rpc::handler::EventKind;

pub const INTEREST_REGISTERED: EventKind = EventKind {
    event_type: "interest.registered",
    payload_type: "hearth.events.v1.InterestRegistered",
};
pub const INTEREST_UPDATED: EventKind = EventKind {
    event_type: "interest.updated",
    payload_type: "hearth.events.v1.InterestRegistrationUpdated",
};
pub const INTEREST_WITHDRAWN: EventKind = EventKind {
    event_type: "interest.withdrawn",
    payload_type: "hearth.events.v1.InterestRegistrationWithdrawn",
};
pub const REQUEST_OPENED: EventKind = EventKind {
    event_type: "request.opened",
    payload_type: "hearth.events.v1.PlacementRequestOpened",
};
pub const REQUEST_UPDATED: EventKind = EventKind {
    event_type: "request.updated",
    payload_type: "hearth.events.v1.PlacementRequestUpdated",
};
pub const REQUEST_WITHDRAWN: EventKind = EventKind {
    event_type: "request.withdrawn",
    payload_type: "hearth.events.v1.PlacementRequestWithdrawn",
};
