//! Bad fields, collected: a check records every field it refuses, so the caller can fix them all
//! at once. Pure data: the gRPC adapter (`hearth_rpc`) turns [`Invalid`] into
//! `InvalidArgument` with a `google.rpc.BadRequest`, once, for every service.

use std::fmt;

/// One bad field, named by its path as the client sent it (`placement_request.age_band`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// The violations a check found: what [`Violations::finish`] fails with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub Vec<FieldViolation>);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for violation in &self.0 {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{}: {}", violation.field, violation.description)?;
        }
        Ok(())
    }
}

impl std::error::Error for Invalid {}

/// Collects every bad field of an input before answering. `violations.finish()?` fails with
/// [`Invalid`] if any were found.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Keep the value of a parse, or record its error against `field`.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error.to_string());
                None
            }
        }
    }

    /// A required field that was left unset.
    pub fn required<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.add(field, "is required");
        }
        value
    }

    /// Takes in the violations another check found.
    pub fn extend(&mut self, found: impl IntoIterator<Item = FieldViolation>) {
        self.0.extend(found);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many were found so far: compare before and after a group of checks.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn finish(self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Invalid(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_bad_field_in_order() {
        let mut violations = Violations::new();
        violations.add("placement_request.age_band", "is required");
        let parsed: Option<u32> = violations.check("page_size", "x".parse::<u32>());
        assert!(parsed.is_none());
        assert_eq!(violations.required("sex", None::<u8>), None);
        assert_eq!(violations.len(), 3);
        let Err(invalid) = violations.finish() else {
            panic!("three violations")
        };
        let fields: Vec<&str> = invalid.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["placement_request.age_band", "page_size", "sex"]);
        assert!(
            invalid
                .to_string()
                .starts_with("placement_request.age_band: is required; ")
        );
    }

    #[test]
    fn nothing_found_is_fine() {
        assert_eq!(Violations::new().finish(), Ok(()));
    }
}
