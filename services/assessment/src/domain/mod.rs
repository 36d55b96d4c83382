//! Assessment's rules, free of I/O: the stage machine of a case and what each transition and
//! decision needs, the coverage of register checks, timing (days, distributions, the time
//! limit) and what a valid family profile is. The gRPC adapter and the event handlers hand
//! facts in and get a decision or the rule that refuses it.

pub mod checks;
pub mod profile;
pub mod stage;
pub mod timing;
