//! `firebreak postmortem INC-n`: print the post-mortem (Markdown), draft it, save a new
//! revision from a file, or move it to review / published.

use std::path::PathBuf;

use anyhow::Context;
use reqwest::Method;
use serde_json::json;

use crate::cli::path_part;
use crate::client::Client;

pub(crate) struct Options {
    pub incident: String,
    pub draft: bool,
    pub save: Option<PathBuf>,
    pub status: Option<String>,
}

pub(crate) async fn command(
    client: &Client,
    as_json: bool,
    options: Options,
) -> anyhow::Result<()> {
    let base = format!("/incidents/{}/postmortem", path_part(&options.incident));
    if options.draft {
        client.call(Method::POST, &base, Some(json!({}))).await?;
    }
    if let Some(path) = &options.save {
        let body = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let current = client.call(Method::GET, &base, None).await?;
        let request = json!({"body": body, "base_revision": current["revision"]});
        client.call(Method::PUT, &base, Some(request)).await?;
    }
    if let Some(status) = &options.status {
        client
            .call(
                Method::POST,
                &format!("{base}/status"),
                Some(json!({ "status": status })),
            )
            .await?;
    }
    let pm = client.call(Method::GET, &base, None).await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&pm).unwrap_or_default());
        return Ok(());
    }
    print!("{}", pm["body"].as_str().unwrap_or(""));
    let warnings = pm["warnings"].as_array().cloned().unwrap_or_default();
    eprintln!(
        "\n[{} · revision {} · {} blameless warning(s)]",
        pm["status"].as_str().unwrap_or("?"),
        pm["revision"],
        warnings.len()
    );
    for warning in warnings {
        eprintln!(
            "  “{}”: {}",
            warning["sentence"].as_str().unwrap_or(""),
            warning["suggestion"].as_str().unwrap_or("")
        );
    }
    Ok(())
}
