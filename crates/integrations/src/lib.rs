//! Typed clients for the outside world: signed outgoing webhooks, email over SMTP, chat
//! (Matrix, Slack) and issue trackers.

pub mod chat;
pub mod email;
pub mod http;
pub mod ntfy;
pub mod outbound;
pub mod trackers;
pub mod twilio;
pub mod webhook;
