//! The events assessment publishes: their types and payloads, in one place.
//!
//! Aggregate versions: a case's own events are `family.rejected` (version 1) and, when the
//! retention job erases it, `family.erased` (version 2); a family profile's start with
//! `family.approved` (version 1) and go up by one with each `family.updated` and
//! `family.availability_changed`.

use hearth_rpc::handler::EventKind;

pub const FAMILY_APPROVED: EventKind = EventKind {
    event_type: "family.approved",
    payload_type: "hearth.events.v1.FamilyApproved",
};
pub const FAMILY_REJECTED: EventKind = EventKind {
    event_type: "family.rejected",
    payload_type: "hearth.events.v1.FamilyRejected",
};
pub const FAMILY_UPDATED: EventKind = EventKind {
    event_type: "family.updated",
    payload_type: "hearth.events.v1.FamilyUpdated",
};
pub const FAMILY_AVAILABILITY_CHANGED: EventKind = EventKind {
    event_type: "family.availability_changed",
    payload_type: "hearth.events.v1.FamilyAvailabilityChanged",
};
pub const FAMILY_ERASED: EventKind = EventKind {
    event_type: "family.erased",
    payload_type: "hearth.events.v1.AggregateErased",
};

/// The version of a case's `family.rejected`.
pub const CASE_REJECTED_VERSION: i64 = 1;
/// The version of a case's `family.erased`.
pub const CASE_ERASED_VERSION: i64 = 2;
