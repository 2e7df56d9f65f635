//! Structured status updates and their plain-text form.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(
    structured_updates_as_plain_text,
    |app: TestApp| async move {
        app.declare(json!({"title": "Checkout returns 500", "severity": "critical"}))
            .await;
        let response = app
            .http
            .get(format!(
                "{}/api/v1/incidents/INC-1/updates/latest.txt",
                app.base
            ))
            .bearer_auth(&app.read)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "no update yet");
        let (status, body) = app
            .post("/api/v1/incidents/INC-1/updates", json!({"message": " "}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, result) = app
            .post(
                "/api/v1/incidents/INC-1/updates",
                json!({"affected": "card payments at checkout", "who": "EU customers, about 400",
                   "doing": "rolling back release 42", "expected_resolution": "within the hour",
                   "next_update_in_minutes": 30}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{result}");
        assert_eq!(
            result["events"][0]["body"]["message"],
            "What is affected: card payments at checkout\nWho is affected: EU customers, about 400\n\
         What we are doing: rolling back release 42\nExpected resolution: within the hour"
        );
        let response = app
            .http
            .get(format!(
                "{}/api/v1/incidents/INC-1/updates/latest.txt",
                app.base
            ))
            .bearer_auth(&app.read)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let text = response.text().await.unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "INC-1 · Checkout returns 500 · critical · investigating"
        );
        assert_eq!(lines[1], "What is affected: card payments at checkout");
        assert!(
            lines[5].starts_with("Next update: ") && lines[5].ends_with(" UTC"),
            "{text}"
        );
        app.stop().await;
    }
);
