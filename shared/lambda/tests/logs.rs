//! Logs of a full run (tracing's callsite cache is process-wide, so this test has its own
//! process): every applied action is logged; no secret, whole event or whole response is.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use fsxn_lattice_core::config::tag_keys;
use fsxn_lattice_lambda::{Function, step};
use fsxn_lattice_sim::scenario::{ALIAS, SVM_ID, seed_world};
use pollster::block_on;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn event(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap())
        .unwrap()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn logs_of_a_full_run_hold_actions_but_no_secrets_and_no_whole_events_or_responses() {
    let buffer = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || Capture(sink.clone()))
        .with_max_level(tracing::Level::TRACE)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let w = seed_world(23);
        w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb");
        w.cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
        w.cloud.drain_events();
        // An SVM creation record carries (masked) passwords: none of it may reach the logs.
        let create = event("fsx-create-storage-virtual-machine.json");
        block_on(step(&w.cloud, &w.config, Function::Provision, &create)).unwrap();
        for _ in 0..30 {
            w.cloud.advance(Duration::from_secs(15));
            for ev in w.cloud.drain_events() {
                let _ = block_on(step(&w.cloud, &w.config, Function::Heal, &ev));
            }
            let _ = block_on(step(&w.cloud, &w.config, Function::Provision, &serde_json::json!({})));
        }
        block_on(step(
            &w.cloud,
            &w.config,
            Function::PublishAlias,
            &serde_json::json!({}),
        ))
        .unwrap();
    });
    let logs = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    assert!(
        logs.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "one JSON object per line"
    );
    assert!(
        logs.contains("\"applied\"") && logs.contains("CREATE CNAME"),
        "every applied action is logged"
    );
    assert!(logs.contains("\"diagnosed\""), "the heal's diagnosis is logged");
    for forbidden in [
        "HIDDEN_DUE_TO_SECURITY_REASONS",
        "svmAdminPassword",
        "password",
        "requestParameters",
        "responseElements",
        "userIdentity",
        "SecretAccessKey",
    ] {
        assert!(!logs.contains(forbidden), "`{forbidden}` in the logs");
    }
}
