//! Reading an account from the vendor's REST API, one request at a time, waiting out a 429 for
//! as long as the vendor says (`ratelimit-reset`, `Retry-After`) and a 5xx for a second, a few
//! times. PagerDuty's lists page by `limit`, `offset` and `more` (it refuses `offset + limit`
//! past 10,000); Opsgenie's by `paging.next`. Each schedule is read with the vendor's own
//! rendering of the next 90 days (the proof the plan compares against) and its overrides.
//! Every URL goes through the outbound policy.

use std::time::Duration;

use firebreak_core::import::{opsgenie, pagerduty};
use firebreak_integrations::outbound::Outbound;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::settings::Secret;

/// PagerDuty's REST API (the EU region's is `https://api.eu.pagerduty.com`).
pub const PAGERDUTY_API_URL: &str = "https://api.pagerduty.com";
/// Opsgenie's REST API (the EU region's is `https://api.eu.opsgenie.com`).
pub const OPSGENIE_API_URL: &str = "https://api.opsgenie.com";

/// How far ahead schedules are rendered and compared.
pub const COMPARED_DAYS: i64 = 90;

const PAGE: usize = 100;
/// PagerDuty's own limit on `offset + limit`.
const MAX_OFFSET: usize = 10_000;
/// Tries of one request answered 429 or 5xx.
const TRIES: u32 = 6;
/// The longest wait for a rate limit to reset.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Why the account could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{vendor} refused the key ({status}); {hint}")]
    Refused {
        vendor: &'static str,
        status: u16,
        hint: &'static str,
    },
    #[error("{0}")]
    Url(String),
    #[error("{vendor} answered {status} to GET {path}")]
    Status {
        vendor: &'static str,
        status: u16,
        path: String,
    },
    #[error("could not read {path} from {vendor}: {why}")]
    Unreachable {
        vendor: &'static str,
        path: String,
        why: String,
    },
    #[error("{0} holds more than the vendor lets a list be read")]
    TooMany(String),
}

/// A vendor's REST API with its key.
pub struct Api {
    http: Outbound,
    base: String,
    vendor: &'static str,
    /// The `Authorization` header.
    authorization: Secret,
    accept: &'static str,
    /// What to say when the key is refused.
    hint: &'static str,
}

impl Api {
    /// PagerDuty's REST API v2 with an API key (`Authorization: Token token=…`).
    pub fn pagerduty(http: Outbound, base: &str, token: &Secret) -> Api {
        Api {
            http,
            base: base.trim_end_matches('/').to_string(),
            vendor: "PagerDuty",
            authorization: Secret::new(format!("Token token={}", token.expose().trim())),
            accept: "application/vnd.pagerduty+json;version=2",
            hint: "use an account's REST API key (read-only is enough)",
        }
    }

    /// Opsgenie's REST API with an API integration's key (`Authorization: GenieKey …`).
    pub fn opsgenie(http: Outbound, base: &str, key: &Secret) -> Api {
        Api {
            http,
            base: base.trim_end_matches('/').to_string(),
            vendor: "Opsgenie",
            authorization: Secret::new(format!("GenieKey {}", key.expose().trim())),
            accept: "application/json",
            hint: "use an API integration's key with configuration access (not restricted to a team)",
        }
    }

    /// One request; a 429 or 5xx is tried again after the wait the vendor asks for.
    async fn get(&self, path: &str) -> Result<Option<Value>, FetchError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let request = self
                .http
                .request(reqwest::Method::GET, &format!("{}{path}", self.base))
                .map_err(|err| FetchError::Url(format!("the API URL: {err}")))?
                .header("Authorization", self.authorization.expose())
                .header("Accept", self.accept);
            let unreachable = |why: String| FetchError::Unreachable {
                vendor: self.vendor,
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
            let reset = Duration::from_secs(
                header("ratelimit-reset")
                    .or(header("retry-after"))
                    .unwrap_or(1),
            )
            .min(MAX_WAIT);
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
                401 | 403 => {
                    return Err(FetchError::Refused {
                        vendor: self.vendor,
                        status,
                        hint: self.hint,
                    });
                }
                404 => return Ok(None),
                429 | 500..=599 if tries < TRIES => {
                    let wait = if status == 429 {
                        reset
                    } else {
                        Duration::from_secs(1)
                    };
                    tracing::info!(
                        vendor = self.vendor,
                        path,
                        status,
                        ?wait,
                        "the vendor asks to wait"
                    );
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    return Err(FetchError::Status {
                        vendor: self.vendor,
                        status,
                        path: path.to_string(),
                    });
                }
            }
        }
    }

    /// Every item of a PagerDuty list, page by page (`None`: the API has no such list).
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
                vendor: self.vendor,
                status: 404,
                path: path.to_string(),
            })
    }

    /// A whole PagerDuty account, as the plan needs it.
    pub async fn pagerduty_account(
        &self,
        now: Timestamp,
    ) -> Result<pagerduty::Account, FetchError> {
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
        let mut v3_schedules = Vec::new();
        for listed in self
            .list("/v3/schedules", "schedules")
            .await?
            .unwrap_or_default()
        {
            let Some(id) = listed["id"].as_str().map(url_segment) else {
                continue;
            };
            if let Some(mut doc) = self
                .get(&format!(
                    "/v3/schedules/{id}?include[]=final_schedule&since={since}&until={until}"
                ))
                .await?
            {
                v3_schedules.push(doc["schedule"].take());
            }
        }
        let escalation_policies = self
            .required("/escalation_policies", "escalation_policies")
            .await?;
        let services = self
            .required(
                "/services?include[]=integrations&include[]=teams",
                "services",
            )
            .await?;
        Ok(pagerduty::Account {
            users,
            teams,
            schedules,
            v3_schedules,
            escalation_policies,
            services,
        })
    }

    /// Every item of an Opsgenie list (`data`), following `paging.next` on the same host.
    async fn data_list(&self, path: &str) -> Result<Vec<Value>, FetchError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            if pages > 100 {
                return Err(FetchError::TooMany(path));
            }
            let Some(page) = self.get(&path).await? else {
                return Err(FetchError::Status {
                    vendor: self.vendor,
                    status: 404,
                    path,
                });
            };
            items.extend(page["data"].as_array().cloned().unwrap_or_default());
            next = page["paging"]["next"]
                .as_str()
                .and_then(|it| self.same_host(it));
        }
        Ok(items)
    }

    /// `next` as a path on this API, if it points at it (never somewhere else).
    fn same_host(&self, next: &str) -> Option<String> {
        let rest = next.strip_prefix(&self.base)?;
        rest.starts_with('/').then(|| rest.to_string())
    }

    async fn data(&self, path: &str) -> Result<Value, FetchError> {
        Ok(self
            .get(path)
            .await?
            .map(|mut it| it["data"].take())
            .unwrap_or(Value::Null))
    }

    /// A whole Opsgenie account, as the plan needs it.
    pub async fn opsgenie_account(&self, now: Timestamp) -> Result<opsgenie::Account, FetchError> {
        let mut users = Vec::new();
        for mut user in self.data_list("/v2/users?limit=100").await? {
            let Some(id) = user["id"].as_str().map(url_segment) else {
                continue;
            };
            user["contacts"] = self.data(&format!("/v2/users/{id}/contacts")).await?;
            let mut rules = Vec::new();
            for mut rule in self
                .data_list(&format!("/v2/users/{id}/notification-rules"))
                .await?
            {
                if rule["actionType"].as_str() != Some("create-alert") {
                    continue;
                }
                let Some(rule_id) = rule["id"].as_str().map(url_segment) else {
                    continue;
                };
                let full = self
                    .data(&format!("/v2/users/{id}/notification-rules/{rule_id}"))
                    .await?;
                for field in ["criteria", "timeRestriction", "enabled"] {
                    if !full[field].is_null() {
                        rule[field] = full[field].clone();
                    }
                }
                rule["steps"] = self
                    .data(&format!(
                        "/v2/users/{id}/notification-rules/{rule_id}/steps"
                    ))
                    .await?;
                rules.push(rule);
            }
            user["notification_rules"] = Value::Array(rules);
            users.push(user);
        }
        let mut teams = Vec::new();
        for listed in self.data_list("/v2/teams").await? {
            let Some(id) = listed["id"].as_str().map(url_segment) else {
                continue;
            };
            let mut team = self.data(&format!("/v2/teams/{id}")).await?;
            if team.is_null() {
                continue;
            }
            team["routing_rules"] = self.data(&format!("/v2/teams/{id}/routing-rules")).await?;
            teams.push(team);
        }
        let until_days = COMPARED_DAYS;
        let mut schedules = Vec::new();
        for listed in self.data_list("/v2/schedules?expand=rotation").await? {
            let Some(id) = listed["id"].as_str().map(url_segment) else {
                continue;
            };
            let doc = self
                .data(&format!("/v2/schedules/{id}?identifierType=id"))
                .await?;
            if doc.is_null() {
                continue;
            }
            let overrides = self
                .data(&format!(
                    "/v2/schedules/{id}/overrides?scheduleIdentifierType=id"
                ))
                .await?
                .as_array()
                .cloned()
                .unwrap_or_default();
            let timeline = self
                .data(&format!(
                    "/v2/schedules/{id}/timeline?identifierType=id&interval={until_days}&intervalUnit=days&date={now}"
                ))
                .await?;
            schedules.push((doc, overrides, timeline));
        }
        let escalations = self.data_list("/v2/escalations").await?;
        let mut integrations = Vec::new();
        for listed in self.data_list("/v2/integrations").await? {
            let Some(id) = listed["id"].as_str().map(url_segment) else {
                continue;
            };
            let full = self.data(&format!("/v2/integrations/{id}")).await?;
            integrations.push(if full.is_null() { listed } else { full });
        }
        Ok(opsgenie::Account {
            users,
            teams,
            schedules,
            escalations,
            integrations,
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
