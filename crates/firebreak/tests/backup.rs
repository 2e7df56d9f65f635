//! Backups: a copy of the live SQLite database, and a restore that verifies every chain first.

mod common;
mod run;

use common::start;
use run::firebreak;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_a_live_database_and_restore_only_a_verified_copy() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let database_url = format!("sqlite:{}", live.display());
    let db_env = [("FIREBREAK_DATABASE_URL", database_url.as_str())];
    let token = common::create_token(&database_url);
    let (mut server, url) = start(&database_url).await;
    let env = [
        ("FIREBREAK_URL", url.as_str()),
        ("FIREBREAK_TOKEN", token.as_str()),
    ];
    assert!(firebreak(&env, &["declare", "Before the backup"]).await.ok);
    // Online: the server keeps running.
    let good = dir.path().join("good.db");
    let run = firebreak(&db_env, &["admin", "backup", good.to_str().unwrap()]).await;
    assert!(run.ok, "{}", run.stderr);
    assert!(firebreak(&env, &["declare", "After the backup"]).await.ok);
    let run = firebreak(&db_env, &["admin", "restore", good.to_str().unwrap()]).await;
    assert!(
        !run.ok && run.stderr.contains("stop the server"),
        "{}",
        run.stderr
    );
    server.kill().await.unwrap();
    server.wait().await.unwrap();
    // A copy whose timeline was edited is refused, and nothing is replaced.
    let forged = dir.path().join("forged.db");
    std::fs::copy(&good, &forged).unwrap();
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", forged.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE events SET actor = 'mallory@example.com' WHERE seq = 1")
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    let run = firebreak(&db_env, &["admin", "restore", forged.to_str().unwrap()]).await;
    assert!(
        !run.ok && run.stderr.contains("INC-1") && run.stderr.contains("nothing was replaced"),
        "{}",
        run.stderr
    );
    let (mut server, url) = start(&database_url).await;
    let env = [
        ("FIREBREAK_URL", url.as_str()),
        ("FIREBREAK_TOKEN", token.as_str()),
    ];
    assert!(
        firebreak(&env, &["incidents"])
            .await
            .stdout
            .contains("After the backup"),
        "untouched"
    );
    server.kill().await.unwrap();
    server.wait().await.unwrap();
    let run = firebreak(&db_env, &["admin", "restore", good.to_str().unwrap()]).await;
    assert!(
        run.ok && run.stderr.contains("every chain verified"),
        "{}",
        run.stderr
    );
    let (mut server, url) = start(&database_url).await;
    let env = [
        ("FIREBREAK_URL", url.as_str()),
        ("FIREBREAK_TOKEN", token.as_str()),
    ];
    let listed = firebreak(&env, &["incidents"]).await.stdout;
    assert!(
        listed.contains("Before the backup") && !listed.contains("After the backup"),
        "{listed}"
    );
    server.kill().await.unwrap();
}
