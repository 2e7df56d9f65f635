//! PagerDuty's schedules (with overrides and the rendered final schedule), escalation
//! policies, services and users as its API answers, and a whole account as the import API
//! takes it: any JSON either maps or is refused, a mapped
//! schedule tiles a fortnight into shifts, and the comparison with the rendering never panics.
#![no_main]

use firebreak_core::import::{differences, pagerduty};
use firebreak_server::imports::report;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let email_of = |id: &str| (!id.is_empty()).then(|| format!("{id}@example.com"));
    let overrides = doc["overrides"].as_array().cloned().unwrap_or_default();
    let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    if let Ok(account) = report::pagerduty_account(&doc) {
        let _ = report::plan_json(&pagerduty::plan(&account, now));
    }
    let theirs = pagerduty::rendered(&doc, &email_of);
    let _ = pagerduty::escalation_policy(&doc, &email_of);
    let _ = pagerduty::service(&doc);
    let _ = pagerduty::user(&doc);
    let Ok(imported) = pagerduty::schedule(&doc, &overrides, &email_of, now) else {
        return;
    };
    let to = now + jiff::SignedDuration::from_hours(24 * 14);
    let ours = imported.schedule.shifts(now, to);
    let _ = differences(&ours, &theirs, (now, to));
});
