//! The real `fsxn-lattice-publish-alias` binary under a Lambda Runtime API emulator, fed with the
//! events/ fixtures (what `cargo lambda invoke --data-file events/…` sends).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use fsxn_lattice_tests::function::{CONFIG, event, run};
use fsxn_lattice_tests::runtime_api::Outcome;

const BIN: &str = env!("CARGO_BIN_EXE_fsxn-lattice-publish-alias");

#[test]
fn its_events_reach_aws_and_others_are_ignored_or_refused() {
    let r = run(
        BIN,
        vec![
            event("ec2-create-network-interface-insufficient-ips.json"),
            event("step-input-poll.json"),
            serde_json::json!([1, 2]),
        ],
        &[("FSXN_LATTICE_CONFIG", CONFIG)],
    );
    assert_eq!(r.outcomes.len(), 3, "{r:?}");
    match &r.outcomes[0] {
        Outcome::Response(v) => assert_eq!(v["status"], "ignored", "{v}"),
        // publish-alias and reconcile take every trigger: with AWS unreachable that is Transient.
        Outcome::Error { error_type, .. } => assert_eq!(error_type, "Transient"),
        o => panic!("{o:?}"),
    }
    match &r.outcomes[1] {
        Outcome::Error { error_type, message } => {
            assert_eq!(error_type, "Transient", "{message}");
            assert!(message.contains("failed"), "{message}");
        }
        o => panic!("{o:?}"),
    }
    assert!(
        matches!(&r.outcomes[2], Outcome::Error { error_type, .. } if error_type == "InvalidInput"),
        "{:?}",
        r.outcomes[2]
    );
}
