//! The room at scale: a page of the newest events with older ones a link away, and a chain
//! check that verifies only what is new (and still notices a change).

use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

/// Adds `n` notes to INC-1, a few at a time.
async fn notes(app: &TestApp, n: usize) {
    let app = std::sync::Arc::new(app);
    for chunk in (0..n).collect::<Vec<_>>().chunks(25) {
        let posts = chunk.iter().map(|idx| {
            let app = app.clone();
            async move {
                let body = json!({"text": format!("note number {idx}")});
                app.post("/api/v1/incidents/INC-1/timeline", body).await.0
            }
        });
        for status in futures_util::future::join_all(posts).await {
            assert_eq!(status, reqwest::StatusCode::CREATED);
        }
    }
}

both_backends!(
    the_room_shows_the_newest_events_and_links_to_older_ones,
    |app: TestApp| async move {
        app.declare(json!({"title": "Busy incident"})).await;
        notes(&app, 250).await;
        let (cookie, _) = app.session("writer@test.example").await;
        let (_, room) = app.page(&cookie, "/incidents/INC-1").await;
        assert_eq!(room.matches("data-seq=").count(), 200, "one page of events");
        let older = room.split("id=\"older-events\" href=\"").nth(1).unwrap();
        let older = older.split('"').next().unwrap().replace("&#x2f;", "/");
        assert!(older.starts_with("/incidents/INC-1?before=52"), "{older}");
        let (_, page) = app.page(&cookie, older.trim_end_matches("#timeline")).await;
        assert_eq!(page.matches("data-seq=").count(), 51);
        assert!(!page.contains("data-live="), "an older page is not live");
        assert!(
            !page.contains("id=\"older-events\""),
            "nothing older than event 1"
        );
        app.stop().await;
    }
);

both_backends!(
    the_room_verifies_new_events_and_notices_changes,
    |app: TestApp| async move {
        use sqlx::Connection;
        app.declare(json!({"title": "Watched"})).await;
        let (cookie, _) = app.session("writer@test.example").await;
        let (_, room) = app.page(&cookie, "/incidents/INC-1").await;
        assert!(room.contains("✔ chain verified (1 events)"), "{room}");
        notes(&app, 3).await;
        let (_, room) = app.page(&cookie, "/incidents/INC-1/head").await;
        assert!(room.contains("✔ chain verified (4 events)"), "{room}");
        // A note added and then edited in the database, before anyone verified it.
        notes(&app, 1).await;
        sqlx::any::install_default_drivers();
        let mut db = sqlx::AnyConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query("UPDATE events SET body = '{\"text\":\"forged\"}' WHERE seq = 5")
            .execute(&mut db)
            .await
            .unwrap();
        let (_, room) = app.page(&cookie, "/incidents/INC-1/head").await;
        assert!(
            room.contains("chain broken") && room.contains("at event 5"),
            "{room}"
        );
        app.stop().await;
    }
);
