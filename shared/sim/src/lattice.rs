//! VPC Lattice: resource gateways and resource configurations (the [`LatticeRead`] and
//! [`LatticeWrite`] ports, with the tags the adapter would see), and a client's connection
//! through an endpoint and its gateway ([`SimCloud::connect`]).

use crate::SimCloud;
use crate::world::{CloudState, Task, err};
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
use std::net::Ipv4Addr;

/// Seconds a gateway stays `DELETE_IN_PROGRESS`.
pub const GATEWAY_DELETE_AFTER: u64 = 60;

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
    /// A TCP connection from a consumer client to `name:port`, as the file server would see
    /// it: the target is the configuration's IP, the source an address inside the /28 of one of
    /// the gateway's ENIs (seed: sessions came from 10.0.4.x inside 10.0.4.32/28). `None` when
    /// the name does not resolve to an available endpoint or the port is not exposed.
    pub fn connect(&self, name: &str, port: u16) -> Option<Connection> {
        // Through a service network: the name (after CNAMEs) is an active association's; the
        // client reaches it through the network's VPC endpoint or association, in 129.224.0.0/17
        // for an association (VPC Lattice user guide), here one fixed address of it.
        let behind = {
            let final_name = self.follow_cnames(name);
            self.w().configuration_behind(&final_name)
        };
        match behind {
            Some(cfg) => self.connect_through(Ipv4Addr::new(129, 224, 0, 10), Some(cfg), port),
            None => self.connect_ip(self.resolve(name)?, port),
        }
    }

    /// A connection to `endpoint_ip` (an endpoint's ENI address) on `port`.
    pub(crate) fn connect_ip(&self, endpoint_ip: Ipv4Addr, port: u16) -> Option<Connection> {
        self.connect_through(endpoint_ip, None, port)
    }

    fn connect_through(
        &self,
        endpoint_ip: Ipv4Addr,
        cfg_id: Option<ResourceConfigurationId>,
        port: u16,
    ) -> Option<Connection> {
        let mut w = self.w();
        let cfg = match cfg_id {
            Some(id) => w.configurations.get(&id)?.clone(),
            None => {
                let ep = w.endpoints.values().find(|e| e.ips.contains(&endpoint_ip))?.ep.clone();
                w.configurations
                    .values()
                    .find(|c| c.arn == ep.resource_configuration_arn)?
                    .clone()
            }
        };
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
}

impl CloudState {
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

    /// Counts the Tagging API `GetResources` pages for one resource type, which the adapter
    /// reads at the same time as the list.
    fn tagging_pages(&mut self, tagged: usize) {
        let pages = page::calls(tagged, page::TAGGED_RESOURCES as usize);
        self.beside("GetResources", pages, pages);
    }
}

fn lattice_arn(w: &CloudState, kind: &str, id: &str) -> String {
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
    async fn list_domain_verifications(&self) -> CloudResult<Vec<DomainVerification>> {
        self.w().list_domain_verifications_()
    }
    async fn list_service_network_associations(
        &self,
        configuration: &ResourceConfigurationId,
    ) -> CloudResult<Vec<ServiceNetworkAssociation>> {
        self.list_associations(configuration)
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
        w.check_custom_domain(OP, req)?;
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
            custom_domain_name: req.custom_domain_name.as_deref().map(normalize_dns_name),
            domain_verification_id: req.domain_verification_id.clone(),
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

    async fn create_service_network_association(
        &self,
        req: &CreateServiceNetworkAssociationRequest,
    ) -> CloudResult<ServiceNetworkAssociation> {
        self.create_association(req)
    }
    async fn start_domain_verification(&self, req: &StartDomainVerificationRequest) -> CloudResult<DomainVerification> {
        self.w().start_domain_verification_(req)
    }
    async fn delete_domain_verification(&self, id: &str) -> CloudResult<()> {
        self.w().delete_domain_verification_(id)
    }
    async fn delete_service_network_association(&self, id: &str) -> CloudResult<()> {
        self.delete_association(id)
    }
    async fn delete_resource_configuration(&self, id: &ResourceConfigurationId) -> CloudResult<()> {
        const OP: &str = "DeleteResourceConfiguration";
        let mut w = self.w();
        w.enter(OP)?;
        let Some(c) = w.configurations.get(id).cloned() else {
            return Err(lattice_not_found(OP, &id));
        };
        if w.endpoints.values().any(|e| e.ep.resource_configuration_arn == c.arn)
            || w.associations.values().any(|a| a.configuration_id == c.id)
        {
            return Err(err(
                ErrorKind::Conflict,
                OP,
                "ConflictException",
                format!("{id} has VPC endpoint associations"),
            ));
        }
        w.configurations.remove(id);
        // RAM drops a deleted resource from the shares holding it.
        w.unshare_deleted(&c.arn);
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

fn check_ip_resource(w: &CloudState, op: &str, g: &ResourceGateway, ip: Ipv4Addr) -> CloudResult<()> {
    // docs/design.md §4: ipResource supports only IPs in the VPC; assumed refused outside it.
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
