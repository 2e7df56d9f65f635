//! Paging: services, integration keys, escalation policies, alerts and their ingestion in the
//! formats monitoring already speaks, contact methods and notification rules, the pager.

pub mod alert_pages;
pub mod api;
pub mod ingest;
pub mod pager;
pub mod pagerduty;
pub mod service;
pub mod service_pages;
pub mod wake;
pub mod wake_in;
