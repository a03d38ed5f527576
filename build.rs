//! Two build steps:
//!
//! - Which integration tests the test build marks as ignored. PostgreSQL and browser tests
//!   run by default and fail when their server or browser is missing; a developer without
//!   them sets `RAABTA_TEST_POSTGRES=off` or `RAABTA_TEST_BROWSER=off`, and those tests are
//!   then reported as ignored (never as passed). With `CI=true` the switches do nothing.
//! - The flows built into the binary: `$OUT_DIR/embedded_flows.rs` lists every
//!   `flows/*.yaml` (with `templates.yaml`) and `flows/locales/*.ftl` as
//!   `(path relative to flows/, include_str!(absolute path))`, for `flow::EMBEDDED`.
//!   `flows/tests/` (transcripts) is not part of the product and is left out.
//!
//! Rebuilds: every embedded file is named with `rerun-if-changed` (and `include_str!`
//! makes rustc track its contents too), and so is `flows/locales/`, so a new locale file is
//! picked up. `flows/` itself is not named: Cargo scans a named directory recursively, so
//! every edit of a transcript under `flows/tests/` would rebuild the crate. A new flow file
//! is picked up when an existing flow that refers to it is edited; the unit test
//! `flow::tests::embedded_set_is_the_flows_directory` fails if one ever is not.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

type BuildResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BuildResult<()> {
    for var in ["CI", "RAABTA_TEST_POSTGRES", "RAABTA_TEST_BROWSER"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(raabta_skip_postgres)");
    println!("cargo::rustc-check-cfg=cfg(raabta_skip_browser)");
    let ci = matches!(std::env::var("CI").as_deref(), Ok("true" | "1"));
    let off = |var: &str| matches!(std::env::var(var).as_deref(), Ok("off" | "0" | "false"));
    if !ci && off("RAABTA_TEST_POSTGRES") {
        println!("cargo::rustc-cfg=raabta_skip_postgres");
    }
    if !ci && off("RAABTA_TEST_BROWSER") {
        println!("cargo::rustc-cfg=raabta_skip_browser");
    }
    embed_flows()
}

/// The files of one directory with the given extension, sorted by name.
fn files(dir: &Path, ext: &str) -> BuildResult<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|x| x == ext) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn embed_flows() -> BuildResult<()> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("flows");
    let locales = root.join("locales");
    println!("cargo::rerun-if-changed={}", locales.display());
    let mut list = String::from("&[\n");
    for (prefix, dir, ext) in [("", &root, "yaml"), ("locales/", &locales, "ftl")] {
        for path in files(dir, ext)? {
            println!("cargo::rerun-if-changed={}", path.display());
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| format!("{}: the file name is not UTF-8", path.display()))?;
            let abs = path
                .to_str()
                .ok_or_else(|| format!("{}: the path is not UTF-8", path.display()))?;
            writeln!(
                list,
                "    ({:?}, include_str!({abs:?})),",
                format!("{prefix}{name}")
            )?;
        }
    }
    list.push_str("]\n");
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("embedded_flows.rs");
    // Written only when it changes, so an unrelated rerun does not touch it.
    if std::fs::read_to_string(&out).ok().as_deref() != Some(list.as_str()) {
        std::fs::write(&out, list)?;
    }
    Ok(())
}
