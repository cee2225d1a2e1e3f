//! A simulated AWS cloud for fsxn-lattice: EC2 networking, VPC Lattice, Route 53 and FSx, with
//! the behaviour AWS documents and the seed observed (DESIGN.md §2–4), on a virtual clock and
//! seeded randomness, so a whole scenario replays identically for a given seed.
//!
//! What it models, and on what evidence:
//! - random private-IP placement (EC2 places ordinary IPs anywhere free, outside CIDR
//!   reservations), aligned /28 prefix allocation that prefers `prefix` reservations, subnet
//!   exhaustion, CIDR reservation rules (inside the subnet, no overlap; may cover used addresses);
//! - resource gateways that are `ACTIVE` at once (seed) and get their ENIs only when the first
//!   endpoint is created: one per gateway subnet, a primary IP plus one /28 (17 addresses, seed);
//!   when a subnet has no free aligned /28 the ENI call fails with the seed's error, a CloudTrail
//!   record shaped like the seed's is emitted, and the endpoint goes `failed`;
//! - name rules, immutability and dependency conflicts of gateways and configurations; an
//!   `ipResource` outside the gateway VPC's CIDRs is refused (DESIGN.md §4: "likely refused");
//! - endpoint DNS names in the real format, answering one endpoint ENI IP per query;
//! - Route 53 with strict DELETE, CNAME rules, all-or-nothing batches and PENDING → INSYNC;
//! - throttling and 5xx at a chosen rate, half of them *after* a write took effect (the
//!   response is lost), which is what client tokens exist for.
//!
//! Not modelled: IPv6, service networks, cross-account sharing, SG rules and real traffic.

pub mod audit;
pub mod chaos;
pub mod deployed;
mod ec2;
pub mod scenario;
pub mod stepfunctions;
// CloudTrail, in a file named as in shared/aws/src; the public path stays `trail`.
#[path = "cloudtrail.rs"]
pub mod trail;
mod world;

pub use ec2::{ENDPOINT_DELETE_AFTER, ENDPOINT_READY_AFTER, ENDPOINTS_PER_VPC, ENI_ATTEMPT_AFTER, LATTICE_RSC_ZONE};
pub use world::{CONSISTENCY_WINDOW, EPOCH, FaultKind, FaultMix, Faults, SimCloud, Snapshot};
use world::{Task, World, err, hex};

use async_trait::async_trait;
use fsxn_lattice_core::capacity::BLOCK_SIZE;
use fsxn_lattice_core::error::{CloudError, ErrorKind};
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::naming::{NAME_PREFIX, OWNER_TAG, TARGET_TAG, parse_target_tag, validate_lattice_name};
use fsxn_lattice_core::ports::*;
use ipnet::Ipv4Net;
use rand::Rng;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Seconds a gateway stays `DELETE_IN_PROGRESS`.
pub const GATEWAY_DELETE_AFTER: u64 = 60;
/// Seconds a Route 53 change stays `PENDING`.
pub const CHANGE_INSYNC_AFTER: u64 = 30;

/// A simulated client connection (see [`SimCloud::connect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    /// The endpoint ENI IP the client's DNS answer gave.
    pub endpoint_ip: Ipv4Addr,
    /// The SVM's floating IP the gateway forwards to.
    pub target: Ipv4Addr,
    /// The source address the SVM sees: inside a gateway ENI's /28.
    pub source_seen_by_server: Ipv4Addr,
}

impl SimCloud {
    /// Resolves a DNS name as a client would: a CNAME in any zone is followed; an endpoint's
    /// name answers **one** of its ENI IPs per query, at random (seed: not a multi-value answer).
    pub fn resolve(&self, name: &str) -> Option<Ipv4Addr> {
        let mut w = self.w();
        let mut name = normalize_dns_name(name);
        for _ in 0..8 {
            let cname = w
                .records
                .values()
                .flat_map(|r| r.values())
                .find(|r| r.name == name && r.record_type == RecordType::CNAME)
                .map(|r| normalize_dns_name(&r.values[0]));
            match cname {
                Some(target) => name = target,
                None => break,
            }
        }
        let ips = w
            .endpoints
            .values()
            .find(|e| e.ep.state == EndpointState::Available && e.ep.dns_name.as_deref() == Some(name.as_str()))
            .map(|e| e.ips.clone())?;
        let i = w.rng.random_range(0..ips.len());
        Some(ips[i])
    }

    /// A TCP connection from a consumer client to `name:port`, as the file server would see
    /// it: the target is the configuration's IP, the source an address inside the /28 of one of
    /// the gateway's ENIs (seed: sessions came from 10.0.4.x inside 10.0.4.32/28). `None` when
    /// the name does not resolve to an available endpoint or the port is not exposed.
    pub fn connect(&self, name: &str, port: u16) -> Option<Connection> {
        let endpoint_ip = self.resolve(name)?;
        let mut w = self.w();
        let ep = w.endpoints.values().find(|e| e.ips.contains(&endpoint_ip))?.ep.clone();
        let cfg = w
            .configurations
            .values()
            .find(|c| c.arn == ep.resource_configuration_arn)?
            .clone();
        if !cfg.port_ranges.iter().any(|r| (r.from..=r.to).contains(&port)) {
            return None;
        }
        let target = cfg.ip_address?;
        let enis: Vec<&NetworkInterface> = w
            .enis
            .values()
            .filter(|e| e.resource_gateway_id().as_ref() == Some(&cfg.gateway_id))
            .collect();
        // The gateway's ENIs NAT the connection to the floating IP: from a subnet whose route
        // table lacks FSx's route, it times out (the endpoint still shows `available`).
        if enis.iter().any(|e| !w.routes_to(&e.subnet_id, target)) {
            return None;
        }
        let prefixes: Vec<Ipv4Net> = enis.iter().flat_map(|e| e.ipv4_prefixes.clone()).collect();
        if prefixes.is_empty() {
            return None;
        }
        let p = prefixes[w.rng.random_range(0..prefixes.len())];
        let source = Ipv4Addr::from(u32::from(p.network()) + w.rng.random_range(0..BLOCK_SIZE));
        Some(Connection {
            endpoint_ip,
            target,
            source_seen_by_server: source,
        })
    }

    // ---- building a world (no faults, no API-call counting) ----

    /// Adds a VPC.
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

    /// Adds a subnet.
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

    /// Creates an SVM as `aws fsx create-storage-virtual-machine` would, emitting the CloudTrail
    /// event (the SVM is `CREATED` at once here).
    pub fn create_svm(&self, svm: StorageVirtualMachine) {
        let mut w = self.w();
        let identity = trail::caller_identity(&w.account, "Admin");
        let (id, fs, name) = (svm.id.to_string(), svm.file_system_id.to_string(), svm.name.clone());
        w.svms.insert(svm.id.clone(), svm);
        w.emit(trail::Record {
            source: "fsx.amazonaws.com",
            name: "CreateStorageVirtualMachine",
            identity,
            agent: "aws-cli/2.22.0",
            request: json!({"fileSystemId": fs, "name": name}),
            response: json!({"storageVirtualMachine": {"storageVirtualMachineId": id, "fileSystemId": fs, "lifecycle": "CREATING"}}),
            error: None,
            service_event: false,
        });
    }

    /// Removes a tag as `aws fsx untag-resource` would (no event: an opt-out by untagging is
    /// caught by the next event or the schedule).
    pub fn untag_fsx(&self, svm: &SvmId, key: &str) {
        if let Some(s) = self.w().svms.get_mut(svm) {
            s.tags.remove(key);
        }
    }

    /// Tags an SVM or file system the way `aws fsx tag-resource` would, emitting the CloudTrail
    /// event (lower-camel keys, as FSx records are).
    pub fn tag_fsx(&self, arn_target: &str, key: &str, value: &str) {
        let mut w = self.w();
        let (region, account) = (w.region.clone(), w.account.clone());
        let (arn, found) = if let Ok(svm) = SvmId::parse(arn_target) {
            let Some(s) = w.svms.get_mut(&svm) else { return };
            s.tags.insert(key.into(), value.into());
            (
                format!(
                    "arn:aws:fsx:{region}:{account}:storage-virtual-machine/{}/{}",
                    s.file_system_id, s.id
                ),
                true,
            )
        } else if let Ok(fs) = FileSystemId::parse(arn_target) {
            let Some(f) = w.file_systems.get_mut(&fs) else { return };
            f.tags.insert(key.into(), value.into());
            (format!("arn:aws:fsx:{region}:{account}:file-system/{fs}"), true)
        } else {
            (String::new(), false)
        };
        if found {
            let identity = trail::caller_identity(&w.account, "Admin");
            w.emit(trail::Record {
                source: "fsx.amazonaws.com",
                name: "TagResource",
                identity,
                agent: "aws-cli/2.22.0",
                request: json!({"resourceARN": arn, "tags": [{"key": key, "value": value}]}),
                response: Value::Null,
                error: None,
                service_event: false,
            });
        }
    }

    /// Deletes an SVM as `aws fsx delete-storage-virtual-machine` would (gone at once here),
    /// emitting the CloudTrail event.
    pub fn delete_svm(&self, id: &SvmId) {
        let mut w = self.w();
        if w.svms.remove(id).is_some() {
            let identity = trail::caller_identity(&w.account, "Admin");
            w.emit(trail::Record {
                source: "fsx.amazonaws.com",
                name: "DeleteStorageVirtualMachine",
                identity,
                agent: "aws-cli/2.22.0",
                request: json!({"storageVirtualMachineId": id.as_str()}),
                response: json!({"storageVirtualMachineId": id.as_str(), "lifecycle": "DELETING"}),
                error: None,
                service_event: false,
            });
        }
    }

    /// Adds a hosted zone (with its apex SOA and NS records).
    pub fn add_hosted_zone(&self, id: &str, name: &str, private: bool) -> HostedZoneId {
        let id = HostedZoneId::parse(id).expect("valid zone id");
        let name = normalize_dns_name(name);
        let mut w = self.w();
        w.zones.insert(
            id.clone(),
            HostedZone {
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

#[async_trait]
impl FsxRead for SimCloud {
    async fn describe_file_systems(&self) -> CloudResult<Vec<FileSystem>> {
        let mut w = self.w();
        w.enter("DescribeFileSystems")?;
        let n = w.file_systems.len();
        w.pages("DescribeFileSystems", n, page::FSX_ASSUMED);
        Ok(w.file_systems.values().cloned().collect())
    }
    async fn describe_storage_virtual_machines(&self) -> CloudResult<Vec<StorageVirtualMachine>> {
        let mut w = self.w();
        w.enter("DescribeStorageVirtualMachines")?;
        let n = w.svms.len();
        w.pages("DescribeStorageVirtualMachines", n, page::FSX_ASSUMED);
        Ok(w.svms.values().cloned().collect())
    }
}

impl World {
    /// The tags the Lattice adapter ends up with for a resource: those of everything carrying
    /// the owner tag key (Tagging API), those of the rest with our name prefix (one
    /// `ListTagsForResource` each), none for others.
    fn lattice_tags(&mut self, name: &str, tags: &Tags) -> Tags {
        if tags.contains_key(OWNER_TAG) {
            tags.clone()
        } else if name.starts_with(&format!("{NAME_PREFIX}-")) {
            self.more("ListTagsForResource", 1);
            tags.clone()
        } else {
            Tags::new()
        }
    }

    /// Counts the Tagging API `GetResources` pages for one resource type.
    fn tagging_pages(&mut self, tagged: usize) {
        self.more("GetResources", page::calls(tagged, page::TAGGED_RESOURCES as usize));
    }
}

fn lattice_arn(w: &World, kind: &str, id: &str) -> String {
    format!("arn:aws:vpc-lattice:{}:{}:{kind}/{id}", w.region, w.account)
}

#[async_trait]
impl LatticeRead for SimCloud {
    async fn list_resource_gateways(&self) -> CloudResult<Vec<ResourceGateway>> {
        const OP: &str = "ListResourceGateways";
        let mut w = self.w();
        w.enter(OP)?;
        let mut all: Vec<ResourceGateway> = w.gateways.values().cloned().collect();
        all.retain(|g| !w.hidden(g.id.as_str()));
        w.pages(OP, all.len(), page::LATTICE as usize);
        // What the adapter sees: tags only as the Tagging API or ListTagsForResource gives them.
        let all = all
            .into_iter()
            .map(|mut g| {
                g.tags = w.lattice_tags(&g.name, &g.tags);
                g
            })
            .collect();
        let tagged = w.gateways.values().filter(|g| g.tags.contains_key(OWNER_TAG)).count();
        w.tagging_pages(tagged);
        Ok(all)
    }
    async fn list_resource_configurations(&self) -> CloudResult<Vec<ResourceConfiguration>> {
        const OP: &str = "ListResourceConfigurations";
        let mut w = self.w();
        w.enter(OP)?;
        let mut all: Vec<ResourceConfiguration> = w.configurations.values().cloned().collect();
        all.retain(|c| !w.hidden(c.id.as_str()));
        w.pages(OP, all.len(), page::LATTICE as usize);
        let tagged = w
            .configurations
            .values()
            .filter(|c| c.tags.contains_key(OWNER_TAG))
            .count();
        w.tagging_pages(tagged);
        let mut out = Vec::with_capacity(all.len());
        for mut c in all {
            c.tags = w.lattice_tags(&c.name, &c.tags);
            let target = c.tags.get(TARGET_TAG).and_then(|t| parse_target_tag(t));
            let failed = matches!(
                c.status,
                ConfigurationStatus::CreateFailed | ConfigurationStatus::UpdateFailed
            );
            if !c.tags.contains_key(OWNER_TAG) {
                // Foreign: the summary only.
                c.ip_address = None;
                c.port_ranges = Vec::new();
                c.failure_reason = None;
            } else if failed || target.is_none() {
                w.more("GetResourceConfiguration", 1);
            } else if let Some((ip, ports)) = target {
                c.ip_address = Some(ip);
                c.port_ranges = ports;
                c.failure_reason = None;
            }
            out.push(c);
        }
        Ok(out)
    }
}

#[async_trait]
impl LatticeWrite for SimCloud {
    async fn create_resource_gateway(&self, req: &CreateResourceGatewayRequest) -> CloudResult<ResourceGateway> {
        const OP: &str = "CreateResourceGateway";
        let mut w = self.w();
        w.enter(OP)?;
        let fingerprint = serde_json::to_string(req)
            .unwrap_or_default()
            .replace(&req.client_token, "");
        if let Some(g) = w.replay(OP, &req.client_token, &fingerprint, |w, id| {
            w.gateways.values().find(|g| g.id.as_str() == id).cloned()
        })? {
            return w.leave(OP, Ok(g));
        }
        validate_lattice_name(&req.name, "rgw-")
            .map_err(|e| err(ErrorKind::InvalidInput, OP, "ValidationException", e.to_string()))?;
        if w.gateways.values().any(|g| g.name == req.name) {
            return Err(err(
                ErrorKind::Conflict,
                OP,
                "ConflictException",
                format!("A resource gateway named {} already exists", req.name),
            ));
        }
        if !w.vpcs.contains_key(&req.vpc_id) {
            return Err(err(
                ErrorKind::InvalidInput,
                OP,
                "ValidationException",
                format!("VPC {} not found", req.vpc_id),
            ));
        }
        if req.subnet_ids.is_empty()
            || req
                .subnet_ids
                .iter()
                .any(|s| w.subnets.get(s).is_none_or(|x| x.vpc_id != req.vpc_id))
        {
            return Err(err(
                ErrorKind::InvalidInput,
                OP,
                "ValidationException",
                "every subnet must exist in the gateway's VPC",
            ));
        }
        if req.security_group_ids.is_empty() || req.security_group_ids.len() > 5 {
            return Err(err(
                ErrorKind::InvalidInput,
                OP,
                "ValidationException",
                "1 to 5 security groups are required",
            ));
        }
        if !(1..=62).contains(&req.ipv4_addresses_per_eni) {
            return Err(err(
                ErrorKind::InvalidInput,
                OP,
                "ValidationException",
                "ipv4AddressesPerEni must be 1..=62",
            ));
        }
        let id = GatewayId::parse(w.id("rgw")).expect("generated id");
        let g = ResourceGateway {
            arn: lattice_arn(&w, "resourcegateway", id.as_str()),
            id: id.clone(),
            name: req.name.clone(),
            vpc_id: req.vpc_id.clone(),
            subnet_ids: req.subnet_ids.clone(),
            security_group_ids: req.security_group_ids.clone(),
            ipv4_addresses_per_eni: req.ipv4_addresses_per_eni,
            // The seed: create-resource-gateway answered ACTIVE at once.
            status: GatewayStatus::Active,
            tags: req.tags.clone(),
        };
        w.gateways.insert(id.clone(), g.clone());
        w.born(id.as_str());
        w.remember(OP, &req.client_token, &fingerprint, id.as_str());
        w.emit_call("vpc-lattice.amazonaws.com", OP, json!({"name": req.name, "vpcIdentifier": req.vpc_id.as_str(), "subnetIds": req.subnet_ids, "clientToken": req.client_token}), json!({"id": id.as_str(), "status": "ACTIVE"}));
        w.leave(OP, Ok(g))
    }

    async fn update_resource_gateway(&self, id: &GatewayId, security_group_ids: &[SecurityGroupId]) -> CloudResult<()> {
        const OP: &str = "UpdateResourceGateway";
        let mut w = self.w();
        w.enter(OP)?;
        let Some(g) = w.gateways.get_mut(id) else {
            return Err(lattice_not_found(OP, &id));
        };
        g.security_group_ids = security_group_ids.to_vec();
        w.emit_call(
            "vpc-lattice.amazonaws.com",
            OP,
            json!({"resourceGatewayIdentifier": id.as_str()}),
            json!({"id": id.as_str()}),
        );
        w.leave(OP, Ok(()))
    }

    async fn delete_resource_gateway(&self, id: &GatewayId) -> CloudResult<()> {
        const OP: &str = "DeleteResourceGateway";
        let mut w = self.w();
        w.enter(OP)?;
        let Some(g) = w.gateways.get(id).cloned() else {
            return Err(lattice_not_found(OP, &id));
        };
        if w.configurations.values().any(|c| &c.gateway_id == id) {
            return Err(err(
                ErrorKind::Conflict,
                OP,
                "ConflictException",
                format!("{id} has resource configurations"),
            ));
        }
        if g.status != GatewayStatus::DeleteInProgress {
            if let Some(g) = w.gateways.get_mut(id) {
                g.status = GatewayStatus::DeleteInProgress;
            }
            w.schedule(GATEWAY_DELETE_AFTER, Task::GatewayGone(id.clone()));
        }
        w.emit_call(
            "vpc-lattice.amazonaws.com",
            OP,
            json!({"resourceGatewayIdentifier": id.as_str()}),
            json!({"id": id.as_str(), "status": "DELETE_IN_PROGRESS"}),
        );
        w.leave(OP, Ok(()))
    }

    async fn create_resource_configuration(
        &self,
        req: &CreateResourceConfigurationRequest,
    ) -> CloudResult<ResourceConfiguration> {
        const OP: &str = "CreateResourceConfiguration";
        let mut w = self.w();
        w.enter(OP)?;
        let fingerprint = serde_json::to_string(req)
            .unwrap_or_default()
            .replace(&req.client_token, "");
        if let Some(c) = w.replay(OP, &req.client_token, &fingerprint, |w, id| {
            w.configurations.values().find(|c| c.id.as_str() == id).cloned()
        })? {
            return w.leave(OP, Ok(c));
        }
        validate_lattice_name(&req.name, "rcfg-")
            .map_err(|e| err(ErrorKind::InvalidInput, OP, "ValidationException", e.to_string()))?;
        if w.configurations.values().any(|c| c.name == req.name) {
            return Err(err(
                ErrorKind::Conflict,
                OP,
                "ConflictException",
                format!("A resource configuration named {} already exists", req.name),
            ));
        }
        let Some(g) = w.gateways.get(&req.gateway_id).cloned() else {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "ResourceNotFoundException",
                format!("{} not found", req.gateway_id),
            ));
        };
        if g.status != GatewayStatus::Active {
            return Err(err(
                ErrorKind::Conflict,
                OP,
                "ConflictException",
                format!("{} is {:?}", g.id, g.status),
            ));
        }
        check_ip_resource(&w, OP, &g, req.ip_address)?;
        if req.port_ranges.is_empty() {
            return Err(err(
                ErrorKind::InvalidInput,
                OP,
                "ValidationException",
                "portRanges must not be empty",
            ));
        }
        let id = ResourceConfigurationId::parse(w.id("rcfg")).expect("generated id");
        let c = ResourceConfiguration {
            arn: lattice_arn(&w, "resourceconfiguration", id.as_str()),
            id: id.clone(),
            name: req.name.clone(),
            gateway_id: g.id.clone(),
            ip_address: Some(req.ip_address),
            port_ranges: req.port_ranges.clone(),
            status: ConfigurationStatus::Active,
            failure_reason: None,
            tags: req.tags.clone(),
        };
        w.configurations.insert(id.clone(), c.clone());
        w.born(id.as_str());
        w.remember(OP, &req.client_token, &fingerprint, id.as_str());
        let ports: Vec<String> = req.port_ranges.iter().map(|p| p.to_string()).collect();
        w.emit_call("vpc-lattice.amazonaws.com", OP, json!({"name": req.name, "type": "SINGLE", "protocol": "TCP", "portRanges": ports, "resourceGatewayIdentifier": g.id.as_str(), "resourceConfigurationDefinition": {"ipResource": {"ipAddress": req.ip_address.to_string()}}}), json!({"id": id.as_str(), "status": "ACTIVE"}));
        w.leave(OP, Ok(c))
    }

    async fn update_resource_configuration(
        &self,
        id: &ResourceConfigurationId,
        ip: Ipv4Addr,
        ports: &[PortRange],
        tags: &Tags,
    ) -> CloudResult<()> {
        const OP: &str = "UpdateResourceConfiguration";
        let mut w = self.w();
        w.enter(OP)?;
        let Some(c) = w.configurations.get(id).cloned() else {
            return Err(lattice_not_found(OP, &id));
        };
        let g = w
            .gateways
            .get(&c.gateway_id)
            .cloned()
            .ok_or_else(|| err(ErrorKind::Conflict, OP, "ConflictException", "gateway gone"))?;
        check_ip_resource(&w, OP, &g, ip)?;
        if let Some(c) = w.configurations.get_mut(id) {
            c.ip_address = Some(ip);
            c.port_ranges = ports.to_vec();
            // The adapter's TagResource after the update.
            c.tags.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        w.more("TagResource", 1);
        w.emit_call(
            "vpc-lattice.amazonaws.com",
            OP,
            json!({"resourceConfigurationIdentifier": id.as_str()}),
            json!({"id": id.as_str()}),
        );
        w.leave(OP, Ok(()))
    }

    async fn delete_resource_configuration(&self, id: &ResourceConfigurationId) -> CloudResult<()> {
        const OP: &str = "DeleteResourceConfiguration";
        let mut w = self.w();
        w.enter(OP)?;
        let Some(c) = w.configurations.get(id).cloned() else {
            return Err(lattice_not_found(OP, &id));
        };
        if w.endpoints.values().any(|e| e.ep.resource_configuration_arn == c.arn) {
            return Err(err(
                ErrorKind::Conflict,
                OP,
                "ConflictException",
                format!("{id} has VPC endpoint associations"),
            ));
        }
        w.configurations.remove(id);
        w.emit_call(
            "vpc-lattice.amazonaws.com",
            OP,
            json!({"resourceConfigurationIdentifier": id.as_str()}),
            Value::Null,
        );
        w.leave(OP, Ok(()))
    }
}

fn lattice_not_found(op: &str, id: &dyn std::fmt::Display) -> CloudError {
    err(
        ErrorKind::NotFound,
        op,
        "ResourceNotFoundException",
        format!("{id} not found"),
    )
}

fn check_ip_resource(w: &World, op: &str, g: &ResourceGateway, ip: Ipv4Addr) -> CloudResult<()> {
    // DESIGN.md §4: ipResource supports only IPs in the VPC; assumed refused outside it.
    let in_vpc = w
        .vpcs
        .get(&g.vpc_id)
        .is_some_and(|v| v.cidr_blocks.iter().any(|c| c.contains(&ip)));
    if in_vpc {
        Ok(())
    } else {
        Err(err(
            ErrorKind::InvalidInput,
            op,
            "ValidationException",
            format!("ipResource {ip} is not in the CIDR of {}", g.vpc_id),
        ))
    }
}

#[async_trait]
impl DnsRead for SimCloud {
    async fn get_hosted_zone(&self, id: &HostedZoneId) -> CloudResult<HostedZone> {
        let mut w = self.w();
        w.enter("GetHostedZone")?;
        w.zones.get(id).cloned().ok_or_else(|| {
            err(
                ErrorKind::NotFound,
                "GetHostedZone",
                "NoSuchHostedZone",
                format!("No hosted zone found with ID: {id}"),
            )
        })
    }
    async fn list_resource_record_sets(&self, zone: &HostedZoneId) -> CloudResult<Vec<RecordSet>> {
        let mut w = self.w();
        w.enter("ListResourceRecordSets")?;
        let records: Option<Vec<RecordSet>> = w.records.get(zone).map(|r| r.values().cloned().collect());
        if let Some(r) = &records {
            w.pages("ListResourceRecordSets", r.len(), page::RECORDS as usize);
        }
        records.ok_or_else(|| {
            err(
                ErrorKind::NotFound,
                "ListResourceRecordSets",
                "NoSuchHostedZone",
                format!("No hosted zone found with ID: {zone}"),
            )
        })
    }
}

#[async_trait]
impl DnsWrite for SimCloud {
    async fn change_resource_record_sets(&self, zone: &HostedZoneId, changes: &[RecordChange]) -> CloudResult<String> {
        const OP: &str = "ChangeResourceRecordSets";
        let mut w = self.w();
        w.enter(OP)?;
        let Some(z) = w.zones.get(zone).cloned() else {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "NoSuchHostedZone",
                format!("No hosted zone found with ID: {zone}"),
            ));
        };
        let bad = |m: String| err(ErrorKind::Conflict, OP, "InvalidChangeBatch", m);
        // All or nothing: work on a copy.
        let mut recs = w.records.get(zone).cloned().unwrap_or_default();
        for c in changes {
            match c {
                RecordChange::Create(r) => {
                    let name = normalize_dns_name(&r.name);
                    if recs.contains_key(&(name.clone(), r.record_type)) {
                        return Err(bad(format!(
                            "Tried to create resource record set [name='{name}', type='{:?}'] but it already exists",
                            r.record_type
                        )));
                    }
                    if name != z.name && !name.ends_with(&format!(".{}", z.name)) {
                        return Err(bad(format!(
                            "RRSet with DNS name {name} is not permitted in zone {}",
                            z.name
                        )));
                    }
                    if r.record_type == RecordType::CNAME && name == z.name {
                        return Err(bad(format!(
                            "RRSet of type CNAME with DNS name {name} is not permitted at apex in zone {}",
                            z.name
                        )));
                    }
                    if r.record_type == RecordType::CNAME && r.values.len() != 1 {
                        return Err(bad("a CNAME must have exactly one value".into()));
                    }
                    let clash = recs.keys().any(|(n, t)| {
                        n == &name
                            && *t != r.record_type
                            && (*t == RecordType::CNAME || r.record_type == RecordType::CNAME)
                    });
                    if clash {
                        return Err(bad(format!(
                            "RRSet of type {:?} with DNS name {name} is not permitted because a conflicting RRSet of another type exists",
                            r.record_type
                        )));
                    }
                    recs.insert((name.clone(), r.record_type), RecordSet { name, ..r.clone() });
                }
                RecordChange::Delete(r) => {
                    let name = normalize_dns_name(&r.name);
                    match recs.get(&(name.clone(), r.record_type)) {
                        None => {
                            return Err(bad(format!(
                                "Tried to delete resource record set [name='{name}', type='{:?}'] but it was not found",
                                r.record_type
                            )));
                        }
                        Some(existing) if existing.ttl != r.ttl || existing.values != r.values => {
                            return Err(bad(format!(
                                "Tried to delete resource record set [name='{name}', type='{:?}'] but the values provided do not match the current values",
                                r.record_type
                            )));
                        }
                        Some(_) => {
                            recs.remove(&(name, r.record_type));
                        }
                    }
                }
            }
        }
        w.records.insert(zone.clone(), recs);
        let change = format!("C{}", hex(&mut w.rng, 20).to_uppercase());
        w.changes.insert(change.clone(), ChangeStatus::Pending);
        w.schedule(CHANGE_INSYNC_AFTER, Task::ChangeInsync(change.clone()));
        w.emit_call(
            "route53.amazonaws.com",
            OP,
            json!({"hostedZoneId": zone.as_str(), "changes": changes.len()}),
            json!({"changeInfo": {"id": change, "status": "PENDING"}}),
        );
        w.leave(OP, Ok(change))
    }

    async fn get_change(&self, change_id: &str) -> CloudResult<ChangeStatus> {
        let mut w = self.w();
        w.enter("GetChange")?;
        w.changes.get(change_id).copied().ok_or_else(|| {
            err(
                ErrorKind::NotFound,
                "GetChange",
                "NoSuchChange",
                format!("{change_id} not found"),
            )
        })
    }
}
