//! `firebreak import pagerduty --from DIR`: the plan from files of PagerDuty's API JSON
//! (invented after the research document's examples), offline.

mod common;
mod run;

use serde_json::Value;

use run::firebreak;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pagerduty");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pagerduty_account_is_planned_and_its_schedule_proved() {
    let run = firebreak(&[], &["import", "pagerduty", "--from", FIXTURES, "--json"]).await;
    assert!(run.ok, "{}", run.stderr);
    let answer: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        answer["applied"],
        Value::Null,
        "offline, nothing is applied"
    );
    let plan = &answer["plan"];
    let people = plan["people"].as_array().unwrap();
    let emails: Vec<&str> = people
        .iter()
        .map(|it| it["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [
            "ana.ortiz@example.com",
            "bo@example.com",
            "chidi@example.com",
            "dana@example.com"
        ]
    );
    let ana = &people[0];
    assert_eq!(ana["fidelity"], "approximated", "{ana}");
    assert_eq!(ana["contacts"][1]["address"], "+34612345678");
    assert_eq!(
        ana["contacts"][1]["verified"], false,
        "phones come unverified"
    );
    assert_eq!(people[1]["role"], "admin");
    assert_eq!(
        people[1]["zone"], "Europe/Stockholm",
        "ActiveSupport names map"
    );
    assert_eq!(people[3]["role"], "viewer");
    // The Berlin schedule, a week across the end of summer time with an override: exactly
    // PagerDuty's rendering.
    let schedule = &plan["schedules"][0];
    assert_eq!(schedule["fidelity"], "exact", "{schedule}");
    assert_eq!(schedule["compared"]["differences"], serde_json::json!([]));
    assert_eq!(schedule["overrides"], 1);
    // The New York schedule: nights on top of a daily rotation, across the spring change.
    let secondary = &plan["schedules"][1];
    assert_eq!(secondary["name"], "Payments Secondary");
    assert_eq!(secondary["fidelity"], "exact", "{secondary}");
    assert_eq!(secondary["compared"]["differences"], serde_json::json!([]));
    // The shift-based (v3) schedule: an event per schedule, the weekend pair one each,
    // proved together against PagerDuty's assignments across the end of winter time.
    let v3 = &plan["schedules"][2];
    assert_eq!(v3["name"], "Platform (shift-based) / Weekdays");
    assert_eq!(v3["fidelity"], "exact", "{v3}");
    assert_eq!(v3["compared"]["differences"], serde_json::json!([]), "{v3}");
    assert_eq!(plan["schedules"].as_array().unwrap().len(), 5);
    assert_eq!(plan["teams"][0]["members"].as_array().unwrap().len(), 3);
    let policy = &plan["escalation_policies"][0];
    assert_eq!(policy["steps"], 3);
    assert_eq!(policy["repeat"], 2);
    assert_eq!(policy["fidelity"], "exact", "{policy}");
    assert_eq!(
        plan["services"][0]["keys_kept"],
        serde_json::json!(["Alertmanager"])
    );

    // In words, too; a rendering that disagrees is shown where it does.
    let dir = tempfile::tempdir().unwrap();
    copy(std::path::Path::new(FIXTURES), dir.path());
    std::fs::remove_file(dir.path().join("schedules/PSCH8SE.json")).unwrap();
    let path = dir.path().join("schedules/PSCH7QX.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let moved = text.replacen("\"PUSR0CC\"", "\"PUSR0BB\"", 1);
    assert_ne!(moved, text);
    std::fs::write(&path, moved).unwrap();
    let run = firebreak(
        &[],
        &[
            "import",
            "pagerduty",
            "--from",
            dir.path().to_str().unwrap(),
        ],
    )
    .await;
    assert!(run.ok, "{}", run.stderr);
    assert!(run.stdout.contains("DIFFERS"), "{}", run.stdout);
    assert!(
        run.stdout.contains("PSCH8SE is not among"),
        "{}",
        run.stdout
    );
    let missing = firebreak(&[], &["import", "pagerduty", "--from", "/no/such/dir"]).await;
    assert!(!missing.ok && missing.stderr.contains("not a directory"));
}

fn copy(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

const OPSGENIE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/opsgenie");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opsgenie_account_is_planned_offline() {
    let run = firebreak(&[], &["import", "opsgenie", "--from", OPSGENIE]).await;
    assert!(run.ok, "{}", run.stderr);
    for expected in [
        "payments_oncall / nights",
        "on call matches Opsgenie's rendering from 2027-03-12T05:00:00Z",
        "DIFFERS 2027-03-12T05:00:00Z → 2027-03-12T06:00:00Z: Firebreak chidi.okafor@example.com, Opsgenie payments",
        "SKIPPED       i-9z8y7x6w payments-email",
    ] {
        assert!(run.stdout.contains(expected), "{expected}:\n{}", run.stdout);
    }
    // Without a source: a clear error, and nothing asked of a server.
    let none = firebreak(&[], &["import", "opsgenie"]).await;
    assert!(
        !none.ok && none.stderr.contains("--api-key"),
        "{}",
        none.stderr
    );
}
