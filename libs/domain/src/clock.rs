//! The clock, injected wherever time matters so that tests can set it.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::stockholm::stockholm_date;

/// Where "now" comes from. Services take an `Arc<dyn Clock>`; production passes
/// [`SystemClock`], tests a [`FixedClock`] they move by hand (a proposal that lapses after
/// 14 days is tested without waiting 14 days).
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant, in UTC.
    fn now_utc(&self) -> DateTime<Utc>;

    /// Today's date in Stockholm, the date that calendar rules count in.
    fn today_stockholm(&self) -> NaiveDate {
        stockholm_date(self.now_utc())
    }
}

/// The real clock: the only place in Hearth that reads the system time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_utc(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told otherwise. Clones share the same time, so a test keeps
/// one clone and moves the time under the service that holds the other.
#[derive(Debug, Clone)]
pub struct FixedClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl FixedClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(now)),
        }
    }

    /// Sets the time (for every clone).
    pub fn set(&self, now: DateTime<Utc>) {
        // A poisoned lock only means another test thread panicked; the time is still valid.
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Moves the time forward (or back, with a negative delta).
    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now_utc(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn fixed_clock_is_shared_between_clones() {
        let clock = FixedClock::new(utc("2026-01-14T12:00:00Z"));
        let held_by_service: Arc<dyn Clock> = Arc::new(clock.clone());
        assert_eq!(held_by_service.now_utc(), utc("2026-01-14T12:00:00Z"));

        clock.advance(TimeDelta::days(14));
        assert_eq!(held_by_service.now_utc(), utc("2026-01-28T12:00:00Z"));

        clock.set(utc("2026-06-30T22:30:00Z"));
        assert_eq!(
            held_by_service.today_stockholm(),
            NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()
        );
    }

    #[test]
    fn system_clock_moves() {
        let clock = SystemClock;
        let first = clock.now_utc();
        assert!(clock.now_utc() >= first);
        assert!(first > utc("2024-01-01T00:00:00Z"));
    }
}
