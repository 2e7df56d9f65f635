//! An incident's new timeline events, live, as Server-Sent Events: the API's
//! `GET /api/v1/incidents/{key}/events` and the room's live timeline both stream through here.
//!
//! The stream subscribes to live events *before* reading the backlog from the database, so
//! nothing committed in between is missed; seq numbers drop duplicates. `Last-Event-ID` (or
//! `?after=`) resumes after a given seq. If the subscriber falls behind the in-process
//! broadcast, it re-reads the gap from the database.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use firebreak_core::Access;
use firebreak_store::StoredEvent;
use futures_util::Stream;
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use crate::AppState;
use crate::incidents::dto::EventDto;

/// Turns one stored event into the SSE event a client receives.
pub(crate) type Render = Arc<dyn Fn(&StoredEvent) -> Event + Send + Sync>;

/// A live stream of one incident's events after `after`, each rendered by `render`.
/// `live` must be subscribed before anything shown to the client was read (no gap).
pub(crate) fn stream(
    state: AppState,
    live: broadcast::Receiver<Arc<StoredEvent>>,
    access: Access,
    incident_id: Uuid,
    after: i64,
    render: Render,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
    let (sender, receiver) = mpsc::channel(64);
    tokio::spawn(forward(
        state,
        access,
        incident_id,
        after,
        live,
        sender,
        render,
    ));
    let stream = tokio_stream::wrappers::ReceiverStream::new(receiver);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

pub(crate) fn to_sse(event: &StoredEvent) -> Event {
    let data = serde_json::to_string(&EventDto::from_event(event)).unwrap_or_default();
    Event::default()
        .id(event.seq.to_string())
        .event(event.kind.as_str())
        .data(data)
}

/// Feeds one client until it disconnects or the server shuts down.
async fn forward(
    state: AppState,
    access: Access,
    incident_id: Uuid,
    mut last_sent: i64,
    mut live: broadcast::Receiver<Arc<StoredEvent>>,
    sender: mpsc::Sender<Result<Event, Infallible>>,
    render: Render,
) {
    let mut shutdown = state.shutdown.clone();
    // Catch up from the database first (also after a lag).
    let mut catch_up = true;
    loop {
        if catch_up {
            loop {
                let Ok(events) = state.store.timeline(incident_id, last_sent, 500).await else {
                    return;
                };
                if events.is_empty() {
                    break;
                }
                for event in &events {
                    if sender.send(Ok(render(event))).await.is_err() {
                        return;
                    }
                    last_sent = event.seq;
                }
            }
            catch_up = false;
        }
        tokio::select! {
            received = live.recv() => match received {
                Ok(event) => {
                    if event.incident_id.0 == incident_id && event.private && !access.is_all() {
                        // The incident may have just become private: stop unless the caller
                        // is still allowed to see it.
                        let key = firebreak_store::IncidentKey::Id(incident_id);
                        if state.store.visible_incident(key, &access).await.is_err() {
                            return;
                        }
                    }
                    if event.incident_id.0 == incident_id && event.seq > last_sent {
                        if event.seq != last_sent + 1 {
                            catch_up = true;
                            continue;
                        }
                        if sender.send(Ok(render(&event))).await.is_err() {
                            return;
                        }
                        last_sent = event.seq;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => catch_up = true,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = sender.closed() => return,
            _ = shutdown.changed() => return,
        }
    }
}
