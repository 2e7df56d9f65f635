//! What Slack sends Firebreak, parsed (after the signature was checked on the raw bytes):
//! slash commands (form fields), Events API envelopes (JSON) and interactions (a form field
//! `payload` holding JSON). Each parser answers `None` for anything it does not use; none
//! panics on any input (a fuzz target holds them to it).

use serde_json::Value;

/// `/inc …` as Slack posts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlashCommand {
    pub command: String,
    pub text: String,
    pub user_id: String,
    pub channel_id: String,
    pub response_url: String,
    pub trigger_id: String,
}

/// An Events API delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// Slack checking the Request URL: answer the challenge.
    UrlVerification {
        challenge: String,
    },
    Event {
        event_id: String,
        event: Event,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    ReactionAdded(Reaction),
    ReactionRemoved(Reaction),
    PinAdded(Pin),
    PinRemoved(Pin),
    /// A message was edited: its channel, `ts` and new text.
    MessageChanged {
        channel: String,
        ts: String,
        text: String,
    },
    /// Any other event (ignored).
    Other {
        kind: String,
        user: String,
        bot_id: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaction {
    pub user: String,
    pub reaction: String,
    pub channel: String,
    /// The message's `ts`.
    pub ts: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    pub user: String,
    pub channel: String,
    pub ts: String,
    pub text: String,
    pub author: String,
}

/// A button press or a submitted modal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interaction {
    Button {
        user_id: String,
        channel_id: String,
        action_id: String,
        value: String,
        trigger_id: String,
    },
    Submission {
        user_id: String,
        callback_id: String,
        private_metadata: String,
        /// `action_id` → the value typed or chosen.
        values: Vec<(String, String)>,
    },
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
        .unwrap_or_default()
}

pub fn parse_slash(body: &[u8]) -> Option<SlashCommand> {
    let fields = form(body);
    let command = SlashCommand {
        command: field(&fields, "command"),
        text: field(&fields, "text"),
        user_id: field(&fields, "user_id"),
        channel_id: field(&fields, "channel_id"),
        response_url: field(&fields, "response_url"),
        trigger_id: field(&fields, "trigger_id"),
    };
    (!command.user_id.is_empty() && !command.command.is_empty()).then_some(command)
}

/// A slash command as Socket Mode sends it: the same fields, as a JSON object.
pub fn slash_from_value(value: &Value) -> Option<SlashCommand> {
    let command = SlashCommand {
        command: text(&value["command"]),
        text: text(&value["text"]),
        user_id: text(&value["user_id"]),
        channel_id: text(&value["channel_id"]),
        response_url: text(&value["response_url"]),
        trigger_id: text(&value["trigger_id"]),
    };
    (!command.user_id.is_empty() && !command.command.is_empty()).then_some(command)
}

pub fn parse_event(body: &[u8]) -> Option<Inbound> {
    event_from_value(&serde_json::from_slice(body).ok()?)
}

/// An Events API body as JSON (HTTP's body, or a Socket Mode envelope's `payload`).
pub fn event_from_value(value: &Value) -> Option<Inbound> {
    match value["type"].as_str()? {
        "url_verification" => Some(Inbound::UrlVerification {
            challenge: value["challenge"].as_str()?.to_string(),
        }),
        "event_callback" => {
            let event = &value["event"];
            let reaction = || {
                Some(Reaction {
                    user: text(&event["user"]),
                    reaction: text(&event["reaction"]),
                    channel: event["item"]["channel"].as_str()?.to_string(),
                    ts: event["item"]["ts"].as_str()?.to_string(),
                })
            };
            let pin = || {
                let message = &event["item"]["message"];
                Some(Pin {
                    user: text(&event["user"]),
                    channel: event["channel_id"]
                        .as_str()
                        .or(event["item"]["channel"].as_str())?
                        .to_string(),
                    ts: message["ts"].as_str()?.to_string(),
                    text: text(&message["text"]),
                    author: text(&message["user"]),
                })
            };
            let parsed = match event["type"].as_str()? {
                "reaction_added" => Event::ReactionAdded(reaction()?),
                "reaction_removed" => Event::ReactionRemoved(reaction()?),
                "pin_added" => Event::PinAdded(pin()?),
                "pin_removed" => Event::PinRemoved(pin()?),
                "message" if event["subtype"] == "message_changed" => Event::MessageChanged {
                    channel: event["channel"].as_str()?.to_string(),
                    ts: event["message"]["ts"].as_str()?.to_string(),
                    text: text(&event["message"]["text"]),
                },
                kind => Event::Other {
                    kind: kind.to_string(),
                    user: text(&event["user"]),
                    bot_id: text(&event["bot_id"]),
                },
            };
            Some(Inbound::Event {
                event_id: value["event_id"].as_str()?.to_string(),
                event: parsed,
            })
        }
        _ => None,
    }
}

pub fn parse_interaction(body: &[u8]) -> Option<Interaction> {
    let fields = form(body);
    interaction_from_value(&serde_json::from_str(&field(&fields, "payload")).ok()?)
}

/// An interaction's payload as JSON (Socket Mode sends it so).
pub fn interaction_from_value(payload: &Value) -> Option<Interaction> {
    let user_id = payload["user"]["id"].as_str()?.to_string();
    match payload["type"].as_str()? {
        "block_actions" => {
            let action = payload["actions"].get(0)?;
            Some(Interaction::Button {
                user_id,
                channel_id: payload["channel"]["id"]
                    .as_str()
                    .or(payload["container"]["channel_id"].as_str())
                    .unwrap_or_default()
                    .to_string(),
                action_id: action["action_id"].as_str()?.to_string(),
                value: text(&action["value"]),
                trigger_id: text(&payload["trigger_id"]),
            })
        }
        "view_submission" => {
            let view = &payload["view"];
            let mut values = Vec::new();
            for block in view["state"]["values"].as_object().into_iter().flatten() {
                for (action_id, input) in block.1.as_object().into_iter().flatten() {
                    let chosen = input["value"]
                        .as_str()
                        .or(input["selected_option"]["value"].as_str())
                        .unwrap_or_default();
                    values.push((action_id.clone(), chosen.to_string()));
                }
            }
            Some(Interaction::Submission {
                user_id,
                callback_id: text(&view["callback_id"]),
                private_metadata: text(&view["private_metadata"]),
                values,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_commands_events_and_interactions_parse() {
        let slash = parse_slash(b"token=x&team_id=T1&channel_id=C1&user_id=U1&command=%2Finc&text=update+rolled+back&response_url=https%3A%2F%2Fhooks.slack.com%2Fx&trigger_id=1.2.3").unwrap();
        assert_eq!(slash.text, "update rolled back");
        assert_eq!(slash.command, "/inc");
        assert_eq!(parse_slash(b"text=x"), None);

        let event = br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"reaction_added","user":"U1","reaction":"pushpin","item":{"type":"message","channel":"C1","ts":"1700000000.000100"},"event_ts":"1"}}"#;
        assert_eq!(
            parse_event(event),
            Some(Inbound::Event {
                event_id: "Ev1".into(),
                event: Event::ReactionAdded(Reaction {
                    user: "U1".into(),
                    reaction: "pushpin".into(),
                    channel: "C1".into(),
                    ts: "1700000000.000100".into(),
                }),
            })
        );
        assert_eq!(
            parse_event(br#"{"type":"url_verification","challenge":"abc","token":"t"}"#),
            Some(Inbound::UrlVerification {
                challenge: "abc".into()
            })
        );
        assert_eq!(parse_event(b"not json"), None);

        let payload = r#"{"type":"block_actions","user":{"id":"U1"},"channel":{"id":"C1"},"trigger_id":"t","actions":[{"action_id":"inc:resolve","value":"INC-7"}]}"#;
        let body = format!(
            "payload={}",
            url::form_urlencoded::byte_serialize(payload.as_bytes()).collect::<String>()
        );
        assert_eq!(
            parse_interaction(body.as_bytes()),
            Some(Interaction::Button {
                user_id: "U1".into(),
                channel_id: "C1".into(),
                action_id: "inc:resolve".into(),
                value: "INC-7".into(),
                trigger_id: "t".into(),
            })
        );
    }
}
