//! Scenario tests on the simulated cloud: the seed scenario converges, re-planning after
//! convergence is empty, applying twice changes nothing, a crash before any step followed by a
//! re-run converges with no orphans (exhaustively), faults are survived, opting out removes
//! exactly what we created, and nothing foreign is ever touched. Seeds are in the assertion
//! messages, so a failure names the run to replay.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use fsxn_lattice_core::apply::{ApplyOptions, apply};
use fsxn_lattice_core::config::{Config, tag_keys};
use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::naming::{is_owned, ownership_txt_name};
use fsxn_lattice_core::observe::observe;
use fsxn_lattice_core::plan::{Action, plan};
use fsxn_lattice_core::ports::*;
use fsxn_lattice_core::reconcile::{Progress, ReconcileOptions, ReconcileReport, ReconcileStatus, reconcile};
use fsxn_lattice_sim::scenario::{ALIAS, FSX_SUBNETS, SEED_CONFIG, SVM_ID, SeedWorld, seed_world};
use fsxn_lattice_sim::{Faults, SimCloud};
use pollster::block_on;
use std::ops::ControlFlow;
use std::time::Duration;

/// The seed config without pinned subnets: choose by /28 capacity from the start.
fn auto_config() -> Config {
    let text = SEED_CONFIG.replace(
        "subnet_ids = [\"subnet-0ddc1cafa116ba0dd\", \"subnet-062714f49313a0ea5\"]\n",
        "",
    );
    Config::from_toml(&text).unwrap()
}

fn opted_in(seed: u64) -> SeedWorld {
    let w = seed_world(seed);
    w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "ssh,smb,nfs");
    w.cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
    w
}

fn polling() -> ReconcileOptions {
    ReconcileOptions {
        max_passes: 60,
        poll_interval: Duration::from_secs(15),
        max_wait: Duration::from_secs(3600),
        ..ReconcileOptions::default()
    }
}

fn converge(cloud: &SimCloud, config: &Config) -> ReconcileReport {
    block_on(reconcile(cloud, config, &polling(), &mut |_| {}))
}

fn writes(calls: &std::collections::BTreeMap<String, u64>) -> u64 {
    calls
        .iter()
        .filter(|(op, _)| {
            ["Create", "Delete", "Update", "Change"]
                .iter()
                .any(|p| op.starts_with(p))
        })
        .map(|(_, n)| n)
        .sum()
}

/// The world is exactly what the config asks for: one available endpoint per exposed SVM and
/// consumer, one configuration and gateway serving it, the alias and its ownership record, and
/// none of our resources left over anywhere.
fn check_world(cloud: &SimCloud, config: &Config, exposed: bool) -> Vec<String> {
    let snap = cloud.snapshot();
    let ours = |t: &Tags| is_owned(t, &config.owner);
    let mut problems = Vec::new();
    let gws: Vec<&ResourceGateway> = snap.gateways.iter().filter(|g| ours(&g.tags)).collect();
    let cfgs: Vec<&ResourceConfiguration> = snap.configurations.iter().filter(|c| ours(&c.tags)).collect();
    let eps: Vec<&VpcEndpoint> = snap.endpoints.iter().filter(|e| ours(&e.tags)).collect();
    let want = usize::from(exposed);
    if gws.len() != want || cfgs.len() != want || eps.len() != want {
        problems.push(format!(
            "gateways {} configurations {} endpoints {} (want {want} each)",
            gws.len(),
            cfgs.len(),
            eps.len()
        ));
    }
    if let (Some(g), Some(c), Some(e)) = (gws.first(), cfgs.first(), eps.first()) {
        if g.status != GatewayStatus::Active || c.gateway_id != g.id || e.resource_configuration_arn != c.arn {
            problems.push("the chain gateway → configuration → endpoint is broken".into());
        }
        if e.state != EndpointState::Available {
            problems.push(format!("endpoint {} is {}", e.id, e.state.as_str()));
        }
        let alias = normalize_dns_name(ALIAS);
        let records: Vec<&RecordSet> = snap.records.values().flatten().collect();
        let cname: Vec<&&RecordSet> = records.iter().filter(|r| r.name == alias).collect();
        if cname.len() != 1 || cname[0].values != [e.dns_name.clone().unwrap_or_default()] {
            problems.push(format!("alias records {cname:?}"));
        }
        if !records.iter().any(|r| r.name == ownership_txt_name(&alias)) {
            problems.push("no ownership TXT".into());
        }
        for r in snap.cidr_reservations.iter().filter(|r| ours(&r.tags)) {
            if !g.subnet_ids.contains(&r.subnet_id) {
                problems.push(format!("reservation {} outside the gateway's subnets", r.id));
            }
        }
        for s in snap.subnets.iter().filter(|s| ours(&s.tags)) {
            if !g.subnet_ids.contains(&s.id) {
                problems.push(format!("carved subnet {} is not used by the gateway", s.id));
            }
        }
    }
    if !exposed {
        let leftovers = snap.cidr_reservations.iter().filter(|r| ours(&r.tags)).count()
            + snap.subnets.iter().filter(|s| ours(&s.tags)).count()
            + snap
                .records
                .values()
                .flatten()
                .filter(|r| r.name.contains("non-97-svm-alias"))
                .count();
        if leftovers > 0 {
            problems.push(format!("{leftovers} leftovers after opting out"));
        }
    }
    problems
}

#[test]
fn seed_demo_converges_for_many_seeds_with_17_addresses_per_gateway_subnet_and_nothing_left_over() {
    for seed in 1..=8 {
        let r = block_on(fsxn_lattice_sim::scenario::run_seed_demo(
            fsxn_lattice_sim::scenario::DemoOptions {
                seed,
                fault_rate: 0.0,
                directory: false,
            },
        ));
        let f = &r.final_state;
        assert_eq!(f.endpoint_state, "available", "seed {seed}");
        assert_eq!(f.alias_target, f.endpoint_dns_name, "seed {seed}");
        assert_eq!(f.leftover_failed_resources, 0, "seed {seed}");
        assert_eq!(f.gateway_subnets.len(), 2, "seed {seed}");
        assert!(
            f.gateway_subnets.iter().all(|s| s.addresses_consumed == 17),
            "seed {seed}: {:?}",
            f.gateway_subnets
        );
        assert!(
            f.gateway_subnets
                .iter()
                .all(|s| !FSX_SUBNETS.contains(&s.subnet_id.as_str())),
            "seed {seed}: healed out of the fragmented subnets"
        );
        let kinds: Vec<&str> = r.timeline.iter().map(|e| e.kind.as_str()).collect();
        for k in ["world", "trigger", "diagnosis", "action", "wait", "manual_step", "done"] {
            assert!(kinds.contains(&k), "seed {seed}: no {k} entry");
        }
        assert!(
            r.timeline.iter().any(|e| e.kind == "trigger"
                && e.message
                    .contains("There aren't sufficient free Ipv4 addresses or prefixes")),
            "seed {seed}"
        );
        assert!(
            f.manual_steps.iter().any(|m| m.contains("msDS-AdditionalDnsHostname")),
            "seed {seed}"
        );
    }
}

#[test]
fn seed_demo_is_deterministic_for_a_seed() {
    let run = |seed| {
        serde_json::to_string(&block_on(fsxn_lattice_sim::scenario::run_seed_demo(
            fsxn_lattice_sim::scenario::DemoOptions {
                seed,
                fault_rate: 0.0,
                directory: false,
            },
        )))
        .unwrap()
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}

#[test]
fn capacity_based_choice_succeeds_the_first_time_without_a_failed_eni() {
    for seed in 1..=5 {
        let w = opted_in(seed);
        let config = auto_config();
        let r = converge(&w.cloud, &config);
        assert_eq!(r.status, ReconcileStatus::Converged, "seed {seed}: {:?}", r.last_plan);
        assert!(
            check_world(&w.cloud, &config, true).is_empty(),
            "seed {seed}: {:?}",
            check_world(&w.cloud, &config, true)
        );
        let failed_enis = w
            .cloud
            .drain_events()
            .iter()
            .filter(|e| e["detail"]["errorCode"].is_string())
            .count();
        assert_eq!(failed_enis, 0, "seed {seed}");
        assert_eq!(w.cloud.snapshot().gateways.len(), 1, "seed {seed}: never replaced");
    }
}

#[test]
fn plan_is_empty_after_convergence_and_a_second_reconcile_writes_nothing() {
    let w = opted_in(3);
    let config = auto_config();
    converge(&w.cloud, &config);
    let (observed, desired) = block_on(observe(&w.cloud, &config, &Default::default())).unwrap();
    let p = plan(&config, &desired, &observed);
    assert!(p.is_converged(), "{p:?}");
    let before = w.cloud.api_calls();
    let snap = w.cloud.snapshot();
    let r = converge(&w.cloud, &config);
    assert_eq!(
        (r.status, r.applied.len(), r.passes),
        (ReconcileStatus::Converged, 0, 1)
    );
    assert_eq!(
        writes(&w.cloud.api_calls()),
        writes(&before),
        "no write in steady state"
    );
    assert_eq!(w.cloud.snapshot(), snap);
}

#[test]
fn plans_do_not_depend_on_the_order_of_observations() {
    let w = opted_in(4);
    let config = auto_config();
    let (mut observed, desired) = block_on(observe(&w.cloud, &config, &Default::default())).unwrap();
    let a = plan(&config, &desired, &observed);
    observed.subnets.reverse();
    observed.network_interfaces.reverse();
    observed.vpcs.reverse();
    observed.svms.reverse();
    assert_eq!(a, plan(&config, &desired, &observed));
    assert!(!a.actions.is_empty());
}

/// Runs reconcile passes by hand with a global budget of `k` actions, then "crashes".
fn run_until_crash(cloud: &SimCloud, config: &Config, k: usize) {
    let mut budget = k;
    for _ in 0..40 {
        let (observed, desired) = block_on(observe(cloud, config, &Default::default())).unwrap();
        let p = plan(config, &desired, &observed);
        if p.actions.is_empty() {
            if p.waiting.is_empty() {
                return;
            }
            cloud.advance(Duration::from_secs(15));
            continue;
        }
        if budget == 0 {
            return;
        }
        // The crash comes between two actions: after the budget's last one, if more follow.
        let mut done = 0;
        let mut crashed = false;
        let report = block_on(apply(cloud, &p, &ApplyOptions::default(), &mut |_| {
            done += 1;
            if done == budget && done < p.actions.len() {
                crashed = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }));
        budget -= report.applied.len();
        if crashed {
            return;
        }
    }
}

#[test]
fn a_crash_before_every_apply_step_then_a_rerun_converges_with_no_orphans() {
    for (name, config) in [
        ("pinned+heal", Config::from_toml(SEED_CONFIG).unwrap()),
        ("auto", auto_config()),
    ] {
        let clean = opted_in(11);
        let total = converge(&clean.cloud, &config).applied.len();
        assert!(total >= 5, "{name}: {total}");
        for k in 0..=total {
            let w = opted_in(11);
            run_until_crash(&w.cloud, &config, k);
            let r = converge(&w.cloud, &config);
            assert_eq!(
                r.status,
                ReconcileStatus::Converged,
                "{name}: crash before step {k}: {:?}",
                r.last_plan
            );
            let problems = check_world(&w.cloud, &config, true);
            assert!(
                problems.is_empty(),
                "{name}: crash before step {k} of {total}: {problems:?}"
            );
        }
    }
}

#[test]
fn thirty_percent_throttling_and_5xx_still_converge() {
    for seed in 1..=24 {
        let w = opted_in(seed);
        let config = auto_config();
        w.cloud.set_faults(Faults {
            rate: 0.3,
            ..Faults::default()
        });
        let r = converge(&w.cloud, &config);
        assert_eq!(
            r.status,
            ReconcileStatus::Converged,
            "seed {seed}: {:?} {:?}",
            r.error,
            r.last_plan.waiting
        );
        assert!(w.cloud.faults_injected() > 0);
        w.cloud.set_faults(Faults::default());
        assert!(
            check_world(&w.cloud, &config, true).is_empty(),
            "seed {seed}: {:?}",
            check_world(&w.cloud, &config, true)
        );
    }
}

#[test]
fn opting_out_removes_everything_we_created_and_nothing_else() {
    let w = opted_in(5);
    let config = Config::from_toml(SEED_CONFIG).unwrap();
    let foreign_before: Vec<NetworkInterface> = w
        .cloud
        .snapshot()
        .network_interfaces
        .into_iter()
        .filter(|e| e.resource_gateway_id().is_none() && !e.description.starts_with("VPC Endpoint"))
        .collect();
    converge(&w.cloud, &config);
    assert!(check_world(&w.cloud, &config, true).is_empty());
    w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "off");
    let r = converge(&w.cloud, &config);
    assert_eq!(r.status, ReconcileStatus::Converged, "{:?}", r.last_plan);
    assert!(
        check_world(&w.cloud, &config, false).is_empty(),
        "{:?}",
        check_world(&w.cloud, &config, false)
    );
    let snap = w.cloud.snapshot();
    let foreign_after: Vec<NetworkInterface> = snap
        .network_interfaces
        .into_iter()
        .filter(|e| e.resource_gateway_id().is_none() && !e.description.starts_with("VPC Endpoint"))
        .collect();
    assert_eq!(foreign_before, foreign_after, "foreign ENIs untouched");
    assert!(
        snap.records
            .values()
            .flatten()
            .any(|r| r.name == "non-97-svm.corp.non-97.net" && r.record_type == RecordType::A),
        "AD's A record untouched"
    );
    assert!(snap.subnets.iter().any(|s| s.id.as_str() == FSX_SUBNETS[0]));
}

#[test]
fn upsert_only_never_deletes_records() {
    let w = opted_in(5);
    let config = Config::from_toml(&format!(
        "{}\n[dns]\npolicy = \"upsert-only\"\n",
        SEED_CONFIG.trim_end()
    ))
    .unwrap();
    converge(&w.cloud, &config);
    w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "off");
    let r = converge(&w.cloud, &config);
    assert!(
        r.applied
            .iter()
            .all(|a| !matches!(a.action.action, Action::DeleteAlias { .. }))
    );
    assert!(
        r.last_plan.warnings.iter().any(|w| w.contains("upsert-only")),
        "{:?}",
        r.last_plan.warnings
    );
    assert!(
        w.cloud
            .snapshot()
            .records
            .values()
            .flatten()
            .any(|r| r.name == normalize_dns_name(ALIAS))
    );
}

#[test]
fn resources_made_by_hand_are_never_touched() {
    let w = opted_in(6);
    // The seed's own first attempt, by hand, without our tags: gateway in the FSx subnets.
    let vpc = VpcId::parse(fsxn_lattice_sim::scenario::FSX_VPC).unwrap();
    let gw = block_on(w.cloud.create_resource_gateway(&CreateResourceGatewayRequest {
        name: "non-97-rgw".into(),
        vpc_id: vpc,
        subnet_ids: FSX_SUBNETS.iter().map(|s| SubnetId::parse(*s).unwrap()).collect(),
        security_group_ids: vec![SecurityGroupId::parse("sg-03730d9e2b49e7cbc").unwrap()],
        ipv4_addresses_per_eni: 16,
        client_token: String::new(),
        tags: Tags::new(),
    }))
    .unwrap();
    let config = auto_config();
    let r = converge(&w.cloud, &config);
    assert_eq!(r.status, ReconcileStatus::Converged);
    let snap = w.cloud.snapshot();
    assert_eq!(
        snap.gateways.iter().find(|g| g.id == gw.id),
        Some(&gw),
        "the hand-made gateway is exactly as it was"
    );
    for a in &r.applied {
        let s = serde_json::to_string(&a.action.action).unwrap();
        assert!(!s.contains(gw.id.as_str()), "{s}");
    }
}

#[test]
fn a_foreign_record_at_the_alias_is_refused_and_never_overwritten() {
    let w = opted_in(6);
    let zone = HostedZoneId::parse(fsxn_lattice_sim::scenario::ZONE_ID).unwrap();
    let foreign = RecordSet {
        name: normalize_dns_name(ALIAS),
        record_type: RecordType::CNAME,
        ttl: 3600,
        values: vec!["somewhere.else.example".into()],
        routing: None,
    };
    w.cloud.add_record(&zone, foreign.clone());
    let config = auto_config();
    let r = converge(&w.cloud, &config);
    assert!(
        r.last_plan
            .refusals
            .iter()
            .any(|x| x.kind == ErrorKind::Conflict && x.reason.contains("not ours")),
        "{:?}",
        r.last_plan.refusals
    );
    assert!(w.cloud.snapshot().records[&zone].contains(&foreign));
}

fn refusal_for(mutate: impl Fn(&SimCloud), config: &Config, needle: &str, kind: ErrorKind) {
    let w = opted_in(8);
    mutate(&w.cloud);
    let r = converge(&w.cloud, config);
    assert!(
        r.last_plan
            .refusals
            .iter()
            .any(|x| x.kind == kind && x.reason.contains(needle)),
        "wanted a {kind} refusal containing `{needle}`: {:?}",
        r.last_plan.refusals
    );
    assert!(
        w.cloud.snapshot().gateways.is_empty(),
        "nothing is created for a refused exposure"
    );
}

#[test]
fn preflight_refusals_say_why_and_create_nothing() {
    let fs = |cloud: &SimCloud, f: &dyn Fn(&mut FileSystem)| {
        let mut fsys = block_on(cloud.describe_file_systems()).unwrap().remove(0);
        f(&mut fsys);
        cloud.add_file_system(fsys);
    };
    refusal_for(
        |c| fs(c, &|f| f.deployment_type = DeploymentType::SingleAz1),
        &auto_config(),
        "without VPC Lattice",
        ErrorKind::InvalidInput,
    );
    refusal_for(
        |c| {
            let mut svm = block_on(c.describe_storage_virtual_machines()).unwrap().remove(0);
            for e in [
                &mut svm.endpoints.smb,
                &mut svm.endpoints.nfs,
                &mut svm.endpoints.management,
            ]
            .into_iter()
            .flatten()
            {
                e.ip_addresses = vec!["198.19.255.239".parse().unwrap()];
            }
            c.add_svm(svm);
        },
        &auto_config(),
        "outside the CIDRs",
        ErrorKind::InvalidInput,
    );
    refusal_for(
        |c| {
            c.add_vpc(fsxn_lattice_sim::scenario::CONSUMER_VPC, &["10.1.0.0/16"], false);
        },
        &auto_config(),
        "enableDnsHostnames",
        ErrorKind::InvalidInput,
    );
    let no_carving =
        Config::from_toml(&auto_config_text().replace("allow_subnet_creation = true", "allow_subnet_creation = false"))
            .unwrap();
    // AZ b has no subnet with a free /28 in the seed world.
    refusal_for(
        |_| {},
        &no_carving,
        "allow_subnet_creation is off",
        ErrorKind::CapacityExhausted,
    );
}

fn auto_config_text() -> String {
    SEED_CONFIG.replace(
        "subnet_ids = [\"subnet-0ddc1cafa116ba0dd\", \"subnet-062714f49313a0ea5\"]\n",
        "",
    )
}

#[test]
fn replacing_a_serving_gateway_keeps_the_alias_resolving_until_the_new_path_serves() {
    let w = opted_in(9);
    let config = auto_config();
    converge(&w.cloud, &config);
    let old = w.cloud.snapshot();
    let old_ep = old
        .endpoints
        .iter()
        .find(|e| is_owned(&e.tags, &config.owner))
        .unwrap()
        .id
        .clone();
    // Pin the gateway to a fresh roomy subnet in each AZ: subnets are immutable, so it is replaced.
    let vpc = VpcId::parse(fsxn_lattice_sim::scenario::FSX_VPC).unwrap();
    w.cloud
        .add_subnet("subnet-0aaaaaaaaaaaaaaa1", &vpc, "us-east-1a", "10.0.32.0/24");
    w.cloud
        .add_subnet("subnet-0aaaaaaaaaaaaaaa2", &vpc, "us-east-1b", "10.0.33.0/24");
    let pinned = Config::from_toml(&auto_config_text().replace(
        "heal = true",
        "heal = true\nsubnet_ids = [\"subnet-0aaaaaaaaaaaaaaa1\", \"subnet-0aaaaaaaaaaaaaaa2\"]",
    ))
    .unwrap();
    let mut order = Vec::new();
    let mut always_resolves = true;
    let r = block_on(reconcile(&w.cloud, &pinned, &polling(), &mut |p| {
        if let Progress::Applied { applied, .. } = p {
            order.push(applied.action.action.clone());
            always_resolves &= w.cloud.connect(ALIAS, 445).is_some();
        }
    }));
    assert_eq!(r.status, ReconcileStatus::Converged, "{:?}", r.last_plan);
    assert!(always_resolves, "the alias reached the SVM after every step");
    let upsert = order
        .iter()
        .position(|a| matches!(a, Action::PublishAlias { .. }))
        .expect("alias repointed");
    let delete_old = order
        .iter()
        .position(|a| matches!(a, Action::DeleteVpcEndpoint { vpc_endpoint_id, .. } if *vpc_endpoint_id == old_ep))
        .expect("old endpoint deleted");
    assert!(upsert < delete_old, "{order:?}");
    assert!(
        check_world(&w.cloud, &pinned, true).is_empty(),
        "{:?}",
        check_world(&w.cloud, &pinned, true)
    );
    let snap = w.cloud.snapshot();
    let g = snap.gateways.iter().find(|g| is_owned(&g.tags, &config.owner)).unwrap();
    assert_eq!(
        g.subnet_ids.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
    );
}

/// A route table without FSx's route to the endpoint IP range (a subnet's own table, say).
fn unrouted_table(cloud: &SimCloud) -> RouteTableId {
    let vpc = VpcId::parse(fsxn_lattice_sim::scenario::FSX_VPC).unwrap();
    cloud.add_route_table("rtb-0c0c0c0c0c0c0c0c0", &vpc)
}

#[test]
fn a_gateway_subnet_moved_off_the_file_systems_route_tables_is_healed_and_connections_come_back() {
    for seed in [3, 11, 29] {
        let w = opted_in(seed);
        let config = auto_config();
        assert_eq!(
            converge(&w.cloud, &config).status,
            ReconcileStatus::Converged,
            "seed {seed}"
        );
        assert!(w.cloud.connect(ALIAS, 445).is_some(), "seed {seed}: serves at first");
        // Someone gives one gateway subnet a table without FSx's routes: the endpoint still
        // shows available, but every connection times out.
        let gw = w
            .cloud
            .snapshot()
            .gateways
            .into_iter()
            .find(|g| is_owned(&g.tags, &config.owner))
            .unwrap();
        let table = unrouted_table(&w.cloud);
        w.cloud.associate(&gw.subnet_ids[0], &table);
        assert!(
            w.cloud.connect(ALIAS, 445).is_none(),
            "seed {seed}: the simulation times out"
        );
        let r = converge(&w.cloud, &config);
        assert_eq!(r.status, ReconcileStatus::Converged, "seed {seed}: {:?}", r.last_plan);
        let snap = w.cloud.snapshot();
        let new = snap.gateways.iter().find(|g| is_owned(&g.tags, &config.owner)).unwrap();
        assert_ne!(new.id, gw.id, "seed {seed}: replaced (gateway subnets are immutable)");
        assert!(!new.subnet_ids.contains(&gw.subnet_ids[0]), "seed {seed}");
        assert!(w.cloud.connect(ALIAS, 445).is_some(), "seed {seed}: serves again");
        assert!(
            check_world(&w.cloud, &config, true).is_empty(),
            "seed {seed}: {:?}",
            check_world(&w.cloud, &config, true)
        );
    }
}

#[test]
fn a_pinned_subnet_on_another_route_table_is_refused_with_the_reason() {
    let pinned = Config::from_toml(&auto_config_text().replace(
        "heal = true",
        "heal = true\nsubnet_ids = [\"subnet-0aaaaaaaaaaaaaaa1\", \"subnet-0aaaaaaaaaaaaaaa2\"]",
    ))
    .unwrap();
    refusal_for(
        |cloud| {
            let vpc = VpcId::parse(fsxn_lattice_sim::scenario::FSX_VPC).unwrap();
            let a = cloud.add_subnet("subnet-0aaaaaaaaaaaaaaa1", &vpc, "us-east-1a", "10.0.32.0/24");
            cloud.add_subnet("subnet-0aaaaaaaaaaaaaaa2", &vpc, "us-east-1b", "10.0.33.0/24");
            let table = unrouted_table(cloud);
            cloud.associate(&a, &table);
        },
        &pinned,
        "subnet-0aaaaaaaaaaaaaaa1 uses route table rtb-0c0c0c0c0c0c0c0c0",
        ErrorKind::InvalidInput,
    );
}

#[test]
fn a_client_token_that_answers_with_a_deleted_endpoint_gets_a_new_endpoint() {
    // One of the two behaviours AWS may have (UNCONFIRMED): the token of a deleted endpoint
    // answers with that endpoint. The reconcile must derive a new token, not spin.
    let w = opted_in(4);
    w.cloud.set_replay_dead_tokens(true);
    let config = auto_config();
    assert_eq!(converge(&w.cloud, &config).status, ReconcileStatus::Converged);
    let ep = w
        .cloud
        .snapshot()
        .endpoints
        .into_iter()
        .find(|e| is_owned(&e.tags, &config.owner))
        .unwrap();
    // Deleted behind our back (the configuration stays, so the wanted endpoint — and its token —
    // are the same as before).
    block_on(w.cloud.delete_vpc_endpoint(&ep.id)).unwrap();
    w.cloud.advance(Duration::from_secs(600));
    let r = converge(&w.cloud, &config);
    assert_eq!(r.status, ReconcileStatus::Converged, "{:?}", r.last_plan);
    let now = w
        .cloud
        .snapshot()
        .endpoints
        .into_iter()
        .find(|e| is_owned(&e.tags, &config.owner))
        .unwrap();
    assert_ne!(now.id, ep.id);
    assert_eq!(now.state, EndpointState::Available);
    assert!(w.cloud.connect(ALIAS, 445).is_some());
}

#[test]
fn a_foreign_cname_written_between_listing_and_publishing_is_never_overwritten() {
    let w = opted_in(6);
    let config = auto_config();
    // Run until the only thing left is publishing the alias.
    let pending = loop {
        let (observed, desired) = block_on(observe(&w.cloud, &config, &Default::default())).unwrap();
        let p = plan(&config, &desired, &observed);
        if p.actions
            .iter()
            .any(|a| matches!(a.action, Action::PublishAlias { .. }))
        {
            break p;
        }
        block_on(apply(&w.cloud, &p, &ApplyOptions::default(), &mut |_| {
            ControlFlow::Continue(())
        }));
        w.cloud.advance(Duration::from_secs(30));
    };
    // Someone else writes the name after our read and before our write.
    let zone = HostedZoneId::parse(fsxn_lattice_sim::scenario::ZONE_ID).unwrap();
    let theirs = RecordSet {
        name: ALIAS.to_lowercase(),
        record_type: RecordType::CNAME,
        ttl: 60,
        values: vec!["someone-else.example".into()],
        routing: None,
    };
    w.cloud.add_record(&zone, theirs.clone());
    let report = block_on(apply(&w.cloud, &pending, &ApplyOptions::default(), &mut |_| {
        ControlFlow::Continue(())
    }));
    let (_, e) = report.failed.expect("the batch fails whole");
    assert_eq!(e.kind, ErrorKind::Conflict, "{e:?}");
    let snap = w.cloud.snapshot();
    assert!(snap.records[&zone].contains(&theirs), "their record is intact");
    // The next reconcile sees it and refuses, naming it; it still never writes there.
    let r = converge(&w.cloud, &config);
    assert!(
        r.last_plan
            .refusals
            .iter()
            .any(|x| x.kind == ErrorKind::Conflict && x.reason.contains("not ours")),
        "{:?}",
        r.last_plan.refusals
    );
    assert!(w.cloud.snapshot().records[&zone].contains(&theirs));
}
