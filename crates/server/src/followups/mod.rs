//! Follow-ups: the actions an incident leaves behind, tracked until done, exported to issue
//! trackers and read back from them.

pub mod api;
pub mod pages;
pub mod service;
pub mod trackers;
