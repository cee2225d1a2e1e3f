//! EC2: VPCs and their DNS attributes, subnets, ENIs with prefixes, CIDR reservations, and
//! Resource-type VPC endpoints with their associations.
//!
//! Quirks handled (docs/design.md §4): `CreateVpcEndpoint` always sends `VpcEndpointType=Resource`
//! and our own `ClientToken` (the SDK does not fill it for EC2); endpoint `State` arrives
//! lower-camel while the SDK enum is PascalCase, so it is compared through `as_str()`
//! case-insensitively; `DeleteVpcEndpoints` reports failures per id in `Unsuccessful`;
//! `GetSubnetCidrReservations` and `DescribeVpcEndpointAssociations` have no paginator in the
//! Rust SDK and are paged by hand; `DescribeNetworkInterfaces` sets `IncludeManagedResources`
//! (accounts can hide service-managed ENIs — VPC Lattice's gateway ENIs among them — and the /28
//! analysis must see every one); IPv6-only subnets (no `CidrBlock`) are skipped, not an error.

use crate::error::{malformed, translate};
use async_trait::async_trait;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    Filter, ResourceType, SubnetCidrReservationType, Tag, TagSpecification, VpcAttributeName, VpcEndpointType,
};
use fsxn_lattice_core::error::{CloudError, ErrorKind, classify_code};
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;
use ipnet::Ipv4Net;
use std::collections::BTreeMap;

/// At most this many calls of one port call in flight at once (the core's bound per service,
/// `fsxn_lattice_core::observe::READS_IN_FLIGHT`): a bound on what one read fans out to.
const IN_FLIGHT: usize = fsxn_lattice_core::observe::READS_IN_FLIGHT;

/// The EC2 adapter.
#[derive(Debug, Clone)]
pub struct AwsEc2 {
    client: Client,
}

impl AwsEc2 {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn tags(t: &[Tag]) -> Tags {
    t.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect()
}

fn tag_spec(kind: ResourceType, tags: &Tags) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

fn filter_of(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

fn parse<T, E: std::fmt::Display>(op: &str, what: &str, r: Result<T, E>) -> Result<T, CloudError> {
    r.map_err(|e| CloudError::new(ErrorKind::Internal, op, "MalformedResponse", format!("{what}: {e}")))
}

fn id_of<T: std::str::FromStr>(op: &str, what: &str, v: Option<&str>) -> Result<T, CloudError>
where
    T::Err: std::fmt::Display,
{
    parse(
        op,
        what,
        v.ok_or_else(|| format!("missing {what}"))
            .and_then(|s| s.parse::<T>().map_err(|e| e.to_string())),
    )
}

fn subnet_from(op: &str, s: &aws_sdk_ec2::types::Subnet) -> Result<Subnet, CloudError> {
    Ok(Subnet {
        id: id_of(op, "SubnetId", s.subnet_id())?,
        vpc_id: id_of(op, "VpcId", s.vpc_id())?,
        availability_zone: s.availability_zone().unwrap_or_default().to_string(),
        cidr: id_of::<Ipv4Net>(op, "CidrBlock", s.cidr_block())?,
        tags: tags(s.tags()),
    })
}

fn route_table_from(op: &str, t: &aws_sdk_ec2::types::RouteTable) -> Result<RouteTable, CloudError> {
    let mut associations = Vec::new();
    let mut main = false;
    for a in t.associations() {
        // Only current associations count (`associated`; not `disassociating`, `failed`, …).
        let current = a
            .association_state()
            .and_then(|s| s.state())
            .is_none_or(|s| s.as_str().eq_ignore_ascii_case("associated"));
        if !current {
            continue;
        }
        main |= a.main() == Some(true);
        if let Some(subnet) = a.subnet_id() {
            associations.push(RouteTableAssociation {
                id: a.route_table_association_id().unwrap_or_default().to_string(),
                subnet_id: id_of(op, "SubnetId", Some(subnet))?,
            });
        }
    }
    let routes = t
        .routes()
        .iter()
        // Blackholed routes (their target is gone) carry no traffic.
        .filter(|r| r.state().is_none_or(|s| !s.as_str().eq_ignore_ascii_case("blackhole")))
        .filter_map(|r| {
            let destination = r.destination_cidr_block()?.parse().ok()?;
            let target = r
                .gateway_id()
                .or(r.network_interface_id())
                .or(r.transit_gateway_id())
                .or(r.nat_gateway_id())
                .or(r.vpc_peering_connection_id())
                .or(r.instance_id())
                .unwrap_or_default()
                .to_string();
            Some(Route { destination, target })
        })
        .collect();
    Ok(RouteTable {
        id: id_of(op, "RouteTableId", t.route_table_id())?,
        vpc_id: id_of(op, "VpcId", t.vpc_id())?,
        main,
        associations,
        routes,
        tags: tags(t.tags()),
    })
}

fn reservation_from(op: &str, r: &aws_sdk_ec2::types::SubnetCidrReservation) -> Result<CidrReservation, CloudError> {
    Ok(CidrReservation {
        id: id_of(op, "SubnetCidrReservationId", r.subnet_cidr_reservation_id())?,
        subnet_id: id_of(op, "SubnetId", r.subnet_id())?,
        cidr: id_of::<Ipv4Net>(op, "Cidr", r.cidr())?,
        reservation_type: match r.reservation_type() {
            Some(SubnetCidrReservationType::Explicit) => ReservationType::Explicit,
            _ => ReservationType::Prefix,
        },
        description: r.description().unwrap_or_default().to_string(),
        tags: tags(r.tags()),
    })
}

/// `DnsOptions` as read: the preference and the specified domains (normalized, sorted).
fn private_dns_of(o: Option<&aws_sdk_ec2::types::DnsOptions>) -> PrivateDns {
    let Some(o) = o else {
        return PrivateDns::default();
    };
    let mut specified: Vec<String> = o
        .private_dns_specified_domains()
        .iter()
        .map(|d| normalize_dns_name(d))
        .collect();
    specified.sort();
    PrivateDns {
        preference: o.private_dns_preference().map(str::to_string),
        specified_domains: specified,
    }
}

fn endpoint_from(op: &str, e: &aws_sdk_ec2::types::VpcEndpoint) -> Result<VpcEndpoint, CloudError> {
    let ids = |v: &[String]| -> Result<Vec<SubnetId>, CloudError> {
        v.iter().map(|s| parse(op, "SubnetIds", s.parse())).collect()
    };
    Ok(VpcEndpoint {
        private_dns: private_dns_of(e.dns_options()),
        account: None,
        id: id_of(op, "VpcEndpointId", e.vpc_endpoint_id())?,
        vpc_id: id_of(op, "VpcId", e.vpc_id())?,
        subnet_ids: ids(e.subnet_ids())?,
        security_group_ids: e
            .groups()
            .iter()
            .filter_map(|g| g.group_id())
            .map(|g| parse(op, "GroupId", g.parse()))
            .collect::<Result<_, _>>()?,
        resource_configuration_arn: e.resource_configuration_arn().unwrap_or_default().to_string(),
        // "pending"/"available" arrive lower-camel: the SDK enum maps them to Unknown.
        state: EndpointState::parse(e.state().map(|s| s.as_str()).unwrap_or_default()),
        failure_reason: e
            .failure_reason()
            .map(str::to_string)
            .or_else(|| e.last_error().and_then(|l| l.message()).map(str::to_string)),
        private_dns_enabled: e.private_dns_enabled().unwrap_or(false),
        network_interface_ids: e
            .network_interface_ids()
            .iter()
            .map(|n| parse(op, "NetworkInterfaceIds", n.parse()))
            .collect::<Result<_, _>>()?,
        dns_name: None,
        tags: tags(e.tags()),
    })
}

#[async_trait]
impl NetworkRead for AwsEc2 {
    async fn describe_vpcs(&self, ids: &[VpcId], attributes: VpcAttributes) -> CloudResult<Vec<Vpc>> {
        const OP: &str = "DescribeVpcs";
        // A `vpc-id` filter, not `VpcIds`: with `VpcIds`, one VPC that does not exist (a
        // consumer deleted, a typo in the config) fails the whole call with
        // InvalidVpcID.NotFound and with it every reconcile; a filter lists those that exist,
        // and the planner refuses the missing one by name.
        let pages: Vec<_> = self
            .client
            .describe_vpcs()
            .filters(filter_of("vpc-id", ids.iter().map(|i| i.to_string())))
            .max_results(page::EC2)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| translate(OP, e))?;
        let mut listed = Vec::new();
        for v in pages.iter().flat_map(|p| p.vpcs()) {
            let id: VpcId = id_of(OP, "VpcId", v.vpc_id())?;
            let cidr_blocks = v
                .cidr_block_association_set()
                .iter()
                .filter(|a| {
                    a.cidr_block_state()
                        .and_then(|s| s.state())
                        .is_none_or(|s| s.as_str().eq_ignore_ascii_case("associated"))
                })
                .filter_map(|a| a.cidr_block())
                .map(|c| parse(OP, "CidrBlock", c.parse::<Ipv4Net>()))
                .collect::<Result<Vec<_>, _>>()?;
            listed.push(Vpc {
                id,
                cidr_blocks,
                enable_dns_support: false,
                enable_dns_hostnames: false,
            });
        }
        if attributes == VpcAttributes::None {
            return Ok(listed);
        }
        // Both attributes of every VPC at once: one round trip, not two per VPC.
        let attr = |id: &VpcId, name: VpcAttributeName| {
            self.client
                .describe_vpc_attribute()
                .vpc_id(id.as_str())
                .attribute(name)
                .send()
        };
        // At most IN_FLIGHT calls at once, a chunk of VPCs after another. (A stream over a
        // borrowing closure would not be `Send` for every lifetime, as async_trait requires.)
        let mut read = Vec::with_capacity(listed.len());
        for chunk in listed.chunks(IN_FLIGHT / 2) {
            read.extend(
                futures_util::future::join_all(chunk.iter().map(|v| async move {
                    futures_util::join!(
                        attr(&v.id, VpcAttributeName::EnableDnsSupport),
                        attr(&v.id, VpcAttributeName::EnableDnsHostnames)
                    )
                }))
                .await,
            );
        }
        let mut vpcs = Vec::new();
        for (mut vpc, (support, hostnames)) in listed.into_iter().zip(read) {
            // A VPC deleted between the list and these reads is gone: left out, like one
            // the list never had.
            match (support, hostnames) {
                (Ok(s), Ok(h)) => {
                    vpc.enable_dns_support = s.enable_dns_support().and_then(|a| a.value()).unwrap_or(false);
                    vpc.enable_dns_hostnames = h.enable_dns_hostnames().and_then(|a| a.value()).unwrap_or(false);
                    vpcs.push(vpc);
                }
                (Err(e), _) | (_, Err(e)) => match translate("DescribeVpcAttribute", e) {
                    e if e.kind == ErrorKind::NotFound => continue,
                    e => return Err(e),
                },
            }
        }
        Ok(vpcs)
    }

    async fn describe_subnets(&self, vpc_id: &VpcId) -> CloudResult<Vec<Subnet>> {
        const OP: &str = "DescribeSubnets";
        let items: Vec<_> = self
            .client
            .describe_subnets()
            .filters(filter_of("vpc-id", [vpc_id.as_str()]))
            .max_results(page::EC2)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| translate(OP, e))?;
        let mut out = Vec::with_capacity(items.len());
        for s in &items {
            // An IPv6-only subnet has no IPv4 CidrBlock: it can host no IPv4 gateway ENI, and it
            // must not make every reconcile of its VPC fail.
            if s.cidr_block().is_none() {
                tracing::info!(
                    subnet = s.subnet_id().unwrap_or_default(),
                    "IPv6-only subnet skipped: no IPv4 addresses for resource gateway ENIs"
                );
                continue;
            }
            out.push(subnet_from(OP, s)?);
        }
        Ok(out)
    }

    async fn describe_route_tables(&self, vpc_id: &VpcId) -> CloudResult<Vec<RouteTable>> {
        const OP: &str = "DescribeRouteTables";
        let items: Vec<_> = self
            .client
            .describe_route_tables()
            .filters(filter_of("vpc-id", [vpc_id.as_str()]))
            .max_results(page::ROUTE_TABLES)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| translate(OP, e))?;
        items.iter().map(|t| route_table_from(OP, t)).collect()
    }

    async fn describe_network_interfaces(&self, vpc_id: &VpcId) -> CloudResult<Vec<NetworkInterface>> {
        const OP: &str = "DescribeNetworkInterfaces";
        let items: Vec<_> = self
            .client
            .describe_network_interfaces()
            .filters(filter_of("vpc-id", [vpc_id.as_str()]))
            .include_managed_resources(true)
            .max_results(page::EC2)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| translate(OP, e))?;
        items
            .iter()
            .map(|n| {
                let mut ips: Vec<std::net::Ipv4Addr> = n
                    .private_ip_addresses()
                    .iter()
                    .filter_map(|p| p.private_ip_address())
                    .map(|p| parse(OP, "PrivateIpAddress", p.parse()))
                    .collect::<Result<_, _>>()?;
                if let Some(primary) = n.private_ip_address() {
                    let primary = parse(OP, "PrivateIpAddress", primary.parse())?;
                    if !ips.contains(&primary) {
                        ips.insert(0, primary);
                    }
                }
                Ok(NetworkInterface {
                    id: id_of(OP, "NetworkInterfaceId", n.network_interface_id())?,
                    subnet_id: id_of(OP, "SubnetId", n.subnet_id())?,
                    private_ips: ips,
                    ipv4_prefixes: n
                        .ipv4_prefixes()
                        .iter()
                        .filter_map(|p| p.ipv4_prefix())
                        .map(|p| parse(OP, "Ipv4Prefix", p.parse()))
                        .collect::<Result<_, _>>()?,
                    description: n.description().unwrap_or_default().to_string(),
                    tags: tags(n.tag_set()),
                })
            })
            .collect()
    }

    async fn get_subnet_cidr_reservations(&self, subnet_id: &SubnetId) -> CloudResult<Vec<CidrReservation>> {
        const OP: &str = "GetSubnetCidrReservations";
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_subnet_cidr_reservations()
                .subnet_id(subnet_id.as_str())
                .max_results(page::EC2)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| translate(OP, e))?;
            for r in page.subnet_ipv4_cidr_reservations() {
                out.push(reservation_from(OP, r)?);
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    async fn describe_resource_endpoints(&self, filters: &[EndpointFilter]) -> CloudResult<Vec<VpcEndpoint>> {
        const OP: &str = "DescribeVpcEndpoints";
        // Each filter's query at once (one round trip), merged by id in filter order.
        let pages = futures_util::future::join_all(filters.iter().map(|filter| {
            self.client
                .describe_vpc_endpoints()
                .filters(match filter {
                    EndpointFilter::Vpcs(vpcs) => filter_of("vpc-id", vpcs.iter().map(|v| v.to_string())),
                    EndpointFilter::Tag { key, value } => filter_of(&format!("tag:{key}"), [value.as_str()]),
                })
                .filters(filter_of("vpc-endpoint-type", ["Resource"]))
                .max_results(page::EC2)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
        }))
        .await;
        let mut by_id: BTreeMap<String, VpcEndpoint> = BTreeMap::new();
        for items in pages {
            for e in &items.map_err(|e| translate(OP, e))? {
                let e = endpoint_from(OP, e)?;
                by_id.insert(e.id.to_string(), e);
            }
        }
        let mut endpoints: Vec<VpcEndpoint> = by_id.into_values().collect();
        if endpoints.is_empty() {
            return Ok(endpoints);
        }
        // The DNS name lives on the association. No paginator in the Rust SDK: page by hand.
        const ASSOC: &str = "DescribeVpcEndpointAssociations";
        // Each batch of ids at once (one round trip, plus any further pages of a batch).
        let chunks: Vec<&[VpcEndpoint]> = endpoints.chunks(page::ASSOCIATION_IDS).collect();
        let mut batches = Vec::with_capacity(chunks.len());
        for wave in chunks.chunks(IN_FLIGHT) {
            batches.extend(
                futures_util::future::join_all(wave.iter().map(|chunk| async move {
                    let mut dns: Vec<(String, String)> = Vec::new();
                    let mut token: Option<String> = None;
                    loop {
                        let page = self
                            .client
                            .describe_vpc_endpoint_associations()
                            .set_vpc_endpoint_ids(Some(chunk.iter().map(|e| e.id.to_string()).collect()))
                            .max_results(page::ASSOCIATIONS)
                            .set_next_token(token.take())
                            .send()
                            .await
                            .map_err(|e| translate(ASSOC, e))?;
                        for a in page.vpc_endpoint_associations() {
                            if let (Some(ep), Some(name)) =
                                (a.vpc_endpoint_id(), a.dns_entry().and_then(|d| d.dns_name()))
                            {
                                dns.push((ep.to_string(), normalize_dns_name(name)));
                            }
                        }
                        match page.next_token() {
                            Some(t) if !t.is_empty() => token = Some(t.to_string()),
                            _ => return Ok::<_, CloudError>(dns),
                        }
                    }
                }))
                .await,
            );
        }
        let mut dns: BTreeMap<String, String> = BTreeMap::new();
        for batch in batches {
            dns.extend(batch?);
        }
        for e in &mut endpoints {
            e.dns_name = dns.get(e.id.as_str()).cloned();
        }
        Ok(endpoints)
    }
}

#[async_trait]
impl NetworkWrite for AwsEc2 {
    async fn create_subnet(&self, req: &CreateSubnetRequest) -> CloudResult<Subnet> {
        const OP: &str = "CreateSubnet";
        let out = self
            .client
            .create_subnet()
            .vpc_id(req.vpc_id.as_str())
            .availability_zone(&req.availability_zone)
            .cidr_block(req.cidr.to_string())
            .tag_specifications(tag_spec(ResourceType::Subnet, &req.tags))
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        subnet_from(OP, out.subnet().ok_or_else(|| malformed(OP, "Subnet"))?)
    }

    async fn delete_subnet(&self, id: &SubnetId) -> CloudResult<()> {
        self.client
            .delete_subnet()
            .subnet_id(id.as_str())
            .send()
            .await
            .map_err(|e| translate("DeleteSubnet", e))?;
        Ok(())
    }

    async fn create_subnet_cidr_reservation(&self, req: &CreateCidrReservationRequest) -> CloudResult<CidrReservation> {
        const OP: &str = "CreateSubnetCidrReservation";
        let out = self
            .client
            .create_subnet_cidr_reservation()
            .subnet_id(req.subnet_id.as_str())
            .cidr(req.cidr.to_string())
            .reservation_type(match req.reservation_type {
                ReservationType::Prefix => SubnetCidrReservationType::Prefix,
                ReservationType::Explicit => SubnetCidrReservationType::Explicit,
            })
            .description(&req.description)
            .tag_specifications(tag_spec(ResourceType::SubnetCidrReservation, &req.tags))
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        reservation_from(
            OP,
            out.subnet_cidr_reservation()
                .ok_or_else(|| malformed(OP, "SubnetCidrReservation"))?,
        )
    }

    async fn delete_subnet_cidr_reservation(&self, id: &CidrReservationId) -> CloudResult<()> {
        self.client
            .delete_subnet_cidr_reservation()
            .subnet_cidr_reservation_id(id.as_str())
            .send()
            .await
            .map_err(|e| translate("DeleteSubnetCidrReservation", e))?;
        Ok(())
    }

    async fn create_vpc_endpoint(&self, req: &CreateVpcEndpointRequest) -> CloudResult<VpcEndpoint> {
        const OP: &str = "CreateVpcEndpoint";
        let mut b = self
            .client
            .create_vpc_endpoint()
            // The API's default type is Gateway: always say Resource.
            .vpc_endpoint_type(VpcEndpointType::Resource)
            .vpc_id(req.vpc_id.as_str())
            .set_subnet_ids(Some(req.subnet_ids.iter().map(|s| s.to_string()).collect()))
            .resource_configuration_arn(&req.resource_configuration_arn)
            .private_dns_enabled(req.private_dns_enabled)
            // Only when a preference is asked for: otherwise EC2's default, as before.
            .set_dns_options(req.private_dns.preference.as_ref().map(|p| {
                aws_sdk_ec2::types::DnsOptionsSpecification::builder()
                    .private_dns_preference(p)
                    .set_private_dns_specified_domains(Some(req.private_dns.specified_domains.clone()))
                    .build()
            }))
            // EC2's ClientToken is not filled by the SDK: ours is derived from the desired object.
            .client_token(&req.client_token)
            .tag_specifications(tag_spec(ResourceType::VpcEndpoint, &req.tags));
        if !req.security_group_ids.is_empty() {
            b = b.set_security_group_ids(Some(req.security_group_ids.iter().map(|s| s.to_string()).collect()));
        }
        let out = b.send().await.map_err(|e| translate(OP, e))?;
        endpoint_from(OP, out.vpc_endpoint().ok_or_else(|| malformed(OP, "VpcEndpoint"))?)
    }

    async fn delete_vpc_endpoint(&self, id: &VpcEndpointId) -> CloudResult<()> {
        const OP: &str = "DeleteVpcEndpoints";
        let out = self
            .client
            .delete_vpc_endpoints()
            .vpc_endpoint_ids(id.as_str())
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        // Failures come back per id, not as an error.
        if let Some(item) = out.unsuccessful().first() {
            let code = item.error().and_then(|e| e.code()).unwrap_or("Unknown");
            let message = item.error().and_then(|e| e.message()).unwrap_or_default();
            return Err(CloudError::new(
                classify_code(code, message),
                OP,
                code,
                format!("{id}: {message}"),
            ));
        }
        Ok(())
    }

    async fn disassociate_route_table(&self, association_id: &str) -> CloudResult<()> {
        const OP: &str = "DisassociateRouteTable";
        self.client
            .disassociate_route_table()
            .association_id(association_id)
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        Ok(())
    }

    async fn associate_route_table(&self, route_table_id: &RouteTableId, subnet_id: &SubnetId) -> CloudResult<String> {
        const OP: &str = "AssociateRouteTable";
        let out = self
            .client
            .associate_route_table()
            .route_table_id(route_table_id.as_str())
            .subnet_id(subnet_id.as_str())
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        out.association_id()
            .map(str::to_string)
            .ok_or_else(|| malformed(OP, "AssociationId missing"))
    }
}
