//! Randomized campaigns: a random but valid world with foreign resources and resources of a
//! second fsxn-lattice deployment (owner `other`), a random sequence of changes, events
//! delivered duplicated, reordered, delayed and dropped, every kind of fault on every API
//! ([`FaultMix::All`]) and Lambda failures, crashes between and in the middle of actions, each
//! event running the deployed Step Functions execution, two or three of them interleaved at
//! every port call — then, with the faults still on, the scheduled Reconcile invocations until
//! one reports convergence, and an independent check of the world.
//!
//! # The oracle
//!
//! [`expected`] computes what the world must hold from the configuration and the SVM and file
//! system tags as they are in the simulated world, with a rule of its own (not the reconciler's
//! `observe`/`resolve`/`plan`); [`check`] compares it with the simulated world itself (not with
//! what the ports answer). It requires, for every exposed SVM and consumer, exactly one
//! available endpoint of ours whose configuration targets the SVM's IP on exactly its ports,
//! reachable end to end ([`SimCloud::connect`]); one configuration per exposed SVM and one
//! active gateway per file system; every alias CNAME pointing at the available endpoint of the
//! right SVM and consumer, with its ownership TXT; no other CNAME or ownership TXT of ours; no
//! other endpoint, configuration, gateway, reservation or carved subnet of ours (failed, ended
//! and deleting ones included); and every resource that existed before the run — foreign ones
//! and the second owner's — exactly as it was. Between any two invocations, whatever the
//! interleaving, there must never be two live endpoints of ours for one configuration and VPC,
//! two configurations of ours for one SVM on one gateway, or two gateways of one generation.
//!
//! # Interleaving
//!
//! Every invocation runs as a future on a tiny executor ([`interleave`]): each port call is a
//! yield point before the request and after the response, and the executor polls the live
//! reconcilers in a seeded random order, so two or three of them interleave at every await. A
//! [`FaultKind::Crash`](crate::FaultKind::Crash) drops the future whose call it hit, in the middle of the call, after
//! the write took effect.
//!
//! # Determinism
//!
//! Each run derives its seed from the campaign seed ([`run_seed`]); the world, the changes,
//! the events, the faults and the interleaving all come from it. `chaos --seed S --runs 1
//! --fault-rate F` replays run `S` alone, with its timeline.
//!
//! # What runs: the deployed split
//!
//! [`invocation`] is what one trigger runs, as deployed. An event starts an execution of
//! statemachine/fsxn-lattice.asl.json as template.yaml deploys it ([`DeployedStateMachine`],
//! the async [`crate::stepfunctions::StateMachine::execute_async`]): its Choice routes an EC2
//! event to Heal and anything else to Provision, its Tasks run the core `step` of the function
//! they name (Provision, Heal, PublishAlias) on the interleaving cloud, its Wait states and
//! retry delays move the shared clock, and its Retry and Catch handle the Lambda failures
//! injected into it. A race is two or three executions for the same event. The schedule invokes
//! the Reconcile function's `step` directly with `{}`, as the ScheduleV2 target does.
//!
//! Lambda failures: every Lambda invocation (each Task attempt, each scheduled invocation)
//! fails with the run's fault rate F, its kind drawn uniformly from [`LambdaFault::RANDOM`]:
//! a timeout (the work happens, the answer is lost, the clock moves by the function's timeout;
//! `Lambda.Unknown`), `Lambda.ServiceException` or `Lambda.TooManyRequestsException` (the
//! function does not run), or the function's own `Transient`, `NotReady` or `Conflict` without
//! doing anything — one sixth each. On top, a port call that crashes kills the Lambda sandbox in
//! the middle of the call (the write stands; the state machine sees `Lambda.Unknown`, the
//! execution goes on), and 20 % of executions have one sandbox killed after k applied actions
//! (k in 0..4). Passes count every `Progress::Planned` of every Lambda invocation; the final
//! invocations are scheduled Reconcile invocations.

use crate::deployed::{DeployedRun, DeployedStateMachine, FaultPlan, LambdaFault, RunOptions};
use crate::stepfunctions::{ExecutionStatus, TaskError};
use crate::{FaultMix, Faults, SimCloud, Snapshot};
use async_trait::async_trait;
use fsxn_lattice_core::config::{Config, tag_keys};
use fsxn_lattice_core::directory::{AliasDnsState, ComputerState, SpnRecord};
use fsxn_lattice_core::events::{Trigger, classify};
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::naming::{
    ACCOUNT_TAG, CONSUMER_TAG, FILE_SYSTEM_TAG, GENERATION_TAG, HOSTED_ZONE_TAG, OWNER_TAG, SVM_TAG, TARGET_TAG,
    ownership_txt_value, target_tag_value,
};
use fsxn_lattice_core::ports::*;
use fsxn_lattice_core::reconcile::Progress;
use fsxn_lattice_core::step::Function;
use fsxn_lattice_core::time::rfc3339;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// The owner of the deployment under test.
pub const OWNER: &str = "chaos";
/// The owner of a second deployment in the same account, whose resources must never be touched.
pub const OTHER_OWNER: &str = "other";
/// The schedule's events at the end of a run: at most this many, each an asynchronous
/// invocation of Reconcile that Lambda retries as it does (see `Run::settle`)…
pub const FINAL_INVOCATIONS: u32 = 40;
/// …of at most this many passes each (polling 15 s while only waiting).
pub const FINAL_PASSES_PER_INVOCATION: u32 = 10;
/// A run must converge within this many passes of the final reconciles (retries included),
/// faults still on.
pub const PASS_BUDGET: u32 = FINAL_INVOCATIONS * FINAL_PASSES_PER_INVOCATION;
/// Failures kept in full in a report (the rest are counted).
pub const FAILURES_KEPT: usize = 20;
/// Seconds between two scheduled reconciles.
const SCHEDULE_PERIOD: u64 = 60;

/// Options of a campaign.
#[derive(Debug, Clone, Copy)]
pub struct ChaosOptions {
    /// First campaign seed; run `i` of campaign `s` uses [`run_seed`]`(s, i)`.
    pub seed: u64,
    /// Campaign seeds: `seed..seed + seeds` (at least 1).
    pub seeds: u32,
    /// Runs per campaign seed.
    pub runs: u32,
    /// Probability that a port call fails, from the first change to the last check.
    pub fault_rate: f64,
}

impl ChaosOptions {
    /// One campaign seed.
    pub fn new(seed: u64, runs: u32, fault_rate: f64) -> Self {
        Self {
            seed,
            seeds: 1,
            runs,
            fault_rate,
        }
    }
}

/// One run that did not end clean.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The run's own seed.
    pub seed: u64,
    /// The command that replays it alone.
    pub replay: String,
    /// What was wrong.
    pub what: String,
}

/// p50, p99 and max of a distribution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Spread {
    /// Median.
    pub p50: u32,
    /// 99th percentile.
    pub p99: u32,
    /// Maximum.
    pub max: u32,
}

impl Spread {
    fn of(values: &[u32]) -> Self {
        let mut v = values.to_vec();
        v.sort_unstable();
        let at = |q: f64| {
            if v.is_empty() {
                0
            } else {
                v[(((v.len() as f64) * q).ceil() as usize).clamp(1, v.len()) - 1]
            }
        };
        Self {
            p50: at(0.5),
            p99: at(0.99),
            max: v.last().copied().unwrap_or(0),
        }
    }
}

/// What a campaign found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChaosReport {
    /// First and last campaign seed.
    pub seed_range: [u64; 2],
    /// The fault rate.
    pub fault_rate: f64,
    /// Runs made.
    pub runs: u32,
    /// Of them, runs in a world with Active Directory and `[directory]` (the Directory function
    /// deployed, the oracle checking AD).
    pub directory_worlds: u32,
    /// Of them, runs with consumers in other accounts (RAM shares, assumed roles, trust
    /// broken and restored during the run; the oracle checking the shares).
    pub account_worlds: u32,
    /// Of them, runs with a service-network consumer (the oracle checking its association).
    pub network_worlds: u32,
    /// Of them, runs with a custom-domain consumer (the oracle resolving the alias in its VPC),
    /// about half with a verified domain.
    pub custom_domain_worlds: u32,
    /// Runs whose final reconciles reported convergence within [`PASS_BUDGET`].
    pub converged: u32,
    /// Resources of ours that nothing desired needs (failed, ended and deleting ones included),
    /// and CNAME or ownership TXT records of ours for no desired alias.
    pub orphans: u32,
    /// Extra copies of something that should exist once.
    pub duplicates: u32,
    /// Foreign resources, or resources of the second owner, changed or deleted.
    pub foreign_touched: u32,
    /// Things the oracle expects that are missing or wrong (an endpoint not available, a
    /// configuration on other ports, an alias pointing elsewhere, …).
    pub wrong: u32,
    /// The most passes the final reconciles needed (= `passes_to_converge.max`).
    pub max_reconciles_to_converge: u32,
    /// The stated bound: passes of the final reconciles a run may take.
    pub pass_budget: u32,
    /// Passes of the final reconciles until one reported convergence (converged runs).
    pub passes_to_converge: Spread,
    /// Invocations of the final reconciles until one reported convergence (converged runs).
    pub invocations_to_converge: Spread,
    /// API calls made, all runs.
    pub api_calls: u64,
    /// Faults injected, all runs.
    pub faults_injected: u64,
    /// Faults injected by kind (see [`crate::FaultKind`]).
    pub faults: BTreeMap<String, u64>,
    /// Lambda sandboxes killed between two applied actions, all runs.
    pub crashes_injected: u64,
    /// Lambda invocations killed in the middle of a call (a [`FaultKind::Crash`](crate::FaultKind::Crash)), all runs.
    pub dropped_mid_call: u64,
    /// Races (two or three executions interleaved), all runs.
    pub races: u64,
    /// Events delivered / dropped / duplicated, all runs.
    pub events: EventStats,
    /// Step Functions executions started by events, all runs.
    pub executions: u64,
    /// Of those, executions that ended FAILED (a Catch to `Failed`, `CannotHeal`, polls
    /// exhausted, …): the schedule catches up.
    pub executions_failed: u64,
    /// Failed executions by the Fail state's error, with the caught task error for
    /// `ReconcileFailed` (e.g. `ReconcileFailed(Transient)`), all runs.
    pub executions_failed_by: BTreeMap<String, u64>,
    /// Lambda invocations (Tasks of executions, retries included, and scheduled reconciles).
    pub lambda_invocations: u64,
    /// Lambda faults injected by kind (see [`LambdaFault`]), all runs.
    pub lambda_faults: BTreeMap<String, u64>,
    /// Runs that failed.
    pub failed_runs: u32,
    /// The first [`FAILURES_KEPT`] failed runs, with their seeds.
    pub failures: Vec<Failure>,
    /// The timeline of a single run (only when `runs == 1`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<String>,
    #[serde(skip)]
    passes: Vec<u32>,
    #[serde(skip)]
    invocations: Vec<u32>,
}

/// Event delivery counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
            && self.wrong == 0
            && self.failed_runs == 0
    }
}

/// The seed of run `i` of campaign `campaign`.
pub fn run_seed(campaign: u64, i: u32) -> u64 {
    campaign
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(u64::from(i))
        .rotate_left(17)
        ^ 0x5eed
}

// ---- interleaving ----

/// Returns `Pending` once (waking itself), then `Ready`: a point where the executor may switch
/// to another reconciler.
#[derive(Default)]
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// One reconciler's view of the simulated cloud: every port call yields before the request and
/// after the response; a call hit by a [`FaultKind::Crash`](crate::FaultKind::Crash) never returns (its future is
/// dropped by [`interleave`]).
struct Actor<'a> {
    cloud: &'a SimCloud,
    crashed: &'a AtomicBool,
}

/// A port call of an actor (see [`forward_ports!`]; the service is not needed here).
macro_rules! call {
    ($self:ident, $service:expr, $call:expr) => {{
        YieldNow::default().await;
        let r = $call.await;
        if $self.cloud.take_crash() {
            $self.crashed.store(true, Ordering::SeqCst);
            return std::future::pending().await;
        }
        YieldNow::default().await;
        r
    }};
}

forward_ports!(Actor<'_>, call);

#[async_trait]
impl Clock for Actor<'_> {
    fn now(&self) -> u64 {
        self.cloud.now_secs()
    }
    async fn sleep(&self, d: Duration) {
        // Virtual time is the world's: a reconciler that sleeps moves it for everyone.
        self.cloud.advance(d);
        YieldNow::default().await;
    }
    fn jitter(&self) -> f64 {
        self.cloud.jitter()
    }
}

/// An invocation in progress, and the flag its [`Actor`] raises when a call of it crashed.
type Reconciler<'a> = (Pin<Box<dyn Future<Output = Outcome> + 'a>>, &'a AtomicBool);

/// What an invocation returned.
enum Outcome {
    /// A Step Functions execution of the deployed state machine (an event trigger).
    Execution(Box<DeployedRun>),
    /// A direct invocation of the Reconcile function (the schedule): its output or its error.
    Invoked(Result<Value, TaskError>),
}

/// How an interleaved invocation ended.
enum Ended {
    /// It returned.
    Returned(Box<Outcome>),
    /// A [`FaultKind::Crash`](crate::FaultKind::Crash) dropped it in the middle of a call.
    Crashed,
}

/// Polls `futures` to completion in a seeded random order, one step at a time (a step ends at
/// the next port call's yield point); drops a future whose call crashed. A reconciler that never
/// finishes within `MAX_STEPS` steps is a hang, reported as `None`.
fn interleave<'a>(mut futures: Vec<Reconciler<'a>>, rng: &mut ChaCha8Rng) -> Option<Vec<Ended>> {
    const MAX_STEPS: u64 = 5_000_000;
    let mut ended: Vec<Option<Ended>> = futures.iter().map(|_| None).collect();
    let mut live: Vec<usize> = (0..futures.len()).collect();
    let mut cx = Context::from_waker(Waker::noop());
    let mut steps = 0u64;
    while !live.is_empty() {
        steps += 1;
        if steps > MAX_STEPS {
            return None;
        }
        let k = rng.random_range(0..live.len());
        let i = live[k];
        let (fut, crashed) = &mut futures[i];
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(r) => {
                ended[i] = Some(Ended::Returned(Box::new(r)));
                live.swap_remove(k);
            }
            Poll::Pending if crashed.load(Ordering::SeqCst) => {
                ended[i] = Some(Ended::Crashed);
                live.swap_remove(k);
            }
            Poll::Pending => {}
        }
    }
    Some(ended.into_iter().map(|e| e.unwrap_or(Ended::Crashed)).collect())
}

/// What one trigger runs.
enum Job {
    /// An EventBridge event as the rules deliver it: one execution of the deployed state
    /// machine, its Lambda faults drawn from `options`, the sandbox killed after `stop_after`
    /// applied actions (once).
    Event {
        event: Value,
        options: RunOptions,
        stop_after: Option<u32>,
    },
    /// A ScheduleV2 target: the Reconcile function, or (in a directory world) the Directory
    /// function, invoked directly with `{}`, with `fault`.
    Scheduled {
        fault: Option<LambdaFault>,
        function: Function,
    },
}

/// Counters one invocation shares with the harness.
#[derive(Default)]
struct Counters {
    /// Passes planned (`Progress::Planned`), over every Lambda invocation it made.
    passes: AtomicU32,
    /// Lambda invocations dropped in the middle of a port call (a crash).
    dropped: AtomicU32,
    /// Whether `stop_after` killed an invocation.
    stopped: AtomicBool,
}

/// One invocation of the deployed logic for one trigger: what the Lambdas run, on `cloud`.
///
/// An event starts an execution of statemachine/fsxn-lattice.asl.json as template.yaml deploys
/// it ([`DeployedStateMachine`]): its Choice routes the event to Heal or Provision, its Tasks
/// run the core `step` of the function they name, its Wait states and retry delays move the
/// shared clock, its Retry and Catch handle the Lambda failures injected into it. The schedule
/// invokes the Reconcile function's `step` directly, as the ScheduleV2 target does. Every port
/// call yields to the other invocations in flight; a crash in the middle of a call kills the
/// Lambda sandbox (the state machine sees `Lambda.Unknown`), not the execution.
async fn invocation<C: Cloud + ?Sized>(
    cloud: &C,
    config: &Config,
    machine: &DeployedStateMachine,
    job: &Job,
    crashed: &AtomicBool,
    counters: &Counters,
) -> Outcome {
    let applied = AtomicU32::new(0);
    let stop_after = match job {
        Job::Event { stop_after, .. } => *stop_after,
        Job::Scheduled { .. } => None,
    };
    let died = || {
        if crashed.swap(false, Ordering::SeqCst) {
            counters.dropped.fetch_add(1, Ordering::SeqCst);
            return true;
        }
        match stop_after {
            Some(k)
                if !counters.stopped.load(Ordering::SeqCst)
                    && counters.passes.load(Ordering::SeqCst) > 0
                    && applied.load(Ordering::SeqCst) >= k =>
            {
                counters.stopped.store(true, Ordering::SeqCst);
                true
            }
            _ => false,
        }
    };
    let mut progress = |p: &Progress| match p {
        Progress::Planned { .. } => {
            counters.passes.fetch_add(1, Ordering::SeqCst);
        }
        Progress::Applied { .. } => {
            applied.fetch_add(1, Ordering::SeqCst);
        }
        Progress::Waiting { .. } => {}
    };
    match job {
        Job::Event { event, options, .. } => Outcome::Execution(Box::new(
            machine
                .run_on(cloud, config, event.clone(), options, &died, &mut progress)
                .await,
        )),
        Job::Scheduled { fault, function } => Outcome::Invoked(
            machine
                .invoke_with(cloud, config, *function, &json!({}), *fault, &died, &mut progress)
                .await,
        ),
    }
}

// ---- the world ----

/// A consumer: name, VPC, subnets, private zone, domain.
type ConsumerVpc = (String, VpcId, Vec<SubnetId>, HostedZoneId, String);

/// One run's randomly drawn world: its simulated cloud and what the harness drew into it.
/// (`scenario::SeedWorld` is the field report's fixed one; the cloud's own state behind the
/// lock is `world::CloudState`.)
struct RandomWorld {
    cloud: SimCloud,
    file_systems: Vec<FileSystem>,
    svms: Vec<StorageVirtualMachine>,
    consumers: Vec<ConsumerVpc>,
    /// Whether the world has an Active Directory ([`AD_DOMAIN`]) and the config `[directory]`:
    /// then the Directory function is deployed and runs, and the oracle checks AD too.
    directory: bool,
    /// The other accounts of an account world (`[[accounts]]`), and which consumer lives in
    /// which ([`WiderWorld`]); empty otherwise.
    accounts: WiderWorld,
}

/// What a world has beyond consumers in the stack's account: the consumer accounts of an
/// account world (each account's id, role, external id, and whether it is in the
/// organization, and the consumers placed in them), and the service-network consumers.
#[derive(Debug, Clone, Default)]
pub struct WiderWorld {
    /// (account, role ARN, external id, in the organization).
    pub accounts: Vec<(AccountId, String, Option<String>, bool)>,
    /// Consumer name → its account.
    pub consumer_account: BTreeMap<String, AccountId>,
    /// Service-network consumers: (name, the network as configured, its id, its zone).
    pub networks: Vec<(String, String, String, HostedZoneId)>,
    /// Consumers with `alias_mode = "custom-domain"` (their zone is not configured).
    pub custom_domain: BTreeSet<String>,
    /// A public zone of the aliases' domain, listed in `[[custom_domains]]`, if the world
    /// verifies it.
    pub verified: Option<HostedZoneId>,
}

impl WiderWorld {
    /// The account of consumer `name` (`None`: the stack's own).
    pub fn of(&self, name: &str) -> Option<&AccountId> {
        self.consumer_account.get(name)
    }

    /// Service-network consumer `name`: (network id, zone).
    pub fn network(&self, name: &str) -> Option<(&str, &HostedZoneId)> {
        self.networks.iter().find(|n| n.0 == name).map(|n| (n.2.as_str(), &n.3))
    }
}

impl RandomWorld {
    /// Every consumer name of the world: those with a VPC, then the service-network ones.
    fn consumer_names(&self) -> Vec<String> {
        self.consumers
            .iter()
            .map(|c| c.0.clone())
            .chain(self.accounts.networks.iter().map(|n| n.0.clone()))
            .collect()
    }
}

/// The AD domain of a directory world: the consumers' zones have its name, so the aliases are
/// in the AD-integrated zone too.
pub const AD_DOMAIN: &str = "corp.example";

fn id<T: std::str::FromStr>(prefix: &str, rng: &mut ChaCha8Rng) -> T
where
    T::Err: std::fmt::Debug,
{
    let hex: String = (0..17)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).expect("digit"))
        .collect();
    format!("{prefix}-{hex}").parse().expect("generated id")
}

fn tags(pairs: &[(&str, String)]) -> Tags {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn build(seed: u64, rng: &mut ChaCha8Rng) -> RandomWorld {
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
            subnets_by_az.entry(az).or_default().push(r);
        }
    }
    let first_subnets: Vec<SubnetId> = subnets_by_az.values().map(|v| v[0].clone()).collect();
    // Foreign things that must never be touched: a hand-made gateway and configuration, an
    // explicit reservation, workload ENIs.
    let foreign_gw = pollster::block_on(cloud.create_resource_gateway(&CreateResourceGatewayRequest {
        name: "hand-made-rgw".into(),
        vpc_id: vpc.clone(),
        subnet_ids: first_subnets.clone(),
        security_group_ids: vec!["sg-0aaaaaaaaaaaaaaa1".parse().expect("id")],
        ipv4_addresses_per_eni: 16,
        client_token: String::new(),
        tags: Tags::new(),
    }))
    .expect("foreign gateway");
    let _ = pollster::block_on(
        cloud.create_resource_configuration(&CreateResourceConfigurationRequest {
            custom_domain_name: None,
            domain_verification_id: None,
            name: "hand-made-rcfg".into(),
            gateway_id: foreign_gw.id,
            ip_address: "10.0.15.250".parse().expect("ip"),
            port_ranges: vec![PortRange::single(22)],
            client_token: String::new(),
            tags: Tags::new(),
        }),
    );
    let _ = pollster::block_on(cloud.create_subnet_cidr_reservation(&CreateCidrReservationRequest {
        subnet_id: first_subnets[0].clone(),
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
            subnet_ids: first_subnets.clone(),
            endpoint_ip_address_range: Some(format!("10.0.{}.192/26", 15 + f * 16).parse().expect("cidr")),
            route_table_ids: vec![],
            tags: Tags::new(),
        };
        for _ in 0..rng.random_range(1..=2u32) {
            let n = svms.len();
            svms.push(new_svm(rng, &fs, n));
        }
        cloud.add_file_system(fs.clone());
        file_systems.push(fs);
    }
    for s in &svms {
        cloud.add_svm(s.clone());
    }
    // Half the worlds have a directory, drawn apart from the main sequence so a world without
    // one is the same as before directories existed.
    let directory = ChaCha8Rng::seed_from_u64(seed ^ 0x00ad_d1c7).random_bool(0.5);
    if directory {
        cloud.add_ad_domain(AD_DOMAIN);
        for s in &svms {
            cloud.add_ad_computer(&s.name);
        }
        // An administrator's things that must never be touched: an extra host name on the
        // first SVM's account, an A record and a CNAME in the zone.
        cloud.set_ad_value(
            &svms[0].name,
            fsxn_lattice_core::directory::ATTR_ADDITIONAL_DNS,
            &format!("legacy-files.{AD_DOMAIN}"),
        );
        cloud.add_ad_record(
            &format!("fileserver.{AD_DOMAIN}"),
            crate::AdRecord::A("10.0.15.199".parse().expect("ip")),
        );
        cloud.add_ad_record(
            &format!("intranet.{AD_DOMAIN}"),
            crate::AdRecord::Cname(format!("web.{AD_DOMAIN}")),
        );
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
    second_owner(
        &cloud,
        rng,
        &vpc,
        &subnets_by_az,
        &file_systems[0],
        &svms[0],
        &consumers[0],
    );
    // Half the worlds (drawn apart again) have consumers in other accounts: one in an account
    // of the organization, and sometimes one in an account outside it (its share's invitation
    // accepted through the role). Added after everything else, so the rest of the world is the
    // same as before accounts existed.
    let mut arng = ChaCha8Rng::seed_from_u64(seed ^ 0x0acc_0047);
    let mut accounts = WiderWorld::default();
    if arng.random_bool(0.5) {
        let outside = arng.random_bool(0.5);
        for (k, (acct, in_org)) in [("222233334444", true), ("444455556666", false)]
            .into_iter()
            .take(if outside { 2 } else { 1 })
            .enumerate()
        {
            let role = format!("arn:aws:iam::{acct}:role/fsxn-lattice-consumer");
            let external = (k == 0).then(|| format!("chaos-{seed:x}"));
            let account = cloud.add_account(acct, &role, external.as_deref(), in_org);
            let cvpc = cloud.add_vpc(
                &format!("vpc-0a0000000000{k:05x}"),
                &[&format!("10.{}.0.0/16", 120 + k)],
                true,
            );
            cloud.place_in(cvpc.as_str(), &account);
            let mut subnets = Vec::new();
            for (j, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
                let sn = cloud.add_subnet(
                    &format!("subnet-0a000000000{k:03x}{j:x}"),
                    &cvpc,
                    az,
                    &format!("10.{}.{j}.0/24", 120 + k),
                );
                cloud.place_in(sn.as_str(), &account);
                subnets.push(sn);
            }
            let domain = "corp.example".to_string();
            let zone = cloud.add_hosted_zone(&format!("ZCHAOSX{k:03}"), &domain, true);
            cloud.place_in(zone.as_str(), &account);
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
            let name = format!("x{k}");
            accounts.consumer_account.insert(name.clone(), account.clone());
            accounts.accounts.push((account, role, external, in_org));
            consumers.push((name, cvpc, subnets, zone, domain));
        }
    }
    // About two worlds in five (drawn apart again) have a service-network consumer: a network of
    // the stack's account, or one another account shares with it.
    let mut nrng = ChaCha8Rng::seed_from_u64(seed ^ 0x5e7_0047);
    if nrng.random_bool(0.4) {
        let id = "sn-0e0e0e0e0e0e0e0e0";
        let shared = nrng.random_bool(0.5);
        let arn = cloud.add_service_network(id, shared.then_some("666677778888"));
        let zone = cloud.add_hosted_zone("ZCHAOSN000", "corp.example", true);
        let configured = if shared { arn } else { id.to_string() };
        accounts.networks.push(("n0".into(), configured, id.into(), zone));
    }
    // About a third (drawn apart again) have a consumer whose clients resolve the alias through
    // its endpoint's private DNS (a VPC Lattice custom domain name); half of those verify the
    // domain in a public zone of theirs.
    let mut crng = ChaCha8Rng::seed_from_u64(seed ^ 0xc057_d0a1);
    if !consumers.is_empty() && crng.random_bool(0.35) {
        let k = crng.random_range(0..consumers.len());
        accounts.custom_domain.insert(consumers[k].0.clone());
        if crng.random_bool(0.5) {
            accounts.verified = Some(cloud.add_hosted_zone("ZCHAOSPUB0", "corp.example", false));
        }
    }
    RandomWorld {
        cloud,
        file_systems,
        svms,
        consumers,
        directory,
        accounts,
    }
}

/// A second fsxn-lattice deployment (owner [`OTHER_OWNER`]) exposing the first SVM to the first
/// consumer with every kind of resource ours has, named and tagged as that deployment would:
/// nothing of it may be touched. Settled (its endpoint available or failed) before the run.
fn second_owner(
    cloud: &SimCloud,
    rng: &mut ChaCha8Rng,
    vpc: &VpcId,
    subnets_by_az: &BTreeMap<&str, Vec<SubnetId>>,
    fs: &FileSystem,
    svm: &StorageVirtualMachine,
    (consumer, cvpc, csubnets, zone, domain): &ConsumerVpc,
) {
    let owned = |extra: &[(&str, String)]| {
        let mut t = tags(extra);
        t.insert(OWNER_TAG.into(), OTHER_OWNER.into());
        t
    };
    let carved = pollster::block_on(cloud.create_subnet(&CreateSubnetRequest {
        vpc_id: vpc.clone(),
        availability_zone: "us-east-1a".into(),
        cidr: "10.0.250.0/26".parse().expect("cidr"),
        tags: owned(&[(FILE_SYSTEM_TAG, fs.id.to_string())]),
    }))
    .expect("other's subnet");
    // Its gateway sits in the roomiest subnets (the last of each AZ).
    let subnets: Vec<SubnetId> = subnets_by_az.values().map(|v| v[v.len() - 1].clone()).collect();
    let _ = pollster::block_on(cloud.create_subnet_cidr_reservation(&CreateCidrReservationRequest {
        subnet_id: carved.id.clone(),
        cidr: "10.0.250.16/28".parse().expect("cidr"),
        reservation_type: ReservationType::Prefix,
        description: "fsxn-lattice: /28 for resource gateway ENIs".into(),
        tags: owned(&[(FILE_SYSTEM_TAG, fs.id.to_string())]),
    }));
    let gw = pollster::block_on(cloud.create_resource_gateway(&CreateResourceGatewayRequest {
        name: fsxn_lattice_core::naming::gateway_name(OTHER_OWNER, &fs.id, 1),
        vpc_id: vpc.clone(),
        subnet_ids: subnets,
        security_group_ids: vec!["sg-0aaaaaaaaaaaaaaa1".parse().expect("id")],
        ipv4_addresses_per_eni: 16,
        client_token: "other-gateway".into(),
        tags: owned(&[(FILE_SYSTEM_TAG, fs.id.to_string()), (GENERATION_TAG, "1".into())]),
    }))
    .expect("other's gateway");
    let ip = svm_ip(svm);
    let ports = vec![PortRange::single(445)];
    let cfg = pollster::block_on(
        cloud.create_resource_configuration(&CreateResourceConfigurationRequest {
            custom_domain_name: None,
            domain_verification_id: None,
            name: fsxn_lattice_core::naming::configuration_name(OTHER_OWNER, &svm.id, 1),
            gateway_id: gw.id.clone(),
            ip_address: ip,
            port_ranges: ports.clone(),
            client_token: "other-configuration".into(),
            tags: owned(&[
                (SVM_TAG, svm.id.to_string()),
                (FILE_SYSTEM_TAG, fs.id.to_string()),
                (GENERATION_TAG, "1".into()),
                (TARGET_TAG, target_tag_value(ip, &ports)),
            ]),
        }),
    )
    .expect("other's configuration");
    let _ = pollster::block_on(cloud.create_vpc_endpoint(&CreateVpcEndpointRequest {
        private_dns: Default::default(),
        vpc_id: cvpc.clone(),
        subnet_ids: csubnets.clone(),
        security_group_ids: vec![],
        resource_configuration_arn: cfg.arn.clone(),
        private_dns_enabled: true,
        client_token: "other-endpoint".into(),
        tags: owned(&[
            (SVM_TAG, svm.id.to_string()),
            (CONSUMER_TAG, consumer.clone()),
            (FILE_SYSTEM_TAG, fs.id.to_string()),
            (HOSTED_ZONE_TAG, zone.to_string()),
        ]),
    }));
    cloud.advance(Duration::from_secs(200));
    let alias = format!("other-share.{domain}");
    let target = cloud
        .snapshot()
        .endpoints
        .iter()
        .find(|e| e.resource_configuration_arn == cfg.arn)
        .and_then(|e| e.dns_name.clone())
        .unwrap_or_else(|| format!("vpce-0{}.example.on.aws", rng.random_range(100_000..999_999u32)));
    cloud.add_record(
        zone,
        RecordSet {
            name: alias.clone(),
            record_type: RecordType::CNAME,
            ttl: 300,
            values: vec![target],
            routing: None,
        },
    );
    cloud.add_record(
        zone,
        RecordSet {
            name: format!("_fsxn-lattice.{alias}"),
            record_type: RecordType::TXT,
            ttl: 300,
            values: vec![ownership_txt_value(OTHER_OWNER, &svm.id, consumer)],
            routing: None,
        },
    );
}

/// An SVM of `fs` whose floating IP (one for every protocol) is the `n`-th of the range: unique.
fn new_svm(rng: &mut ChaCha8Rng, fs: &FileSystem, n: usize) -> StorageVirtualMachine {
    let range = fs.endpoint_ip_address_range.expect("range");
    let ip = Ipv4Addr::from(u32::from(range.network()) + 2 + (n as u32 % 60));
    let svm_id: SvmId = id("svm", rng);
    StorageVirtualMachine {
        file_system_id: fs.id.clone(),
        lifecycle: FsxLifecycle::Created,
        // As FSx names an SVM's endpoints once it joined the domain: its NetBIOS name (the
        // ONTAP name, upper case) in the domain. Its computer account has that name.
        endpoints: SvmEndpoints::one_ip(
            &format!(
                "{}.{AD_DOMAIN}",
                format!("svm-{}", &svm_id.suffix()[..6]).to_ascii_uppercase()
            ),
            ip,
        ),
        name: format!("svm-{}", &svm_id.suffix()[..6]),
        id: svm_id,
        tags: Tags::new(),
    }
}

fn s_now(cloud: &SimCloud) -> u64 {
    cloud.now_secs()
}

fn svm_ip(s: &StorageVirtualMachine) -> Ipv4Addr {
    s.endpoints
        .smb
        .as_ref()
        .and_then(|e| e.ip_addresses.first().copied())
        .expect("chaos SVMs serve SMB")
}

fn config_for(active: &[String], consumers: &[ConsumerVpc], directory: bool, accounts: &WiderWorld) -> Config {
    let mut text = format!("owner = \"{OWNER}\"\n[gateway]\nsecurity_group_ids = [\"sg-0aaaaaaaaaaaaaaa1\"]\n");
    // Every account stays listed, whatever consumers are active: a removed consumer's endpoint
    // there is cleaned up through its role.
    if accounts.accounts.iter().any(|(_, _, _, in_org)| !in_org) {
        text.push_str("[sharing]\nallow_external_principals = true\n");
    }
    for (id, role, external, _) in &accounts.accounts {
        text.push_str(&format!("[[accounts]]\nid = \"{id}\"\nrole_arn = \"{role}\"\n"));
        if let Some(x) = external {
            text.push_str(&format!("external_id = \"{x}\"\n"));
        }
    }
    if directory {
        text.push_str(&format!(
            "[directory]\ndomain = \"{AD_DOMAIN}\"\nsecret_arn = \"arn:aws:secretsmanager:us-east-1:123456789012:secret:chaos-ad-bind-Ab12Cd\"\n"
        ));
    }
    if let Some(zone) = &accounts.verified {
        text.push_str(&format!(
            "[[custom_domains]]\ndomain = \"corp.example\"\nhosted_zone_id = \"{zone}\"\n"
        ));
    }
    for (name, vpc, subnets, zone, _) in consumers.iter().filter(|c| active.contains(&c.0)) {
        let subnets: Vec<String> = subnets.iter().map(|s| format!("\"{s}\"")).collect();
        text.push_str(&format!(
            "[[consumers]]\nname = \"{name}\"\nvpc_id = \"{vpc}\"\nsubnet_ids = [{}]\n",
            subnets.join(", ")
        ));
        if accounts.custom_domain.contains(name) {
            text.push_str("alias_mode = \"custom-domain\"\n");
        } else {
            text.push_str(&format!("hosted_zone_id = \"{zone}\"\n"));
        }
        if let Some(a) = accounts.of(name) {
            text.push_str(&format!("account = \"{a}\"\n"));
        }
    }
    for (name, network, _, zone) in accounts.networks.iter().filter(|n| active.contains(&n.0)) {
        text.push_str(&format!(
            "[[service_network_consumers]]\nname = \"{name}\"\nservice_network = \"{network}\"\nhosted_zone_id = \"{zone}\"\n"
        ));
    }
    Config::from_toml(&text).expect("generated config is valid")
}

/// Everything in the world, one line per resource (route tables: one per route and one per
/// association), to find out later what was changed or deleted.
fn inventory(s: &Snapshot) -> BTreeSet<String> {
    let mut items = BTreeSet::new();
    items.extend(s.gateways.iter().map(|g| format!("{g:?}")));
    items.extend(s.configurations.iter().map(|c| format!("{c:?}")));
    items.extend(s.endpoints.iter().map(|e| format!("{e:?}")));
    items.extend(s.cidr_reservations.iter().map(|r| format!("{r:?}")));
    items.extend(s.subnets.iter().map(|x| format!("{x:?}")));
    items.extend(s.network_interfaces.iter().map(|e| format!("{e:?}")));
    for t in &s.route_tables {
        items.extend(t.routes.iter().map(|r| format!("route {} {r:?}", t.id)));
        items.extend(t.associations.iter().map(|a| format!("association {} {a:?}", t.id)));
    }
    for (z, rs) in &s.records {
        items.extend(rs.iter().map(|r| format!("record {z} {r:?}")));
    }
    items
}

/// [`inventory`] with the directory: every value of every computer account and every record
/// of the AD zone.
fn inventory_with_directory(cloud: &SimCloud) -> BTreeSet<String> {
    let mut items = inventory(&cloud.snapshot());
    for (name, _, spns, additional) in cloud.ad_accounts() {
        items.extend(spns.iter().chain(&additional).map(|v| ad_value_item(&name, v)));
    }
    for (name, record, _) in cloud.ad_zone() {
        items.insert(ad_record_item(&name, &record));
    }
    items
}

fn ad_value_item(account: &str, value: &str) -> String {
    format!("ad value {account} {value}")
}

fn ad_record_item(name: &str, record: &crate::AdRecord) -> String {
    format!("ad record {name} {record:?}")
}

// ---- the oracle ----

/// What one exposed SVM must have, by the oracle's own rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Its file system.
    pub file_system: FileSystemId,
    /// The VPC of the file system.
    pub vpc: VpcId,
    /// The floating IP the configuration must target.
    pub ip: Ipv4Addr,
    /// Exactly these TCP ports, sorted.
    pub ports: Vec<u16>,
    /// The consumers (configured names) that get an endpoint.
    pub consumers: Vec<String>,
    /// The alias, lower case, if any.
    pub alias: Option<String>,
}

/// The TCP ports of a protocol name as the tags write it (docs/design.md §6); `None` for a name
/// that exposes nothing.
fn oracle_ports(protocol: &str) -> Option<&'static [u16]> {
    Some(match protocol {
        "smb" | "cifs" => &[445],
        "nfs" | "nfs4" => &[2049],
        "nfs3" => &[111, 635, 2049, 4045, 4046],
        "ssh" => &[22],
        "rest" | "https" => &[443],
        _ => return None,
    })
}

/// The expected end state, written from the configuration's consumers and the SVM and file
/// system tags as they are in the world, independently of the reconciler: an SVM that is
/// `CREATED`, on a Multi-AZ file system, tagged (or whose file system is tagged) with known
/// protocols that all answer on one IP inside the file system's VPC, is exposed on exactly those
/// ports to the consumers its tag names (default: all configured), under its alias unless
/// another exposed SVM claims the same alias.
pub fn expected(s: &Snapshot, config: &Config) -> BTreeMap<SvmId, Expected> {
    let all: Vec<String> = config.consumer_names();
    let mut out = BTreeMap::new();
    for svm in &s.svms {
        let Some(fs) = s.file_systems.iter().find(|f| f.id == svm.file_system_id) else {
            continue;
        };
        let tag = |k: &str| {
            svm.tags
                .get(k)
                .or_else(|| fs.tags.get(k))
                .map(|v| v.trim().to_ascii_lowercase())
        };
        let Some(expose) = tag(tag_keys::EXPOSE) else { continue };
        if ["", "off", "false", "no", "none"].contains(&expose.as_str())
            || svm.lifecycle != FsxLifecycle::Created
            || !matches!(fs.deployment_type, DeploymentType::MultiAz1 | DeploymentType::MultiAz2)
        {
            continue;
        }
        let names: Vec<&str> = if expose == "true" {
            vec!["smb"]
        } else {
            expose.split(',').map(str::trim).filter(|p| !p.is_empty()).collect()
        };
        let mut ports = Vec::new();
        let mut ips = BTreeSet::new();
        let mut ok = !names.is_empty();
        for p in &names {
            let endpoint = match *p {
                "smb" | "cifs" => svm.endpoints.smb.as_ref(),
                "nfs" | "nfs4" | "nfs3" => svm.endpoints.nfs.as_ref(),
                _ => svm.endpoints.management.as_ref(),
            };
            match (oracle_ports(p), endpoint.and_then(|e| e.ip_addresses.first())) {
                (Some(ps), Some(ip)) => {
                    ports.extend_from_slice(ps);
                    ips.insert(*ip);
                }
                _ => ok = false,
            }
        }
        let in_vpc = |ip: &Ipv4Addr| {
            s.vpcs
                .iter()
                .any(|v| v.id == fs.vpc_id && v.cidr_blocks.iter().any(|c| c.contains(ip)))
        };
        if !ok || ips.len() != 1 || !ips.iter().all(in_vpc) {
            continue;
        }
        ports.sort_unstable();
        ports.dedup();
        let consumers = match tag(tag_keys::CONSUMERS) {
            Some(v) => {
                let mut named: Vec<String> = v.split(',').map(|c| c.trim().to_string()).collect();
                if named.iter().any(|c| !all.contains(c)) {
                    continue;
                }
                named.sort();
                named.dedup();
                named
            }
            None => all.clone(),
        };
        out.insert(
            svm.id.clone(),
            Expected {
                file_system: fs.id.clone(),
                vpc: fs.vpc_id.clone(),
                ip: *ips.iter().next().expect("one IP"),
                ports,
                consumers,
                alias: svm
                    .tags
                    .get(tag_keys::ALIAS)
                    .map(|a| a.trim().trim_end_matches('.').to_ascii_lowercase()),
            },
        );
    }
    // One name, one target: an alias two exposed SVMs claim belongs to neither.
    let mut claims: BTreeMap<String, u32> = BTreeMap::new();
    for e in out.values() {
        if let Some(a) = &e.alias {
            *claims.entry(a.clone()).or_default() += 1;
        }
    }
    for e in out.values_mut() {
        if e.alias.as_ref().is_some_and(|a| claims[a] > 1) {
            e.alias = None;
        }
    }
    out
}

/// What the oracle found wrong, by category.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Findings {
    /// Ours and not needed (leftovers of any state, orphan records).
    pub orphans: Vec<String>,
    /// A second copy of something that must exist once.
    pub duplicates: Vec<String>,
    /// Missing or wrong.
    pub wrong: Vec<String>,
    /// Something that existed before the run (foreign, or the second owner's) changed or gone.
    pub touched: Vec<String>,
}

impl Findings {
    /// Nothing found.
    pub fn is_empty(&self) -> bool {
        self.orphans.is_empty() && self.duplicates.is_empty() && self.wrong.is_empty() && self.touched.is_empty()
    }
    fn all(&self) -> Vec<String> {
        let mut v = Vec::new();
        v.extend(self.wrong.iter().cloned());
        v.extend(self.duplicates.iter().map(|x| format!("duplicate: {x}")));
        v.extend(self.orphans.iter().map(|x| format!("orphan: {x}")));
        v.extend(self.touched.iter().map(|x| format!("touched: {x}")));
        v
    }
}

/// Compares the world with [`expected`]: see the module documentation. `before` is the
/// [`inventory`] taken before the first reconcile (everything in it is foreign or the second
/// owner's).
pub fn check(
    cloud: &SimCloud,
    config: &Config,
    consumers: &[ConsumerVpc],
    accounts: &WiderWorld,
    before: &BTreeSet<String>,
) -> Findings {
    let s = cloud.snapshot();
    let want = expected(&s, config);
    let mut f = Findings::default();
    let ours = |t: &Tags| t.get(OWNER_TAG).map(String::as_str) == Some(OWNER);
    let consumer = |name: &str| consumers.iter().find(|c| c.0 == name);

    // Configurations: one per exposed SVM, on exactly its IP and ports.
    let cfgs: Vec<&ResourceConfiguration> = s.configurations.iter().filter(|c| ours(&c.tags)).collect();
    let mut cfg_of: BTreeMap<&SvmId, &ResourceConfiguration> = BTreeMap::new();
    let mut used_cfgs: BTreeSet<&ResourceConfigurationId> = BTreeSet::new();
    for (svm, e) in &want {
        let ports: Vec<PortRange> = e.ports.iter().map(|p| PortRange::single(*p)).collect();
        let matching: Vec<&&ResourceConfiguration> = cfgs.iter().filter(|c| c.ip_address == Some(e.ip)).collect();
        match matching.as_slice() {
            [] => f.wrong.push(format!("no configuration targets {svm} ({})", e.ip)),
            [c, rest @ ..] => {
                for d in rest {
                    f.duplicates
                        .push(format!("configuration {} also targets {svm} ({})", d.id, e.ip));
                    used_cfgs.insert(&d.id);
                }
                let mut have = c.port_ranges.clone();
                have.sort();
                if have != ports {
                    f.wrong.push(format!(
                        "configuration {} of {svm} has ports {:?}, want {:?}",
                        c.id, c.port_ranges, e.ports
                    ));
                }
                if c.status != ConfigurationStatus::Active {
                    f.wrong
                        .push(format!("configuration {} of {svm} is {:?}", c.id, c.status));
                }
                cfg_of.insert(svm, c);
                used_cfgs.insert(&c.id);
            }
        }
    }
    for c in cfgs.iter().filter(|c| !used_cfgs.contains(&c.id)) {
        f.orphans
            .push(format!("configuration {} ({:?}, {:?})", c.id, c.ip_address, c.status));
    }

    // Custom domains: a configuration carries its SVM's alias exactly when a custom-domain
    // consumer uses it, with our one verification of the world's domain when it verifies one.
    let verifications: Vec<DomainVerification> = cloud
        .domain_verifications()
        .into_iter()
        .filter(|v| ours(&v.tags))
        .collect();
    let verified_id = match (&accounts.verified, verifications.as_slice()) {
        (None, []) => None,
        (None, rest) => {
            for v in rest {
                f.orphans.push(format!(
                    "domain verification {} ({}) of no configured domain",
                    v.id, v.domain_name
                ));
            }
            None
        }
        (Some(_), [v]) if v.status == VerificationStatus::Verified && v.domain_name == "corp.example" => {
            Some(v.id.clone())
        }
        (Some(_), other) => {
            f.wrong.push(format!(
                "the world's domain corp.example has verifications {other:?}, not one verified"
            ));
            None
        }
    };
    for (svm, c) in &cfg_of {
        let e = &want[*svm];
        let custom = e
            .alias
            .clone()
            .filter(|_| e.consumers.iter().any(|n| accounts.custom_domain.contains(n)));
        if c.custom_domain_name != custom {
            f.wrong.push(format!(
                "configuration {} of {svm} has custom domain {:?}, want {custom:?}",
                c.id, c.custom_domain_name
            ));
        }
        let want_verification = custom.as_ref().and(verified_id.clone());
        if c.domain_verification_id != want_verification {
            f.wrong.push(format!(
                "configuration {} of {svm} has verification {:?}, want {want_verification:?}",
                c.id, c.domain_verification_id
            ));
        }
    }

    // Gateways: the configurations of one file system share one active gateway in its VPC.
    let gws: Vec<&ResourceGateway> = s.gateways.iter().filter(|g| ours(&g.tags)).collect();
    let mut used_gws: BTreeSet<&GatewayId> = BTreeSet::new();
    let mut gw_of_fs: BTreeMap<&FileSystemId, &GatewayId> = BTreeMap::new();
    for (svm, c) in &cfg_of {
        let e = &want[*svm];
        match gws.iter().find(|g| g.id == c.gateway_id) {
            None => f
                .wrong
                .push(format!("configuration {} of {svm} is on a gateway not ours", c.id)),
            Some(g) => {
                used_gws.insert(&g.id);
                if g.status != GatewayStatus::Active || g.vpc_id != e.vpc {
                    f.wrong
                        .push(format!("gateway {} of {svm} is {:?} in {}", g.id, g.status, g.vpc_id));
                }
                if let Some(other) = gw_of_fs.insert(&e.file_system, &g.id)
                    && other != &g.id
                {
                    f.duplicates
                        .push(format!("{} is served by gateways {other} and {}", e.file_system, g.id));
                }
            }
        }
    }
    for g in gws.iter().filter(|g| !used_gws.contains(&g.id)) {
        f.orphans.push(format!("gateway {} ({:?})", g.id, g.status));
    }

    // Associations with service networks: every one is of a configuration of ours.
    let associations = cloud.service_network_associations();
    let mut used_assocs: BTreeSet<String> = BTreeSet::new();
    // Endpoints: exactly one available per exposed SVM and consumer, reachable end to end.
    let eps: Vec<&VpcEndpoint> = s.endpoints.iter().filter(|e| ours(&e.tags)).collect();
    let mut used_eps: BTreeSet<&VpcEndpointId> = BTreeSet::new();
    let mut dns_of: BTreeMap<(&SvmId, &str), &str> = BTreeMap::new();
    for (svm, e) in &want {
        let Some(c) = cfg_of.get(svm) else { continue };
        for name in &e.consumers {
            if let Some((network, _)) = accounts.network(name) {
                // Exactly one association of the configuration with the network, active, its
                // DNS name reaching the SVM on every port.
                let mine: Vec<&ServiceNetworkAssociation> = associations
                    .iter()
                    .filter(|a| a.configuration_id == c.id && a.service_network_id == network)
                    .collect();
                match mine.as_slice() {
                    [a] if a.status == NetworkAssociationStatus::Active => {
                        used_assocs.insert(a.id.clone());
                        match a.dns_name.as_deref() {
                            None => f.wrong.push(format!("association {} of {svm} has no DNS name", a.id)),
                            Some(dns) => {
                                dns_of.insert((svm, name.as_str()), dns);
                                check_reach(cloud, dns, e, &format!("association of {svm} with {network}"), &mut f);
                            }
                        }
                    }
                    [] => f
                        .wrong
                        .push(format!("no association of {svm} ({}) with {network}", c.id)),
                    [a] => {
                        used_assocs.insert(a.id.clone());
                        f.wrong.push(format!(
                            "association {} of {svm} with {network} is {:?}",
                            a.id, a.status
                        ));
                    }
                    more => {
                        for a in more {
                            used_assocs.insert(a.id.clone());
                        }
                        f.duplicates
                            .push(format!("{} associations of {svm} with {network}", more.len()));
                    }
                }
                continue;
            }
            let Some((_, vpc, subnets, _, _)) = consumer(name) else {
                f.wrong.push(format!("consumer {name} of {svm} is not in the world"));
                continue;
            };
            let mine: Vec<&&VpcEndpoint> = eps
                .iter()
                .filter(|x| x.resource_configuration_arn == c.arn && &x.vpc_id == vpc)
                .collect();
            let available: Vec<&&&VpcEndpoint> = mine.iter().filter(|x| x.state == EndpointState::Available).collect();
            match available.as_slice() {
                [] => f.wrong.push(format!(
                    "no available endpoint for {svm} in {name} ({vpc}): {:?}",
                    mine.iter()
                        .map(|x| (x.id.as_str(), x.state.as_str()))
                        .collect::<Vec<_>>()
                )),
                [x, rest @ ..] => {
                    for d in rest {
                        f.duplicates
                            .push(format!("endpoint {} is a second for {svm} in {name}", d.id));
                        used_eps.insert(&d.id);
                    }
                    used_eps.insert(&x.id);
                    if x.account.as_ref() != accounts.of(name) {
                        f.wrong.push(format!(
                            "endpoint {} of {svm} in {name} is in account {:?}, not {:?}",
                            x.id,
                            x.account,
                            accounts.of(name)
                        ));
                    }
                    let mut have = x.subnet_ids.clone();
                    have.sort();
                    let mut want_subnets = subnets.clone();
                    want_subnets.sort();
                    if have != want_subnets {
                        f.wrong
                            .push(format!("endpoint {} of {svm} in {name} is in {have:?}", x.id));
                    }
                    match x.dns_name.as_deref() {
                        None => f.wrong.push(format!("endpoint {} of {svm} has no DNS name", x.id)),
                        Some(dns) => {
                            dns_of.insert((svm, name.as_str()), dns);
                            check_reach(cloud, dns, e, &format!("endpoint of {svm} in {name}"), &mut f);
                        }
                    }
                    // A custom-domain consumer: the endpoint answers exactly the alias, and a
                    // client in its VPC reaches the SVM by the alias on every port.
                    if let (true, Some(alias)) = (accounts.custom_domain.contains(name), &e.alias) {
                        if x.private_dns != PrivateDns::for_alias(alias) {
                            f.wrong.push(format!(
                                "endpoint {} of {svm} in {name} has private DNS {:?}, not for {alias}",
                                x.id, x.private_dns
                            ));
                        }
                        for port in &e.ports {
                            let target = cloud.connect_from(vpc, alias, *port).map(|c| c.target);
                            if target != Some(e.ip) {
                                f.wrong.push(format!(
                                    "{alias}:{port} from {vpc} ({name}, private DNS) reaches {target:?}, not {}",
                                    e.ip
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    for a in associations.iter().filter(|a| !used_assocs.contains(&a.id)) {
        f.orphans.push(format!(
            "association {} of {} with {} ({:?})",
            a.id, a.configuration_id, a.service_network_id, a.status
        ));
    }
    for x in eps.iter().filter(|x| !used_eps.contains(&x.id)) {
        f.orphans
            .push(format!("endpoint {} in {} ({})", x.id, x.vpc_id, x.state.as_str()));
    }

    // Shares: each consumer account that needs configurations has exactly one share of ours,
    // active, with the account associated and exactly the configurations its consumers use.
    let shares = cloud.shares();
    let our_shares: Vec<&ResourceShare> = shares.iter().filter(|x| ours(&x.tags)).collect();
    let mut needed: BTreeMap<&AccountId, BTreeSet<&str>> = BTreeMap::new();
    for (svm, e) in &want {
        let Some(c) = cfg_of.get(svm) else { continue };
        for name in &e.consumers {
            if let Some(a) = accounts.of(name) {
                needed.entry(a).or_default().insert(c.arn.as_str());
            }
        }
    }
    let mut seen_shares = BTreeSet::new();
    for (a, _, _, _) in &accounts.accounts {
        let mine: Vec<&&ResourceShare> = our_shares
            .iter()
            .filter(|x| x.tags.get(ACCOUNT_TAG).map(String::as_str) == Some(a.as_str()))
            .collect();
        seen_shares.extend(mine.iter().map(|x| x.arn.clone()));
        match (needed.get(a), mine.as_slice()) {
            (None, []) => {}
            (None, rest) => {
                for x in rest {
                    f.orphans
                        .push(format!("share {} of account {a}, which needs nothing", x.arn));
                }
            }
            (Some(n), []) => f
                .wrong
                .push(format!("no share of ours for account {a} (it needs {n:?})")),
            (Some(n), [x, rest @ ..]) => {
                for d in rest {
                    f.duplicates
                        .push(format!("share {} is a second for account {a}", d.arn));
                }
                let principal_ok = x
                    .principals
                    .iter()
                    .any(|p| p.entity == a.as_str() && p.status == AssociationStatus::Associated);
                if x.status != ShareStatus::Active || !principal_ok || x.principals.len() != 1 {
                    f.wrong.push(format!(
                        "share {} of account {a} is {:?} with principals {:?}",
                        x.arn, x.status, x.principals
                    ));
                }
                for arn in n {
                    if !x
                        .resources
                        .iter()
                        .any(|r| r.entity == *arn && r.status == AssociationStatus::Associated)
                    {
                        f.wrong.push(format!("share {} of account {a} lacks {arn}", x.arn));
                    }
                }
                for r in x.resources.iter().filter(|r| !n.contains(r.entity.as_str())) {
                    f.orphans.push(format!(
                        "share {} of account {a} still holds {} ({:?})",
                        x.arn, r.entity, r.status
                    ));
                }
            }
        }
    }
    for x in our_shares.iter().filter(|x| !seen_shares.contains(&x.arn)) {
        f.orphans.push(format!("share {} for no account of the world", x.arn));
    }

    // Reservations and carved subnets of ours only where our gateways are.
    let gw_subnets: BTreeSet<&SubnetId> = gws
        .iter()
        .filter(|g| used_gws.contains(&g.id))
        .flat_map(|g| &g.subnet_ids)
        .collect();
    for r in s
        .cidr_reservations
        .iter()
        .filter(|r| ours(&r.tags) && !gw_subnets.contains(&r.subnet_id))
    {
        f.orphans
            .push(format!("reservation {} {} in {}", r.id, r.cidr, r.subnet_id));
    }
    for x in s
        .subnets
        .iter()
        .filter(|x| ours(&x.tags) && !gw_subnets.contains(&x.id))
    {
        // A subnet we carved that someone else's workload moved into is theirs now: kept.
        let moved_in = s
            .network_interfaces
            .iter()
            .any(|e| e.subnet_id == x.id && e.description == "foreign workload");
        if !moved_in {
            f.orphans.push(format!("carved subnet {} {}", x.id, x.cidr));
        }
    }

    // DNS: every alias of an exposed SVM in each of its consumers' zones, pointing at that
    // consumer's endpoint, with our ownership TXT; no other CNAME or TXT of ours.
    let mut wanted_records: BTreeSet<(HostedZoneId, String, RecordType)> = BTreeSet::new();
    for (svm, e) in &want {
        let Some(alias) = &e.alias else { continue };
        for name in &e.consumers {
            if accounts.custom_domain.contains(name) {
                continue; // answered by its endpoint's private DNS: checked with the endpoint
            }
            let zone = match (consumer(name), accounts.network(name)) {
                (Some((_, _, _, zone, _)), _) => zone,
                (None, Some((_, zone))) => zone,
                (None, None) => continue,
            };
            let txt_name = format!("_fsxn-lattice.{alias}");
            wanted_records.insert((zone.clone(), alias.clone(), RecordType::CNAME));
            wanted_records.insert((zone.clone(), txt_name.clone(), RecordType::TXT));
            let records = s.records.get(zone).map(Vec::as_slice).unwrap_or(&[]);
            let cname = records
                .iter()
                .find(|r| &r.name == alias && r.record_type == RecordType::CNAME);
            let want_target = dns_of.get(&(svm, name.as_str()));
            match (cname, want_target) {
                (None, _) => f.wrong.push(format!("no CNAME {alias} in {zone} for {svm}/{name}")),
                (Some(r), Some(t)) if r.values == [t.to_string()] => {}
                (Some(r), _) => f.wrong.push(format!(
                    "CNAME {alias} in {zone} → {:?}, not the available endpoint of {svm} in {name} ({want_target:?})",
                    r.values
                )),
            }
            let txt_ok = records.iter().any(|r| {
                r.name == txt_name
                    && r.record_type == RecordType::TXT
                    && r.values.iter().any(|v| v.contains(&format!("owner={OWNER},")))
            });
            if !txt_ok {
                f.wrong.push(format!("no ownership TXT {txt_name} of ours in {zone}"));
            }
        }
    }
    for (zone, records) in &s.records {
        for r in records {
            let key = (zone.clone(), r.name.clone(), r.record_type);
            let before_it = before.contains(&format!("record {zone} {r:?}"));
            let our_txt = r.record_type == RecordType::TXT
                && r.values
                    .iter()
                    .any(|v| v.contains("heritage=fsxn-lattice") && v.contains(&format!("owner={OWNER},")));
            let new_cname = r.record_type == RecordType::CNAME && !before_it;
            if (our_txt || new_cname) && !wanted_records.contains(&key) {
                f.orphans
                    .push(format!("{:?} {} in {zone} → {:?}", r.record_type, r.name, r.values));
            }
        }
    }

    if config.directory.is_some() {
        check_directory(cloud, &s, &want, &dns_of, accounts, before, &mut f);
    }

    // Nothing that existed before the run changed or went away.
    let now = inventory_with_directory(cloud);
    f.touched.extend(before.difference(&now).cloned());
    f
}

/// A client connecting to `dns` on each of `e`'s ports reaches the SVM's IP; `what` names the
/// path (an endpoint or an association) in the finding.
fn check_reach(cloud: &SimCloud, dns: &str, e: &Expected, what: &str, f: &mut Findings) {
    for port in &e.ports {
        let target = cloud.connect(dns, *port).map(|c| c.target);
        if target != Some(e.ip) {
            f.wrong
                .push(format!("{dns}:{port} ({what}) reaches {target:?}, not {}", e.ip));
        }
    }
}

/// The directory of a directory world: every exposed SVM with SMB and an alias has the
/// alias's three values on its computer account and, in the AD zone, the alias CNAME to the
/// available endpoint of its first consumer (by name) with our marker beside it; no other value
/// or record of ours. Values left on the account of an SVM that was deleted are not counted: its
/// record (an SVM tag) went with it, so nothing can know they were ours.
fn check_directory(
    cloud: &SimCloud,
    s: &Snapshot,
    want: &BTreeMap<SvmId, Expected>,
    dns_of: &BTreeMap<(&SvmId, &str), &str>,
    wider: &WiderWorld,
    before: &BTreeSet<String>,
    f: &mut Findings,
) {
    use fsxn_lattice_core::directory::{SpnValue, computer_name};
    let accounts = cloud.ad_accounts();
    let zone = cloud.ad_zone();
    let mut wanted_values: BTreeSet<(String, String)> = BTreeSet::new();
    let mut wanted_names: BTreeSet<String> = BTreeSet::new();
    for (svm, e) in want {
        let Some(alias) = &e.alias else { continue };
        // AD records are for Resource-endpoint consumers: an SVM only a service network reaches
        // gets none (and keeps none).
        let endpoint_consumers: Vec<&String> = e.consumers.iter().filter(|c| wider.network(c).is_none()).collect();
        if !e.ports.contains(&445) || !alias.ends_with(&format!(".{AD_DOMAIN}")) || endpoint_consumers.is_empty() {
            continue;
        }
        let Some(svm_obj) = s.svms.iter().find(|x| &x.id == svm) else {
            continue;
        };
        let account = computer_name(&svm_obj.name);
        let Some((_, _, spns, additional)) = accounts.iter().find(|a| a.0 == account) else {
            f.wrong.push(format!("no AD computer account {account} for {svm}"));
            continue;
        };
        for v in SpnValue::ALL {
            let value = v.value_for(alias);
            wanted_values.insert((account.clone(), value.to_ascii_lowercase()));
            if !spns.iter().chain(additional).any(|x| x.eq_ignore_ascii_case(&value)) {
                f.wrong.push(format!("{account} of {svm} lacks {value}"));
            }
        }
        let marker_name = format!("_fsxn-lattice.{alias}");
        wanted_names.insert(alias.clone());
        wanted_names.insert(marker_name.clone());
        let first = endpoint_consumers.into_iter().min();
        let target = first.and_then(|c| dns_of.get(&(svm, c.as_str())));
        let at: Vec<&crate::AdRecord> = zone.iter().filter(|(n, _, _)| n == alias).map(|(_, r, _)| r).collect();
        match (at.as_slice(), target) {
            ([crate::AdRecord::Cname(t)], Some(want_t)) if t == want_t => {}
            (records, _) => f.wrong.push(format!(
                "AD DNS {alias} of {svm} is {records:?}, not a CNAME to the endpoint of {first:?} ({target:?})"
            )),
        }
        let marked = zone.iter().any(|(n, r, _)| {
            n == &marker_name
                && matches!(r, crate::AdRecord::Txt(t) if t.contains(&format!("owner={OWNER},")) && t.contains(&format!("svm={svm}")))
        });
        if !marked {
            f.wrong
                .push(format!("no marker {marker_name} of ours for {svm} in AD DNS"));
        }
    }
    let existing: BTreeSet<String> = s.svms.iter().map(|x| computer_name(&x.name)).collect();
    for (name, _, spns, additional) in &accounts {
        // A domain join's own SPNs (HOST/<NAME>, HOST/<name>.<domain>) are FSx's.
        let own = |v: &str| {
            v.eq_ignore_ascii_case(&format!("HOST/{name}"))
                || v.eq_ignore_ascii_case(&format!("HOST/{}.{AD_DOMAIN}", name.to_ascii_lowercase()))
        };
        for v in spns.iter().chain(additional) {
            if own(v) || before.contains(&ad_value_item(name, v)) {
                continue;
            }
            if !wanted_values.contains(&(name.clone(), v.to_ascii_lowercase())) && existing.contains(name) {
                f.orphans.push(format!("AD value {v} on {name}"));
            }
        }
    }
    for (name, record, _) in &zone {
        if !before.contains(&ad_record_item(name, record)) && !wanted_names.contains(name) {
            f.orphans.push(format!("AD DNS {name} {record:?}"));
        }
    }
}

// ---- a run ----

struct Run<'a> {
    w: &'a RandomWorld,
    rng: ChaCha8Rng,
    /// Consumers whose `subnet_ids` an operator cut to their first subnet (a change toggles it):
    /// their endpoints are replaced.
    trimmed: BTreeSet<String>,
    timeline: Vec<String>,
    crashes: u64,
    dropped: u64,
    races: u64,
    hangs: Vec<String>,
    /// Duplicates seen at any moment between two invocations (see `Run::invariants`).
    ever: BTreeSet<String>,
    events: EventStats,
    held: Vec<Value>,
    /// The deployed state machine the events start.
    machine: &'a DeployedStateMachine,
    /// The run's fault rate: port calls, and Lambda invocations.
    fault_rate: f64,
    executions: u64,
    executions_failed: u64,
    executions_failed_by: BTreeMap<String, u64>,
    lambda_invocations: u64,
    lambda_faults: BTreeMap<String, u64>,
}

impl Run<'_> {
    /// The world's consumers as the config names them now (subnets cut for [`Run::trimmed`]).
    fn consumers_now(&self) -> Vec<ConsumerVpc> {
        self.w
            .consumers
            .iter()
            .map(|c| {
                let mut c = c.clone();
                if self.trimmed.contains(&c.0) {
                    c.2.truncate(1);
                }
                c
            })
            .collect()
    }

    fn log(&mut self, what: String) {
        self.timeline
            .push(format!("{}  {what}", rfc3339(self.w.cloud.now_secs())));
    }

    /// Runs `jobs` interleaved at every port call; returns how each ended (`None`: dropped, or
    /// hung), its passes, and whether `stop_after` killed one of its Lambda invocations.
    fn invoke(&mut self, config: &Config, jobs: &[Job]) -> Vec<(Option<Outcome>, u32, bool)> {
        let w = self.w;
        let machine = self.machine;
        let flags: Vec<AtomicBool> = jobs.iter().map(|_| AtomicBool::new(false)).collect();
        let counters: Vec<Counters> = jobs.iter().map(|_| Counters::default()).collect();
        let futures = jobs
            .iter()
            .zip(&flags)
            .zip(&counters)
            .map(|((job, crashed), counters)| {
                let actor = Actor {
                    cloud: &w.cloud,
                    crashed,
                };
                let fut: Pin<Box<dyn Future<Output = Outcome> + '_>> =
                    Box::pin(async move { invocation(&actor, config, machine, job, crashed, counters).await });
                (fut, crashed)
            })
            .collect();
        let ended = interleave(futures, &mut self.rng);
        for c in &counters {
            self.dropped += u64::from(c.dropped.load(Ordering::SeqCst));
            self.crashes += u64::from(c.stopped.load(Ordering::SeqCst));
        }
        let Some(ended) = ended else {
            self.hangs.push(format!(
                "{} interleaved invocation(s) did not finish (an execution that never ends)",
                jobs.len()
            ));
            return jobs.iter().map(|_| (None, 0, false)).collect();
        };
        ended
            .into_iter()
            .zip(&counters)
            .map(|(e, c)| {
                let passes = c.passes.load(Ordering::SeqCst);
                let stopped = c.stopped.load(Ordering::SeqCst);
                match e {
                    Ended::Returned(r) => {
                        match &*r {
                            Outcome::Execution(run) => {
                                self.executions += 1;
                                if run.execution.status != ExecutionStatus::Succeeded {
                                    self.executions_failed += 1;
                                    *self
                                        .executions_failed_by
                                        .entry(failure_key(&run.execution))
                                        .or_default() += 1;
                                }
                                self.lambda_invocations += run.execution.invocations.len() as u64;
                                for f in &run.faults {
                                    *self.lambda_faults.entry(fault_name(f.fault)).or_default() += 1;
                                }
                            }
                            Outcome::Invoked(_) => self.lambda_invocations += 1,
                        }
                        (Some(*r), passes, stopped)
                    }
                    Ended::Crashed => (None, passes, stopped),
                }
            })
            .collect()
    }

    /// What must hold at every moment, not only at the end, however reconcilers interleave:
    /// never two live endpoints of ours for one configuration in one VPC with the same subnets
    /// and DNS options, two configurations of
    /// ours for one SVM on one gateway with one custom domain, or two gateways of ours of one generation for one file
    /// system (client tokens and names exist for this).
    fn invariants(&mut self) {
        let s = self.w.cloud.snapshot();
        let ours = |t: &Tags| t.get(OWNER_TAG).map(String::as_str) == Some(OWNER);
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in s.endpoints.iter().filter(|e| ours(&e.tags) && e.state.is_live()) {
            // Per subnets and DNS options too: an endpoint replaced because they changed serves
            // beside its replacement until that one is available.
            let mut subnets = e.subnet_ids.clone();
            subnets.sort();
            seen.entry(format!(
                "endpoints for {} in {} ({subnets:?}, {:?})",
                e.resource_configuration_arn, e.vpc_id, e.private_dns
            ))
            .or_default()
            .push(e.id.to_string());
        }
        for c in s.configurations.iter().filter(|c| ours(&c.tags)) {
            // A custom domain (and its verification) is fixed at creation: one configuration
            // each, the old serving while the new one replaces it.
            seen.entry(format!(
                "configurations for {:?} on {} with custom domain {:?} ({:?})",
                c.tags.get(SVM_TAG),
                c.gateway_id,
                c.custom_domain_name,
                c.domain_verification_id
            ))
            .or_default()
            .push(c.id.to_string());
        }
        for g in s.gateways.iter().filter(|g| ours(&g.tags)) {
            seen.entry(format!(
                "gateways for {:?} generation {:?}",
                g.tags.get(FILE_SYSTEM_TAG),
                g.tags.get(GENERATION_TAG)
            ))
            .or_default()
            .push(g.id.to_string());
        }
        for (what, ids) in seen.into_iter().filter(|(_, ids)| ids.len() > 1) {
            let line = format!("at {}: {} {what}: {ids:?}", rfc3339(s_now(&self.w.cloud)), ids.len());
            self.log(format!("DUPLICATE {line}"));
            self.ever.insert(format!("{what}: {ids:?}"));
        }
    }

    /// One event: one execution of the deployed state machine (85 %) or two or three racing
    /// (15 %, e.g. a duplicate delivered while the first still runs), each with Lambda faults at
    /// the run's fault rate and, 20 % of them, a sandbox killed after k applied actions.
    fn trigger(&mut self, config: &Config, event: &Value) {
        let n = if self.rng.random_bool(0.15) {
            self.races += 1;
            self.rng.random_range(2..=3usize)
        } else {
            1
        };
        let jobs: Vec<Job> = (0..n)
            .map(|_| {
                let stop_after = self.rng.random_bool(0.2).then(|| self.rng.random_range(0..4u32));
                Job::Event {
                    event: event.clone(),
                    options: RunOptions {
                        seed: self.rng.random(),
                        faults: FaultPlan::Random { rate: self.fault_rate },
                    },
                    stop_after,
                }
            })
            .collect();
        let ended = self.invoke(config, &jobs);
        self.invariants();
        let what: Vec<String> = ended
            .iter()
            .map(|(r, passes, stopped)| match r {
                Some(Outcome::Execution(run)) => {
                    let x = &run.execution;
                    let tasks: Vec<String> = x
                        .invocations
                        .iter()
                        .map(|i| match &i.outcome {
                            Ok(v) => format!("{}:{}", i.state, v["status"].as_str().unwrap_or("?")),
                            Err(e) => format!("{}!{}", i.state, e.error),
                        })
                        .collect();
                    let waiting = x
                        .invocations
                        .iter()
                        .rev()
                        .find_map(|i| i.outcome.as_ref().ok())
                        .and_then(|v| v["waiting"].as_array())
                        .filter(|w| !w.is_empty() && x.status != ExecutionStatus::Succeeded)
                        .map(|w| format!(" waiting for {w:?}"))
                        .unwrap_or_default();
                    // What the failed execution caught: the last task error, in full.
                    let caught = x
                        .invocations
                        .iter()
                        .rev()
                        .find_map(|i| i.outcome.as_ref().err())
                        .filter(|_| x.status != ExecutionStatus::Succeeded)
                        .map(|e| format!(" caught {}: {}", e.error, e.cause))
                        .unwrap_or_default();
                    format!(
                        "{:?}{} after {passes} pass(es){}{waiting}{caught} [{}]",
                        x.status,
                        x.error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default(),
                        if *stopped {
                            ", a sandbox killed between actions"
                        } else {
                            ""
                        },
                        tasks.join(" ")
                    )
                }
                Some(Outcome::Invoked(_)) | None => format!("did not finish after {passes} pass(es)"),
            })
            .collect();
        let label = if n > 1 {
            format!("race of {n} executions")
        } else {
            "execution".into()
        };
        self.log(format!("{label}: {}", what.join(" | ")));
    }

    /// Delivers events: dropped, duplicated, held back, shuffled; each actionable one triggers.
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
                    self.trigger(config, &ev);
                }
            }
        }
    }

    /// The schedule, faults still on (port faults, and Lambda faults at the same rate): a
    /// scheduled event every [`SCHEDULE_PERIOD`], [`FINAL_INVOCATIONS`] of them, each delivered
    /// to the Reconcile function as Lambda delivers an asynchronous invocation — EventBridge
    /// Scheduler invokes Lambda asynchronously ([Lambda guide, Invoke a Lambda function on a
    /// schedule](https://docs.aws.amazon.com/lambda/latest/dg/with-eventbridge-scheduler.html)),
    /// and Lambda retries a failed one from its queue ([How Lambda handles errors and retries
    /// with asynchronous invocation](https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html)):
    /// a function error or timeout twice more, one minute and then two minutes later; a
    /// throttle (429) or service error (5xx) again and again, 1 s after the first attempt
    /// doubling up to 5 min, for up to 6 hours. The template sets no `EventInvokeConfig`, so
    /// these defaults are what is deployed; with `ReservedConcurrency` 1 the invocations run one
    /// at a time, in the order they come due. Stops at the first invocation that reports
    /// convergence, or when the last event and its retries are spent, or past [`PASS_BUDGET`].
    /// Returns (converged, passes, invocations).
    fn settle(&mut self, config: &Config) -> (bool, u32, u32) {
        /// An event in Lambda's asynchronous queue.
        struct Queued {
            /// The schedule's target: Reconcile, or the Directory function (a directory world
            /// has both schedules, template.yaml).
            function: Function,
            due: u64,
            arrived: u64,
            /// Function errors so far (at most 2 retries).
            errors: u32,
            /// Throttles and service errors so far.
            throttled: u32,
        }
        const FUNCTION_ERROR_RETRIES: [u64; 2] = [60, 120];
        const MAX_EVENT_AGE: u64 = 6 * 3600;
        let (mut passes, mut invocations) = (0, 0);
        let mut next_tick = self.w.cloud.now_secs();
        let mut ticks = 0;
        let mut queue: Vec<Queued> = Vec::new();
        // Whether the last scheduled Reconcile converged (a directory world's Directory
        // function must then converge too).
        let mut reconciled = false;
        loop {
            let due = queue.iter().map(|q| q.due).min();
            let tick_first = ticks < FINAL_INVOCATIONS && due.is_none_or(|d| next_tick <= d);
            let at = match (tick_first, due) {
                (true, _) => next_tick,
                (false, Some(d)) => d,
                (false, None) => return (false, passes, invocations),
            };
            let now = self.w.cloud.now_secs();
            if at > now {
                self.w.cloud.advance(Duration::from_secs(at - now));
            }
            if tick_first {
                let now = self.w.cloud.now_secs();
                let functions: &[Function] = if self.w.directory {
                    &[Function::Reconcile, Function::Directory]
                } else {
                    &[Function::Reconcile]
                };
                for function in functions {
                    queue.push(Queued {
                        function: *function,
                        due: now,
                        arrived: now,
                        errors: 0,
                        throttled: 0,
                    });
                }
                ticks += 1;
                next_tick += SCHEDULE_PERIOD;
                continue;
            }
            let k = (0..queue.len()).min_by_key(|&k| (queue[k].due, k)).unwrap_or(0);
            let mut q = queue.remove(k);
            invocations += 1;
            let fault = LambdaFault::draw(self.fault_rate, &mut self.rng);
            if let Some(f) = fault {
                *self.lambda_faults.entry(fault_name(f)).or_default() += 1;
            }
            let function = q.function;
            let (r, p, _) = self.invoke(config, &[Job::Scheduled { fault, function }]).remove(0);
            passes += p;
            self.invariants();
            if passes > PASS_BUDGET {
                return (false, passes, invocations);
            }
            let now = self.w.cloud.now_secs();
            let what = match function {
                Function::Directory => "scheduled directory",
                _ => "scheduled reconcile",
            };
            let error = match r {
                Some(Outcome::Invoked(Ok(out))) => {
                    let status = out["status"].as_str().unwrap_or("?").to_string();
                    self.log(format!("{what}: {status} after {p} pass(es)"));
                    let quiet = |key: &str| out[key].as_array().is_none_or(Vec::is_empty);
                    // Converged: Reconcile with nothing held for the Directory function; in a
                    // directory world, then the Directory function with nothing applied and
                    // nothing handed back (deferred).
                    if std::env::var_os("FSXN_LATTICE_CHAOS_DEBUG_DIRECTORY").is_some() {
                        for k in ["refusals", "warnings", "waiting", "applied"] {
                            for x in out[k].as_array().into_iter().flatten() {
                                self.log(format!(
                                    "  {k}: {}",
                                    x.to_string().chars().take(300).collect::<String>()
                                ));
                            }
                        }
                    }
                    match function {
                        Function::Directory => {
                            // A refusal because the directory could not be read is an injected
                            // fault here (an LDAP AccessDenied standing for IAM's propagation
                            // delay): the schedule goes on, as it does on AWS.
                            let unread = out["refusals"].as_array().into_iter().flatten().any(|r| {
                                r.as_str()
                                    .is_some_and(|r| r.contains("the directory could not be read"))
                            });
                            // Nor an account it could not read (its SPNs and AD DNS for the
                            // consumers there were not planned).
                            if status == "converged"
                                && !unread
                                && reconciled
                                && quiet("applied")
                                && quiet("held_for_accounts")
                                && out["deferred"].as_u64() == Some(0)
                            {
                                return (true, passes, invocations);
                            }
                            reconciled = false;
                        }
                        _ => {
                            // And no consumer account held as unreadable (a role still
                            // denying AssumeRole as IAM propagates): the schedule goes on.
                            reconciled =
                                status == "converged" && quiet("held_for_directory") && quiet("held_for_accounts");
                            if reconciled && !self.w.directory {
                                return (true, passes, invocations);
                            }
                        }
                    }
                    for x in out["held_for_directory"]
                        .as_array()
                        .into_iter()
                        .chain(out["held_for_accounts"].as_array())
                        .flatten()
                    {
                        self.log(format!("  held: {}", x.as_str().unwrap_or_default()));
                    }
                    if status == "converged" {
                        continue;
                    }
                    for x in out["waiting"].as_array().into_iter().flatten() {
                        self.log(format!("  waiting: {}", x.as_str().unwrap_or_default()));
                    }
                    for x in out["refusals"].as_array().into_iter().flatten() {
                        self.log(format!("  refused: {}", x.as_str().unwrap_or_default()));
                    }
                    continue;
                }
                Some(Outcome::Invoked(Err(e))) => {
                    self.log(format!(
                        "{what}: {} after {p} pass(es){} ({})",
                        e.error,
                        fault.map(|f| format!(" (injected {f:?})")).unwrap_or_default(),
                        e.cause
                    ));
                    e.error
                }
                // The sandbox died in the middle of a call: a function error to Lambda.
                Some(Outcome::Execution(_)) | None => {
                    self.log(format!("{what}: did not finish after {p} pass(es)"));
                    "Runtime.ExitError".to_string()
                }
            };
            if matches!(
                error.as_str(),
                "Lambda.TooManyRequestsException" | "Lambda.ServiceException"
            ) {
                let backoff = (1u64 << q.throttled.min(9)).min(300);
                if now + backoff - q.arrived <= MAX_EVENT_AGE {
                    q.throttled += 1;
                    q.due = now + backoff;
                    self.log(format!("  Lambda queues the event again, in {backoff} s"));
                    queue.push(q);
                }
            } else if let Some(wait) = FUNCTION_ERROR_RETRIES.get(q.errors as usize) {
                q.errors += 1;
                q.due = now + wait;
                self.log(format!("  Lambda retries the event in {wait} s"));
                queue.push(q);
            } else {
                self.log("  Lambda gives the event up after 3 attempts".into());
            }
        }
    }
}

/// How a failed execution is counted in [`ChaosReport::executions_failed_by`]: the Fail
/// state's error, with the last task error when the generic `Failed` state caught it.
fn failure_key(e: &crate::stepfunctions::Execution) -> String {
    let error = e.error.as_deref().unwrap_or("?");
    match e.invocations.iter().rev().find_map(|i| i.outcome.as_ref().err()) {
        Some(t) if error == "ReconcileFailed" => format!("{error}({})", t.error),
        _ => error.to_string(),
    }
}

/// A Lambda fault's name in the report.
fn fault_name(f: LambdaFault) -> String {
    match f {
        LambdaFault::Timeout => "timeout".into(),
        LambdaFault::ServiceException => "service_exception".into(),
        LambdaFault::TooManyRequests => "too_many_requests".into(),
        LambdaFault::Function(k) => format!("function_{}", k.as_str()),
    }
}

fn change(
    run: &mut Run<'_>,
    active: &mut Vec<String>,
    svms: &mut Vec<StorageVirtualMachine>,
    created: &mut usize,
) -> Config {
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
            let s = new_svm(&mut run.rng, fs, *created);
            *created += 1;
            if w.directory {
                // FSx joins a new SVM to the domain: its computer account.
                w.cloud.add_ad_computer(&s.name);
            }
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
            let all: Vec<String> = w.consumer_names();
            let c = all[run.rng.random_range(0..all.len())].clone();
            if active.contains(&c) && active.len() > 1 {
                active.retain(|x| x != &c);
                run.log(format!("consumer {c} removed from the config"));
            } else if !active.contains(&c) {
                active.push(c.clone());
                run.log(format!("consumer {c} added to the config"));
            }
        }
        _ if run.rng.random_bool(0.3) => {
            // An operator edits a consumer's subnets: its endpoints are replaced (make-before-
            // break, or break-before-make where the new one would answer a name the old one
            // answers in the VPC: a custom-domain consumer, or any once the domain is verified).
            let editable: Vec<&ConsumerVpc> = w.consumers.iter().filter(|c| c.2.len() > 1).collect();
            if !editable.is_empty() {
                let c = editable[run.rng.random_range(0..editable.len())].0.clone();
                let cut = !run.trimmed.remove(&c);
                if cut {
                    run.trimmed.insert(c.clone());
                }
                run.log(format!(
                    "consumer {c}'s subnet_ids {}",
                    if cut { "cut to its first subnet" } else { "restored" }
                ));
            }
        }
        _ => {
            // Someone else's workload eats addresses in the subnets our gateways use.
            let snap = w.cloud.snapshot();
            let used: BTreeSet<SubnetId> = snap
                .gateways
                .iter()
                .filter(|g| g.tags.get(OWNER_TAG).map(String::as_str) == Some(OWNER))
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
    config_for(active, &run.consumers_now(), w.directory, &w.accounts)
}

/// The driver of a run: `None` runs [`invocation`]; a test may replace the configuration the
/// reconciler is given (to prove the oracle catches a reconciler that does the wrong thing).
type Mutant = Option<fn(&Config) -> Config>;

/// Runs one campaign run and adds its findings to `report`.
/// The deployed state machine of each kind of world.
struct Machines {
    plain: DeployedStateMachine,
    directory: DeployedStateMachine,
}

fn run_one(
    seed: u64,
    fault_rate: f64,
    machines: &Machines,
    report: &mut ChaosReport,
    keep_timeline: bool,
    mutant: Mutant,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w = build(seed, &mut rng);
    let machine = if w.directory {
        report.directory_worlds += 1;
        &machines.directory
    } else {
        &machines.plain
    };
    if !w.accounts.accounts.is_empty() {
        report.account_worlds += 1;
    }
    if !w.accounts.networks.is_empty() {
        report.network_worlds += 1;
    }
    if !w.accounts.custom_domain.is_empty() {
        report.custom_domain_worlds += 1;
    }
    let before = inventory_with_directory(&w.cloud);
    let mut active: Vec<String> = w.consumer_names();
    let mut svms = w.svms.clone();
    let mut created = svms.len();
    let mut config = config_for(&active, &w.consumers, w.directory, &w.accounts);
    let mut run = Run {
        w: &w,
        rng,
        trimmed: BTreeSet::new(),
        timeline: Vec::new(),
        crashes: 0,
        dropped: 0,
        races: 0,
        hangs: Vec::new(),
        ever: BTreeSet::new(),
        events: EventStats::default(),
        held: Vec::new(),
        machine,
        fault_rate,
        executions: 0,
        executions_failed: 0,
        executions_failed_by: BTreeMap::new(),
        lambda_invocations: 0,
        lambda_faults: BTreeMap::new(),
    };
    w.cloud.set_faults(Faults {
        rate: fault_rate,
        mix: FaultMix::All,
    });
    // Start with one SVM exposed so every run has something to build.
    let first = svms[0].id.to_string();
    w.cloud.tag_fsx(&first, tag_keys::EXPOSE, "smb");
    w.cloud.tag_fsx(
        &first,
        tag_keys::ALIAS,
        &format!("alias-{}.corp.example", &svms[0].id.suffix()[..8]),
    );
    let given = |c: &Config| mutant.map_or_else(|| c.clone(), |m| m(c));
    // In an account world, a consumer account's role sometimes stops trusting us for a while
    // (drawn apart, so other worlds replay as before); trust is restored before the end.
    let mut trust_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7e57_acc0);
    for _ in 0..8 {
        run.deliver(&given(&config));
        config = change(&mut run, &mut active, &mut svms, &mut created);
        if !w.accounts.accounts.is_empty() && trust_rng.random_bool(0.3) {
            let (a, _, _, _) = &w.accounts.accounts[trust_rng.random_range(0..w.accounts.accounts.len())];
            let trusted = trust_rng.random_bool(0.4);
            w.cloud.set_assumable(a, trusted);
            run.log(format!(
                "account {a}'s role {} us",
                if trusted { "trusts" } else { "stops trusting" }
            ));
        }
        let secs = run.rng.random_range(15..120);
        w.cloud.advance(Duration::from_secs(secs));
    }
    for (a, _, _, _) in &w.accounts.accounts {
        w.cloud.set_assumable(a, true);
    }
    run.deliver(&given(&config));
    // The schedule catches what was lost, with the faults still on.
    let (converged, passes, invocations) = run.settle(&given(&config));
    let mut failed = std::mem::take(&mut run.hangs);
    report.duplicates += run.ever.len() as u32;
    failed.extend(run.ever.iter().map(|d| format!("duplicate at some moment: {d}")));
    if converged {
        report.converged += 1;
        report.passes.push(passes);
        report.invocations.push(invocations);
        report.max_reconciles_to_converge = report.max_reconciles_to_converge.max(passes);
    } else {
        failed.push(format!(
            "no convergence within {FINAL_INVOCATIONS} scheduled events and Lambda's retries of them ({invocations} invocations, {passes} passes; budget {PASS_BUDGET})"
        ));
    }
    let findings = check(&w.cloud, &config, &run.consumers_now(), &w.accounts, &before);
    if keep_timeline {
        // What is left of ours, for whoever replays a failure.
        let s = w.cloud.snapshot();
        let ours = |t: &Tags| t.get(OWNER_TAG).map(String::as_str) == Some(OWNER);
        for g in s.gateways.iter().filter(|g| ours(&g.tags)) {
            run.log(format!("end: gateway {} {:?} in {:?}", g.id, g.status, g.subnet_ids));
        }
        for c in s.configurations.iter().filter(|c| ours(&c.tags)) {
            run.log(format!(
                "end: configuration {} on {} → {:?} {:?} {:?} ({:?})",
                c.id,
                c.gateway_id,
                c.ip_address,
                c.port_ranges,
                c.status,
                c.tags.get(SVM_TAG)
            ));
        }
        for e in s.endpoints.iter().filter(|e| ours(&e.tags)) {
            run.log(format!(
                "end: endpoint {} in {} {} for {} ({:?}/{:?})",
                e.id,
                e.vpc_id,
                e.state.as_str(),
                e.resource_configuration_arn.rsplit('/').next().unwrap_or_default(),
                e.tags.get(SVM_TAG),
                e.tags.get(CONSUMER_TAG)
            ));
        }
    }
    report.orphans += findings.orphans.len() as u32;
    report.duplicates += findings.duplicates.len() as u32;
    report.foreign_touched += findings.touched.len() as u32;
    report.wrong += findings.wrong.len() as u32;
    failed.extend(findings.all());
    report.api_calls += w.cloud.api_calls().values().sum::<u64>();
    report.faults_injected += w.cloud.faults_injected();
    for (k, n) in w.cloud.faults_by_kind() {
        *report.faults.entry(k.as_str().to_string()).or_default() += n;
    }
    report.crashes_injected += run.crashes;
    report.dropped_mid_call += run.dropped;
    report.races += run.races;
    report.events.delivered += run.events.delivered;
    report.events.dropped += run.events.dropped;
    report.events.duplicated += run.events.duplicated;
    report.events.delayed += run.events.delayed;
    report.executions += run.executions;
    report.executions_failed += run.executions_failed;
    for (k, n) in &run.executions_failed_by {
        *report.executions_failed_by.entry(k.clone()).or_default() += n;
    }
    report.lambda_invocations += run.lambda_invocations;
    for (k, n) in &run.lambda_faults {
        *report.lambda_faults.entry(k.clone()).or_default() += n;
    }
    if !failed.is_empty() {
        report.failed_runs += 1;
        if report.failures.len() < FAILURES_KEPT {
            report.failures.push(Failure {
                seed,
                replay: format!("fsxn-lattice chaos --seed {seed} --runs 1 --fault-rate {fault_rate}"),
                what: failed.join("; "),
            });
        }
    }
    if keep_timeline {
        // After the counters: these reads are the harness's, not the run's.
        // What a fault-free plan of the end state would still do, for whoever replays a failure.
        w.cloud.set_faults(Faults::default());
        match pollster::block_on(fsxn_lattice_core::observe::observe(
            &w.cloud,
            &config,
            &fsxn_lattice_core::apply::RetryPolicy::default(),
        )) {
            Ok((o, d)) => {
                let p = fsxn_lattice_core::plan::plan(&config, &d, &o);
                for a in &p.actions {
                    run.log(format!("end plan: {} ({})", a.action.summary(), a.why));
                }
                for x in p.waiting.iter().chain(&p.warnings).chain(&p.held_for_accounts) {
                    run.log(format!("end plan: {x}"));
                }
                for r in &p.refusals {
                    run.log(format!("end plan: refused {}: {}", r.subject, r.reason));
                }
            }
            Err(e) => run.log(format!("end plan: observe failed: {e}")),
        }
        if std::env::var_os("FSXN_LATTICE_CHAOS_DEBUG_DIRECTORY").is_some() {
            let options = fsxn_lattice_core::reconcile::ReconcileOptions {
                scope: fsxn_lattice_core::reconcile::Scope::Directory,
                poll_interval: Duration::ZERO,
                ..Default::default()
            };
            let r = pollster::block_on(fsxn_lattice_core::reconcile::reconcile(
                &w.cloud,
                &config,
                &options,
                &mut |_| {},
            ));
            run.log(format!(
                "end directory run: {:?}, {} applied, waiting {:?}",
                r.status,
                r.applied.len(),
                r.last_plan.waiting
            ));
        }
        report.timeline = run.timeline;
    }
}

/// Runs a campaign. With `runs == 1` and one seed, the seed is the run's own (replaying a
/// failure) and the timeline is kept.
pub fn run_campaign(opts: ChaosOptions) -> ChaosReport {
    run_campaign_with(opts, None)
}

fn run_campaign_with(opts: ChaosOptions, mutant: Mutant) -> ChaosReport {
    let seeds = opts.seeds.max(1);
    let mut report = ChaosReport {
        seed_range: [opts.seed, opts.seed + u64::from(seeds) - 1],
        fault_rate: opts.fault_rate,
        runs: 0,
        directory_worlds: 0,
        account_worlds: 0,
        network_worlds: 0,
        custom_domain_worlds: 0,
        converged: 0,
        orphans: 0,
        duplicates: 0,
        foreign_touched: 0,
        wrong: 0,
        max_reconciles_to_converge: 0,
        pass_budget: PASS_BUDGET,
        passes_to_converge: Spread::default(),
        invocations_to_converge: Spread::default(),
        api_calls: 0,
        faults_injected: 0,
        faults: BTreeMap::new(),
        crashes_injected: 0,
        dropped_mid_call: 0,
        races: 0,
        events: EventStats::default(),
        executions: 0,
        executions_failed: 0,
        executions_failed_by: BTreeMap::new(),
        lambda_invocations: 0,
        lambda_faults: BTreeMap::new(),
        failed_runs: 0,
        failures: Vec::new(),
        timeline: Vec::new(),
        passes: Vec::new(),
        invocations: Vec::new(),
    };
    let single = opts.runs == 1 && seeds == 1;
    // As template.yaml deploys it without a directory, and with one (condition HasDirectory).
    let machines = Machines {
        plain: DeployedStateMachine::from_repository().expect("the repository's state machine parses"),
        directory: DeployedStateMachine::new(
            &crate::stepfunctions::Deployment::from_repository()
                .expect("the repository's state machine parses")
                .with_condition("HasDirectory", true),
        )
        .expect("the repository's state machine parses"),
    };
    for campaign in opts.seed..opts.seed + u64::from(seeds) {
        for i in 0..opts.runs {
            let seed = if single { campaign } else { run_seed(campaign, i) };
            report.runs += 1;
            run_one(seed, opts.fault_rate, &machines, &mut report, single, mutant);
        }
    }
    report.passes_to_converge = Spread::of(&report.passes);
    report.invocations_to_converge = Spread::of(&report.invocations);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_takes_nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=200).collect();
        assert_eq!(
            Spread::of(&v),
            Spread {
                p50: 100,
                p99: 198,
                max: 200
            }
        );
        assert_eq!(Spread::of(&[7]), Spread { p50: 7, p99: 7, max: 7 });
        assert_eq!(Spread::of(&[]), Spread::default());
    }

    /// A future that records its id at each of `n` yield points.
    async fn steps(id: usize, n: usize, log: &std::sync::Mutex<Vec<usize>>) -> Outcome {
        for _ in 0..n {
            log.lock().expect("log").push(id);
            YieldNow::default().await;
        }
        Outcome::Invoked(Ok(Value::Null))
    }

    #[test]
    fn interleaving_switches_between_reconcilers_at_yield_points_and_replays_per_seed() {
        let order = |seed: u64| {
            let log = std::sync::Mutex::new(Vec::new());
            let flags = [AtomicBool::new(false), AtomicBool::new(false), AtomicBool::new(false)];
            let futures = (0..3)
                .map(|i| {
                    let fut: Pin<Box<dyn Future<Output = Outcome> + '_>> = Box::pin(steps(i, 20, &log));
                    (fut, &flags[i])
                })
                .collect();
            let ended = interleave(futures, &mut ChaCha8Rng::seed_from_u64(seed)).expect("finishes");
            assert!(ended.iter().all(|e| matches!(e, Ended::Returned(_))));
            log.into_inner().expect("log")
        };
        let a = order(1);
        assert_eq!(a.len(), 60);
        let switches = a.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(switches > 10, "interleaved, not one after the other: {a:?}");
        assert_eq!(a, order(1), "the same seed, the same interleaving");
        assert_ne!(a, order(2));
    }

    /// The mutant the issue names: `desired::resolve` exposing nothing. Renaming the expose tag
    /// key in the reconciler's config makes its `resolve` find no exposure, exactly as that
    /// mutant would; the oracle, reading the tags itself, must fail the run.
    fn expose_nothing(c: &Config) -> Config {
        let mut c = c.clone();
        c.tags.expose = "no-such-tag".into();
        c
    }

    #[test]
    fn the_oracle_fails_a_reconciler_that_exposes_nothing() {
        let r = run_campaign_with(ChaosOptions::new(7, 3, 0.0), Some(expose_nothing));
        assert!(!r.clean());
        // Every run whose world ends with an SVM exposed (all three of these since reads run
        // concurrently: the order of calls, and so what the runs draw, changed).
        assert_eq!(r.failed_runs, 3, "{:#?}", r.failures);
        assert!(
            r.failures.iter().all(|f| f.what.contains("no configuration targets")),
            "{:#?}",
            r.failures
        );
        let sane = run_campaign_with(ChaosOptions::new(7, 3, 0.0), None);
        assert!(sane.clean(), "{:#?}", sane.failures);
    }

    /// A Directory function that never reaches AD: the reconciler's config without
    /// `[directory]`; the oracle, checking AD in directory worlds itself, must fail those runs.
    fn forget_directory(c: &Config) -> Config {
        let mut c = c.clone();
        c.directory = None;
        c
    }

    #[test]
    fn the_oracle_fails_a_reconciler_that_leaves_ad_alone_in_directory_worlds() {
        let opts = ChaosOptions::new(11, 8, 0.0);
        let directory_worlds = (0..8)
            .filter(|i| {
                let seed = run_seed(11, *i);
                build(seed, &mut ChaCha8Rng::seed_from_u64(seed)).directory
            })
            .count();
        assert!(
            (1..8).contains(&directory_worlds),
            "both kinds of world in the campaign: {directory_worlds} of 8 have a directory"
        );
        let r = run_campaign_with(opts, Some(forget_directory));
        // Failed: the directory worlds that end with an SVM exposed with SMB and an alias.
        assert!(
            (1..=directory_worlds).contains(&(r.failed_runs as usize)),
            "{} of {directory_worlds}: {:#?}",
            r.failed_runs,
            r.failures
        );
        assert!(
            r.failures
                .iter()
                .all(|f| f.what.contains("lacks") && f.what.contains("AD DNS")),
            "{:#?}",
            r.failures
        );
        let sane = run_campaign_with(opts, None);
        assert!(sane.clean(), "{:#?}", sane.failures);
    }

    /// A reconciler that never reaches other accounts: its config without `[[accounts]]` and
    /// their consumers; the oracle, holding the world's own config, must fail the account worlds.
    fn forget_accounts(c: &Config) -> Config {
        let mut c = c.clone();
        c.consumers.retain(|x| x.account.is_none());
        c.accounts.clear();
        c
    }

    #[test]
    fn the_oracle_fails_a_reconciler_that_leaves_other_accounts_alone() {
        let opts = ChaosOptions::new(13, 8, 0.0);
        let account_worlds = (0..8)
            .filter(|i| {
                let seed = run_seed(13, *i);
                !build(seed, &mut ChaCha8Rng::seed_from_u64(seed))
                    .accounts
                    .accounts
                    .is_empty()
            })
            .count();
        assert!(
            (1..8).contains(&account_worlds),
            "both kinds of world in the campaign: {account_worlds} of 8 have other accounts"
        );
        let r = run_campaign_with(opts, Some(forget_accounts));
        assert_eq!(r.account_worlds as usize, account_worlds);
        assert!(
            (1..=account_worlds).contains(&(r.failed_runs as usize)),
            "{} of {account_worlds}: {:#?}",
            r.failed_runs,
            r.failures
        );
        // Each names what the other accounts lack: a share, or an alias in their zones (when the
        // only consumers left were theirs, nothing at all was exposed).
        assert!(
            r.failures
                .iter()
                .all(|f| f.what.contains("no share of ours for account") || f.what.contains("ZCHAOSX")),
            "{:#?}",
            r.failures
        );
        let sane = run_campaign_with(opts, None);
        assert!(sane.clean(), "{:#?}", sane.failures);
    }

    /// A reconciler that treats custom-domain consumers as CNAME consumers without a zone: the
    /// oracle, resolving the alias in their VPC, must fail the custom-domain worlds.
    fn forget_custom_domains(c: &Config) -> Config {
        let mut c = c.clone();
        for x in &mut c.consumers {
            x.alias_mode = fsxn_lattice_core::config::AliasMode::Cname;
        }
        c.custom_domains.clear();
        c
    }

    #[test]
    fn the_oracle_fails_a_reconciler_that_ignores_custom_domains() {
        let opts = ChaosOptions::new(17, 8, 0.0);
        let worlds = (0..8)
            .filter(|i| {
                let seed = run_seed(17, *i);
                !build(seed, &mut ChaCha8Rng::seed_from_u64(seed))
                    .accounts
                    .custom_domain
                    .is_empty()
            })
            .count();
        assert!(
            (1..8).contains(&worlds),
            "both kinds of world in the campaign: {worlds} of 8 have a custom-domain consumer"
        );
        let r = run_campaign_with(opts, Some(forget_custom_domains));
        assert_eq!(r.custom_domain_worlds as usize, worlds);
        assert!(
            (1..=worlds).contains(&(r.failed_runs as usize)),
            "{} of {worlds}: {:#?}",
            r.failed_runs,
            r.failures
        );
        assert!(
            r.failures
                .iter()
                .all(|f| ["custom domain", "private DNS", "verification"]
                    .iter()
                    .any(|w| f.what.contains(w))),
            "{:#?}",
            r.failures
        );
        let sane = run_campaign_with(opts, None);
        assert!(sane.clean(), "{:#?}", sane.failures);
    }

    /// Runs that failed before a custom-domain consumer's break-before-make replacement could
    /// pass the Provision function's hold for the AD CNAME (the Directory step can only move the
    /// CNAME to an endpoint that exists, and the new one waited for the old one to go): found by
    /// chaos at fault rate 0 (seeds 900..907, 7 of 800 runs), now clean.
    #[test]
    fn custom_domain_replacements_are_not_held_for_the_ad_cname_for_ever() {
        for seed in [
            16160889878596561122,
            15256509219219696787,
            13447747900464723377,
            13447747900472718769,
        ] {
            let r = run_campaign_with(ChaosOptions::new(seed, 1, 0.0), None);
            assert!(r.clean(), "{seed}: {:#?}", r.failures);
            assert_eq!(r.custom_domain_worlds, 1);
        }
    }

    #[test]
    fn a_second_live_endpoint_of_ours_is_a_duplicate_the_moment_it_exists() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let w = build(5, &mut rng);
        let theirs = w
            .cloud
            .snapshot()
            .configurations
            .into_iter()
            .find(|c| c.tags.get(OWNER_TAG).map(String::as_str) == Some(OTHER_OWNER))
            .expect("the second owner's configuration");
        let (_, vpc, subnets, _, _) = &w.consumers[0];
        let mut run = Run {
            trimmed: BTreeSet::new(),
            w: &w,
            rng,
            timeline: Vec::new(),
            crashes: 0,
            dropped: 0,
            races: 0,
            hangs: Vec::new(),
            ever: BTreeSet::new(),
            events: EventStats::default(),
            held: Vec::new(),
            machine: &DeployedStateMachine::from_repository().expect("the repository's state machine"),
            fault_rate: 0.0,
            executions: 0,
            executions_failed: 0,
            executions_failed_by: BTreeMap::new(),
            lambda_invocations: 0,
            lambda_faults: BTreeMap::new(),
        };
        for token in ["a", "b"] {
            run.invariants();
            assert!(run.ever.is_empty(), "{:?}", run.ever);
            pollster::block_on(w.cloud.create_vpc_endpoint(&CreateVpcEndpointRequest {
                private_dns: Default::default(),
                vpc_id: vpc.clone(),
                subnet_ids: subnets.clone(),
                security_group_ids: vec![],
                resource_configuration_arn: theirs.arn.clone(),
                private_dns_enabled: true,
                client_token: token.into(),
                tags: tags(&[(OWNER_TAG, OWNER.into())]),
            }))
            .expect("endpoint");
        }
        run.invariants();
        assert_eq!(run.ever.len(), 1, "{:?}", run.ever);
    }

    #[test]
    fn every_run_replays_alone_from_its_printed_seed() {
        let campaign = run_campaign(ChaosOptions::new(11, 4, 0.3));
        let alone: Vec<ChaosReport> = (0..4)
            .map(|i| run_campaign(ChaosOptions::new(run_seed(11, i), 1, 0.3)))
            .collect();
        assert_eq!(
            campaign.api_calls,
            alone.iter().map(|r| r.api_calls).sum::<u64>(),
            "a run alone makes exactly the calls it made in its campaign"
        );
        assert_eq!(
            campaign.faults_injected,
            alone.iter().map(|r| r.faults_injected).sum::<u64>()
        );
        let mut passes: Vec<u32> = alone.iter().flat_map(|r| r.passes.clone()).collect();
        let mut in_campaign = campaign.passes.clone();
        passes.sort_unstable();
        in_campaign.sort_unstable();
        assert_eq!(passes, in_campaign);
        assert!(
            alone.iter().all(|r| !r.timeline.is_empty()),
            "a replay prints its timeline"
        );
    }

    #[test]
    fn the_oracle_sees_foreign_and_second_owner_resources_touched() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let w = build(3, &mut rng);
        let before = inventory_with_directory(&w.cloud);
        let config = config_for(&[w.consumers[0].0.clone()], &w.consumers, w.directory, &w.accounts);
        assert!(check(&w.cloud, &config, &w.consumers, &w.accounts, &before).is_empty());
        // Delete the second owner's endpoint, as a reconciler that ignored the owner would.
        let theirs = w
            .cloud
            .snapshot()
            .endpoints
            .into_iter()
            .find(|e| e.tags.get(OWNER_TAG).map(String::as_str) == Some(OTHER_OWNER))
            .expect("the second owner's endpoint");
        pollster::block_on(w.cloud.delete_vpc_endpoint(&theirs.id)).expect("delete");
        let f = check(&w.cloud, &config, &w.consumers, &w.accounts, &before);
        assert_eq!(f.touched.len(), 1, "{f:?}");
        assert!(f.touched[0].contains(theirs.id.as_str()));
    }

    #[test]
    fn the_oracle_wants_every_exposed_svm_on_exact_ports_with_its_alias() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let w = build(4, &mut rng);
        let before = inventory_with_directory(&w.cloud);
        let config = config_for(&[w.consumers[0].0.clone()], &w.consumers, w.directory, &w.accounts);
        let svm = &w.svms[0];
        w.cloud.tag_fsx(svm.id.as_str(), tag_keys::EXPOSE, "NFS3, ssh");
        w.cloud.tag_fsx(svm.id.as_str(), tag_keys::ALIAS, "Files.corp.example.");
        let want = expected(&w.cloud.snapshot(), &config);
        let e = &want[&svm.id];
        assert_eq!(e.ports, [22, 111, 635, 2049, 4045, 4046]);
        assert_eq!(e.alias.as_deref(), Some("files.corp.example"));
        assert_eq!(e.consumers, [w.consumers[0].0.clone()]);
        let f = check(&w.cloud, &config, &w.consumers, &w.accounts, &before);
        assert!(f.wrong.iter().any(|x| x.contains("no configuration targets")), "{f:?}");
        // Two SVMs claiming one alias: neither gets it.
        if let Some(other) = w.svms.get(1) {
            w.cloud.tag_fsx(other.id.as_str(), tag_keys::EXPOSE, "smb");
            w.cloud
                .tag_fsx(other.id.as_str(), tag_keys::ALIAS, "files.corp.example");
            let want = expected(&w.cloud.snapshot(), &config);
            assert!(want.values().all(|e| e.alias.is_none()));
        }
        w.cloud.tag_fsx(svm.id.as_str(), tag_keys::EXPOSE, "off");
        assert!(!expected(&w.cloud.snapshot(), &config).contains_key(&svm.id));
    }

    /// Review: an actor's calls in other accounts and to RAM go through `sharing()`, which
    /// `forward_ports!` hands straight to the inner SimCloud: they neither yield (no racing
    /// execution interleaves at CreateResourceShare, AcceptResourceShareInvitation or a
    /// CreateVpcEndpoint through a role) nor honour a crash (the call returns
    /// Internal/SimulatedCrash, the process lives on, and the pending crash kills whichever
    /// actor calls next). Cross-account writes are thus never crashed mid-call by chaos.
    #[test]
    #[ignore = "review: the chaos Actor does not wrap Sharing/ConsumerCloud (needs an owned, 'static actor for the Arc<dyn ConsumerCloud> sessions)"]
    fn review_a_crash_in_a_call_through_a_role_kills_the_actor_that_made_it() {
        use fsxn_lattice_core::config::ConsumerAccount;
        let cloud = SimCloud::new(11);
        let role = "arn:aws:iam::222233334444:role/fsxn-lattice-consumer";
        cloud.add_account("222233334444", role, None, true);
        let crashed = AtomicBool::new(false);
        let actor = Actor {
            cloud: &cloud,
            crashed: &crashed,
        };
        cloud.set_faults(crate::Faults {
            rate: 1.0,
            mix: crate::FaultMix::All,
        });
        let account = ConsumerAccount {
            id: AccountId::parse("222233334444").unwrap(),
            role_arn: role.into(),
            external_id: None,
        };
        let mut cx = Context::from_waker(Waker::noop());
        // Until one CreateResourceShare draws a crash (10% of creates under FaultMix::All).
        for i in 0..500 {
            let before = cloud
                .faults_by_kind()
                .get(&crate::FaultKind::Crash)
                .copied()
                .unwrap_or(0);
            let req = CreateResourceShareRequest {
                name: format!("s{i}"),
                resource_arns: vec![],
                principals: vec![account.id.clone()],
                allow_external_principals: false,
                client_token: format!("t{i}"),
                tags: Tags::new(),
            };
            let sharing = actor.sharing().expect("the stack's view shares");
            let mut call = Box::pin(sharing.create_resource_share(&req));
            let mut ready = false;
            for _ in 0..8 {
                if call.as_mut().poll(&mut cx).is_ready() {
                    ready = true;
                    break;
                }
            }
            let after = cloud
                .faults_by_kind()
                .get(&crate::FaultKind::Crash)
                .copied()
                .unwrap_or(0);
            if after > before {
                assert!(
                    !ready && crashed.load(Ordering::SeqCst),
                    "the crash in CreateResourceShare was not the caller's: it returned, and the next actor call will die instead"
                );
                let _ = pollster::block_on(cloud.assume(&account));
                return;
            }
        }
        panic!("no crash drawn");
    }
}
