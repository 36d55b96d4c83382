//! The needs of a child and the kinds of support a home may get: the vocabulary that intake's
//! requests (on the wire), assessment's profiles and matching's ranking share, so that "experience with the
//! child's needs" and "support offered against support needed" compare the same values.

/// A need of a child (in a request), or one a family is judged able to meet (in a profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Need {
    /// Beteendeproblem.
    BehaviouralProblems,
    /// Missbruk.
    SubstanceUse,
    /// Kriminalitet.
    Criminality,
    /// Trauma.
    Trauma,
    /// Funktionsnedsättning.
    Disability,
    /// Neuropsykiatrisk diagnos (ADHD, autism).
    Neuropsychiatric,
    /// Skolproblem.
    SchoolProblems,
    /// Psykisk ohälsa.
    MentalHealth,
    /// Annat, described in free text beside it.
    Other,
}

/// A kind of support a municipality offers a home, or that a family says it will need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SupportKind {
    /// Extra handledning.
    ExtraSupervision,
    /// Avlastning.
    ReliefCare,
    /// Stöd från behandlingsteam.
    TreatmentSupport,
    /// Stöd i skolan.
    SchoolSupport,
    /// Ersättning för förlorad arbetsinkomst.
    LossOfIncomeCompensation,
    /// Annat.
    Other,
}
