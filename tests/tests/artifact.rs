//! The deployed artifacts run: each `bootstrap` that `sam build` produced answers one event
//! through the Lambda Runtime API emulator (tests/src/lib.rs), as Lambda would run it. Run by
//! `scripts/check-infra --build` after `sam build`, which sets:
//! - `FSXN_LATTICE_BOOTSTRAPS`: the `.aws-sam/build` directory (one `<Function>/bootstrap` each);
//! - `FSXN_LATTICE_RUNNER`: optional, how to start a foreign-architecture binary, e.g.
//!   `qemu-aarch64-static -L /usr/aarch64-linux-gnu` for the arm64 bootstraps on x86_64.
//!
//! The event is one every function ignores (an FSx CreateBackup call), so no AWS call is made
//! (AWS is pointed at a closed port of 127.0.0.1 anyway): the check is that the binary loads,
//! reads its configuration, and speaks the Runtime API.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use fsxn_lattice_lambda::Function;
use fsxn_lattice_tests::function::{CONFIG, DIRECTORY, event, run_command};
use fsxn_lattice_tests::runtime_api::Outcome;
use std::process::Command;
use std::time::Instant;

#[test]
#[ignore = "needs the bootstraps of `sam build`: run by scripts/check-infra --build"]
fn every_built_bootstrap_answers_an_ignored_event_through_the_runtime_api() {
    let dir = std::path::PathBuf::from(std::env::var("FSXN_LATTICE_BOOTSTRAPS").expect("FSXN_LATTICE_BOOTSTRAPS"));
    let runner: Vec<String> = std::env::var("FSXN_LATTICE_RUNNER")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    for f in Function::ALL {
        let bootstrap = dir.join(f.template_resource()).join("bootstrap");
        assert!(bootstrap.exists(), "{} is missing", bootstrap.display());
        let mut cmd = match runner.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(&bootstrap);
                c
            }
            None => Command::new(&bootstrap),
        };
        cmd.current_dir(&dir);
        let started = Instant::now();
        // The Directory function refuses to start without `[directory]`.
        let config = if f == Function::Directory {
            format!("{CONFIG}{DIRECTORY}")
        } else {
            CONFIG.to_string()
        };
        let r = run_command(
            cmd,
            vec![event("fsx-create-backup.json")],
            &[("FSXN_LATTICE_CONFIG", config.as_str())],
        );
        match r.outcomes.as_slice() {
            [Outcome::Response(v)] => {
                assert_eq!(v["status"], "ignored", "{f:?}: {v}");
                println!(
                    "{}: answered `ignored` in {} ms{}",
                    f.template_resource(),
                    started.elapsed().as_millis(),
                    if runner.is_empty() {
                        String::new()
                    } else {
                        format!(" (under {})", runner.join(" "))
                    }
                );
            }
            other => panic!("{f:?}: {other:?}, exit {:?}\n{}", r.exit, r.logs),
        }
    }
}
