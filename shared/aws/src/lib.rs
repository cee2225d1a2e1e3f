//! AWS SDK adapters of fsxn-lattice: the only crate that imports `aws_sdk_*`. Each adapter
//! wraps one client, owns its pagination, builders and error translation, and implements the
//! core's ports with the core's types; [`AwsCloud`] bundles them into a full [`Cloud`].
//! [`AwsSharing`] (RAM and STS) reaches consumers in other accounts (`[[accounts]]`).
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
mod ram;
mod route53;
mod secrets;
mod sharing;

pub use audit::AwsAudit;
pub use cloudtrail::{AwsCloudTrail, LOOKUP_PAGE_INTERVAL, LOOKUP_PAGE_SIZE};
pub use ec2::AwsEc2;
pub use error::translate;
pub use fsx::AwsFsx;
pub use lattice::AwsLattice;
pub use policy_simulator::AwsPolicySimulator;
pub use ram::{AwsRam, RAM_PAGE, ram_kind};
pub use route53::AwsRoute53;
pub use secrets::AwsSecrets;
pub use sharing::{AwsConsumer, AwsSharing, SESSION_SECONDS, session_name};

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use fsxn_lattice_core::apply::{AllScope, DirectoryScope, DnsScope, InfrastructureScope, ScopeType};
use fsxn_lattice_core::config::Config;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;
use std::marker::PhantomData;
use std::net::Ipv4Addr;
use std::sync::Arc;
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

/// All four adapters and a real clock, allowed the writes of scope `S`: it implements every
/// read port, and the write ports `S` needs ([`WritesInfrastructure`], [`WritesDns`]), so a function built on
/// `AwsCloud<DnsScope>` (PublishAlias) cannot call an EC2 or VPC Lattice write, as its IAM role
/// in template.yaml cannot: the compiler checks what the role grants. `AwsCloud` alone is
/// `AwsCloud<AllScope>`, every port (the CLI and the scheduled Reconcile).
///
/// ```
/// # use fsxn_lattice_core::{apply::DnsScope, ports::*};
/// fn publishes<C: Reads + DnsWrite>() {}
/// publishes::<fsxn_lattice_aws::AwsCloud<DnsScope>>();
/// ```
/// PublishAlias's clients have no EC2 write:
/// ```compile_fail,E0277
/// # use fsxn_lattice_core::{apply::DnsScope, ports::*};
/// fn carves<C: NetworkWrite>() {}
/// carves::<fsxn_lattice_aws::AwsCloud<DnsScope>>();
/// ```
/// nor Provision's a Route 53 one:
/// ```compile_fail,E0277
/// # use fsxn_lattice_core::{apply::InfrastructureScope, ports::*};
/// fn publishes<C: DnsWrite>() {}
/// publishes::<fsxn_lattice_aws::AwsCloud<InfrastructureScope>>();
/// ```
pub struct AwsCloud<S: ScopeType = AllScope> {
    /// EC2.
    pub ec2: AwsEc2,
    /// VPC Lattice and the Resource Groups Tagging API.
    pub lattice: AwsLattice,
    /// Route 53.
    pub route53: AwsRoute53,
    /// FSx.
    pub fsx: AwsFsx,
    /// Secrets Manager (the directory's bind secret; only the Directory function's role may read it).
    pub secrets: AwsSecrets,
    /// Active Directory, once attached ([`AwsCloud::with_directory`]; the Directory function
    /// connects per invocation). `None`: no directory, as for every other function.
    directory: Option<Arc<dyn Directory>>,
    /// RAM and the consumer accounts' sessions, once attached ([`AwsCloud::with_sharing`]).
    /// `None`: no `[[accounts]]`.
    sharing: Option<Arc<AwsSharing>>,
    scope: PhantomData<S>,
}

impl<S: ScopeType> std::fmt::Debug for AwsCloud<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCloud")
            .field("scope", &S::SCOPE)
            .field("ec2", &self.ec2)
            .field("lattice", &self.lattice)
            .field("route53", &self.route53)
            .field("fsx", &self.fsx)
            .field("directory", &self.directory.is_some())
            .field("sharing", &self.sharing)
            .finish()
    }
}

impl<S: ScopeType> Clone for AwsCloud<S> {
    fn clone(&self) -> Self {
        Self {
            ec2: self.ec2.clone(),
            lattice: self.lattice.clone(),
            route53: self.route53.clone(),
            fsx: self.fsx.clone(),
            secrets: self.secrets.clone(),
            directory: self.directory.clone(),
            sharing: self.sharing.clone(),
            scope: PhantomData,
        }
    }
}

impl AwsCloud {
    /// Builds every client from one configuration, with every port.
    pub fn new(config: &SdkConfig) -> Self {
        Self::scoped(config)
    }
}

impl<S: ScopeType> AwsCloud<S> {
    /// Builds every client from one configuration, with the write ports of scope `S` only:
    /// `AwsCloud::<DnsScope>::scoped(&sdk)`.
    pub fn scoped(config: &SdkConfig) -> Self {
        Self {
            ec2: AwsEc2::new(aws_sdk_ec2::Client::new(config)),
            lattice: AwsLattice::new(
                aws_sdk_vpclattice::Client::new(config),
                aws_sdk_resourcegroupstagging::Client::new(config),
            ),
            route53: AwsRoute53::new(aws_sdk_route53::Client::new(config)),
            fsx: AwsFsx::new(aws_sdk_fsx::Client::new(config)),
            secrets: AwsSecrets::new(aws_sdk_secretsmanager::Client::new(config)),
            directory: None,
            sharing: None,
            scope: PhantomData,
        }
    }

    /// [`AwsCloud::scoped`], with [`AwsSharing`] attached when `config` lists `[[accounts]]`.
    /// Every scope gets it: each function observes the consumer accounts (the Directory
    /// function too: the SPNs and AD DNS of their consumers are planned from what their roles
    /// read); what a scope may write there is its role's to grant. What every function and the
    /// CLI build.
    pub fn for_config(sdk: &SdkConfig, config: &Config) -> Self {
        let cloud = Self::scoped(sdk);
        if config.accounts.is_empty() {
            return cloud;
        }
        cloud.with_sharing(Arc::new(AwsSharing::new(sdk, &config.owner)))
    }

    /// These clients with RAM and the consumer accounts attached: [`AccountAccess::sharing`]
    /// then hands out `sharing`, and observing reads our shares and each account of
    /// `[[accounts]]` through its role. Clones share the sessions.
    pub fn with_sharing(mut self, sharing: Arc<AwsSharing>) -> Self {
        self.sharing = Some(sharing);
        self
    }
}

impl<S: WritesDirectory> AwsCloud<S> {
    /// These clients with Active Directory attached: [`DirectoryAccess::directory`] then hands
    /// out `directory` and the FSx SVM tagging that keeps the SPN record. Only the scopes that
    /// write the directory have it, as only the Directory function's role may read the bind
    /// secret and tag SVMs.
    pub fn with_directory(mut self, directory: Arc<dyn Directory>) -> Self {
        self.directory = Some(directory);
        self
    }
}

/// The scopes that write EC2 and VPC Lattice ([`NetworkWrite`], [`LatticeWrite`]): All and
/// Infrastructure.
pub trait WritesInfrastructure: ScopeType {}
/// The scopes that write Route 53 ([`DnsWrite`]): All and Dns.
pub trait WritesDns: ScopeType {}
impl WritesInfrastructure for AllScope {}
impl WritesInfrastructure for InfrastructureScope {}
impl WritesDns for AllScope {}
impl WritesDns for DnsScope {}
/// The scopes that may be given Active Directory ([`AwsCloud::with_directory`]): Directory, and
/// All for the CLI.
pub trait WritesDirectory: ScopeType {}
impl WritesDirectory for AllScope {}
impl WritesDirectory for DirectoryScope {}

/// The attached directory, if any ([`AwsCloud::with_directory`]); without one, observing skips
/// Active Directory (the plan says the step is left to the Directory function) and a directory
/// action fails with `NoDirectoryAccess`.
impl<S: ScopeType> DirectoryAccess for AwsCloud<S> {
    fn directory(&self) -> Option<(&dyn Directory, &dyn SvmTagWrite)> {
        self.directory.as_deref().map(|d| (d, &self.fsx as &dyn SvmTagWrite))
    }
}

/// The attached RAM and STS adapter, if any ([`AwsCloud::with_sharing`]); without one,
/// observing records each account of `[[accounts]]` as unreachable and refuses its consumers,
/// saying so.
impl<S: ScopeType> AccountAccess for AwsCloud<S> {
    fn sharing(&self) -> Option<&dyn Sharing> {
        self.sharing.as_deref().map(|s| s as &dyn Sharing)
    }
}

#[async_trait]
impl<S: ScopeType> Clock for AwsCloud<S> {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
    fn now_millis(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
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

/// Implements each port for [`AwsCloud<S>`] (the write ports for the scopes `S` that write
/// them) by handing every call to the adapter that implements
/// it (in its service's file). Rust has no trait delegation, and the core takes one `&C` that
/// holds every port it needs, so the bundle must implement them itself: this names each method
/// once, and the compiler checks each line against its port trait.
macro_rules! delegate {
    ($($port:ident for $bound:ident => $adapter:ident { $(fn $method:ident($($arg:ident: $ty:ty),*) -> $ok:ty;)* })*) => {$(
        #[async_trait]
        impl<S: $bound> $port for AwsCloud<S> {
            $(async fn $method(&self, $($arg: $ty),*) -> CloudResult<$ok> {
                $port::$method(&self.$adapter, $($arg),*).await
            })*
        }
    )*};
}

delegate! {
    FsxRead for ScopeType => fsx {
        fn describe_file_systems() -> Vec<FileSystem>;
        fn describe_storage_virtual_machines() -> Vec<StorageVirtualMachine>;
    }
    NetworkRead for ScopeType => ec2 {
        fn describe_vpcs(ids: &[VpcId], attributes: VpcAttributes) -> Vec<Vpc>;
        fn describe_subnets(vpc_id: &VpcId) -> Vec<Subnet>;
        fn describe_network_interfaces(vpc_id: &VpcId) -> Vec<NetworkInterface>;
        fn describe_route_tables(vpc_id: &VpcId) -> Vec<RouteTable>;
        fn get_subnet_cidr_reservations(subnet_id: &SubnetId) -> Vec<CidrReservation>;
        fn describe_resource_endpoints(filters: &[EndpointFilter]) -> Vec<VpcEndpoint>;
    }
    NetworkWrite for WritesInfrastructure => ec2 {
        fn create_subnet(req: &CreateSubnetRequest) -> Subnet;
        fn delete_subnet(id: &SubnetId) -> ();
        fn create_subnet_cidr_reservation(req: &CreateCidrReservationRequest) -> CidrReservation;
        fn delete_subnet_cidr_reservation(id: &CidrReservationId) -> ();
        fn create_vpc_endpoint(req: &CreateVpcEndpointRequest) -> VpcEndpoint;
        fn delete_vpc_endpoint(id: &VpcEndpointId) -> ();
        fn associate_route_table(route_table_id: &RouteTableId, subnet_id: &SubnetId) -> String;
        fn disassociate_route_table(association_id: &str) -> ();
    }
    LatticeRead for ScopeType => lattice {
        fn list_resource_gateways() -> Vec<ResourceGateway>;
        fn list_resource_configurations() -> Vec<ResourceConfiguration>;
        fn list_service_network_associations(configuration: &ResourceConfigurationId) -> Vec<ServiceNetworkAssociation>;
        fn list_domain_verifications() -> Vec<DomainVerification>;
    }
    LatticeWrite for WritesInfrastructure => lattice {
        fn create_resource_gateway(req: &CreateResourceGatewayRequest) -> ResourceGateway;
        fn update_resource_gateway(id: &GatewayId, security_group_ids: &[SecurityGroupId]) -> ();
        fn delete_resource_gateway(id: &GatewayId) -> ();
        fn create_resource_configuration(req: &CreateResourceConfigurationRequest) -> ResourceConfiguration;
        fn update_resource_configuration(
            id: &ResourceConfigurationId,
            ip_address: Ipv4Addr,
            port_ranges: &[PortRange],
            tags: &Tags
        ) -> ();
        fn delete_resource_configuration(id: &ResourceConfigurationId) -> ();
        fn create_service_network_association(req: &CreateServiceNetworkAssociationRequest) -> ServiceNetworkAssociation;
        fn delete_service_network_association(id: &str) -> ();
        fn start_domain_verification(req: &StartDomainVerificationRequest) -> DomainVerification;
        fn delete_domain_verification(id: &str) -> ();
    }
    DnsRead for ScopeType => route53 {
        fn get_hosted_zone(id: &HostedZoneId) -> HostedZone;
        fn list_resource_record_sets(zone: &HostedZoneId) -> Vec<RecordSet>;
    }
    DnsWrite for WritesDns => route53 {
        fn change_resource_record_sets(zone: &HostedZoneId, changes: &[RecordChange]) -> String;
        fn get_change(change_id: &str) -> ChangeStatus;
    }
}
