//! Matching's rules, free of I/O: who in the pool can take a request's child (the hard
//! constraints, every one a family fails), how the rest rank (integer points from named
//! components, each explained in Swedish and English), the proposal's answer window and the
//! order of the unit's work list.
//!
//! Pure on purpose: the ranking must be reproducible and explainable ("why this family, why not
//! that one?") so that every municipality can see the pool is shared on equal terms, and a pure
//! function over the read model is what a test, a benchmark and an auditor can all run. The
//! read models (from `family.*` and `request.*` events), the RPCs and the stored proposals come
//! in later slices; until then every RPC of the service answers `Unimplemented`.

pub mod constraints;
pub mod distance;
pub mod pool;
pub mod rank;
pub mod score;
pub mod text;
pub mod window;
pub mod worklist;

#[cfg(test)]
mod fixtures;

pub use constraints::{Child, ConstraintKind, HardConstraint};
pub use distance::Distance;
pub use pool::{
    AvailabilityKind, AvailabilityPeriod, Need, PoolFamily, Proximity, Request, SupportKind,
    Urgency,
};
pub use rank::{Candidate, Excluded, RankOptions, Ranking, rank};
pub use score::{Component, ComponentKind, Weights};
pub use text::Sentence;
