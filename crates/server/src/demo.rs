//! Demo data for `firebreak serve --demo`: a live incident and a resolved one with a full
//! timeline, loaded once per database through the same commands a responder would use.

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
pub async fn load(store: &Store) -> anyhow::Result<bool> {
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

    store.set_setting(MARKER, "1").await?;
    Ok(true)
}
