//! Incident commands and timeline pages — DESIGN.md §5's write and read bars — for this build
//! and, with `--baseline`, a previous release's binary measured by the same runner in the same
//! run. The two alternate (this, baseline, this, baseline), each pass on its own fresh
//! database, so a machine that speeds up or slows down during the run moves both alike.

use serde_json::{Value, json};

use super::{Options, Round, Rounds, Writes, spawn, start, writes_and_reads};

const PASSES: usize = 2;

pub async fn bench_writes(
    binary: &std::path::Path,
    backend: &str,
    options: &Options,
) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let mut runs = vec![("this build", binary.to_path_buf())];
    if let Some(baseline) = &options.baseline {
        runs.push(("baseline", baseline.clone()));
    }
    let mut rounds: Vec<(Vec<Round>, Vec<Round>)> = vec![(Vec::new(), Vec::new()); runs.len()];
    for pass in 0..PASSES {
        for (idx, (label, binary)) in runs.iter().enumerate() {
            let suffix = format!("_writes{pass}{idx}");
            let database_url = match (backend, &options.postgres) {
                ("postgres", Some(admin)) => super::fresh_postgres(admin, &suffix).await?,
                _ => format!(
                    "sqlite:{}",
                    dir.path().join(format!("{suffix}.db")).display()
                ),
            };
            println!("[{backend}] writes and reads ({label}, pass {})", pass + 1);
            let token = spawn::create_admin_token(binary, &database_url, "bench-writes")?;
            let (server, _) = start(binary, &database_url).await?;
            let http = reqwest::Client::new();
            let Writes {
                commands, reads, ..
            } = writes_and_reads(&http, (&server.url, &token), backend, options).await?;
            server.stop().await?;
            rounds[idx].0.extend(commands.0);
            rounds[idx].1.extend(reads.0);
        }
    }
    let mut results = serde_json::Map::new();
    for ((label, _), (commands, reads)) in runs.iter().zip(rounds) {
        let sorted = |mut it: Vec<Round>| {
            it.sort_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms));
            Rounds(it)
        };
        results.insert(
            label.to_string(),
            json!({
                "commands": sorted(commands).to_json(),
                "timeline_reads": sorted(reads).to_json(),
            }),
        );
    }
    Ok(Value::Object(results))
}

/// The table: this build's median round beside the baseline's.
pub fn print(result: &Value) {
    let writes = &result["writes"];
    let cell = |label: &str, phase: &str| {
        let median = &writes[label][phase]["median"];
        if median.is_null() {
            return "—".to_string();
        }
        format!(
            "{:.0}/s, p50 {:.1} ms, p99 {:.1} ms",
            median["per_second"].as_f64().unwrap_or(0.0),
            median["p50_ms"].as_f64().unwrap_or(0.0),
            median["p99_ms"].as_f64().unwrap_or(0.0)
        )
    };
    println!(
        "\n{} — median round of {} passes each, alternating",
        result["backend"].as_str().unwrap_or(""),
        PASSES
    );
    println!("| measure | this build | baseline, same run |");
    println!("|---|---|---|");
    for (name, phase) in [
        ("incident commands", "commands"),
        ("timeline page of 100 at 10,000 events", "timeline_reads"),
    ] {
        println!(
            "| {name} | {} | {} |",
            cell("this build", phase),
            cell("baseline", phase)
        );
    }
}
