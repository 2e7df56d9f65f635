//! Incidents: declaring, the room, status and roles, the timeline, tasks, reviewed actions,
//! participation, deploy freezes and the live event stream.

pub mod actions;
pub mod api;
pub mod dto;
pub mod freeze;
pub mod live;
pub mod pages;
pub mod participation;
pub mod room;
pub mod service;
pub mod tasks;
pub mod timeline;
