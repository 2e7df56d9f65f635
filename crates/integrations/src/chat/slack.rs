//! Slack: request signing (every inbound slash command, event and interaction is verified on
//! its raw body before it is parsed).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from now (Slack's own window).
pub const REPLAY_WINDOW_SECONDS: i64 = 300;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed (X-Slack-Signature, X-Slack-Request-Timestamp)")]
    Missing,
    #[error("the request's timestamp is more than five minutes from now")]
    Stale,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// `v0=<hex>`: HMAC-SHA256 of `v0:<timestamp>:<body>` with the signing secret.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a request from Slack: the timestamp within five minutes of `now` (seconds since
/// the epoch) and the signature over the raw body, compared in constant time.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    sent: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let (Some(timestamp), Some(sent)) = (timestamp, sent) else {
        return Err(SignatureError::Missing);
    };
    let at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Missing)?;
    if (now - at).abs() > REPLAY_WINDOW_SECONDS {
        return Err(SignatureError::Stale);
    }
    let Some(hex_sent) = sent.trim().strip_prefix("v0=") else {
        return Err(SignatureError::Mismatch);
    };
    let Ok(sent_bytes) = hex::decode(hex_sent) else {
        return Err(SignatureError::Mismatch);
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"v0:");
    mac.update(timestamp.trim().as_bytes());
    mac.update(b":");
    mac.update(body);
    mac.verify_slice(&sent_bytes)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's documented example, reproduced by python-slack-sdk's SignatureVerifier.
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_golden_vector() {
        assert_eq!(signature(SECRET, TIMESTAMP, BODY.as_bytes()), SIGNATURE);
        let now = 1_531_420_618;
        let check = |ts: Option<&str>, sig: Option<&str>, body: &str, now: i64| {
            verify(SECRET, ts, sig, body.as_bytes(), now)
        };
        assert_eq!(check(Some(TIMESTAMP), Some(SIGNATURE), BODY, now), Ok(()));
        assert_eq!(
            check(Some(TIMESTAMP), Some(SIGNATURE), BODY, now + 300),
            Ok(())
        );
        assert_eq!(
            check(Some(TIMESTAMP), Some(SIGNATURE), BODY, now + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check(Some(TIMESTAMP), Some(SIGNATURE), BODY, now - 301),
            Err(SignatureError::Stale)
        );
        let tampered = BODY.replace("foobar", "foobaz");
        assert_eq!(
            check(Some(TIMESTAMP), Some(SIGNATURE), &tampered, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(Some(TIMESTAMP), Some("v0=zz"), BODY, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(None, Some(SIGNATURE), BODY, now),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            check(Some("soon"), Some(SIGNATURE), BODY, now),
            Err(SignatureError::Missing)
        );
    }
}
