//! The state every handler shares.

use std::sync::Arc;

use firebreak_store::Store;
use tokio::sync::watch;

use crate::paging::pager as paging;
use crate::settings::Settings;
use crate::status_page as status;
use crate::{auth, token_cache};

/// Shared state of every handler: one reference-counted `Shared`, so the clone that every
/// handler and middleware takes of it is one atomic increment. As a struct of its own fields
/// it cost a dozen increments, a copy of the base URL (and of the push settings, where set)
/// and their frees, for each extractor of each request: 1.7 % of the machine's CPU under 64
/// clients posting notes (`perf record -a -e cpu-clock`).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What `AppState` holds.
pub struct Shared {
    pub store: Store,
    pub settings: Arc<Settings>,
    /// Flips to true when the server is shutting down; long-lived streams end on it.
    pub shutdown: watch::Receiver<bool>,
    pub tokens: Arc<token_cache::TokenCache>,
    pub logins: Arc<auth::LoginThrottle>,
    /// The public status page, rendered and held in memory.
    pub status: status::StatusCache,
    /// Alert events per integration key in the last minute.
    pub events: Arc<paging::EventLimiter>,
    /// Who schedules have on call, for paging from request handlers.
    pub pager: Arc<paging::PagerCache>,
    /// Alert events from monitoring, committed in batches.
    pub alerts: paging::AlertBatcher,
    /// The configured chat platforms (for the settings page and the chat endpoints).
    pub chat: crate::chat::Platforms,
    /// SMS, voice and push providers (for verification codes and the settings page).
    pub phones: crate::paging::wake::Phones,
}
