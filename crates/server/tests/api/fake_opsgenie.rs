//! A local Opsgenie REST API over an account kept in memory (loaded from the CLI's fixtures):
//! `Authorization: GenieKey …` (else 401 with Opsgenie's error body), answers wrapped as
//! `{"data", "took", "requestId"}`, lists paged two at a time with `paging.next` as a full
//! URL (so a client must follow it), each user's contacts, notification rules and their steps
//! at their own paths, teams with routing rules, schedules with overrides and timeline, and
//! one 429 as Opsgenie answers past its rate limit. A request off these rules is recorded as a
//! violation; tests assert there are none.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const KEY: &str = "5f1e3b2a-9c8d-4e7f-a6b5-c4d3e2f1a0b9";

#[derive(Default)]
pub struct Account {
    pub users: Vec<Value>,
    pub teams: Vec<Value>,
    /// Each schedule, its overrides and its timeline, by id.
    pub schedules: Vec<(Value, Vec<Value>, Value)>,
    pub escalations: Vec<Value>,
    pub integrations: Vec<Value>,
    pub requests: Vec<String>,
    pub violations: Vec<String>,
    pub limit_next: Option<String>,
    pub rate_limited: usize,
}

#[derive(Clone)]
pub struct FakeOpsgenie {
    pub url: String,
    pub account: Arc<Mutex<Account>>,
}

fn read(path: &std::path::Path) -> Value {
    let value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    value["data"].clone()
}

impl FakeOpsgenie {
    pub async fn start(dir: &std::path::Path) -> FakeOpsgenie {
        let list = |file: &str| {
            read(&dir.join(file))
                .as_array()
                .cloned()
                .unwrap_or_default()
        };
        let mut account = Account {
            users: list("users.json"),
            teams: list("teams.json"),
            escalations: list("escalations.json"),
            integrations: list("integrations.json"),
            limit_next: Some("/v2/escalations".into()),
            ..Account::default()
        };
        let mut files: Vec<_> = std::fs::read_dir(dir.join("schedules"))
            .unwrap()
            .map(|it| it.unwrap().path())
            .filter(|it| {
                it.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .matches('.')
                    .count()
                    == 1
            })
            .collect();
        files.sort();
        for path in files {
            let doc = read(&path);
            let overrides = read(&path.with_extension("overrides.json"))
                .as_array()
                .cloned()
                .unwrap_or_default();
            let timeline = read(&path.with_extension("timeline.json"));
            account.schedules.push((doc, overrides, timeline));
        }
        let account = Arc::new(Mutex::new(account));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(answer)
            .with_state((account.clone(), url.clone()));
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeOpsgenie { url, account }
    }

    pub fn violations(&self) -> Vec<String> {
        self.account.lock().unwrap().violations.clone()
    }
}

fn data(value: Value) -> Response {
    axum::Json(
        json!({"data": value, "took": 0.003, "requestId": "8d2b6f0e-3c1a-4b5d-9e7f-0a1b2c3d4e5f"}),
    )
    .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"message": message, "took": 0.001, "requestId": "8d2b6f0e-3c1a-4b5d-9e7f-0a1b2c3d4e60"})),
    )
        .into_response()
}

/// A page of two from `offset`, with `paging.next` while more remain.
fn page(items: &[Value], path: &str, query: &HashMap<String, String>, base: &str) -> Response {
    let offset: usize = query
        .get("offset")
        .and_then(|it| it.parse().ok())
        .unwrap_or(0);
    let chunk: Vec<Value> = items.iter().skip(offset).take(2).cloned().collect();
    let mut body = json!({"data": chunk, "took": 0.004, "requestId": "8d2b6f0e-3c1a-4b5d-9e7f-0a1b2c3d4e61",
        "totalCount": items.len()});
    if offset + 2 < items.len() {
        body["paging"] = json!({"next": format!("{base}{path}?limit=2&offset={}", offset + 2),
            "first": format!("{base}{path}?limit=2&offset=0")});
    }
    axum::Json(body).into_response()
}

async fn answer(
    State((account, base)): State<(Arc<Mutex<Account>>, String)>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut account = account.lock().unwrap();
    let path = uri.path().to_string();
    account.requests.push(uri.to_string());
    let query: HashMap<String, String> = query
        .as_deref()
        .map(|it| {
            url::form_urlencoded::parse(it.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    if headers.get("authorization").and_then(|it| it.to_str().ok())
        != Some(&format!("GenieKey {KEY}"))
    {
        return error(StatusCode::UNAUTHORIZED, "Could not authenticate");
    }
    if account.limit_next.as_deref() == Some(path.as_str()) {
        account.limit_next = None;
        account.rate_limited += 1;
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "You are making too many requests!",
        );
        response
            .headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        return response;
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let user = |id: &str| account.users.iter().find(|it| it["id"] == id).cloned();
    match parts.as_slice() {
        ["v2", "users"] => {
            let listed: Vec<Value> = account
                .users
                .iter()
                .map(|it| {
                    let mut it = it.clone();
                    let object = it.as_object_mut().unwrap();
                    object.remove("contacts");
                    object.remove("notification_rules");
                    it
                })
                .collect();
            page(&listed, &path, &query, &base)
        }
        ["v2", "users", id, "contacts"] => match user(id) {
            Some(it) => data(it["contacts"].clone()),
            None => error(StatusCode::NOT_FOUND, "User not found"),
        },
        ["v2", "users", id, "notification-rules"] => match user(id) {
            Some(it) => {
                let summaries: Vec<Value> = it["notification_rules"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|rule| json!({"id": rule["id"], "name": rule["name"], "actionType": rule["actionType"],
                        "order": rule["order"], "enabled": rule["enabled"]}))
                    .collect();
                page(&summaries, &path, &query, &base)
            }
            None => error(StatusCode::NOT_FOUND, "User not found"),
        },
        ["v2", "users", id, "notification-rules", rule, rest @ ..] => {
            let found = user(id).and_then(|it| {
                it["notification_rules"]
                    .as_array()?
                    .iter()
                    .find(|it| it["id"] == *rule)
                    .cloned()
            });
            match (found, rest) {
                (Some(rule), []) => {
                    let mut rule = rule.clone();
                    rule.as_object_mut().unwrap().remove("steps");
                    data(rule)
                }
                (Some(rule), ["steps"]) => data(rule["steps"].clone()),
                _ => error(StatusCode::NOT_FOUND, "Notification rule not found"),
            }
        }
        ["v2", "teams"] => {
            let listed: Vec<Value> = account
                .teams
                .iter()
                .map(|it| json!({"id": it["id"], "name": it["name"], "description": it["description"]}))
                .collect();
            data(Value::Array(listed))
        }
        ["v2", "teams", id, rest @ ..] => {
            let Some(team) = account.teams.iter().find(|it| it["id"] == *id).cloned() else {
                return error(StatusCode::NOT_FOUND, "Team not found");
            };
            match rest {
                [] => {
                    let mut team = team.clone();
                    team.as_object_mut().unwrap().remove("routing_rules");
                    data(team)
                }
                ["routing-rules"] => data(team["routing_rules"].clone()),
                _ => error(StatusCode::NOT_FOUND, "Not found"),
            }
        }
        ["v2", "schedules"] => {
            if query.get("expand").map(String::as_str) != Some("rotation") {
                account
                    .violations
                    .push("schedules were listed without their rotations".into());
            }
            data(Value::Array(
                account
                    .schedules
                    .iter()
                    .map(|(doc, _, _)| doc.clone())
                    .collect(),
            ))
        }
        ["v2", "schedules", id, rest @ ..] => {
            let Some((doc, overrides, timeline)) = account
                .schedules
                .iter()
                .find(|it| it.0["id"] == *id)
                .cloned()
            else {
                return error(StatusCode::NOT_FOUND, "Schedule not found");
            };
            match rest {
                [] => data(doc),
                ["overrides"] => data(Value::Array(overrides)),
                ["timeline"] => {
                    if !query.contains_key("interval") || !query.contains_key("date") {
                        account
                            .violations
                            .push(format!("{path}: a timeline without its interval and date"));
                    }
                    data(timeline)
                }
                _ => error(StatusCode::NOT_FOUND, "Not found"),
            }
        }
        ["v2", "escalations"] => data(Value::Array(account.escalations.clone())),
        ["v2", "integrations"] => {
            let listed: Vec<Value> = account
                .integrations
                .iter()
                .map(|it| json!({"id": it["id"], "name": it["name"], "type": it["type"], "enabled": it["enabled"],
                    "teamId": it["ownerTeam"]["id"]}))
                .collect();
            page(&listed, &path, &query, &base)
        }
        ["v2", "integrations", id] => {
            match account.integrations.iter().find(|it| it["id"] == *id) {
                Some(it) => data(it.clone()),
                None => error(StatusCode::NOT_FOUND, "Integration not found"),
            }
        }
        _ => {
            account.violations.push(format!("unknown path {path}"));
            error(StatusCode::NOT_FOUND, "Not found")
        }
    }
}
