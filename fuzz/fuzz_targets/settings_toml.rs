//! A settings file: any text is either settings or a clear error, never a panic; settings
//! that load also build their catalog and outbound policy.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(settings) = firebreak_server::Settings::from_toml(text)
    {
        let _ = settings.catalog();
        let _ = settings.outbound_policy();
        let _ = settings.connection_limits();
    }
});
