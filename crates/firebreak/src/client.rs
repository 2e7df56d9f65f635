//! A small client for the Firebreak API, used by the CLI's incident commands.

use anyhow::{Context, anyhow};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str, token: Option<&str>) -> anyhow::Result<Client> {
        let token = token
            .filter(|it| !it.is_empty())
            .ok_or_else(|| anyhow!("no API token: set FIREBREAK_TOKEN or pass --token (create one with `firebreak admin create-token`)"))?;
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            http: firebreak_integrations::http::client(std::time::Duration::from_secs(30))?,
        })
    }

    /// Sends a request; a non-2xx answer becomes one clear error line.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        self.send(method, path, body, None).await
    }

    /// Like `call`, with an optional `Idempotency-Key` header.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach Firebreak at {}", self.base))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            if status == StatusCode::NO_CONTENT || text.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text)
                .with_context(|| format!("the server sent something that is not JSON ({status})"));
        }
        Err(anyhow!(describe_error(status, &text)))
    }
}

/// `message (code); field: problem; …` from the API's error shape.
pub fn describe_error(status: StatusCode, text: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return format!("server answered {status}");
    };
    let error = &value["error"];
    let mut line = format!(
        "{} ({}, HTTP {})",
        error["message"].as_str().unwrap_or("request failed"),
        error["code"].as_str().unwrap_or("error"),
        status.as_u16()
    );
    if let Some(fields) = error["fields"].as_object() {
        for (field, problem) in fields {
            line.push_str(&format!(
                "; {field}: {}",
                problem.as_str().unwrap_or("invalid")
            ));
        }
    }
    line
}
