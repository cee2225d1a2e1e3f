//! Every observation of the seed (docs/design.md §2) reproduced in the simulated cloud, one named
//! test each, plus the API rules of §3–4 that the simulation enforces.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use fsxn_lattice_core::capacity::analyze_subnet;
use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_core::events::{Trigger, classify};
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;
use fsxn_lattice_sim::scenario::{CONSUMER_SUBNETS, CONSUMER_VPC, FSX_SUBNETS, FSX_VPC, SVM_IP, seed_world};
use fsxn_lattice_sim::{Faults, SimCloud};
use pollster::block_on;
use std::time::Duration;

fn sg(s: &str) -> SecurityGroupId {
    SecurityGroupId::parse(s).unwrap()
}

/// Creates a gateway in `subnets`, a configuration for the SVM IP and an endpoint in the
/// consumer VPC, by hand (no ownership tags), as the seed's author did.
fn by_hand(
    cloud: &SimCloud,
    name: &str,
    subnets: &[SubnetId],
) -> (ResourceGateway, ResourceConfiguration, VpcEndpoint) {
    let gw = block_on(cloud.create_resource_gateway(&CreateResourceGatewayRequest {
        name: format!("{name}-rgw"),
        vpc_id: VpcId::parse(FSX_VPC).unwrap(),
        subnet_ids: subnets.to_vec(),
        security_group_ids: vec![sg("sg-03730d9e2b49e7cbc")],
        ipv4_addresses_per_eni: 16,
        client_token: String::new(),
        tags: Tags::new(),
    }))
    .unwrap();
    let cfg = block_on(
        cloud.create_resource_configuration(&CreateResourceConfigurationRequest {
            custom_domain_name: None,
            domain_verification_id: None,
            name: format!("{name}-rcfg-svm"),
            gateway_id: gw.id.clone(),
            ip_address: SVM_IP.parse().unwrap(),
            port_ranges: vec![PortRange::single(22), PortRange::single(445), PortRange::single(2049)],
            client_token: String::new(),
            tags: Tags::new(),
        }),
    )
    .unwrap();
    let ep = block_on(cloud.create_vpc_endpoint(&CreateVpcEndpointRequest {
        private_dns: Default::default(),
        vpc_id: VpcId::parse(CONSUMER_VPC).unwrap(),
        subnet_ids: CONSUMER_SUBNETS.iter().map(|s| SubnetId::parse(*s).unwrap()).collect(),
        security_group_ids: vec![sg("sg-0414e809a306108ed")],
        resource_configuration_arn: cfg.arn.clone(),
        private_dns_enabled: true,
        client_token: String::new(),
        tags: Tags::new(),
    }))
    .unwrap();
    (gw, cfg, ep)
}

fn endpoint(cloud: &SimCloud, id: &VpcEndpointId) -> VpcEndpoint {
    cloud
        .snapshot()
        .endpoints
        .into_iter()
        .find(|e| &e.id == id)
        .expect("endpoint exists")
}

fn fsx_subnets() -> Vec<SubnetId> {
    FSX_SUBNETS.iter().map(|s| SubnetId::parse(*s).unwrap()).collect()
}

/// Two /22 subnets like the ones the seed's author added (10.0.4.0/22 and 10.0.12.0/22).
fn roomy_subnets(cloud: &SimCloud) -> Vec<SubnetId> {
    let vpc = VpcId::parse(FSX_VPC).unwrap();
    vec![
        cloud.add_subnet("subnet-029a939990627d570", &vpc, "us-east-1a", "10.0.4.0/22"),
        cloud.add_subnet("subnet-01ca23340c422c467", &vpc, "us-east-1b", "10.0.12.0/22"),
    ]
}

#[test]
fn seed_gateway_is_active_at_once_and_nothing_fails_until_the_first_endpoint() {
    let w = seed_world(7);
    let (gw, cfg, ep) = by_hand(&w.cloud, "non-97", &fsx_subnets());
    assert_eq!(gw.status, GatewayStatus::Active);
    assert_eq!(cfg.status, ConfigurationStatus::Active);
    assert_eq!(ep.state, EndpointState::Pending);
    // No ENI exists for the gateway until the endpoint asks for one.
    assert!(
        w.cloud
            .snapshot()
            .network_interfaces
            .iter()
            .all(|e| e.resource_gateway_id().is_none())
    );
}

#[test]
fn seed_endpoint_goes_pending_then_failed_when_the_gateway_subnets_have_no_free_28() {
    let w = seed_world(7);
    let (_, _, ep) = by_hand(&w.cloud, "non-97", &fsx_subnets());
    w.cloud.drain_events();
    w.cloud.advance(Duration::from_secs(30));
    let ep = endpoint(&w.cloud, &ep.id);
    assert_eq!(ep.state, EndpointState::Failed);
    assert!(ep.failure_reason.is_some());
}

#[test]
fn seed_failure_emits_a_cloudtrail_record_shaped_like_the_seed() {
    let w = seed_world(7);
    let (gw, _, _) = by_hand(&w.cloud, "non-97", &fsx_subnets());
    w.cloud.drain_events();
    w.cloud.advance(Duration::from_secs(30));
    let events = w.cloud.drain_events();
    let failure = events
        .iter()
        .find(|e| e["detail"]["eventName"] == "CreateNetworkInterface" && e["detail"]["errorCode"].is_string())
        .expect("a failed CreateNetworkInterface record");
    let seed: serde_json::Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/ec2-create-network-interface-insufficient-ips.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let (d, s) = (&failure["detail"], &seed["detail"]);
    for key in [
        "eventSource",
        "eventName",
        "errorCode",
        "errorMessage",
        "sourceIPAddress",
        "userAgent",
        "eventType",
        "eventVersion",
    ] {
        assert_eq!(d[key], s[key], "{key}");
    }
    assert_eq!(d["userIdentity"]["invokedBy"], "vpc-lattice.amazonaws.com");
    assert_eq!(
        d["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"],
        "AWSServiceRoleForVpcLattice"
    );
    assert_eq!(d["requestParameters"]["ipv4PrefixCount"], 1);
    assert_eq!(
        d["requestParameters"]["description"],
        format!("Resource Gateway Interface {}", gw.id)
    );
    assert_eq!(
        d["requestParameters"]["tagSpecificationSet"],
        s["requestParameters"]["tagSpecificationSet"]
    );
    let mut dk: Vec<&String> = d.as_object().unwrap().keys().collect();
    let mut sk: Vec<&String> = s.as_object().unwrap().keys().collect();
    dk.sort();
    sk.sort();
    assert_eq!(dk, sk, "same top-level keys as the real record");
    match classify(failure).unwrap() {
        Trigger::GatewayCapacityExhausted {
            subnet_id, gateway_id, ..
        } => {
            assert!(fsx_subnets().contains(&subnet_id.unwrap()));
            assert_eq!(gateway_id, Some(gw.id));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn seed_subnet_has_212_free_addresses_and_no_free_aligned_28() {
    for seed in 0..20 {
        let w = seed_world(seed);
        let a = SubnetId::parse(FSX_SUBNETS[0]).unwrap();
        assert_eq!(w.cloud.available_ip_address_count(&a), Some(212));
        let snap = w.cloud.snapshot();
        let s = snap.subnets.iter().find(|s| s.id == a).unwrap();
        let c = analyze_subnet(s, &snap.network_interfaces, &snap.cidr_reservations);
        assert_eq!(
            c.free_addresses, 212,
            "the analysis agrees with AvailableIpAddressCount"
        );
        assert!(!c.can_host_gateway_eni());
    }
}

#[test]
fn seed_retry_with_new_22_subnets_makes_the_endpoint_available() {
    let w = seed_world(7);
    let (_, _, failed) = by_hand(&w.cloud, "non-97", &fsx_subnets());
    w.cloud.advance(Duration::from_secs(30));
    assert_eq!(endpoint(&w.cloud, &failed.id).state, EndpointState::Failed);
    let roomy = roomy_subnets(&w.cloud);
    assert_eq!(w.cloud.available_ip_address_count(&roomy[0]), Some(1019));
    let (_, _, ep) = by_hand(&w.cloud, "non-97-retry", &roomy);
    w.cloud.advance(Duration::from_secs(120));
    let ep = endpoint(&w.cloud, &ep.id);
    assert_eq!(ep.state, EndpointState::Available);
    assert_eq!(
        ep.network_interface_ids.len(),
        2,
        "one endpoint ENI per consumer subnet"
    );
}

#[test]
fn seed_each_gateway_subnet_then_has_17_fewer_addresses_one_eni_with_a_primary_ip_and_a_28() {
    let w = seed_world(7);
    let roomy = roomy_subnets(&w.cloud);
    let (gw, _, _) = by_hand(&w.cloud, "non-97-retry", &roomy);
    w.cloud.advance(Duration::from_secs(120));
    for s in &roomy {
        assert_eq!(w.cloud.available_ip_address_count(s), Some(1002), "1019 - 17");
        let enis: Vec<NetworkInterface> = w
            .cloud
            .snapshot()
            .network_interfaces
            .into_iter()
            .filter(|e| &e.subnet_id == s && e.resource_gateway_id() == Some(gw.id.clone()))
            .collect();
        assert_eq!(enis.len(), 1);
        assert_eq!(enis[0].private_ips.len(), 1);
        assert_eq!(enis[0].ipv4_prefixes.len(), 1);
        assert_eq!(enis[0].ipv4_prefixes[0].prefix_len(), 28);
        assert_eq!(enis[0].tags.get("VpcLatticeManaged").map(String::as_str), Some("true"));
        assert!(!enis[0].ipv4_prefixes[0].contains(&enis[0].private_ips[0]));
    }
}

#[test]
fn seed_file_server_sees_clients_from_addresses_in_the_gateway_eni_28() {
    let w = seed_world(7);
    let roomy = roomy_subnets(&w.cloud);
    let (gw, _, ep) = by_hand(&w.cloud, "non-97-retry", &roomy);
    w.cloud.advance(Duration::from_secs(120));
    let dns = endpoint(&w.cloud, &ep.id).dns_name.unwrap();
    let prefixes: Vec<ipnet::Ipv4Net> = w
        .cloud
        .snapshot()
        .network_interfaces
        .iter()
        .filter(|e| e.resource_gateway_id() == Some(gw.id.clone()))
        .flat_map(|e| e.ipv4_prefixes.clone())
        .collect();
    for port in [22, 445, 2049] {
        let c = w
            .cloud
            .connect(&dns, port)
            .expect("SSH, SMB and NFS reach the SVM through the endpoint");
        assert_eq!(c.target.to_string(), SVM_IP);
        assert!(prefixes.iter().any(|p| p.contains(&c.source_seen_by_server)), "{c:?}");
    }
    assert!(
        w.cloud.connect(&dns, 3260).is_none(),
        "a port the configuration does not list is not forwarded"
    );
}

#[test]
fn seed_endpoint_dns_name_has_the_real_format_and_answers_one_eni_ip_per_query() {
    let w = seed_world(7);
    let roomy = roomy_subnets(&w.cloud);
    let (_, cfg, ep) = by_hand(&w.cloud, "non-97-retry", &roomy);
    w.cloud.advance(Duration::from_secs(120));
    let ep = endpoint(&w.cloud, &ep.id);
    let dns = ep.dns_name.clone().unwrap();
    let labels: Vec<&str> = dns.split('.').collect();
    assert_eq!(labels[0], ep.id.as_str());
    assert_eq!(labels[1], cfg.id.as_str());
    assert_eq!(labels[2].len(), 7);
    assert_eq!(labels[3..].join("."), "vpc-lattice-rsc.us-east-1.on.aws");
    let snap = w.cloud.snapshot();
    let eni_ips: Vec<std::net::Ipv4Addr> = snap
        .network_interfaces
        .iter()
        .filter(|e| ep.network_interface_ids.contains(&e.id))
        .flat_map(|e| e.private_ips.clone())
        .collect();
    let answers: std::collections::BTreeSet<_> = (0..40).map(|_| w.cloud.resolve(&dns).unwrap()).collect();
    assert!(answers.iter().all(|a| eni_ips.contains(a)));
    assert_eq!(answers.len(), 2, "over many queries both ENIs answer, one at a time");
}

#[test]
fn gateway_and_configuration_rules_are_enforced() {
    let w = seed_world(7);
    let roomy = roomy_subnets(&w.cloud);
    let (gw, cfg, ep) = by_hand(&w.cloud, "a", &roomy);
    let req = |name: &str| CreateResourceGatewayRequest {
        name: name.into(),
        vpc_id: VpcId::parse(FSX_VPC).unwrap(),
        subnet_ids: roomy.clone(),
        security_group_ids: vec![sg("sg-1")],
        ipv4_addresses_per_eni: 16,
        client_token: String::new(),
        tags: Tags::new(),
    };
    for bad in ["rgw-x", "Bad", "a--b", "ab"] {
        let e = block_on(w.cloud.create_resource_gateway(&req(bad))).unwrap_err();
        assert_eq!(
            (e.kind, e.code.as_str()),
            (ErrorKind::InvalidInput, "ValidationException"),
            "{bad}"
        );
    }
    assert_eq!(
        block_on(w.cloud.create_resource_gateway(&req("a-rgw")))
            .unwrap_err()
            .code,
        "ConflictException"
    );
    // Dependencies: a gateway with configurations, a configuration with endpoints.
    assert_eq!(
        block_on(w.cloud.delete_resource_gateway(&gw.id)).unwrap_err().kind,
        ErrorKind::Conflict
    );
    assert_eq!(
        block_on(w.cloud.delete_resource_configuration(&cfg.id))
            .unwrap_err()
            .kind,
        ErrorKind::Conflict
    );
    // An ipResource outside the VPC CIDR (the FSx API's default range is 198.19.x.x).
    let e = block_on(w.cloud.update_resource_configuration(
        &cfg.id,
        "198.19.255.239".parse().unwrap(),
        &[PortRange::single(445)],
        &Tags::new(),
    ))
    .unwrap_err();
    assert_eq!(e.code, "ValidationException");
    // Deletes are asynchronous.
    block_on(w.cloud.delete_vpc_endpoint(&ep.id)).unwrap();
    assert_eq!(endpoint(&w.cloud, &ep.id).state, EndpointState::Deleting);
    w.cloud.advance(Duration::from_secs(60));
    block_on(w.cloud.delete_resource_configuration(&cfg.id)).unwrap();
    block_on(w.cloud.delete_resource_gateway(&gw.id)).unwrap();
    let g = block_on(w.cloud.list_resource_gateways())
        .unwrap()
        .into_iter()
        .find(|g| g.id == gw.id)
        .unwrap();
    assert_eq!(g.status, GatewayStatus::DeleteInProgress);
    w.cloud.advance(Duration::from_secs(120));
    assert!(
        block_on(w.cloud.list_resource_gateways())
            .unwrap()
            .iter()
            .all(|g| g.id != gw.id)
    );
    assert_eq!(
        block_on(w.cloud.delete_resource_gateway(&gw.id)).unwrap_err().kind,
        ErrorKind::NotFound
    );
}

#[test]
fn client_tokens_make_creates_idempotent_and_refuse_other_parameters() {
    let w = seed_world(7);
    let roomy = roomy_subnets(&w.cloud);
    let mut req = CreateResourceGatewayRequest {
        name: "tok".into(),
        vpc_id: VpcId::parse(FSX_VPC).unwrap(),
        subnet_ids: roomy,
        security_group_ids: vec![sg("sg-1")],
        ipv4_addresses_per_eni: 16,
        client_token: "t-1".into(),
        tags: Tags::new(),
    };
    let a = block_on(w.cloud.create_resource_gateway(&req)).unwrap();
    let b = block_on(w.cloud.create_resource_gateway(&req)).unwrap();
    assert_eq!(a.id, b.id);
    req.security_group_ids = vec![sg("sg-2")];
    assert_eq!(
        block_on(w.cloud.create_resource_gateway(&req)).unwrap_err().kind,
        ErrorKind::Conflict
    );
}

#[test]
fn prefixes_come_from_prefix_reservations_first_and_random_ips_stay_out_of_reservations() {
    let cloud = SimCloud::new(3);
    let vpc = cloud.add_vpc("vpc-0aaa", &["10.9.0.0/16"], true);
    let s = cloud.add_subnet("subnet-0aaa", &vpc, "us-east-1a", "10.9.0.0/24");
    let r = block_on(cloud.create_subnet_cidr_reservation(&CreateCidrReservationRequest {
        subnet_id: s.clone(),
        cidr: "10.9.0.160/28".parse().unwrap(),
        reservation_type: ReservationType::Prefix,
        description: String::new(),
        tags: Tags::new(),
    }))
    .unwrap();
    // Overlap and out-of-subnet reservations are refused.
    for bad in ["10.9.0.160/27", "10.9.1.0/28"] {
        let e = block_on(cloud.create_subnet_cidr_reservation(&CreateCidrReservationRequest {
            subnet_id: s.clone(),
            cidr: bad.parse().unwrap(),
            reservation_type: ReservationType::Explicit,
            description: String::new(),
            tags: Tags::new(),
        }))
        .unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue", "{bad}");
    }
    cloud.fill_random(&s, 60);
    let snap = cloud.snapshot();
    assert!(
        snap.network_interfaces
            .iter()
            .flat_map(|e| e.private_ips.clone())
            .all(|ip| !r.cidr.contains(&ip))
    );
    let gw = block_on(cloud.create_resource_gateway(&CreateResourceGatewayRequest {
        name: "g".repeat(3),
        vpc_id: vpc.clone(),
        subnet_ids: vec![s.clone()],
        security_group_ids: vec![sg("sg-1")],
        ipv4_addresses_per_eni: 16,
        client_token: String::new(),
        tags: Tags::new(),
    }))
    .unwrap();
    let cfg = block_on(
        cloud.create_resource_configuration(&CreateResourceConfigurationRequest {
            custom_domain_name: None,
            domain_verification_id: None,
            name: "cfg".into(),
            gateway_id: gw.id.clone(),
            ip_address: "10.9.200.1".parse().unwrap(),
            port_ranges: vec![PortRange::single(445)],
            client_token: String::new(),
            tags: Tags::new(),
        }),
    )
    .unwrap();
    let consumer = cloud.add_vpc("vpc-0bbb", &["10.8.0.0/16"], true);
    let cs = cloud.add_subnet("subnet-0bbb", &consumer, "us-east-1a", "10.8.0.0/24");
    block_on(cloud.create_vpc_endpoint(&CreateVpcEndpointRequest {
        private_dns: Default::default(),
        vpc_id: consumer,
        subnet_ids: vec![cs],
        security_group_ids: vec![],
        resource_configuration_arn: cfg.arn,
        private_dns_enabled: true,
        client_token: String::new(),
        tags: Tags::new(),
    }))
    .unwrap();
    cloud.advance(Duration::from_secs(120));
    let eni = cloud
        .snapshot()
        .network_interfaces
        .into_iter()
        .find(|e| e.resource_gateway_id() == Some(gw.id.clone()))
        .unwrap();
    assert_eq!(
        eni.ipv4_prefixes,
        vec![r.cidr],
        "the gateway's /28 comes from the prefix reservation"
    );
}

#[test]
fn route53_is_strict_about_delete_cname_rules_and_reports_pending_then_insync() {
    let cloud = SimCloud::new(1);
    let z = cloud.add_hosted_zone("Z111", "corp.example", true);
    let rec = |name: &str, t: RecordType, v: &str| RecordSet {
        name: name.into(),
        record_type: t,
        ttl: 300,
        values: vec![v.into()],
        routing: None,
    };
    let change = block_on(cloud.change_resource_record_sets(
        &z,
        &[RecordChange::Create(rec(
            "a.corp.example",
            RecordType::CNAME,
            "x.on.aws",
        ))],
    ))
    .unwrap();
    assert_eq!(block_on(cloud.get_change(&change)).unwrap(), ChangeStatus::Pending);
    cloud.advance(Duration::from_secs(60));
    assert_eq!(block_on(cloud.get_change(&change)).unwrap(), ChangeStatus::Insync);
    let invalid = |changes: &[RecordChange]| {
        let e = block_on(cloud.change_resource_record_sets(&z, changes)).unwrap_err();
        assert_eq!(e.code, "InvalidChangeBatch", "{changes:?}");
    };
    invalid(&[RecordChange::Create(rec("corp.example", RecordType::CNAME, "x"))]);
    // CREATE never overwrites: the same name and type again fails.
    invalid(&[RecordChange::Create(rec(
        "a.corp.example",
        RecordType::CNAME,
        "y.on.aws",
    ))]);
    invalid(&[RecordChange::Create(rec("a.corp.example", RecordType::TXT, "\"t\""))]);
    invalid(&[RecordChange::Delete(rec(
        "a.corp.example",
        RecordType::CNAME,
        "other.on.aws",
    ))]);
    invalid(&[RecordChange::Delete(rec(
        "b.corp.example",
        RecordType::CNAME,
        "x.on.aws",
    ))]);
    invalid(&[RecordChange::Create(rec("a.other.example", RecordType::A, "10.0.0.1"))]);
    // All or nothing: the valid first change of a failing batch is not applied.
    invalid(&[
        RecordChange::Create(rec("c.corp.example", RecordType::A, "10.0.0.1")),
        RecordChange::Delete(rec("zzz.corp.example", RecordType::A, "10.0.0.2")),
    ]);
    let names: Vec<String> = block_on(cloud.list_resource_record_sets(&z))
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert!(!names.contains(&"c.corp.example".to_string()));
    block_on(cloud.change_resource_record_sets(
        &z,
        &[RecordChange::Delete(rec(
            "a.corp.example",
            RecordType::CNAME,
            "x.on.aws",
        ))],
    ))
    .unwrap();
}

#[test]
fn faults_are_injected_at_the_chosen_rate_and_are_transient() {
    let cloud = SimCloud::new(5);
    cloud.add_vpc("vpc-0aaa", &["10.9.0.0/16"], true);
    cloud.set_faults(Faults {
        rate: 0.3,
        ..Faults::default()
    });
    let mut failures = 0;
    for _ in 0..1000 {
        if let Err(e) = block_on(cloud.describe_vpcs(&[VpcId::parse("vpc-0aaa").unwrap()], VpcAttributes::Dns)) {
            assert_eq!(e.kind, ErrorKind::Transient);
            failures += 1;
        }
    }
    // The rate is the share of calls that fail.
    assert!((250..350).contains(&failures), "{failures} of 1000");
    assert_eq!(cloud.faults_injected(), failures);
}
