//! Demo data for `firebreak serve --demo`: a live incident and a resolved one with a full
//! timeline, loaded once per database through the same commands a responder would use.

use firebreak_core::command::{Entry, RawDeclare, parse_declare};
use firebreak_core::{Command, Status, TimestampName};
use firebreak_store::{IncidentKey, Store};

const MARKER: &str = "demo_loaded";

async fn run(store: &Store, key: IncidentKey, actor: &str, command: Command) -> anyhow::Result<()> {
    store.execute_command(key, actor, true, command).await?;
    Ok(())
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
    let catalog = store.catalog().clone();
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
            "user:maria",
            None,
        )
        .await?;
    let key = IncidentKey::Id(resolved.incident.id.0);
    run(store, key, "user:maria", role("lead", "maria")).await?;
    run(store, key, "user:maria", role("comms", "dev")).await?;
    run(store, key, "user:dev", update("We are investigating orders stuck in pending after card payment. No double charges so far.", None, Some(30))).await?;
    run(
        store,
        key,
        "user:sam",
        note("Provider status page shows elevated latency on their EU endpoint since 09:10."),
    )
    .await?;
    run(store, key, "user:maria", update("Cause identified: our webhook handler timed out and dropped provider callbacks. Rolling back yesterday's change.", Some(Status::Identified), Some(30))).await?;
    run(
        store,
        key,
        "user:sam",
        note("Backup of orders table taken before the data fix (snapshot orders-0947)."),
    )
    .await?;
    run(store, key, "user:sam", note("Reconciliation script tried on 10 orders first; all 10 correct. Running on the remaining 402.")).await?;
    run(store, key, "user:maria", role("lead", "sam")).await?;
    run(
        store,
        key,
        "user:dev",
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
        "user:dev",
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
        "user:maria",
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
            None,
        )
        .await?;
    let key = IncidentKey::Id(live.incident.id.0);
    run(store, key, "user:lee", role("lead", "lee")).await?;
    run(store, key, "user:lee", update("Search is slow in the EU region. We are looking at the index cluster. Next update in 30 minutes.", None, Some(30))).await?;
    run(
        store,
        key,
        "user:lee",
        note("Index node eu-3 shows disk at 97%; compaction stalled."),
    )
    .await?;

    store.set_setting(MARKER, "1").await?;
    Ok(true)
}
