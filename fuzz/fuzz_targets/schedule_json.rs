//! A schedule as the API takes it: any JSON either parses into a schedule or is refused, and
//! a schedule that parses answers who is on call and tiles a fortnight into shifts.
#![no_main]

use firebreak_server::oncall::service::{ScheduleBody, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<ScheduleBody>(data) else {
        return;
    };
    let Ok((schedule, _)) = parse(&body) else {
        return;
    };
    let from = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let to = from + jiff::SignedDuration::from_hours(24 * 14);
    let _ = schedule.on_call(from);
    let _ = schedule.shifts(from, to);
});
