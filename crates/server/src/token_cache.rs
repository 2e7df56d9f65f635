//! A short-lived cache of token lookups, so a burst of requests with one token does not
//! query the database on every request.
//!
//! Only successful lookups are cached, keyed by the token's hash (the clear text is never
//! kept). A revocation through this process clears the cache at once; another replica sees
//! it within `TTL`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use firebreak_core::token::hash_token;
use firebreak_store::{Store, StoreError, TokenInfo};

pub const TTL: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, (TokenInfo, Instant)>>,
}

impl TokenCache {
    pub async fn authenticate(
        &self,
        store: &Store,
        secret: &str,
    ) -> Result<Option<TokenInfo>, StoreError> {
        let key = hash_token(secret);
        if let Some((info, fetched)) = self.lock().get(&key)
            && fetched.elapsed() < TTL
        {
            return Ok(Some(info.clone()));
        }
        let found = store.authenticate(secret).await?;
        let mut entries = self.lock();
        match &found {
            Some(info) => {
                if entries.len() >= MAX_ENTRIES {
                    entries.clear();
                }
                entries.insert(key, (info.clone(), Instant::now()));
            }
            None => {
                entries.remove(&key);
            }
        }
        Ok(found)
    }

    /// Forgets everything; called when a token is revoked.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (TokenInfo, Instant)>> {
        // A poisoned lock only means another request panicked mid-update of a cache.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
