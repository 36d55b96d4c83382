//! The ranking of the pool for one request: every family checked against every hard
//! constraint, the rest scored, best first.
//!
//! One pass over the pool. Per family it allocates nothing that is not returned: failures go
//! into one reused buffer (copied out only for a family that is listed as excluded), and a
//! passing family leaves a small sort key; the top `top_n` are selected in linear time and only
//! they are scored in full. Sentences are built by [`Component::explain`] on demand. The order
//! is total — score descending, then the longest wait, then the family id ascending — so the
//! same pool in any order gives the same list.

use std::cmp::{Ordering, Reverse};

use chrono::NaiveDate;

use super::constraints::{HardConstraint, check};
use super::distance::{Distance, Origin};
use super::pool::{PoolFamily, Request};
use super::score::{Component, Score, Weights, score};

/// What to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankOptions {
    /// Only the best this many candidates; `None` for all.
    pub top_n: Option<usize>,
    /// List the excluded families with every constraint each fails; without it a family's check
    /// stops at its first failure.
    pub include_excluded: bool,
}

impl Default for RankOptions {
    fn default() -> Self {
        Self {
            top_n: None,
            include_excluded: true,
        }
    }
}

/// A family that passes every hard constraint, with its score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub family: &'a PoolFamily,
    /// 1 is best.
    pub rank: usize,
    pub score: Score,
    /// To the requesting municipality's main town; `None` when unknown.
    pub distance: Option<Distance>,
}

impl Candidate<'_> {
    /// The components, largest contribution first.
    pub fn components(&self) -> [Component; 6] {
        self.score.by_points()
    }
}

/// A family that fails at least one hard constraint, with every one it fails (in the order
/// they are checked: availability, age bands, commission kind, capacity, fee, proximity — all
/// of them when `include_excluded` is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded<'a> {
    pub family: &'a PoolFamily,
    pub failures: Vec<HardConstraint>,
}

/// The result of [`rank`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranking<'a> {
    /// Best first, at most `top_n`.
    pub candidates: Vec<Candidate<'a>>,
    /// By family id; empty unless `include_excluded`.
    pub excluded: Vec<Excluded<'a>>,
    /// How many families passed every hard constraint (before `top_n` cut the list).
    pub eligible: usize,
    /// How many families the pool had.
    pub pool_size: usize,
}

/// What the selection sorts by: small, so that a large pool sorts cheaply.
#[derive(Debug, Clone, Copy)]
struct Key<'a> {
    score: i32,
    family: &'a PoolFamily,
    distance: Option<Distance>,
}

/// Higher score first; then the longest wait (the earliest date; a family not waiting after
/// every waiting one); then the family id ascending.
fn order(a: &Key<'_>, b: &Key<'_>) -> Ordering {
    Reverse(a.score)
        .cmp(&Reverse(b.score))
        .then_with(|| waiting_order(a.family.waiting_since, b.family.waiting_since))
        .then_with(|| a.family.id.cmp(&b.family.id))
}

fn waiting_order(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Ranks `pool` for `request` on `on_date` (the day the list is made: waits are counted to it).
pub fn rank<'a>(
    request: &Request,
    pool: &'a [PoolFamily],
    on_date: NaiveDate,
    weights: &Weights,
    options: RankOptions,
) -> Ranking<'a> {
    let origin = request.origin.map(Origin::new);
    let mut failures = Vec::new();
    let mut keys = Vec::new();
    let mut excluded = Vec::new();
    for family in pool {
        failures.clear();
        let distance = check(
            request,
            origin.as_ref(),
            family,
            options.include_excluded,
            &mut failures,
        );
        if failures.is_empty() {
            let total = score(request, family, distance, on_date, weights).total;
            keys.push(Key {
                score: total,
                family,
                distance,
            });
        } else if options.include_excluded {
            excluded.push(Excluded {
                family,
                failures: failures.clone(),
            });
        }
    }
    let eligible = keys.len();
    if let Some(n) = options.top_n
        && n < keys.len()
    {
        if n > 0 {
            keys.select_nth_unstable_by(n - 1, order);
        }
        keys.truncate(n);
    }
    keys.sort_unstable_by(order);
    excluded.sort_unstable_by(|a, b| a.family.id.cmp(&b.family.id));
    let candidates = keys
        .into_iter()
        .enumerate()
        .map(|(index, key)| Candidate {
            family: key.family,
            rank: index + 1,
            score: score(request, key.family, key.distance, on_date, weights),
            distance: key.distance,
        })
        .collect();
    Ranking {
        candidates,
        excluded,
        eligible,
        pool_size: pool.len(),
    }
}
