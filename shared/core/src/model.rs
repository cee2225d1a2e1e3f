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

/// FSx `Lifecycle` of a file system or SVM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FsxLifecycle {
    /// `AVAILABLE` (file systems).
    Available,
    /// `CREATED` (SVMs).
    Created,
    /// `CREATING`
    Creating,
    /// `DELETING`
    Deleting,
    /// `FAILED`
    Failed,
    /// `MISCONFIGURED`
    Misconfigured,
    /// `PENDING`
    Pending,
    /// `UPDATING`
    Updating,
}

impl FsxLifecycle {
    /// Whether the resource serves and can be exposed.
    pub fn is_ready(self) -> bool {
        matches!(self, Self::Available | Self::Created | Self::Updating)
    }
}

/// An FSx for ONTAP file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSystem {
    /// `FileSystemId`
    pub id: FileSystemId,
    /// `Lifecycle`
    pub lifecycle: FsxLifecycle,
    /// `OntapConfiguration.DeploymentType`
    pub deployment_type: DeploymentType,
    /// `VpcId`
    pub vpc_id: VpcId,
    /// `SubnetIds`: one per AZ for Multi-AZ.
    pub subnet_ids: Vec<SubnetId>,
    /// `OntapConfiguration.EndpointIpAddressRange`: where the floating IPs come from.
    pub endpoint_ip_address_range: Option<Ipv4Net>,
    /// `OntapConfiguration.RouteTableIds`: "the route tables in which Amazon FSx creates the rules
    /// for routing traffic to the correct file server … By default, Amazon FSx selects your VPC's
    /// default route table" ([CreateFileSystemOntapConfiguration](https://docs.aws.amazon.com/fsx/latest/APIReference/API_CreateFileSystemOntapConfiguration.html)).
    /// Whatever must reach a floating IP — the resource gateway's ENIs — must sit in a subnet
    /// using one of them.
    pub route_table_ids: Vec<RouteTableId>,
    /// `Tags`
    pub tags: Tags,
}

/// One protocol endpoint of an SVM (`Endpoints.Smb`, `.Nfs`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SvmEndpoint {
    /// `DNSName`: for an AD-joined SVM's SMB endpoint this is the NetBIOS name.
    pub dns_name: Option<String>,
    /// `IpAddresses`
    pub ip_addresses: Vec<Ipv4Addr>,
}

/// `StorageVirtualMachine.Endpoints`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SvmEndpoints {
    /// `Management` (SSH for vsadmin, ONTAP REST).
    pub management: Option<SvmEndpoint>,
    /// `Nfs`
    pub nfs: Option<SvmEndpoint>,
    /// `Smb`
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

/// An FSx for ONTAP storage virtual machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageVirtualMachine {
    /// `StorageVirtualMachineId`
    pub id: SvmId,
    /// `Name`
    pub name: String,
    /// `FileSystemId`
    pub file_system_id: FileSystemId,
    /// `Lifecycle`
    pub lifecycle: FsxLifecycle,
    /// `Endpoints`
    pub endpoints: SvmEndpoints,
    /// `Tags`
    pub tags: Tags,
}

/// A VPC and the attributes that matter here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    /// `VpcId`
    pub id: VpcId,
    /// Associated IPv4 CIDR blocks.
    pub cidr_blocks: Vec<Ipv4Net>,
    /// `enableDnsSupport`
    pub enable_dns_support: bool,
    /// `enableDnsHostnames`
    pub enable_dns_hostnames: bool,
}

/// A subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    /// `SubnetId`
    pub id: SubnetId,
    /// `VpcId`
    pub vpc_id: VpcId,
    /// `AvailabilityZone`
    pub availability_zone: String,
    /// `CidrBlock`
    pub cidr: Ipv4Net,
    /// `Tags`
    pub tags: Tags,
}

/// A VPC route table (`DescribeRouteTables`), reduced to what reachability of the floating IPs
/// needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    /// `RouteTableId`
    pub id: RouteTableId,
    /// `VpcId`
    pub vpc_id: VpcId,
    /// Whether it is the VPC's main route table (an association with `Main: true`): subnets
    /// without an explicit association use it.
    pub main: bool,
    /// Explicit subnet associations (`Associations[]` with a `SubnetId`).
    pub associations: Vec<RouteTableAssociation>,
    /// IPv4 routes (`Routes[]` with a `DestinationCidrBlock`).
    pub routes: Vec<Route>,
    /// `Tags`
    pub tags: Tags,
}

/// An explicit association of a subnet with a route table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTableAssociation {
    /// `RouteTableAssociationId` (`rtbassoc-…`), what `DisassociateRouteTable` takes.
    pub id: String,
    /// `SubnetId`
    pub subnet_id: SubnetId,
}

/// One IPv4 route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// `DestinationCidrBlock`
    pub destination: Ipv4Net,
    /// The target's id (`local`, `eni-…`, `igw-…`, …): `GatewayId`, `NetworkInterfaceId`, … .
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

/// A network interface, reduced to what address accounting needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInterface {
    /// `NetworkInterfaceId`
    pub id: NetworkInterfaceId,
    /// `SubnetId`
    pub subnet_id: SubnetId,
    /// Primary and secondary private IPv4 addresses.
    pub private_ips: Vec<Ipv4Addr>,
    /// `Ipv4Prefixes`
    pub ipv4_prefixes: Vec<Ipv4Net>,
    /// `Description`: VPC Lattice writes "Resource Gateway Interface rgw-…".
    pub description: String,
    /// `TagSet`
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

/// A subnet CIDR reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CidrReservation {
    /// `SubnetCidrReservationId`
    pub id: CidrReservationId,
    /// `SubnetId`
    pub subnet_id: SubnetId,
    /// `Cidr`
    pub cidr: Ipv4Net,
    /// `ReservationType`
    pub reservation_type: ReservationType,
    /// `Description`
    pub description: String,
    /// `Tags`
    pub tags: Tags,
}

/// VPC Lattice resource gateway `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GatewayStatus {
    /// `ACTIVE`
    Active,
    /// `CREATE_IN_PROGRESS`
    CreateInProgress,
    /// `UPDATE_IN_PROGRESS`
    UpdateInProgress,
    /// `DELETE_IN_PROGRESS`
    DeleteInProgress,
    /// `CREATE_FAILED`
    CreateFailed,
    /// `UPDATE_FAILED`
    UpdateFailed,
    /// `DELETE_FAILED`
    DeleteFailed,
}

/// A VPC Lattice resource gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceGateway {
    /// `id`
    pub id: GatewayId,
    /// `arn`
    pub arn: String,
    /// `name`
    pub name: String,
    /// `vpcIdentifier`
    pub vpc_id: VpcId,
    /// `subnetIds`: immutable.
    pub subnet_ids: Vec<SubnetId>,
    /// `securityGroupIds`: the only updatable field.
    pub security_group_ids: Vec<SecurityGroupId>,
    /// `ipv4AddressesPerEni`: immutable, 16 by default.
    pub ipv4_addresses_per_eni: u8,
    /// `status`
    pub status: GatewayStatus,
    /// Tags.
    pub tags: Tags,
}

/// VPC Lattice resource configuration `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConfigurationStatus {
    /// `ACTIVE`
    Active,
    /// `CREATE_IN_PROGRESS`
    CreateInProgress,
    /// `UPDATE_IN_PROGRESS`
    UpdateInProgress,
    /// `DELETE_IN_PROGRESS`
    DeleteInProgress,
    /// `CREATE_FAILED`
    CreateFailed,
    /// `UPDATE_FAILED`
    UpdateFailed,
    /// `DELETE_FAILED`
    DeleteFailed,
}

/// A TCP port or inclusive range, as VPC Lattice's `portRanges` strings ("445", "11104-11105").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PortRange {
    /// First port.
    pub from: u16,
    /// Last port (equal to `from` for a single port).
    pub to: u16,
}

impl PortRange {
    /// A single port.
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
/// tool creates; others are observed only so they are never touched).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceConfiguration {
    /// `id`
    pub id: ResourceConfigurationId,
    /// `arn`
    pub arn: String,
    /// `name`
    pub name: String,
    /// `resourceGatewayId`: immutable.
    pub gateway_id: GatewayId,
    /// `resourceConfigurationDefinition.ipResource.ipAddress`
    pub ip_address: Option<Ipv4Addr>,
    /// `portRanges`
    pub port_ranges: Vec<PortRange>,
    /// `status`
    pub status: ConfigurationStatus,
    /// `failureReason`
    pub failure_reason: Option<String>,
    /// Tags.
    pub tags: Tags,
}

/// EC2 VPC endpoint `State`, parsed case-insensitively: the API sends `pending`/`available` while
/// the SDK enum is PascalCase (docs/design.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointState {
    /// `pending`
    Pending,
    /// `pendingAcceptance`
    PendingAcceptance,
    /// `available`
    Available,
    /// `deleting`
    Deleting,
    /// `deleted`
    Deleted,
    /// `rejected`
    Rejected,
    /// `failed`
    Failed,
    /// `expired`
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

/// A Resource-type VPC endpoint with what `DescribeVpcEndpointAssociations` adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcEndpoint {
    /// `VpcEndpointId`
    pub id: VpcEndpointId,
    /// `VpcId`
    pub vpc_id: VpcId,
    /// `SubnetIds`
    pub subnet_ids: Vec<SubnetId>,
    /// `Groups[].GroupId`
    pub security_group_ids: Vec<SecurityGroupId>,
    /// `ResourceConfigurationArn`
    pub resource_configuration_arn: String,
    /// `State`
    pub state: EndpointState,
    /// `FailureReason` or `LastError.Message`.
    pub failure_reason: Option<String>,
    /// `PrivateDnsEnabled`
    pub private_dns_enabled: bool,
    /// `NetworkInterfaceIds`
    pub network_interface_ids: Vec<NetworkInterfaceId>,
    /// The association's `DnsEntry.DnsName` once there is one.
    pub dns_name: Option<String>,
    /// `Tags`
    pub tags: Tags,
}

/// A Route 53 hosted zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedZone {
    /// `Id`
    pub id: HostedZoneId,
    /// `Name`, without the trailing dot, lower case.
    pub name: String,
    /// `Config.PrivateZone`
    pub private: bool,
}

/// DNS record type used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecordType {
    /// `A`
    A,
    /// `CNAME`
    CNAME,
    /// `TXT`
    TXT,
    /// `NS`
    NS,
    /// `SOA`
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
    /// `Type`
    pub record_type: RecordType,
    /// `TTL`
    pub ttl: u32,
    /// Values; TXT values carry their quotes as Route 53 expects.
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
