//! Insights: MTTR, change failure rate, responder load, deploys.

pub mod api;
pub mod pages;
pub mod service;
