//! A local PagerDuty REST API v2 over an account kept in memory (loaded from the CLI's
//! fixtures, changeable by a test): it holds every request to PagerDuty's published rules —
//! `Authorization: Token token=…` (else 401 with PagerDuty's error body), the v2 `Accept`
//! header, `limit`/`offset` pagination with `more` (pages of at most two here, so a client
//! must page; `offset + limit` past 10,000 is a 400), `since`/`until` on a schedule's
//! rendering and its overrides, `overflow=true` on overrides, the includes that inline
//! contact methods and notification rules — and answers one request with 429 and
//! `ratelimit-reset`, as PagerDuty does past 960 requests a minute. Breaking a rule is recorded
//! as a violation; tests assert there are none.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const TOKEN: &str = "y_NbAkKc66ryYTWUXYEu";

#[derive(Default)]
pub struct Account {
    /// Each list's items by its key (`users`, `teams`, `schedules`, `escalation_policies`,
    /// `services`, and `v3` for `/v3/schedules`).
    pub lists: HashMap<String, Vec<Value>>,
    /// Each schedule's `GET /schedules/{id}` document and its overrides.
    pub schedules: HashMap<String, (Value, Vec<Value>)>,
    /// Each shift-based schedule's `GET /v3/schedules/{id}` document.
    pub v3: HashMap<String, Value>,
    pub requests: Vec<String>,
    pub violations: Vec<String>,
    /// Answer the next request to this path with 429 (once).
    pub limit_next: Option<String>,
    pub rate_limited: usize,
}

#[derive(Clone)]
pub struct FakePagerDuty {
    pub url: String,
    pub account: Arc<Mutex<Account>>,
}

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

impl FakePagerDuty {
    /// Serves the account in `dir` (the CLI's fixtures' layout).
    pub async fn start(dir: &std::path::Path) -> FakePagerDuty {
        let mut account = Account::default();
        for (file, key) in [
            ("users.json", "users"),
            ("teams.json", "teams"),
            ("escalation_policies.json", "escalation_policies"),
            ("services.json", "services"),
            ("v3_schedules.json", "v3"),
        ] {
            let value = read(&dir.join(file));
            let items_key = if key == "v3" { "schedules" } else { key };
            account.lists.insert(
                key.to_string(),
                value[items_key].as_array().cloned().unwrap_or_default(),
            );
        }
        let v3 = account.lists.get("v3").cloned().unwrap_or_default();
        account.lists.insert(
            "v3".into(),
            v3.iter()
                .map(|it| json!({"id": it["id"], "type": it["type"], "name": it["name"]}))
                .collect(),
        );
        for doc in v3 {
            account
                .v3
                .insert(doc["id"].as_str().unwrap().to_string(), doc);
        }
        let mut listed = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(dir.join("schedules"))
            .unwrap()
            .map(|it| it.unwrap().path())
            .collect();
        files.sort();
        for path in files {
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            if name.ends_with(".overrides.json") {
                continue;
            }
            let doc = read(&path)["schedule"].clone();
            let overrides_path = path.with_file_name(name.replace(".json", ".overrides.json"));
            let overrides = if overrides_path.exists() {
                read(&overrides_path)["overrides"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            let id = doc["id"].as_str().unwrap().to_string();
            listed.push(json!({"id": id, "type": "schedule", "name": doc["name"], "time_zone": doc["time_zone"]}));
            account.schedules.insert(id, (doc, overrides));
        }
        account.lists.insert("schedules".into(), listed);
        account.limit_next = Some("/escalation_policies".into());
        let account = Arc::new(Mutex::new(account));
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(account.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakePagerDuty { url, account }
    }

    pub fn violations(&self) -> Vec<String> {
        self.account.lock().unwrap().violations.clone()
    }
}

fn error(status: StatusCode, message: &str, code: u32) -> Response {
    (
        status,
        axum::Json(json!({"error": {"message": message, "code": code}})),
    )
        .into_response()
}

async fn answer(
    State(account): State<Arc<Mutex<Account>>>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut account = account.lock().unwrap();
    let path = uri.path().to_string();
    account.requests.push(uri.to_string());
    let query: Vec<(String, String)> = query
        .as_deref()
        .map(|it| {
            url::form_urlencoded::parse(it.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let includes: Vec<String> = query
        .iter()
        .filter(|(key, _)| key == "include[]")
        .map(|(_, value)| value.clone())
        .collect();
    if headers.get("authorization").and_then(|it| it.to_str().ok())
        != Some(&format!("Token token={TOKEN}"))
    {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", 2006);
    }
    if headers.get("accept").and_then(|it| it.to_str().ok())
        != Some("application/vnd.pagerduty+json;version=2")
    {
        account
            .violations
            .push(format!("{path}: no v2 Accept header"));
    }
    if account.limit_next.as_deref() == Some(path.as_str()) {
        account.limit_next = None;
        account.rate_limited += 1;
        let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Rate Limit Exceeded", 2020);
        let headers = response.headers_mut();
        headers.insert("ratelimit-limit", HeaderValue::from_static("960"));
        headers.insert("ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("ratelimit-reset", HeaderValue::from_static("1"));
        return response;
    }
    let list_key = match path.as_str() {
        "/users" => Some("users"),
        "/teams" => Some("teams"),
        "/schedules" => Some("schedules"),
        "/escalation_policies" => Some("escalation_policies"),
        "/services" => Some("services"),
        "/v3/schedules" => Some("v3"),
        _ => None,
    };
    let mut response = if let Some(key) = list_key {
        let limit: usize = param("limit").and_then(|it| it.parse().ok()).unwrap_or(25);
        let offset: usize = param("offset").and_then(|it| it.parse().ok()).unwrap_or(0);
        let max = if key == "v3" { 1000 } else { 100 };
        if limit == 0 || limit > max || offset + limit > 10_000 {
            return error(StatusCode::BAD_REQUEST, "Invalid Input Provided", 2001);
        }
        if key == "users"
            && !(includes.iter().any(|it| it == "contact_methods")
                && includes.iter().any(|it| it == "notification_rules"))
        {
            account
                .violations
                .push("users were listed without their contact methods and rules".into());
        }
        if key == "services" && !includes.iter().any(|it| it == "integrations") {
            account
                .violations
                .push("services were listed without their integrations".into());
        }
        // Pages of at most two, so every client must follow `more`.
        let page_size = limit.min(2);
        let items = account.lists.get(key).cloned().unwrap_or_default();
        let page: Vec<Value> = items.iter().skip(offset).take(page_size).cloned().collect();
        let more = offset + page.len() < items.len();
        let items_key = if key == "v3" { "schedules" } else { key };
        axum::Json(json!({items_key: page, "limit": page_size, "offset": offset, "more": more, "total": null}))
            .into_response()
    } else if let Some(id) = path.strip_prefix("/v3/schedules/") {
        if !includes.iter().any(|it| it == "final_schedule")
            || param("since").is_none()
            || param("until").is_none()
        {
            account.violations.push(format!(
                "{path}: without include[]=final_schedule, since and until"
            ));
        }
        match account.v3.get(id) {
            Some(doc) => axum::Json(json!({"schedule": doc})).into_response(),
            None => return error(StatusCode::NOT_FOUND, "Not Found", 2100),
        }
    } else if let Some(rest) = path.strip_prefix("/schedules/") {
        let (id, overrides) = match rest.strip_suffix("/overrides") {
            Some(id) => (id, true),
            None => (rest, false),
        };
        if param("since").is_none() || param("until").is_none() {
            account
                .violations
                .push(format!("{path}: without since and until"));
        }
        let Some((doc, list)) = account.schedules.get(id).cloned() else {
            return error(StatusCode::NOT_FOUND, "Not Found", 2100);
        };
        if overrides {
            if param("overflow").as_deref() != Some("true") {
                account.violations.push(format!(
                    "{path}: overrides cut at the range (no overflow=true)"
                ));
            }
            axum::Json(json!({"overrides": list})).into_response()
        } else {
            axum::Json(json!({"schedule": doc})).into_response()
        }
    } else {
        account.violations.push(format!("unknown path {path}"));
        return error(StatusCode::NOT_FOUND, "Not Found", 2100);
    };
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from_static("960"));
    headers.insert("ratelimit-remaining", HeaderValue::from_static("900"));
    headers.insert("ratelimit-reset", HeaderValue::from_static("30"));
    response
}
