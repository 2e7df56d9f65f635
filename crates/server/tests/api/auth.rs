//! Tokens and scopes: 401 without a valid token, 403 with too little scope.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(tokens_and_scopes, |app: TestApp| async move {
    let response = app
        .http
        .get(format!("{}/api/v1/incidents", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["WWW-Authenticate"], "Bearer");
    let (status, body) = app
        .call("fbk_nope", Method::GET, "/api/v1/incidents", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");

    let (status, body) = app
        .call(
            &app.read,
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, _) = app
        .call(&app.write, Method::GET, "/api/v1/webhooks", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call(&app.write, Method::GET, "/api/v1/tokens", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Health is open.
    for path in ["/healthz", "/readyz"] {
        let response = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let response = app
        .http
        .get(format!("{}/metrics", app.base))
        .bearer_auth(&app.read)
        .send()
        .await
        .unwrap();
    assert!(response.text().await.unwrap().contains("firebreak_up 1"));

    // An admin creates a token, it is shown once, works, and stops working when revoked.
    let (status, created) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "ci", "scope": "write"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("fbk_"));
    let (_, listed) = app
        .call(&app.admin, Method::GET, "/api/v1/tokens", None)
        .await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|it| it.get("token").is_none()),
        "secrets are never listed"
    );
    let (status, incident) = app
        .call(
            &secret,
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "from ci"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        incident["created_by"], "admin@test.example",
        "a token acts as its owner (by default, whoever created it)"
    );
    assert_eq!(created["user"], "admin@test.example");
    let id = created["id"].as_str().unwrap();
    let (status, _) = app
        .call(
            &app.admin,
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .call(&secret, Method::GET, "/api/v1/incidents", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "x", "scope": "root"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Private incidents are invisible (404) to people who are not members.
    let (status, private) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "Leaked key", "type": "security"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(private["private"], true);
    let reference = private["reference"].as_str().unwrap();
    let (status, _) = app.get(&format!("/api/v1/incidents/{reference}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for path in ["timeline", "timeline/verify", "events"] {
        let (status, _) = app
            .get(&format!("/api/v1/incidents/{reference}/{path}"))
            .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{path} of a private incident"
        );
    }
    let note = json!({"text": "x"});
    let (status, _) = app
        .post(&format!("/api/v1/incidents/{reference}/timeline"), note)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "writing to a private incident"
    );
    let timeline = format!("/api/v1/incidents/{reference}/timeline");
    let (status, page) = app.call(&app.admin, Method::GET, &timeline, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"][0]["kind"], "declared");
    let (status, _) = app.get("/api/v1/incidents/INC-999/timeline?after=5").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, page) = app.get("/api/v1/incidents").await;
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|it| it["reference"] != reference)
    );
    let (status, _) = app
        .call(
            &app.admin,
            Method::GET,
            &format!("/api/v1/incidents/{reference}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
});

both_backends!(landing_page_is_open, |app: TestApp| async move {
    let response = app
        .http
        .get(format!("{}/about", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("Firebreak") && page.contains("/api/v1/openapi.json"));
    // The root is the dashboard; a stranger lands on the sign-in page, which links here.
    let response = app.http.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.url().path().starts_with("/login"));
    let page = response.text().await.unwrap();
    assert!(page.contains("Sign in to Firebreak") && page.contains("href=\"/about\""));
    let response = app
        .http
        .get(format!("{}/no/such/page", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    app.stop().await;
});
