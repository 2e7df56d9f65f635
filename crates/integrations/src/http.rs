//! The shared HTTP client setup: rustls with the ring provider, no native TLS, no aws-lc.

use std::time::Duration;

/// Installs ring as rustls' process-wide crypto provider (once; later calls are no-ops).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client for calling other services, with a bounded timeout.
pub fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("Firebreak/", env!("CARGO_PKG_VERSION")))
        .build()
}
