//! The multi-account scenario (`fsxn-lattice demo --scenario multi-account`): the seed's file
//! system stays in the storage account; its SVM is consumed from two workload accounts, one in
//! the AWS Organization (its share needs no invitation) and one outside it (the role accepts
//! RAM's invitation). It shows the shares, the endpoints and alias made in the consumer
//! accounts through their roles, a heal that crosses accounts (a failed endpoint there is
//! replaced and the alias repointed), an account whose role cannot be assumed (reported, the
//! others served, nothing of it deleted blind), and a consumer removed (its endpoint goes
//! first, then its share).

use crate::scenario::{ALIAS, CONSUMER_SUBNETS, Entry, SEED_CONFIG, SVM_ID, seed_world};
use crate::{SimCloud, Snapshot};
use fsxn_lattice_core::apply::Outcome;
use fsxn_lattice_core::config::{Config, tag_keys};
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::reconcile::{Progress, ReconcileOptions, ReconcileReport, ReconcileStatus, reconcile};
use fsxn_lattice_core::time::rfc3339;
use serde::Serialize;
use std::collections::BTreeSet;

/// The workload account inside the organization.
pub const ANALYTICS_ACCOUNT: &str = "222233334444";
/// The partner account outside the organization.
pub const PARTNER_ACCOUNT: &str = "444455556666";
/// The analytics consumer's VPC, in [`ANALYTICS_ACCOUNT`].
pub const ANALYTICS_VPC: &str = "vpc-0a1a1a1a1a1a1a1a1";
/// The analytics account's private hosted zone for the domain.
pub const ANALYTICS_ZONE: &str = "Z0ANALYTICS00000000001";
/// The partner consumer's VPC, in [`PARTNER_ACCOUNT`].
pub const PARTNER_VPC: &str = "vpc-0b2b2b2b2b2b2b2b2";

/// The networking account that owns the service network `mesh` and shares it with the storage
/// account through RAM.
pub const NETWORK_ACCOUNT: &str = "555566667777";
/// The shared service network.
pub const MESH_NETWORK_ARN: &str = "arn:aws:vpc-lattice:us-east-1:555566667777:servicenetwork/sn-0c3c3c3c3c3c3c3c3";
/// The storage account's private zone where the `mesh` consumer's alias goes.
pub const MESH_ZONE: &str = "Z0MESH00000000000000001";

/// The config: the seed's, plus the two accounts and their consumers.
pub fn multi_account_config() -> String {
    format!(
        r#"{SEED_CONFIG}
[sharing]
allow_external_principals = true

[[accounts]]
id = "{ANALYTICS_ACCOUNT}"
role_arn = "arn:aws:iam::{ANALYTICS_ACCOUNT}:role/fsxn-lattice-consumer"
external_id = "demo-fsxn-lattice"

[[accounts]]
id = "{PARTNER_ACCOUNT}"
role_arn = "arn:aws:iam::{PARTNER_ACCOUNT}:role/fsxn-lattice-consumer"

[[consumers]]
name = "analytics"
account = "{ANALYTICS_ACCOUNT}"
vpc_id = "{ANALYTICS_VPC}"
subnet_ids = ["subnet-0a1a1a1a1a1a1a1a1", "subnet-0a1a1a1a1a1a1a1a2"]
hosted_zone_id = "{ANALYTICS_ZONE}"

[[service_network_consumers]]
name = "mesh"
service_network = "{MESH_NETWORK_ARN}"
hosted_zone_id = "{MESH_ZONE}"

[[consumers]]
name = "partner"
account = "{PARTNER_ACCOUNT}"
vpc_id = "{PARTNER_VPC}"
subnet_ids = ["subnet-0b2b2b2b2b2b2b2b1"]
"#
    )
}

/// The seed's world plus the two consumer accounts (their roles, VPCs, subnets and zone).
pub fn multi_account_world(seed: u64) -> (SimCloud, Config) {
    let w = seed_world(seed);
    let cloud = w.cloud;
    let analytics = cloud.add_account(
        ANALYTICS_ACCOUNT,
        &format!("arn:aws:iam::{ANALYTICS_ACCOUNT}:role/fsxn-lattice-consumer"),
        Some("demo-fsxn-lattice"),
        true,
    );
    let partner = cloud.add_account(
        PARTNER_ACCOUNT,
        &format!("arn:aws:iam::{PARTNER_ACCOUNT}:role/fsxn-lattice-consumer"),
        None,
        false,
    );
    let vpc = cloud.add_vpc(ANALYTICS_VPC, &["10.20.0.0/16"], true);
    cloud.place_in(vpc.as_str(), &analytics);
    for (id, az, cidr) in [
        ("subnet-0a1a1a1a1a1a1a1a1", "us-east-1a", "10.20.0.0/24"),
        ("subnet-0a1a1a1a1a1a1a1a2", "us-east-1b", "10.20.1.0/24"),
    ] {
        let s = cloud.add_subnet(id, &vpc, az, cidr);
        cloud.place_in(s.as_str(), &analytics);
    }
    let zone = cloud.add_hosted_zone(ANALYTICS_ZONE, "corp.non-97.net", true);
    cloud.place_in(zone.as_str(), &analytics);
    let vpc = cloud.add_vpc(PARTNER_VPC, &["10.30.0.0/16"], true);
    cloud.place_in(vpc.as_str(), &partner);
    let s = cloud.add_subnet("subnet-0b2b2b2b2b2b2b2b1", &vpc, "us-east-1a", "10.30.0.0/24");
    cloud.place_in(s.as_str(), &partner);
    let _ = CONSUMER_SUBNETS;
    cloud.add_service_network("sn-0c3c3c3c3c3c3c3c3", Some(NETWORK_ACCOUNT));
    // Another private zone of the alias's domain, for the VPCs on the service network.
    cloud.add_hosted_zone(MESH_ZONE, "corp.non-97.net", true);
    let config = Config::from_toml(&multi_account_config()).expect("the multi-account config is valid");
    (cloud, config)
}

/// What the multi-account demo shows and checks.
#[derive(Debug, Clone, Serialize)]
pub struct MultiAccountReport {
    /// The simulator's seed.
    pub seed: u64,
    /// What happened, in order.
    pub timeline: Vec<Entry>,
    /// Each claim the demo makes, checked against the simulated world: (claim, holds).
    pub checks: Vec<(String, bool)>,
}

impl MultiAccountReport {
    /// Whether every check held.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|(_, ok)| *ok)
    }
}

struct Rec<'a> {
    cloud: &'a SimCloud,
    timeline: Vec<Entry>,
    checks: Vec<(String, bool)>,
    shown: BTreeSet<String>,
}

impl Rec<'_> {
    fn add(&mut self, kind: &str, message: impl Into<String>) {
        self.timeline.push(Entry {
            t: rfc3339(self.cloud.now_secs()),
            kind: kind.into(),
            message: message.into(),
            data: None,
        });
    }

    fn check(&mut self, claim: impl Into<String>, holds: bool) {
        let claim = claim.into();
        self.add("check", format!("{} {claim}", if holds { "✓" } else { "✗" }));
        self.checks.push((claim, holds));
    }

    /// Reconciles (all scopes, polling on virtual time) until converged, up to 10 runs.
    async fn converge(&mut self, config: &Config) -> ReconcileReport {
        let options = ReconcileOptions::default();
        let mut last = None;
        for _ in 0..10 {
            let mut lines = Vec::new();
            let report = reconcile(self.cloud, config, &options, &mut |p| match p {
                Progress::Applied { applied, .. } => {
                    let detail = match &applied.outcome {
                        Outcome::Done { detail } | Outcome::AlreadyDone { detail } | Outcome::Deferred { detail } => {
                            detail.clone()
                        }
                    };
                    lines.push((
                        "action".to_string(),
                        format!(
                            "{} — {detail} (why: {})",
                            applied.action.action.summary(),
                            applied.action.why
                        ),
                    ));
                }
                Progress::Planned { plan, .. } => {
                    for r in &plan.refusals {
                        lines.push(("refusal".into(), format!("{}: {} ({})", r.subject, r.reason, r.kind)));
                    }
                    for h in &plan.held_for_accounts {
                        lines.push(("held".into(), h.clone()));
                    }
                    for w in &plan.warnings {
                        lines.push(("warning".into(), w.clone()));
                    }
                }
                _ => {}
            })
            .await;
            for (kind, line) in lines {
                if kind == "action" || self.shown.insert(line.clone()) {
                    self.add(&kind, line);
                }
            }
            let done = report.status == ReconcileStatus::Converged;
            last = Some(report);
            if done {
                break;
            }
        }
        last.expect("at least one run")
    }
}

fn endpoints_in(snap: &Snapshot, account: &str) -> Vec<VpcEndpoint> {
    snap.endpoints
        .iter()
        .filter(|e| e.account.as_ref().map(AccountId::as_str) == Some(account))
        .cloned()
        .collect()
}

fn alias_target(snap: &Snapshot, zone: &str) -> Option<String> {
    let zone = HostedZoneId::parse(zone).ok()?;
    snap.records.get(&zone)?.iter().find_map(|r| {
        (r.record_type == RecordType::CNAME && r.name.eq_ignore_ascii_case(ALIAS)).then(|| r.values[0].clone())
    })
}

/// Runs the multi-account scenario. Deterministic for a given seed.
pub async fn run_multi_account_demo(seed: u64) -> MultiAccountReport {
    let (cloud, mut config) = multi_account_world(seed);
    let mut rec = Rec {
        cloud: &cloud,
        timeline: Vec::new(),
        checks: Vec::new(),
        shown: BTreeSet::new(),
    };
    rec.add(
        "world",
        format!(
            "storage account {}: the seed's file system and SVM {SVM_ID}; consumer `clients` in the same account",
            "123456789012"
        ),
    );
    rec.add(
        "world",
        format!(
            "account {ANALYTICS_ACCOUNT} (in the organization): VPC {ANALYTICS_VPC} and private zone {ANALYTICS_ZONE} for corp.non-97.net; role fsxn-lattice-consumer trusts the stack with an external id"
        ),
    );
    rec.add(
        "world",
        format!(
            "account {PARTNER_ACCOUNT} (outside the organization): VPC {PARTNER_VPC}, no zone (endpoint only); role fsxn-lattice-consumer"
        ),
    );

    // 1. The SVM is opted in: every consumer, in every account, gets its path.
    cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb,nfs");
    cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
    rec.add(
        "fsx_change",
        format!("an administrator tags {SVM_ID}: expose=smb,nfs, alias={ALIAS}"),
    );
    let report = rec.converge(&config).await;
    let snap = cloud.snapshot();
    let shares = cloud.shares();
    rec.check("the run converged", report.status == ReconcileStatus::Converged);
    rec.check(
        format!(
            "one share per consumer account, each with its account as the only principal ({} shares)",
            shares.len()
        ),
        shares.len() == 2
            && shares.iter().all(|s| {
                s.principals.len() == 1
                    && s.principals[0].status == AssociationStatus::Associated
                    && s.tags.get(fsxn_lattice_core::naming::ACCOUNT_TAG) == Some(&s.principals[0].entity)
            }),
    );
    let analytics = endpoints_in(&snap, ANALYTICS_ACCOUNT);
    let partner = endpoints_in(&snap, PARTNER_ACCOUNT);
    rec.check(
        format!("the analytics endpoint is in account {ANALYTICS_ACCOUNT}, available"),
        analytics.len() == 1 && analytics[0].state == EndpointState::Available,
    );
    rec.check(
        format!("the partner endpoint is in account {PARTNER_ACCOUNT}, available (its invitation accepted)"),
        partner.len() == 1 && partner[0].state == EndpointState::Available,
    );
    let target = alias_target(&snap, ANALYTICS_ZONE);
    rec.check(
        format!("{ALIAS} in the analytics zone points at the analytics endpoint ({target:?})"),
        target.is_some() && target == analytics.first().and_then(|e| e.dns_name.clone()),
    );
    let associations = cloud.service_network_associations();
    let mesh_alias = alias_target(&snap, MESH_ZONE);
    rec.check(
        format!(
            "the configuration is associated with the shared service network once, and {ALIAS} in the mesh zone points at the association ({mesh_alias:?})"
        ),
        associations.len() == 1
            && associations[0].status == NetworkAssociationStatus::Active
            && mesh_alias.is_some()
            && mesh_alias == associations[0].dns_name,
    );
    let through = mesh_alias
        .as_deref()
        .and_then(|name| cloud.connect(name, 445))
        .map(|c| c.target.to_string());
    rec.check(
        format!("a client of the service network reaches the SVM through the association's name on 445 ({through:?})"),
        through.as_deref() == Some(crate::scenario::SVM_IP),
    );

    // 2. A heal across accounts: the analytics endpoint fails.
    if let Some(failed) = analytics.first() {
        cloud.fail_endpoint(&failed.id, "the endpoint's network interfaces were deleted");
        rec.add(
            "aws",
            format!(
                "{} in account {ANALYTICS_ACCOUNT} fails (its network interfaces were deleted)",
                failed.id
            ),
        );
        let report = rec.converge(&config).await;
        let snap = cloud.snapshot();
        let now = endpoints_in(&snap, ANALYTICS_ACCOUNT);
        let target = alias_target(&snap, ANALYTICS_ZONE);
        rec.check("the heal converged", report.status == ReconcileStatus::Converged);
        rec.check(
            format!(
                "a new endpoint replaced {} in account {ANALYTICS_ACCOUNT} and the alias points at it",
                failed.id
            ),
            now.len() == 1
                && now[0].id != failed.id
                && now[0].state == EndpointState::Available
                && target == now[0].dns_name,
        );
    }

    // 3. The partner's role stops trusting us: it is reported; the others are served.
    let partner_id = AccountId::parse(PARTNER_ACCOUNT).expect("literal account");
    cloud.set_assumable(&partner_id, false);
    rec.add(
        "iam",
        format!("account {PARTNER_ACCOUNT} changes its role's trust policy: AssumeRole is denied"),
    );
    cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb");
    rec.add("fsx_change", format!("an administrator narrows {SVM_ID} to smb"));
    let report = rec.converge(&config).await;
    let snap = cloud.snapshot();
    rec.check(
        "the partner consumer is refused, naming the account and AssumeRole",
        report.last_plan.refusals.iter().any(|r| {
            r.subject == "consumer partner" && r.reason.contains(PARTNER_ACCOUNT) && r.reason.contains("AssumeRole")
        }),
    );
    rec.check(
        "its endpoint and share are left as they are",
        endpoints_in(&snap, PARTNER_ACCOUNT).len() == 1 && cloud.shares().len() == 2,
    );
    let cfg_ports: Vec<Vec<PortRange>> = snap.configurations.iter().map(|c| c.port_ranges.clone()).collect();
    rec.check(
        format!("the configuration was still updated for the others: SMB only ({cfg_ports:?})"),
        cfg_ports.iter().all(|p| p == &vec![PortRange::single(445)]),
    );

    // 4. The trust restored and the partner consumer removed: its endpoint goes, then its share.
    cloud.set_assumable(&partner_id, true);
    config.consumers.retain(|c| c.name != "partner");
    rec.add(
        "config_change",
        format!("the trust is restored; consumer `partner` is removed from the config (account {PARTNER_ACCOUNT} stays listed until its endpoint is gone)"),
    );
    let report = rec.converge(&config).await;
    let snap = cloud.snapshot();
    rec.check("the removal converged", report.status == ReconcileStatus::Converged);
    rec.check(
        format!("nothing of ours is left in account {PARTNER_ACCOUNT}, and its share is deleted"),
        endpoints_in(&snap, PARTNER_ACCOUNT).is_empty()
            && cloud.shares().iter().all(|s| {
                s.tags.get(fsxn_lattice_core::naming::ACCOUNT_TAG).map(String::as_str) != Some(PARTNER_ACCOUNT)
            }),
    );
    rec.check(
        format!(
            "the analytics consumer is untouched ({} endpoint)",
            endpoints_in(&snap, ANALYTICS_ACCOUNT).len()
        ),
        endpoints_in(&snap, ANALYTICS_ACCOUNT).len() == 1,
    );
    MultiAccountReport {
        seed,
        timeline: rec.timeline,
        checks: rec.checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multi_account_demo_holds_every_claim() {
        for seed in [1, 7, 2024] {
            let r = pollster::block_on(run_multi_account_demo(seed));
            let failed: Vec<&(String, bool)> = r.checks.iter().filter(|(_, ok)| !ok).collect();
            assert!(
                r.ok(),
                "seed {seed}: {failed:#?}\n{}",
                r.timeline
                    .iter()
                    .map(|e| format!("{} {}: {}", e.t, e.kind, e.message))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            assert!(r.checks.len() >= 10);
        }
    }

    // ---- Review (branch review-accounts) ----

    fn converge(cloud: &SimCloud, config: &Config) -> ReconcileReport {
        crate::scenario::converge_within(cloud, config, 10)
    }

    /// An operator who forgot `[sharing] allow_external_principals` for the partner account
    /// (outside the organization) sets it once RAM says why: the partner must then be served.
    /// The existing share keeps allowExternalPrincipals = false, the partner's association
    /// fails again on every pass, and the run never converges.
    #[test]
    fn review_opening_sharing_to_outside_accounts_serves_the_partner() {
        let (cloud, config) = multi_account_world(5);
        cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb");
        cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
        let mut closed = config.clone();
        closed.sharing.allow_external_principals = false;
        let first = converge(&cloud, &closed);
        // Refusing the partner is fine; what matters is that opening the config fixes it.
        let opened = converge(&cloud, &config);
        let snap = cloud.snapshot();
        assert_eq!(
            opened.status,
            ReconcileStatus::Converged,
            "closed first: {:?} {:?}; opened: {:?} {:?}",
            first.status,
            first.last_plan.warnings,
            opened.error,
            opened.last_plan.warnings
        );
        assert_eq!(endpoints_in(&snap, PARTNER_ACCOUNT).len(), 1, "{:#?}", cloud.shares());
    }

    /// A deployment with no `[[accounts]]` at all, whose role may not call RAM (an SCP may deny
    /// it): its GetResourceShares is refused on every pass, and the single-account consumers
    /// are served all the same (review finding).
    #[test]
    fn review_a_single_account_deployment_does_not_depend_on_ram() {
        let w = crate::scenario::seed_world(3);
        let config = Config::from_toml(SEED_CONFIG).unwrap();
        w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb");
        w.cloud.deny_next("GetResourceShares", 1_000);
        let r = converge(&w.cloud, &config);
        assert_eq!(r.status, ReconcileStatus::Converged, "{:?}", r.error);
    }
}
