//! Live events across replicas on PostgreSQL.
//!
//! Each batch that adds events sends, inside its transaction (so only on commit), a NOTIFY
//! naming its replica and the seq range it added per incident. Every other replica reads
//! those events back and feeds them to its local broadcast, so an SSE client connected to
//! any replica sees every event. A notification lost while a listener reconnects is not
//! fatal: SSE streams notice the gap at the next event and catch up from the database.
//!
//! The same connection hears when another replica changed the playbooks and rules stored
//! through the API (`workflow.rs`), and rebuilds this replica's catalog.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use uuid::Uuid;

use crate::Store;
use crate::reads::StoredEvent;

pub const CHANNEL: &str = "firebreak_events";
/// PostgreSQL caps a payload at 8000 bytes; stay well below.
const MAX_PAYLOAD: usize = 7000;

/// `"<origin> <incident>:<first>:<last> …"`, split so each payload fits.
pub(crate) fn payloads(origin: Uuid, events: &[Arc<StoredEvent>]) -> Vec<String> {
    let mut ranges: BTreeMap<Uuid, (i64, i64)> = BTreeMap::new();
    for event in events {
        let range = ranges
            .entry(event.incident_id.0)
            .or_insert((event.seq, event.seq));
        range.0 = range.0.min(event.seq);
        range.1 = range.1.max(event.seq);
    }
    let mut res = Vec::new();
    let mut current = origin.to_string();
    for (incident, (first, last)) in ranges {
        let part = format!(" {incident}:{first}:{last}");
        if current.len() + part.len() > MAX_PAYLOAD {
            res.push(std::mem::replace(&mut current, origin.to_string()));
        }
        current.push_str(&part);
    }
    if current.len() > origin.to_string().len() {
        res.push(current);
    }
    res
}

/// Events `first..=last` of one incident.
type SeqRange = (Uuid, i64, i64);

/// The origin and the seq ranges of a payload.
pub(crate) fn parse(payload: &str) -> Option<(Uuid, Vec<SeqRange>)> {
    let mut parts = payload.split(' ');
    let origin = Uuid::parse_str(parts.next()?).ok()?;
    let mut ranges = Vec::new();
    for part in parts {
        let mut fields = part.split(':');
        let incident = Uuid::parse_str(fields.next()?).ok()?;
        let first = fields.next()?.parse().ok()?;
        let last = fields.next()?.parse().ok()?;
        ranges.push((incident, first, last));
    }
    Some((origin, ranges))
}

/// Connects and LISTENs; `Store::open` does this once before returning, so a store that is
/// open on PostgreSQL already hears the other replicas.
pub(crate) async fn listen(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener
        .listen_all([CHANNEL, crate::workflow::CHANNEL])
        .await?;
    Ok(listener)
}

/// Runs until the store closes: relays other replicas' events into the local broadcast,
/// reconnecting when the connection drops.
pub(crate) async fn relay(store: Store, url: String, mut listener: PgListener) {
    let mut closing = store.closing();
    loop {
        loop {
            let notification = tokio::select! {
                received = listener.recv() => received,
                _ = closing.changed() => return,
            };
            match notification {
                Ok(notification) if notification.channel() == crate::workflow::CHANNEL => {
                    if notification.payload() != store.replica_id().to_string()
                        && let Err(err) = store.reload_workflow().await
                    {
                        tracing::warn!(error = %err, "cannot reload the playbooks and rules");
                    }
                }
                Ok(notification) => forward(&store, notification.payload()).await,
                Err(err) => {
                    tracing::warn!(error = %err, "lost the notification connection; reconnecting");
                    break;
                }
            }
        }
        listener = loop {
            match listen(&url).await {
                Ok(listener) => break listener,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for other replicas' events; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = closing.changed() => return,
                    }
                }
            }
        };
    }
}

async fn forward(store: &Store, payload: &str) {
    let Some((origin, ranges)) = parse(payload) else {
        tracing::warn!(payload, "ignoring a malformed event notification");
        return;
    };
    if origin == store.replica_id() {
        return;
    }
    for (incident, first, last) in ranges {
        match store.timeline(incident, first - 1, last - first + 1).await {
            Ok(events) => {
                for event in events {
                    let _ = store.event_sender().send(Arc::new(event));
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot read events another replica added"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firebreak_core::{Actor, EventData, EventKind, IncidentId, Reference};

    fn event(incident: Uuid, seq: i64) -> Arc<StoredEvent> {
        Arc::new(StoredEvent {
            incident_id: IncidentId(incident),
            reference: Reference(1),
            private: false,
            seq,
            kind: EventKind::Note,
            actor: Actor::parse("a"),
            data: EventData::Note {
                text: String::new(),
            },
            observed_at_us: 0,
            occurred_at_us: 0,
            body: "{}".into(),
            prev_hash: String::new(),
            hash: String::new(),
        })
    }

    #[test]
    fn payload_round_trip() {
        let origin = Uuid::from_u128(1);
        let (a, b) = (Uuid::from_u128(2), Uuid::from_u128(3));
        let events = [event(a, 4), event(b, 1), event(a, 5), event(a, 6)];
        let payloads = payloads(origin, &events);
        assert_eq!(payloads.len(), 1);
        assert_eq!(
            parse(&payloads[0]),
            Some((origin, vec![(a, 4, 6), (b, 1, 1)]))
        );
        assert_eq!(parse("not a payload"), None);
    }

    #[test]
    fn large_batches_split_below_the_limit() {
        let origin = Uuid::from_u128(1);
        let events: Vec<_> = (0..500)
            .map(|idx| event(Uuid::from_u128(100 + idx), 1))
            .collect();
        let payloads = payloads(origin, &events);
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|it| it.len() <= MAX_PAYLOAD));
        let n_ranges: usize = payloads.iter().map(|it| parse(it).unwrap().1.len()).sum();
        assert_eq!(n_ranges, 500);
    }
}
