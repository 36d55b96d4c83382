//! The stage machine of an assessment case: first contact → register checks → interviews and
//! home visits → references → ready for decision → decided. A transition goes to the next stage
//! only; each rule that refuses one is a [`Rule`] with a stable reason.

use super::checks::Coverage;

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    FirstContact,
    RegisterChecks,
    Interviews,
    References,
    ReadyForDecision,
    Decided,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 6] = [
        Stage::FirstContact,
        Stage::RegisterChecks,
        Stage::Interviews,
        Stage::References,
        Stage::ReadyForDecision,
        Stage::Decided,
    ];

    /// The stage after this one; `None` for decided. Deciding is not a transition but a
    /// decision ([`check_decision`]).
    pub fn next(self) -> Option<Stage> {
        match self {
            Stage::FirstContact => Some(Stage::RegisterChecks),
            Stage::RegisterChecks => Some(Stage::Interviews),
            Stage::Interviews => Some(Stage::References),
            Stage::References => Some(Stage::ReadyForDecision),
            Stage::ReadyForDecision | Stage::Decided => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::FirstContact => "first_contact",
            Stage::RegisterChecks => "register_checks",
            Stage::Interviews => "interviews",
            Stage::References => "references",
            Stage::ReadyForDecision => "ready_for_decision",
            Stage::Decided => "decided",
        }
    }

    /// The stage of a stored name.
    pub fn parse(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| stage.as_str() == name)
    }
}

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Approved,
    NotSuitable,
    WithdrawnByFamily,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 3] = [
        Outcome::Approved,
        Outcome::NotSuitable,
        Outcome::WithdrawnByFamily,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approved => "approved",
            Outcome::NotSuitable => "not_suitable",
            Outcome::WithdrawnByFamily => "withdrawn_by_family",
        }
    }

    pub fn parse(name: &str) -> Option<Outcome> {
        Outcome::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == name)
    }

    /// Whether the case's personal data falls under the retention rule (it did not lead to an
    /// approved family).
    pub fn ends_without_approval(self) -> bool {
        self != Outcome::Approved
    }
}

/// What the rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseFacts {
    pub stage: Stage,
    /// Set once the case is decided.
    pub outcome: Option<Outcome>,
    /// Whether a structured method is recorded (or given with the transition).
    pub has_method: bool,
    /// How far the register checks have come.
    pub checks: Coverage,
}

/// A rule that refuses a transition or a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The case is decided (approved or not suitable): nothing moves any more.
    Decided,
    /// The family withdrew: the case is closed.
    Withdrawn,
    /// Only the next stage may be entered.
    NotNext { from: Stage, to: Stage },
    /// Register checks are missing (or, to approve, some could not be made).
    RegisterChecksIncomplete,
    /// Interviews need a structured method.
    MethodMissing,
    /// Approval needs the case ready for decision.
    NotReady { stage: Stage },
}

impl Rule {
    /// The stable reason (`ErrorInfo.reason`).
    pub fn reason(self) -> &'static str {
        match self {
            Rule::Decided => "ASSESSMENT_DECIDED",
            Rule::Withdrawn => "ASSESSMENT_WITHDRAWN",
            Rule::NotNext { .. } => "STAGE_NOT_NEXT",
            Rule::RegisterChecksIncomplete => "REGISTER_CHECKS_INCOMPLETE",
            Rule::MethodMissing => "ASSESSMENT_METHOD_MISSING",
            Rule::NotReady { .. } => "ASSESSMENT_NOT_READY",
        }
    }

    /// What the caller is told.
    pub fn message(self) -> String {
        match self {
            Rule::Decided => "the case is decided; it cannot change any more".to_owned(),
            Rule::Withdrawn => {
                "the family withdrew; the case is closed and cannot be decided".to_owned()
            }
            Rule::NotNext { from, to } => format!(
                "a case in {} can only move to {}, not to {}",
                from.as_str(),
                from.next().map_or("a decision", Stage::as_str),
                to.as_str()
            ),
            Rule::RegisterChecksIncomplete => {
                "every register must be checked for every adult first (and, to approve, each check must have been possible)"
                    .to_owned()
            }
            Rule::MethodMissing => {
                "interviews need a structured method: set `method` first".to_owned()
            }
            Rule::NotReady { stage } => format!(
                "only a case ready for decision can be approved; this one is in {}",
                stage.as_str()
            ),
        }
    }
}

/// The rule a closed case meets, if it is closed.
fn closed(facts: &CaseFacts) -> Option<Rule> {
    match facts.outcome {
        Some(Outcome::WithdrawnByFamily) => Some(Rule::Withdrawn),
        Some(_) => Some(Rule::Decided),
        None if facts.stage == Stage::Decided => Some(Rule::Decided),
        None => None,
    }
}

/// Whether the case may still change (register checks, working fields).
pub fn check_open(facts: &CaseFacts) -> Result<(), Rule> {
    match closed(facts) {
        // A withdrawn case is as closed as a decided one for changes.
        Some(Rule::Withdrawn) => Err(Rule::Decided),
        Some(rule) => Err(rule),
        None => Ok(()),
    }
}

/// Moves a case to `to`, or the rule that refuses it.
pub fn transition(facts: &CaseFacts, to: Stage) -> Result<Stage, Rule> {
    check_open(facts)?;
    if facts.stage.next() != Some(to) {
        return Err(Rule::NotNext {
            from: facts.stage,
            to,
        });
    }
    if facts.stage == Stage::RegisterChecks && !facts.checks.all_recorded {
        return Err(Rule::RegisterChecksIncomplete);
    }
    if to == Stage::Interviews && !facts.has_method {
        return Err(Rule::MethodMissing);
    }
    Ok(to)
}

/// Whether a case may be decided with `outcome`.
pub fn check_decision(facts: &CaseFacts, outcome: Outcome) -> Result<(), Rule> {
    if let Some(rule) = closed(facts) {
        return Err(rule);
    }
    match outcome {
        Outcome::WithdrawnByFamily => Ok(()),
        Outcome::NotSuitable if facts.checks.all_recorded => Ok(()),
        Outcome::NotSuitable => Err(Rule::RegisterChecksIncomplete),
        Outcome::Approved => {
            if !facts.checks.all_recorded || !facts.checks.all_checkable {
                Err(Rule::RegisterChecksIncomplete)
            } else if facts.stage != Stage::ReadyForDecision {
                Err(Rule::NotReady { stage: facts.stage })
            } else {
                Ok(())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const COMPLETE: Coverage = Coverage {
        all_recorded: true,
        all_checkable: true,
    };
    const NONE: Coverage = Coverage {
        all_recorded: false,
        all_checkable: false,
    };

    fn facts(stage: Stage, checks: Coverage) -> CaseFacts {
        CaseFacts {
            stage,
            outcome: None,
            has_method: true,
            checks,
        }
    }

    #[test]
    fn a_case_walks_every_stage_in_order() {
        let mut case = facts(Stage::FirstContact, COMPLETE);
        for expected in &Stage::ALL[1..5] {
            case.stage = transition(&case, *expected).unwrap();
        }
        assert_eq!(case.stage, Stage::ReadyForDecision);
        assert_eq!(check_decision(&case, Outcome::Approved), Ok(()));
    }

    #[test]
    fn each_rule_refuses_with_its_reason() {
        let early = facts(Stage::FirstContact, NONE);
        assert_eq!(
            transition(&early, Stage::Interviews).unwrap_err().reason(),
            "STAGE_NOT_NEXT"
        );
        assert_eq!(
            transition(&facts(Stage::Interviews, COMPLETE), Stage::RegisterChecks)
                .unwrap_err()
                .reason(),
            "STAGE_NOT_NEXT"
        );
        assert_eq!(
            transition(&facts(Stage::RegisterChecks, NONE), Stage::Interviews),
            Err(Rule::RegisterChecksIncomplete)
        );
        let mut without_method = facts(Stage::RegisterChecks, COMPLETE);
        without_method.has_method = false;
        assert_eq!(
            transition(&without_method, Stage::Interviews),
            Err(Rule::MethodMissing)
        );
        assert_eq!(
            check_decision(&facts(Stage::Interviews, NONE), Outcome::NotSuitable),
            Err(Rule::RegisterChecksIncomplete)
        );
        assert_eq!(
            check_decision(&facts(Stage::Interviews, COMPLETE), Outcome::Approved),
            Err(Rule::NotReady {
                stage: Stage::Interviews
            })
        );
        let not_checkable = Coverage {
            all_recorded: true,
            all_checkable: false,
        };
        assert_eq!(
            check_decision(
                &facts(Stage::ReadyForDecision, not_checkable),
                Outcome::Approved
            ),
            Err(Rule::RegisterChecksIncomplete)
        );
        assert_eq!(
            check_decision(
                &facts(Stage::FirstContact, NONE),
                Outcome::WithdrawnByFamily
            ),
            Ok(())
        );
        let mut withdrawn = facts(Stage::Decided, COMPLETE);
        withdrawn.outcome = Some(Outcome::WithdrawnByFamily);
        assert_eq!(
            check_decision(&withdrawn, Outcome::Approved),
            Err(Rule::Withdrawn)
        );
        let mut decided = withdrawn;
        decided.outcome = Some(Outcome::NotSuitable);
        assert_eq!(
            check_decision(&decided, Outcome::Approved),
            Err(Rule::Decided)
        );
        assert_eq!(transition(&withdrawn, Stage::Decided), Err(Rule::Decided));
    }

    #[test]
    fn names_round_trip() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Some(stage));
        }
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
        }
    }

    fn any_stage() -> impl Strategy<Value = Stage> {
        (0..Stage::ALL.len()).prop_map(|index| Stage::ALL[index])
    }

    proptest! {
        /// A transition never skips or goes back, never leaves a decided case, and never
        /// leaves register checks without every check.
        #[test]
        fn transitions_only_go_one_step_forward(
            from in any_stage(),
            to in any_stage(),
            recorded: bool,
            checkable: bool,
            has_method: bool,
        ) {
            let case = CaseFacts {
                stage: from,
                outcome: None,
                has_method,
                checks: Coverage { all_recorded: recorded, all_checkable: checkable },
            };
            if let Ok(next) = transition(&case, to) {
                prop_assert_eq!(Some(next), from.next());
                prop_assert!(from != Stage::RegisterChecks || recorded);
                prop_assert!(next != Stage::Interviews || has_method);
            }
            if check_decision(&case, Outcome::Approved).is_ok() {
                prop_assert!(recorded && checkable && from == Stage::ReadyForDecision);
            }
        }
    }
}
