//! The committed `openapi.json` matches what the code generates and what the server serves.

use crate::helpers::{Backend, TestApp};

fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi.json")
}

#[test]
fn committed_openapi_matches_the_code() {
    let generated = firebreak_server::openapi::document();
    if std::env::var("UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::write(committed_path(), &generated).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json is out of date; regenerate it with `UPDATE_OPENAPI=1 cargo test -p firebreak-server --test api openapi` and commit it"
    );
    let document: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/incidents",
        "/api/v1/incidents/{key}/timeline/verify",
        "/api/v1/webhooks/{id}/deliveries",
    ] {
        assert!(
            document["paths"].get(path).is_some(),
            "{path} is documented"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_serves_the_same_document() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let served: serde_json::Value = app
        .http
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let generated: serde_json::Value =
        serde_json::from_str(&firebreak_server::openapi::document()).unwrap();
    assert_eq!(served, generated);
    app.stop().await;
}
