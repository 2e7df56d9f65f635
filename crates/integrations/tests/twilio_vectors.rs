//! Firebreak's Twilio signer and verifier against twilio-python's `RequestValidator`: the
//! committed vectors (`fixtures/twilio_signatures.json`, made by `scripts/twilio-vectors`), and
//! fresh random ones when `TWILIO_VECTORS` names a file (`scripts/test` makes one every run).

use firebreak_integrations::twilio::{signature, verify};
use serde_json::Value;

fn check(file: &str, text: &str) -> usize {
    let cases: Vec<Value> = serde_json::from_str(text).expect("vectors are JSON");
    assert!(!cases.is_empty(), "{file} has no cases");
    for (n, case) in cases.iter().enumerate() {
        let field = |name: &str| case[name].as_str().expect(name).to_string();
        let (token, url, sent) = (field("token"), field("url"), field("signature"));
        let params: Vec<(String, String)> = case["params"]
            .as_array()
            .expect("params")
            .iter()
            .map(|pair| {
                (
                    pair[0].as_str().expect("name").to_string(),
                    pair[1].as_str().expect("value").to_string(),
                )
            })
            .collect();
        let at = format!("{file} case {n}: {url}");
        assert_eq!(signature(&token, &url, &params), sent, "{at}");
        assert_eq!(
            verify(&[&token], &url, &params, &sent),
            case["valid"] == true,
            "{at}"
        );
        assert_eq!(
            verify(&[&token], &field("other_url"), &params, &sent),
            case["other_valid"] == true,
            "{at} (other form {})",
            field("other_url")
        );
        let wrong = format!("{token}x");
        assert_eq!(
            verify(&[&wrong], &url, &params, &sent),
            case["wrong_token_valid"] == true,
            "{at} (wrong token)"
        );
        // The previous token still verifies while it is rotated out.
        assert!(
            verify(&[&wrong, &token], &url, &params, &sent) == (case["valid"] == true),
            "{at}"
        );
    }
    cases.len()
}

#[test]
fn committed_vectors_from_twilio_python() {
    let text = include_str!("fixtures/twilio_signatures.json");
    assert!(check("fixtures/twilio_signatures.json", text) >= 300);
}

#[test]
fn fresh_vectors_when_given() {
    let Ok(file) = std::env::var("TWILIO_VECTORS") else {
        // `scripts/test` always makes them; only a bare `cargo test` goes without.
        assert_ne!(
            std::env::var("FIREBREAK_REQUIRE_POSTGRES").as_deref(),
            Ok("1"),
            "the test command sets TWILIO_VECTORS (scripts/twilio-vectors)"
        );
        return;
    };
    let text = std::fs::read_to_string(&file).expect("TWILIO_VECTORS names a readable file");
    let checked = check(&file, &text);
    eprintln!("{checked} fresh twilio-python vectors agree");
}
