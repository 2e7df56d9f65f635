//! Paging settings: `[paging]` (limits on what monitoring may send and on how often one
//! person is paged) and the providers of pages that wake people: `[paging.sms]`,
//! `[paging.voice]` (Twilio-shaped) and `[paging.ntfy]`.

use serde::{Deserialize, Serialize};

use super::secret::Secret;

/// Paging: limits on what monitoring may send and on how often one person is paged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagingSettings {
    /// Events one integration key may send per minute (PagerDuty's limit is 120); more are
    /// answered 429 and the sender retries. Counted per server process.
    pub events_per_minute_per_key: u32,
    /// Pages one person may get in an hour; more are written in the alert's log, not sent.
    pub pages_per_person_per_hour: i64,
    /// How long the acknowledge / resolve link in a page works.
    pub link_hours: i64,
    /// How often the escalation worker looks for due timers (seconds).
    pub escalation_interval_seconds: u64,
    /// A dedup key that opens this many alerts within `flap_window_minutes` is flapping: its
    /// new alerts are kept but page nobody. 0: off.
    pub flap_threshold: usize,
    pub flap_window_minutes: i64,
    /// Pages by SMS through a Twilio-shaped API (Twilio, SignalWire, …).
    pub sms: PhoneSettings,
    /// Pages by phone call through a Twilio-shaped API.
    pub voice: PhoneSettings,
    /// Pages by push through ntfy.
    pub ntfy: NtfySettings,
}

/// A Twilio-shaped provider for SMS or calls; used when `account_sid` is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhoneSettings {
    /// `https://api.twilio.com`; SignalWire: `https://<space>.signalwire.com/api/laml`.
    pub api_base_url: String,
    /// `AC…` (SignalWire: the project id).
    pub account_sid: String,
    /// An API key (`SK…`) to authenticate with instead of the account SID and auth token.
    pub api_key_sid: String,
    /// The auth token (or the API key's secret).
    pub auth_token: Secret,
    /// The number pages come from, E.164.
    pub from: String,
    /// A Messaging Service (`MG…`) that picks the sender instead (SMS only).
    pub messaging_service_sid: String,
    /// The header callbacks are signed in: `X-Twilio-Signature`, or
    /// `X-SignalWire-Signature`.
    pub signature_header: String,
    /// The key callbacks are signed with; empty: the auth token (Twilio's way).
    pub webhook_secret: Secret,
    /// The previous key, accepted while it is rotated out.
    pub webhook_secret_previous: Secret,
}

impl Default for PhoneSettings {
    fn default() -> Self {
        PhoneSettings {
            api_base_url: "https://api.twilio.com".into(),
            account_sid: String::new(),
            api_key_sid: String::new(),
            auth_token: Secret::default(),
            from: String::new(),
            messaging_service_sid: String::new(),
            signature_header: "X-Twilio-Signature".into(),
            webhook_secret: Secret::default(),
            webhook_secret_previous: Secret::default(),
        }
    }
}

impl PhoneSettings {
    pub fn enabled(&self) -> bool {
        !self.account_sid.trim().is_empty()
    }

    pub fn config(&self) -> firebreak_integrations::twilio::TwilioConfig {
        let nonempty = |it: &str| Some(it.trim().to_string()).filter(|it| !it.is_empty());
        firebreak_integrations::twilio::TwilioConfig {
            api_base_url: self.api_base_url.trim().to_string(),
            account_sid: self.account_sid.trim().to_string(),
            username: nonempty(&self.api_key_sid).unwrap_or_else(|| self.account_sid.trim().into()),
            password: self.auth_token.expose().to_string(),
            from: nonempty(&self.from),
            messaging_service_sid: nonempty(&self.messaging_service_sid),
        }
    }

    /// A provider that is on can send: a base URL, a token, a sender in E.164 (or, for
    /// SMS, a Messaging Service), a signature header.
    pub(super) fn check(&self, sms: bool) -> Result<(), String> {
        if !self.enabled() {
            return Ok(());
        }
        if !(self.api_base_url.starts_with("https://") || self.api_base_url.starts_with("http://"))
        {
            return Err(format!(
                "api_base_url {:?} must be an http(s) URL",
                self.api_base_url
            ));
        }
        if self.auth_token.is_empty() {
            return Err("auth_token is needed when account_sid is set".into());
        }
        let from = self.from.trim();
        if !from.is_empty() && !firebreak_core::wake::is_e164(from) {
            return Err(format!(
                "from {from:?} must be a number in E.164, like +15005550006"
            ));
        }
        let service = !self.messaging_service_sid.trim().is_empty();
        if from.is_empty() && !(sms && service) {
            return Err(if sms {
                "from (a number) or messaging_service_sid is needed".into()
            } else {
                "from (the number calls come from) is needed".into()
            });
        }
        if self.signature_header.trim().is_empty() {
            return Err("signature_header cannot be empty".into());
        }
        Ok(())
    }

    /// The keys a callback's signature may be made with, current first.
    pub fn webhook_secrets(&self) -> Vec<String> {
        let current = if self.webhook_secret.is_empty() {
            &self.auth_token
        } else {
            &self.webhook_secret
        };
        [current, &self.webhook_secret_previous]
            .into_iter()
            .filter(|it| !it.is_empty())
            .map(|it| it.expose().to_string())
            .collect()
    }
}

/// ntfy push; used when `server_url` is set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NtfySettings {
    /// `https://ntfy.sh` or your own server.
    pub server_url: String,
    /// An access token (`tk_…`) when the server needs one.
    pub token: Secret,
}

impl Default for PagingSettings {
    fn default() -> Self {
        PagingSettings {
            events_per_minute_per_key: 120,
            pages_per_person_per_hour: 20,
            link_hours: 24,
            escalation_interval_seconds: 5,
            flap_threshold: 4,
            flap_window_minutes: 30,
            sms: PhoneSettings::default(),
            voice: PhoneSettings::default(),
            ntfy: NtfySettings::default(),
        }
    }
}
