//! The action register: risky things people do during an incident — a command, a script, a
//! database change, a rollback, a restart — proposed with a target, a risk and a rollback
//! plan, approved by a *different* person, then started and finished, all on the timeline.

use std::fmt;

use crate::event::EventData;
use crate::incident::Incident;
use crate::incident::text_enum;
use crate::validate::{self, FieldErrors};

text_enum!(ActionKind {
    Command = "command",
    Script = "script",
    DataFix = "data_fix",
    Rollback = "rollback",
    Restart = "restart",
    Other = "other",
});
text_enum!(Risk { Low = "low", Medium = "medium", High = "high" });
text_enum!(ActionStatus {
    Proposed = "proposed",
    Approved = "approved",
    Rejected = "rejected",
    Started = "started",
    Succeeded = "succeeded",
    Failed = "failed",
});

impl ActionStatus {
    /// Still on its way (proposed, approved or running), not settled.
    pub fn in_progress(self) -> bool {
        matches!(
            self,
            ActionStatus::Proposed | ActionStatus::Approved | ActionStatus::Started
        )
    }
}

/// One action as it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// 1, 2, … within the incident.
    pub number: i64,
    pub kind: ActionKind,
    pub title: String,
    pub target: String,
    pub risk: Risk,
    pub rollback_plan: String,
    /// Destroys or overwrites something (announced before it starts).
    pub destructive: bool,
    pub status: ActionStatus,
    pub proposed_by: String,
    pub approved_by: Option<String>,
    pub started_by: Option<String>,
    pub result: String,
}

/// A proposal as it arrives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawAction {
    pub kind: Option<String>,
    pub title: Option<String>,
    pub target: Option<String>,
    pub risk: Option<String>,
    pub rollback_plan: Option<String>,
    pub destructive: Option<bool>,
}

pub const MAX_OUTPUT: usize = 50_000;

/// Checks a proposal; the event to record when it is sound.
pub fn propose(incident: &Incident, raw: RawAction, by: &str) -> Result<EventData, FieldErrors> {
    let mut errors = FieldErrors::default();
    let kind_text = raw.kind.as_deref().unwrap_or("command");
    let kind = ActionKind::parse(kind_text).unwrap_or_else(|| {
        errors.add(
            "kind",
            format!(
                "unknown kind {kind_text:?}; expected one of {}",
                ActionKind::expected()
            ),
        );
        ActionKind::Other
    });
    let risk_text = raw.risk.as_deref().unwrap_or("medium");
    let risk = Risk::parse(risk_text).unwrap_or_else(|| {
        errors.add(
            "risk",
            format!(
                "unknown risk {risk_text:?}; expected one of {}",
                Risk::expected()
            ),
        );
        Risk::Medium
    });
    let title = validate::text(&mut errors, "title", raw.title.as_deref(), 1, 500);
    let target = validate::text(&mut errors, "target", raw.target.as_deref(), 0, 500);
    let rollback_plan = validate::text(
        &mut errors,
        "rollback_plan",
        raw.rollback_plan.as_deref(),
        0,
        5_000,
    );
    // A risky change without a way back is how an incident gets a second incident.
    if risk == Risk::High && rollback_plan.is_empty() {
        errors.add(
            "rollback_plan",
            "a high-risk action needs a rollback plan (say \"none possible\" if that is the truth)",
        );
    }
    errors.into_result()?;
    Ok(EventData::ActionProposed {
        number: incident.actions.len() as i64 + 1,
        kind,
        title,
        target,
        risk,
        rollback_plan,
        destructive: raw.destructive.unwrap_or(kind == ActionKind::DataFix),
        proposed_by: by.to_string(),
    })
}

/// Why an action step was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("there is no action #{0} on this incident")]
    Unknown(i64),
    #[error("action #{number} is {status}; it cannot be {wanted} now")]
    Wrong {
        number: i64,
        status: &'static str,
        wanted: &'static str,
    },
    #[error("{0} proposed action #{1} and cannot also approve it; ask someone else to look at it")]
    SelfApproval(String, i64),
    #[error("{0}")]
    Invalid(String),
}

fn find(incident: &Incident, number: i64) -> Result<&Action, ActionError> {
    incident
        .actions
        .iter()
        .find(|it| it.number == number)
        .ok_or(ActionError::Unknown(number))
}

fn expect(
    action: &Action,
    allowed: &[ActionStatus],
    wanted: &'static str,
) -> Result<(), ActionError> {
    if allowed.contains(&action.status) {
        Ok(())
    } else {
        Err(ActionError::Wrong {
            number: action.number,
            status: action.status.as_str(),
            wanted,
        })
    }
}

/// A second person says yes. Approving your own proposal is refused.
pub fn approve(incident: &Incident, number: i64, by: &str) -> Result<EventData, ActionError> {
    let action = find(incident, number)?;
    expect(action, &[ActionStatus::Proposed], "approved")?;
    if action.proposed_by == by {
        return Err(ActionError::SelfApproval(by.to_string(), number));
    }
    Ok(EventData::ActionApproved {
        number,
        proposed_by: action.proposed_by.clone(),
        approved_by: by.to_string(),
    })
}

pub fn reject(
    incident: &Incident,
    number: i64,
    by: &str,
    reason: &str,
) -> Result<EventData, ActionError> {
    let action = find(incident, number)?;
    expect(
        action,
        &[ActionStatus::Proposed, ActionStatus::Approved],
        "rejected",
    )?;
    Ok(EventData::ActionRejected {
        number,
        by: by.to_string(),
        reason: reason.trim().to_string(),
    })
}

/// Starting announces the action on the timeline; a data fix first confirms the checklist.
pub fn start(
    incident: &Incident,
    number: i64,
    by: &str,
    backup_taken: bool,
    tried_on_sample: bool,
) -> Result<EventData, ActionError> {
    let action = find(incident, number)?;
    expect(action, &[ActionStatus::Approved], "started")?;
    if action.kind == ActionKind::DataFix && !(backup_taken && tried_on_sample) {
        return Err(ActionError::Invalid(
            "before a data fix: take a backup and try it on a handful of records first, then confirm both".into(),
        ));
    }
    Ok(EventData::ActionStarted {
        number,
        by: by.to_string(),
        destructive: action.destructive,
        backup_taken,
        tried_on_sample,
    })
}

pub fn finish(
    incident: &Incident,
    number: i64,
    succeeded: bool,
    result: &str,
    output: &str,
) -> Result<EventData, ActionError> {
    let action = find(incident, number)?;
    expect(action, &[ActionStatus::Started], "finished")?;
    if output.chars().count() > MAX_OUTPUT || result.chars().count() > 5_000 {
        return Err(ActionError::Invalid(format!(
            "keep the result under 5,000 and the output under {MAX_OUTPUT} characters; attach the rest elsewhere"
        )));
    }
    Ok(EventData::ActionFinished {
        number,
        succeeded,
        result: result.trim().to_string(),
        output: output.to_string(),
    })
}

/// How an action event changes the register.
pub fn apply(actions: &mut Vec<Action>, event: &EventData) {
    let mut update = |number: i64, change: &mut dyn FnMut(&mut Action)| {
        if let Some(action) = actions.iter_mut().find(|it| it.number == number) {
            change(action);
        }
    };
    match event {
        EventData::ActionProposed {
            number,
            kind,
            title,
            target,
            risk,
            rollback_plan,
            destructive,
            proposed_by,
        } => actions.push(Action {
            number: *number,
            kind: *kind,
            title: title.clone(),
            target: target.clone(),
            risk: *risk,
            rollback_plan: rollback_plan.clone(),
            destructive: *destructive,
            status: ActionStatus::Proposed,
            proposed_by: proposed_by.clone(),
            approved_by: None,
            started_by: None,
            result: String::new(),
        }),
        EventData::ActionApproved {
            number,
            approved_by,
            ..
        } => update(*number, &mut |it| {
            it.status = ActionStatus::Approved;
            it.approved_by = Some(approved_by.clone());
        }),
        EventData::ActionRejected { number, reason, .. } => update(*number, &mut |it| {
            it.status = ActionStatus::Rejected;
            it.result = reason.clone();
        }),
        EventData::ActionStarted { number, by, .. } => update(*number, &mut |it| {
            it.status = ActionStatus::Started;
            it.started_by = Some(by.clone());
        }),
        EventData::ActionFinished {
            number,
            succeeded,
            result,
            ..
        } => update(*number, &mut |it| {
            it.status = if *succeeded {
                ActionStatus::Succeeded
            } else {
                ActionStatus::Failed
            };
            it.result = result.clone();
        }),
        _ => {}
    }
}
