//! The real `fsxn-lattice-publish-alias` binary under a Lambda Runtime API emulator, fed with the
//! events/ fixtures (what `cargo lambda invoke --data-file events/…` sends).

#[test]
fn its_events_reach_aws_and_others_are_ignored_or_refused() {
    fsxn_lattice_tests::contract::ignores_reaches_aws_refuses(
        env!("CARGO_BIN_EXE_fsxn-lattice-publish-alias"),
        "ec2-create-network-interface-insufficient-ips.json",
        "step-input-poll.json",
    );
}
