//! The allocation crate from the outside: the Dalarna data allocated exactly (domain and the
//! files of the CLI contract), and the service over real gRPC on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Öre are written as kronor and öre (`3_998_600_00`), so that the kronor read at a glance.
#![allow(clippy::inconsistent_digit_grouping)]

mod cases;

use std::path::PathBuf;

/// The project's copy of Dalarna's data (`data/README.md` says where it came from).
pub fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
}

/// Dalarna's twelve members and their annual shares of 3,998,600 SEK by population aged 0–17,
/// in whole kronor, in municipality-code order.
pub const DALARNA_SHARES: [(&str, &str, i64); 12] = [
    ("2021", "Vansbro", 99_372),
    ("2026", "Gagnef", 185_493),
    ("2029", "Leksand", 236_126),
    ("2031", "Rättvik", 141_880),
    ("2034", "Orsa", 94_403),
    ("2039", "Älvdalen", 101_659),
    ("2080", "Falun", 1_005_151),
    ("2081", "Borlänge", 914_849),
    ("2082", "Säter", 180_840),
    ("2083", "Hedemora", 238_965),
    ("2084", "Avesta", 365_230),
    ("2085", "Ludvika", 434_632),
];
