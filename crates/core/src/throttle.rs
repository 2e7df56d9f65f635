//! Sign-in throttling: how many recent failures are allowed before a key must wait.

use jiff::{SignedDuration, Timestamp};

/// At most `max_failures` failed attempts per `window` for one key (an email, an address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttle {
    pub max_failures: usize,
    pub window: SignedDuration,
}

impl Throttle {
    /// Drops failures older than the window; `Some(when)` if the key must wait until `when`.
    pub fn check(&self, failures: &mut Vec<Timestamp>, now: Timestamp) -> Option<Timestamp> {
        failures.retain(|at| now.duration_since(*at) < self.window);
        if failures.len() < self.max_failures {
            return None;
        }
        // One more attempt is allowed once enough failures have aged out of the window.
        failures.sort();
        let deciding = failures.get(failures.len() - self.max_failures)?;
        deciding.checked_add(self.window).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    #[test]
    fn failures_within_the_window_count() {
        let throttle = Throttle {
            max_failures: 3,
            window: SignedDuration::from_secs(60),
        };
        // (failure times, now, must wait until)
        let table: [(&[i64], i64, Option<i64>); 5] = [
            (&[], 0, None),
            (&[0, 1], 2, None),
            (&[0, 1, 2], 3, Some(60)),
            (&[0, 1, 2], 60, None),
            (&[10, 20, 30, 40], 65, Some(80)),
        ];
        for (failures, now, expected) in table {
            let mut failures: Vec<Timestamp> = failures.iter().map(|it| t(*it)).collect();
            assert_eq!(
                throttle.check(&mut failures, t(now)),
                expected.map(t),
                "{failures:?} at {now}"
            );
        }
    }
}
