//! The world the planner's unit tests start from, and what they add to it.

use super::*;
use crate::config::tag_keys;

pub(super) fn id<T: TryFrom<String>>(s: &str) -> T
where
    T::Error: std::fmt::Debug,
{
    T::try_from(s.to_string()).unwrap()
}

pub(super) fn world() -> (Config, Observed) {
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
            account: None,
            id: id("ZONE1"),
            name: "corp.example".into(),
            private: true,
        }],
        ..Observed::default()
    };
    (config, observed)
}

pub(super) fn planned(config: &Config, o: &Observed) -> Plan {
    let d = crate::desired::resolve(config, &o.file_systems, &o.svms);
    plan(config, &d, o)
}

pub(super) fn fill(o: &mut Observed, subnet: &str, every: u32) {
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

pub(super) const CFG_ARN: &str = "arn:aws:vpc-lattice:us-east-1:1:resourceconfiguration/rcfg-1";

/// Our active gateway in `subnets` and our configuration for svm-1 on it.
pub(super) fn with_gateway(o: &mut Observed, subnets: &[&str]) {
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
        custom_domain_name: None,
        domain_verification_id: None,
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
pub(super) fn our_endpoint(o: &mut Observed, vpce: &str, state: EndpointState) {
    o.endpoints.push(VpcEndpoint {
        private_dns: Default::default(),
        account: None,
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

/// The main table of vpc-1, plus `rtb-f` holding FSx's routes; `subnet-a2` associated with
/// `rtb-f` explicitly.
pub(super) fn route_tables(o: &mut Observed) {
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

pub(super) fn record(name: &str, t: RecordType, v: &str, routing: Option<&str>) -> RecordSet {
    RecordSet {
        name: name.into(),
        record_type: t,
        ttl: 300,
        values: vec![v.into()],
        routing: routing.map(str::to_string),
    }
}
