//! The state machine (statemachine/fsxn-lattice.asl.json) executed by moto's Step Functions
//! with Lambda results queued per path, asserted on the execution history: the happy path, the
//! EC2 insufficient-IP event through Heal, the poll budget running out, and an ignored event.
//!
//! moto's "lambda-simple" backend always succeeds, so the Retry/Catch branches cannot run
//! here: `retry_and_catch_policy_matches_the_functions_error_types` checks them statically
//! against the error types the functions return, and tests/asl_peer.rs runs them with failing
//! Lambdas in the simulation's interpreter and in aws-local-stepfunctions side by side.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_core::step::{AppliedAction, Function, StepOutput, StepStatus};
use fsxn_lattice_tests::moto::MotoServer;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "123456789012";
/// A zip holding one file, `bootstrap`: moto needs code to create a function.
const ZIP: &str = "UEsDBBQAAAAAAJR+el0dnfsECgAAAAoAAAAJAAAAYm9vdHN0cmFwIyEvYmluL3NoClBLAQIUAxQAAAAAAJR+el0dnfsECgAAAAoAAAAJAAAAAAAAAAAAAACAAQAAAABib290c3RyYXBQSwUGAAAAAAEAAQA3AAAAMQAAAAAA";

/// One moto server per execution: moto cannot start a second execution in one server.
struct Moto(MotoServer);

impl Moto {
    fn start() -> Self {
        Self(MotoServer::start())
    }

    /// IAM's query API: creates the role the functions and the state machine name.
    fn create_role(&self, name: &str) {
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let enc: String = policy
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let body = format!("Action=CreateRole&Version=2010-05-08&RoleName={name}&AssumeRolePolicyDocument={enc}");
        let (status, raw) = self.raw("/", "application/x-www-form-urlencoded", "", "iam", &body);
        assert_eq!(status, 200, "CreateRole: {raw}");
    }

    /// A JSON request; returns status and JSON body.
    fn call(&self, path: &str, target: Option<&str>, body: &Value) -> (u16, Value) {
        let headers = target.map(|t| format!("X-Amz-Target: {t}\r\n")).unwrap_or_default();
        let content_type = if target.is_some() {
            "application/x-amz-json-1.0"
        } else {
            "application/json"
        };
        // moto routes by the signing scope's service name.
        let service = if path.starts_with("/2015-03-31/") {
            "lambda"
        } else {
            "states"
        };
        let (status, payload) = self.raw(path, content_type, &headers, service, &body.to_string());
        (status, serde_json::from_str(&payload).unwrap_or(Value::String(payload)))
    }

    fn raw(&self, path: &str, content_type: &str, extra_headers: &str, service: &str, body: &str) -> (u16, String) {
        self.0.post(path, content_type, extra_headers, service, body)
    }

    fn sfn(&self, action: &str, body: Value) -> Value {
        let (status, v) = self.call("/", Some(&format!("AWSStepFunctions.{action}")), &body);
        assert_eq!(status, 200, "{action}: {v}");
        v
    }
}

/// Runs one execution: functions created, results queued in invocation order, input given.
fn execute(results: &[Value], input: &Value, max_polls: u32) -> (Value, Vec<String>, Vec<Value>) {
    let moto = Moto::start();
    let (status, v) = moto.call(
        "/moto-api/config",
        None,
        &json!({"stepfunctions": {"execute_state_machine": true}, "lambda": {"use_docker": false}}),
    );
    assert!((200..300).contains(&status), "moto config: {v}");
    moto.create_role("fsxn-lattice-test");
    let role = format!("arn:aws:iam::{ACCOUNT}:role/fsxn-lattice-test");
    let mut arns = Vec::new();
    for name in ["provision", "heal", "publish-alias"] {
        let (status, v) = moto.call(
            "/2015-03-31/functions",
            None,
            &json!({"FunctionName": format!("fsxn-lattice-{name}"), "Runtime": "provided.al2023", "Role": role, "Handler": "bootstrap", "Code": {"ZipFile": ZIP}}),
        );
        assert!((200..300).contains(&status), "CreateFunction: {v}");
        arns.push(v["FunctionArn"].as_str().unwrap().to_string());
    }
    let definition = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../statemachine/fsxn-lattice.asl.json"
    ))
    .unwrap()
    .replace("${ProvisionFunctionArn}", &arns[0])
    .replace("${HealFunctionArn}", &arns[1])
    .replace("${PublishAliasFunctionArn}", &arns[2])
    .replace("${MaxPolls}", &max_polls.to_string())
    .replace("${PollSeconds}", "1")
    .replace("${MaxHealAttempts}", "2")
    // A stack without a directory (condition HasDirectory false): the Directory state is
    // never entered; tests/asl_peer.rs runs the one with it.
    .replace("${DirectoryFunctionArn}", "none")
    .replace("${Directory}", "false");
    let sm = moto.sfn(
        "CreateStateMachine",
        json!({"name": "fsxn-lattice", "definition": definition, "roleArn": role}),
    );
    let queued: Vec<String> = results.iter().map(|r| r.to_string()).collect();
    let (status, v) = moto.call(
        "/moto-api/static/lambda-simple/response",
        None,
        &json!({"account_id": ACCOUNT, "region": "us-east-1", "results": queued}),
    );
    assert!((200..300).contains(&status), "{v}");
    let ex = moto.sfn(
        "StartExecution",
        json!({"stateMachineArn": sm["stateMachineArn"], "name": "run", "input": input.to_string()}),
    );
    let arn = ex["executionArn"].clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    let described = loop {
        let d = moto.sfn("DescribeExecution", json!({"executionArn": arn}));
        if d["status"] != "RUNNING" {
            break d;
        }
        assert!(Instant::now() < deadline, "execution still running after 60 s");
        std::thread::sleep(Duration::from_millis(200));
    };
    let history = moto.sfn("GetExecutionHistory", json!({"executionArn": arn}));
    let events = history["events"].as_array().unwrap().clone();
    let states = events
        .iter()
        .filter(|e| e["type"].as_str().is_some_and(|t| t.ends_with("StateEntered")))
        .map(|e| e["stateEnteredEventDetails"]["name"].as_str().unwrap().to_string())
        .collect();
    (described, states, events)
}

fn event(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()).unwrap()
}

/// A function's answer as the Lambda would serialize it: built from the Rust output type, so a
/// renamed or retyped field breaks these tests instead of passing a stale JSON shape.
fn output(function: Function, status: StepStatus, applied: &[&str], edit: impl FnOnce(&mut StepOutput)) -> Value {
    let mut out = StepOutput {
        passes: 1,
        applied: applied
            .iter()
            .map(|a| AppliedAction {
                action: a.to_string(),
                why: "w".into(),
                outcome: "o".into(),
            })
            .collect(),
        ..StepOutput::new(function, status, None)
    };
    edit(&mut out);
    serde_json::to_value(out).unwrap()
}

fn waiting() -> Value {
    output(Function::Provision, StepStatus::Waiting, &[], |o| {
        o.waiting = vec!["vpce-1 is pending".into()]
    })
}

fn converged() -> Value {
    output(
        Function::Provision,
        StepStatus::Converged,
        &["create Resource VPC endpoint"],
        |o| o.deferred = 1,
    )
}

fn published() -> Value {
    output(Function::PublishAlias, StepStatus::Converged, &["CREATE CNAME"], |o| {
        o.manual_steps = vec!["register the SPN".into()]
    })
}

/// The functions the Task states invoked, in order, and the payload each got (from the
/// execution history: moto hands out queued results whichever function is invoked, so this is
/// what shows each Task calls the right one).
fn invocations(events: &[Value]) -> Vec<(String, Value)> {
    events
        .iter()
        .filter(|e| e["type"] == "TaskScheduled")
        .map(|e| {
            let d = &e["taskScheduledEventDetails"];
            let p: Value = serde_json::from_str(d["parameters"].as_str().unwrap()).unwrap();
            let f = p["FunctionName"]
                .as_str()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .to_string();
            (f, p["Payload"].clone())
        })
        .collect()
}

#[test]
fn an_fsx_event_provisions_polls_until_available_then_publishes_the_alias() {
    let (d, states, events) = execute(
        &[waiting(), converged(), published()],
        &event("fsx-tag-resource-svm.json"),
        5,
    );
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(
        states,
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
            "PublishAlias",
            "Published",
            "DirectoryEnabled",
            "Done"
        ]
    );
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["polls"], 1);
    assert_eq!(out["alias"]["manual_steps"][0], "register the SPN");
    // Each Task invoked its own function: the event went to Provision, the polls and the alias
    // got the plain input object (the functions re-read the world).
    let invoked = invocations(&events);
    let names: Vec<&str> = invoked.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        names,
        [
            "fsxn-lattice-provision",
            "fsxn-lattice-provision",
            "fsxn-lattice-publish-alias"
        ]
    );
    assert_eq!(invoked[0].1, event("fsx-tag-resource-svm.json"));
    assert_eq!((&invoked[1].1, &invoked[2].1), (&json!({}), &json!({})));
}

#[test]
fn the_seed_insufficient_ip_event_heals_first_then_provisions_and_publishes() {
    let seed = fsxn_lattice_sim::scenario::seed_world(1).cloud.snapshot();
    let fragmented = seed
        .subnets
        .iter()
        .find(|s| s.id.as_str() == "subnet-0ddc1cafa116ba0dd")
        .unwrap();
    let diagnosis = fsxn_lattice_core::capacity::analyze_subnet(fragmented, &seed.network_interfaces, &[]);
    let healed = output(
        Function::Heal,
        StepStatus::Waiting,
        &["create subnet 10.0.2.0/26"],
        |o| o.diagnoses = vec![diagnosis],
    );
    let (d, states, events) = execute(
        &[healed, waiting(), converged(), published()],
        &event("ec2-create-network-interface-insufficient-ips.json"),
        5,
    );
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(
        &states[..6],
        ["Init", "Route", "RouteBySource", "Heal", "CountHeal", "Provision"]
    );
    assert_eq!(states.last().unwrap(), "Done");
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["heal_attempts"], 1);
    // The Heal task got the seed's CloudTrail event and its result went on to the next state.
    let heal_in = events
        .iter()
        .find(|e| e["type"] == "TaskStateEntered" && e["stateEnteredEventDetails"]["name"] == "Heal")
        .unwrap();
    let heal_in: Value = serde_json::from_str(heal_in["stateEnteredEventDetails"]["input"].as_str().unwrap()).unwrap();
    assert_eq!(
        heal_in["event"]["detail"]["errorMessage"],
        "There aren't sufficient free Ipv4 addresses or prefixes"
    );
    let heal_out = events
        .iter()
        .find(|e| e["type"] == "TaskStateExited" && e["stateExitedEventDetails"]["name"] == "Heal")
        .unwrap();
    let heal_out: Value =
        serde_json::from_str(heal_out["stateExitedEventDetails"]["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        heal_out["heal"]["diagnoses"][0]["subnet_id"],
        "subnet-0ddc1cafa116ba0dd"
    );
    let invoked = invocations(&events);
    assert_eq!(
        invoked[0],
        (
            "fsxn-lattice-heal".to_string(),
            event("ec2-create-network-interface-insufficient-ips.json")
        )
    );
    assert!(
        invoked[1..]
            .iter()
            .all(|(f, p)| f != "fsxn-lattice-heal" && p == &json!({})),
        "{invoked:?}"
    );
    assert_eq!(invoked.last().unwrap().0, "fsxn-lattice-publish-alias");
}

#[test]
fn polling_gives_up_after_the_poll_budget_with_not_ready() {
    let (d, states, _) = execute(&[waiting(), waiting(), waiting(), waiting()], &json!({}), 2);
    assert_eq!(d["status"], "FAILED", "{d}");
    assert_eq!(d["error"], "NotReady");
    assert_eq!(states.iter().filter(|s| *s == "Provision").count(), 3, "{states:?}");
    assert_eq!(states.last().unwrap(), "TimedOut");
}

#[test]
fn an_event_the_function_ignores_ends_without_publishing() {
    let (d, states, _) = execute(
        &[output(Function::Provision, StepStatus::Ignored, &[], |_| {})],
        &event("fsx-create-backup.json"),
        5,
    );
    assert_eq!(d["status"], "SUCCEEDED");
    assert!(!states.contains(&"PublishAlias".to_string()), "{states:?}");
}

#[test]
fn retry_and_catch_policy_matches_the_functions_error_types() {
    let asl: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../statemachine/fsxn-lattice.asl.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let known: Vec<&str> = [
        ErrorKind::Transient,
        ErrorKind::NotReady,
        ErrorKind::InvalidInput,
        ErrorKind::Conflict,
        ErrorKind::NotFound,
        ErrorKind::CapacityExhausted,
        ErrorKind::QuotaExceeded,
        ErrorKind::AccessDenied,
        ErrorKind::Internal,
    ]
    .iter()
    .map(|k| k.as_str())
    .collect();
    let states = asl["States"].as_object().unwrap();
    for (name, s) in states.iter().filter(|(_, s)| s["Type"] == "Task") {
        let retries = s["Retry"].as_array().unwrap();
        let transient = retries
            .iter()
            .find(|r| r["ErrorEquals"].as_array().unwrap().iter().any(|e| e == "Transient"))
            .unwrap_or_else(|| panic!("{name} does not retry Transient"));
        assert_eq!(transient["JitterStrategy"], "FULL", "{name}");
        assert!(transient["MaxAttempts"].as_u64().unwrap() <= 10, "{name}: bounded");
        for e in retries
            .iter()
            .chain(s["Catch"].as_array().unwrap())
            .flat_map(|r| r["ErrorEquals"].as_array().unwrap())
        {
            let e = e.as_str().unwrap();
            assert!(
                known.contains(&e) || e.starts_with("Lambda.") || e == "States.ALL",
                "{name}: `{e}` is not an error type the functions return"
            );
        }
        assert!(
            s["Catch"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["ErrorEquals"][0] == "States.ALL"),
            "{name}: every failure ends in a named state"
        );
    }
    // Step Functions developer guide, "Handle Lambda service exceptions": Lambda's transient
    // service errors are retried; Lambda.Unknown (timeouts, out of memory) is retried at most
    // twice, since a deterministic crash only burns the timeout again.
    for (name, s) in states.iter().filter(|(_, s)| s["Type"] == "Task") {
        let retries = s["Retry"].as_array().unwrap();
        let retried = |error: &str| {
            retries
                .iter()
                .find(|r| r["ErrorEquals"].as_array().unwrap().iter().any(|e| e == error))
        };
        for e in [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.ClientExecutionTimeoutException",
            "Lambda.TooManyRequestsException",
        ] {
            let r = retried(e).unwrap_or_else(|| panic!("{name} does not retry {e}"));
            assert_eq!(r["JitterStrategy"], "FULL", "{name}: {e}");
            assert!(
                r["MaxAttempts"].as_u64().unwrap() >= 3,
                "{name}: {e} deserves a few attempts"
            );
        }
        let unknown = retried("Lambda.Unknown").unwrap_or_else(|| panic!("{name} does not retry Lambda.Unknown"));
        assert!(
            (1..=2).contains(&unknown["MaxAttempts"].as_u64().unwrap()),
            "{name}: {unknown}"
        );
        assert_eq!(
            unknown["ErrorEquals"].as_array().unwrap().len(),
            1,
            "{name}: Lambda.Unknown has its own budget"
        );
    }
    let catches = |state: &str, error: &str| {
        states[state]["Catch"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["ErrorEquals"][0] == error)
            .map(|c| c["Next"].clone())
    };
    assert_eq!(
        catches("Provision", "CapacityExhausted"),
        Some(json!("HealBudget")),
        "CapacityExhausted → heal"
    );
    assert_eq!(catches("Heal", "CapacityExhausted"), Some(json!("CannotHeal")));
    assert_eq!(
        states["HealBudget"]["Choices"][0]["NumericGreaterThanEqualsPath"], "$.limits.max_heal_attempts",
        "healing is bounded"
    );
    assert_eq!(states["HealBudget"]["Choices"][0]["Next"], "CannotHeal");
    assert!(
        states["PublishAlias"]["Retry"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["ErrorEquals"][0] == "NotReady")
    );
}

#[test]
fn every_placeholder_of_the_definition_has_a_substitution_in_the_template() {
    let asl = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../statemachine/fsxn-lattice.asl.json"
    ))
    .unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap(),
    )
    .unwrap();
    let substitutions: std::collections::BTreeSet<String> =
        template["Resources"]["StateMachine"]["Properties"]["DefinitionSubstitutions"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
    let mut placeholders = std::collections::BTreeSet::new();
    let mut rest = asl.as_str();
    while let Some(i) = rest.find("${") {
        let end = rest[i..].find('}').unwrap() + i;
        placeholders.insert(rest[i + 2..end].to_string());
        rest = &rest[end + 1..];
    }
    assert!(placeholders.len() >= 6, "{placeholders:?}");
    let missing: Vec<&String> = placeholders.difference(&substitutions).collect();
    assert!(
        missing.is_empty(),
        "placeholders without a DefinitionSubstitutions entry: {missing:?}"
    );
    let unused: Vec<&String> = substitutions.difference(&placeholders).collect();
    assert!(
        unused.is_empty(),
        "DefinitionSubstitutions no placeholder uses: {unused:?}"
    );
}
