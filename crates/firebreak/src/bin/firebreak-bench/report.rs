//! The results table: every figure of this build (its median round), its fraction of the
//! ceiling measured in the same run, the baseline's figure from the same run and the ratio
//! of the two, beside DESIGN.md §5's bar for the backend.

use serde_json::Value;

use super::{chat, retention, room, verdict};

/// Which ceiling a figure is a fraction of.
#[derive(Clone, Copy)]
enum Ceiling {
    /// `/healthz` through the same stack, same clients (requests per second).
    Http,
    /// Raw batched inserts of the same rows (commands per second).
    Storage,
}

/// One row: how to read its figure from a binary's results, how to show it, and its bar.
struct Row {
    name: &'static str,
    /// The figure compared (ratio, ceiling, bar).
    figure: fn(&Value) -> Option<f64>,
    /// The cell text for one binary's results.
    cell: fn(&Value) -> String,
    /// Higher is better (throughput) or lower is better (latency, memory).
    higher_is_better: bool,
    ceiling: Option<Ceiling>,
    /// The bar on SQLite and on PostgreSQL, in words and as a check of one binary's results.
    bar: fn(&str) -> &'static str,
    meets: fn(&Value, &str) -> bool,
}

fn num(value: &Value) -> Option<f64> {
    value.as_f64()
}

fn median<'a>(results: &'a Value, phase: &str) -> &'a Value {
    &results[phase]["median"]
}

fn throughput_cell(round: &Value) -> String {
    if round.is_null() {
        return "—".into();
    }
    format!(
        "{:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
        round["per_second"].as_f64().unwrap_or(f64::NAN),
        round["p50_ms"].as_f64().unwrap_or(f64::NAN),
        round["p99_ms"].as_f64().unwrap_or(f64::NAN)
    )
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "HTTP ceiling: `/healthz`, same stack and clients",
            figure: |it| num(&median(it, "http_ceiling")["per_second"]),
            cell: |it| throughput_cell(median(it, "http_ceiling")),
            higher_is_better: true,
            ceiling: None,
            bar: |_| "— (reference)",
            meets: |_, _| true,
        },
        Row {
            name: "incident commands (append event + outbox, durable)",
            figure: |it| num(&median(it, "commands")["per_second"]),
            cell: |it| throughput_cell(median(it, "commands")),
            higher_is_better: true,
            ceiling: Some(Ceiling::Storage),
            bar: |backend| {
                if backend == "sqlite" {
                    "≥ 10,000/s, p99 < 10 ms"
                } else {
                    "≥ 6,000/s, p99 < 20 ms"
                }
            },
            meets: |it, backend| {
                let round = median(it, "commands");
                let (rate, p99) = (
                    round["per_second"].as_f64().unwrap_or(0.0),
                    round["p99_ms"].as_f64().unwrap_or(f64::MAX),
                );
                if backend == "sqlite" {
                    rate >= 10_000.0 && p99 < 10.0
                } else {
                    rate >= 6_000.0 && p99 < 20.0
                }
            },
        },
        Row {
            name: "timeline page of 100 at 10,000 events, 8 clients",
            figure: |it| num(&median(it, "timeline_page_100")["p99_ms"]),
            cell: |it| throughput_cell(median(it, "timeline_page_100")),
            higher_is_better: false,
            ceiling: None,
            bar: |_| "p99 < 5 ms",
            meets: |it, _| {
                median(it, "timeline_page_100")["p99_ms"]
                    .as_f64()
                    .is_some_and(|p99| p99 < 5.0)
            },
        },
        Row {
            name: "status page `/status` (HTML, from memory)",
            figure: |it| num(&median(it, "status_page")["per_second"]),
            cell: |it| throughput_cell(median(it, "status_page")),
            higher_is_better: true,
            ceiling: Some(Ceiling::Http),
            bar: |_| "≥ 50 % of the HTTP ceiling and ≥ 40,000/s",
            meets: |it, _| public_page_meets(it, "status_page"),
        },
        Row {
            name: "status page `summary.json` (from memory)",
            figure: |it| num(&median(it, "summary_json")["per_second"]),
            cell: |it| throughput_cell(median(it, "summary_json")),
            higher_is_better: true,
            ceiling: Some(Ceiling::Http),
            bar: |_| "≥ 50 % of the HTTP ceiling and ≥ 40,000/s",
            meets: |it, _| public_page_meets(it, "summary_json"),
        },
        Row {
            name: "`summary.json` with the database gone (PostgreSQL)",
            figure: |it| num(&median(it, "summary_json_database_gone")["per_second"]),
            cell: |it| throughput_cell(median(it, "summary_json_database_gone")),
            higher_is_better: true,
            ceiling: Some(Ceiling::Http),
            bar: |_| "served, none failed",
            meets: |it, _| {
                let round = median(it, "summary_json_database_gone");
                round.is_null() || round["failed"] == 0
            },
        },
        Row {
            name: "alert ingest via `/v2/enqueue`, each a new alert paged in its transaction",
            figure: |it| num(&it["paging"]["ingest"]["median"]["per_second"]),
            cell: |it| throughput_cell(&it["paging"]["ingest"]["median"]),
            higher_is_better: true,
            ceiling: Some(Ceiling::Http),
            bar: |_| "— (info)",
            meets: |_, _| true,
        },
        Row {
            name: "alert → page queued, paced (latency from when each was due)",
            figure: |it| num(&it["paging"]["steady"]["p99_ms"]),
            cell: |it| {
                let steady = &it["paging"]["steady"];
                format!(
                    "{:.0}/s offered, {:.0}/s achieved, p50 {:.2} ms, p99 {:.2} ms, {} failed",
                    steady["offered_per_second"].as_f64().unwrap_or(f64::NAN),
                    steady["achieved_per_second"].as_f64().unwrap_or(f64::NAN),
                    steady["p50_ms"].as_f64().unwrap_or(f64::NAN),
                    steady["p99_ms"].as_f64().unwrap_or(f64::NAN),
                    steady["failed"]
                )
            },
            higher_is_better: false,
            ceiling: None,
            bar: |backend| {
                if backend == "sqlite" {
                    "2,000 alerts/s paced, p99 < 50 ms"
                } else {
                    "1,000 alerts/s paced, p99 < 100 ms"
                }
            },
            meets: |it, backend| {
                let steady = &it["paging"]["steady"];
                let offered = steady["offered_per_second"].as_f64().unwrap_or(0.0);
                let achieved = steady["achieved_per_second"].as_f64().unwrap_or(0.0);
                let p99 = steady["p99_ms"].as_f64().unwrap_or(f64::MAX);
                let (rate, limit) = if backend == "sqlite" {
                    (2_000.0, 50.0)
                } else {
                    (1_000.0, 100.0)
                };
                offered >= rate && achieved >= 0.99 * rate && p99 < limit && steady["failed"] == 0
            },
        },
        Row {
            name: "escalation lateness, 100,000 pending timers, 1,000 due",
            figure: |it| num(&it["paging"]["escalation"]["lateness_max_ms"]),
            cell: |it| {
                let escalation = &it["paging"]["escalation"];
                format!(
                    "{} escalated; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                    escalation["escalated"],
                    escalation["lateness_p50_ms"].as_f64().unwrap_or(f64::NAN),
                    escalation["lateness_p99_ms"].as_f64().unwrap_or(f64::NAN),
                    escalation["lateness_max_ms"].as_f64().unwrap_or(f64::NAN)
                )
            },
            higher_is_better: false,
            ceiling: None,
            bar: |backend| {
                if backend == "sqlite" {
                    "max < 100 ms"
                } else {
                    "max < 250 ms"
                }
            },
            meets: |it, backend| {
                let escalation = &it["paging"]["escalation"];
                let max = escalation["lateness_max_ms"].as_f64().unwrap_or(f64::MAX);
                let limit = if backend == "sqlite" { 100.0 } else { 250.0 };
                max < limit && escalation["escalated"] == 1000
            },
        },
        Row {
            name: "idle RSS",
            figure: |it| num(&it["idle_rss_mib"]),
            cell: |it| format!("{:.1} MiB", it["idle_rss_mib"].as_f64().unwrap_or(f64::NAN)),
            higher_is_better: false,
            ceiling: None,
            bar: |_| "< 30 MiB",
            meets: |it, _| it["idle_rss_mib"].as_f64().is_some_and(|it| it < 30.0),
        },
        Row {
            name: "RSS after the load",
            figure: |it| num(&it["rss_after_load_mib"]),
            cell: |it| {
                format!(
                    "{:.1} MiB",
                    it["rss_after_load_mib"].as_f64().unwrap_or(f64::NAN)
                )
            },
            higher_is_better: false,
            ceiling: None,
            bar: |_| "< 60 MiB",
            meets: |it, _| {
                it["rss_after_load_mib"]
                    .as_f64()
                    .is_some_and(|it| it < 60.0)
            },
        },
        Row {
            name: "cold start (spawn → first healthy answer)",
            figure: |it| num(&it["cold_start_ms"]),
            cell: |it| format!("{:.0} ms", it["cold_start_ms"].as_f64().unwrap_or(f64::NAN)),
            higher_is_better: false,
            ceiling: None,
            bar: |_| "< 200 ms",
            meets: |it, _| it["cold_start_ms"].as_f64().is_some_and(|it| it < 200.0),
        },
    ]
}

fn public_page_meets(results: &Value, phase: &str) -> bool {
    let rate = median(results, phase)["per_second"].as_f64().unwrap_or(0.0);
    let ceiling = median(results, "http_ceiling")["per_second"]
        .as_f64()
        .unwrap_or(f64::MAX);
    rate >= 40_000.0 && rate >= 0.5 * ceiling && median(results, phase)["failed"] == 0
}

/// `this ÷ baseline`, said so that above 1 is always better.
fn ratio(this: Option<f64>, base: Option<f64>, higher_is_better: bool) -> String {
    match (this, base) {
        (Some(this), Some(base)) if this > 0.0 && base > 0.0 => {
            let better = if higher_is_better {
                this / base
            } else {
                base / this
            };
            format!("{better:.2}×")
        }
        _ => "—".into(),
    }
}

pub fn print_table(result: &Value) {
    let backend = result["backend"].as_str().unwrap_or("?");
    let this = &result["this build"];
    let base = &result["baseline"];
    let n_rounds = this["commands"]["rounds"].as_array().map_or(0, Vec::len);
    println!(
        "\n### {backend} ({} concurrent clients; median of {n_rounds} rounds; load generator on the same machine)\n",
        result["clients"]
    );
    println!(
        "| measure | this build | of the ceiling | baseline, same run | better by | bar (DESIGN.md §5) | |"
    );
    println!("|---|---|---|---|---|---|---|");
    let storage = result["storage_ceiling"]["median"]["per_second"].as_f64();
    if let Some(storage) = storage {
        println!(
            "| storage ceiling: raw batched inserts of the same rows, one commit per {} | {storage:.0} commands/s, commit p99 {:.2} ms | — | — | — | — (reference) | |",
            result["clients"],
            result["storage_ceiling"]["median"]["p99_ms"]
                .as_f64()
                .unwrap_or(f64::NAN)
        );
    }
    for row in rows() {
        let figure = (row.figure)(this);
        if figure.is_none() {
            continue;
        }
        let of_ceiling = match row.ceiling {
            Some(Ceiling::Http) => {
                super::ceiling::fraction(figure, num(&median(this, "http_ceiling")["per_second"]))
            }
            Some(Ceiling::Storage) => super::ceiling::fraction(figure, storage),
            None => "—".into(),
        };
        let (base_cell, better) = if base.is_null() {
            ("—".to_string(), "—".to_string())
        } else {
            (
                (row.cell)(base),
                ratio(figure, (row.figure)(base), row.higher_is_better),
            )
        };
        println!(
            "| {} | {} | {of_ceiling} | {base_cell} | {better} | {} | {} |",
            row.name,
            (row.cell)(this),
            (row.bar)(backend),
            verdict((row.meets)(this, backend))
        );
    }
    println!("\n| measure | result | bar | |\n|---|---|---|---|");
    room::print_rows(&result["room"]);
    retention::print_rows(&result["retention"]);
    chat::print_rows(&result["chat"]);
    for (key, what) in [
        (
            "timeline_full_10000_p99_ms",
            "whole timeline of 10,000 events, p99 of 20",
        ),
        ("verify_10000_ms", "verify a chain of 10,000 events"),
        (
            "sqlite_wal_mib_after_load",
            "SQLite WAL file after the run (MiB)",
        ),
        (
            "outbox_settle_s",
            "outbox backlog settled after the writes (s)",
        ),
    ] {
        if let Some(value) = this[key].as_f64() {
            println!("| {what} | {value:.1} | — | info |");
        }
    }
}
