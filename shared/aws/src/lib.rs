//! AWS SDK adapters of fsxn-lattice: the only crate that imports `aws_sdk_*`. Each adapter
//! wraps one client, owns its pagination, builders and error translation, and implements the
//! core's ports with the core's types; [`AwsCloud`] bundles them into a full [`Cloud`].
//! [`AwsAudit`] (CloudTrail, IAM, CloudFormation, EC2 `DryRun`) serves only the CLI's `doctor`.
//!
//! [`Cloud`]: fsxn_lattice_core::ports::Cloud

mod audit;
mod cloudtrail;
mod ec2;
mod error;
mod fsx;
pub mod iam;
mod lattice;
mod policy_simulator;
mod route53;

pub use audit::AwsAudit;
pub use cloudtrail::{AwsCloudTrail, LOOKUP_PAGE_INTERVAL, LOOKUP_PAGE_SIZE};
pub use ec2::AwsEc2;
pub use error::translate;
pub use fsx::AwsFsx;
pub use lattice::AwsLattice;
pub use policy_simulator::AwsPolicySimulator;
pub use route53::AwsRoute53;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where and as whom to call AWS. Everything unset comes from the standard chain (environment,
/// profile, IMDS/ECS/Lambda role); `AWS_ENDPOINT_URL` is honoured by the SDK itself, so the same
/// binary runs against a local stand-in.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// Named profile.
    pub profile: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Endpoint URL for every service (a local stand-in such as moto).
    pub endpoint_url: Option<String>,
}

/// Loads the SDK configuration once (per cold start) with explicit retry and timeouts: three
/// SDK attempts for what the SDK classifies as retryable, bounded per-attempt and per-operation
/// time; the core's apply loop adds its own backoff (honouring `Retry-After`) on top.
pub async fn load_sdk_config(options: &AwsOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(20))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(p) = &options.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &options.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(u) = &options.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    loader.load().await
}

/// All four adapters and a real clock.
#[derive(Debug, Clone)]
pub struct AwsCloud {
    /// EC2.
    pub ec2: AwsEc2,
    /// VPC Lattice.
    pub lattice: AwsLattice,
    /// Route 53.
    pub route53: AwsRoute53,
    /// FSx.
    pub fsx: AwsFsx,
}

impl AwsCloud {
    /// Builds every client from one configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            ec2: AwsEc2::new(aws_sdk_ec2::Client::new(config)),
            lattice: AwsLattice::new(
                aws_sdk_vpclattice::Client::new(config),
                aws_sdk_resourcegroupstagging::Client::new(config),
            ),
            route53: AwsRoute53::new(aws_sdk_route53::Client::new(config)),
            fsx: AwsFsx::new(aws_sdk_fsx::Client::new(config)),
        }
    }
}

#[async_trait]
impl Clock for AwsCloud {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
    fn jitter(&self) -> f64 {
        // std's RandomState: keys seeded randomly per thread and stepped per instance, so each
        // call hashes to a new value; 53 bits make a uniform f64 in [0, 1). Jitter needs no more.
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::hash::RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        (h.finish() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[async_trait]
impl FsxRead for AwsCloud {
    async fn describe_file_systems(&self) -> CloudResult<Vec<FileSystem>> {
        self.fsx.describe_file_systems().await
    }
    async fn describe_storage_virtual_machines(&self) -> CloudResult<Vec<StorageVirtualMachine>> {
        self.fsx.describe_storage_virtual_machines().await
    }
}

#[async_trait]
impl NetworkRead for AwsCloud {
    async fn describe_vpcs(&self, ids: &[VpcId]) -> CloudResult<Vec<Vpc>> {
        self.ec2.describe_vpcs(ids).await
    }
    async fn describe_subnets(&self, vpc_id: &VpcId) -> CloudResult<Vec<Subnet>> {
        self.ec2.describe_subnets(vpc_id).await
    }
    async fn describe_network_interfaces(&self, vpc_id: &VpcId) -> CloudResult<Vec<NetworkInterface>> {
        self.ec2.describe_network_interfaces(vpc_id).await
    }
    async fn describe_route_tables(&self, vpc_id: &VpcId) -> CloudResult<Vec<RouteTable>> {
        self.ec2.describe_route_tables(vpc_id).await
    }
    async fn get_subnet_cidr_reservations(&self, subnet_id: &SubnetId) -> CloudResult<Vec<CidrReservation>> {
        self.ec2.get_subnet_cidr_reservations(subnet_id).await
    }
    async fn describe_resource_endpoints(&self, filters: &[EndpointFilter]) -> CloudResult<Vec<VpcEndpoint>> {
        self.ec2.describe_resource_endpoints(filters).await
    }
}

#[async_trait]
impl NetworkWrite for AwsCloud {
    async fn create_subnet(&self, req: &CreateSubnetRequest) -> CloudResult<Subnet> {
        self.ec2.create_subnet(req).await
    }
    async fn delete_subnet(&self, id: &SubnetId) -> CloudResult<()> {
        self.ec2.delete_subnet(id).await
    }
    async fn create_subnet_cidr_reservation(&self, req: &CreateCidrReservationRequest) -> CloudResult<CidrReservation> {
        self.ec2.create_subnet_cidr_reservation(req).await
    }
    async fn delete_subnet_cidr_reservation(&self, id: &CidrReservationId) -> CloudResult<()> {
        self.ec2.delete_subnet_cidr_reservation(id).await
    }
    async fn create_vpc_endpoint(&self, req: &CreateVpcEndpointRequest) -> CloudResult<VpcEndpoint> {
        self.ec2.create_vpc_endpoint(req).await
    }
    async fn delete_vpc_endpoint(&self, id: &VpcEndpointId) -> CloudResult<()> {
        self.ec2.delete_vpc_endpoint(id).await
    }
    async fn associate_route_table(&self, route_table_id: &RouteTableId, subnet_id: &SubnetId) -> CloudResult<String> {
        self.ec2.associate_route_table(route_table_id, subnet_id).await
    }
    async fn disassociate_route_table(&self, association_id: &str) -> CloudResult<()> {
        self.ec2.disassociate_route_table(association_id).await
    }
}

#[async_trait]
impl LatticeRead for AwsCloud {
    async fn list_resource_gateways(&self) -> CloudResult<Vec<ResourceGateway>> {
        self.lattice.list_resource_gateways().await
    }
    async fn list_resource_configurations(&self) -> CloudResult<Vec<ResourceConfiguration>> {
        self.lattice.list_resource_configurations().await
    }
}

#[async_trait]
impl LatticeWrite for AwsCloud {
    async fn create_resource_gateway(&self, req: &CreateResourceGatewayRequest) -> CloudResult<ResourceGateway> {
        self.lattice.create_resource_gateway(req).await
    }
    async fn update_resource_gateway(&self, id: &GatewayId, sgs: &[SecurityGroupId]) -> CloudResult<()> {
        self.lattice.update_resource_gateway(id, sgs).await
    }
    async fn delete_resource_gateway(&self, id: &GatewayId) -> CloudResult<()> {
        self.lattice.delete_resource_gateway(id).await
    }
    async fn create_resource_configuration(
        &self,
        req: &CreateResourceConfigurationRequest,
    ) -> CloudResult<ResourceConfiguration> {
        self.lattice.create_resource_configuration(req).await
    }
    async fn update_resource_configuration(
        &self,
        id: &ResourceConfigurationId,
        ip: Ipv4Addr,
        ports: &[PortRange],
        tags: &Tags,
    ) -> CloudResult<()> {
        self.lattice.update_resource_configuration(id, ip, ports, tags).await
    }
    async fn delete_resource_configuration(&self, id: &ResourceConfigurationId) -> CloudResult<()> {
        self.lattice.delete_resource_configuration(id).await
    }
}

#[async_trait]
impl DnsRead for AwsCloud {
    async fn get_hosted_zone(&self, id: &HostedZoneId) -> CloudResult<HostedZone> {
        self.route53.get_hosted_zone(id).await
    }
    async fn list_resource_record_sets(&self, zone: &HostedZoneId) -> CloudResult<Vec<RecordSet>> {
        self.route53.list_resource_record_sets(zone).await
    }
}

#[async_trait]
impl DnsWrite for AwsCloud {
    async fn change_resource_record_sets(&self, zone: &HostedZoneId, changes: &[RecordChange]) -> CloudResult<String> {
        self.route53.change_resource_record_sets(zone, changes).await
    }
    async fn get_change(&self, change_id: &str) -> CloudResult<ChangeStatus> {
        self.route53.get_change(change_id).await
    }
}
