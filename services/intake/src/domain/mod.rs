//! Intake's rules, free of I/O and of the wire: who may register as a household, what a
//! placement request may hold and change, and how free text, names, e-mail addresses, phone
//! numbers and postal codes are written. The gRPC adapter (`api/convert/`) checks requests
//! field by field with these rules.

pub mod household;
pub mod request;
pub mod text;
