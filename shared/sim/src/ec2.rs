//! EC2: VPCs, subnets, ENIs and where EC2 places their addresses, CIDR reservations, route
//! tables, and Resource-type VPC endpoints with the gateway ENIs VPC Lattice asks EC2 for when
//! one is created (the [`NetworkRead`] and [`NetworkWrite`] ports).

use crate::world::{CloudState, Task, err};
use crate::{SimCloud, trail};
use async_trait::async_trait;
use fsxn_lattice_core::capacity::aws_reserved_addresses;
use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_core::events::INSUFFICIENT_IPS_MESSAGE;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;
use ipnet::Ipv4Net;
use rand::Rng;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// Seconds from `CreateVpcEndpoint` until VPC Lattice asks EC2 for the gateway ENIs.
pub const ENI_ATTEMPT_AFTER: u64 = 1;
/// Seconds from the gateway ENIs to an `available` endpoint.
pub const ENDPOINT_READY_AFTER: u64 = 90;
/// Seconds an endpoint stays `deleting`.
pub const ENDPOINT_DELETE_AFTER: u64 = 30;

/// Resource VPC endpoints allowed per VPC, unless [`SimCloud::set_endpoints_per_vpc`] raised it.
pub const ENDPOINTS_PER_VPC: usize = 200;
/// The hosted zone id the seed's endpoint DNS entry carried.
pub const LATTICE_RSC_ZONE: &str = "Z08285483B41F6ASEM5U1";

/// An endpoint with the simulation's own bookkeeping.
#[derive(Debug, Clone)]
pub(crate) struct SimEndpoint {
    pub(crate) ep: VpcEndpoint,
    pub(crate) ips: Vec<Ipv4Addr>,
}

impl CloudState {
    pub(crate) fn add_route_table(&mut self, id: &RouteTableId, vpc: &VpcId, main: bool) {
        let routes = self
            .vpcs
            .get(vpc)
            .map(|v| {
                v.cidr_blocks
                    .iter()
                    .map(|c| Route {
                        destination: *c,
                        target: "local".into(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.route_tables.insert(
            id.clone(),
            RouteTable {
                id: id.clone(),
                vpc_id: vpc.clone(),
                main,
                associations: vec![],
                routes,
                tags: Tags::new(),
            },
        );
    }

    /// Whether traffic from `subnet` to `ip` is routed to the file server: its route table
    /// (explicit, else main) holds a route to an FSx endpoint range containing `ip`, not only
    /// the VPC's `local` route (floating IPs sit in no subnet).
    pub(crate) fn routes_to(&self, subnet: &SubnetId, ip: Ipv4Addr) -> bool {
        let tables: Vec<RouteTable> = self.route_tables.values().cloned().collect();
        let Some(sub) = self.subnets.get(subnet) else {
            return false;
        };
        effective_route_table(&tables, sub).is_some_and(|t| {
            t.routes
                .iter()
                .any(|r| r.target != "local" && r.destination.contains(&ip))
        })
    }

    // ---- address bookkeeping ----

    pub(crate) fn used_in_subnet(&self, subnet: &SubnetId) -> BTreeSet<u32> {
        let mut used = BTreeSet::new();
        for e in self.enis.values().filter(|e| &e.subnet_id == subnet) {
            used.extend(e.private_ips.iter().map(|ip| u32::from(*ip)));
            for p in &e.ipv4_prefixes {
                used.extend(u32::from(p.network())..=u32::from(p.broadcast()));
            }
        }
        used
    }

    pub(crate) fn free_address_count(&self, subnet: &Subnet) -> u32 {
        let size = 1u32 << (32 - subnet.cidr.prefix_len());
        let reserved: BTreeSet<u32> = aws_reserved_addresses(subnet.cidr)
            .iter()
            .map(|a| u32::from(*a))
            .collect();
        let used = self.used_in_subnet(&subnet.id);
        size - (used.union(&reserved).count() as u32)
    }

    /// A random free address outside every CIDR reservation (EC2's automatic placement).
    pub(crate) fn random_free_ip(&mut self, subnet_id: &SubnetId) -> Option<Ipv4Addr> {
        let subnet = self.subnets.get(subnet_id)?.clone();
        let reserved: BTreeSet<u32> = aws_reserved_addresses(subnet.cidr)
            .iter()
            .map(|a| u32::from(*a))
            .collect();
        let used = self.used_in_subnet(subnet_id);
        let in_reservation = |a: u32| {
            self.reservations
                .values()
                .any(|r| &r.subnet_id == subnet_id && r.cidr.contains(&Ipv4Addr::from(a)))
        };
        let base = u32::from(subnet.cidr.network());
        let candidates: Vec<u32> = (base..=u32::from(subnet.cidr.broadcast()))
            .filter(|a| !reserved.contains(a) && !used.contains(a) && !in_reservation(*a))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let i = self.rng.random_range(0..candidates.len());
        Some(Ipv4Addr::from(candidates[i]))
    }

    /// A free aligned /28: the lowest inside a `prefix` reservation if any, else a random one
    /// outside every reservation.
    fn allocate_prefix(&mut self, subnet_id: &SubnetId) -> Option<Ipv4Net> {
        let subnet = self.subnets.get(subnet_id)?.clone();
        let enis: Vec<NetworkInterface> = self
            .enis
            .values()
            .filter(|e| &e.subnet_id == subnet_id)
            .cloned()
            .collect();
        let res: Vec<CidrReservation> = self
            .reservations
            .values()
            .filter(|r| &r.subnet_id == subnet_id)
            .cloned()
            .collect();
        let cap = fsxn_lattice_core::capacity::analyze_subnet(&subnet, &enis, &res);
        if let Some(b) = cap.free_blocks_in_prefix_reservations.first() {
            return Some(*b);
        }
        let outside: Vec<Ipv4Net> = cap
            .free_prefix_blocks
            .iter()
            .filter(|b| !res.iter().any(|r| fsxn_lattice_core::capacity::overlaps(&r.cidr, b)))
            .copied()
            .collect();
        if outside.is_empty() {
            return None;
        }
        let i = self.rng.random_range(0..outside.len());
        Some(outside[i])
    }

    pub(crate) fn new_eni(
        &mut self,
        subnet_id: &SubnetId,
        ips: Vec<Ipv4Addr>,
        prefixes: Vec<Ipv4Net>,
        description: String,
        tags: Tags,
    ) -> NetworkInterfaceId {
        let id = NetworkInterfaceId::parse(self.id("eni")).expect("generated id");
        self.enis.insert(
            id.clone(),
            NetworkInterface {
                id: id.clone(),
                subnet_id: subnet_id.clone(),
                private_ips: ips,
                ipv4_prefixes: prefixes,
                description,
                tags,
            },
        );
        id
    }

    pub(crate) fn provision_endpoint(&mut self, id: &VpcEndpointId) {
        let Some(sim) = self.endpoints.get(id) else { return };
        if sim.ep.state != EndpointState::Pending {
            return;
        }
        let arn = sim.ep.resource_configuration_arn.clone();
        let Some(cfg) = self.configurations.values().find(|c| c.arn == arn).cloned() else {
            self.fail_endpoint(id, "the resource configuration no longer exists");
            return;
        };
        let Some(gw) = self.gateways.get(&cfg.gateway_id).cloned() else {
            self.fail_endpoint(id, "the resource gateway no longer exists");
            return;
        };
        if !self.provision_gateway_enis(&gw) {
            self.fail_endpoint(
                id,
                "(simulated) the resource gateway could not create its network interface",
            );
            return;
        }
        self.schedule(ENDPOINT_READY_AFTER, Task::EndpointReady(id.clone()));
    }

    /// VPC Lattice gives the gateway an ENI in each of its subnets that lacks one (one aligned
    /// /28 prefix and a primary IP), as it does when the first endpoint or service-network
    /// association needs it, with the CloudTrail record of each `CreateNetworkInterface`.
    /// `false` when one could not be made (no free aligned /28): the seed's failure.
    pub(crate) fn provision_gateway_enis(&mut self, gw: &ResourceGateway) -> bool {
        for subnet_id in &gw.subnet_ids {
            let has = self
                .enis
                .values()
                .any(|e| &e.subnet_id == subnet_id && e.resource_gateway_id().as_ref() == Some(&gw.id));
            if has {
                continue;
            }
            let description = format!("Resource Gateway Interface {}", gw.id);
            let groups: Vec<Value> = gw
                .security_group_ids
                .iter()
                .map(|g| json!({"groupId": g.as_str()}))
                .collect();
            let token = self.uuid();
            let request = json!({
                "subnetId": subnet_id.as_str(),
                "description": description,
                "groupSet": {"items": groups},
                "privateIpAddressesSet": {},
                "ipv4PrefixCount": 1,
                "tagSpecificationSet": {"items": [{"resourceType": "network-interface", "tags": [{"key": "VpcLatticeManaged", "value": "true"}]}]},
                "clientToken": token,
                "denyAllIgwTraffic": true
            });
            let identity = trail::lattice_identity(&self.account, &self.time());
            // EC2 needs a free aligned /28 for the prefix and one more address for the primary IP.
            let tags = Tags::from([("VpcLatticeManaged".to_string(), "true".to_string())]);
            let allocated = self.allocate_prefix(subnet_id).and_then(|prefix| {
                let eni = self.new_eni(subnet_id, vec![], vec![prefix], description.clone(), tags);
                match self.random_free_ip(subnet_id) {
                    Some(ip) => {
                        if let Some(e) = self.enis.get_mut(&eni) {
                            e.private_ips.push(ip);
                        }
                        Some((prefix, ip, eni))
                    }
                    None => {
                        self.enis.remove(&eni);
                        None
                    }
                }
            });
            match allocated {
                Some((prefix, ip, eni)) => {
                    let vpc = gw.vpc_id.to_string();
                    self.emit(trail::Record {
                        source: "ec2.amazonaws.com",
                        name: "CreateNetworkInterface",
                        identity,
                        agent: "vpc-lattice.amazonaws.com",
                        request,
                        response: json!({"networkInterface": {
                            "networkInterfaceId": eni.as_str(), "subnetId": subnet_id.as_str(), "vpcId": vpc,
                            "privateIpAddress": ip.to_string(), "ipv4PrefixSet": {"items": [{"ipv4Prefix": prefix.to_string()}]},
                            "description": description, "requesterManaged": true
                        }}),
                        error: None,
                        service_event: false,
                    });
                }
                _ => {
                    self.emit(trail::Record {
                        source: "ec2.amazonaws.com",
                        name: "CreateNetworkInterface",
                        identity,
                        agent: "vpc-lattice.amazonaws.com",
                        request,
                        response: Value::Null,
                        error: Some(("Client.InvalidParameterValue", INSUFFICIENT_IPS_MESSAGE)),
                        service_event: false,
                    });
                    return false;
                }
            }
        }
        true
    }

    fn fail_endpoint(&mut self, id: &VpcEndpointId, reason: &str) {
        if let Some(sim) = self.endpoints.get_mut(id) {
            sim.ep.state = EndpointState::Failed;
            sim.ep.failure_reason = Some(reason.to_string());
        }
    }

    pub(crate) fn endpoint_ready(&mut self, id: &VpcEndpointId) {
        let Some(sim) = self.endpoints.get(id).cloned() else {
            return;
        };
        if sim.ep.state != EndpointState::Pending {
            return;
        }
        let mut eni_ids = Vec::new();
        let mut ips = Vec::new();
        for s in &sim.ep.subnet_ids {
            let Some(ip) = self.random_free_ip(s) else {
                self.fail_endpoint(id, "There aren't sufficient free Ipv4 addresses in the endpoint subnet");
                return;
            };
            let eni = self.new_eni(s, vec![ip], vec![], format!("VPC Endpoint Interface {id}"), Tags::new());
            eni_ids.push(eni);
            ips.push(ip);
        }
        let cfg_id = sim
            .ep
            .resource_configuration_arn
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let dns = format!(
            "{id}.{cfg_id}.{}.vpc-lattice-rsc.{}.on.aws",
            self.account_hash, self.region
        );
        let sim = self.endpoints.get_mut(id).expect("checked above");
        sim.ep.state = EndpointState::Available;
        sim.ep.network_interface_ids = eni_ids;
        sim.ep.dns_name = Some(dns);
        sim.ips = ips;
    }
}

impl SimCloud {
    /// Makes a client token reused after its endpoint is gone answer with that dead endpoint
    /// (state `deleted`), one of the two behaviours AWS may have (UNCONFIRMED).
    pub fn set_replay_dead_tokens(&self, on: bool) {
        self.w().replay_dead_tokens = on;
    }

    /// Raises (or lowers) the VPC endpoints per VPC quota, as a quota increase would.
    pub fn set_endpoints_per_vpc(&self, quota: usize) {
        self.w().endpoints_per_vpc = quota;
    }

    /// `AvailableIpAddressCount` of a subnet.
    pub fn available_ip_address_count(&self, subnet: &SubnetId) -> Option<u32> {
        let w = self.w();
        let s = w.subnets.get(subnet)?.clone();
        Some(w.free_address_count(&s))
    }
}

#[async_trait]
impl NetworkRead for SimCloud {
    async fn describe_vpcs(&self, ids: &[VpcId], attributes: VpcAttributes) -> CloudResult<Vec<Vpc>> {
        let mut w = self.w();
        w.enter("DescribeVpcs")?;
        let mut vpcs: Vec<Vpc> = ids
            .iter()
            .filter(|i| w.visible(i.as_str()))
            .filter_map(|i| w.vpcs.get(i).cloned())
            .collect();
        match attributes {
            // The adapter reads enableDnsSupport and enableDnsHostnames, one call each, 8 at
            // once: one more round trip per 4 VPCs.
            VpcAttributes::Dns => w.more_concurrent(
                "DescribeVpcAttribute",
                2 * vpcs.len() as u64,
                fsxn_lattice_core::observe::READS_IN_FLIGHT as u64,
            ),
            VpcAttributes::None => {
                for v in &mut vpcs {
                    v.enable_dns_support = false;
                    v.enable_dns_hostnames = false;
                }
            }
        }
        Ok(vpcs)
    }
    async fn describe_subnets(&self, vpc_id: &VpcId) -> CloudResult<Vec<Subnet>> {
        let mut w = self.w();
        w.enter("DescribeSubnets")?;
        let mut subnets: Vec<Subnet> = w.subnets.values().filter(|s| &s.vpc_id == vpc_id).cloned().collect();
        subnets.retain(|s| !w.hidden(s.id.as_str()));
        w.pages("DescribeSubnets", subnets.len(), page::EC2 as usize);
        Ok(subnets)
    }
    async fn describe_network_interfaces(&self, vpc_id: &VpcId) -> CloudResult<Vec<NetworkInterface>> {
        let mut w = self.w();
        w.enter("DescribeNetworkInterfaces")?;
        let subnets: BTreeSet<&SubnetId> = w
            .subnets
            .values()
            .filter(|s| &s.vpc_id == vpc_id)
            .map(|s| &s.id)
            .collect();
        let enis: Vec<NetworkInterface> = w
            .enis
            .values()
            .filter(|e| subnets.contains(&e.subnet_id))
            .cloned()
            .collect();
        w.pages("DescribeNetworkInterfaces", enis.len(), page::EC2 as usize);
        Ok(enis)
    }
    async fn describe_route_tables(&self, vpc_id: &VpcId) -> CloudResult<Vec<RouteTable>> {
        let mut w = self.w();
        w.enter("DescribeRouteTables")?;
        let tables: Vec<RouteTable> = w
            .route_tables
            .values()
            .filter(|t| &t.vpc_id == vpc_id)
            .cloned()
            .collect();
        w.pages("DescribeRouteTables", tables.len(), page::ROUTE_TABLES as usize);
        Ok(tables)
    }
    async fn get_subnet_cidr_reservations(&self, subnet_id: &SubnetId) -> CloudResult<Vec<CidrReservation>> {
        let mut w = self.w();
        w.enter("GetSubnetCidrReservations")?;
        if !w.subnets.contains_key(subnet_id) || w.hidden(subnet_id.as_str()) {
            return Err(err(
                ErrorKind::NotFound,
                "GetSubnetCidrReservations",
                "InvalidSubnetID.NotFound",
                format!("The subnet ID '{subnet_id}' does not exist"),
            ));
        }
        let mut reservations: Vec<CidrReservation> = w
            .reservations
            .values()
            .filter(|r| &r.subnet_id == subnet_id)
            .cloned()
            .collect();
        reservations.retain(|r| !w.hidden(r.id.as_str()));
        w.pages("GetSubnetCidrReservations", reservations.len(), page::EC2 as usize);
        Ok(reservations)
    }
    async fn describe_resource_endpoints(&self, filters: &[EndpointFilter]) -> CloudResult<Vec<VpcEndpoint>> {
        const OP: &str = "DescribeVpcEndpoints";
        let mut w = self.w();
        w.enter(OP)?;
        let mut found: BTreeMap<VpcEndpointId, VpcEndpoint> = BTreeMap::new();
        for (i, filter) in filters.iter().enumerate() {
            let mut matching: Vec<VpcEndpoint> = w
                .endpoints
                .values()
                .filter(|e| w.visible(e.ep.id.as_str()))
                .filter(|e| match filter {
                    EndpointFilter::Vpcs(vpcs) => vpcs.contains(&e.ep.vpc_id),
                    EndpointFilter::Tag { key, value } => e.ep.tags.get(key) == Some(value),
                })
                .map(|e| e.ep.clone())
                .collect();
            matching.retain(|e| !w.hidden(e.id.as_str()));
            // One query per filter (the first was counted by `enter`), paged; the adapter
            // runs the filters' queries at once.
            let pages = page::calls(matching.len(), page::EC2 as usize);
            w.beside(OP, pages - u64::from(i == 0), pages);
            found.extend(matching.into_iter().map(|e| (e.id.clone(), e)));
        }
        // One association per Resource endpoint, asked for in batches of ids, 8 batches at once.
        let batches = found.len().div_ceil(page::ASSOCIATION_IDS) as u64;
        w.more_concurrent(
            "DescribeVpcEndpointAssociations",
            batches,
            fsxn_lattice_core::observe::READS_IN_FLIGHT as u64,
        );
        Ok(found.into_values().collect())
    }
}

#[async_trait]
impl NetworkWrite for SimCloud {
    async fn create_subnet(&self, req: &CreateSubnetRequest) -> CloudResult<Subnet> {
        const OP: &str = "CreateSubnet";
        let mut w = self.w();
        w.enter(OP)?;
        let Some(vpc) = w.vpcs.get(&req.vpc_id).filter(|v| w.visible(v.id.as_str())).cloned() else {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "InvalidVpcID.NotFound",
                format!("The vpc ID '{}' does not exist", req.vpc_id),
            ));
        };
        let cidr = req.cidr.trunc();
        if cidr != req.cidr || !(16..=28).contains(&cidr.prefix_len()) {
            return Err(err(
                ErrorKind::InvalidInput,
                OP,
                "InvalidSubnet.Range",
                format!("The CIDR '{}' is invalid.", req.cidr),
            ));
        }
        if !vpc.cidr_blocks.iter().any(|b| b.contains(&cidr)) {
            return Err(err(
                ErrorKind::InvalidInput,
                OP,
                "InvalidSubnet.Range",
                format!("The CIDR '{cidr}' is invalid."),
            ));
        }
        if w.subnets
            .values()
            .any(|s| s.vpc_id == vpc.id && fsxn_lattice_core::capacity::overlaps(&s.cidr, &cidr))
        {
            return Err(err(
                ErrorKind::Conflict,
                OP,
                "InvalidSubnet.Conflict",
                format!("The CIDR '{cidr}' conflicts with another subnet"),
            ));
        }
        let id = SubnetId::parse(w.id("subnet")).expect("generated id");
        let s = Subnet {
            id: id.clone(),
            vpc_id: vpc.id.clone(),
            availability_zone: req.availability_zone.clone(),
            cidr,
            tags: req.tags.clone(),
        };
        w.subnets.insert(id.clone(), s.clone());
        w.born(id.as_str());
        w.emit_call(
            "ec2.amazonaws.com",
            OP,
            json!({"vpcId": vpc.id.as_str(), "cidrBlock": cidr.to_string(), "availabilityZone": req.availability_zone}),
            json!({"subnet": {"subnetId": id.as_str()}}),
        );
        w.leave(OP, Ok(s))
    }

    async fn associate_route_table(&self, route_table_id: &RouteTableId, subnet_id: &SubnetId) -> CloudResult<String> {
        const OP: &str = "AssociateRouteTable";
        let mut w = self.w();
        w.enter(OP)?;
        let Some(subnet) = w.subnets.get(subnet_id).cloned() else {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "InvalidSubnetID.NotFound",
                format!("The subnet ID '{subnet_id}' does not exist"),
            ));
        };
        let Some(table) = w.route_tables.get(route_table_id).cloned() else {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "InvalidRouteTableID.NotFound",
                format!("The routeTable ID '{route_table_id}' does not exist"),
            ));
        };
        if table.vpc_id != subnet.vpc_id {
            return Err(err(
                ErrorKind::InvalidInput,
                OP,
                "InvalidParameterValue",
                format!("Route table {route_table_id} and subnet {subnet_id} belong to different networks"),
            ));
        }
        if let Some(a) = w
            .route_tables
            .values()
            .flat_map(|t| &t.associations)
            .find(|a| &a.subnet_id == subnet_id)
        {
            return Err(err(
                ErrorKind::Conflict,
                OP,
                "Resource.AlreadyAssociated",
                format!(
                    "the specified association for route table {route_table_id} conflicts with an existing association ({})",
                    a.id
                ),
            ));
        }
        let assoc = w.id("rtbassoc");
        if let Some(t) = w.route_tables.get_mut(route_table_id) {
            t.associations.push(RouteTableAssociation {
                id: assoc.clone(),
                subnet_id: subnet_id.clone(),
            });
        }
        w.emit_call(
            "ec2.amazonaws.com",
            OP,
            json!({"routeTableId": route_table_id.as_str(), "subnetId": subnet_id.as_str()}),
            json!({"associationId": assoc}),
        );
        w.leave(OP, Ok(assoc))
    }

    async fn disassociate_route_table(&self, association_id: &str) -> CloudResult<()> {
        const OP: &str = "DisassociateRouteTable";
        let mut w = self.w();
        w.enter(OP)?;
        let mut found = false;
        for t in w.route_tables.values_mut() {
            let before = t.associations.len();
            t.associations.retain(|a| a.id != association_id);
            found |= t.associations.len() != before;
        }
        if !found {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "InvalidAssociationID.NotFound",
                format!("The association ID '{association_id}' does not exist"),
            ));
        }
        w.emit_call(
            "ec2.amazonaws.com",
            OP,
            json!({"associationId": association_id}),
            json!({"_return": true}),
        );
        w.leave(OP, Ok(()))
    }

    async fn delete_subnet(&self, id: &SubnetId) -> CloudResult<()> {
        const OP: &str = "DeleteSubnet";
        let mut w = self.w();
        w.enter(OP)?;
        if !w.subnets.contains_key(id) {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "InvalidSubnetID.NotFound",
                format!("The subnet ID '{id}' does not exist"),
            ));
        }
        if w.enis.values().any(|e| &e.subnet_id == id) {
            return Err(err(
                ErrorKind::Conflict,
                OP,
                "DependencyViolation",
                format!("The subnet '{id}' has dependencies and cannot be deleted."),
            ));
        }
        w.subnets.remove(id);
        w.reservations.retain(|_, r| &r.subnet_id != id);
        // The subnet's explicit route table association ends with it.
        for t in w.route_tables.values_mut() {
            t.associations.retain(|a| &a.subnet_id != id);
        }
        w.emit_call(
            "ec2.amazonaws.com",
            OP,
            json!({"subnetId": id.as_str()}),
            json!({"_return": true}),
        );
        w.leave(OP, Ok(()))
    }

    async fn create_subnet_cidr_reservation(&self, req: &CreateCidrReservationRequest) -> CloudResult<CidrReservation> {
        const OP: &str = "CreateSubnetCidrReservation";
        let mut w = self.w();
        w.enter(OP)?;
        let Some(subnet) = w.subnets.get(&req.subnet_id).cloned() else {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "InvalidSubnetID.NotFound",
                format!("The subnet ID '{}' does not exist", req.subnet_id),
            ));
        };
        let cidr = req.cidr;
        if cidr.trunc() != cidr || !subnet.cidr.contains(&cidr) {
            return Err(err(
                ErrorKind::InvalidInput,
                OP,
                "InvalidParameterValue",
                format!("The CIDR {cidr} is not within the subnet CIDR {}", subnet.cidr),
            ));
        }
        if w.reservations
            .values()
            .any(|r| r.subnet_id == subnet.id && fsxn_lattice_core::capacity::overlaps(&r.cidr, &cidr))
        {
            return Err(err(
                ErrorKind::InvalidInput,
                OP,
                "InvalidParameterValue",
                format!("The CIDR {cidr} overlaps with an existing subnet CIDR reservation"),
            ));
        }
        let id = CidrReservationId::parse(w.id("scr")).expect("generated id");
        let r = CidrReservation {
            id: id.clone(),
            subnet_id: subnet.id.clone(),
            cidr,
            reservation_type: req.reservation_type,
            description: req.description.clone(),
            tags: req.tags.clone(),
        };
        w.reservations.insert(id.clone(), r.clone());
        w.born(id.as_str());
        w.emit_call("ec2.amazonaws.com", OP, json!({"subnetId": subnet.id.as_str(), "cidr": cidr.to_string(), "reservationType": format!("{:?}", req.reservation_type).to_lowercase()}), json!({"subnetCidrReservation": {"subnetCidrReservationId": id.as_str()}}));
        w.leave(OP, Ok(r))
    }

    async fn delete_subnet_cidr_reservation(&self, id: &CidrReservationId) -> CloudResult<()> {
        const OP: &str = "DeleteSubnetCidrReservation";
        let mut w = self.w();
        w.enter(OP)?;
        if w.reservations.remove(id).is_none() {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "InvalidSubnetCidrReservationID.NotFound",
                format!("The reservation '{id}' does not exist"),
            ));
        }
        w.emit_call(
            "ec2.amazonaws.com",
            OP,
            json!({"subnetCidrReservationId": id.as_str()}),
            json!({"_return": true}),
        );
        w.leave(OP, Ok(()))
    }

    async fn create_vpc_endpoint(&self, req: &CreateVpcEndpointRequest) -> CloudResult<VpcEndpoint> {
        const OP: &str = "CreateVpcEndpoint";
        let mut w = self.w();
        w.enter(OP)?;
        let fingerprint = serde_json::to_string(req)
            .unwrap_or_default()
            .replace(&req.client_token, "");
        if let Some(e) = w.replay(OP, &req.client_token, &fingerprint, |w, id| {
            w.endpoints
                .values()
                .find(|e| e.ep.id.as_str() == id)
                .map(|e| e.ep.clone())
                .or_else(|| {
                    w.replay_dead_tokens
                        .then(|| w.dead_endpoints.values().find(|e| e.id.as_str() == id).cloned())
                        .flatten()
                })
        })? {
            return w.leave(OP, Ok(e));
        }
        // Only a VPC (and subnets) of the caller's account: another account's is not found.
        let Some(vpc) = w.vpcs.get(&req.vpc_id).filter(|v| w.visible(v.id.as_str())).cloned() else {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "InvalidVpcId.NotFound",
                format!("The Vpc Id '{}' does not exist", req.vpc_id),
            ));
        };
        if req.private_dns_enabled && !(vpc.enable_dns_support && vpc.enable_dns_hostnames) {
            return Err(err(
                ErrorKind::InvalidInput,
                OP,
                "InvalidParameter",
                "enableDnsSupport and enableDnsHostnames must be true for private DNS",
            ));
        }
        for s in &req.subnet_ids {
            if w.subnets.get(s).is_none_or(|x| x.vpc_id != vpc.id) || !w.visible(s.as_str()) {
                return Err(err(
                    ErrorKind::NotFound,
                    OP,
                    "InvalidSubnetId.NotFound",
                    format!("The subnet '{s}' does not exist in {}", vpc.id),
                ));
            }
        }
        if !w
            .configurations
            .values()
            .any(|c| c.arn == req.resource_configuration_arn)
        {
            return Err(err(
                ErrorKind::InvalidInput,
                OP,
                "InvalidParameter",
                format!("Resource configuration '{}' not found", req.resource_configuration_arn),
            ));
        }
        if !w.shared_with_caller(&req.resource_configuration_arn) {
            // UNCONFIRMED: EC2's exact error for a configuration not shared with the caller.
            return Err(err(
                ErrorKind::InvalidInput,
                OP,
                "InvalidParameter",
                format!("Resource configuration '{}' not found", req.resource_configuration_arn),
            ));
        }
        if let Some(p) = &req.private_dns.preference {
            let known = [
                "VERIFIED_DOMAINS_ONLY",
                "ALL_DOMAINS",
                "VERIFIED_DOMAINS_AND_SPECIFIED_DOMAINS",
                "SPECIFIED_DOMAINS_ONLY",
            ];
            let needs_domains = p.contains("SPECIFIED");
            if !known.contains(&p.as_str())
                || !req.private_dns_enabled
                || needs_domains == req.private_dns.specified_domains.is_empty()
            {
                return Err(err(
                    ErrorKind::InvalidInput,
                    OP,
                    "InvalidParameter",
                    format!(
                        "PrivateDnsPreference {p} needs private DNS enabled, and specified domains exactly when it names them"
                    ),
                ));
            }
        }
        // EC2 refuses a second endpoint whose private DNS would answer a name another endpoint
        // already answers in the VPC (as for interface endpoints; UNCONFIRMED for Resource
        // endpoints, docs/design.md §12).
        {
            w.refresh_verifications();
            if let Some(domain) = w.answered_domain(
                &req.resource_configuration_arn,
                req.private_dns_enabled,
                &req.private_dns,
            ) && let Some(other) = w.domain_answered_in(&vpc.id, &domain, None)
            {
                return Err(err(
                    ErrorKind::Conflict,
                    OP,
                    "InvalidParameter",
                    format!(
                        "private-dns-enabled cannot be set because there is already a conflicting DNS domain for {domain} in the VPC {} ({other})",
                        vpc.id
                    ),
                ));
            }
        }
        let count = w.endpoints.values().filter(|e| e.ep.vpc_id == vpc.id).count();
        if count >= w.endpoints_per_vpc {
            return Err(err(
                ErrorKind::QuotaExceeded,
                OP,
                "VpcEndpointLimitExceeded",
                "The maximum number of VPC endpoints has been reached.",
            ));
        }
        let id = VpcEndpointId::parse(w.id("vpce")).expect("generated id");
        let ep = VpcEndpoint {
            account: None,
            id: id.clone(),
            vpc_id: vpc.id.clone(),
            subnet_ids: req.subnet_ids.clone(),
            security_group_ids: req.security_group_ids.clone(),
            resource_configuration_arn: req.resource_configuration_arn.clone(),
            state: EndpointState::Pending,
            failure_reason: None,
            private_dns_enabled: req.private_dns_enabled,
            private_dns: req.private_dns.clone(),
            network_interface_ids: Vec::new(),
            dns_name: None,
            tags: req.tags.clone(),
        };
        w.endpoints.insert(
            id.clone(),
            SimEndpoint {
                ep: ep.clone(),
                ips: Vec::new(),
            },
        );
        w.remember(OP, &req.client_token, &fingerprint, id.as_str());
        w.born(id.as_str());
        w.own(id.as_str());
        w.schedule(ENI_ATTEMPT_AFTER, Task::ProvisionEndpoint(id.clone()));
        w.emit_call("ec2.amazonaws.com", OP, json!({"vpcEndpointType": "Resource", "vpcId": vpc.id.as_str(), "resourceConfigurationArn": req.resource_configuration_arn, "clientToken": req.client_token}), json!({"vpcEndpoint": {"vpcEndpointId": id.as_str(), "state": "Pending"}}));
        w.leave(OP, Ok(ep))
    }

    async fn delete_vpc_endpoint(&self, id: &VpcEndpointId) -> CloudResult<()> {
        const OP: &str = "DeleteVpcEndpoints";
        let mut w = self.w();
        w.enter(OP)?;
        let visible = w.visible(id.as_str());
        let Some(sim) = w.endpoints.get_mut(id).filter(|_| visible) else {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "InvalidVpcEndpointId.NotFound",
                format!("The VPC endpoint Id '{id}' does not exist"),
            ));
        };
        if sim.ep.state != EndpointState::Deleting {
            sim.ep.state = EndpointState::Deleting;
            w.schedule(ENDPOINT_DELETE_AFTER, Task::EndpointGone(id.clone()));
        }
        w.emit_call(
            "ec2.amazonaws.com",
            OP,
            json!({"vpcEndpointId": [id.as_str()]}),
            json!({"unsuccessful": []}),
        );
        w.leave(OP, Ok(()))
    }
}
