//! People: accounts, roles, API tokens, one's own account page and the audit of private reads.

pub mod account;
pub mod api;
pub mod pages;
pub mod service;
pub mod tokens;
