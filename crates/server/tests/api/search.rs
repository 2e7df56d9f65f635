//! Full-text search over titles, summaries and the whole timeline (FTS5 / tsvector).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::TestApp;

fn references(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["reference"].as_str().unwrap())
        .collect()
}

both_backends!(
    search_finds_words_anywhere_in_the_record,
    |app: TestApp| async move {
        app.declare(json!({"title": "Checkout returns 500", "summary": "Card payments fail"}))
            .await;
        app.declare(json!({"title": "Search is slow"})).await;
        app.post(
            "/api/v1/incidents/INC-2/timeline",
            json!({"text": "The capacitor on rack 7 overheated"}),
        )
        .await;
        app.post(
            "/api/v1/incidents/INC-1/updates",
            json!({"message": "Rolling back the payment gateway deploy"}),
        )
        .await;
        // (query, expected references, newest first)
        let table: [(&str, &[&str]); 12] = [
            // Combining marks alone are no word (schemathesis found a 500 with Zalgo text).
            ("T̺̺̕o͞ ̷i̲n̝v̟o̶kè hiͅve-m̢iͅnd ͅ ̨ ͏͉ͅc̬h͡a̫o̫s̗.̨̹", &[]),
            ("\u{345}", &[]),
            ("capa\u{301}citor", &["INC-2"]),
            ("capacitor", &["INC-2"]),
            ("CAPACITOR rack", &["INC-2"]),
            ("overheated", &["INC-2"]),
            ("payments", &["INC-1"]),
            ("gateway", &["INC-1"]),
            ("checkout", &["INC-1"]),
            ("capacitor checkout", &[]),
            ("\"capacitor\" OR NEAR(", &[]),
            ("nothing-like-this", &[]),
        ];
        for (query, expected) in table {
            let path = format!("/api/v1/incidents?q={}", crate::helpers::urlencode(query));
            let (status, page) = app.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{query}: {page}");
            assert_eq!(references(&page), expected, "{query}");
        }
        // Filters combine with search.
        let (_, page) = app
            .get("/api/v1/incidents?q=capacitor&status=resolved")
            .await;
        assert!(references(&page).is_empty());
        let (status, _) = app.get("/api/v1/incidents?from=yesterday").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (_, page) = app
            .get("/api/v1/incidents?from=2000-01-01&to=2000-01-02")
            .await;
        assert!(references(&page).is_empty(), "date range");
        let (_, page) = app.get("/api/v1/incidents?from=2000-01-01").await;
        assert_eq!(references(&page), ["INC-2", "INC-1"]);
        app.stop().await;
    }
);
