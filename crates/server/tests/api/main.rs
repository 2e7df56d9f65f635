//! Integration tests: the real server on 127.0.0.1:0 over HTTP, on SQLite and PostgreSQL.

mod helpers;

mod actions;
mod alertmanager;
mod auth;
mod cadence;
mod chat_matrix;
mod closing;
mod followups;
mod freeze;
mod hardening;
mod incidents;
mod insights;
mod layout;
mod openapi;
mod outbound;
mod pages;
mod paging;
mod participation;
mod postmortems;
mod private;
mod resilience;
mod retrospectives;
mod room_paging;
mod rules;
mod schedules;
mod search;
mod sessions;
mod smtp;
mod sse;
mod status_page;
mod synapse;
mod tasks;
mod timeline;
mod updates;
mod webhooks;
