//! The one way out for URLs that users and admins type (webhooks, subscriber webhooks,
//! contact methods, trackers): URLs are validated strictly, the address actually connected to
//! must pass `core::outbound::Policy` (names are resolved here and only allowed addresses are
//! handed to the connector, so DNS rebinding cannot get around it), redirects are never
//! followed and proxies from the environment are not used.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use firebreak_core::outbound::Policy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a URL may not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error(
        "must be an http(s) URL of at most 2000 characters, without spaces or control characters"
    )]
    Malformed,
    #[error("must not carry a user name or password")]
    Credentials,
    #[error(
        "the outbound policy refuses this address (loopback, private, link-local or otherwise not public)"
    )]
    Refused,
}

/// Parses a URL strictly: http or https, a host, no credentials, no whitespace or control
/// characters anywhere (which a lenient parser would drop or encode), at most 2000 characters.
pub fn parse_url(text: &str) -> Result<reqwest::Url, UrlError> {
    if text.is_empty()
        || text.len() > 2000
        || text.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(UrlError::Malformed);
    }
    let url = reqwest::Url::parse(text).map_err(|_| UrlError::Malformed)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::Malformed);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    Ok(url)
}

/// `parse_url`, and an address written in the URL (in any of its spellings: `127.1`,
/// `2130706433`, `[::ffff:7f00:1]` all parse to the address they mean) must pass the policy.
/// A name is checked when it is resolved, at each send.
pub fn check_url(text: &str, policy: &Policy) -> Result<reqwest::Url, UrlError> {
    let url = parse_url(text)?;
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    match literal {
        Some(ip) if !policy.allows(ip) => Err(UrlError::Refused),
        _ => Ok(url),
    }
}

/// An HTTP client for user-supplied URLs, bound to the policy.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    policy: Arc<Policy>,
}

impl Outbound {
    pub fn new(timeout: Duration, policy: Policy) -> reqwest::Result<Outbound> {
        crate::http::install_crypto_provider();
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("Firebreak/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver {
                policy: policy.clone(),
            }))
            .build()?;
        Ok(Outbound { client, policy })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A request to `url`, if the policy allows it.
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, UrlError> {
        let url = check_url(url, &self.policy)?;
        Ok(self.client.request(method, url))
    }
}

/// Why a request did not get an answer, in words that do not tell a port scanner anything
/// (refused, timed out and reset all read the same): refused by the policy, or could not reach
/// the receiver. Callers log the details.
pub fn describe(err: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(it) = source {
        if it.downcast_ref::<PolicyRefused>().is_some() {
            return UrlError::Refused.to_string();
        }
        source = it.source();
    }
    "could not reach the receiver".to_string()
}

#[derive(Debug, thiserror::Error)]
#[error("the outbound policy refuses every address of this name")]
struct PolicyRefused;

struct PolicyResolver {
    policy: Arc<Policy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| policy.allows(addr.ip()))
                .collect();
            if found.is_empty() {
                return Err(Box::new(PolicyRefused) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_strictly_and_literal_addresses_checked() {
        let public = Policy::default();
        let table = [
            ("https://hooks.example.com/x?a=1", Ok(())),
            ("http://93.184.215.14:8080/hook", Ok(())),
            ("http://127.0.0.1:9/", Err(UrlError::Refused)),
            ("http://127.1/", Err(UrlError::Refused)),
            ("http://2130706433/", Err(UrlError::Refused)),
            ("http://0x7f000001/", Err(UrlError::Refused)),
            ("http://0.0.0.0/", Err(UrlError::Refused)),
            ("http://[::1]/", Err(UrlError::Refused)),
            ("http://[::ffff:127.0.0.1]/", Err(UrlError::Refused)),
            ("http://10.0.0.1/", Err(UrlError::Refused)),
            (
                "http://169.254.169.254/latest/meta-data",
                Err(UrlError::Refused),
            ),
            ("ftp://example.com/", Err(UrlError::Malformed)),
            ("file:///etc/passwd", Err(UrlError::Malformed)),
            ("https://exa mple.com/", Err(UrlError::Malformed)),
            ("https://example.com/\u{0}", Err(UrlError::Malformed)),
            ("https://example.com/\u{1b}[2J", Err(UrlError::Malformed)),
            (
                "https://example.com/\r\nX-Injected: 1",
                Err(UrlError::Malformed),
            ),
            ("https://user:pw@example.com/", Err(UrlError::Credentials)),
            ("https://", Err(UrlError::Malformed)),
            ("", Err(UrlError::Malformed)),
        ];
        for (url, expected) in table {
            assert_eq!(check_url(url, &public).map(|_| ()), expected, "{url}");
        }
        let open = Policy::parse(true, &[]).unwrap();
        assert!(check_url("http://127.0.0.1:9/", &open).is_ok());
    }
}
