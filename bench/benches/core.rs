//! Core speed (criterion): the /28 capacity analysis of a /16 VPC holding 50,000 used
//! addresses, planning 1,000 SVMs × 3 consumer VPCs, and parsing an EventBridge event.
//! `cargo bench -p fsxn-lattice-bench --bench core` (scripts/bench runs it).

#![allow(missing_docs, clippy::unwrap_used)] // criterion's macros; a panic is the failure report

use criterion::{Criterion, criterion_group, criterion_main};
use fsxn_lattice_bench::fleet::{self, FleetSize};
use fsxn_lattice_core::capacity::{SubnetCapacity, analyze_subnet, analyze_subnets};
use fsxn_lattice_core::events::parse_event;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::observe::observe;
use fsxn_lattice_core::plan::plan;
use fsxn_lattice_core::reconcile::{ReconcileOptions, ReconcileStatus, reconcile};
use std::hint::black_box;
use std::net::Ipv4Addr;

/// A /16 VPC cut into sixteen /20 subnets, with 50,000 used addresses on ENIs of one to four
/// addresses, placed by a fixed-seed generator (xorshift) anywhere in the subnets' usable range.
fn vpc_with_50k_used() -> (Vec<Subnet>, Vec<NetworkInterface>) {
    let vpc: VpcId = "vpc-0f1ee70000000000a".parse().unwrap();
    let subnets: Vec<Subnet> = (0..16u32)
        .map(|i| Subnet {
            id: format!("subnet-{i:017x}").parse().unwrap(),
            vpc_id: vpc.clone(),
            availability_zone: ["us-east-1a", "us-east-1b", "us-east-1c"][i as usize % 3].into(),
            cidr: format!("10.0.{}.0/20", i * 16).parse().unwrap(),
            tags: Tags::new(),
        })
        .collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut taken = std::collections::HashSet::new();
    let mut enis = Vec::new();
    let mut used = 0;
    while used < 50_000 {
        let s = &subnets[(next() % 16) as usize];
        let size = 1 + next() % 4;
        let mut ips = Vec::new();
        while (ips.len() as u64) < size && used < 50_000 {
            // Offsets 4..4094 of the /20: never the five AWS-reserved addresses.
            let ip = Ipv4Addr::from(u32::from(s.cidr.network()) + 4 + (next() % 4091) as u32);
            if taken.insert(ip) {
                ips.push(ip);
                used += 1;
            }
        }
        enis.push(NetworkInterface {
            id: format!("eni-{:017x}", enis.len()).parse().unwrap(),
            subnet_id: s.id.clone(),
            private_ips: ips,
            ipv4_prefixes: vec![],
            description: String::new(),
            tags: Tags::new(),
        });
    }
    (subnets, enis)
}

fn capacity(c: &mut Criterion) {
    let (subnets, enis) = vpc_with_50k_used();
    let used: usize = enis.iter().map(|e| e.private_ips.len()).sum();
    assert_eq!(used, 50_000);
    let free_blocks =
        |reports: &[SubnetCapacity]| reports.iter().map(|r| r.free_prefix_blocks.len() as u32).sum::<u32>();
    let one_pass = analyze_subnets(&subnets, &enis, &[]);
    let per_subnet: Vec<SubnetCapacity> = subnets.iter().map(|s| analyze_subnet(s, &enis, &[])).collect();
    assert_eq!(one_pass, per_subnet, "both ways give the same reports");
    assert_eq!(
        one_pass.iter().map(|r| r.blocked.len()).sum::<usize>(),
        16 * 256,
        "every /28 of the /20s holds a used or reserved address: a full report per block"
    );
    // Every subnet against the whole VPC's ENI listing, scanned once (analyze_subnets).
    c.bench_function("capacity: /16 VPC, 16 subnets, 50k used addresses", |b| {
        b.iter(|| {
            black_box(free_blocks(&analyze_subnets(
                black_box(&subnets),
                black_box(&enis),
                &[],
            )))
        })
    });
    // The same with one analyze_subnet call per subnet, as the planner makes them today: each
    // call scans the whole listing for its subnet's ENIs (~130 µs for these 20,000 ENIs).
    c.bench_function(
        "capacity per subnet: /16 VPC, 16 analyze_subnet calls, 50k used addresses",
        |b| {
            b.iter(|| {
                let free: u32 = subnets
                    .iter()
                    .map(|s| {
                        analyze_subnet(black_box(s), black_box(&enis), &[])
                            .free_prefix_blocks
                            .len() as u32
                    })
                    .sum();
                black_box(free)
            })
        },
    );
}

fn planning(c: &mut Criterion) {
    let f = fleet::build(
        FleetSize {
            svms: 1000,
            svms_per_file_system: 20,
            consumers: 3,
        },
        7,
    );
    let (observed, desired) = pollster::block_on(observe(&f.cloud, &f.config, &Default::default())).unwrap();
    c.bench_function("plan: 1000 SVMs × 3 consumers, nothing built yet", |b| {
        b.iter(|| black_box(plan(&f.config, black_box(&desired), black_box(&observed))))
    });
    // Building the fleet is setup, not what is measured: no client-side rate limit (3,000
    // endpoints at CreateVpcEndpoint's 0.3 per second would take hundreds of passes).
    let mut options = ReconcileOptions {
        max_passes: 60,
        max_wait: std::time::Duration::from_secs(3600),
        ..Default::default()
    };
    options.apply.rates = fsxn_lattice_core::concurrency::RateLimits::Unlimited;
    let r = pollster::block_on(reconcile(&f.cloud, &f.config, &options, &mut |_| {}));
    assert_eq!(r.status, ReconcileStatus::Converged, "{:?}", r.error);
    let (observed, desired) = pollster::block_on(observe(&f.cloud, &f.config, &Default::default())).unwrap();
    assert!(plan(&f.config, &desired, &observed).actions.is_empty());
    c.bench_function("plan: 1000 SVMs × 3 consumers, steady state (3000 endpoints)", |b| {
        b.iter(|| black_box(plan(&f.config, black_box(&desired), black_box(&observed))))
    });
}

/// What a cold start does before it can answer an ignored event, besides the runtime itself:
/// parse and validate the configuration (the SDK configuration and clients are built on first
/// use, not at cold start).
fn cold_start_work(c: &mut Criterion) {
    let toml = fsxn_lattice_tests::function::CONFIG;
    assert!(fsxn_lattice_core::config::Config::from_toml(toml).is_ok());
    c.bench_function("config: the functions' TOML, parsed and validated", |b| {
        b.iter(|| black_box(fsxn_lattice_core::config::Config::from_toml(black_box(toml))))
    });
}

fn events(c: &mut Criterion) {
    let seed = include_bytes!("../../events/ec2-create-network-interface-insufficient-ips.json");
    let fsx = include_bytes!("../../events/fsx-tag-resource-svm.json");
    assert!(parse_event(seed).is_ok() && parse_event(fsx).is_ok());
    c.bench_function("event: the seed's CloudTrail EC2 failure → trigger", |b| {
        b.iter(|| black_box(parse_event(black_box(seed))))
    });
    c.bench_function("event: FSx TagResource → trigger", |b| {
        b.iter(|| black_box(parse_event(black_box(fsx))))
    });
}

criterion_group!(benches, capacity, planning, events, cold_start_work);
criterion_main!(benches);
