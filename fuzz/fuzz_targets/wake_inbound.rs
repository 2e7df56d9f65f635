//! What phones and providers send back: an SMS reply's text, a typed phone number, a
//! callback's form body, its signature and its delivery status. Parsing any bytes never
//! panics, and a signature made over the parsed parameters always verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = firebreak_core::wake::parse_reply(&text);
    let _ = firebreak_core::wake::parse_phone(&text);
    let _ = firebreak_core::wake::voice_key(&text);
    let _ = firebreak_core::wake::sms_page(&text, 3, 12, Some("https://fb.example/alerts/1"));
    let params = firebreak_integrations::twilio::form_params(data);
    let _ = firebreak_server::paging::wake::callback_delivery(&params);
    let url = format!("https://fb.example{}", text.split('\n').next().unwrap_or(""));
    let signature = firebreak_integrations::twilio::signature("key", &url, &params);
    assert!(firebreak_integrations::twilio::verify(&["key"], &url, &params, &signature));
    let _ = firebreak_integrations::twilio::verify(&["key"], &url, &params, &text);
});
