//! Opsgenie's users (with contacts and notification rules), teams, schedules (with overrides
//! and timeline), escalations and integrations as its API answers, and a whole account as the
//! import API takes it: any JSON either plans or is refused, a planned rotation tiles a
//! fortnight into shifts, and the report of the plan never panics.
#![no_main]

use firebreak_core::import::opsgenie;
use firebreak_server::imports::report;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let email_of = |id: &str| (!id.is_empty()).then(|| format!("{id}@example.com"));
    let _ = opsgenie::user(&doc);
    let _ = opsgenie::windows(&doc, &mut Vec::new());
    let _ = opsgenie::escalation(&doc, &email_of, &[]);
    let _ = opsgenie::integration(&doc, doc["teams"].as_array().map_or(&[], |it| it.as_slice()));
    let overrides = doc["overrides"].as_array().cloned().unwrap_or_default();
    let to = now + jiff::SignedDuration::from_hours(24 * 14);
    for planned in opsgenie::schedule((&doc, &overrides, &doc["timeline"]), &email_of, now)
        .into_iter()
        .flatten()
    {
        let _ = planned.imported.schedule.shifts(now, to);
    }
    if let Ok(account) = report::opsgenie_account(&doc) {
        let _ = report::plan_json(&opsgenie::plan(&account, now));
    }
});
