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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::constraints::Child;
    use crate::domain::fixtures::{available_from, code, date, family, point, request};
    use crate::domain::pool::{AvailabilityKind, AvailabilityPeriod, Need};
    use hearth_county::GeoPoint;
    use hearth_domain::{AgeBand, CommissionKind};
    use proptest::prelude::*;

    fn on() -> NaiveDate {
        date(2026, 3, 1)
    }

    /// The request of the fixtures on 1 March with the default weights and options.
    fn ranked(pool: &[PoolFamily]) -> Ranking<'_> {
        rank(
            &request(),
            pool,
            on(),
            &Weights::default(),
            RankOptions::default(),
        )
    }

    fn ids<'a>(ranking: &'a Ranking<'_>) -> Vec<&'a str> {
        ranking
            .candidates
            .iter()
            .map(|c| c.family.id.as_str())
            .collect()
    }

    #[test]
    fn candidates_by_score_then_longest_wait_then_id() {
        let mut experienced = family("d");
        experienced.has_earlier_experience = true;
        let mut waited_longer = family("c");
        waited_longer.waiting_since = Some(date(2025, 12, 31)); // same points as 1 January
        let mut not_waiting = family("0");
        not_waiting.waiting_since = None;
        not_waiting.has_earlier_experience = true;
        // Earlier experience (+10) without the course (−10) and no wait points: last.
        not_waiting.basic_course_done = false;
        let pool = vec![
            family("b"),
            family("a"),
            waited_longer,
            experienced,
            not_waiting,
        ];
        let ranking = ranked(&pool);
        let scores: Vec<i32> = ranking.candidates.iter().map(|c| c.score.total).collect();
        assert_eq!(ids(&ranking), vec!["d", "c", "a", "b", "0"], "{scores:?}");
        assert_eq!(
            scores[1], scores[2],
            "c and a tie on points; c waited longer"
        );
        assert_eq!(
            scores[2], scores[3],
            "a and b tie on points and wait; a's id is first"
        );
        let ranks: Vec<usize> = ranking.candidates.iter().map(|c| c.rank).collect();
        assert_eq!(ranks, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_family_not_waiting_comes_after_every_waiting_one_at_equal_points() {
        let mut placed = family("a");
        placed.waiting_since = None;
        let mut waiting = family("b");
        waiting.waiting_since = Some(on()); // 0 wait points, as the placed family
        let pool = vec![placed, waiting];
        let ranking = ranked(&pool);
        assert_eq!(
            ranking.candidates[0].score.total,
            ranking.candidates[1].score.total
        );
        assert_eq!(ids(&ranking), vec!["b", "a"]);
    }

    #[test]
    fn excluded_families_come_with_every_failure_by_id() {
        let mut full = family("z");
        full.capacity = 0;
        full.held_by_proposal = true;
        let mut young = family("y");
        young.age_bands = vec![AgeBand::Age0To6];
        let pool = vec![full, family("a"), young];
        let ranking = ranked(&pool);
        assert_eq!(ids(&ranking), vec!["a"]);
        assert_eq!(ranking.eligible, 1);
        assert_eq!(ranking.pool_size, 3);
        let excluded: Vec<(&str, &[HardConstraint])> = ranking
            .excluded
            .iter()
            .map(|e| (e.family.id.as_str(), e.failures.as_slice()))
            .collect();
        assert_eq!(
            excluded,
            vec![
                (
                    "y",
                    &[HardConstraint::AgeBand {
                        child: Child::Requested,
                        band: AgeBand::Age7To12
                    }][..]
                ),
                (
                    "z",
                    &[
                        HardConstraint::HeldByProposal,
                        HardConstraint::Capacity { free: 0, needed: 1 }
                    ][..]
                ),
            ]
        );
        let without = rank(
            &request(),
            &pool,
            on(),
            &Weights::default(),
            RankOptions {
                include_excluded: false,
                ..RankOptions::default()
            },
        );
        assert!(without.excluded.is_empty());
        assert_eq!(ids(&without), vec!["a"]);
    }

    #[test]
    fn top_n_is_the_head_of_the_whole_list() {
        let pool: Vec<PoolFamily> = (0..30)
            .map(|i| {
                let mut f = family(&format!("f{i:02}"));
                f.waiting_since = Some(date(2025, 1, 1) + chrono::Duration::days(i * 7 % 50));
                f.has_earlier_experience = i % 3 == 0;
                f
            })
            .collect();
        let all = ranked(&pool);
        for n in [0, 1, 5, 29, 30, 31] {
            let top = rank(
                &request(),
                &pool,
                on(),
                &Weights::default(),
                RankOptions {
                    top_n: Some(n),
                    ..RankOptions::default()
                },
            );
            assert_eq!(top.candidates[..], all.candidates[..n.min(30)], "top {n}");
            assert_eq!(top.eligible, 30);
        }
    }

    #[test]
    fn candidates_carry_their_distance_and_explained_components() {
        let mut f = family("a");
        f.position = Some(point(60.4858, 15.4371)); // Borlänge's main town
        let pool = vec![f];
        let ranking = ranked(&pool);
        let candidate = &ranking.candidates[0];
        assert_eq!(candidate.distance.unwrap().rounded_km(), 17);
        let first = candidate.components()[0];
        assert_eq!(
            first.explain().en,
            "The family has experience with 1 of the child's 1 need"
        );
    }

    fn family_strategy() -> impl Strategy<Value = PoolFamily> {
        (
            (
                0u32..4,
                0u32..4,
                proptest::sample::subsequence(AgeBand::ALL.to_vec(), 0..=3),
            ),
            (
                proptest::sample::subsequence(CommissionKind::ALL.to_vec(), 0..=4),
                0usize..4,
            ),
            (
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
            ),
            (
                proptest::option::of(0i64..400),
                proptest::option::of((0i64..120, proptest::option::of(0i64..60))),
                0i64..120,
            ),
            proptest::option::of((-400_000i32..400_000, -400_000i32..400_000)),
            proptest::sample::subsequence(
                vec![Need::Trauma, Need::SchoolProblems, Need::Disability],
                0..=3,
            ),
        )
            .prop_map(
                |(
                    (capacity, placed, bands),
                    (kinds, fee),
                    (course, earlier, left, held, listed),
                    (waited, pause, free_from),
                    offset,
                    needs,
                )| {
                    let mut f = family("");
                    f.capacity = capacity;
                    f.placed_now = placed;
                    f.age_bands = bands;
                    f.commission_kinds = kinds;
                    f.fee_level_rank = fee;
                    f.basic_course_done = course;
                    f.has_earlier_experience = earlier;
                    f.left_pool = left;
                    f.held_by_proposal = held;
                    if !listed {
                        f.home_municipality = code("2081");
                    }
                    f.waiting_since =
                        waited.map(|days| date(2026, 3, 1) - chrono::Duration::days(days));
                    f.availability = vec![available_from(
                        date(2026, 1, 1) + chrono::Duration::days(free_from),
                    )];
                    if let Some((start, length)) = pause {
                        let start = date(2026, 1, 1) + chrono::Duration::days(start);
                        f.availability.push(AvailabilityPeriod {
                            kind: AvailabilityKind::Paused,
                            start,
                            end: length.map(|days| start + chrono::Duration::days(days)),
                        });
                    }
                    f.position = offset.map(|(lat, lon)| GeoPoint {
                        latitude_microdegrees: 60_606_500 + lat,
                        longitude_microdegrees: 15_635_500 + lon,
                    });
                    f.accepted_needs = needs;
                    f
                },
            )
    }

    fn pool_strategy() -> impl Strategy<Value = Vec<PoolFamily>> {
        proptest::collection::vec(family_strategy(), 0..40).prop_map(|mut pool| {
            for (index, f) in pool.iter_mut().enumerate() {
                f.id = format!("{index:03}");
            }
            pool
        })
    }

    fn request_strategy() -> impl Strategy<Value = Request> {
        (
            proptest::sample::subsequence(AgeBand::ALL.to_vec(), 0..=2),
            proptest::option::of(0u32..60),
            any::<bool>(),
            0usize..3,
            0i64..120,
        )
            .prop_map(|(siblings, max_km, listed, max_fee, start)| {
                let mut r = request();
                r.sibling_age_bands = siblings;
                r.proximity.max_distance_km = max_km;
                if listed {
                    r.proximity.acceptable_municipalities = vec![code("2080")];
                }
                r.max_fee_level_rank = max_fee;
                r.wanted_start_date = date(2026, 1, 1) + chrono::Duration::days(start);
                r.needs = vec![Need::Trauma, Need::Disability];
                r
            })
    }

    /// Candidates (id, score, rank) and excluded families (id, failures).
    type Summary = (
        Vec<(String, i32, usize)>,
        Vec<(String, Vec<HardConstraint>)>,
    );

    fn summary(ranking: &Ranking<'_>) -> Summary {
        (
            ranking
                .candidates
                .iter()
                .map(|c| (c.family.id.clone(), c.score.total, c.rank))
                .collect(),
            ranking
                .excluded
                .iter()
                .map(|e| (e.family.id.clone(), e.failures.clone()))
                .collect(),
        )
    }

    proptest! {
        #[test]
        fn the_ranking_is_deterministic_and_ignores_the_pools_order(
            pool in pool_strategy(), r in request_strategy(), seed in any::<u64>(), top in proptest::option::of(0usize..25),
        ) {
            let options = RankOptions { top_n: top, include_excluded: true };
            let first = rank(&r, &pool, on(), &Weights::default(), options);
            let again = rank(&r, &pool, on(), &Weights::default(), options);
            prop_assert_eq!(summary(&first), summary(&again));
            // A permutation of the pool: rotate and reverse by the seed.
            let mut shuffled = pool.clone();
            if !shuffled.is_empty() {
                let len = shuffled.len();
                shuffled.rotate_left(usize::try_from(seed).unwrap_or(0) % len);
            }
            if seed % 2 == 0 {
                shuffled.reverse();
            }
            let permuted = rank(&r, &shuffled, on(), &Weights::default(), options);
            prop_assert_eq!(summary(&first), summary(&permuted));
        }

        #[test]
        fn no_family_failing_a_hard_constraint_is_ever_a_candidate(pool in pool_strategy(), r in request_strategy()) {
            let ranking = rank(&r, &pool, on(), &Weights::default(), RankOptions::default());
            prop_assert_eq!(ranking.candidates.len() + ranking.excluded.len(), pool.len());
            let origin = r.origin.map(Origin::new);
            for candidate in &ranking.candidates {
                let mut failures = Vec::new();
                check(&r, origin.as_ref(), candidate.family, true, &mut failures);
                prop_assert!(failures.is_empty());
                let f = candidate.family;
                prop_assert!(!f.left_pool && !f.held_by_proposal);
                prop_assert!(f.free_capacity() >= r.children());
                prop_assert!(f.fee_level_rank <= r.max_fee_level_rank);
            }
            for excluded in &ranking.excluded {
                prop_assert!(!excluded.failures.is_empty());
            }
            for pair in ranking.candidates.windows(2) {
                prop_assert!(pair[0].score.total >= pair[1].score.total);
            }
        }

        #[test]
        fn free_capacity_never_goes_below_zero(capacity in any::<u32>(), placed in any::<u32>()) {
            let mut f = family("a");
            f.capacity = capacity;
            f.placed_now = placed;
            prop_assert_eq!(f.free_capacity(), capacity.saturating_sub(placed));
            prop_assert!(f.free_capacity() <= capacity);
        }
    }
}
