//! Exponential back-off with jitter.

use std::time::Duration;

use rand::Rng as _;

/// Exponential back-off from `base` doubling up to `max`, each delay drawn uniformly from its
/// upper half ("equal jitter") so that many waiting tasks do not retry in step.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max: max.max(base),
            failures: 0,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        let ceiling = exponential(self.base, self.max, self.failures);
        self.failures = self.failures.saturating_add(1);
        with_jitter(ceiling)
    }
}

/// `base · 2^(attempt)`, at most `max`.
pub(crate) fn exponential(base: Duration, max: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.min(31));
    base.saturating_mul(factor).min(max)
}

/// A delay between half of `ceiling` and `ceiling`.
pub(crate) fn with_jitter(ceiling: Duration) -> Duration {
    let half = ceiling / 2;
    let spread = u64::try_from((ceiling - half).as_micros()).unwrap_or(u64::MAX);
    let jitter = if spread == 0 {
        0
    } else {
        rand::thread_rng().gen_range(0..=spread)
    };
    half + Duration::from_micros(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        let mut backoff = Backoff::new(base, max);
        let delays: Vec<Duration> = (0..10).map(|_| backoff.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(50) && delays[0] <= base);
        assert!(delays[3] >= Duration::from_millis(400) && delays[3] <= Duration::from_millis(800));
        assert!(delays.iter().all(|delay| *delay <= max));
        backoff.reset();
        assert!(backoff.next_delay() <= base);
    }

    #[test]
    fn exponential_saturates() {
        let max = Duration::from_secs(60);
        assert_eq!(exponential(Duration::from_secs(1), max, 100), max);
        assert_eq!(
            exponential(Duration::from_secs(1), max, 0),
            Duration::from_secs(1)
        );
    }
}
