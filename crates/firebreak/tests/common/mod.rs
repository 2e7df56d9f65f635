//! Helpers for tests that run the real `firebreak` binary.

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]

use tokio::process::Child;

pub const BIN: &str = env!("CARGO_BIN_EXE_firebreak");

#[path = "../../src/spawn.rs"]
mod spawn;

/// Starts `firebreak serve` and waits for the line saying it listens; returns its URL.
pub async fn start(database_url: &str) -> (Child, String) {
    spawn::start_server(std::path::Path::new(BIN), database_url)
        .await
        .expect("firebreak serve starts")
}

pub fn create_token(database_url: &str) -> String {
    spawn::create_admin_token(std::path::Path::new(BIN), database_url, "crash")
        .expect("create token")
}

/// Starts `firebreak serve` with settings as `FIREBREAK_*` environment variables.
pub async fn start_with(database_url: &str, env: &[(&str, &str)]) -> (Child, String) {
    spawn::start_server_with(std::path::Path::new(BIN), database_url, env)
        .await
        .expect("firebreak serve starts")
}
