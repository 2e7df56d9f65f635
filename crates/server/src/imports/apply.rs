//! Applying a plan: every object made, or brought up to date, in the order they depend on
//! each other — people (matched by email) with their contact methods (phones unverified) and
//! notification rules, teams, schedules with their future overrides, escalation policies
//! (schedule targets pointed at the schedules made here), services with their integration
//! keys verbatim, new services in shadow mode so nothing imported pages anyone until an admin
//! switches a service on.
//!
//! Each object keeps the vendor's id beside what it became (`import_refs`) with a digest of
//! what was written: a second run finds every digest the same and changes nothing; a run after
//! a change at the source rewrites just the objects whose digest moved. An object that fails
//! (a name another object already has, a limit) is reported and the others go on.

use std::collections::HashMap;

use firebreak_core::import::{
    ImportedPerson, ImportedPolicy, ImportedService, ImportedTeam, Plan, PlannedSchedule,
};
use firebreak_core::paging::Target;
use firebreak_core::person::NewPerson;
use firebreak_core::token::hash_token;
use firebreak_store::{ImportRef, PolicyDoc, Service, StepDoc, StoreError, TargetDoc, UserPatch};
use jiff::Timestamp;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::oncall::service::{ScheduleBody, layer_bodies, parse as parse_schedule};

/// A password hash no password matches: an imported person signs in once an admin sets their
/// password (People page or `PATCH /api/v1/users/{id}`).
const NO_PASSWORD: &str = "!imported";

/// What applying did to one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The plan's section: `people`, `teams`, `schedules`, `escalation_policies`, `services`.
    pub section: &'static str,
    pub vendor_id: String,
    /// `created`, `matched` (a person or team Firebreak had already, by email or name),
    /// `updated`, `unchanged`, `skipped` (the plan skips it) or `failed`.
    pub outcome: &'static str,
    /// Why it failed, or what was left out.
    pub why: Option<String>,
    pub firebreak_id: Option<String>,
}

impl Outcome {
    pub fn json(&self) -> Value {
        json!({
            "section": self.section, "id": self.vendor_id, "outcome": self.outcome,
            "why": self.why, "firebreak_id": self.firebreak_id,
        })
    }
}

fn digest(value: &Value) -> String {
    hash_token(&value.to_string())
}

fn failed(err: StoreError) -> String {
    match err {
        StoreError::Conflict(why) => why,
        other => other.to_string(),
    }
}

struct Run<'a> {
    state: &'a AppState,
    vendor: &'static str,
    now: Timestamp,
    out: Vec<Outcome>,
    /// Vendor id → Firebreak id, per kind, for the objects that point at each other.
    teams: HashMap<String, String>,
    /// A vendor schedule's id → the schedules made of it (several: Opsgenie's rotations).
    schedules: HashMap<String, Vec<String>>,
    policies: HashMap<String, String>,
}

/// What the import made of an object before, and whether it wrote the same then.
enum Before {
    New,
    Same(String),
    /// What it made, and the digest it kept then.
    Changed(String, String),
}

/// Kept before a person's digest when the import found them already here: they keep their
/// name and zone when the source changes.
const MATCHED: &str = "matched:";

impl Run<'_> {
    fn record(
        &mut self,
        section: &'static str,
        vendor_id: &str,
        outcome: &'static str,
        why: Option<String>,
        firebreak_id: Option<String>,
    ) {
        self.out.push(Outcome {
            section,
            vendor_id: vendor_id.to_string(),
            outcome,
            why,
            firebreak_id,
        });
    }

    async fn before(&self, kind: &str, vendor_id: &str, digest: &str) -> Result<Before, String> {
        Ok(
            match self
                .state
                .store
                .import_ref(self.vendor, kind, vendor_id)
                .await
                .map_err(failed)?
            {
                None => Before::New,
                Some(it) if it.digest.trim_start_matches(MATCHED) == digest => {
                    Before::Same(it.local_id)
                }
                Some(it) => Before::Changed(it.local_id, it.digest),
            },
        )
    }

    async fn remember(
        &self,
        kind: &str,
        vendor_id: &str,
        local_id: &str,
        digest: &str,
    ) -> Result<(), String> {
        self.state
            .store
            .set_import_ref(
                (self.vendor, kind, vendor_id),
                &ImportRef {
                    local_id: local_id.to_string(),
                    digest: digest.to_string(),
                },
                self.now,
            )
            .await
            .map_err(failed)
    }

    async fn person(&mut self, person: &ImportedPerson) -> Result<(&'static str, String), String> {
        let store = &self.state.store;
        let wanted = json!({
            "name": person.name, "zone": person.zone, "role": person.role,
            "contacts": person.contacts.iter().map(|it| [&it.vendor_id, it.kind, &it.address]).collect::<Vec<_>>(),
            "rules": person.rules,
        });
        let digest = digest(&wanted);
        let known = |local: &str| Uuid::parse_str(local).ok();
        let (user, outcome) = match self.before("person", &person.vendor_id, &digest).await? {
            Before::Same(local) => return Ok(("unchanged", local)),
            Before::Changed(local, kept) if kept.starts_with(MATCHED) => {
                let id = known(&local).ok_or("the person found before is gone")?;
                (store.user(id).await.map_err(failed)?, "updated")
            }
            Before::Changed(local, _) => match known(&local) {
                Some(id) => {
                    let patch = UserPatch {
                        name: Some(person.name.clone()),
                        time_zone: Some(person.zone.clone()),
                        ..UserPatch::default()
                    };
                    (
                        store
                            .update_user(id, &patch, self.now)
                            .await
                            .map_err(failed)?,
                        "updated",
                    )
                }
                None => return Err("the person made before is gone".into()),
            },
            Before::New => match store.user_by_email(&person.email).await.map_err(failed)? {
                Some(user) => (user, "matched"),
                None => {
                    let role = firebreak_core::Role::parse(person.role)
                        .unwrap_or(firebreak_core::Role::Responder);
                    let new = NewPerson {
                        email: person.email.clone(),
                        name: person.name.clone(),
                        time_zone: person.zone.clone(),
                        role,
                    };
                    (
                        store
                            .create_user(&new, NO_PASSWORD, self.now)
                            .await
                            .map_err(failed)?,
                        "created",
                    )
                }
            },
        };
        self.contacts(person, &user.email).await?;
        let local = user.id.to_string();
        let found_here = outcome == "matched"
            || self
                .state
                .store
                .import_ref(self.vendor, "person", &person.vendor_id)
                .await
                .map_err(failed)?
                .is_some_and(|it| it.digest.starts_with(MATCHED));
        let kept = if found_here {
            format!("{MATCHED}{digest}")
        } else {
            digest
        };
        self.remember("person", &person.vendor_id, &local, &kept)
            .await?;
        Ok((outcome, local))
    }

    /// The person's imported contact methods and rules made to match the source; methods and
    /// rules the person made themselves are left alone.
    async fn contacts(&self, person: &ImportedPerson, email: &str) -> Result<(), String> {
        let store = &self.state.store;
        let prefix = format!("{}/", person.vendor_id);
        let before: HashMap<String, ImportRef> = store
            .import_refs(self.vendor, "contact")
            .await
            .map_err(failed)?
            .into_iter()
            .filter(|(id, _)| id.starts_with(&prefix))
            .collect();
        let mut methods = store.contact_methods(email).await.map_err(failed)?;
        let mut local_ids = Vec::new();
        for contact in &person.contacts {
            let key = format!("{prefix}{}", contact.vendor_id);
            let same = |it: &&firebreak_store::ContactMethod| {
                it.kind == contact.kind && it.address == contact.address
            };
            let kept = before
                .get(&key)
                .and_then(|made| methods.iter().find(|it| it.id == made.local_id))
                .filter(same)
                .map(|it| it.id.clone());
            let id = match kept {
                Some(id) => id,
                None => {
                    if let Some(made) = before.get(&key) {
                        // The number changed at the source: the old one goes.
                        let _ = store.delete_contact_method(email, &made.local_id).await;
                        methods.retain(|it| it.id != made.local_id);
                    }
                    match methods.iter().find(same) {
                        Some(it) => it.id.clone(),
                        None => {
                            let made = store
                                .create_contact_method(
                                    email,
                                    (contact.kind, &contact.address, None),
                                    contact.kind == "email",
                                    self.now,
                                )
                                .await
                                .map_err(failed)?;
                            methods.push(made.clone());
                            made.id
                        }
                    }
                }
            };
            self.remember("contact", &key, &id, "").await?;
            local_ids.push(id);
        }
        for (key, made) in &before {
            let still = person
                .contacts
                .iter()
                .any(|it| format!("{prefix}{}", it.vendor_id) == *key);
            if !still {
                let _ = store.delete_contact_method(email, &made.local_id).await;
                store
                    .delete_import_ref(self.vendor, "contact", key)
                    .await
                    .map_err(failed)?;
            }
        }
        let wanted: Vec<(i64, &str)> = person
            .rules
            .iter()
            .map(|(delay, index)| (*delay, local_ids[*index].as_str()))
            .collect();
        let rules = store.notification_rules(email).await.map_err(failed)?;
        for rule in &rules {
            let imported = local_ids.contains(&rule.contact_method.id);
            let wanted_still = wanted
                .iter()
                .any(|(delay, id)| *delay == rule.delay_minutes && *id == rule.contact_method.id);
            if imported && !wanted_still {
                store
                    .delete_notification_rule(email, &rule.id)
                    .await
                    .map_err(failed)?;
            }
        }
        for (delay, id) in wanted {
            let exists = rules
                .iter()
                .any(|it| it.delay_minutes == delay && it.contact_method.id == id);
            if !exists {
                store
                    .import_notification_rule(email, id, delay, self.now)
                    .await
                    .map_err(failed)?;
            }
        }
        Ok(())
    }

    async fn team(&mut self, team: &ImportedTeam) -> Result<(&'static str, String), String> {
        let store = &self.state.store;
        let digest = digest(&json!({"name": team.name, "members": team.members}));
        let (outcome, id) = match self.before("team", &team.vendor_id, &digest).await? {
            Before::Same(local) => ("unchanged", local),
            Before::Changed(local, _) => {
                store
                    .update_team(&local, &team.name, &team.members)
                    .await
                    .map_err(failed)?;
                ("updated", local)
            }
            Before::New => match store.team(&team.name).await {
                Ok(existing) => {
                    let mut members = existing.members.clone();
                    members.extend(
                        team.members
                            .iter()
                            .filter(|it| !existing.members.contains(it))
                            .cloned(),
                    );
                    store
                        .update_team(&existing.id, &existing.name, &members)
                        .await
                        .map_err(failed)?;
                    ("matched", existing.id)
                }
                Err(StoreError::NotFound(_)) => (
                    "created",
                    store
                        .create_team(&team.name, &team.members, self.now)
                        .await
                        .map_err(failed)?
                        .id,
                ),
                Err(err) => return Err(failed(err)),
            },
        };
        self.remember("team", &team.vendor_id, &id, &digest).await?;
        Ok((outcome, id))
    }

    async fn schedule(
        &mut self,
        planned: &PlannedSchedule,
    ) -> Result<(&'static str, String), String> {
        let store = &self.state.store;
        let imported = &planned.imported;
        let layers = layer_bodies(&imported.schedule).ok_or(
            "a handoff or window falls on seconds, which Firebreak's schedules cannot hold",
        )?;
        let body = ScheduleBody {
            name: imported.name.clone(),
            time_zone: imported.zone.clone(),
            layers,
        };
        let (_, layers) = parse_schedule(&body).map_err(|err| {
            let fields: Vec<String> = err
                .fields
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            if fields.is_empty() {
                err.message
            } else {
                fields.join("; ")
            }
        })?;
        let layers = serde_json::to_string(&layers).map_err(|err| err.to_string())?;
        let overrides: Vec<_> = imported
            .schedule
            .overrides
            .iter()
            .map(|it| (it.start, it.end, it.person.clone()))
            .collect();
        let digest = digest(&json!({
            "name": imported.name, "zone": imported.zone, "layers": layers,
            "overrides": overrides.iter().map(|(start, end, person)| json!([start.to_string(), end.to_string(), person])).collect::<Vec<_>>(),
        }));
        let by = format!("import:{}", self.vendor);
        let fields = (
            imported.name.as_str(),
            imported.zone.as_str(),
            layers.as_str(),
        );
        let (outcome, stored) = match self
            .before("schedule", &imported.vendor_id, &digest)
            .await?
        {
            Before::Same(local) => return Ok(("unchanged", local)),
            Before::Changed(local, _) => (
                "updated",
                store
                    .update_schedule(&local, fields, self.now)
                    .await
                    .map_err(failed)?,
            ),
            Before::New => (
                "created",
                store
                    .create_schedule(fields, self.now)
                    .await
                    .map_err(failed)?,
            ),
        };
        // The overrides this import made are replaced by the source's; anyone else's stay.
        for it in stored.overrides.iter().filter(|it| it.created_by == by) {
            store
                .delete_override(&stored.id, &it.id)
                .await
                .map_err(failed)?;
        }
        for (start, end, person) in &overrides {
            store
                .add_override(&stored.id, (*start, *end, person), &by, self.now)
                .await
                .map_err(failed)?;
        }
        self.remember("schedule", &imported.vendor_id, &stored.id, &digest)
            .await?;
        Ok((outcome, stored.id))
    }

    async fn policy(
        &mut self,
        imported: &ImportedPolicy,
    ) -> Result<(&'static str, String, Vec<String>), String> {
        let store = &self.state.store;
        let mut left_out = Vec::new();
        let mut steps = Vec::new();
        for (index, step) in imported.policy.steps.iter().enumerate() {
            let mut targets = Vec::new();
            for target in &step.targets {
                match target {
                    Target::Person(email) => targets.push(TargetDoc {
                        kind: "person".into(),
                        id: email.clone(),
                    }),
                    Target::Schedule(vendor) => match self.schedules.get(vendor) {
                        Some(made) => targets.extend(made.iter().map(|local| TargetDoc {
                            kind: "schedule".into(),
                            id: local.clone(),
                        })),
                        None => left_out.push(format!(
                            "step {}: schedule {vendor} was not imported",
                            index + 1
                        )),
                    },
                }
            }
            // A step that waits before the first page has nobody in it by design; another
            // left with nobody (its schedules were not imported) is dropped.
            if !targets.is_empty() || step.targets.is_empty() {
                steps.push(StepDoc {
                    targets,
                    delay_minutes: step.delay_minutes,
                });
            }
        }
        if steps.iter().all(|it| it.targets.is_empty()) {
            return Err("no step has anyone Firebreak can page".into());
        }
        let doc = PolicyDoc {
            steps,
            repeat: imported.policy.repeat,
        };
        doc.to_core().check().map_err(|err| err.to_string())?;
        let digest = digest(&json!({"name": imported.name, "policy": doc}));
        let (outcome, id) = match self.before("policy", &imported.vendor_id, &digest).await? {
            Before::Same(local) => ("unchanged", local),
            Before::Changed(local, _) => {
                store
                    .update_policy(&local, &doc, self.now)
                    .await
                    .map_err(failed)?;
                ("updated", local)
            }
            Before::New => (
                "created",
                store
                    .create_policy(&imported.name, &doc, self.now)
                    .await
                    .map_err(failed)?
                    .id,
            ),
        };
        self.remember("policy", &imported.vendor_id, &id, &digest)
            .await?;
        Ok((outcome, id, left_out))
    }

    async fn service(
        &mut self,
        imported: &ImportedService,
    ) -> Result<(&'static str, String, Vec<String>), String> {
        let store = &self.state.store;
        let policy_id = imported
            .policy_vendor_id
            .as_ref()
            .and_then(|it| self.policies.get(it))
            .cloned();
        let team_id = imported
            .team_vendor_id
            .as_ref()
            .and_then(|it| self.teams.get(it))
            .cloned();
        let mut left_out = Vec::new();
        if policy_id.is_none() {
            left_out.push("its escalation policy was not imported: alerts page nobody".into());
        }
        let keys: Vec<(String, String)> = imported
            .keys
            .iter()
            .filter_map(|(name, key)| match crate::paging::service::kept_key(key) {
                Ok(key) => Some((name.clone(), hash_token(&key))),
                Err(_) => {
                    left_out.push(format!("key {name:?} is not 20 to 64 letters and digits"));
                    None
                }
            })
            .collect();
        let digest = digest(&json!({
            "name": imported.name, "policy": policy_id, "team": team_id, "keys": keys,
        }));
        let (outcome, id) = match self.before("service", &imported.vendor_id, &digest).await? {
            Before::Same(local) => ("unchanged", local),
            Before::Changed(local, _) => {
                let current = store.service(&local).await.map_err(failed)?;
                let service = Service {
                    name: imported.name.clone(),
                    policy_id,
                    team_id,
                    ..current
                };
                store
                    .replace_service(&service, self.now)
                    .await
                    .map_err(failed)?;
                ("updated", local)
            }
            Before::New => {
                let service = Service {
                    id: String::new(),
                    name: imported.name.clone(),
                    team_id,
                    policy_id,
                    depends_on: Vec::new(),
                    runbook_url: String::new(),
                    group_window_minutes: 0,
                    auto_declare_severity: String::new(),
                    // Nothing imported pages anyone until an admin switches it on.
                    shadow: true,
                };
                (
                    "created",
                    store
                        .create_service(&service, self.now)
                        .await
                        .map_err(failed)?
                        .id,
                )
            }
        };
        if !matches!(outcome, "unchanged") {
            for (name, hash) in &keys {
                match store.service_by_key(hash).await {
                    Ok(found) if found.id == id => {}
                    Ok(found) => left_out.push(format!(
                        "key {name:?} already pages service {:?}",
                        found.name
                    )),
                    Err(StoreError::NotFound(_)) => {
                        if let Err(err) = store
                            .create_integration_key(&id, name, hash, self.now)
                            .await
                        {
                            left_out.push(format!("key {name:?}: {}", failed(err)));
                        }
                    }
                    Err(err) => return Err(failed(err)),
                }
            }
        }
        self.remember("service", &imported.vendor_id, &id, &digest)
            .await?;
        Ok((outcome, id, left_out))
    }
}

/// Applies a plan (admins only; the caller checks). Answers what happened to each object, in
/// the plan's order.
pub async fn apply(state: &AppState, vendor: &'static str, plan: &Plan) -> Vec<Outcome> {
    let mut run = Run {
        state,
        vendor,
        now: firebreak_store::clock::now(),
        out: Vec::new(),
        teams: HashMap::new(),
        schedules: HashMap::new(),
        policies: HashMap::new(),
    };
    for entry in &plan.people {
        match entry {
            Ok(person) => match run.person(person).await {
                Ok((outcome, id)) => {
                    run.record("people", &person.vendor_id, outcome, None, Some(id))
                }
                Err(why) => run.record("people", &person.vendor_id, "failed", Some(why), None),
            },
            Err(skip) => run.record(
                "people",
                &skip.vendor_id,
                "skipped",
                Some(skip.why.clone()),
                None,
            ),
        }
    }
    for team in &plan.teams {
        match run.team(team).await {
            Ok((outcome, id)) => {
                run.teams.insert(team.vendor_id.clone(), id.clone());
                run.record("teams", &team.vendor_id, outcome, None, Some(id));
            }
            Err(why) => run.record("teams", &team.vendor_id, "failed", Some(why), None),
        }
    }
    for entry in &plan.schedules {
        match entry {
            Ok(planned) => {
                let vendor_id = planned.imported.vendor_id.clone();
                match run.schedule(planned).await {
                    Ok((outcome, id)) => {
                        run.schedules
                            .entry(planned.imported.target_id.clone())
                            .or_default()
                            .push(id.clone());
                        run.record("schedules", &vendor_id, outcome, None, Some(id));
                    }
                    Err(why) => run.record("schedules", &vendor_id, "failed", Some(why), None),
                }
            }
            Err(skip) => run.record(
                "schedules",
                &skip.vendor_id,
                "skipped",
                Some(skip.why.clone()),
                None,
            ),
        }
    }
    for entry in &plan.policies {
        match entry {
            Ok(policy) => match run.policy(policy).await {
                Ok((outcome, id, left_out)) => {
                    run.policies.insert(policy.vendor_id.clone(), id.clone());
                    let why = (!left_out.is_empty()).then(|| left_out.join("; "));
                    run.record(
                        "escalation_policies",
                        &policy.vendor_id,
                        outcome,
                        why,
                        Some(id),
                    );
                }
                Err(why) => run.record(
                    "escalation_policies",
                    &policy.vendor_id,
                    "failed",
                    Some(why),
                    None,
                ),
            },
            Err(skip) => run.record(
                "escalation_policies",
                &skip.vendor_id,
                "skipped",
                Some(skip.why.clone()),
                None,
            ),
        }
    }
    for entry in &plan.services {
        match entry {
            Ok(service) => match run.service(service).await {
                Ok((outcome, id, left_out)) => {
                    let why = (!left_out.is_empty()).then(|| left_out.join("; "));
                    run.record("services", &service.vendor_id, outcome, why, Some(id));
                }
                Err(why) => run.record("services", &service.vendor_id, "failed", Some(why), None),
            },
            Err(skip) => run.record(
                "services",
                &skip.vendor_id,
                "skipped",
                Some(skip.why.clone()),
                None,
            ),
        }
    }
    state.pager.invalidate().await;
    run.out
}
