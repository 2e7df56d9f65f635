//! Issue trackers for follow-ups: GitHub Issues and Jira. Each creates an issue and tells
//! whether an issue is done; base URLs are configurable (GitHub Enterprise, Jira Cloud or
//! Server, and mock servers in tests).

use serde_json::{Value, json};

use crate::outbound::Outbound;

#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    #[error("request failed: {0}")]
    Request(String),
    #[error("the tracker answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the tracker's answer is missing {0}")]
    Shape(&'static str),
}

/// An issue made in a tracker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    /// GitHub: the issue number; Jira: the key (`OPS-12`).
    pub id: String,
    /// A link a person can open.
    pub url: String,
}

#[derive(Clone, Debug)]
pub struct GitHub {
    pub base_url: String,
    /// `owner/repo`.
    pub repo: String,
    pub token: String,
}

#[derive(Clone, Debug)]
pub struct Jira {
    pub base_url: String,
    pub email: String,
    pub token: String,
    pub project: String,
}

async fn answer(response: reqwest::Response) -> Result<Value, TrackerError> {
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|err| TrackerError::Request(err.to_string()))?;
    if !status.is_success() {
        return Err(TrackerError::Status {
            status: status.as_u16(),
            body: text.chars().take(500).collect(),
        });
    }
    serde_json::from_str(&text).map_err(|_| TrackerError::Shape("a JSON body"))
}

impl GitHub {
    fn url(&self, rest: &str) -> String {
        format!(
            "{}/repos/{}/{rest}",
            self.base_url.trim_end_matches('/'),
            self.repo
        )
    }

    pub async fn create(
        &self,
        client: &Outbound,
        title: &str,
        body: &str,
    ) -> Result<Created, TrackerError> {
        let response = client
            .request(reqwest::Method::POST, &self.url("issues"))
            .map_err(|err| TrackerError::Request(err.to_string()))?
            .bearer_auth(&self.token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .header("User-Agent", "firebreak")
            .json(&json!({"title": title, "body": body, "labels": ["follow-up"]}))
            .send()
            .await
            .map_err(|err| TrackerError::Request(crate::outbound::describe(&err)))?;
        let value = answer(response).await?;
        Ok(Created {
            id: value["number"]
                .as_i64()
                .ok_or(TrackerError::Shape("number"))?
                .to_string(),
            url: value["html_url"]
                .as_str()
                .ok_or(TrackerError::Shape("html_url"))?
                .to_string(),
        })
    }

    pub async fn is_done(&self, client: &Outbound, id: &str) -> Result<bool, TrackerError> {
        let response = client
            .request(reqwest::Method::GET, &self.url(&format!("issues/{id}")))
            .map_err(|err| TrackerError::Request(err.to_string()))?
            .bearer_auth(&self.token)
            .header("Accept", "application/vnd.github+json")
            .header("User-Agent", "firebreak")
            .send()
            .await
            .map_err(|err| TrackerError::Request(crate::outbound::describe(&err)))?;
        let value = answer(response).await?;
        Ok(value["state"]
            .as_str()
            .ok_or(TrackerError::Shape("state"))?
            == "closed")
    }
}

impl Jira {
    fn url(&self, rest: &str) -> String {
        format!("{}/rest/api/3/{rest}", self.base_url.trim_end_matches('/'))
    }

    pub async fn create(
        &self,
        client: &Outbound,
        title: &str,
        body: &str,
    ) -> Result<Created, TrackerError> {
        // Jira Cloud's v3 API takes descriptions in the Atlassian Document Format.
        let description = json!({
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": body}]}],
        });
        let response = client
            .request(reqwest::Method::POST, &self.url("issue"))
            .map_err(|err| TrackerError::Request(err.to_string()))?
            .basic_auth(&self.email, Some(&self.token))
            .json(&json!({"fields": {
                "project": {"key": self.project},
                "summary": title,
                "description": description,
                "issuetype": {"name": "Task"},
                "labels": ["follow-up"],
            }}))
            .send()
            .await
            .map_err(|err| TrackerError::Request(crate::outbound::describe(&err)))?;
        let value = answer(response).await?;
        let key = value["key"].as_str().ok_or(TrackerError::Shape("key"))?;
        Ok(Created {
            id: key.to_string(),
            url: format!("{}/browse/{key}", self.base_url.trim_end_matches('/')),
        })
    }

    pub async fn is_done(&self, client: &Outbound, id: &str) -> Result<bool, TrackerError> {
        let response = client
            .request(
                reqwest::Method::GET,
                &self.url(&format!("issue/{id}?fields=status")),
            )
            .map_err(|err| TrackerError::Request(err.to_string()))?
            .basic_auth(&self.email, Some(&self.token))
            .send()
            .await
            .map_err(|err| TrackerError::Request(crate::outbound::describe(&err)))?;
        let value = answer(response).await?;
        let category = value["fields"]["status"]["statusCategory"]["key"]
            .as_str()
            .ok_or(TrackerError::Shape("fields.status.statusCategory.key"))?;
        Ok(category == "done")
    }
}
