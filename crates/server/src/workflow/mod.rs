//! Workflow: playbooks and rules stored through the API on top of the configured ones.

pub mod api;
pub mod pages;
pub mod service;
