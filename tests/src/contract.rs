//! The contract every function binary keeps, checked against the real binary.

use crate::function::{CONFIG, event, run};
use crate::runtime_api::Outcome;

/// A trigger the function does not handle is answered `ignored` without an AWS call; its own
/// trigger reaches AWS (a closed local port here: `Transient`, naming the failed call); a
/// payload that is no event and no step input is `InvalidInput`.
pub fn ignores_reaches_aws_refuses(binary: &str, not_handled: &str, handled: &str) {
    ignores_reaches_aws_refuses_with(binary, not_handled, handled, CONFIG);
}

/// [`ignores_reaches_aws_refuses`] with another configuration.
pub fn ignores_reaches_aws_refuses_with(binary: &str, not_handled: &str, handled: &str, config: &str) {
    let r = run(
        binary,
        vec![event(not_handled), event(handled), serde_json::json!([1, 2])],
        &[("FSXN_LATTICE_CONFIG", config)],
    );
    assert_eq!(r.outcomes.len(), 3, "{r:?}");
    match &r.outcomes[0] {
        Outcome::Response(v) => assert_eq!(v["status"], "ignored", "{not_handled}: {v}"),
        o => panic!("{not_handled}: {o:?}"),
    }
    match &r.outcomes[1] {
        Outcome::Error { error_type, message } => {
            assert_eq!(error_type, "Transient", "{handled}: {message}");
            assert!(message.contains(" failed ("), "{message}");
        }
        o => panic!("{handled}: {o:?}"),
    }
    assert!(
        matches!(&r.outcomes[2], Outcome::Error { error_type, .. } if error_type == "InvalidInput"),
        "{:?}",
        r.outcomes[2]
    );
}
