//! ntfy push (self-hosted or ntfy.sh): one JSON publish to the server's root URL, at
//! priority 5 (a long vibration and a pop-over on Android; "critical" on iOS where the user
//! allowed it), with `http` action buttons the phone performs itself when tapped.

use reqwest::Method;
use serde_json::{Value, json};

use crate::outbound::Outbound;

#[derive(Clone)]
pub struct NtfyConfig {
    /// `https://ntfy.sh` or your own server.
    pub server_url: String,
    /// An access token (`tk_…`) for a server that needs one.
    pub token: Option<String>,
}

impl std::fmt::Debug for NtfyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NtfyConfig")
            .field("server_url", &self.server_url)
            .finish_non_exhaustive()
    }
}

/// A button the phone acts on: a POST to `url` (which carries its own token), then the
/// notification is cleared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub url: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push<'a> {
    pub topic: &'a str,
    pub title: &'a str,
    pub message: &'a str,
    /// Opened when the notification is tapped.
    pub click: Option<&'a str>,
    /// At most three (ntfy's limit).
    pub buttons: Vec<Button>,
}

/// The publish body (ntfy's JSON form).
pub fn body(push: &Push<'_>) -> Value {
    let actions: Vec<Value> = push
        .buttons
        .iter()
        .take(3)
        .map(|it| {
            json!({"action": "http", "label": it.label, "url": it.url, "method": "POST", "clear": true})
        })
        .collect();
    let mut body = json!({
        "topic": push.topic,
        "title": push.title,
        "message": push.message,
        "priority": 5,
        "tags": ["rotating_light"],
        "actions": actions,
    });
    if let Some(click) = push.click {
        body["click"] = json!(click);
    }
    body
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NtfyError {
    pub message: String,
    /// A 4xx other than 429: sending again will not help.
    pub permanent: bool,
}

/// Publishes; answers ntfy's message id.
pub async fn publish(
    http: &Outbound,
    config: &NtfyConfig,
    push: &Push<'_>,
) -> Result<String, NtfyError> {
    let url = format!("{}/", config.server_url.trim_end_matches('/'));
    let mut request = http
        .request(Method::POST, &url)
        .map_err(|err| NtfyError {
            message: err.to_string(),
            permanent: true,
        })?
        .json(&body(push));
    if let Some(token) = &config.token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|err| NtfyError {
        message: crate::outbound::describe(&err),
        permanent: false,
    })?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(answer
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string());
    }
    let said = answer
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("no reason given");
    Err(NtfyError {
        message: format!("ntfy answered HTTP {status}: {said}"),
        permanent: status.is_client_error() && status.as_u16() != 429,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_body_has_priority_5_and_http_buttons() {
        let push = Push {
            topic: "fb-abc",
            title: "ALERT: disk full",
            message: "db-1",
            click: Some("https://fb.example.com/alerts/1"),
            buttons: vec![
                Button {
                    label: "Acknowledge".into(),
                    url: "https://fb.example.com/integrations/ntfy/t1".into(),
                },
                Button {
                    label: "Resolve".into(),
                    url: "https://fb.example.com/integrations/ntfy/t2".into(),
                },
            ],
        };
        let body = body(&push);
        assert_eq!(body["priority"], 5);
        assert_eq!(body["topic"], "fb-abc");
        assert_eq!(body["click"], "https://fb.example.com/alerts/1");
        assert_eq!(body["actions"][0]["action"], "http");
        assert_eq!(body["actions"][0]["method"], "POST");
        assert_eq!(body["actions"][1]["label"], "Resolve");
        assert_eq!(body["actions"][1]["clear"], true);
    }
}
