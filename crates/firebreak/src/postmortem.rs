//! `firebreak postmortem INC-n`: print the post-mortem (Markdown), draft it, edit it in the
//! user's editor or save a new revision from a file, or move it to review / published.

use std::path::PathBuf;

use anyhow::Context;
use reqwest::Method;
use serde_json::json;

use crate::cli::path_part;
use crate::client::Client;

pub(crate) struct Options {
    pub incident: String,
    pub draft: bool,
    pub edit: bool,
    pub save: Option<PathBuf>,
    pub status: Option<String>,
    pub share: bool,
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
    if options.edit {
        edit(client, &base).await?;
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
    if options.share {
        let public = client
            .call(Method::POST, &format!("{base}/share"), Some(json!({})))
            .await?;
        eprintln!(
            "Shared on the status page: /status/incidents/{}",
            public["id"].as_str().unwrap_or("?")
        );
    }
    let pm = client.call(Method::GET, &base, None).await?;
    if options.edit && !as_json {
        // The text was just on screen; say where it stands.
        print_state(&pm);
        return Ok(());
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&pm).unwrap_or_default());
        return Ok(());
    }
    print!("{}", pm["body"].as_str().unwrap_or(""));
    print_state(&pm);
    Ok(())
}

fn print_state(pm: &serde_json::Value) {
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
}

/// Opens the current text in `$VISUAL` / `$EDITOR` (a command line, run by `sh`, so
/// `code --wait` works) and saves it as a new revision if it changed. A text the server
/// refuses (someone saved in between, say) is kept in a file whose name is printed.
async fn edit(client: &Client, base: &str) -> anyhow::Result<()> {
    let current = client.call(Method::GET, base, None).await?;
    let before = current["body"].as_str().unwrap_or("").to_string();
    let file = tempfile::Builder::new()
        .prefix("firebreak-postmortem-")
        .suffix(".md")
        .tempfile()
        .context("cannot create a file to edit")?;
    std::fs::write(file.path(), &before).context("cannot write the file to edit")?;
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|it| !it.trim().is_empty()))
        .unwrap_or_else(|| "vi".to_string());
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file.path())
        .status()
        .await
        .with_context(|| format!("cannot run the editor ({editor})"))?;
    if !status.success() {
        anyhow::bail!("the editor ({editor}) exited with {status}; nothing was saved");
    }
    let after = std::fs::read_to_string(file.path()).context("cannot read the edited file")?;
    if after == before {
        eprintln!("No change; nothing saved.");
        return Ok(());
    }
    let request = json!({"body": after, "base_revision": current["revision"]});
    if let Err(err) = client.call(Method::PUT, base, Some(request)).await {
        let (_, kept) = file.keep().context("cannot keep the edited file")?;
        anyhow::bail!("{err:#}\nYour text is kept in {}", kept.display());
    }
    Ok(())
}
