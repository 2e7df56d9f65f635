//! Settings: defaults < TOML file < `FIREBREAK_*` environment (`__` nests).

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use firebreak_core::Catalog;
use firebreak_core::retry::RetryPolicy;
use serde::{Deserialize, Serialize};

pub mod chat;
mod paging;
mod secret;
pub mod workflow;

pub use paging::{NtfySettings, PagingSettings, PhoneSettings};

pub use secret::{DatabaseUrl, Secret};
pub use workflow::{PeopleSettings, RuleSettings, SmtpSettings, TargetSettings};

/// The commented default file printed by `firebreak config example`.
pub const EXAMPLE: &str = include_str!("../../../config/firebreak.example.toml");

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub listen: String,
    pub database_url: DatabaseUrl,
    pub public_url: String,
    pub max_body_bytes: usize,
    pub log: String,
    /// Run the background workers (webhook delivery) in this process.
    pub workers: bool,
    /// Serve only the public status page (and health): a read-only process that can be
    /// hosted apart from everything else, on the same database.
    pub status_page_only: bool,
    pub incidents: IncidentSettings,
    pub webhooks: WebhookSettings,
    /// Task templates rules add to incidents (replacing the built-in ones when given).
    pub playbooks: Vec<PlaybookSettings>,
    /// Workflow rules (replacing the built-in ones when given).
    pub rules: Vec<RuleSettings>,
    /// Where rules send notifications.
    pub targets: Vec<TargetSettings>,
    pub smtp: SmtpSettings,
    pub people: PeopleSettings,
    pub status_page: StatusPageSettings,
    /// Issue trackers follow-ups can be exported to.
    pub trackers: TrackerSettings,
    /// Chat platforms: a channel per incident, announcements, pins and commands.
    pub chat: chat::ChatSettings,
    pub paging: PagingSettings,
    pub limits: LimitSettings,
    pub outbound: OutboundSettings,
    pub retention: RetentionSettings,
}

/// How many days each kind of working row is kept once it stopped mattering; 0 keeps it
/// forever. Timeline events are never pruned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Outbox rows, after they were fanned out.
    pub outbox_days: u32,
    /// Webhook deliveries, once delivered or dead.
    pub webhook_deliveries_days: u32,
    /// Notifications and pages, once sent, dead or cancelled; chat work, once done or dead.
    pub notifications_days: u32,
    /// Resolved alerts, with their log and page links.
    pub alerts_days: u32,
    pub idempotency_keys_days: u32,
    /// Sessions, after they expired or were revoked.
    pub sessions_days: u32,
    /// The audit of private-incident reads (the last year is kept by default).
    pub private_reads_days: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            outbox_days: 7,
            webhook_deliveries_days: 30,
            notifications_days: 30,
            alerts_days: 90,
            idempotency_keys_days: 7,
            sessions_days: 30,
            private_reads_days: 365,
        }
    }
}

impl RetentionSettings {
    pub fn retention(&self) -> firebreak_store::Retention {
        let days = |n: u32| (n > 0).then(|| jiff::SignedDuration::from_hours(24 * i64::from(n)));
        firebreak_store::Retention {
            outbox: days(self.outbox_days),
            webhook_deliveries: days(self.webhook_deliveries_days),
            notifications: days(self.notifications_days),
            alerts: days(self.alerts_days),
            idempotency_keys: days(self.idempotency_keys_days),
            sessions: days(self.sessions_days),
            private_reads: days(self.private_reads_days),
        }
    }
}

/// What one process accepts from clients, so idle, slow or too many connections cannot take
/// the server away from everyone else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// A request's headers must arrive within this many seconds; an idle keep-alive
    /// connection is closed after as long.
    pub header_read_timeout_seconds: u64,
    /// A request's body must arrive within this many seconds (else 408).
    pub body_read_timeout_seconds: u64,
    /// Connections served at once.
    pub max_connections: usize,
    /// Extra connections kept for /healthz, /readyz and /status when the others are taken.
    pub reserved_connections: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            header_read_timeout_seconds: 10,
            body_read_timeout_seconds: 30,
            max_connections: 4096,
            reserved_connections: 64,
        }
    }
}

/// Where Firebreak may send webhooks, subscriber notifications and pages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundSettings {
    /// Allow loopback, private, link-local, unique-local and other non-public addresses.
    pub allow_private: bool,
    /// Networks allowed even though they are not public, e.g. `["10.1.2.0/24"]`.
    pub allowed_networks: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackerSettings {
    pub github: GitHubSettings,
    pub jira: JiraSettings,
}

/// GitHub Issues; used when `repo` is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitHubSettings {
    pub base_url: String,
    /// `owner/repo`.
    pub repo: String,
    pub token: Secret,
}

impl Default for GitHubSettings {
    fn default() -> Self {
        GitHubSettings {
            base_url: "https://api.github.com".into(),
            repo: String::new(),
            token: Secret::default(),
        }
    }
}

/// Jira (Cloud or Server, REST API v3); used when `project` is set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JiraSettings {
    pub base_url: String,
    pub email: String,
    pub token: Secret,
    /// The project key, e.g. OPS.
    pub project: String,
}

/// The public status page at `/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusPageSettings {
    pub title: String,
    /// The page's id in the Statuspage-compatible JSON.
    pub page_id: String,
    /// Where the public reaches the page; empty: `public_url` + `/status`.
    pub url: String,
    /// While an incident flaps, each subscriber gets at most one message about it in this
    /// many minutes (the one that resolves it always goes out).
    pub subscriber_throttle_minutes: i64,
    /// A logo shown above the page's title (an image URL); empty: none.
    pub logo_url: String,
    /// The colour of links and accents, as `#rgb` or `#rrggbb`; empty: the default blue.
    pub accent_color: String,
}

impl Default for StatusPageSettings {
    fn default() -> Self {
        StatusPageSettings {
            title: "Status".into(),
            page_id: "firebreak".into(),
            url: String::new(),
            subscriber_throttle_minutes: 10,
            logo_url: String::new(),
            accent_color: String::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookSettings {
    pub name: String,
    /// Severities it applies to; empty: all.
    #[serde(default)]
    pub severities: Vec<String>,
    /// Incident types it applies to (default, security); empty: all.
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub tasks: Vec<TaskSettings>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSettings {
    pub title: String,
    /// The role expected to do it (lead, comms, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Due this many minutes after the playbook is added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_minutes: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IncidentSettings {
    pub severities: Vec<String>,
    pub roles: Vec<String>,
    /// Severity → minutes until the next update when an update does not say.
    pub cadence_minutes: std::collections::BTreeMap<String, i64>,
    /// How long before an update is due its reminder goes out.
    pub remind_before_minutes: i64,
    /// How often passive stakeholders get a digest of new updates.
    pub digest_minutes: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookSettings {
    pub max_attempts: i64,
    pub backoff_base_ms: i64,
    pub backoff_max_ms: i64,
    pub timeout_ms: u64,
    pub poll_interval_ms: u64,
}

impl Settings {
    /// The listener's limits (`[limits]`).
    pub fn connection_limits(&self) -> crate::listen::ConnectionLimits {
        crate::listen::ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(
                self.limits.header_read_timeout_seconds.max(1),
            ),
            body_read_timeout: std::time::Duration::from_secs(
                self.limits.body_read_timeout_seconds.max(1),
            ),
            max_connections: self.limits.max_connections,
            reserved_connections: self.limits.reserved_connections,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            database_url: DatabaseUrl::from("sqlite:firebreak.db"),
            public_url: String::new(),
            max_body_bytes: 256 * 1024,
            log: "info".into(),
            workers: true,
            status_page_only: false,
            limits: LimitSettings::default(),
            outbound: OutboundSettings::default(),
            retention: RetentionSettings::default(),
            incidents: IncidentSettings::default(),
            webhooks: WebhookSettings::default(),
            playbooks: firebreak_core::playbook::default_playbooks()
                .into_iter()
                .map(|playbook| PlaybookSettings {
                    name: playbook.name,
                    severities: playbook.severities,
                    types: playbook.types.iter().map(|it| it.to_string()).collect(),
                    tasks: playbook
                        .tasks
                        .into_iter()
                        .map(|task| TaskSettings {
                            title: task.title,
                            role: task.role,
                            due_minutes: task.due_minutes,
                        })
                        .collect(),
                })
                .collect(),
            rules: workflow::default_rules(),
            targets: workflow::default_targets(),
            smtp: SmtpSettings::default(),
            people: PeopleSettings::default(),
            status_page: StatusPageSettings::default(),
            trackers: TrackerSettings::default(),
            chat: chat::ChatSettings::default(),
            paging: PagingSettings::default(),
        }
    }
}

impl Default for IncidentSettings {
    fn default() -> Self {
        let catalog = Catalog::default();
        IncidentSettings {
            severities: catalog.severities,
            roles: catalog.roles,
            cadence_minutes: catalog.cadence_minutes,
            remind_before_minutes: catalog.remind_before_minutes,
            digest_minutes: catalog.digest_minutes,
        }
    }
}

impl Default for WebhookSettings {
    fn default() -> Self {
        let policy = RetryPolicy::default();
        WebhookSettings {
            max_attempts: policy.max_attempts,
            backoff_base_ms: policy.base_ms,
            backoff_max_ms: policy.max_backoff_ms,
            timeout_ms: 10_000,
            poll_interval_ms: 1_000,
        }
    }
}

/// Why settings could not be loaded, naming the source of the bad value, and the key path
/// of that value when known (to find its line in the file).
#[derive(Debug, thiserror::Error)]
#[error("invalid settings: {0}")]
pub struct SettingsError(String, Vec<String>);

impl SettingsError {
    fn new(message: impl Into<String>) -> Self {
        SettingsError(message.into(), Vec::new())
    }

    /// The error about the value at `path` (e.g. `["rules", "2"]`).
    fn at(mut self, path: &[&str]) -> Self {
        self.1 = path.iter().map(|it| it.to_string()).collect();
        self
    }
}

/// The 1-based line of the value at `path` in a TOML text: arrays of tables by position
/// (`rules.2` is the third `[[rules]]`), then each key's first line after that. Good enough
/// to point a person at the right place; `None` when it cannot tell.
fn line_of(text: &str, path: &[String]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let mut found = None;
    let mut table = String::new();
    let mut idx = 0;
    while idx < path.len() {
        let key = &path[idx];
        let index = path.get(idx + 1).and_then(|it| it.parse::<usize>().ok());
        let name = if table.is_empty() {
            key.clone()
        } else {
            format!("{table}.{key}")
        };
        if let Some(index) = index {
            let header = format!("[[{name}]]");
            let (line, _) = lines
                .iter()
                .enumerate()
                .skip(from)
                .filter(|(_, it)| it.trim() == header)
                .nth(index)?;
            from = line;
            found = Some(line);
            table = name;
            idx += 2;
            continue;
        }
        let header = format!("[{name}]");
        let hit = lines.iter().enumerate().skip(from).find(|(_, it)| {
            let it = it.trim();
            it == header
                || it
                    .strip_prefix(key.as_str())
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
        });
        match hit {
            Some((line, it)) => {
                from = line;
                found = Some(line);
                if it.trim().starts_with('[') {
                    table = name;
                }
            }
            None => break,
        }
        idx += 1;
    }
    found.map(|it| it + 1)
}

impl Settings {
    /// Loads defaults, then `path` (or `firebreak.toml` in the working directory when it
    /// exists), then the environment.
    pub fn load(path: Option<&Path>) -> Result<Settings, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        let file = match path {
            Some(path) => {
                if !path.exists() {
                    return Err(SettingsError::new(format!(
                        "config file {} does not exist",
                        path.display()
                    )));
                }
                path.to_path_buf()
            }
            None => Path::new("firebreak.toml").to_path_buf(),
        };
        figment = figment.merge(Toml::file(&file));
        // Every message names the file, so a refusal at start says where to look.
        let in_file = |message: String| {
            if file.exists() && !message.contains(&*file.to_string_lossy()) {
                SettingsError::new(format!("{}: {message}", file.display()))
            } else {
                SettingsError::new(message)
            }
        };
        // FIREBREAK_URL and FIREBREAK_TOKEN belong to the CLI client, not the server.
        let env = Env::prefixed("FIREBREAK_")
            .split("__")
            .ignore(&["url", "token"]);
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let at_line = |message: String, path: &[String]| match line_of(&text, path) {
            Some(line) if !message.contains("line ") => format!("line {line}: {message}"),
            _ => message,
        };
        let settings: Settings = figment.merge(env).extract().map_err(|err| {
            let path = err.path.clone();
            in_file(at_line(err.to_string(), &path))
        })?;
        settings
            .check()
            .map_err(|err| in_file(at_line(err.0, &err.1)))?;
        Ok(settings)
    }

    /// Where webhooks, subscriber webhooks and pages may go (`[outbound]`).
    pub fn outbound_policy(&self) -> firebreak_core::outbound::Policy {
        // `check` refused a bad network at start, so this parses.
        firebreak_core::outbound::Policy::parse(
            self.outbound.allow_private,
            &self.outbound.allowed_networks,
        )
        .unwrap_or_default()
    }

    /// Settings from the text of a settings file alone (defaults < the file), checked as at
    /// start: what `load` does without the environment.
    pub fn from_toml(text: &str) -> Result<Settings, SettingsError> {
        let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(text))
            .extract()
            .map_err(|err| SettingsError::new(err.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingsError> {
        if let Err(message) = firebreak_core::outbound::Policy::parse(
            self.outbound.allow_private,
            &self.outbound.allowed_networks,
        ) {
            return Err(SettingsError::new(format!(
                "outbound.allowed_networks: {message}"
            )));
        }
        if self.incidents.severities.is_empty() {
            return Err(SettingsError::new("incidents.severities cannot be empty"));
        }
        if self.incidents.roles.is_empty() {
            return Err(SettingsError::new("incidents.roles cannot be empty"));
        }
        for (severity, minutes) in &self.incidents.cadence_minutes {
            if !self.incidents.severities.contains(severity) {
                return Err(SettingsError::new(format!(
                    "incidents.cadence_minutes names {severity:?}, which is not in incidents.severities"
                )));
            }
            if !(1..=firebreak_core::command::MAX_NEXT_UPDATE_MINUTES).contains(minutes) {
                return Err(SettingsError::new(format!(
                    "incidents.cadence_minutes.{severity} must be between 1 and {}",
                    firebreak_core::command::MAX_NEXT_UPDATE_MINUTES
                )));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (index, playbook) in self.playbooks.iter().enumerate() {
            if playbook.name.trim().is_empty() || !names.insert(playbook.name.clone()) {
                return Err(SettingsError::new(format!(
                    "playbook {:?}: every playbook needs its own, non-empty name",
                    playbook.name
                ))
                .at(&["playbooks", &index.to_string()]));
            }
            self.check_playbook(playbook)
                .map_err(|err| err.at(&["playbooks", &index.to_string()]))?;
        }
        if self.incidents.remind_before_minutes < 0 {
            return Err(SettingsError::new(
                "incidents.remind_before_minutes cannot be negative",
            ));
        }
        let accent = &self.status_page.accent_color;
        let hex = accent.strip_prefix('#').unwrap_or("");
        let accent_ok = matches!(hex.len(), 3 | 6) && hex.chars().all(|it| it.is_ascii_hexdigit());
        if !(accent.is_empty() || accent_ok) {
            return Err(SettingsError::new(format!(
                "status_page.accent_color {accent:?} must look like \"#2454b8\""
            )));
        }
        let logo = &self.status_page.logo_url;
        let logo_ok = ["https://", "http://", "/"]
            .iter()
            .any(|it| logo.starts_with(it));
        if !(logo.is_empty() || logo_ok) {
            return Err(SettingsError::new(format!(
                "status_page.logo_url {logo:?} must be an http(s) URL or a path"
            )));
        }
        if self.incidents.digest_minutes < 1 {
            return Err(SettingsError::new(
                "incidents.digest_minutes must be at least 1",
            ));
        }
        for (name, phone) in [("sms", &self.paging.sms), ("voice", &self.paging.voice)] {
            phone
                .check(name == "sms")
                .map_err(|message| SettingsError::new(format!("paging.{name}: {message}")))?;
        }
        workflow::apply(self, &mut Catalog::default())?;
        if self.webhooks.max_attempts < 1 || self.webhooks.backoff_base_ms < 1 {
            return Err(SettingsError::new(
                "webhooks.max_attempts and backoff_base_ms must be at least 1",
            ));
        }
        Ok(())
    }

    fn check_playbook(&self, playbook: &PlaybookSettings) -> Result<(), SettingsError> {
        let what = format!("playbook {:?}", playbook.name);
        if let Some(unknown) = playbook
            .severities
            .iter()
            .find(|it| !self.incidents.severities.contains(it))
        {
            return Err(SettingsError::new(format!(
                "{what}: unknown severity {unknown:?}"
            )));
        }
        if let Some(unknown) = playbook
            .types
            .iter()
            .find(|it| firebreak_core::IncidentType::parse(it).is_none())
        {
            return Err(SettingsError::new(format!(
                "{what}: unknown type {unknown:?}; expected {}",
                firebreak_core::IncidentType::expected()
            )));
        }
        for task in &playbook.tasks {
            if task.title.trim().is_empty() {
                return Err(SettingsError::new(format!("{what}: a task has no title")));
            }
            if let Some(role) = task
                .role
                .as_ref()
                .filter(|it| !self.incidents.roles.contains(it))
            {
                return Err(SettingsError::new(format!(
                    "{what}, task {:?}: unknown role {role:?}",
                    task.title
                )));
            }
            if task.due_minutes.is_some_and(|it| {
                !(1..=firebreak_core::command::MAX_NEXT_UPDATE_MINUTES).contains(&it)
            }) {
                return Err(SettingsError::new(format!(
                    "{what}, task {:?}: due_minutes must be between 1 and a week",
                    task.title
                )));
            }
        }
        Ok(())
    }

    /// The settings with the playbooks and rules stored through the API after the file's.
    /// A stored item may not take the name of one from the file (that one is managed there).
    pub fn with_items(&self, items: &[firebreak_store::WorkflowItem]) -> Result<Settings, String> {
        let mut merged = self.clone();
        for item in items {
            match item.kind.as_str() {
                "playbook" => {
                    let mut playbook: PlaybookSettings = serde_json::from_str(&item.body)
                        .map_err(|err| format!("playbook {:?}: {err}", item.name))?;
                    playbook.name = item.name.clone();
                    if self.playbooks.iter().any(|it| it.name == item.name) {
                        return Err(format!(
                            "playbook {:?} is defined in the settings file; change it there",
                            item.name
                        ));
                    }
                    merged.playbooks.push(playbook);
                }
                "rule" => {
                    let mut rule: RuleSettings = serde_json::from_str(&item.body)
                        .map_err(|err| format!("rule {:?}: {err}", item.name))?;
                    rule.name = item.name.clone();
                    if self.rules.iter().any(|it| it.name == item.name) {
                        return Err(format!(
                            "rule {:?} is defined in the settings file; change it there",
                            item.name
                        ));
                    }
                    merged.rules.push(rule);
                }
                other => return Err(format!("unknown workflow item kind {other:?}")),
            }
        }
        Ok(merged)
    }

    /// The catalog with the stored playbooks and rules, every check applied.
    pub fn catalog_with(&self, items: &[firebreak_store::WorkflowItem]) -> Result<Catalog, String> {
        let merged = self.with_items(items)?;
        merged.check().map_err(|err| err.0)?;
        Ok(merged.catalog())
    }

    /// The core's view of the settings. `load` checked them; settings built in code (tests)
    /// that fail the workflow checks keep the built-in rules and targets.
    pub fn catalog(&self) -> Catalog {
        let mut catalog = Catalog {
            severities: self.incidents.severities.clone(),
            roles: self.incidents.roles.clone(),
            cadence_minutes: self.incidents.cadence_minutes.clone(),
            remind_before_minutes: self.incidents.remind_before_minutes,
            digest_minutes: self.incidents.digest_minutes,
            playbooks: self
                .playbooks
                .iter()
                .map(|playbook| firebreak_core::playbook::Playbook {
                    name: playbook.name.clone(),
                    severities: playbook.severities.clone(),
                    // `check` refused unknown types at load.
                    types: playbook
                        .types
                        .iter()
                        .filter_map(|it| firebreak_core::IncidentType::parse(it))
                        .collect(),
                    tasks: playbook
                        .tasks
                        .iter()
                        .map(|task| firebreak_core::playbook::TaskTemplate {
                            title: task.title.clone(),
                            role: task.role.clone(),
                            due_minutes: task.due_minutes,
                        })
                        .collect(),
                })
                .collect(),
            chat: self.chat.policy(),
            ..Catalog::default()
        };
        if let Err(err) = workflow::apply(self, &mut catalog) {
            tracing::warn!(error = %err, "workflow settings refused; using the built-in rules");
        }
        catalog
    }

    /// The address people reach this server at, without a trailing slash: `public_url`, or
    /// derived from `listen`.
    pub fn base_url(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.public_url.trim_end_matches('/').to_string()
        }
    }

    /// The SMTP client's configuration, when `smtp.host` is set.
    pub fn smtp(&self) -> Option<firebreak_integrations::email::SmtpConfig> {
        workflow::smtp_config(&self.smtp).ok().flatten()
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.webhooks.max_attempts,
            base_ms: self.webhooks.backoff_base_ms,
            max_backoff_ms: self.webhooks.backoff_max_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_matches_defaults() {
        let parsed: Settings = Figment::new()
            .merge(Toml::string(EXAMPLE))
            .extract()
            .unwrap();
        assert_eq!(parsed, Settings::default());
    }

    #[test]
    fn bad_files_are_refused_with_file_line_and_reason() {
        let dir = tempfile::tempdir().unwrap();
        // (file contents, what the message must say)
        let table: [(&str, &[&str]); 11] = [
            (
                "[paging.sms]\naccount_sid = \"AC1\"\nauth_token = \"t\"\n",
                &["paging.sms", "messaging_service_sid"],
            ),
            (
                "[paging.voice]\naccount_sid = \"AC1\"\nauth_token = \"t\"\nfrom = \"555-0100\"\n",
                &["paging.voice", "E.164"],
            ),
            (
                "[incidents]\nseverities = [\"critical\"\nroles = 3\n",
                &["bad.toml", "line 3", "expected"],
            ),
            ("[incidents]\nroles = 3\n", &["bad.toml", "incidents.roles"]),
            (
                "[[playbooks]]\nname = \"x\"\nseverities = [\"sev9\"]\n",
                &["bad.toml", "playbook \"x\"", "unknown severity \"sev9\""],
            ),
            (
                "[[playbooks]]\nname = \"x\"\n[[playbooks.tasks]]\ntitle = \"t\"\nrole = \"chef\"\n",
                &["bad.toml", "unknown role \"chef\""],
            ),
            (
                "[[rules]]\nname = \"x\"\nwhen = [\"declard\"]\n[rules.then]\nfreeze_deploys = true\n",
                &[
                    "bad.toml",
                    "line 1",
                    "rule \"x\"",
                    "unknown trigger \"declard\"",
                ],
            ),
            (
                "[[rules]]\nname = \"x\"\nwhen = [\"declared\"]\n[rules.then]\nnotify = [\"slack\"]\n",
                &["bad.toml", "notify names \"slack\""],
            ),
            (
                "[[rules]]\nname = \"x\"\nwhen = [\"declared\"]\n[rules.then]\nfreeze = true\n",
                &["bad.toml", "line 5", "found `freeze`"],
            ),
            (
                "[[targets]]\nname = \"ops\"\nemail = [\"ops@example.com\"]\n",
                &["bad.toml", "smtp.host is not set"],
            ),
            (
                "[status_page]\naccent_color = \"red; } body { display: none\"\n",
                &["bad.toml", "status_page.accent_color"],
            ),
        ];
        for (text, needles) in table {
            let path = dir.path().join("bad.toml");
            std::fs::write(&path, text).unwrap();
            let message = Settings::load(Some(&path)).unwrap_err().to_string();
            for needle in needles {
                assert!(message.contains(needle), "{needle:?} in {message}");
            }
        }
    }

    #[test]
    fn rules_and_targets_from_a_file_replace_the_built_in_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firebreak.toml");
        std::fs::write(
            &path,
            "[smtp]\nhost = \"127.0.0.1\"\nport = 2525\n\n\
             [[targets]]\nname = \"security-team\"\nemail = [\"sec@example.com\"]\n\n\
             [[rules]]\nname = \"security\"\nwhen = [\"declared\", \"severity_changed\"]\n\
             [rules.if]\ntypes = [\"security\"]\n[rules.then]\nset_cadence_minutes = 20\nnotify = [\"security-team\"]\n",
        )
        .unwrap();
        let catalog = Settings::load(Some(&path)).unwrap().catalog();
        use firebreak_core::rule::{Effect, Trigger};
        assert_eq!(catalog.rules.len(), 1);
        assert_eq!(
            catalog.rules[0].when,
            [Trigger::Declared, Trigger::SeverityChanged]
        );
        assert_eq!(
            catalog.rules[0].then,
            [
                Effect::SetCadence(Some(20)),
                Effect::Notify("security-team".into())
            ]
        );
        assert_eq!(catalog.targets[0].email, ["sec@example.com"]);
    }

    #[test]
    fn playbooks_from_a_file_replace_the_built_in_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firebreak.toml");
        std::fs::write(
            &path,
            "[[playbooks]]\nname = \"security\"\ntypes = [\"security\"]\n\n\
             [[playbooks.tasks]]\ntitle = \"Rotate the leaked credentials\"\nrole = \"lead\"\ndue_minutes = 15\n",
        )
        .unwrap();
        let settings = Settings::load(Some(&path)).unwrap();
        let catalog = settings.catalog();
        assert_eq!(catalog.playbooks.len(), 1);
        assert_eq!(
            catalog.playbooks[0].types,
            [firebreak_core::IncidentType::Security]
        );
        assert_eq!(catalog.playbooks[0].tasks[0].due_minutes, Some(15));
    }
}
