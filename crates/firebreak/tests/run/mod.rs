//! Running the real `firebreak` binary as a user would: arguments, environment, stdin.

use super::common::BIN;

pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

pub async fn firebreak(env: &[(&str, &str)], args: &[&str]) -> Run {
    firebreak_with_stdin(env, args, "").await
}

pub async fn firebreak_with_stdin(env: &[(&str, &str)], args: &[&str], stdin: &str) -> Run {
    use tokio::io::AsyncWriteExt;
    let mut command = tokio::process::Command::new(BIN);
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
        .args(args)
        .env_remove("FIREBREAK_URL")
        .env_remove("FIREBREAK_TOKEN")
        .env_remove("FIREBREAK_DATABASE_URL");
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("run firebreak");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.expect("run firebreak");
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
