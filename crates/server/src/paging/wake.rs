//! Pages that wake people: SMS and calls through a Twilio-shaped provider, push through ntfy.
//! The delivery worker hands its claimed pages by those channels here: pages to one number
//! waiting together go as one message ("+7 more alerts"), a number whose rate limit is full
//! is held until it has room (then everything waiting goes together), and what the provider
//! answers is recorded on the page, the alert's log and, when it can never arrive, the
//! person's contact method. Verification codes are sent from here too.

use std::collections::HashMap;
use std::sync::Arc;

use firebreak_core::notify::Channel;
use firebreak_core::retry::RetryPolicy;
use firebreak_core::wake::{self, Delivery};
use firebreak_integrations::ntfy::{self, Button, NtfyConfig, Push};
use firebreak_integrations::outbound::Outbound;
use firebreak_integrations::twilio::{CallScript, Twilio, TwilioError};
use firebreak_store::{Notification, Store, StoreError, WakeOutcome, WakePage};
use jiff::{SignedDuration, Timestamp};

use crate::settings::Settings;

/// The configured wake-up providers.
#[derive(Clone, Default)]
pub struct Phones {
    pub sms: Option<Arc<Twilio>>,
    pub voice: Option<Arc<Twilio>>,
    pub ntfy: Option<(NtfyConfig, Outbound)>,
    /// What providers call back and phones open (`public_url`).
    pub base_url: String,
    /// How long a push button works.
    pub button_lifetime: SignedDuration,
}

impl Phones {
    pub fn from_settings(settings: &Settings, http: &Outbound) -> Phones {
        let paging = &settings.paging;
        let twilio = |it: &crate::settings::PhoneSettings| {
            it.enabled()
                .then(|| Arc::new(Twilio::new(it.config(), http.clone())))
        };
        Phones {
            sms: twilio(&paging.sms),
            voice: twilio(&paging.voice),
            ntfy: (!paging.ntfy.server_url.trim().is_empty()).then(|| {
                (
                    NtfyConfig {
                        server_url: paging.ntfy.server_url.trim().to_string(),
                        token: Some(paging.ntfy.token.expose().to_string())
                            .filter(|it| !it.is_empty()),
                    },
                    http.clone(),
                )
            }),
            base_url: settings.base_url(),
            button_lifetime: SignedDuration::from_hours(paging.link_hours.max(1)),
        }
    }

    /// Where providers report what became of a message or call.
    pub fn status_url(&self) -> String {
        format!("{}/integrations/twilio/status", self.base_url)
    }

    /// What a call fetches when it is answered, and where its key press goes.
    pub fn voice_url(&self, page: &str) -> String {
        format!("{}/integrations/twilio/voice?page={page}", self.base_url)
    }
}

/// Whether a channel is one of these.
pub fn is_wake(channel: Channel) -> bool {
    matches!(channel, Channel::Sms | Channel::Voice | Channel::Push)
}

/// Sends the claimed wake-up pages, grouped per channel and address; answers (sent, failed).
pub async fn deliver(
    store: &Store,
    phones: &Phones,
    claimed: Vec<Notification>,
    policy: &RetryPolicy,
    now: Timestamp,
) -> Result<(usize, usize), StoreError> {
    let mut groups: Vec<WakePage> = Vec::new();
    let mut at: HashMap<(Channel, String), usize> = HashMap::new();
    for page in claimed {
        match at.get(&(page.channel, page.address.clone())) {
            Some(index) => groups[*index].members.push(page),
            None => {
                at.insert((page.channel, page.address.clone()), groups.len());
                groups.push(WakePage {
                    leader: page,
                    members: Vec::new(),
                });
            }
        }
    }
    let (mut sent, mut failed) = (0, 0);
    for page in groups {
        let outcome = send(store, phones, &page, now).await?;
        match &outcome {
            WakeOutcome::Sent { .. } => sent += 1 + page.members.len(),
            WakeOutcome::Failed { .. } => failed += 1 + page.members.len(),
            WakeOutcome::Deferred { .. } => {}
        }
        store.record_wake(&page, &outcome, policy, now).await?;
    }
    Ok((sent, failed))
}

fn refused(err: TwilioError) -> WakeOutcome {
    let permanent = err.code().and_then(wake::permanent_error);
    match permanent {
        Some(reason) => WakeOutcome::Failed {
            error: format!("{reason} ({})", err.code().unwrap_or_default()),
            permanent: true,
        },
        None => WakeOutcome::Failed {
            error: err.to_string(),
            permanent: false,
        },
    }
}

async fn send(
    store: &Store,
    phones: &Phones,
    page: &WakePage,
    now: Timestamp,
) -> Result<WakeOutcome, StoreError> {
    let leader = &page.leader;
    let limits: &[wake::Window] = match leader.channel {
        Channel::Sms => &wake::SMS_LIMITS,
        Channel::Voice => &wake::VOICE_LIMITS,
        _ => &[],
    };
    if !limits.is_empty() {
        let sent = store
            .sent_to(
                leader.channel.as_str(),
                &leader.address,
                now - wake::LIMIT_HORIZON,
            )
            .await?;
        if let Some(until) = wake::next_allowed(limits, &sent, now) {
            return Ok(WakeOutcome::Deferred { until });
        }
    }
    let alert_id = leader
        .incident_id
        .strip_prefix("alert:")
        .unwrap_or(&leader.incident_id);
    let summary = match store.alert(alert_id).await {
        Ok(alert) => alert.summary,
        // Pruned or never there: nothing to page about (tried again, then dead; the
        // contact method is not at fault).
        Err(StoreError::NotFound(_)) => {
            return Ok(WakeOutcome::Failed {
                error: format!("alert {alert_id} no longer exists"),
                permanent: false,
            });
        }
        Err(other) => return Err(other),
    };
    let more = page.members.len();
    let link = format!("{}/alerts/{alert_id}", phones.base_url);
    let not_configured = |what: &str| WakeOutcome::Failed {
        error: format!("{what} is not configured"),
        permanent: false,
    };
    Ok(match leader.channel {
        Channel::Sms => {
            let Some(sms) = &phones.sms else {
                return Ok(not_configured("SMS ([paging.sms])"));
            };
            let code = store.sms_code(&leader.address, page, now).await?;
            let text = wake::sms_page(&summary, more, code, Some(&link));
            match sms
                .send_sms(&leader.address, &text, Some(&phones.status_url()))
                .await
            {
                Ok(done) => WakeOutcome::Sent {
                    provider_ref: done.sid,
                },
                Err(err) => refused(err),
            }
        }
        Channel::Voice => {
            let Some(voice) = &phones.voice else {
                return Ok(not_configured("voice ([paging.voice])"));
            };
            let url = phones.voice_url(&leader.notification_id.to_string());
            match voice
                .call(
                    &leader.address,
                    CallScript::Url(&url),
                    Some(&phones.status_url()),
                )
                .await
            {
                Ok(done) => WakeOutcome::Sent {
                    provider_ref: done.sid,
                },
                Err(err) => refused(err),
            }
        }
        Channel::Push => {
            let Some((config, http)) = &phones.ntfy else {
                return Ok(not_configured("push ([paging.ntfy])"));
            };
            let mut buttons = Vec::new();
            let mut tokens = Vec::new();
            for (label, action) in [("Acknowledge", "acknowledge"), ("Resolve", "resolve")] {
                let token = random_token()?;
                tokens.push((firebreak_core::token::hash_token(&token), action));
                buttons.push(Button {
                    label: label.into(),
                    url: format!("{}/integrations/ntfy/{token}", phones.base_url),
                });
            }
            store
                .create_action_tokens(
                    alert_id,
                    &leader.target,
                    &tokens,
                    now + phones.button_lifetime,
                )
                .await?;
            let title = if more == 0 {
                format!("ALERT: {summary}")
            } else {
                format!("ALERT: {summary} (+{more} more)")
            };
            let push = Push {
                topic: &leader.address,
                title: &title,
                message: &leader.body,
                click: Some(&link),
                buttons,
            };
            match ntfy::publish(http, config, &push).await {
                Ok(id) => WakeOutcome::Sent {
                    provider_ref: format!("ntfy:{id}:{}", leader.notification_id),
                },
                Err(err) => WakeOutcome::Failed {
                    error: err.message,
                    permanent: false,
                },
            }
        }
        other => WakeOutcome::Failed {
            error: format!("{other} is not a wake-up channel"),
            permanent: true,
        },
    })
}

fn random_token() -> Result<String, StoreError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|err| StoreError::Corrupt(format!("no randomness for a token: {err}")))?;
    Ok(hex::encode(bytes))
}

/// A random topic for a push contact method (the topic is the secret on an open server).
pub fn new_topic() -> Result<String, StoreError> {
    Ok(format!("firebreak-{}", &random_token()?[..32]))
}

/// Why a verification code could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendCodeError {
    #[error("{0} is not configured on this server")]
    NotConfigured(&'static str),
    #[error("the provider refused the number: {0}")]
    Refused(String),
    #[error("the provider could not be reached: {0}")]
    Unavailable(String),
}

/// Sends a verification code by SMS, by a call that reads it (the call's words are sent with
/// it, so nothing needs to reach this server), or by push to the topic.
pub async fn send_code(
    phones: &Phones,
    kind: &str,
    address: &str,
    code: &str,
) -> Result<(), SendCodeError> {
    let result = match kind {
        // A code pushed to the topic proves the phone is subscribed to it.
        "push" => {
            let (config, http) = phones
                .ntfy
                .as_ref()
                .ok_or(SendCodeError::NotConfigured("push ([paging.ntfy])"))?;
            let message = format!("Your Firebreak verification code: {code}");
            let push = Push {
                topic: address,
                title: "Firebreak verification code",
                message: &message,
                click: None,
                buttons: Vec::new(),
            };
            return ntfy::publish(http, config, &push)
                .await
                .map(|_| ())
                .map_err(|err| {
                    if err.permanent {
                        SendCodeError::Refused(err.message)
                    } else {
                        SendCodeError::Unavailable(err.message)
                    }
                });
        }
        "sms" => {
            let sms = phones
                .sms
                .as_ref()
                .ok_or(SendCodeError::NotConfigured("SMS ([paging.sms])"))?;
            let text = format!("Firebreak verification code: {code}. It works for 15 minutes.");
            sms.send_sms(address, &text, None).await
        }
        "voice" => {
            let voice = phones
                .voice
                .as_ref()
                .ok_or(SendCodeError::NotConfigured("voice ([paging.voice])"))?;
            let twiml = wake::voice_code(code);
            voice.call(address, CallScript::Twiml(&twiml), None).await
        }
        _ => return Err(SendCodeError::NotConfigured("this kind of verification")),
    };
    match result {
        Ok(_) => Ok(()),
        Err(err @ TwilioError::Refused { .. }) => {
            let reason = err
                .code()
                .and_then(wake::permanent_error)
                .map(String::from)
                .unwrap_or_else(|| err.to_string());
            Err(SendCodeError::Refused(reason))
        }
        Err(err) => Err(SendCodeError::Unavailable(err.to_string())),
    }
}

/// What a provider status callback names: a message or a call, its status and error code.
pub fn callback_delivery(params: &[(String, String)]) -> Option<(String, Delivery, Option<i64>)> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let code = get("ErrorCode").and_then(|it| it.trim().parse::<i64>().ok());
    if let (Some(sid), Some(status)) = (get("MessageSid"), get("MessageStatus")) {
        return Some((sid.to_string(), wake::sms_delivery(status, code), code));
    }
    if let (Some(sid), Some(status)) = (get("CallSid"), get("CallStatus")) {
        return Some((sid.to_string(), wake::call_delivery(status, code), code));
    }
    None
}
