//! Register checks: one result per register for each adult of a case. Hearth records the
//! results; staff reach the registries.

/// The registers checked for every adult.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Register {
    CriminalRecord,
    EnforcementAuthority,
    SocialServices,
    SocialInsurance,
}

impl Register {
    pub const ALL: [Register; 4] = [
        Register::CriminalRecord,
        Register::EnforcementAuthority,
        Register::SocialServices,
        Register::SocialInsurance,
    ];
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    NoEntries,
    EntriesFound,
    NotCheckable,
}

impl CheckOutcome {
    pub const ALL: [CheckOutcome; 3] = [
        CheckOutcome::NoEntries,
        CheckOutcome::EntriesFound,
        CheckOutcome::NotCheckable,
    ];

    /// Whether a check with this outcome must say in a note what was found and how it was
    /// weighed.
    pub fn needs_note(self) -> bool {
        self == CheckOutcome::EntriesFound
    }
}

/// One recorded check, in the order recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedCheck<'a> {
    pub adult_id: &'a str,
    pub register: Register,
    pub outcome: CheckOutcome,
}

/// How far a case's register checks have come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// Every register has a result for every adult.
    pub all_recorded: bool,
    /// And the latest result of each could be made (none is "could not be checked").
    pub all_checkable: bool,
}

/// The coverage of `checks` (oldest first) over every register of every adult.
pub fn coverage(adult_ids: &[String], checks: &[RecordedCheck<'_>]) -> Coverage {
    let mut all_recorded = !adult_ids.is_empty();
    let mut all_checkable = all_recorded;
    for adult in adult_ids {
        for register in Register::ALL {
            let latest = checks
                .iter()
                .rev()
                .find(|check| check.adult_id == adult && check.register == register);
            match latest {
                None => {
                    all_recorded = false;
                    all_checkable = false;
                }
                Some(check) if check.outcome == CheckOutcome::NotCheckable => {
                    all_checkable = false;
                }
                Some(_) => {}
            }
        }
    }
    Coverage {
        all_recorded,
        all_checkable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_register_of_every_adult_counts() {
        let adults = vec!["a".to_owned(), "b".to_owned()];
        let mut checks: Vec<RecordedCheck<'_>> = Register::ALL
            .iter()
            .map(|register| RecordedCheck {
                adult_id: "a",
                register: *register,
                outcome: CheckOutcome::NoEntries,
            })
            .collect();
        assert!(!coverage(&adults, &checks).all_recorded);
        checks.extend(Register::ALL.iter().map(|register| RecordedCheck {
            adult_id: "b",
            register: *register,
            outcome: CheckOutcome::EntriesFound,
        }));
        assert_eq!(
            coverage(&adults, &checks),
            Coverage {
                all_recorded: true,
                all_checkable: true
            }
        );
        checks.push(RecordedCheck {
            adult_id: "b",
            register: Register::SocialInsurance,
            outcome: CheckOutcome::NotCheckable,
        });
        assert_eq!(
            coverage(&adults, &checks),
            Coverage {
                all_recorded: true,
                all_checkable: false
            }
        );
        // A later check that could be made replaces it.
        checks.push(RecordedCheck {
            adult_id: "b",
            register: Register::SocialInsurance,
            outcome: CheckOutcome::NoEntries,
        });
        assert!(coverage(&adults, &checks).all_checkable);
        assert!(!coverage(&[], &checks).all_recorded);
    }
}
