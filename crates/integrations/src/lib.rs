//! Typed clients for the outside world. For now: signed outgoing webhooks.

pub mod http;
pub mod webhook;
