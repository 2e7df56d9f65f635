//! The public status page: rendered when something changes (and every 30 s, so the uptime
//! bars roll over), held in memory, served from there with ETag / 304 and caching headers.
//! A request never touches the database; if the database goes away, the last good page keeps
//! being served.

pub mod feed;
pub mod page;
pub mod subscribe;
pub mod v2;

pub mod admin;
pub mod api;
pub mod service;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::AppState;

/// One rendered document, and the same gzip-compressed (made once per rebuild, so a reader
/// that accepts gzip — every browser — is sent a tenth of the bytes at no cost per request).
#[derive(Clone, Debug)]
pub struct Rendered {
    pub body: axum::body::Bytes,
    pub etag: String,
    pub content_type: &'static str,
    /// The gzip form and its own ETag (another representation, so another tag); absent when
    /// compressing would not make it smaller.
    pub gzip: Option<(axum::body::Bytes, String)>,
}

impl Rendered {
    fn new(body: impl Into<axum::body::Bytes>, content_type: &'static str) -> Rendered {
        let body = body.into();
        let digest = Sha256::digest(&body);
        let tag = hex::encode(&digest[..12]);
        let gzip = gzip(&body)
            .filter(|it| it.len() < body.len())
            .map(|it| (it.into(), format!("\"{tag}-gzip\"")));
        Rendered {
            etag: format!("\"{tag}\""),
            body,
            content_type,
            gzip,
        }
    }
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

/// Whether an `Accept-Encoding` header takes gzip: `gzip` or `*` listed without `q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|it| it.to_str().ok())
        .flat_map(|it| it.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let refused = parts.any(|param| {
                param
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// Every public document by path, as of one rebuild.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub documents: HashMap<String, Rendered>,
    /// False until the first rebuild succeeded.
    pub ready: bool,
}

/// The page as it is being served; swapped whole by each rebuild.
#[derive(Clone, Default)]
pub struct StatusCache {
    current: Arc<RwLock<Arc<Snapshot>>>,
    /// Held from reading the data to swapping the snapshot, so rebuilds take turns: a slow
    /// rebuild that read the data before a change can never replace a newer page after it.
    rebuilding: Arc<tokio::sync::Mutex<()>>,
}

impl StatusCache {
    pub fn get(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn set(&self, snapshot: Snapshot) {
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(snapshot);
    }
}

const JSON: &str = "application/json; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const ATOM: &str = "application/atom+xml; charset=utf-8";
const RSS: &str = "application/rss+xml; charset=utf-8";
/// Fresh for 10 s; a cache may serve it stale while it fetches a new one, and for a day when
/// this server cannot answer.
const CACHE_CONTROL: &str = "public, max-age=10, stale-while-revalidate=300, stale-if-error=86400";

/// Reads the page's data and renders every document; on a database error the previous
/// snapshot stays (and is served), and the error is returned for the log.
pub async fn rebuild(state: &AppState) -> Result<(), firebreak_store::StoreError> {
    let _turn = state.status.rebuilding.lock().await;
    let now = firebreak_store::clock::now();
    let since = now - jiff::SignedDuration::from_hours(24 * page::UPTIME_DAYS);
    let data = state.store.status_data(since).await?;
    let info = page::info(&state.settings);
    let docs = v2::documents(&data, &info);
    let mut documents = HashMap::new();
    let json = |value: &serde_json::Value| Rendered::new(value.to_string(), JSON);
    let api = "/status/api/v2";
    documents.insert(format!("{api}/summary.json"), json(&docs.summary));
    documents.insert(format!("{api}/status.json"), json(&docs.status));
    documents.insert(format!("{api}/components.json"), json(&docs.components));
    documents.insert(format!("{api}/incidents.json"), json(&docs.incidents));
    documents.insert(
        format!("{api}/incidents/unresolved.json"),
        json(&docs.unresolved),
    );
    documents.insert(
        format!("{api}/scheduled-maintenances.json"),
        json(&docs.maintenances),
    );
    documents.insert(
        format!("{api}/scheduled-maintenances/upcoming.json"),
        json(&docs.upcoming),
    );
    documents.insert(
        format!("{api}/scheduled-maintenances/active.json"),
        json(&docs.active),
    );
    documents.insert(
        "/status/history.atom".into(),
        Rendered::new(feed::atom(&data, &info, docs.updated_at), ATOM),
    );
    documents.insert(
        "/status/history.rss".into(),
        Rendered::new(feed::rss(&data, &info, docs.updated_at), RSS),
    );
    let look = (
        state.settings.status_page.logo_url.as_str(),
        state.settings.status_page.accent_color.as_str(),
    );
    for (path, html) in page::render(&data, &info, look, &docs, now) {
        documents.insert(path, Rendered::new(html, HTML));
    }
    state.status.set(Snapshot {
        documents,
        ready: true,
    });
    Ok(())
}

/// Every 15 s until shutdown: moves maintenance windows whose time has come (when this
/// process runs the workers), then rebuilds (uptime bars roll over; other replicas' changes
/// appear).
pub async fn keep_fresh(state: AppState) {
    let mut shutdown = state.shutdown.clone();
    loop {
        if state.settings.workers
            && let Err(err) = state
                .store
                .advance_maintenances(firebreak_store::clock::now())
                .await
        {
            tracing::warn!(error = %err, "maintenance step failed");
        }
        if let Err(err) = rebuild(&state).await {
            tracing::warn!(error = %err, "status page rebuild failed; serving the last good one");
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(15)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status", get(serve_root))
        .route(
            "/status/subscribe",
            axum::routing::post(subscribe::subscribe),
        )
        .route(
            "/status/subscriptions/confirm",
            get(subscribe::confirm_form).post(subscribe::confirm),
        )
        .route(
            "/status/unsubscribe",
            get(subscribe::unsubscribe_form).post(subscribe::unsubscribe),
        )
        .route("/status/{*rest}", get(serve_path))
}

async fn serve_root(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, "/status", &headers)
}

async fn serve_path(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(&state, &format!("/status/{rest}"), &headers)
}

fn serve(state: &AppState, path: &str, headers: &HeaderMap) -> Response {
    let snapshot = state.status.get();
    let Some(doc) = snapshot.documents.get(path) else {
        if !snapshot.ready {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the status page is starting",
            )
                .into_response();
        }
        return crate::error::ApiError::not_found("page").into_response();
    };
    // Anyone's page may read the JSON and the feeds.
    let shared = doc.content_type != HTML;
    let (body, etag, encoding) = match &doc.gzip {
        Some((gzip, etag)) if accepts_gzip(headers) => (gzip, etag, Some("gzip")),
        _ => (&doc.body, &doc.etag, None),
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|it| it.to_str().ok())
        .is_some_and(|it| {
            it.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let mut builder = Response::builder()
        .header(header::ETAG, etag)
        .header(header::CACHE_CONTROL, CACHE_CONTROL)
        .header(header::VARY, "Accept-Encoding");
    if shared {
        builder = builder.header(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    if matches {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap_or_else(|_| StatusCode::NOT_MODIFIED.into_response());
    }
    if let Some(encoding) = encoding {
        builder = builder.header(header::CONTENT_ENCODING, encoding);
    }
    builder
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, doc.content_type)
        .body(Body::from(body.clone()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_taken_unless_refused() {
        for (header, want) in [
            ("gzip, deflate, br, zstd", true),
            ("br;q=1.0, gzip;q=0.8", true),
            ("GZIP", true),
            ("*", true),
            ("gzip;q=0", false),
            ("br, gzip; q=0.0", false),
            ("identity", false),
            ("", false),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(header));
            assert_eq!(accepts_gzip(&headers), want, "{header:?}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn gzip_form_is_the_same_document() {
        use std::io::Read;
        let html = "<p>All systems operational</p>".repeat(100);
        let doc = Rendered::new(html.clone(), HTML);
        let (gzip, etag) = doc.gzip.expect("a page this size compresses");
        assert_ne!(etag, doc.etag);
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_string(&mut text)
            .expect("gunzip");
        assert_eq!(text, html);
        assert!(Rendered::new("{}", HTML).gzip.is_none());
    }
}
