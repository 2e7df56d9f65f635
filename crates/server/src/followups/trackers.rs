//! Follow-ups in issue trackers: export one to GitHub Issues or Jira (keeping the link), and
//! read their status back — a follow-up whose issue was closed there is done here.

use std::time::Duration;

use firebreak_core::followup::FollowupStatus;
use firebreak_integrations::trackers::{GitHub, Jira, TrackerError};
use firebreak_store::{Followup, FollowupPatch, Store};
use jiff::Timestamp;
use tokio::sync::watch;

use crate::settings::Settings;

#[derive(Clone)]
pub struct Trackers {
    pub client: firebreak_integrations::outbound::Outbound,
    pub github: Option<GitHub>,
    pub jira: Option<Jira>,
}

impl Trackers {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Trackers> {
        let t = &settings.trackers;
        Ok(Trackers {
            client: firebreak_integrations::outbound::Outbound::new(
                Duration::from_secs(15),
                settings.outbound_policy(),
            )?,
            github: (!t.github.repo.is_empty()).then(|| GitHub {
                base_url: t.github.base_url.clone(),
                repo: t.github.repo.clone(),
                token: t.github.token.expose().to_string(),
            }),
            jira: (!t.jira.project.is_empty()).then(|| Jira {
                base_url: t.jira.base_url.clone(),
                email: t.jira.email.clone(),
                token: t.jira.token.expose().to_string(),
                project: t.jira.project.clone(),
            }),
        })
    }

    fn body(followup: &Followup, link: &str) -> String {
        let mut body = String::new();
        if !followup.description.is_empty() {
            body.push_str(&followup.description);
            body.push_str("\n\n");
        }
        body.push_str(&format!(
            "Follow-up of {} (owner: {}, priority: {}, kind: {}). Incident: {link}",
            followup.reference,
            followup.owner,
            followup.priority.as_str(),
            followup.kind.as_str()
        ));
        body
    }

    /// Creates the issue; answers (kind, id, url).
    pub async fn export(
        &self,
        followup: &Followup,
        to: &str,
        incident_link: &str,
    ) -> Result<(String, String, String), ExportError> {
        let body = Self::body(followup, incident_link);
        let created = match to {
            "github" => {
                let github = self
                    .github
                    .as_ref()
                    .ok_or(ExportError::NotConfigured("github"))?;
                github.create(&self.client, &followup.title, &body).await?
            }
            "jira" => {
                let jira = self
                    .jira
                    .as_ref()
                    .ok_or(ExportError::NotConfigured("jira"))?;
                jira.create(&self.client, &followup.title, &body).await?
            }
            _ => return Err(ExportError::Unknown),
        };
        Ok((to.to_string(), created.id, created.url))
    }

    async fn is_done(&self, kind: &str, id: &str) -> Result<bool, TrackerError> {
        match (kind, &self.github, &self.jira) {
            ("github", Some(github), _) => github.is_done(&self.client, id).await,
            ("jira", _, Some(jira)) => jira.is_done(&self.client, id).await,
            _ => Ok(false),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0} is not configured ([trackers.{0}] in the settings)")]
    NotConfigured(&'static str),
    #[error("export to github or jira")]
    Unknown,
    #[error(transparent)]
    Tracker(#[from] TrackerError),
}

/// Reads exported follow-ups' status back from their trackers.
pub struct TrackerWorker {
    pub store: Store,
    pub trackers: Trackers,
}

impl TrackerWorker {
    /// Answers how many follow-ups were marked done because their issue was.
    pub async fn run_once(&self, now: Timestamp) -> Result<usize, firebreak_store::StoreError> {
        let mut n_done = 0;
        for followup in self.store.exported_open_followups().await? {
            let Some((kind, id, _)) = &followup.external else {
                continue;
            };
            match self.trackers.is_done(kind, id).await {
                Ok(true) => {
                    let patch = FollowupPatch {
                        status: Some(FollowupStatus::Done),
                        ..FollowupPatch::default()
                    };
                    self.store.update_followup(&followup.id, patch, now).await?;
                    n_done += 1;
                }
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(error = %err, followup = %followup.id, "cannot read the tracker's status")
                }
            }
        }
        Ok(n_done)
    }

    pub async fn run(self, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(err) = self.run_once(firebreak_store::clock::now()).await {
                tracing::warn!(error = %err, "tracker step failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
