//! Command-line interface: `serve`, `admin`, `config`, `openapi`, and incident commands that
//! talk to a running server through the public API.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use clap::{Parser, Subcommand};
use firebreak_server::Settings;
use serde_json::Value;

use crate::coordination::{ActionCmd, FreezeCmd, TaskCmd};

#[derive(Parser, Debug)]
#[command(
    name = "firebreak",
    version,
    about = "Self-hosted incident response: declare, coordinate, communicate, learn."
)]
pub struct Args {
    /// Server URL for incident commands.
    #[arg(
        long,
        global = true,
        env = "FIREBREAK_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    url: String,
    /// API token for incident commands.
    #[arg(long, global = true, env = "FIREBREAK_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Print the server's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Cmd {
    /// Run the server.
    Serve {
        #[arg(long)]
        listen: Option<String>,
        #[arg(long)]
        database_url: Option<String>,
        /// Settings file (default: ./firebreak.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Load demo incidents (once per database) and print an admin token.
        #[arg(long)]
        demo: bool,
        /// Serve only the public status page (and health), read-only, from the same database.
        #[arg(long)]
        status_page_only: bool,
    },
    /// Administration that works directly on the database.
    Admin {
        #[command(subcommand)]
        command: AdminCmd,
    },
    /// Settings.
    Config {
        #[command(subcommand)]
        command: ConfigCmd,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Declare an incident.
    Declare {
        title: String,
        #[arg(long)]
        severity: Option<String>,
        #[arg(long)]
        summary: Option<String>,
        /// default or security.
        #[arg(long = "type")]
        incident_type: Option<String>,
        /// degradation, data_corruption or outage.
        #[arg(long)]
        impact: Option<String>,
        /// An affected service; repeat for several.
        #[arg(long = "service")]
        services: Vec<String>,
        #[arg(long)]
        private: bool,
        /// Declare a drill (excluded from metrics).
        #[arg(long)]
        drill: bool,
        /// Retrying with the same key never declares twice.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// List incidents.
    Incidents {
        /// Comma-separated statuses.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        severity: Option<String>,
        /// default or security.
        #[arg(long = "type")]
        incident_type: Option<String>,
        /// Only incidents affecting this service.
        #[arg(long)]
        service: Option<String>,
        /// Declared on or after this date (2026-11-01) or time (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Declared up to and including this date, or before this time.
        #[arg(long)]
        to: Option<String>,
        /// Full-text search over titles, summaries and the whole timeline.
        #[arg(long, short = 'q')]
        query: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Show one incident.
    Show { incident: String },
    /// Post a status update.
    Update {
        incident: String,
        message: String,
        #[arg(long)]
        status: Option<String>,
        /// When the next update is due: 30m, 1h, 1h30m.
        #[arg(long)]
        next_update: Option<String>,
        /// Meant for the public status page.
        #[arg(long)]
        public: bool,
    },
    /// Resolve an incident with a final update.
    Resolve {
        incident: String,
        message: Option<String>,
    },
    /// Assign a role (lead, comms, …) to someone; on a handoff, say what you hand over.
    Assign {
        incident: String,
        role: String,
        user: String,
        /// Where things stand, open threads, next steps (for the new holder).
        #[arg(long)]
        handover: Option<String>,
    },
    /// Join an incident: you are in it from now.
    Join { incident: String },
    /// Leave an incident (records your minutes, and those outside working hours).
    Leave { incident: String },
    /// Keep a person or team informed: every update at once (active) or a digest (passive).
    Stakeholder {
        incident: String,
        /// Email of the person or the team's list.
        who: String,
        /// active, passive, or remove.
        #[arg(long, default_value = "active")]
        mode: String,
    },
    /// What an incident notified (rule targets, stakeholders, people) and whether it arrived.
    Notifications { incident: String },
    /// The workflow in effect: rules, notification targets and playbooks.
    Workflow,
    /// Add a note to the timeline.
    Note { incident: String, text: String },
    /// Let a person (by email) see a private incident.
    AddMember { incident: String, user: String },
    /// Who the token acts as.
    Whoami,
    /// Tasks: from playbooks and by hand.
    Task {
        #[command(subcommand)]
        command: TaskCmd,
    },
    /// The action register: risky steps approved by a second person.
    Action {
        #[command(subcommand)]
        command: ActionCmd,
    },
    /// Print an incident's post-mortem (Markdown, warnings on stderr); draft it, edit it in
    /// $VISUAL / $EDITOR, save a new revision from a file, or move it: draft, in_review,
    /// published.
    Postmortem {
        incident: String,
        /// Open it in $VISUAL or $EDITOR (else vi); saving a changed text makes a revision.
        #[arg(long, conflicts_with = "save")]
        edit: bool,
        /// Draft it now from the timeline (it is drafted by itself when the incident resolves).
        #[arg(long)]
        draft: bool,
        /// Save this file as the new revision.
        #[arg(long)]
        save: Option<PathBuf>,
        /// Move it: draft, in_review, published.
        #[arg(long)]
        status: Option<String>,
        /// Attach the published post-mortem to the incident's status page incident, in its
        /// customer-facing version (summary, impact, root cause, actions; no names).
        #[arg(long)]
        share: bool,
    },
    /// Follow-ups: everyone's open ones (overdue first), or add / close one.
    Followups {
        /// Include done and won't-do.
        #[arg(long)]
        all: bool,
        /// Add one to this incident (with --title and --owner).
        #[arg(long)]
        add: Option<String>,
        #[arg(long)]
        title: Option<String>,
        /// The owner's email.
        #[arg(long)]
        owner: Option<String>,
        /// 24h, 48h, 72h or 1w.
        #[arg(long, default_value = "72h")]
        due_in: String,
        /// Mark this follow-up id done.
        #[arg(long)]
        done: Option<String>,
    },
    /// Insights over the last N days: MTTA, time to mitigate, MTTR, change failure rate,
    /// post-mortems and follow-ups done, responder load (heroics), bus factor.
    Insights {
        /// e.g. 30d, 90d.
        #[arg(long, default_value = "30d")]
        since: String,
    },
    /// Acknowledge an alert: escalation stops.
    Ack { id: String },
    /// Alerts: list, show with the log, resolve.
    Alerts {
        #[command(subcommand)]
        command: crate::paging::AlertsCmd,
    },
    /// The paging catalog: services, integration keys, escalation policies, teams.
    Paging {
        #[command(subcommand)]
        command: crate::paging::CatalogCmd,
    },
    /// Moving in: the plan of importing another system's setup (changes nothing).
    Import {
        #[command(subcommand)]
        command: ImportCmd,
    },
    /// Who is on call now (or --at an RFC 3339 time), in every schedule.
    Oncall {
        #[arg(long)]
        at: Option<String>,
    },
    /// On-call schedules: list, apply a JSON file, shifts, the fairness report, overrides,
    /// calendar feeds.
    Schedules {
        #[command(subcommand)]
        command: crate::oncall::ScheduleCmd,
    },
    /// The public status page: components, public incidents and their updates, maintenance.
    StatusPage {
        #[command(subcommand)]
        command: crate::status_page::StatusPageCmd,
    },
    /// Chat: open an incident's channel (Slack, Matrix), see what chat owes it, retry.
    Chat {
        #[command(subcommand)]
        command: crate::chat::ChatCmd,
    },
    /// Deploy freeze: check it from a pipeline, or set / lift it for an incident.
    Freeze {
        #[command(subcommand)]
        command: FreezeCmd,
    },
    /// Print the timeline.
    Timeline {
        incident: String,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// Verify the timeline's hash chain.
    Verify { incident: String },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ImportCmd {
    /// Move a PagerDuty account in: plan (every person, team, schedule, escalation policy and
    /// service as exact, approximated or skipped, each schedule proved against PagerDuty's own
    /// rendering), then with `--apply` make it on the Firebreak server. Read from PagerDuty's
    /// REST API with `--api-token` (through the server), or from files of its API's JSON with
    /// `--from DIR` (`users.json`, `teams.json`, `escalation_policies.json`, `services.json`,
    /// `schedules/<ID>.json` with its final_schedule and `schedules/<ID>.overrides.json`);
    /// `--from` without `--apply` plans offline, with no server.
    Pagerduty {
        #[arg(long, conflicts_with = "api_token")]
        from: Option<PathBuf>,
        /// A PagerDuty REST API key (read-only is enough); the server reads the account.
        #[arg(long, env = "PAGERDUTY_API_TOKEN", hide_env_values = true)]
        api_token: Option<String>,
        /// PagerDuty's REST API (https://api.eu.pagerduty.com for the EU region).
        #[arg(long, default_value = "https://api.pagerduty.com")]
        api_url: String,
        /// Make the plan on the server (a second run changes nothing; new services start in
        /// shadow mode).
        #[arg(long)]
        apply: bool,
    },
    /// Move an Opsgenie account in, as `pagerduty` does: each rotation becomes a schedule,
    /// each API integration a service keeping its key as the GenieKey monitors send. Read with
    /// `--api-key` (an API integration's key with configuration access), or from `--from DIR`
    /// (`users.json` with each user's `contacts` and `notification_rules`, `teams.json` with
    /// each team's `routing_rules`, `schedules/<ID>.json` with `<ID>.overrides.json` and
    /// `<ID>.timeline.json`, `escalations.json`, `integrations.json`: the API's `data`).
    Opsgenie {
        #[arg(long, conflicts_with = "api_key")]
        from: Option<PathBuf>,
        /// An Opsgenie API integration's key; the server reads the account.
        #[arg(long, env = "OPSGENIE_API_KEY", hide_env_values = true)]
        api_key: Option<String>,
        /// Opsgenie's REST API (https://api.eu.opsgenie.com for the EU).
        #[arg(long, default_value = "https://api.opsgenie.com")]
        api_url: String,
        /// Make the plan on the server.
        #[arg(long)]
        apply: bool,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum AdminCmd {
    /// Create a person who can sign in; the password is read from stdin (one line).
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// viewer, responder or admin.
        #[arg(long, default_value = "responder")]
        role: String,
        /// IANA time zone, e.g. Europe/Berlin.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Create an API token acting as a person; prints only the token on stdout.
    CreateToken {
        #[arg(long)]
        name: String,
        /// read, write or admin (the token never does more than its person's role allows).
        #[arg(long)]
        scope: String,
        /// Email of the person the token acts as.
        #[arg(long)]
        user: String,
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Copy the live SQLite database to FILE, consistently, while the server runs.
    Backup {
        file: PathBuf,
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Replace the SQLite database with the backup FILE, after checking every incident's
    /// hash chain in it (stop the server first).
    Restore {
        file: PathBuf,
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ConfigCmd {
    /// Print the commented default settings file.
    Example,
}

fn settings(
    config: Option<PathBuf>,
    database_url: Option<String>,
    listen: Option<String>,
) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(config.as_deref())?;
    if let Some(url) = database_url {
        settings.database_url = url.into();
    }
    if let Some(listen) = listen {
        settings.listen = listen;
    }
    Ok(settings)
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Cmd::Serve {
            listen,
            database_url,
            config,
            demo,
            status_page_only,
        } => {
            let mut settings = settings(config, database_url, listen)?;
            settings.status_page_only |= status_page_only;
            let demo = demo && !settings.status_page_only;
            serve(settings, demo).await
        }
        Cmd::Admin {
            command:
                AdminCmd::CreateToken {
                    name,
                    scope,
                    user,
                    database_url,
                    config,
                },
        } => {
            let settings = settings(config, database_url, None)?;
            let (name, scope) = firebreak_server::people::service::parse_new_token(&name, &scope)
                .map_err(|err| anyhow!(err.message))?;
            let store = firebreak_server::open_store(&settings).await?;
            let Some(owner) = store.user_by_email(&user).await? else {
                store.close().await;
                bail!(
                    "there is no user with the email {user}; create one with `firebreak admin create-user`"
                );
            };
            let created = store
                .create_token(&name, scope, Some(&owner), firebreak_store::clock::now())
                .await?;
            store.close().await;
            println!("{}", created.secret);
            Ok(())
        }
        Cmd::Admin {
            command:
                AdminCmd::Backup {
                    file,
                    database_url,
                    config,
                },
        } => {
            let settings = settings(config, database_url, None)?;
            let store = firebreak_server::open_store(&settings).await?;
            let done = store.backup_to(&file).await;
            store.close().await;
            done?;
            eprintln!("Backed up to {}", file.display());
            Ok(())
        }
        Cmd::Admin {
            command:
                AdminCmd::Restore {
                    file,
                    database_url,
                    config,
                },
        } => {
            let settings = settings(config, database_url, None)?;
            let report = firebreak_store::restore(&file, settings.database_url.expose()).await?;
            eprintln!(
                "Restored {}: {} incidents, {} events, every chain verified.",
                file.display(),
                report.n_incidents,
                report.n_events
            );
            Ok(())
        }
        Cmd::Admin {
            command:
                AdminCmd::CreateUser {
                    email,
                    name,
                    role,
                    time_zone,
                    database_url,
                    config,
                },
        } => {
            let settings = settings(config, database_url, None)?;
            let person = firebreak_core::person::parse_person(firebreak_core::person::RawPerson {
                email: Some(email),
                name: Some(name),
                time_zone: Some(time_zone),
                role: Some(role),
            })
            .map_err(|errors| {
                let text: Vec<String> = errors
                    .0
                    .iter()
                    .map(|(field, message)| format!("{field}: {message}"))
                    .collect();
                anyhow!(text.join("; "))
            })?;
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from stdin")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let mut errors = firebreak_core::FieldErrors::default();
            firebreak_core::person::check_password(&mut errors, "password", password);
            if let Some(message) = errors.0.values().next() {
                bail!("password: {message}");
            }
            let hash = firebreak_server::auth::hash_password(password)
                .map_err(|err| anyhow!(err.message))?;
            let store = firebreak_server::open_store(&settings).await?;
            let created = store
                .create_user(&person, &hash, firebreak_store::clock::now())
                .await;
            store.close().await;
            let user = created?;
            eprintln!(
                "Created {} <{}> ({}).",
                user.name,
                user.email,
                user.role.as_str()
            );
            Ok(())
        }
        Cmd::Config {
            command: ConfigCmd::Example,
        } => {
            print!("{}", firebreak_server::settings::EXAMPLE);
            Ok(())
        }
        Cmd::Openapi => {
            print!("{}", firebreak_server::openapi::document());
            Ok(())
        }
        Cmd::Import { command } => {
            let (vendor, from, key, api_url, apply) = match command {
                ImportCmd::Pagerduty {
                    from,
                    api_token,
                    api_url,
                    apply,
                } => (
                    firebreak_server::imports::Vendor::PagerDuty,
                    from,
                    api_token,
                    api_url,
                    apply,
                ),
                ImportCmd::Opsgenie {
                    from,
                    api_key,
                    api_url,
                    apply,
                } => (
                    firebreak_server::imports::Vendor::Opsgenie,
                    from,
                    api_key,
                    api_url,
                    apply,
                ),
            };
            crate::import::run(
                (&args.url, args.token.as_deref(), args.json),
                vendor,
                (from, key, api_url),
                apply,
            )
            .await
        }
        command => {
            crate::commands::client_command(&args.url, args.token.as_deref(), args.json, command)
                .await
        }
    }
}

async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    init_tracing(&settings.log);
    let fd_limit = firebreak_server::listen::raise_fd_limit();
    let wanted = settings.limits.max_connections + settings.limits.reserved_connections + 256;
    if (wanted as u64) > fd_limit {
        tracing::warn!(
            fd_limit,
            wanted,
            "the open-file limit is below [limits] max_connections + reserved_connections + 256; \
             raise it (ulimit -n) or lower max_connections"
        );
    }
    let addr: SocketAddr = settings
        .listen
        .parse()
        .with_context(|| format!("listen address {:?} is not host:port", settings.listen))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let store = firebreak_server::open_store(&settings).await?;
    let url = if settings.public_url.is_empty() {
        format!("http://{local}")
    } else {
        settings.public_url.clone()
    };
    if demo {
        if firebreak_server::demo::load(&store, &settings).await? {
            println!("Loaded demo incidents.");
        }
        let login = firebreak_server::demo::login(&store).await?;
        println!();
        println!("  Open {url}/ and sign in:");
        println!("    email:    {}", login.email);
        println!("    password: {}", login.password);
        println!("  (a new password is made on every start with --demo)");
        println!();
        println!("Admin token (shown once): {}", login.token);
        let exe = std::env::current_exe()
            .map(|it| it.display().to_string())
            .unwrap_or_else(|_| "firebreak".into());
        println!(
            "Try: FIREBREAK_URL={url} FIREBREAK_TOKEN={} {exe} incidents",
            login.token
        );
    }
    if settings.status_page_only {
        println!(
            "Serving only the public status page at {url}/status  (database: {})",
            store.backend().as_str()
        );
        return firebreak_server::serve_with_store(settings, store, listener, shutdown_signal())
            .await;
    }
    if store.users().await?.is_empty() {
        println!(
            "No one can sign in yet. Create the first admin (password from stdin):\n  \
             firebreak admin create-user --email you@example.com --name \"Your Name\" --role admin"
        );
    }
    println!(
        "Firebreak is listening on {url}  (database: {})",
        store.backend().as_str()
    );
    firebreak_server::serve_with_store(settings, store, listener, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `2026-11-21T09:12:03.123456Z` → `2026-11-21 09:12:03Z`, enough for a terminal.
pub(crate) fn short_time(value: &Value) -> String {
    match value.as_str() {
        Some(time) if time.len() >= 19 => format!("{} {}Z", &time[..10], &time[11..19]),
        _ => text(value),
    }
}

pub(crate) fn path_part(text: &str) -> String {
    text.chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '-' || *ch == '_')
        .collect()
}

/// Percent-encodes a query value or a path segment (an email keeps its `@` meaning).
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("db down & slow"), "db%20down%20%26%20slow");
        assert_eq!(
            encode("investigating,identified"),
            "investigating,identified"
        );
    }
}
