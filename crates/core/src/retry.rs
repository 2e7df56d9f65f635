//! When to try an outgoing delivery again: exponential backoff with a cap and a last try.

use jiff::{SignedDuration, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; after the last failure a delivery is dead.
    pub max_attempts: i64,
    pub base_ms: i64,
    pub max_backoff_ms: i64,
}

impl Default for RetryPolicy {
    /// 12 attempts: 1 s, 2 s, 4 s … capped at 10 minutes, about 40 minutes in all, long
    /// enough to ride out a receiver's deploy or restart.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 12,
            base_ms: 1_000,
            max_backoff_ms: 600_000,
        }
    }
}

impl RetryPolicy {
    /// After `attempts` failed attempts: `Some(time of the next try)` or `None` when the
    /// delivery should be dead-lettered.
    pub fn next_attempt(&self, attempts: i64, now: Timestamp) -> Option<Timestamp> {
        if attempts >= self.max_attempts {
            return None;
        }
        let exponent = (attempts - 1).clamp(0, 40) as u32;
        let backoff = self
            .base_ms
            .saturating_mul(1_i64 << exponent.min(40))
            .min(self.max_backoff_ms);
        Some(now + SignedDuration::from_millis(backoff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_ends() {
        let policy = RetryPolicy {
            max_attempts: 6,
            base_ms: 1_000,
            max_backoff_ms: 10_000,
        };
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let table = [
            (1, Some(1_000)),
            (2, Some(2_000)),
            (3, Some(4_000)),
            (4, Some(8_000)),
            (5, Some(10_000)),
            (6, None),
            (9, None),
        ];
        for (attempts, expected_ms) in table {
            let got = policy
                .next_attempt(attempts, now)
                .map(|at| at.duration_since(now).as_millis() as i64);
            assert_eq!(got, expected_ms, "after {attempts} attempts");
        }
    }
}
