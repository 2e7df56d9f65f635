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
        match path {
            Some(path) => {
                if !path.exists() {
                    return Err(SettingsError(format!(
                        "config file {} does not exist",
                        path.display()
                    )));
                }
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("firebreak.toml")),
        }
        // FIREBREAK_URL and FIREBREAK_TOKEN belong to the CLI client, not the server.
        let env = Env::prefixed("FIREBREAK_")
            .split("__")
            .ignore(&["url", "token"]);
        let settings: Settings = figment
            .merge(env)
            .extract()
            .map_err(|err| SettingsError(err.to_string()))?;
        settings.check()?;
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
}
