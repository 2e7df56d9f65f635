//! The configurable vocabularies: severities (ordered, most severe first) and incident roles.

/// The lists an installation may configure. Severities and roles are strings on the wire,
/// checked against this catalog, so adding one is configuration rather than a code change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalog {
    /// Most severe first.
    pub severities: Vec<String>,
    pub roles: Vec<String>,
    /// Severities whose live incidents freeze deploys (the default rule).
    pub freeze_severities: Vec<String>,
    /// Severity → minutes until the next update when an update does not say.
    pub cadence_minutes: std::collections::BTreeMap<String, i64>,
    /// Task templates added to matching incidents.
    pub playbooks: Vec<crate::playbook::Playbook>,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog {
            severities: vec!["critical".into(), "major".into(), "minor".into()],
            roles: vec![
                "lead".into(),
                "comms".into(),
                "support".into(),
                "first_responder".into(),
                "shadow".into(),
            ],
            freeze_severities: vec!["critical".into(), "major".into()],
            cadence_minutes: [("critical", 30), ("major", 60), ("minor", 240)]
                .into_iter()
                .map(|(severity, minutes)| (severity.to_string(), minutes))
                .collect(),
            playbooks: crate::playbook::default_playbooks(),
        }
    }
}

impl Catalog {
    /// The rank of a severity: 0 is the most severe. `None` when it is not configured.
    pub fn severity_rank(&self, severity: &str) -> Option<usize> {
        self.severities.iter().position(|it| it == severity)
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|it| it == role)
    }

    pub fn default_severity(&self) -> &str {
        // The middle of the list is the usual pick at 3 a.m.: serious but not everything.
        let idx = self.severities.len() / 2;
        self.severities
            .get(idx)
            .map(String::as_str)
            .unwrap_or("major")
    }
}
