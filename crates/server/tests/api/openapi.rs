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

#[test]
fn every_routed_path_is_documented_and_every_documented_path_is_routed() {
    let document: serde_json::Value =
        serde_json::from_str(&firebreak_server::openapi::document()).unwrap();
    let documented: std::collections::BTreeSet<String> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let routed: std::collections::BTreeSet<String> = firebreak_server::api::paths()
        .into_iter()
        .map(|it| format!("/api/v1{it}"))
        .collect();
    let undocumented: Vec<&String> = routed.difference(&documented).collect();
    let unrouted: Vec<&String> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routed but not documented: {undocumented:?}; documented but not routed: {unrouted:?}"
    );
}
