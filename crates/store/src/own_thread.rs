//! Serial work that bounds a rate (the incident writer, the paging lanes) on a thread of its
//! own.

use std::future::Future;

use tokio::sync::oneshot;

use crate::{Result, Store, StoreError};

impl Store {
    /// Runs `task()` on a thread named `name` with a single-threaded runtime of its own, so
    /// each of its steps runs the moment its database call returns instead of waiting in a
    /// shared worker's queue behind the HTTP tasks that arrived meanwhile. It ends when the
    /// task does, when the store closes, or when the runtime that called this shuts down.
    pub fn on_own_thread<F, Fut>(&self, name: &str, task: F) -> Result<()>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let (alive, opener_gone) = oneshot::channel::<()>();
        // Dropped, and so resolving `opener_gone`, when the calling runtime shuts down.
        tokio::spawn(async move {
            let _alive = alive;
            std::future::pending::<()>().await
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| {
                StoreError::Connect(format!("could not start {name}'s runtime: {err}"))
            })?;
        let mut closing = self.closing();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        () = task() => {}
                        _ = opener_gone => {}
                        _ = closing.wait_for(|closed| *closed) => {}
                    }
                })
            })
            .map_err(|err| {
                StoreError::Connect(format!("could not start {name}'s thread: {err}"))
            })?;
        Ok(())
    }
}
