//! The CLI end to end: the real binary as a client of a real server.

mod common;
mod run;

use serde_json::Value;

use common::start;
use run::{firebreak, firebreak_with_stdin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_commands_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite:{}", dir.path().join("cli.db").display());
    // The database URL from the environment, as the settings promise.
    let db_env = [("FIREBREAK_DATABASE_URL", database_url.as_str())];
    let short = firebreak_with_stdin(
        &db_env,
        &[
            "admin",
            "create-user",
            "--email",
            "ana@example.com",
            "--name",
            "Ana",
        ],
        "short\n",
    )
    .await;
    assert!(
        !short.ok && short.stderr.contains("at least 10"),
        "{}",
        short.stderr
    );
    let user = firebreak_with_stdin(
        &db_env,
        &[
            "admin",
            "create-user",
            "--email",
            "Ana@Example.com",
            "--name",
            "Ana",
            "--role",
            "responder",
            "--time-zone",
            "Europe/Berlin",
        ],
        "correct horse battery\n",
    )
    .await;
    assert!(user.ok, "{}", user.stderr);
    assert!(user.stderr.contains("ana@example.com"), "{}", user.stderr);
    let again = firebreak_with_stdin(
        &db_env,
        &[
            "admin",
            "create-user",
            "--email",
            "ana@example.com",
            "--name",
            "Ana 2",
        ],
        "correct horse battery\n",
    )
    .await;
    assert!(
        !again.ok && again.stderr.contains("already"),
        "{}",
        again.stderr
    );
    let created = firebreak(
        &db_env,
        &[
            "admin",
            "create-token",
            "--name",
            "cli",
            "--scope",
            "write",
            "--user",
            "ana@example.com",
        ],
    )
    .await;
    assert!(created.ok, "{}", created.stderr);
    let token = created.stdout.trim().to_string();
    assert!(
        token.starts_with("fbk_") && !token.contains('\n'),
        "only the token is printed"
    );

    let (mut server, url) = start(&database_url).await;
    let env = [
        ("FIREBREAK_URL", url.as_str()),
        ("FIREBREAK_TOKEN", token.as_str()),
    ];

    let run = firebreak(
        &env,
        &[
            "declare",
            "Checkout down",
            "--severity",
            "critical",
            "--service",
            "checkout",
        ],
    )
    .await;
    assert!(run.ok, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("INC-1  Checkout down"),
        "{}",
        run.stdout
    );

    let run = firebreak(
        &env,
        &[
            "update",
            "INC-1",
            "Rolling back",
            "--status",
            "identified",
            "--next-update",
            "1h30m",
        ],
    )
    .await;
    assert!(run.ok, "{}", run.stderr);
    let run = firebreak(&env, &["--json", "show", "inc-1"]).await;
    let incident: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(incident["status"], "identified");
    assert_eq!(incident["severity"], "critical");
    assert!(incident["next_update_due"].is_string());

    let run = firebreak(&env, &["update", "INC-1", "x", "--next-update", "5s"]).await;
    assert!(!run.ok);
    assert!(run.stderr.contains("--next-update"), "{}", run.stderr);

    let run = firebreak(&env, &["assign", "INC-1", "lead", "alice"]).await;
    assert!(run.ok, "{}", run.stderr);
    let run = firebreak(&env, &["incidents"]).await;
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("REF") && lines[0].contains("LEAD"),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with("INC-1")
            && lines[1].contains("alice")
            && lines[1].contains("identified"),
        "{}",
        run.stdout
    );

    // Full-text search reaches timeline text; membership and identity from the CLI.
    let run = firebreak(&env, &["note", "INC-1", "The flux capacitor overheated"]).await;
    assert!(run.ok, "{}", run.stderr);
    let run = firebreak(
        &env,
        &[
            "incidents",
            "--query",
            "capacitor",
            "--service",
            "checkout",
            "--from",
            "2000-01-01",
        ],
    )
    .await;
    assert!(
        run.ok && run.stdout.contains("INC-1"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = firebreak(
        &env,
        &["incidents", "-q", "capacitor", "--type", "security"],
    )
    .await;
    assert!(run.ok && !run.stdout.contains("INC-1"), "{}", run.stdout);
    let run = firebreak(&env, &["whoami"]).await;
    assert_eq!(
        run.stdout.trim(),
        "Ana <ana@example.com> (responder, Europe/Berlin)"
    );
    let run = firebreak(
        &env,
        &[
            "declare",
            "Leaked key",
            "--type",
            "security",
            "--severity",
            "minor",
        ],
    )
    .await;
    assert!(run.ok, "{}", run.stderr);
    let run = firebreak(&env, &["add-member", "INC-2", "nobody@example.com"]).await;
    assert!(!run.ok && run.stderr.contains("no user"), "{}", run.stderr);
    let run = firebreak(&env, &["--json", "add-member", "INC-2", "ana@example.com"]).await;
    assert!(run.ok, "{}", run.stderr);

    // The action register: the proposer cannot approve; the refusal is one clear line.
    let run = firebreak(
        &env,
        &[
            "action",
            "propose",
            "INC-1",
            "systemctl restart api",
            "--kind",
            "restart",
        ],
    )
    .await;
    assert!(run.ok, "{}", run.stderr);
    let run = firebreak(&env, &["action", "approve", "INC-1", "1"]).await;
    assert!(!run.ok);
    assert!(
        run.stderr.contains("cannot also approve it") && run.stderr.contains("HTTP 403"),
        "{}",
        run.stderr
    );
    let run = firebreak(&env, &["action", "list", "INC-1"]).await;
    assert!(
        run.stdout.contains("#1") && run.stdout.contains("proposed"),
        "{}",
        run.stdout
    );

    // The playbook gave the critical incident its tasks.
    let run = firebreak(&env, &["task", "done", "INC-1", "2", "--note", "#inc-1"]).await;
    assert!(run.ok, "{}", run.stderr);
    let run = firebreak(
        &env,
        &["task", "add", "INC-1", "Page the DBAs", "--due", "soon"],
    )
    .await;
    assert!(!run.ok && run.stderr.contains("--due"), "{}", run.stderr);
    let run = firebreak(&env, &["task", "list", "INC-1"]).await;
    assert!(
        run.stdout.contains("#2") && run.stdout.contains("done"),
        "{}",
        run.stdout
    );

    // INC-1 is critical: deploys are frozen until it resolves.
    let run = firebreak(&env, &["freeze", "check"]).await;
    assert!(!run.ok, "exit 1 while frozen");
    assert!(
        run.stdout.contains("Deploys are frozen") && run.stdout.contains("INC-1"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    let run = firebreak(&env, &["resolve", "INC-1", "Back to normal"]).await;
    assert!(run.ok, "{}", run.stderr);
    let run = firebreak(&env, &["freeze", "check"]).await;
    assert!(
        run.ok && run.stdout.contains("may go ahead"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = firebreak(&env, &["freeze", "on", "INC-2", "--reason", "key rotation"]).await;
    assert!(run.ok, "{}", run.stderr);
    let run = firebreak(&env, &["freeze", "check"]).await;
    assert!(
        !run.ok && run.stdout.contains("key rotation"),
        "{}",
        run.stdout
    );
    let run = firebreak(&env, &["freeze", "off", "INC-2"]).await;
    assert!(run.ok, "{}", run.stderr);
    let run = firebreak(&env, &["timeline", "INC-1"]).await;
    assert!(
        run.stdout.contains("identified → resolved"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("alice is now lead"), "{}", run.stdout);
    let run = firebreak(&env, &["--json", "timeline", "INC-1"]).await;
    let events: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|it| it["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            // The declare; Ana takes part; the default rules for a critical incident.
            "declared",
            "participant_joined",
            "rule_fired",
            "playbook_added",
            "cadence_set",
            "freeze_started",
            "roles_required",
            // Update with a status, role, note, action, task.
            "status_changed",
            "update_posted",
            "role_assigned",
            "note",
            "action_proposed",
            "task_closed",
            // Resolved: the all-clear is announced, the freeze ends, everyone leaves and is
            // thanked.
            "status_changed",
            "update_posted",
            "rule_fired",
            "freeze_ended",
            "participant_left",
            "thanked",
        ]
    );
    let run = firebreak(&env, &["verify", "INC-1"]).await;
    assert!(
        run.ok && run.stdout.starts_with("Timeline verified: 19 events"),
        "{}",
        run.stdout
    );

    // People and stakeholders on the other incident, and the workflow in effect.
    let run = firebreak(&env, &["--json", "leave", "INC-2"]).await;
    assert!(
        run.ok && run.stdout.contains("participant_left"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = firebreak(&env, &["--json", "join", "INC-2"]).await;
    assert!(
        run.ok && run.stdout.contains("participant_joined"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = firebreak(
        &env,
        &[
            "--json",
            "stakeholder",
            "INC-2",
            "execs@example.com",
            "--mode",
            "passive",
        ],
    )
    .await;
    assert!(
        run.ok && run.stdout.contains("stakeholder_added"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = firebreak(
        &env,
        &[
            "stakeholder",
            "INC-2",
            "execs@example.com",
            "--mode",
            "loud",
        ],
    )
    .await;
    assert!(!run.ok && run.stderr.contains("mode"), "{}", run.stderr);
    let run = firebreak(&env, &["--json", "show", "INC-2"]).await;
    let shown: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(shown["stakeholders"][0]["mode"], "passive");
    assert_eq!(shown["participants"][0]["active"], true);
    let run = firebreak(&env, &["workflow"]).await;
    assert!(
        run.ok && run.stdout.contains("serious incident") && run.stdout.contains("announcements"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    // The post-mortem of the resolved incident: drafted on demand, saved from a file, moved.
    let run = firebreak(&env, &["postmortem", "INC-1", "--draft"]).await;
    assert!(
        run.ok && run.stdout.starts_with("# Post-mortem: INC-1"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let file = dir.path().join("pm.md");
    std::fs::write(&file, "# Post-mortem\nIt was human error.\n").unwrap();
    let run = firebreak(
        &env,
        &[
            "postmortem",
            "INC-1",
            "--save",
            file.to_str().unwrap(),
            "--status",
            "in_review",
        ],
    )
    .await;
    assert!(run.ok, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("in_review · revision 2 · 1 blameless warning"),
        "{}",
        run.stderr
    );
    // --edit opens $EDITOR (here: sed) and saves what changed as a new revision.
    let with_editor = |editor: &'static str| {
        let mut env = env.to_vec();
        env.push(("EDITOR", editor));
        env.push(("VISUAL", ""));
        env
    };
    let run = firebreak(
        &with_editor("sed -i 's/human error/a missing check/'"),
        &["postmortem", "INC-1", "--edit"],
    )
    .await;
    assert!(
        run.ok
            && run
                .stderr
                .contains("in_review · revision 3 · 0 blameless warning"),
        "{}",
        run.stderr
    );
    let run = firebreak(&with_editor("true"), &["postmortem", "INC-1", "--edit"]).await;
    assert!(run.ok && run.stderr.contains("No change"), "{}", run.stderr);
    let run = firebreak(&with_editor("false"), &["postmortem", "INC-1", "--edit"]).await;
    assert!(
        !run.ok && run.stderr.contains("nothing was saved"),
        "{}",
        run.stderr
    );
    let run = firebreak(&env, &["postmortem", "INC-1"]).await;
    assert!(
        run.stdout.contains("It was a missing check."),
        "{}",
        run.stdout
    );
    let run = firebreak(&env, &["postmortem", "INC-1", "--share"]).await;
    assert!(
        !run.ok
            && run
                .stderr
                .contains("publish the post-mortem before sharing"),
        "{}",
        run.stderr
    );
    let run = firebreak(&env, &["insights", "--since", "30d"]).await;
    assert!(
        run.ok && run.stdout.contains("MTTR:"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    // Follow-ups from a terminal.
    let run = firebreak(
        &env,
        &[
            "followups",
            "--add",
            "INC-1",
            "--title",
            "Add a migration check",
            "--owner",
            "ana@example.com",
            "--due-in",
            "48h",
        ],
    )
    .await;
    assert!(
        run.ok && run.stdout.contains("Add a migration check"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    // The public status page from a terminal.
    let run = firebreak(&env, &["status-page", "add-component", "Checkout"]).await;
    assert!(run.ok, "{}", run.stderr);
    let component = run.stdout.split_whitespace().next().unwrap().to_string();
    let down = format!("{component}=major_outage");
    let run = firebreak(
        &env,
        &[
            "--json",
            "status-page",
            "publish",
            "INC-2",
            "--name",
            "Checkout is down",
            "--body",
            "We are investigating.",
            "--impact",
            "major",
            "--component",
            &down,
        ],
    )
    .await;
    assert!(run.ok, "{}", run.stderr);
    let published: Value = serde_json::from_str(&run.stdout).unwrap();
    let run = firebreak(
        &env,
        &[
            "status-page",
            "update",
            published["id"].as_str().unwrap(),
            "--status",
            "resolved",
            "--body",
            "Fixed.",
            "--component",
            &format!("{component}=operational"),
        ],
    )
    .await;
    assert!(
        run.ok && run.stdout.contains("resolved"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = firebreak(&env, &["status-page", "incidents"]).await;
    assert!(run.stdout.contains("Checkout is down"), "{}", run.stdout);
    let run = firebreak(
        &env,
        &[
            "status-page",
            "publish",
            "--name",
            "x",
            "--body",
            "y",
            "--component",
            "nonsense",
        ],
    )
    .await;
    assert!(
        !run.ok && run.stderr.contains("COMPONENT_ID=STATUS"),
        "{}",
        run.stderr
    );
    let run = firebreak(&env, &["notifications", "INC-1"]).await;
    assert!(
        run.ok && run.stdout.contains("STATUS"),
        "{}{}",
        run.stdout,
        run.stderr
    );

    // Server errors are one clear line and a failing exit code.
    let run = firebreak(&env, &["show", "INC-99"]).await;
    assert!(!run.ok);
    assert_eq!(
        run.stderr.trim(),
        "error: incident not found (not_found, HTTP 404)"
    );
    let run = firebreak(&env, &["update", "INC-1", "x", "--status", "declined"]).await;
    assert!(!run.ok);
    assert!(
        run.stderr.contains(
            "cannot move an incident from resolved to declined (invalid_transition, HTTP 409)"
        ),
        "{}",
        run.stderr
    );
    let run = firebreak(&env, &["declare", " "]).await;
    assert!(!run.ok);
    assert!(
        run.stderr.contains("title: title is required"),
        "{}",
        run.stderr
    );

    // On call: a schedule from a JSON file (admins only), who is on call, shifts, the report.
    let schedule = dir.path().join("schedule.json");
    std::fs::write(
        &schedule,
        r#"{"name": "primary", "time_zone": "Europe/Berlin", "layers": [
            {"name": "daily", "start": "2026-01-01T09:00", "shift": "1d",
             "participants": ["ana@example.com"]}]}"#,
    )
    .unwrap();
    let run = firebreak(&env, &["schedules", "apply", schedule.to_str().unwrap()]).await;
    assert!(!run.ok && run.stderr.contains("HTTP 403"), "{}", run.stderr);
    let root = firebreak_with_stdin(
        &db_env,
        &[
            "admin",
            "create-user",
            "--email",
            "root@example.com",
            "--name",
            "Root",
            "--role",
            "admin",
        ],
        "correct horse battery\n",
    )
    .await;
    assert!(root.ok, "{}", root.stderr);
    let admin_token = firebreak(
        &db_env,
        &[
            "admin",
            "create-token",
            "--name",
            "ops",
            "--scope",
            "admin",
            "--user",
            "root@example.com",
        ],
    )
    .await
    .stdout
    .trim()
    .to_string();
    let admin_env = [
        ("FIREBREAK_URL", url.as_str()),
        ("FIREBREAK_TOKEN", admin_token.as_str()),
    ];
    let run = firebreak(
        &admin_env,
        &["schedules", "apply", schedule.to_str().unwrap()],
    )
    .await;
    assert!(
        run.ok
            && run
                .stdout
                .contains("Created primary (on call now: ana@example.com)"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = firebreak(
        &admin_env,
        &["schedules", "apply", schedule.to_str().unwrap()],
    )
    .await;
    assert!(run.stdout.contains("Replaced primary"), "{}", run.stdout);
    let run = firebreak(&env, &["oncall"]).await;
    assert!(
        run.ok && run.stdout.contains("primary") && run.stdout.contains("ana@example.com"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = firebreak(&env, &["oncall", "--at", "2025-06-01T00:00:00Z"]).await;
    assert!(run.stdout.contains("nobody"), "{}", run.stdout);
    let run = firebreak(&env, &["schedules", "shifts", "primary", "--days", "2"]).await;
    assert!(
        run.ok && run.stdout.contains("ana@example.com"),
        "{}",
        run.stderr
    );
    let run = firebreak(&env, &["schedules", "report", "primary", "--since", "7d"]).await;
    assert!(
        run.ok && run.stdout.contains("168.0") && run.stdout.contains("Nobody on call: 0.0 h"),
        "{}{}",
        run.stdout,
        run.stderr
    );

    // Paging: a policy paging whoever "primary" has on call, a service, a key; an alert
    // from monitoring; acknowledge and resolve from the terminal.
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"name": "payments", "steps": [{"targets": [{"type": "schedule", "id": "primary"}], "delay_minutes": 5}]}"#,
    )
    .unwrap();
    let run = firebreak(
        &admin_env,
        &["paging", "apply-policy", policy.to_str().unwrap()],
    )
    .await;
    assert!(
        run.ok && run.stdout.contains("Created policy payments"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = firebreak(
        &admin_env,
        &["paging", "add-service", "payments", "--policy", "payments"],
    )
    .await;
    assert!(run.ok, "{}", run.stderr);
    let run = firebreak(
        &admin_env,
        &[
            "paging",
            "update-service",
            "payments",
            "--runbook",
            "https://runbooks.example/payments",
        ],
    )
    .await;
    assert!(
        run.ok && run.stdout.contains("Updated service payments"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = firebreak(&env, &["paging", "services"]).await;
    assert!(
        run.stdout.contains("https://runbooks.example/payments"),
        "the runbook changed: {}",
        run.stdout
    );
    let run = firebreak(
        &admin_env,
        &["paging", "key", "payments", "--name", "alertmanager"],
    )
    .await;
    assert!(
        run.ok && run.stderr.contains("/v2/enqueue"),
        "{}",
        run.stderr
    );
    let key = run.stdout.trim().to_string();
    assert_eq!(key.len(), 32, "only the key on stdout");
    firebreak_integrations::http::install_crypto_provider();
    let sent: Value = reqwest::Client::new()
        .post(format!("{url}/api/v1/alerts"))
        .json(&serde_json::json!({"integration_key": key, "summary": "Payments 5xx above 2%", "dedup_key": "p5xx"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alert = sent["alert_id"].as_str().unwrap().to_string();
    let run = firebreak(&env, &["alerts", "list"]).await;
    assert!(
        run.ok && run.stdout.contains("Payments 5xx above 2%"),
        "{}",
        run.stdout
    );
    let run = firebreak(&env, &["ack", &alert]).await;
    assert!(
        run.ok && run.stdout.contains("Acknowledged"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = firebreak(&env, &["ack", &alert]).await;
    assert!(
        !run.ok && run.stderr.contains("already acknowledged"),
        "{}",
        run.stderr
    );
    let run = firebreak(&env, &["alerts", "show", &alert]).await;
    assert!(
        run.stdout.contains("paged") && run.stdout.contains("ana@example.com"),
        "{}",
        run.stdout
    );
    let run = firebreak(&env, &["alerts", "resolve", &alert]).await;
    assert!(run.ok && run.stdout.contains("Resolved"), "{}", run.stderr);
    let run = firebreak(
        &env,
        &[
            "paging",
            "silence",
            "--service",
            "payments",
            "--minutes",
            "30",
            "--comment",
            "upgrade",
        ],
    )
    .await;
    assert!(
        run.ok && run.stdout.contains("Silenced until"),
        "{}",
        run.stderr
    );
    let run = firebreak(&env, &["paging", "silences"]).await;
    assert!(run.stdout.contains("upgrade"), "{}", run.stdout);

    // How you are paged: a webhook (its secret printed once) five minutes after the page.
    let run = firebreak(
        &env,
        &[
            "paging",
            "add-contact",
            "webhook",
            "https://hooks.example.com/me",
        ],
    )
    .await;
    assert!(
        run.ok && run.stdout.contains("signing secret (shown once)"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let contact = run.stdout.split(['(', ')']).nth(1).unwrap().to_string();
    let run = firebreak(&env, &["paging", "add-rule", &contact, "--after", "5"]).await;
    assert!(
        run.ok && run.stdout.contains("after 5 min by webhook"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = firebreak(&env, &["paging", "rules"]).await;
    assert!(
        run.stdout.contains("5 min") && run.stdout.contains("hooks.example.com"),
        "{}",
        run.stdout
    );
    let run = firebreak(&env, &["paging", "add-rule", &contact, "--after", "90"]).await;
    assert!(
        !run.ok && run.stderr.contains("delay_minutes"),
        "{}",
        run.stderr
    );
    let run = firebreak(&env, &["paging", "remove-contact", &contact]).await;
    assert!(run.ok, "{}", run.stderr);
    let run = firebreak(&env, &["paging", "rules"]).await;
    assert!(!run.stdout.contains("hooks.example.com"), "{}", run.stdout);
    // A phone number: stored in E.164, not verified until a code comes back (this server has
    // no SMS provider, which the error says; crates/server/tests/api/wake.rs sends codes).
    let run = firebreak(&env, &["paging", "add-contact", "sms", "+1 415 555 0100"]).await;
    assert!(
        run.ok && run.stdout.contains("+14155550100") && run.stdout.contains("send-code"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let phone = run.stdout.split(['(', ')']).nth(1).unwrap().to_string();
    let run = firebreak(&env, &["paging", "contacts"]).await;
    assert!(run.stdout.contains("not verified"), "{}", run.stdout);
    let run = firebreak(&env, &["paging", "send-code", &phone]).await;
    assert!(
        !run.ok && run.stderr.contains("not configured"),
        "{}",
        run.stderr
    );
    let run = firebreak(&env, &["paging", "verify", &phone, "123456"]).await;
    assert!(
        !run.ok && run.stderr.contains("no code is waiting"),
        "{}",
        run.stderr
    );
    let run = firebreak(&env, &["paging", "add-rule", &phone]).await;
    assert!(!run.ok && run.stderr.contains("verify"), "{}", run.stderr);

    // Flags work as well as the environment; no token is a clear error.
    let run = firebreak(&[], &["--url", &url, "--token", &token, "show", "INC-1"]).await;
    assert!(run.ok, "{}", run.stderr);
    let run = firebreak(&[("FIREBREAK_URL", url.as_str())], &["incidents"]).await;
    assert!(!run.ok);
    assert!(run.stderr.contains("FIREBREAK_TOKEN"), "{}", run.stderr);
    server.start_kill().unwrap();
    server.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_control_characters_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite:{}", dir.path().join("cli.db").display());
    let token = common::create_token(&database_url);
    let (mut server, url) = start(&database_url).await;
    let env = [
        ("FIREBREAK_URL", url.as_str()),
        ("FIREBREAK_TOKEN", token.as_str()),
    ];
    let hostile = "\u{1b}[2J\u{1b}]0;pwned\u{7}Checkout \u{202e}nwod";
    let run = firebreak(&env, &["declare", hostile]).await;
    assert!(run.ok, "{}", run.stderr);
    let run = firebreak(&env, &["note", "INC-1", "see \u{1b}[31mred\u{1b}[0m"]).await;
    assert!(run.ok, "{}", run.stderr);
    for args in [
        &["timeline", "INC-1"][..],
        &["incidents"],
        &["show", "INC-1"],
    ] {
        let run = firebreak(&env, args).await;
        assert!(run.ok, "{}", run.stderr);
        assert!(
            !run.stdout.contains(['\u{1b}', '\u{7}', '\u{202e}']),
            "{args:?}: {:?}",
            run.stdout
        );
        assert!(
            run.stdout.contains("\\u001b[2J"),
            "{args:?}: {}",
            run.stdout
        );
    }
    let run = firebreak(&env, &["--json", "timeline", "INC-1"]).await;
    let events: Value = serde_json::from_str(&run.stdout).expect("--json output stays JSON");
    assert!(
        events.to_string().contains('\u{202e}'),
        "the JSON keeps the text itself"
    );
    server.kill().await.unwrap();
}
