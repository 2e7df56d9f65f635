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

/// What the next requests to the provider meet, in order.
#[derive(Clone, Debug)]
pub enum Fault {
    /// An HTML 500, as an outage answers.
    Status500,
    /// Takes the message, then answers only after this long (past the client's timeout).
    Stall(std::time::Duration),
}

#[derive(Default)]
pub struct Log {
    pub sent: Vec<Sent>,
    pub pushes: Vec<Value>,
    pub violations: Vec<String>,
    pub faults: std::collections::VecDeque<Fault>,
}

#[derive(Clone, Default)]
pub struct FakePhone {
    pub log: Arc<Mutex<Log>>,
    pub base: String,
    /// Firebreak's public URL (what the provider is given and signs) and where it really
    /// listens, so callbacks reach the test server.
    pub link: Arc<Mutex<(String, String)>>,
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
        FakePhone {
            log,
            base,
            link: Arc::default(),
        }
    }

    /// Where Firebreak is: its public URL and the address it listens at.
    pub fn connect(&self, public: &str, local: &str) {
        *self.link.lock().unwrap() = (public.to_string(), local.to_string());
    }

    pub fn fault(&self, fault: Fault) {
        self.log.lock().unwrap().faults.push_back(fault);
    }

    /// Posts a callback as the provider does: form encoded, `X-Twilio-Signature` over the
    /// public URL it was given, sent to where Firebreak listens.
    pub async fn callback(&self, url: &str, params: &[(&str, &str)]) -> (StatusCode, String) {
        let (public, local) = self.link.lock().unwrap().clone();
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let signature = firebreak_integrations::twilio::signature(TOKEN, url, &params);
        let target = url.replacen(&public, &local, 1);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let response = reqwest::Client::new()
            .post(target)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("X-Twilio-Signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (
            StatusCode::from_u16(status.as_u16()).unwrap(),
            response.text().await.unwrap(),
        )
    }

    fn by_sid(&self, sid: &str) -> Sent {
        self.sent().into_iter().find(|it| it.sid == sid).unwrap()
    }

    /// Taps a push notification's button as the ntfy app does: the `http` action's method,
    /// headers and body, to its URL (which reaches Firebreak where it listens).
    pub async fn tap(&self, push: &Value, label: &str) -> (StatusCode, Value) {
        let action = push["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|it| it["label"] == label)
            .unwrap_or_else(|| panic!("no {label} button in {push}"))
            .clone();
        assert_eq!(action["action"], "http", "{action}");
        let (public, local) = self.link.lock().unwrap().clone();
        let url = action["url"].as_str().unwrap().replacen(&public, &local, 1);
        let method = action["method"].as_str().unwrap_or("POST");
        let mut request = reqwest::Client::new()
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        if let Some(headers) = action["headers"].as_object() {
            for (name, value) in headers {
                request = request.header(name, value.as_str().unwrap_or_default());
            }
        }
        if let Some(body) = action["body"].as_str() {
            request = request.body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A delivery report for a message or call to its `StatusCallback`.
    pub async fn report(&self, sid: &str, status: &str, error_code: Option<&str>) -> StatusCode {
        let sent = self.by_sid(sid);
        let url = sent.get("StatusCallback").unwrap().to_string();
        let to = sent.get("To").unwrap().to_string();
        let (sid_name, status_name) = if sid.starts_with("SM") {
            ("MessageSid", "MessageStatus")
        } else {
            ("CallSid", "CallStatus")
        };
        let mut params = vec![
            (sid_name, sid),
            (status_name, status),
            ("AccountSid", SID),
            ("From", FROM),
            ("To", to.as_str()),
            ("ApiVersion", "2010-04-01"),
        ];
        if let Some(code) = error_code {
            params.push(("ErrorCode", code));
        }
        self.callback(&url, &params).await.0
    }

    /// An SMS from `from` to the paging number: the number's incoming-message webhook.
    pub async fn text_in(&self, from: &str, body: &str) -> String {
        let public = self.link.lock().unwrap().0.clone();
        let (status, answer) = self
            .callback(
                &format!("{public}/integrations/twilio/sms"),
                &[
                    ("MessageSid", "SM99999999999999999999999999999999"),
                    ("SmsSid", "SM99999999999999999999999999999999"),
                    ("AccountSid", SID),
                    ("From", from),
                    ("To", FROM),
                    ("Body", body),
                    ("NumMedia", "0"),
                    ("NumSegments", "1"),
                    ("SmsStatus", "received"),
                    ("ApiVersion", "2010-04-01"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }

    fn call_params(&self, sid: &str) -> Vec<(String, String)> {
        let sent = self.by_sid(sid);
        [
            ("CallSid", sid),
            ("AccountSid", SID),
            ("Direction", "outbound-api"),
            ("CallStatus", "in-progress"),
            ("From", FROM),
            ("To", sent.get("To").unwrap()),
            ("ApiVersion", "2010-04-01"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
    }

    /// The call is answered: the provider fetches its words from the call's `Url`.
    pub async fn answer(&self, sid: &str) -> String {
        let url = self.by_sid(sid).get("Url").unwrap().to_string();
        let params = self.call_params(sid);
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let (status, twiml) = self.callback(&url, &pairs).await;
        assert_eq!(status, StatusCode::OK, "{twiml}");
        twiml
    }

    /// A key pressed while `twiml`'s `<Gather>` listens: posted to its `action`.
    pub async fn press(&self, sid: &str, twiml: &str, digit: &str) -> String {
        let action = twiml
            .split("<Gather ")
            .nth(1)
            .and_then(|it| it.split("action=\"").nth(1))
            .and_then(|it| it.split('"').next())
            .unwrap_or_else(|| panic!("no <Gather action> in {twiml}"))
            .replace("&amp;", "&");
        let mut params = self.call_params(sid);
        params.push(("Digits".into(), digit.into()));
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let (status, answer) = self.callback(&action, &pairs).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
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
    let (response, wait) = respond(&log, &sid, &resource, &headers, &body);
    if let Some(wait) = wait {
        tokio::time::sleep(wait).await;
    }
    response
}

/// The answer to a create, and how long to hold it back (a stall).
fn respond(
    log: &Mutex<Log>,
    sid: &str,
    resource: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> (Response, Option<std::time::Duration>) {
    let (sid, resource) = (sid.to_string(), resource.to_string());
    let mut problems = Vec::new();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
    );
    let auth_ok =
        headers.get("authorization").and_then(|it| it.to_str().ok()) == Some(expected.as_str());
    if !auth_ok || sid != SID {
        return ((
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})),
        )
            .into_response(), None);
    }
    if headers.get("content-type").and_then(|it| it.to_str().ok())
        != Some("application/x-www-form-urlencoded")
    {
        problems.push("not form encoded".to_string());
    }
    let form = firebreak_integrations::twilio::form_params(body);
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
            (
                StatusCode::BAD_REQUEST,
                Json(json!({"code": 21000, "message": problems.join("; "), "status": 400})),
            )
                .into_response(),
            None,
        );
    }
    match log.faults.pop_front() {
        Some(Fault::Status500) => {
            return (
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [("content-type", "text/html")],
                    "<html><body>Internal Server Error</body></html>",
                )
                    .into_response(),
                None,
            );
        }
        Some(Fault::Stall(wait)) => {
            // The message is taken (the phone gets it), the answer comes too late.
            let sid = format!("{prefix}{:032x}", log.sent.len() + 1);
            log.sent.push(Sent {
                resource: resource.clone(),
                sid,
                form: form.clone(),
            });
            return (StatusCode::CREATED.into_response(), Some(wait));
        }
        None => {}
    }
    if let Some((_, status, code, message)) = REFUSED.iter().find(|it| it.0 == to) {
        return ((
            StatusCode::from_u16(*status).unwrap(),
            Json(json!({"code": code, "message": message,
                "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status})),
        )
            .into_response(), None);
    }
    let sid = format!("{prefix}{:032x}", log.sent.len() + 1);
    log.sent.push(Sent {
        resource: resource.clone(),
        sid: sid.clone(),
        form: form.clone(),
    });
    let date = "Sun, 06 Dec 2026 03:00:00 +0000";
    (
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
        .into_response(),
        None,
    )
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
