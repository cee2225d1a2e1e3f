//! The real `fsxn-lattice-provision` binary under a Lambda Runtime API emulator, fed with the
//! events/ fixtures (what `cargo lambda invoke --data-file events/…` sends).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use fsxn_lattice_tests::function::{CONFIG, event, run};
use fsxn_lattice_tests::runtime_api::Outcome;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_fsxn-lattice-provision");

#[test]
fn events_map_to_outputs_and_stable_error_types() {
    let r = run(
        BIN,
        vec![
            event("fsx-create-backup.json"),
            event("ec2-create-network-interface-insufficient-ips.json"),
            json!({"detail-type": "AWS API Call via CloudTrail"}),
            event("fsx-tag-resource-svm.json"),
        ],
        &[("FSXN_LATTICE_CONFIG", CONFIG)],
    );
    assert_eq!(r.outcomes.len(), 4, "{r:?}");
    match &r.outcomes[0] {
        Outcome::Response(v) => assert_eq!(
            (v["status"].as_str(), v["function"].as_str()),
            (Some("ignored"), Some("provision"))
        ),
        o => panic!("{o:?}"),
    }
    match &r.outcomes[1] {
        Outcome::Response(v) => assert_eq!(v["status"], "ignored", "provision leaves capacity events to heal"),
        o => panic!("{o:?}"),
    }
    assert!(
        matches!(&r.outcomes[2], Outcome::Error { error_type, .. } if error_type == "InvalidInput"),
        "{:?}",
        r.outcomes[2]
    );
    // A real trigger makes AWS calls; the endpoint is a closed local port: Transient.
    match &r.outcomes[3] {
        Outcome::Error { error_type, message } => {
            assert_eq!(error_type, "Transient");
            assert!(message.starts_with("DescribeFileSystems failed"), "{message}");
        }
        o => panic!("{o:?}"),
    }
    assert!(
        r.logs.lines().any(|l| l.trim_start().starts_with('{')),
        "JSON logs: {}",
        r.logs
    );
}

#[test]
fn a_missing_configuration_fails_the_cold_start_naming_the_variable() {
    let r = run(BIN, vec![event("fsx-tag-resource-svm.json")], &[]);
    let status = r.exit.expect("the process ends by itself");
    assert!(!status.success());
    assert!(r.outcomes.is_empty());
    assert!(r.logs.contains("FSXN_LATTICE_CONFIG"), "{}", r.logs);
    let r = run(
        BIN,
        vec![event("fsx-tag-resource-svm.json")],
        &[("FSXN_LATTICE_CONFIG", "owner = \"Bad Owner\"")],
    );
    assert!(r.exit.is_some_and(|s| !s.success()));
    assert!(
        r.logs
            .contains("environment variable FSXN_LATTICE_CONFIG: invalid configuration"),
        "{}",
        r.logs
    );
}
