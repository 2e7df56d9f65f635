//! The people side of an incident's state: who takes part (and since when), who is kept
//! informed and how, the roles the rules require, the update cadence a rule set, and which
//! one-off nudges were already given. Kept as one JSON document beside the incident row.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::incident::text_enum;
use std::fmt;

text_enum!(Informed { Active = "active", Passive = "passive" });

/// Someone taking part in the incident. One entry per person; rejoining starts a new stint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    pub person: String,
    /// IANA time zone, for out-of-hours minutes.
    pub zone: String,
    /// Start of the current (or last) stint.
    pub joined_at: Timestamp,
    pub left_at: Option<Timestamp>,
    /// The break nudge of this stint was given.
    pub break_nudged: bool,
    /// Totals over finished stints.
    pub minutes: i64,
    pub out_of_hours_minutes: i64,
}

impl Participant {
    pub fn active(&self) -> bool {
        self.left_at.is_none()
    }
}

/// A person or team address subscribed to an incident's updates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stakeholder {
    pub who: String,
    pub mode: Informed,
}

/// The last digest sent to passive stakeholders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Digest {
    pub last_at: Option<Timestamp>,
    /// The incident's `updates_posted` when it was sent.
    pub updates_seen: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coordination {
    pub participants: Vec<Participant>,
    pub stakeholders: Vec<Stakeholder>,
    /// Roles a rule requires (the room shows the empty ones).
    pub required_roles: Vec<String>,
    /// The update interval a rule set; `None` follows the severity.
    pub cadence_minutes: Option<i64>,
    pub food_nudged: bool,
    pub digest: Digest,
    /// The chat channel's name, once one was requested (`core::chat::channel_name`).
    pub chat_channel: Option<String>,
    /// Where the incident's call is.
    pub call_link: Option<String>,
}

impl Coordination {
    pub fn participant(&self, person: &str) -> Option<&Participant> {
        self.participants.iter().find(|it| it.person == person)
    }

    pub fn participant_mut(&mut self, person: &str) -> Option<&mut Participant> {
        self.participants.iter_mut().find(|it| it.person == person)
    }

    pub fn is_active_participant(&self, person: &str) -> bool {
        self.participant(person).is_some_and(Participant::active)
    }

    pub fn stakeholders(&self, mode: Informed) -> impl Iterator<Item = &Stakeholder> {
        self.stakeholders.iter().filter(move |it| it.mode == mode)
    }

    pub fn to_json(&self) -> Value {
        let micros = |at: Timestamp| at.as_microsecond();
        json!({
            "participants": self.participants.iter().map(|it| json!({
                "person": it.person,
                "zone": it.zone,
                "joined_at": micros(it.joined_at),
                "left_at": it.left_at.map(micros),
                "break_nudged": it.break_nudged,
                "minutes": it.minutes,
                "out_of_hours_minutes": it.out_of_hours_minutes,
            })).collect::<Vec<_>>(),
            "stakeholders": self.stakeholders.iter().map(|it| json!({
                "who": it.who, "mode": it.mode.as_str(),
            })).collect::<Vec<_>>(),
            "required_roles": self.required_roles,
            "cadence_minutes": self.cadence_minutes,
            "food_nudged": self.food_nudged,
            "digest_at": self.digest.last_at.map(micros),
            "digest_updates_seen": self.digest.updates_seen,
            "chat_channel": self.chat_channel,
            "call_link": self.call_link,
        })
    }

    /// The inverse of `to_json`; `None` when malformed.
    pub fn from_json(value: &Value) -> Option<Coordination> {
        let at = |value: Option<&Value>| -> Option<Option<Timestamp>> {
            match value {
                None | Some(Value::Null) => Some(None),
                Some(it) => Some(Some(Timestamp::from_microsecond(it.as_i64()?).ok()?)),
            }
        };
        let mut participants = Vec::new();
        for it in value.get("participants")?.as_array()? {
            participants.push(Participant {
                person: it.get("person")?.as_str()?.to_string(),
                zone: it.get("zone")?.as_str()?.to_string(),
                joined_at: at(it.get("joined_at"))??,
                left_at: at(it.get("left_at"))?,
                break_nudged: it.get("break_nudged")?.as_bool()?,
                minutes: it.get("minutes")?.as_i64()?,
                out_of_hours_minutes: it.get("out_of_hours_minutes")?.as_i64()?,
            });
        }
        let mut stakeholders = Vec::new();
        for it in value.get("stakeholders")?.as_array()? {
            stakeholders.push(Stakeholder {
                who: it.get("who")?.as_str()?.to_string(),
                mode: Informed::parse(it.get("mode")?.as_str()?)?,
            });
        }
        let required_roles = value
            .get("required_roles")?
            .as_array()?
            .iter()
            .map(|it| it.as_str().map(String::from))
            .collect::<Option<Vec<_>>>()?;
        Some(Coordination {
            participants,
            stakeholders,
            required_roles,
            cadence_minutes: value.get("cadence_minutes").and_then(Value::as_i64),
            food_nudged: value.get("food_nudged")?.as_bool()?,
            digest: Digest {
                last_at: at(value.get("digest_at"))?,
                updates_seen: value.get("digest_updates_seen")?.as_i64()?,
            },
            chat_channel: value
                .get("chat_channel")
                .and_then(Value::as_str)
                .map(String::from),
            call_link: value
                .get("call_link")
                .and_then(Value::as_str)
                .map(String::from),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let t = |s: i64| Timestamp::from_second(1_800_000_000 + s).unwrap();
        let state = Coordination {
            participants: vec![Participant {
                person: "ana@example.com".into(),
                zone: "Europe/Berlin".into(),
                joined_at: t(0),
                left_at: Some(t(60)),
                break_nudged: true,
                minutes: 1,
                out_of_hours_minutes: 1,
            }],
            stakeholders: vec![Stakeholder {
                who: "execs@example.com".into(),
                mode: Informed::Passive,
            }],
            required_roles: vec!["lead".into()],
            cadence_minutes: Some(30),
            food_nudged: true,
            digest: Digest {
                last_at: Some(t(5)),
                updates_seen: 2,
            },
            chat_channel: Some("inc-1-db".into()),
            call_link: Some("https://meet.example.com/abc".into()),
        };
        assert_eq!(Coordination::from_json(&state.to_json()), Some(state));
        let empty = Coordination::default();
        assert_eq!(Coordination::from_json(&empty.to_json()), Some(empty));
        assert_eq!(Coordination::from_json(&json!({})), None);
    }
}
