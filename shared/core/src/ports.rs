//! Ports: the async traits through which the core reads and changes the cloud. They take and
//! return the core's own types; adapters (the AWS SDK in `shared/aws`, the simulated cloud in
//! `shared/sim`) translate. Split by capability so a function asks only for what it uses.

use crate::error::CloudError;
use crate::ids::*;
use crate::model::*;
use async_trait::async_trait;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::time::Duration;

/// Result of a port call.
pub type CloudResult<T> = Result<T, CloudError>;

/// Reading FSx for ONTAP.
#[async_trait]
pub trait FsxRead: Send + Sync {
    /// `DescribeFileSystems` (ONTAP only), all pages.
    async fn describe_file_systems(&self) -> CloudResult<Vec<FileSystem>>;
    /// `DescribeStorageVirtualMachines`, all pages.
    async fn describe_storage_virtual_machines(&self) -> CloudResult<Vec<StorageVirtualMachine>>;
}

/// Reading EC2 networking.
#[async_trait]
pub trait NetworkRead: Send + Sync {
    /// `DescribeVpcs` plus the two DNS attributes of each.
    async fn describe_vpcs(&self, ids: &[VpcId]) -> CloudResult<Vec<Vpc>>;
    /// `DescribeSubnets` filtered by VPC.
    async fn describe_subnets(&self, vpc_id: &VpcId) -> CloudResult<Vec<Subnet>>;
    /// `DescribeNetworkInterfaces` filtered by VPC.
    async fn describe_network_interfaces(&self, vpc_id: &VpcId) -> CloudResult<Vec<NetworkInterface>>;
    /// `GetSubnetCidrReservations` (IPv4 only).
    async fn get_subnet_cidr_reservations(&self, subnet_id: &SubnetId) -> CloudResult<Vec<CidrReservation>>;
    /// `DescribeVpcEndpoints` of type Resource matching `filter`, joined with
    /// `DescribeVpcEndpointAssociations` for their DNS names.
    async fn describe_resource_endpoints(&self, filter: &EndpointFilter) -> CloudResult<Vec<VpcEndpoint>>;
}

/// Which Resource endpoints to list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndpointFilter {
    /// Every one in these VPCs (ours and foreign: foreign ones may use our configurations).
    Vpcs(Vec<VpcId>),
    /// Every one in the region carrying this tag (ours, wherever they are: a consumer removed
    /// from the config still has endpoints to delete).
    Tag {
        /// Tag key.
        key: String,
        /// Tag value.
        value: String,
    },
}

/// A `CreateSubnet` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSubnetRequest {
    /// VPC.
    pub vpc_id: VpcId,
    /// AZ.
    pub availability_zone: String,
    /// CIDR.
    pub cidr: Ipv4Net,
    /// Tags (ownership).
    pub tags: Tags,
}

/// A `CreateSubnetCidrReservation` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCidrReservationRequest {
    /// Subnet.
    pub subnet_id: SubnetId,
    /// CIDR to reserve.
    pub cidr: Ipv4Net,
    /// `prefix` or `explicit`.
    pub reservation_type: ReservationType,
    /// Description.
    pub description: String,
    /// Tags (ownership).
    pub tags: Tags,
}

/// A `CreateVpcEndpoint` request (always `VpcEndpointType=Resource`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateVpcEndpointRequest {
    /// Consumer VPC.
    pub vpc_id: VpcId,
    /// Consumer subnets.
    pub subnet_ids: Vec<SubnetId>,
    /// Consumer security groups.
    pub security_group_ids: Vec<SecurityGroupId>,
    /// The resource configuration.
    pub resource_configuration_arn: String,
    /// Private DNS.
    pub private_dns_enabled: bool,
    /// `ClientToken`, derived from the desired object (the SDK does not fill it for EC2).
    pub client_token: String,
    /// Tags (ownership).
    pub tags: Tags,
}

/// Changing EC2 networking.
#[async_trait]
pub trait NetworkWrite: Send + Sync {
    /// `CreateSubnet`.
    async fn create_subnet(&self, req: &CreateSubnetRequest) -> CloudResult<Subnet>;
    /// `DeleteSubnet`.
    async fn delete_subnet(&self, id: &SubnetId) -> CloudResult<()>;
    /// `CreateSubnetCidrReservation`.
    async fn create_subnet_cidr_reservation(&self, req: &CreateCidrReservationRequest) -> CloudResult<CidrReservation>;
    /// `DeleteSubnetCidrReservation`.
    async fn delete_subnet_cidr_reservation(&self, id: &CidrReservationId) -> CloudResult<()>;
    /// `CreateVpcEndpoint`.
    async fn create_vpc_endpoint(&self, req: &CreateVpcEndpointRequest) -> CloudResult<VpcEndpoint>;
    /// `DeleteVpcEndpoints` for one id; a per-id `Unsuccessful` entry is an error.
    async fn delete_vpc_endpoint(&self, id: &VpcEndpointId) -> CloudResult<()>;
}

/// Reading VPC Lattice.
#[async_trait]
pub trait LatticeRead: Send + Sync {
    /// `ListResourceGateways` + `GetResourceGateway` + tags.
    async fn list_resource_gateways(&self) -> CloudResult<Vec<ResourceGateway>>;
    /// `ListResourceConfigurations` + `GetResourceConfiguration` + tags.
    async fn list_resource_configurations(&self) -> CloudResult<Vec<ResourceConfiguration>>;
}

/// A `CreateResourceGateway` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateResourceGatewayRequest {
    /// Name (3–40 chars, see [`crate::naming::validate_lattice_name`]).
    pub name: String,
    /// VPC.
    pub vpc_id: VpcId,
    /// Subnets: immutable after creation.
    pub subnet_ids: Vec<SubnetId>,
    /// Security groups.
    pub security_group_ids: Vec<SecurityGroupId>,
    /// `ipv4AddressesPerEni`.
    pub ipv4_addresses_per_eni: u8,
    /// `clientToken`.
    pub client_token: String,
    /// Tags (ownership).
    pub tags: Tags,
}

/// A `CreateResourceConfiguration` request (type SINGLE, protocol TCP, `ipResource`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateResourceConfigurationRequest {
    /// Name.
    pub name: String,
    /// Gateway.
    pub gateway_id: GatewayId,
    /// The SVM's floating IP.
    pub ip_address: Ipv4Addr,
    /// TCP ports.
    pub port_ranges: Vec<PortRange>,
    /// `clientToken`.
    pub client_token: String,
    /// Tags (ownership).
    pub tags: Tags,
}

/// Changing VPC Lattice.
#[async_trait]
pub trait LatticeWrite: Send + Sync {
    /// `CreateResourceGateway`.
    async fn create_resource_gateway(&self, req: &CreateResourceGatewayRequest) -> CloudResult<ResourceGateway>;
    /// `UpdateResourceGateway` (security groups: the only mutable field).
    async fn update_resource_gateway(&self, id: &GatewayId, security_group_ids: &[SecurityGroupId]) -> CloudResult<()>;
    /// `DeleteResourceGateway` (asynchronous: `DELETE_IN_PROGRESS` until gone).
    async fn delete_resource_gateway(&self, id: &GatewayId) -> CloudResult<()>;
    /// `CreateResourceConfiguration`.
    async fn create_resource_configuration(
        &self,
        req: &CreateResourceConfigurationRequest,
    ) -> CloudResult<ResourceConfiguration>;
    /// `UpdateResourceConfiguration` (definition and ports are mutable; the gateway is not).
    async fn update_resource_configuration(
        &self,
        id: &ResourceConfigurationId,
        ip_address: Ipv4Addr,
        port_ranges: &[PortRange],
    ) -> CloudResult<()>;
    /// `DeleteResourceConfiguration`.
    async fn delete_resource_configuration(&self, id: &ResourceConfigurationId) -> CloudResult<()>;
}

/// One change of a Route 53 batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordChange {
    /// Create or replace.
    Upsert(RecordSet),
    /// Delete: must match the existing record exactly.
    Delete(RecordSet),
}

/// Route 53 change status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeStatus {
    /// Submitted, not yet on all servers.
    Pending,
    /// On all Route 53 servers.
    Insync,
}

/// Reading Route 53.
#[async_trait]
pub trait DnsRead: Send + Sync {
    /// `GetHostedZone`.
    async fn get_hosted_zone(&self, id: &HostedZoneId) -> CloudResult<HostedZone>;
    /// `ListResourceRecordSets`, all pages.
    async fn list_resource_record_sets(&self, zone: &HostedZoneId) -> CloudResult<Vec<RecordSet>>;
}

/// Changing Route 53.
#[async_trait]
pub trait DnsWrite: Send + Sync {
    /// `ChangeResourceRecordSets`: all or nothing. Returns the change id.
    async fn change_resource_record_sets(&self, zone: &HostedZoneId, changes: &[RecordChange]) -> CloudResult<String>;
    /// `GetChange`.
    async fn get_change(&self, change_id: &str) -> CloudResult<ChangeStatus>;
}

/// Time, so the core never reads the clock itself and the simulation can run on virtual time.
#[async_trait]
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;
    /// Waits (virtual time in the simulation).
    async fn sleep(&self, duration: Duration);
}

/// Everything a full reconcile uses.
pub trait Cloud:
    FsxRead + NetworkRead + NetworkWrite + LatticeRead + LatticeWrite + DnsRead + DnsWrite + Clock
{
}
impl<T: FsxRead + NetworkRead + NetworkWrite + LatticeRead + LatticeWrite + DnsRead + DnsWrite + Clock> Cloud for T {}
