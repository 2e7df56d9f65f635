//! A local Twilio-shaped provider and a local ntfy server. The provider holds every request to
//! the documented shape (HTTP Basic with the account SID and token, form encoding, `To` and
//! `From` in E.164, exactly one of `Body` / `MediaUrl`, exactly one of `Url` / `Twiml`, an
//! absolute `StatusCallback`, `StatusCallbackEvent` repeated rather than comma-joined) and
//! records a violation for anything else; it answers 201 with a realistic resource, or — keyed
//! by the `To` number — Twilio's documented errors, 429 or a 500. ntfy checks the JSON publish
//! (topic, priority 1–5, at most three actions, the bearer token) and answers the stored
//! message. Tests then act as the phone: signed callbacks, replies, key presses and buttons.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

pub const SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "twilio-auth-token";
pub const FROM: &str = "+15005550006";
pub const NTFY_TOKEN: &str = "tk_testtoken";
/// `To` numbers the provider refuses: (number, HTTP status, code, message).
pub const REFUSED: [(&str, u16, i64, &str); 3] = [
    (
        "+15005550009",
        400,
        21614,
        "'To' number is not a valid mobile number",
    ),
    (
        "+15005550001",
        400,
        21211,
        "The 'To' number is not a valid phone number.",
    ),
    ("+15005550429", 429, 20429, "Too Many Requests"),
];

#[derive(Clone, Debug)]
pub struct Sent {
    /// `Messages.json` or `Calls.json`.
    pub resource: String,
    pub sid: String,
    pub form: Vec<(String, String)>,
}

impl Sent {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Default)]
pub struct Log {
    pub sent: Vec<Sent>,
    pub pushes: Vec<Value>,
    pub violations: Vec<String>,
}

#[derive(Clone, Default)]
pub struct FakePhone {
    pub log: Arc<Mutex<Log>>,
    pub base: String,
}

impl FakePhone {
    pub async fn start() -> FakePhone {
        let log: Arc<Mutex<Log>> = Arc::default();
        let app = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/{sid}/{resource}",
                axum::routing::post(create),
            )
            .route("/ntfy/", axum::routing::post(publish))
            .with_state(log.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakePhone { log, base }
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.log.lock().unwrap().sent.clone()
    }

    pub fn messages_to(&self, to: &str) -> Vec<Sent> {
        self.sent()
            .into_iter()
            .filter(|it| it.resource == "Messages.json" && it.get("To") == Some(to))
            .collect()
    }

    pub fn calls_to(&self, to: &str) -> Vec<Sent> {
        self.sent()
            .into_iter()
            .filter(|it| it.resource == "Calls.json" && it.get("To") == Some(to))
            .collect()
    }

    pub fn pushes(&self) -> Vec<Value> {
        self.log.lock().unwrap().pushes.clone()
    }

    pub fn violations(&self) -> Vec<String> {
        self.log.lock().unwrap().violations.clone()
    }
}

fn e164(text: &str) -> bool {
    firebreak_core::wake::is_e164(text)
}

async fn create(
    State(log): State<Arc<Mutex<Log>>>,
    Path((sid, resource)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut problems = Vec::new();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
    );
    let auth_ok =
        headers.get("authorization").and_then(|it| it.to_str().ok()) == Some(expected.as_str());
    if !auth_ok || sid != SID {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})),
        )
            .into_response();
    }
    if headers.get("content-type").and_then(|it| it.to_str().ok())
        != Some("application/x-www-form-urlencoded")
    {
        problems.push("not form encoded".to_string());
    }
    let form = firebreak_integrations::twilio::form_params(&body);
    let get = |name: &str| {
        form.iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect::<Vec<_>>()
    };
    let one = |name: &str| get(name).first().copied();
    let to = one("To").unwrap_or_default().to_string();
    if !e164(&to) {
        problems.push(format!("To {to:?} is not E.164"));
    }
    if let Some(callback) = one("StatusCallback")
        && !(callback.starts_with("https://") || callback.starts_with("http://"))
    {
        problems.push(format!("StatusCallback {callback:?} is not absolute"));
    }
    for (name, count) in form
        .iter()
        .fold(Vec::<(&str, usize)>::new(), |mut acc, (key, _)| {
            match acc.iter_mut().find(|(it, _)| *it == key.as_str()) {
                Some(entry) => entry.1 += 1,
                None => acc.push((key.as_str(), 1)),
            }
            acc
        })
    {
        if count > 1 && name != "StatusCallbackEvent" {
            problems.push(format!("{name} given {count} times"));
        }
    }
    let prefix = match resource.as_str() {
        "Messages.json" => {
            let from = one("From");
            let service = one("MessagingServiceSid");
            if from.is_some() == service.is_some() {
                problems.push("exactly one of From / MessagingServiceSid".into());
            }
            if from.is_some_and(|it| !e164(it)) {
                problems.push("From is not E.164".into());
            }
            let bodies =
                usize::from(one("Body").is_some()) + usize::from(one("MediaUrl").is_some());
            if bodies != 1 {
                problems.push("exactly one of Body / MediaUrl".into());
            }
            if one("Body").is_some_and(|it| it.chars().count() > 1600) {
                problems.push("Body over 1600 characters".into());
            }
            "SM"
        }
        "Calls.json" => {
            if !one("From").is_some_and(e164) {
                problems.push("a call needs an E.164 From".into());
            }
            let scripts = usize::from(one("Url").is_some()) + usize::from(one("Twiml").is_some());
            if scripts != 1 {
                problems.push("exactly one of Url / Twiml".into());
            }
            if get("StatusCallbackEvent").iter().any(|it| it.contains(',')) {
                problems.push("StatusCallbackEvent comma-joined".into());
            }
            "CA"
        }
        other => {
            problems.push(format!("unknown resource {other}"));
            "XX"
        }
    };
    let mut log = log.lock().unwrap();
    if !problems.is_empty() {
        log.violations.extend(problems.iter().cloned());
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"code": 21000, "message": problems.join("; "), "status": 400})),
        )
            .into_response();
    }
    if let Some((_, status, code, message)) = REFUSED.iter().find(|it| it.0 == to) {
        return (
            StatusCode::from_u16(*status).unwrap(),
            Json(json!({"code": code, "message": message,
                "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status})),
        )
            .into_response();
    }
    let sid = format!("{prefix}{:032x}", log.sent.len() + 1);
    log.sent.push(Sent {
        resource: resource.clone(),
        sid: sid.clone(),
        form: form.clone(),
    });
    let date = "Sun, 06 Dec 2026 03:00:00 +0000";
    (
        StatusCode::CREATED,
        Json(json!({
            "sid": sid, "account_sid": SID, "to": to, "from": one("From"),
            "body": one("Body"), "status": "queued", "direction": "outbound-api",
            "api_version": "2010-04-01", "date_created": date, "date_updated": date, "date_sent": null,
            "error_code": null, "error_message": null, "num_segments": "1", "price": null,
            "uri": format!("/2010-04-01/Accounts/{SID}/{resource}/{sid}.json"),
        })),
    )
        .into_response()
}

async fn publish(
    State(log): State<Arc<Mutex<Log>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut log = log.lock().unwrap();
    if headers.get("authorization").and_then(|it| it.to_str().ok())
        != Some(&format!("Bearer {NTFY_TOKEN}"))
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": 40101, "http": 401, "error": "unauthorized"})),
        )
            .into_response();
    }
    let priority_ok = body["priority"]
        .as_i64()
        .is_some_and(|it| (1..=5).contains(&it));
    let actions_ok = body["actions"].as_array().is_none_or(|it| it.len() <= 3);
    if body["topic"].as_str().is_none_or(str::is_empty) || !priority_ok || !actions_ok {
        log.violations.push(format!("bad ntfy publish {body}"));
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"code": 40007, "http": 400, "error": "invalid request"})),
        )
            .into_response();
    }
    log.pushes.push(body.clone());
    let id = format!("msg{}", log.pushes.len());
    Json(
        json!({"id": id, "time": 1_780_000_000, "expires": 1_780_043_200, "event": "message",
        "topic": body["topic"], "title": body["title"], "message": body["message"],
        "priority": body["priority"], "actions": body["actions"]}),
    )
    .into_response()
}
