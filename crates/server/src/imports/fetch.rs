//! Reading a PagerDuty account from its REST API v2: every list page by page (`limit`,
//! `offset`, `more`; PagerDuty refuses `offset + limit` past 10,000), one request at a time as
//! PagerDuty asks, waiting out a 429 for as long as `ratelimit-reset` says. Each schedule is
//! read with its rendering for the next 90 days (the proof the plan compares against) and its
//! overrides for the next year. Every URL goes through the outbound policy.

use std::time::Duration;

use firebreak_core::import::pagerduty::Account;
use firebreak_integrations::outbound::Outbound;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::settings::Secret;

/// PagerDuty's REST API, and the EU region's.
pub const DEFAULT_API_URL: &str = "https://api.pagerduty.com";

/// How far ahead schedules are rendered and compared.
pub const COMPARED_DAYS: i64 = 90;

const PAGE: usize = 100;
/// PagerDuty's own limit on `offset + limit`.
const MAX_OFFSET: usize = 10_000;
/// Tries of one request that PagerDuty answers 429 or 5xx.
const TRIES: u32 = 6;
/// The longest wait for a rate limit to reset.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Why the account could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "PagerDuty refused the API token ({0}); use an account's REST API key (read-only is enough)"
    )]
    Refused(u16),
    #[error("{0}")]
    Url(String),
    #[error("PagerDuty answered {status} to GET {path}")]
    Status { status: u16, path: String },
    #[error("could not read {path} from PagerDuty: {why}")]
    Unreachable { path: String, why: String },
    #[error("{0} holds more than PagerDuty lets a list be read (10,000 entries)")]
    TooMany(String),
}

pub struct PagerDuty {
    http: Outbound,
    base: String,
    token: Secret,
}

impl PagerDuty {
    pub fn new(http: Outbound, base: &str, token: Secret) -> PagerDuty {
        PagerDuty {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
        }
    }

    /// One request; a 429 or 5xx is tried again after the wait PagerDuty asks for.
    async fn get(&self, path: &str) -> Result<Option<Value>, FetchError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let request = self
                .http
                .request(reqwest::Method::GET, &format!("{}{path}", self.base))
                .map_err(|err| FetchError::Url(format!("the API URL: {err}")))?
                .header(
                    "Authorization",
                    format!("Token token={}", self.token.expose()),
                )
                .header("Accept", "application/vnd.pagerduty+json;version=2");
            let unreachable = |why: String| FetchError::Unreachable {
                path: path.to_string(),
                why,
            };
            let answer = request
                .send()
                .await
                .map_err(|err| unreachable(firebreak_integrations::outbound::describe(&err)))?;
            let status = answer.status().as_u16();
            let header = |name: &str| {
                answer
                    .headers()
                    .get(name)
                    .and_then(|it| it.to_str().ok())
                    .and_then(|it| it.trim().parse::<u64>().ok())
            };
            let reset = Duration::from_secs(header("ratelimit-reset").unwrap_or(1)).min(MAX_WAIT);
            let exhausted = header("ratelimit-remaining") == Some(0);
            match status {
                200..=299 => {
                    let body = answer
                        .json::<Value>()
                        .await
                        .map_err(|_| unreachable("the answer is not JSON".into()))?;
                    if exhausted {
                        // The next request would be refused: wait before making it.
                        tokio::time::sleep(reset).await;
                    }
                    return Ok(Some(body));
                }
                401 | 403 => return Err(FetchError::Refused(status)),
                404 => return Ok(None),
                429 | 500..=599 if tries < TRIES => {
                    let wait = if status == 429 {
                        reset
                    } else {
                        Duration::from_secs(1)
                    };
                    tracing::info!(path, status, ?wait, "PagerDuty asks to wait");
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    return Err(FetchError::Status {
                        status,
                        path: path.to_string(),
                    });
                }
            }
        }
    }

    /// Every item of a list, page by page (`None`: the API has no such list).
    async fn list(&self, path: &str, key: &str) -> Result<Option<Vec<Value>>, FetchError> {
        let mut items = Vec::new();
        let mut offset = 0;
        let join = if path.contains('?') { '&' } else { '?' };
        loop {
            if offset + PAGE > MAX_OFFSET {
                return Err(FetchError::TooMany(path.to_string()));
            }
            let Some(page) = self
                .get(&format!("{path}{join}limit={PAGE}&offset={offset}"))
                .await?
            else {
                return Ok(None);
            };
            let found = page[key].as_array().cloned().unwrap_or_default();
            let count = found.len();
            items.extend(found);
            if page["more"].as_bool() != Some(true) || count == 0 {
                return Ok(Some(items));
            }
            offset += count;
        }
    }

    async fn required(&self, path: &str, key: &str) -> Result<Vec<Value>, FetchError> {
        self.list(path, key)
            .await?
            .ok_or_else(|| FetchError::Status {
                status: 404,
                path: path.to_string(),
            })
    }

    /// The whole account, as the plan needs it.
    pub async fn account(&self, now: Timestamp) -> Result<Account, FetchError> {
        let since = now;
        let until = now + SignedDuration::from_hours(24 * COMPARED_DAYS);
        let year = now + SignedDuration::from_hours(24 * 366);
        let users = self
            .required(
                "/users?include[]=contact_methods&include[]=notification_rules&include[]=teams",
                "users",
            )
            .await?;
        let teams = self.list("/teams", "teams").await?.unwrap_or_default();
        let mut schedules = Vec::new();
        for listed in self.required("/schedules", "schedules").await? {
            let Some(id) = listed["id"].as_str() else {
                continue;
            };
            let id = url_segment(id);
            let Some(doc) = self
                .get(&format!("/schedules/{id}?since={since}&until={until}"))
                .await?
            else {
                continue;
            };
            let overrides = self
                .get(&format!(
                    "/schedules/{id}/overrides?since={since}&until={year}&overflow=true"
                ))
                .await?
                .map(|it| it["overrides"].as_array().cloned().unwrap_or_default())
                .unwrap_or_default();
            schedules.push((doc["schedule"].clone(), overrides));
        }
        // Shift-based schedules are not in `/schedules`; an account without them may not
        // have the endpoint at all.
        let v3_schedules = self
            .list("/v3/schedules", "schedules")
            .await?
            .unwrap_or_default();
        let escalation_policies = self
            .required("/escalation_policies", "escalation_policies")
            .await?;
        let services = self
            .required(
                "/services?include[]=integrations&include[]=teams",
                "services",
            )
            .await?;
        Ok(Account {
            users,
            teams,
            schedules,
            v3_schedules,
            escalation_policies,
            services,
        })
    }
}

/// An id as one path segment: PagerDuty's ids are letters and digits; anything else is
/// percent-encoded so it cannot change the path.
fn url_segment(id: &str) -> String {
    id.bytes()
        .map(|it| {
            if it.is_ascii_alphanumeric() || it == b'-' || it == b'_' {
                char::from(it).to_string()
            } else {
                format!("%{it:02X}")
            }
        })
        .collect()
}
