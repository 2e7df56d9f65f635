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

mod chat;
mod paging;
mod retention;
mod room;
#[path = "../../spawn.rs"]
mod spawn;
mod writes;

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
                if round % 5 == 4 {
                    http.post(format!("{url}/api/v1/incidents/{reference}/updates"))
                    .bearer_auth(&token)
                    .json(&json!({"message": format!("update {round}"), "next_update_in_minutes": 30}))
                } else {
                    http.post(format!("{url}/api/v1/incidents/{reference}/timeline"))
                        .bearer_auth(&token)
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

async fn bench_backend(
    binary: &std::path::Path,
    backend: &str,
    database_url: &str,
    options: &Options,
) -> anyhow::Result<Value> {
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
    if options.only_paging {
        let paging = paging::bench_paging(binary, backend, database_url, &token, options).await?;
        return Ok(json!({"backend": backend, "clients": options.clients, "paging": paging}));
    }
    // Cold start: process spawn to first healthy answer, on an already-migrated database.
    let mut starts = Vec::new();
    for _ in 0..5 {
        let (server, took) = start(binary, database_url).await?;
        starts.push(took);
        server.stop().await?;
    }
    starts.sort();
    let cold_start_ms = starts[starts.len() / 2].as_secs_f64() * 1000.0;

    let (server, _) = start(binary, database_url).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss_mib = server.rss_kib().unwrap_or(0) as f64 / 1024.0;
    let url = server.url.clone();
    let http = reqwest::Client::new();

    let Writes {
        commands,
        reads,
        outbox_settle_s,
        big_ref,
    } = writes_and_reads(&http, (&url, &token), backend, options).await?;

    let mut full_reads = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let mut after = 0;
        loop {
            let page: Value = http
                .get(format!(
                    "{url}/api/v1/incidents/{big_ref}/timeline?after={after}&limit=1000"
                ))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            match page["next_cursor"]
                .as_str()
                .and_then(|it| it.parse::<i64>().ok())
            {
                Some(next) => after = next,
                None => break,
            }
        }
        full_reads.push(started.elapsed().as_micros() as u64);
    }
    let (full_p50, full_p99) = percentiles(&mut full_reads);
    let verify_started = Instant::now();
    let verification: Value = http
        .get(format!("{url}/api/v1/incidents/{big_ref}/timeline/verify"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let verify_ms = verify_started.elapsed().as_secs_f64() * 1000.0;
    if verification["valid"] != json!(true) {
        bail!("the chain did not verify after the benchmark: {verification}");
    }
    // The public status page: a few components and a published incident, then many readers
    // on keep-alive connections, as during an outage.
    let mut first_component = String::new();
    for name in ["Website", "API", "Checkout", "Search", "Email delivery"] {
        let component: Value = http
            .post(format!("{url}/api/v1/status/components"))
            .bearer_auth(&token)
            .json(&json!({"name": name}))
            .send()
            .await?
            .json()
            .await?;
        if first_component.is_empty() {
            first_component = component["id"].as_str().unwrap_or("").to_string();
        }
    }
    http.post(format!("{url}/api/v1/status/incidents"))
        .bearer_auth(&token)
        .json(
            &json!({"name": "Elevated errors on the website", "impact": "major",
            "body": "We are investigating elevated error rates.",
            "components": {first_component: "partial_outage"}}),
        )
        .send()
        .await?
        .error_for_status()?;
    let public_page = |path: &'static str| {
        let url = url.clone();
        let make: MakeRequest = Arc::new(move |http: &reqwest::Client, _: usize, _: usize| {
            http.get(format!("{url}{path}"))
        });
        make
    };
    println!(
        "[{backend}] status page: /status, {} clients on keep-alive connections for 5 s",
        options.clients
    );
    let status_page = run_rounds(
        backend,
        options.rounds,
        options.clients,
        Duration::from_secs(5),
        public_page("/status"),
    )
    .await;
    println!("[{backend}] status page: /status/api/v2/summary.json");
    let summary_json = run_rounds(
        backend,
        options.rounds,
        options.clients,
        Duration::from_secs(5),
        public_page("/status/api/v2/summary.json"),
    )
    .await;
    // On PostgreSQL: take the database away and read the page again.
    let db_gone = match database_url.strip_prefix("postgres://") {
        Some(_) => {
            use sqlx::Connection;
            let name = database_url.rsplit('/').next().unwrap_or("").to_string();
            let admin_url = database_url.replace(&format!("/{name}"), "/postgres");
            let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
            for sql in [
                format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"),
                format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ),
            ] {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await?;
            }
            println!("[{backend}] status page with the database gone");
            let gone = run_rounds(
                backend,
                1,
                options.clients,
                Duration::from_secs(5),
                public_page("/status/api/v2/summary.json"),
            )
            .await;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"
            )))
            .execute(&mut admin)
            .await?;
            Some(gone)
        }
        None => None,
    };
    let loaded_rss_mib = server.rss_kib().unwrap_or(0) as f64 / 1024.0;
    // The SQLite write-ahead log should stay bounded under sustained writes.
    let wal_mib = database_url
        .strip_prefix("sqlite:")
        .and_then(|path| std::fs::metadata(format!("{path}-wal")).ok())
        .map(|it| it.len() as f64 / (1024.0 * 1024.0));
    server.stop().await?;
    let paging = paging::bench_paging(binary, backend, database_url, &token, options).await?;
    let room = room::bench_room(binary, backend, options).await?;
    let retention = retention::bench_retention(binary, backend, database_url).await?;
    let chat = chat::bench_chat(binary, backend, database_url, &token).await?;

    Ok(json!({
        "chat": chat,
        "paging": paging,
        "room": room,
        "retention": retention,
        "backend": backend,
        "clients": options.clients,
        "commands": commands.to_json(),
        "timeline_page_100": reads.to_json(),
        "timeline_full_10000_p50_ms": full_p50,
        "timeline_full_10000_p99_ms": full_p99,
        "verify_10000_ms": verify_ms,
        "idle_rss_mib": idle_rss_mib,
        "rss_after_load_mib": loaded_rss_mib,
        "sqlite_wal_mib_after_load": wal_mib,
        "outbox_settle_s": outbox_settle_s,
        "status_page": status_page.to_json(),
        "summary_json": summary_json.to_json(),
        "summary_json_database_gone": db_gone.map(|it| it.to_json()),
        "cold_start_ms": cold_start_ms,
    }))
}

fn verdict(ok: bool) -> &'static str {
    if ok { "meets bar" } else { "MISSES bar" }
}

fn print_table(result: &Value) {
    let f = |key: &str| result[key].as_f64().unwrap_or(f64::NAN);
    let at = |phase: &str, which: &str, key: &str| {
        result[phase][which][key].as_f64().unwrap_or(f64::NAN)
    };
    let n_rounds = result["commands"]["rounds"].as_array().map_or(0, Vec::len);
    println!(
        "\n### {} ({} concurrent clients; {n_rounds} rounds each; load generator on the same machine)\n",
        result["backend"].as_str().unwrap_or("?"),
        result["clients"]
    );
    println!("| measure | result | bar | |");
    println!("|---|---|---|---|");
    for which in ["median", "worst"] {
        let (cps, p50, p99) = (
            at("commands", which, "per_second"),
            at("commands", which, "p50_ms"),
            at("commands", which, "p99_ms"),
        );
        println!(
            "| incident commands (append event + outbox, durable), {which} round | {cps:.0}/s, p50 {p50:.2} ms, p99 {p99:.2} ms | ≥ 5,000/s, p99 < 20 ms | {} |",
            verdict(cps >= 5000.0 && p99 < 20.0)
        );
    }
    for which in ["median", "worst"] {
        let (p50, p99) = (
            at("timeline_page_100", which, "p50_ms"),
            at("timeline_page_100", which, "p99_ms"),
        );
        println!(
            "| timeline read at 10,000 events (page of 100, 8 clients), {which} round | p50 {p50:.2} ms, p99 {p99:.2} ms | p99 < 10 ms | {} |",
            verdict(p99 < 10.0)
        );
    }
    println!(
        "| timeline read, all 10,000 events (10 pages of 1,000) | p50 {:.1} ms, p99 {:.1} ms | — | info |",
        f("timeline_full_10000_p50_ms"),
        f("timeline_full_10000_p99_ms")
    );
    println!(
        "| verify chain of 10,000 events | {:.1} ms | — | info |",
        f("verify_10000_ms")
    );
    for (key, what) in [
        ("status_page", "status page `/status`"),
        ("summary_json", "status page `summary.json`"),
        (
            "summary_json_database_gone",
            "`summary.json` with the database gone",
        ),
    ] {
        if result[key].is_null() {
            continue;
        }
        let (rps, p99) = (at(key, "median", "per_second"), at(key, "median", "p99_ms"));
        let failed = result[key]["rounds"].as_array().map_or(0, |rounds| {
            rounds
                .iter()
                .map(|it| it["failed"].as_u64().unwrap_or(0))
                .sum::<u64>()
        });
        println!(
            "| {what}, {} keep-alive clients, median round | {rps:.0}/s, p99 {p99:.2} ms, {failed} failed | ≥ 20,000/s | {} |",
            result["clients"],
            verdict(rps >= 20_000.0 && failed == 0)
        );
    }
    let paging = &result["paging"];
    if !paging.is_null() {
        let ingest = &paging["ingest"]["median"];
        println!(
            "| alert ingest via `/v2/enqueue` (each a new alert, paged in its transaction), {} clients | {:.0}/s, p50 {:.2} ms, p99 {:.2} ms | — | info |",
            result["clients"],
            ingest["per_second"].as_f64().unwrap_or(f64::NAN),
            ingest["p50_ms"].as_f64().unwrap_or(f64::NAN),
            ingest["p99_ms"].as_f64().unwrap_or(f64::NAN)
        );
        let steady = &paging["steady_1000_per_second"];
        let p99 = steady["p99_ms"].as_f64().unwrap_or(f64::NAN);
        let achieved = steady["achieved_per_second"].as_f64().unwrap_or(f64::NAN);
        println!(
            "| alert → page queued, 1,000 alerts/s paced over {} connections (achieved {achieved:.0}/s; latency from when each was due) | p50 {:.2} ms, p99 {p99:.2} ms, {} failed | p99 < 100 ms | {} |",
            result["clients"],
            steady["p50_ms"].as_f64().unwrap_or(f64::NAN),
            steady["failed"],
            verdict(p99 < 100.0 && steady["failed"] == 0 && achieved >= 990.0)
        );
        let escalation = &paging["escalation"];
        let max = escalation["lateness_max_ms"].as_f64().unwrap_or(f64::NAN);
        println!(
            "| escalation lateness, 100,000 pending timers ({} of 1,000 due escalated) | p50 {:.1} ms, p99 {:.1} ms, max {max:.1} ms | < 1 s | {} |",
            escalation["escalated"],
            escalation["lateness_p50_ms"].as_f64().unwrap_or(f64::NAN),
            escalation["lateness_p99_ms"].as_f64().unwrap_or(f64::NAN),
            verdict(max < 1000.0 && escalation["escalated"] == 1000)
        );
    }
    room::print_rows(&result["room"]);
    retention::print_rows(&result["retention"]);
    chat::print_rows(&result["chat"]);
    let rss = f("idle_rss_mib");
    println!(
        "| idle RSS | {rss:.1} MiB (after load: {:.1} MiB) | < 30 MB | {} |",
        f("rss_after_load_mib"),
        verdict(rss < 30.0)
    );
    if let Some(wal) = result["sqlite_wal_mib_after_load"].as_f64() {
        println!("| SQLite WAL file after the run | {wal:.1} MiB | bounded | info |");
    }
    let cold = f("cold_start_ms");
    println!(
        "| cold start (spawn → first healthy answer) | {cold:.0} ms | < 200 ms | {} |",
        verdict(cold < 200.0)
    );
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
    let dir = tempfile::tempdir()?;
    let mut results = Vec::new();
    let sqlite_url = format!("sqlite:{}", dir.path().join("bench.db").display());
    results.push(bench_backend(&binary, "sqlite", &sqlite_url, &options).await?);
    if let Some(admin_url) = &options.postgres {
        let url = fresh_postgres(admin_url, "").await?;
        results.push(bench_backend(&binary, "postgres", &url, &options).await?);
    }
    for result in &results {
        if options.only_chat {
            // Printed as it finished.
            continue;
        }
        if result.get("writes").is_some() {
            writes::print(result);
        } else {
            print_table(result);
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
