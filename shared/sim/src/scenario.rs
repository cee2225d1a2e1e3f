//! The seed scenario (docs/design.md §2) and the event-driven loop that runs it: the seed's VPCs,
//! subnets, file system and SVM; gateway subnets pinned to the two fragmented FSx subnets as the
//! seed's author did; the endpoint fails with the seed's error; the CloudTrail event triggers
//! healing; the alias is published; the SPN is left to a person.

use crate::{Faults, SimCloud};
use fsxn_lattice_core::capacity::{ADDRESSES_PER_GATEWAY_ENI, SubnetCapacity};
use fsxn_lattice_core::config::{Config, tag_keys};
use fsxn_lattice_core::events::{Trigger, classify};
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::naming::is_owned;
use fsxn_lattice_core::plan::{Action, Plan};
use fsxn_lattice_core::reconcile::{Progress, ReconcileOptions, ReconcileStatus, reconcile};
use fsxn_lattice_core::time::rfc3339;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Duration;

/// The seed's file system.
pub const FS_ID: &str = "fs-07f1088148f103e3a";
/// The SVM (its id is not in the seed; this one is made up).
pub const SVM_ID: &str = "svm-0a1b2c3d4e5f60718";
/// The file system's VPC (10.0.0.0/16), where the resource gateway goes.
pub const FSX_VPC: &str = "vpc-043c0858ea33e8ec2";
/// The VPC of the demo's one consumer, `clients` (10.1.0.0/16, DNS attributes on).
pub const CONSUMER_VPC: &str = "vpc-0764d7f66aa8fa58a";
/// The FSx subnets (gateway subnets of the seed's first, failed attempt).
pub const FSX_SUBNETS: [&str; 2] = ["subnet-0ddc1cafa116ba0dd", "subnet-062714f49313a0ea5"];
/// The consumer's endpoint subnets in us-east-1a and us-east-1b (`subnet_ids` of
/// [`SEED_CONFIG`]'s consumer).
pub const CONSUMER_SUBNETS: [&str; 2] = ["subnet-0493d3cebba9cc691", "subnet-0bcd0a0fb136048db"];
/// The private hosted zone standing in for the seed's AD-integrated zone.
pub const ZONE_ID: &str = "Z0A1B2C3D4E5F6G7H8I9J";
/// The seed's alias.
pub const ALIAS: &str = "NON-97-SVM-ALIAS.corp.non-97.net";
/// The SVM's floating SMB/NFS/management IP.
pub const SVM_IP: &str = "10.0.15.239";
/// Seconds the demo waits between two polls: the state machine's `PollSeconds` as template.yaml
/// deploys it (a test checks they agree).
pub const POLL_SECONDS: u64 = 30;

/// The seed's world and the config a person would write for it.
pub struct SeedWorld {
    /// The simulated cloud.
    pub cloud: SimCloud,
    /// The config: gateway subnets pinned to the FSx subnets (as the seed did), heal on.
    pub config: Config,
}

/// The config of the demo (documented in `docs/config.md`).
pub const SEED_CONFIG: &str = r#"
owner = "demo"

[gateway]
security_group_ids = ["sg-03730d9e2b49e7cbc"]
# Pinned as the seed's author did: the two FSx subnets.
subnet_ids = ["subnet-0ddc1cafa116ba0dd", "subnet-062714f49313a0ea5"]
heal = true
allow_subnet_creation = true

[[consumers]]
name = "clients"
vpc_id = "vpc-0764d7f66aa8fa58a"
subnet_ids = ["subnet-0493d3cebba9cc691", "subnet-0bcd0a0fb136048db"]
security_group_ids = ["sg-0414e809a306108ed"]
hosted_zone_id = "Z0A1B2C3D4E5F6G7H8I9J"
"#;

/// The seed's Active Directory: the domain, the SVM's computer account, and the `[directory]`
/// section that opts in to the SPN and AD DNS steps (`SEED_CONFIG` plus this).
pub const DIRECTORY_CONFIG: &str = r#"
[directory]
domain = "corp.non-97.net"
secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:fsxn-lattice-ad-bind-Ab12Cd"
[[directory.domain_controllers]]
host = "dc1.corp.non-97.net"
address = "10.0.0.139"
"#;
/// The AD domain (and AD-integrated zone) of the seed.
pub const AD_DOMAIN: &str = "corp.non-97.net";
/// The SVM's computer account, as FSx joined it to the domain.
pub const COMPUTER: &str = "NON-97-SVM";

/// [`seed_world`] with the seed's Active Directory (the domain, the SVM's computer account
/// `NON-97-SVM$` with its own SPNs, its A record in AD DNS) and `[directory]` in the config.
pub fn seed_world_with_directory(seed: u64) -> SeedWorld {
    let mut w = seed_world(seed);
    w.cloud.add_ad_domain(AD_DOMAIN);
    w.cloud.add_ad_computer(COMPUTER);
    w.cloud.add_ad_record(
        &format!("{}.{AD_DOMAIN}", COMPUTER.to_ascii_lowercase()),
        crate::AdRecord::A(ip(SVM_IP)),
    );
    w.config = Config::from_toml(&format!("{SEED_CONFIG}{DIRECTORY_CONFIG}")).expect("the seed config is valid");
    w
}

fn ip(s: &str) -> std::net::Ipv4Addr {
    s.parse().expect("valid literal IP")
}

/// Builds the seed's world: the first FSx subnet fragmented as the seed's was (212 free
/// addresses, no free aligned /28), the second likewise with 219, the SVM not yet tagged for
/// exposure. `seed` drives the
/// simulator's randomness (generated ids, where fragmenting addresses land, faults).
pub fn seed_world(seed: u64) -> SeedWorld {
    let cloud = SimCloud::new(seed);
    let fsx_vpc = cloud.add_vpc(FSX_VPC, &["10.0.0.0/16"], true);
    let a = cloud.add_subnet(FSX_SUBNETS[0], &fsx_vpc, "us-east-1a", "10.0.8.0/24");
    let b = cloud.add_subnet(FSX_SUBNETS[1], &fsx_vpc, "us-east-1b", "10.0.9.0/24");
    let ad = cloud.add_subnet("subnet-0a7d3c5e9b1f24680", &fsx_vpc, "us-east-1a", "10.0.0.0/24");
    let app_b = cloud.add_subnet("subnet-0e4b6a8c2d9f13570", &fsx_vpc, "us-east-1b", "10.0.1.0/24");
    // FSx's own ENIs: iSCSI and intercluster LIFs (seed: 10.0.8.5, 10.0.8.138, 10.0.9.214, 10.0.9.245).
    cloud.add_eni(
        &a,
        &[ip("10.0.8.5"), ip("10.0.8.138")],
        &format!("ENI for FSx file system {FS_ID}"),
    );
    cloud.add_eni(
        &b,
        &[ip("10.0.9.214"), ip("10.0.9.245")],
        &format!("ENI for FSx file system {FS_ID}"),
    );
    cloud.add_eni(&ad, &[ip("10.0.0.139")], "AD domain controller");
    // Busy subnets are fragmented: the seed's subnet-0ddc… had 212 free addresses and no free /28.
    cloud.fragment(&a, 212);
    cloud.fragment(&b, 219);
    cloud.fragment(&app_b, 180);
    cloud.fill_random(&ad, 235);
    let consumer = cloud.add_vpc(CONSUMER_VPC, &["10.1.0.0/16"], true);
    let c1 = cloud.add_subnet(CONSUMER_SUBNETS[0], &consumer, "us-east-1a", "10.1.0.0/24");
    cloud.add_subnet(CONSUMER_SUBNETS[1], &consumer, "us-east-1b", "10.1.1.0/24");
    cloud.add_eni(&c1, &[ip("10.1.0.46")], "SMB client");
    let ep = |dns: &str, ips: &[&str]| {
        Some(SvmEndpoint {
            dns_name: Some(dns.into()),
            ip_addresses: ips.iter().map(|i| ip(i)).collect(),
        })
    };
    let nfs_dns = format!("{SVM_ID}.{FS_ID}.fsx.us-east-1.amazonaws.com");
    cloud.add_file_system(FileSystem {
        id: FileSystemId::parse(FS_ID).expect("literal id"),
        lifecycle: FsxLifecycle::Available,
        deployment_type: DeploymentType::MultiAz1,
        vpc_id: fsx_vpc.clone(),
        subnet_ids: vec![a, b],
        endpoint_ip_address_range: Some("10.0.15.192/26".parse().expect("literal CIDR")),
        route_table_ids: vec![], // FSx defaults to the main table, as in the seed (its hand-made subnets reached the SVM)
        tags: Tags::new(),
    });
    cloud.add_svm(StorageVirtualMachine {
        id: SvmId::parse(SVM_ID).expect("literal id"),
        name: "non-97-svm".into(),
        file_system_id: FileSystemId::parse(FS_ID).expect("literal id"),
        lifecycle: FsxLifecycle::Created,
        endpoints: SvmEndpoints {
            management: ep(&format!("management.{nfs_dns}"), &[SVM_IP]),
            nfs: ep(&nfs_dns, &[SVM_IP]),
            smb: ep("NON-97-SVM", &[SVM_IP]),
            iscsi: ep(&format!("iscsi.{nfs_dns}"), &["10.0.8.5", "10.0.9.214"]),
        },
        tags: Tags::new(),
    });
    let zone = cloud.add_hosted_zone(ZONE_ID, "corp.non-97.net", true);
    // The SVM's own A record, as AD registered it: not ours, never touched.
    cloud.add_record(
        &zone,
        RecordSet {
            name: "non-97-svm.corp.non-97.net".into(),
            record_type: RecordType::A,
            ttl: 86400,
            values: vec![SVM_IP.into()],
            routing: None,
        },
    );
    SeedWorld {
        cloud,
        config: Config::from_toml(SEED_CONFIG).expect("the seed config is valid"),
    }
}

/// One line of the demo's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Virtual time (RFC 3339).
    pub t: String,
    /// What kind of entry (`world`, `fsx_change`, `trigger`, `plan`, `warning`, `diagnosis`,
    /// `action`, `wait`, `refusal`, `resolve`, `manual_step`, `done`).
    pub kind: String,
    /// A sentence.
    pub message: String,
    /// Structured detail, when there is some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// One subnet of the serving gateway at the end of the demo, read from the simulator's
/// snapshot. Ids and CIDRs are strings because this is a printed report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatewaySubnet {
    /// One of the serving gateway's `subnetIds`.
    pub subnet_id: String,
    /// The subnet's CIDR, e.g. `10.0.2.0/26` when it was carved.
    pub cidr: String,
    /// AZ name of the subnet.
    pub availability_zone: String,
    /// Addresses the gateway's ENIs take there: private IPs plus prefix sizes, 17 for one ENI
    /// ([`fsxn_lattice_core::capacity::ADDRESSES_PER_GATEWAY_ENI`]); 0 if it has no ENI yet.
    pub addresses_consumed: u32,
    /// The simulated `AvailableIpAddressCount` of the subnet at the end (0 if unknown).
    pub free_addresses: u32,
    /// The /28 prefixes of the gateway's ENIs in this subnet, as CIDR strings.
    pub prefixes: Vec<String>,
}

/// The end state, read from the simulator's snapshot after the last reconcile. "The endpoint"
/// is our endpoint chosen as the current one: an `available` one if any, else the highest id;
/// the configuration and gateway are the ones it leads to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Final {
    /// That endpoint's state as EC2 prints it (`available`, …), or `none` when there is none.
    pub endpoint_state: String,
    /// That endpoint's `vpce-…` id; `None` when there is none.
    pub endpoint_id: Option<String>,
    /// That endpoint's association DNS name; `None` without an endpoint or before the
    /// association has one.
    pub endpoint_dns_name: Option<String>,
    /// [`ALIAS`], normalized (lower case, no trailing dot).
    pub alias_fqdn: String,
    /// The value of the alias CNAME found in any zone; `None` when none was published.
    pub alias_target: Option<String>,
    /// The gateway of that endpoint's configuration; `None` without one.
    pub gateway_id: Option<String>,
    /// The subnets of that gateway; empty without one.
    pub gateway_subnets: Vec<GatewaySubnet>,
    /// Our gateways, configurations and endpoints other than the current three: what the
    /// failed attempt left behind (0 when healing cleaned up).
    pub leftover_failed_resources: usize,
    /// Reconciles run.
    pub reconciles: u32,
    /// Port calls made over the whole demo, by operation name.
    pub api_calls: std::collections::BTreeMap<String, u64>,
    /// Four resolutions of the alias: each answers one endpoint ENI IP at random, as the seed
    /// saw; fewer entries if a resolution failed.
    pub resolved: Vec<String>,
    /// The last plan's manual steps (the Kerberos SPN), as instructions.
    pub manual_steps: Vec<String>,
    /// With the directory ([`DemoOptions::directory`]): what a domain member gets for the alias
    /// (its AD DNS answer and the KDC's ticket, or why not). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kerberos: Option<String>,
}

/// The demo's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemoReport {
    /// [`DemoOptions::seed`], so the run can be repeated.
    pub seed: u64,
    /// What happened, in order.
    pub timeline: Vec<Entry>,
    /// How it ended.
    #[serde(rename = "final")]
    pub final_state: Final,
}

struct Recorder<'a> {
    cloud: &'a SimCloud,
    timeline: Vec<Entry>,
    /// Subnets whose capacity was explained in full, with that explanation.
    explained: Vec<(String, String)>,
}

impl Recorder<'_> {
    fn add(&mut self, kind: &str, message: impl Into<String>, data: Option<Value>) {
        let mut message: String = message.into();
        // A subnet's capacity explanation is given in full once; later lines refer to it.
        for (subnet, reason) in &self.explained {
            if message.contains(reason.as_str()) && !message.starts_with(subnet.as_str()) {
                message = message.replace(reason.as_str(), &format!("no free aligned /28 (see {subnet} above)"));
            }
        }
        self.timeline.push(Entry {
            t: rfc3339(self.cloud.now_secs()),
            kind: kind.into(),
            message,
            data,
        });
    }

    /// Records the subnet's capacity in full, once: the first line that explains it.
    fn explain(&mut self, kind: &str, c: &SubnetCapacity) {
        let Some(reason) = c.reason() else {
            self.add(kind, Self::capacity_line(c), None);
            return;
        };
        let subnet = c.subnet_id.to_string();
        if self.explained.iter().any(|(s, _)| *s == subnet) {
            return;
        }
        self.add(kind, Self::capacity_line(c), None);
        self.explained.push((subnet, reason));
    }

    fn capacity_line(c: &SubnetCapacity) -> String {
        let reason = c
            .reason()
            .unwrap_or_else(|| format!("{} free aligned /28 block(s)", c.free_prefix_blocks.len()));
        format!("{} ({}, {}): {}", c.subnet_id, c.cidr, c.availability_zone, reason)
    }
}

/// Options of the demo.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Seeds the simulator ([`seed_world`]): same seed, same timeline.
    pub seed: u64,
    /// Probability (0.0–1.0) that any port call fails with an injected fault, set once the
    /// world is described; 0 for the plain demo.
    pub fault_rate: f64,
    /// With the seed's Active Directory and `[directory]` ([`seed_world_with_directory`]):
    /// fsxn-lattice adds the alias's SPNs and its AD DNS record itself, and the timeline shows
    /// SMB going from NTLMv2 to Kerberos. Without it (the default), the SPN is a manual step.
    pub directory: bool,
}

/// Runs the seed scenario end to end. Deterministic for a given seed.
pub async fn run_seed_demo(opts: DemoOptions) -> DemoReport {
    let SeedWorld { cloud, config } = if opts.directory {
        seed_world_with_directory(opts.seed)
    } else {
        seed_world(opts.seed)
    };
    let mut rec = Recorder {
        cloud: &cloud,
        timeline: Vec::new(),
        explained: Vec::new(),
    };
    let snap = cloud.snapshot();
    // Every subnet of the FSx VPC, the file system's own first (the config pins them).
    let mut subnets: Vec<&Subnet> = snap.subnets.iter().filter(|s| s.vpc_id.as_str() == FSX_VPC).collect();
    subnets.sort_by_key(|s| (!FSX_SUBNETS.contains(&s.id.as_str()), s.cidr.network()));
    for s in subnets {
        let c = fsxn_lattice_core::capacity::analyze_subnet(s, &snap.network_interfaces, &snap.cidr_reservations);
        let role = if FSX_SUBNETS.contains(&s.id.as_str()) {
            "FSx subnet"
        } else {
            "other subnet"
        };
        rec.add(
            "world",
            format!(
                "{role} {} ({}, {}): {} free addresses, {} free aligned /28",
                s.id,
                s.cidr,
                s.availability_zone,
                c.free_addresses,
                c.free_prefix_blocks.len()
            ),
            None,
        );
    }
    rec.add("world", format!("{FS_ID} (MULTI_AZ_1) serves SMB/NFS on {SVM_IP} from 10.0.15.192/26, outside every subnet: unreachable over peering"), None);
    if opts.directory
        && let Some((spns, _)) = cloud.ad_values(COMPUTER)
    {
        rec.add(
            "world",
            format!(
                "AD domain {AD_DOMAIN}: the SVM's computer account {COMPUTER}$ carries {}; nothing for the alias ([directory] is configured: fsxn-lattice will add it)",
                spns.join(", ")
            ),
            None,
        );
    }
    cloud.set_faults(Faults {
        rate: opts.fault_rate,
        ..Faults::default()
    });

    // A person opts the SVM in, as the seed exposed it: SSH, SMB, NFS; plus the alias.
    cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "ssh,smb,nfs");
    cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
    rec.add(
        "fsx_change",
        format!(
            "an administrator tags {SVM_ID}: {}=ssh,smb,nfs and {}={ALIAS}",
            tag_keys::EXPOSE,
            tag_keys::ALIAS
        ),
        None,
    );

    let options = ReconcileOptions {
        poll_interval: Duration::ZERO,
        ..ReconcileOptions::default()
    };
    let mut reconciles = 0u32;
    let mut polling = false;
    let mut ignored = 0usize;
    let mut last_plan = Plan::default();
    let mut shown: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for _round in 0..200 {
        let mut events = cloud.drain_events();
        if events.is_empty() && polling {
            cloud.advance(Duration::from_secs(POLL_SECONDS));
            rec.add(
                "wait",
                format!("Step Functions Wait ({POLL_SECONDS} s), then poll"),
                None,
            );
            events = cloud.drain_events();
        }
        let mut triggers = Vec::new();
        for ev in events {
            match classify(&ev) {
                Ok(Trigger::Ignored { .. }) => ignored += 1,
                Ok(t) => triggers.push((t, ev)),
                Err(e) => rec.add("refusal", format!("event refused: {e}"), None),
            }
        }
        let mut lines: Vec<(String, usize)> = Vec::new();
        for (t, ev) in &triggers {
            let msg = match t {
                Trigger::GatewayCapacityExhausted {
                    subnet_id,
                    gateway_id,
                    error_code,
                    error_message,
                    ..
                } => format!(
                    "CloudTrail: {} CreateNetworkInterface by vpc-lattice.amazonaws.com failed in {} ({error_code}: {error_message}) → reconcile the gateway there",
                    gateway_id.as_ref().map(|g| g.to_string()).unwrap_or_default(),
                    subnet_id.as_ref().map(|s| s.to_string()).unwrap_or_default()
                ),
                Trigger::FsxChanged {
                    event_name,
                    svm_id,
                    file_system_id,
                    ..
                } => format!(
                    "CloudTrail: FSx {event_name} on {} → reconcile it",
                    svm_id
                        .as_ref()
                        .map(|s| s.to_string())
                        .or(file_system_id.as_ref().map(|f| f.to_string()))
                        .unwrap_or_default()
                ),
                other => format!("{} trigger", other.name()),
            };
            // One line per distinct trigger: two tag calls are two CloudTrail events for one
            // reconcile.
            match lines.iter_mut().find(|(m, _)| *m == msg) {
                Some((_, n)) => *n += 1,
                None => {
                    lines.push((msg.clone(), 1));
                    rec.add("trigger", msg, Some(json!({"trigger": t, "event_id": ev.get("id")})));
                }
            }
            if let Trigger::GatewayCapacityExhausted {
                subnet_id: Some(sid), ..
            } = t
            {
                let snap = cloud.snapshot();
                if let Some(s) = snap.subnets.iter().find(|s| &s.id == sid) {
                    let c = fsxn_lattice_core::capacity::analyze_subnet(
                        s,
                        &snap.network_interfaces,
                        &snap.cidr_reservations,
                    );
                    rec.add(
                        "diagnosis",
                        format!(
                            "why: a gateway ENI needs one aligned /28 prefix (16 addresses on a 16-address boundary) plus a primary IP; {} has {} free addresses but {} free aligned /28 — {} of its {} candidate blocks hold at least one used address",
                            sid, c.free_addresses, c.free_prefix_blocks.len(),
                            c.blocked.iter().filter(|b| matches!(b.obstacle, fsxn_lattice_core::capacity::BlockObstacle::UsedAddresses { .. })).count(),
                            c.candidate_blocks
                        ),
                        None,
                    );
                }
            }
        }
        for (msg, n) in lines.iter().filter(|(_, n)| *n > 1) {
            if let Some(e) = rec
                .timeline
                .iter_mut()
                .rev()
                .find(|e| e.kind == "trigger" && e.message == *msg)
            {
                e.message = format!("{msg} ({n} events, one per API call; one reconcile serves them all)");
            }
        }
        if triggers.is_empty() && !polling {
            break;
        }
        reconciles += 1;
        let mut progress_entries: Vec<(String, String, Option<Value>)> = Vec::new();
        let mut diagnosed: Vec<SubnetCapacity> = Vec::new();
        let report = reconcile(&cloud, &config, &options, &mut |p| match p {
            Progress::Applied { applied, .. } => {
                let outcome = match &applied.outcome {
                    fsxn_lattice_core::apply::Outcome::Done { detail }
                    | fsxn_lattice_core::apply::Outcome::AlreadyDone { detail }
                    | fsxn_lattice_core::apply::Outcome::Deferred { detail } => detail.clone(),
                };
                progress_entries.push((
                    "action".into(),
                    format!(
                        "{} — {outcome} (why: {})",
                        applied.action.action.summary(),
                        applied.action.why
                    ),
                    Some(json!({"action": applied.action, "attempts": applied.attempts})),
                ));
                // The seed's story: through the alias, SMB first authenticates with NTLMv2.
                if opts.directory
                    && matches!(applied.action.action, Action::PublishAlias { .. })
                    && let Err(why) = cloud.kerberos_for(&normalize_dns_name(ALIAS))
                {
                    progress_entries.push((
                        "smb".into(),
                        format!("a client opens \\\\{ALIAS}\\share through Route 53: {why}"),
                        None,
                    ));
                }
            }
            Progress::Planned { plan, .. } => {
                for w in &plan.warnings {
                    if shown.insert(w.clone()) {
                        progress_entries.push(("warning".into(), w.clone(), None));
                    }
                }
                for c in &plan.diagnoses {
                    let line = Recorder::capacity_line(c);
                    if shown.insert(line) {
                        diagnosed.push(c.clone());
                    }
                }
                for r in &plan.refusals {
                    let line = format!("{}: {} ({})", r.subject, r.reason, r.kind);
                    if shown.insert(line.clone()) {
                        progress_entries.push(("refusal".into(), line, None));
                    }
                }
            }
            _ => {}
        })
        .await;
        let fresh = report.last_plan.waiting != last_plan.waiting;
        for c in &diagnosed {
            rec.explain("diagnosis", c);
        }
        for (k, m, d) in progress_entries {
            rec.add(&k, m, d);
        }
        polling = report.status == ReconcileStatus::Waiting;
        match report.status {
            ReconcileStatus::Waiting => {
                let what = report.last_plan.waiting.join("; ");
                if fresh || !report.applied.is_empty() {
                    rec.add("wait", format!("waiting: {what}"), None);
                }
            }
            ReconcileStatus::Converged => rec.add("plan", "converged: the plan is empty", None),
            s => rec.add("refusal", format!("reconcile ended {s:?}: {:?}", report.error), None),
        }
        last_plan = report.last_plan;
    }
    let fin = final_state(&cloud, &config, reconciles, &last_plan);
    for r in &fin.resolved {
        rec.add(
            "resolve",
            format!("{ALIAS} → {r} (one endpoint ENI IP per query)"),
            None,
        );
    }
    for m in &fin.manual_steps {
        rec.add("manual_step", m.clone(), None);
    }
    if let Some(k) = &fin.kerberos {
        rec.add("smb", k.clone(), None);
    }
    rec.add(
        "done",
        format!(
            "endpoint {} is {}; alias {} → {}; {ignored} CloudTrail events of our own calls ignored",
            fin.endpoint_id.as_deref().unwrap_or("-"),
            fin.endpoint_state,
            fin.alias_fqdn,
            fin.alias_target.as_deref().unwrap_or("-")
        ),
        None,
    );
    DemoReport {
        seed: opts.seed,
        timeline: rec.timeline,
        final_state: fin,
    }
}

fn final_state(cloud: &SimCloud, config: &Config, reconciles: u32, plan: &Plan) -> Final {
    let snap = cloud.snapshot();
    let ours = |t: &Tags| is_owned(t, &config.owner);
    let ep = snap
        .endpoints
        .iter()
        .filter(|e| ours(&e.tags))
        .max_by_key(|e| (e.state == EndpointState::Available, e.id.clone()));
    let cfg = ep.and_then(|e| {
        snap.configurations
            .iter()
            .find(|c| c.arn == e.resource_configuration_arn)
    });
    let gw = cfg.and_then(|c| snap.gateways.iter().find(|g| g.id == c.gateway_id));
    let alias = normalize_dns_name(ALIAS);
    let target = snap
        .records
        .values()
        .flatten()
        .find(|r| r.name == alias && r.record_type == RecordType::CNAME)
        .map(|r| r.values[0].clone());
    let gateway_subnets = gw
        .map(|g| {
            g.subnet_ids
                .iter()
                .filter_map(|sid| {
                    let s = snap.subnets.iter().find(|s| &s.id == sid)?;
                    let enis: Vec<&NetworkInterface> = snap
                        .network_interfaces
                        .iter()
                        .filter(|e| &e.subnet_id == sid && e.resource_gateway_id().as_ref() == Some(&g.id))
                        .collect();
                    let consumed: u32 = enis
                        .iter()
                        .map(|e| {
                            e.private_ips.len() as u32
                                + e.ipv4_prefixes
                                    .iter()
                                    .map(|p| 1u32 << (32 - p.prefix_len()))
                                    .sum::<u32>()
                        })
                        .sum();
                    debug_assert!(enis.is_empty() || consumed == ADDRESSES_PER_GATEWAY_ENI);
                    Some(GatewaySubnet {
                        subnet_id: sid.to_string(),
                        cidr: s.cidr.to_string(),
                        availability_zone: s.availability_zone.clone(),
                        addresses_consumed: consumed,
                        free_addresses: cloud.available_ip_address_count(sid).unwrap_or(0),
                        prefixes: enis
                            .iter()
                            .flat_map(|e| e.ipv4_prefixes.iter().map(|p| p.to_string()))
                            .collect(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let leftover = snap
        .gateways
        .iter()
        .filter(|g| ours(&g.tags) && Some(&g.id) != gw.map(|g| &g.id))
        .count()
        + snap
            .configurations
            .iter()
            .filter(|c| ours(&c.tags) && Some(&c.id) != cfg.map(|c| &c.id))
            .count()
        + snap
            .endpoints
            .iter()
            .filter(|e| ours(&e.tags) && Some(&e.id) != ep.map(|e| &e.id))
            .count();
    let resolved = (0..4)
        .filter_map(|_| cloud.resolve(&alias))
        .map(|i| i.to_string())
        .collect();
    Final {
        endpoint_state: ep
            .map(|e| e.state.as_str().to_string())
            .unwrap_or_else(|| "none".into()),
        endpoint_id: ep.map(|e| e.id.to_string()),
        endpoint_dns_name: ep.and_then(|e| e.dns_name.clone()),
        alias_fqdn: alias.clone(),
        alias_target: target,
        gateway_id: gw.map(|g| g.id.to_string()),
        gateway_subnets,
        leftover_failed_resources: leftover,
        reconciles,
        api_calls: cloud.api_calls(),
        resolved,
        manual_steps: plan.manual_steps.iter().map(|m| m.instruction.clone()).collect(),
        kerberos: config.directory.as_ref().map(|_| {
            let answer = cloud
                .resolve_as_domain_member(&alias)
                .map_or_else(|| "AD DNS does not know it".to_string(), |ip| format!("AD DNS answers {ip}"));
            match cloud.kerberos_for(&alias) {
                Ok(dn) => format!(
                    "a domain member opens \\\\{ALIAS}\\share: {answer}; the KDC issues a ticket for cifs/{alias} (held by {dn}): SMB authenticates with Kerberos"
                ),
                Err(why) => format!("a domain member opens \\\\{ALIAS}\\share: {answer}; {why}"),
            }
        }),
    }
}

/// Tests: reconciles `config` until it converges, at most `runs` times; the last report.
#[cfg(test)]
pub(crate) fn converge_within(
    cloud: &SimCloud,
    config: &Config,
    runs: usize,
) -> fsxn_lattice_core::reconcile::ReconcileReport {
    let options = ReconcileOptions::default();
    let mut last = None;
    for _ in 0..runs {
        let r = pollster::block_on(reconcile(cloud, config, &options, &mut |_| {}));
        let done = r.status == ReconcileStatus::Converged;
        last = Some(r);
        if done {
            break;
        }
    }
    last.expect("at least one run")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is the failure report
    use super::*;

    #[test]
    fn the_demo_polls_as_often_as_the_deployed_state_machine() {
        let d = crate::stepfunctions::Deployment::from_repository().unwrap();
        assert_eq!(d.substitutions["PollSeconds"], POLL_SECONDS.to_string());
    }

    #[test]
    fn with_the_directory_smb_goes_from_ntlm_to_kerberos_and_nothing_is_left_to_a_person() {
        let r = pollster::block_on(run_seed_demo(DemoOptions {
            seed: 1,
            fault_rate: 0.0,
            directory: true,
        }));
        let at = |pred: &dyn Fn(&Entry) -> bool| r.timeline.iter().position(pred);
        let ntlm = at(&|e| e.kind == "smb" && e.message.contains("NTLMv2")).expect("NTLMv2 first");
        let spn = at(&|e| e.kind == "action" && e.message.contains("HOST/NON-97-SVM-ALIAS to AD computer NON-97-SVM"))
            .expect("the SPN step, done");
        let ad_dns = at(&|e| e.kind == "action" && e.message.starts_with("CREATE AD DNS CNAME non-97-svm-alias"))
            .expect("the AD DNS step, done");
        let kerberos = at(&|e| e.kind == "smb" && e.message.contains("Kerberos")).expect("Kerberos at the end");
        assert!(ntlm < spn && spn < ad_dns && ad_dns < kerberos, "{:#?}", r.timeline);
        assert!(r.final_state.manual_steps.is_empty());
        assert!(!r.timeline.iter().any(|e| e.kind == "manual_step"));
        let k = r.final_state.kerberos.as_deref().unwrap();
        assert!(
            k.contains("CN=NON-97-SVM,CN=Computers,DC=corp,DC=non-97,DC=net") && k.contains("AD DNS answers 10.1."),
            "{k}"
        );
        // Our own record tag does not trigger a reconcile of its own.
        assert!(
            !r.timeline.iter().skip(spn).any(|e| e.kind == "trigger"),
            "{:#?}",
            r.timeline
        );
        // Without the directory, the demo is as it was: the manual step, no SMB lines.
        let plain = pollster::block_on(run_seed_demo(DemoOptions {
            seed: 1,
            fault_rate: 0.0,
            directory: false,
        }));
        assert_eq!(plain.final_state.manual_steps.len(), 1);
        assert!(plain.final_state.kerberos.is_none());
        assert!(
            !plain
                .timeline
                .iter()
                .any(|e| e.kind == "smb" || e.message.contains("AD DNS"))
        );
    }

    #[test]
    fn the_demo_says_each_thing_once() {
        let r = pollster::block_on(run_seed_demo(DemoOptions {
            seed: 1,
            fault_rate: 0.0,
            directory: false,
        }));
        let lines: Vec<&str> = r.timeline.iter().map(|e| e.message.as_str()).collect();
        // The full capacity explanation of a subnet appears once; every later mention refers to it.
        for sid in FSX_SUBNETS {
            let full = lines
                .iter()
                .filter(|l| l.contains(sid) && l.contains("candidate blocks ("))
                .count();
            assert_eq!(full, 1, "{sid}: {lines:#?}");
        }
        // No trigger line twice in a row; no filler.
        assert!(
            lines
                .windows(2)
                .all(|w| w[0] != w[1] || !w[0].starts_with("CloudTrail")),
            "{lines:#?}"
        );
        assert!(!lines.iter().any(|l| l.starts_with("plan: ")), "{lines:#?}");
        // Every subnet an action or diagnosis names was introduced by a world line first.
        let world: Vec<&str> = r
            .timeline
            .iter()
            .filter(|e| e.kind == "world")
            .map(|e| e.message.as_str())
            .collect();
        for l in &lines {
            for word in l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
                if word.starts_with("subnet-") && word.len() == 24 {
                    let carved = lines.iter().any(|x| x.starts_with("create subnet") && x.contains(word));
                    assert!(
                        carved || world.iter().any(|w| w.contains(word)),
                        "{word} not introduced: {lines:#?}"
                    );
                }
            }
        }
    }
}
