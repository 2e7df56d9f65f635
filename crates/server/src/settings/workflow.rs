//! Workflow settings: rules (`[[rules]]`), notification targets (`[[targets]]`), the SMTP
//! server (`[smtp]`) and the human element (`[people]`), checked at load and turned into
//! the core's types.

use firebreak_core::incident::Mode;
use firebreak_core::notify::Target;
use firebreak_core::presence::WorkingHours;
use firebreak_core::rule::{Conditions, Effect, Rule, Trigger};
use firebreak_core::{Catalog, IncidentType};
use firebreak_integrations::email::{Security, SmtpConfig};
use serde::{Deserialize, Serialize};

use super::{Secret, Settings, SettingsError};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSettings {
    pub name: String,
    /// declared, severity_changed, severity_raised, status_changed, reopened, resolved,
    /// role_assigned, update_overdue, task_overdue.
    pub when: Vec<String>,
    #[serde(default, rename = "if")]
    pub conditions: ConditionSettings,
    pub then: EffectSettings,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConditionSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity_at_least: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub severities: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    /// real or drill.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// What a rule does, applied in this order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EffectSettings {
    /// Give the incident a chat channel (`[chat.slack]`, `[chat.matrix]`); nothing when no
    /// chat is configured.
    #[serde(skip_serializing_if = "is_false")]
    pub open_channel: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add_playbooks: Vec<String>,
    /// Add every playbook whose own severities and types match.
    #[serde(skip_serializing_if = "is_false")]
    pub add_matching_playbooks: bool,
    /// Updates on the severity's cadence (`incidents.cadence_minutes`).
    #[serde(skip_serializing_if = "is_false")]
    pub set_cadence: bool,
    /// Updates every this many minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_cadence_minutes: Option<i64>,
    #[serde(skip_serializing_if = "is_false")]
    pub freeze_deploys: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub require_roles: Vec<String>,
    /// Target names (`[[targets]]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
}

fn is_false(value: &bool) -> bool {
    !value
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSettings {
    pub name: String,
    /// Receives a signed JSON POST (like every Firebreak webhook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    #[serde(default)]
    pub webhook_secret: Secret,
    /// Addresses that get an email (needs `[smtp]`).
    #[serde(default)]
    pub email: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// Empty: no email is sent (email notifications fail and are retried, then dead).
    pub host: String,
    pub port: u16,
    /// none, starttls or tls.
    pub security: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    pub from: String,
    pub timeout_ms: u64,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: String::new(),
            port: 25,
            security: "none".into(),
            username: None,
            password: None,
            from: "Firebreak <firebreak@localhost>".into(),
            timeout_ms: 10_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PeopleSettings {
    /// Local working hours (each person's own zone), for out-of-hours minutes.
    pub working_hours: String,
    /// mon … sun.
    pub working_days: Vec<String>,
    /// Nudge a participant to take a break after this much continuous involvement.
    pub break_after_minutes: i64,
    /// Nudge the lead to order food once an incident is this old.
    pub food_after_minutes: i64,
    /// A person who acts on a live incident joins it (`participant_joined`). Off: people
    /// join and leave only by hand.
    pub join_on_action: bool,
}

impl Default for PeopleSettings {
    fn default() -> Self {
        let catalog = Catalog::default();
        PeopleSettings {
            working_hours: "09:00-17:00".into(),
            working_days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            break_after_minutes: catalog.break_after_minutes,
            food_after_minutes: catalog.food_after_minutes,
            join_on_action: catalog.join_on_action,
        }
    }
}

/// The built-in rules and targets, as settings (what `config example` prints).
pub fn default_rules() -> Vec<RuleSettings> {
    firebreak_core::rule::default_rules()
        .into_iter()
        .map(|rule| {
            let mut then = EffectSettings::default();
            for effect in rule.then {
                match effect {
                    Effect::AddPlaybook(name) => then.add_playbooks.push(name),
                    Effect::AddMatchingPlaybooks => then.add_matching_playbooks = true,
                    Effect::SetCadence(None) => then.set_cadence = true,
                    Effect::SetCadence(Some(minutes)) => then.set_cadence_minutes = Some(minutes),
                    Effect::FreezeDeploys => then.freeze_deploys = true,
                    Effect::RequireRoles(roles) => then.require_roles = roles,
                    Effect::Notify(target) => then.notify.push(target),
                    Effect::OpenChannel => then.open_channel = true,
                }
            }
            let it = rule.conditions;
            RuleSettings {
                name: rule.name,
                when: rule.when.iter().map(|it| it.to_string()).collect(),
                conditions: ConditionSettings {
                    severity_at_least: it.severity_at_least,
                    severities: it.severities,
                    types: it.types.iter().map(|it| it.to_string()).collect(),
                    services: it.services,
                    private: it.private,
                    mode: it.mode.map(|it| it.to_string()),
                },
                then,
            }
        })
        .collect()
}

pub fn default_targets() -> Vec<TargetSettings> {
    Catalog::default()
        .targets
        .into_iter()
        .map(|it| TargetSettings {
            name: it.name,
            webhook_url: it.webhook_url,
            webhook_secret: Secret::new(it.webhook_secret),
            email: it.email,
        })
        .collect()
}

fn weekday(text: &str) -> Option<jiff::civil::Weekday> {
    use jiff::civil::Weekday::*;
    Some(match text {
        "mon" => Monday,
        "tue" => Tuesday,
        "wed" => Wednesday,
        "thu" => Thursday,
        "fri" => Friday,
        "sat" => Saturday,
        "sun" => Sunday,
        _ => return None,
    })
}

fn working_hours(people: &PeopleSettings) -> Result<WorkingHours, SettingsError> {
    let bad = || {
        SettingsError::new(format!(
            "people.working_hours {:?} must look like \"09:00-17:00\"",
            people.working_hours
        ))
    };
    let (start, end) = people.working_hours.split_once('-').ok_or_else(bad)?;
    let start: jiff::civil::Time = start.trim().parse().map_err(|_| bad())?;
    let end: jiff::civil::Time = end.trim().parse().map_err(|_| bad())?;
    if start >= end {
        return Err(bad());
    }
    let days = people
        .working_days
        .iter()
        .map(|it| {
            weekday(it).ok_or_else(|| {
                SettingsError::new(format!(
                    "people.working_days: unknown day {it:?}; expected mon, tue, wed, thu, fri, sat or sun"
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(WorkingHours { start, end, days })
}

fn rule(settings: &Settings, it: &RuleSettings) -> Result<Rule, SettingsError> {
    let what = format!("rule {:?}", it.name);
    let err = |message: String| SettingsError::new(format!("{what}: {message}"));
    let severities = &settings.incidents.severities;
    let known_severity = |severity: &String| {
        if severities.contains(severity) {
            Ok(())
        } else {
            Err(err(format!("unknown severity {severity:?}")))
        }
    };
    if it.when.is_empty() {
        return Err(err(format!(
            "`when` needs at least one of {}",
            Trigger::expected()
        )));
    }
    let when = it
        .when
        .iter()
        .map(|trigger| {
            Trigger::parse(trigger).ok_or_else(|| {
                err(format!(
                    "unknown trigger {trigger:?}; expected one of {}",
                    Trigger::expected()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let c = &it.conditions;
    if let Some(severity) = &c.severity_at_least {
        known_severity(severity)?;
    }
    c.severities.iter().try_for_each(known_severity)?;
    let types = c
        .types
        .iter()
        .map(|it| {
            IncidentType::parse(it).ok_or_else(|| {
                err(format!(
                    "unknown type {it:?}; expected {}",
                    IncidentType::expected()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mode = c
        .mode
        .as_deref()
        .map(|it| {
            Mode::parse(it).ok_or_else(|| {
                err(format!(
                    "unknown mode {it:?}; expected {}",
                    Mode::expected()
                ))
            })
        })
        .transpose()?;
    let t = &it.then;
    let mut then = Vec::new();
    if t.open_channel {
        then.push(Effect::OpenChannel);
    }
    for name in &t.add_playbooks {
        if !settings.playbooks.iter().any(|it| &it.name == name) {
            return Err(err(format!(
                "add_playbooks names {name:?}, which is not a [[playbooks]] name"
            )));
        }
        then.push(Effect::AddPlaybook(name.clone()));
    }
    if t.add_matching_playbooks {
        then.push(Effect::AddMatchingPlaybooks);
    }
    match (t.set_cadence, t.set_cadence_minutes) {
        (true, Some(_)) => {
            return Err(err(
                "give set_cadence or set_cadence_minutes, not both".into()
            ));
        }
        (true, None) => then.push(Effect::SetCadence(None)),
        (false, Some(minutes)) => {
            if !(1..=firebreak_core::command::MAX_NEXT_UPDATE_MINUTES).contains(&minutes) {
                return Err(err(
                    "set_cadence_minutes must be between 1 and a week".into()
                ));
            }
            then.push(Effect::SetCadence(Some(minutes)));
        }
        (false, None) => {}
    }
    if t.freeze_deploys {
        then.push(Effect::FreezeDeploys);
    }
    if !t.require_roles.is_empty() {
        if let Some(role) = t
            .require_roles
            .iter()
            .find(|it| !settings.incidents.roles.contains(it))
        {
            return Err(err(format!("require_roles names unknown role {role:?}")));
        }
        then.push(Effect::RequireRoles(t.require_roles.clone()));
    }
    for target in &t.notify {
        if !settings.targets.iter().any(|it| &it.name == target) {
            return Err(err(format!(
                "notify names {target:?}, which is not a [[targets]] name"
            )));
        }
        then.push(Effect::Notify(target.clone()));
    }
    if then.is_empty() {
        return Err(err("`then` does nothing".into()));
    }
    Ok(Rule {
        name: it.name.clone(),
        when,
        conditions: Conditions {
            severity_at_least: c.severity_at_least.clone(),
            severities: c.severities.clone(),
            types,
            services: c.services.clone(),
            private: c.private,
            mode,
        },
        then,
    })
}

fn target(it: &TargetSettings) -> Result<Target, SettingsError> {
    let err = |message: String| SettingsError::new(format!("target {:?}: {message}", it.name));
    if let Some(url) = &it.webhook_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(err(format!("webhook_url {url:?} must be an http(s) URL")));
    }
    let email = it
        .email
        .iter()
        .map(|address| {
            firebreak_core::person::parse_email(address)
                .ok_or_else(|| err(format!("{address:?} is not an email address")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Target {
        name: it.name.clone(),
        webhook_url: it.webhook_url.clone(),
        webhook_secret: it.webhook_secret.expose().to_string(),
        email,
    })
}

/// Checks the workflow settings and fills the catalog's rules, targets and people settings.
pub fn apply(settings: &Settings, catalog: &mut Catalog) -> Result<(), SettingsError> {
    let mut names = std::collections::BTreeSet::new();
    for it in &settings.targets {
        if it.name.trim().is_empty() || !names.insert(it.name.clone()) {
            return Err(SettingsError::new(
                "every [[targets]] needs its own, non-empty name",
            ));
        }
    }
    let targets: Vec<Target> = settings
        .targets
        .iter()
        .enumerate()
        .map(|(index, it)| target(it).map_err(|err| err.at(&["targets", &index.to_string()])))
        .collect::<Result<_, _>>()?;
    if targets.iter().any(|it| !it.email.is_empty()) && settings.smtp.host.is_empty() {
        return Err(SettingsError::new(
            "a target sends email, but smtp.host is not set",
        ));
    }
    let mut names = std::collections::BTreeSet::new();
    for it in &settings.rules {
        if it.name.trim().is_empty() || !names.insert(it.name.clone()) {
            return Err(SettingsError::new(
                "every [[rules]] needs its own, non-empty name",
            ));
        }
    }
    let rules: Vec<Rule> = settings
        .rules
        .iter()
        .enumerate()
        .map(|(index, it)| rule(settings, it).map_err(|err| err.at(&["rules", &index.to_string()])))
        .collect::<Result<_, _>>()?;
    let people = &settings.people;
    if people.break_after_minutes < 1 || people.food_after_minutes < 1 {
        return Err(SettingsError::new(
            "people.break_after_minutes and food_after_minutes must be at least 1",
        ));
    }
    let hours = working_hours(people)?;
    smtp_config(&settings.smtp)?;
    catalog.targets = targets;
    catalog.rules = rules;
    catalog.working_hours = hours;
    catalog.break_after_minutes = people.break_after_minutes;
    catalog.food_after_minutes = people.food_after_minutes;
    catalog.join_on_action = people.join_on_action;
    Ok(())
}

/// The SMTP client's configuration; `None` when no host is set.
pub fn smtp_config(smtp: &SmtpSettings) -> Result<Option<SmtpConfig>, SettingsError> {
    if smtp.host.is_empty() {
        return Ok(None);
    }
    let security = match smtp.security.as_str() {
        "none" => Security::None,
        "starttls" => Security::StartTls,
        "tls" => Security::Tls,
        other => {
            return Err(SettingsError::new(format!(
                "smtp.security {other:?} must be none, starttls or tls"
            )));
        }
    };
    let config = SmtpConfig {
        host: smtp.host.clone(),
        port: smtp.port,
        security,
        username: smtp.username.clone(),
        password: smtp.password.as_ref().map(|it| it.expose().to_string()),
        from: smtp.from.clone(),
        timeout: std::time::Duration::from_millis(smtp.timeout_ms),
    };
    // Building the client checks the sender's address without connecting.
    firebreak_integrations::email::Mailer::new(&config)
        .map_err(|err| SettingsError::new(format!("smtp: {err}")))?;
    Ok(Some(config))
}
