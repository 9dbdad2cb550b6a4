//! Reconnection delays: exponential backoff with jitter, as pure arithmetic.
//!
//! The caller supplies the attempt number and a uniform random number in `[0, 1)`; nothing here
//! reads a clock or a random source, so the delays are reproducible in tests. The EventSource
//! polyfill uses it to space out reconnections (starting at the server's `retry` time); any
//! reconnecting transport can.

/// Exponential backoff parameters. Attempt `n` (counting from 0) waits
/// `base(n) = min(min · factorⁿ, max)` plus up to `jitter · base(n)` at random, never more than
/// `max` in total, and never less than `min(min, max)`.
///
/// Because the random part is added on top of the exponential base, delays never drop below
/// the first one (an SSE server's `retry` time stays a lower bound), and clients that dropped
/// at the same moment spread out over successive attempts.
///
/// ```
/// use cometkit_protocol::backoff::Backoff;
///
/// let backoff = Backoff { min: 500, max: 8_000, factor: 2.0, jitter: 0.0 };
/// let delays: Vec<u32> = (0..6).map(|attempt| backoff.next_delay(attempt, 0.3)).collect();
/// assert_eq!(delays, [500, 1_000, 2_000, 4_000, 8_000, 8_000]);
/// // With jitter, the random number in [0, 1) spreads clients out above the base delay.
/// assert_eq!(Backoff::default().next_delay(0, 0.5), 1_250);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first delay, in milliseconds.
    pub min: u32,
    /// The largest delay, in milliseconds.
    pub max: u32,
    /// Growth per attempt (values below 1 are treated as 1: constant delay).
    pub factor: f64,
    /// The random share added on top, as a fraction of the base delay (clamped to `0..=1`).
    pub jitter: f64,
}

impl Default for Backoff {
    /// 1 s doubling up to 30 s, with up to 50 % added at random.
    fn default() -> Self {
        Backoff {
            min: 1_000,
            max: 30_000,
            factor: 2.0,
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// A constant delay of `ms` milliseconds (no growth, no jitter).
    pub fn constant(ms: u32) -> Self {
        Backoff {
            min: ms,
            max: ms,
            factor: 1.0,
            jitter: 0.0,
        }
    }

    /// The delay in milliseconds before attempt `attempt` (0 = the first retry), given
    /// `random01`, a uniform random number in `[0, 1)` (out-of-range or NaN values are
    /// clamped).
    pub fn next_delay(&self, attempt: u32, random01: f64) -> u32 {
        let max = f64::from(self.max);
        let factor = if self.factor.is_finite() && self.factor > 1.0 {
            self.factor
        } else {
            1.0
        };
        // powi saturates to infinity, which min() then caps: no overflow for huge attempts.
        let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
        let base = (f64::from(self.min) * factor.powi(exponent)).min(max);
        let jitter = clamp01(self.jitter);
        let delay = (base + base * jitter * clamp01(random01)).min(max);
        // In 0..=u32::MAX by construction; `as` saturates anyway.
        delay.floor() as u32
    }
}

fn clamp01(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0)
    }
}

/// A [`Backoff`] with its attempt counter: [`next`](Retries::next) gives successive delays,
/// [`reset`](Retries::reset) starts over (call it once a connection succeeds).
///
/// ```
/// use cometkit_protocol::backoff::{Backoff, Retries};
///
/// let mut retries = Retries::new(Backoff::constant(2_000), Some(2));
/// assert_eq!(retries.next(0.7), Some(2_000));
/// assert_eq!(retries.next(0.7), Some(2_000));
/// assert_eq!(retries.next(0.7), None); // two retries in a row used up: give up
/// retries.reset(); // a connection succeeded
/// assert_eq!(retries.attempt(), 0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Retries {
    /// The delay schedule.
    pub backoff: Backoff,
    /// How many retries are allowed in a row before giving up (`None`: unlimited).
    pub limit: Option<u32>,
    attempt: u32,
}

impl Retries {
    /// A counter at attempt 0.
    pub fn new(backoff: Backoff, limit: Option<u32>) -> Self {
        Retries {
            backoff,
            limit,
            attempt: 0,
        }
    }

    /// The delay before the next retry, or `None` when `limit` retries in a row were used up.
    pub fn next(&mut self, random01: f64) -> Option<u32> {
        if self.limit.is_some_and(|limit| self.attempt >= limit) {
            return None;
        }
        let delay = self.backoff.next_delay(self.attempt, random01);
        self.attempt = self.attempt.saturating_add(1);
        Some(delay)
    }

    /// Back to attempt 0 (the connection worked).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Retries made since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_up_to_max_without_jitter() {
        let b = Backoff {
            min: 100,
            max: 1_000,
            factor: 2.0,
            jitter: 0.0,
        };
        let delays: Vec<u32> = (0..7).map(|n| b.next_delay(n, 0.99)).collect();
        assert_eq!(delays, vec![100, 200, 400, 800, 1_000, 1_000, 1_000]);
    }

    #[test]
    fn jitter_adds_on_top_and_never_exceeds_max() {
        let b = Backoff {
            min: 1_000,
            max: 10_000,
            factor: 2.0,
            jitter: 0.5,
        };
        assert_eq!(b.next_delay(0, 0.0), 1_000);
        assert_eq!(b.next_delay(0, 0.5), 1_250);
        assert_eq!(b.next_delay(1, 0.999_999), 2_999);
        // At the cap the jitter is cut off by max.
        assert_eq!(b.next_delay(10, 0.9), 10_000);
        for n in 0..40 {
            for r in [0.0, 0.1, 0.5, 0.9, 0.999] {
                let d = b.next_delay(n, r);
                assert!((1_000..=10_000).contains(&d), "attempt {n} r {r}: {d}");
            }
        }
    }

    #[test]
    fn hostile_inputs_are_clamped() {
        let b = Backoff {
            min: 500,
            max: 2_000,
            factor: f64::NAN,
            jitter: 7.0,
        };
        // NaN factor -> constant; jitter clamped to 1; random clamped to [0, 1].
        assert_eq!(b.next_delay(5, 2.0), 1_000);
        assert_eq!(b.next_delay(5, -1.0), 500);
        assert_eq!(b.next_delay(5, f64::NAN), 500);
        let shrink = Backoff {
            min: 500,
            max: 2_000,
            factor: 0.5,
            jitter: 0.0,
        };
        assert_eq!(shrink.next_delay(3, 0.0), 500);
        let huge = Backoff {
            min: u32::MAX,
            max: u32::MAX,
            factor: 10.0,
            jitter: 1.0,
        };
        assert_eq!(huge.next_delay(u32::MAX, 0.9), u32::MAX);
        // max below min: max wins.
        let odd = Backoff {
            min: 5_000,
            max: 1_000,
            factor: 2.0,
            jitter: 0.0,
        };
        assert_eq!(odd.next_delay(0, 0.0), 1_000);
    }

    #[test]
    fn constant_and_default() {
        let c = Backoff::constant(3_000);
        assert!((0..10).all(|n| c.next_delay(n, 0.7) == 3_000));
        let d = Backoff::default();
        assert_eq!(d.next_delay(0, 0.0), 1_000);
        assert_eq!(d.next_delay(20, 0.0), 30_000);
    }

    #[test]
    fn retries_count_limit_and_reset() {
        let mut r = Retries::new(
            Backoff {
                min: 10,
                max: 100,
                factor: 2.0,
                jitter: 0.0,
            },
            Some(3),
        );
        assert_eq!(r.next(0.0), Some(10));
        assert_eq!(r.next(0.0), Some(20));
        assert_eq!(r.next(0.0), Some(40));
        assert_eq!(r.next(0.0), None);
        assert_eq!(r.attempt(), 3);
        r.reset();
        assert_eq!(r.next(0.0), Some(10));
        let mut unlimited = Retries::new(Backoff::constant(5), None);
        assert!((0..1_000).all(|_| unlimited.next(0.3) == Some(5)));
    }
}
