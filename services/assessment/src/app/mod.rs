//! The application layer: what the gRPC handlers, the event handlers and the retention job do
//! alike (open and decide cases, create, change and close profiles, erase expired cases), on
//! the store, with the domain's rules, sealing, auditing and publishing (`published`).
//! `convert` turns domain values into the messages sealed, stored and published.

pub mod cases;
pub mod convert;
pub mod profiles;
pub mod retention;
