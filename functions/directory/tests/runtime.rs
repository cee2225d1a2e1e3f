//! The real `fsxn-lattice-directory-function` binary under a Lambda Runtime API emulator, fed
//! with the events/ fixtures.

use fsxn_lattice_tests::function::{CONFIG, DIRECTORY, event, run};
use fsxn_lattice_tests::runtime_api::Outcome;

const BINARY: &str = env!("CARGO_BIN_EXE_fsxn-lattice-directory-function");

/// With `[directory]`: the EC2 event is ignored without an AWS call; a step input reaches AWS
/// first for the bind secret (`GetSecretValue`, a closed local port here: `Transient`); a
/// payload that is no event is `InvalidInput`.
#[test]
fn its_events_read_the_bind_secret_first_and_others_are_ignored_or_refused() {
    let config = format!("{CONFIG}{DIRECTORY}");
    fsxn_lattice_tests::contract::ignores_reaches_aws_refuses_with(
        BINARY,
        "ec2-create-network-interface-insufficient-ips.json",
        "step-input-poll.json",
        &config,
    );
    let r = run(
        BINARY,
        vec![event("step-input-poll.json")],
        &[("FSXN_LATTICE_CONFIG", config.as_str())],
    );
    match &r.outcomes[..] {
        [Outcome::Error { error_type, message }] => {
            assert_eq!(error_type, "Transient", "{message}");
            assert!(message.contains("GetSecretValue"), "{message}");
        }
        other => panic!("{other:?}\n{}", r.logs),
    }
}

/// Without `[directory]` it does not start: the deployment is wrong, and every invocation
/// would fail the same way.
#[test]
fn without_a_directory_section_the_cold_start_fails_and_says_why() {
    let r = run(
        BINARY,
        vec![event("step-input-poll.json")],
        &[("FSXN_LATTICE_CONFIG", CONFIG)],
    );
    assert!(r.outcomes.is_empty(), "{:?}", r.outcomes);
    assert!(r.exit.is_some_and(|s| !s.success()), "{:?}", r.exit);
    assert!(r.logs.contains("[directory]"), "{}", r.logs);
}
