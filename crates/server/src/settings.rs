//! Settings: defaults < TOML file < `FIREBREAK_*` environment (`__` nests).

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use firebreak_core::Catalog;
use firebreak_core::retry::RetryPolicy;
use serde::{Deserialize, Serialize};

/// The commented default file printed by `firebreak config example`.
pub const EXAMPLE: &str = include_str!("../../../config/firebreak.example.toml");

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    pub public_url: String,
    pub max_body_bytes: usize,
    pub log: String,
    /// Run the background workers (webhook delivery) in this process.
    pub workers: bool,
    pub incidents: IncidentSettings,
    pub webhooks: WebhookSettings,
    /// Task templates added to matching incidents (replacing the built-in ones when given).
    pub playbooks: Vec<PlaybookSettings>,
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
    pub freeze_severities: Vec<String>,
    /// Severity → minutes until the next update when an update does not say.
    pub cadence_minutes: std::collections::BTreeMap<String, i64>,
    /// How long before an update is due its reminder goes out.
    pub remind_before_minutes: i64,
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

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite:firebreak.db".into(),
            public_url: String::new(),
            max_body_bytes: 256 * 1024,
            log: "info".into(),
            workers: true,
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
        }
    }
}

impl Default for IncidentSettings {
    fn default() -> Self {
        let catalog = Catalog::default();
        IncidentSettings {
            severities: catalog.severities,
            roles: catalog.roles,
            freeze_severities: catalog.freeze_severities,
            cadence_minutes: catalog.cadence_minutes,
            remind_before_minutes: 5,
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

/// Why settings could not be loaded, naming the source of the bad value.
#[derive(Debug, thiserror::Error)]
#[error("invalid settings: {0}")]
pub struct SettingsError(String);

impl Settings {
    /// Loads defaults, then `path` (or `firebreak.toml` in the working directory when it
    /// exists), then the environment.
    pub fn load(path: Option<&Path>) -> Result<Settings, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        let file = match path {
            Some(path) => {
                if !path.exists() {
                    return Err(SettingsError(format!(
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
                SettingsError(format!("{}: {message}", file.display()))
            } else {
                SettingsError(message)
            }
        };
        // FIREBREAK_URL and FIREBREAK_TOKEN belong to the CLI client, not the server.
        let env = Env::prefixed("FIREBREAK_")
            .split("__")
            .ignore(&["url", "token"]);
        let settings: Settings = figment
            .merge(env)
            .extract()
            .map_err(|err| in_file(err.to_string()))?;
        settings.check().map_err(|err| in_file(err.0))?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingsError> {
        if self.incidents.severities.is_empty() {
            return Err(SettingsError("incidents.severities cannot be empty".into()));
        }
        if self.incidents.roles.is_empty() {
            return Err(SettingsError("incidents.roles cannot be empty".into()));
        }
        if let Some(unknown) = self
            .incidents
            .freeze_severities
            .iter()
            .find(|it| !self.incidents.severities.contains(it))
        {
            return Err(SettingsError(format!(
                "incidents.freeze_severities names {unknown:?}, which is not in incidents.severities"
            )));
        }
        for (severity, minutes) in &self.incidents.cadence_minutes {
            if !self.incidents.severities.contains(severity) {
                return Err(SettingsError(format!(
                    "incidents.cadence_minutes names {severity:?}, which is not in incidents.severities"
                )));
            }
            if !(1..=firebreak_core::command::MAX_NEXT_UPDATE_MINUTES).contains(minutes) {
                return Err(SettingsError(format!(
                    "incidents.cadence_minutes.{severity} must be between 1 and {}",
                    firebreak_core::command::MAX_NEXT_UPDATE_MINUTES
                )));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for playbook in &self.playbooks {
            let what = format!("playbook {:?}", playbook.name);
            if playbook.name.trim().is_empty() || !names.insert(playbook.name.clone()) {
                return Err(SettingsError(format!(
                    "{what}: every playbook needs its own, non-empty name"
                )));
            }
            if let Some(unknown) = playbook
                .severities
                .iter()
                .find(|it| !self.incidents.severities.contains(it))
            {
                return Err(SettingsError(format!(
                    "{what}: unknown severity {unknown:?}"
                )));
            }
            if let Some(unknown) = playbook
                .types
                .iter()
                .find(|it| firebreak_core::IncidentType::parse(it).is_none())
            {
                return Err(SettingsError(format!(
                    "{what}: unknown type {unknown:?}; expected {}",
                    firebreak_core::IncidentType::expected()
                )));
            }
            for task in &playbook.tasks {
                if task.title.trim().is_empty() {
                    return Err(SettingsError(format!("{what}: a task has no title")));
                }
                if let Some(role) = task
                    .role
                    .as_ref()
                    .filter(|it| !self.incidents.roles.contains(it))
                {
                    return Err(SettingsError(format!(
                        "{what}, task {:?}: unknown role {role:?}",
                        task.title
                    )));
                }
                if task.due_minutes.is_some_and(|it| {
                    !(1..=firebreak_core::command::MAX_NEXT_UPDATE_MINUTES).contains(&it)
                }) {
                    return Err(SettingsError(format!(
                        "{what}, task {:?}: due_minutes must be between 1 and a week",
                        task.title
                    )));
                }
            }
        }
        if self.incidents.remind_before_minutes < 0 {
            return Err(SettingsError(
                "incidents.remind_before_minutes cannot be negative".into(),
            ));
        }
        if self.webhooks.max_attempts < 1 || self.webhooks.backoff_base_ms < 1 {
            return Err(SettingsError(
                "webhooks.max_attempts and backoff_base_ms must be at least 1".into(),
            ));
        }
        Ok(())
    }

    pub fn catalog(&self) -> Catalog {
        Catalog {
            severities: self.incidents.severities.clone(),
            roles: self.incidents.roles.clone(),
            freeze_severities: self.incidents.freeze_severities.clone(),
            cadence_minutes: self.incidents.cadence_minutes.clone(),
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
        }
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
        let table: [(&str, &[&str]); 4] = [
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
