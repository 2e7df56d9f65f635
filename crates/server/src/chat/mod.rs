//! Chat: Slack and Matrix around an incident. `core::chat` decides what each event owes chat
//! and parses commands; the store queues the work with the event; `worker` does it through
//! the adapters in `integrations::chat`; `matrix_sync` reads what people do in Matrix;
//! `service` runs chat commands as the linked person; `api` opens a channel by hand and shows
//! what chat still owes an incident.

pub mod api;
pub mod matrix_sync;
pub mod pages;
pub mod service;
pub mod slack_http;
pub mod slack_socket;
pub mod worker;

pub use worker::{ChatWorker, Platforms};
