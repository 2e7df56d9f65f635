//! Matrix over the client-server API (`/_matrix/client/v3`), by hand over reqwest: the dozen
//! calls a bot needs. Sends are `PUT …/send/{type}/{txnId}` with Firebreak's work id as the
//! transaction id, so a retried send is the same event. Rooms are created with an alias of the
//! channel's name; when the alias is taken (a retry after a lost answer) the room behind it is
//! adopted. Room ids are never parsed (room version 12 ids have no server part).

use std::collections::BTreeMap;
use std::time::Duration;

use firebreak_core::chat::Card;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::{ChatError, ChatPlatform, NewChannel, Outgoing, card_text, escape_html, retry_after};
use crate::outbound::Outbound;

const API: &str = "/_matrix/client/v3";

/// How long `/sync` waits for something to happen.
pub const SYNC_WAIT: Duration = Duration::from_secs(25);

#[derive(Clone)]
pub struct MatrixConfig {
    /// `https://matrix.example.org`
    pub homeserver_url: String,
    pub access_token: String,
    /// A room id or alias for the company-wide announcements.
    pub announcement_room: Option<String>,
    /// Firebreak email → Matrix user id, where `@<localpart of the email>:<server>` is wrong.
    pub users: BTreeMap<String, String>,
}

impl std::fmt::Debug for MatrixConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixConfig")
            .field("homeserver_url", &self.homeserver_url)
            .field("announcement_room", &self.announcement_room)
            .finish_non_exhaustive()
    }
}

pub struct Matrix {
    config: MatrixConfig,
    http: Outbound,
    /// `@firebreak:example.org`, from `whoami` on first use.
    me: OnceCell<String>,
    /// The `/sync` filter's id, made on first use.
    filter: OnceCell<String>,
}

/// Something that happened in a room the bot is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomEvent {
    pub room_id: String,
    pub event_id: String,
    pub sender: String,
    /// Milliseconds since the epoch (`origin_server_ts`).
    pub at_ms: i64,
    pub what: Happened,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happened {
    /// A text message (edits carry the message they replace).
    Message {
        body: String,
        replaces: Option<String>,
    },
    Reaction {
        target: String,
        key: String,
    },
    Redaction {
        redacts: String,
    },
}

/// One `/sync` answer.
#[derive(Clone, Debug, Default)]
pub struct SyncBatch {
    pub next_batch: String,
    pub events: Vec<RoomEvent>,
    /// Rooms the bot was invited to (direct messages).
    pub invites: Vec<String>,
}

fn path_segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

impl Matrix {
    pub fn new(config: MatrixConfig, http: Outbound) -> Matrix {
        Matrix {
            config,
            http,
            me: OnceCell::new(),
            filter: OnceCell::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}{API}{path}",
            self.config.homeserver_url.trim_end_matches('/')
        )
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        wait: Option<Duration>,
    ) -> Result<Value, ChatError> {
        let mut request = self
            .http
            .request(method, &self.url(path))
            .map_err(|err| ChatError::Dead(err.to_string()))?
            .bearer_auth(&self.config.access_token);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(wait) = wait {
            request = request.timeout(wait + Duration::from_secs(10));
        }
        let response = request
            .send()
            .await
            .map_err(|err| ChatError::retry(crate::outbound::describe(&err)))?;
        let status = response.status();
        let after = retry_after(&response);
        let text = response
            .text()
            .await
            .map_err(|err| ChatError::retry(crate::outbound::describe(&err)))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let code = value["errcode"].as_str().unwrap_or("").to_string();
        let said = format!(
            "{} {}",
            if code.is_empty() {
                status.as_str().to_string()
            } else {
                code.clone()
            },
            value["error"].as_str().unwrap_or("")
        )
        .trim()
        .to_string();
        if status == StatusCode::TOO_MANY_REQUESTS || code == "M_LIMIT_EXCEEDED" {
            let after =
                after.or_else(|| value["retry_after_ms"].as_u64().map(Duration::from_millis));
            return Err(ChatError::Retry { error: said, after });
        }
        if status.is_server_error() {
            return Err(ChatError::retry(said));
        }
        Err(ChatError::Dead(said))
    }

    /// The bot's own user id (`whoami`), which also proves the token works.
    pub async fn me(&self) -> Result<&str, ChatError> {
        self.me
            .get_or_try_init(|| async {
                let value = self
                    .call(Method::GET, "/account/whoami", None, None)
                    .await?;
                value["user_id"]
                    .as_str()
                    .map(String::from)
                    .ok_or_else(|| ChatError::Dead("whoami answered no user_id".into()))
            })
            .await
            .map(String::as_str)
    }

    /// The server part of the bot's user id: where aliases and guessed users live.
    async fn server_name(&self) -> Result<String, ChatError> {
        let me = self.me().await?;
        Ok(me.split_once(':').map(|it| it.1).unwrap_or("").to_string())
    }

    /// The room an alias (`#inc-1-db:example.org`) points at.
    pub async fn resolve_alias(&self, alias: &str) -> Result<Option<String>, ChatError> {
        match self
            .call(
                Method::GET,
                &format!("/directory/room/{}", path_segment(alias)),
                None,
                None,
            )
            .await
        {
            Ok(value) => Ok(value["room_id"].as_str().map(String::from)),
            Err(ChatError::Dead(error)) if error.starts_with("M_NOT_FOUND") => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn room_id(&self, room: &str) -> Result<String, ChatError> {
        if room.starts_with('#') {
            self.resolve_alias(room)
                .await?
                .ok_or_else(|| ChatError::Dead(format!("no room has the alias {room}")))
        } else {
            Ok(room.to_string())
        }
    }

    pub async fn join(&self, room: &str) -> Result<String, ChatError> {
        let value = self
            .call(
                Method::POST,
                &format!("/join/{}", path_segment(room)),
                Some(&json!({})),
                None,
            )
            .await?;
        Ok(value["room_id"].as_str().unwrap_or(room).to_string())
    }

    /// Sends an `m.room.message` (or other) event with a transaction id.
    pub async fn send(
        &self,
        room: &str,
        event_type: &str,
        content: &Value,
        txn: &str,
    ) -> Result<String, ChatError> {
        let room = self.room_id(room).await?;
        let value = self
            .call(
                Method::PUT,
                &format!(
                    "/rooms/{}/send/{event_type}/{}",
                    path_segment(&room),
                    path_segment(txn)
                ),
                Some(content),
                None,
            )
            .await?;
        value["event_id"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| ChatError::retry("the send answered no event_id"))
    }

    /// A notice (what bots send) of plain words.
    pub async fn notice(&self, room: &str, text: &str, txn: &str) -> Result<String, ChatError> {
        self.send(room, "m.room.message", &text_content(text), txn)
            .await
    }

    /// One event of a room: sender, text body and time.
    pub async fn event(&self, room: &str, event_id: &str) -> Result<RoomEvent, ChatError> {
        let value = self
            .call(
                Method::GET,
                &format!(
                    "/rooms/{}/event/{}",
                    path_segment(room),
                    path_segment(event_id)
                ),
                None,
                None,
            )
            .await?;
        room_event(room, &value)
            .ok_or_else(|| ChatError::Dead(format!("{event_id} is not a message")))
    }

    /// The filter `/sync` uses: messages, reactions and redactions; no presence, no typing.
    async fn filter(&self) -> Result<String, ChatError> {
        let me = self.me().await?.to_string();
        let filter = json!({
            "room": {
                "timeline": {"limit": 100, "types": ["m.room.message", "m.reaction", "m.room.redaction"]},
                "state": {"types": ["m.room.member"], "lazy_load_members": true},
                "ephemeral": {"not_types": ["*"]},
                "account_data": {"not_types": ["*"]},
            },
            "presence": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
        });
        let value = self
            .call(
                Method::POST,
                &format!("/user/{}/filter", path_segment(&me)),
                Some(&filter),
                None,
            )
            .await?;
        value["filter_id"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| ChatError::retry("the filter answered no filter_id"))
    }

    /// Waits up to `wait` for what happened since `since` (everything from now on when
    /// `None`: a first sync only learns where "now" is).
    pub async fn sync(&self, since: Option<&str>, wait: Duration) -> Result<SyncBatch, ChatError> {
        let filter = self.filter.get_or_try_init(|| self.filter()).await?.clone();
        let mut path = format!(
            "/sync?filter={}&timeout={}",
            path_segment(&filter),
            wait.as_millis()
        );
        if let Some(since) = since {
            path.push_str(&format!("&since={}", path_segment(since)));
        }
        let value = self.call(Method::GET, &path, None, Some(wait)).await?;
        let mut batch =
            parse_sync(&value).ok_or_else(|| ChatError::retry("sync answered no next_batch"))?;
        if since.is_none() {
            // A first sync only learns where "now" is.
            batch.events.clear();
            batch.invites.clear();
        }
        Ok(batch)
    }

    /// A direct-message room with `user` (the bot creates it and invites them).
    pub async fn open_dm(&self, user: &str) -> Result<String, ChatError> {
        let body = json!({
            "preset": "trusted_private_chat",
            "is_direct": true,
            "invite": [user],
            "name": "Firebreak pages",
        });
        let value = self
            .call(Method::POST, "/createRoom", Some(&body), None)
            .await?;
        value["room_id"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| ChatError::retry("createRoom answered no room_id"))
    }

    /// A page in a direct-message room: the words, and how to answer from here.
    pub async fn page(
        &self,
        room: &str,
        text: &str,
        alert_id: &str,
        txn: &str,
    ) -> Result<String, ChatError> {
        let text = format!(
            "{text}\nReact ✅ to acknowledge, or reply `!inc ack` (this alert: {alert_id})."
        );
        self.notice(room, &text, txn).await
    }

    /// `https://matrix.to/#/<room>/<event>`
    pub fn permalink(room: &str, event_id: &str) -> String {
        format!("https://matrix.to/#/{room}/{event_id}")
    }
}

/// A `/sync` answer as Firebreak reads it: the cursor, the events of joined rooms it uses,
/// the rooms it was invited to. `None` without a `next_batch`.
pub fn parse_sync(value: &Value) -> Option<SyncBatch> {
    let mut batch = SyncBatch {
        next_batch: value["next_batch"].as_str()?.to_string(),
        ..SyncBatch::default()
    };
    if let Some(rooms) = value["rooms"]["join"].as_object() {
        for (room_id, room) in rooms {
            for event in room["timeline"]["events"].as_array().into_iter().flatten() {
                if let Some(event) = room_event(room_id, event) {
                    batch.events.push(event);
                }
            }
        }
    }
    if let Some(rooms) = value["rooms"]["invite"].as_object() {
        batch.invites.extend(rooms.keys().cloned());
    }
    Some(batch)
}

/// A room event as Firebreak reads it; `None` for kinds it does not use.
fn room_event(room_id: &str, event: &Value) -> Option<RoomEvent> {
    let content = &event["content"];
    let what = match event["type"].as_str()? {
        "m.room.message" => {
            let replaces = (content["m.relates_to"]["rel_type"] == "m.replace")
                .then(|| {
                    content["m.relates_to"]["event_id"]
                        .as_str()
                        .map(String::from)
                })
                .flatten();
            let body = if replaces.is_some() {
                content["m.new_content"]["body"].as_str()?
            } else {
                content["body"].as_str()?
            };
            Happened::Message {
                body: body.to_string(),
                replaces,
            }
        }
        "m.reaction" => Happened::Reaction {
            target: content["m.relates_to"]["event_id"].as_str()?.to_string(),
            key: content["m.relates_to"]["key"].as_str()?.to_string(),
        },
        "m.room.redaction" => Happened::Redaction {
            // Room version 11 and later carry it in the content; older ones at the top.
            redacts: content["redacts"]
                .as_str()
                .or_else(|| event["redacts"].as_str())?
                .to_string(),
        },
        _ => return None,
    };
    Some(RoomEvent {
        room_id: room_id.to_string(),
        event_id: event["event_id"].as_str()?.to_string(),
        sender: event["sender"].as_str()?.to_string(),
        at_ms: event["origin_server_ts"].as_i64().unwrap_or(0),
        what,
    })
}

fn text_content(text: &str) -> Value {
    json!({
        "msgtype": "m.notice",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": escape_html(text).replace('\n', "<br>"),
    })
}

/// The card as a Matrix notice: plain `body` and an HTML `formatted_body`.
pub fn card_content(card: &Card, announcement: bool) -> Value {
    let commands = if announcement { "" } else { "!inc" };
    let mut html = format!("<h4>{}</h4><ul>", escape_html(&card.headline));
    for (label, value) in &card.fields {
        html.push_str(&format!(
            "<li><b>{}</b>: {}</li>",
            escape_html(label),
            escape_html(value)
        ));
    }
    html.push_str("</ul>");
    if !card.link.is_empty() {
        html.push_str(&format!(
            "<p><a href=\"{}\">Open the incident room</a></p>",
            escape_html(&card.link)
        ));
    }
    if !announcement && !card.buttons.is_empty() {
        let verbs: Vec<String> = card
            .buttons
            .iter()
            .map(|it| {
                format!(
                    "<code>!inc {}</code> {}",
                    it.verb(),
                    it.label().to_lowercase()
                )
            })
            .collect();
        html.push_str(&format!("<p>{}</p>", verbs.join(" · ")));
    }
    json!({
        "msgtype": "m.notice",
        "body": card_text(card, commands),
        "format": "org.matrix.custom.html",
        "formatted_body": html,
    })
}

fn content(message: Outgoing<'_>) -> Value {
    match message {
        Outgoing::Text(text) => text_content(text),
        Outgoing::Card(card) => card_content(card, false),
        Outgoing::Announcement(card) => card_content(card, true),
    }
}

impl ChatPlatform for Matrix {
    fn name(&self) -> &'static str {
        "matrix"
    }

    async fn create_channel(&self, channel: &NewChannel<'_>) -> Result<String, ChatError> {
        let server = self.server_name().await?;
        let alias = format!("#{}:{server}", channel.name);
        if let Some(room) = self.resolve_alias(&alias).await? {
            // Made by an earlier try whose answer was lost: adopt it.
            return Ok(room);
        }
        let mut body = json!({
            "name": channel.name,
            "topic": channel.topic,
            "preset": "private_chat",
            "room_alias_name": channel.name,
            "invite": channel.invite,
            // Firebreak's bot keeps the power to pin and change the topic; people may react.
            "power_level_content_override": {"events_default": 0},
        });
        if channel.private {
            body["initial_state"] = json!([{
                "type": "m.room.history_visibility", "state_key": "",
                "content": {"history_visibility": "invited"},
            }]);
        }
        match self
            .call(Method::POST, "/createRoom", Some(&body), None)
            .await
        {
            Ok(value) => value["room_id"]
                .as_str()
                .map(String::from)
                .ok_or_else(|| ChatError::retry("createRoom answered no room_id")),
            Err(ChatError::Dead(error)) if error.starts_with("M_ROOM_IN_USE") => self
                .resolve_alias(&alias)
                .await?
                .ok_or_else(|| ChatError::retry(error)),
            Err(err) => Err(err),
        }
    }

    async fn invite(&self, channel: &str, users: &[String]) -> Result<(), ChatError> {
        for user in users {
            match self
                .call(
                    Method::POST,
                    &format!("/rooms/{}/invite", path_segment(channel)),
                    Some(&json!({ "user_id": user })),
                    None,
                )
                .await
            {
                Ok(_) => {}
                // Already in the room, or invited: nothing to do.
                Err(ChatError::Dead(error)) if error.starts_with("M_FORBIDDEN") => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    async fn post(
        &self,
        channel: &str,
        message: Outgoing<'_>,
        key: &str,
        // A send with the same transaction id is the same event: nothing to look for.
        _maybe_sent: bool,
    ) -> Result<String, ChatError> {
        self.send(channel, "m.room.message", &content(message), key)
            .await
    }

    async fn edit(
        &self,
        channel: &str,
        message_id: &str,
        message: Outgoing<'_>,
        key: &str,
    ) -> Result<(), ChatError> {
        let new = content(message);
        let mut edit = new.clone();
        edit["body"] = json!(format!("* {}", new["body"].as_str().unwrap_or("")));
        edit["formatted_body"] = json!(format!(
            "* {}",
            new["formatted_body"].as_str().unwrap_or("")
        ));
        edit["m.new_content"] = new;
        edit["m.relates_to"] = json!({"rel_type": "m.replace", "event_id": message_id});
        self.send(channel, "m.room.message", &edit, key).await?;
        Ok(())
    }

    async fn set_topic(&self, channel: &str, topic: &str) -> Result<(), ChatError> {
        self.call(
            Method::PUT,
            &format!("/rooms/{}/state/m.room.topic", path_segment(channel)),
            Some(&json!({ "topic": topic })),
            None,
        )
        .await?;
        Ok(())
    }

    /// Matrix rooms are not archived: the room stays, its topic says the incident closed.
    async fn archive(&self, _channel: &str) -> Result<(), ChatError> {
        Ok(())
    }

    async fn user_for_email(&self, email: &str) -> Result<Option<String>, ChatError> {
        if let Some(user) = self.config.users.get(email) {
            return Ok(Some(user.clone()));
        }
        let Some((local, _)) = email.split_once('@') else {
            return Ok(None);
        };
        let user = format!("@{}:{}", local.to_lowercase(), self.server_name().await?);
        match self
            .call(
                Method::GET,
                &format!("/profile/{}", path_segment(&user)),
                None,
                None,
            )
            .await
        {
            Ok(_) => Ok(Some(user)),
            Err(ChatError::Dead(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The user id in the body: clients highlight a message that names the user.
    fn mention(&self, user: &str) -> String {
        user.to_string()
    }

    fn announcement_channel(&self) -> Option<&str> {
        self.config.announcement_room.as_deref()
    }
}

impl Matrix {
    /// The Firebreak email of a Matrix user: the configured mapping, else the localpart
    /// matched against people's emails by the caller.
    pub fn mapped_email(&self, user: &str) -> Option<&str> {
        self.config
            .users
            .iter()
            .find(|(_, id)| id.as_str() == user)
            .map(|(email, _)| email.as_str())
    }
}
