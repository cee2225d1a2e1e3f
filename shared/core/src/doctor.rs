//! `fsxn-lattice doctor`: a read-only preflight and diagnosis of the account.
//!
//! [`gather`] reads (through the ports, [`crate::observe::observe`] plus
//! [`crate::audit::AuditRead`]); [`diagnose`] is pure: the same observations give the same
//! checks, in the same order, each with its status and the fix. Nothing here writes: an EC2
//! `DryRun` is refused by EC2 before it acts.

use crate::apply::{RetryPolicy, with_retry};
use crate::audit::*;
use crate::capacity::{ADDRESSES_PER_GATEWAY_ENI, SubnetCapacity, analyze_subnet, find_free_cidr};
use crate::config::Config;
use crate::desired::Desired;
use crate::error::{CloudError, ErrorKind, classify_code};
use crate::events::INSUFFICIENT_CIDR_BLOCKS;
use crate::ids::*;
use crate::model::*;
use crate::naming::{OWNER_TAG, is_owned};
use crate::observe::{Observed, observe};
use crate::ports::Reads;
use crate::time::rfc3339;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The principal VPC Lattice's service-linked role calls EC2 as (`userIdentity.invokedBy` and
/// `sourceIPAddress` of the seed's CloudTrail record).
pub const LATTICE_PRINCIPAL: &str = "vpc-lattice.amazonaws.com";
/// The EC2 call VPC Lattice makes for a gateway ENI.
pub const CREATE_NETWORK_INTERFACE: &str = "CreateNetworkInterface";
/// Event sources the EventBridge rules need recorded (template.yaml `FsxChanges`,
/// `GatewayAddressExhaustion`).
pub const RULE_EVENT_SOURCES: [&str; 2] = ["fsx.amazonaws.com", "ec2.amazonaws.com"];
/// `LookupEvents` reaches back 90 days at most ("You can look up events that occurred in a
/// Region within the last 90 days").
pub const MAX_LOOKBACK: Duration = Duration::from_secs(90 * 86_400);

/// ✓, warning or ✗.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// ✓
    Pass,
    /// `!`: works, or cannot be checked, but deserves a look.
    Warn,
    /// ✗: something will fail (or has failed).
    Fail,
}

impl Status {
    /// The symbol printed in text output.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Pass => "✓",
            Self::Warn => "!",
            Self::Fail => "✗",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// `cloudtrail`, `fsx`, `svm`, `subnet`, `consumer`, `dns`, `permission`, `resource`,
    /// `account`, and with `[directory]` (live only) [`DIRECTORY_AREA`].
    pub area: String,
    /// What it is about (an id or a name).
    pub subject: String,
    /// The verdict.
    pub status: Status,
    /// What was found.
    pub message: String,
    /// What to do about it, when there is something to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(area: &str, subject: impl Into<String>, status: Status, message: impl Into<String>) -> Check {
    Check {
        area: area.into(),
        subject: subject.into(),
        status,
        message: message.into(),
        fix: None,
    }
}

impl Check {
    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// A trail and what its two per-trail reads said. Made only for trails that
/// [`Trail::covers`] the Region checked; both reads address the trail by ARN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrailReport {
    /// As `DescribeTrails` listed it.
    pub trail: Trail,
    /// `GetTrailStatus`, or the error it gave after retries.
    pub status: Attempt<TrailStatus>,
    /// `GetEventSelectors`, or the error it gave after retries.
    pub selectors: Attempt<EventSelectors>,
}

/// A stack role and its simulated decisions. Roles for which [`role_actions`] knows no actions
/// get no report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleReport {
    /// From `DescribeStackResources` of the `--stack` given.
    pub role: StackRole,
    /// The `ActionNames` simulated: [`role_actions`] of the role's logical id.
    pub actions: Vec<String>,
    /// `SimulatePrincipalPolicy`'s results, or the error it gave after retries.
    pub decisions: Attempt<Vec<PolicyDecision>>,
}

/// Everything [`gather`] read besides the planner's [`Observed`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditObservation {
    /// The Region checked ([`GatherOptions::region`]).
    pub region: String,
    /// When the reads ended, Unix seconds from the `Clock` port.
    pub now: u64,
    /// `DescribeTrails` and, per trail covering the Region, status and selectors.
    pub trails: Attempt<Vec<TrailReport>>,
    /// Each `DryRun` as (label such as `ec2:CreateSubnet`, answer), or as (label, why it was
    /// not sent: no file system exposed, no free CIDR, no configuration to name). Empty when
    /// the planner's reads failed.
    pub dry_runs: Vec<(String, Result<Attempt<DryRunAnswer>, String>)>,
    /// `--stack`: the stack name, and its roles' simulations. `None` without `--stack`.
    pub stack: Option<(String, Attempt<Vec<RoleReport>>)>,
    /// VPC associations (`GetHostedZone`'s `VPCs`) of the consumers' zones that were observed
    /// and are private.
    pub zone_vpcs: BTreeMap<HostedZoneId, Attempt<Vec<VpcId>>>,
    /// The `LookupEvents` query made for failed gateways and endpoints, if any failed.
    pub lookup: Option<(LookupQuery, Attempt<LookupResult>)>,
    /// The DNS servers each consumer VPC's DHCP options give its clients, for the consumer
    /// VPCs that were observed.
    #[serde(default)]
    pub dhcp: BTreeMap<VpcId, Attempt<DhcpDns>>,
}

/// Options of [`gather`], set by the CLI's `doctor` flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatherOptions {
    /// Region the clients talk to: trails that do not cover it are skipped, and messages
    /// name it.
    pub region: String,
    /// The deployed CloudFormation stack name, to simulate its roles' policies; `None` skips
    /// the permission simulation (the `DryRun`s still run).
    pub stack: Option<String>,
    /// How far back `LookupEvents` looks for the cause of a failure (at most [`MAX_LOOKBACK`]).
    pub lookback: Duration,
    /// At most this many `CreateNetworkInterface` events are read.
    pub max_lookup_events: usize,
    /// Retry of transient read errors.
    pub retry: RetryPolicy,
}

/// The actions a function role needs, for `SimulatePrincipalPolicy`: VPC Lattice and Route 53
/// (what `iam:SimulatePrincipalPolicy` can tell; EC2's are checked by `DryRun`), plus the EC2
/// ENI actions VPC Lattice requires of the caller of `CreateResourceGateway` (VPC Lattice user
/// guide, "Amazon VPC Lattice API permissions"; docs/design.md §10). Keyed by SAM's role logical id.
/// `shared/aws/tests/audit.rs` keeps it equal to those actions of the IAM table
/// (`fsxn_lattice_aws::iam`) for each role's capabilities.
pub fn role_actions(logical_id: &str) -> Option<Vec<&'static str>> {
    // Every function observes first.
    const READ: &[&str] = &[
        "vpc-lattice:ListResourceGateways",
        "vpc-lattice:ListResourceConfigurations",
        "vpc-lattice:GetResourceConfiguration",
        "vpc-lattice:ListTagsForResource",
        "vpc-lattice:ListServiceNetworkResourceAssociations",
        "vpc-lattice:ListDomainVerifications",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "route53:GetHostedZone",
        "route53:ListResourceRecordSets",
    ];
    const INFRASTRUCTURE: &[&str] = &[
        "vpc-lattice:CreateResourceGateway",
        "vpc-lattice:UpdateResourceGateway",
        "vpc-lattice:DeleteResourceGateway",
        "vpc-lattice:CreateResourceConfiguration",
        "vpc-lattice:UpdateResourceConfiguration",
        "vpc-lattice:DeleteResourceConfiguration",
        "vpc-lattice:TagResource",
        "vpc-lattice:CreateServiceNetworkResourceAssociation",
        "vpc-lattice:DeleteServiceNetworkResourceAssociation",
        "vpc-lattice:StartDomainVerification",
        "vpc-lattice:DeleteDomainVerification",
        // A Resource VPC endpoint associates the configuration through EC2, and private DNS
        // associates a VPC Lattice-managed zone with the consumer VPC (dependent actions of
        // CreateVpcEndpoint in the IAM table).
        "vpc-lattice:AssociateViaAWSService",
        "route53:AssociateVPCWithHostedZone",
        "ec2:CreateNetworkInterface",
        "ec2:CreateNetworkInterfacePermission",
        "ec2:AssignPrivateIpAddresses",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeSecurityGroups",
    ];
    const DNS: &[&str] = &["route53:ChangeResourceRecordSets", "route53:GetChange"];
    let v: Vec<&'static str> = match logical_id {
        "ProvisionFunctionRole" | "HealFunctionRole" => [READ, INFRASTRUCTURE].concat(),
        "PublishAliasFunctionRole" => [READ, DNS].concat(),
        "ReconcileFunctionRole" => [READ, INFRASTRUCTURE, DNS].concat(),
        _ => return None,
    };
    Some(v)
}

/// The condition context a simulation needs for the stack's conditional statements
/// (ownership tags on create and on existing resources, record types in Route 53 changes).
pub fn simulation_context(config: &Config) -> Vec<(String, Vec<String>)> {
    vec![
        (format!("aws:RequestTag/{OWNER_TAG}"), vec![config.owner.clone()]),
        (format!("aws:ResourceTag/{OWNER_TAG}"), vec![config.owner.clone()]),
        ("aws:TagKeys".into(), vec![OWNER_TAG.into()]),
        (
            "route53:ChangeResourceRecordSetsRecordTypes".into(),
            vec!["CNAME".into(), "TXT".into()],
        ),
    ]
}

/// The `DryRun` calls worth sending for this world: each create call the functions make, with
/// parameters valid enough that only permissions decide (a free CIDR, a free /28, an existing
/// configuration). A call that cannot be formed says why.
pub fn dry_run_calls(
    config: &Config,
    observed: &Observed,
    desired: &Desired,
) -> Vec<(String, Result<DryRunCall, String>)> {
    let mut out = Vec::new();
    let fs = exposed_file_systems(observed, desired, config).into_iter().next();
    let Some(fs) = fs else {
        return vec![(
            "ec2:Create*".into(),
            Err("no exposed file system: nothing to dry-run against".into()),
        )];
    };
    let vpc = observed.vpcs.iter().find(|v| v.id == fs.vpc_id);
    let subnets: Vec<&Subnet> = observed.subnets.iter().filter(|s| s.vpc_id == fs.vpc_id).collect();
    if config.gateway.allow_subnet_creation {
        let az = subnets
            .iter()
            .find(|s| fs.subnet_ids.contains(&s.id))
            .map(|s| s.availability_zone.clone());
        let mut taken: Vec<Ipv4Net> = subnets.iter().map(|s| s.cidr).collect();
        taken.extend(fs.endpoint_ip_address_range);
        let cidr = vpc.and_then(|v| find_free_cidr(&v.cidr_blocks, &taken, config.gateway.new_subnet_prefix_length));
        out.push((
            "ec2:CreateSubnet".into(),
            match (az, cidr) {
                (Some(availability_zone), Some(cidr)) => Ok(DryRunCall::CreateSubnet {
                    vpc_id: fs.vpc_id.clone(),
                    availability_zone,
                    cidr,
                }),
                _ => Err(format!(
                    "no free /{} left in {}",
                    config.gateway.new_subnet_prefix_length, fs.vpc_id
                )),
            },
        ));
        out.push((
            "ec2:AssociateRouteTable".into(),
            match (fs_route_tables(observed, fs).first(), fs.subnet_ids.first()) {
                (Some(rt), Some(s)) => Ok(DryRunCall::AssociateRouteTable {
                    route_table_id: rt.clone(),
                    subnet_id: s.clone(),
                }),
                _ => Err(format!("{} reports no route table", fs.id)),
            },
        ));
    }
    let block = subnets.iter().find_map(|s| {
        let c = analyze_subnet(s, &observed.network_interfaces, &observed.cidr_reservations);
        c.unreserved_free_blocks().next().map(|b| (s.id.clone(), *b))
    });
    out.push((
        "ec2:CreateSubnetCidrReservation".into(),
        block
            .map(|(subnet_id, cidr)| DryRunCall::CreateSubnetCidrReservation { subnet_id, cidr })
            .ok_or_else(|| format!("no subnet of {} has a free aligned /28 to reserve", fs.vpc_id)),
    ));
    let arn = observed
        .configurations
        .iter()
        .filter(|c| is_owned(&c.tags, &config.owner))
        .chain(&observed.configurations)
        .map(|c| c.arn.clone())
        .next();
    // A consumer in another account is created through its role, not with these credentials.
    for c in config.consumers.iter().filter(|c| c.account.is_none()) {
        out.push((
            format!("ec2:CreateVpcEndpoint ({})", c.name),
            arn.clone()
                .map(|resource_configuration_arn| DryRunCall::CreateVpcEndpoint {
                    vpc_id: c.vpc_id.clone(),
                    subnet_ids: c.subnet_ids.clone(),
                    resource_configuration_arn,
                })
                .ok_or_else(|| "no resource configuration exists yet to name in the request".to_string()),
        ));
    }
    out
}

/// File systems the doctor looks at: those of exposed or refused SVMs and of our gateways.
fn exposed_file_systems<'a>(observed: &'a Observed, desired: &Desired, config: &Config) -> Vec<&'a FileSystem> {
    let mut ids: BTreeSet<&FileSystemId> = desired.exposures.values().map(|e| &e.file_system_id).collect();
    for e in &config.exposures {
        if let Some(s) = observed.svms.iter().find(|s| s.id == e.svm_id) {
            ids.insert(&s.file_system_id);
        }
    }
    let owned: Vec<FileSystemId> = observed
        .gateways
        .iter()
        .filter(|g| is_owned(&g.tags, &config.owner))
        .flat_map(|g| observed.file_systems.iter().filter(move |f| f.vpc_id == g.vpc_id))
        .map(|f| f.id.clone())
        .collect();
    observed
        .file_systems
        .iter()
        .filter(|f| ids.contains(&f.id) || owned.contains(&f.id))
        .collect()
}

/// Failed gateways and endpoints of ours, each with the gateway and subnets to search.
fn failures(config: &Config, observed: &Observed) -> Vec<(String, GatewayId, Vec<SubnetId>)> {
    let ours = |t: &Tags| is_owned(t, &config.owner);
    let mut out = Vec::new();
    for g in observed.gateways.iter().filter(|g| ours(&g.tags)) {
        if matches!(g.status, GatewayStatus::CreateFailed | GatewayStatus::UpdateFailed) {
            out.push((g.id.to_string(), g.id.clone(), g.subnet_ids.clone()));
        }
    }
    for e in observed.endpoints.iter().filter(|e| ours(&e.tags)) {
        if e.state != EndpointState::Failed {
            continue;
        }
        let gw = observed
            .configurations
            .iter()
            .find(|c| c.arn == e.resource_configuration_arn)
            .and_then(|c| observed.gateways.iter().find(|g| g.id == c.gateway_id));
        if let Some(g) = gw {
            out.push((e.id.to_string(), g.id.clone(), g.subnet_ids.clone()));
        }
    }
    out
}

/// Reads everything the doctor looks at. Never fails: a read that fails is kept and reported
/// as a check.
pub async fn gather<C, A>(
    cloud: &C,
    audit: &A,
    config: &Config,
    options: &GatherOptions,
) -> (Attempt<(Observed, Desired)>, AuditObservation)
where
    C: Reads + ?Sized,
    A: AuditRead + ?Sized,
{
    let policy = &options.retry;
    let observed = observe(cloud, config, policy).await;
    let trails = match with_retry(cloud, policy, "DescribeTrails", || audit.describe_trails()).await {
        Ok(trails) => {
            let mut reports = Vec::new();
            for trail in trails.into_iter().filter(|t| t.covers(&options.region)) {
                let status = with_retry(cloud, policy, "GetTrailStatus", || audit.get_trail_status(&trail.arn)).await;
                let selectors = with_retry(cloud, policy, "GetEventSelectors", || {
                    audit.get_event_selectors(&trail.arn)
                })
                .await;
                reports.push(TrailReport {
                    trail,
                    status,
                    selectors,
                });
            }
            Ok(reports)
        }
        Err(e) => Err(e),
    };
    let mut dry_runs = Vec::new();
    let mut zone_vpcs = BTreeMap::new();
    let mut dhcp = BTreeMap::new();
    let mut lookup = None;
    if let Ok((o, d)) = &observed {
        for (label, call) in dry_run_calls(config, o, d) {
            let answer = match call {
                Ok(call) => Ok(with_retry(cloud, policy, "DryRun", || audit.dry_run(&call)).await),
                Err(why) => Err(why),
            };
            dry_runs.push((label, answer));
        }
        let home = || config.consumers.iter().filter(|c| c.account.is_none());
        for zone in home().filter_map(|c| c.hosted_zone_id.as_ref()) {
            if o.hosted_zones.iter().any(|z| &z.id == zone && z.private) {
                let vpcs = with_retry(cloud, policy, "GetHostedZone", || audit.hosted_zone_vpcs(zone)).await;
                zone_vpcs.insert(zone.clone(), vpcs);
            }
        }
        for vpc in home().map(|c| &c.vpc_id) {
            if o.vpcs.iter().any(|v| &v.id == vpc) && !dhcp.contains_key(vpc) {
                let servers = with_retry(cloud, policy, "DescribeDhcpOptions", || audit.vpc_dhcp_dns(vpc)).await;
                dhcp.insert(vpc.clone(), servers);
            }
        }
        if !failures(config, o).is_empty() {
            let now = cloud.now();
            let query = LookupQuery {
                event_name: CREATE_NETWORK_INTERFACE.into(),
                start_time: now.saturating_sub(options.lookback.min(MAX_LOOKBACK).as_secs()),
                end_time: now,
                max_events: options.max_lookup_events,
            };
            let result = with_retry(cloud, policy, "LookupEvents", || audit.lookup_events(&query)).await;
            lookup = Some((query, result));
        }
    }
    let stack = match &options.stack {
        None => None,
        Some(name) => {
            let roles = match with_retry(cloud, policy, "DescribeStackResources", || audit.stack_roles(name)).await {
                Ok(roles) => {
                    let mut reports = Vec::new();
                    for role in roles {
                        let Some(actions) = role_actions(&role.logical_id) else {
                            continue;
                        };
                        let request = SimulationRequest {
                            principal_arn: role.arn.clone(),
                            actions: actions.iter().map(|a| a.to_string()).collect(),
                            context: simulation_context(config),
                        };
                        let decisions = with_retry(cloud, policy, "SimulatePrincipalPolicy", || {
                            audit.simulate_principal_policy(&request)
                        })
                        .await;
                        reports.push(RoleReport {
                            role,
                            actions: request.actions,
                            decisions,
                        });
                    }
                    Ok(reports)
                }
                Err(e) => Err(e),
            };
            Some((name.clone(), roles))
        }
    };
    let audit_observation = AuditObservation {
        region: options.region.clone(),
        now: cloud.now(),
        trails,
        dry_runs,
        stack,
        zone_vpcs,
        lookup,
        dhcp,
    };
    (observed, audit_observation)
}

/// The checks, in a fixed order: CloudTrail, file systems and SVMs, subnets, consumers, the
/// consumers' DNS, permissions, existing resources. Pure.
pub fn diagnose(config: &Config, observed: &Attempt<(Observed, Desired)>, audit: &AuditObservation) -> Vec<Check> {
    let mut out = vec![trail_check(&audit.region, &audit.trails)];
    match observed {
        Ok((o, d)) => {
            file_system_checks(config, o, d, &mut out);
            subnet_checks(config, o, d, &mut out);
            account_checks(config, o, &mut out);
            consumer_checks(config, o, audit, &mut out);
            dns_checks(config, o, audit, &mut out);
            custom_domain_checks(config, o, &mut out);
            permission_checks(audit, &mut out);
            resource_checks(config, o, audit, &mut out);
        }
        Err(e) => {
            out.push(
                check(
                    "account",
                    e.operation.clone(),
                    Status::Fail,
                    format!("cannot read the account: {e}"),
                )
                .fix("check the credentials and Region; the doctor needs the reads of the stack's ObservePolicy (template.yaml)"),
            );
            permission_checks(audit, &mut out);
        }
    }
    out
}

fn trail_kind(t: &Trail, region: &str) -> String {
    let mut kinds = Vec::new();
    if t.is_organization_trail {
        kinds.push("organization trail".to_string());
    }
    if t.is_multi_region {
        kinds.push("multi-Region".to_string());
    }
    if t.home_region != region {
        kinds.push(format!("shadow of {}", t.home_region));
    }
    if kinds.is_empty() {
        String::new()
    } else {
        format!(" ({})", kinds.join(", "))
    }
}

fn trail_check(region: &str, trails: &Attempt<Vec<TrailReport>>) -> Check {
    const WHY: &str = "\"AWS API Call via CloudTrail\" events exist only for calls a trail with logging on records, so without one the EventBridge rules FsxChanges and GatewayAddressExhaustion never fire and only the scheduled reconcile (ReconcileSchedule) heals";
    const FIX: &str = "turn logging on (`aws cloudtrail start-logging --name <trail ARN>`), or deploy the stack's own trail (`sam deploy --parameter-overrides CreateTrail=true …`), or create a trail that logs management write events (`aws cloudtrail create-trail --name fsxn-lattice --s3-bucket-name <bucket> --is-multi-region-trail`, then `aws cloudtrail start-logging --name fsxn-lattice`)";
    let reports = match trails {
        Ok(r) => r,
        Err(e) => {
            return check(
                "cloudtrail",
                region,
                Status::Warn,
                format!("cannot list the trails ({}: {}); {WHY}", e.code, e.message),
            )
            .fix("allow cloudtrail:DescribeTrails, cloudtrail:GetTrailStatus and cloudtrail:GetEventSelectors to the identity running the doctor");
        }
    };
    let mut problems = Vec::new();
    let mut unreadable = None;
    for r in reports {
        let name = format!("{}{}", r.trail.name, trail_kind(&r.trail, region));
        match (&r.status, &r.selectors) {
            (Ok(s), _) if !s.is_logging => problems.push(format!("{name}: logging is off")),
            (Ok(_), Ok(sel)) => {
                let missing: Vec<&str> = RULE_EVENT_SOURCES
                    .iter()
                    .copied()
                    .filter(|src| !sel.logs_management_writes_of(src))
                    .collect();
                if missing.is_empty() {
                    return check(
                        "cloudtrail",
                        region,
                        Status::Pass,
                        format!(
                            "trail {name} is logging management write events of FSx and EC2 in {region}: the EventBridge rules get their events"
                        ),
                    );
                }
                problems.push(format!(
                    "{name}: its event selectors leave out management write events of {}",
                    missing.join(" and ")
                ));
            }
            (Ok(_), Err(e)) | (Err(e), _) => {
                unreadable.get_or_insert_with(|| format!("{name}: {} ({})", e.code, e.message));
            }
        }
    }
    if let Some(u) = unreadable {
        return check(
            "cloudtrail",
            region,
            Status::Warn,
            format!("cannot tell whether a trail logs management write events in {region}: {u}"),
        )
        .fix("allow cloudtrail:GetTrailStatus and cloudtrail:GetEventSelectors (an organization trail from a member account needs its full ARN, which the doctor uses)");
    }
    let found = if problems.is_empty() {
        format!("no trail covers {region}")
    } else {
        problems.join("; ")
    };
    check(
        "cloudtrail",
        region,
        Status::Fail,
        format!("no trail logs management write events in {region} ({found}): {WHY}"),
    )
    .fix(FIX)
}

/// The name AWS gives a value (its serialized string), e.g. `MULTI_AZ_1`.
fn aws_name<T: Serialize + std::fmt::Debug>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => format!("{v:?}"),
    }
}

fn endpoint_summary(svm: &StorageVirtualMachine) -> String {
    let e = &svm.endpoints;
    let mut parts = Vec::new();
    for (name, ep) in [("SMB", &e.smb), ("NFS", &e.nfs), ("management", &e.management)] {
        if let Some(ep) = ep {
            let ips: Vec<String> = ep.ip_addresses.iter().map(|i| i.to_string()).collect();
            parts.push(format!("{name} {}", ips.join(",")));
        }
    }
    if parts.is_empty() {
        "no SMB, NFS or management endpoint".into()
    } else {
        parts.join(", ")
    }
}

fn file_system_checks(config: &Config, o: &Observed, d: &Desired, out: &mut Vec<Check>) {
    let file_systems = exposed_file_systems(o, d, config);
    if file_systems.is_empty() && d.refusals.is_empty() {
        out.push(
            check(
                "fsx",
                "exposures",
                Status::Warn,
                format!(
                    "no SVM is exposed: none carries the `{}` tag (on itself or its file system) and the config has no [[exposures]]",
                    config.tags.expose
                ),
            )
            .fix(format!(
                "aws fsx tag-resource --resource-arn <svm arn> --tags Key={},Value=smb,nfs",
                config.tags.expose
            )),
        );
    }
    for fs in file_systems {
        let dt = aws_name(&fs.deployment_type);
        out.push(if fs.deployment_type.is_multi_az() {
            check(
                "fsx",
                fs.id.to_string(),
                Status::Pass,
                format!("deployment type {dt}: SVMs serve on floating IPs that only VPC-internal routes reach"),
            )
        } else {
            check(
                "fsx",
                fs.id.to_string(),
                Status::Fail,
                format!("deployment type {dt}: its SVM endpoints sit in its subnets and are reachable over peering without VPC Lattice"),
            )
            .fix(format!("remove the `{}` tag (or [[exposures]] entry) of its SVMs", config.tags.expose))
        });
        let vpc = o.vpcs.iter().find(|v| v.id == fs.vpc_id);
        let cidrs: Vec<String> = vpc
            .map(|v| v.cidr_blocks.iter().map(|c| c.to_string()).collect())
            .unwrap_or_default();
        out.push(match fs.endpoint_ip_address_range {
            None => check(
                "fsx",
                fs.id.to_string(),
                Status::Warn,
                "no EndpointIpAddressRange reported: the floating IPs cannot be placed",
            ),
            Some(range) if vpc.is_some_and(|v| v.cidr_blocks.iter().any(|c| c.contains(&range))) => check(
                "fsx",
                fs.id.to_string(),
                Status::Pass,
                format!(
                    "endpoint IP range {range} lies inside {} ({}), outside every subnet",
                    fs.vpc_id,
                    cidrs.join(", ")
                ),
            ),
            Some(range) => check(
                "fsx",
                fs.id.to_string(),
                Status::Fail,
                format!(
                    "endpoint IP range {range} lies outside {} ({}): VPC Lattice accepts an ipResource only inside the gateway's VPC (assumed refused, UNCONFIRMED; docs/design.md §4)",
                    fs.vpc_id,
                    cidrs.join(", ")
                ),
            )
            .fix("use a file system whose EndpointIpAddressRange is inside its VPC's CIDR (FSx's recommended setting; set at creation)"),
        });
        out.push(route_table_check(o, fs));
        for svm in o.svms.iter().filter(|s| s.file_system_id == fs.id) {
            let Some(x) = d.exposures.get(&svm.id) else {
                continue;
            };
            let protocols: Vec<String> = x.protocols.iter().map(aws_name).collect();
            let in_range = fs.endpoint_ip_address_range.is_some_and(|r| r.contains(&x.target_ip));
            let alias = x.alias.as_deref().unwrap_or("no alias");
            let source = match x.source {
                crate::desired::Source::Config => "by the config",
                crate::desired::Source::SvmTag => "by its tag",
                crate::desired::Source::FileSystemTag => "by its file system's tag",
            };
            let msg = format!(
                "{} — {}; exposed {source}: {} on {} to {}; {alias}",
                svm.name,
                endpoint_summary(svm),
                protocols.join(","),
                x.target_ip,
                x.consumers.join(",")
            );
            let (candidates, routed) = reachable_from(config, o, fs, x.target_ip);
            let reach = format!(
                "; {} reachable from {} of {} candidate gateway subnet(s){}",
                x.target_ip,
                routed.len(),
                candidates,
                if routed.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", join(&routed))
                }
            );
            let msg = format!("{msg}{reach}");
            out.push(if candidates > 0 && routed.is_empty() {
                check("svm", svm.id.to_string(), Status::Fail, format!("{msg}: no gateway subnet's route table has a route to it"))
                    .fix(format!(
                        "associate the gateway subnets with one of {}'s route tables ({}), or leave gateway.subnet_ids empty so placement picks routed subnets",
                        fs.id,
                        join(&fs_route_tables(o, fs))
                    ))
            } else if in_range || fs.endpoint_ip_address_range.is_none() {
                check("svm", svm.id.to_string(), Status::Pass, msg)
            } else {
                check(
                    "svm",
                    svm.id.to_string(),
                    Status::Warn,
                    format!("{msg}; {} is outside the endpoint IP range", x.target_ip),
                )
            });
        }
    }
    for r in &d.refusals {
        out.push(
            check(
                "svm",
                r.subject.clone(),
                Status::Fail,
                format!("refused ({}): {}", r.kind, r.reason),
            )
            .fix("see the reason; `fsxn-lattice plan` shows the same refusal"),
        );
    }
}

/// The file system's route tables: `RouteTableIds`, or the VPC's main table when FSx reported
/// none (its documented default; docs/design.md §10).
fn fs_route_tables(o: &Observed, fs: &FileSystem) -> Vec<RouteTableId> {
    if !fs.route_table_ids.is_empty() {
        return fs.route_table_ids.clone();
    }
    o.route_tables
        .iter()
        .filter(|t| t.main && t.vpc_id == fs.vpc_id)
        .map(|t| t.id.clone())
        .collect()
}

/// The route a table holds to `ip` other than the VPC's `local` one (which covers the floating
/// IPs' addresses but delivers to no subnet): the route FSx writes for its endpoint range.
fn floating_ip_route(table: &RouteTable, ip: std::net::Ipv4Addr) -> Option<&Route> {
    table
        .routes
        .iter()
        .filter(|r| r.target != "local" && r.destination.contains(&ip))
        .max_by_key(|r| r.destination.prefix_len())
}

/// How a subnet's traffic reaches `ip`.
enum Reach<'a> {
    /// Its route table (explicit or main) holds a route to it.
    Routed(&'a RouteTable),
    /// Its route table does not.
    Unrouted(&'a RouteTable),
    /// No route table of its VPC was observed.
    Unknown,
}

fn reach<'a>(o: &'a Observed, subnet: &Subnet, ip: std::net::Ipv4Addr) -> Reach<'a> {
    match effective_route_table(&o.route_tables, subnet) {
        Some(t) if floating_ip_route(t, ip).is_some() => Reach::Routed(t),
        Some(t) => Reach::Unrouted(t),
        None => Reach::Unknown,
    }
}

/// The candidate gateway subnets (the pinned ones, else every subnet of the file system's VPC)
/// and those whose route table reaches `ip`.
fn reachable_from(config: &Config, o: &Observed, fs: &FileSystem, ip: std::net::Ipv4Addr) -> (usize, Vec<SubnetId>) {
    let candidates: Vec<&Subnet> = o
        .subnets
        .iter()
        .filter(|s| s.vpc_id == fs.vpc_id)
        .filter(|s| config.gateway.subnet_ids.is_empty() || config.gateway.subnet_ids.contains(&s.id))
        .collect();
    let routed = candidates
        .iter()
        .filter(|s| matches!(reach(o, s, ip), Reach::Routed(_) | Reach::Unknown))
        .map(|s| s.id.clone())
        .collect();
    (candidates.len(), routed)
}

fn route_table_check(o: &Observed, fs: &FileSystem) -> Check {
    let subject = fs.id.to_string();
    let tables = fs_route_tables(o, fs);
    let defaulted = if fs.route_table_ids.is_empty() {
        " (none reported: FSx's default, the VPC's main table)"
    } else {
        ""
    };
    if tables.is_empty() {
        return check(
            "fsx",
            subject,
            Status::Warn,
            format!(
                "no RouteTableIds reported and no main route table of {} observed: reachability of the floating IPs cannot be checked",
                fs.vpc_id
            ),
        );
    }
    let Some(range) = fs.endpoint_ip_address_range else {
        return check(
            "fsx",
            subject,
            Status::Warn,
            format!(
                "route tables {}{defaulted}; no endpoint IP range to look for",
                join(&tables)
            ),
        );
    };
    let mut missing = Vec::new();
    let mut found = Vec::new();
    for id in &tables {
        match o.route_tables.iter().find(|t| &t.id == id) {
            Some(t) => match floating_ip_route(t, range.network()) {
                Some(r) => found.push(format!("{id} ({} → {})", r.destination, r.target)),
                None => missing.push(format!("{id} has no route to {range}")),
            },
            None => missing.push(format!("{id} was not found")),
        }
    }
    if missing.is_empty() {
        check(
            "fsx",
            subject,
            Status::Pass,
            format!(
                "floating-IP routes are in its route tables {}{defaulted}: a gateway subnet must use one of them (FSx writes the routes only there; docs/design.md §10)",
                found.join(", ")
            ),
        )
    } else {
        check(
            "fsx",
            subject,
            Status::Warn,
            format!("route tables {}{defaulted}: {}", join(&tables), missing.join("; ")),
        )
        .fix("FSx writes the endpoint-range routes while the file system is AVAILABLE; check its RouteTableIds (aws fsx describe-file-systems)")
    }
}

fn capacity_summary(c: &SubnetCapacity) -> String {
    format!(
        "{} free addresses, {} free aligned /28 of {} candidate blocks",
        c.free_addresses,
        c.free_prefix_blocks.len(),
        c.candidate_blocks
    )
}

/// Whether a subnet shows the seed's failure shape: plenty of free addresses, no free /28.
pub fn is_fragmented(c: &SubnetCapacity) -> bool {
    c.free_prefix_blocks.is_empty() && c.candidate_blocks > 0 && c.free_addresses >= ADDRESSES_PER_GATEWAY_ENI
}

fn subnet_checks(config: &Config, o: &Observed, d: &Desired, out: &mut Vec<Check>) {
    let file_systems = exposed_file_systems(o, d, config);
    let vpcs: BTreeSet<&VpcId> = file_systems.iter().map(|f| &f.vpc_id).collect();
    let ours = |t: &Tags| is_owned(t, &config.owner);
    let gateway_subnets: BTreeMap<&SubnetId, &GatewayId> = o
        .gateways
        .iter()
        .filter(|g| ours(&g.tags))
        .flat_map(|g| g.subnet_ids.iter().map(move |s| (s, &g.id)))
        .collect();
    for s in o.subnets.iter().filter(|s| vpcs.contains(&s.vpc_id)) {
        let c = analyze_subnet(s, &o.network_interfaces, &o.cidr_reservations);
        let mut notes = Vec::new();
        if ours(&s.tags) {
            notes.push("carved by fsxn-lattice".to_string());
        }
        let pinned = config.gateway.subnet_ids.contains(&s.id);
        if pinned {
            notes.push("pinned in gateway.subnet_ids".to_string());
        }
        if let Some(g) = gateway_subnets.get(&s.id) {
            notes.push(format!("used by our {g}"));
        }
        let reservations: Vec<String> = o
            .cidr_reservations
            .iter()
            .filter(|r| r.subnet_id == s.id && ours(&r.tags))
            .map(|r| format!("{} ({:?})", r.cidr, r.reservation_type).to_lowercase())
            .collect();
        if !reservations.is_empty() {
            notes.push(format!("our reservations {}", reservations.join(", ")));
        }
        let foreign = o
            .cidr_reservations
            .iter()
            .filter(|r| r.subnet_id == s.id && !ours(&r.tags))
            .count();
        if foreign > 0 {
            notes.push(format!("{foreign} reservation(s) of others"));
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" [{}]", notes.join("; "))
        };
        let subject = format!("{} {} {}", s.id, s.availability_zone, s.cidr);
        let line = if c.can_host_gateway_eni() {
            check(
                "subnet",
                subject,
                Status::Pass,
                format!(
                    "{}: a gateway ENI (a primary IP + one /28) fits{notes}",
                    capacity_summary(&c)
                ),
            )
        } else {
            let status = if pinned && !config.gateway.heal {
                Status::Fail
            } else {
                Status::Warn
            };
            let what = if is_fragmented(&c) {
                format!(
                    "{} free addresses but 0 free aligned /28 — fragmented, the seed's \"212 free but no /28\" case: a gateway ENI here fails with \"There aren't sufficient free Ipv4 addresses or prefixes\"",
                    c.free_addresses
                )
            } else {
                c.reason().unwrap_or_else(|| capacity_summary(&c))
            };
            let fix = if pinned {
                "leave gateway.subnet_ids empty so placement picks a subnet with a free /28 (or carves a /26); with gateway.heal on, a gateway placed here is replaced"
            } else {
                "nothing to do unless you pin it: placement skips subnets without a free /28"
            };
            check("subnet", subject, status, format!("{what}{notes}")).fix(fix)
        };
        out.push(with_routing(
            config,
            o,
            &file_systems,
            s,
            pinned || gateway_subnets.contains_key(&s.id),
            line,
        ));
    }
}

/// Adds to a subnet's line whether its route table reaches the floating IPs of the file
/// system(s) of its VPC; a gateway subnet (pinned, or used by one of our gateways) that does
/// not is a failure: an endpoint through it shows available while every connection times out.
fn with_routing(
    config: &Config,
    o: &Observed,
    file_systems: &[&FileSystem],
    s: &Subnet,
    gateway_subnet: bool,
    mut line: Check,
) -> Check {
    for fs in file_systems.iter().filter(|f| f.vpc_id == s.vpc_id) {
        let Some(range) = fs.endpoint_ip_address_range else {
            continue;
        };
        match reach(o, s, range.network()) {
            Reach::Routed(t) => {
                line.message
                    .push_str(&format!("; its route table {} reaches {range}", t.id));
            }
            Reach::Unknown => line.message.push_str("; no route table observed"),
            Reach::Unrouted(t) => {
                let tables = join(&fs_route_tables(o, fs));
                line.message.push_str(&format!(
                    "; its route table {}{} has no route to {range}: gateway ENIs here cannot reach {}'s SVMs (FSx writes those routes only into {tables})",
                    t.id,
                    if t.main { " (the VPC's main table)" } else { "" },
                    fs.id
                ));
                let fix = format!(
                    "aws ec2 associate-route-table --subnet-id {} --route-table-id <one of {tables}>, or add {} to the file system (aws fsx update-file-system --file-system-id {} --ontap-configuration AddRouteTableIds={})",
                    s.id, t.id, fs.id, t.id
                );
                if gateway_subnet {
                    line.status = Status::Fail;
                    line.fix = Some(fix);
                } else {
                    line.status = line.status.max(Status::Warn);
                    if line.fix.is_none() || !config.gateway.subnet_ids.is_empty() {
                        line.fix = Some(format!("placement skips it; to use it: {fix}"));
                    }
                }
            }
        }
    }
    line
}

/// Each account of `[[accounts]]`: whether its role could be assumed and the account read
/// (through that role: its consumers' VPCs, endpoints and zones), and RAM invitations of ours
/// it has not accepted.
fn account_checks(config: &Config, o: &Observed, out: &mut Vec<Check>) {
    for a in &config.accounts {
        let subject = format!("{} ({})", a.id, a.role_arn);
        let consumers: Vec<&str> = config
            .consumers
            .iter()
            .filter(|c| c.account.as_ref() == Some(&a.id))
            .map(|c| c.name.as_str())
            .collect();
        match o.accounts.get(&a.id) {
            None => out.push(check(
                "account",
                subject,
                Status::Warn,
                "not read: this cloud cannot reach other accounts",
            )),
            Some(seen) => match &seen.unreachable {
                Some(e) => out.push(
                    check(
                        "account",
                        subject,
                        Status::Fail,
                        format!(
                            "cannot be read through its role: {e}; its consumers ({}) are refused and nothing of it is changed",
                            if consumers.is_empty() { "none".to_string() } else { consumers.join(", ") }
                        ),
                    )
                    .fix(format!(
                        "deploy templates/consumer-account.yaml in account {} (its trust must name this stack's function roles{}), or correct [[accounts]] role_arn",
                        a.id,
                        if a.external_id.is_some() { " and the same external id" } else { "" }
                    )),
                ),
                None => {
                    let pending = seen
                        .invitations
                        .iter()
                        .filter(|i| i.status == InvitationStatus::Pending)
                        .filter(|i| o.shares.iter().any(|s| s.arn == i.share_arn))
                        .count();
                    out.push(check(
                        "account",
                        subject,
                        Status::Pass,
                        format!(
                            "role assumed; consumers: {}{}",
                            if consumers.is_empty() { "none".to_string() } else { consumers.join(", ") },
                            if pending > 0 {
                                format!("; {pending} invitation(s) to our shares pending (accepted on apply)")
                            } else {
                                String::new()
                            }
                        ),
                    ));
                }
            },
        }
    }
}

fn consumer_checks(config: &Config, o: &Observed, audit: &AuditObservation, out: &mut Vec<Check>) {
    for c in &config.consumers {
        // A consumer in an account that could not be read: its account line says why.
        if !o.reachable(c.account.as_ref()) {
            continue;
        }
        let subject = match &c.account {
            Some(a) => format!("{} {} (account {a})", c.name, c.vpc_id),
            None => format!("{} {}", c.name, c.vpc_id),
        };
        match o.vpcs.iter().find(|v| v.id == c.vpc_id) {
            None => out.push(
                check(
                    "consumer",
                    subject.clone(),
                    Status::Fail,
                    format!("VPC {} not found in {}", c.vpc_id, audit.region),
                )
                .fix("correct consumers.vpc_id (the endpoint is created in this Region)"),
            ),
            Some(v) if v.enable_dns_support && v.enable_dns_hostnames => out.push(check(
                "consumer",
                subject.clone(),
                Status::Pass,
                "DNS support and DNS hostnames on: endpoints with private DNS can be created",
            )),
            Some(v) => {
                let mut off = Vec::new();
                if !v.enable_dns_support {
                    off.push("enableDnsSupport");
                }
                if !v.enable_dns_hostnames {
                    off.push("enableDnsHostnames");
                }
                out.push(
                    check(
                        "consumer",
                        subject.clone(),
                        Status::Fail,
                        format!("{} off: CreateVpcEndpoint with private DNS is refused", off.join(" and ")),
                    )
                    .fix(format!(
                        "aws ec2 modify-vpc-attribute --vpc-id {} --enable-dns-support '{{\"Value\":true}}' and again with --enable-dns-hostnames",
                        c.vpc_id
                    )),
                );
            }
        }
        let Some(zone_id) = &c.hosted_zone_id else {
            continue;
        };
        let zone_subject = format!("{} zone {zone_id}", c.name);
        let Some(zone) = o.hosted_zones.iter().find(|z| &z.id == zone_id) else {
            out.push(
                check(
                    "consumer",
                    zone_subject,
                    Status::Fail,
                    "hosted zone not found: aliases cannot be published",
                )
                .fix("correct consumers.hosted_zone_id, or create the private zone for the alias domain"),
            );
            continue;
        };
        if !zone.private {
            out.push(
                check(
                    "consumer",
                    zone_subject,
                    Status::Warn,
                    format!(
                        "{} is a public zone: alias CNAMEs of internal endpoints become public",
                        zone.name
                    ),
                )
                .fix("use a private hosted zone associated with the consumer VPC"),
            );
            continue;
        }
        if let Some(a) = &c.account {
            // The zone's VPC associations are read with the stack's credentials only.
            out.push(check(
                "consumer",
                zone_subject,
                Status::Pass,
                format!(
                    "private zone {} found in account {a}; its association with {} is not checked from here",
                    zone.name, c.vpc_id
                ),
            ));
            continue;
        }
        out.push(match audit.zone_vpcs.get(zone_id) {
            Some(Ok(vpcs)) if vpcs.contains(&c.vpc_id) => check(
                "consumer",
                zone_subject,
                Status::Pass,
                format!("private zone {} is associated with {}", zone.name, c.vpc_id),
            ),
            Some(Ok(_)) => check(
                "consumer",
                zone_subject,
                Status::Fail,
                format!(
                    "private zone {} is not associated with {}: its clients do not resolve the alias through the VPC resolver",
                    zone.name, c.vpc_id
                ),
            )
            .fix(format!(
                "aws route53 associate-vpc-with-hosted-zone --hosted-zone-id {zone_id} --vpc VPCRegion={},VPCId={} (or forward the domain from AD DNS)",
                audit.region, c.vpc_id
            )),
            Some(Err(e)) => check(
                "consumer",
                zone_subject,
                Status::Warn,
                format!("cannot read the zone's VPC associations: {e}"),
            ),
            None => check(
                "consumer",
                zone_subject,
                Status::Warn,
                "the zone's VPC associations were not read",
            ),
        });
    }
}

/// Whether a `domain-name-servers` value is the VPC resolver: `AmazonProvidedDNS`, the Amazon
/// DNS server's link-local 169.254.169.253, or the base of the VPC's range plus two
/// ([Amazon DNS server](https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html)).
/// AWS puts the latter in the primary CIDR block; the observed blocks do not say which one is
/// primary, so each block's base plus two counts (a secondary one's is a reserved address no
/// one would name as a DNS server).
fn is_vpc_resolver(server: &str, vpc: &Vpc) -> bool {
    if server.eq_ignore_ascii_case(DhcpDns::AMAZON_PROVIDED_DNS) {
        return true;
    }
    let Ok(ip) = server.parse::<std::net::Ipv4Addr>() else {
        return false;
    };
    ip == std::net::Ipv4Addr::new(169, 254, 169, 253)
        || vpc
            .cidr_blocks
            .iter()
            .any(|c| u32::from(c.network()).checked_add(2) == Some(u32::from(ip)))
}

/// Which resolver each consumer VPC's DHCP options give its clients, and so which alias they
/// see: the VPC resolver answers from Route 53 (the private zone the alias is published in);
/// other servers (AD DNS, most often) answer from their own zones and see a Route 53 record
/// only if they forward its zone to the VPC resolver (a Route 53 Resolver inbound endpoint).
fn dns_checks(config: &Config, o: &Observed, audit: &AuditObservation, out: &mut Vec<Check>) {
    // DHCP options are read with the stack's credentials: consumers in other accounts are not
    // checked here.
    for c in config.consumers.iter().filter(|c| c.account.is_none()) {
        // A VPC not found already fails its consumer line.
        let Some(vpc) = o.vpcs.iter().find(|v| v.id == c.vpc_id) else {
            continue;
        };
        let subject = format!("{} {}", c.name, c.vpc_id);
        let zone = c.hosted_zone_id.as_ref().map(|id| {
            o.hosted_zones
                .iter()
                .find(|z| &z.id == id)
                .map(|z| crate::model::normalize_dns_name(&z.name))
                .unwrap_or_else(|| id.to_string())
        });
        // A custom-domain consumer's alias is answered by its endpoint's private DNS (a private
        // zone VPC Lattice associates with the VPC): only the VPC resolver sees it, as it sees
        // a Route 53 alias.
        let custom_domain = c.alias_mode == crate::config::AliasMode::CustomDomain;
        let zone = if custom_domain {
            Some("the aliases' names".to_string())
        } else {
            zone
        };
        let route53_alias = match &zone {
            Some(_) if custom_domain => {
                "the aliases its endpoints answer through private DNS (VPC Lattice custom domain names)".to_string()
            }
            Some(z) => format!("the Route 53 alias in {z}"),
            None => "Route 53 private zones".to_string(),
        };
        let dhcp = match audit.dhcp.get(&c.vpc_id) {
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                let line = check(
                    "dns",
                    subject,
                    Status::Warn,
                    format!("cannot read the VPC's DHCP options, so which DNS its clients use is unknown: {e}"),
                );
                out.push(if e.kind == ErrorKind::AccessDenied {
                    line.fix(format!("allow ec2:{} to the identity running the doctor", e.operation))
                } else {
                    line
                });
                continue;
            }
            None => {
                out.push(check(
                    "dns",
                    subject,
                    Status::Warn,
                    "the VPC's DHCP options were not read",
                ));
                continue;
            }
        };
        if dhcp.dhcp_options_id == DhcpDns::NO_OPTION_SET {
            out.push(check(
                "dns",
                subject,
                Status::Pass,
                format!(
                    "no DHCP option set: Nitro instances use the Amazon DNS server 169.254.169.253 (the VPC resolver) and see {route53_alias}; Xen instances get no DNS server"
                ),
            ));
            continue;
        }
        let id = &dhcp.dhcp_options_id;
        let servers = &dhcp.domain_name_servers;
        if servers.is_empty() {
            out.push(check(
                "dns",
                subject,
                Status::Warn,
                format!("DHCP options {id} set no domain-name-servers: which DNS clients use is up to their own configuration"),
            ));
            continue;
        }
        let custom = servers.iter().filter(|s| !is_vpc_resolver(s, vpc)).count();
        let named = servers.iter().map(String::as_str).collect::<Vec<_>>().join(", ");
        let not = if custom == servers.len() {
            "not the VPC resolver"
        } else {
            // A client asks the next server only when one does not answer: a name a custom
            // server says does not exist stays unresolved.
            "not only the VPC resolver"
        };
        if custom == 0 {
            out.push(check(
                "dns",
                subject,
                Status::Pass,
                format!("DHCP options {id} give clients {named} (the VPC resolver): they see {route53_alias}"),
            ));
            continue;
        }
        out.push(match (&config.directory, &zone) {
            (Some(d), _) => check(
                "dns",
                subject,
                Status::Pass,
                format!(
                    "DHCP options {id} give clients {named}: domain members resolving through them see the AD DNS record fsxn-lattice writes in {} ([directory])",
                    d.dns_zone()
                ),
            ),
            (None, None) => check(
                "dns",
                subject,
                Status::Pass,
                format!(
                    "DHCP options {id} give clients {named}, {not}; no hosted_zone_id, so no Route 53 alias is published for them to miss"
                ),
            ),
            (None, Some(z)) => check(
                "dns",
                subject,
                Status::Warn,
                format!(
                    "DHCP options {id} give clients {named}, {not}: they will not see {route53_alias} unless their DNS forwards {z} to the VPC resolver"
                ),
            )
            .fix(format!(
                "on those DNS servers, forward {z} to a Route 53 Resolver inbound endpoint in {} (a conditional forwarder); or, for AD DNS, add a [directory] section (docs/config.md) so fsxn-lattice writes the alias into the AD zone",
                c.vpc_id
            )),
        });
    }
}

/// Each `[[custom_domains]]` entry: its zone (found, public, holding the TXT name), and our
/// verification's state (docs/design.md §12).
fn custom_domain_checks(config: &Config, o: &Observed, out: &mut Vec<Check>) {
    for entry in &config.custom_domains {
        let domain = normalize_dns_name(&entry.domain);
        let subject = format!("domain {domain}");
        let zone_tag = entry.hosted_zone_id.as_ref().map(|z| z.to_string()).unwrap_or_default();
        let ours: Vec<_> = o
            .domain_verifications
            .iter()
            .filter(|v| {
                is_owned(&v.tags, &config.owner)
                    && v.domain_name == domain
                    && v.tags
                        .get(crate::naming::HOSTED_ZONE_TAG)
                        .map(String::as_str)
                        .unwrap_or("")
                        == zone_tag
            })
            .collect();
        let zone = entry
            .hosted_zone_id
            .as_ref()
            .map(|id| (id, o.hosted_zones.iter().find(|z| &z.id == id)));
        if let Some((id, found)) = &zone {
            match found {
                None => out.push(
                    check("domain", subject.clone(), Status::Fail, format!("hosted zone {id} was not found"))
                        .fix("correct custom_domains.hosted_zone_id: the public zone of the domain in the stack's account"),
                ),
                Some(z) if z.private => out.push(
                    check(
                        "domain",
                        subject.clone(),
                        Status::Warn,
                        format!(
                            "hosted zone {id} ({}) is private: VPC Lattice looks for the verification's TXT in public DNS (UNCONFIRMED), so it may never be verified",
                            normalize_dns_name(&z.name)
                        ),
                    )
                    .fix("name the domain's public zone, or leave hosted_zone_id out and publish the TXT where public DNS answers for the domain"),
                ),
                Some(_) => {}
            }
        }
        let line = match ours.iter().map(|v| (v, v.status)).min_by_key(|(_, s)| match s {
            VerificationStatus::Verified => 0,
            VerificationStatus::Pending => 1,
            _ => 2,
        }) {
            None => check(
                "domain",
                subject,
                Status::Warn,
                "no verification of ours yet: the next reconcile starts one",
            ),
            Some((v, VerificationStatus::Verified)) => check(
                "domain",
                subject,
                Status::Pass,
                format!(
                    "domain verification {} is VERIFIED: configurations of aliases in it are made with it",
                    v.id
                ),
            ),
            Some((v, VerificationStatus::Pending)) => {
                let txt = match (&v.txt_name, &v.txt_value) {
                    (Some(n), Some(val)) => format!("TXT {n} \"{val}\""),
                    _ => "its TXT record".to_string(),
                };
                let published = zone.as_ref().and_then(|(id, _)| o.records.get(*id)).is_some_and(|rs| {
                    rs.iter().any(|r| {
                        Some(&r.name) == v.txt_name.as_ref()
                            && v.txt_value
                                .as_ref()
                                .is_some_and(|val| r.values == [format!("\"{val}\"")])
                    })
                });
                let line = check(
                    "domain",
                    subject,
                    Status::Warn,
                    format!(
                        "domain verification {} is PENDING: VPC Lattice has not seen {txt}{}; configurations are made without it meanwhile",
                        v.id,
                        if published { " (published in our zone)" } else { "" }
                    ),
                );
                if published {
                    line
                } else {
                    line.fix(format!("publish {txt} where public DNS answers for {domain}"))
                }
            }
            Some((v, s)) => check(
                "domain",
                subject,
                Status::Warn,
                format!(
                    "domain verification {} is {s:?}: the next reconcile starts a new one",
                    v.id
                ),
            )
            .fix("make sure the TXT record is resolvable in public DNS for the domain"),
        };
        out.push(line);
    }
}

fn permission_checks(audit: &AuditObservation, out: &mut Vec<Check>) {
    for (label, answer) in &audit.dry_runs {
        out.push(match answer {
            Ok(Ok(DryRunAnswer::Allowed)) => check(
                "permission",
                label.clone(),
                Status::Pass,
                "allowed for the identity running the doctor (DryRun answered DryRunOperation)",
            ),
            Ok(Ok(DryRunAnswer::Denied { message })) => check(
                "permission",
                label.clone(),
                Status::Fail,
                format!("denied for the identity running the doctor (DryRun answered UnauthorizedOperation: {message})"),
            )
            .fix("grant the action to whoever runs `fsxn-lattice apply`; the functions' roles get it from template.yaml (check them with --stack)"),
            Ok(Ok(DryRunAnswer::Inconclusive { code, message })) => check(
                "permission",
                label.clone(),
                Status::Warn,
                format!("not decided: EC2 refused the dry-run's parameters first ({code}: {message})"),
            ),
            Ok(Err(e)) => check("permission", label.clone(), Status::Warn, format!("DryRun failed: {e}")),
            Err(why) => check("permission", label.clone(), Status::Warn, format!("not checked: {why}")),
        });
    }
    let Some((stack, roles)) = &audit.stack else {
        return;
    };
    match roles {
        Err(e) => out.push(
            check("permission", format!("stack {stack}"), Status::Fail, format!("cannot read the stack's roles: {e}"))
                .fix("name the deployed stack with --stack (the Region must be the stack's)"),
        ),
        Ok(roles) if roles.is_empty() => out.push(
            check(
                "permission",
                format!("stack {stack}"),
                Status::Fail,
                "the stack has none of the function roles (ProvisionFunctionRole, HealFunctionRole, PublishAliasFunctionRole, ReconcileFunctionRole)",
            )
            .fix("name the fsxn-lattice stack with --stack"),
        ),
        Ok(roles) => {
            for r in roles {
                let subject = r.role.logical_id.clone();
                out.push(match &r.decisions {
                    Err(e) => check("permission", subject, Status::Warn, format!("cannot simulate {}: {e}", r.role.arn))
                        .fix("allow iam:SimulatePrincipalPolicy to the identity running the doctor"),
                    Ok(decisions) => {
                        let denied: Vec<&PolicyDecision> =
                            decisions.iter().filter(|d| d.decision != Decision::Allowed).collect();
                        let hard: Vec<&str> = denied
                            .iter()
                            .filter(|d| d.missing_context_values.is_empty())
                            .map(|d| d.action.as_str())
                            .collect();
                        let soft: Vec<String> = denied
                            .iter()
                            .filter(|d| !d.missing_context_values.is_empty())
                            .map(|d| format!("{} (needs {})", d.action, d.missing_context_values.join(", ")))
                            .collect();
                        if !hard.is_empty() {
                            check(
                                "permission",
                                subject,
                                Status::Fail,
                                format!("{} denies {}", r.role.arn, hard.join(", ")),
                            )
                            .fix("redeploy the stack from this repository's template.yaml, or grant these actions to the role")
                        } else if !soft.is_empty() {
                            check(
                                "permission",
                                subject,
                                Status::Warn,
                                format!("{}: not allowed without more context: {}", r.role.arn, soft.join(", ")),
                            )
                        } else {
                            check(
                                "permission",
                                subject,
                                Status::Pass,
                                format!(
                                    "{} allows all {} VPC Lattice, Route 53 and gateway ENI actions it needs (SimulatePrincipalPolicy)",
                                    r.role.arn,
                                    decisions.len()
                                ),
                            )
                        }
                    }
                });
            }
        }
    }
}

/// A failed `CreateNetworkInterface` by VPC Lattice, as quoted in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatticeEniFailure {
    /// `eventTime`
    pub time: String,
    /// `requestParameters.subnetId`
    pub subnet_id: String,
    /// `errorCode`
    pub error_code: String,
    /// `errorMessage`
    pub error_message: String,
    /// `eventID`
    pub event_id: String,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// The failed `CreateNetworkInterface` records VPC Lattice made for `gateway` in `subnets`,
/// newest first: invoked by VPC Lattice (`userIdentity.invokedBy`, or `sourceIPAddress` as in
/// the seed), with an `errorCode`, in one of the subnets, and — when the request carries
/// VPC Lattice's description "Resource Gateway Interface rgw-…" — for this gateway.
pub fn lattice_eni_failures(
    events: &[TrailEvent],
    gateway: &GatewayId,
    subnets: &[SubnetId],
) -> Vec<LatticeEniFailure> {
    let mut found: Vec<(u64, LatticeEniFailure)> = events
        .iter()
        .filter(|e| e.event_name == CREATE_NETWORK_INTERFACE)
        .filter_map(|e| {
            let r = &e.record;
            let by_lattice = str_at(r, &["userIdentity", "invokedBy"]) == Some(LATTICE_PRINCIPAL)
                || str_at(r, &["sourceIPAddress"]) == Some(LATTICE_PRINCIPAL);
            let code = str_at(r, &["errorCode"])?;
            let subnet = str_at(r, &["requestParameters", "subnetId"])?;
            let for_gateway =
                match str_at(r, &["requestParameters", "description"]).and_then(gateway_id_from_description) {
                    Some(g) => &g == gateway,
                    None => true,
                };
            (by_lattice && for_gateway && subnets.iter().any(|s| s.as_str() == subnet)).then(|| {
                (
                    e.event_time,
                    LatticeEniFailure {
                        time: str_at(r, &["eventTime"])
                            .map(str::to_string)
                            .unwrap_or_else(|| rfc3339(e.event_time)),
                        subnet_id: subnet.to_string(),
                        error_code: code.to_string(),
                        error_message: str_at(r, &["errorMessage"]).unwrap_or_default().to_string(),
                        event_id: e.event_id.clone(),
                    },
                )
            })
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.event_id.cmp(&b.1.event_id)));
    found.into_iter().map(|(_, f)| f).collect()
}

fn cause(
    config: &Config,
    o: &Observed,
    audit: &AuditObservation,
    gateway: &GatewayId,
    subnets: &[SubnetId],
) -> (String, String) {
    let heal = if config.gateway.heal {
        "gateway subnets cannot be changed: with gateway.heal on, the next reconcile (`fsxn-lattice apply`, the heal rule, or the schedule) replaces the gateway and its configuration where a free /28 is and deletes the failed ones"
    } else {
        "gateway subnets cannot be changed: turn gateway.heal on (or reserve a free /28 in each gateway subnet and re-create the endpoint)"
    };
    let Some((query, result)) = &audit.lookup else {
        return ("CloudTrail was not searched".into(), heal.into());
    };
    let window = format!("{} .. {}", rfc3339(query.start_time), rfc3339(query.end_time));
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            return (
                format!(
                    "CloudTrail LookupEvents failed ({}: {}); the cause is in the failed CreateNetworkInterface that VPC Lattice made in {}",
                    e.code,
                    e.message,
                    join(subnets)
                ),
                "allow cloudtrail:LookupEvents to the identity running the doctor".into(),
            );
        }
    };
    let hits = lattice_eni_failures(&result.events, gateway, subnets);
    let Some(f) = hits.first() else {
        return (
            format!(
                "no failed CreateNetworkInterface by {LATTICE_PRINCIPAL} in {} found in CloudTrail ({window}, {} event(s) read{})",
                join(subnets),
                result.events.len(),
                if result.truncated { ", stopped at the limit" } else { "" }
            ),
            format!("{heal}; widen --lookback-hours if the failure is older"),
        );
    };
    let now = o.subnets.iter().find(|s| s.id.as_str() == f.subnet_id).map(|s| {
        let c = analyze_subnet(s, &o.network_interfaces, &o.cidr_reservations);
        format!("; {} now has {}", f.subnet_id, capacity_summary(&c))
    });
    let capacity = classify_code(&f.error_code, &f.error_message) == ErrorKind::CapacityExhausted
        || f.error_code.ends_with(INSUFFICIENT_CIDR_BLOCKS);
    let meaning = if capacity {
        " — a gateway ENI needs one free aligned /28 (plus a primary IP) in each gateway subnet"
    } else {
        ""
    };
    (
        format!(
            "cause from CloudTrail: {CREATE_NETWORK_INTERFACE} by {LATTICE_PRINCIPAL} for {gateway} failed at {} in {}: {} \"{}\" (event {}){}{meaning}",
            f.time,
            f.subnet_id,
            f.error_code,
            f.error_message,
            f.event_id,
            now.unwrap_or_default()
        ),
        heal.into(),
    )
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}

fn resource_checks(config: &Config, o: &Observed, audit: &AuditObservation, out: &mut Vec<Check>) {
    let ours = |t: &Tags| is_owned(t, &config.owner);
    let gateways: Vec<&ResourceGateway> = o.gateways.iter().filter(|g| ours(&g.tags)).collect();
    let configurations: Vec<&ResourceConfiguration> = o.configurations.iter().filter(|c| ours(&c.tags)).collect();
    let endpoints: Vec<&VpcEndpoint> = o.endpoints.iter().filter(|e| ours(&e.tags)).collect();
    if gateways.is_empty() && configurations.is_empty() && endpoints.is_empty() {
        out.push(check(
            "resource",
            format!("owner {}", config.owner),
            Status::Pass,
            format!("no fsxn-lattice resources yet ({OWNER_TAG}={})", config.owner),
        ));
        return;
    }
    for g in gateways {
        let status = aws_name(&g.status);
        let line = format!("gateway {} {status} in {}", g.name, join(&g.subnet_ids));
        out.push(match g.status {
            GatewayStatus::CreateFailed | GatewayStatus::UpdateFailed => {
                let (why, fix) = cause(config, o, audit, &g.id, &g.subnet_ids);
                check("resource", g.id.to_string(), Status::Fail, format!("{line}; {why}")).fix(fix)
            }
            GatewayStatus::DeleteFailed => check("resource", g.id.to_string(), Status::Warn, line)
                .fix("its configurations must go first; the next reconcile retries the delete"),
            _ => check("resource", g.id.to_string(), Status::Pass, line),
        });
    }
    for c in configurations {
        let target = c
            .ip_address
            .map(|ip| format!(" → {ip} TCP {}", join(&c.port_ranges)))
            .unwrap_or_default();
        let line = format!(
            "configuration {}{target} on {}, {}",
            c.name,
            c.gateway_id,
            aws_name(&c.status)
        );
        out.push(match c.status {
            ConfigurationStatus::CreateFailed | ConfigurationStatus::UpdateFailed => check(
                "resource",
                c.id.to_string(),
                Status::Fail,
                format!(
                    "{line}: {}",
                    c.failure_reason.as_deref().unwrap_or("no failure reason given")
                ),
            ),
            _ => check("resource", c.id.to_string(), Status::Pass, line),
        });
    }
    for e in endpoints {
        let cfg = e.resource_configuration_arn.rsplit('/').next().unwrap_or_default();
        let line = format!("endpoint in {} for {cfg} is {}", e.vpc_id, e.state.as_str());
        out.push(match e.state {
            EndpointState::Available => check(
                "resource",
                e.id.to_string(),
                Status::Pass,
                format!("{line}: {}", e.dns_name.as_deref().unwrap_or("no DNS name yet")),
            ),
            EndpointState::Failed => {
                let gw = o
                    .configurations
                    .iter()
                    .find(|c| c.arn == e.resource_configuration_arn)
                    .and_then(|c| o.gateways.iter().find(|g| g.id == c.gateway_id));
                let (why, fix) = match gw {
                    Some(g) => cause(config, o, audit, &g.id, &g.subnet_ids),
                    None => (
                        "its resource configuration or gateway is gone".to_string(),
                        "the next reconcile deletes it and creates a new one".to_string(),
                    ),
                };
                let reason = e
                    .failure_reason
                    .as_deref()
                    .map(|r| format!(" (EC2 says: {r})"))
                    .unwrap_or_default();
                check(
                    "resource",
                    e.id.to_string(),
                    Status::Fail,
                    format!("{line}{reason}; {why}"),
                )
                .fix(fix)
            }
            EndpointState::Partial => check("resource", e.id.to_string(), Status::Warn, line).fix(
                "`partial` is in EC2's State enum without documented meaning: the tool keeps such an endpoint (never re-creates it); look at it in the console",
            ),
            EndpointState::Pending | EndpointState::Deleting => check("resource", e.id.to_string(), Status::Warn, line)
                .fix("wait: VPC Lattice is still working on it (run the doctor again in a few minutes)"),
            _ => check("resource", e.id.to_string(), Status::Warn, line),
        });
    }
}

/// The area of the directory checks (the live doctor's, with `[directory]`; the checks
/// themselves are `fsxn_lattice_directory::check`'s).
pub const DIRECTORY_AREA: &str = "directory";

/// One SMB exposure with an alias, as the live doctor's directory checks look at it: what the
/// Directory function would write for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryTarget {
    /// The exposed SVM (with the config's owner, who the AD DNS record's marker names).
    pub svm_id: SvmId,
    /// The NetBIOS name of the SVM's computer object: [`crate::directory::computer_name`] of its
    /// SMB endpoint's DNS name, else of the SVM's name (as the planner finds it).
    pub computer: String,
    /// The alias FQDN, normalized.
    pub alias: String,
    /// The AD zone ([`crate::config::DirectoryConfig::dns_zone`]).
    pub zone: String,
    /// Whether the alias lies below the zone: only then is an AD DNS record written for it.
    pub in_zone: bool,
    /// What this owner added for this alias earlier, from the SVM's
    /// [`crate::naming::directory_tag`] (a record of another alias is not about this one).
    pub record: Option<crate::directory::SpnRecord>,
}

impl DirectoryTarget {
    /// The warning for an alias outside the zone: it gets its SPNs, but no AD DNS record.
    pub fn outside_zone(&self) -> Option<Check> {
        (!self.in_zone).then(|| {
            check(
                DIRECTORY_AREA,
                "alias record",
                Status::Warn,
                format!(
                    "{} is not below the AD zone {}: it gets its SPNs but no AD DNS record, so domain members resolving through AD DNS do not find it",
                    self.alias, self.zone
                ),
            )
            .fix(format!(
                "set [directory] zone to the AD-integrated zone the alias belongs to, or choose an alias below {}",
                self.zone
            ))
        })
    }
}

/// With `[directory]`: each SMB exposure with an alias, by SVM id. Pure.
pub fn directory_targets(config: &Config, o: &Observed, d: &Desired) -> Vec<DirectoryTarget> {
    use crate::directory::{SpnRecord, normalize_alias};
    let Some(settings) = &config.directory else {
        return Vec::new();
    };
    let zone = settings.dns_zone();
    let tag = crate::naming::directory_tag(&config.owner);
    d.exposures
        .values()
        .filter(|e| e.protocols.contains(&crate::desired::Protocol::Smb))
        .filter_map(|e| {
            let alias = normalize_alias(e.alias.as_deref()?);
            let record = o
                .svms
                .iter()
                .find(|s| s.id == e.svm_id)
                .and_then(|s| s.tags.get(&tag))
                .and_then(|v| SpnRecord::parse_tag_value(v))
                .filter(|r| r.alias == alias);
            Some(DirectoryTarget {
                svm_id: e.svm_id.clone(),
                computer: e.ad_computer(),
                in_zone: alias.ends_with(&format!(".{zone}")),
                alias,
                zone: zone.clone(),
                record,
            })
        })
        .collect()
}

/// The one directory check when the bind secret cannot be read or is not
/// `{"username": …, "password": …}`: it names the secret and what to grant, never its value
/// (`e` never holds it: Secrets Manager's errors do not, and the credentials' parser never
/// quotes the secret).
pub fn unreadable_secret(secret_arn: &str, e: &CloudError) -> Check {
    let fix = match e.kind {
        ErrorKind::InvalidInput => {
            "store the secret as JSON text {\"username\": …, \"password\": …} with a non-empty password (docs/config.md)".to_string()
        }
        ErrorKind::NotFound => format!(
            "check [directory] secret_arn and the Region; the identity running the doctor needs secretsmanager:GetSecretValue on {secret_arn}"
        ),
        _ => format!(
            "allow secretsmanager:GetSecretValue on {secret_arn} to the identity running the doctor (and kms:Decrypt on the secret's key if a customer managed key encrypts it)"
        ),
    };
    check(
        DIRECTORY_AREA,
        "bind secret",
        Status::Fail,
        format!("cannot read the bind secret {secret_arn}, so the directory was not checked: {e}"),
    )
    .fix(fix)
}

/// Counts per status: (pass, warn, fail).
pub fn summary(checks: &[Check]) -> (usize, usize, usize) {
    let n = |s| checks.iter().filter(|c| c.status == s).count();
    (n(Status::Pass), n(Status::Warn), n(Status::Fail))
}

/// The text report: one line per check (`✓`, `!`, `✗`), its fix indented below it.
pub fn render_text(checks: &[Check]) -> String {
    let mut s = String::new();
    for c in checks {
        s.push_str(&format!(
            "{} {:<10} {}: {}\n",
            c.status.symbol(),
            c.area,
            c.subject,
            c.message
        ));
        if let Some(fix) = &c.fix {
            s.push_str(&format!("             fix: {fix}\n"));
        }
    }
    let (pass, warn, fail) = summary(checks);
    s.push_str(&format!("\n{pass} passed, {warn} warning(s), {fail} failed\n"));
    s
}

/// Why a doctor run refused its input (exit 2, nothing read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid doctor options: {0}")]
pub struct InvalidOptions(pub String);

impl GatherOptions {
    /// Checks what types cannot: the lookback must be within what `LookupEvents` keeps.
    pub fn new(region: String, stack: Option<String>, lookback_hours: u64) -> Result<Self, InvalidOptions> {
        if lookback_hours == 0 || lookback_hours > MAX_LOOKBACK.as_secs() / 3600 {
            return Err(InvalidOptions(format!(
                "--lookback-hours {lookback_hours}: must be 1..=2160 (LookupEvents keeps 90 days)"
            )));
        }
        if let Some(s) = &stack
            && (s.is_empty()
                || s.len() > 128
                || !s.starts_with(|c: char| c.is_ascii_alphabetic())
                || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            return Err(InvalidOptions(format!(
                "--stack `{s}`: a stack name is 1-128 characters of [A-Za-z0-9-] starting with a letter"
            )));
        }
        Ok(Self {
            region,
            stack,
            lookback: Duration::from_secs(lookback_hours * 3600),
            max_lookup_events: 1000,
            retry: RetryPolicy {
                max_attempts: 4,
                ..RetryPolicy::default()
            },
        })
    }
}

/// A failed read, for tests and adapters that need to build one.
pub fn denied(op: &str) -> CloudError {
    CloudError::new(ErrorKind::AccessDenied, op, "AccessDeniedException", "not authorized")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
owner = "demo"
[gateway]
security_group_ids = ["sg-03730d9e2b49e7cbc"]
subnet_ids = ["subnet-0ddc1cafa116ba0dd"]
heal = false
[[consumers]]
name = "clients"
vpc_id = "vpc-0764d7f66aa8fa58a"
subnet_ids = ["subnet-0493d3cebba9cc691"]
hosted_zone_id = "Z0A1B2C3D4E5F6G7H8I9J"
"#;

    fn config() -> Config {
        Config::from_toml(CONFIG).unwrap()
    }

    fn trail(name: &str, home: &str, multi: bool, org: bool) -> Trail {
        Trail {
            name: name.into(),
            arn: format!("arn:aws:cloudtrail:{home}:123456789012:trail/{name}"),
            home_region: home.into(),
            is_multi_region: multi,
            is_organization_trail: org,
        }
    }

    fn all_management() -> EventSelectors {
        EventSelectors::Basic(vec![BasicEventSelector {
            read_write_type: ReadWriteType::All,
            include_management_events: true,
            exclude_management_event_sources: vec![],
        }])
    }

    fn report(t: Trail, logging: bool, selectors: Attempt<EventSelectors>) -> TrailReport {
        TrailReport {
            trail: t,
            status: Ok(TrailStatus { is_logging: logging }),
            selectors,
        }
    }

    #[test]
    fn trail_check_table() {
        let ro = EventSelectors::Basic(vec![BasicEventSelector {
            read_write_type: ReadWriteType::ReadOnly,
            include_management_events: true,
            exclude_management_event_sources: vec![],
        }]);
        let cases: Vec<(&str, Attempt<Vec<TrailReport>>, Status, &str)> = vec![
            (
                "a logging trail with default selectors",
                Ok(vec![report(
                    trail("main", "us-east-1", false, false),
                    true,
                    Ok(all_management()),
                )]),
                Status::Pass,
                "trail main is logging",
            ),
            (
                "an organization trail seen as a shadow from another home Region",
                Ok(vec![report(
                    trail("org", "eu-west-1", true, true),
                    true,
                    Ok(all_management()),
                )]),
                Status::Pass,
                "org (organization trail, multi-Region, shadow of eu-west-1)",
            ),
            ("no trail at all", Ok(vec![]), Status::Fail, "no trail covers us-east-1"),
            (
                "a trail that is not logging",
                Ok(vec![report(
                    trail("main", "us-east-1", false, false),
                    false,
                    Ok(all_management()),
                )]),
                Status::Fail,
                "main: logging is off",
            ),
            (
                "a trail of read events only",
                Ok(vec![report(trail("main", "us-east-1", false, false), true, Ok(ro))]),
                Status::Fail,
                "leave out management write events of fsx.amazonaws.com and ec2.amazonaws.com",
            ),
            (
                "selectors unreadable",
                Ok(vec![report(
                    trail("org", "us-east-1", true, true),
                    true,
                    Err(denied("GetEventSelectors")),
                )]),
                Status::Warn,
                "cannot tell",
            ),
            (
                "trails unreadable",
                Err(denied("DescribeTrails")),
                Status::Warn,
                "cannot list the trails",
            ),
        ];
        for (name, trails, status, needle) in cases {
            let c = trail_check("us-east-1", &trails);
            assert_eq!(c.status, status, "{name}: {c:?}");
            assert!(c.message.contains(needle), "{name}: `{needle}` not in {}", c.message);
            if status == Status::Fail {
                assert!(c.message.contains("only the scheduled reconcile"), "{name}");
                assert!(c.fix.as_deref().unwrap_or_default().contains("start-logging"), "{name}");
            }
        }
    }

    fn seed_record() -> Value {
        let v: Value = serde_json::from_str(include_str!(
            "../../../events/ec2-create-network-interface-insufficient-ips.json"
        ))
        .unwrap();
        v["detail"].clone()
    }

    fn event(record: Value) -> TrailEvent {
        TrailEvent {
            event_id: record["eventID"].as_str().unwrap_or("e").to_string(),
            event_name: record["eventName"].as_str().unwrap_or_default().to_string(),
            event_time: 1_734_482_528,
            record,
        }
    }

    #[test]
    fn the_seeds_record_is_found_and_others_are_not() {
        let gw = GatewayId::parse("rgw-0f84e11568c258a2b").unwrap();
        let subnets = vec![SubnetId::parse("subnet-0ddc1cafa116ba0dd").unwrap()];
        let seed = seed_record();
        let mut other_gateway = seed.clone();
        other_gateway["requestParameters"]["description"] = "Resource Gateway Interface rgw-0aaaaaaaaaaaaaaaa".into();
        let mut eks = seed.clone();
        eks["userIdentity"] = serde_json::json!({"type": "AssumedRole", "invokedBy": "eks.amazonaws.com"});
        eks["sourceIPAddress"] = "eks.amazonaws.com".into();
        let mut succeeded = seed.clone();
        succeeded.as_object_mut().unwrap().remove("errorCode");
        let mut elsewhere = seed.clone();
        elsewhere["requestParameters"]["subnetId"] = "subnet-0aaaaaaaaaaaaaaaa".into();
        let cases = [
            ("the seed's record", seed.clone(), 1),
            ("another gateway's ENI", other_gateway, 0),
            ("an EKS CNI failure", eks, 0),
            ("a successful call", succeeded, 0),
            ("another subnet", elsewhere, 0),
        ];
        for (name, record, n) in cases {
            let found = lattice_eni_failures(&[event(record)], &gw, &subnets);
            assert_eq!(found.len(), n, "{name}");
        }
        let f = &lattice_eni_failures(&[event(seed)], &gw, &subnets)[0];
        assert_eq!(f.error_code, "Client.InvalidParameterValue");
        assert_eq!(
            f.error_message,
            "There aren't sufficient free Ipv4 addresses or prefixes"
        );
        assert_eq!(f.time, "2024-12-18T00:42:08Z");
        assert_eq!(f.event_id, "2a05d6c2-14ef-49b6-9c78-37c18271ee33");
    }

    fn subnet(id: &str, cidr: &str) -> Subnet {
        Subnet {
            id: SubnetId::parse(id).unwrap(),
            vpc_id: VpcId::parse("vpc-043c0858ea33e8ec2").unwrap(),
            availability_zone: "us-east-1a".into(),
            cidr: cidr.parse().unwrap(),
            tags: Tags::new(),
        }
    }

    fn eni(subnet: &str, ips: &[String]) -> NetworkInterface {
        NetworkInterface {
            id: NetworkInterfaceId::parse(format!("eni-{:017x}", ips.len())).unwrap(),
            subnet_id: SubnetId::parse(subnet).unwrap(),
            private_ips: ips.iter().map(|i| i.parse().unwrap()).collect(),
            ipv4_prefixes: vec![],
            description: "workload".into(),
            tags: Tags::new(),
        }
    }

    fn world(fragmented: bool) -> Observed {
        let a = "subnet-0ddc1cafa116ba0dd";
        // One used address in each of the 14 candidate /28 blocks of a /24 plus 25 more:
        // 256 - 5 reserved - 39 = 212 free addresses, no free aligned /28 (the seed's subnet).
        let mut ips: Vec<String> = (1..15).map(|b| format!("10.0.8.{}", b * 16 + 5)).collect();
        ips.extend(
            (96..128)
                .filter(|x| x % 16 != 5)
                .take(25)
                .map(|x| format!("10.0.8.{x}")),
        );
        if !fragmented {
            ips.truncate(3);
        }
        let fs = FileSystem {
            id: FileSystemId::parse("fs-07f1088148f103e3a").unwrap(),
            lifecycle: FsxLifecycle::Available,
            deployment_type: DeploymentType::MultiAz1,
            vpc_id: VpcId::parse("vpc-043c0858ea33e8ec2").unwrap(),
            subnet_ids: vec![SubnetId::parse(a).unwrap()],
            endpoint_ip_address_range: Some("10.0.15.192/26".parse().unwrap()),
            route_table_ids: vec![RouteTableId::parse("rtb-0f1e2d3c4b5a69788").unwrap()],
            tags: Tags::new(),
        };
        let svm = StorageVirtualMachine {
            id: SvmId::parse("svm-0a1b2c3d4e5f60718").unwrap(),
            name: "non-97-svm".into(),
            file_system_id: fs.id.clone(),
            lifecycle: FsxLifecycle::Created,
            endpoints: SvmEndpoints::one_ip("svm", "10.0.15.239".parse().unwrap()),
            tags: Tags::from([("fsxn-lattice:expose".to_string(), "smb".to_string())]),
        };
        Observed {
            file_systems: vec![fs],
            svms: vec![svm],
            vpcs: vec![
                Vpc {
                    id: VpcId::parse("vpc-043c0858ea33e8ec2").unwrap(),
                    cidr_blocks: vec!["10.0.0.0/16".parse().unwrap()],
                    enable_dns_support: true,
                    enable_dns_hostnames: true,
                },
                Vpc {
                    id: VpcId::parse("vpc-0764d7f66aa8fa58a").unwrap(),
                    cidr_blocks: vec!["10.1.0.0/16".parse().unwrap()],
                    enable_dns_support: true,
                    enable_dns_hostnames: false,
                },
            ],
            subnets: vec![subnet(a, "10.0.8.0/24")],
            route_tables: vec![RouteTable {
                id: RouteTableId::parse("rtb-0f1e2d3c4b5a69788").unwrap(),
                vpc_id: VpcId::parse("vpc-043c0858ea33e8ec2").unwrap(),
                main: true,
                associations: vec![],
                routes: vec![
                    Route {
                        destination: "10.0.0.0/16".parse().unwrap(),
                        target: "local".into(),
                    },
                    Route {
                        destination: "10.0.15.192/26".parse().unwrap(),
                        target: "eni-07f1088148f103e3a".into(),
                    },
                ],
                tags: Tags::new(),
            }],
            network_interfaces: vec![eni(a, &ips)],
            hosted_zones: vec![HostedZone {
                account: None,
                id: HostedZoneId::parse("Z0A1B2C3D4E5F6G7H8I9J").unwrap(),
                name: "corp.non-97.net".into(),
                private: true,
            }],
            ..Observed::default()
        }
    }

    fn audit() -> AuditObservation {
        AuditObservation {
            region: "us-east-1".into(),
            now: 1_734_482_600,
            trails: Ok(vec![]),
            dry_runs: vec![
                ("ec2:CreateSubnet".into(), Ok(Ok(DryRunAnswer::Allowed))),
                (
                    "ec2:CreateVpcEndpoint (clients)".into(),
                    Ok(Ok(DryRunAnswer::Denied {
                        message: "You are not authorized to perform this operation.".into(),
                    })),
                ),
                ("ec2:AssociateRouteTable".into(), Err("no route table".into())),
            ],
            stack: None,
            zone_vpcs: BTreeMap::from([(HostedZoneId::parse("Z0A1B2C3D4E5F6G7H8I9J").unwrap(), Ok(vec![]))]),
            lookup: None,
            dhcp: BTreeMap::from([(
                VpcId::parse(CONSUMER_VPC).unwrap(),
                dhcp("dopt-0a1b2c3d", &["AmazonProvidedDNS"]),
            )]),
        }
    }

    const CONSUMER_VPC: &str = "vpc-0764d7f66aa8fa58a";
    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:fsxn-lattice-ad-bind-Ab12Cd";

    fn dhcp(id: &str, servers: &[&str]) -> Attempt<DhcpDns> {
        Ok(DhcpDns {
            dhcp_options_id: id.into(),
            domain_name_servers: servers.iter().map(|s| s.to_string()).collect(),
        })
    }

    fn with_directory() -> Config {
        let mut c = config();
        c.directory = Some(crate::config::DirectoryConfig::new("corp.non-97.net", SECRET));
        c
    }

    fn run(o: Observed, a: &AuditObservation) -> Vec<Check> {
        let c = config();
        let d = crate::desired::resolve(&c, &o.file_systems, &o.svms);
        diagnose(&c, &Ok((o, d)), a)
    }

    fn find<'a>(checks: &'a [Check], area: &str, subject: &str) -> Vec<&'a Check> {
        checks
            .iter()
            .filter(|c| c.area == area && c.subject.starts_with(subject))
            .collect()
    }

    #[test]
    fn a_fragmented_pinned_subnet_is_named_as_the_seeds_case() {
        let checks = run(world(true), &audit());
        let s = find(&checks, "subnet", "subnet-0ddc1cafa116ba0dd");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].status, Status::Fail, "pinned and heal off: {:?}", s[0]);
        assert!(
            s[0].message.contains("212 free addresses but 0 free aligned /28"),
            "{}",
            s[0].message
        );
        assert!(s[0].message.contains("the seed's"), "{}", s[0].message);
        let roomy = run(world(false), &audit());
        assert_eq!(
            find(&roomy, "subnet", "subnet-0ddc1cafa116ba0dd")[0].status,
            Status::Pass
        );
    }

    #[test]
    fn file_system_consumer_and_permission_lines() {
        let checks = run(world(true), &audit());
        let fs = find(&checks, "fsx", "fs-07f1088148f103e3a");
        assert_eq!(fs.len(), 3);
        assert!(fs.iter().all(|c| c.status == Status::Pass), "{fs:?}");
        assert!(fs[0].message.contains("MULTI_AZ_1"));
        assert!(fs[2].message.contains("rtb-0f1e2d3c4b5a69788"));
        let svm = find(&checks, "svm", "svm-0a1b2c3d4e5f60718");
        assert_eq!(svm[0].status, Status::Pass);
        assert!(svm[0].message.contains("SMB 10.0.15.239"), "{}", svm[0].message);
        let consumer = find(&checks, "consumer", "clients");
        assert_eq!(consumer.len(), 2);
        assert_eq!(consumer[0].status, Status::Fail);
        assert!(consumer[0].message.contains("enableDnsHostnames off"));
        assert_eq!(consumer[1].status, Status::Fail, "zone not associated");
        let p = find(&checks, "permission", "ec2:");
        assert_eq!(
            p.iter().map(|c| c.status).collect::<Vec<_>>(),
            vec![Status::Pass, Status::Fail, Status::Warn]
        );
        assert!(
            checks
                .iter()
                .any(|c| c.area == "resource" && c.message.contains("no fsxn-lattice resources"))
        );
    }

    #[test]
    fn an_account_whose_role_cannot_be_assumed_fails_its_line_and_its_consumers_are_not_checked_here() {
        let mut c = config();
        let far = crate::ids::AccountId::parse("222233334444").unwrap();
        c.accounts.push(crate::config::ConsumerAccount {
            id: far.clone(),
            role_arn: "arn:aws:iam::222233334444:role/fsxn-lattice-consumer".into(),
            external_id: Some("x-1".into()),
        });
        let mut far_consumer = c.consumers[0].clone();
        far_consumer.name = "far".into();
        far_consumer.vpc_id = "vpc-0fa40000000000001".parse().unwrap();
        far_consumer.hosted_zone_id = None;
        far_consumer.account = Some(far.clone());
        c.consumers.push(far_consumer);
        let mut o = world(false);
        o.accounts.insert(
            far.clone(),
            crate::observe::AccountObserved {
                unreachable: Some(CloudError::new(
                    crate::error::ErrorKind::AccessDenied,
                    "AssumeRole",
                    "AccessDenied",
                    "not authorized to perform sts:AssumeRole",
                )),
                invitations: vec![],
                vpcs: vec![],
            },
        );
        let d = crate::desired::resolve(&c, &o.file_systems, &o.svms);
        let checks = diagnose(&c, &Ok((o.clone(), d.clone())), &audit());
        let line = find(&checks, "account", "222233334444");
        assert_eq!(line.len(), 1);
        assert_eq!(line[0].status, Status::Fail);
        assert!(
            line[0].message.contains("sts:AssumeRole") && line[0].message.contains("far"),
            "{}",
            line[0].message
        );
        assert!(line[0].fix.as_deref().unwrap_or_default().contains("same external id"));
        assert!(find(&checks, "consumer", "far").is_empty(), "{checks:#?}");
        assert!(
            !find(&checks, "consumer", "clients").is_empty(),
            "the others are still checked"
        );
        // Readable, with its VPC read through the role: a pass, and the consumer checked.
        o.accounts.get_mut(&far).unwrap().unreachable = None;
        o.accounts.get_mut(&far).unwrap().vpcs = vec!["vpc-0fa40000000000001".parse().unwrap()];
        o.vpcs.push(Vpc {
            id: "vpc-0fa40000000000001".parse().unwrap(),
            cidr_blocks: vec!["10.9.0.0/16".parse().unwrap()],
            enable_dns_support: true,
            enable_dns_hostnames: true,
        });
        let checks = diagnose(&c, &Ok((o, d)), &audit());
        assert_eq!(find(&checks, "account", "222233334444")[0].status, Status::Pass);
        let far_line = find(&checks, "consumer", "far");
        assert_eq!(far_line.len(), 1);
        assert_eq!(far_line[0].status, Status::Pass);
        assert!(far_line[0].subject.contains("account 222233334444"));
        assert!(
            find(&checks, "dns", "far").is_empty(),
            "DHCP options are not read there"
        );
    }

    #[test]
    fn a_gateway_subnet_off_the_file_systems_route_tables_fails_and_says_how_to_fix_it() {
        let mut o = world(false);
        let before = run(o.clone(), &audit());
        assert!(
            find(&before, "fsx", "fs-")[2]
                .message
                .contains("10.0.15.192/26 → eni-07f1088148f103e3a")
        );
        let sub = find(&before, "subnet", "subnet-0ddc1cafa116ba0dd")[0];
        assert_eq!(sub.status, Status::Pass);
        assert!(
            sub.message
                .contains("its route table rtb-0f1e2d3c4b5a69788 reaches 10.0.15.192/26")
        );
        assert!(
            find(&before, "svm", "svm-")[0]
                .message
                .contains("reachable from 1 of 1 candidate gateway subnet(s)")
        );
        // The pinned subnet moves to a table with only the local route.
        o.route_tables.push(RouteTable {
            id: RouteTableId::parse("rtb-0aaaaaaaaaaaaaaaa").unwrap(),
            vpc_id: VpcId::parse("vpc-043c0858ea33e8ec2").unwrap(),
            main: false,
            associations: vec![RouteTableAssociation {
                id: "rtbassoc-1".into(),
                subnet_id: SubnetId::parse("subnet-0ddc1cafa116ba0dd").unwrap(),
            }],
            routes: vec![Route {
                destination: "10.0.0.0/16".parse().unwrap(),
                target: "local".into(),
            }],
            tags: Tags::new(),
        });
        let after = run(o, &audit());
        let sub = find(&after, "subnet", "subnet-0ddc1cafa116ba0dd")[0];
        assert_eq!(sub.status, Status::Fail, "{sub:?}");
        assert!(
            sub.message
                .contains("rtb-0aaaaaaaaaaaaaaaa has no route to 10.0.15.192/26")
        );
        assert!(
            sub.fix
                .as_deref()
                .unwrap()
                .contains("associate-route-table --subnet-id subnet-0ddc1cafa116ba0dd")
        );
        let svm = find(&after, "svm", "svm-")[0];
        assert_eq!(svm.status, Status::Fail);
        assert!(
            svm.message
                .contains("reachable from 0 of 1 candidate gateway subnet(s)")
        );
    }

    #[test]
    fn a_single_az_file_system_or_a_range_outside_the_vpc_fails() {
        let mut o = world(false);
        o.file_systems[0].deployment_type = DeploymentType::SingleAz1;
        o.file_systems[0].endpoint_ip_address_range = Some("198.19.255.0/24".parse().unwrap());
        let checks = run(o, &audit());
        let fs = find(&checks, "fsx", "fs-");
        assert_eq!(fs[0].status, Status::Fail);
        assert!(fs[0].message.contains("SINGLE_AZ_1"));
        assert_eq!(fs[1].status, Status::Fail);
        assert!(fs[1].message.contains("198.19.255.0/24 lies outside"));
    }

    #[test]
    fn role_simulations_fail_on_a_hard_deny_and_warn_on_missing_context() {
        let role = |id: &str| StackRole {
            logical_id: id.into(),
            arn: format!("arn:aws:iam::123456789012:role/stack-{id}"),
        };
        let decision = |a: &str, d, missing: &[&str]| PolicyDecision {
            action: a.into(),
            decision: d,
            missing_context_values: missing.iter().map(|s| s.to_string()).collect(),
        };
        let mut a = audit();
        a.stack = Some((
            "fsxn-lattice".into(),
            Ok(vec![
                RoleReport {
                    role: role("ProvisionFunctionRole"),
                    actions: vec![],
                    decisions: Ok(vec![decision(
                        "vpc-lattice:CreateResourceGateway",
                        Decision::Allowed,
                        &[],
                    )]),
                },
                RoleReport {
                    role: role("HealFunctionRole"),
                    actions: vec![],
                    decisions: Ok(vec![decision(
                        "ec2:CreateNetworkInterface",
                        Decision::ImplicitDeny,
                        &[],
                    )]),
                },
                RoleReport {
                    role: role("ReconcileFunctionRole"),
                    actions: vec![],
                    decisions: Ok(vec![decision(
                        "vpc-lattice:TagResource",
                        Decision::ImplicitDeny,
                        &["aws:RequestTag/x"],
                    )]),
                },
            ]),
        ));
        let checks = run(world(false), &a);
        let statuses: Vec<Status> = ["Provision", "Heal", "Reconcile"]
            .iter()
            .map(|r| find(&checks, "permission", r)[0].status)
            .collect();
        assert_eq!(statuses, vec![Status::Pass, Status::Fail, Status::Warn]);
        assert!(
            find(&checks, "permission", "Heal")[0]
                .message
                .contains("ec2:CreateNetworkInterface")
        );
        a.stack = Some((
            "nope".into(),
            Err(CloudError::new(
                ErrorKind::Internal,
                "DescribeStackResources",
                "ValidationError",
                "Stack with id nope does not exist",
            )),
        ));
        let checks = run(world(false), &a);
        assert_eq!(find(&checks, "permission", "stack nope")[0].status, Status::Fail);
    }

    #[test]
    fn every_function_role_has_an_action_list_and_others_have_none() {
        for id in [
            "ProvisionFunctionRole",
            "HealFunctionRole",
            "PublishAliasFunctionRole",
            "ReconcileFunctionRole",
        ] {
            let a = role_actions(id).unwrap();
            assert!(
                a.iter()
                    .all(|x| x.starts_with("vpc-lattice:") || x.starts_with("route53:") || x.starts_with("ec2:"))
            );
        }
        assert!(
            role_actions("PublishAliasFunctionRole")
                .unwrap()
                .contains(&"route53:ChangeResourceRecordSets")
        );
        assert!(
            !role_actions("ProvisionFunctionRole")
                .unwrap()
                .contains(&"route53:ChangeResourceRecordSets")
        );
        assert_eq!(role_actions("StateMachineRole"), None);
    }

    #[test]
    fn options_refuse_what_lookup_events_cannot_do() {
        assert!(GatherOptions::new("us-east-1".into(), None, 24).is_ok());
        assert!(GatherOptions::new("us-east-1".into(), Some("fsxn-lattice".into()), 2160).is_ok());
        for (hours, stack) in [(0, None), (2161, None), (1, Some("1bad")), (1, Some("bad_name"))] {
            assert!(
                GatherOptions::new("us-east-1".into(), stack.map(str::to_string), hours).is_err(),
                "{hours} {stack:?}"
            );
        }
    }

    /// [`config`] with its consumer in `alias_mode = "custom-domain"` (so without a zone).
    fn custom_domain() -> Config {
        let mut c = config();
        c.consumers[0].hosted_zone_id = None;
        c.consumers[0].alias_mode = crate::config::AliasMode::CustomDomain;
        c
    }

    #[test]
    fn a_custom_domain_line_says_where_its_verification_stands() {
        const PUBLIC: &str = "Z0PUBLIC0000000000001";
        let mut c = custom_domain();
        c.custom_domains.push(crate::config::CustomDomain {
            domain: "corp.non-97.net".into(),
            hosted_zone_id: Some(HostedZoneId::parse(PUBLIC).unwrap()),
        });
        let line = |o: Observed| {
            let d = crate::desired::resolve(&c, &o.file_systems, &o.svms);
            let checks = diagnose(&c, &Ok((o, d)), &audit());
            find(&checks, "domain", "domain corp.non-97.net")
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        };
        // The zone not found, and no verification yet.
        let got = line(world(false));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!((got[0].status, got[1].status), (Status::Fail, Status::Warn), "{got:?}");
        assert!(got[1].message.contains("no verification of ours yet"), "{got:?}");
        // A public zone, and ours pending with its TXT published there; then verified.
        let mut o = world(false);
        o.hosted_zones.push(HostedZone {
            id: HostedZoneId::parse(PUBLIC).unwrap(),
            name: "corp.non-97.net".into(),
            private: false,
            account: None,
        });
        let mut v = DomainVerification {
            id: "dv-0123456789abcdef0".into(),
            arn: String::new(),
            domain_name: "corp.non-97.net".into(),
            status: VerificationStatus::Pending,
            txt_name: Some("_lattice.corp.non-97.net".into()),
            txt_value: Some("token".into()),
            tags: [
                (OWNER_TAG.to_string(), "demo".to_string()),
                (crate::naming::HOSTED_ZONE_TAG.to_string(), PUBLIC.to_string()),
            ]
            .into(),
        };
        o.domain_verifications.push(v.clone());
        o.records.insert(
            HostedZoneId::parse(PUBLIC).unwrap(),
            vec![RecordSet {
                name: "_lattice.corp.non-97.net".into(),
                record_type: RecordType::TXT,
                ttl: 300,
                values: vec!["\"token\"".into()],
                routing: None,
            }],
        );
        let got = line(o.clone());
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].status, Status::Warn);
        assert!(
            got[0].message.contains("PENDING") && got[0].message.contains("(published in our zone)"),
            "{got:?}"
        );
        assert_eq!(got[0].fix, None);
        // Another stack's verification of the same domain is not ours.
        v.tags.insert(OWNER_TAG.into(), "other".into());
        let mut theirs = o.clone();
        theirs.domain_verifications = vec![v.clone()];
        assert!(line(theirs)[0].message.contains("no verification of ours yet"));
        o.domain_verifications[0].status = VerificationStatus::Verified;
        let got = line(o.clone());
        assert_eq!(
            (got[0].status, got[0].message.contains("VERIFIED")),
            (Status::Pass, true),
            "{got:?}"
        );
        // A private zone draws a warning of its own.
        o.hosted_zones.last_mut().unwrap().private = true;
        let got = line(o);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].message.contains("is private"), "{got:?}");
    }

    #[test]
    fn the_dns_line_says_which_resolver_the_consumer_vpcs_dhcp_options_give_clients() {
        let denied = Err(CloudError::new(
            ErrorKind::AccessDenied,
            "DescribeDhcpOptions",
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
        ));
        let throttled = Err(CloudError::new(
            ErrorKind::Transient,
            "DescribeVpcs",
            "RequestLimitExceeded",
            "Request limit exceeded.",
        ));
        // (case, config, what the read gave, status, in the message, in the fix)
        type Case<'a> = (&'a str, Config, Attempt<DhcpDns>, Status, &'a str, Option<&'a str>);
        let cases: Vec<Case> = vec![
            (
                "AmazonProvidedDNS",
                config(),
                dhcp("dopt-0a1b2c3d", &["AmazonProvidedDNS"]),
                Status::Pass,
                "DHCP options dopt-0a1b2c3d give clients AmazonProvidedDNS (the VPC resolver): they see the Route 53 alias in corp.non-97.net",
                None,
            ),
            (
                "the VPC resolver by address (the VPC's base + 2)",
                config(),
                dhcp("dopt-0a1b2c3d", &["10.1.0.2", "169.254.169.253"]),
                Status::Pass,
                "(the VPC resolver): they see the Route 53 alias",
                None,
            ),
            (
                "no DHCP option set",
                config(),
                Ok(DhcpDns {
                    dhcp_options_id: "default".into(),
                    domain_name_servers: vec![],
                }),
                Status::Pass,
                "no DHCP option set: Nitro instances use the Amazon DNS server 169.254.169.253",
                None,
            ),
            (
                "custom servers with [directory]",
                with_directory(),
                dhcp("dopt-0e9f8a7b", &["10.0.0.139", "10.0.1.77"]),
                Status::Pass,
                "DHCP options dopt-0e9f8a7b give clients 10.0.0.139, 10.0.1.77: domain members resolving through them see the AD DNS record fsxn-lattice writes in corp.non-97.net",
                None,
            ),
            (
                "custom servers without [directory]",
                config(),
                dhcp("dopt-0e9f8a7b", &["10.0.0.139", "10.0.1.77"]),
                Status::Warn,
                "give clients 10.0.0.139, 10.0.1.77, not the VPC resolver: they will not see the Route 53 alias in corp.non-97.net unless their DNS forwards corp.non-97.net to the VPC resolver",
                Some("forward corp.non-97.net to a Route 53 Resolver inbound endpoint in vpc-0764d7f66aa8fa58a"),
            ),
            (
                "a custom server before AmazonProvidedDNS, without [directory]",
                config(),
                dhcp("dopt-0e9f8a7b", &["10.0.0.139", "AmazonProvidedDNS"]),
                Status::Warn,
                "not only the VPC resolver: they will not see the Route 53 alias",
                Some("Route 53 Resolver inbound endpoint"),
            ),
            (
                "a custom-domain consumer on the VPC resolver",
                custom_domain(),
                dhcp("dopt-0a1b2c3d", &["AmazonProvidedDNS"]),
                Status::Pass,
                "(the VPC resolver): they see the aliases its endpoints answer through private DNS",
                None,
            ),
            (
                "a custom-domain consumer on custom servers, without [directory]",
                custom_domain(),
                dhcp("dopt-0e9f8a7b", &["10.0.0.139", "10.0.1.77"]),
                Status::Warn,
                "not the VPC resolver: they will not see the aliases its endpoints answer through private DNS",
                Some("Route 53 Resolver inbound endpoint in vpc-0764d7f66aa8fa58a"),
            ),
            (
                "a set without domain-name-servers",
                config(),
                dhcp("dopt-0c0c0c0c", &[]),
                Status::Warn,
                "set no domain-name-servers",
                None,
            ),
            (
                "DescribeDhcpOptions denied",
                config(),
                denied,
                Status::Warn,
                "cannot read the VPC's DHCP options, so which DNS its clients use is unknown: DescribeDhcpOptions failed (AccessDenied",
                Some("allow ec2:DescribeDhcpOptions to the identity running the doctor"),
            ),
            (
                "DescribeVpcs throttled after the retries",
                config(),
                throttled,
                Status::Warn,
                "cannot read the VPC's DHCP options",
                None,
            ),
        ];
        for (name, c, read, status, needle, fix) in cases {
            let mut a = audit();
            a.dhcp.insert(VpcId::parse(CONSUMER_VPC).unwrap(), read);
            let o = world(false);
            let d = crate::desired::resolve(&c, &o.file_systems, &o.svms);
            let checks = diagnose(&c, &Ok((o, d)), &a);
            let dns = find(&checks, "dns", "clients vpc-0764d7f66aa8fa58a");
            assert_eq!(dns.len(), 1, "{name}: {checks:?}");
            assert_eq!(dns[0].status, status, "{name}: {:?}", dns[0]);
            assert!(
                dns[0].message.contains(needle),
                "{name}: `{needle}` not in {}",
                dns[0].message
            );
            match fix {
                Some(f) => assert!(
                    dns[0].fix.as_deref().unwrap_or_default().contains(f),
                    "{name}: {:?}",
                    dns[0].fix
                ),
                None => assert_eq!(dns[0].fix, None, "{name}"),
            }
        }
        // Right after the consumer's own lines.
        let checks = run(world(false), &audit());
        let at = |area: &str| checks.iter().position(|c| c.area == area).unwrap();
        assert_eq!(
            at("dns"),
            checks.iter().rposition(|c| c.area == "consumer").unwrap() + 1
        );
        // Not read (a consumer VPC the reads did not reach): a warning, not a crash.
        let mut a = audit();
        a.dhcp.clear();
        assert_eq!(find(&run(world(false), &a), "dns", "clients")[0].status, Status::Warn);
        // A consumer VPC that does not exist fails its consumer line and has no DNS line.
        let mut o = world(false);
        o.vpcs.retain(|v| v.id.as_str() != CONSUMER_VPC);
        assert!(find(&run(o, &audit()), "dns", "clients").is_empty());
    }

    #[test]
    fn directory_targets_are_the_smb_exposures_with_an_alias() {
        let alias = "non-97-svm-alias.corp.non-97.net";
        let mut o = world(false);
        o.svms[0].tags.insert("fsxn-lattice:alias".into(), alias.to_uppercase());
        o.svms[0].tags.insert(
            crate::naming::directory_tag("demo"),
            format!("{alias} dns+fqdn 6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c"),
        );
        let c = with_directory();
        let d = crate::desired::resolve(&c, &o.file_systems, &o.svms);
        let t = directory_targets(&c, &o, &d);
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].svm_id.as_str(), "svm-0a1b2c3d4e5f60718");
        assert_eq!(t[0].computer, "SVM", "the SMB endpoint's DNS name, upper case");
        assert_eq!(
            (t[0].alias.as_str(), t[0].zone.as_str(), t[0].in_zone),
            (alias, "corp.non-97.net", true)
        );
        let record = t[0].record.as_ref().unwrap();
        assert_eq!(record.added.len(), 2);
        assert_eq!(t[0].outside_zone(), None);
        // Without [directory], none; a record of another alias is not this alias's.
        assert!(directory_targets(&config(), &o, &d).is_empty());
        o.svms[0].tags.insert(
            crate::naming::directory_tag("demo"),
            "old-alias.corp.non-97.net dns".into(),
        );
        assert_eq!(directory_targets(&c, &o, &d)[0].record, None);
        // An alias outside the zone: SPNs, but no AD DNS record, and a warning that says so.
        o.svms[0]
            .tags
            .insert("fsxn-lattice:alias".into(), "files.elsewhere.example".into());
        let d = crate::desired::resolve(&c, &o.file_systems, &o.svms);
        let t = directory_targets(&c, &o, &d);
        assert!(!t[0].in_zone);
        let w = t[0].outside_zone().unwrap();
        assert_eq!((w.area.as_str(), w.status), (DIRECTORY_AREA, Status::Warn));
        assert!(
            w.message.contains("not below the AD zone corp.non-97.net"),
            "{}",
            w.message
        );
        // No SMB, no target.
        o.svms[0].tags.insert("fsxn-lattice:expose".into(), "nfs".into());
        let d = crate::desired::resolve(&c, &o.file_systems, &o.svms);
        assert!(directory_targets(&c, &o, &d).is_empty());
    }

    #[test]
    fn an_unreadable_bind_secret_names_the_secret_and_what_to_grant() {
        let denied = CloudError::new(
            ErrorKind::AccessDenied,
            "GetSecretValue",
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: secretsmanager:GetSecretValue",
        );
        let c = unreadable_secret(SECRET, &denied);
        assert_eq!((c.area.as_str(), c.status), ("directory", Status::Fail));
        assert!(
            c.message.contains(SECRET) && c.message.contains("AccessDeniedException"),
            "{}",
            c.message
        );
        assert_eq!(
            c.fix.as_deref().unwrap(),
            format!(
                "allow secretsmanager:GetSecretValue on {SECRET} to the identity running the doctor (and kms:Decrypt on the secret's key if a customer managed key encrypts it)"
            )
        );
        let missing = CloudError::new(
            ErrorKind::NotFound,
            "GetSecretValue",
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
        );
        assert!(
            unreadable_secret(SECRET, &missing)
                .fix
                .unwrap()
                .contains(&format!("secretsmanager:GetSecretValue on {SECRET}"))
        );
        let malformed = CloudError::new(
            ErrorKind::InvalidInput,
            "read credentials",
            "InvalidInput",
            "the secret has no string field \"password\"",
        );
        assert!(
            unreadable_secret(SECRET, &malformed)
                .fix
                .unwrap()
                .contains("\"username\"")
        );
    }

    #[test]
    fn the_text_report_has_one_line_per_check_and_its_fix() {
        let checks = run(world(true), &audit());
        let text = render_text(&checks);
        let lines = text.lines().filter(|l| l.starts_with(['✓', '!', '✗'])).count();
        assert_eq!(lines, checks.len());
        let fixes = text.lines().filter(|l| l.trim_start().starts_with("fix: ")).count();
        assert_eq!(fixes, checks.iter().filter(|c| c.fix.is_some()).count());
        let (p, w, f) = summary(&checks);
        assert!(text.ends_with(&format!("{p} passed, {w} warning(s), {f} failed\n")));
    }
}
