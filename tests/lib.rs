//! End-to-end tests of Hearth live in `main.rs` (one test binary); this library is empty.
