//! View models: incidents and events turned into the strings the templates show, in the
//! reader's time zone.

use std::collections::HashMap;

use firebreak_core::board::{due_in_words, duration_in_words};
use firebreak_core::narrate::narrate;
use firebreak_core::{Catalog, Incident, TimestampName};
use firebreak_store::StoredEvent;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// How to show times and people to one reader.
pub struct Lens {
    pub zone: TimeZone,
    pub zone_name: String,
    /// Email → name.
    pub names: HashMap<String, String>,
    pub now: Timestamp,
}

impl Lens {
    pub fn new(zone_name: &str, names: HashMap<String, String>) -> Lens {
        let zone = TimeZone::get(zone_name).unwrap_or(TimeZone::UTC);
        Lens {
            zone,
            zone_name: zone_name.to_string(),
            names,
            now: firebreak_store::clock::now(),
        }
    }

    pub fn time(&self, at: Timestamp) -> String {
        at.to_zoned(self.zone.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    pub fn time_with_seconds(&self, at: Timestamp) -> String {
        at.to_zoned(self.zone.clone())
            .strftime("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    }

    pub fn person(&self, email: &str) -> String {
        match self.names.get(email) {
            Some(name) => name.clone(),
            None => email.to_string(),
        }
    }
}

pub struct Row {
    pub reference: String,
    pub title: String,
    pub private: bool,
    pub drill: bool,
    pub severity: String,
    pub severity_rank: usize,
    pub status: String,
    pub live: bool,
    pub lead: String,
    pub age: String,
    pub declared: String,
    pub due_text: String,
    pub due_iso: Option<String>,
    pub overdue: bool,
}

fn declared_at(incident: &Incident) -> Option<Timestamp> {
    incident.timestamp(TimestampName::Declared).observed
}

pub fn row(incident: &Incident, catalog: &Catalog, lens: &Lens) -> Row {
    let (due_text, overdue) = due_in_words(incident.next_update_due, lens.now);
    let declared = declared_at(incident);
    Row {
        reference: incident.reference.to_string(),
        title: incident.title.clone(),
        private: incident.private,
        drill: incident.mode == firebreak_core::Mode::Drill,
        severity: incident.severity.clone(),
        severity_rank: catalog.severity_rank(&incident.severity).unwrap_or(9),
        status: incident.status.as_str().to_string(),
        live: incident.status.is_live(),
        lead: incident
            .roles
            .get("lead")
            .map(|it| lens.person(it))
            .unwrap_or_else(|| "— nobody yet".to_string()),
        age: declared
            .map(|at| duration_in_words(lens.now.duration_since(at)))
            .unwrap_or_default(),
        declared: declared.map(|at| lens.time(at)).unwrap_or_default(),
        due_text,
        due_iso: incident.next_update_due.map(|it| it.to_string()),
        overdue,
    }
}

pub struct EventView {
    pub seq: i64,
    pub kind: String,
    pub iso: String,
    pub when: String,
    /// When a person says it happened, if that differs from when it was recorded.
    pub occurred: Option<String>,
    pub actor: String,
    pub label: String,
    pub text: String,
    /// A key moment (`EventKind::traits().key`): the room's "key moments" filter shows it.
    pub key: bool,
    /// It changes the room's lists (tasks, actions, people): the live room re-reads them.
    pub changes_lists: bool,
    /// For a long text (a playbook's tasks, a long note), its first line: the room shows
    /// that and folds the rest.
    pub preview: Option<String>,
}

/// The first line of a text too long to show whole in the room (more than three lines or
/// 400 characters), cut to about 120 characters; `None` for a short one.
pub fn preview(text: &str) -> Option<String> {
    let lines = text.lines().count();
    if lines <= 3 && text.chars().count() <= 400 {
        return None;
    }
    let first = text.lines().next().unwrap_or_default();
    let mut cut: String = first.chars().take(120).collect();
    if cut.chars().count() < first.chars().count() {
        cut.push('…');
    }
    let more = lines.saturating_sub(1);
    Some(match more {
        0 => cut,
        1 => format!("{cut} (1 more line)"),
        _ => format!("{cut} ({more} more lines)"),
    })
}

pub fn event(event: &StoredEvent, lens: &Lens) -> EventView {
    let display = |email: &str| lens.person(email);
    let time = |at: Timestamp| lens.time(at);
    let reader = firebreak_core::narrate::Reader {
        person: &display,
        time: &time,
    };
    let told = narrate(&event.data, &reader);
    let observed = firebreak_store::clock::from_micros(event.observed_at_us);
    let occurred = firebreak_store::clock::from_micros(event.occurred_at_us);
    EventView {
        seq: event.seq,
        kind: event.kind.as_str().to_string(),
        iso: observed.to_string(),
        when: lens.time_with_seconds(observed),
        occurred: (event.occurred_at_us != event.observed_at_us)
            .then(|| lens.time_with_seconds(occurred)),
        actor: lens.person(&event.actor.to_string()),
        key: event.kind.traits().key,
        changes_lists: event.kind.traits().changes_lists,
        preview: preview(&told.text),
        label: told.label,
        text: told.text,
    }
}

pub struct HeadView {
    pub reference: String,
    pub title: String,
    pub summary: String,
    pub severity: String,
    pub severity_rank: usize,
    pub status: String,
    pub live: bool,
    pub private: bool,
    pub drill: bool,
    pub due_text: String,
    pub due_iso: Option<String>,
    pub due_at: Option<String>,
    pub overdue: bool,
    /// (role, who) in the catalog's order, including unfilled ones.
    pub roles: Vec<(String, String)>,
    pub impact: String,
    pub affected: String,
    pub services: String,
    pub declared: String,
    pub created_by: String,
    pub members: String,
    pub chain_ok: bool,
    pub chain_problem: String,
    /// Events verified so far, of `n_total`.
    pub n_events: i64,
    pub n_total: i64,
    /// "since … — reason" while this incident freezes deploys.
    pub freeze: Option<String>,
    /// Roles a rule requires that nobody holds, in words ("lead, comms"); empty when none.
    pub missing_roles: String,
    /// Who is in the incident now, with since when.
    pub in_incident: String,
    /// Where the incident's call is.
    pub call_link: Option<String>,
}

pub fn head(
    incident: &Incident,
    catalog: &Catalog,
    lens: &Lens,
    chain: &firebreak_store::ChainState,
) -> HeadView {
    let row = row(incident, catalog, lens);
    let roles = catalog
        .roles
        .iter()
        .filter(|role| {
            incident.roles.contains_key(*role) || ["lead", "comms"].contains(&role.as_str())
        })
        .map(|role| {
            let holder = incident
                .roles
                .get(role)
                .map(|it| lens.person(it))
                .unwrap_or_else(|| "— unassigned".to_string());
            (role.clone(), holder)
        })
        .collect();
    let affected = match incident.affected.count {
        Some(count) if incident.affected.text.is_empty() => format!("{count} affected"),
        Some(count) => format!("{} ({count})", incident.affected.text),
        None => incident.affected.text.clone(),
    };
    let (chain_ok, chain_problem) = match &chain.broken {
        None => (true, String::new()),
        Some(broken) => (false, format!("at event {}: {}", broken.seq, broken.reason)),
    };
    let n_events = chain.verified_through;
    HeadView {
        reference: row.reference,
        title: row.title,
        summary: incident.summary.clone(),
        severity: row.severity,
        severity_rank: row.severity_rank,
        status: row.status,
        live: row.live,
        private: row.private,
        drill: row.drill,
        due_text: row.due_text,
        due_iso: row.due_iso,
        due_at: incident.next_update_due.map(|at| lens.time(at)),
        overdue: row.overdue,
        roles,
        impact: incident.impact.as_str().replace('_', " "),
        affected,
        services: incident.services.join(", "),
        declared: row.declared,
        created_by: lens.person(&incident.created_by),
        members: incident
            .members
            .iter()
            .map(|it| lens.person(it))
            .collect::<Vec<_>>()
            .join(", "),
        chain_ok,
        chain_problem,
        n_events,
        n_total: incident.last_seq,
        freeze: incident
            .freeze
            .as_ref()
            .map(|it| format!("since {} — {}", lens.time(it.since), it.reason)),
        missing_roles: crate::incidents::dto::missing_roles(incident).join(", "),
        call_link: incident.coordination.call_link.clone(),
        in_incident: incident
            .coordination
            .participants
            .iter()
            .filter(|it| it.active())
            .map(|it| {
                format!(
                    "{} (since {})",
                    lens.person(&it.person),
                    lens.time(it.joined_at)
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

pub struct ParticipantRow {
    pub name: String,
    pub active: bool,
    pub since: String,
    pub minutes: i64,
    pub out_of_hours_minutes: i64,
}

/// Everyone who took part, those in the incident now first.
pub fn participants(incident: &Incident, lens: &Lens) -> Vec<ParticipantRow> {
    let mut rows: Vec<ParticipantRow> = incident
        .coordination
        .participants
        .iter()
        .map(|it| {
            let dto = crate::incidents::dto::ParticipantDto::from_participant(it, lens.now);
            ParticipantRow {
                name: lens.person(&it.person),
                active: it.active(),
                since: lens.time(it.joined_at),
                minutes: dto.minutes,
                out_of_hours_minutes: it.out_of_hours_minutes,
            }
        })
        .collect();
    rows.sort_by_key(|it| !it.active);
    rows
}

pub struct StakeholderRow {
    pub email: String,
    pub name: String,
    /// "every update" or "digest".
    pub how: String,
}

pub fn stakeholders(incident: &Incident, lens: &Lens) -> Vec<StakeholderRow> {
    incident
        .coordination
        .stakeholders
        .iter()
        .map(|it| StakeholderRow {
            email: it.who.clone(),
            name: lens.person(&it.who),
            how: match it.mode {
                firebreak_core::coordination::Informed::Active => "every update".into(),
                firebreak_core::coordination::Informed::Passive => "digest".into(),
            },
        })
        .collect()
}

/// The whole timeline as Markdown, for pasting into a post-mortem.
pub fn markdown(
    incident: &Incident,
    events: &[StoredEvent],
    catalog: &Catalog,
    lens: &Lens,
) -> String {
    let mut out = format!("# {} — {}\n\n", incident.reference, incident.title);
    // The export does not claim a verification; only the fields it prints are used.
    let head = head(
        incident,
        catalog,
        lens,
        &firebreak_store::ChainState::default(),
    );
    out.push_str(&format!(
        "- **Severity:** {}\n- **Status:** {}\n- **Impact:** {}{}\n",
        incident.severity,
        incident.status,
        head.impact,
        if head.affected.is_empty() {
            String::new()
        } else {
            format!(" — {}", head.affected)
        }
    ));
    for (role, holder) in &head.roles {
        out.push_str(&format!("- **{role}:** {holder}\n"));
    }
    if !incident.services.is_empty() {
        out.push_str(&format!("- **Services:** {}\n", head.services));
    }
    out.push_str(&format!("- **Declared:** {}\n", head.declared));
    if !incident.summary.is_empty() {
        out.push_str(&format!("\n{}\n", incident.summary));
    }
    out.push_str(&format!("\n## Timeline ({})\n\n", lens.zone_name));
    for stored in events {
        let view = event(stored, lens);
        out.push_str(&format!(
            "- **{}** — {} — {}",
            view.when, view.actor, view.label
        ));
        if let Some(occurred) = &view.occurred {
            out.push_str(&format!(" (happened {occurred})"));
        }
        out.push('\n');
        for line in view.text.lines() {
            out.push_str(&format!("  > {line}\n"));
        }
    }
    out
}

pub struct ActionRow {
    pub number: i64,
    pub kind: String,
    pub title: String,
    pub target: String,
    pub risk: String,
    pub rollback_plan: String,
    pub destructive: bool,
    pub status: String,
    pub proposed_by: String,
    pub approved_by: String,
    pub result: String,
    /// Someone other than the proposer may approve it now.
    pub can_approve: bool,
    pub can_start: bool,
    pub can_finish: bool,
    pub data_fix: bool,
}

/// The action register as the reader `me` sees it (what they may do next).
pub fn actions(incident: &Incident, me: &str, lens: &Lens) -> Vec<ActionRow> {
    use firebreak_core::action::{ActionKind, ActionStatus};
    incident
        .actions
        .iter()
        .map(|it| ActionRow {
            number: it.number,
            kind: it.kind.as_str().replace('_', " "),
            title: it.title.clone(),
            target: it.target.clone(),
            risk: it.risk.as_str().to_string(),
            rollback_plan: it.rollback_plan.clone(),
            destructive: it.destructive,
            status: it.status.as_str().to_string(),
            proposed_by: lens.person(&it.proposed_by),
            approved_by: it
                .approved_by
                .as_deref()
                .map(|who| lens.person(who))
                .unwrap_or_default(),
            result: it.result.clone(),
            can_approve: it.status == ActionStatus::Proposed && it.proposed_by != me,
            can_start: it.status == ActionStatus::Approved,
            can_finish: it.status == ActionStatus::Started,
            data_fix: it.kind == ActionKind::DataFix,
        })
        .collect()
}

pub struct TaskRow {
    pub number: i64,
    pub title: String,
    pub who: String,
    pub due_text: String,
    pub due_iso: Option<String>,
    pub overdue: bool,
    pub open: bool,
    pub status: String,
    pub note: String,
}

/// Tasks with who is expected to do them (a named person, else the holder of the role).
pub fn tasks(incident: &Incident, lens: &Lens) -> Vec<TaskRow> {
    use firebreak_core::playbook::TaskStatus;
    incident
        .tasks
        .iter()
        .map(|task| {
            let who = match (&task.assignee, &task.role) {
                (Some(person), _) => lens.person(person),
                (None, Some(role)) => match incident.roles.get(role) {
                    Some(holder) => format!("{} ({role})", lens.person(holder)),
                    None => format!("the {role}"),
                },
                (None, None) => "anyone".to_string(),
            };
            let open = task.status == TaskStatus::Open;
            let (due_text, overdue) = match task.due {
                Some(_) if open => due_in_words(task.due, lens.now),
                _ => (String::new(), false),
            };
            TaskRow {
                number: task.number,
                title: task.title.clone(),
                who,
                due_text,
                due_iso: task.due.filter(|_| open).map(|it| it.to_string()),
                overdue,
                open,
                status: task.status.as_str().to_string(),
                note: task.note.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn long_texts_are_folded_to_their_first_line() {
        let long_line = "x".repeat(401);
        let cut = format!("{}…", "x".repeat(120));
        let cases: [(&str, Option<&str>); 5] = [
            ("", None),
            ("one\ntwo\nthree", None),
            ("tasks:\n- a\n- b\n- c", Some("tasks: (3 more lines)")),
            ("tasks:\n- a\n- b\n- c\n- d", Some("tasks: (4 more lines)")),
            (&long_line, Some(&cut)),
        ];
        for (text, expected) in cases {
            assert_eq!(preview(text).as_deref(), expected, "{text:?}");
        }
    }
}
