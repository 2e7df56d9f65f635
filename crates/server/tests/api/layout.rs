//! The server's layout: features own their folders, and a feature's pages reach what they
//! share with its API through the feature's `service` module, never through a handler module.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|it| it == "rs") {
            out.push(path);
        }
    }
}

/// A module that serves pages: the shared shell under `ui/`, and every feature's page modules.
fn is_pages(relative: &str) -> bool {
    relative.starts_with("ui/")
        || relative.ends_with("/pages.rs")
        || relative.ends_with("_pages.rs")
        || [
            "incidents/room.rs",
            "people/account.rs",
            "status_page/admin.rs",
        ]
        .contains(&relative)
}

/// A module of API handlers: a feature's `api` module (or folder), and the single-purpose
/// handler modules beside it.
const HANDLER_MODULES: &[&str] = &[
    "::api::",
    "::api;",
    "::api as",
    "incidents::actions",
    "incidents::tasks",
    "incidents::timeline",
    "incidents::participation",
    "incidents::freeze",
    "people::tokens",
    "crate::webhooks",
];

#[test]
fn no_page_module_imports_an_api_handler_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut offences = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !is_pages(&relative) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            if HANDLER_MODULES.iter().any(|it| line.contains(it)) {
                offences.push(format!("{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(files.len() > 50, "the walk found the sources");
    assert!(
        offences.is_empty(),
        "pages importing API handlers:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_server_is_organised_by_feature() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for feature in [
        "incidents",
        "postmortems",
        "followups",
        "oncall",
        "paging",
        "people",
        "insights",
        "workflow",
        "status_page",
    ] {
        for module in ["mod.rs", "service.rs"] {
            assert!(
                root.join(feature).join(module).is_file(),
                "{feature}/{module} is missing"
            );
        }
    }
    assert!(
        !root.join("api").exists(),
        "no folder of API handlers by layer"
    );
}
