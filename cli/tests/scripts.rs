//! scripts/test, the README's test command, run with a stand-in `cargo` (and stand-ins for the
//! tools it installs), so its own logic is tested without building the workspace again.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn executable(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs scripts/test with a `cargo` that prints `results` (cargo test's per-binary lines) and
/// exits with `status`. Returns scripts/test's stdout and status.
fn scripts_test(results: &[&str], status: i32) -> (String, Option<i32>) {
    let dir = std::env::temp_dir().join(format!("fsxn-lattice-scripts-test-{}-{status}", std::process::id()));
    let bin = dir.join("bin");
    let tools = dir.join("tools");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(tools.join("policy-sentry/bin")).unwrap();
    let mut cargo = String::from("#!/usr/bin/env bash\necho \"cargo $*\"\n");
    for r in results {
        cargo.push_str(&format!("echo '{r}'\n"));
    }
    cargo.push_str(&format!("echo 'warning: on stderr' >&2\nexit {status}\n"));
    executable(&bin.join("cargo"), &cargo);
    executable(&bin.join("moto_server"), "#!/bin/sh\nexit 0\n");
    executable(&tools.join("policy-sentry/bin/python"), "#!/bin/sh\nexit 0\n");
    let out = Command::new("bash")
        .arg(root().join("scripts/test"))
        .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()))
        .env("FSXN_LATTICE_TOOLS", &tools)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (String::from_utf8(out.stdout).unwrap(), out.status.code())
}

#[test]
fn scripts_test_closes_on_the_totals_and_keeps_cargo_tests_status() {
    let ok = "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.50s";
    let failed = "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s";
    let doc = "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s";

    let (stdout, status) = scripts_test(&[ok, doc], 0);
    assert_eq!(status, Some(0), "{stdout}");
    assert!(
        stdout.starts_with("cargo test --workspace --all-features --locked\n"),
        "{stdout}"
    );
    assert!(stdout.contains(ok), "cargo's own output still shows: {stdout}");
    assert_eq!(stdout.lines().last(), Some("tests: 12 passed, 0 failed"), "{stdout}");

    let (stdout, status) = scripts_test(&[ok, failed, doc], 101);
    assert_eq!(status, Some(101), "cargo test's status: {stdout}");
    assert_eq!(stdout.lines().last(), Some("tests: 15 passed, 2 failed"), "{stdout}");

    // A build that fails before any test runs: no result line, still a total and the status.
    let (stdout, status) = scripts_test(&[], 101);
    assert_eq!(status, Some(101));
    assert_eq!(stdout.lines().last(), Some("tests: 0 passed, 0 failed"), "{stdout}");
}
