//! Timing, the assessment KPI: calendar days (Europe/Stockholm) from the interest registration,
//! the time limit, and distributions of days.

use chrono::{DateTime, NaiveDate, Utc};

/// Calendar days from the registration's date to `date` (0 on the same day, never negative).
pub fn days_between(received_at: DateTime<Utc>, date: NaiveDate) -> u32 {
    let received = hearth_domain::stockholm::stockholm_date(received_at);
    u32::try_from((date - received).num_days()).unwrap_or(0)
}

/// Whether an open case received at `received_at` is over a limit of `limit_days` on `today`.
pub fn over_time_limit(received_at: DateTime<Utc>, today: NaiveDate, limit_days: u32) -> bool {
    days_between(received_at, today) > limit_days
}

/// The first instant of the day a case must have been received before to be over the limit on
/// `today` (for a query: `received_at < cutoff`).
pub fn over_time_limit_cutoff(today: NaiveDate, limit_days: u32) -> DateTime<Utc> {
    let date = today
        .checked_sub_days(chrono::Days::new(u64::from(limit_days)))
        .unwrap_or(NaiveDate::MIN);
    hearth_domain::stockholm::stockholm_day_start(date)
}

/// Count, median, 90th percentile and maximum of a set of day counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Distribution {
    pub count: u32,
    /// The lower middle value for an even count.
    pub median: u32,
    /// Nearest rank.
    pub p90: u32,
    pub max: u32,
}

impl Distribution {
    pub fn of(mut days: Vec<u32>) -> Distribution {
        if days.is_empty() {
            return Distribution::default();
        }
        days.sort_unstable();
        let count = days.len();
        let rank = |percent: usize| {
            // Nearest rank: the smallest value with at least `percent` % at or below it.
            let position = (percent * count).div_ceil(100).max(1);
            days[position - 1]
        };
        Distribution {
            count: u32::try_from(count).unwrap_or(u32::MAX),
            median: rank(50),
            p90: rank(90),
            max: days[count - 1],
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn days_count_stockholm_dates() {
        // 23:30 UTC on 31 January is already 1 February in Stockholm.
        let received: DateTime<Utc> = "2026-01-31T23:30:00Z".parse().unwrap();
        assert_eq!(days_between(received, "2026-02-01".parse().unwrap()), 0);
        assert_eq!(days_between(received, "2026-03-01".parse().unwrap()), 28);
        assert!(!over_time_limit(
            received,
            "2026-03-01".parse().unwrap(),
            28
        ));
        assert!(over_time_limit(received, "2026-03-02".parse().unwrap(), 28));
        let cutoff = over_time_limit_cutoff("2026-03-02".parse().unwrap(), 28);
        assert!(received < cutoff);
        assert!(cutoff <= "2026-02-01T23:00:00Z".parse::<DateTime<Utc>>().unwrap());
    }

    #[test]
    fn distributions() {
        assert_eq!(Distribution::of(vec![]), Distribution::default());
        assert_eq!(
            Distribution::of(vec![30, 10, 20, 40]),
            Distribution {
                count: 4,
                median: 20,
                p90: 40,
                max: 40
            }
        );
        let hundred: Vec<u32> = (1..=100).collect();
        let spread = Distribution::of(hundred);
        assert_eq!((spread.median, spread.p90, spread.max), (50, 90, 100));
    }

    proptest! {
        #[test]
        fn percentiles_are_ordered_members(days in proptest::collection::vec(0_u32..1000, 1..50)) {
            let found = Distribution::of(days.clone());
            prop_assert!(found.median <= found.p90 && found.p90 <= found.max);
            prop_assert!(days.contains(&found.median) && days.contains(&found.p90));
            prop_assert_eq!(found.count as usize, days.len());
        }

        #[test]
        fn over_the_limit_matches_the_cutoff(
            seconds in 1_600_000_000_i64..1_900_000_000,
            limit in 1_u32..400,
            later in 0_u32..800,
        ) {
            let received = DateTime::from_timestamp(seconds, 0).unwrap();
            let today = hearth_domain::stockholm::stockholm_date(received)
                .checked_add_days(chrono::Days::new(u64::from(later)))
                .unwrap();
            prop_assert_eq!(
                over_time_limit(received, today, limit),
                received < over_time_limit_cutoff(today, limit)
            );
        }
    }
}
