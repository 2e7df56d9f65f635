//! The per-incident SHA-256 hash chain over timeline events.
//!
//! `hash = SHA-256(prev_hash ‖ "\n" ‖ canonical)`, where `canonical` is the JSON array
//! `[incident_id, seq, kind, actor, observed_at_us, occurred_at_us, body]` and `body` is the
//! stored body text. Every stored column of an event is covered, so changing any of them in
//! the database breaks the chain at that event.

use sha2::{Digest, Sha256};

/// The `prev_hash` of an incident's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The columns of one stored event that the chain covers.
#[derive(Clone, Copy, Debug)]
pub struct Envelope<'a> {
    pub incident_id: &'a str,
    pub seq: i64,
    pub kind: &'a str,
    pub actor: &'a str,
    pub observed_at_us: i64,
    pub occurred_at_us: i64,
    pub body: &'a str,
}

pub fn event_hash(prev_hash: &str, envelope: &Envelope<'_>) -> String {
    let canonical = serde_json::json!([
        envelope.incident_id,
        envelope.seq,
        envelope.kind,
        envelope.actor,
        envelope.observed_at_us,
        envelope.occurred_at_us,
        envelope.body,
    ]);
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// A stored event as read back for verification.
#[derive(Clone, Copy, Debug)]
pub struct StoredLink<'a> {
    pub envelope: Envelope<'a>,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

/// Where and why a chain stopped verifying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: i64,
    pub reason: &'static str,
}

/// Walks the events in seq order; `Ok(n_events)` when every link holds.
pub fn verify_chain<'a>(
    links: impl IntoIterator<Item = StoredLink<'a>>,
) -> Result<i64, ChainBreak> {
    verify_chain_from((0, GENESIS), links)
}

/// Walks events that follow an already verified event (`seq`, its `hash`) — `(0, GENESIS)`
/// for the whole chain; `Ok(last seq)` when every link holds, so verification can go on from
/// there next time instead of from the start.
pub fn verify_chain_from<'a>(
    (verified_seq, verified_hash): (i64, &str),
    links: impl IntoIterator<Item = StoredLink<'a>>,
) -> Result<i64, ChainBreak> {
    let mut expected_prev = verified_hash.to_string();
    let mut expected_seq = verified_seq + 1;
    for link in links {
        let seq = link.envelope.seq;
        if seq != expected_seq {
            return Err(ChainBreak {
                seq: expected_seq,
                reason: "sequence gap",
            });
        }
        if link.prev_hash != expected_prev {
            return Err(ChainBreak {
                seq,
                reason: "prev_hash does not match the previous event",
            });
        }
        let recomputed = event_hash(link.prev_hash, &link.envelope);
        if recomputed != link.hash {
            return Err(ChainBreak {
                seq,
                reason: "hash does not match the event's contents",
            });
        }
        expected_prev = recomputed;
        expected_seq += 1;
    }
    Ok(expected_seq - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Row {
        seq: i64,
        kind: String,
        body: String,
        prev_hash: String,
        hash: String,
    }

    fn chain(bodies: &[String]) -> Vec<Row> {
        let mut prev = GENESIS.to_string();
        let mut rows = Vec::new();
        for (idx, body) in bodies.iter().enumerate() {
            let seq = idx as i64 + 1;
            let envelope = envelope("note", seq, body);
            let hash = event_hash(&prev, &envelope);
            rows.push(Row {
                seq,
                kind: "note".into(),
                body: body.clone(),
                prev_hash: prev,
                hash: hash.clone(),
            });
            prev = hash;
        }
        rows
    }

    fn envelope<'a>(kind: &'a str, seq: i64, body: &'a str) -> Envelope<'a> {
        Envelope {
            incident_id: "0190f0f0-0000-7000-8000-000000000000",
            seq,
            kind,
            actor: "token:test",
            observed_at_us: 1_000 * seq,
            occurred_at_us: 1_000 * seq,
            body,
        }
    }

    fn verify(rows: &[Row]) -> Result<i64, ChainBreak> {
        verify_chain(rows.iter().map(|row| StoredLink {
            envelope: envelope(&row.kind, row.seq, &row.body),
            prev_hash: &row.prev_hash,
            hash: &row.hash,
        }))
    }

    proptest! {
        #[test]
        fn any_chain_verifies_and_any_edit_is_found(
            bodies in proptest::collection::vec("[a-z ]{0,12}", 1..20),
            victim in any::<prop::sample::Index>(),
            replacement in "[A-Z]{1,5}",
        ) {
            let mut rows = chain(&bodies);
            prop_assert_eq!(verify(&rows), Ok(rows.len() as i64));
            let idx = victim.index(rows.len());
            rows[idx].body.push_str(&replacement);
            let broken = verify(&rows).unwrap_err();
            prop_assert_eq!(broken.seq, idx as i64 + 1);
        }
    }

    #[test]
    fn deleted_event_is_a_gap() {
        let mut rows = chain(&["a".into(), "b".into(), "c".into()]);
        rows.remove(1);
        assert_eq!(
            verify(&rows),
            Err(ChainBreak {
                seq: 2,
                reason: "sequence gap"
            })
        );
    }

    #[test]
    fn changed_kind_is_found() {
        let mut rows = chain(&["a".into(), "b".into()]);
        rows[1].kind = "correction".into();
        assert_eq!(verify(&rows).unwrap_err().seq, 2);
    }
}
