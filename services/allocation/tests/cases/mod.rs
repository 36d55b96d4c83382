//! The test modules (in a folder, so that cargo builds one test binary: `tests/main.rs`).

mod dalarna;
mod placements;
mod service;
