//! The doctor against the simulated cloud's seed world: the seed's failure explained from
//! CloudTrail, a healed world without failures, and each account-level problem the doctor
//! exists to catch (no trail, a denied DryRun, a denied role action) made to happen.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use fsxn_lattice_core::doctor::{Check, GatherOptions, Status, diagnose, gather, render_text, summary};
use fsxn_lattice_sim::SimCloud;
use fsxn_lattice_sim::audit::{SeedStage, SimTrail, seed_doctor_world};
use fsxn_lattice_sim::scenario::FSX_SUBNETS;
use pollster::block_on;

fn doctor(cloud: &SimCloud, config: &fsxn_lattice_core::config::Config, stack: Option<&str>) -> Vec<Check> {
    let options = GatherOptions::new("us-east-1".into(), stack.map(str::to_string), 24).unwrap();
    let (observed, audit) = block_on(gather(cloud, cloud, config, &options));
    diagnose(config, &observed, &audit)
}

fn with<'a>(checks: &'a [Check], area: &str, needle: &str) -> Vec<&'a Check> {
    checks
        .iter()
        .filter(|c| c.area == area && (c.subject.contains(needle) || c.message.contains(needle)))
        .collect()
}

#[test]
fn the_seeds_failed_endpoint_is_explained_from_cloudtrail() {
    for seed in [1, 2, 7] {
        let (cloud, config) = block_on(seed_doctor_world(seed, SeedStage::Failed));
        let before = cloud.snapshot();
        let checks = doctor(&cloud, &config, Some("fsxn-lattice"));
        let failed: Vec<&Check> = with(&checks, "resource", "is failed");
        assert_eq!(failed.len(), 1, "seed {seed}: {}", render_text(&checks));
        let f = failed[0];
        assert_eq!(f.status, Status::Fail);
        for needle in [
            "cause from CloudTrail: CreateNetworkInterface by vpc-lattice.amazonaws.com",
            "Client.InvalidParameterValue \"There aren't sufficient free Ipv4 addresses or prefixes\"",
            "free aligned /28",
        ] {
            assert!(
                f.message.contains(needle),
                "seed {seed}: `{needle}` not in {}",
                f.message
            );
        }
        assert!(
            FSX_SUBNETS
                .iter()
                .any(|s| f.message.contains(&format!("failed at 2024-12-18T00:40:01Z in {s}"))),
            "seed {seed}: {}",
            f.message
        );
        assert!(f.fix.as_deref().unwrap().contains("gateway.heal on"), "{f:?}");
        // The fragmented FSx subnets are named as the seed's case.
        for s in FSX_SUBNETS {
            let line = with(&checks, "subnet", s);
            assert_eq!(line.len(), 1);
            assert!(
                line[0].message.contains("but 0 free aligned /28 — fragmented"),
                "{}",
                line[0].message
            );
        }
        // Read-only: the world is exactly as it was.
        assert_eq!(cloud.snapshot(), before, "seed {seed}: the doctor changed the world");
        assert!(summary(&checks).2 >= 1);
    }
}

#[test]
fn the_healed_world_has_no_failure() {
    let (cloud, config) = block_on(seed_doctor_world(1, SeedStage::Healed));
    let checks = doctor(&cloud, &config, Some("fsxn-lattice"));
    let text = render_text(&checks);
    assert_eq!(summary(&checks).2, 0, "{text}");
    assert_eq!(with(&checks, "resource", "is available").len(), 1, "{text}");
    assert!(!with(&checks, "subnet", "carved by fsxn-lattice").is_empty(), "{text}");
    assert!(!with(&checks, "subnet", "our reservations").is_empty(), "{text}");
    assert_eq!(with(&checks, "permission", "allows all").len(), 4, "{text}");
    assert_eq!(with(&checks, "cloudtrail", "is logging").len(), 1, "{text}");
}

#[test]
fn no_trail_or_a_stopped_trail_fails_and_says_only_the_schedule_heals() {
    let (cloud, config) = block_on(seed_doctor_world(1, SeedStage::Healed));
    cloud.set_trails(vec![]);
    let c = doctor(&cloud, &config, None);
    assert_eq!(c[0].area, "cloudtrail");
    assert_eq!(c[0].status, Status::Fail);
    assert!(c[0].message.contains("no trail covers us-east-1"));
    assert!(c[0].message.contains("only the scheduled reconcile"));
    let mut stopped = SimTrail::management("org-trail", "eu-west-1", "999999999999");
    stopped.trail.is_organization_trail = true;
    stopped.is_logging = false;
    cloud.set_trails(vec![stopped.clone()]);
    let c = doctor(&cloud, &config, None);
    assert_eq!(c[0].status, Status::Fail);
    assert!(
        c[0].message
            .contains("org-trail (organization trail, multi-Region, shadow of eu-west-1): logging is off")
    );
    stopped.is_logging = true;
    cloud.set_trails(vec![stopped]);
    assert_eq!(doctor(&cloud, &config, None)[0].status, Status::Pass);
}

#[test]
fn a_denied_dry_run_or_role_action_fails_its_line() {
    let (cloud, config) = block_on(seed_doctor_world(1, SeedStage::Healed));
    cloud.deny_dry_run("CreateSubnetCidrReservation");
    cloud.deny_role_action("HealFunctionRole", "vpc-lattice:CreateResourceGateway");
    let checks = doctor(&cloud, &config, Some("fsxn-lattice"));
    let dry = with(&checks, "permission", "ec2:CreateSubnetCidrReservation");
    assert_eq!(dry.len(), 1);
    assert_eq!(dry[0].status, Status::Fail);
    assert!(dry[0].message.contains("UnauthorizedOperation"));
    let heal = with(&checks, "permission", "HealFunctionRole");
    assert_eq!(heal[0].status, Status::Fail);
    assert!(heal[0].message.contains("denies vpc-lattice:CreateResourceGateway"));
    assert_eq!(
        with(&checks, "permission", "ProvisionFunctionRole")[0].status,
        Status::Pass
    );
    let unknown = doctor(&cloud, &config, Some("no-such-stack"));
    assert_eq!(
        with(&unknown, "permission", "stack no-such-stack")[0].status,
        Status::Fail
    );
}

#[test]
fn lookup_events_is_asked_once_and_only_when_something_failed() {
    let (cloud, config) = block_on(seed_doctor_world(1, SeedStage::Failed));
    let before = cloud.api_calls().get("LookupEvents").copied().unwrap_or(0);
    doctor(&cloud, &config, None);
    assert_eq!(cloud.api_calls()["LookupEvents"] - before, 1);
    let (healed, config) = block_on(seed_doctor_world(1, SeedStage::Healed));
    doctor(&healed, &config, None);
    assert_eq!(healed.api_calls().get("LookupEvents"), None);
}

#[test]
fn a_pinned_subnet_on_a_route_table_without_the_floating_ip_route_fails() {
    let (cloud, config) = block_on(seed_doctor_world(1, SeedStage::Healed));
    let isolated = cloud.add_route_table(
        "rtb-0aaaaaaaaaaaaaaaa",
        &fsxn_lattice_core::ids::VpcId::parse(fsxn_lattice_sim::scenario::FSX_VPC).unwrap(),
    );
    let pinned = fsxn_lattice_core::ids::SubnetId::parse(FSX_SUBNETS[0]).unwrap();
    cloud.associate(&pinned, &isolated);
    let checks = doctor(&cloud, &config, None);
    let line = with(&checks, "subnet", FSX_SUBNETS[0]);
    assert_eq!(line[0].status, Status::Fail, "{}", render_text(&checks));
    assert!(
        line[0]
            .message
            .contains("rtb-0aaaaaaaaaaaaaaaa has no route to 10.0.15.192/26")
    );
    // The other pinned subnet still reaches it.
    let svm = with(&checks, "svm", "svm-");
    assert!(
        svm[0]
            .message
            .contains("reachable from 1 of 2 candidate gateway subnet(s)"),
        "{}",
        svm[0].message
    );
}

#[test]
fn the_consumers_dns_line_follows_its_dhcp_options() {
    use fsxn_lattice_core::config::DirectoryConfig;
    use fsxn_lattice_core::ids::VpcId;
    use fsxn_lattice_sim::scenario::CONSUMER_VPC;
    let (cloud, mut config) = block_on(seed_doctor_world(1, SeedStage::Healed));
    let subject = format!("clients {CONSUMER_VPC}");
    let dns = |checks: &[Check]| -> Check {
        let l: Vec<&Check> = checks.iter().filter(|c| c.area == "dns").collect();
        assert_eq!(l.len(), 1, "{}", render_text(checks));
        assert_eq!(l[0].subject, subject);
        l[0].clone()
    };
    // The default option set: AmazonProvidedDNS, the VPC resolver.
    let line = dns(&doctor(&cloud, &config, None));
    assert_eq!(line.status, Status::Pass);
    assert!(
        line.message.contains(
            "give clients AmazonProvidedDNS (the VPC resolver): they see the Route 53 alias in corp.non-97.net"
        ),
        "{}",
        line.message
    );
    // AD DNS servers and no [directory]: those clients miss the Route 53 alias.
    let vpc = VpcId::parse(CONSUMER_VPC).unwrap();
    cloud.set_dhcp_dns_servers(&vpc, &["10.0.0.139", "10.0.1.77"]);
    let line = dns(&doctor(&cloud, &config, None));
    assert_eq!(line.status, Status::Warn, "{line:?}");
    assert!(
        line.message.contains("10.0.0.139, 10.0.1.77, not the VPC resolver"),
        "{}",
        line.message
    );
    assert!(line.fix.unwrap().contains("Route 53 Resolver inbound endpoint"));
    // With [directory], domain members find the AD DNS record.
    config.directory = Some(DirectoryConfig::new(
        "corp.non-97.net",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:fsxn-lattice-ad-bind-Ab12Cd",
    ));
    let line = dns(&doctor(&cloud, &config, None));
    assert_eq!(line.status, Status::Pass, "{line:?}");
    assert!(
        line.message
            .contains("AD DNS record fsxn-lattice writes in corp.non-97.net")
    );
    // A read denied through every attempt (a denial is retried, for IAM's eventual
    // consistency) is that line's warning, naming the action.
    let attempts = GatherOptions::new("us-east-1".into(), None, 24)
        .unwrap()
        .retry
        .max_attempts;
    cloud.deny_next("DescribeDhcpOptions", attempts);
    let line = dns(&doctor(&cloud, &config, None));
    assert_eq!(line.status, Status::Warn, "{line:?}");
    assert_eq!(
        line.fix.as_deref(),
        Some("allow ec2:DescribeDhcpOptions to the identity running the doctor")
    );
}
