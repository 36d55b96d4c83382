//! The ranking of the pool for one request (`hearth_matching::domain::rank`, top 20) over
//! synthetic Dalarna pools of 10,000 and 100,000 families, beside its floor in the same run: a
//! plain scan of the same families lowered to small flat structs (bit masks, day numbers), the
//! same hard constraints inline, the same integer score and the top 20 by
//! `select_nth_unstable`. Before timing, both are checked to return the same 20 families with
//! the same scores, so the floor does the same work and nothing more. The summary at the end
//! gives each mean, the ratio to the floor and the growth from 10k to 100k.
//!
//! `cargo bench -p hearth-bench --bench matching` (criterion's options after `--`, e.g.
//! `-- --warm-up-time 1 --measurement-time 5`).

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use criterion::{BenchmarkId, Criterion, Throughput};
use hearth_county::{County, GeoPoint};
use hearth_domain::{AgeBand, CommissionKind};
use hearth_matching::domain::distance::Origin;
use hearth_matching::domain::pool::family_position;
use hearth_matching::domain::{
    AvailabilityKind, AvailabilityPeriod, Need, PoolFamily, Proximity, RankOptions, Request,
    SupportKind, Urgency, Weights, rank,
};

const SIZES: [usize; 2] = [10_000, 100_000];
const TOP: usize = 20;

const NEEDS: [Need; 9] = [
    Need::BehaviouralProblems,
    Need::SubstanceUse,
    Need::Criminality,
    Need::Trauma,
    Need::Disability,
    Need::Neuropsychiatric,
    Need::SchoolProblems,
    Need::MentalHealth,
    Need::Other,
];
const SUPPORT: [SupportKind; 6] = [
    SupportKind::ExtraSupervision,
    SupportKind::ReliefCare,
    SupportKind::TreatmentSupport,
    SupportKind::SchoolSupport,
    SupportKind::LossOfIncomeCompensation,
    SupportKind::Other,
];
const KINDS: [CommissionKind; 3] = [
    CommissionKind::LongTermFosterHome,
    CommissionKind::EmergencyHome,
    CommissionKind::ContactFamily,
];

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

fn on_date() -> NaiveDate {
    day(2026, 12, 1)
}

/// A 64-bit LCG (Knuth's MMIX constants): the same pool on every run and machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }
}

/// A pool of `size` families across Dalarna's members: most open to 0–6, fewer to 13–20;
/// capacities 1–4 with some places taken; positions scattered around the main towns; about one
/// in ten paused, not yet available, held by a proposal or gone from the pool.
fn pool(county: &County, size: usize) -> Vec<PoolFamily> {
    let members = county.members();
    let mut rng = Lcg(0x4845_4152_5448 ^ size as u64);
    let subset = |rng: &mut Lcg, percent: u32, len: usize| -> Vec<usize> {
        (0..len).filter(|_| rng.chance(percent)).collect()
    };
    (0..size)
        .map(|index| {
            let home = &members[rng.below(members.len() as u32) as usize];
            let mut age_bands = Vec::new();
            for (band, percent) in [
                (AgeBand::Age0To6, 75),
                (AgeBand::Age7To12, 50),
                (AgeBand::Age13To20, 20),
            ] {
                if rng.chance(percent) {
                    age_bands.push(band);
                }
            }
            if age_bands.is_empty() {
                age_bands.push(AgeBand::Age0To6);
            }
            let mut commission_kinds: Vec<CommissionKind> = [85, 25, 20]
                .iter()
                .zip(KINDS)
                .filter(|(percent, _)| rng.chance(**percent))
                .map(|(_, kind)| kind)
                .collect();
            if commission_kinds.is_empty() {
                commission_kinds.push(CommissionKind::ContactFamily);
            }
            let capacity = [1, 1, 1, 2, 2, 2, 2, 3, 3, 4][rng.below(10) as usize];
            let placed_now = if rng.chance(55) {
                0
            } else {
                rng.below(capacity + 1)
            };
            // Within ±0.2° of the main town (about ±22 km north–south), or only the town known.
            let own = home
                .main_town
                .filter(|_| rng.chance(70))
                .map(|town| GeoPoint {
                    latitude_microdegrees: town.latitude_microdegrees + rng.below(400_000) as i32
                        - 200_000,
                    longitude_microdegrees: town.longitude_microdegrees + rng.below(400_000) as i32
                        - 200_000,
                });
            let waiting_since = (placed_now == 0 || rng.chance(20))
                .then(|| on_date() - chrono::Days::new(u64::from(rng.below(3 * 365))));
            let available_from = if rng.chance(90) {
                on_date() - chrono::Days::new(u64::from(rng.below(700)))
            } else {
                on_date() + chrono::Days::new(u64::from(40 + rng.below(200)))
            };
            let mut availability = vec![AvailabilityPeriod {
                kind: AvailabilityKind::Available,
                start: available_from,
                end: rng
                    .chance(10)
                    .then(|| available_from + chrono::Days::new(u64::from(rng.below(900)))),
            }];
            if rng.chance(8) {
                let start = on_date() + chrono::Days::new(u64::from(rng.below(60)));
                availability.push(AvailabilityPeriod {
                    kind: AvailabilityKind::Paused,
                    start,
                    end: Some(start + chrono::Days::new(u64::from(10 + rng.below(60)))),
                });
            }
            PoolFamily {
                id: format!("family-{index:07}"),
                capacity,
                placed_now,
                age_bands,
                commission_kinds,
                accepted_needs: subset(&mut rng, 35, NEEDS.len())
                    .into_iter()
                    .map(|i| NEEDS[i])
                    .collect(),
                fee_level_rank: rng.below(4) as usize,
                home_municipality: home.code,
                position: family_position(county, home.code, own),
                basic_course_done: rng.chance(80),
                support_needs: subset(&mut rng, 25, SUPPORT.len())
                    .into_iter()
                    .map(|i| SUPPORT[i])
                    .collect(),
                has_earlier_experience: rng.chance(40),
                waiting_since,
                availability,
                left_pool: rng.chance(3),
                held_by_proposal: rng.chance(5),
            }
        })
        .collect()
}

/// Siblings 7–12 and 0–6 from Falun for a long-term foster home: within 60 km of Falun or in
/// Falun or Borlänge, fee level at most the third, two needs, two kinds of support offered.
fn request(county: &County) -> Request {
    let falun = county
        .members()
        .iter()
        .find(|member| member.name == "Falun")
        .unwrap_or(&county.members()[0]);
    let borlange = county
        .members()
        .iter()
        .find(|member| member.name == "Borlänge")
        .unwrap_or(falun);
    Request {
        age_band: AgeBand::Age7To12,
        sibling_age_bands: vec![AgeBand::Age0To6],
        commission_kind: CommissionKind::LongTermFosterHome,
        needs: vec![Need::Trauma, Need::SchoolProblems],
        max_fee_level_rank: 2,
        proximity: Proximity {
            acceptable_municipalities: vec![falun.code, borlange.code],
            max_distance_km: Some(60),
        },
        origin: falun.main_town,
        wanted_start_date: day(2027, 1, 15),
        offered_support: vec![SupportKind::ExtraSupervision, SupportKind::ReliefCare],
        urgency: Urgency::Soon,
        in_emergency_home_since: None,
    }
}

/// A family lowered to what a hand-written scan would keep: bit masks, day numbers, indices.
#[derive(Clone, Copy)]
struct Plain {
    id: u32,
    free: u32,
    age_bands: u8,
    kinds: u8,
    needs: u16,
    support: u8,
    fee_rank: u8,
    home: u8,
    /// Left the pool or held by a proposal.
    unavailable: bool,
    course: bool,
    experience: bool,
    position: Option<GeoPoint>,
    /// Day numbers; `i32::MAX` for no end; `waiting_since` `i32::MAX` when not waiting.
    available: (i32, i32),
    paused: (i32, i32),
    waiting_since: i32,
}

/// The request lowered the same way.
struct PlainRequest {
    age_bands: u8,
    kind: u8,
    children: u32,
    needs: u16,
    offered: u8,
    max_fee: u8,
    acceptable: u64,
    max_m: Option<u64>,
    origin: Option<Origin>,
    start: i32,
    on: i32,
}

fn days(date: NaiveDate) -> i32 {
    date.signed_duration_since(NaiveDate::MIN).num_days() as i32
}

fn mask<T: PartialEq>(all: &[T], some: &[T]) -> u16 {
    all.iter()
        .enumerate()
        .filter(|(_, item)| some.contains(item))
        .fold(0, |mask, (bit, _)| mask | (1 << bit))
}

fn lower(county: &County, pool: &[PoolFamily], request: &Request) -> (Vec<Plain>, PlainRequest) {
    let member_index = |code| {
        county
            .members()
            .iter()
            .position(|member| member.code == code)
            .unwrap_or(63) as u8
    };
    let period = |family: &PoolFamily, kind| {
        family
            .availability
            .iter()
            .find(|period| period.kind == kind)
            .map_or((i32::MAX, i32::MAX), |period| {
                (days(period.start), period.end.map_or(i32::MAX, days))
            })
    };
    let plain = pool
        .iter()
        .enumerate()
        .map(|(index, family)| Plain {
            id: index as u32,
            free: family.free_capacity(),
            age_bands: mask(&AgeBand::ALL, &family.age_bands) as u8,
            kinds: mask(&KINDS, &family.commission_kinds) as u8,
            needs: mask(&NEEDS, &family.accepted_needs),
            support: mask(&SUPPORT, &family.support_needs) as u8,
            fee_rank: family.fee_level_rank as u8,
            home: member_index(family.home_municipality),
            unavailable: family.left_pool || family.held_by_proposal,
            course: family.basic_course_done,
            experience: family.has_earlier_experience,
            position: family.position,
            available: period(family, AvailabilityKind::Available),
            paused: period(family, AvailabilityKind::Paused),
            waiting_since: family.waiting_since.map_or(i32::MAX, days),
        })
        .collect();
    let mut bands = request.sibling_age_bands.clone();
    bands.push(request.age_band);
    let lowered = PlainRequest {
        age_bands: mask(&AgeBand::ALL, &bands) as u8,
        kind: mask(&KINDS, &[request.commission_kind]) as u8,
        children: request.children(),
        needs: mask(&NEEDS, &request.needs),
        offered: mask(&SUPPORT, &request.offered_support) as u8,
        max_fee: request.max_fee_level_rank as u8,
        acceptable: request
            .proximity
            .acceptable_municipalities
            .iter()
            .fold(0, |acc, code| acc | (1 << member_index(*code))),
        max_m: request
            .proximity
            .max_distance_km
            .map(|km| u64::from(km) * 1000),
        origin: request.origin.map(Origin::new),
        start: days(request.wanted_start_date),
        on: days(on_date()),
    };
    (plain, lowered)
}

/// `weight × part ÷ whole`, rounded down, as the score does it.
fn share(weight: u32, part: u64, whole: u64) -> i32 {
    (u64::from(weight) * part.min(whole))
        .checked_div(whole)
        .map_or(0, |points| points as i32)
}

/// The floor: one scan with the hard constraints inline and the integer score, then the top
/// 20 (score descending, longest wait, id) by `select_nth_unstable`.
fn floor(pool: &[Plain], r: &PlainRequest, w: &Weights) -> Vec<(u32, i32)> {
    let reference_m = u64::from(w.distance_reference_km) * 1000;
    let mut keys: Vec<(Reverse<i32>, i32, u32)> = Vec::new();
    for f in pool {
        if f.unavailable
            || f.age_bands & r.age_bands != r.age_bands
            || f.kinds & r.kind == 0
            || f.free < r.children
            || f.fee_rank > r.max_fee
        {
            continue;
        }
        let metres = r
            .origin
            .zip(f.position)
            .map(|(origin, at)| origin.distance_to(at).metres);
        let near = (r.acceptable == 0 && r.max_m.is_none())
            || r.acceptable & (1 << f.home) != 0
            || r.max_m.zip(metres).is_some_and(|(max, m)| m <= max);
        let paused = f.paused.0 <= r.start && r.start <= f.paused.1;
        let available = f.available.0 <= r.start && r.start <= f.available.1;
        if !near || paused || !available {
            continue;
        }
        let needs = r.needs.count_ones();
        let support = f.support.count_ones();
        let waited = if f.waiting_since == i32::MAX {
            0
        } else {
            (r.on - f.waiting_since).max(0) as u32
        };
        let score = share(
            w.needs_experience,
            u64::from((f.needs & r.needs).count_ones()),
            u64::from(needs),
        ) + metres.map_or(0, |m| {
            share(w.distance, reference_m - m.min(reference_m), reference_m)
        }) + if f.course { w.basic_course as i32 } else { 0 }
            + if support == 0 {
                w.support as i32
            } else {
                share(
                    w.support,
                    u64::from((f.support & r.offered).count_ones()),
                    u64::from(support),
                )
            }
            + if f.experience {
                w.earlier_experience as i32
            } else {
                0
            }
            + share(
                w.waiting,
                u64::from(waited.min(w.waiting_reference_days)),
                u64::from(w.waiting_reference_days),
            );
        keys.push((Reverse(score), f.waiting_since, f.id));
    }
    if keys.len() > TOP {
        keys.select_nth_unstable(TOP - 1);
        keys.truncate(TOP);
    }
    keys.sort_unstable();
    keys.into_iter()
        .map(|(Reverse(score), _, id)| (id, score))
        .collect()
}

fn options() -> RankOptions {
    RankOptions {
        top_n: Some(TOP),
        include_excluded: false,
    }
}

/// Total time and iterations of one benchmark, by pool size and name.
type Times = BTreeMap<(usize, &'static str), (Duration, u64)>;

/// Every benchmark's times, for the summary (criterion keeps its own).
static TIMES: Mutex<Times> = Mutex::new(BTreeMap::new());

fn timed(size: usize, name: &'static str, iters: u64, mut routine: impl FnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        routine();
    }
    let elapsed = started.elapsed();
    if let Ok(mut times) = TIMES.lock() {
        let entry = times.entry((size, name)).or_default();
        entry.0 += elapsed;
        entry.1 += iters;
    }
    elapsed
}

fn ranking(c: &mut Criterion) {
    let county = County::dalarna();
    let weights = Weights::from(county.matching());
    let request = request(&county);
    let mut group = c.benchmark_group("matching");
    for size in SIZES {
        let families = pool(&county, size);
        let (plain, lowered) = lower(&county, &families, &request);
        let ranked = rank(&request, &families, on_date(), &weights, options());
        let expected = floor(&plain, &lowered, &weights);
        let got: Vec<(u32, i32)> = ranked
            .candidates
            .iter()
            .map(|c| (c.family.id[7..].parse().unwrap_or(u32::MAX), c.score.total))
            .collect();
        assert_eq!(got, expected, "the floor must return what rank returns");
        println!(
            "pool {size}: {} eligible, top {} scores {}..{}",
            ranked.eligible,
            got.len(),
            got.first().map_or(0, |c| c.1),
            got.last().map_or(0, |c| c.1),
        );
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::new("rank", size), &size, |b, _| {
            b.iter_custom(|iters| {
                timed(size, "rank", iters, || {
                    black_box(rank(
                        black_box(&request),
                        black_box(&families),
                        on_date(),
                        &weights,
                        options(),
                    ));
                })
            })
        });
        group.bench_with_input(BenchmarkId::new("floor", size), &size, |b, _| {
            b.iter_custom(|iters| {
                timed(size, "floor", iters, || {
                    black_box(floor(black_box(&plain), black_box(&lowered), &weights));
                })
            })
        });
    }
    group.finish();
}

/// Means over every timed iteration (warm-up included), the ratio to the floor and the growth.
fn summary() {
    let Ok(times) = TIMES.lock() else { return };
    let mean = |size, name| {
        times
            .get(&(size, name))
            .filter(|(_, iters)| *iters > 0)
            .map(|(total, iters)| total.as_secs_f64() / *iters as f64)
    };
    println!("\nsummary (mean per call):");
    for size in SIZES {
        if let (Some(ranked), Some(floor)) = (mean(size, "rank"), mean(size, "floor")) {
            println!(
                "  {size:>7} families: rank {:>9.1} µs, floor {:>9.1} µs, rank/floor {:.2}×",
                ranked * 1e6,
                floor * 1e6,
                ranked / floor
            );
        }
    }
    for name in ["rank", "floor"] {
        if let (Some(small), Some(large)) = (mean(SIZES[0], name), mean(SIZES[1], name)) {
            println!(
                "  {name}: {}k → {}k families takes {:.1}× the time",
                SIZES[0] / 1000,
                SIZES[1] / 1000,
                large / small
            );
        }
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    ranking(&mut criterion);
    criterion.final_summary();
    summary();
}
