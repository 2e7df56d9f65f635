//! Everything chat sends Firebreak: Slack slash commands, events and interactions (after the
//! signature check they are parsed from the raw body) and Socket Mode frames, Matrix `/sync` answers, and the
//! `/inc` / `!inc` words. None may panic on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    use firebreak_integrations::chat::{matrix, slack_in};
    let _ = slack_in::parse_slash(data);
    let _ = slack_in::parse_event(data);
    let _ = slack_in::parse_interaction(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = firebreak_integrations::chat::slack_socket::parse_frame(text);
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = matrix::parse_sync(&value);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let severities = ["critical".to_string(), "major".into(), "minor".into()];
        let _ = firebreak_core::chat::parse_command(text, &severities);
        let _ = firebreak_core::chat::is_pin_reaction(text);
        let _ = firebreak_core::chat::channel_name(firebreak_core::Reference(7), text);
    }
});
