//! The settings from the terminal: the commented defaults, and a bad file refused at start.

mod common;
mod run;

use run::firebreak;

#[tokio::test]
async fn config_example_prints_the_defaults() {
    let run = firebreak(&[], &["config", "example"]).await;
    assert!(run.ok);
    assert!(run.stdout.contains("[webhooks]") && run.stdout.contains("max_attempts = 12"));
    let run = firebreak(
        &[],
        &[
            "admin",
            "create-token",
            "--name",
            "x",
            "--scope",
            "root",
            "--user",
            "nobody@example.com",
            "--database-url",
            "sqlite::memory:",
        ],
    )
    .await;
    assert!(!run.ok);
    assert!(
        run.stderr.contains("expected read, write or admin"),
        "{}",
        run.stderr
    );
}

/// `serve` refuses bad rules and playbooks at start, naming the file, the line and the
/// reason, and starts with good ones.
#[tokio::test]
async fn serve_refuses_a_bad_workflow_file_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("firebreak.toml");
    let path_text = path.to_str().unwrap();
    let database = format!("sqlite:{}", dir.path().join("fb.db").display());
    let table: [(&str, &[&str]); 3] = [
        (
            "[[rules]]\nname = \"security\"\nwhen = [\"declared\"]\n\n[rules.then]\nnotify = [\"security-team\"]\n",
            &[
                "firebreak.toml",
                "line 1",
                "rule \"security\"",
                "notify names \"security-team\"",
            ],
        ),
        (
            "[[playbooks]]\nname = \"db\"\n\n[[playbooks.tasks]]\ntitle = \"Take a backup\"\ndue_minutes = \"soon\"\n",
            &["firebreak.toml", "line 6", "due_minutes"],
        ),
        (
            "[[rules]]\nname = \"x\"\nwhen = [\"declared\"\n",
            &["firebreak.toml", "line 3"],
        ),
    ];
    for (text, needles) in table {
        std::fs::write(&path, text).unwrap();
        let run = firebreak(
            &[],
            &[
                "serve",
                "--config",
                path_text,
                "--database-url",
                &database,
                "--listen",
                "127.0.0.1:0",
            ],
        )
        .await;
        assert!(!run.ok, "{text}");
        for needle in needles {
            assert!(run.stderr.contains(needle), "{needle:?} in {}", run.stderr);
        }
    }
}
