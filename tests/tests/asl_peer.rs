//! The simulation's ASL interpreter (shared/sim/src/stepfunctions.rs) checked against a
//! maintained peer engine, the npm package aws-local-stepfunctions (3.0.0, pinned by
//! tests/tools/local-sfn/package-lock.json, installed by this test with `npm ci` into a cache
//! directory, run by tests/tools/local-sfn/driver.mjs): the deployed definition, the same
//! scripted Lambda results (built from the Rust output type, so a renamed field breaks the
//! test), and the same path, invocations, outcome and output required of both.
//!
//! The peer runs Wait and retry pauses at 0 ms; the interpreter's own virtual time is tested in
//! its unit tests.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use fsxn_lattice_core::step::{Function, StepOutput, StepStatus};
use fsxn_lattice_sim::stepfunctions::{Deployment, Execution, ExecutionOptions, ExecutionStatus, TaskError};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const TOOL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/local-sfn");

/// The peer's install directory, installed once per test process: `npm ci` with the committed
/// lock into `$FSXN_LATTICE_TOOLS/local-sfn` (default `~/.cache/fsxn-lattice/tools`), again
/// whenever the committed lock changes.
fn peer() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let tools = std::env::var_os("FSXN_LATTICE_TOOLS")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/fsxn-lattice/tools"));
        let dir = tools.join("local-sfn");
        std::fs::create_dir_all(&dir).unwrap();
        let lock = std::fs::read(format!("{TOOL}/package-lock.json")).unwrap();
        let installed = dir.join("node_modules/aws-local-stepfunctions/package.json").exists()
            && std::fs::read(dir.join("package-lock.json")).ok().as_deref() == Some(&lock[..]);
        if !installed {
            for f in ["package.json", "package-lock.json"] {
                std::fs::copy(format!("{TOOL}/{f}"), dir.join(f)).unwrap();
            }
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .output()
                .unwrap_or_else(|e| panic!("cannot run npm ({e}): the peer engine test needs Node.js and npm"));
            assert!(
                out.status.success(),
                "npm ci aws-local-stepfunctions: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        dir
    })
}

/// One scripted Lambda result.
#[derive(Clone, Debug)]
enum Scripted {
    Ok(Value),
    Err(&'static str),
}

fn output(function: Function, status: StepStatus) -> Scripted {
    Scripted::Ok(
        serde_json::to_value(StepOutput {
            passes: 1,
            waiting: if status == StepStatus::Waiting {
                vec!["vpce-0123 is pending".into()]
            } else {
                vec![]
            },
            manual_steps: vec!["register the SPN".into()],
            ..StepOutput::new(function, status, None)
        })
        .unwrap(),
    )
}

fn task_error(error_type: &str) -> TaskError {
    TaskError::function(error_type, &format!("{error_type} (scripted)"))
}

/// What both engines report, compared as JSON.
fn summary(
    status: &str,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    path: Vec<String>,
    invocations: Vec<Value>,
) -> Value {
    json!({"status": status, "output": output, "error": error, "cause": cause, "path": path, "invocations": invocations})
}

fn run_interpreter(definition: &Deployment, input: &Value, script: &[Scripted]) -> Value {
    let machine = definition.state_machine().unwrap();
    let mut script: VecDeque<Scripted> = script.iter().cloned().collect();
    let x: Execution =
        machine.execute(
            input.clone(),
            &ExecutionOptions::default(),
            &mut |_| {},
            &mut |_, _| match script.pop_front().expect("a scripted result for every invocation") {
                Scripted::Ok(v) => Ok(v),
                Scripted::Err(e) => Err(task_error(e)),
            },
        );
    assert!(script.is_empty(), "interpreter left results unused: {script:?}");
    summary(
        match x.status {
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
        },
        x.output,
        x.error,
        x.cause,
        x.path,
        x.invocations
            .iter()
            .map(|i| json!({"state": i.state, "function": i.function, "payload": i.payload}))
            .collect(),
    )
}

fn run_peer(definition: &Deployment, input: &Value, script: &[Scripted]) -> Value {
    let results: Vec<Value> = script
        .iter()
        .map(|s| match s {
            Scripted::Ok(v) => json!({"ok": v}),
            Scripted::Err(e) => {
                let t = task_error(e);
                json!({"error": t.error, "cause": t.cause})
            }
        })
        .collect();
    let job = json!({"definition": definition.substituted().unwrap(), "input": input, "results": results});
    let mut child = Command::new("node")
        .arg(format!("{TOOL}/driver.mjs"))
        .env("LOCAL_SFN_DIR", peer())
        .current_dir(peer())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): the peer engine test needs Node.js"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["unused_results"], 0, "peer left results unused: {r}");
    let strings = |v: &Value| v.as_str().map(str::to_string);
    summary(
        r["status"].as_str().unwrap(),
        r.get("output").cloned(),
        strings(&r["error"]),
        strings(&r["cause"]),
        r["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect(),
        r["invocations"].as_array().unwrap().clone(),
    )
}

fn event(name: &str) -> Value {
    fsxn_lattice_tests::function::event(name)
}

/// Runs a scenario in both engines; both must agree; returns the interpreter's summary.
fn both(max_polls: u32, input: Value, script: Vec<Scripted>) -> Value {
    both_deployed(max_polls, false, input, script)
}

/// [`both`], on a stack deployed with a directory (`HasDirectory`) or without.
fn both_deployed(max_polls: u32, directory: bool, input: Value, script: Vec<Scripted>) -> Value {
    let d = Deployment::from_repository()
        .unwrap()
        .with_condition("HasDirectory", directory)
        .with("MaxPolls", max_polls.to_string());
    let ours = run_interpreter(&d, &input, &script);
    let theirs = run_peer(&d, &input, &script);
    assert_eq!(
        ours, theirs,
        "the interpreter (left) and aws-local-stepfunctions (right) disagree"
    );
    ours
}

fn path(summary: &Value) -> Vec<&str> {
    summary["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

fn outcome(summary: &Value) -> (&str, Option<&str>) {
    (summary["status"].as_str().unwrap(), summary["error"].as_str())
}

use Function::{Heal, Provision, PublishAlias};
use StepStatus::{Converged, Ignored, Waiting};

#[test]
fn an_fsx_event_polls_until_available_then_publishes_in_both_engines() {
    let s = both(
        40,
        event("fsx-tag-resource-svm.json"),
        vec![
            output(Provision, Waiting),
            output(Provision, Waiting),
            output(Provision, Converged),
            output(PublishAlias, Converged),
        ],
    );
    assert_eq!(outcome(&s), ("SUCCEEDED", None));
    assert_eq!(
        path(&s),
        [
            "Init",
            "Route",
            "RouteBySource",
            "Provision",
            "Provisioned",
            "PollBudget",
            "WaitForAws",
            "CountPoll",
            "Provision",
            "Provisioned",
            "PollBudget",
            "WaitForAws",
            "CountPoll",
            "Provision",
            "Provisioned",
            "PublishAlias",
            "Published",
            "DirectoryEnabled",
            "Done"
        ]
    );
    assert_eq!(s["output"]["polls"], 2);
    assert_eq!(
        s["invocations"][0]["payload"]["source"], "aws.fsx",
        "the first task gets the event"
    );
    assert_eq!(
        s["invocations"][1]["payload"],
        json!({}),
        "later tasks re-read the world"
    );
}

#[test]
fn the_seed_insufficient_ip_event_heals_first_in_both_engines() {
    let s = both(
        40,
        event("ec2-create-network-interface-insufficient-ips.json"),
        vec![
            output(Heal, Converged),
            output(Provision, Waiting),
            output(Provision, Converged),
            output(PublishAlias, Converged),
        ],
    );
    assert_eq!(outcome(&s), ("SUCCEEDED", None));
    assert_eq!(
        &path(&s)[..7],
        [
            "Init",
            "Route",
            "RouteBySource",
            "Heal",
            "CountHeal",
            "Provision",
            "Provisioned"
        ]
    );
    assert_eq!(s["output"]["heal_attempts"], 1);
    assert_eq!(
        s["invocations"][0]["function"].as_str().unwrap().rsplit(':').next(),
        Some("HealFunction")
    );
}

/// PublishAlias withdrew an alias and left the teardown behind it to infrastructure
/// (`deferred`): back to Provision through the poll budget, then PublishAlias again.
#[test]
fn infrastructure_work_left_by_publish_alias_goes_back_to_provision_in_both_engines() {
    let deferred = |n: usize| match output(PublishAlias, Converged) {
        Scripted::Ok(mut v) => {
            v["deferred"] = json!(n);
            Scripted::Ok(v)
        }
        other => other,
    };
    let s = both(
        40,
        json!({}),
        vec![
            output(Provision, Converged),
            deferred(2),
            output(Provision, Waiting),
            output(Provision, Converged),
            deferred(0),
        ],
    );
    assert_eq!(outcome(&s), ("SUCCEEDED", None));
    assert_eq!(
        path(&s),
        [
            "Init",
            "Route",
            "Provision",
            "Provisioned",
            "PublishAlias",
            "Published",
            "PollBudget",
            "WaitForAws",
            "CountPoll",
            "Provision",
            "Provisioned",
            "PollBudget",
            "WaitForAws",
            "CountPoll",
            "Provision",
            "Provisioned",
            "PublishAlias",
            "Published",
            "DirectoryEnabled",
            "Done"
        ]
    );
    assert_eq!(s["output"]["polls"], 2);
    // The loop is bounded by the same budget as polling: it fails NotReady, not forever.
    let s = both(
        1,
        json!({}),
        vec![
            output(Provision, Converged),
            deferred(1),
            output(Provision, Converged),
            deferred(1),
        ],
    );
    assert_eq!(outcome(&s), ("FAILED", Some("NotReady")));
    assert_eq!(path(&s).last(), Some(&"TimedOut"));
}

#[test]
fn the_poll_budget_runs_out_with_not_ready_in_both_engines() {
    let s = both(
        2,
        json!({}),
        vec![
            output(Provision, Waiting),
            output(Provision, Waiting),
            output(Provision, Waiting),
        ],
    );
    assert_eq!(outcome(&s), ("FAILED", Some("NotReady")));
    assert_eq!(path(&s).last(), Some(&"TimedOut"));
}

#[test]
fn a_lambda_timeout_is_retried_once_then_fails_the_execution_in_both_engines() {
    let s = both(
        40,
        json!({}),
        vec![Scripted::Err("Lambda.Unknown"), Scripted::Err("Lambda.Unknown")],
    );
    assert_eq!(outcome(&s), ("FAILED", Some("ReconcileFailed")));
    assert_eq!(path(&s), ["Init", "Route", "Provision", "Failed"]);
    let s = both(
        40,
        json!({}),
        vec![
            Scripted::Err("Lambda.Unknown"),
            output(Provision, Converged),
            Scripted::Err("Lambda.Unknown"),
            output(PublishAlias, Converged),
        ],
    );
    assert_eq!(outcome(&s), ("SUCCEEDED", None));
}

#[test]
fn transient_and_lambda_service_errors_are_retried_then_succeed_in_both_engines() {
    let s = both(
        40,
        json!({}),
        vec![
            Scripted::Err("Transient"),
            Scripted::Err("Lambda.ServiceException"),
            Scripted::Err("Conflict"),
            Scripted::Err("Lambda.TooManyRequestsException"),
            output(Provision, Converged),
            Scripted::Err("NotReady"),
            Scripted::Err("Lambda.TooManyRequestsException"),
            Scripted::Err("NotReady"),
            output(PublishAlias, Converged),
        ],
    );
    assert_eq!(outcome(&s), ("SUCCEEDED", None));
    assert_eq!(
        path(&s),
        [
            "Init",
            "Route",
            "Provision",
            "Provisioned",
            "PublishAlias",
            "Published",
            "DirectoryEnabled",
            "Done"
        ]
    );
    assert_eq!(s["invocations"].as_array().unwrap().len(), 9);
    // Five retries are the most: the sixth Transient of one entry is caught by States.ALL.
    let s = both(40, json!({}), vec![Scripted::Err("Transient"); 6]);
    assert_eq!(outcome(&s), ("FAILED", Some("ReconcileFailed")));
    // Heal does not retry Conflict (only Provision does): it fails at once.
    let s = both(
        40,
        event("ec2-create-network-interface-insufficient-ips.json"),
        vec![Scripted::Err("Conflict")],
    );
    assert_eq!(path(&s).last(), Some(&"Failed"));
    // An error no retrier matches (InvalidInput) fails at once, too.
    let s = both(40, json!({}), vec![Scripted::Err("InvalidInput")]);
    assert_eq!(path(&s), ["Init", "Route", "Provision", "Failed"]);
}

#[test]
fn capacity_exhausted_heals_within_the_budget_then_cannot_heal_in_both_engines() {
    let s = both(
        40,
        json!({}),
        vec![
            Scripted::Err("CapacityExhausted"),
            output(Heal, Converged),
            Scripted::Err("CapacityExhausted"),
            output(Heal, Converged),
            Scripted::Err("CapacityExhausted"),
        ],
    );
    assert_eq!(outcome(&s), ("FAILED", Some("CapacityExhausted")));
    assert_eq!(
        path(&s),
        [
            "Init",
            "Route",
            "Provision",
            "HealBudget",
            "ResetForHeal",
            "Heal",
            "CountHeal",
            "Provision",
            "HealBudget",
            "ResetForHeal",
            "Heal",
            "CountHeal",
            "Provision",
            "HealBudget",
            "CannotHeal"
        ]
    );
    // Heal itself out of capacity: straight to CannotHeal.
    let s = both(
        40,
        event("ec2-create-network-interface-insufficient-ips.json"),
        vec![Scripted::Err("CapacityExhausted")],
    );
    assert_eq!(path(&s)[3..], ["Heal", "CannotHeal"]);
    // A heal that converges, then a provision that needs polling, publishes.
    let s = both(
        40,
        json!({}),
        vec![
            Scripted::Err("CapacityExhausted"),
            output(Heal, Converged),
            output(Provision, Waiting),
            output(Provision, Converged),
            output(PublishAlias, Converged),
        ],
    );
    assert_eq!(outcome(&s), ("SUCCEEDED", None));
}

#[test]
fn an_ignored_event_ends_without_publishing_in_both_engines() {
    let s = both(40, event("fsx-create-backup.json"), vec![output(Provision, Ignored)]);
    assert_eq!(outcome(&s), ("SUCCEEDED", None));
    assert_eq!(
        path(&s),
        ["Init", "Route", "RouteBySource", "Provision", "Provisioned", "Done"]
    );
}

#[test]
fn publish_alias_gives_up_after_ten_not_ready_in_both_engines() {
    let mut script = vec![output(Provision, Converged)];
    script.extend(vec![Scripted::Err("NotReady"); 11]);
    let s = both(40, json!({}), script);
    assert_eq!(outcome(&s), ("FAILED", Some("ReconcileFailed")));
    assert_eq!(s["invocations"].as_array().unwrap().len(), 12);
}

/// Deployed with a directory: the Directory step follows PublishAlias; what it unblocks
/// (`deferred`: the old endpoint after a repoint) goes back to Provision; NotReady is retried.
#[test]
fn the_directory_step_follows_publish_alias_and_sends_what_it_unblocks_back_in_both_engines() {
    let with = |function: Function, deferred: usize| match output(function, Converged) {
        Scripted::Ok(mut v) => {
            v["deferred"] = json!(deferred);
            v["refusals"] = json!([]);
            Scripted::Ok(v)
        }
        other => other,
    };
    let s = both_deployed(
        40,
        true,
        event("fsx-tag-resource-svm.json"),
        vec![
            output(Provision, Converged),
            with(PublishAlias, 0),
            Scripted::Err("NotReady"),
            with(Function::Directory, 1),
            output(Provision, Converged),
            with(PublishAlias, 0),
            with(Function::Directory, 0),
        ],
    );
    assert_eq!(outcome(&s), ("SUCCEEDED", None));
    assert_eq!(
        path(&s),
        [
            "Init",
            "Route",
            "RouteBySource",
            "Provision",
            "Provisioned",
            "PublishAlias",
            "Published",
            "DirectoryEnabled",
            "Directory",
            "DirectoryDone",
            "PollBudget",
            "WaitForAws",
            "CountPoll",
            "Provision",
            "Provisioned",
            "PublishAlias",
            "Published",
            "DirectoryEnabled",
            "Directory",
            "DirectoryDone",
            "Done"
        ]
    );
    let functions: Vec<&str> = s["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["function"].as_str().unwrap().rsplit(':').next().unwrap())
        .collect();
    assert_eq!(
        functions.iter().filter(|f| **f == "DirectoryFunction").count(),
        3,
        "{functions:?}"
    );
    // Without a directory the same outputs end after PublishAlias.
    let s = both_deployed(
        40,
        false,
        event("fsx-tag-resource-svm.json"),
        vec![output(Provision, Converged), with(PublishAlias, 0)],
    );
    assert_eq!(path(&s).last(), Some(&"Done"));
    assert!(!path(&s).contains(&"Directory"));
}
