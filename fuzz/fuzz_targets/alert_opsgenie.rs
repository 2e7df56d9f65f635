//! opsgenie alert bodies as monitoring sends them: parsing any bytes never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = firebreak_server::paging::ingest::parse_opsgenie(&body);
    }
});
