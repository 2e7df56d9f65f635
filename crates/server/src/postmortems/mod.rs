//! Post-mortems: the draft from the timeline, editing and review, the retrospective meeting,
//! sharing on the status page, exports.

pub mod api;
pub mod pages;
pub mod service;
