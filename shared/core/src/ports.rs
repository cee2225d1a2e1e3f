//! Ports: the async traits through which the core reads and changes the cloud. They take and
//! return the core's own types; adapters (the AWS SDK in `shared/aws`, the simulated cloud in
//! `shared/sim`) translate. Split by capability so a function asks only for what it uses.

use crate::directory::{AliasDnsState, ComputerState, SpnRecord};
use crate::error::CloudError;
use crate::ids::*;
use crate::model::*;
use async_trait::async_trait;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

/// Page sizes the adapters ask for, so a read costs one call per page, not per resource. The
/// simulated cloud counts calls with the same sizes (`fsxn-lattice-bench api-calls`).
pub mod page {
    /// EC2 `DescribeSubnets`, `DescribeNetworkInterfaces`, `DescribeVpcEndpoints`,
    /// `GetSubnetCidrReservations`: `MaxResults` (1000 is the API's maximum).
    pub const EC2: i32 = 1000;
    /// EC2 `DescribeRouteTables`: `MaxResults` (5–100 per botocore's EC2 model).
    pub const ROUTE_TABLES: i32 = 100;
    /// EC2 `DescribeVpcEndpointAssociations`: endpoint ids per request.
    pub const ASSOCIATION_IDS: usize = 50;
    /// EC2 `DescribeVpcEndpointAssociations`: `MaxResults` (the API's maximum).
    pub const ASSOCIATIONS: i32 = 100;
    /// VPC Lattice `ListResourceGateways`, `ListResourceConfigurations`: `maxResults` (maximum).
    pub const LATTICE: i32 = 100;
    /// Resource Groups Tagging API `GetResources`: `ResourcesPerPage` (maximum).
    pub const TAGGED_RESOURCES: i32 = 100;
    /// Route 53 `ListResourceRecordSets`: `MaxItems` (maximum).
    pub const RECORDS: i32 = 300;
    /// FSx `DescribeFileSystems`, `DescribeStorageVirtualMachines`: the service pages by an
    /// internal maximum it does not document; the simulation assumes this many per page.
    pub const FSX_ASSUMED: usize = 100;

    /// Calls needed to list `items` at `per_page` (an empty list still costs one).
    pub fn calls(items: usize, per_page: usize) -> u64 {
        items.div_ceil(per_page.max(1)).max(1) as u64
    }
}

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
    /// `DescribeVpcs`, plus the two DNS attributes of each (`DescribeVpcAttribute` ×2 per
    /// VPC, concurrently) when `attributes` asks for them.
    async fn describe_vpcs(&self, ids: &[VpcId], attributes: VpcAttributes) -> CloudResult<Vec<Vpc>>;
    /// `DescribeSubnets` filtered by VPC.
    async fn describe_subnets(&self, vpc_id: &VpcId) -> CloudResult<Vec<Subnet>>;
    /// `DescribeNetworkInterfaces` filtered by VPC.
    async fn describe_network_interfaces(&self, vpc_id: &VpcId) -> CloudResult<Vec<NetworkInterface>>;
    /// `DescribeRouteTables` filtered by VPC, all pages: which table each subnet uses, and
    /// which tables hold the routes FSx writes to its floating IPs.
    async fn describe_route_tables(&self, vpc_id: &VpcId) -> CloudResult<Vec<RouteTable>>;
    /// `GetSubnetCidrReservations` (IPv4 only).
    async fn get_subnet_cidr_reservations(&self, subnet_id: &SubnetId) -> CloudResult<Vec<CidrReservation>>;
    /// `DescribeVpcEndpoints` of type Resource matching any of `filters` (one query each, the
    /// union without duplicates), joined with `DescribeVpcEndpointAssociations` for their DNS
    /// names (once per endpoint, in batches of [`page::ASSOCIATION_IDS`]).
    async fn describe_resource_endpoints(&self, filters: &[EndpointFilter]) -> CloudResult<Vec<VpcEndpoint>>;
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
    /// `DnsOptions` (`PrivateDnsPreference`, `PrivateDnsSpecifiedDomains`); the default (no
    /// preference) sends none and takes EC2's.
    #[serde(default)]
    pub private_dns: PrivateDns,
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
    /// `AssociateRouteTable`: makes `subnet_id` use `route_table_id` explicitly. Returns the
    /// association id.
    async fn associate_route_table(&self, route_table_id: &RouteTableId, subnet_id: &SubnetId) -> CloudResult<String>;
    /// `DisassociateRouteTable`: the subnet falls back to the VPC's main table.
    async fn disassociate_route_table(&self, association_id: &str) -> CloudResult<()>;
}

/// Reading VPC Lattice.
#[async_trait]
pub trait LatticeRead: Send + Sync {
    /// `ListResourceGateways` (the summary has subnets and security groups), with tags.
    ///
    /// Tags of every gateway carrying the [`crate::naming::OWNER_TAG`] key come from the Resource
    /// Groups Tagging API's `GetResources`, [`page::TAGGED_RESOURCES`] per call; only a gateway
    /// with our name prefix that it did not return (just created, or not ours) costs a
    /// `ListTagsForResource` of its own. Others get no tags: they are foreign.
    async fn list_resource_gateways(&self) -> CloudResult<Vec<ResourceGateway>>;
    /// `ListResourceConfigurations`, with tags read as for gateways. The target (IP and ports)
    /// of one of ours comes from its [`crate::naming::TARGET_TAG`]; `GetResourceConfiguration`
    /// is called only for ours that failed (for the reason) or lack a readable target tag.
    /// Foreign ones carry no target.
    async fn list_resource_configurations(&self) -> CloudResult<Vec<ResourceConfiguration>>;
    /// `ListServiceNetworkResourceAssociations` of one configuration (`resourceConfigurationIdentifier`),
    /// all pages.
    async fn list_service_network_associations(
        &self,
        configuration: &ResourceConfigurationId,
    ) -> CloudResult<Vec<ServiceNetworkAssociation>>;
    /// `ListDomainVerifications`, all pages, with their tags and TXT record (the summary
    /// carries both).
    async fn list_domain_verifications(&self) -> CloudResult<Vec<DomainVerification>>;
}

/// A `StartDomainVerification` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartDomainVerificationRequest {
    /// `domainName`.
    pub domain_name: String,
    /// `clientToken`.
    pub client_token: String,
    /// Tags (ownership).
    pub tags: Tags,
}

/// A `CreateServiceNetworkResourceAssociation` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateServiceNetworkAssociationRequest {
    /// Our configuration.
    pub configuration_id: ResourceConfigurationId,
    /// The service network's id or ARN, as configured.
    pub service_network: String,
    /// `clientToken`.
    pub client_token: String,
    /// Tags (ownership).
    pub tags: Tags,
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
    /// `customDomainName` (create only).
    #[serde(default)]
    pub custom_domain_name: Option<String>,
    /// `domainVerificationIdentifier`: the verified domain's verification, when there is one.
    #[serde(default)]
    pub domain_verification_id: Option<String>,
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
    /// `UpdateResourceConfiguration` (definition and ports are mutable; the gateway is not),
    /// then `TagResource` with `tags` (the new [`crate::naming::TARGET_TAG`]) — in that order, so
    /// a crash between the two leaves a stale tag, which the next reconcile sees as a change to
    /// make and repeats (idempotently), never a tag claiming what the resource does not have.
    async fn update_resource_configuration(
        &self,
        id: &ResourceConfigurationId,
        ip_address: Ipv4Addr,
        port_ranges: &[PortRange],
        tags: &Tags,
    ) -> CloudResult<()>;
    /// `DeleteResourceConfiguration`.
    async fn delete_resource_configuration(&self, id: &ResourceConfigurationId) -> CloudResult<()>;
    /// `CreateServiceNetworkResourceAssociation`.
    async fn create_service_network_association(
        &self,
        req: &CreateServiceNetworkAssociationRequest,
    ) -> CloudResult<ServiceNetworkAssociation>;
    /// `DeleteServiceNetworkResourceAssociation` (asynchronous: `DELETE_IN_PROGRESS` until gone).
    async fn delete_service_network_association(&self, id: &str) -> CloudResult<()>;
    /// `StartDomainVerification`: the verification, `PENDING`, with the TXT record to publish.
    async fn start_domain_verification(&self, req: &StartDomainVerificationRequest) -> CloudResult<DomainVerification>;
    /// `DeleteDomainVerification`.
    async fn delete_domain_verification(&self, id: &str) -> CloudResult<()>;
}

/// One change of a Route 53 batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordChange {
    /// Create: the batch fails if a record of that name and type exists (never overwrites).
    Create(RecordSet),
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

/// Active Directory: the alias's SPNs on the SVM's computer object and its CNAME in the
/// AD-integrated zone (LDAP over TLS in `fsxn-lattice-directory`; in memory in the simulation).
/// Errors are [`CloudError`]s: a foreign SPN holder or a record not ours is `Conflict` (its
/// message names the holder's DN), a refused bind `AccessDenied`, an unreachable DC
/// `Transient`, a missing computer or zone `NotFound`.
#[async_trait]
pub trait Directory: Send + Sync {
    /// The computer object of NetBIOS name `computer` (`None`: no such object): its DN,
    /// objectGUID and `dNSHostName`, its values, and, for each value `alias` needs that it
    /// lacks, the account holding that value elsewhere
    /// ([`crate::directory::ComputerState::held_elsewhere`]).
    async fn read_computer(&self, computer: &str, alias: &str) -> CloudResult<Option<ComputerState>>;
    /// Adds the values `alias` needs (`msDS-AdditionalDnsHostName`, `HOST/<fqdn>`,
    /// `HOST/<SHORT>`) to the computer object of NetBIOS name `computer`, each only when missing,
    /// in one write; one held by another account refuses the whole change (`Conflict`, naming
    /// its DN): never stolen. `previous` is the record kept so far; the returned one is what is
    /// ours now, with [`SpnRecord::account`] the objectGUID of the object written. Values
    /// already present and not in `previous` are an administrator's and stay out of it; so are
    /// all of them when `previous.account` names another object than the one found (the
    /// account was deleted and re-created under the same name: what we added went with the old
    /// one).
    async fn ensure_spn(&self, computer: &str, alias: &str, previous: &SpnRecord) -> CloudResult<SpnRecord>;
    /// Removes exactly the values `record` names (those still present) from the object
    /// `record.account` names by objectGUID (when it is gone, nothing is removed, even if
    /// another object now has its name), or, for a record without an account, from the
    /// computer object of NetBIOS name `computer`. Returns the values removed, as
    /// `attribute: value`.
    async fn remove_spn(&self, computer: &str, record: &SpnRecord) -> CloudResult<Vec<String>>;
    /// The alias's name and marker in the AD-integrated `zone` (with the CNAME's TTL).
    async fn read_alias(&self, zone: &str, alias: &str) -> CloudResult<AliasDnsState>;
    /// Every ownership marker `_fsxn-lattice.<alias>` in the AD-integrated `zone`, whoever's, as
    /// `(alias FQDN, marker TXT string)`: one entry per TXT string, tombstoned nodes left out.
    /// It finds what fsxn-lattice published even when nothing on an SVM remembers it (a tag
    /// lost, an SVM deleted). Read [`crate::directory::parse_marker`] to tell whose.
    async fn list_alias_markers(&self, zone: &str) -> CloudResult<Vec<(String, String)>>;
    /// Publishes (or repoints) `alias` → `target` with the marker of `owner` and `svm` beside
    /// it; a name holding anything without our marker is refused (`Conflict`), never
    /// overwritten. Ours with the right target but another TTL is rewritten with `ttl`.
    /// Returns what was done (`created, with its marker`, `repointed from …`,
    /// `ttl <old> → <new>`, `unchanged`).
    async fn ensure_alias_cname(
        &self,
        zone: &str,
        alias: &str,
        target: &str,
        ttl: u32,
        owner: &str,
        svm: &SvmId,
    ) -> CloudResult<String>;
    /// Removes `alias` and its marker if the marker is ours (`owner`, `svm`); a name that is not
    /// ours is left alone. Returns what was done.
    async fn remove_alias_cname(&self, zone: &str, alias: &str, owner: &str, svm: &SvmId) -> CloudResult<String>;
}

/// FSx `TagResource` / `UntagResource` on an SVM: where the [`SpnRecord`] is kept
/// ([`crate::naming::directory_tag`], and the Directory function's target record, [`crate::naming::directory_dns_tag`]).
#[async_trait]
pub trait SvmTagWrite: Send + Sync {
    /// `TagResource` on the SVM's ARN.
    async fn tag_svm(&self, svm: &SvmId, key: &str, value: &str) -> CloudResult<()>;
    /// `UntagResource` of `key` on the SVM's ARN (absent: done).
    async fn untag_svm(&self, svm: &SvmId, key: &str) -> CloudResult<()>;
}

/// Whether this cloud can reach Active Directory: the ports for the directory steps, handed out
/// at run time because only the function (and credentials) given `[directory]` has them. Every
/// [`Reads`] implements it; the default is "no directory", so observing skips it and its actions
/// fail with an error saying so.
pub trait DirectoryAccess: Send + Sync {
    /// The directory and the SVM tag writes, when this cloud has them.
    fn directory(&self) -> Option<(&dyn Directory, &dyn SvmTagWrite)> {
        None
    }
}

/// A `CreateResourceShare` request (AWS RAM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateResourceShareRequest {
    /// [`crate::naming::share_name`].
    pub name: String,
    /// `resourceArns`: resource configuration ARNs.
    pub resource_arns: Vec<String>,
    /// `principals`: the consumer account.
    pub principals: Vec<AccountId>,
    /// `allowExternalPrincipals` (`[sharing]`).
    pub allow_external_principals: bool,
    /// `clientToken`.
    pub client_token: String,
    /// Tags (ownership and [`crate::naming::ACCOUNT_TAG`]).
    pub tags: Tags,
}

/// Reading our AWS RAM resource shares.
#[async_trait]
pub trait SharesRead: Send + Sync {
    /// `GetResourceShares` (`resourceOwner=SELF`, `tagFilters` on the owner tag = `owner`),
    /// all pages, each with its principal and resource associations
    /// (`GetResourceShareAssociations`); shares `DELETED` left out.
    async fn list_resource_shares(&self, owner: &str) -> CloudResult<Vec<ResourceShare>>;
}

/// Changing our AWS RAM resource shares.
#[async_trait]
pub trait SharesWrite: Send + Sync {
    /// `CreateResourceShare`.
    async fn create_resource_share(&self, req: &CreateResourceShareRequest) -> CloudResult<ResourceShare>;
    /// `AssociateResourceShare` of resources and/or principals.
    async fn associate_resource_share(
        &self,
        share_arn: &str,
        resource_arns: &[String],
        principals: &[AccountId],
    ) -> CloudResult<()>;
    /// `DisassociateResourceShare` of resources and/or principals.
    async fn disassociate_resource_share(
        &self,
        share_arn: &str,
        resource_arns: &[String],
        principals: &[AccountId],
    ) -> CloudResult<()>;
    /// `DeleteResourceShare`.
    async fn delete_resource_share(&self, share_arn: &str) -> CloudResult<()>;
}

/// A consumer account's side of AWS RAM: the invitations it receives.
#[async_trait]
pub trait Invitations: Send + Sync {
    /// `GetResourceShareInvitations`, all pages.
    async fn list_share_invitations(&self) -> CloudResult<Vec<ShareInvitation>>;
    /// `AcceptResourceShareInvitation`.
    async fn accept_share_invitation(&self, invitation_arn: &str) -> CloudResult<()>;
}

/// What fsxn-lattice does in a consumer account, through the role it assumes there: the
/// consumers' VPCs, their Resource endpoints, their hosted zones, and RAM invitations.
pub trait ConsumerCloud: NetworkRead + NetworkWrite + DnsRead + DnsWrite + Invitations {}
impl<T: NetworkRead + NetworkWrite + DnsRead + DnsWrite + Invitations + ?Sized> ConsumerCloud for T {}

/// Consumers in other accounts: our RAM shares, and the consumer accounts themselves.
#[async_trait]
pub trait Sharing: SharesRead + SharesWrite {
    /// The cloud as `account`'s role sees it (STS `AssumeRole` with its external id). An
    /// account whose role cannot be assumed is an error (`AccessDenied`, `NotFound`,
    /// `Transient`); observing records it and goes on with the other accounts.
    async fn assume(&self, account: &crate::config::ConsumerAccount) -> CloudResult<Arc<dyn ConsumerCloud>>;
    /// The session [`Sharing::assume`] last opened for `account` in this cloud's lifetime
    /// (its credentials refreshed as they expire): what applying uses, since every apply
    /// follows an observe. `None` when none was opened.
    fn session(&self, account: &AccountId) -> Option<Arc<dyn ConsumerCloud>>;
}

/// Whether this cloud can reach other accounts ([`Sharing`]). The default is "no": consumers
/// in other accounts are then refused with a message saying so, and nothing is shared.
pub trait AccountAccess: Send + Sync {
    /// RAM and STS, when this cloud has them.
    fn sharing(&self) -> Option<&dyn Sharing> {
        None
    }
}

/// Whether [`NetworkRead::describe_vpcs`] reads each VPC's DNS attributes: only consumer VPCs
/// need them (private DNS of their Resource endpoints); for an FSx VPC they would cost two
/// calls per VPC per pass for nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VpcAttributes {
    /// `enableDnsSupport` and `enableDnsHostnames`.
    Dns,
    /// Neither: both fields are `false`.
    None,
}

/// Time, so the core never reads the clock itself and the simulation can run on virtual time.
#[async_trait]
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;
    /// Milliseconds since the Unix epoch, for rate limits ([`crate::concurrency::RateLimiter`]).
    fn now_millis(&self) -> u64 {
        self.now() * 1000
    }
    /// Waits (virtual time in the simulation).
    async fn sleep(&self, duration: Duration);
    /// A uniform draw from [0, 1) for backoff jitter: random on AWS, so reconcilers that fail
    /// together do not retry together; seeded in the simulation, so a run replays.
    fn jitter(&self) -> f64;
}

/// Every read, the clock, the directory and other accounts when there are some: what observing needs
/// ([`crate::observe::observe`]).
pub trait Reads: FsxRead + NetworkRead + LatticeRead + DnsRead + Clock + DirectoryAccess + AccountAccess {}
impl<T: FsxRead + NetworkRead + LatticeRead + DnsRead + Clock + DirectoryAccess + AccountAccess + ?Sized> Reads for T {}

/// The infrastructure writes (EC2 and VPC Lattice): what Provision and Heal change.
pub trait InfraWrites: NetworkWrite + LatticeWrite {}
impl<T: NetworkWrite + LatticeWrite + ?Sized> InfraWrites for T {}

/// Everything a full reconcile uses: every read and every write. A function reconciling one
/// scope needs less: [`crate::apply::Executes`].
pub trait Cloud: Reads + InfraWrites + DnsWrite {}
impl<T: Reads + InfraWrites + DnsWrite + ?Sized> Cloud for T {}
