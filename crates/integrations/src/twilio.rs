//! Twilio-shaped SMS and voice: the REST API's `Messages.json` and `Calls.json` (form
//! encoded, HTTP Basic), its error bodies, and the `X-Twilio-Signature` every callback
//! carries. The base URL is configurable, so SignalWire's compatibility API (and the test
//! suite's fake) speak through the same code; SignalWire signs with its own key in its own
//! header, which the server configures.

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::Value;
use sha1::Sha1;

use crate::outbound::Outbound;

#[derive(Clone)]
pub struct TwilioConfig {
    /// `https://api.twilio.com` (`…/2010-04-01/Accounts/{sid}/Messages.json` is joined to it);
    /// SignalWire: `https://<space>.signalwire.com/api/laml`.
    pub api_base_url: String,
    /// `AC…` (SignalWire: the project id).
    pub account_sid: String,
    /// Basic auth user: the account SID, or an API key SID (`SK…`).
    pub username: String,
    /// The auth token, or the API key's secret.
    pub password: String,
    /// The sending number (E.164); or
    pub from: Option<String>,
    /// a Messaging Service (`MG…`) that picks the sender (SMS only).
    pub messaging_service_sid: Option<String>,
}

impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("api_base_url", &self.api_base_url)
            .field("account_sid", &self.account_sid)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// A message or call the provider took (201).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// `SM…` / `CA…`.
    pub sid: String,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TwilioError {
    /// The provider refused the request (4xx with its error body).
    #[error("refused ({code}): {message}")]
    Refused {
        status: u16,
        code: i64,
        message: String,
    },
    /// 429: too many requests; try again after this long (if said).
    #[error("rate limited by the provider")]
    RateLimited { retry_after: Option<Duration> },
    /// No answer, a 5xx, or an answer that is not the provider's.
    #[error("{0}")]
    Unavailable(String),
}

impl TwilioError {
    /// The provider's error code, when it gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            TwilioError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// How a call's words are given: a URL the provider fetches when the call is answered (the
/// key press comes back to us), or the TwiML itself (nothing needs to reach us).
#[derive(Clone, Debug)]
pub enum CallScript<'a> {
    Url(&'a str),
    Twiml(&'a str),
}

pub struct Twilio {
    config: TwilioConfig,
    http: Outbound,
}

impl Twilio {
    pub fn new(config: TwilioConfig, http: Outbound) -> Twilio {
        Twilio { config, http }
    }

    pub fn config(&self) -> &TwilioConfig {
        &self.config
    }

    /// Sends an SMS; `status_callback` is where delivery reports go (absolute URL).
    pub async fn send_sms(
        &self,
        to: &str,
        body: &str,
        status_callback: Option<&str>,
    ) -> Result<Sent, TwilioError> {
        let mut form: Vec<(&str, &str)> = vec![("To", to)];
        match (&self.config.messaging_service_sid, &self.config.from) {
            (Some(service), _) => form.push(("MessagingServiceSid", service)),
            (None, Some(from)) => form.push(("From", from)),
            (None, None) => {
                return Err(TwilioError::Unavailable(
                    "neither a from number nor a messaging service is configured".into(),
                ));
            }
        }
        form.push(("Body", body));
        if let Some(url) = status_callback {
            form.push(("StatusCallback", url));
        }
        self.create("Messages.json", &form).await
    }

    /// Places a call; `status_callback` hears every stage of it.
    pub async fn call(
        &self,
        to: &str,
        script: CallScript<'_>,
        status_callback: Option<&str>,
    ) -> Result<Sent, TwilioError> {
        let Some(from) = &self.config.from else {
            return Err(TwilioError::Unavailable(
                "calls need a from number ([paging.voice] from)".into(),
            ));
        };
        let mut form: Vec<(&str, &str)> = vec![("To", to), ("From", from)];
        match script {
            CallScript::Url(url) => form.push(("Url", url)),
            CallScript::Twiml(xml) => form.push(("Twiml", xml)),
        }
        // Ring long enough to wake someone, not so long that voicemail answers.
        form.push(("Timeout", "25"));
        if let Some(url) = status_callback {
            form.push(("StatusCallback", url));
            for event in ["initiated", "ringing", "answered", "completed"] {
                form.push(("StatusCallbackEvent", event));
            }
        }
        self.create("Calls.json", &form).await
    }

    async fn create(&self, resource: &str, form: &[(&str, &str)]) -> Result<Sent, TwilioError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/{resource}",
            self.config.api_base_url.trim_end_matches('/'),
            self.config.account_sid
        );
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = self
            .http
            .request(Method::POST, &url)
            .map_err(|err| TwilioError::Unavailable(err.to_string()))?
            .basic_auth(&self.config.username, Some(&self.config.password))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        let response = request
            .send()
            .await
            .map_err(|err| TwilioError::Unavailable(crate::outbound::describe(&err)))?;
        let status = response.status();
        if status.as_u16() == 429 {
            return Err(TwilioError::RateLimited {
                retry_after: crate::chat::retry_after(&response),
            });
        }
        let text = response
            .text()
            .await
            .map_err(|err| TwilioError::Unavailable(crate::outbound::describe(&err)))?;
        let json: Option<Value> = serde_json::from_str(&text).ok();
        if status.is_success() {
            let field = |name: &str| {
                json.as_ref()
                    .and_then(|it| it.get(name))
                    .and_then(Value::as_str)
                    .map(String::from)
            };
            return match field("sid") {
                Some(sid) => Ok(Sent {
                    sid,
                    status: field("status").unwrap_or_else(|| "queued".into()),
                }),
                None => Err(TwilioError::Unavailable(format!(
                    "HTTP {status} without a sid"
                ))),
            };
        }
        if status.is_client_error()
            && let Some(code) = json
                .as_ref()
                .and_then(|it| it.get("code"))
                .and_then(Value::as_i64)
        {
            let message = json
                .as_ref()
                .and_then(|it| it.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .chars()
                .take(300)
                .collect();
            return Err(TwilioError::Refused {
                status: status.as_u16(),
                code,
                message,
            });
        }
        Err(TwilioError::Unavailable(format!("HTTP {status}")))
    }
}

/// A callback's form body as its parameters, in order (repeated names kept).
pub fn form_params(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// `X-Twilio-Signature`: Base64 of HMAC-SHA1, keyed with the auth token (or signing key),
/// over the full URL the provider called followed by each POST parameter's name and value,
/// names in byte order, a repeated name's values sorted and each value once (as
/// twilio-python's `RequestValidator.compute_signature`).
pub fn signature(secret: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(url.as_bytes());
    for (name, value) in signed_pairs(params) {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn signed_pairs(params: &[(String, String)]) -> Vec<(&str, &str)> {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// The URL as given and its other form: without its port if it names one, else with the
/// scheme's default port. Providers are not consistent about which one they sign, so both
/// are accepted (as twilio-python's `validate` does).
fn url_forms(url: &str) -> [String; 2] {
    let (scheme, default) = if url.starts_with("https://") {
        ("https://", ":443")
    } else if url.starts_with("http://") {
        ("http://", ":80")
    } else {
        return [url.to_string(), url.to_string()];
    };
    let rest = &url[scheme.len()..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let port_at = authority
        .rfind(':')
        .filter(|at| !authority[*at..].contains(']'));
    let other = match port_at {
        Some(at) => format!("{scheme}{}{tail}", &authority[..at]),
        None => format!("{scheme}{authority}{default}{tail}"),
    };
    [url.to_string(), other]
}

/// Whether `sent` signs `url` and `params` with any of `secrets` (the current one, and the
/// previous one while it is rotated out), with or without the default port; compared in
/// constant time.
pub fn verify(secrets: &[&str], url: &str, params: &[(String, String)], sent: &str) -> bool {
    let Ok(sent) = base64::engine::general_purpose::STANDARD.decode(sent.trim()) else {
        return false;
    };
    let pairs = signed_pairs(params);
    url_forms(url).iter().any(|url| {
        secrets.iter().filter(|it| !it.is_empty()).any(|secret| {
            let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret.as_bytes())
                .expect("HMAC takes a key of any length");
            mac.update(url.as_bytes());
            for (name, value) in &pairs {
                mac.update(name.as_bytes());
                mac.update(value.as_bytes());
            }
            mac.verify_slice(&sent).is_ok()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    /// twilio-python's own test vectors (`tests/unit/test_request_validator.py`) and
    /// GoAlert's (`signature_test.go`); more, made by `RequestValidator`, are in
    /// `tests/twilio_vectors.rs`.
    #[test]
    fn published_vectors() {
        let call = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ]);
        assert_eq!(
            signature("12345", URL, &call),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert_eq!(
            signature(
                "12345",
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                &call
            ),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        let repeated = params(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            signature("12345", URL, &repeated),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
        let goalert = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675310"),
            ("To", "+18005551212"),
            ("Caller", "+14158675310"),
        ]);
        assert_eq!(
            signature("12345", URL, &goalert),
            "GvWf1cFY/Q7PnoempGyD5oXAezc="
        );
    }

    #[test]
    fn verify_takes_either_port_form_and_either_secret() {
        let call = params(&[("CallSid", "CA1"), ("Digits", "4")]);
        let plain = signature("new", URL, &call);
        let with_port = signature(
            "new",
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &call,
        );
        assert!(verify(&["new"], URL, &call, &plain));
        assert!(verify(&["new"], URL, &call, &with_port));
        assert!(verify(
            &["new"],
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &call,
            &plain
        ));
        let old = signature("old", URL, &call);
        assert!(verify(&["new", "old"], URL, &call, &old));
        assert!(!verify(&["new"], URL, &call, &old));
        assert!(!verify(&["new", ""], URL, &call, "not base64!"));
        let changed = params(&[("CallSid", "CA1"), ("Digits", "5")]);
        assert!(!verify(&["new"], URL, &changed, &plain));
        assert!(!verify(&[""], URL, &call, &signature("", URL, &call)));
    }
}
