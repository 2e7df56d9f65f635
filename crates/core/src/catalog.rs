//! The configurable vocabularies: severities (ordered, most severe first) and incident roles.

/// The lists an installation may configure. Severities and roles are strings on the wire,
/// checked against this catalog, so adding one is configuration rather than a code change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalog {
    /// Most severe first.
    pub severities: Vec<String>,
    pub roles: Vec<String>,
    /// Severity → minutes until the next update when an update does not say.
    pub cadence_minutes: std::collections::BTreeMap<String, i64>,
    /// How long before an update is due its reminder goes out.
    pub remind_before_minutes: i64,
    /// Task templates that rules add to incidents.
    pub playbooks: Vec<crate::playbook::Playbook>,
    /// Workflow rules, in the order they are evaluated.
    pub rules: Vec<crate::rule::Rule>,
    /// Continuous involvement after which a participant is nudged to take a break.
    pub break_after_minutes: i64,
    /// Incident age after which the lead is nudged to order food.
    pub food_after_minutes: i64,
    /// How often passive stakeholders get a digest of new updates.
    pub digest_minutes: i64,
    /// A person who acts on a live incident joins it.
    pub join_on_action: bool,
    /// Everyone's working hours (in their own time zone), for out-of-hours minutes.
    pub working_hours: crate::presence::WorkingHours,
    /// Where rules can send notifications.
    pub targets: Vec<crate::notify::Target>,
    /// Chat, when a platform is configured.
    pub chat: Option<crate::chat::ChatPolicy>,
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
            cadence_minutes: [("critical", 30), ("major", 60), ("minor", 240)]
                .into_iter()
                .map(|(severity, minutes)| (severity.to_string(), minutes))
                .collect(),
            remind_before_minutes: 5,
            playbooks: crate::playbook::default_playbooks(),
            rules: crate::rule::default_rules(),
            break_after_minutes: 90,
            food_after_minutes: 240,
            digest_minutes: 60,
            join_on_action: true,
            working_hours: crate::presence::WorkingHours::default(),
            // The default rules notify it; it sends nothing until configured.
            targets: vec![crate::notify::Target {
                name: crate::notify::ANNOUNCEMENTS.into(),
                webhook_url: None,
                webhook_secret: String::new(),
                email: Vec::new(),
            }],
            chat: None,
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
