//! Starting the real `firebreak serve` as a child process, for the benchmark and the tests
//! that exercise the binary. Included by path from both (`#[path]`), as neither can depend on
//! a binary crate.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Starts `binary serve` on a free port and waits (up to 30 s) for the line saying where it
/// listens. Returns the child (killed on drop) and its URL.
// The tests start servers with the defaults; the benchmark always passes settings.
#[allow(dead_code)]
pub async fn start_server(binary: &Path, database_url: &str) -> anyhow::Result<(Child, String)> {
    start_server_with(binary, database_url, &[]).await
}

/// As `start_server`, with settings given as `FIREBREAK_*` environment variables.
pub async fn start_server_with(
    binary: &Path,
    database_url: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<(Child, String)> {
    let mut child = Command::new(binary)
        .envs(env.iter().copied())
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
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await??
            .ok_or_else(|| anyhow::anyhow!("firebreak exited before listening"))?;
        if let Some(rest) = line.strip_prefix("Firebreak is listening on ") {
            let url = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            // Keep draining stdout so the child never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Ok((child, url));
        }
    }
}

/// Creates an admin (with `admin create-user`, once per database) and an admin token acting
/// as them (`admin create-token`); returns the token.
pub fn create_admin_token(binary: &Path, database_url: &str, name: &str) -> anyhow::Result<String> {
    use std::io::Write;
    let email = "bench-admin@example.com";
    let mut child = std::process::Command::new(binary)
        .args([
            "admin",
            "create-user",
            "--email",
            email,
            "--name",
            "Bench Admin",
            "--role",
            "admin",
            "--database-url",
            database_url,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(b"bench admin password\n")?;
    }
    let created = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&created.stderr);
    if !created.status.success() && !stderr.contains("already") {
        anyhow::bail!("create-user failed: {stderr}");
    }
    let output = std::process::Command::new(binary)
        .args([
            "admin",
            "create-token",
            "--name",
            name,
            "--scope",
            "admin",
            "--user",
            email,
            "--database-url",
            database_url,
        ])
        .output()?;
    if !output.status.success() {
        anyhow::bail!(
            "create-token failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_string())
}
