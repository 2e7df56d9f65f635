//! Firebreak's pure domain: incidents, their lifecycle, commands and the hash-chained timeline.
//!
//! Nothing here does I/O or reads a clock: "now" is always an argument, and every decision
//! (may this transition happen? which events does this command produce?) is a pure function.

pub mod access;
pub mod action;
pub mod blameless;
pub mod board;
pub mod cadence;
pub mod catalog;
pub mod chat;
pub mod closing;
pub mod command;
pub mod coordination;
pub mod diff;
pub mod due;
pub mod event;
pub mod followup;
pub mod freeze;
pub mod hash;
pub mod ics;
pub mod import;
pub mod incident;
pub mod insights;
pub mod lifecycle;
pub mod narrate;
pub mod notify;
pub mod outbound;
pub mod paging;
pub mod person;
pub mod playbook;
pub mod postmortem;
pub mod presence;
pub mod retry;
pub mod rule;
pub mod schedule;
pub mod status_page;
pub mod throttle;
pub mod token;
pub mod update;
pub mod validate;
pub mod wake;

pub use access::{Access, Role};
pub use catalog::Catalog;
pub use command::{Command, Context, DomainError, apply, decide, declare};
pub use event::{Actor, Detail, EventData, EventKind};
pub use incident::{
    Affected, ImpactKind, Incident, IncidentId, IncidentType, Mode, NamedTimestamp, Reference,
    TimestampName,
};
pub use lifecycle::Status;
pub use validate::FieldErrors;
