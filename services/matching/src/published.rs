//! The events matching publishes. None yet: `proposal.*` and `placement.*` come with the
//! proposals (the next slice). What it consumes is in `events.rs`.
