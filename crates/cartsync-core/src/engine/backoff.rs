//! Exponential backoff with full jitter (the AWS architecture blog's
//! "full jitter": sleep a uniform random time in `[0, min(cap, base·2ⁿ)]`),
//! so a fleet of clients that failed together does not retry together.

use crate::seams::Random;

/// Retry timing. Randomness comes in as an argument: the engine owns no RNG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    pub base_ms: u64,
    pub cap_ms: u64,
    attempts: u32,
}

impl Backoff {
    pub fn new(base_ms: u64, cap_ms: u64) -> Self {
        Backoff {
            base_ms,
            cap_ms,
            attempts: 0,
        }
    }

    /// Failures since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Records a failure and returns the delay before the next try. A
    /// server's `retry_after` is honoured as a floor.
    ///
    /// ```
    /// use cartsync_core::engine::Backoff;
    /// use cartsync_core::SplitMix64;
    /// let mut b = Backoff::new(500, 60_000);
    /// let d = b.next_delay(&mut SplitMix64(1), None);
    /// assert!(d <= 500);
    /// assert!(b.next_delay(&mut SplitMix64(1), Some(5_000)) >= 5_000);
    /// ```
    pub fn next_delay(&mut self, rng: &mut dyn Random, retry_after_ms: Option<u64>) -> u64 {
        let exp = self.base_ms.saturating_mul(1u64 << self.attempts.min(32));
        let ceiling = exp.min(self.cap_ms);
        self.attempts = self.attempts.saturating_add(1);
        let jitter = rng.next_u64() % ceiling.saturating_add(1);
        jitter.max(retry_after_ms.unwrap_or(0))
    }

    /// A success (or going online): the next failure starts from `base`.
    pub fn reset(&mut self) {
        self.attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seams::SplitMix64;

    #[test]
    fn delays_stay_under_a_growing_then_capped_ceiling() {
        let mut b = Backoff::new(500, 60_000);
        let mut rng = SplitMix64(7);
        for n in 0..40u32 {
            let d = b.next_delay(&mut rng, None);
            let ceiling = (500u64 << n.min(20)).min(60_000);
            assert!(d <= ceiling, "attempt {n}: {d} > {ceiling}");
        }
        assert_eq!(b.attempts(), 40);
        b.reset();
        assert!(b.next_delay(&mut rng, None) <= 500);
    }

    #[test]
    fn jitter_spreads() {
        let mut rng = SplitMix64(3);
        let delays: std::collections::BTreeSet<u64> = (0..20)
            .map(|_| {
                let mut b = Backoff::new(500, 60_000);
                b.next_delay(&mut rng, None)
            })
            .collect();
        assert!(delays.len() > 10);
    }

    #[test]
    fn retry_after_is_a_floor() {
        let mut b = Backoff::new(500, 60_000);
        assert!(b.next_delay(&mut SplitMix64(1), Some(30_000)) >= 30_000);
    }
}
