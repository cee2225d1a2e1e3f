//! Building a world, as tests, the demo and chaos do: VPCs, route tables and associations,
//! subnets, foreign ENIs, filled and fragmented subnets, file systems, SVMs, hosted zones and
//! records. No faults, no API-call counting, no CloudTrail events.

use crate::SimCloud;
use fsxn_lattice_core::capacity::BLOCK_SIZE;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use rand::Rng;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

impl SimCloud {
    // ---- building a world (no faults, no API-call counting) ----

    /// Adds a VPC with these IPv4 CIDR blocks and its main route table `rtb-<the VPC's hex>`.
    /// `dns` sets both `enableDnsSupport` and `enableDnsHostnames`. Panics on a malformed id
    /// or CIDR (test input).
    pub fn add_vpc(&self, id: &str, cidrs: &[&str], dns: bool) -> VpcId {
        let id = VpcId::parse(id).expect("valid VPC id");
        let v = Vpc {
            id: id.clone(),
            cidr_blocks: cidrs.iter().map(|c| c.parse().expect("valid CIDR")).collect(),
            enable_dns_support: dns,
            enable_dns_hostnames: dns,
        };
        let mut w = self.w();
        w.vpcs.insert(id.clone(), v);
        let main = RouteTableId::parse(format!("rtb-{}", id.suffix())).expect("valid route table id");
        w.add_route_table(&main, &id, true);
        id
    }

    /// Adds a route table (with the VPC's local routes) that no subnet uses yet.
    pub fn add_route_table(&self, id: &str, vpc: &VpcId) -> RouteTableId {
        let id = RouteTableId::parse(id).expect("valid route table id");
        self.w().add_route_table(&id, vpc, false);
        id
    }

    /// Associates a subnet with a route table explicitly (replacing any association).
    pub fn associate(&self, subnet: &SubnetId, table: &RouteTableId) {
        let mut w = self.w();
        for t in w.route_tables.values_mut() {
            t.associations.retain(|a| &a.subnet_id != subnet);
        }
        let assoc = format!("rtbassoc-{}", subnet.suffix());
        if let Some(t) = w.route_tables.get_mut(table) {
            t.associations.push(RouteTableAssociation {
                id: assoc,
                subnet_id: subnet.clone(),
            });
        }
    }

    /// Adds an untagged subnet with no explicit route table association (it uses the VPC's
    /// main table). The CIDR is taken as given: not checked against the VPC's blocks or other
    /// subnets. Panics on a malformed id or CIDR.
    pub fn add_subnet(&self, id: &str, vpc: &VpcId, az: &str, cidr: &str) -> SubnetId {
        let id = SubnetId::parse(id).expect("valid subnet id");
        let s = Subnet {
            id: id.clone(),
            vpc_id: vpc.clone(),
            availability_zone: az.into(),
            cidr: cidr.parse().expect("valid CIDR"),
            tags: Tags::new(),
        };
        self.w().subnets.insert(id.clone(), s);
        id
    }

    /// Adds a foreign ENI (someone else's workload) with these addresses.
    pub fn add_eni(&self, subnet: &SubnetId, ips: &[Ipv4Addr], description: &str) -> NetworkInterfaceId {
        self.w()
            .new_eni(subnet, ips.to_vec(), vec![], description.into(), Tags::new())
    }

    /// Adds foreign ENIs with randomly placed addresses until the subnet has `free` free
    /// addresses (or fewer are left).
    pub fn fill_random(&self, subnet: &SubnetId, free: u32) {
        let mut w = self.w();
        let Some(s) = w.subnets.get(subnet).cloned() else {
            return;
        };
        while w.free_address_count(&s) > free {
            let Some(ip) = w.random_free_ip(subnet) else { break };
            w.new_eni(subnet, vec![ip], vec![], "foreign workload".into(), Tags::new());
        }
    }

    /// Fragments a subnet as busy subnets are: one used address at a random offset in every
    /// candidate /28, then random addresses until `free` are left. Many free addresses, no free
    /// aligned /28 (the seed's 212).
    pub fn fragment(&self, subnet: &SubnetId, free: u32) {
        {
            let mut w = self.w();
            let Some(s) = w.subnets.get(subnet).cloned() else {
                return;
            };
            let base = u32::from(s.cidr.network());
            let blocks = (1u32 << (32 - s.cidr.prefix_len())) / BLOCK_SIZE;
            for b in 1..blocks.saturating_sub(1) {
                let start = base + b * BLOCK_SIZE;
                let used = w.used_in_subnet(subnet);
                if (start..start + BLOCK_SIZE).any(|a| used.contains(&a)) {
                    continue;
                }
                let ip = Ipv4Addr::from(start + w.rng.random_range(0..BLOCK_SIZE));
                w.new_eni(subnet, vec![ip], vec![], "foreign workload".into(), Tags::new());
            }
        }
        self.fill_random(subnet, free);
    }

    /// Adds a file system.
    ///
    /// As FSx does, routes its endpoint IP range (to the preferred file server's ENI) in each of
    /// its `RouteTableIds`, or in the VPC's main table when it names none (FSx's default, which it
    /// then reports).
    pub fn add_file_system(&self, mut fs: FileSystem) {
        let mut w = self.w();
        if fs.route_table_ids.is_empty()
            && let Some(main) = w.route_tables.values().find(|t| t.main && t.vpc_id == fs.vpc_id)
        {
            fs.route_table_ids.push(main.id.clone());
        }
        for t in &fs.route_table_ids {
            if !w.route_tables.contains_key(t) {
                w.add_route_table(t, &fs.vpc_id, false);
            }
            if let (Some(range), Some(table)) = (fs.endpoint_ip_address_range, w.route_tables.get_mut(t)) {
                table.routes.push(Route {
                    destination: range,
                    target: format!("eni-{}", fs.id.suffix()),
                });
            }
        }
        w.file_systems.insert(fs.id.clone(), fs);
    }

    /// Adds an SVM (as `CREATED`).
    pub fn add_svm(&self, svm: StorageVirtualMachine) {
        self.w().svms.insert(svm.id.clone(), svm);
    }

    /// Adds a hosted zone (with its apex SOA and NS records).
    pub fn add_hosted_zone(&self, id: &str, name: &str, private: bool) -> HostedZoneId {
        let id = HostedZoneId::parse(id).expect("valid zone id");
        let name = normalize_dns_name(name);
        let mut w = self.w();
        w.zones.insert(
            id.clone(),
            HostedZone {
                account: None,
                id: id.clone(),
                name: name.clone(),
                private,
            },
        );
        let mut recs = BTreeMap::new();
        recs.insert(
            (name.clone(), RecordType::SOA),
            RecordSet {
                name: name.clone(),
                record_type: RecordType::SOA,
                ttl: 900,
                values: vec![format!(
                    "ns-1.awsdns-00.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"
                )],
                routing: None,
            },
        );
        recs.insert(
            (name.clone(), RecordType::NS),
            RecordSet {
                name: name.clone(),
                record_type: RecordType::NS,
                ttl: 172800,
                values: vec!["ns-1.awsdns-00.com.".into()],
                routing: None,
            },
        );
        w.records.insert(id.clone(), recs);
        id
    }

    /// Adds a record someone else owns.
    pub fn add_record(&self, zone: &HostedZoneId, record: RecordSet) {
        let mut w = self.w();
        if let Some(z) = w.records.get_mut(zone) {
            z.insert((record.name.clone(), record.record_type), record);
        }
    }
}
