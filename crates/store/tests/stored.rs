//! What is already stored keeps reading back: a database written by the previous release
//! (`tests/fixtures/events-previous-release.sqlite`, made by `scripts/make-event-fixture`)
//! verifies and every event reads back typed and writes the same bytes again; and the two
//! migration folders hold the same versions.

use std::collections::BTreeSet;
use std::path::Path;

use firebreak_store::{Store, StoreOptions};
use sqlx::{Connection, Row};
use uuid::Uuid;

const FIXTURE: &str = "tests/fixtures/events-previous-release.sqlite";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_written_by_the_previous_release_reads_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("fixture.sqlite");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE), &copy).unwrap();
    let url = format!("sqlite://{}?mode=rwc", copy.display());
    // The raw rows first, as the previous release left them.
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&url).await.unwrap();
    let rows = sqlx::query(
        "SELECT incident_id, seq, kind, actor, body, hash FROM events ORDER BY incident_id, seq",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();
    let mut kinds = BTreeSet::new();
    let mut incidents = BTreeSet::new();
    let raw: Vec<(String, i64, String, String, String, String)> = rows
        .iter()
        .map(|row| {
            let kind: String = row.get("kind");
            kinds.insert(kind.clone());
            let incident: String = row.get("incident_id");
            incidents.insert(incident.clone());
            (
                incident,
                row.get("seq"),
                kind,
                row.get("actor"),
                row.get("body"),
                row.get("hash"),
            )
        })
        .collect();
    // Everything a person can cause through the API is in it (the clock's own kinds are
    // covered by the round-trip property test in core).
    assert!(kinds.len() >= 33, "the fixture holds only {kinds:?}");

    let store = Store::open(StoreOptions::new(url)).await.unwrap();
    let mut read = Vec::new();
    for incident in &incidents {
        let id = Uuid::parse_str(incident).unwrap();
        let verified = store.verify_timeline(id).await.unwrap();
        assert!(verified.is_ok(), "{incident}: {verified:?}");
        for event in store.timeline(id, 0, i64::MAX).await.unwrap() {
            // Typed, and written again byte for byte.
            assert_eq!(event.data.kind(), event.kind);
            assert_eq!(event.data.to_body().to_string(), event.body, "{event:?}");
            read.push((
                event.incident_id.to_string(),
                event.seq,
                event.kind.as_str().to_string(),
                event.actor.to_string(),
                event.body,
                event.hash,
            ));
        }
    }
    assert_eq!(read, raw);
    store.close().await;
}

fn versions(folder: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(folder);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|it| it.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn both_backends_have_the_same_migrations() {
    let (sqlite, postgres) = (versions("sqlite"), versions("postgres"));
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres differ"
    );
}
