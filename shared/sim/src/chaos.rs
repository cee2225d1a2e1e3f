//! Randomized campaigns: a random but valid world with foreign resources, a random sequence of
//! changes, events delivered duplicated, reordered, delayed and dropped, throttling and 5xx on
//! every API, crashes in the middle of applies, two reconcilers racing — then a final reconcile
//! and a check that the world is exactly what the configuration asks for, with nothing foreign
//! touched. Each run derives its seed from the campaign seed, so a failure replays alone.

use crate::{Faults, SimCloud, Snapshot};
use fsxn_lattice_core::apply::{ApplyOptions, apply};
use fsxn_lattice_core::config::{Config, tag_keys};
use fsxn_lattice_core::events::{Trigger, classify};
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::naming::{CONSUMER_TAG, FILE_SYSTEM_TAG, SVM_TAG, is_owned};
use fsxn_lattice_core::plan::{Plan, plan};
use fsxn_lattice_core::ports::*;
use fsxn_lattice_core::reconcile::{ReconcileOptions, ReconcileStatus, observe, reconcile};
use fsxn_lattice_core::time::rfc3339;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const OWNER: &str = "chaos";

/// Options of a campaign.
#[derive(Debug, Clone, Copy)]
pub struct ChaosOptions {
    /// Campaign seed; run `i` uses a seed derived from it.
    pub seed: u64,
    /// Number of runs.
    pub runs: u32,
    /// Throttling/5xx rate on every API call during the changes.
    pub fault_rate: f64,
}

/// One run that did not end clean.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The run's own seed (`--seed S --runs 1` replays it).
    pub seed: u64,
    /// What was wrong.
    pub what: String,
}

/// What a campaign found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChaosReport {
    /// Runs made.
    pub runs: u32,
    /// Runs whose final reconcile converged.
    pub converged: u32,
    /// Resources of ours that nothing desired needs.
    pub orphans: u32,
    /// Extra copies of something that should exist once.
    pub duplicates: u32,
    /// Foreign resources changed or deleted.
    pub foreign_touched: u32,
    /// The most passes a final reconcile needed.
    pub max_reconciles_to_converge: u32,
    /// API calls made, all runs.
    pub api_calls: u64,
    /// Faults injected, all runs.
    pub faults_injected: u64,
    /// Crashes injected, all runs.
    pub crashes_injected: u64,
    /// Races run, all runs.
    pub races: u64,
    /// Events delivered / dropped / duplicated, all runs.
    pub events: EventStats,
    /// Runs that failed, with their seeds.
    pub failures: Vec<Failure>,
    /// The timeline of a single run (only when `runs == 1`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<String>,
}

/// Event delivery counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EventStats {
    /// Delivered (duplicates included).
    pub delivered: u64,
    /// Dropped.
    pub dropped: u64,
    /// Delivered twice.
    pub duplicated: u64,
    /// Held back to a later step.
    pub delayed: u64,
}

impl ChaosReport {
    /// Whether every run converged clean.
    pub fn clean(&self) -> bool {
        self.converged == self.runs
            && self.orphans == 0
            && self.duplicates == 0
            && self.foreign_touched == 0
            && self.failures.is_empty()
    }
}

/// The seed of run `i`.
pub fn run_seed(campaign: u64, i: u32) -> u64 {
    campaign
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(u64::from(i))
        .rotate_left(17)
        ^ 0x5eed
}

struct World {
    cloud: SimCloud,
    config: Config,
    svms: Vec<StorageVirtualMachine>,
    file_systems: Vec<FileSystem>,
    consumers: Vec<(String, VpcId, Vec<SubnetId>, HostedZoneId, String)>,
}

fn id<T: std::str::FromStr>(prefix: &str, rng: &mut ChaCha8Rng) -> T
where
    T::Err: std::fmt::Debug,
{
    let hex: String = (0..17)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).expect("digit"))
        .collect();
    format!("{prefix}-{hex}").parse().expect("generated id")
}

fn build(seed: u64, rng: &mut ChaCha8Rng) -> World {
    let cloud = SimCloud::new(seed);
    let vpc = cloud.add_vpc("vpc-0c0ffee000000000a", &["10.0.0.0/16"], true);
    // Per AZ: one fragmented subnet (like the seed's) and sometimes a roomy one.
    let mut subnets_by_az: BTreeMap<&str, Vec<SubnetId>> = BTreeMap::new();
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let s = cloud.add_subnet(
            &format!("subnet-0f000000000000{i:03x}"),
            &vpc,
            az,
            &format!("10.0.{}.0/24", 8 + i),
        );
        cloud.fragment(&s, rng.random_range(150..230));
        subnets_by_az.entry(az).or_default().push(s);
        if rng.random_bool(0.6) {
            let r = cloud.add_subnet(
                &format!("subnet-0e000000000000{i:03x}"),
                &vpc,
                az,
                &format!("10.0.{}.0/24", 20 + i),
            );
            cloud.fill_random(&r, rng.random_range(180..245));
        }
    }
    // Foreign things that must never be touched: a hand-made gateway and configuration, an
    // explicit reservation, workload ENIs.
    let foreign_gw = pollster::block_on(cloud.create_resource_gateway(&CreateResourceGatewayRequest {
        name: "hand-made-rgw".into(),
        vpc_id: vpc.clone(),
        subnet_ids: subnets_by_az.values().map(|v| v[0].clone()).collect(),
        security_group_ids: vec!["sg-0aaaaaaaaaaaaaaa1".parse().expect("id")],
        ipv4_addresses_per_eni: 16,
        client_token: String::new(),
        tags: Tags::new(),
    }))
    .expect("foreign gateway");
    let _ = pollster::block_on(
        cloud.create_resource_configuration(&CreateResourceConfigurationRequest {
            name: "hand-made-rcfg".into(),
            gateway_id: foreign_gw.id,
            ip_address: "10.0.15.250".parse().expect("ip"),
            port_ranges: vec![PortRange::single(22)],
            client_token: String::new(),
            tags: Tags::new(),
        }),
    );
    let first = subnets_by_az["us-east-1a"][0].clone();
    let _ = pollster::block_on(cloud.create_subnet_cidr_reservation(&CreateCidrReservationRequest {
        subnet_id: first,
        cidr: "10.0.8.240/28".parse().expect("cidr"),
        reservation_type: ReservationType::Explicit,
        description: "someone else's".into(),
        tags: Tags::new(),
    }));
    let n_fs = rng.random_range(1..=2u32);
    let mut file_systems = Vec::new();
    let mut svms = Vec::new();
    for f in 0..n_fs {
        let fs = FileSystem {
            id: id("fs", rng),
            lifecycle: FsxLifecycle::Available,
            deployment_type: DeploymentType::MultiAz1,
            vpc_id: vpc.clone(),
            subnet_ids: subnets_by_az.values().map(|v| v[0].clone()).collect(),
            endpoint_ip_address_range: Some(format!("10.0.{}.192/26", 15 + f * 16).parse().expect("cidr")),
            route_table_ids: vec![],
            tags: Tags::new(),
        };
        for k in 0..rng.random_range(1..=2u32) {
            svms.push(new_svm(rng, &fs, 200 + k));
        }
        cloud.add_file_system(fs.clone());
        file_systems.push(fs);
    }
    for s in &svms {
        cloud.add_svm(s.clone());
    }
    let mut consumers = Vec::new();
    for c in 0..rng.random_range(1..=3u32) {
        let cvpc = cloud.add_vpc(
            &format!("vpc-0d00000000000{c:04x}"),
            &[&format!("10.{}.0.0/16", 100 + c)],
            true,
        );
        let subnets = vec![
            cloud.add_subnet(
                &format!("subnet-0d0000000000{c:03x}a"),
                &cvpc,
                "us-east-1a",
                &format!("10.{}.0.0/24", 100 + c),
            ),
            cloud.add_subnet(
                &format!("subnet-0d0000000000{c:03x}b"),
                &cvpc,
                "us-east-1b",
                &format!("10.{}.1.0/24", 100 + c),
            ),
        ];
        // Private zones of one name, one per consumer VPC, as AWS allows: one alias name works
        // in every consumer.
        let domain = "corp.example".to_string();
        let zone = cloud.add_hosted_zone(&format!("ZCHAOS{c:04}"), &domain, true);
        // Foreign records: an A record and someone's TXT.
        cloud.add_record(
            &zone,
            RecordSet {
                name: format!("fileserver.{domain}"),
                record_type: RecordType::A,
                ttl: 300,
                values: vec!["10.0.15.199".into()],
                routing: None,
            },
        );
        cloud.add_record(
            &zone,
            RecordSet {
                name: format!("_other.{domain}"),
                record_type: RecordType::TXT,
                ttl: 300,
                values: vec!["\"heritage=external-dns,owner=x\"".into()],
                routing: None,
            },
        );
        consumers.push((format!("c{c}"), cvpc, subnets, zone, domain));
    }
    let config = config_for(&consumers.iter().map(|c| c.0.clone()).collect::<Vec<_>>(), &consumers);
    World {
        cloud,
        config,
        svms,
        file_systems,
        consumers,
    }
}

fn new_svm(rng: &mut ChaCha8Rng, fs: &FileSystem, host: u32) -> StorageVirtualMachine {
    let range = fs.endpoint_ip_address_range.expect("range");
    let ip = std::net::Ipv4Addr::from(u32::from(range.network()) + (host % 60) + 2);
    let svm_id: SvmId = id("svm", rng);
    StorageVirtualMachine {
        name: format!("svm-{}", &svm_id.suffix()[..6]),
        id: svm_id,
        file_system_id: fs.id.clone(),
        lifecycle: FsxLifecycle::Created,
        endpoints: SvmEndpoints::one_ip("SVM", ip),
        tags: Tags::new(),
    }
}

fn config_for(active: &[String], consumers: &[(String, VpcId, Vec<SubnetId>, HostedZoneId, String)]) -> Config {
    let mut text = format!("owner = \"{OWNER}\"\n[gateway]\nsecurity_group_ids = [\"sg-0aaaaaaaaaaaaaaa1\"]\n");
    for (name, vpc, subnets, zone, _) in consumers.iter().filter(|c| active.contains(&c.0)) {
        let subnets: Vec<String> = subnets.iter().map(|s| format!("\"{s}\"")).collect();
        text.push_str(&format!(
            "[[consumers]]\nname = \"{name}\"\nvpc_id = \"{vpc}\"\nsubnet_ids = [{}]\nhosted_zone_id = \"{zone}\"\n",
            subnets.join(", ")
        ));
    }
    Config::from_toml(&text).expect("generated config is valid")
}

/// Foreign state: everything that does not carry our ownership mark.
fn foreign(s: &Snapshot) -> (Vec<String>, BTreeSet<String>) {
    let ours = |t: &Tags| is_owned(t, OWNER);
    let mut items = Vec::new();
    for g in s.gateways.iter().filter(|g| !ours(&g.tags)) {
        items.push(format!("gateway {} {:?} {:?}", g.id, g.subnet_ids, g.status));
    }
    for c in s.configurations.iter().filter(|c| !ours(&c.tags)) {
        items.push(format!("configuration {} {:?} {:?}", c.id, c.ip_address, c.port_ranges));
    }
    for r in s.cidr_reservations.iter().filter(|r| !ours(&r.tags)) {
        items.push(format!("reservation {} {}", r.id, r.cidr));
    }
    for sub in s.subnets.iter().filter(|x| !ours(&x.tags)) {
        items.push(format!("subnet {} {}", sub.id, sub.cidr));
    }
    for e in s
        .network_interfaces
        .iter()
        .filter(|e| e.description == "foreign workload")
    {
        items.push(format!("eni {} {:?}", e.id, e.private_ips));
    }
    let mut records = BTreeSet::new();
    for (z, rs) in &s.records {
        for r in rs
            .iter()
            .filter(|r| !r.name.contains("_fsxn-lattice") && !r.name.starts_with("alias-"))
        {
            records.insert(format!("{z} {r:?}"));
        }
    }
    (items, records)
}

struct Run<'a> {
    w: &'a World,
    rng: ChaCha8Rng,
    timeline: Vec<String>,
    crashes: u64,
    races: u64,
    events: EventStats,
    held: Vec<Value>,
}

impl Run<'_> {
    fn log(&mut self, what: String) {
        self.timeline
            .push(format!("{}  {what}", rfc3339(self.w.cloud.now_secs())));
    }

    /// One Lambda invocation: a reconcile pass or a few, maybe crashing after k actions.
    fn invoke(&mut self, config: &Config) {
        let crash = self.rng.random_bool(0.2).then(|| self.rng.random_range(0..4usize));
        if crash.is_some() {
            self.crashes += 1;
        }
        let mut options = ReconcileOptions {
            max_passes: 6,
            poll_interval: Duration::ZERO,
            ..Default::default()
        };
        options.apply = ApplyOptions {
            stop_after: crash,
            ..options.apply
        };
        let r = pollster::block_on(reconcile(&self.w.cloud, config, &options, &mut |_| {}));
        self.log(format!(
            "reconcile: {:?} after {} pass(es), {} applied{}",
            r.status,
            r.passes,
            r.applied.len(),
            crash.map(|k| format!(", crash after {k}")).unwrap_or_default()
        ));
    }

    /// Two reconcilers observe the same world, plan, and apply their plans interleaved.
    fn race(&mut self, config: &Config) {
        self.races += 1;
        let plans: Vec<Plan> = (0..2)
            .filter_map(|_| pollster::block_on(observe(&self.w.cloud, config, &Default::default())).ok())
            .map(|(o, d)| plan(config, &d, &o))
            .collect();
        let longest = plans.iter().map(|p| p.actions.len()).max().unwrap_or(0);
        let mut applied = 0;
        for i in 0..longest {
            for p in &plans {
                if let Some(a) = p.actions.get(i) {
                    let one = Plan {
                        actions: vec![a.clone()],
                        ..Plan::default()
                    };
                    let r = pollster::block_on(apply(&self.w.cloud, &one, &ApplyOptions::default(), &mut |_| {}));
                    applied += r.applied.len();
                }
            }
        }
        self.log(format!(
            "race: two reconcilers, {applied} action(s) applied interleaved"
        ));
    }

    /// Delivers events: dropped, duplicated, held back, shuffled; each actionable one invokes.
    fn deliver(&mut self, config: &Config) {
        let mut batch: Vec<Value> = std::mem::take(&mut self.held);
        for ev in self.w.cloud.drain_events() {
            if self.rng.random_bool(0.2) {
                self.events.dropped += 1;
                continue;
            }
            if self.rng.random_bool(0.2) {
                self.events.delayed += 1;
                self.held.push(ev);
                continue;
            }
            if self.rng.random_bool(0.3) {
                self.events.duplicated += 1;
                batch.push(ev.clone());
            }
            batch.push(ev);
        }
        batch.shuffle(&mut self.rng);
        for ev in batch {
            self.events.delivered += 1;
            match classify(&ev) {
                Ok(Trigger::Ignored { .. }) | Err(_) => {}
                Ok(t) => {
                    self.log(format!("event {}", t.name()));
                    if self.rng.random_bool(0.15) {
                        self.race(config)
                    } else {
                        self.invoke(config)
                    }
                }
            }
        }
    }
}

fn change(run: &mut Run<'_>, active: &mut Vec<String>, svms: &mut Vec<StorageVirtualMachine>) -> Config {
    let w = run.w;
    let choice = run.rng.random_range(0..7u32);
    let pick = |rng: &mut ChaCha8Rng, v: &[StorageVirtualMachine]| v[rng.random_range(0..v.len())].clone();
    match choice {
        0 | 1 if !svms.is_empty() => {
            let s = pick(&mut run.rng, svms);
            let protocols = ["smb", "nfs", "smb,nfs", "ssh,smb,nfs", "nfs3"][run.rng.random_range(0..5)];
            w.cloud.tag_fsx(s.id.as_str(), tag_keys::EXPOSE, protocols);
            if run.rng.random_bool(0.7) {
                w.cloud.tag_fsx(
                    s.id.as_str(),
                    tag_keys::ALIAS,
                    &format!("alias-{}.corp.example", &s.id.suffix()[..8]),
                );
            }
            run.log(format!("opt in {} ({protocols})", s.id));
        }
        2 if !svms.is_empty() => {
            let s = pick(&mut run.rng, svms);
            w.cloud.tag_fsx(s.id.as_str(), tag_keys::EXPOSE, "off");
            run.log(format!("opt out {}", s.id));
        }
        3 => {
            let fs = &w.file_systems[run.rng.random_range(0..w.file_systems.len())];
            let s = new_svm(&mut run.rng, fs, 300 + svms.len() as u32);
            w.cloud.create_svm(s.clone());
            run.log(format!("create {}", s.id));
            svms.push(s);
        }
        4 if svms.len() > 1 => {
            let i = run.rng.random_range(0..svms.len());
            let s = svms.remove(i);
            w.cloud.delete_svm(&s.id);
            run.log(format!("delete {}", s.id));
        }
        5 => {
            let all: Vec<String> = w.consumers.iter().map(|c| c.0.clone()).collect();
            let c = all[run.rng.random_range(0..all.len())].clone();
            if active.contains(&c) && active.len() > 1 {
                active.retain(|x| x != &c);
                run.log(format!("consumer {c} removed from the config"));
            } else if !active.contains(&c) {
                active.push(c.clone());
                run.log(format!("consumer {c} added to the config"));
            }
        }
        _ => {
            // Someone else's workload eats addresses in the subnets our gateways use.
            let snap = w.cloud.snapshot();
            let used: BTreeSet<SubnetId> = snap
                .gateways
                .iter()
                .filter(|g| is_owned(&g.tags, OWNER))
                .flat_map(|g| g.subnet_ids.clone())
                .collect();
            for s in &used {
                let free = w.cloud.available_ip_address_count(s).unwrap_or(0);
                w.cloud.fill_random(s, free.saturating_sub(run.rng.random_range(5..40)));
            }
            run.log(format!(
                "foreign ENIs take addresses in {} gateway subnet(s)",
                used.len()
            ));
        }
    }
    active.sort();
    config_for(active, &w.consumers)
}

/// Checks the end state: counts orphans and duplicates against what the config asks for.
fn check(w: &World, config: &Config) -> (u32, u32, Vec<String>) {
    let snap = w.cloud.snapshot();
    let ours = |t: &Tags| is_owned(t, OWNER);
    let (_, desired) =
        pollster::block_on(observe(&w.cloud, config, &Default::default())).expect("observe without faults");
    let mut problems = Vec::new();
    let (mut orphans, mut duplicates) = (0u32, 0u32);
    let exposed_fs: BTreeSet<&FileSystemId> = desired.exposures.values().map(|e| &e.file_system_id).collect();
    let gws: Vec<&ResourceGateway> = snap.gateways.iter().filter(|g| ours(&g.tags)).collect();
    for fs in &w.file_systems {
        let n = gws
            .iter()
            .filter(|g| g.tags.get(FILE_SYSTEM_TAG).map(String::as_str) == Some(fs.id.as_str()))
            .count();
        let want = usize::from(exposed_fs.contains(&fs.id));
        if n > want {
            if want == 0 {
                orphans += n as u32
            } else {
                duplicates += (n - want) as u32
            }
            problems.push(format!("{n} gateways for {} (want {want})", fs.id));
        } else if n < want {
            problems.push(format!("no gateway for {}", fs.id));
        }
    }
    let cfgs: Vec<&ResourceConfiguration> = snap.configurations.iter().filter(|c| ours(&c.tags)).collect();
    let eps: Vec<&VpcEndpoint> = snap
        .endpoints
        .iter()
        .filter(|e| ours(&e.tags) && e.state != EndpointState::Deleting)
        .collect();
    for c in &cfgs {
        let svm = c.tags.get(SVM_TAG).cloned().unwrap_or_default();
        let n = cfgs.iter().filter(|x| x.tags.get(SVM_TAG) == Some(&svm)).count();
        if !desired.exposures.keys().any(|s| s.as_str() == svm) {
            orphans += 1;
            problems.push(format!("configuration {} for undesired {svm}", c.id));
        } else if n > 1 {
            duplicates += 1;
            problems.push(format!("configuration {} is one of {n} for {svm}", c.id));
        }
    }
    for e in &eps {
        let svm = e.tags.get(SVM_TAG).cloned().unwrap_or_default();
        let consumer = e.tags.get(CONSUMER_TAG).cloned().unwrap_or_default();
        let wanted = desired
            .exposures
            .values()
            .any(|x| x.svm_id.as_str() == svm && x.consumers.contains(&consumer));
        let n = eps
            .iter()
            .filter(|x| x.tags.get(SVM_TAG) == Some(&svm) && x.tags.get(CONSUMER_TAG) == Some(&consumer))
            .count();
        if !wanted {
            orphans += 1;
            problems.push(format!("endpoint {} for undesired {svm}/{consumer}", e.id));
        } else if n > 1 {
            duplicates += 1;
            problems.push(format!("endpoint {} is one of {n} for {svm}/{consumer}", e.id));
        } else if e.state != EndpointState::Available {
            problems.push(format!("endpoint {} is {}", e.id, e.state.as_str()));
        }
    }
    for (svm, e) in &desired.exposures {
        for c in &e.consumers {
            if !eps.iter().any(|x| {
                x.tags.get(SVM_TAG).map(String::as_str) == Some(svm.as_str()) && x.tags.get(CONSUMER_TAG) == Some(c)
            }) {
                problems.push(format!("no endpoint for {svm}/{c}"));
            }
        }
    }
    let gw_subnets: BTreeSet<&SubnetId> = gws.iter().flat_map(|g| g.subnet_ids.iter()).collect();
    for r in snap
        .cidr_reservations
        .iter()
        .filter(|r| ours(&r.tags) && !gw_subnets.contains(&r.subnet_id))
    {
        orphans += 1;
        problems.push(format!("reservation {} in unused {}", r.id, r.subnet_id));
    }
    for s in snap
        .subnets
        .iter()
        .filter(|s| ours(&s.tags) && !gw_subnets.contains(&s.id))
    {
        // A subnet we carved that someone else's workload moved into is theirs now: kept.
        if snap
            .network_interfaces
            .iter()
            .any(|e| e.subnet_id == s.id && e.description == "foreign workload")
        {
            continue;
        }
        orphans += 1;
        problems.push(format!("carved subnet {} unused", s.id));
    }
    let desired_aliases: BTreeSet<String> = desired.exposures.values().filter_map(|e| e.alias.clone()).collect();
    for (z, rs) in &snap.records {
        for r in rs.iter().filter(|r| r.name.starts_with("_fsxn-lattice.")) {
            let alias = r.name.trim_start_matches("_fsxn-lattice.");
            if !desired_aliases.contains(alias) {
                orphans += 1;
                problems.push(format!("ownership record {} in {z} for an undesired alias", r.name));
            }
        }
    }
    (orphans, duplicates, problems)
}

/// Runs one campaign run; returns its findings.
fn run_one(seed: u64, fault_rate: f64, report: &mut ChaosReport, keep_timeline: bool) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w = build(seed, &mut rng);
    let before = foreign(&w.cloud.snapshot());
    let mut active: Vec<String> = w.consumers.iter().map(|c| c.0.clone()).collect();
    let mut svms = w.svms.clone();
    let mut config = w.config.clone();
    let mut run = Run {
        w: &w,
        rng,
        timeline: Vec::new(),
        crashes: 0,
        races: 0,
        events: EventStats::default(),
        held: Vec::new(),
    };
    w.cloud.set_faults(Faults { rate: fault_rate });
    // Start with one SVM exposed so every run has something to build.
    let first = svms[0].id.to_string();
    w.cloud.tag_fsx(&first, tag_keys::EXPOSE, "smb");
    w.cloud.tag_fsx(
        &first,
        tag_keys::ALIAS,
        &format!("alias-{}.corp.example", &svms[0].id.suffix()[..8]),
    );
    for _ in 0..8 {
        run.deliver(&config);
        config = change(&mut run, &mut active, &mut svms);
        let secs = run.rng.random_range(15..120);
        w.cloud.advance(Duration::from_secs(secs));
    }
    run.deliver(&config);
    // The schedule catches what was lost: a final reconcile, polling, without faults.
    w.cloud.set_faults(Faults::default());
    let options = ReconcileOptions {
        max_passes: 60,
        poll_interval: Duration::from_secs(15),
        max_wait: Duration::from_secs(3600),
        ..Default::default()
    };
    let r = pollster::block_on(reconcile(&w.cloud, &config, &options, &mut |_| {}));
    run.log(format!("final reconcile: {:?} after {} pass(es)", r.status, r.passes));
    for a in r.applied.iter().rev().take(12).rev() {
        run.log(format!("  applied {} ({})", a.action.action.summary(), a.action.why));
    }
    for a in &r.last_plan.actions {
        run.log(format!("  still planned: {} ({})", a.action.summary(), a.why));
    }
    report.max_reconciles_to_converge = report.max_reconciles_to_converge.max(r.passes);
    let mut failed = Vec::new();
    if r.status == ReconcileStatus::Converged {
        report.converged += 1;
    } else {
        failed.push(format!(
            "final reconcile ended {:?}: {:?} {:?}",
            r.status, r.error, r.last_plan.waiting
        ));
    }
    let (orphans, duplicates, problems) = check(&w, &config);
    report.orphans += orphans;
    report.duplicates += duplicates;
    failed.extend(problems);
    let after = foreign(&w.cloud.snapshot());
    let touched = before.0.iter().filter(|x| !after.0.contains(x)).count() + before.1.difference(&after.1).count();
    report.foreign_touched += touched as u32;
    if touched > 0 {
        failed.push(format!("{touched} foreign resource(s) changed or deleted"));
    }
    report.api_calls += w.cloud.api_calls().values().sum::<u64>();
    report.faults_injected += w.cloud.faults_injected();
    report.crashes_injected += run.crashes;
    report.races += run.races;
    report.events.delivered += run.events.delivered;
    report.events.dropped += run.events.dropped;
    report.events.duplicated += run.events.duplicated;
    report.events.delayed += run.events.delayed;
    if !failed.is_empty() {
        report.failures.push(Failure {
            seed,
            what: failed.join("; "),
        });
    }
    if keep_timeline {
        report.timeline = run.timeline;
    }
}

/// Runs a campaign. With `runs == 1` the seed is used as is (replaying a failure) and the
/// timeline is kept.
pub fn run_campaign(opts: ChaosOptions) -> ChaosReport {
    let mut report = ChaosReport {
        runs: opts.runs,
        converged: 0,
        orphans: 0,
        duplicates: 0,
        foreign_touched: 0,
        max_reconciles_to_converge: 0,
        api_calls: 0,
        faults_injected: 0,
        crashes_injected: 0,
        races: 0,
        events: EventStats::default(),
        failures: Vec::new(),
        timeline: Vec::new(),
    };
    for i in 0..opts.runs {
        let seed = if opts.runs == 1 {
            opts.seed
        } else {
            run_seed(opts.seed, i)
        };
        run_one(seed, opts.fault_rate, &mut report, opts.runs == 1);
    }
    report
}
