//! A sentence for staff in Swedish and English: the unit works in Swedish, the code and the
//! docs in English, and an explanation that exists in only one of them cannot be checked by
//! both.

use std::fmt;

/// One plain-language sentence, Swedish first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    pub sv: String,
    pub en: String,
}

impl Sentence {
    pub fn new(sv: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            sv: sv.into(),
            en: en.into(),
        }
    }
}

impl fmt::Display for Sentence {
    /// `svenska / English`, for logs of rules (never of people) and test failures.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.sv, self.en)
    }
}

/// `1 day` / `2 days`, `1 dag` / `2 dagar`: the caller gives both forms.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}
