//! The one place that reads the wall clock. Everything else takes "now" as an argument.

use jiff::Timestamp;

/// Now, truncated to the microsecond precision the database stores, so a value returned
/// straight after a write equals the value read back later.
#[allow(clippy::disallowed_methods)]
pub fn now() -> Timestamp {
    from_micros(micros(Timestamp::now()))
}

/// Microseconds since the epoch, the storage form of every time column.
pub fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

pub fn from_micros(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH)
}
