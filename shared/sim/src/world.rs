//! The machinery no service owns: the [`CloudState`] behind [`SimCloud`]'s lock, the virtual clock
//! and the work AWS does on it later (scheduled tasks), fault injection (a fault drawn per port
//! call in `enter`, lost responses and crashes applied in `leave`, stale reads in `hidden`,
//! [`SimCloud::deny_next`] and [`SimCloud::delete_before_next`]), client-token replay, the
//! cloud's counters and [`Snapshot`].

use crate::audit;
use crate::ec2::{ENDPOINTS_PER_VPC, SimEndpoint};
use async_trait::async_trait;
use fsxn_lattice_core::error::{CloudError, ErrorKind};
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;
use fsxn_lattice_core::time::rfc3339;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Virtual start time: 2024-12-18T00:40:00Z, just before the seed's first endpoint.
pub const EPOCH: u64 = 1_734_482_400;

#[derive(Debug, Clone)]
pub(crate) enum Task {
    ProvisionEndpoint(VpcEndpointId),
    EndpointReady(VpcEndpointId),
    EndpointGone(VpcEndpointId),
    GatewayGone(GatewayId),
    AssociationReady(String),
    AssociationGone(String),
    ChangeInsync(String),
}

/// Fault injection settings.
///
/// `rate` is the probability that a port call fails, exactly: at 1.0 every call fails. What it
/// fails with is drawn from the [`FaultMix`] for the call's class (read, create, change,
/// delete); see [`FaultKind`] for the split. Faults come from a generator of their own, seeded
/// from the cloud's seed, so a run replays identically.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Probability that a port call fails (0.0–1.0).
    pub rate: f64,
    /// Which kinds of failure.
    pub mix: FaultMix,
}

/// Which kinds of fault a failing call gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FaultMix {
    /// Throttling and 5xx only. Reads: half throttling, half 5xx. Writes: a third throttling, a
    /// sixth 5xx, half a 5xx *after* the write took effect (the response is lost).
    #[default]
    Transient,
    /// Every kind, split per call class (percent):
    ///
    /// | class  | throttling | 5xx | lost response | crash | access denied | validation | quota | not found |
    /// |--------|-----------:|----:|--------------:|------:|--------------:|-----------:|------:|----------:|
    /// | read   | 40 | 40 |    |    | 20 |    |    |    |
    /// | create | 20 | 10 | 20 | 10 | 10 | 15 | 15 |    |
    /// | change | 20 | 15 | 20 | 10 | 10 | 25 |    |    |
    /// | delete | 20 | 15 | 20 | 10 | 10 |    |    | 25 |
    ///
    /// (`CreateSubnetCidrReservation` has no quota error of its own: its quota share is a
    /// validation error.) On top of the failures, with the same probability a read that
    /// succeeds is *stale*: EC2 describes and VPC Lattice lists leave out what was created in
    /// the last [`CONSISTENCY_WINDOW`] seconds, and `GetSubnetCidrReservations` of a subnet that
    /// new answers `InvalidSubnetID.NotFound` (EC2's documented eventual consistency; Route 53
    /// lists are read-after-write and are never stale).
    All,
}

/// A kind of injected fault, as counted by [`SimCloud::faults_by_kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// `ThrottlingException`, `RequestLimitExceeded`, `Throttling`: before any effect.
    Throttling,
    /// A 5xx before any effect.
    ServerError,
    /// A 5xx after the write took effect: the response is lost (client tokens exist for this).
    LostResponse,
    /// The caller's process dies after the write took effect and before it sees the response.
    /// The call fails with `Internal`/`SimulatedCrash`, and [`SimCloud::take_crash`] says so, so
    /// a harness can drop the caller in the middle of the call.
    Crash,
    /// `AccessDenied`/`UnauthorizedOperation`, as a freshly changed IAM policy gives while it
    /// propagates: before any effect.
    AccessDenied,
    /// `ValidationException`/`InvalidParameterValue`/`InvalidInput` on a write: before any effect.
    Validation,
    /// `ServiceQuotaExceededException`, `VpcEndpointLimitExceeded`, `SubnetLimitExceeded` on a
    /// create: before any effect.
    QuotaExceeded,
    /// `*.NotFound`/`ResourceNotFoundException` on a delete that did not happen (the resource
    /// is not visible to the delete yet).
    NotFoundOnDelete,
    /// A read that succeeded but left out something just created (or answered NotFound for it).
    StaleRead,
}

impl FaultKind {
    /// The stable name (`lost_response`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Throttling => "throttling",
            Self::ServerError => "server_error",
            Self::LostResponse => "lost_response",
            Self::Crash => "crash",
            Self::AccessDenied => "access_denied",
            Self::Validation => "validation",
            Self::QuotaExceeded => "quota_exceeded",
            Self::NotFoundOnDelete => "not_found_on_delete",
            Self::StaleRead => "stale_read",
        }
    }
}

/// Seconds during which something created may be missing from a stale read.
pub const CONSISTENCY_WINDOW: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpClass {
    Read,
    Create,
    Change,
    Delete,
}

fn op_class(op: &str) -> OpClass {
    match op {
        "CreateSubnet"
        | "CreateSubnetCidrReservation"
        | "CreateVpcEndpoint"
        | "CreateResourceGateway"
        | "CreateResourceConfiguration"
        | "CreateResourceShare" => OpClass::Create,
        "UpdateResourceGateway"
        | "UpdateResourceConfiguration"
        | "ChangeResourceRecordSets"
        | "AssociateRouteTable"
        | "TagResource"
        | "LdapModifyComputer"
        | "LdapModifyDnsNode"
        | "AssociateResourceShare"
        | "DisassociateResourceShare"
        | "AcceptResourceShareInvitation" => OpClass::Change,
        "DeleteSubnet"
        | "DeleteSubnetCidrReservation"
        | "DeleteVpcEndpoints"
        | "DeleteResourceGateway"
        | "DeleteResourceConfiguration"
        | "DisassociateRouteTable"
        | "UntagResource"
        | "LdapDeleteDnsNode"
        | "DeleteResourceShare" => OpClass::Delete,
        _ => OpClass::Read,
    }
}

/// The split of [`FaultMix`] for one call: (kind, weight) pairs summing to 100.
fn fault_split(mix: FaultMix, op: &str) -> &'static [(FaultKind, u32)] {
    use FaultKind::*;
    match (mix, op_class(op)) {
        (FaultMix::Transient, OpClass::Read) => &[(Throttling, 50), (ServerError, 50)],
        (FaultMix::Transient, _) => &[(Throttling, 33), (ServerError, 17), (LostResponse, 50)],
        (FaultMix::All, OpClass::Read) => &[(Throttling, 40), (ServerError, 40), (AccessDenied, 20)],
        (FaultMix::All, OpClass::Create) if op == "CreateSubnetCidrReservation" => &[
            (Throttling, 20),
            (ServerError, 10),
            (LostResponse, 20),
            (Crash, 10),
            (AccessDenied, 10),
            (Validation, 30),
        ],
        (FaultMix::All, OpClass::Create) => &[
            (Throttling, 20),
            (ServerError, 10),
            (LostResponse, 20),
            (Crash, 10),
            (AccessDenied, 10),
            (Validation, 15),
            (QuotaExceeded, 15),
        ],
        (FaultMix::All, OpClass::Change) => &[
            (Throttling, 20),
            (ServerError, 15),
            (LostResponse, 20),
            (Crash, 10),
            (AccessDenied, 10),
            (Validation, 25),
        ],
        (FaultMix::All, OpClass::Delete) => &[
            (Throttling, 20),
            (ServerError, 15),
            (LostResponse, 20),
            (Crash, 10),
            (AccessDenied, 10),
            (NotFoundOnDelete, 25),
        ],
    }
}

/// The whole simulated account and region.
#[derive(Debug)]
pub(crate) struct CloudState {
    pub(crate) rng: ChaCha8Rng,
    pub(crate) fault_rng: ChaCha8Rng,
    /// Backoff jitter ([`Clock::jitter`]): its own stream, so retries draw no ids or faults.
    pub(crate) jitter_rng: ChaCha8Rng,
    pub(crate) faults: Faults,
    pub(crate) endpoints_per_vpc: usize,
    pub(crate) now: u64,
    pub(crate) region: String,
    pub(crate) account: String,
    pub(crate) account_hash: String,
    pub(crate) vpcs: BTreeMap<VpcId, Vpc>,
    pub(crate) subnets: BTreeMap<SubnetId, Subnet>,
    pub(crate) enis: BTreeMap<NetworkInterfaceId, NetworkInterface>,
    pub(crate) reservations: BTreeMap<CidrReservationId, CidrReservation>,
    pub(crate) file_systems: BTreeMap<FileSystemId, FileSystem>,
    pub(crate) svms: BTreeMap<SvmId, StorageVirtualMachine>,
    pub(crate) gateways: BTreeMap<GatewayId, ResourceGateway>,
    pub(crate) configurations: BTreeMap<ResourceConfigurationId, ResourceConfiguration>,
    pub(crate) endpoints: BTreeMap<VpcEndpointId, SimEndpoint>,
    /// Endpoints gone, kept only for [`SimCloud::set_replay_dead_tokens`].
    pub(crate) dead_endpoints: BTreeMap<VpcEndpointId, VpcEndpoint>,
    /// Whether a client token reused after its endpoint is gone answers with the dead endpoint
    /// (state `deleted`) instead of creating a new one: AWS's behaviour is UNCONFIRMED.
    pub(crate) replay_dead_tokens: bool,
    pub(crate) route_tables: BTreeMap<RouteTableId, RouteTable>,
    pub(crate) zones: BTreeMap<HostedZoneId, HostedZone>,
    pub(crate) records: BTreeMap<HostedZoneId, BTreeMap<(String, RecordType), RecordSet>>,
    pub(crate) changes: BTreeMap<String, ChangeStatus>,
    pub(crate) tokens: BTreeMap<(String, String), (String, String)>,
    pub(crate) tasks: BTreeMap<(u64, u64), Task>,
    pub(crate) task_seq: u64,
    pub(crate) events: VecDeque<Value>,
    pub(crate) calls: BTreeMap<String, u64>,
    /// Round trips of the port call in progress: 1, plus its further pages and per-item calls
    /// made one after another; calls the adapter makes at once count 1 ([`crate::Timed`]).
    pub(crate) rounds: u64,
    /// Microseconds past `now` ([`crate::Timed`] moves time in less than a second).
    pub(crate) micros: u64,
    pub(crate) faults_injected: u64,
    pub(crate) audit: audit::AuditState,
    pub(crate) faults_by_kind: BTreeMap<FaultKind, u64>,
    /// The after-effect fault drawn by `enter` for the call in progress (`leave` applies it).
    pub(crate) after_effect: Option<FaultKind>,
    /// Whether the call in progress reads stale (see [`FaultMix::All`]).
    pub(crate) stale: bool,
    /// Whether the call in progress already counted its stale read.
    pub(crate) stale_counted: bool,
    /// A [`FaultKind::Crash`] happened and nobody took it yet.
    pub(crate) crash_pending: bool,
    /// When each thing we can be asked to list was created (by id).
    pub(crate) created: BTreeMap<String, u64>,
    /// Calls still to deny, by operation (see [`SimCloud::deny_next`]).
    pub(crate) deny: BTreeMap<String, u32>,
    /// Ids to delete when an operation is next entered (see [`SimCloud::delete_before_next`]).
    pub(crate) vanish: BTreeMap<String, String>,
    /// Active Directory (`directory.rs`); no domain until one is added.
    pub(crate) ad: crate::directory::AdState,
    /// Other accounts, what they own, and RAM (`accounts.rs`).
    pub(crate) accts: crate::accounts::AccountsState,
    /// The account of the call in progress (`None`: the stack's own).
    pub(crate) caller: Option<AccountId>,
    /// Service networks by id, and the associations of configurations with them
    /// (`service_networks.rs`).
    pub(crate) networks: BTreeMap<String, crate::service_networks::SimNetwork>,
    pub(crate) associations: BTreeMap<String, ServiceNetworkAssociation>,
    /// Domain verifications by id (`custom_domains.rs`).
    pub(crate) verifications: BTreeMap<String, crate::custom_domains::SimVerification>,
}

/// A point-in-time copy of the simulated world, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Subnets.
    pub subnets: Vec<Subnet>,
    /// ENIs.
    pub network_interfaces: Vec<NetworkInterface>,
    /// Reservations.
    pub cidr_reservations: Vec<CidrReservation>,
    /// Gateways.
    pub gateways: Vec<ResourceGateway>,
    /// Configurations.
    pub configurations: Vec<ResourceConfiguration>,
    /// Endpoints (not yet gone).
    pub endpoints: Vec<VpcEndpoint>,
    /// Records per zone.
    pub records: BTreeMap<HostedZoneId, Vec<RecordSet>>,
    /// Route tables.
    pub route_tables: Vec<RouteTable>,
    /// VPCs.
    pub vpcs: Vec<Vpc>,
    /// FSx file systems (tags included).
    pub file_systems: Vec<FileSystem>,
    /// SVMs (tags included).
    pub svms: Vec<StorageVirtualMachine>,
}

/// The simulated cloud. Implements every port of `fsxn-lattice-core`.
#[derive(Debug)]
pub struct SimCloud {
    world: Arc<Mutex<CloudState>>,
    /// The account this handle acts as (`None`: the stack's own); see `accounts.rs`.
    pub(crate) view: Option<AccountId>,
    /// Sessions opened in other accounts ([`Sharing::assume`]).
    pub(crate) sessions: Mutex<BTreeMap<AccountId, Arc<SimCloud>>>,
}

pub(crate) fn err(kind: ErrorKind, op: &str, code: &str, message: impl Into<String>) -> CloudError {
    CloudError::new(kind, op, code, message)
}

pub(crate) fn hex(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).expect("digit < 16"))
        .collect()
}

fn service_of(op: &str) -> &'static str {
    match op {
        "CreateResourceGateway"
        | "UpdateResourceGateway"
        | "DeleteResourceGateway"
        | "ListResourceGateways"
        | "CreateResourceConfiguration"
        | "UpdateResourceConfiguration"
        | "DeleteResourceConfiguration"
        | "ListResourceConfigurations"
        | "ListDomainVerifications"
        | "StartDomainVerification"
        | "DeleteDomainVerification" => "vpc-lattice",
        "ChangeResourceRecordSets" | "GetChange" | "GetHostedZone" | "ListResourceRecordSets" => "route53",
        "DescribeFileSystems" | "DescribeStorageVirtualMachines" | "TagResource" | "UntagResource" => "fsx",
        "LdapSearchComputer" | "LdapModifyComputer" | "LdapSearchDnsNode" | "LdapModifyDnsNode"
        | "LdapDeleteDnsNode" => "ldap",
        "GetResourceShares"
        | "CreateResourceShare"
        | "AssociateResourceShare"
        | "DisassociateResourceShare"
        | "DeleteResourceShare"
        | "GetResourceShareInvitations"
        | "AcceptResourceShareInvitation" => "ram",
        "AssumeRole" => "sts",
        _ => "ec2",
    }
}

impl CloudState {
    pub(crate) fn id(&mut self, prefix: &str) -> String {
        format!("{prefix}-{}", hex(&mut self.rng, 17))
    }
    pub(crate) fn uuid(&mut self) -> String {
        let h = hex(&mut self.rng, 32);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }
    pub(crate) fn time(&self) -> String {
        rfc3339(self.now)
    }
    pub(crate) fn schedule(&mut self, after: u64, task: Task) {
        self.task_seq += 1;
        self.tasks.insert((self.now + after, self.task_seq), task);
    }

    /// Counts the call and maybe injects a fault: one before it takes effect is returned here;
    /// one after (a lost response, a crash) is left for `leave`; a stale read is noted for the
    /// read's own filtering.
    pub(crate) fn enter(&mut self, op: &str) -> Result<(), CloudError> {
        if let Some(e) = self.denied_to_caller(op) {
            return Err(e);
        }
        *self.calls.entry(op.to_string()).or_default() += 1;
        self.rounds = 1;
        if let Some(id) = self.vanish.remove(op) {
            self.vanish_now(&id);
        }
        self.after_effect = None;
        self.stale = false;
        self.stale_counted = false;
        if let Some(n) = self.deny.get_mut(op).filter(|n| **n > 0) {
            *n -= 1;
            self.faults_injected += 1;
            *self.faults_by_kind.entry(FaultKind::AccessDenied).or_default() += 1;
            return Err(self.fault(op, FaultKind::AccessDenied));
        }
        if self.faults.rate <= 0.0 {
            return Ok(());
        }
        if self.fault_rng.random_bool(self.faults.rate.min(1.0)) {
            let split = fault_split(self.faults.mix, op);
            let mut pick = self
                .fault_rng
                .random_range(0..split.iter().map(|(_, w)| w).sum::<u32>());
            let kind = split
                .iter()
                .find(|(_, w)| {
                    let hit = pick < *w;
                    pick = pick.saturating_sub(*w);
                    hit
                })
                .map_or(FaultKind::ServerError, |(k, _)| *k);
            self.faults_injected += 1;
            *self.faults_by_kind.entry(kind).or_default() += 1;
            if matches!(kind, FaultKind::LostResponse | FaultKind::Crash) {
                self.after_effect = Some(kind);
                return Ok(());
            }
            return Err(self.fault(op, kind));
        }
        if self.faults.mix == FaultMix::All && op_class(op) == OpClass::Read {
            self.stale = self.fault_rng.random_bool(self.faults.rate.min(1.0));
        }
        Ok(())
    }

    /// See [`SimCloud::delete_before_next`].
    fn vanish_now(&mut self, id: &str) {
        if let Ok(subnet) = SubnetId::parse(id) {
            self.subnets.remove(&subnet);
            self.reservations.retain(|_, r| r.subnet_id != subnet);
        } else if let Ok(zone) = HostedZoneId::parse(id) {
            self.zones.remove(&zone);
            self.records.remove(&zone);
        } else if let Ok(vpc) = VpcId::parse(id) {
            self.vpcs.remove(&vpc);
        }
    }

    /// Whether a stale read leaves out the thing created under `key`; a call that leaves
    /// something out counts as one [`FaultKind::StaleRead`].
    pub(crate) fn hidden(&mut self, key: &str) -> bool {
        let hide = self.stale && self.created.get(key).is_some_and(|t| t + CONSISTENCY_WINDOW > self.now);
        if hide && !self.stale_counted {
            self.stale_counted = true;
            self.faults_injected += 1;
            *self.faults_by_kind.entry(FaultKind::StaleRead).or_default() += 1;
        }
        hide
    }

    pub(crate) fn born(&mut self, key: &str) {
        self.created.insert(key.to_string(), self.now);
    }

    /// Counts `n` more calls of `op` that the AWS adapter makes within the same port call
    /// (further pages, per-item reads); faults are injected per port call, not for these.
    pub(crate) fn more(&mut self, op: &str, n: u64) {
        if n > 0 {
            *self.calls.entry(op.to_string()).or_default() += n;
            self.rounds += n;
        }
    }

    /// Counts `n` more calls of `op` made beside the port call's own, in parallel with it,
    /// `rounds` round trips long: the port call takes the longer of the two.
    pub(crate) fn beside(&mut self, op: &str, n: u64, rounds: u64) {
        if n > 0 {
            *self.calls.entry(op.to_string()).or_default() += n;
            self.rounds = self.rounds.max(rounds);
        }
    }

    /// [`CloudState::more`] for `n` calls the adapter makes `at_once` at a time: one round trip
    /// per group.
    pub(crate) fn more_concurrent(&mut self, op: &str, n: u64, at_once: u64) {
        if n > 0 {
            *self.calls.entry(op.to_string()).or_default() += n;
            self.rounds += n.div_ceil(at_once.max(1));
        }
    }

    /// Counts the pages of a list beyond the first (the first was counted by `enter`).
    pub(crate) fn pages(&mut self, op: &str, items: usize, per_page: usize) {
        self.more(op, page::calls(items, per_page) - 1);
    }

    /// After a write took effect, maybe lose the response or crash the caller (as drawn by
    /// `enter`). Every path of a write that succeeds goes through here.
    pub(crate) fn leave<T>(&mut self, op: &str, result: Result<T, CloudError>) -> Result<T, CloudError> {
        match self.after_effect.take() {
            Some(kind) => {
                if kind == FaultKind::Crash {
                    self.crash_pending = true;
                }
                Err(self.fault(op, kind))
            }
            None => result,
        }
    }

    fn fault(&mut self, op: &str, kind: FaultKind) -> CloudError {
        let service = service_of(op);
        let (code, msg): (&str, String) = match (kind, service) {
            (FaultKind::Throttling, "ec2") => ("RequestLimitExceeded", "Request limit exceeded.".into()),
            (FaultKind::Throttling, "route53") => ("Throttling", "Rate exceeded".into()),
            (FaultKind::Throttling, _) => ("ThrottlingException", "Rate exceeded".into()),
            (FaultKind::ServerError | FaultKind::LostResponse, "ec2") => {
                ("InternalError", "An internal error has occurred".into())
            }
            (FaultKind::ServerError | FaultKind::LostResponse, "route53") => {
                ("ServiceUnavailable", "Service unavailable (simulated 503)".into())
            }
            (FaultKind::ServerError | FaultKind::LostResponse, _) => (
                "InternalServerException",
                "Internal server error (simulated 500)".into(),
            ),
            (FaultKind::Crash, _) => (
                "SimulatedCrash",
                "(simulated) the caller died after the request took effect".into(),
            ),
            (FaultKind::AccessDenied, "ec2") => (
                "UnauthorizedOperation",
                format!("You are not authorized to perform this operation: {op} (simulated IAM propagation delay)"),
            ),
            (FaultKind::AccessDenied, "route53") => (
                "AccessDenied",
                format!("User is not authorized to perform: route53:{op} (simulated IAM propagation delay)"),
            ),
            (FaultKind::AccessDenied, _) => (
                "AccessDeniedException",
                format!("User is not authorized to perform: {op} (simulated IAM propagation delay)"),
            ),
            (FaultKind::Validation, "ec2") => (
                "InvalidParameterValue",
                format!("(simulated) a parameter of {op} is invalid"),
            ),
            (FaultKind::Validation, "route53") => ("InvalidInput", format!("(simulated) invalid input to {op}")),
            (FaultKind::Validation, _) => ("ValidationException", format!("(simulated) {op} failed validation")),
            (FaultKind::QuotaExceeded, _) => (
                match op {
                    "CreateVpcEndpoint" => "VpcEndpointLimitExceeded",
                    "CreateSubnet" => "SubnetLimitExceeded",
                    _ => "ServiceQuotaExceededException",
                },
                format!("(simulated) a quota stops {op}"),
            ),
            (FaultKind::NotFoundOnDelete | FaultKind::StaleRead, _) => (
                match op {
                    "DeleteVpcEndpoints" => "InvalidVpcEndpointId.NotFound",
                    "DeleteSubnet" => "InvalidSubnetID.NotFound",
                    "DeleteSubnetCidrReservation" => "InvalidSubnetCidrReservationID.NotFound",
                    "DisassociateRouteTable" => "InvalidAssociationID.NotFound",
                    "GetSubnetCidrReservations" => "InvalidSubnetID.NotFound",
                    _ => "ResourceNotFoundException",
                },
                format!("(simulated) {op}: not found (not visible yet)"),
            ),
        };
        // The kind the AWS adapter would give this code.
        let class = if kind == FaultKind::Crash {
            ErrorKind::Internal
        } else {
            fsxn_lattice_core::error::classify_code(code, &msg)
        };
        let mut e = err(class, op, code, msg);
        if kind == FaultKind::Throttling && service == "vpc-lattice" {
            e.retry_after = Some(Duration::from_secs(1));
        }
        e
    }

    fn idempotent(&mut self, op: &str, token: &str, fingerprint: &str) -> Result<Option<String>, CloudError> {
        if token.is_empty() {
            return Ok(None);
        }
        match self.tokens.get(&(op.to_string(), token.to_string())) {
            Some((fp, id)) if fp == fingerprint => Ok(Some(id.clone())),
            Some(_) => Err(err(
                ErrorKind::Conflict,
                op,
                if service_of(op) == "ec2" {
                    "IdempotentParameterMismatch"
                } else {
                    "ConflictException"
                },
                "the client token was already used with other parameters",
            )),
            None => Ok(None),
        }
    }

    /// The resource a repeated request (same client token, same parameters) created before.
    pub(crate) fn replay<V>(
        &mut self,
        op: &str,
        token: &str,
        fingerprint: &str,
        find: impl Fn(&CloudState, &str) -> Option<V>,
    ) -> Result<Option<V>, CloudError> {
        Ok(self.idempotent(op, token, fingerprint)?.and_then(|id| find(self, &id)))
    }

    pub(crate) fn remember(&mut self, op: &str, token: &str, fingerprint: &str, id: &str) {
        if !token.is_empty() {
            self.tokens.insert(
                (op.to_string(), token.to_string()),
                (fingerprint.to_string(), id.to_string()),
            );
        }
    }

    // ---- asynchronous work ----

    fn run_due(&mut self, until: u64) {
        while let Some((&(due, seq), _)) = self.tasks.iter().next() {
            if due > until {
                break;
            }
            let task = self.tasks.remove(&(due, seq)).expect("key just seen");
            self.now = self.now.max(due);
            // AWS's work happens in the account owning the resource: its events go there.
            let owner = match &task {
                Task::ProvisionEndpoint(id) | Task::EndpointReady(id) | Task::EndpointGone(id) => {
                    self.owner_of(id.as_str())
                }
                _ => None,
            };
            let caller = std::mem::replace(&mut self.caller, owner);
            self.run_task(task);
            self.caller = caller;
        }
        self.now = self.now.max(until);
    }

    fn run_task(&mut self, task: Task) {
        match task {
            Task::ProvisionEndpoint(id) => self.provision_endpoint(&id),
            Task::EndpointReady(id) => self.endpoint_ready(&id),
            Task::EndpointGone(id) => {
                if let Some(mut sim) = self.endpoints.remove(&id) {
                    for eni in &sim.ep.network_interface_ids {
                        self.enis.remove(eni);
                    }
                    sim.ep.state = EndpointState::Deleted;
                    self.dead_endpoints.insert(id, sim.ep);
                }
            }
            Task::AssociationReady(id) => self.association_ready(&id),
            Task::AssociationGone(id) => self.association_gone(&id),
            Task::GatewayGone(id) => {
                self.gateways.remove(&id);
                self.enis.retain(|_, e| e.resource_gateway_id().as_ref() != Some(&id));
            }
            Task::ChangeInsync(id) => {
                self.changes.insert(id, ChangeStatus::Insync);
            }
        }
    }
}

impl SimCloud {
    /// A new, empty simulated account in `us-east-1`, seeded.
    pub fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let account_hash = hex(&mut rng, 7);
        Self {
            view: None,
            sessions: Mutex::new(BTreeMap::new()),
            world: Arc::new(Mutex::new(CloudState {
                fault_rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_fa17),
                jitter_rng: ChaCha8Rng::seed_from_u64(seed ^ 0x0b1f_f5e7),
                rng,
                faults: Faults::default(),
                endpoints_per_vpc: ENDPOINTS_PER_VPC,
                now: EPOCH,
                region: "us-east-1".into(),
                account: "123456789012".into(),
                account_hash,
                vpcs: BTreeMap::new(),
                subnets: BTreeMap::new(),
                enis: BTreeMap::new(),
                reservations: BTreeMap::new(),
                file_systems: BTreeMap::new(),
                svms: BTreeMap::new(),
                gateways: BTreeMap::new(),
                configurations: BTreeMap::new(),
                endpoints: BTreeMap::new(),
                dead_endpoints: BTreeMap::new(),
                replay_dead_tokens: false,
                route_tables: BTreeMap::new(),
                zones: BTreeMap::new(),
                records: BTreeMap::new(),
                changes: BTreeMap::new(),
                tokens: BTreeMap::new(),
                tasks: BTreeMap::new(),
                task_seq: 0,
                events: VecDeque::new(),
                calls: BTreeMap::new(),
                rounds: 0,
                micros: 0,
                faults_injected: 0,
                audit: audit::AuditState::new("us-east-1", "123456789012"),
                faults_by_kind: BTreeMap::new(),
                after_effect: None,
                stale: false,
                stale_counted: false,
                crash_pending: false,
                created: BTreeMap::new(),
                deny: BTreeMap::new(),
                vanish: BTreeMap::new(),
                ad: crate::directory::AdState::default(),
                accts: crate::accounts::AccountsState::default(),
                caller: None,
                networks: BTreeMap::new(),
                associations: BTreeMap::new(),
                verifications: BTreeMap::new(),
            })),
        }
    }

    /// The same world, acting as `account` (`None`: the stack's own).
    pub fn view_as(&self, account: Option<AccountId>) -> SimCloud {
        SimCloud {
            world: self.world.clone(),
            view: account,
            sessions: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn w(&self) -> MutexGuard<'_, CloudState> {
        // A panic while holding the lock is a bug in the simulation; keep going with its state.
        let mut w = self.world.lock().unwrap_or_else(|p| p.into_inner());
        w.caller = self.view.clone();
        w
    }

    /// Sets fault injection.
    pub fn set_faults(&self, faults: Faults) {
        self.w().faults = faults;
    }

    /// Virtual now (Unix seconds).
    pub fn now_secs(&self) -> u64 {
        self.w().now
    }

    /// Region.
    pub fn region(&self) -> String {
        self.w().region.clone()
    }

    /// Virtual now, in microseconds since the Unix epoch.
    pub fn now_micros(&self) -> u64 {
        let w = self.w();
        w.now * 1_000_000 + w.micros
    }

    /// Advances virtual time to `micros` (since the epoch; never backwards), to the
    /// microsecond, running whatever AWS would do meanwhile ([`crate::Timed`]).
    pub fn advance_to_micros(&self, micros: u64) {
        let mut w = self.w();
        let secs = micros / 1_000_000;
        if secs > w.now {
            w.run_due(secs);
            w.micros = micros % 1_000_000;
        } else if secs == w.now {
            w.micros = w.micros.max(micros % 1_000_000);
        }
    }

    /// The round trips of the last port call (see [`crate::Timed`]).
    pub(crate) fn last_rounds(&self) -> u64 {
        self.w().rounds
    }

    /// Advances virtual time, running whatever AWS would do meanwhile.
    pub fn advance(&self, d: Duration) {
        let mut w = self.w();
        let until = w.now + d.as_secs().max(1);
        w.run_due(until);
        w.micros = 0;
    }

    /// Takes the EventBridge events emitted so far.
    pub fn drain_events(&self) -> Vec<Value> {
        self.w().events.drain(..).collect()
    }

    /// API calls made through the ports, by operation.
    pub fn api_calls(&self) -> BTreeMap<String, u64> {
        self.w().calls.clone()
    }

    /// Faults injected so far.
    pub fn faults_injected(&self) -> u64 {
        self.w().faults_injected
    }

    /// Faults injected so far, by kind.
    pub fn faults_by_kind(&self) -> BTreeMap<FaultKind, u64> {
        self.w().faults_by_kind.clone()
    }

    /// Deletes the subnet (with its reservations), hosted zone (with its records) or VPC `id`
    /// just before the next call of `op`, as a racing deleter between two of a reader's calls
    /// would (`DescribeSubnets`, then the subnet gone before `GetSubnetCidrReservations`).
    pub fn delete_before_next(&self, op: &str, id: &str) {
        self.w().vanish.insert(op.to_string(), id.to_string());
    }

    /// Denies the next `calls` calls of `op` (`CreateResourceGateway`) with the service's
    /// AccessDenied error, as a policy that is still propagating does.
    pub fn deny_next(&self, op: &str, calls: u32) {
        self.w().deny.insert(op.to_string(), calls);
    }

    /// Whether a [`FaultKind::Crash`] happened since the last call; clears it. A harness that
    /// runs callers as futures drops the one whose call crashed.
    pub fn take_crash(&self) -> bool {
        std::mem::take(&mut self.w().crash_pending)
    }

    /// A copy of the world.
    pub fn snapshot(&self) -> Snapshot {
        let w = self.w();
        Snapshot {
            subnets: w.subnets.values().cloned().collect(),
            network_interfaces: w.enis.values().cloned().collect(),
            cidr_reservations: w.reservations.values().cloned().collect(),
            gateways: w.gateways.values().cloned().collect(),
            configurations: w.configurations.values().cloned().collect(),
            endpoints: w
                .endpoints
                .values()
                .map(|e| VpcEndpoint {
                    account: w.owner_of(e.ep.id.as_str()),
                    ..e.ep.clone()
                })
                .collect(),
            records: w
                .records
                .iter()
                .map(|(z, r)| (z.clone(), r.values().cloned().collect()))
                .collect(),
            route_tables: w.route_tables.values().cloned().collect(),
            vpcs: w.vpcs.values().cloned().collect(),
            file_systems: w.file_systems.values().cloned().collect(),
            svms: w.svms.values().cloned().collect(),
        }
    }
}

#[async_trait]
impl Clock for SimCloud {
    fn now(&self) -> u64 {
        self.w().now
    }
    fn now_millis(&self) -> u64 {
        self.now_micros() / 1000
    }
    async fn sleep(&self, d: Duration) {
        self.advance(d);
    }
    fn jitter(&self) -> f64 {
        self.w().jitter_rng.random::<f64>()
    }
}
