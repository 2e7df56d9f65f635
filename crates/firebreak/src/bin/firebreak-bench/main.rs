//! The benchmark runner: starts the real `firebreak` binary on a fresh database and measures
//! what DESIGN.md §5 sets bars for — incident commands per second with p50/p99 latency under
//! concurrent clients (durable commits), timeline reads at 10,000 events, idle RSS and cold
//! start; the public status page under load; and paging — ingest through `/v2/enqueue`,
//! alert-to-page-queued latency at 1,000 alerts/s, and escalation lateness with 100,000
//! pending timers. Prints a table and writes JSON.
//!
//! `cargo run --release -p firebreak --bin firebreak-bench -- [--postgres URL] [--json FILE]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use tokio::process::Child;

mod ceiling;
mod chat;
mod paging;
mod report;
mod retention;
mod room;
#[path = "../../spawn.rs"]
mod spawn;
mod suite;
mod writes;

use suite::Suite;

struct Options {
    postgres: Option<String>,
    json_path: Option<String>,
    clients: usize,
    seconds: u64,
    rounds: usize,
    /// Only the paging scenarios (for working on them).
    only_paging: bool,
    /// Only the room at 100,000 events.
    only_room: bool,
    only_writes: bool,
    /// Only the database size over simulated days.
    only_retention: bool,
    /// Only the chat scenarios.
    only_chat: bool,
    /// A previous release's binary, measured beside this one in the same run (room scenario).
    baseline: Option<std::path::PathBuf>,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        postgres: None,
        json_path: None,
        clients: 64,
        seconds: 10,
        rounds: 3,
        only_paging: false,
        only_room: false,
        only_writes: false,
        only_retention: false,
        only_chat: false,
        baseline: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| anyhow!("{arg} needs a value"));
        match arg.as_str() {
            "--postgres" => options.postgres = Some(value()?),
            "--json" => options.json_path = Some(value()?),
            "--clients" => options.clients = value()?.parse()?,
            "--seconds" => options.seconds = value()?.parse()?,
            "--rounds" => options.rounds = value()?.parse::<usize>()?.max(1),
            "--only-paging" => options.only_paging = true,
            "--only-room" => options.only_room = true,
            "--only-writes" => options.only_writes = true,
            "--only-retention" => options.only_retention = true,
            "--only-chat" => options.only_chat = true,
            "--baseline" => options.baseline = Some(value()?.into()),
            "-h" | "--help" => {
                println!(
                    "firebreak-bench [--postgres postgres://…/db] [--json FILE] [--clients 64] [--seconds 10] [--rounds 3] [--only-paging | --only-room | --only-retention | --only-writes | --only-chat] [--baseline PREVIOUS_FIREBREAK_BINARY]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(options)
}

fn firebreak_binary() -> anyhow::Result<std::path::PathBuf> {
    let path = std::env::current_exe()?.with_file_name("firebreak");
    if !path.exists() {
        bail!(
            "{} not found; build it with `cargo build --release -p firebreak`",
            path.display()
        );
    }
    Ok(path)
}

struct Server {
    child: Child,
    url: String,
}

async fn start(binary: &std::path::Path, database_url: &str) -> anyhow::Result<(Server, Duration)> {
    start_with(binary, database_url, &[]).await
}

async fn start_with(
    binary: &std::path::Path,
    database_url: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<(Server, Duration)> {
    let started = Instant::now();
    let (child, url) = spawn::start_server_with(binary, database_url, env).await?;
    let http = reqwest::Client::new();
    let response = http.get(format!("{url}/healthz")).send().await?;
    if !response.status().is_success() {
        bail!("healthz answered {}", response.status());
    }
    Ok((Server { child, url }, started.elapsed()))
}

impl Server {
    async fn stop(mut self) -> anyhow::Result<()> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }

    fn rss_kib(&self) -> Option<u64> {
        self.status_kib("VmRSS:")
    }

    /// A `kB` line of the server's `/proc/<pid>/status` (`VmRSS:`, `VmHWM:`).
    fn status_kib(&self, field: &str) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|it| it.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

/// Waits until the server's outbox backlog is empty; how long that took, in seconds.
async fn outbox_settled(http: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<f64> {
    settled(http, (url, token), &["firebreak_outbox_pending"]).await
}

/// Waits until every one of these `/metrics` gauges is zero; how long that took, in seconds.
async fn settled(
    http: &reqwest::Client,
    (url, token): (&str, &str),
    gauges: &[&str],
) -> anyhow::Result<f64> {
    let settle_started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    loop {
        ticks.tick().await;
        let metrics = http
            .get(format!("{url}/metrics"))
            .bearer_auth(token)
            .send()
            .await?
            .text()
            .await?;
        let mut pending = 0;
        for gauge in gauges {
            pending += metrics
                .lines()
                .find_map(|line| line.strip_prefix(&format!("{gauge} ")))
                .and_then(|it| it.trim().parse::<i64>().ok())
                .with_context(|| format!("{gauge} in /metrics"))?;
        }
        if pending == 0 {
            return Ok(settle_started.elapsed().as_secs_f64());
        }
    }
}

/// p50 and p99 in milliseconds of latencies in microseconds.
fn percentiles(latencies: &mut [u64]) -> (f64, f64) {
    if latencies.is_empty() {
        return (0.0, 0.0);
    }
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)] as f64 / 1000.0
    };
    (at(0.50), at(0.99))
}

/// Builds request number `round` of client `client_idx`.
type MakeRequest =
    Arc<dyn Fn(&reqwest::Client, usize, usize) -> reqwest::RequestBuilder + Send + Sync>;

struct Load {
    n_ok: usize,
    n_failed: usize,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

/// One load round, summarized.
#[derive(Clone, Copy, Debug)]
struct Round {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    n_ok: usize,
    n_failed: usize,
}

/// Rounds sorted by p99: tail latency on a small shared machine varies from run to run, so
/// the report gives the median round and the worst one rather than a single sample.
struct Rounds(Vec<Round>);

impl Rounds {
    fn median(&self) -> Round {
        self.0[self.0.len() / 2]
    }

    fn worst(&self) -> Round {
        self.0[self.0.len() - 1]
    }

    fn to_json(&self) -> Value {
        let round = |it: Round| json!({"per_second": it.per_second, "p50_ms": it.p50_ms, "p99_ms": it.p99_ms, "ok": it.n_ok, "failed": it.n_failed});
        json!({
            "median": round(self.median()),
            "worst": round(self.worst()),
            "rounds": self.0.iter().copied().map(round).collect::<Vec<_>>(),
        })
    }
}

async fn run_rounds(
    backend: &str,
    n_rounds: usize,
    clients: usize,
    duration: Duration,
    make: MakeRequest,
) -> Rounds {
    let mut rounds = Vec::new();
    for _ in 0..n_rounds.max(1) {
        let mut load = run_load(clients, duration, make.clone()).await;
        let (p50_ms, p99_ms) = percentiles(&mut load.latencies_us);
        let per_second = load.n_ok as f64 / load.elapsed.as_secs_f64();
        println!(
            "[{backend}]   round: {per_second:.0}/s, p50 {p50_ms:.2} ms, p99 {p99_ms:.2} ms, {} failed",
            load.n_failed
        );
        rounds.push(Round {
            per_second,
            p50_ms,
            p99_ms,
            n_ok: load.n_ok,
            n_failed: load.n_failed,
        });
    }
    rounds.sort_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms));
    Rounds(rounds)
}

/// `clients` tasks send requests built by `make` for `duration`.
async fn run_load(clients: usize, duration: Duration, make: MakeRequest) -> Load {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .expect("client");
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for client_idx in 0..clients {
        let http = http.clone();
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n_failed = 0;
            let mut round = 0;
            while Instant::now() < deadline {
                let sent = Instant::now();
                match make(&http, client_idx, round).send().await {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        latencies.push(sent.elapsed().as_micros() as u64);
                    }
                    _ => n_failed += 1,
                }
                round += 1;
            }
            (latencies, n_failed)
        }));
    }
    let mut load = Load {
        n_ok: 0,
        n_failed: 0,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
    };
    for task in tasks {
        let (latencies, n_failed) = task.await.expect("load task");
        load.n_ok += latencies.len();
        load.n_failed += n_failed;
        load.latencies_us.extend(latencies);
    }
    load.elapsed = started.elapsed();
    load
}

/// What the write and read phases measured.
struct Writes {
    commands: Rounds,
    reads: Rounds,
    outbox_settle_s: f64,
    /// The incident with 10,000 events the reads paged through.
    big_ref: String,
}

/// Incident commands from `options.clients` clients over 50 incidents, then timeline pages
/// of 100 from an incident filled to 10,000 events once the outbox has settled.
async fn writes_and_reads(
    http: &reqwest::Client,
    (url, token): (&str, &str),
    backend: &str,
    options: &Options,
) -> anyhow::Result<Writes> {
    let (url, token) = (url.to_string(), token.to_string());
    let mut references = Vec::new();
    for idx in 0..50 {
        let body: Value = http
            .post(format!("{url}/api/v1/incidents"))
            .bearer_auth(&token)
            .json(&json!({"title": format!("bench incident {idx}"), "severity": "major"}))
            .send()
            .await?
            .json()
            .await?;
        references.push(body["reference"].as_str().context("reference")?.to_string());
    }

    println!(
        "[{backend}] incident commands: {} clients for {} s",
        options.clients, options.seconds
    );
    let commands = {
        let url = url.clone();
        let token = token.clone();
        let references = Arc::new(references.clone());
        let make = Arc::new(
            move |http: &reqwest::Client, client_idx: usize, round: usize| {
                let reference = &references[(client_idx * 7 + round) % references.len()];
                // As a busy client would ask (a release without it answers in full anyway).
                let minimal = ("prefer", "return=minimal");
                if round % 5 == 4 {
                    http.post(format!("{url}/api/v1/incidents/{reference}/updates"))
                    .bearer_auth(&token)
                    .header(minimal.0, minimal.1)
                    .json(&json!({"message": format!("update {round}"), "next_update_in_minutes": 30}))
                } else {
                    http.post(format!("{url}/api/v1/incidents/{reference}/timeline"))
                        .bearer_auth(&token)
                        .header(minimal.0, minimal.1)
                        .json(&json!({"text": format!("note {client_idx}/{round}")}))
                }
            },
        );
        let duration = Duration::from_secs(options.seconds);
        run_rounds(backend, options.rounds, options.clients, duration, make).await
    };

    println!("[{backend}] filling one incident to 10,000 events");
    let big: Value = http
        .post(format!("{url}/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"title": "ten thousand events"}))
        .send()
        .await?
        .json()
        .await?;
    let big_ref = big["reference"].as_str().context("reference")?.to_string();
    let fill = {
        let url = url.clone();
        let token = token.clone();
        let big_ref = big_ref.clone();
        Arc::new(
            move |http: &reqwest::Client, client_idx: usize, round: usize| {
                http.post(format!("{url}/api/v1/incidents/{big_ref}/timeline"))
                    .bearer_auth(&token)
                    .json(&json!({"text": format!("fill {client_idx}/{round}")}))
            },
        )
    };
    loop {
        let incident: Value = http
            .get(format!("{url}/api/v1/incidents/{big_ref}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        if incident["last_seq"].as_i64().unwrap_or(0) >= 10_000 {
            break;
        }
        run_load(32, Duration::from_millis(500), fill.clone()).await;
    }

    // The write phases leave an outbox backlog that the worker settles in the background;
    // measure reads once it has, so the figure is about reading, not about sharing two cores
    // with that work. How long settling took is reported too.
    let outbox_settle_s = outbox_settled(http, &url, &token).await?;
    println!("[{backend}] outbox backlog settled in {outbox_settle_s:.1} s");

    println!("[{backend}] timeline reads: pages of 100 at random offsets, 8 clients for 5 s");
    let reads = {
        let url = url.clone();
        let token = token.clone();
        let big_ref = big_ref.clone();
        let make = Arc::new(
            move |http: &reqwest::Client, client_idx: usize, round: usize| {
                let after = (client_idx * 1_237 + round * 7_919) % 9_900;
                http.get(format!(
                    "{url}/api/v1/incidents/{big_ref}/timeline?after={after}&limit=100"
                ))
                .bearer_auth(&token)
            },
        );
        run_rounds(backend, options.rounds, 8, Duration::from_secs(5), make).await
    };
    Ok(Writes {
        commands,
        reads,
        outbox_settle_s,
        big_ref,
    })
}

/// Fresh databases for one backend: SQLite files in a temporary directory, or PostgreSQL
/// databases made beside the one `--postgres` names.
struct Databases {
    backend: &'static str,
    dir: tempfile::TempDir,
    admin: Option<String>,
}

impl Databases {
    async fn fresh(&self, name: &str) -> anyhow::Result<String> {
        match (self.backend, &self.admin) {
            ("postgres", Some(admin)) => fresh_postgres(admin, &format!("_{name}")).await,
            _ => Ok(format!(
                "sqlite:{}",
                self.dir.path().join(format!("{name}.db")).display()
            )),
        }
    }
}

/// This build, and the previous release's binary when `--baseline` names one.
fn targets(binary: &std::path::Path, options: &Options) -> Vec<(&'static str, std::path::PathBuf)> {
    let mut targets = vec![("this build", binary.to_path_buf())];
    if let Some(baseline) = &options.baseline {
        targets.push(("baseline", baseline.clone()));
    }
    targets
}

async fn bench_backend(
    binary: &std::path::Path,
    databases: &Databases,
    options: &Options,
) -> anyhow::Result<Value> {
    let backend = databases.backend;
    let database_url = &databases.fresh("bench").await?;
    println!("\n[{backend}] preparing {database_url}");
    let token = spawn::create_admin_token(binary, database_url, "bench")?;
    if options.only_retention {
        let retention = retention::bench_retention(binary, backend, database_url).await?;
        return Ok(json!({"backend": backend, "clients": options.clients, "retention": retention}));
    }
    if options.only_writes {
        let writes = writes::bench_writes(binary, backend, options).await?;
        return Ok(json!({"backend": backend, "clients": options.clients, "writes": writes}));
    }
    if options.only_room {
        let room = room::bench_room(binary, backend, options).await?;
        return Ok(json!({"backend": backend, "clients": options.clients, "room": room}));
    }
    if options.only_chat {
        let chat = chat::bench_chat(binary, backend, database_url, &token).await?;
        println!("\n| measure | result | bar | |\n|---|---|---|---|");
        chat::print_rows(&chat);
        return Ok(json!({"backend": backend, "clients": options.clients, "chat": chat}));
    }
    let targets = targets(binary, options);
    if options.only_paging {
        let mut result = json!({"backend": backend, "clients": options.clients});
        for (idx, (label, binary)) in targets.iter().enumerate() {
            let url = databases.fresh(&format!("paging{idx}")).await?;
            let token = spawn::create_admin_token(binary, &url, "bench")?;
            println!("[{backend}] paging ({label})");
            result[*label] = json!({
                "paging": paging::bench_paging(binary, backend, &url, &token, options).await?
            });
        }
        return Ok(result);
    }
    let storage = ceiling::storage(
        backend,
        &databases.fresh("ceiling").await?,
        options.rounds,
        options.clients,
    )
    .await?;
    // This build and the baseline alternate, each pass on fresh databases, so a machine that
    // speeds up or slows down during the run moves both alike.
    let passes = if targets.len() > 1 { 2 } else { 1 };
    let mut suites: Vec<Suite> = targets.iter().map(|_| Suite::default()).collect();
    for pass in 0..passes {
        for (idx, (label, binary)) in targets.iter().enumerate() {
            println!("\n[{backend}] core scenarios ({label}, pass {})", pass + 1);
            let url = databases.fresh(&format!("core{pass}{idx}")).await?;
            let token = spawn::create_admin_token(binary, &url, "bench")?;
            suites[idx].merge(suite::core_suite(binary, backend, &url, &token, options).await?);
        }
    }
    let mut result = json!({
        "backend": backend,
        "clients": options.clients,
        "storage_ceiling": storage.to_json(),
    });
    for (idx, ((label, binary), suite)) in targets.iter().zip(suites).enumerate() {
        let mut figures = suite.to_json();
        let url = databases.fresh(&format!("paging{idx}")).await?;
        let token = spawn::create_admin_token(binary, &url, "bench")?;
        println!("\n[{backend}] paging ({label})");
        figures["paging"] = paging::bench_paging(binary, backend, &url, &token, options).await?;
        result[*label] = figures;
    }
    result["room"] = room::bench_room(binary, backend, options).await?;
    result["retention"] = retention::bench_retention(binary, backend, database_url).await?;
    result["chat"] = chat::bench_chat(binary, backend, database_url, &token).await?;
    Ok(result)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "meets bar" } else { "MISSES bar" }
}

async fn fresh_postgres(admin_url: &str, suffix: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let name = format!("fbbench_{}{suffix}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&mut conn)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_string())
        .unwrap_or_default();
    Ok(format!("{base}/{name}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    firebreak_integrations::http::install_crypto_provider();
    let options = parse_options()?;
    let binary = firebreak_binary()?;
    let mut results = Vec::new();
    let sqlite = Databases {
        backend: "sqlite",
        dir: tempfile::tempdir()?,
        admin: None,
    };
    results.push(bench_backend(&binary, &sqlite, &options).await?);
    if let Some(admin_url) = &options.postgres {
        let postgres = Databases {
            backend: "postgres",
            dir: tempfile::tempdir()?,
            admin: Some(admin_url.clone()),
        };
        results.push(bench_backend(&binary, &postgres, &options).await?);
    }
    for result in &results {
        if options.only_chat {
            // Printed as it finished.
            continue;
        }
        if result.get("writes").is_some() {
            writes::print(result);
        } else {
            report::print_table(result);
        }
    }
    let report = json!({
        "machine": { "cpus": std::thread::available_parallelism().map(|it| it.get()).unwrap_or(0) },
        "results": results,
    });
    let text = serde_json::to_string_pretty(&report)?;
    match &options.json_path {
        Some(path) => std::fs::write(path, text + "\n")?,
        None => println!("\n{text}"),
    }
    Ok(())
}
