//! Identifiers.

use uuid::Uuid;

/// A new UUIDv7: time-ordered, so that keyset pagination and B-tree indexes see ids in roughly
/// creation order.
///
/// The timestamp inside comes from `uuid`'s own read of the system time, not from [`Clock`]:
/// it orders rows and decides nothing, so tests do not need to control it.
///
/// [`Clock`]: crate::Clock
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_increase() {
        let first = new_id();
        let second = new_id();
        assert_eq!(first.get_version_num(), 7);
        assert!(second > first);
    }
}
