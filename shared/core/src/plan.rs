//! `plan(config, desired, observed) -> Plan`: pure and deterministic (no clock, no I/O, no
//! randomness; ordered collections only).
//!
//! A plan holds only actions whose inputs exist now. A gateway must exist before its
//! configuration, a configuration before its endpoints, so a reconcile runs observe → plan →
//! apply until the plan is empty (see [`crate::reconcile`]). Replacement keeps the old path
//! serving: new gateway → new configuration → new endpoint → alias repointed → only then are the
//! old endpoint, configuration and gateway deleted, in that order.

use crate::capacity::{SubnetCapacity, analyze_subnet, find_free_cidr};
use crate::config::{Config, Consumer, DnsPolicy};
use crate::desired::{Desired, Exposure, Protocol, Refusal};
use crate::error::ErrorKind;
use crate::ids::*;
use crate::model::*;
use crate::naming::*;
use crate::observe::Observed;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

/// A verb with everything needed to carry it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Action {
    /// Carve a subnet for gateway ENIs.
    CreateSubnet {
        /// VPC.
        vpc_id: VpcId,
        /// AZ.
        availability_zone: String,
        /// CIDR.
        cidr: Ipv4Net,
        /// Tags.
        tags: Tags,
    },
    /// Make a subnet we carved use one of the file system's route tables, the only ones FSx
    /// writes the routes to its floating IPs into.
    AssociateRouteTable {
        /// The VPC of both.
        vpc_id: VpcId,
        /// The file system's route table.
        route_table_id: RouteTableId,
        /// Our subnet.
        subnet_id: SubnetId,
    },
    /// Reserve a free /28 with a `prefix` CIDR reservation.
    ReserveCidr {
        /// Subnet.
        subnet_id: SubnetId,
        /// The /28.
        cidr: Ipv4Net,
        /// Description.
        description: String,
        /// Tags.
        tags: Tags,
    },
    /// Create a resource gateway.
    CreateResourceGateway {
        /// Name.
        name: String,
        /// VPC.
        vpc_id: VpcId,
        /// Subnets.
        subnet_ids: Vec<SubnetId>,
        /// Security groups.
        security_group_ids: Vec<SecurityGroupId>,
        /// 16.
        ipv4_addresses_per_eni: u8,
        /// Client token.
        client_token: String,
        /// Tags.
        tags: Tags,
    },
    /// Change a gateway's security groups (its only mutable field).
    UpdateResourceGateway {
        /// Gateway.
        gateway_id: GatewayId,
        /// New security groups.
        security_group_ids: Vec<SecurityGroupId>,
    },
    /// Create a resource configuration.
    CreateResourceConfiguration {
        /// Name.
        name: String,
        /// Gateway.
        gateway_id: GatewayId,
        /// Target IP.
        ip_address: Ipv4Addr,
        /// Ports.
        port_ranges: Vec<PortRange>,
        /// Client token.
        client_token: String,
        /// Tags.
        tags: Tags,
    },
    /// Change a configuration's target or ports.
    UpdateResourceConfiguration {
        /// Configuration.
        configuration_id: ResourceConfigurationId,
        /// Target IP.
        ip_address: Ipv4Addr,
        /// Ports.
        port_ranges: Vec<PortRange>,
        /// Tags set after the update: the owner and the new [`crate::naming::TARGET_TAG`].
        tags: Tags,
    },
    /// Create a Resource VPC endpoint.
    CreateVpcEndpoint {
        /// Consumer VPC.
        vpc_id: VpcId,
        /// Subnets.
        subnet_ids: Vec<SubnetId>,
        /// Security groups.
        security_group_ids: Vec<SecurityGroupId>,
        /// Configuration ARN.
        resource_configuration_arn: String,
        /// Client token.
        client_token: String,
        /// Tags.
        tags: Tags,
    },
    /// Publish or repoint the alias CNAME (and write its ownership TXT) in one all-or-nothing
    /// batch: CREATE where nothing is, DELETE of the exact record read + CREATE where ours
    /// changes. Never UPSERT: a record written by someone else since it was read makes the
    /// batch fail instead of being overwritten.
    PublishAlias {
        /// Zone.
        hosted_zone_id: HostedZoneId,
        /// The CNAME wanted.
        cname: RecordSet,
        /// Our CNAME as read, replaced by `cname` (None: created).
        replaces_cname: Option<RecordSet>,
        /// The ownership TXT wanted (None: ours is already right).
        txt: Option<RecordSet>,
        /// Our TXT as read, replaced by `txt` (None: created).
        replaces_txt: Option<RecordSet>,
    },
    /// DELETE the alias CNAME (exactly as observed) and its ownership TXT in one batch.
    DeleteAlias {
        /// Zone.
        hosted_zone_id: HostedZoneId,
        /// The observed CNAME, if any.
        cname: Option<RecordSet>,
        /// The observed TXT.
        txt: RecordSet,
    },
    /// Delete one of our endpoints.
    DeleteVpcEndpoint {
        /// Endpoint.
        vpc_endpoint_id: VpcEndpointId,
    },
    /// Delete one of our configurations.
    DeleteResourceConfiguration {
        /// Configuration.
        configuration_id: ResourceConfigurationId,
    },
    /// Delete one of our gateways.
    DeleteResourceGateway {
        /// Gateway.
        gateway_id: GatewayId,
    },
    /// Delete one of our CIDR reservations.
    ReleaseCidr {
        /// Reservation.
        reservation_id: CidrReservationId,
    },
    /// End the route table association of a subnet we carved, before deleting it.
    DisassociateRouteTable {
        /// `rtbassoc-…`.
        association_id: String,
        /// Our subnet.
        subnet_id: SubnetId,
    },
    /// Delete a subnet we carved.
    DeleteSubnet {
        /// Subnet.
        subnet_id: SubnetId,
    },
}

impl Action {
    /// Order of execution within one plan: withdraw DNS, build, publish DNS, tear down.
    fn phase(&self) -> u8 {
        match self {
            Self::DeleteAlias { .. } => 0,
            Self::CreateSubnet { .. } | Self::AssociateRouteTable { .. } => 1,
            Self::ReserveCidr { .. } => 2,
            Self::CreateResourceGateway { .. } | Self::UpdateResourceGateway { .. } => 3,
            Self::CreateResourceConfiguration { .. } | Self::UpdateResourceConfiguration { .. } => 4,
            Self::CreateVpcEndpoint { .. } => 5,
            Self::PublishAlias { .. } => 6,
            Self::DeleteVpcEndpoint { .. } => 7,
            Self::DeleteResourceConfiguration { .. } => 8,
            Self::DeleteResourceGateway { .. } => 9,
            Self::ReleaseCidr { .. } => 10,
            Self::DisassociateRouteTable { .. } => 11,
            Self::DeleteSubnet { .. } => 12,
        }
    }

    /// Whether the action creates or changes (as opposed to deleting).
    pub fn is_delete(&self) -> bool {
        self.phase() == 0 || self.phase() >= 7
    }

    /// A one-line summary.
    pub fn summary(&self) -> String {
        match self {
            Self::CreateSubnet {
                availability_zone,
                cidr,
                ..
            } => format!("create subnet {cidr} in {availability_zone}"),
            Self::AssociateRouteTable {
                route_table_id,
                subnet_id,
                ..
            } => format!("associate {subnet_id} with route table {route_table_id}"),
            Self::ReserveCidr { subnet_id, cidr, .. } => format!("reserve {cidr} (prefix) in {subnet_id}"),
            Self::CreateResourceGateway { name, subnet_ids, .. } => {
                format!("create resource gateway {name} in {}", join(subnet_ids))
            }
            Self::UpdateResourceGateway {
                gateway_id,
                security_group_ids,
            } => {
                format!("set security groups of {gateway_id} to {}", join(security_group_ids))
            }
            Self::CreateResourceConfiguration {
                name,
                gateway_id,
                ip_address,
                port_ranges,
                ..
            } => {
                format!(
                    "create resource configuration {name} → {ip_address} TCP {} on {gateway_id}",
                    join(port_ranges)
                )
            }
            Self::UpdateResourceConfiguration {
                configuration_id,
                ip_address,
                port_ranges,
                ..
            } => {
                format!("update {configuration_id} → {ip_address} TCP {}", join(port_ranges))
            }
            Self::CreateVpcEndpoint {
                vpc_id,
                resource_configuration_arn,
                ..
            } => {
                let cfg = resource_configuration_arn
                    .rsplit('/')
                    .next()
                    .unwrap_or(resource_configuration_arn);
                format!("create Resource VPC endpoint in {vpc_id} for {cfg}")
            }
            Self::PublishAlias {
                cname, replaces_cname, ..
            } => match replaces_cname {
                Some(old) => format!(
                    "REPLACE CNAME {} → {} (was {})",
                    cname.name,
                    cname.values.join(","),
                    old.values.join(",")
                ),
                None => format!("CREATE CNAME {} → {}", cname.name, cname.values.join(",")),
            },
            Self::DeleteAlias { txt, cname, .. } => match cname {
                Some(c) => format!("DELETE CNAME {} and its ownership TXT", c.name),
                None => format!("DELETE ownership TXT {}", txt.name),
            },
            Self::DeleteVpcEndpoint { vpc_endpoint_id } => format!("delete VPC endpoint {vpc_endpoint_id}"),
            Self::DeleteResourceConfiguration { configuration_id } => {
                format!("delete resource configuration {configuration_id}")
            }
            Self::DeleteResourceGateway { gateway_id } => format!("delete resource gateway {gateway_id}"),
            Self::ReleaseCidr { reservation_id } => format!("delete CIDR reservation {reservation_id}"),
            Self::DisassociateRouteTable {
                association_id,
                subnet_id,
            } => format!("disassociate {subnet_id} from its route table ({association_id})"),
            Self::DeleteSubnet { subnet_id } => format!("delete subnet {subnet_id}"),
        }
    }
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}

/// An action and the reason it is in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAction {
    /// The action.
    #[serde(flatten)]
    pub action: Action,
    /// Why.
    pub why: String,
}

/// A step only a person can do (the tool cannot observe or change AD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualStep {
    /// What it is for.
    pub subject: String,
    /// What to do.
    pub instruction: String,
}

/// The result of planning.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Actions in execution order.
    pub actions: Vec<PlannedAction>,
    /// What the plan waits for before more can be done.
    pub waiting: Vec<String>,
    /// What is refused (resolution and preflight).
    pub refusals: Vec<Refusal>,
    /// What works but deserves a look.
    pub warnings: Vec<String>,
    /// Capacity reports of the subnets a decision was based on.
    pub diagnoses: Vec<SubnetCapacity>,
    /// Steps left to a person.
    pub manual_steps: Vec<ManualStep>,
}

impl Plan {
    /// Nothing to do and nothing to wait for.
    pub fn is_converged(&self) -> bool {
        self.actions.is_empty() && self.waiting.is_empty()
    }
}

/// Plans. Pure: the same inputs give the same plan.
pub fn plan(config: &Config, desired: &Desired, observed: &Observed) -> Plan {
    let mut p = Planner::new(config, desired, observed);
    p.run();
    p.finish()
}

struct Planner<'a> {
    config: &'a Config,
    desired: &'a Desired,
    obs: &'a Observed,
    owner: &'a str,
    capacity: BTreeMap<SubnetId, SubnetCapacity>,
    /// Endpoints (not deleted) by the ARN of their configuration: one lookup per exposure and
    /// consumer instead of a scan of every endpoint (3,000 in a 1,000-SVM fleet).
    endpoints_by_arn: HashMap<&'a str, Vec<&'a VpcEndpoint>>,
    /// Records by zone and name, for the same reason.
    records_by_name: HashMap<&'a HostedZoneId, HashMap<&'a str, Vec<&'a RecordSet>>>,
    held_consumers: BTreeSet<String>,
    /// DNS name of the available current endpoint for (svm, consumer).
    targets: BTreeMap<(SvmId, String), String>,
    /// Subnets chosen or in use this pass: their reservations and carved subnets stay.
    subnets_in_use: BTreeSet<SubnetId>,
    diagnosed: BTreeSet<SubnetId>,
    planned_cidrs: Vec<Ipv4Net>,
    /// Blocks this plan already reserves (two file systems may pick the same subnet).
    planned_reservations: BTreeSet<Ipv4Net>,
    out: Plan,
}

impl<'a> Planner<'a> {
    fn new(config: &'a Config, desired: &'a Desired, obs: &'a Observed) -> Self {
        let capacity = obs
            .subnets
            .iter()
            .map(|s| {
                (
                    s.id.clone(),
                    analyze_subnet(s, &obs.network_interfaces, &obs.cidr_reservations),
                )
            })
            .collect();
        let mut endpoints_by_arn: HashMap<&str, Vec<&VpcEndpoint>> = HashMap::new();
        for e in obs.endpoints.iter().filter(|e| e.state != EndpointState::Deleted) {
            endpoints_by_arn
                .entry(e.resource_configuration_arn.as_str())
                .or_default()
                .push(e);
        }
        let mut records_by_name: HashMap<&HostedZoneId, HashMap<&str, Vec<&RecordSet>>> = HashMap::new();
        for (zone, records) in &obs.records {
            let by_name = records_by_name.entry(zone).or_default();
            for r in records {
                by_name.entry(r.name.as_str()).or_default().push(r);
            }
        }
        Self {
            config,
            desired,
            obs,
            owner: &config.owner,
            capacity,
            endpoints_by_arn,
            records_by_name,
            held_consumers: BTreeSet::new(),
            targets: BTreeMap::new(),
            subnets_in_use: BTreeSet::new(),
            diagnosed: BTreeSet::new(),
            planned_cidrs: Vec::new(),
            planned_reservations: BTreeSet::new(),
            out: Plan {
                refusals: desired.refusals.clone(),
                ..Plan::default()
            },
        }
    }

    fn push(&mut self, action: Action, why: impl Into<String>) {
        self.out.actions.push(PlannedAction {
            action,
            why: why.into(),
        });
    }
    fn wait(&mut self, what: impl Into<String>) {
        self.out.waiting.push(what.into());
    }
    fn refuse(&mut self, subject: impl Into<String>, kind: ErrorKind, reason: impl Into<String>) {
        self.out.refusals.push(Refusal {
            subject: subject.into(),
            kind,
            reason: reason.into(),
        });
    }
    fn diagnose(&mut self, subnet: &SubnetId) {
        if self.diagnosed.insert(subnet.clone())
            && let Some(c) = self.capacity.get(subnet)
        {
            self.out.diagnoses.push(c.clone());
        }
    }
    fn owned(&self, tags: &Tags) -> bool {
        is_owned(tags, self.owner)
    }

    /// The file system's route tables: `RouteTableIds`, or the VPC's main table when FSx
    /// reported none (its documented default).
    fn fs_route_tables(&self, fs: &FileSystem) -> Vec<RouteTableId> {
        if !fs.route_table_ids.is_empty() {
            return sorted(&fs.route_table_ids);
        }
        self.obs
            .route_tables
            .iter()
            .filter(|t| t.main && t.vpc_id == fs.vpc_id)
            .map(|t| t.id.clone())
            .collect()
    }

    /// Whether gateway ENIs in `subnet` can reach the file system's floating IPs: FSx writes
    /// the routes to its endpoint IP range only into the file system's route tables, and a
    /// gateway's ENIs are the SVM's clients (they NAT the consumers' traffic).
    fn routing(&self, subnet: &SubnetId, fs: &FileSystem) -> Routing {
        let Some(sub) = self.obs.subnets.iter().find(|s| &s.id == subnet) else {
            return Routing::Routed; // not found: refused elsewhere, with that reason
        };
        let Some(table) = effective_route_table(&self.obs.route_tables, sub) else {
            return Routing::Routed; // no route table observed for it: nothing to go by
        };
        let wanted = self.fs_route_tables(fs);
        if wanted.contains(&table.id) {
            return Routing::Routed;
        }
        // A subnet we carved that still uses the main table: give it one of the file system's.
        if let Some(first) = wanted.first()
            && table.main
            && self.owned(&sub.tags)
        {
            return Routing::Associable(first.clone());
        }
        Routing::Unrouted(format!(
            "{subnet} uses route table {}{}, not one of {}'s route tables ({}): FSx writes the routes to its endpoint IPs only there, so gateway ENIs in {subnet} could not reach the SVMs (the endpoint would show available while every connection times out). Associate {subnet} with one of them, or add {} to the file system (aws fsx update-file-system --ontap-configuration AddRouteTableIds=…)",
            table.id,
            if table.main { " (the VPC's main table)" } else { "" },
            fs.id,
            join(&wanted),
            table.id
        ))
    }
    fn tags(&self, extra: &[(&str, String)]) -> Tags {
        let mut t = owner_tags(self.owner);
        for (k, v) in extra {
            t.insert(k.to_string(), v.clone());
        }
        t
    }

    fn run(&mut self) {
        self.preflight_consumers();
        let mut by_fs: BTreeMap<FileSystemId, Vec<&'a Exposure>> = BTreeMap::new();
        for e in self.desired.exposures.values() {
            by_fs.entry(e.file_system_id.clone()).or_default().push(e);
        }
        for g in &self.obs.gateways {
            if self.owned(&g.tags)
                && let Some(fs) = g
                    .tags
                    .get(FILE_SYSTEM_TAG)
                    .and_then(|f| FileSystemId::parse(f.as_str()).ok())
            {
                by_fs.entry(fs).or_default();
            }
        }
        for (fs, exposures) in by_fs {
            self.plan_file_system(&fs, exposures);
        }
        self.plan_orphan_endpoints();
        self.plan_dns();
        self.plan_cleanup();
        self.plan_manual_steps();
    }

    fn preflight_consumers(&mut self) {
        for c in &self.config.consumers {
            let why = match self.obs.vpcs.iter().find(|v| v.id == c.vpc_id) {
                None => Some(format!("VPC {} not found", c.vpc_id)),
                Some(v) if !(v.enable_dns_support && v.enable_dns_hostnames) => Some(format!(
                    "VPC {} has enableDnsSupport={} and enableDnsHostnames={}: private DNS on a Resource endpoint needs both on",
                    v.id, v.enable_dns_support, v.enable_dns_hostnames
                )),
                Some(_) => None,
            };
            if let Some(why) = why {
                self.refuse(
                    format!("consumer {}", c.name),
                    ErrorKind::InvalidInput,
                    format!("{why}; its endpoints are left as they are"),
                );
                self.held_consumers.insert(c.name.clone());
            }
        }
    }

    fn our_gateways(&self, fs: &FileSystemId) -> Vec<&'a ResourceGateway> {
        let mut v: Vec<&ResourceGateway> = self
            .obs
            .gateways
            .iter()
            .filter(|g| self.owned(&g.tags) && g.tags.get(FILE_SYSTEM_TAG).map(String::as_str) == Some(fs.as_str()))
            .collect();
        v.sort_by_key(|g| (generation_of(&g.tags).unwrap_or(0), g.id.clone()));
        v
    }

    fn configs_on(&self, gw: &GatewayId) -> Vec<&'a ResourceConfiguration> {
        self.obs.configurations.iter().filter(|c| &c.gateway_id == gw).collect()
    }

    fn endpoints_on(&self, arn: &str) -> Vec<&'a VpcEndpoint> {
        self.endpoints_by_arn.get(arn).cloned().unwrap_or_default()
    }

    /// Records of `zone` named `name`.
    fn records_named(&self, zone: &HostedZoneId, name: &str) -> &[&'a RecordSet] {
        self.records_by_name
            .get(zone)
            .and_then(|z| z.get(name))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Subnets of `gw` where it has no ENI yet and no free /28 can be had.
    fn starved_subnets(&self, gw: &ResourceGateway) -> Vec<SubnetId> {
        gw.subnet_ids
            .iter()
            .filter(|s| {
                let has_eni = self
                    .obs
                    .network_interfaces
                    .iter()
                    .any(|e| &e.subnet_id == *s && e.resource_gateway_id().as_ref() == Some(&gw.id));
                !has_eni && !self.capacity.get(*s).is_some_and(SubnetCapacity::can_host_gateway_eni)
            })
            .cloned()
            .collect()
    }

    fn plan_file_system(&mut self, fs_id: &FileSystemId, exposures: Vec<&'a Exposure>) {
        let gateways = self.our_gateways(fs_id);
        let fs = self.obs.file_systems.iter().find(|f| &f.id == fs_id);
        let mut active: Vec<&Exposure> = Vec::new();
        if let Some(fs) = fs {
            let vpc = self.obs.vpcs.iter().find(|v| v.id == fs.vpc_id);
            for e in exposures {
                if !fs.deployment_type.is_multi_az() {
                    let unknown = if fs.deployment_type.is_known() {
                        ""
                    } else {
                        " (a deployment type this build does not know; only MULTI_AZ_* file systems serve on floating IPs)"
                    };
                    self.refuse(e.svm_id.to_string(), ErrorKind::InvalidInput, format!(
                        "{} is {}{unknown}: its endpoints sit in subnets and are reachable over peering, VPN and Direct Connect without VPC Lattice",
                        fs.id, fs.deployment_type
                    ));
                } else if let Some(vpc) = vpc {
                    if e.consumers.iter().all(|c| self.held_consumers.contains(c)) {
                        // Every consumer is refused (see its refusal): build nothing for it yet.
                    } else if vpc.cidr_blocks.iter().any(|c| c.contains(&e.target_ip)) {
                        active.push(e);
                    } else {
                        self.refuse(e.svm_id.to_string(), ErrorKind::InvalidInput, format!(
                            "{} is outside the CIDRs of {} ({}): a resource configuration's ipResource must be in the gateway's VPC. Recreate the file system with an EndpointIpAddressRange inside the VPC CIDR",
                            e.target_ip, vpc.id, join(&vpc.cidr_blocks)
                        ));
                    }
                } else {
                    self.refuse(
                        e.svm_id.to_string(),
                        ErrorKind::NotFound,
                        format!("VPC {} of {} not found", fs.vpc_id, fs.id),
                    );
                }
            }
        }
        let held: BTreeSet<&SvmId> = self.desired.held.iter().collect();
        let current = gateways
            .iter()
            .rev()
            .find(|g| g.status != GatewayStatus::DeleteInProgress)
            .copied();
        let mut current_id: Option<GatewayId> = None;
        if let (Some(fs), false) = (fs, active.is_empty()) {
            match self.decide_gateway(fs, current, &gateways) {
                GatewayDecision::Use(gw) => {
                    current_id = Some(gw.id.clone());
                    self.subnets_in_use.extend(gw.subnet_ids.iter().cloned());
                    self.ensure_headroom(gw);
                    for e in &active {
                        self.ensure_exposure(gw, e);
                    }
                }
                GatewayDecision::Wait => {
                    if let Some(g) = current {
                        current_id = Some(g.id.clone());
                        self.subnets_in_use.extend(g.subnet_ids.iter().cloned());
                    }
                }
                GatewayDecision::Replace => {}
            }
        }
        // Drain everything of ours for this file system that is not the current slot.
        let desired_pairs: BTreeSet<(SvmId, String)> = active
            .iter()
            .flat_map(|e| e.consumers.iter().map(|c| (e.svm_id.clone(), c.clone())))
            .collect();
        for gw in &gateways {
            self.subnets_in_use.extend(gw.subnet_ids.iter().cloned());
            let is_current = current_id.as_ref() == Some(&gw.id);
            let mut remaining_configs = 0;
            for cfg in self.configs_on(&gw.id) {
                if !self.owned(&cfg.tags) {
                    remaining_configs += 1;
                    self.out.warnings.push(format!(
                        "{} on our gateway {} is not ours: the gateway is kept",
                        cfg.id, gw.id
                    ));
                    continue;
                }
                let svm = cfg.tags.get(SVM_TAG).and_then(|s| SvmId::parse(s.as_str()).ok());
                if svm.as_ref().is_some_and(|s| held.contains(s)) {
                    remaining_configs += 1;
                    continue;
                }
                let cfg_current = is_current && svm.as_ref().is_some_and(|s| active.iter().any(|e| &e.svm_id == s));
                let mut remaining_eps = 0;
                for ep in self.endpoints_on(&cfg.arn) {
                    if !self.owned(&ep.tags) {
                        remaining_eps += 1;
                        continue;
                    }
                    let consumer = ep.tags.get(CONSUMER_TAG).cloned().unwrap_or_default();
                    if self.held_consumers.contains(&consumer) {
                        remaining_eps += 1;
                        continue;
                    }
                    let pair = svm.clone().map(|s| (s, consumer.clone()));
                    let desired = pair.as_ref().is_some_and(|p| desired_pairs.contains(p));
                    if cfg_current && desired && self.endpoint_matches(ep, &consumer) {
                        remaining_eps += 1; // the current slot: handled by ensure_exposure
                        continue;
                    }
                    if ep.state == EndpointState::Deleting {
                        remaining_eps += 1;
                        self.wait(format!("{} is deleting", ep.id));
                        continue;
                    }
                    let replacement_ready = pair
                        .as_ref()
                        .is_some_and(|p| self.targets.contains_key(p) && self.alias_settled(p));
                    if !desired || ep.state == EndpointState::Failed || replacement_ready {
                        let why = if !desired {
                            "no longer desired".to_string()
                        } else if ep.state == EndpointState::Failed {
                            format!("failed: {}", ep.failure_reason.as_deref().unwrap_or("no reason given"))
                        } else {
                            "superseded: its replacement is available and the alias points at it".to_string()
                        };
                        self.push(
                            Action::DeleteVpcEndpoint {
                                vpc_endpoint_id: ep.id.clone(),
                            },
                            why,
                        );
                    } else {
                        self.wait(format!("{} keeps serving until its replacement is available", ep.id));
                    }
                    remaining_eps += 1;
                }
                if cfg_current {
                    remaining_configs += 1;
                    continue;
                }
                if remaining_eps == 0 && cfg.status != ConfigurationStatus::DeleteInProgress {
                    self.push(
                        Action::DeleteResourceConfiguration {
                            configuration_id: cfg.id.clone(),
                        },
                        if is_current {
                            "its SVM is no longer exposed"
                        } else {
                            "superseded: its gateway is being replaced or retired"
                        },
                    );
                } else if remaining_eps > 0 {
                    self.wait(format!("{} waits for its endpoints to go", cfg.id));
                }
                remaining_configs += 1;
            }
            if !is_current && gw.status != GatewayStatus::DeleteInProgress {
                if remaining_configs == 0 {
                    self.push(
                        Action::DeleteResourceGateway {
                            gateway_id: gw.id.clone(),
                        },
                        "superseded or no longer needed",
                    );
                } else {
                    self.wait(format!("{} waits for its configurations to go", gw.id));
                }
            } else if gw.status == GatewayStatus::DeleteInProgress {
                self.wait(format!("{} is deleting", gw.id));
            }
        }
    }

    fn endpoint_matches(&self, ep: &VpcEndpoint, consumer: &str) -> bool {
        self.config.consumer(consumer).is_some_and(|c| {
            sorted(&ep.subnet_ids) == sorted(&c.subnet_ids)
                && (c.security_group_ids.is_empty() || sorted(&ep.security_group_ids) == sorted(&c.security_group_ids))
        })
    }

    /// Whether the alias (if any) for this pair already points at the current target.
    fn alias_settled(&self, (svm, consumer): &(SvmId, String)) -> bool {
        let Some(target) = self.targets.get(&(svm.clone(), consumer.clone())) else {
            return false;
        };
        let Some(alias) = self.desired.exposures.get(svm).and_then(|e| e.alias.as_ref()) else {
            return true;
        };
        let Some(zone) = self.config.consumer(consumer).and_then(|c| c.hosted_zone_id.as_ref()) else {
            return true;
        };
        self.obs.records.get(zone).is_some_and(|rs| {
            rs.iter()
                .any(|r| r.name == *alias && r.record_type == RecordType::CNAME && r.values == [target.clone()])
        })
    }

    fn decide_gateway(
        &mut self,
        fs: &'a FileSystem,
        current: Option<&'a ResourceGateway>,
        all: &[&'a ResourceGateway],
    ) -> GatewayDecision<'a> {
        let pinned = !self.config.gateway.subnet_ids.is_empty();
        let next_gen = all.iter().filter_map(|g| generation_of(&g.tags)).max().unwrap_or(0) + 1;
        let Some(gw) = current else {
            self.create_gateway(fs, next_gen, pinned, "no gateway serves this file system yet");
            return GatewayDecision::Replace;
        };
        let replace_because = match gw.status {
            GatewayStatus::CreateInProgress | GatewayStatus::UpdateInProgress => {
                self.wait(format!("{} is {:?}", gw.id, gw.status));
                return GatewayDecision::Wait;
            }
            GatewayStatus::CreateFailed | GatewayStatus::UpdateFailed | GatewayStatus::DeleteFailed => {
                Some(format!("{} is {:?} (VPC Lattice gives no reason)", gw.id, gw.status))
            }
            _ => None,
        };
        let replace_because = replace_because.or_else(|| {
            (gw.ipv4_addresses_per_eni != 16).then(|| {
                format!(
                    "{} has ipv4AddressesPerEni={} (immutable; 16 wanted)",
                    gw.id, gw.ipv4_addresses_per_eni
                )
            })
        });
        let want = sorted(&self.config.gateway.subnet_ids);
        let pins_usable = pinned
            && want.iter().all(|s| {
                self.capacity.get(s).is_some_and(SubnetCapacity::can_host_gateway_eni)
                    && !matches!(self.routing(s, fs), Routing::Unrouted(_))
            });
        // Gateway subnets that cannot reach the floating IPs: ours are given the file system's
        // route table in place; any other makes the gateway useless, so it is replaced (the
        // subnets of a gateway are immutable) — or refused when the config pins it there.
        let mut unrouted = Vec::new();
        for s in &gw.subnet_ids {
            match self.routing(s, fs) {
                Routing::Routed => {}
                Routing::Associable(table) => self.push(
                    Action::AssociateRouteTable {
                        vpc_id: fs.vpc_id.clone(),
                        route_table_id: table,
                        subnet_id: s.clone(),
                    },
                    format!(
                        "{} has ENIs of {} in {s}, which uses the VPC's main table",
                        fs.id, gw.id
                    ),
                ),
                Routing::Unrouted(why) => unrouted.push(why),
            }
        }
        if !unrouted.is_empty() {
            let why = format!("{} cannot reach the SVMs: {}", gw.id, unrouted.join("; "));
            if !self.config.gateway.heal {
                self.refuse(
                    fs.id.to_string(),
                    ErrorKind::InvalidInput,
                    format!("{why}; gateway.heal is off, so nothing is replaced"),
                );
                return GatewayDecision::Wait;
            }
            // To the pinned subnets when they are routed and can host it, else (healing) to
            // routed subnets with capacity.
            return if self.create_gateway(fs, next_gen, pins_usable, &format!("replace: {why}")) {
                GatewayDecision::Replace
            } else {
                GatewayDecision::Wait
            };
        }
        let replace_because = replace_because.or_else(|| {
            (pins_usable && sorted(&gw.subnet_ids) != want).then(|| {
                format!(
                    "{} is in {} but the config pins {} (subnets are immutable)",
                    gw.id,
                    join(&gw.subnet_ids),
                    join(&want)
                )
            })
        });
        let replace_because = match replace_because {
            Some(r) => Some(r),
            None => {
                let starved = self.starved_subnets(gw);
                if starved.is_empty() {
                    None
                } else {
                    for s in &starved {
                        self.diagnose(s);
                    }
                    let failed: Vec<&VpcEndpoint> = self
                        .configs_on(&gw.id)
                        .iter()
                        .flat_map(|c| self.endpoints_on(&c.arn))
                        .filter(|e| e.state == EndpointState::Failed && self.owned(&e.tags))
                        .collect();
                    let why = format!(
                        "{} cannot get a /28 in {}: {}",
                        gw.id,
                        join(&starved),
                        starved
                            .iter()
                            .filter_map(|s| self.capacity.get(s)?.reason())
                            .collect::<Vec<_>>()
                            .join("; ")
                    );
                    if pinned && failed.is_empty() {
                        self.out.warnings.push(format!("{why}. The subnets are pinned by the config, so the gateway stays there until an endpoint fails"));
                        None
                    } else if !self.config.gateway.heal {
                        self.refuse(
                            fs.id.to_string(),
                            ErrorKind::CapacityExhausted,
                            format!("{why}; gateway.heal is off, so nothing is replaced"),
                        );
                        return GatewayDecision::Wait;
                    } else {
                        Some(why)
                    }
                }
            }
        };
        if let Some(why) = replace_because {
            // Until the replacement is actually being created (subnets carved, capacity found),
            // the old gateway stays current so nothing of it is drained.
            // The replacement goes to the pinned subnets when they can host it, else (healing)
            // where the capacity is.
            // To the pinned subnets when they are routed and can host it, else (healing) to
            // routed subnets with capacity.
            return if self.create_gateway(fs, next_gen, pins_usable, &format!("replace: {why}")) {
                GatewayDecision::Replace
            } else {
                GatewayDecision::Wait
            };
        }
        let want_sgs = sorted(&self.config.gateway.security_group_ids);
        if sorted(&gw.security_group_ids) != want_sgs && gw.status == GatewayStatus::Active {
            self.push(
                Action::UpdateResourceGateway {
                    gateway_id: gw.id.clone(),
                    security_group_ids: want_sgs,
                },
                "gateway.security_group_ids changed (the one mutable field)",
            );
        }
        GatewayDecision::Use(gw)
    }

    /// Chooses subnets (one per AZ of the file system), reserves blocks, and creates the
    /// gateway; or carves subnets first; or refuses.
    fn create_gateway(&mut self, fs: &'a FileSystem, generation: u32, pinned: bool, why: &str) -> bool {
        let Some(vpc) = self.obs.vpcs.iter().find(|v| v.id == fs.vpc_id) else {
            return false;
        };
        let chosen: Vec<SubnetId> = if pinned {
            let pins = self.config.gateway.subnet_ids.clone();
            for s in &pins {
                match self.obs.subnets.iter().find(|x| &x.id == s) {
                    Some(sub) if sub.vpc_id != fs.vpc_id => {
                        self.refuse(
                            fs.id.to_string(),
                            ErrorKind::InvalidInput,
                            format!("pinned gateway subnet {s} is in {}, not in {}", sub.vpc_id, fs.vpc_id),
                        );
                        return false;
                    }
                    None => {
                        self.refuse(
                            fs.id.to_string(),
                            ErrorKind::InvalidInput,
                            format!("pinned gateway subnet {s} not found in {}", fs.vpc_id),
                        );
                        return false;
                    }
                    Some(_) => {}
                }
                match self.routing(s, fs) {
                    Routing::Routed => {}
                    Routing::Associable(table) => {
                        self.push(
                            Action::AssociateRouteTable {
                                vpc_id: fs.vpc_id.clone(),
                                route_table_id: table,
                                subnet_id: s.clone(),
                            },
                            format!(
                                "pinned subnet {s} is ours and uses the VPC's main table, not one of {}'s",
                                fs.id
                            ),
                        );
                        self.wait(format!("gateway for {} waits for {s}'s route table", fs.id));
                        return false;
                    }
                    Routing::Unrouted(why) => {
                        self.refuse(
                            fs.id.to_string(),
                            ErrorKind::InvalidInput,
                            format!("pinned gateway subnet {why}"),
                        );
                        return false;
                    }
                }
                if let Some(c) = self.capacity.get(s)
                    && let Some(reason) = c.reason()
                {
                    self.diagnose(s);
                    self.out.warnings.push(format!(
                        "pinned subnet {s}: {reason}. The endpoint will fail when VPC Lattice asks EC2 for the gateway ENI's /28"
                    ));
                }
            }
            pins
        } else {
            let mut azs: BTreeSet<&str> = BTreeSet::new();
            for s in &fs.subnet_ids {
                match self.obs.subnets.iter().find(|x| &x.id == s) {
                    Some(sub) => {
                        azs.insert(sub.availability_zone.as_str());
                    }
                    None => {
                        self.refuse(
                            fs.id.to_string(),
                            ErrorKind::NotFound,
                            format!("subnet {s} of the file system not found"),
                        );
                        return false;
                    }
                }
            }
            let mut chosen = Vec::new();
            let mut carving = false;
            let mut associating = false;
            for az in azs {
                // Routed subnets first, then ours that need the file system's route table; then
                // the most free blocks already under prefix reservations, then the most free.
                let mut best: Option<Candidate<'_>> = None;
                let mut unrouted = Vec::new();
                for sub in self
                    .obs
                    .subnets
                    .iter()
                    .filter(|s| s.vpc_id == fs.vpc_id && s.availability_zone == az)
                {
                    let Some(c) = self.capacity.get(&sub.id) else { continue };
                    if !c.can_host_gateway_eni() {
                        continue;
                    }
                    let associate = match self.routing(&sub.id, fs) {
                        Routing::Routed => None,
                        Routing::Associable(t) => Some(t),
                        Routing::Unrouted(_) => {
                            unrouted.push(sub.id.clone());
                            continue;
                        }
                    };
                    let score = (
                        associate.is_none(),
                        c.free_blocks_in_prefix_reservations.len(),
                        c.free_prefix_blocks.len(),
                    );
                    if best
                        .as_ref()
                        .is_none_or(|(b, _, bs)| score > *bs || (score == *bs && c.subnet_id < b.subnet_id))
                    {
                        best = Some((c, associate, score));
                    }
                }
                if best.is_none() && !unrouted.is_empty() {
                    self.out.warnings.push(format!(
                        "{} in {az}: {} can host a gateway ENI but use(s) none of the file system's route tables ({}): not used",
                        fs.id,
                        join(&unrouted),
                        join(&self.fs_route_tables(fs))
                    ));
                }
                match best {
                    Some((c, Some(table), _)) => {
                        let subnet_id = c.subnet_id.clone();
                        self.push(
                            Action::AssociateRouteTable {
                                vpc_id: fs.vpc_id.clone(),
                                route_table_id: table,
                                subnet_id: subnet_id.clone(),
                            },
                            format!("our subnet {subnet_id} uses the VPC's main table, not one of {}'s: FSx routes its endpoint IPs only there", fs.id),
                        );
                        associating = true;
                        chosen.push(subnet_id);
                    }
                    Some((c, None, _)) => chosen.push(c.subnet_id.clone()),
                    None => {
                        let ids: Vec<SubnetId> = self
                            .obs
                            .subnets
                            .iter()
                            .filter(|s| s.vpc_id == fs.vpc_id && s.availability_zone == az)
                            .map(|s| s.id.clone())
                            .collect();
                        for s in &ids {
                            self.diagnose(s);
                        }
                        if !self.config.gateway.allow_subnet_creation {
                            self.refuse(fs.id.to_string(), ErrorKind::CapacityExhausted, format!(
                                "no subnet of {} in {az} has a free aligned /28 and gateway.allow_subnet_creation is off: reserve or free a /28, or allow carving",
                                fs.vpc_id
                            ));
                            return false;
                        }
                        let mut taken: Vec<Ipv4Net> = self
                            .obs
                            .subnets
                            .iter()
                            .filter(|s| s.vpc_id == fs.vpc_id)
                            .map(|s| s.cidr)
                            .collect();
                        taken.extend(fs.endpoint_ip_address_range);
                        taken.extend(self.planned_cidrs.iter().copied());
                        let len = self.config.gateway.new_subnet_prefix_length;
                        match find_free_cidr(&vpc.cidr_blocks, &taken, len) {
                            Some(cidr) => {
                                self.planned_cidrs.push(cidr);
                                carving = true;
                                let tags = self.tags(&[
                                    (FILE_SYSTEM_TAG, fs.id.to_string()),
                                    ("Name", format!("fsxn-lattice-gateway-{az}")),
                                ]);
                                self.push(
                                    Action::CreateSubnet { vpc_id: fs.vpc_id.clone(), availability_zone: az.to_string(), cidr, tags },
                                    format!("no subnet of {} in {az} has a free aligned /28; carving a /{len} (the lowest free block of the VPC CIDRs, avoiding the endpoint IP range)", fs.vpc_id),
                                );
                            }
                            None => {
                                self.refuse(fs.id.to_string(), ErrorKind::CapacityExhausted, format!(
                                    "no subnet of {} in {az} has a free aligned /28 and no free /{len} is left in the VPC CIDRs ({}): add a CIDR block to the VPC",
                                    fs.vpc_id, join(&vpc.cidr_blocks)
                                ));
                                return false;
                            }
                        }
                    }
                }
            }
            if carving || associating {
                // Subnets already chosen for the other AZs stay: they are not debris.
                self.subnets_in_use.extend(chosen.iter().cloned());
                self.wait(format!(
                    "gateway for {} waits for {}",
                    fs.id,
                    if carving {
                        "the new subnet(s)"
                    } else {
                        "the route table association"
                    }
                ));
                return false;
            }
            chosen
        };
        self.subnets_in_use.extend(chosen.iter().cloned());
        let want = 1 + usize::from(self.config.gateway.headroom_blocks);
        for s in &chosen {
            self.reserve(s, fs, want, 1);
        }
        let name = gateway_name(self.owner, &fs.id, generation);
        let sgs = sorted(&self.config.gateway.security_group_ids);
        let token = client_token(&[
            "gateway",
            self.owner,
            &name,
            fs.vpc_id.as_str(),
            &join(&chosen),
            &join(&sgs),
        ]);
        let tags = self.tags(&[
            (FILE_SYSTEM_TAG, fs.id.to_string()),
            (GENERATION_TAG, generation.to_string()),
        ]);
        self.push(
            Action::CreateResourceGateway {
                name,
                vpc_id: fs.vpc_id.clone(),
                subnet_ids: chosen,
                security_group_ids: sgs,
                ipv4_addresses_per_eni: 16,
                client_token: token,
                tags,
            },
            why.to_string(),
        );
        true
    }

    /// Keeps `want` free /28 blocks under prefix reservations in `subnet` (at least `need`
    /// matter; the rest is headroom).
    fn reserve(&mut self, subnet: &SubnetId, fs: &FileSystem, want: usize, need: usize) {
        let Some(c) = self.capacity.get(subnet) else { return };
        let have = c.free_blocks_in_prefix_reservations.len();
        if have >= want {
            return;
        }
        let blocks: Vec<Ipv4Net> = c
            .unreserved_free_blocks()
            .filter(|b| !self.planned_reservations.contains(b))
            .take(want - have)
            .copied()
            .collect();
        self.planned_reservations.extend(blocks.iter().copied());
        if have + blocks.len() < need {
            return;
        }
        for (i, b) in blocks.into_iter().enumerate() {
            let why = if have + i < need {
                "keep random IP placement out of the /28 the gateway ENI needs".to_string()
            } else {
                "headroom: VPC Lattice may add gateway ENIs later".to_string()
            };
            self.push(
                Action::ReserveCidr {
                    subnet_id: subnet.clone(),
                    cidr: b,
                    description: format!("fsxn-lattice: /28 for resource gateway ENIs of {}", fs.id),
                    tags: self.tags(&[(FILE_SYSTEM_TAG, fs.id.to_string())]),
                },
                why,
            );
        }
    }

    fn ensure_headroom(&mut self, gw: &ResourceGateway) {
        let Some(fs_id) = gw
            .tags
            .get(FILE_SYSTEM_TAG)
            .and_then(|f| FileSystemId::parse(f.as_str()).ok())
        else {
            return;
        };
        let Some(fs) = self.obs.file_systems.iter().find(|f| f.id == fs_id) else {
            return;
        };
        for s in &gw.subnet_ids {
            let has_eni = self
                .obs
                .network_interfaces
                .iter()
                .any(|e| &e.subnet_id == s && e.resource_gateway_id().as_ref() == Some(&gw.id));
            let want = usize::from(self.config.gateway.headroom_blocks) + usize::from(!has_eni);
            self.reserve(s, fs, want, usize::from(!has_eni));
            if has_eni
                && self.config.gateway.headroom_blocks > 0
                && self.capacity.get(s).is_some_and(|c| c.free_prefix_blocks.is_empty())
            {
                self.out.warnings.push(format!(
                    "{s} has no free /28 left: VPC Lattice cannot add another ENI of {} there",
                    gw.id
                ));
            }
        }
    }

    fn ensure_exposure(&mut self, gw: &'a ResourceGateway, e: &Exposure) {
        if gw.status != GatewayStatus::Active {
            return;
        }
        let generation = generation_of(&gw.tags).unwrap_or(0);
        let cfg = self
            .configs_on(&gw.id)
            .into_iter()
            .find(|c| self.owned(&c.tags) && c.tags.get(SVM_TAG).map(String::as_str) == Some(e.svm_id.as_str()));
        let Some(cfg) = cfg else {
            let name = configuration_name(self.owner, &e.svm_id, generation);
            // The parameters are part of the token: a retry after the exposure changed must not
            // replay an older request (IdempotentParameterMismatch / ConflictException).
            let token = client_token(&[
                "configuration",
                self.owner,
                &name,
                gw.id.as_str(),
                &e.target_ip.to_string(),
                &join(&e.ports),
            ]);
            self.push(
                Action::CreateResourceConfiguration {
                    name,
                    gateway_id: gw.id.clone(),
                    ip_address: e.target_ip,
                    port_ranges: e.ports.clone(),
                    client_token: token,
                    tags: self.tags(&[
                        (SVM_TAG, e.svm_id.to_string()),
                        (FILE_SYSTEM_TAG, e.file_system_id.to_string()),
                        (GENERATION_TAG, generation.to_string()),
                        (TARGET_TAG, target_tag_value(e.target_ip, &e.ports)),
                    ]),
                },
                format!("expose {} ({}) on TCP {}", e.svm_name, e.target_ip, join(&e.ports)),
            );
            return;
        };
        match cfg.status {
            ConfigurationStatus::Active => {}
            ConfigurationStatus::CreateFailed | ConfigurationStatus::UpdateFailed => {
                self.push(
                    Action::DeleteResourceConfiguration {
                        configuration_id: cfg.id.clone(),
                    },
                    format!(
                        "{:?}: {}; it is re-created once gone",
                        cfg.status,
                        cfg.failure_reason.as_deref().unwrap_or("no reason given")
                    ),
                );
                return;
            }
            s => {
                self.wait(format!("{} is {s:?}", cfg.id));
                return;
            }
        }
        if cfg.ip_address != Some(e.target_ip) || sorted(&cfg.port_ranges) != e.ports {
            self.push(
                Action::UpdateResourceConfiguration {
                    configuration_id: cfg.id.clone(),
                    ip_address: e.target_ip,
                    port_ranges: e.ports.clone(),
                    tags: self.tags(&[(TARGET_TAG, target_tag_value(e.target_ip, &e.ports))]),
                },
                "the SVM's IP or the exposed protocols changed",
            );
        }
        for consumer_name in &e.consumers {
            if self.held_consumers.contains(consumer_name) {
                continue;
            }
            let Some(consumer) = self.config.consumer(consumer_name) else {
                continue;
            };
            self.ensure_endpoint(e, cfg, consumer);
        }
    }

    fn ensure_endpoint(&mut self, e: &Exposure, cfg: &ResourceConfiguration, consumer: &Consumer) {
        let ours: Vec<&VpcEndpoint> = self
            .endpoints_on(&cfg.arn)
            .into_iter()
            .filter(|ep| {
                self.owned(&ep.tags)
                    && ep.tags.get(CONSUMER_TAG) == Some(&consumer.name)
                    && self.endpoint_matches(ep, &consumer.name)
            })
            .collect();
        // Ended ones (failed, rejected, expired) are deleted whatever else exists: one that
        // failed beside an available one would otherwise stay forever.
        let failed: Vec<&&VpcEndpoint> = ours.iter().filter(|ep| ep.state.is_terminal()).collect();
        for ep in &failed {
            self.push(
                Action::DeleteVpcEndpoint {
                    vpc_endpoint_id: ep.id.clone(),
                },
                format!(
                    "{}: {}; a new one replaces it",
                    ep.state.as_str(),
                    ep.failure_reason.as_deref().unwrap_or("no reason given")
                ),
            );
        }
        // One of ours still deleting is waited for even beside a live one: until it is gone the
        // world is not what is desired (and a failed replacement would reuse its slot).
        for ep in ours.iter().filter(|ep| ep.state == EndpointState::Deleting) {
            self.wait(format!("{} in {} is deleting", ep.id, consumer.vpc_id));
        }
        // Any live endpoint (states this build does not know included) is the one: never a
        // second beside it. The available one first, so a pending retry never hides it.
        let live = ours
            .iter()
            .filter(|ep| ep.state.is_live())
            .min_by_key(|ep| (ep.state != EndpointState::Available, ep.id.clone()));
        if let Some(ep) = live {
            match ep.state {
                EndpointState::Available => match &ep.dns_name {
                    Some(dns) => {
                        self.targets
                            .insert((e.svm_id.clone(), consumer.name.clone()), dns.clone());
                    }
                    None => self.wait(format!("{} is available but has no DNS entry yet", ep.id)),
                },
                EndpointState::Pending | EndpointState::PendingAcceptance => {
                    self.wait(format!("{} is {} in {}", ep.id, ep.state.as_str(), consumer.vpc_id));
                }
                _ => {
                    self.out.warnings.push(format!(
                        "{} in {} is {}{}: it is kept and not used for the alias; delete it to have it replaced",
                        ep.id,
                        consumer.vpc_id,
                        ep.state.as_str(),
                        ep.failure_reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ));
                    self.wait(format!("{} is {}", ep.id, ep.state.as_str()));
                }
            }
            return;
        }
        // One still deleting: EC2 would answer a create with the same client token with that
        // endpoint (counted as done, a pass without progress, forever). Wait until it is gone.
        if failed.is_empty() && ours.iter().any(|ep| ep.state == EndpointState::Deleting) {
            self.wait(format!(
                "an endpoint of {} in {} is deleting",
                e.svm_id, consumer.vpc_id
            ));
            return;
        }
        let replaced: Vec<&str> = failed.iter().map(|ep| ep.id.as_str()).collect();
        let subnets = sorted(&consumer.subnet_ids);
        let sgs = sorted(&consumer.security_group_ids);
        let token = client_token(&[
            "endpoint",
            self.owner,
            e.svm_id.as_str(),
            &consumer.name,
            consumer.vpc_id.as_str(),
            &cfg.arn,
            &join(&subnets),
            &join(&sgs),
            &replaced.join(","),
        ]);
        self.push(
            Action::CreateVpcEndpoint {
                vpc_id: consumer.vpc_id.clone(),
                subnet_ids: subnets,
                security_group_ids: sgs,
                resource_configuration_arn: cfg.arn.clone(),
                client_token: token,
                tags: self.tags(&[
                    (SVM_TAG, e.svm_id.to_string()),
                    (CONSUMER_TAG, consumer.name.clone()),
                    (FILE_SYSTEM_TAG, e.file_system_id.to_string()),
                    (
                        HOSTED_ZONE_TAG,
                        consumer
                            .hosted_zone_id
                            .as_ref()
                            .map(|z| z.to_string())
                            .unwrap_or_default(),
                    ),
                    ("Name", format!("fsxn-lattice-{}-{}", e.svm_name, consumer.name)),
                ]),
            },
            format!(
                "give consumer {} ({}) a path to {}",
                consumer.name, consumer.vpc_id, e.svm_name
            ),
        );
    }

    /// Our endpoints whose configuration no longer exists (deleted behind our back) serve
    /// nothing: delete them.
    fn plan_orphan_endpoints(&mut self) {
        let arns: BTreeSet<&str> = self.obs.configurations.iter().map(|c| c.arn.as_str()).collect();
        let orphans: Vec<VpcEndpointId> = self
            .obs
            .endpoints
            .iter()
            .filter(|ep| self.owned(&ep.tags) && !arns.contains(ep.resource_configuration_arn.as_str()))
            .filter(|ep| !matches!(ep.state, EndpointState::Deleting | EndpointState::Deleted))
            .map(|ep| ep.id.clone())
            .collect();
        for id in orphans {
            self.push(
                Action::DeleteVpcEndpoint { vpc_endpoint_id: id },
                "its resource configuration no longer exists",
            );
        }
    }

    fn plan_dns(&mut self) {
        let ttl = self.config.dns.ttl;
        let mut desired_names: BTreeSet<(HostedZoneId, String)> = BTreeSet::new();
        let exposures: Vec<&Exposure> = self.desired.exposures.values().collect();
        for e in exposures {
            let Some(alias) = &e.alias else { continue };
            if self.out.refusals.iter().any(|r| r.subject == e.svm_id.as_str()) {
                continue;
            }
            for cname in &e.consumers {
                let Some(consumer) = self.config.consumer(cname) else {
                    continue;
                };
                let Some(zone_id) = consumer.hosted_zone_id.clone() else {
                    continue;
                };
                desired_names.insert((zone_id.clone(), alias.clone()));
                let Some(zone) = self.obs.hosted_zones.iter().find(|z| z.id == zone_id) else {
                    self.refuse(
                        e.svm_id.to_string(),
                        ErrorKind::NotFound,
                        format!("hosted zone {zone_id} of consumer {cname} not found"),
                    );
                    continue;
                };
                if alias == &zone.name || !alias.ends_with(&format!(".{}", zone.name)) {
                    self.refuse(e.svm_id.to_string(), ErrorKind::InvalidInput, format!(
                        "alias {alias} must be a name below the zone {} ({zone_id}): a CNAME cannot sit at the apex or outside the zone",
                        zone.name
                    ));
                    continue;
                }
                let txt_name = ownership_txt_name(alias);
                let txt_value = ownership_txt_value(self.owner, &e.svm_id, cname);
                let at_name: Vec<&RecordSet> = self.records_named(&zone_id, alias).to_vec();
                let txt = self
                    .records_named(&zone_id, &txt_name)
                    .iter()
                    .copied()
                    .find(|r| r.record_type == RecordType::TXT);
                let owned = txt.is_some_and(|t| {
                    t.values.iter().any(|v| {
                        parse_ownership_txt(v)
                            .is_some_and(|(o, s, c)| o == self.owner && s == e.svm_id.as_str() && &c == cname)
                    })
                });
                if let Some(other) = at_name
                    .iter()
                    .find(|r| r.record_type != RecordType::CNAME || r.routing.is_some())
                {
                    self.refuse(e.svm_id.to_string(), ErrorKind::Conflict, format!(
                        "{alias} already has a {:?} record{} in {zone_id}: a CNAME of ours cannot share its name; the record is not ours and is left alone",
                        other.record_type,
                        other.routing.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                    ));
                    continue;
                }
                let cname_rec = at_name.first();
                if (cname_rec.is_some() || txt.is_some()) && !owned {
                    self.refuse(e.svm_id.to_string(), ErrorKind::Conflict, format!(
                        "{alias} exists in {zone_id} without our ownership record ({txt_name}): it is not ours and is not overwritten"
                    ));
                    continue;
                }
                let Some(target) = self.targets.get(&(e.svm_id.clone(), cname.clone())).cloned() else {
                    if cname_rec.is_none() {
                        self.wait(format!(
                            "alias {alias} waits for the endpoint in {} to become available",
                            consumer.vpc_id
                        ));
                    }
                    continue;
                };
                let want = RecordSet {
                    name: alias.clone(),
                    record_type: RecordType::CNAME,
                    ttl,
                    values: vec![target.clone()],
                    routing: None,
                };
                let want_txt = RecordSet {
                    name: txt_name,
                    record_type: RecordType::TXT,
                    ttl,
                    values: vec![txt_value],
                    routing: None,
                };
                if cname_rec.map(|r| (*r).clone()) != Some(want.clone()) || txt.cloned() != Some(want_txt.clone()) {
                    let why = match cname_rec {
                        Some(r) => format!("repoint from {} to the current endpoint", r.values.join(",")),
                        None => format!("publish the alias for Kerberos: clients use {alias}"),
                    };
                    // CREATE what is new and DELETE + CREATE (of the exact records read) what
                    // changes, in one batch: if anyone wrote at the name since it was read, the
                    // batch fails whole and the next pass sees their record — never clobbered.
                    let replaces_txt = txt.filter(|t| **t != want_txt).cloned();
                    let keep_txt = txt.is_some() && replaces_txt.is_none();
                    self.push(
                        Action::PublishAlias {
                            hosted_zone_id: zone_id.clone(),
                            replaces_cname: cname_rec.map(|r| (*r).clone()).filter(|r| *r != want),
                            cname: want,
                            replaces_txt,
                            txt: (!keep_txt).then_some(want_txt),
                        },
                        why,
                    );
                }
            }
        }
        // Withdraw our aliases that are no longer desired.
        // Every zone observed: the configured ones and those our endpoints remember (a consumer
        // removed from the config leaves its aliases to withdraw).
        let zones: BTreeSet<HostedZoneId> = self.obs.hosted_zones.iter().map(|z| z.id.clone()).collect();
        for zone_id in zones {
            let records = self.obs.records.get(&zone_id).map(Vec::as_slice).unwrap_or(&[]);
            for txt in records.iter().filter(|r| r.record_type == RecordType::TXT) {
                let Some(alias) = txt.name.strip_prefix(&format!("{OWNERSHIP_TXT_LABEL}.")) else {
                    continue;
                };
                let ours = txt
                    .values
                    .iter()
                    .any(|v| parse_ownership_txt(v).is_some_and(|(o, _, _)| o == self.owner));
                if !ours || desired_names.contains(&(zone_id.clone(), alias.to_string())) {
                    continue;
                }
                let svm_held = txt
                    .values
                    .iter()
                    .filter_map(|v| parse_ownership_txt(v))
                    .any(|(_, s, _)| self.desired.held.iter().any(|h| h.as_str() == s));
                if svm_held {
                    continue;
                }
                if self.config.dns.policy == DnsPolicy::UpsertOnly {
                    self.out.warnings.push(format!(
                        "{alias} in {zone_id} is ours and no longer desired; dns.policy = upsert-only leaves it"
                    ));
                    continue;
                }
                let cname = records
                    .iter()
                    .find(|r| r.name == alias && r.record_type == RecordType::CNAME)
                    .cloned();
                self.push(
                    Action::DeleteAlias {
                        hosted_zone_id: zone_id.clone(),
                        cname,
                        txt: txt.clone(),
                    },
                    "the alias is no longer desired",
                );
            }
        }
    }

    fn plan_cleanup(&mut self) {
        let releasing: Vec<(CidrReservationId, SubnetId)> = self
            .obs
            .cidr_reservations
            .iter()
            .filter(|r| self.owned(&r.tags) && !self.subnets_in_use.contains(&r.subnet_id))
            .map(|r| (r.id.clone(), r.subnet_id.clone()))
            .collect();
        for (id, _) in &releasing {
            self.push(
                Action::ReleaseCidr {
                    reservation_id: id.clone(),
                },
                "no gateway of ours uses this subnet any more",
            );
        }
        let subnets: Vec<SubnetId> = self
            .obs
            .subnets
            .iter()
            .filter(|s| self.owned(&s.tags) && !self.subnets_in_use.contains(&s.id))
            .map(|s| s.id.clone())
            .collect();
        for s in subnets {
            // Someone else's ENIs or reservations in a subnet we carved: it is theirs to use now,
            // and nothing of theirs is touched. Ours (gateway ENIs, our reservations) go first.
            let foreign_eni = self.obs.network_interfaces.iter().any(|e| {
                e.subnet_id == s
                    && e.resource_gateway_id().is_none_or(|g| {
                        !self
                            .obs
                            .gateways
                            .iter()
                            .any(|gw| gw.id == g && is_owned(&gw.tags, self.owner))
                    })
            });
            let foreign_reservation = self
                .obs
                .cidr_reservations
                .iter()
                .any(|r| r.subnet_id == s && !is_owned(&r.tags, self.owner));
            let busy = self.obs.network_interfaces.iter().any(|e| e.subnet_id == s)
                || self.obs.cidr_reservations.iter().any(|r| r.subnet_id == s);
            if foreign_eni || foreign_reservation {
                self.out.warnings.push(format!(
                    "subnet {s} was carved by us and is no longer needed, but other ENIs or reservations use it now: it is left in place"
                ));
            } else if busy {
                self.wait(format!(
                    "subnet {s} we carved waits for its ENIs and reservations to go"
                ));
            } else {
                // The association we made is undone explicitly, not left to DeleteSubnet.
                let association = self
                    .obs
                    .route_tables
                    .iter()
                    .flat_map(|t| &t.associations)
                    .find(|a| a.subnet_id == s)
                    .map(|a| a.id.clone());
                if let Some(association_id) = association {
                    self.push(
                        Action::DisassociateRouteTable {
                            association_id,
                            subnet_id: s.clone(),
                        },
                        "the subnet we carved is deleted next",
                    );
                }
                self.push(
                    Action::DeleteSubnet { subnet_id: s },
                    "carved for a gateway that no longer exists",
                );
            }
        }
    }

    fn plan_manual_steps(&mut self) {
        for e in self.desired.exposures.values() {
            let (Some(alias), true) = (&e.alias, e.protocols.contains(&Protocol::Smb)) else {
                continue;
            };
            let computer = e
                .smb_computer_name
                .clone()
                .unwrap_or_else(|| e.svm_name.to_ascii_uppercase());
            self.out.manual_steps.push(ManualStep {
                subject: e.svm_id.to_string(),
                instruction: format!(
                    "Kerberos for \\\\{alias}: add the alias to the SVM's AD computer object so AD registers HOST/ and cifs/ SPNs for it: Set-ADComputer -Identity {computer} -Add @{{\"msDS-AdditionalDnsHostname\"=\"{alias}\"}}; check with: setspn -Q cifs/{alias} (exactly one object must hold it: duplicate SPNs break Kerberos). Without it SMB falls back to NTLMv2."
                ),
            });
        }
    }

    fn finish(mut self) -> Plan {
        self.out.actions.sort_by_key(|a| a.action.phase());
        self.out.waiting.sort();
        self.out.waiting.dedup();
        self.out.warnings.sort();
        self.out.warnings.dedup();
        self.out.diagnoses.sort_by(|a, b| a.subnet_id.cmp(&b.subnet_id));
        self.out
    }
}

enum GatewayDecision<'a> {
    Use(&'a ResourceGateway),
    Wait,
    Replace,
}

/// A gateway subnet candidate: its capacity, the route table it must be associated with first
/// (if any), and its score (routed, free blocks under prefix reservations, free blocks).
type Candidate<'c> = (&'c SubnetCapacity, Option<RouteTableId>, (bool, usize, usize));

/// How a subnet reaches a file system's floating IPs (see `Planner::routing`).
enum Routing {
    /// Its route table is one of the file system's.
    Routed,
    /// Ours, on the VPC's main table, which is not the file system's: associate it with this one.
    Associable(RouteTableId),
    /// Not routed and not ours to change: why.
    Unrouted(String),
}

fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tag_keys;

    fn id<T: TryFrom<String>>(s: &str) -> T
    where
        T::Error: std::fmt::Debug,
    {
        T::try_from(s.to_string()).unwrap()
    }

    fn world() -> (Config, Observed) {
        let config = Config::from_toml(
            r#"
owner = "t"
[gateway]
security_group_ids = ["sg-1"]
[[consumers]]
name = "c"
vpc_id = "vpc-2"
subnet_ids = ["subnet-c1"]
hosted_zone_id = "ZONE1"
"#,
        )
        .unwrap();
        let subnet = |i: &str, az: &str, cidr: &str| Subnet {
            id: id(i),
            vpc_id: id("vpc-1"),
            availability_zone: az.into(),
            cidr: cidr.parse().unwrap(),
            tags: Tags::new(),
        };
        let observed = Observed {
            file_systems: vec![FileSystem {
                id: id("fs-1"),
                lifecycle: FsxLifecycle::Available,
                deployment_type: DeploymentType::MultiAz1,
                vpc_id: id("vpc-1"),
                subnet_ids: vec![id("subnet-a1"), id("subnet-b1")],
                endpoint_ip_address_range: Some("10.0.15.192/26".parse().unwrap()),
                route_table_ids: vec![],
                tags: Tags::new(),
            }],
            svms: vec![StorageVirtualMachine {
                id: id("svm-1"),
                name: "svm1".into(),
                file_system_id: id("fs-1"),
                lifecycle: FsxLifecycle::Created,
                endpoints: SvmEndpoints::one_ip("SVM1", "10.0.15.239".parse().unwrap()),
                tags: [
                    (tag_keys::EXPOSE.to_string(), "smb".to_string()),
                    (tag_keys::ALIAS.to_string(), "files.corp.example".to_string()),
                ]
                .into(),
            }],
            vpcs: vec![
                Vpc {
                    id: id("vpc-1"),
                    cidr_blocks: vec!["10.0.0.0/16".parse().unwrap()],
                    enable_dns_support: true,
                    enable_dns_hostnames: true,
                },
                Vpc {
                    id: id("vpc-2"),
                    cidr_blocks: vec!["10.1.0.0/16".parse().unwrap()],
                    enable_dns_support: true,
                    enable_dns_hostnames: true,
                },
            ],
            subnets: vec![
                subnet("subnet-a1", "us-east-1a", "10.0.8.0/24"),
                subnet("subnet-a2", "us-east-1a", "10.0.0.0/24"),
                subnet("subnet-a3", "us-east-1a", "10.0.1.0/26"),
                subnet("subnet-b1", "us-east-1b", "10.0.9.0/24"),
            ],
            hosted_zones: vec![HostedZone {
                id: id("ZONE1"),
                name: "corp.example".into(),
                private: true,
            }],
            ..Observed::default()
        };
        (config, observed)
    }

    fn planned(config: &Config, o: &Observed) -> Plan {
        let d = crate::desired::resolve(config, &o.file_systems, &o.svms);
        plan(config, &d, o)
    }

    fn fill(o: &mut Observed, subnet: &str, every: u32) {
        let s = o.subnets.iter().find(|s| s.id.as_str() == subnet).unwrap().clone();
        let base = u32::from(s.cidr.network());
        let ips = (16..s.cidr.hosts().count() as u32)
            .step_by(every as usize)
            .map(|o| Ipv4Addr::from(base + o))
            .collect();
        o.network_interfaces.push(NetworkInterface {
            id: id(&format!("eni-{:x}", o.network_interfaces.len() + 1)),
            subnet_id: s.id,
            private_ips: ips,
            ipv4_prefixes: vec![],
            description: "foreign".into(),
            tags: Tags::new(),
        });
    }

    #[test]
    fn a_new_gateway_goes_to_the_subnet_with_the_most_free_blocks_of_each_az_with_reservations() {
        let (config, mut o) = world();
        fill(&mut o, "subnet-a1", 16); // no free /28 in the FSx subnet of AZ a
        let p = planned(&config, &o);
        let gw = p.actions.iter().find_map(|a| match &a.action {
            Action::CreateResourceGateway { subnet_ids, name, .. } => Some((subnet_ids.clone(), name.clone())),
            _ => None,
        });
        let (subnets, name) = gw.expect("a gateway is planned");
        // a2 (/24, 14 free blocks) beats a3 (/26, 2); b1 is the only subnet of AZ b.
        assert_eq!(
            subnets.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            ["subnet-a2", "subnet-b1"]
        );
        assert_eq!(name, "fsxnl-t-1-g1");
        let reserved: Vec<String> = p
            .actions
            .iter()
            .filter_map(|a| match &a.action {
                Action::ReserveCidr { subnet_id, cidr, .. } => Some(format!("{subnet_id} {cidr}")),
                _ => None,
            })
            .collect();
        assert_eq!(
            reserved,
            [
                "subnet-a2 10.0.0.16/28",
                "subnet-a2 10.0.0.32/28",
                "subnet-b1 10.0.9.16/28",
                "subnet-b1 10.0.9.32/28"
            ]
        );
        assert!(
            p.actions
                .iter()
                .position(|a| matches!(a.action, Action::ReserveCidr { .. }))
                < p.actions
                    .iter()
                    .position(|a| matches!(a.action, Action::CreateResourceGateway { .. }))
        );
        assert_eq!(p, planned(&config, &o), "deterministic, tokens included");
    }

    #[test]
    fn no_capacity_in_an_az_carves_the_lowest_free_26_outside_the_endpoint_range() {
        let (config, mut o) = world();
        fill(&mut o, "subnet-b1", 16);
        let p = planned(&config, &o);
        let carved: Vec<String> = p
            .actions
            .iter()
            .filter_map(|a| match &a.action {
                Action::CreateSubnet {
                    cidr,
                    availability_zone,
                    ..
                } => Some(format!("{availability_zone} {cidr}")),
                _ => None,
            })
            .collect();
        assert_eq!(carved, ["us-east-1b 10.0.1.64/26"]);
        assert!(
            p.actions
                .iter()
                .all(|a| !matches!(a.action, Action::CreateResourceGateway { .. })),
            "the gateway waits for the subnet"
        );
        assert!(p.diagnoses.iter().any(|d| d.subnet_id.as_str() == "subnet-b1"));
    }

    #[test]
    fn an_alias_at_the_zone_apex_or_outside_the_zone_is_refused() {
        for alias in ["corp.example", "files.other.example"] {
            let (config, mut o) = world();
            o.svms[0].tags.insert(tag_keys::ALIAS.into(), alias.into());
            let gw = ResourceGateway {
                id: id("rgw-1"),
                arn: "arn:gw".into(),
                name: "fsxnl-1-g1".into(),
                vpc_id: id("vpc-1"),
                subnet_ids: vec![id("subnet-a2")],
                security_group_ids: vec![id("sg-1")],
                ipv4_addresses_per_eni: 16,
                status: GatewayStatus::Active,
                tags: [
                    (OWNER_TAG.into(), "t".into()),
                    (FILE_SYSTEM_TAG.into(), "fs-1".into()),
                    (GENERATION_TAG.into(), "1".into()),
                ]
                .into(),
            };
            o.gateways.push(gw);
            let p = planned(&config, &o);
            assert!(
                p.refusals
                    .iter()
                    .any(|r| r.reason.contains("cannot sit at the apex or outside the zone")),
                "{alias}: {:?}",
                p.refusals
            );
        }
    }

    #[test]
    fn foreign_endpoints_on_our_configuration_are_never_deleted() {
        let (config, mut o) = world();
        let owned: Tags = [
            (OWNER_TAG.into(), "t".into()),
            (FILE_SYSTEM_TAG.into(), "fs-1".into()),
            (GENERATION_TAG.into(), "1".into()),
        ]
        .into();
        o.gateways.push(ResourceGateway {
            id: id("rgw-1"),
            arn: "arn:gw".into(),
            name: "fsxnl-1-g1".into(),
            vpc_id: id("vpc-1"),
            subnet_ids: vec![id("subnet-a2"), id("subnet-b1")],
            security_group_ids: vec![id("sg-1")],
            ipv4_addresses_per_eni: 16,
            status: GatewayStatus::Active,
            tags: owned.clone(),
        });
        let mut cfg_tags = owned.clone();
        cfg_tags.insert(SVM_TAG.into(), "svm-1".into());
        o.configurations.push(ResourceConfiguration {
            id: id("rcfg-1"),
            arn: "arn:aws:vpc-lattice:us-east-1:1:resourceconfiguration/rcfg-1".into(),
            name: "fsxnl-1-g1".into(),
            gateway_id: id("rgw-1"),
            ip_address: Some("10.0.15.239".parse().unwrap()),
            port_ranges: vec![PortRange::single(445)],
            status: ConfigurationStatus::Active,
            failure_reason: None,
            tags: cfg_tags,
        });
        o.endpoints.push(VpcEndpoint {
            id: id("vpce-f0"),
            vpc_id: id("vpc-9"),
            subnet_ids: vec![id("subnet-9")],
            security_group_ids: vec![],
            resource_configuration_arn: "arn:aws:vpc-lattice:us-east-1:1:resourceconfiguration/rcfg-1".into(),
            state: EndpointState::Available,
            failure_reason: None,
            private_dns_enabled: true,
            network_interface_ids: vec![],
            dns_name: Some("x".into()),
            tags: Tags::new(),
        });
        // Opt out: our configuration and gateway are no longer desired, but a foreign endpoint uses them.
        o.svms[0].tags.insert(tag_keys::EXPOSE.into(), "off".into());
        let p = planned(&config, &o);
        for a in &p.actions {
            assert!(
                !matches!(&a.action, Action::DeleteVpcEndpoint { vpc_endpoint_id } if vpc_endpoint_id.as_str() == "vpce-f0")
            );
            assert!(
                !matches!(
                    a.action,
                    Action::DeleteResourceConfiguration { .. } | Action::DeleteResourceGateway { .. }
                ),
                "{:?}",
                a.action
            );
        }
        assert!(p.waiting.iter().any(|w| w.contains("rcfg-1")), "{:?}", p.waiting);
    }

    const CFG_ARN: &str = "arn:aws:vpc-lattice:us-east-1:1:resourceconfiguration/rcfg-1";

    /// Our active gateway in `subnets` and our configuration for svm-1 on it.
    fn with_gateway(o: &mut Observed, subnets: &[&str]) {
        let owned: Tags = [
            (OWNER_TAG.into(), "t".into()),
            (FILE_SYSTEM_TAG.into(), "fs-1".into()),
            (GENERATION_TAG.into(), "1".into()),
        ]
        .into();
        o.gateways.push(ResourceGateway {
            id: id("rgw-1"),
            arn: "arn:gw".into(),
            name: "fsxnl-t-1-g1".into(),
            vpc_id: id("vpc-1"),
            subnet_ids: subnets.iter().map(|s| id(s)).collect(),
            security_group_ids: vec![id("sg-1")],
            ipv4_addresses_per_eni: 16,
            status: GatewayStatus::Active,
            tags: owned.clone(),
        });
        for (i, s) in subnets.iter().enumerate() {
            let base = o.subnets.iter().find(|x| x.id.as_str() == *s).unwrap().cidr.network();
            o.network_interfaces.push(NetworkInterface {
                id: id(&format!("eni-{i}")),
                subnet_id: id(s),
                private_ips: vec![Ipv4Addr::from(u32::from(base) + 100)],
                ipv4_prefixes: vec![Ipv4Net::new(Ipv4Addr::from(u32::from(base) + 32), 28).unwrap()],
                description: "Resource Gateway Interface rgw-1".into(),
                tags: Tags::new(),
            });
        }
        let mut cfg_tags = owned;
        cfg_tags.insert(SVM_TAG.into(), "svm-1".into());
        cfg_tags.insert(TARGET_TAG.into(), "10.0.15.239 445".into());
        o.configurations.push(ResourceConfiguration {
            id: id("rcfg-1"),
            arn: CFG_ARN.into(),
            name: "fsxnl-t-1-g1".into(),
            gateway_id: id("rgw-1"),
            ip_address: Some("10.0.15.239".parse().unwrap()),
            port_ranges: vec![PortRange::single(445)],
            status: ConfigurationStatus::Active,
            failure_reason: None,
            tags: cfg_tags,
        });
    }

    /// Our endpoint for svm-1 and consumer `c` in `state`.
    fn our_endpoint(o: &mut Observed, vpce: &str, state: EndpointState) {
        o.endpoints.push(VpcEndpoint {
            id: id(vpce),
            vpc_id: id("vpc-2"),
            subnet_ids: vec![id("subnet-c1")],
            security_group_ids: vec![],
            resource_configuration_arn: CFG_ARN.into(),
            state,
            failure_reason: (state == EndpointState::Failed).then(|| "no /28".to_string()),
            private_dns_enabled: true,
            network_interface_ids: vec![],
            dns_name: (state == EndpointState::Available).then(|| format!("{vpce}.rcfg-1.x.on.aws")),
            tags: [
                (OWNER_TAG.to_string(), "t".to_string()),
                (SVM_TAG.to_string(), "svm-1".to_string()),
                (CONSUMER_TAG.to_string(), "c".to_string()),
            ]
            .into(),
        });
    }

    fn creates_endpoint(p: &Plan) -> bool {
        p.actions
            .iter()
            .any(|a| matches!(a.action, Action::CreateVpcEndpoint { .. }))
    }

    fn deletes(p: &Plan) -> Vec<&str> {
        p.actions
            .iter()
            .filter_map(|a| match &a.action {
                Action::DeleteVpcEndpoint { vpc_endpoint_id } => Some(vpc_endpoint_id.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn no_endpoint_is_created_while_the_previous_one_is_still_deleting() {
        // Regression: EC2 answered the create (same client token) with the deleting endpoint,
        // the pass counted as progress, and the loop spun until its budget was spent.
        let (config, mut o) = world();
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-01d", EndpointState::Deleting);
        let p = planned(&config, &o);
        assert!(!creates_endpoint(&p), "{:#?}", p.actions);
        assert!(p.waiting.iter().any(|w| w.contains("deleting")), "{:?}", p.waiting);
    }

    #[test]
    fn a_deleting_endpoint_beside_an_available_one_is_waited_for_not_converged() {
        // Regression (chaos, rate 0.0, seed 12116079458102082021): a failed endpoint was deleted
        // and replaced in one pass; once the replacement was available the plan was empty and
        // the run said Converged with the old endpoint still deleting.
        let (config, mut o) = world();
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        our_endpoint(&mut o, "vpce-0dead", EndpointState::Deleting);
        let p = planned(&config, &o);
        assert!(!creates_endpoint(&p) && deletes(&p).is_empty(), "{:#?}", p.actions);
        assert!(!p.is_converged());
        assert!(p.waiting.iter().any(|w| w.contains("vpce-0dead")), "{:?}", p.waiting);
    }

    #[test]
    fn a_failed_endpoint_beside_an_available_one_is_deleted() {
        let (config, mut o) = world();
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        our_endpoint(&mut o, "vpce-bad", EndpointState::Failed);
        let p = planned(&config, &o);
        assert_eq!(deletes(&p), ["vpce-bad"]);
        assert!(!creates_endpoint(&p));
        assert!(!p.is_converged());
    }

    #[test]
    fn partial_or_unknown_endpoints_are_kept_and_never_duplicated() {
        for state in [EndpointState::Partial, EndpointState::Unknown] {
            let (config, mut o) = world();
            with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
            our_endpoint(&mut o, "vpce-0f", state);
            let p = planned(&config, &o);
            assert!(!creates_endpoint(&p), "{state:?}: {:#?}", p.actions);
            assert!(deletes(&p).is_empty(), "{state:?}");
            assert!(p.warnings.iter().any(|w| w.contains("vpce-0f")), "{:?}", p.warnings);
            assert!(
                !p.actions
                    .iter()
                    .any(|a| matches!(a.action, Action::PublishAlias { .. })),
                "no alias to an endpoint that is not available"
            );
        }
    }

    /// The main table of vpc-1, plus `rtb-f` holding FSx's routes; `subnet-a2` associated with
    /// `rtb-f` explicitly.
    fn route_tables(o: &mut Observed) {
        let table = |tid: &str, main: bool, assoc: &[&str]| RouteTable {
            id: id(tid),
            vpc_id: id("vpc-1"),
            main,
            associations: assoc
                .iter()
                .map(|s| RouteTableAssociation {
                    id: format!("rtbassoc-{s}"),
                    subnet_id: id(s),
                })
                .collect(),
            routes: vec![],
            tags: Tags::new(),
        };
        o.route_tables = vec![
            table("rtb-a", true, &[]),
            table("rtb-f", false, &["subnet-a2", "subnet-b1"]),
        ];
        o.file_systems[0].route_table_ids = vec![id("rtb-f")];
    }

    #[test]
    fn a_new_gateway_goes_only_to_subnets_on_the_file_systems_route_tables() {
        let (config, mut o) = world();
        route_tables(&mut o);
        // subnet-a2 is routed; a3 (main table) has capacity too but is never chosen.
        o.route_tables[1]
            .associations
            .retain(|a| a.subnet_id.as_str() != "subnet-a2");
        let p = planned(&config, &o);
        // AZ a: no routed subnet with a free /28 → carve, with a warning naming the unrouted ones.
        assert!(
            p.actions
                .iter()
                .any(|a| matches!(a.action, Action::CreateSubnet { .. })),
            "{:#?}",
            p.actions
        );
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("subnet-a2") && w.contains("rtb-f")),
            "{:?}",
            p.warnings
        );
        assert!(
            !p.actions
                .iter()
                .any(|a| matches!(a.action, Action::CreateResourceGateway { .. })),
            "no gateway before the carved subnet exists"
        );
    }

    #[test]
    fn our_carved_subnet_is_associated_with_the_file_systems_route_table_before_the_gateway() {
        let (config, mut o) = world();
        route_tables(&mut o);
        o.route_tables[1]
            .associations
            .retain(|a| a.subnet_id.as_str() != "subnet-a2");
        // The subnet carved on the last pass: ours, on the main table.
        o.subnets.push(Subnet {
            id: id("subnet-0e"),
            vpc_id: id("vpc-1"),
            availability_zone: "us-east-1a".into(),
            cidr: "10.0.2.0/26".parse().unwrap(),
            tags: [(OWNER_TAG.to_string(), "t".to_string())].into(),
        });
        let p = planned(&config, &o);
        let assoc: Vec<(&str, &str)> = p
            .actions
            .iter()
            .filter_map(|a| match &a.action {
                Action::AssociateRouteTable {
                    route_table_id,
                    subnet_id,
                    ..
                } => Some((subnet_id.as_str(), route_table_id.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(assoc, [("subnet-0e", "rtb-f")]);
        assert!(
            !p.actions
                .iter()
                .any(|a| matches!(a.action, Action::CreateResourceGateway { .. }))
        );
        assert!(
            !p.actions
                .iter()
                .any(|a| matches!(a.action, Action::CreateSubnet { .. })),
            "no second carve"
        );
        // Once associated, the gateway goes there.
        o.route_tables[1].associations.push(RouteTableAssociation {
            id: "rtbassoc-new".into(),
            subnet_id: id("subnet-0e"),
        });
        let p = planned(&config, &o);
        let gw = p.actions.iter().find_map(|a| match &a.action {
            Action::CreateResourceGateway { subnet_ids, .. } => Some(subnet_ids.clone()),
            _ => None,
        });
        assert_eq!(gw, Some(vec![id("subnet-0e"), id("subnet-b1")]));
    }

    #[test]
    fn a_pinned_subnet_on_another_route_table_is_refused_with_the_reason() {
        let (mut config, mut o) = world();
        route_tables(&mut o);
        config.gateway.subnet_ids = vec![id("subnet-a3"), id("subnet-b1")];
        let p = planned(&config, &o);
        assert!(
            !p.actions
                .iter()
                .any(|a| matches!(a.action, Action::CreateResourceGateway { .. }))
        );
        let r = p.refusals.iter().find(|r| r.subject == "fs-1").expect("refused");
        assert_eq!(r.kind, ErrorKind::InvalidInput);
        assert!(
            r.reason.contains("subnet-a3") && r.reason.contains("rtb-a") && r.reason.contains("rtb-f"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn a_gateway_in_subnets_that_cannot_reach_the_floating_ip_is_replaced() {
        let (config, mut o) = world();
        route_tables(&mut o);
        with_gateway(&mut o, &["subnet-a3", "subnet-b1"]); // a3 uses the main table
        our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        let p = planned(&config, &o);
        let gw = p.actions.iter().find_map(|a| match &a.action {
            Action::CreateResourceGateway { subnet_ids, .. } => Some((subnet_ids.clone(), a.why.clone())),
            _ => None,
        });
        let (subnets, why) = gw.expect("replacement planned");
        assert_eq!(subnets, vec![id("subnet-a2"), id("subnet-b1")]);
        assert!(why.contains("cannot reach") && why.contains("subnet-a3"), "{why}");
        // Nothing of the old path (its endpoint is available) is deleted before the new one serves.
        assert!(!p.actions.iter().any(|a| a.action.is_delete()), "{:#?}", p.actions);
    }

    #[test]
    fn the_main_table_is_the_file_systems_when_fsx_reports_none() {
        let (config, mut o) = world();
        route_tables(&mut o);
        o.file_systems[0].route_table_ids = vec![];
        o.route_tables[1].associations.clear(); // every subnet on the main table
        let p = planned(&config, &o);
        assert!(
            p.actions
                .iter()
                .any(|a| matches!(a.action, Action::CreateResourceGateway { .. })),
            "{:#?} {:?}",
            p.actions,
            p.refusals
        );
    }

    #[test]
    fn a_subnet_we_carved_leaves_its_route_table_before_it_is_deleted() {
        let (config, mut o) = world();
        route_tables(&mut o);
        o.subnets.push(Subnet {
            id: id("subnet-0e"),
            vpc_id: id("vpc-1"),
            availability_zone: "us-east-1a".into(),
            cidr: "10.0.2.0/26".parse().unwrap(),
            tags: [(OWNER_TAG.to_string(), "t".to_string())].into(),
        });
        o.route_tables[1].associations.push(RouteTableAssociation {
            id: "rtbassoc-0e".into(),
            subnet_id: id("subnet-0e"),
        });
        o.svms[0].tags.insert(tag_keys::EXPOSE.into(), "off".into());
        let p = planned(&config, &o);
        let order: Vec<&Action> = p.actions.iter().map(|a| &a.action).collect();
        let dis = order.iter().position(
            |a| matches!(a, Action::DisassociateRouteTable { association_id, .. } if association_id == "rtbassoc-0e"),
        );
        let del = order
            .iter()
            .position(|a| matches!(a, Action::DeleteSubnet { subnet_id } if subnet_id.as_str() == "subnet-0e"));
        assert!(matches!((dis, del), (Some(d), Some(s)) if d < s), "{order:#?}");
    }

    fn published(p: &Plan) -> Vec<&Action> {
        p.actions
            .iter()
            .map(|a| &a.action)
            .filter(|a| matches!(a, Action::PublishAlias { .. }))
            .collect()
    }

    fn record(name: &str, t: RecordType, v: &str, routing: Option<&str>) -> RecordSet {
        RecordSet {
            name: name.into(),
            record_type: t,
            ttl: 300,
            values: vec![v.into()],
            routing: routing.map(str::to_string),
        }
    }

    #[test]
    fn a_new_alias_is_created_never_upserted_and_ours_is_replaced_exactly() {
        let (config, mut o) = world();
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        let p = planned(&config, &o);
        let [
            Action::PublishAlias {
                cname,
                replaces_cname: None,
                txt: Some(txt),
                replaces_txt: None,
                ..
            },
        ] = published(&p)[..]
        else {
            panic!("{:#?}", p.actions)
        };
        assert_eq!(cname.values, ["vpce-0a.rcfg-1.x.on.aws"]);
        // Ours, pointing at an old endpoint: DELETE of exactly what was read + CREATE; the
        // ownership TXT is right already and is not rewritten.
        let old = record("files.corp.example", RecordType::CNAME, "vpce-0old.on.aws", None);
        o.records.insert(id("ZONE1"), vec![old.clone(), txt.clone()]);
        let p = planned(&config, &o);
        let [
            Action::PublishAlias {
                replaces_cname: Some(r),
                txt: None,
                ..
            },
        ] = published(&p)[..]
        else {
            panic!("{:#?}", p.actions)
        };
        assert_eq!(r, &old);
    }

    #[test]
    fn alias_weighted_and_other_type_records_at_the_name_are_foreign() {
        for (t, routing) in [
            (RecordType::CNAME, Some("set identifier blue")),
            (RecordType::A, Some("alias to x.elb.amazonaws.com.")),
            (RecordType::Other, None),
        ] {
            let (config, mut o) = world();
            with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
            our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
            o.records
                .insert(id("ZONE1"), vec![record("files.corp.example", t, "x", routing)]);
            let p = planned(&config, &o);
            assert!(published(&p).is_empty(), "{t:?} {routing:?}: {:#?}", p.actions);
            let r = p
                .refusals
                .iter()
                .find(|r| r.kind == ErrorKind::Conflict)
                .expect("refused");
            assert!(r.reason.contains("not ours"), "{}", r.reason);
            if let Some(routing) = routing {
                assert!(r.reason.contains(routing), "{}", r.reason);
            }
        }
    }

    #[test]
    fn deletes_are_told_apart_and_a_plan_runs_withdraw_build_publish_tear_down() {
        let rec = record("a.corp.example", RecordType::TXT, "\"x\"", None);
        let subnet: SubnetId = id("subnet-0e");
        for (a, delete, phase) in [
            (
                Action::DeleteAlias {
                    hosted_zone_id: id("ZONE1"),
                    cname: None,
                    txt: rec.clone(),
                },
                true,
                0,
            ),
            (
                Action::AssociateRouteTable {
                    vpc_id: id("vpc-1"),
                    route_table_id: id("rtb-f"),
                    subnet_id: subnet.clone(),
                },
                false,
                1,
            ),
            (
                Action::PublishAlias {
                    hosted_zone_id: id("ZONE1"),
                    cname: rec.clone(),
                    replaces_cname: None,
                    txt: None,
                    replaces_txt: None,
                },
                false,
                6,
            ),
            (
                Action::DeleteVpcEndpoint {
                    vpc_endpoint_id: id("vpce-0a"),
                },
                true,
                7,
            ),
            (
                Action::DisassociateRouteTable {
                    association_id: "rtbassoc-0e".into(),
                    subnet_id: subnet.clone(),
                },
                true,
                11,
            ),
            (Action::DeleteSubnet { subnet_id: subnet }, true, 12),
        ] {
            assert_eq!((a.is_delete(), a.phase()), (delete, phase), "{a:?}");
        }
        // In a real plan: every reservation before the gateway that needs it.
        let (config, mut o) = world();
        route_tables(&mut o);
        with_gateway(&mut o, &["subnet-a3", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        let p = planned(&config, &o);
        let phases: Vec<u8> = p.actions.iter().map(|a| a.action.phase()).collect();
        assert!(phases.windows(2).all(|w| w[0] <= w[1]), "{phases:?}");
        let last_reserve = p
            .actions
            .iter()
            .rposition(|a| matches!(a.action, Action::ReserveCidr { .. }));
        let gateway = p
            .actions
            .iter()
            .position(|a| matches!(a.action, Action::CreateResourceGateway { .. }));
        assert!(
            matches!((last_reserve, gateway), (Some(r), Some(g)) if r < g),
            "{:#?}",
            p.actions
        );
    }

    #[test]
    fn a_plan_is_converged_only_with_nothing_to_do_and_nothing_to_wait_for() {
        assert!(Plan::default().is_converged());
        let waiting = Plan {
            waiting: vec!["x".into()],
            ..Plan::default()
        };
        assert!(!waiting.is_converged());
        let (config, o) = world();
        assert!(!planned(&config, &o).is_converged(), "nothing built yet");
    }

    #[test]
    fn a_consumer_vpc_without_dns_is_refused_before_anything_is_built_for_it() {
        let (config, mut o) = world();
        o.vpcs[1].enable_dns_hostnames = false;
        let p = planned(&config, &o);
        let r = p.refusals.iter().find(|r| r.subject == "consumer c").expect("refused");
        assert!(r.reason.contains("enableDnsHostnames=false"), "{}", r.reason);
        assert!(!creates_endpoint(&p));
    }

    #[test]
    fn what_we_create_carries_our_owner_and_file_system_tags() {
        let (config, o) = world();
        let p = planned(&config, &o);
        let tags = p
            .actions
            .iter()
            .find_map(|a| match &a.action {
                Action::CreateResourceGateway { tags, .. } => Some(tags.clone()),
                _ => None,
            })
            .expect("a gateway is planned");
        assert_eq!(tags.get(OWNER_TAG).map(String::as_str), Some("t"));
        assert_eq!(tags.get(FILE_SYSTEM_TAG).map(String::as_str), Some("fs-1"));
        assert_eq!(tags.get(GENERATION_TAG).map(String::as_str), Some("1"));
    }

    #[test]
    fn a_gateway_without_an_eni_in_a_subnet_that_has_no_free_28_is_replaced() {
        let (config, mut o) = world();
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-0a", EndpointState::Failed);
        // Its ENI in subnet-a2 never came, and every block of subnet-a2 now holds a used address.
        o.network_interfaces.retain(|e| e.subnet_id.as_str() != "subnet-a2");
        fill(&mut o, "subnet-a2", 7);
        let p = planned(&config, &o);
        let why = p
            .actions
            .iter()
            .find_map(|a| matches!(a.action, Action::CreateResourceGateway { .. }).then(|| a.why.clone()))
            .expect("replacement planned");
        assert!(why.contains("cannot get a /28 in subnet-a2"), "{why}");
    }

    #[test]
    fn an_endpoint_in_other_subnets_than_the_consumer_wants_is_replaced() {
        let (config, mut o) = world();
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        o.endpoints[0].subnet_ids = vec![id("subnet-c9")];
        let p = planned(&config, &o);
        let subnets = p.actions.iter().find_map(|a| match &a.action {
            Action::CreateVpcEndpoint { subnet_ids, .. } => Some(subnet_ids.clone()),
            _ => None,
        });
        assert_eq!(subnets, Some(vec![id("subnet-c1")]));
    }
}
