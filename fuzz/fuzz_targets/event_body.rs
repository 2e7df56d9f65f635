//! A stored event body as the timeline (and the CLI, from a server's JSON) reads it back: any
//! kind and any JSON either reads into an event or is refused naming the field, and an event
//! that reads reads back as itself from its own canonical body.
#![no_main]

use firebreak_core::{EventData, EventKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let kind = EventKind::ALL[usize::from(*first) % EventKind::ALL.len()];
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(rest) else {
        return;
    };
    let Ok(event) = EventData::from_stored(kind, &body) else {
        return;
    };
    assert_eq!(event.kind(), kind);
    let again = EventData::from_stored(kind, &event.to_body()).expect("its own body reads back");
    assert_eq!(again, event);
});
