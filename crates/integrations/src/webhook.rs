//! Outgoing webhooks, signed the way Stripe and Slack sign theirs.
//!
//! Headers on every request:
//! - `Firebreak-Delivery`: the delivery's UUID; the same on every retry, so a receiver can
//!   drop duplicates.
//! - `Firebreak-Event`: the event kind.
//! - `Firebreak-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`
//!   keyed with the webhook's secret. Receivers recompute it over the raw body and reject
//!   timestamps far from their clock to stop replays.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::outbound::Outbound;

pub const DELIVERY_HEADER: &str = "Firebreak-Delivery";
pub const EVENT_HEADER: &str = "Firebreak-Event";
pub const SIGNATURE_HEADER: &str = "Firebreak-Signature";

/// The `Firebreak-Signature` value for a body sent at `timestamp` (Unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(secret, timestamp, body))
    )
}

fn mac(secret: &str, timestamp: i64, body: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Checks a signature header in constant time; what a receiver would do.
pub fn verify(secret: &str, header: &str, body: &str) -> bool {
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signature = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.verify_slice(&signature).is_ok()
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("receiver answered {status}")]
    Status { status: u16 },
    /// Refused by the outbound policy, or could not reach the receiver (deliberately no more).
    #[error("{0}")]
    Transport(String),
}

impl SendError {
    pub fn status_code(&self) -> Option<u16> {
        match self {
            SendError::Status { status } => Some(*status),
            SendError::Transport(_) => None,
        }
    }
}

/// One request to send.
pub struct Outgoing<'a> {
    pub url: &'a str,
    pub secret: &'a str,
    pub delivery_id: &'a str,
    pub event_kind: &'a str,
    pub body: &'a str,
    pub timestamp: i64,
}

/// Sends one delivery through the outbound policy; any 2xx is success (a redirect is not
/// followed, so it is a failure). Returns the status code.
pub async fn send(client: &Outbound, outgoing: &Outgoing<'_>) -> Result<u16, SendError> {
    let request = client
        .request(reqwest::Method::POST, outgoing.url)
        .map_err(|err| SendError::Transport(err.to_string()))?;
    let response = request
        .header("Content-Type", "application/json")
        .header(DELIVERY_HEADER, outgoing.delivery_id)
        .header(EVENT_HEADER, outgoing.event_kind)
        .header(
            SIGNATURE_HEADER,
            sign(outgoing.secret, outgoing.timestamp, outgoing.body),
        )
        .body(outgoing.body.to_string())
        .send()
        .await
        .map_err(|err| SendError::Transport(crate::outbound::describe(&err)))?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        Ok(status)
    } else {
        Err(SendError::Status { status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip_and_tamper() {
        let header = sign("s3cret", 1_800_000_000, r#"{"a":1}"#);
        assert!(header.starts_with("t=1800000000,v1="));
        assert!(verify("s3cret", &header, r#"{"a":1}"#));
        assert!(!verify("s3cret", &header, r#"{"a":2}"#));
        assert!(!verify("other", &header, r#"{"a":1}"#));
        assert!(!verify("s3cret", "t=1,v1=zz", r#"{"a":1}"#));
    }

    #[test]
    fn known_vector() {
        // HMAC-SHA256(key="key", "1.body"), computed independently with Python's hmac module.
        assert_eq!(
            sign("key", 1, "body"),
            format!(
                "t=1,v1={}",
                "91b5374b153842ad05b2c4eab9349b8321b14703165bd3fb8b034dfb8be98ae5"
            )
        );
    }
}
