//! The layering rules of ARCHITECTURE.md ("What is deliberately absent"), checked on the
//! source text: `domain` and `flow` do no IO, the store knows nothing of the worker, the
//! flows or the admin, the flows nothing of the channels, and the three boundaries (the
//! web admin, the webhooks, the worker) nothing of each other: they share `app.rs`,
//! which knows none of them, and only `application.rs` composes them.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines of code (not comments) under `src/<dir>` that mention any of `forbidden`.
fn offences(dir: &str, forbidden: &[&str], allowed: &[(&str, &str)]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let path = root.join(dir);
    if path.is_dir() {
        rust_files(&path, &mut files);
    } else {
        files.push(path);
    }
    let mut found = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in forbidden {
                let excused = allowed.iter().any(|(f, w)| *f == rel && w == word);
                if code.contains(word) && !excused {
                    found.push(format!("src/{rel}:{}: {word}", n + 1));
                }
            }
        }
    }
    found
}

const IO: &[&str] = &[
    "sqlx",
    "reqwest",
    "axum",
    "tokio",
    "lettre",
    "hyper",
    "std::net",
    "std::fs",
    "std::process",
];

#[test]
fn domain_does_no_io() {
    let found = offences("domain", IO, &[]);
    assert!(found.is_empty(), "IO in domain:\n{}", found.join("\n"));
}

#[test]
fn flow_does_no_io_and_knows_no_channel() {
    let mut forbidden = IO.to_vec();
    forbidden.extend([
        "crate::channel",
        "crate::store",
        "crate::worker",
        "crate::admin",
    ]);
    // Reading the flow files and their texts once, at start (`Library::load`).
    let allowed = [("flow/mod.rs", "std::fs"), ("flow/text.rs", "std::fs")];
    let found = offences("flow", &forbidden, &allowed);
    assert!(found.is_empty(), "flow reaches out:\n{}", found.join("\n"));
}

#[test]
fn store_knows_no_worker_flow_or_admin() {
    let found = offences(
        "store",
        &[
            "crate::worker",
            "crate::flow",
            "crate::admin",
            "crate::console",
        ],
        &[],
    );
    assert!(
        found.is_empty(),
        "store depends upward:\n{}",
        found.join("\n")
    );
}

/// Each boundary's module and what it must not import.
const BOUNDARIES: &[(&str, &[&str])] = &[
    (
        "admin",
        &[
            "crate::worker",
            "crate::webhooks",
            "crate::application",
            "crate::cli",
        ],
    ),
    (
        "worker",
        &[
            "crate::admin",
            "crate::webhooks",
            "crate::application",
            "crate::cli",
        ],
    ),
    (
        "webhooks.rs",
        &[
            "crate::admin",
            "crate::worker",
            "crate::application",
            "crate::cli",
        ],
    ),
    (
        // A channel like the simulator (`console.rs`): it runs the worker's step.
        "webchat",
        &[
            "crate::admin",
            "crate::webhooks",
            "crate::application",
            "crate::cli",
        ],
    ),
    (
        "app.rs",
        &[
            "crate::admin",
            "crate::worker",
            "crate::webhooks",
            "crate::application",
            "crate::cli",
        ],
    ),
];

#[test]
fn admin_webhooks_and_worker_do_not_import_each_other() {
    let mut found = Vec::new();
    for (dir, forbidden) in BOUNDARIES {
        found.extend(offences(dir, forbidden, &[]));
    }
    assert!(
        found.is_empty(),
        "a boundary reaches into another:\n{}",
        found.join("\n")
    );
}

/// An admin page reaches a school's store only through its module's port
/// (`store_port!`), never the whole `TenantStore`.
#[test]
fn admin_pages_use_their_ports() {
    let found = offences(
        "admin",
        &["TenantStore", ".store"],
        &[("admin/mod.rs", ".store")],
    );
    assert!(
        found.is_empty(),
        "an admin page takes the whole store:\n{}",
        found.join("\n")
    );
}
