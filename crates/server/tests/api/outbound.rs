//! Where Firebreak sends and connects: the outbound policy (SSRF through every URL field)
//! and TLS to PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

/// The default outbound policy, plus 127.0.0.2 allowed; workers stepped by hand.
fn outbound_default(settings: &mut firebreak_server::Settings) {
    settings.outbound.allow_private = false;
    settings.outbound.allowed_networks = vec!["127.0.0.2/32".into()];
    settings.workers = false;
}

/// A bare HTTP receiver on `ip`: answers every request with `response` and counts requests.
async fn bare_receiver(
    ip: &str,
    response: String,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buffer = vec![0u8; 65536];
            let _ = stream.read(&mut buffer).await;
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (port, hits)
}

both_backends!(
    webhooks_reach_only_what_the_outbound_policy_allows,
    configure = outbound_default,
    |app: TestApp| async move {
        use std::sync::atomic::Ordering::SeqCst;
        for url in [
            "http://127.0.0.1:9/",
            "http://localhost.:9/x\u{0}",
            "http://[::1]/",
            "http://0.0.0.0/",
            "http://2130706433/",
            "http://127.1/",
            "http://10.0.0.1/",
            "http://169.254.169.254/",
            "http://[::ffff:127.0.0.1]/",
            "https://example.com/\u{1b}[2J",
            "https://example.com/\r\nX: 1",
        ] {
            let body = json!({"url": url, "event_kinds": ["declared"]});
            let (status, error) = app
                .call(&app.admin, Method::POST, "/api/v1/webhooks", Some(body))
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {error}");
        }
        let contact = json!({"kind": "webhook", "address": "http://169.254.169.254/latest"});
        let (status, _) = app
            .call(
                &app.write,
                Method::POST,
                "/api/v1/me/contact-methods",
                Some(contact),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let subscriber = json!({"webhook_url": "http://10.0.0.1/"});
        let (status, _) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/status/subscribers",
                Some(subscriber),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        // 127.0.0.2 is allowed here: it redirects to 127.0.0.1, which is not.
        let (target, target_hits) = bare_receiver(
            "127.0.0.1",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".into(),
        )
        .await;
        let redirect = format!(
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{target}/\r\nContent-Length: 0\r\n\r\n"
        );
        let (redirecting, redirect_hits) = bare_receiver("127.0.0.2", redirect).await;
        let hooks = [
            format!("http://127.0.0.2:{redirecting}/hook"),
            format!("http://localhost:{target}/hook"),
            "http://127.0.0.2:1/closed".to_string(),
        ];
        let mut ids = Vec::new();
        for url in &hooks {
            let body = json!({"url": url, "event_kinds": ["declared"]});
            let (status, hook) = app
                .call(&app.admin, Method::POST, "/api/v1/webhooks", Some(body))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{url}: {hook}");
            ids.push(hook["id"].as_str().unwrap().to_string());
        }
        app.declare(json!({"title": "Something"})).await;
        crate::webhooks::manual_worker(&app)
            .run_once(firebreak_store::clock::now())
            .await
            .unwrap();
        assert_eq!(
            redirect_hits.load(SeqCst),
            1,
            "the allowed receiver was called"
        );
        assert_eq!(
            target_hits.load(SeqCst),
            0,
            "neither the redirect nor a name for loopback"
        );
        let mut last_errors = Vec::new();
        for id in &ids {
            let path = format!("/api/v1/webhooks/{id}/deliveries");
            let (_, deliveries) = app.call(&app.admin, Method::GET, &path, None).await;
            last_errors.push(
                deliveries[0]["last_error"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        assert_eq!(last_errors[0], "receiver answered 302");
        assert!(
            last_errors[1].contains("outbound policy"),
            "{}",
            last_errors[1]
        );
        assert_eq!(
            last_errors[2], "could not reach the receiver",
            "no port scanning"
        );
        app.stop().await;
    }
);

/// A fresh PostgreSQL database's URL with `query` appended, and the server's certificate file.
async fn postgres_with(query: &str) -> Option<(String, String)> {
    use sqlx::Connection;
    let url = crate::helpers::fresh_postgres_url().await?;
    let admin = std::env::var("TEST_POSTGRES_URL").unwrap();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let cert: String =
        sqlx::query_scalar("SELECT setting FROM pg_settings WHERE name = 'ssl_cert_file'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    Some((format!("{url}?{query}"), cert))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls_with_sslmode_require_and_verify_ca() {
    use sqlx::Connection;
    let Some((url, cert)) = postgres_with("sslmode=require").await else {
        return;
    };
    let app = TestApp::spawn_with(crate::helpers::Backend::Postgres, |settings| {
        settings.database_url = url.clone().into();
    })
    .await
    .unwrap();
    app.declare(json!({"title": "Over TLS"})).await;
    let name = url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let admin = std::env::var("TEST_POSTGRES_URL").unwrap();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let (n, all_tls): (i64, Option<bool>) = sqlx::query_as(
        "SELECT count(*), bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1",
    )
    .bind(&name)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(
        n > 0 && all_tls == Some(true),
        "{n} connections, all TLS: {all_tls:?}"
    );
    app.stop().await;
    // With the server's certificate as the trusted root, verify-ca connects too.
    let verified = format!(
        "{}?sslmode=verify-ca&sslrootcert={cert}",
        url.split('?').next().unwrap()
    );
    let store = firebreak_store::Store::open(firebreak_store::StoreOptions::new(verified)).await;
    assert!(store.is_ok(), "{:?}", store.err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_verify_full_without_a_trusted_root_refuses_in_one_line() {
    let Some((url, _)) = postgres_with("sslmode=verify-full").await else {
        return;
    };
    let url = url.replacen("postgres://postgres@", "postgres://postgres:pw@", 1);
    let refused = firebreak_store::Store::open(firebreak_store::StoreOptions::new(url)).await;
    let message = refused
        .err()
        .expect("an untrusted certificate is refused")
        .to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(
        message.contains("certificate is not trusted") && message.contains("sslrootcert"),
        "{message}"
    );
    assert!(
        message.contains("postgres:•••@") && !message.contains(":pw@"),
        "no password: {message}"
    );
}
