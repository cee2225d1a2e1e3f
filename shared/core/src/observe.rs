//! Observing the world: [`Observed`], everything the planner may look at, and [`observe`],
//! which reads it through the ports (retrying each read) and resolves the desired state from it.

use crate::apply::{RetryPolicy, with_retry};
use crate::config::Config;
use crate::desired::{Desired, resolve};
use crate::error::{CloudError, ErrorKind};
use crate::ids::*;
use crate::model::*;
use crate::naming::{FILE_SYSTEM_TAG, HOSTED_ZONE_TAG, OWNER_TAG, is_owned};
use crate::ports::{EndpointFilter, Reads};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What was observed of the world: everything the planner may look at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// FSx for ONTAP file systems.
    pub file_systems: Vec<FileSystem>,
    /// SVMs.
    pub svms: Vec<StorageVirtualMachine>,
    /// FSx VPCs and consumer VPCs.
    pub vpcs: Vec<Vpc>,
    /// Subnets of the FSx VPCs.
    pub subnets: Vec<Subnet>,
    /// ENIs of the FSx VPCs.
    pub network_interfaces: Vec<NetworkInterface>,
    /// CIDR reservations of those subnets.
    pub cidr_reservations: Vec<CidrReservation>,
    /// Route tables of the FSx VPCs.
    pub route_tables: Vec<RouteTable>,
    /// All resource gateways of the account and region.
    pub gateways: Vec<ResourceGateway>,
    /// All resource configurations.
    pub configurations: Vec<ResourceConfiguration>,
    /// Resource endpoints in the consumer VPCs.
    pub endpoints: Vec<VpcEndpoint>,
    /// Hosted zones named by the consumers.
    pub hosted_zones: Vec<HostedZone>,
    /// Their records.
    pub records: BTreeMap<HostedZoneId, Vec<RecordSet>>,
}

/// Reads everything the planner needs, retrying each read on transient errors.
pub async fn observe<C: Reads + ?Sized>(
    cloud: &C,
    config: &Config,
    policy: &RetryPolicy,
) -> Result<(Observed, Desired), CloudError> {
    let file_systems = with_retry(cloud, policy, "DescribeFileSystems", || cloud.describe_file_systems()).await?;
    let svms = with_retry(cloud, policy, "DescribeStorageVirtualMachines", || {
        cloud.describe_storage_virtual_machines()
    })
    .await?;
    let desired = resolve(config, &file_systems, &svms);
    let gateways = with_retry(cloud, policy, "ListResourceGateways", || cloud.list_resource_gateways()).await?;
    let configurations = with_retry(cloud, policy, "ListResourceConfigurations", || {
        cloud.list_resource_configurations()
    })
    .await?;
    // Every FSx VPC, not only those of exposed file systems: after an opt-out, the reservations
    // and carved subnets left to clean up are found there.
    let mut fsx_vpcs: BTreeSet<VpcId> = file_systems.iter().map(|f| f.vpc_id.clone()).collect();
    fsx_vpcs.extend(
        gateways
            .iter()
            .filter(|g| is_owned(&g.tags, &config.owner) && g.tags.contains_key(FILE_SYSTEM_TAG))
            .map(|g| g.vpc_id.clone()),
    );
    let consumer_vpcs: BTreeSet<VpcId> = config.consumers.iter().map(|c| c.vpc_id.clone()).collect();
    let all_vpcs: Vec<VpcId> = fsx_vpcs.union(&consumer_vpcs).cloned().collect();
    let vpcs = if all_vpcs.is_empty() {
        Vec::new()
    } else {
        with_retry(cloud, policy, "DescribeVpcs", || cloud.describe_vpcs(&all_vpcs)).await?
    };
    let mut observed = Observed {
        file_systems,
        svms,
        vpcs,
        gateways,
        configurations,
        ..Observed::default()
    };
    for vpc in &fsx_vpcs {
        let subnets = with_retry(cloud, policy, "DescribeSubnets", || cloud.describe_subnets(vpc)).await?;
        observed.route_tables.extend(
            with_retry(cloud, policy, "DescribeRouteTables", || {
                cloud.describe_route_tables(vpc)
            })
            .await?,
        );
        observed.network_interfaces.extend(
            with_retry(cloud, policy, "DescribeNetworkInterfaces", || {
                cloud.describe_network_interfaces(vpc)
            })
            .await?,
        );
        for s in subnets {
            match with_retry(cloud, policy, "GetSubnetCidrReservations", || {
                cloud.get_subnet_cidr_reservations(&s.id)
            })
            .await
            {
                Ok(r) => {
                    observed.cidr_reservations.extend(r);
                    observed.subnets.push(s);
                }
                // Deleted between the list and this read (a racing execution tearing down a
                // subnet we carved; found by chaos at fault rate 0): gone, as if never listed.
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    // Endpoints in the consumer VPCs (ours and foreign), plus ours wherever they are: a
    // consumer removed from the config still has endpoints to delete.
    let consumer_vpcs: Vec<VpcId> = consumer_vpcs.into_iter().collect();
    let mut filters = Vec::new();
    if !consumer_vpcs.is_empty() {
        filters.push(EndpointFilter::Vpcs(consumer_vpcs));
    }
    filters.push(EndpointFilter::Tag {
        key: OWNER_TAG.to_string(),
        value: config.owner.clone(),
    });
    observed.endpoints = with_retry(cloud, policy, "DescribeVpcEndpoints", || {
        cloud.describe_resource_endpoints(&filters)
    })
    .await?;
    let mut zones: BTreeSet<HostedZoneId> = config
        .consumers
        .iter()
        .filter_map(|c| c.hosted_zone_id.clone())
        .collect();
    zones.extend(
        observed
            .endpoints
            .iter()
            .filter(|e| is_owned(&e.tags, &config.owner))
            .filter_map(|e| e.tags.get(HOSTED_ZONE_TAG))
            .filter_map(|z| HostedZoneId::parse(z.as_str()).ok()),
    );
    for z in &zones {
        let zone = match with_retry(cloud, policy, "GetHostedZone", || cloud.get_hosted_zone(z)).await {
            Ok(zone) => zone,
            // A missing zone is reported by the planner as a refusal, not a failed reconcile.
            Err(e) if e.kind == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        match with_retry(cloud, policy, "ListResourceRecordSets", || {
            cloud.list_resource_record_sets(z)
        })
        .await
        {
            Ok(records) => {
                observed.hosted_zones.push(zone);
                observed.records.insert(z.clone(), records);
            }
            // Deleted between the two reads: missing, as above.
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok((observed, desired))
}
