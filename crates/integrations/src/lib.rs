//! Typed clients for the outside world: signed outgoing webhooks and email over SMTP.

pub mod email;
pub mod http;
pub mod outbound;
pub mod trackers;
pub mod webhook;
