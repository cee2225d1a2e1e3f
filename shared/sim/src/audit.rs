//! The simulated cloud's answers to the doctor's account-level reads ([`AuditRead`]):
//! CloudTrail answers `LookupEvents` from every record the simulation emitted (the seed's
//! failed `CreateNetworkInterface` included), with one logging multi-Region trail by default;
//! EC2 `DryRun` and IAM policy simulation allow everything unless a test denies it; a stack's
//! function roles exist once [`SimCloud::add_stack`] made them; private zones are associated
//! with the VPCs [`SimCloud::associate_zone`] names; every VPC uses the Region's default DHCP
//! option set (`AmazonProvidedDNS`) unless [`SimCloud::set_dhcp_dns_servers`] gave it others.

use crate::SimCloud;
use crate::world::{CloudState, err};
use async_trait::async_trait;
use fsxn_lattice_core::audit::*;
use fsxn_lattice_core::config::{Config, tag_keys};
use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::ports::CloudResult;
use fsxn_lattice_core::reconcile::{ReconcileOptions, ReconcileStatus, Scope, reconcile};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// `LookupEvents` returns at most 50 events per page.
pub const LOOKUP_PAGE: usize = 50;

/// The simulated Region's default DHCP option set, which every VPC uses unless a test gives it
/// custom DNS servers; like AWS's, it names `AmazonProvidedDNS`.
pub const DEFAULT_DHCP_OPTIONS: &str = "dopt-0f3a9c2d7b1e48650";

/// A trail of the simulated account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTrail {
    /// What `DescribeTrails` says.
    pub trail: Trail,
    /// `GetTrailStatus.IsLogging`
    pub is_logging: bool,
    /// `GetEventSelectors`
    pub selectors: EventSelectors,
}

impl SimTrail {
    /// A multi-Region trail that logs all management events (CloudTrail's defaults for a new
    /// trail: "trails created without specific event selectors will be configured to log all
    /// read and write management events").
    pub fn management(name: &str, home_region: &str, account: &str) -> Self {
        Self {
            trail: Trail {
                name: name.into(),
                arn: format!("arn:aws:cloudtrail:{home_region}:{account}:trail/{name}"),
                home_region: home_region.into(),
                is_multi_region: true,
                is_organization_trail: false,
            },
            is_logging: true,
            selectors: EventSelectors::Basic(vec![BasicEventSelector {
                read_write_type: ReadWriteType::All,
                include_management_events: true,
                exclude_management_event_sources: vec![],
            }]),
        }
    }
}

/// The doctor's part of the simulated world.
#[derive(Debug, Clone)]
pub(crate) struct AuditState {
    trails: Vec<SimTrail>,
    /// Every CloudTrail record emitted, with its time: CloudTrail's event history.
    history: Vec<(u64, Value)>,
    /// EC2 operations whose `DryRun` answers `UnauthorizedOperation`.
    denied_dry_runs: BTreeSet<String>,
    /// Stacks: name → (role logical id, role ARN).
    stacks: BTreeMap<String, Vec<StackRole>>,
    /// Role ARN → actions the simulation denies.
    denied_actions: BTreeMap<String, BTreeSet<String>>,
    /// Private zone → associated VPCs.
    zone_vpcs: BTreeMap<HostedZoneId, Vec<VpcId>>,
    /// VPC → the `domain-name-servers` of its own DHCP option set (others use the default set).
    dhcp_dns: BTreeMap<VpcId, Vec<String>>,
}

impl AuditState {
    pub(crate) fn new(region: &str, account: &str) -> Self {
        Self {
            trails: vec![SimTrail::management("management-events", region, account)],
            history: Vec::new(),
            denied_dry_runs: BTreeSet::new(),
            stacks: BTreeMap::new(),
            denied_actions: BTreeMap::new(),
            zone_vpcs: BTreeMap::new(),
            dhcp_dns: BTreeMap::new(),
        }
    }

    /// Keeps an emitted EventBridge event's CloudTrail record.
    pub(crate) fn record(&mut self, now: u64, event: &Value) {
        if let Some(detail) = event.get("detail") {
            self.history.push((now, detail.clone()));
        }
    }
}

impl SimCloud {
    /// Replaces the account's trails (none: EventBridge would get no CloudTrail events).
    pub fn set_trails(&self, trails: Vec<SimTrail>) {
        self.w().audit.trails = trails;
    }

    /// Makes `DryRun` of an EC2 operation (`CreateSubnet`, …) answer `UnauthorizedOperation`.
    pub fn deny_dry_run(&self, operation: &str) {
        self.w().audit.denied_dry_runs.insert(operation.to_string());
    }

    /// Adds a deployed stack with the four function roles SAM creates
    /// (`<function logical id>Role`).
    pub fn add_stack(&self, name: &str) {
        let mut w = self.w();
        let account = w.account.clone();
        let roles = [
            "ProvisionFunction",
            "HealFunction",
            "PublishAliasFunction",
            "ReconcileFunction",
        ]
        .iter()
        .map(|f| StackRole {
            logical_id: format!("{f}Role"),
            arn: format!("arn:aws:iam::{account}:role/{name}-{f}Role-SIM0000001"),
        })
        .collect();
        w.audit.stacks.insert(name.to_string(), roles);
    }

    /// Makes the simulation of `role_logical_id` in every stack deny `action`.
    pub fn deny_role_action(&self, role_logical_id: &str, action: &str) {
        let mut w = self.w();
        let arns: Vec<String> = w
            .audit
            .stacks
            .values()
            .flatten()
            .filter(|r| r.logical_id == role_logical_id)
            .map(|r| r.arn.clone())
            .collect();
        for arn in arns {
            w.audit
                .denied_actions
                .entry(arn)
                .or_default()
                .insert(action.to_string());
        }
    }

    /// Associates a private hosted zone with a VPC.
    pub fn associate_zone(&self, zone: &HostedZoneId, vpc: &VpcId) {
        self.w()
            .audit
            .zone_vpcs
            .entry(zone.clone())
            .or_default()
            .push(vpc.clone());
    }
}

impl SimCloud {
    /// Gives `vpc` a DHCP option set of its own (`dopt-` and the VPC id's digits) whose
    /// `domain-name-servers` are `servers` (IP addresses, `AmazonProvidedDNS`, or none).
    pub fn set_dhcp_dns_servers(&self, vpc: &VpcId, servers: &[&str]) {
        self.w()
            .audit
            .dhcp_dns
            .insert(vpc.clone(), servers.iter().map(|s| s.to_string()).collect());
    }
}

fn trail_of<'a>(w: &'a CloudState, op: &str, arn: &str) -> CloudResult<&'a SimTrail> {
    w.audit.trails.iter().find(|t| t.trail.arn == arn).ok_or_else(|| {
        err(
            ErrorKind::NotFound,
            op,
            "TrailNotFoundException",
            format!("Unknown trail: {arn} for the user"),
        )
    })
}

#[async_trait]
impl AuditRead for SimCloud {
    async fn describe_trails(&self) -> CloudResult<Vec<Trail>> {
        let mut w = self.w();
        w.enter("DescribeTrails")?;
        Ok(w.audit.trails.iter().map(|t| t.trail.clone()).collect())
    }

    async fn get_trail_status(&self, trail_arn: &str) -> CloudResult<TrailStatus> {
        let mut w = self.w();
        w.enter("GetTrailStatus")?;
        let t = trail_of(&w, "GetTrailStatus", trail_arn)?;
        Ok(TrailStatus {
            is_logging: t.is_logging,
        })
    }

    async fn get_event_selectors(&self, trail_arn: &str) -> CloudResult<EventSelectors> {
        let mut w = self.w();
        w.enter("GetEventSelectors")?;
        Ok(trail_of(&w, "GetEventSelectors", trail_arn)?.selectors.clone())
    }

    async fn lookup_events(&self, query: &LookupQuery) -> CloudResult<LookupResult> {
        let mut w = self.w();
        w.enter("LookupEvents")?;
        // Event history keeps management events whether or not a trail is configured; newest
        // first, as LookupEvents returns them.
        let mut matching: Vec<TrailEvent> = w
            .audit
            .history
            .iter()
            .filter(|(t, r)| {
                (query.start_time..=query.end_time).contains(t)
                    && r.get("eventName").and_then(Value::as_str) == Some(query.event_name.as_str())
            })
            .map(|(t, r)| TrailEvent {
                event_id: r.get("eventID").and_then(Value::as_str).unwrap_or_default().to_string(),
                event_name: query.event_name.clone(),
                event_time: *t,
                record: r.clone(),
            })
            .rev()
            .collect();
        let truncated = matching.len() > query.max_events;
        matching.truncate(query.max_events);
        w.pages("LookupEvents", matching.len(), LOOKUP_PAGE);
        Ok(LookupResult {
            events: matching,
            truncated,
        })
    }

    async fn dry_run(&self, call: &DryRunCall) -> CloudResult<DryRunAnswer> {
        let op = call.operation();
        let mut w = self.w();
        w.enter(op)?;
        if let DryRunCall::CreateSubnetCidrReservation { subnet_id, .. } = call
            && !w.subnets.contains_key(subnet_id)
        {
            return Ok(DryRunAnswer::Inconclusive {
                code: "InvalidSubnetID.NotFound".into(),
                message: format!("The subnet ID '{subnet_id}' does not exist"),
            });
        }
        Ok(if w.audit.denied_dry_runs.contains(op) {
            DryRunAnswer::Denied {
                message: "You are not authorized to perform this operation.".into(),
            }
        } else {
            DryRunAnswer::Allowed
        })
    }

    async fn stack_roles(&self, stack: &str) -> CloudResult<Vec<StackRole>> {
        let mut w = self.w();
        w.enter("DescribeStackResources")?;
        w.audit.stacks.get(stack).cloned().ok_or_else(|| {
            err(
                ErrorKind::NotFound,
                "DescribeStackResources",
                "ValidationError",
                format!("Stack with id {stack} does not exist"),
            )
        })
    }

    async fn simulate_principal_policy(&self, request: &SimulationRequest) -> CloudResult<Vec<PolicyDecision>> {
        let mut w = self.w();
        w.enter("SimulatePrincipalPolicy")?;
        let denied = w.audit.denied_actions.get(&request.principal_arn);
        Ok(request
            .actions
            .iter()
            .map(|a| PolicyDecision {
                action: a.clone(),
                decision: if denied.is_some_and(|d| d.contains(a)) {
                    Decision::ImplicitDeny
                } else {
                    Decision::Allowed
                },
                missing_context_values: vec![],
            })
            .collect())
    }

    async fn hosted_zone_vpcs(&self, zone: &HostedZoneId) -> CloudResult<Vec<VpcId>> {
        let mut w = self.w();
        w.enter("GetHostedZone")?;
        if !w.zones.contains_key(zone) {
            return Err(err(
                ErrorKind::NotFound,
                "GetHostedZone",
                "NoSuchHostedZone",
                format!("No hosted zone found with ID: {zone}"),
            ));
        }
        Ok(w.audit.zone_vpcs.get(zone).cloned().unwrap_or_default())
    }

    async fn vpc_dhcp_dns(&self, vpc: &VpcId) -> CloudResult<DhcpDns> {
        let mut w = self.w();
        w.enter("DescribeVpcs")?;
        if !w.vpcs.contains_key(vpc) {
            return Err(err(
                ErrorKind::NotFound,
                "DescribeVpcs",
                "InvalidVpcID.NotFound",
                format!("The vpc ID '{vpc}' does not exist"),
            ));
        }
        w.enter("DescribeDhcpOptions")?;
        Ok(match w.audit.dhcp_dns.get(vpc) {
            Some(servers) => DhcpDns {
                dhcp_options_id: format!("dopt-{}", vpc.as_str().trim_start_matches("vpc-")),
                domain_name_servers: servers.clone(),
            },
            None => DhcpDns {
                dhcp_options_id: DEFAULT_DHCP_OPTIONS.into(),
                domain_name_servers: vec![DhcpDns::AMAZON_PROVIDED_DNS.into()],
            },
        })
    }
}

/// Which moment of the seed scenario the doctor looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedStage {
    /// Right after the seed's first attempt: gateway in the fragmented FSx subnets, endpoint
    /// `failed`, the failed `CreateNetworkInterface` in CloudTrail, not yet healed.
    Failed,
    /// After the heal converged: replacement gateway, endpoint available, alias published.
    Healed,
}

/// The seed's world at `stage`, deployed as stack `fsxn-lattice` with the zone associated with
/// the consumer VPC: what `fsxn-lattice doctor --simulated` examines.
pub async fn seed_doctor_world(seed: u64, stage: SeedStage) -> (SimCloud, Config) {
    let crate::scenario::SeedWorld { cloud, config } = crate::scenario::seed_world(seed);
    cloud.add_stack("fsxn-lattice");
    let zone = HostedZoneId::parse(crate::scenario::ZONE_ID).expect("literal id");
    let consumer = VpcId::parse(crate::scenario::CONSUMER_VPC).expect("literal id");
    cloud.associate_zone(&zone, &consumer);
    cloud.tag_fsx(crate::scenario::SVM_ID, tag_keys::EXPOSE, "ssh,smb,nfs");
    cloud.tag_fsx(crate::scenario::SVM_ID, tag_keys::ALIAS, crate::scenario::ALIAS);
    // The first attempt, as the Provision step runs it: build, then leave the polling to
    // Step Functions.
    let first = ReconcileOptions {
        poll_interval: Duration::ZERO,
        scope: Scope::Infrastructure,
        ..ReconcileOptions::default()
    };
    let report = reconcile(&cloud, &config, &first, &mut |_| {}).await;
    debug_assert_eq!(report.status, ReconcileStatus::Waiting);
    // VPC Lattice asks EC2 for the gateway ENIs a second after the endpoint is created.
    cloud.advance(Duration::from_secs(5));
    if stage == SeedStage::Healed {
        let report = reconcile(&cloud, &config, &ReconcileOptions::default(), &mut |_| {}).await;
        debug_assert_eq!(report.status, ReconcileStatus::Converged);
    }
    cloud.drain_events();
    (cloud, config)
}
