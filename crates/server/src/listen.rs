//! Accepting connections within limits, so idle, slow or too many clients cannot starve the
//! server: a deadline for each request's headers (which is also the keep-alive idle timeout),
//! one for its body, a cap on open connections with a few kept back for health checks and the
//! status page, and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::error::ApiError;

/// What the listener allows; `Settings::limits` fills it.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// A request's headers must arrive within this; an idle keep-alive connection is closed
    /// after it too.
    pub header_read_timeout: Duration,
    /// A request's whole body must arrive within this (408 otherwise).
    pub body_read_timeout: Duration,
    /// Connections served at once for any path.
    pub max_connections: usize,
    /// Further connections kept for `/healthz`, `/readyz` and `/status` when the rest are
    /// taken; anything else on them is a 503.
    pub reserved_connections: usize,
}

/// Paths a reserved connection may serve: what a load balancer and the public need while the
/// server is saturated.
fn reserved_path(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz") || path == "/status" || path.starts_with("/status/")
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let general = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let reserved = Arc::new(Semaphore::new(limits.reserved_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(it) => it,
                Err(err) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // keep serving the ones we have, and try again shortly.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (permit, only_reserved) = match general.clone().try_acquire_owned() {
            Ok(permit) => (permit, false),
            Err(_) => match reserved.clone().try_acquire_owned() {
                Ok(permit) => (permit, true),
                // Over every limit: closing at once costs nothing and keeps the descriptors
                // for the connections already served.
                Err(_) => {
                    tracing::debug!(%peer, "connection refused: at the connection limit");
                    drop(stream);
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                if !only_reserved {
                    return app.oneshot(request).await;
                }
                if !reserved_path(request.uri().path()) {
                    return Ok::<_, Infallible>(busy());
                }
                // One request per reserved connection, so the slot is free for the next check.
                let mut response = app.oneshot(request).await?;
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                Ok(response)
            }
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The answer on a reserved connection to anything but health and the status page.
fn busy() -> Response {
    let mut response = ApiError {
        retry_after: Some(1),
        ..ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the server is at its connection limit; try again shortly",
        )
    }
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Middleware: reads the whole request body within `timeout` (408 otherwise) and at most
/// `max_bytes` (413), before any handler runs, so a slow body holds nothing but its socket
/// and only for a bounded time.
pub async fn read_body_within(
    State((timeout, max_bytes)): State<(Duration, usize)>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let max_bytes = if crate::imports::takes_large_bodies(parts.uri.path()) {
        max_bytes.max(crate::imports::MAX_ACCOUNT_BYTES)
    } else {
        max_bytes
    };
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, max_bytes)).await {
        Ok(Ok(bytes)) => {
            if carries_nul(&parts.headers, &bytes) {
                return ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "text must not contain NUL characters",
                )
                .into_response();
            }
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {max_bytes} bytes, or was cut off"),
        )
        .into_response(),
        Err(_) => {
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format!(
                    "the request body did not arrive within {} seconds",
                    timeout.as_secs()
                ),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// Whether a JSON or form body carries a NUL character in its text: nothing Firebreak stores
/// may hold one (PostgreSQL refuses it, a terminal shows it as nothing), so it is refused at
/// the door for every endpoint at once.
fn carries_nul(headers: &axum::http::HeaderMap, body: &[u8]) -> bool {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|it| it.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if kind.contains("x-www-form-urlencoded") {
        return body.windows(3).any(|it| it == b"%00");
    }
    if !kind.contains("json") {
        return false;
    }
    // In JSON a NUL can only be the escape `\u0000`; an escaped backslash before `u0000` is
    // text, so count the backslashes in front.
    let mut from = 0;
    while let Some(found) = find(&body[from..], b"u0000") {
        let at = from + found;
        let n_backslashes = body[..at]
            .iter()
            .rev()
            .take_while(|it| **it == b'\\')
            .count();
        if n_backslashes % 2 == 1 {
            return true;
        }
        from = at + 1;
    }
    false
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|it| it == needle)
}

/// Raises the soft limit on open files to the hard limit, so the connection cap, not the
/// kernel, decides when to refuse; returns the limit now in force.
pub fn raise_fd_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let wanted = rustix::process::Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, wanted) {
        Ok(()) => limit.maximum.unwrap_or(u64::MAX),
        Err(err) => {
            tracing::warn!(error = %err, "could not raise the open-file limit");
            limit.current.unwrap_or(u64::MAX)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(content_type: &str, body: &str, expected: bool) {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        assert_eq!(carries_nul(&headers, body.as_bytes()), expected, "{body}");
    }

    #[test]
    fn a_nul_in_text_is_found_and_a_literal_backslash_u_is_not() {
        check("application/json", r#"{"title": "a\u0000b"}"#, true);
        check("application/json", r#"{"title": "a\\u0000b"}"#, false);
        check("application/json", r#"{"title": "a\\\u0000b"}"#, true);
        check("application/json", r#"{"title": "u0000"}"#, false);
        check("application/x-www-form-urlencoded", "title=a%00b", true);
        check("application/x-www-form-urlencoded", "title=a%2500b", false);
        check("text/plain", r#"\u0000"#, false);
    }
}
