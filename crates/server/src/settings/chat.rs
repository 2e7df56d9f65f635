//! Chat settings: `[chat]`, `[chat.matrix]` and `[chat.slack]`. Each platform is off until
//! its address (Matrix) or token (Slack) is set.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::secret::Secret;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatSettings {
    /// A rule's `notify` naming this target also posts (then edits in place) the incident's
    /// announcement in each platform's announcement channel.
    pub announce_target: String,
    /// Archive an incident's Slack channel when the incident closes (Matrix rooms stay; their
    /// topic says closed).
    pub archive_on_close: bool,
    pub slack: SlackSettings,
    pub matrix: MatrixSettings,
}

impl Default for ChatSettings {
    fn default() -> Self {
        ChatSettings {
            announce_target: firebreak_core::notify::ANNOUNCEMENTS.into(),
            archive_on_close: true,
            slack: SlackSettings::default(),
            matrix: MatrixSettings::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackSettings {
    /// The app's bot token (`xoxb-…`); empty: Slack is off.
    pub bot_token: Secret,
    /// Verifies every request Slack sends to /chat/slack/* (slash commands, events, buttons).
    pub signing_secret: Secret,
    /// The app-level token (`xapp-…`, scope `connections:write`): Socket Mode, an outbound
    /// WebSocket, so Slack never needs to reach Firebreak. Empty: the HTTP endpoints only.
    pub app_token: Secret,
    /// Channel id (`C…`) of the company-wide announcement channel.
    pub announcement_channel: String,
    /// Slack's Web API; tests point it at a local fake.
    pub api_base_url: String,
}

impl Default for SlackSettings {
    fn default() -> Self {
        SlackSettings {
            bot_token: Secret::default(),
            signing_secret: Secret::default(),
            app_token: Secret::default(),
            announcement_channel: String::new(),
            api_base_url: "https://slack.com/api".into(),
        }
    }
}

impl SlackSettings {
    pub fn enabled(&self) -> bool {
        !self.bot_token.expose().trim().is_empty()
    }

    pub fn config(&self) -> firebreak_integrations::chat::slack::SlackConfig {
        firebreak_integrations::chat::slack::SlackConfig {
            bot_token: self.bot_token.expose().trim().to_string(),
            api_base_url: self.api_base_url.trim().to_string(),
            announcement_channel: Some(self.announcement_channel.trim().to_string())
                .filter(|it| !it.is_empty()),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatrixSettings {
    /// `https://matrix.example.org`; empty: Matrix is off.
    pub homeserver_url: String,
    /// The bot account's access token (a fixed device, so retried sends deduplicate).
    pub access_token: Secret,
    /// Room id or alias of the company-wide announcement room (the bot must be in it).
    pub announcement_room: String,
    /// Firebreak email → Matrix user id, for people whose Matrix localpart is not the part
    /// of their email before the `@`.
    pub users: BTreeMap<String, String>,
}

impl MatrixSettings {
    pub fn enabled(&self) -> bool {
        !self.homeserver_url.trim().is_empty()
    }

    pub fn config(&self) -> firebreak_integrations::chat::matrix::MatrixConfig {
        firebreak_integrations::chat::matrix::MatrixConfig {
            homeserver_url: self.homeserver_url.trim().to_string(),
            access_token: self.access_token.expose().to_string(),
            announcement_room: Some(self.announcement_room.trim().to_string())
                .filter(|it| !it.is_empty()),
            users: self.users.clone(),
        }
    }
}

impl ChatSettings {
    /// The platforms configured, as work is stored for them.
    pub fn platforms(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.slack.enabled() {
            out.push("slack".to_string());
        }
        if self.matrix.enabled() {
            out.push("matrix".to_string());
        }
        out
    }

    /// What the rules know of chat; `None` when no platform is configured.
    pub fn policy(&self) -> Option<firebreak_core::chat::ChatPolicy> {
        let platforms = self.platforms();
        (!platforms.is_empty()).then(|| firebreak_core::chat::ChatPolicy {
            announce_target: self.announce_target.clone(),
            platforms,
            archive_on_close: self.archive_on_close,
        })
    }
}
