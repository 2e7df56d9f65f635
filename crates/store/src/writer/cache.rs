//! The incidents the writer has committed, kept between batches.

use std::collections::HashMap;
use std::sync::Arc;

use firebreak_core::Incident;
use uuid::Uuid;

/// The incidents as the writer's last commits left them, so a batch reads only each
/// incident's `last_hash` and parses the whole row only when someone else changed it (another
/// replica on PostgreSQL) or it is not here. An incident's state is a function of its chain,
/// whose head is `last_hash`, and only this writer writes incident rows, so an incident whose
/// stored hash is the one here is exactly the one here. Entries are added only after a commit.
#[derive(Default)]
pub(super) struct Cache {
    pub(super) incidents: HashMap<Uuid, Arc<Incident>>,
}

impl Cache {
    /// At most this many incidents (live ones are what commands touch); past it, the cache
    /// starts over.
    const MAX: usize = 2_048;

    pub(super) fn keep(&mut self, incidents: impl Iterator<Item = Arc<Incident>>) {
        for incident in incidents {
            if self.incidents.len() >= Self::MAX && !self.incidents.contains_key(&incident.id.0) {
                self.incidents.clear();
            }
            self.incidents.insert(incident.id.0, incident);
        }
    }
}
