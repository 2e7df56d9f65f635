//! Demo data for `firebreak serve --demo`: a live incident and a resolved one with a full
//! timeline, a private one, the status page, and the whole paging loop around them (teams,
//! services, a follow-the-sun schedule, a policy, alerts that paged someone, a heartbeat) with
//! a published post-mortem and an overdue follow-up — loaded once per database through the
//! same commands and store calls the API uses.

use firebreak_core::command::{Entry, RawDeclare, parse_declare};
use firebreak_core::person::{RawPerson, parse_person};
use firebreak_core::token::Scope;
use firebreak_core::{Access, Command, Status, TimestampName};
use firebreak_store::{IncidentKey, Store, UserPatch};

const MARKER: &str = "demo_loaded";
pub const ADMIN_EMAIL: &str = "admin@example.com";

/// The demo's people: (email, name, role). Only the admin's password is ever printed.
const PEOPLE: [(&str, &str, &str); 6] = [
    (ADMIN_EMAIL, "Demo Admin", "admin"),
    ("maria@example.com", "Maria Silva", "responder"),
    ("dev@example.com", "Dev Patel", "responder"),
    ("sam@example.com", "Sam Okafor", "responder"),
    ("lee@example.com", "Lee Chen", "responder"),
    ("vic@example.com", "Vic Viewer", "viewer"),
];

async fn run(store: &Store, key: IncidentKey, actor: &str, command: Command) -> anyhow::Result<()> {
    store
        .execute_command(key, actor, Access::All, command)
        .await?;
    Ok(())
}

/// How to sign in to the demo: printed by `serve --demo` on every start.
pub struct DemoLogin {
    pub email: String,
    pub password: String,
    pub token: String,
}

fn random_password() -> anyhow::Result<String> {
    let mut random = [0u8; 9];
    getrandom::fill(&mut random).map_err(|err| anyhow::anyhow!("no randomness: {err}"))?;
    let text = hex::encode(random);
    Ok(format!(
        "{}-{}-{}",
        &text[0..6],
        &text[6..12],
        &text[12..18]
    ))
}

/// Makes sure the demo people exist and gives the admin a fresh password and token, so
/// what is printed always works (and nothing printed earlier does).
pub async fn login(store: &Store) -> anyhow::Result<DemoLogin> {
    let now = firebreak_store::clock::now();
    for (email, name, role) in PEOPLE {
        if store.user_by_email(email).await?.is_none() {
            let person = parse_person(RawPerson {
                email: Some(email.into()),
                name: Some(name.into()),
                time_zone: Some("UTC".into()),
                role: Some(role.into()),
            })
            .map_err(|err| anyhow::anyhow!("demo person is invalid: {err:?}"))?;
            let hash = crate::auth::hash_password(&random_password()?)
                .map_err(|err| anyhow::anyhow!(err.message))?;
            store.create_user(&person, &hash, now).await?;
        }
    }
    let admin = store
        .user_by_email(ADMIN_EMAIL)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo admin vanished"))?;
    let password = random_password()?;
    let patch = UserPatch {
        password_hash: Some(
            crate::auth::hash_password(&password).map_err(|err| anyhow::anyhow!(err.message))?,
        ),
        disabled: Some(false),
        ..Default::default()
    };
    store.update_user(admin.id, &patch, now).await?;
    let token = store
        .create_token("demo-admin", Scope::Admin, Some(&admin), now)
        .await?;
    Ok(DemoLogin {
        email: admin.email,
        password,
        token: token.secret,
    })
}

fn update(message: &str, status: Option<Status>, minutes: Option<i64>) -> Command {
    Command::PostUpdate {
        message: message.into(),
        status,
        next_update_in_minutes: minutes,
        public: true,
    }
}

fn role(role: &str, user: &str) -> Command {
    Command::AssignRole {
        role: role.into(),
        user: user.into(),
        handover: None,
    }
}

fn note(text: &str) -> Command {
    Command::Append {
        entry: Entry::Note { text: text.into() },
        occurred_at: None,
    }
}

/// Loads the demo incidents unless this database already has them. Returns whether it did.
pub async fn load(store: &Store, settings: &crate::settings::Settings) -> anyhow::Result<bool> {
    if store.setting(MARKER).await?.is_some() {
        return Ok(false);
    }
    let catalog = (*store.catalog()).clone();
    let declare = |raw: RawDeclare| {
        parse_declare(raw, &catalog).map_err(|err| anyhow::anyhow!("demo data is invalid: {err:?}"))
    };

    // A resolved incident with the whole arc: roles, handoff, updates, a data fix, resolution.
    let resolved = store
        .declare(
            declare(RawDeclare {
                title: Some("Orders stuck in 'pending' after payment provider timeout".into()),
                summary: Some(
                    "Card payments succeeded at the provider but orders stayed pending.".into(),
                ),
                severity: catalog.severities.first().cloned(),
                impact: Some("data_corruption".into()),
                affected_text: Some(
                    "Customers who paid by card between 09:12 and 09:48 UTC".into(),
                ),
                affected_count: Some(412),
                services: Some(vec!["checkout".into(), "payments".into()]),
                ..Default::default()
            })?,
            "maria@example.com",
            Access::All,
            None,
        )
        .await?;
    let key = IncidentKey::Id(resolved.incident.id.0);
    run(
        store,
        key,
        "maria@example.com",
        role("lead", "maria@example.com"),
    )
    .await?;
    run(
        store,
        key,
        "maria@example.com",
        role("comms", "dev@example.com"),
    )
    .await?;
    run(store, key, "dev@example.com", update("We are investigating orders stuck in pending after card payment. No double charges so far.", None, Some(30))).await?;
    run(
        store,
        key,
        "sam@example.com",
        note("Provider status page shows elevated latency on their EU endpoint since 09:10."),
    )
    .await?;
    run(store, key, "maria@example.com", update("Cause identified: our webhook handler timed out and dropped provider callbacks. Rolling back yesterday's change.", Some(Status::Identified), Some(30))).await?;
    run(
        store,
        key,
        "sam@example.com",
        note("Backup of orders table taken before the data fix (snapshot orders-0947)."),
    )
    .await?;
    run(store, key, "sam@example.com", note("Reconciliation script tried on 10 orders first; all 10 correct. Running on the remaining 402.")).await?;
    run(
        store,
        key,
        "maria@example.com",
        role("lead", "sam@example.com"),
    )
    .await?;
    run(
        store,
        key,
        "dev@example.com",
        update(
            "All 412 orders reconciled; new orders complete normally. Monitoring.",
            Some(Status::Monitoring),
            Some(60),
        ),
    )
    .await?;
    run(
        store,
        key,
        "dev@example.com",
        update(
            "Resolved. No further stuck orders for 60 minutes. A post-mortem will follow.",
            Some(Status::Resolved),
            None,
        ),
    )
    .await?;
    let first_alert = resolved
        .incident
        .timestamp(TimestampName::Declared)
        .observed
        .unwrap_or_else(firebreak_store::clock::now)
        - jiff::SignedDuration::from_mins(14);
    run(
        store,
        key,
        "maria@example.com",
        Command::AssertTimestamp {
            name: TimestampName::Declared,
            at: first_alert,
            note: "First customer report came in 14 minutes before we declared.".into(),
        },
    )
    .await?;

    // A live incident, still being worked on.
    let live = store
        .declare(
            declare(RawDeclare {
                title: Some("Search results slow for EU customers".into()),
                summary: Some("p95 search latency above 4 s in eu-west since 10:05 UTC.".into()),
                severity: Some(catalog.default_severity().to_string()),
                impact: Some("degradation".into()),
                affected_text: Some("EU customers using search".into()),
                services: Some(vec!["search".into()]),
                ..Default::default()
            })?,
            "token:alertmanager",
            Access::All,
            None,
        )
        .await?;
    let key = IncidentKey::Id(live.incident.id.0);
    run(
        store,
        key,
        "lee@example.com",
        role("lead", "lee@example.com"),
    )
    .await?;
    run(store, key, "lee@example.com", update("Search is slow in the EU region. We are looking at the index cluster. Next update in 30 minutes.", None, Some(30))).await?;
    run(
        store,
        key,
        "lee@example.com",
        note("Index node eu-3 shows disk at 97%; compaction stalled."),
    )
    .await?;

    // A private security incident: only its members (and admins) can see it.
    let private = store
        .declare(
            declare(RawDeclare {
                title: Some("Leaked API key found in a public repository".into()),
                summary: Some("A production API key was pushed to a public fork.".into()),
                severity: catalog.severities.get(1).cloned(),
                incident_type: Some("security".into()),
                impact: Some("degradation".into()),
                services: Some(vec!["api".into()]),
                ..Default::default()
            })?,
            "maria@example.com",
            Access::All,
            None,
        )
        .await?;
    let key = IncidentKey::Id(private.incident.id.0);
    run(
        store,
        key,
        "maria@example.com",
        role("lead", "maria@example.com"),
    )
    .await?;
    run(
        store,
        key,
        "maria@example.com",
        note("Key revoked at the provider; checking access logs for use since the push."),
    )
    .await?;

    // The public status page: components, and the resolved incident's public face.
    let now = firebreak_store::clock::now();
    let mut ids = Vec::new();
    for (name, description) in [
        ("Website", "www and the shop"),
        ("Checkout", "Card and wallet payments"),
        ("API", "REST API for partners"),
    ] {
        let component = store
            .create_status_component(
                firebreak_store::NewComponent {
                    name: name.into(),
                    description: description.into(),
                    showcase: true,
                    ..Default::default()
                },
                now,
            )
            .await?;
        ids.push(component.id);
    }
    use firebreak_core::status_page::{ComponentStatus, Impact, PublicStatus};
    let public = store
        .publish_incident(
            (
                Some(resolved.incident.id.to_string()),
                "Orders stuck after card payments".into(),
                Impact::Major,
            ),
            firebreak_store::PublicPost {
                status: PublicStatus::Identified,
                body: "Some card payments succeeded but their orders stayed pending. We are fixing the affected orders.".into(),
                components: vec![(ids[1].clone(), ComponentStatus::PartialOutage)],
            },
            now,
        )
        .await?;
    store
        .post_public_update(
            &public.id,
            firebreak_store::PublicPost {
                status: PublicStatus::Resolved,
                body: "All affected orders are confirmed. Checkout works normally.".into(),
                components: vec![(ids[1].clone(), ComponentStatus::Operational)],
            },
            now,
        )
        .await?;

    load_paging(store, settings).await?;
    load_learning(store, &resolved.incident).await?;

    store.set_setting(MARKER, "1").await?;
    Ok(true)
}

/// Every day of the week, for the follow-the-sun windows.
const EVERY_DAY: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The paging side of the demo: two teams, three services with keys, a follow-the-sun
/// schedule (someone is on call whatever the hour), an escalation policy that pages it, a
/// triggered alert that paged the person on call, an acknowledged one, and a heartbeat.
async fn load_paging(store: &Store, settings: &crate::settings::Settings) -> anyhow::Result<()> {
    use firebreak_core::paging::{AlertAction, AlertSeverity};
    use firebreak_store::{IncomingAlert, PolicyDoc, Service, StepDoc, TargetDoc};
    let now = firebreak_store::clock::now();
    let payments = store
        .create_team(
            "Payments",
            &[
                "maria@example.com".into(),
                "sam@example.com".into(),
                "dev@example.com".into(),
            ],
            now,
        )
        .await?;
    let search = store
        .create_team(
            "Search",
            &["lee@example.com".into(), "dev@example.com".into()],
            now,
        )
        .await?;
    let window =
        |from: &str, to: &str| serde_json::json!([{"days": EVERY_DAY, "from": from, "to": to}]);
    let start = (now - jiff::SignedDuration::from_hours(24 * 7))
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    let layers = serde_json::json!([
        {"name": "Europe", "start": format!("{start}T07:00"), "shift": "1w",
         "participants": ["maria@example.com", "sam@example.com"], "windows": window("07:00", "15:00")},
        {"name": "Americas", "start": format!("{start}T15:00"), "shift": "1w",
         "participants": ["lee@example.com", "dev@example.com"], "windows": window("15:00", "23:00")},
        {"name": "Asia-Pacific", "start": format!("{start}T23:00"), "shift": "1w",
         "participants": ["sam@example.com", "lee@example.com"], "windows": window("23:00", "07:00")},
    ]);
    let schedule = store
        .create_schedule(("Follow the sun", "UTC", &layers.to_string()), now)
        .await?;
    let target = |kind: &str, id: &str| TargetDoc {
        kind: kind.into(),
        id: id.into(),
    };
    let policy = store
        .create_policy(
            "Primary, then the lead",
            &PolicyDoc {
                steps: vec![
                    StepDoc {
                        targets: vec![target("schedule", &schedule.id)],
                        delay_minutes: 15,
                    },
                    StepDoc {
                        targets: vec![target("person", "maria@example.com")],
                        delay_minutes: 15,
                    },
                ],
                repeat: 1,
            },
            now,
        )
        .await?;
    let mut services = Vec::new();
    for (name, team, runbook) in [
        (
            "checkout",
            &payments,
            "https://runbooks.example.com/checkout",
        ),
        (
            "payments",
            &payments,
            "https://runbooks.example.com/payments",
        ),
        ("search", &search, "https://runbooks.example.com/search"),
    ] {
        let service = store
            .create_service(
                &Service {
                    id: String::new(),
                    name: name.into(),
                    team_id: Some(team.id.clone()),
                    policy_id: Some(policy.id.clone()),
                    depends_on: Vec::new(),
                    runbook_url: runbook.into(),
                    group_window_minutes: 5,
                    auto_declare_severity: String::new(),
                    shadow: false,
                },
                now,
            )
            .await?;
        // A key for monitoring (shown nowhere: admins make their own on the Services page).
        let mut secret = [0u8; 24];
        getrandom::fill(&mut secret).map_err(|err| anyhow::anyhow!("no randomness: {err}"))?;
        let key = hex::encode(secret);
        store
            .create_integration_key(
                &service.id,
                "alertmanager",
                &firebreak_core::token::hash_token(&key),
                now,
            )
            .await?;
        services.push(service);
    }
    store
        .create_heartbeat(&services[0].id, "nightly-reconciliation", 24 * 60, now)
        .await?;
    let parts = crate::paging::pager::PagerParts::load(store, settings).await?;
    let on_call = |id: &str, at: jiff::Timestamp| parts.on_call(id, at);
    let pager = parts.pager(&on_call);
    let alert = |dedup: &str, summary: &str, severity: AlertSeverity| IncomingAlert {
        action: AlertAction::Trigger,
        dedup_key: dedup.into(),
        summary: summary.into(),
        severity,
        source: "prometheus".into(),
        details: serde_json::json!({"region": "eu-west"}).to_string(),
        links: "[]".into(),
        via: "alertmanager",
    };
    let acknowledged = alert(
        "payments/webhook-timeouts",
        "Payment provider webhooks timing out (p99 above 10 s)",
        AlertSeverity::Error,
    );
    let triggered = alert(
        "search/eu-west/latency",
        "Search p95 latency above 4 s in eu-west",
        AlertSeverity::Critical,
    );
    let events = [(&services[1], &acknowledged), (&services[2], &triggered)];
    let mut ids = Vec::new();
    for result in store.ingest_alerts(&events, &pager, now).await {
        ids.push(result?.alert_id);
    }
    if let Some(Some(id)) = ids.first() {
        store
            .respond_to_alert(id, AlertAction::Acknowledge, "maria@example.com", now)
            .await?;
    }
    Ok(())
}

/// What the resolved incident taught: a published post-mortem drafted from its timeline and
/// a follow-up already overdue.
async fn load_learning(store: &Store, resolved: &firebreak_core::Incident) -> anyhow::Result<()> {
    use firebreak_core::followup::{FollowupKind, Priority};
    let now = firebreak_store::clock::now();
    let draft = crate::postmortems::service::draft_for(store, resolved).await?;
    store
        .create_postmortem(resolved.id.0, &draft, "maria@example.com", now)
        .await?;
    store
        .set_postmortem_status(
            resolved.id.0,
            firebreak_core::postmortem::PostmortemStatus::Published,
            now,
        )
        .await?;
    store
        .create_followup(
            resolved.id.0,
            firebreak_store::NewFollowup {
                title: "Alert when payment provider callbacks are dropped".into(),
                description: "The webhook handler timed out silently; page on a rising drop rate."
                    .into(),
                owner: "sam@example.com".into(),
                due_at: Some(now - jiff::SignedDuration::from_hours(24 * 3)),
                priority: Priority::High,
                kind: FollowupKind::Code,
            },
            now,
        )
        .await?;
    Ok(())
}
