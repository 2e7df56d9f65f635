//! Helpers for tests that run the real `firebreak` binary.

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_firebreak");

/// Starts `firebreak serve` and waits for the line saying it listens; returns its URL.
pub async fn start(database_url: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ])
        .env("FIREBREAK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start firebreak");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = std::time::Duration::from_secs(30);
    loop {
        let line = tokio::time::timeout(deadline, lines.next_line())
            .await
            .expect("server started")
            .unwrap()
            .expect("server output");
        if let Some(rest) = line.strip_prefix("Firebreak is listening on ") {
            let url = rest.split_whitespace().next().unwrap().to_string();
            // Keep draining stdout so the child never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return (child, url);
        }
    }
}

pub fn create_token(database_url: &str) -> String {
    let output = std::process::Command::new(BIN)
        .args([
            "admin",
            "create-token",
            "--name",
            "crash",
            "--scope",
            "admin",
            "--database-url",
            database_url,
        ])
        .output()
        .expect("create token");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}
