//! Reliability evidence: chaos campaigns, event replay, and parsers that never panic.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use fsxn_lattice_core::config::{Config, tag_keys};
use fsxn_lattice_core::events::parse_event;
use fsxn_lattice_core::ids::SubnetId;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::naming::is_owned;
use fsxn_lattice_core::reconcile::{ReconcileOptions, ReconcileStatus, reconcile};
use fsxn_lattice_lambda::{Function, step};
use fsxn_lattice_sim::chaos::{ChaosOptions, run_campaign};
use fsxn_lattice_sim::scenario::{ALIAS, SEED_CONFIG, SVM_ID, seed_world};
use pollster::block_on;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

#[test]
fn chaos_campaigns_converge_with_no_orphans_duplicates_or_foreign_resources_touched() {
    let report = run_campaign(ChaosOptions::new(2026, 40, 0.3));
    assert!(report.clean(), "{:#?}", report.failures);
    assert_eq!(report.converged, 40);
    assert!(
        report.crashes_injected > 0 && report.races > 0 && report.faults_injected > 0 && report.dropped_mid_call > 0,
        "{report:?}"
    );
    for kind in [
        "throttling",
        "server_error",
        "lost_response",
        "crash",
        "access_denied",
        "validation",
        "quota_exceeded",
        "not_found_on_delete",
        "stale_read",
    ] {
        assert!(
            report.faults.get(kind).copied().unwrap_or(0) > 0,
            "{kind}: {:?}",
            report.faults
        );
    }
    assert!(report.passes_to_converge.max <= report.pass_budget);
    assert!(report.events.dropped > 0 && report.events.duplicated > 0 && report.events.delayed > 0);
    let again = run_campaign(ChaosOptions::new(2026, 40, 0.3));
    assert_eq!(report, again, "a campaign replays identically");
}

fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn fixtures() -> Vec<(String, Value)> {
    let mut v: Vec<(String, Value)> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The world without ids: what exists and how it is wired, comparable across runs whose random
/// ids differ.
fn shape(w: &fsxn_lattice_sim::SimCloud, owner: &str) -> BTreeSet<String> {
    let s = w.snapshot();
    let mut out = BTreeSet::new();
    let subnet_cidr = |id: &SubnetId| {
        s.subnets
            .iter()
            .find(|x| &x.id == id)
            .map(|x| x.cidr.to_string())
            .unwrap_or_default()
    };
    for g in s.gateways.iter().filter(|g| is_owned(&g.tags, owner)) {
        out.insert(format!(
            "gateway {} {:?} {:?}",
            g.name,
            g.subnet_ids.iter().map(subnet_cidr).collect::<Vec<_>>(),
            g.status
        ));
    }
    for c in s.configurations.iter().filter(|c| is_owned(&c.tags, owner)) {
        out.insert(format!(
            "configuration {} {:?} {:?}",
            c.name, c.ip_address, c.port_ranges
        ));
    }
    for e in s.endpoints.iter().filter(|e| is_owned(&e.tags, owner)) {
        out.insert(format!("endpoint {} {:?} {}", e.vpc_id, e.tags, e.state.as_str()));
    }
    for r in s.cidr_reservations.iter().filter(|r| is_owned(&r.tags, owner)) {
        out.insert(format!("reservation {}", r.cidr));
    }
    for x in s.subnets.iter().filter(|x| is_owned(&x.tags, owner)) {
        out.insert(format!("subnet {} {}", x.cidr, x.availability_zone));
    }
    for (z, rs) in &s.records {
        for r in rs.iter().filter(|r| r.record_type != RecordType::CNAME) {
            out.insert(format!("record {z} {} {:?} {:?}", r.name, r.record_type, r.values));
        }
        for r in rs.iter().filter(|r| r.record_type == RecordType::CNAME) {
            out.insert(format!("cname {z} {}", r.name));
        }
    }
    out
}

fn function_for(v: &Value) -> Function {
    match v["source"].as_str() {
        Some("aws.ec2") => Function::Heal,
        Some("aws.events") => Function::Reconcile,
        _ => Function::Provision,
    }
}

/// Creates and changes made in the simulated cloud, by operation.
fn writes(cloud: &fsxn_lattice_sim::SimCloud) -> std::collections::BTreeMap<String, u64> {
    cloud
        .api_calls()
        .into_iter()
        .filter(|(op, _)| {
            ["Create", "Update", "Change", "Associate", "Delete", "Disassociate"]
                .iter()
                .any(|p| op.starts_with(p))
        })
        .collect()
}

/// What delivering an event did: by the events alone, and after everything settled.
struct Delivered {
    /// Whether the function acted on the event (not `ignored`).
    acted: bool,
    /// Our resources right after the deliveries, before anything else ran.
    shape_after_events: BTreeSet<String>,
    /// Writes the deliveries made, by operation.
    writes_by_events: std::collections::BTreeMap<String, u64>,
    /// Our resources once Step Functions and the schedule finished the job.
    shape_converged: BTreeSet<String>,
}

/// Delivers `event` `times` times (no time passes between deliveries: a duplicate arrives while
/// AWS is still working), then lets Step Functions and the schedule finish the job.
fn deliver(event: &Value, times: usize) -> Delivered {
    let w = seed_world(5);
    let config = Config::from_toml(&SEED_CONFIG.replace(
        "subnet_ids = [\"subnet-0ddc1cafa116ba0dd\", \"subnet-062714f49313a0ea5\"]\n",
        "",
    ))
    .unwrap();
    w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb,nfs");
    w.cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
    w.cloud.drain_events();
    let before = writes(&w.cloud);
    assert!(before.is_empty(), "building the world makes no API calls: {before:?}");
    let mut acted = false;
    for _ in 0..times {
        // An error (e.g. NotReady) is what Step Functions would retry; the state is what counts.
        if let Ok(out) = block_on(step(&w.cloud, &config, function_for(event), event)) {
            acted |= out.status != fsxn_lattice_lambda::StepStatus::Ignored;
        }
    }
    let shape_after_events = shape(&w.cloud, &config.owner);
    let writes_by_events = writes(&w.cloud);
    let options = ReconcileOptions {
        max_passes: 60,
        poll_interval: Duration::from_secs(15),
        max_wait: Duration::from_secs(3600),
        ..Default::default()
    };
    let r = block_on(reconcile(&w.cloud, &config, &options, &mut |_| {}));
    assert_eq!(r.status, ReconcileStatus::Converged, "{:?}", r.last_plan);
    Delivered {
        acted,
        shape_after_events,
        writes_by_events,
        shape_converged: shape(&w.cloud, &config.owner),
    }
}

#[test]
fn every_event_fixture_replayed_ten_times_does_what_one_delivery_does_and_nothing_twice() {
    let mut acted_on = 0;
    for (name, event) in fixtures() {
        let once = deliver(&event, 1);
        let ten = deliver(&event, 10);
        // What the events themselves did, before anything else ran: the same, with the same
        // writes — nine duplicates created nothing.
        assert_eq!(once.acted, ten.acted, "{name}");
        assert_eq!(once.shape_after_events, ten.shape_after_events, "{name}");
        assert_eq!(once.writes_by_events, ten.writes_by_events, "{name}: duplicates wrote");
        if once.acted {
            acted_on += 1;
            // The world had nothing of ours: an event the function acts on builds the path.
            let gateways = once
                .shape_after_events
                .iter()
                .filter(|x| x.starts_with("gateway "))
                .count();
            assert_eq!(gateways, 1, "{name}: {:#?}", once.shape_after_events);
            assert!(
                once.writes_by_events.get("CreateResourceGateway") == Some(&1),
                "{name}: {:?}",
                once.writes_by_events
            );
        } else {
            assert!(
                once.writes_by_events.is_empty(),
                "{name}: an ignored event wrote {:?}",
                once.writes_by_events
            );
            let ours = [
                "gateway ",
                "configuration ",
                "endpoint ",
                "reservation ",
                "subnet ",
                "cname ",
            ];
            assert!(
                !once
                    .shape_after_events
                    .iter()
                    .any(|x| ours.iter().any(|p| x.starts_with(p))),
                "{name}: {:#?}",
                once.shape_after_events
            );
        }
        assert_eq!(once.shape_converged, ten.shape_converged, "{name}");
        let endpoints = ten
            .shape_converged
            .iter()
            .filter(|x| x.starts_with("endpoint "))
            .count();
        let gateways = ten.shape_converged.iter().filter(|x| x.starts_with("gateway ")).count();
        assert_eq!((gateways, endpoints), (1, 1), "{name}: {:#?}", ten.shape_converged);
    }
    assert!(acted_on >= 5, "only {acted_on} fixtures were acted on");
}

/// Mutates a JSON value: drops a key, changes a type, or replaces a string, at random depth.
fn mutate(v: &mut Value, rng: &mut ChaCha8Rng) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let k = &keys[rng.random_range(0..keys.len())];
            match rng.random_range(0..4) {
                0 => {
                    map.remove(k);
                }
                1 => {
                    map.insert(
                        k.clone(),
                        [
                            Value::Null,
                            Value::from(42),
                            Value::from("x"),
                            Value::Array(vec![]),
                            Value::from(true),
                        ][rng.random_range(0..5)]
                        .clone(),
                    );
                }
                _ => mutate(map.get_mut(k).unwrap(), rng),
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let i = rng.random_range(0..a.len());
            mutate(&mut a[i], rng);
        }
        Value::String(s) => {
            *s = match rng.random_range(0..4) {
                0 => String::new(),
                1 => format!("{s}-{}", rng.random::<u32>()),
                2 => "subnet-XYZ".into(),
                _ => s.chars().rev().collect(),
            }
        }
        other => *other = Value::from("mutated"),
    }
}

#[test]
fn the_event_and_config_parsers_never_panic_on_mutated_input() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xfeed);
    let (mut cases, mut parsed, mut refused) = (0u64, 0u64, 0u64);
    let fixtures = fixtures();
    for _ in 0..4000 {
        let (_, base) = &fixtures[rng.random_range(0..fixtures.len())];
        let mut v = base.clone();
        for _ in 0..rng.random_range(1..4) {
            mutate(&mut v, &mut rng);
        }
        let mut bytes = serde_json::to_vec(&v).unwrap();
        if rng.random_bool(0.3) && !bytes.is_empty() {
            // Byte-level damage too: truncation and flipped bytes.
            let cut = rng.random_range(0..bytes.len());
            bytes.truncate(cut);
            if let Some(b) = bytes.last_mut() {
                *b ^= rng.random::<u8>();
            }
        }
        cases += 1;
        match catch_unwind(AssertUnwindSafe(|| parse_event(&bytes))) {
            Ok(Ok(_)) => parsed += 1,
            Ok(Err(e)) => {
                refused += 1;
                assert!(e.to_string().starts_with("invalid event"), "{e}");
            }
            Err(_) => panic!("the event parser panicked on: {}", String::from_utf8_lossy(&bytes)),
        }
    }
    let (mut config_cases, mut config_parsed, mut config_refused) = (0u64, 0u64, 0u64);
    for _ in 0..4000 {
        let mut text: Vec<u8> = SEED_CONFIG.as_bytes().to_vec();
        for _ in 0..rng.random_range(1..6) {
            let i = rng.random_range(0..text.len());
            match rng.random_range(0..3) {
                0 => text[i] = rng.random(),
                1 => text.insert(i, b"[]=\"#\n."[rng.random_range(0..7)]),
                _ => {
                    text.remove(i);
                }
            }
        }
        config_cases += 1;
        let s = String::from_utf8_lossy(&text).to_string();
        match catch_unwind(|| Config::from_toml(&s)) {
            Ok(Ok(_)) => config_parsed += 1,
            Ok(Err(e)) => {
                config_refused += 1;
                assert!(e.to_string().starts_with("invalid configuration"), "{e}");
            }
            Err(_) => panic!("the config parser panicked on: {s}"),
        }
    }
    println!(
        "event parser: {cases} mutated cases ({parsed} parsed, {refused} refused, 0 panics); config parser: {config_cases} mutated cases ({config_parsed} parsed, {config_refused} refused, 0 panics)"
    );
    assert!(parsed > 0 && refused > 0);
    assert!(
        config_refused > config_cases / 2,
        "most damaged configs are refused, with the typed error"
    );
}

#[test]
fn two_reconcilers_racing_on_one_svm_make_exactly_one_of_everything() {
    use fsxn_lattice_core::apply::{ApplyOptions, apply};
    use fsxn_lattice_core::observe::observe;
    use fsxn_lattice_core::plan::{Plan, plan};
    for seed in 1..=5 {
        let w = seed_world(seed);
        let config = Config::from_toml(&SEED_CONFIG.replace(
            "subnet_ids = [\"subnet-0ddc1cafa116ba0dd\", \"subnet-062714f49313a0ea5\"]\n",
            "",
        ))
        .unwrap();
        w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb");
        w.cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
        // Both observe the same world and plan the same actions, then apply them interleaved,
        // round after round, until there is nothing left to do.
        for _ in 0..30 {
            let plans: Vec<Plan> = (0..2)
                .map(|_| {
                    let (o, d) = block_on(observe(&w.cloud, &config, &Default::default())).unwrap();
                    plan(&config, &d, &o)
                })
                .collect();
            if plans.iter().all(|p| p.actions.is_empty()) {
                if plans[0].waiting.is_empty() {
                    break;
                }
                w.cloud.advance(Duration::from_secs(15));
                continue;
            }
            for i in 0..plans.iter().map(|p| p.actions.len()).max().unwrap() {
                for p in &plans {
                    if let Some(a) = p.actions.get(i) {
                        let r = block_on(apply(
                            &w.cloud,
                            &Plan {
                                actions: vec![a.clone()],
                                ..Plan::default()
                            },
                            &ApplyOptions::default(),
                            &mut |_| std::ops::ControlFlow::Continue(()),
                        ));
                        assert!(r.failed.is_none(), "seed {seed}: {:?}", r.failed);
                    }
                }
            }
        }
        let s = w.cloud.snapshot();
        let ours = |t: &Tags| is_owned(t, "demo");
        assert_eq!(s.gateways.iter().filter(|g| ours(&g.tags)).count(), 1, "seed {seed}");
        assert_eq!(
            s.configurations.iter().filter(|c| ours(&c.tags)).count(),
            1,
            "seed {seed}"
        );
        let eps: Vec<_> = s.endpoints.iter().filter(|e| ours(&e.tags)).collect();
        assert_eq!(eps.len(), 1, "seed {seed}");
        assert_eq!(eps[0].state, EndpointState::Available, "seed {seed}");
        let cnames = s
            .records
            .values()
            .flatten()
            .filter(|r| r.record_type == RecordType::CNAME)
            .count();
        assert_eq!(cnames, 1, "seed {seed}");
    }
}
