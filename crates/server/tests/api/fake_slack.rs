//! A local Slack Web API that holds every request to Slack's published method facts
//! (`fixtures/slack-methods.json`, from slack-ruby/slack-api-ref, itself scraped from Slack's
//! reference): the method exists, the verb is the documented one, JSON only where Slack takes
//! JSON (with its charset), the token in the `Authorization` header, every required argument
//! present and no unknown one, channel names by Slack's rules. What breaks a rule is recorded
//! as a violation (tests assert there are none) and answered as Slack would refuse it. It keeps
//! channels and messages so it can answer like Slack, and scripted faults make it answer
//! `ratelimited` with `Retry-After`, an HTML 503, a Slack error, or accept a call and stall
//! past the client's timeout.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const BOT_USER: &str = "UFIREBREAK";
pub const BOT_ID: &str = "BFIREBREAK";

#[derive(Clone, Debug)]
pub enum Fault {
    /// 429 with `Retry-After: n` and `{"ok":false,"error":"ratelimited"}`.
    RateLimited(u64),
    /// An outage's HTML page, status 503.
    Html503,
    /// `{"ok":false,"error":…}` with status 200.
    Error(&'static str),
    /// Do the call, then answer only after this long (past the client's timeout).
    Stall(Duration),
}

#[derive(Clone, Debug, Default)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub creator: String,
    pub is_private: bool,
    pub archived: bool,
    pub topic: String,
    pub members: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Message {
    pub channel: String,
    pub ts: String,
    pub user: String,
    pub text: String,
    pub blocks: Value,
    pub metadata: Value,
    /// Edits applied by `chat.update`.
    pub edits: usize,
    /// Reaction name and who reacted.
    pub reactions: Vec<(String, Vec<String>)>,
}

#[derive(Default)]
pub struct FakeState {
    methods: Value,
    pub calls: Vec<(String, Value)>,
    pub violations: Vec<String>,
    pub channels: Vec<Channel>,
    pub messages: Vec<Message>,
    /// Ephemeral messages: (channel, user, text).
    pub ephemeral: Vec<(String, String, String)>,
    pub users: Vec<(String, String)>,
    faults: VecDeque<(String, Fault)>,
    next: u64,
    /// Socket Mode: the URL `apps.connections.open` gives, the current connection's sender,
    /// every acknowledgement received, and how many connections were made.
    socket_url: Option<String>,
    socket: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    pub acks: Vec<String>,
    pub connections: usize,
}

pub struct FakeSlack {
    /// What `[chat.slack] api_base_url` is set to.
    pub api: String,
    pub state: Arc<Mutex<FakeState>>,
    _server: tokio::task::JoinHandle<()>,
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let facts: Value =
            serde_json::from_str(include_str!("fixtures/slack-methods.json")).unwrap();
        let state = Arc::new(Mutex::new(FakeState {
            methods: facts["methods"].clone(),
            ..FakeState::default()
        }));
        let app = axum::Router::new()
            .route("/api/{method}", axum::routing::any(handle))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = format!("http://{}/api", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeSlack {
            api,
            state,
            _server: server,
        }
    }

    pub fn add_user(&self, id: &str, email: &str) {
        self.state
            .lock()
            .unwrap()
            .users
            .push((id.into(), email.into()));
    }

    pub fn add_channel(&self, id: &str, name: &str, creator: &str) {
        self.state.lock().unwrap().channels.push(Channel {
            id: id.into(),
            name: name.into(),
            creator: creator.into(),
            ..Channel::default()
        });
    }

    /// The next call of `method` meets `fault`.
    pub fn fault(&self, method: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .faults
            .push_back((method.into(), fault));
    }

    /// A person says something in a channel; its `ts`.
    pub fn human_message(&self, channel: &str, user: &str, text: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let ts = state.ts();
        state.messages.push(Message {
            channel: channel.into(),
            ts: ts.clone(),
            user: user.into(),
            text: text.into(),
            blocks: Value::Null,
            metadata: Value::Null,
            edits: 0,
            reactions: Vec::new(),
        });
        ts
    }

    /// Someone reacts to a message while nobody hears (no event is sent).
    pub fn react_silently(&self, channel: &str, ts: &str, user: &str, name: &str) {
        let mut state = self.state.lock().unwrap();
        if let Some(message) = state
            .messages
            .iter_mut()
            .find(|it| it.channel == channel && it.ts == ts)
        {
            message.reactions.push((name.into(), vec![user.into()]));
        }
    }

    pub fn channel_named(&self, name: &str) -> Option<Channel> {
        let state = self.state.lock().unwrap();
        state.channels.iter().find(|it| it.name == name).cloned()
    }

    /// The messages of a channel, oldest first.
    pub fn messages(&self, channel: &str) -> Vec<Message> {
        let state = self.state.lock().unwrap();
        state
            .messages
            .iter()
            .filter(|it| it.channel == channel)
            .cloned()
            .collect()
    }

    pub fn ephemeral_to(&self, user: &str) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state
            .ephemeral
            .iter()
            .filter(|it| it.1 == user)
            .map(|it| it.2.clone())
            .collect()
    }

    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state
            .calls
            .iter()
            .filter(|it| it.0 == method)
            .map(|it| it.1.clone())
            .collect()
    }

    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// Serves Socket Mode: a WebSocket that says `hello`, then sends what `push` is given,
    /// recording each acknowledgement.
    pub async fn serve_socket(&self) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/link", listener.local_addr().unwrap());
        self.state.lock().unwrap().socket_url = Some(url);
        let state = self.state.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    use futures_util::{SinkExt, StreamExt};
                    use tokio_tungstenite::tungstenite::Message;
                    let Ok(socket) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    let (mut sink, mut stream) = socket.split();
                    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
                    {
                        let mut state = state.lock().unwrap();
                        state.connections += 1;
                        state.socket = Some(tx);
                    }
                    let hello = r#"{"type":"hello","num_connections":1,"debug_info":{"host":"applink-test"},"connection_info":{"app_id":"A1"}}"#;
                    if sink.send(Message::text(hello)).await.is_err() {
                        return;
                    }
                    loop {
                        tokio::select! {
                            out = rx.recv() => match out {
                                Some(text) => if sink.send(Message::text(text)).await.is_err() { return },
                                None => return,
                            },
                            incoming = stream.next() => match incoming {
                                Some(Ok(Message::Text(text))) => {
                                    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                                    if let Some(id) = value["envelope_id"].as_str() {
                                        state.lock().unwrap().acks.push(id.to_string());
                                    }
                                }
                                Some(Ok(_)) => {}
                                _ => return,
                            },
                        }
                    }
                });
            }
        });
    }

    /// Sends a frame down the current Socket Mode connection.
    pub fn push(&self, frame: Value) {
        let state = self.state.lock().unwrap();
        state
            .socket
            .as_ref()
            .expect("a Socket Mode connection")
            .send(frame.to_string())
            .unwrap();
    }

    pub fn acks(&self) -> Vec<String> {
        self.state.lock().unwrap().acks.clone()
    }

    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }
}

impl FakeState {
    fn ts(&mut self) -> String {
        self.next += 1;
        format!("{}.{:06}", 1_800_000_000 + self.next, self.next)
    }
}

fn slack_error(error: &str) -> Response {
    axum::Json(json!({"ok": false, "error": error})).into_response()
}

fn ok(mut value: Value) -> Response {
    value["ok"] = json!(true);
    axum::Json(value).into_response()
}

/// The request's arguments: the query for GET, the form or JSON body for POST. Structured
/// arguments of a form body are JSON strings; they are decoded so every check sees one shape.
fn arguments(
    method_facts: &Value,
    verb: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
    violations: &mut Vec<String>,
    name: &str,
) -> Value {
    let form = |bytes: &[u8]| -> Value {
        let map: serde_json::Map<String, Value> = url::form_urlencoded::parse(bytes)
            .map(|(key, value)| {
                let value = match key.as_ref() {
                    "blocks" | "metadata" | "view" | "attachments" => {
                        serde_json::from_str(&value).unwrap_or(Value::String(value.into_owned()))
                    }
                    _ => Value::String(value.into_owned()),
                };
                (key.into_owned(), value)
            })
            .collect();
        Value::Object(map)
    };
    if *verb == Method::GET {
        return form(query.unwrap_or("").as_bytes());
    }
    let content_type = headers
        .get("content-type")
        .and_then(|it| it.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") {
        if method_facts["json_input_supported"] != true {
            violations.push(format!(
                "{name}: sent as JSON, which Slack does not take for it"
            ));
        }
        if !content_type.contains("charset=utf-8") {
            violations.push(format!(
                "{name}: JSON without charset=utf-8 (missing_charset)"
            ));
        }
        serde_json::from_slice(body).unwrap_or_else(|_| {
            violations.push(format!("{name}: body is not JSON"));
            json!({})
        })
    } else {
        form(body)
    }
}

fn check(
    name: &str,
    facts: &Value,
    verb: &Method,
    headers: &HeaderMap,
    args: &Value,
) -> Vec<String> {
    let mut wrong = Vec::new();
    let documented = facts["http_method"].as_str().unwrap_or("POST");
    if verb.as_str() != documented {
        wrong.push(format!(
            "{name}: called with {verb}, documented as {documented}"
        ));
    }
    let auth = headers
        .get("authorization")
        .and_then(|it| it.to_str().ok())
        .unwrap_or("");
    let prefix = if name == "apps.connections.open" {
        "Bearer xapp-"
    } else {
        "Bearer xoxb-"
    };
    if !auth.starts_with(prefix) {
        wrong.push(format!("{name}: no {prefix}… Authorization header"));
    }
    let known = facts["args"].as_object().cloned().unwrap_or_default();
    for key in args.as_object().into_iter().flatten().map(|it| it.0) {
        if !known.contains_key(key) {
            wrong.push(format!("{name}: unknown argument {key:?}"));
        }
    }
    for required in facts["required"].as_array().into_iter().flatten() {
        let required = required.as_str().unwrap_or_default();
        if required != "token" && args.get(required).is_none() {
            wrong.push(format!("{name}: required argument {required:?} missing"));
        }
    }
    if name == "chat.postMessage" && args.get("text").is_none() && args.get("blocks").is_none() {
        wrong.push("chat.postMessage: neither text nor blocks".into());
    }
    if name == "conversations.invite"
        && args["users"].as_str().unwrap_or("").split(',').count() > 100
    {
        wrong.push("conversations.invite: more than 100 users".into());
    }
    wrong
}

async fn handle(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(name): Path<String>,
    verb: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let (response, stall) = {
        let mut state = state.lock().unwrap();
        let Some(facts) = state.methods.get(&name).cloned() else {
            state
                .violations
                .push(format!("{name}: not a Slack method Firebreak should call"));
            return (StatusCode::NOT_FOUND, slack_error("unknown_method")).into_response();
        };
        let mut violations = Vec::new();
        let args = arguments(
            &facts,
            &verb,
            &headers,
            query.as_deref(),
            &body,
            &mut violations,
            &name,
        );
        violations.extend(check(&name, &facts, &verb, &headers, &args));
        state.calls.push((name.clone(), args.clone()));
        if !violations.is_empty() {
            state.violations.extend(violations);
            return slack_error("invalid_arguments");
        }
        let fault = state
            .faults
            .iter()
            .position(|it| it.0 == name)
            .and_then(|at| state.faults.remove(at))
            .map(|it| it.1);
        let stall = match fault {
            Some(Fault::RateLimited(seconds)) => {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("Retry-After", seconds.to_string())],
                    axum::Json(json!({"ok": false, "error": "ratelimited"})),
                )
                    .into_response();
            }
            Some(Fault::Html503) => {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [("Content-Type", "text/html")],
                    "<html><head><title>Server Error | Slack</title></head><body>Slack is down</body></html>",
                )
                    .into_response();
            }
            Some(Fault::Error(error)) => return slack_error(error),
            Some(Fault::Stall(wait)) => Some(wait),
            None => None,
        };
        (answer(&mut state, &name, &args), stall)
    };
    if let Some(wait) = stall {
        tokio::time::sleep(wait).await;
    }
    response
}

fn valid_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("invalid_name_required");
    }
    if name.chars().count() > 80 {
        return Err("invalid_name_maxlength");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err("invalid_name_specials");
    }
    if name.chars().all(|c| c == '-' || c == '_') {
        return Err("invalid_name_punctuation");
    }
    Ok(())
}

fn answer(state: &mut FakeState, name: &str, args: &Value) -> Response {
    let arg = |key: &str| args[key].as_str().unwrap_or_default().to_string();
    let flag = |key: &str| args[key] == true || args[key] == "true";
    match name {
        "auth.test" => {
            ok(json!({"user_id": BOT_USER, "bot_id": BOT_ID, "team_id": "T1", "user": "firebreak"}))
        }
        "conversations.create" => {
            let name = arg("name");
            if let Err(error) = valid_name(&name) {
                state.violations.push(format!(
                    "conversations.create: {name:?} breaks Slack's channel-name rules"
                ));
                return slack_error(error);
            }
            if state.channels.iter().any(|it| it.name == name) {
                return slack_error("name_taken");
            }
            let id = format!("C{:08}", state.channels.len() + 1);
            state.channels.push(Channel {
                id: id.clone(),
                name: name.clone(),
                creator: BOT_USER.into(),
                is_private: flag("is_private"),
                members: vec![BOT_USER.into()],
                ..Channel::default()
            });
            ok(
                json!({"channel": {"id": id, "name": name, "creator": BOT_USER, "is_private": flag("is_private")}}),
            )
        }
        "conversations.list" => {
            let channels: Vec<Value> = state
                .channels
                .iter()
                .filter(|it| !flag("exclude_archived") || !it.archived)
                .map(|it| json!({"id": it.id, "name": it.name, "creator": it.creator, "is_archived": it.archived, "is_private": it.is_private}))
                .collect();
            ok(json!({"channels": channels, "response_metadata": {"next_cursor": ""}}))
        }
        "conversations.unarchive" => ok(json!({})),
        "conversations.invite" => {
            let channel = arg("channel");
            let Some(found) = state.channels.iter_mut().find(|it| it.id == channel) else {
                return slack_error("channel_not_found");
            };
            let mut added = false;
            for user in arg("users").split(',').filter(|it| !it.is_empty()) {
                if !found.members.iter().any(|it| it == user) {
                    found.members.push(user.to_string());
                    added = true;
                }
            }
            if added {
                ok(json!({"channel": {"id": channel}}))
            } else {
                slack_error("already_in_channel")
            }
        }
        "conversations.setTopic" => {
            let channel = arg("channel");
            match state.channels.iter_mut().find(|it| it.id == channel) {
                Some(found) => {
                    found.topic = arg("topic");
                    ok(json!({}))
                }
                None => slack_error("channel_not_found"),
            }
        }
        "chat.postMessage" => {
            let channel = arg("channel");
            // A user id as the channel is the app's direct message with that user.
            let direct = state.users.iter().any(|it| it.0 == channel);
            if !direct && !state.channels.iter().any(|it| it.id == channel) {
                return slack_error("channel_not_found");
            }
            let ts = state.ts();
            state.messages.push(Message {
                channel: channel.clone(),
                ts: ts.clone(),
                user: BOT_USER.into(),
                text: arg("text"),
                blocks: args["blocks"].clone(),
                metadata: args["metadata"].clone(),
                edits: 0,
                reactions: Vec::new(),
            });
            ok(
                json!({"channel": channel, "ts": ts, "message": {"text": arg("text"), "bot_id": BOT_ID}}),
            )
        }
        "chat.update" => {
            let (channel, ts) = (arg("channel"), arg("ts"));
            match state
                .messages
                .iter_mut()
                .find(|it| it.channel == channel && it.ts == ts)
            {
                Some(found) => {
                    found.text = arg("text");
                    found.blocks = args["blocks"].clone();
                    found.edits += 1;
                    ok(json!({"channel": channel, "ts": ts}))
                }
                None => slack_error("message_not_found"),
            }
        }
        "chat.postEphemeral" => {
            state
                .ephemeral
                .push((arg("channel"), arg("user"), arg("text")));
            ok(json!({"message_ts": state.ts()}))
        }
        "chat.getPermalink" => ok(json!({
            "channel": arg("channel"),
            "permalink": format!("https://example.slack.com/archives/{}/p{}", arg("channel"), arg("message_ts").replace('.', "")),
        })),
        "conversations.history" => {
            let channel = arg("channel");
            let (oldest, latest) = (arg("oldest"), arg("latest"));
            let mut messages: Vec<Value> = state
                .messages
                .iter()
                .filter(|it| it.channel == channel)
                .filter(|it| oldest.is_empty() || it.ts >= oldest)
                .filter(|it| latest.is_empty() || it.ts <= latest)
                .map(|it| {
                    let mut message = json!({"type": "message", "ts": it.ts, "text": it.text});
                    if it.user == BOT_USER {
                        message["bot_id"] = json!(BOT_ID);
                    } else {
                        message["user"] = json!(it.user);
                    }
                    if !it.reactions.is_empty() {
                        message["reactions"] = json!(it
                            .reactions
                            .iter()
                            .map(|(name, users)| json!({"name": name, "users": users, "count": users.len()}))
                            .collect::<Vec<_>>());
                    }
                    if flag("include_all_metadata") && !it.metadata.is_null() {
                        message["metadata"] = it.metadata.clone();
                    }
                    message
                })
                .collect();
            messages.reverse();
            ok(json!({"messages": messages, "has_more": false}))
        }
        "users.lookupByEmail" => {
            let email = arg("email");
            match state.users.iter().find(|it| it.1 == email) {
                Some((id, _)) => ok(json!({"user": {"id": id}})),
                None => slack_error("users_not_found"),
            }
        }
        "users.info" => {
            let user = arg("user");
            match state.users.iter().find(|it| it.0 == user) {
                Some((id, email)) => ok(json!({"user": {"id": id, "profile": {"email": email}}})),
                None => slack_error("user_not_found"),
            }
        }
        "views.open" => ok(json!({"view": {"id": "V1"}})),
        "apps.connections.open" => match &state.socket_url {
            Some(url) => ok(json!({"url": url})),
            None => slack_error("socket_mode_not_enabled"),
        },
        _ => ok(json!({})),
    }
}
