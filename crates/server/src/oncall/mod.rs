//! On call: schedules with layers and overrides, who is on call now, shifts, reports and
//! calendar feeds.

pub mod api;
pub mod pages;
pub mod picture;
pub mod service;
