//! Slack: the Web API calls a bot needs (JSON where Slack takes JSON, query strings for the
//! read methods), Block Kit for the card, and request signing (every inbound slash command,
//! event and interaction is verified on its raw body before it is parsed).
//!
//! Slack has no idempotency key for posts. Every post carries Firebreak's work id in its
//! message `metadata`; when an earlier try's outcome was unknown (a timeout after Slack may
//! have accepted it), the channel's recent history is searched for that id before posting
//! again. Channel creation is made idempotent the same way: a `name_taken` channel this bot
//! created is adopted, anyone else's gets a numbered name.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use firebreak_core::chat::Card;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::OnceCell;

use super::{ChatError, ChatPlatform, NewChannel, Outgoing, card_text, retry_after};
use crate::outbound::Outbound;

/// `metadata.event_type` of every message Firebreak posts.
pub const METADATA_TYPE: &str = "firebreak_work";

#[derive(Clone)]
pub struct SlackConfig {
    /// `xoxb-…`
    pub bot_token: String,
    /// `https://slack.com/api` (tests point it at a local fake).
    pub api_base_url: String,
    /// Channel id (`C…`) of the company-wide announcement channel.
    pub announcement_channel: Option<String>,
}

impl std::fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackConfig")
            .field("api_base_url", &self.api_base_url)
            .field("announcement_channel", &self.announcement_channel)
            .finish_non_exhaustive()
    }
}

/// A message read back from a channel's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryMessage {
    pub ts: String,
    pub user: String,
    pub text: String,
    /// Reaction name and who reacted.
    pub reactions: Vec<(String, Vec<String>)>,
}

/// Who the bot is (`auth.test`).
#[derive(Clone, Debug)]
pub struct Me {
    pub user_id: String,
    pub bot_id: String,
}

pub struct Slack {
    config: SlackConfig,
    http: Outbound,
    me: OnceCell<Me>,
    /// Slack user id → email, as `users.info` told (people's emails rarely change).
    emails: Mutex<HashMap<String, Option<String>>>,
}

/// Errors Slack answers that mean "already so": success for an idempotent call.
const ALREADY: &[&str] = &[
    "already_in_channel",
    "already_pinned",
    "already_reacted",
    "already_archived",
    "not_archived",
    "cant_invite_self",
];

/// Errors worth trying again.
const TRANSIENT: &[&str] = &[
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// How a call went wrong before Slack answered.
enum Failure {
    Chat(ChatError),
    /// The request was sent but no answer came in time: it may have been done.
    TimedOut,
}

impl Slack {
    pub fn new(config: SlackConfig, http: Outbound) -> Slack {
        Slack {
            config,
            http,
            me: OnceCell::new(),
            emails: Mutex::new(HashMap::new()),
        }
    }

    fn url(&self, method: &str) -> String {
        format!(
            "{}/{method}",
            self.config.api_base_url.trim_end_matches('/')
        )
    }

    /// A Web API call: read methods as GET with a query, the rest as JSON.
    async fn call_raw(&self, method: &str, args: &Value) -> Result<Value, Failure> {
        self.call_raw_as(method, args, &self.config.bot_token).await
    }

    async fn call_raw_as(&self, method: &str, args: &Value, token: &str) -> Result<Value, Failure> {
        let read = matches!(
            method,
            "users.lookupByEmail"
                | "users.info"
                | "conversations.history"
                | "conversations.info"
                | "conversations.list"
                | "chat.getPermalink"
        );
        let verb = if read { Method::GET } else { Method::POST };
        let mut url = self.url(method);
        if read {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (key, value) in args.as_object().into_iter().flatten() {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), String::from);
                query.append_pair(key, &text);
            }
            url = format!("{url}?{}", query.finish());
        }
        let mut request = self
            .http
            .request(verb, &url)
            .map_err(|err| Failure::Chat(ChatError::Dead(err.to_string())))?
            .bearer_auth(token);
        if !read {
            request = request
                .header("Content-Type", "application/json; charset=utf-8")
                .body(args.to_string());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) if err.is_timeout() => return Err(Failure::TimedOut),
            Err(err) => {
                return Err(Failure::Chat(ChatError::retry(crate::outbound::describe(
                    &err,
                ))));
            }
        };
        let status = response.status();
        let after = retry_after(&response);
        let text = match response.text().await {
            Ok(text) => text,
            Err(err) if err.is_timeout() => return Err(Failure::TimedOut),
            Err(err) => {
                return Err(Failure::Chat(ChatError::retry(crate::outbound::describe(
                    &err,
                ))));
            }
        };
        if status.as_u16() == 429 {
            return Err(Failure::Chat(ChatError::Retry {
                error: format!("{method}: ratelimited"),
                after: after.or(Some(Duration::from_secs(1))),
            }));
        }
        // An outage can answer an HTML page: never assume JSON on a 5xx.
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            return Err(Failure::Chat(ChatError::retry(format!(
                "{method}: Slack answered {status} without JSON"
            ))));
        };
        if status.is_server_error() {
            return Err(Failure::Chat(ChatError::retry(format!(
                "{method}: Slack answered {status}"
            ))));
        }
        if value["ok"] == true {
            return Ok(value);
        }
        let error = value["error"]
            .as_str()
            .unwrap_or("unknown_error")
            .to_string();
        if ALREADY.contains(&error.as_str()) {
            return Ok(value);
        }
        let said = match value["needed"].as_str() {
            Some(needed) => format!("{method}: {error} (needs the {needed} scope)"),
            None => format!("{method}: {error}"),
        };
        if TRANSIENT.contains(&error.as_str()) {
            Err(Failure::Chat(ChatError::Retry { error: said, after }))
        } else {
            Err(Failure::Chat(ChatError::Dead(said)))
        }
    }

    /// A call whose timeout is just another reason to try again (reads, idempotent writes).
    pub async fn call(&self, method: &str, args: Value) -> Result<Value, ChatError> {
        self.call_raw(method, &args).await.map_err(|err| match err {
            Failure::Chat(err) => err,
            Failure::TimedOut => {
                ChatError::retry(format!("{method}: Slack did not answer in time"))
            }
        })
    }

    /// A call with another token (Socket Mode's app-level `xapp-` token).
    pub async fn call_with_token(
        &self,
        method: &str,
        args: Value,
        token: &str,
    ) -> Result<Value, ChatError> {
        self.call_raw_as(method, &args, token)
            .await
            .map_err(|err| match err {
                Failure::Chat(err) => err,
                Failure::TimedOut => {
                    ChatError::retry(format!("{method}: Slack did not answer in time"))
                }
            })
    }

    /// Where Firebreak may connect.
    pub fn outbound_policy(&self) -> &firebreak_core::outbound::Policy {
        self.http.policy()
    }

    /// The bot's own ids (`auth.test`), which also prove the token works.
    pub async fn me(&self) -> Result<&Me, ChatError> {
        self.me
            .get_or_try_init(|| async {
                let value = self.call("auth.test", json!({})).await?;
                Ok(Me {
                    user_id: value["user_id"].as_str().unwrap_or_default().to_string(),
                    bot_id: value["bot_id"].as_str().unwrap_or_default().to_string(),
                })
            })
            .await
    }

    /// The email of a Slack user (`users.info`, scope `users:read.email`).
    pub async fn email_of(&self, user: &str) -> Result<Option<String>, ChatError> {
        if let Some(known) = self.emails.lock().ok().and_then(|it| it.get(user).cloned()) {
            return Ok(known);
        }
        let email = match self.call("users.info", json!({ "user": user })).await {
            Ok(value) => value["user"]["profile"]["email"].as_str().map(String::from),
            Err(ChatError::Dead(error)) if error.ends_with("user_not_found") => None,
            Err(err) => return Err(err),
        };
        if let Ok(mut cache) = self.emails.lock() {
            cache.insert(user.to_string(), email.clone());
        }
        Ok(email)
    }

    /// One message of a channel by its `ts`: author, text.
    pub async fn message(
        &self,
        channel: &str,
        ts: &str,
    ) -> Result<Option<(String, String)>, ChatError> {
        let value = self
            .call(
                "conversations.history",
                json!({"channel": channel, "latest": ts, "oldest": ts, "inclusive": true, "limit": 1}),
            )
            .await?;
        Ok(value["messages"]
            .as_array()
            .and_then(|it| it.first())
            .filter(|it| it["ts"] == ts)
            .map(|it| {
                (
                    it["user"]
                        .as_str()
                        .or(it["bot_id"].as_str())
                        .unwrap_or("")
                        .to_string(),
                    it["text"].as_str().unwrap_or("").to_string(),
                )
            }))
    }

    /// A channel's messages after `oldest` (a `ts`; empty: from the start), oldest first,
    /// each with its author, text and who reacted with what: (ts, user, text, reactions).
    pub async fn history_since(
        &self,
        channel: &str,
        oldest: &str,
    ) -> Result<Vec<HistoryMessage>, ChatError> {
        let mut args = json!({"channel": channel, "limit": 200});
        if !oldest.is_empty() {
            args["oldest"] = json!(oldest);
        }
        let value = self.call("conversations.history", args).await?;
        let mut messages: Vec<HistoryMessage> = value["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|it| {
                Some(HistoryMessage {
                    ts: it["ts"].as_str()?.to_string(),
                    user: it["user"].as_str().unwrap_or_default().to_string(),
                    text: it["text"].as_str().unwrap_or_default().to_string(),
                    reactions: it["reactions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|reaction| {
                            (
                                reaction["name"].as_str().unwrap_or_default().to_string(),
                                reaction["users"]
                                    .as_array()
                                    .into_iter()
                                    .flatten()
                                    .filter_map(|user| user.as_str().map(String::from))
                                    .collect(),
                            )
                        })
                        .collect(),
                })
            })
            .collect();
        messages.reverse();
        Ok(messages)
    }

    pub async fn permalink(&self, channel: &str, ts: &str) -> Option<String> {
        self.call(
            "chat.getPermalink",
            json!({"channel": channel, "message_ts": ts}),
        )
        .await
        .ok()
        .and_then(|it| it["permalink"].as_str().map(String::from))
    }

    /// A message only `user` sees, in `channel`.
    pub async fn ephemeral(&self, channel: &str, user: &str, text: &str) -> Result<(), ChatError> {
        self.call(
            "chat.postEphemeral",
            json!({"channel": channel, "user": user, "text": text}),
        )
        .await?;
        Ok(())
    }

    /// The `ts` of a message this bot posted with work id `key`, among the channel's recent
    /// messages.
    async fn find_posted(&self, channel: &str, key: &str) -> Result<Option<String>, ChatError> {
        let value = self
            .call(
                "conversations.history",
                json!({"channel": channel, "limit": 100, "include_all_metadata": true}),
            )
            .await?;
        Ok(value["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|it| {
                it["metadata"]["event_type"] == METADATA_TYPE
                    && it["metadata"]["event_payload"]["work_id"] == key
            })
            .and_then(|it| it["ts"].as_str().map(String::from)))
    }

    /// A channel by name, archived ones included (`conversations.list`, paginated).
    async fn find_channel(&self, name: &str) -> Result<Option<Value>, ChatError> {
        let mut cursor = String::new();
        for _ in 0..50 {
            let mut args = json!({
                "exclude_archived": false,
                "limit": 200,
                "types": "public_channel,private_channel",
            });
            if !cursor.is_empty() {
                args["cursor"] = json!(cursor);
            }
            let value = self.call("conversations.list", args).await?;
            if let Some(found) = value["channels"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|it| it["name"] == name)
            {
                return Ok(Some(found.clone()));
            }
            cursor = value["response_metadata"]["next_cursor"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if cursor.is_empty() {
                break;
            }
        }
        Ok(None)
    }
}

impl Slack {
    /// A page as a direct message from the bot, with Acknowledge and Resolve buttons whose
    /// value is the alert's id. Answers the message's `ts`.
    pub async fn page(
        &self,
        user: &str,
        text: &str,
        alert_id: &str,
        key: &str,
    ) -> Result<String, ChatError> {
        let blocks = json!([
            {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(text)}},
            {"type": "actions", "block_id": "page", "elements": [
                {"type": "button", "style": "danger", "text": {"type": "plain_text", "text": "Acknowledge"},
                 "action_id": "page:ack", "value": alert_id},
                {"type": "button", "text": {"type": "plain_text", "text": "Resolve"},
                 "action_id": "page:resolve", "value": alert_id},
            ]},
        ]);
        let args = json!({
            "channel": user,
            "text": text,
            "blocks": blocks,
            "metadata": {"event_type": METADATA_TYPE, "event_payload": {"work_id": key}},
        });
        let value = self.call("chat.postMessage", args).await?;
        value["ts"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| ChatError::retry("chat.postMessage answered no ts"))
    }
}

/// Slack's Block Kit for the card: the headline, the fields, the room's link and (in the
/// channel) the buttons, whose `value` is the incident's reference.
pub fn card_blocks(card: &Card, buttons: bool) -> Value {
    let mut blocks = vec![json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": format!("*{}*", mrkdwn(&card.headline))},
    })];
    if !card.fields.is_empty() {
        blocks.push(json!({
            "type": "section",
            "fields": card.fields.iter().map(|(label, value)| json!({
                "type": "mrkdwn", "text": format!("*{}*\n{}", mrkdwn(label), mrkdwn(value)),
            })).collect::<Vec<_>>(),
        }));
    }
    if !card.link.is_empty() {
        blocks.push(json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": format!("<{}|Open the incident room>", card.link)}],
        }));
    }
    if buttons && !card.buttons.is_empty() {
        blocks.push(json!({
            "type": "actions",
            "block_id": "incident",
            "elements": card.buttons.iter().map(|it| json!({
                "type": "button",
                "text": {"type": "plain_text", "text": it.label()},
                "action_id": format!("inc:{}", it.verb()),
                "value": card.reference,
            })).collect::<Vec<_>>(),
        }));
    }
    Value::Array(blocks)
}

/// `&`, `<`, `>` escaped as Slack's mrkdwn wants.
pub fn mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn message_args(message: Outgoing<'_>) -> Value {
    match message {
        Outgoing::Text(text) => json!({ "text": text }),
        Outgoing::Card(card) => json!({
            "text": card_text(card, "/inc"),
            "blocks": card_blocks(card, true),
        }),
        Outgoing::Announcement(card) => json!({
            "text": card_text(card, ""),
            "blocks": card_blocks(card, false),
        }),
    }
}

impl ChatPlatform for Slack {
    fn name(&self) -> &'static str {
        "slack"
    }

    async fn create_channel(&self, channel: &NewChannel<'_>) -> Result<String, ChatError> {
        let me = self.me().await?.user_id.clone();
        for n in 1..=20 {
            let name = if n == 1 {
                channel.name.to_string()
            } else {
                let suffix = format!("-{n}");
                let mut base = channel.name.to_string();
                base.truncate(firebreak_core::chat::MAX_CHANNEL_NAME - suffix.len());
                format!("{base}{suffix}")
            };
            match self
                .call(
                    "conversations.create",
                    json!({ "name": name, "is_private": channel.private }),
                )
                .await
            {
                Ok(value) => {
                    let id = value["channel"]["id"]
                        .as_str()
                        .ok_or_else(|| ChatError::retry("conversations.create answered no id"))?
                        .to_string();
                    self.set_topic(&id, channel.topic).await?;
                    self.invite(&id, channel.invite).await?;
                    return Ok(id);
                }
                Err(ChatError::Dead(error)) if error.ends_with("name_taken") => {
                    // Ours from an earlier try whose answer was lost: adopt it.
                    if let Some(found) = self.find_channel(&name).await?
                        && found["creator"] == me.as_str()
                    {
                        let id = found["id"].as_str().unwrap_or_default().to_string();
                        if found["is_archived"] == true {
                            self.call("conversations.unarchive", json!({ "channel": id }))
                                .await?;
                        }
                        self.invite(&id, channel.invite).await?;
                        return Ok(id);
                    }
                }
                Err(err) => return Err(err),
            }
        }
        Err(ChatError::Dead(format!(
            "every name from {} to {}-20 is taken",
            channel.name, channel.name
        )))
    }

    async fn invite(&self, channel: &str, users: &[String]) -> Result<(), ChatError> {
        for chunk in users.chunks(100) {
            self.call(
                "conversations.invite",
                json!({ "channel": channel, "users": chunk.join(",") }),
            )
            .await?;
        }
        Ok(())
    }

    async fn post(
        &self,
        channel: &str,
        message: Outgoing<'_>,
        key: &str,
        maybe_sent: bool,
    ) -> Result<String, ChatError> {
        if maybe_sent && let Some(ts) = self.find_posted(channel, key).await? {
            return Ok(ts);
        }
        let mut args = message_args(message);
        args["channel"] = json!(channel);
        args["metadata"] = json!({
            "event_type": METADATA_TYPE,
            "event_payload": { "work_id": key },
        });
        match self.call_raw("chat.postMessage", &args).await {
            Ok(value) => value["ts"]
                .as_str()
                .map(String::from)
                .ok_or_else(|| ChatError::retry("chat.postMessage answered no ts")),
            Err(Failure::Chat(err)) => Err(err),
            // It may have landed: the next try looks in the channel's history first.
            Err(Failure::TimedOut) => Err(ChatError::retry(
                "chat.postMessage: no answer in time; the post may have landed",
            )),
        }
    }

    async fn edit(
        &self,
        channel: &str,
        message_id: &str,
        message: Outgoing<'_>,
        _key: &str,
    ) -> Result<(), ChatError> {
        let mut args = message_args(message);
        args["channel"] = json!(channel);
        args["ts"] = json!(message_id);
        self.call("chat.update", args).await?;
        Ok(())
    }

    async fn set_topic(&self, channel: &str, topic: &str) -> Result<(), ChatError> {
        let topic: String = topic.chars().take(250).collect();
        self.call(
            "conversations.setTopic",
            json!({ "channel": channel, "topic": topic }),
        )
        .await?;
        Ok(())
    }

    async fn archive(&self, channel: &str) -> Result<(), ChatError> {
        self.call("conversations.archive", json!({ "channel": channel }))
            .await?;
        Ok(())
    }

    async fn user_for_email(&self, email: &str) -> Result<Option<String>, ChatError> {
        match self
            .call("users.lookupByEmail", json!({ "email": email }))
            .await
        {
            Ok(value) => Ok(value["user"]["id"].as_str().map(String::from)),
            Err(ChatError::Dead(error)) if error.ends_with("users_not_found") => Ok(None),
            Err(err) => Err(err),
        }
    }

    fn mention(&self, user: &str) -> String {
        format!("<@{user}>")
    }

    fn announcement_channel(&self) -> Option<&str> {
        self.config.announcement_channel.as_deref()
    }
}

/// How far a request's timestamp may be from now (Slack's own window).
pub const REPLAY_WINDOW_SECONDS: i64 = 300;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed (X-Slack-Signature, X-Slack-Request-Timestamp)")]
    Missing,
    #[error("the request's timestamp is more than five minutes from now")]
    Stale,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// `v0=<hex>`: HMAC-SHA256 of `v0:<timestamp>:<body>` with the signing secret.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a request from Slack: the timestamp within five minutes of `now` (seconds since
/// the epoch) and the signature over the raw body, compared in constant time.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    sent: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let (Some(timestamp), Some(sent)) = (timestamp, sent) else {
        return Err(SignatureError::Missing);
    };
    let at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Missing)?;
    if (now - at).abs() > REPLAY_WINDOW_SECONDS {
        return Err(SignatureError::Stale);
    }
    let Some(hex_sent) = sent.trim().strip_prefix("v0=") else {
        return Err(SignatureError::Mismatch);
    };
    let Ok(sent_bytes) = hex::decode(hex_sent) else {
        return Err(SignatureError::Mismatch);
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"v0:");
    mac.update(timestamp.trim().as_bytes());
    mac.update(b":");
    mac.update(body);
    mac.verify_slice(&sent_bytes)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's documented example, reproduced by python-slack-sdk's SignatureVerifier.
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_golden_vector() {
        assert_eq!(signature(SECRET, TIMESTAMP, BODY.as_bytes()), SIGNATURE);
        let now = 1_531_420_618;
        let check = |ts: Option<&str>, sig: Option<&str>, body: &str, now: i64| {
            verify(SECRET, ts, sig, body.as_bytes(), now)
        };
        assert_eq!(check(Some(TIMESTAMP), Some(SIGNATURE), BODY, now), Ok(()));
        assert_eq!(
            check(Some(TIMESTAMP), Some(SIGNATURE), BODY, now + 300),
            Ok(())
        );
        assert_eq!(
            check(Some(TIMESTAMP), Some(SIGNATURE), BODY, now + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check(Some(TIMESTAMP), Some(SIGNATURE), BODY, now - 301),
            Err(SignatureError::Stale)
        );
        let tampered = BODY.replace("foobar", "foobaz");
        assert_eq!(
            check(Some(TIMESTAMP), Some(SIGNATURE), &tampered, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(Some(TIMESTAMP), Some("v0=zz"), BODY, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(None, Some(SIGNATURE), BODY, now),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            check(Some("soon"), Some(SIGNATURE), BODY, now),
            Err(SignatureError::Missing)
        );
    }
}
