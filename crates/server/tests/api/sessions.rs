//! Signing in and out: the login form's CSRF cookie, session cookies, throttling, revocation,
//! sessions on the API (reads freely, writes only with the CSRF header), disabled people.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{TestApp, no_redirects, urlencode};

const PASSWORD: &str = "correct horse battery";

/// The first form's CSRF token on a page.
fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .expect("a form with a CSRF token")
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

/// The login page's CSRF token and the cookie that must come back with it.
async fn login_form(app: &TestApp) -> (String, String) {
    let response = no_redirects()
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let html = response.text().await.unwrap();
    (cookie, csrf_in(&html))
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let (cookie, csrf) = login_form(app).await;
    let body = format!(
        "csrf={csrf}&next=%2Fincidents&email={}&password={}",
        urlencode(email),
        urlencode(password)
    );
    no_redirects()
        .post(format!("{}/login", app.base))
        .header("Cookie", cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|it| it.to_str().unwrap())
        .find(|it| it.starts_with("fb_session=") && !it.starts_with("fb_session=;"))
        .expect("a session cookie")
        .to_string()
}

both_backends!(sign_in_sessions_and_csrf, |app: TestApp| async move {
    // An admin creates a person through the API; the password is checked, never shown.
    let (status, body) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/users",
            Some(json!({"email": "Ana@Example.com", "name": "Ana", "password": "short"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["password"].is_string());
    let (status, ana) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/users",
            Some(json!({"email": "Ana@Example.com", "name": "Ana", "password": PASSWORD, "time_zone": "Europe/Berlin"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ana}");
    assert_eq!(ana["email"], "ana@example.com");
    assert_eq!(ana["role"], "responder");
    assert!(ana.get("password").is_none());
    let (status, _) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/users",
            Some(json!({"email": "ana@example.com", "name": "Twin", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app
        .call(&app.write, Method::GET, "/api/v1/users", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only admins manage people");

    // Pages send strangers to sign in and back.
    let response = no_redirects()
        .get(format!("{}/incidents/INC-1", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/login?next=/incidents/INC-1"
    );

    // A sign-in form without its cookie (login CSRF) is refused.
    let forged = no_redirects()
        .post(format!("{}/login", app.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf=abc&email=ana%40example.com&password={}",
            urlencode(PASSWORD)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let wrong = sign_in(&app, "ana@example.com", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let signed_in = sign_in(&app, "ANA@example.com", PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()["location"], "/incidents");
    let set_cookie = session_cookie(&signed_in);
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    assert!(
        !set_cookie.contains("Secure"),
        "plain http here; Secure behind https"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();

    // The session reads pages and the API; API writes need the CSRF header.
    let (status, html) = app.page(&cookie, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Ana"));
    let api = |method: Method, path: &str| {
        no_redirects()
            .request(method, format!("{}{path}", app.base))
            .header("Cookie", &cookie)
    };
    let me = api(Method::GET, "/api/v1/me").send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["email"], "ana@example.com");
    let declare = json!({"title": "From the browser"});
    let refused = api(Method::POST, "/api/v1/incidents")
        .json(&declare)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let csrf = csrf_in(&app.page(&cookie, "/incidents/new").await.1);
    let accepted = api(Method::POST, "/api/v1/incidents")
        .header("X-CSRF-Token", &csrf)
        .json(&declare)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::CREATED);
    let incident: serde_json::Value = accepted.json().await.unwrap();
    assert_eq!(incident["created_by"], "ana@example.com");

    // Forms without the CSRF token are refused, with it they work.
    let response = app
        .form(&cookie, "/incidents/INC-1/note", &[("text", "no token")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .form(
            &cookie,
            "/incidents/INC-1/note",
            &[("csrf", "wrong"), ("text", "bad token")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .form(
            &cookie,
            "/incidents/INC-1/note",
            &[("csrf", &csrf), ("text", "good token")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, timeline) = app.get("/api/v1/incidents/INC-1/timeline").await;
    let notes: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|it| it["kind"] == "note")
        .map(|it| it["body"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        ["good token"],
        "nothing half-written by refused forms"
    );

    // An admin signs Ana out everywhere: the cookie stops working at once.
    let id = ana["id"].as_str().unwrap();
    let (status, revoked) = app
        .call(
            &app.admin,
            Method::DELETE,
            &format!("/api/v1/users/{id}/sessions"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revoked["revoked"], 1);
    let (status, _) = app.page(&cookie, "/").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "back to sign in");

    // Signing out ends that session only.
    let cookie = session_cookie(&sign_in(&app, "ana@example.com", PASSWORD).await);
    let cookie = cookie.split(';').next().unwrap().to_string();
    let csrf = csrf_in(&app.page(&cookie, "/").await.1);
    let response = app.form(&cookie, "/logout", &[("csrf", &csrf)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.page(&cookie, "/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Your own account: time zone and password; a new password ends every session.
    let cookie = session_cookie(&sign_in(&app, "ana@example.com", PASSWORD).await);
    let cookie = cookie.split(';').next().unwrap().to_string();
    let csrf = csrf_in(&app.page(&cookie, "/account").await.1);
    let response = app
        .form(
            &cookie,
            "/account",
            &[
                ("csrf", &csrf),
                ("name", "Ana L."),
                ("time_zone", "Mars/Base"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = app
        .form(
            &cookie,
            "/account",
            &[
                ("csrf", &csrf),
                ("name", "Ana L."),
                ("time_zone", "Asia/Tokyo"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.page(&cookie, "/incidents/INC-1").await;
    assert!(html.contains(" JST"), "times in the reader's zone");
    let (status, _) = app.page(&cookie, "/settings").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "settings are for admins");
    let new_password = "another long passphrase";
    let response = app
        .form(
            &cookie,
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current", "wrong"),
                ("password", new_password),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .form(
            &cookie,
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current", PASSWORD),
                ("password", new_password),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.page(&cookie, "/").await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "signed out by the new password"
    );
    let old = sign_in(&app, "ana@example.com", PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = sign_in(&app, "ana@example.com", new_password).await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);
    let (admin_cookie, _) = app.session("admin@test.example").await;
    let (status, html) = app.page(&admin_cookie, "/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("incidents.severities") && html.contains("critical, major, minor"));

    // Disabling a person stops their sign-in and their tokens.
    let (status, _) = app
        .call(
            &app.admin,
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let refused = sign_in(&app, "ana@example.com", PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
});

both_backends!(sign_in_attempts_are_throttled, |app: TestApp| async move {
    let (status, _) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/users",
            Some(json!({"email": "bo@example.com", "name": "Bo", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for attempt in 0..5 {
        let response = sign_in(&app, "bo@example.com", "guess").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    // Now even the right password waits: the limit is per email, whatever is typed.
    let blocked = sign_in(&app, "bo@example.com", PASSWORD).await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(blocked.headers().contains_key("retry-after"));
    assert!(
        blocked
            .text()
            .await
            .unwrap()
            .contains("Too many failed sign-ins")
    );
    app.stop().await;
});

both_backends!(tokens_act_as_their_owner, |app: TestApp| async move {
    // A read-scoped token of an admin is still only a reader; an admin-scoped token of a
    // viewer is still only a viewer.
    let (status, created) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "viewer-admin", "scope": "admin", "user": "reader@test.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = created["token"].as_str().unwrap();
    let (status, _) = app.call(token, Method::GET, "/api/v1/tokens", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, me) = app.call(token, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "viewer");
    let (status, _) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "x", "scope": "read", "user": "nobody@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    app.stop().await;
});
