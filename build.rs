//! Which integration tests the test build marks as ignored. PostgreSQL and browser tests
//! run by default and fail when their server or browser is missing; a developer without
//! them sets `RAABTA_TEST_POSTGRES=off` or `RAABTA_TEST_BROWSER=off`, and those tests are
//! then reported as ignored (never as passed). With `CI=true` the switches do nothing.

fn main() {
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
}
