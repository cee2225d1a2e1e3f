//! The domain model: what fsxn-lattice observes of AWS, in its own types (never SDK types).
//! Field names follow AWS's nouns; every collection is ordered so output is deterministic.

use crate::ids::*;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Resource tags, ordered by key.
pub type Tags = BTreeMap<String, String>;

/// `OntapConfiguration.DeploymentType`, kept as AWS sends it. botocore's FSx model
/// (`OntapDeploymentType`, 2026-08) lists `MULTI_AZ_1`, `MULTI_AZ_2`, `SINGLE_AZ_1`,
/// `SINGLE_AZ_2`, and the newer `MULTI_AZ_3`… is read the same way: whatever AWS adds is kept
/// verbatim in [`DeploymentType::Other`] and classified by its name, never mapped to a guess.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum DeploymentType {
    /// `MULTI_AZ_1`
    MultiAz1,
    /// `MULTI_AZ_2`
    MultiAz2,
    /// `SINGLE_AZ_1`
    SingleAz1,
    /// `SINGLE_AZ_2`
    SingleAz2,
    /// Any other value (`MULTI_AZ_3`, `SINGLE_AZ_3`, what AWS adds next), verbatim.
    Other(String),
}

impl DeploymentType {
    /// Reads what the API sends; unknown values are kept, not refused.
    pub fn parse(s: &str) -> Self {
        match s {
            "MULTI_AZ_1" => Self::MultiAz1,
            "MULTI_AZ_2" => Self::MultiAz2,
            "SINGLE_AZ_1" => Self::SingleAz1,
            "SINGLE_AZ_2" => Self::SingleAz2,
            other => Self::Other(other.to_string()),
        }
    }

    /// The API's name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::MultiAz1 => "MULTI_AZ_1",
            Self::MultiAz2 => "MULTI_AZ_2",
            Self::SingleAz1 => "SINGLE_AZ_1",
            Self::SingleAz2 => "SINGLE_AZ_2",
            Self::Other(s) => s,
        }
    }

    /// Multi-AZ file systems serve on floating IPs outside every subnet: the case this tool is
    /// for. Decided by the name (`MULTI_AZ_*`), so a generation this build does not know yet is
    /// still recognised.
    pub fn is_multi_az(&self) -> bool {
        self.as_str().starts_with("MULTI_AZ_")
    }

    /// Whether this build knows the value (for saying so in a refusal or diagnosis).
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Other(_))
    }
}

impl From<String> for DeploymentType {
    fn from(s: String) -> Self {
        Self::parse(&s)
    }
}

impl From<DeploymentType> for String {
    fn from(d: DeploymentType) -> String {
        d.as_str().to_string()
    }
}

impl std::fmt::Display for DeploymentType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// FSx `Lifecycle` of a file system or SVM, read from the upper-case string AWS sends. The FSx
/// adapter maps `MISCONFIGURED_UNAVAILABLE` to [`FsxLifecycle::Misconfigured`] and any value it
/// does not know to [`FsxLifecycle::Failed`], so an unknown lifecycle is never exposed.
/// [`FsxLifecycle::is_ready`] decides whether an SVM is exposed; `CREATING`/`PENDING` SVMs are
/// held (nothing of theirs is deleted), the other non-ready ones refused (see `desired.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FsxLifecycle {
    /// `AVAILABLE` (file systems).
    Available,
    /// `CREATED` (SVMs).
    Created,
    /// `CREATING`: not serving yet; an SVM in it is held, not refused.
    Creating,
    /// `DELETING`: going away; refused.
    Deleting,
    /// `FAILED`, and any lifecycle string this build does not know; refused.
    Failed,
    /// `MISCONFIGURED` or `MISCONFIGURED_UNAVAILABLE`; refused.
    Misconfigured,
    /// `PENDING`: like `CREATING`, held.
    Pending,
    /// `UPDATING`: still serves, so counts as ready.
    Updating,
}

impl FsxLifecycle {
    /// Whether the resource serves and can be exposed.
    pub fn is_ready(self) -> bool {
        matches!(self, Self::Available | Self::Created | Self::Updating)
    }
}

/// An FSx for ONTAP file system, from `DescribeFileSystems` (fields named after its AWS
/// fields). File systems of other types, without `OntapConfiguration` or without `VpcId`, are
/// left out by the adapter rather than failing the read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSystem {
    /// `FileSystemId` (`fs-…`).
    pub id: FileSystemId,
    /// `Lifecycle`; file systems report `AVAILABLE` when serving.
    pub lifecycle: FsxLifecycle,
    /// `OntapConfiguration.DeploymentType`
    pub deployment_type: DeploymentType,
    /// `VpcId`
    pub vpc_id: VpcId,
    /// `SubnetIds`: one per AZ for Multi-AZ.
    pub subnet_ids: Vec<SubnetId>,
    /// `OntapConfiguration.EndpointIpAddressRange`: where the floating IPs come from (outside
    /// every subnet of the VPC for Multi-AZ). `None` when AWS sends none or it does not parse
    /// as an IPv4 CIDR.
    pub endpoint_ip_address_range: Option<Ipv4Net>,
    /// `OntapConfiguration.RouteTableIds`: "the route tables in which Amazon FSx creates the rules
    /// for routing traffic to the correct file server … By default, Amazon FSx selects your VPC's
    /// default route table" ([CreateFileSystemOntapConfiguration](https://docs.aws.amazon.com/fsx/latest/APIReference/API_CreateFileSystemOntapConfiguration.html)).
    /// Whatever must reach a floating IP — the resource gateway's ENIs — must sit in a subnet
    /// using one of them.
    pub route_table_ids: Vec<RouteTableId>,
    /// The file system's `Tags`, as FSx returns them with the description (a tag without a
    /// value reads as `""`).
    pub tags: Tags,
}

/// One protocol endpoint of an SVM (`Endpoints.Smb`, `.Nfs`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SvmEndpoint {
    /// `DNSName`: for an AD-joined SVM's SMB endpoint this is the NetBIOS name. `None` when FSx
    /// sends none.
    pub dns_name: Option<String>,
    /// `IpAddresses`, IPv4 only: the adapter drops IPv6 addresses of dual-stack SVMs (resource
    /// configurations here are IPv4). For a Multi-AZ SVM's NFS/SMB/management endpoint this is
    /// the floating IP the exposure targets.
    pub ip_addresses: Vec<Ipv4Addr>,
}

/// `StorageVirtualMachine.Endpoints`. Each is `None` when FSx does not report it (an SVM not
/// joined to AD has no SMB endpoint, for instance). [`Protocol`] picks which one serves it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SvmEndpoints {
    /// `Management`: serves [`Protocol::Ssh`] (vsadmin) and [`Protocol::Rest`] (ONTAP REST).
    pub management: Option<SvmEndpoint>,
    /// `Nfs`: serves [`Protocol::Nfs`] and [`Protocol::Nfs3`].
    pub nfs: Option<SvmEndpoint>,
    /// `Smb`: serves [`Protocol::Smb`].
    pub smb: Option<SvmEndpoint>,
    /// `Iscsi`: in-subnet IPs, one per node.
    pub iscsi: Option<SvmEndpoint>,
}

impl SvmEndpoints {
    /// Management, NFS and SMB on one floating IP under one DNS name, no iSCSI: the shape of a
    /// typical SVM in tests, the chaos campaign and the benchmark fleet.
    pub fn one_ip(dns_name: &str, ip: Ipv4Addr) -> Self {
        let ep = Some(SvmEndpoint {
            dns_name: Some(dns_name.to_string()),
            ip_addresses: vec![ip],
        });
        Self {
            management: ep.clone(),
            nfs: ep.clone(),
            smb: ep,
            iscsi: None,
        }
    }
}

/// An FSx for ONTAP storage virtual machine, from `DescribeStorageVirtualMachines` (fields
/// named after its AWS fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageVirtualMachine {
    /// `StorageVirtualMachineId` (`svm-…`).
    pub id: SvmId,
    /// `Name`, the ONTAP SVM name (`""` if FSx sends none); goes into resource names.
    pub name: String,
    /// `FileSystemId`: the file system it runs on.
    pub file_system_id: FileSystemId,
    /// `Lifecycle`; SVMs report `CREATED` when serving.
    pub lifecycle: FsxLifecycle,
    /// `Endpoints`; all `None` when FSx sends no `Endpoints`.
    pub endpoints: SvmEndpoints,
    /// The SVM's `Tags`, as FSx returns them with the description.
    pub tags: Tags,
}

/// A VPC and the attributes that matter here: `DescribeVpcs` plus two `DescribeVpcAttribute`
/// calls. A VPC deleted between those reads is left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    /// `VpcId`.
    pub id: VpcId,
    /// `CidrBlockAssociationSet[].CidrBlock` in state `associated` (primary and secondary
    /// blocks; ones being associated or disassociated are left out).
    pub cidr_blocks: Vec<Ipv4Net>,
    /// `enableDnsSupport` (`DescribeVpcAttribute`), read only when asked for
    /// ([`crate::ports::VpcAttributes::Dns`]: consumer VPCs); `false` when not read or if AWS
    /// sends no value. A consumer VPC needs it and `enable_dns_hostnames` on (private DNS of a
    /// Resource endpoint).
    pub enable_dns_support: bool,
    /// `enableDnsHostnames` (`DescribeVpcAttribute`), as `enable_dns_support`.
    pub enable_dns_hostnames: bool,
}

/// An IPv4 subnet from `DescribeSubnets`; IPv6-only subnets (no `CidrBlock`) are skipped by the
/// adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    /// `SubnetId`.
    pub id: SubnetId,
    /// `VpcId`: the VPC it belongs to.
    pub vpc_id: VpcId,
    /// `AvailabilityZone` name (`us-east-1a`), not the zone id; `""` if AWS sends none.
    pub availability_zone: String,
    /// `CidrBlock`: the subnet's primary IPv4 CIDR, what the /28 accounting of `capacity.rs`
    /// works in.
    pub cidr: Ipv4Net,
    /// The subnet's `Tags` (a tag without a value reads as `""`).
    pub tags: Tags,
}

/// A VPC route table (`DescribeRouteTables`), reduced to what reachability of the floating IPs
/// needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    /// `RouteTableId`
    pub id: RouteTableId,
    /// `VpcId`: the VPC whose subnets may use it.
    pub vpc_id: VpcId,
    /// Whether it is the VPC's main route table (a current association with `Main: true`):
    /// subnets without an explicit association use it.
    pub main: bool,
    /// Explicit subnet associations (`Associations[]` with a `SubnetId`), current ones only:
    /// those whose `AssociationState` is `associated` or absent.
    pub associations: Vec<RouteTableAssociation>,
    /// IPv4 routes (`Routes[]` with a `DestinationCidrBlock`); blackholed routes are left out,
    /// as they carry no traffic.
    pub routes: Vec<Route>,
    /// The route table's `Tags`.
    pub tags: Tags,
}

/// An explicit association of a subnet with a route table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTableAssociation {
    /// `RouteTableAssociationId` (`rtbassoc-…`), what `DisassociateRouteTable` takes.
    pub id: String,
    /// `SubnetId`: the subnet that uses this table instead of the main one.
    pub subnet_id: SubnetId,
}

/// One IPv4 route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// `DestinationCidrBlock`. A Multi-AZ file system writes its routes to the endpoint IP
    /// range only into its `RouteTableIds` (docs/design.md §10).
    pub destination: Ipv4Net,
    /// The target's id (`local`, `eni-…`, `igw-…`, …): the first of `GatewayId`,
    /// `NetworkInterfaceId`, `TransitGatewayId`, `NatGatewayId`, `VpcPeeringConnectionId`,
    /// `InstanceId` that is set; `""` for other target kinds.
    pub target: String,
}

/// The route table a subnet uses: its explicit association, else the VPC's main table
/// ([VPC user guide, "Subnet route tables"](https://docs.aws.amazon.com/vpc/latest/userguide/subnet-route-tables.html)).
/// `None` when neither was observed.
pub fn effective_route_table<'a>(tables: &'a [RouteTable], subnet: &Subnet) -> Option<&'a RouteTable> {
    tables
        .iter()
        .find(|t| t.associations.iter().any(|a| a.subnet_id == subnet.id))
        .or_else(|| tables.iter().find(|t| t.main && t.vpc_id == subnet.vpc_id))
}

/// A network interface, reduced to what address accounting needs. Read with
/// `DescribeNetworkInterfaces` filtered by VPC and `IncludeManagedResources`, so service-managed
/// ENIs (VPC Lattice's gateway ENIs among them) are included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInterface {
    /// `NetworkInterfaceId`.
    pub id: NetworkInterfaceId,
    /// `SubnetId`: the subnet its addresses are taken from.
    pub subnet_id: SubnetId,
    /// Primary and secondary private IPv4 addresses (`PrivateIpAddresses[]`), the primary
    /// first; each occupies one address of the subnet.
    pub private_ips: Vec<Ipv4Addr>,
    /// `Ipv4Prefixes[].Ipv4Prefix`: /28 prefixes delegated to the ENI; each occupies one /28 of
    /// the subnet (a gateway ENI with `ipv4AddressesPerEni` 16 holds one).
    pub ipv4_prefixes: Vec<Ipv4Net>,
    /// `Description` (`""` if none): VPC Lattice writes "Resource Gateway Interface rgw-…",
    /// which [`NetworkInterface::resource_gateway_id`] reads.
    pub description: String,
    /// `TagSet`.
    pub tags: Tags,
}

impl NetworkInterface {
    /// The resource gateway this ENI belongs to, read from the description VPC Lattice gives it.
    pub fn resource_gateway_id(&self) -> Option<GatewayId> {
        gateway_id_from_description(&self.description)
    }
}

/// Extracts `rgw-…` from "Resource Gateway Interface rgw-…" (the description VPC Lattice gives
/// the ENIs it creates for a gateway; seen in the seed's CloudTrail record and ENI listing).
pub fn gateway_id_from_description(description: &str) -> Option<GatewayId> {
    let rest = description.strip_prefix("Resource Gateway Interface ")?;
    GatewayId::parse(rest.split_whitespace().next()?).ok()
}

/// `ReservationType` of a subnet CIDR reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReservationType {
    /// EC2 assigns prefixes from it (and from it first).
    Prefix,
    /// Only addresses you assign yourself; EC2 never places anything there.
    Explicit,
}

/// A subnet CIDR reservation (`GetSubnetCidrReservations`), ours or anyone's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CidrReservation {
    /// `SubnetCidrReservationId` (`scr-…`).
    pub id: CidrReservationId,
    /// `SubnetId`: the subnet whose range it reserves.
    pub subnet_id: SubnetId,
    /// `Cidr`: the reserved block, inside the subnet's CIDR.
    pub cidr: Ipv4Net,
    /// `ReservationType`; the adapter reads anything but `explicit` as `prefix`.
    pub reservation_type: ReservationType,
    /// `Description` (`""` if none); free text, never used for ownership.
    pub description: String,
    /// `Tags`; ours carry the owner tag.
    pub tags: Tags,
}

/// VPC Lattice resource gateway `status`; each variant is the wire value in
/// `SCREAMING_SNAKE_CASE`. The planner (`plan/gateways.rs`) waits on the in-progress states,
/// replaces a gateway in any failed state (VPC Lattice gives no reason) and builds exposures
/// only on an `ACTIVE` one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GatewayStatus {
    /// `ACTIVE`: the only state exposures are built on and security groups updated in.
    Active,
    /// `CREATE_IN_PROGRESS`: waited on.
    CreateInProgress,
    /// `UPDATE_IN_PROGRESS`: waited on.
    UpdateInProgress,
    /// `DELETE_IN_PROGRESS`: already going; never deleted again nor chosen as current.
    DeleteInProgress,
    /// `CREATE_FAILED`: replaced.
    CreateFailed,
    /// `UPDATE_FAILED`: replaced.
    UpdateFailed,
    /// `DELETE_FAILED`: replaced when it is the current gateway; a superseded one is deleted
    /// again.
    DeleteFailed,
}

/// A VPC Lattice resource gateway, from `ListResourceGateways` (fields named after its
/// lower-camel API fields). The summary carries no tags; see `tags`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceGateway {
    /// `id` (`rgw-…`); VPC Lattice also writes it into the description of the gateway's ENIs.
    pub id: GatewayId,
    /// `arn`: what tagging calls and the Tagging API key on.
    pub arn: String,
    /// `name`: ours are built by `naming.rs` (the name prefix marks candidates for a
    /// `ListTagsForResource` read); `""` if absent.
    pub name: String,
    /// `vpcIdentifier`: the file system's VPC for ours.
    pub vpc_id: VpcId,
    /// `subnetIds`: immutable, so a change of subnets means a new gateway (a new generation).
    pub subnet_ids: Vec<SubnetId>,
    /// `securityGroupIds`: the only field `UpdateResourceGateway` changes.
    pub security_group_ids: Vec<SecurityGroupId>,
    /// `ipv4AddressesPerEni`: immutable; 16 when AWS omits it (the service default). Anything
    /// else is replaced by the planner, as the /28 accounting assumes one /28 per ENI.
    pub ipv4_addresses_per_eni: u8,
    /// `status`; [`GatewayStatus`] says what the planner does in each.
    pub status: GatewayStatus,
    /// From the Resource Groups Tagging API (`GetResources`), else `ListTagsForResource` for a
    /// name with our prefix, else empty: an empty map means foreign, not "untagged".
    pub tags: Tags,
}

/// VPC Lattice resource configuration `status`; each variant is the wire value in
/// `SCREAMING_SNAKE_CASE`. For the current configuration of an SVM the planner
/// (`plan/exposure.rs`) deletes and re-creates one in `CREATE_FAILED`/`UPDATE_FAILED` and waits
/// on every other state but `ACTIVE`; superseded ones are deleted (`plan/cleanup.rs`) unless
/// already `DELETE_IN_PROGRESS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConfigurationStatus {
    /// `ACTIVE`: usable by endpoints, and compared with the wanted target.
    Active,
    /// `CREATE_IN_PROGRESS`: waited on.
    CreateInProgress,
    /// `UPDATE_IN_PROGRESS`: waited on.
    UpdateInProgress,
    /// `DELETE_IN_PROGRESS`: waited on; never deleted again.
    DeleteInProgress,
    /// `CREATE_FAILED`: deleted, then re-created; `failure_reason` says why.
    CreateFailed,
    /// `UPDATE_FAILED`: deleted, then re-created; `failure_reason` says why.
    UpdateFailed,
    /// `DELETE_FAILED`: waited on when it is the current configuration; a superseded one is
    /// deleted again.
    DeleteFailed,
}

/// A TCP port or inclusive range, as VPC Lattice's `portRanges` strings ("445", "11104-11105").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PortRange {
    /// First port, 1–65535 (0 is refused when parsing).
    pub from: u16,
    /// Last port (equal to `from` for a single port).
    pub to: u16,
}

impl PortRange {
    /// The range holding only `port`; printed as `"445"`, not `"445-445"`.
    pub const fn single(port: u16) -> Self {
        Self { from: port, to: port }
    }
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}-{}", self.from, self.to)
        }
    }
}

impl TryFrom<String> for PortRange {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let parse = |p: &str| -> Result<u16, String> {
            match p.trim().parse::<u16>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(format!("`{s}` is not a port or port range (1-65535, `a-b`)")),
            }
        };
        let (from, to) = match s.split_once('-') {
            Some((a, b)) => (parse(a)?, parse(b)?),
            None => {
                let p = parse(&s)?;
                (p, p)
            }
        };
        if from > to {
            return Err(format!("`{s}`: the range's start is above its end"));
        }
        Ok(Self { from, to })
    }
}

impl From<PortRange> for String {
    fn from(p: PortRange) -> String {
        p.to_string()
    }
}

/// A VPC Lattice resource configuration of type SINGLE with an `ipResource` (the only kind this
/// tool creates; others are observed only so they are never touched). Listed with
/// `ListResourceConfigurations`; groups and children (no `resourceGatewayId`) are skipped. For
/// a foreign configuration only the summary is read, so its target fields stay empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceConfiguration {
    /// `id` (`rcfg-…`).
    pub id: ResourceConfigurationId,
    /// `arn`: what a resource VPC endpoint's `ResourceConfigurationArn` points at.
    pub arn: String,
    /// `name`: ours are built by `naming.rs`; `""` if absent.
    pub name: String,
    /// `resourceGatewayId`: immutable, so a new gateway generation means new configurations.
    pub gateway_id: GatewayId,
    /// `resourceConfigurationDefinition.ipResource.ipAddress`: the SVM's floating IP for ours.
    /// Read from our `fsxn-lattice:target` tag, or from `GetResourceConfiguration` when that tag
    /// is missing or the configuration failed. `None` for foreign configurations (not read) and
    /// for definitions that are not an `ipResource`.
    pub ip_address: Option<Ipv4Addr>,
    /// `portRanges`, from the same source as `ip_address`; empty for foreign configurations.
    pub port_ranges: Vec<PortRange>,
    /// `status`, from the listing (refreshed by `GetResourceConfiguration` when that is read).
    pub status: ConfigurationStatus,
    /// `failureReason`: only read with `GetResourceConfiguration`, so `None` unless the
    /// configuration is ours and failed (or lacks its target tag), or just created.
    pub failure_reason: Option<String>,
    /// Read like [`ResourceGateway::tags`]: empty means foreign.
    pub tags: Tags,
    /// `customDomainName` (in the listing's summary): set only at creation, so a different
    /// custom domain means a new configuration. Lower case, no trailing dot.
    #[serde(default)]
    pub custom_domain_name: Option<String>,
    /// `domainVerificationId` (in the summary): the verification the custom domain was
    /// created with; `None` when created without one.
    #[serde(default)]
    pub domain_verification_id: Option<String>,
}

/// VPC Lattice `VerificationStatus` (botocore `vpc-lattice` 2022-11-30: PENDING | VERIFIED |
/// VERIFICATION_TIMED_OUT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerificationStatus {
    /// Waiting for the TXT record to be seen.
    Pending,
    /// The domain (and its subdomains) is verified.
    Verified,
    /// The TXT record was not seen in time; the verification must be started again.
    VerificationTimedOut,
    /// A value this build does not know.
    Unknown,
}

impl VerificationStatus {
    /// Parses VPC Lattice's value.
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "PENDING" => Self::Pending,
            "VERIFIED" => Self::Verified,
            "VERIFICATION_TIMED_OUT" => Self::VerificationTimedOut,
            _ => Self::Unknown,
        }
    }
}

/// A VPC Lattice domain verification (`ListDomainVerifications`, `StartDomainVerification`):
/// proof, through a TXT record, that the account owns a domain used as a configuration's custom
/// domain name. Verifying a domain verifies its subdomains (VPC Lattice user guide, *Create and
/// verify a domain*).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainVerification {
    /// `id` (`dv-…`).
    pub id: String,
    /// `arn`.
    pub arn: String,
    /// `domainName`, lower case, no trailing dot.
    pub domain_name: String,
    /// `status`.
    pub status: VerificationStatus,
    /// `txtMethodConfig.name`: where the TXT record goes (normalized like `domain_name`).
    pub txt_name: Option<String>,
    /// `txtMethodConfig.value`: what it must hold.
    pub txt_value: Option<String>,
    /// `tags`; ours carry the owner tag.
    pub tags: Tags,
}

/// VPC Lattice `ServiceNetworkResourceAssociationStatus` (botocore `vpc-lattice` 2022-11-30:
/// CREATE_IN_PROGRESS | ACTIVE | PARTIAL | DELETE_IN_PROGRESS | CREATE_FAILED | DELETE_FAILED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NetworkAssociationStatus {
    /// Being created: waited on.
    CreateInProgress,
    /// Serves; its DNS name is what the alias points at.
    Active,
    /// Assumed (UNCONFIRMED: no documented meaning): serves part; kept, not used for the alias,
    /// waited on with a warning.
    Partial,
    /// Being deleted: waited on.
    DeleteInProgress,
    /// Creation failed: deleted and made again.
    CreateFailed,
    /// Deletion failed: deleted again.
    DeleteFailed,
    /// A value this build does not know: treated like `Partial`.
    Unknown,
}

impl NetworkAssociationStatus {
    /// Parses VPC Lattice's value.
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "CREATE_IN_PROGRESS" => Self::CreateInProgress,
            "ACTIVE" => Self::Active,
            "PARTIAL" => Self::Partial,
            "DELETE_IN_PROGRESS" => Self::DeleteInProgress,
            "CREATE_FAILED" => Self::CreateFailed,
            "DELETE_FAILED" => Self::DeleteFailed,
            _ => Self::Unknown,
        }
    }
}

/// A service-network resource association of one of our configurations
/// (`ListServiceNetworkResourceAssociations` with `resourceConfigurationIdentifier`). Only the
/// configuration's owner creates one, so every association of our configuration is ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceNetworkAssociation {
    /// `id` (`snra-…`).
    pub id: String,
    /// `arn`.
    pub arn: String,
    /// `serviceNetworkId` (`sn-…`).
    pub service_network_id: String,
    /// `resourceConfigurationId`.
    pub configuration_id: ResourceConfigurationId,
    /// `status`.
    pub status: NetworkAssociationStatus,
    /// `failureReason`, when given.
    pub failure_reason: Option<String>,
    /// `dnsEntry.domainName`, normalized ([`normalize_dns_name`]): what the alias points at.
    pub dns_name: Option<String>,
}

/// EC2 VPC endpoint `State`, parsed case-insensitively: the API sends `pending`/`available` while
/// the SDK enum is PascalCase (docs/design.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointState {
    /// `pending`: live, waited on.
    Pending,
    /// `pendingAcceptance`: live, waited on.
    PendingAcceptance,
    /// `available`: serves; the only state an alias may point at.
    Available,
    /// `deleting`: not live; a replacement may be created beside it.
    Deleting,
    /// `deleted`: not live.
    Deleted,
    /// `rejected`: terminal; deleted and replaced.
    Rejected,
    /// `failed`: terminal; deleted and replaced (`failure_reason` says why).
    Failed,
    /// `expired`: terminal; deleted and replaced.
    Expired,
    /// `partial`: in botocore's EC2 `State` enum (PendingAcceptance | Pending | Available |
    /// Deleting | Deleted | Rejected | Failed | Expired | Partial) without documented meaning for
    /// Resource endpoints. Assumed (UNCONFIRMED): it exists and may serve part of its subnets, so
    /// it is neither replaced nor used as an alias target; the planner waits and warns.
    Partial,
    /// Anything else AWS may add: treated like [`EndpointState::Partial`] (never re-created).
    Unknown,
}

impl EndpointState {
    /// Case-insensitive parse of what EC2 prints.
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "pending" => Self::Pending,
            "pendingacceptance" => Self::PendingAcceptance,
            "available" => Self::Available,
            "deleting" => Self::Deleting,
            "deleted" => Self::Deleted,
            "rejected" => Self::Rejected,
            "failed" => Self::Failed,
            "expired" => Self::Expired,
            "partial" => Self::Partial,
            _ => Self::Unknown,
        }
    }

    /// Lower-case name, as EC2 sends it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::PendingAcceptance => "pendingAcceptance",
            Self::Available => "available",
            Self::Deleting => "deleting",
            Self::Deleted => "deleted",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Partial => "partial",
            Self::Unknown => "unknown",
        }
    }

    /// Ended for good: the endpoint will never serve and is deleted and replaced (`failed`,
    /// `rejected`, `expired`).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Failed | Self::Rejected | Self::Expired)
    }

    /// Exists and is not going away: a second endpoint for the same configuration and consumer
    /// must not be created beside it. Everything but terminal, deleting and deleted states —
    /// including states this build does not know.
    pub fn is_live(self) -> bool {
        !self.is_terminal() && !matches!(self, Self::Deleting | Self::Deleted)
    }
}

/// The private DNS options of a Resource endpoint: which custom domain names VPC Lattice
/// answers in the endpoint's VPC (EC2 `DnsOptionsSpecification`, botocore `ec2` 2016-11-15).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateDns {
    /// `PrivateDnsPreference` as EC2 returns it; `None` when absent (EC2's default is
    /// `VERIFIED_DOMAINS_ONLY`).
    pub preference: Option<String>,
    /// `PrivateDnsSpecifiedDomains`, lower case, no trailing dot, sorted.
    pub specified_domains: Vec<String>,
}

impl PrivateDns {
    /// Private DNS for a custom-domain consumer: the configuration's custom domain `alias`,
    /// whether or not it is verified (`VERIFIED_DOMAINS_AND_SPECIFIED_DOMAINS` with `alias`
    /// specified), and no other name.
    pub fn for_alias(alias: &str) -> Self {
        Self {
            preference: Some(PRIVATE_DNS_VERIFIED_AND_SPECIFIED.to_string()),
            specified_domains: vec![normalize_dns_name(alias)],
        }
    }

    /// Whether an endpoint with these options (and private DNS on) answers `domain`, the custom
    /// domain of its configuration, `verified` or not.
    pub fn answers(&self, domain: &str, verified: bool) -> bool {
        let specified = self.specified_domains.iter().any(|d| d.eq_ignore_ascii_case(domain));
        match self.preference.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("VERIFIED_DOMAINS_ONLY") => verified,
            Some("ALL_DOMAINS") => true,
            Some(PRIVATE_DNS_VERIFIED_AND_SPECIFIED) => verified || specified,
            Some("SPECIFIED_DOMAINS_ONLY") => specified,
            // A preference this build does not know: assume it may answer (the cautious side
            // for "two endpoints must not answer one name in one VPC").
            Some(_) => true,
        }
    }
}

/// EC2 `PrivateDnsPreference` value fsxn-lattice sets on a custom-domain consumer's endpoint.
pub const PRIVATE_DNS_VERIFIED_AND_SPECIFIED: &str = "VERIFIED_DOMAINS_AND_SPECIFIED_DOMAINS";

/// A Resource-type VPC endpoint (`DescribeVpcEndpoints`) with what
/// `DescribeVpcEndpointAssociations` adds (`dns_name`). It lives in a consumer VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcEndpoint {
    /// `VpcEndpointId` (`vpce-…`).
    pub id: VpcEndpointId,
    /// `VpcId`: the consumer VPC.
    pub vpc_id: VpcId,
    /// `SubnetIds`: consumer subnets it has an ENI in.
    pub subnet_ids: Vec<SubnetId>,
    /// `Groups[].GroupId`
    pub security_group_ids: Vec<SecurityGroupId>,
    /// `ResourceConfigurationArn`: the configuration it reaches ([`ResourceConfiguration::arn`]);
    /// `""` if AWS sends none.
    pub resource_configuration_arn: String,
    /// `State`, parsed case-insensitively (see [`EndpointState`]).
    pub state: EndpointState,
    /// `FailureReason`, else `LastError.Message`; `None` when AWS gives neither.
    pub failure_reason: Option<String>,
    /// `PrivateDnsEnabled`; `false` when absent.
    pub private_dns_enabled: bool,
    /// `DnsOptions.PrivateDnsPreference` (`VERIFIED_DOMAINS_ONLY`, `ALL_DOMAINS`,
    /// `VERIFIED_DOMAINS_AND_SPECIFIED_DOMAINS`, `SPECIFIED_DOMAINS_ONLY`) and
    /// `DnsOptions.PrivateDnsSpecifiedDomains`: which custom domain names the endpoint's private
    /// DNS answers in its VPC. Fixed at creation (see docs/design.md §12).
    #[serde(default)]
    pub private_dns: PrivateDns,
    /// `NetworkInterfaceIds`: the endpoint's ENIs in the consumer subnets.
    pub network_interface_ids: Vec<NetworkInterfaceId>,
    /// The association's `DnsEntry.DnsName` (`DescribeVpcEndpointAssociations`), normalized by
    /// [`normalize_dns_name`]: what our alias CNAME points at. `None` until the association has
    /// a DNS entry.
    pub dns_name: Option<String>,
    /// The endpoint's `Tags`; ours carry the owner tag.
    pub tags: Tags,
    /// The consumer account it was read in (`[[accounts]]`), set by observing; `None`: the
    /// stack's own account. Adapters leave it `None`: they see one account each.
    #[serde(default)]
    pub account: Option<AccountId>,
}

/// A Route 53 hosted zone (`GetHostedZone`), read for each consumer's `hosted_zone_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedZone {
    /// `Id`, bare (`Z…`): the `/hostedzone/` prefix Route 53 prints is dropped.
    pub id: HostedZoneId,
    /// `Name`, without the trailing dot, lower case.
    pub name: String,
    /// `Config.PrivateZone`
    pub private: bool,
    /// The consumer account it was read in, as for [`VpcEndpoint::account`].
    #[serde(default)]
    pub account: Option<AccountId>,
}

/// AWS RAM `ResourceShareStatus` (botocore `ram` model: PENDING | ACTIVE | FAILED | DELETING |
/// DELETED), parsed case-insensitively; anything else is [`ShareStatus::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShareStatus {
    /// Being created.
    Pending,
    /// Usable.
    Active,
    /// Creation failed.
    Failed,
    /// Being deleted.
    Deleting,
    /// Gone.
    Deleted,
    /// A value this build does not know: waited on, never acted on.
    Unknown,
}

impl ShareStatus {
    /// Parses RAM's value.
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "PENDING" => Self::Pending,
            "ACTIVE" => Self::Active,
            "FAILED" => Self::Failed,
            "DELETING" => Self::Deleting,
            "DELETED" => Self::Deleted,
            _ => Self::Unknown,
        }
    }
}

/// AWS RAM `ResourceShareAssociationStatus` (botocore `ram` model: ASSOCIATING | ASSOCIATED |
/// FAILED | DISASSOCIATING | DISASSOCIATED | SUSPENDED | SUSPENDING | RESTORING).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AssociationStatus {
    /// Being associated; for a principal outside the organization, until its invitation is
    /// accepted.
    Associating,
    /// In effect.
    Associated,
    /// Failed (`statusMessage` says why), e.g. an external principal on a share that does
    /// not allow them.
    Failed,
    /// Being removed.
    Disassociating,
    /// Removed.
    Disassociated,
    /// Suspended by RAM (not in effect, and not ours to lift): reported, never polled for,
    /// never associated again or removed.
    Suspended,
    /// Being suspended.
    Suspending,
    /// Being restored from a suspension.
    Restoring,
    /// A value this build does not know.
    Unknown,
}

impl AssociationStatus {
    /// Parses RAM's value.
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "ASSOCIATING" => Self::Associating,
            "ASSOCIATED" => Self::Associated,
            "FAILED" => Self::Failed,
            "DISASSOCIATING" => Self::Disassociating,
            "DISASSOCIATED" => Self::Disassociated,
            "SUSPENDED" => Self::Suspended,
            "SUSPENDING" => Self::Suspending,
            "RESTORING" => Self::Restoring,
            _ => Self::Unknown,
        }
    }

    /// In effect or on its way, or held by RAM: not to be associated again.
    pub fn is_present(self) -> bool {
        matches!(
            self,
            Self::Associating | Self::Associated | Self::Suspended | Self::Suspending | Self::Restoring | Self::Unknown
        )
    }

    /// RAM's value, as in its API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Associating => "ASSOCIATING",
            Self::Associated => "ASSOCIATED",
            Self::Failed => "FAILED",
            Self::Disassociating => "DISASSOCIATING",
            Self::Disassociated => "DISASSOCIATED",
            Self::Suspended => "SUSPENDED",
            Self::Suspending => "SUSPENDING",
            Self::Restoring => "RESTORING",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// One principal or resource of a share (`GetResourceShareAssociations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareAssociation {
    /// `associatedEntity`: an account id for a principal, an ARN for a resource.
    pub entity: String,
    /// `status`.
    pub status: AssociationStatus,
    /// `statusMessage`, when RAM gives one.
    pub message: Option<String>,
}

/// An AWS RAM resource share we own (`GetResourceShares` with `resourceOwner=SELF`), with its
/// principal and resource associations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceShare {
    /// `resourceShareArn`.
    pub arn: String,
    /// `name`.
    pub name: String,
    /// `status`.
    pub status: ShareStatus,
    /// `allowExternalPrincipals`.
    pub allow_external_principals: bool,
    /// `tags`; ours carry the owner tag and [`crate::naming::ACCOUNT_TAG`].
    pub tags: Tags,
    /// Principal associations (account ids), DISASSOCIATED ones left out.
    pub principals: Vec<ShareAssociation>,
    /// Resource associations (configuration ARNs), DISASSOCIATED ones left out.
    pub resources: Vec<ShareAssociation>,
}

/// AWS RAM `ResourceShareInvitationStatus` (botocore `ram` model: PENDING | ACCEPTED |
/// REJECTED | EXPIRED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvitationStatus {
    /// Waiting for the receiver.
    Pending,
    /// Accepted.
    Accepted,
    /// Rejected by the receiver.
    Rejected,
    /// Not answered in time (RAM user guide: 12 hours for most resource types, 7 days for a
    /// listed few; which applies to VPC Lattice is UNCONFIRMED).
    Expired,
    /// A value this build does not know.
    Unknown,
}

impl InvitationStatus {
    /// Parses RAM's value.
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "PENDING" => Self::Pending,
            "ACCEPTED" => Self::Accepted,
            "REJECTED" => Self::Rejected,
            "EXPIRED" => Self::Expired,
            _ => Self::Unknown,
        }
    }
}

/// A resource share invitation as its receiver sees it (`GetResourceShareInvitations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareInvitation {
    /// `resourceShareInvitationArn`.
    pub arn: String,
    /// `resourceShareArn`.
    pub share_arn: String,
    /// `senderAccountId`.
    pub sender: String,
    /// `status`.
    pub status: InvitationStatus,
}

/// The `Type` of a Route 53 record set, as far as planning needs to tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecordType {
    /// `A`: someone else's address record; a CNAME cannot share its name.
    A,
    /// `CNAME`: the alias record this tool writes (name → endpoint DNS name).
    CNAME,
    /// `TXT`: the ownership record written beside each alias CNAME (values quoted).
    TXT,
    /// `NS`: zone apex or delegation; never ours.
    NS,
    /// `SOA`: zone apex; never ours.
    SOA,
    /// Any other type (`AAAA`, `MX`, …): never ours, and a CNAME cannot share a name with it.
    Other,
}

/// A resource record set. Ours use simple routing; others are read with their routing so that
/// they are seen (and left alone) rather than skipped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordSet {
    /// Fully qualified name, lower case, no trailing dot.
    pub name: String,
    /// `Type`; types without a variant of their own read as [`RecordType::Other`].
    pub record_type: RecordType,
    /// `TTL` in seconds; 0 when Route 53 sends none (alias records have no TTL).
    pub ttl: u32,
    /// `ResourceRecords[].Value`; TXT values carry their quotes as Route 53 expects. Empty for
    /// alias records.
    pub values: Vec<String>,
    /// Not simple routing: `alias to <DNSName>` (an alias record) or `set identifier <id>`
    /// (weighted, latency, failover, … records). `None` for simple records.
    pub routing: Option<String>,
}

/// Lower-cases a DNS name and drops a trailing dot, so names compare as DNS compares them.
pub fn normalize_dns_name(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// A protocol a client may use through the endpoint (TCP only: VPC Lattice resource
/// configurations carry no UDP, so NFSv3 must run over TCP). docs/design.md §6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// SMB: 445.
    Smb,
    /// NFSv4.x: 2049.
    Nfs,
    /// NFSv3 over TCP: 111 (portmapper), 635 (mountd), 2049, 4045 (NLM), 4046 (NSM).
    Nfs3,
    /// SSH to the SVM's management endpoint (vsadmin): 22.
    Ssh,
    /// ONTAP REST API on the management endpoint: 443.
    Rest,
}

impl Protocol {
    /// Parses a protocol name, explaining the ones that cannot go through a resource endpoint.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "smb" | "cifs" => Ok(Self::Smb),
            "nfs" | "nfs4" => Ok(Self::Nfs),
            "nfs3" => Ok(Self::Nfs3),
            "ssh" => Ok(Self::Ssh),
            "rest" | "https" => Ok(Self::Rest),
            "iscsi" => Err("iscsi is not supported: iSCSI LIFs sit in subnets (routable over peering) and multipath needs both; a single-IP resource configuration would break it".into()),
            "snapmirror" => Err("snapmirror is not supported: it uses the intercluster endpoints, which sit in subnets and are routable over peering".into()),
            other => Err(format!("unknown protocol `{other}` (known: smb, nfs, nfs3, ssh, rest)")),
        }
    }

    /// TCP ports.
    pub fn ports(self) -> &'static [u16] {
        match self {
            Self::Smb => &[445],
            Self::Nfs => &[2049],
            Self::Nfs3 => &[111, 635, 2049, 4045, 4046],
            Self::Ssh => &[22],
            Self::Rest => &[443],
        }
    }

    /// The SVM endpoint that serves it.
    pub(crate) fn endpoint(self, e: &SvmEndpoints) -> Option<&SvmEndpoint> {
        match self {
            Self::Smb => e.smb.as_ref(),
            Self::Nfs | Self::Nfs3 => e.nfs.as_ref(),
            Self::Ssh | Self::Rest => e.management.as_ref(),
        }
    }
}

/// Checks an alias FQDN: at least two labels of `[A-Za-z0-9-]`, 1–63 characters each.
pub fn validate_fqdn(name: &str) -> Result<(), String> {
    let n = name.trim_end_matches('.');
    let labels: Vec<&str> = n.split('.').collect();
    let ok = n.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("alias `{name}` is not a valid fully qualified host name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_state_is_parsed_whatever_its_case() {
        assert_eq!(EndpointState::parse("Pending"), EndpointState::Pending);
        assert_eq!(EndpointState::parse("available"), EndpointState::Available);
        assert_eq!(EndpointState::parse("FAILED"), EndpointState::Failed);
        assert_eq!(
            EndpointState::parse("pendingAcceptance"),
            EndpointState::PendingAcceptance
        );
        assert_eq!(EndpointState::parse("Partial"), EndpointState::Partial);
        assert_eq!(EndpointState::parse("bogus"), EndpointState::Unknown);
    }

    #[test]
    fn only_failed_rejected_and_expired_endpoints_are_replaced_and_unknown_ones_are_live() {
        use EndpointState::*;
        for (state, live, terminal) in [
            (Pending, true, false),
            (PendingAcceptance, true, false),
            (Available, true, false),
            (Partial, true, false),
            (Unknown, true, false),
            (Deleting, false, false),
            (Deleted, false, false),
            (Failed, false, true),
            (Rejected, false, true),
            (Expired, false, true),
        ] {
            assert_eq!((state.is_live(), state.is_terminal()), (live, terminal), "{state:?}");
        }
    }

    #[test]
    fn deployment_types_are_kept_verbatim_and_classified_by_name() {
        for (s, multi, known) in [
            ("MULTI_AZ_1", true, true),
            ("MULTI_AZ_2", true, true),
            ("MULTI_AZ_3", true, false),
            ("SINGLE_AZ_1", false, true),
            ("SINGLE_AZ_3", false, false),
            ("", false, false),
        ] {
            let d = DeploymentType::parse(s);
            assert_eq!((d.is_multi_az(), d.is_known(), d.as_str()), (multi, known, s), "{s}");
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(serde_json::from_str::<DeploymentType>(&json).unwrap(), d);
        }
    }

    #[test]
    fn a_subnet_uses_its_explicit_route_table_else_the_main_one() {
        let vpc = VpcId::parse("vpc-1").unwrap();
        let subnet = |id: &str| Subnet {
            id: SubnetId::parse(id).unwrap(),
            vpc_id: vpc.clone(),
            availability_zone: "us-east-1a".into(),
            cidr: "10.0.0.0/24".parse().unwrap(),
            tags: Tags::new(),
        };
        let table = |id: &str, main: bool, assoc: &[&str]| RouteTable {
            id: RouteTableId::parse(id).unwrap(),
            vpc_id: vpc.clone(),
            main,
            associations: assoc
                .iter()
                .map(|s| RouteTableAssociation {
                    id: format!("rtbassoc-{s}"),
                    subnet_id: SubnetId::parse(*s).unwrap(),
                })
                .collect(),
            routes: vec![],
            tags: Tags::new(),
        };
        let tables = [table("rtb-a", true, &[]), table("rtb-b", false, &["subnet-2"])];
        let eff = |s: &str| effective_route_table(&tables, &subnet(s)).map(|t| t.id.to_string());
        assert_eq!(eff("subnet-1").as_deref(), Some("rtb-a"));
        assert_eq!(eff("subnet-2").as_deref(), Some("rtb-b"));
        assert_eq!(effective_route_table(&tables[1..], &subnet("subnet-1")), None);
    }

    #[test]
    fn port_ranges_parse_like_lattice_prints_them() {
        let p: PortRange = "11104-11105".to_string().try_into().unwrap();
        assert_eq!((p.from, p.to), (11104, 11105));
        assert_eq!(p.to_string(), "11104-11105");
        assert_eq!(PortRange::single(445).to_string(), "445");
        assert!(PortRange::try_from("0".to_string()).is_err());
        assert!(PortRange::try_from("90-80".to_string()).is_err());
        assert!(PortRange::try_from("http".to_string()).is_err());
    }

    #[test]
    fn the_gateway_is_read_from_the_eni_description_lattice_writes() {
        assert_eq!(
            gateway_id_from_description("Resource Gateway Interface rgw-078bcf4c64e2fc005").map(|g| g.to_string()),
            Some("rgw-078bcf4c64e2fc005".into())
        );
        assert_eq!(gateway_id_from_description("Interface for NAT Gateway nat-1"), None);
    }
}
