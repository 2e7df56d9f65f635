//! The admin page that runs an import: a PagerDuty or Opsgenie API key (or saved API JSON) in,
//! the plan out — every object as exact, approximated or skipped, each schedule's proof — and,
//! with Apply, what was made.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use firebreak_core::Role;
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::imports::report::SECTIONS;
use crate::imports::{Source, Vendor, run};
use crate::settings::Secret;
use crate::ui::{Chrome, UiForm, UiResult, Viewer, render};

pub struct Row {
    pub id: String,
    pub name: String,
    /// exact, approximated, skipped.
    pub fidelity: String,
    pub notes: Vec<String>,
    /// What applying did (empty when only planned).
    pub outcome: String,
}

pub struct Section {
    pub title: String,
    pub rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    chrome: Chrome,
    csrf: String,
    /// `pagerduty` or `opsgenie`.
    vendor: String,
    vendor_name: String,
    api_url: String,
    error: Option<String>,
    applied: bool,
    sections: Vec<Section>,
}

pub async fn page(State(_): State<AppState>, viewer: Viewer) -> UiResult<Response> {
    viewer.0.require(Role::Admin)?;
    Ok(render(&ImportPage {
        chrome: viewer.chrome("import"),
        csrf: viewer.csrf(),
        vendor: "pagerduty".into(),
        vendor_name: "PagerDuty".into(),
        api_url: String::new(),
        error: None,
        applied: false,
        sections: Vec::new(),
    }))
}

#[derive(Deserialize)]
pub struct ImportForm {
    /// `pagerduty` or `opsgenie`.
    #[serde(default)]
    vendor: String,
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    api_url: String,
    #[serde(default)]
    account: String,
    /// `plan` or `apply`.
    #[serde(default)]
    action: String,
}

/// The plan (and outcomes) as rows, one section per kind of object.
fn sections(answer: &Value, vendor: &str) -> Vec<Section> {
    let applied = answer["applied"].as_array().cloned().unwrap_or_default();
    SECTIONS
        .iter()
        .map(|(section, label)| Section {
            title: section.replace('_', " "),
            rows: answer["plan"][section]
                .as_array()
                .into_iter()
                .flatten()
                .map(|entry| {
                    let id = entry["id"].as_str().unwrap_or("").to_string();
                    let mut notes: Vec<String> = entry["notes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|it| it.as_str().map(String::from))
                        .chain(entry["why"].as_str().map(String::from))
                        .collect();
                    if let Some(compared) = entry["compared"].as_object() {
                        let found = compared["differences"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default();
                        if found.is_empty() {
                            notes.push(format!(
                                "on call matches {vendor}'s rendering from {} to {}",
                                compared["from"].as_str().unwrap_or(""),
                                compared["to"].as_str().unwrap_or("")
                            ));
                        }
                        notes.extend(found.iter().map(|it| {
                            format!(
                                "differs {} → {}: Firebreak {}, {vendor} {}",
                                it["start"].as_str().unwrap_or(""),
                                it["end"].as_str().unwrap_or(""),
                                it["firebreak"].as_str().unwrap_or("nobody"),
                                it["vendor"].as_str().unwrap_or("nobody")
                            )
                        }));
                    }
                    let done = applied
                        .iter()
                        .find(|it| it["section"] == *section && it["id"] == id.as_str());
                    if let Some(why) = done.and_then(|it| it["why"].as_str()) {
                        notes.push(why.to_string());
                    }
                    Row {
                        name: entry[label].as_str().unwrap_or("").to_string(),
                        fidelity: entry["fidelity"].as_str().unwrap_or("").to_string(),
                        notes,
                        outcome: done
                            .and_then(|it| it["outcome"].as_str())
                            .unwrap_or("")
                            .to_string(),
                        id,
                    }
                })
                .collect(),
        })
        .collect()
}

pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields: form }: UiForm<ImportForm>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let vendor = Vendor::parse(&form.vendor).unwrap_or(Vendor::PagerDuty);
    let api_url = form.api_url.trim().to_string();
    let source = if form.account.trim().is_empty() {
        Ok(Source::Api {
            key: Secret::new(form.api_key.trim()),
            api_url: if api_url.is_empty() {
                vendor.default_url().to_string()
            } else {
                api_url.clone()
            },
        })
    } else {
        serde_json::from_str(&form.account)
            .map(Source::Saved)
            .map_err(|err| format!("the saved account is not JSON: {err}"))
    };
    let apply = form.action == "apply";
    let answer = match source {
        Ok(source) => run(&state, &viewer.0, vendor, source, apply)
            .await
            .map_err(|err| {
                let fields: Vec<String> = err.fields.values().cloned().collect();
                if fields.is_empty() {
                    err.message
                } else {
                    fields.join("; ")
                }
            }),
        Err(why) => Err(why),
    };
    let (error, sections) = match &answer {
        Ok(answer) => (None, sections(answer, vendor.name())),
        Err(why) => (Some(why.clone()), Vec::new()),
    };
    Ok(render(&ImportPage {
        chrome: viewer.chrome("import"),
        csrf: viewer.csrf(),
        vendor: vendor.slug().into(),
        vendor_name: vendor.name().into(),
        api_url,
        error,
        applied: apply && answer.is_ok(),
        sections,
    }))
}
