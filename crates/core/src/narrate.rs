//! Timeline events told in words, for the incident room, exports and (later) post-mortems.

use serde_json::Value;

/// One event in words: a short headline and, for messages, the message itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Narration {
    pub label: String,
    pub text: String,
}

fn field<'a>(body: &'a Value, key: &str) -> &'a str {
    body.get(key).and_then(Value::as_str).unwrap_or("")
}

fn detail(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Bool(flag) => if *flag { "yes" } else { "no" }.to_string(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(map) => {
            // The affected scope: {"text": …, "count": …}.
            let text = map.get("text").and_then(Value::as_str).unwrap_or("");
            match map.get("count").and_then(Value::as_i64) {
                Some(count) if text.is_empty() => format!("{count}"),
                Some(count) => format!("{text} ({count})"),
                None => text.to_string(),
            }
        }
        Value::Null => "—".to_string(),
        other => other.to_string(),
    }
}

fn action_number(body: &Value) -> i64 {
    body.get("action").and_then(Value::as_i64).unwrap_or(0)
}

/// How the reader sees people and times: `person` turns an identifier (an email) into a
/// name, `time` an instant into the reader's zone.
pub struct Reader<'a> {
    pub person: &'a dyn Fn(&str) -> String,
    pub time: &'a dyn Fn(jiff::Timestamp) -> String,
}

/// A timestamp field in the reader's words (the stored text when it does not parse).
fn time_field(body: &Value, key: &str, reader: &Reader<'_>) -> String {
    let text = field(body, key);
    match text.parse::<jiff::Timestamp>() {
        Ok(at) => (reader.time)(at),
        Err(_) => text.to_string(),
    }
}

/// `reader` says how people and times are shown.
pub fn narrate(kind: &str, body: &Value, reader: &Reader<'_>) -> Narration {
    let display = reader.person;
    let (label, text) = match kind {
        "declared" => (
            format!(
                "Declared {} ({}, {})",
                field(body, "reference"),
                field(body, "severity"),
                field(body, "status")
            ),
            [field(body, "title"), field(body, "summary")]
                .iter()
                .filter(|it| !it.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        "status_changed" => {
            let mut label = format!("Status {} → {}", field(body, "from"), field(body, "to"));
            if let Some(target) = body.get("merged_into").and_then(Value::as_str) {
                label.push_str(&format!(" (into {target})"));
            }
            (label, String::new())
        }
        "severity_changed" => (
            format!("Severity {} → {}", field(body, "from"), field(body, "to")),
            String::new(),
        ),
        "details_changed" => (
            format!("Changed {}", field(body, "field")),
            format!(
                "{} → {}",
                detail(body.get("from").unwrap_or(&Value::Null)),
                detail(body.get("to").unwrap_or(&Value::Null))
            ),
        ),
        "role_assigned" => {
            let mut label = format!(
                "{} is now {}",
                display(field(body, "user")),
                field(body, "role")
            );
            if let Some(previous) = body.get("previous").and_then(Value::as_str) {
                label.push_str(&format!(" (was {})", display(previous)));
            }
            let handover = match body.get("handover").and_then(Value::as_str) {
                Some(note) => format!("Handover: {note}"),
                None => String::new(),
            };
            (label, handover)
        }
        "role_unassigned" => (
            format!(
                "{} is no longer {}",
                display(field(body, "previous")),
                field(body, "role")
            ),
            String::new(),
        ),
        "member_added" => (
            format!(
                "{} can now see this private incident",
                display(field(body, "member"))
            ),
            String::new(),
        ),
        "update_posted" => {
            let mut label = String::from("Status update");
            if let Some(status) = body.get("status").and_then(Value::as_str) {
                label.push_str(&format!(" · now {status}"));
            }
            if body.get("public").and_then(Value::as_bool) == Some(true) {
                label.push_str(" · public");
            }
            (label, field(body, "message").to_string())
        }
        "note" => ("Note".to_string(), field(body, "text").to_string()),
        "action_proposed" => {
            let destructive = if body.get("destructive").and_then(Value::as_bool) == Some(true) {
                ", destructive"
            } else {
                ""
            };
            let target = field(body, "target");
            let mut text = field(body, "title").to_string();
            if !target.is_empty() {
                text.push_str(&format!("\non: {target}"));
            }
            let rollback = field(body, "rollback_plan");
            if !rollback.is_empty() {
                text.push_str(&format!("\nrollback: {rollback}"));
            }
            (
                format!(
                    "{} proposed action #{} ({}, {} risk{destructive})",
                    display(field(body, "proposed_by")),
                    action_number(body),
                    field(body, "kind").replace('_', " "),
                    field(body, "risk")
                ),
                text,
            )
        }
        "action_approved" => (
            format!(
                "{} approved action #{} proposed by {}",
                display(field(body, "approved_by")),
                action_number(body),
                display(field(body, "proposed_by"))
            ),
            String::new(),
        ),
        "action_rejected" => (
            format!(
                "{} rejected action #{}",
                display(field(body, "by")),
                action_number(body)
            ),
            field(body, "reason").to_string(),
        ),
        "action_started" => {
            let mut label = format!(
                "{} is starting action #{}",
                display(field(body, "by")),
                action_number(body)
            );
            if body.get("destructive").and_then(Value::as_bool) == Some(true) {
                label = format!("Heads up: {label} (destructive)");
            }
            let mut checks = Vec::new();
            if body.get("backup_taken").and_then(Value::as_bool) == Some(true) {
                checks.push("backup taken");
            }
            if body.get("tried_on_sample").and_then(Value::as_bool) == Some(true) {
                checks.push("tried on a handful of records first");
            }
            (label, checks.join("; "))
        }
        "action_finished" => {
            let outcome = if body.get("succeeded").and_then(Value::as_bool) == Some(true) {
                "succeeded"
            } else {
                "failed"
            };
            (
                format!("Action #{} {outcome}", action_number(body)),
                field(body, "result").to_string(),
            )
        }
        "playbook_added" => {
            let tasks: Vec<String> = body
                .get("tasks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|task| format!("#{} {}", task["number"], field(task, "title")))
                .collect();
            (
                format!(
                    "Playbook “{}” added {} tasks",
                    field(body, "playbook"),
                    tasks.len()
                ),
                tasks.join("\n"),
            )
        }
        "task_added" => (
            format!("Task #{} added", body["task"]["number"]),
            field(&body["task"], "title").to_string(),
        ),
        "task_assigned" => (
            format!(
                "Task #{} assigned to {}",
                body["task"],
                display(field(body, "assignee"))
            ),
            String::new(),
        ),
        "task_closed" => (
            format!(
                "{} marked task #{} {}",
                display(field(body, "by")),
                body["task"],
                field(body, "status")
            ),
            field(body, "note").to_string(),
        ),
        "task_reopened" => (format!("Task #{} reopened", body["task"]), String::new()),
        "update_reminder" | "update_overdue" => {
            let to = match body.get("to").and_then(Value::as_str) {
                Some(person) => format!("{}: ", display(person)),
                None => String::new(),
            };
            let label = if kind == "update_reminder" {
                format!("{to}the next status update is due soon")
            } else {
                format!("{to}the status update is overdue")
            };
            (label, format!("due {}", time_field(body, "due", reader)))
        }
        "freeze_started" => (
            "Deploys frozen".to_string(),
            field(body, "reason").to_string(),
        ),
        "freeze_ended" => (
            "Deploy freeze lifted".to_string(),
            field(body, "reason").to_string(),
        ),
        "message_pinned" => {
            let label = match body.get("author").and_then(Value::as_str) {
                Some(author) => format!("Pinned message from {author}"),
                None => "Pinned message".to_string(),
            };
            (label, field(body, "text").to_string())
        }
        "correction" => {
            let label = match body.get("corrects").and_then(Value::as_i64) {
                Some(seq) => format!("Correction of #{seq}"),
                None => "Correction".to_string(),
            };
            (label, field(body, "text").to_string())
        }
        "timestamp_asserted" => (
            format!(
                "Says {} happened at {}",
                field(body, "name"),
                time_field(body, "at", reader)
            ),
            field(body, "note").to_string(),
        ),
        "rule_fired" => {
            let notify: Vec<&str> = strings(body, "notify");
            let mut effects: Vec<&str> = strings(body, "effects");
            if effects.is_empty() && !notify.is_empty() {
                effects.push("notify");
            }
            (
                format!(
                    "Rule “{}” fired on {}",
                    field(body, "rule"),
                    field(body, "trigger").replace('_', " ")
                ),
                effects.join("; "),
            )
        }
        "cadence_set" => (
            format!("Updates every {} minutes", body["minutes"]),
            format!("next due {}", time_field(body, "next_due", reader)),
        ),
        "roles_required" => (
            format!("Roles required: {}", strings(body, "roles").join(", ")),
            String::new(),
        ),
        "task_overdue" => {
            let to = match body.get("to").and_then(Value::as_str) {
                Some(person) => format!("{}: ", display(person)),
                None => String::new(),
            };
            (
                format!("{to}task #{} is overdue", body["task"]),
                format!("due {}", time_field(body, "due", reader)),
            )
        }
        "participant_joined" => (
            format!("{} joined", display(field(body, "person"))),
            String::new(),
        ),
        "participant_left" => {
            let minutes = body["minutes"].as_i64().unwrap_or(0);
            let outside = body["out_of_hours_minutes"].as_i64().unwrap_or(0);
            let mut text = format!("{minutes} min in the incident");
            if outside > 0 {
                text.push_str(&format!(", {outside} outside working hours"));
            }
            (format!("{} left", display(field(body, "person"))), text)
        }
        "nudged" => {
            let label = match (field(body, "nudge"), body.get("to").and_then(Value::as_str)) {
                ("break", Some(to)) => format!("{}: time for a break", display(to)),
                ("food", _) => "Time to order food".to_string(),
                (other, _) => format!("Nudge: {other}"),
            };
            (label, field(body, "text").to_string())
        }
        "thanked" => {
            let names: Vec<String> = strings(body, "people").into_iter().map(display).collect();
            (
                format!("All clear: thank you, {}", names.join(", ")),
                String::new(),
            )
        }
        "stakeholder_added" => (
            format!(
                "{} is kept informed ({})",
                display(field(body, "who")),
                if field(body, "mode") == "active" {
                    "every update"
                } else {
                    "digest"
                }
            ),
            String::new(),
        ),
        "stakeholder_removed" => (
            format!("{} is no longer kept informed", display(field(body, "who"))),
            String::new(),
        ),
        "postmortem_published" => (
            "Post-mortem published".to_string(),
            field(body, "url").to_string(),
        ),
        "status_page_updated" => (
            format!(
                "Published on the status page · {}",
                field(body, "status").replace('_', " ")
            ),
            field(body, "body").to_string(),
        ),
        "digest_sent" => (
            format!(
                "Digest of {} update(s) sent to {}",
                body["updates"],
                strings(body, "to").join(", ")
            ),
            String::new(),
        ),
        other => (other.replace('_', " "), String::new()),
    };
    Narration { label, text }
}

fn strings<'a>(body: &'a Value, key: &str) -> Vec<&'a str> {
    body.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_in_words() {
        let display = |email: &str| email.split('@').next().unwrap_or(email).to_string();
        let table = [
            (
                "declared",
                json!({"reference": "INC-1", "severity": "major", "status": "investigating", "title": "Checkout down", "summary": ""}),
                "Declared INC-1 (major, investigating)",
                "Checkout down",
            ),
            (
                "status_changed",
                json!({"from": "triage", "to": "merged", "merged_into": "INC-2"}),
                "Status triage → merged (into INC-2)",
                "",
            ),
            (
                "role_assigned",
                json!({"role": "lead", "user": "ana@x.io", "previous": "bo@x.io"}),
                "ana is now lead (was bo)",
                "",
            ),
            (
                "update_posted",
                json!({"message": "Rolling back", "status": "identified", "public": true}),
                "Status update · now identified · public",
                "Rolling back",
            ),
            (
                "details_changed",
                json!({"field": "affected", "from": {"text": "", "count": null}, "to": {"text": "EU", "count": 40}}),
                "Changed affected",
                " → EU (40)",
            ),
            (
                "member_added",
                json!({"member": "cy@x.io"}),
                "cy can now see this private incident",
                "",
            ),
            (
                "action_approved",
                json!({"action": 2, "proposed_by": "ana@x.io", "approved_by": "bo@x.io"}),
                "bo approved action #2 proposed by ana",
                "",
            ),
            (
                "action_started",
                json!({"action": 2, "by": "ana@x.io", "destructive": true, "backup_taken": true, "tried_on_sample": true}),
                "Heads up: ana is starting action #2 (destructive)",
                "backup taken; tried on a handful of records first",
            ),
            (
                "role_assigned",
                json!({"role": "lead", "user": "ana@x.io", "previous": "bo@x.io", "handover": "Rollback half done"}),
                "ana is now lead (was bo)",
                "Handover: Rollback half done",
            ),
            (
                "rule_fired",
                json!({"rule": "serious incident", "trigger": "severity_raised", "effects": ["freeze deploys", "notify announcements"], "notify": ["announcements"]}),
                "Rule “serious incident” fired on severity raised",
                "freeze deploys; notify announcements",
            ),
            (
                "participant_left",
                json!({"person": "ana@x.io", "minutes": 95, "out_of_hours_minutes": 30}),
                "ana left",
                "95 min in the incident, 30 outside working hours",
            ),
            (
                "thanked",
                json!({"people": ["ana@x.io", "bo@x.io"], "text": "x"}),
                "All clear: thank you, ana, bo",
                "",
            ),
            ("something_new", json!({}), "something new", ""),
        ];
        for (kind, body, label, text) in table {
            let time = |at: jiff::Timestamp| at.strftime("%H:%M").to_string();
            let reader = Reader {
                person: &display,
                time: &time,
            };
            let told = narrate(kind, &body, &reader);
            assert_eq!(
                (told.label.as_str(), told.text.as_str()),
                (label, text),
                "{kind}"
            );
        }
    }
}
