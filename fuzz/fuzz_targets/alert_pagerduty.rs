//! PagerDuty event bodies as monitoring and CI send them (alert events to `/v2/enqueue`,
//! change events to `/v2/change/enqueue`): parsing any bytes never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = firebreak_server::paging::pagerduty::parse_pagerduty(&body);
        let _ = firebreak_server::paging::pagerduty::parse_change(&body);
    }
});
