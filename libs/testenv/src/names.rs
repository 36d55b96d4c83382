//! Unique names, so that tests sharing one server never see each other's streams, consumers or
//! databases.

use rand::Rng;

/// A county slug no other test uses: `t` followed by ten random lower-case letters (valid in
/// subjects, stream names and database names; 26^10 ≈ 1.4e14 possibilities).
pub fn unique_county() -> String {
    unique_name("t", 10)
}

/// `prefix` followed by `letters` random lower-case ASCII letters.
pub fn unique_name(prefix: &str, letters: usize) -> String {
    let mut rng = rand::thread_rng();
    let mut name = String::with_capacity(prefix.len() + letters);
    name.push_str(prefix);
    for _ in 0..letters {
        name.push(char::from(rng.gen_range(b'a'..=b'z')));
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_counties_are_lower_case_and_differ() {
        let first = unique_county();
        let second = unique_county();
        assert_eq!(first.len(), 11);
        assert!(first.starts_with('t'));
        assert!(first.chars().all(|c| c.is_ascii_lowercase()));
        assert_ne!(first, second);
    }
}
