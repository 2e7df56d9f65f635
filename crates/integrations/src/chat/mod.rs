//! Chat platforms behind one trait. `core::chat` decides what to say and where; an adapter
//! only speaks its platform's wire format: Matrix's client-server API (`matrix`) and Slack's
//! Web API (`slack`). Every call answers done, retry (with the platform's own wait when it
//! gave one), dead (nothing will make it work), or unknown (a post that may have landed).

use std::future::Future;
use std::time::Duration;

use firebreak_core::chat::Card;

pub mod matrix;
pub mod slack;
pub mod slack_in;
pub mod slack_socket;

/// What a chat call could not do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// Worth trying again: rate limited, the platform or the network failed.
    #[error("{error}")]
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// Nothing will make it work as configured (bad token, missing scope, archived).
    #[error("{0}")]
    Dead(String),
}

impl ChatError {
    pub fn retry(error: impl Into<String>) -> ChatError {
        ChatError::Retry {
            error: error.into(),
            after: None,
        }
    }
}

/// What goes into a channel.
#[derive(Clone, Copy, Debug)]
pub enum Outgoing<'a> {
    /// Words from `core::chat` (an update, a role change).
    Text(&'a str),
    /// The incident card, with its buttons (Matrix: the commands to type).
    Card(&'a Card),
    /// The company-wide announcement of an incident: the card without buttons.
    Announcement(&'a Card),
}

/// A new channel.
#[derive(Clone, Debug)]
pub struct NewChannel<'a> {
    pub name: &'a str,
    pub topic: &'a str,
    pub private: bool,
    /// Platform user ids to invite.
    pub invite: &'a [String],
}

/// One chat platform. `key` arguments are Firebreak's own id of the piece of work, so a
/// retried call can be recognised (Matrix's transaction id; Slack's message metadata).
pub trait ChatPlatform: Send + Sync + 'static {
    /// `slack` or `matrix`, as stored with the work.
    fn name(&self) -> &'static str;

    /// Creates the channel (or adopts the one this bot made under that name before), and
    /// answers its id.
    fn create_channel(
        &self,
        channel: &NewChannel<'_>,
    ) -> impl Future<Output = Result<String, ChatError>> + Send;

    fn invite(
        &self,
        channel: &str,
        users: &[String],
    ) -> impl Future<Output = Result<(), ChatError>> + Send;

    /// Posts, answering the message's id. `maybe_sent`: an earlier try may have landed (its
    /// outcome was unknown), so a platform without idempotent sends looks for it first.
    fn post(
        &self,
        channel: &str,
        message: Outgoing<'_>,
        key: &str,
        maybe_sent: bool,
    ) -> impl Future<Output = Result<String, ChatError>> + Send;

    /// Replaces a message this bot posted.
    fn edit(
        &self,
        channel: &str,
        message_id: &str,
        message: Outgoing<'_>,
        key: &str,
    ) -> impl Future<Output = Result<(), ChatError>> + Send;

    fn set_topic(
        &self,
        channel: &str,
        topic: &str,
    ) -> impl Future<Output = Result<(), ChatError>> + Send;

    /// Archives the channel (the incident closed); a platform without archiving does nothing.
    fn archive(&self, channel: &str) -> impl Future<Output = Result<(), ChatError>> + Send;

    /// The platform user of a person, by their email (or a configured mapping).
    fn user_for_email(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Option<String>, ChatError>> + Send;

    /// How a message names a platform user so that they are notified.
    fn mention(&self, user: &str) -> String;

    /// The company-wide announcement channel, if one is configured.
    fn announcement_channel(&self) -> Option<&str>;
}

/// The card as plain text (fallback text, notifications, Matrix's `body`).
pub fn card_text(card: &Card, with_commands: &str) -> String {
    let mut text = card.headline.clone();
    let fields: Vec<String> = card
        .fields
        .iter()
        .map(|(label, value)| format!("{label}: {value}"))
        .collect();
    text.push('\n');
    text.push_str(&fields.join(" · "));
    if !card.link.is_empty() {
        text.push_str(&format!("\nRoom: {}", card.link));
    }
    if !card.buttons.is_empty() && !with_commands.is_empty() {
        let verbs: Vec<String> = card
            .buttons
            .iter()
            .map(|it| format!("{with_commands} {}", it.verb()))
            .collect();
        text.push_str(&format!("\n{}", verbs.join(" · ")));
    }
    text
}

/// `&`, `<`, `>` and quotes escaped for HTML bodies.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A `Retry-After` header in seconds.
pub(crate) fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}
