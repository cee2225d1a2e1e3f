//! The read-only, account-level port behind `fsxn-lattice doctor`: CloudTrail trails and their
//! events, EC2 `DryRun` of the create calls the functions make, IAM policy simulation of the
//! deployed roles, and the VPCs a private hosted zone is associated with.
//!
//! Kept apart from [`crate::ports`] on purpose: the Lambdas never need these reads, so their
//! adapters (and SDK clients) are never built on a cold start.

use crate::error::CloudError;
use crate::ids::*;
use crate::ports::CloudResult;
use async_trait::async_trait;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A CloudTrail trail as `DescribeTrails` returns it (with `includeShadowTrails`, the default:
/// trails of other Regions that replicate here and organization trails seen from a member
/// account are listed too;
/// [DescribeTrails](https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_DescribeTrails.html)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trail {
    /// `Name`: for messages only (a shadow trail is addressed by `arn`).
    pub name: String,
    /// `TrailARN`: `GetTrailStatus` and `GetEventSelectors` of a shadow or organization trail
    /// need the ARN, not the name.
    pub arn: String,
    /// `HomeRegion`: the Region the trail was created in (`us-east-1`).
    pub home_region: String,
    /// `IsMultiRegionTrail`: records every Region, so [`Trail::covers`] any.
    pub is_multi_region: bool,
    /// `IsOrganizationTrail`: created in the management account; seen from a member account it
    /// cannot be changed there.
    pub is_organization_trail: bool,
}

impl Trail {
    /// Whether the trail records events of `region`: its home Region, or every Region when it
    /// is a multi-Region trail.
    pub fn covers(&self, region: &str) -> bool {
        self.is_multi_region || self.home_region == region
    }
}

/// `GetTrailStatus`, reduced to what matters here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailStatus {
    /// `IsLogging`: whether the trail is recording now (a stopped trail covers nothing).
    pub is_logging: bool,
}

/// `ReadWriteType` of a basic event selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadWriteType {
    /// `ReadOnly`
    ReadOnly,
    /// `WriteOnly`
    WriteOnly,
    /// `All` (the default)
    All,
}

/// A basic event selector
/// ([EventSelector](https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_EventSelector.html)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasicEventSelector {
    /// `ReadWriteType` (default `All`).
    pub read_write_type: ReadWriteType,
    /// `IncludeManagementEvents` (default true).
    pub include_management_events: bool,
    /// `ExcludeManagementEventSources` (`kms.amazonaws.com`, …).
    pub exclude_management_event_sources: Vec<String>,
}

/// One field condition of an advanced event selector
/// ([AdvancedFieldSelector](https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_AdvancedFieldSelector.html)).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSelector {
    /// `Field`: `eventCategory`, `readOnly`, `eventSource`, …
    pub field: String,
    /// `Equals`: the value must be one of these; empty means no such condition.
    pub equals: Vec<String>,
    /// `NotEquals`: the value must be none of these.
    pub not_equals: Vec<String>,
    /// `StartsWith`: the value must start with one of these; empty means no such condition.
    pub starts_with: Vec<String>,
    /// `NotStartsWith`: the value must start with none of these.
    pub not_starts_with: Vec<String>,
    /// `EndsWith`: the value must end with one of these; empty means no such condition.
    pub ends_with: Vec<String>,
    /// `NotEndsWith`: the value must end with none of these.
    pub not_ends_with: Vec<String>,
}

impl FieldSelector {
    /// Whether a record whose field has `value` passes this condition. Conditions are ANDed
    /// within a field selector ("Equals", "StartsWith" lists are ORed among their values).
    pub fn admits(&self, value: &str) -> bool {
        (self.equals.is_empty() || self.equals.iter().any(|v| v == value))
            && !self.not_equals.iter().any(|v| v == value)
            && (self.starts_with.is_empty() || self.starts_with.iter().any(|p| value.starts_with(p.as_str())))
            && !self.not_starts_with.iter().any(|p| value.starts_with(p.as_str()))
            && (self.ends_with.is_empty() || self.ends_with.iter().any(|p| value.ends_with(p.as_str())))
            && !self.not_ends_with.iter().any(|p| value.ends_with(p.as_str()))
    }
}

/// An advanced event selector: its field selectors are ANDed; a trail logs an event that
/// matches any of its selectors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvancedEventSelector {
    /// `Name`: a free label, not read by any check; `None` when unnamed.
    pub name: Option<String>,
    /// `FieldSelectors`, ANDed; only `eventCategory`, `readOnly` and `eventSource` are
    /// understood, and a selector with any other field is not counted as logging writes.
    pub field_selectors: Vec<FieldSelector>,
}

/// `GetEventSelectors`: a trail has either basic or advanced selectors, never both
/// ("You cannot apply both event selectors and advanced event selectors to a trail").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "selectors", rename_all = "snake_case")]
pub enum EventSelectors {
    /// `EventSelectors`
    Basic(Vec<BasicEventSelector>),
    /// `AdvancedEventSelectors`
    Advanced(Vec<AdvancedEventSelector>),
}

impl EventSelectors {
    /// Whether a management write call of `event_source` (`ec2.amazonaws.com`) is logged.
    pub fn logs_management_writes_of(&self, event_source: &str) -> bool {
        match self {
            Self::Basic(selectors) => selectors.iter().any(|s| {
                s.include_management_events
                    && s.read_write_type != ReadWriteType::ReadOnly
                    && !s.exclude_management_event_sources.iter().any(|x| x == event_source)
            }),
            Self::Advanced(selectors) => selectors.iter().any(|s| {
                fn field<'a>(s: &'a AdvancedEventSelector, name: &'a str) -> impl Iterator<Item = &'a FieldSelector> {
                    s.field_selectors.iter().filter(move |f| f.field == name)
                }
                // eventCategory is required; the record of a write call has readOnly "false".
                field(s, "eventCategory").next().is_some()
                    && field(s, "eventCategory").all(|f| f.admits("Management"))
                    && field(s, "readOnly").all(|f| f.admits("false"))
                    && field(s, "eventSource").all(|f| f.admits(event_source))
                    && s.field_selectors
                        .iter()
                        .all(|f| matches!(f.field.as_str(), "eventCategory" | "readOnly" | "eventSource"))
            }),
        }
    }
}

/// A `LookupEvents` query: one attribute (`EventName`) and a time range, as the API allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupQuery {
    /// `LookupAttributes: [{AttributeKey: EventName, AttributeValue: …}]`
    pub event_name: String,
    /// `StartTime` (Unix seconds).
    pub start_time: u64,
    /// `EndTime` (Unix seconds).
    pub end_time: u64,
    /// Stop after this many events (pages of 50, at most 2 requests per second).
    pub max_events: usize,
}

/// One event `LookupEvents` returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrailEvent {
    /// `EventId`
    pub event_id: String,
    /// `EventName`
    pub event_name: String,
    /// `EventTime` (Unix seconds).
    pub event_time: u64,
    /// `CloudTrailEvent`, the whole record, parsed.
    pub record: Value,
}

/// What `LookupEvents` gave for a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookupResult {
    /// The events, newest first (as the API returns them).
    pub events: Vec<TrailEvent>,
    /// True when `max_events` stopped the paging before the last page.
    pub truncated: bool,
}

/// An EC2 create call sent with `DryRun=true`: EC2 checks the caller's permissions and answers
/// `DryRunOperation` (allowed) or `UnauthorizedOperation` (denied), creating nothing
/// ("Checks whether you have the required permissions for the action, without actually making
/// the request, and provides an error response. If you have the required permissions, the error
/// response is `DryRunOperation`. Otherwise, it is `UnauthorizedOperation`." — the `DryRun`
/// member of each request in the EC2 API reference). All four carry `DryRun` in the EC2 service
/// model (checked in aws-sdk-ec2 1.274, generated from it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call")]
pub enum DryRunCall {
    /// `CreateSubnet` (carving a gateway subnet); only sent when
    /// `gateway.allow_subnet_creation` is on.
    CreateSubnet {
        /// The exposed file system's VPC.
        vpc_id: VpcId,
        /// The AZ of one of the file system's subnets.
        availability_zone: String,
        /// A CIDR free in the VPC, so only permissions can fail.
        cidr: Ipv4Net,
    },
    /// `CreateSubnetCidrReservation` (reserving a /28).
    CreateSubnetCidrReservation {
        /// A subnet of the file system's VPC with a free, unreserved aligned /28.
        subnet_id: SubnetId,
        /// That /28.
        cidr: Ipv4Net,
    },
    /// `CreateVpcEndpoint` with `VpcEndpointType=Resource`, one per configured consumer.
    CreateVpcEndpoint {
        /// The consumer's VPC (config).
        vpc_id: VpcId,
        /// The consumer's subnets (config).
        subnet_ids: Vec<SubnetId>,
        /// An existing resource configuration's ARN (ours if any, else anyone's): the request
        /// must name one for EC2 to get as far as the permission check.
        resource_configuration_arn: String,
    },
    /// `AssociateRouteTable` (a carved subnet joins one of the file system's route tables);
    /// only sent when `gateway.allow_subnet_creation` is on.
    AssociateRouteTable {
        /// One of the file system's `RouteTableIds`.
        route_table_id: RouteTableId,
        /// The file system's first subnet, standing in for a subnet not carved yet.
        subnet_id: SubnetId,
    },
}

impl DryRunCall {
    /// The EC2 operation name.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::CreateSubnet { .. } => "CreateSubnet",
            Self::CreateSubnetCidrReservation { .. } => "CreateSubnetCidrReservation",
            Self::CreateVpcEndpoint { .. } => "CreateVpcEndpoint",
            Self::AssociateRouteTable { .. } => "AssociateRouteTable",
        }
    }
}

/// The answer to a `DryRun`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum DryRunAnswer {
    /// `DryRunOperation`: the call would be allowed.
    Allowed,
    /// `UnauthorizedOperation`: denied (the message may carry an encoded authorization message).
    Denied {
        /// EC2's message.
        message: String,
    },
    /// Another error: the parameters were refused before permissions were decided (or, code
    /// `DryRunIgnored`, a stand-in carried the call out). Throttling and 5xx are not answers:
    /// the adapter returns them as errors, to be retried.
    Inconclusive {
        /// EC2's error code (`InvalidSubnetID.NotFound`, …) or `DryRunIgnored`.
        code: String,
        /// EC2's message.
        message: String,
    },
}

/// `EvalDecision` of `SimulatePrincipalPolicy`
/// ([EvaluationResult](https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html));
/// the variants serialize as the API's camel-case strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    /// `allowed`: some statement allows it and none denies it.
    Allowed,
    /// `explicitDeny`: a policy statement explicitly denies it.
    ExplicitDeny,
    /// `implicitDeny`: no statement allows it (or one does only under context the simulation
    /// lacked; see [`PolicyDecision::missing_context_values`]).
    ImplicitDeny,
}

/// One `EvaluationResult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDecision {
    /// `EvalActionName`: `service:Action`, one of the request's `ActionNames`.
    pub action: String,
    /// `EvalDecision`.
    pub decision: Decision,
    /// `MissingContextValues`: condition keys the policies use that the simulation lacked, so a
    /// deny may only mean "not granted without that context".
    pub missing_context_values: Vec<String>,
}

/// A `SimulatePrincipalPolicy` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulationRequest {
    /// `PolicySourceArn`: the role's ARN ([`StackRole::arn`]).
    pub principal_arn: String,
    /// `ActionNames`: what [`crate::doctor::role_actions`] says the role needs.
    pub actions: Vec<String>,
    /// `ContextEntries` (string or string-list keys): the tag and record-type conditions the
    /// stack's policies use, so a conditional allow can match.
    pub context: Vec<(String, Vec<String>)>,
}

/// A role of a deployed stack (`DescribeStackResources`, type `AWS::IAM::Role`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackRole {
    /// `LogicalResourceId` (`ProvisionFunctionRole`, …: SAM names a function's role
    /// `<function logical id>Role`).
    pub logical_id: String,
    /// The role ARN, from the `PhysicalResourceId` (the role name) and the stack's ARN.
    pub arn: String,
}

/// The DNS servers a VPC's DHCP options set gives its clients
/// ([DHCP option set concepts](https://docs.aws.amazon.com/vpc/latest/userguide/DHCPOptionSetConcepts.html)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpDns {
    /// The VPC's `DhcpOptionsId` (`DescribeVpcs`): a `dopt-…` set, or `default` when the VPC has
    /// no DHCP option set ("associate no DHCP options"), where Nitro instances get the Amazon
    /// DNS server 169.254.169.253 and Xen instances no DNS server at all.
    pub dhcp_options_id: String,
    /// The set's `domain-name-servers` values as given (`AmazonProvidedDNS` or IP addresses),
    /// in order; empty for `default` or a set without that key.
    pub domain_name_servers: Vec<String>,
}

impl DhcpDns {
    /// The `domain-name-servers` value naming the VPC resolver (Route 53 Resolver).
    pub const AMAZON_PROVIDED_DNS: &'static str = "AmazonProvidedDNS";
    /// The `DhcpOptionsId` DescribeVpcs reports for a VPC with no DHCP option set.
    pub const NO_OPTION_SET: &'static str = "default";
}

/// Account-level reads for the doctor. Read-only by construction: nothing here can change the
/// account (a `DryRun` is refused by EC2 before it acts).
#[async_trait]
pub trait AuditRead: Send + Sync {
    /// `DescribeTrails` with `includeShadowTrails=true`.
    async fn describe_trails(&self) -> CloudResult<Vec<Trail>>;
    /// `GetTrailStatus` by ARN.
    async fn get_trail_status(&self, trail_arn: &str) -> CloudResult<TrailStatus>;
    /// `GetEventSelectors` by ARN.
    async fn get_event_selectors(&self, trail_arn: &str) -> CloudResult<EventSelectors>;
    /// `LookupEvents`, all pages up to `query.max_events`. CloudTrail allows two lookup requests
    /// per second per account and Region ("If this limit is exceeded, a throttling error
    /// occurs"): adapters pace their pages.
    async fn lookup_events(&self, query: &LookupQuery) -> CloudResult<LookupResult>;
    /// One EC2 create call with `DryRun=true`.
    async fn dry_run(&self, call: &DryRunCall) -> CloudResult<DryRunAnswer>;
    /// CloudFormation `DescribeStackResources` of `stack`, the `AWS::IAM::Role` ones.
    async fn stack_roles(&self, stack: &str) -> CloudResult<Vec<StackRole>>;
    /// IAM `SimulatePrincipalPolicy`.
    async fn simulate_principal_policy(&self, request: &SimulationRequest) -> CloudResult<Vec<PolicyDecision>>;
    /// Route 53 `GetHostedZone` → `VPCs`: the VPCs a private zone is associated with.
    async fn hosted_zone_vpcs(&self, zone: &HostedZoneId) -> CloudResult<Vec<VpcId>>;
    /// EC2 `DescribeVpcs` → `DhcpOptionsId`, then `DescribeDhcpOptions` →
    /// `domain-name-servers` (not called for `default`): which DNS the VPC's clients use.
    async fn vpc_dhcp_dns(&self, vpc: &VpcId) -> CloudResult<DhcpDns>;
}

/// A read that failed, kept to be reported rather than aborting the doctor.
pub type Attempt<T> = Result<T, CloudError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(rw: ReadWriteType, mgmt: bool, exclude: &[&str]) -> EventSelectors {
        EventSelectors::Basic(vec![BasicEventSelector {
            read_write_type: rw,
            include_management_events: mgmt,
            exclude_management_event_sources: exclude.iter().map(|s| s.to_string()).collect(),
        }])
    }

    fn fsel(field: &str, equals: &[&str], not_equals: &[&str]) -> FieldSelector {
        FieldSelector {
            field: field.into(),
            equals: equals.iter().map(|s| s.to_string()).collect(),
            not_equals: not_equals.iter().map(|s| s.to_string()).collect(),
            ..FieldSelector::default()
        }
    }

    fn advanced(fields: Vec<FieldSelector>) -> EventSelectors {
        EventSelectors::Advanced(vec![AdvancedEventSelector {
            name: None,
            field_selectors: fields,
        }])
    }

    #[test]
    fn which_selectors_log_ec2_management_writes() {
        let ec2 = "ec2.amazonaws.com";
        let cases = [
            ("basic All", basic(ReadWriteType::All, true, &[]), true),
            ("basic WriteOnly", basic(ReadWriteType::WriteOnly, true, &[]), true),
            ("basic ReadOnly", basic(ReadWriteType::ReadOnly, true, &[]), false),
            ("basic data events only", basic(ReadWriteType::All, false, &[]), false),
            (
                "basic excluding KMS",
                basic(ReadWriteType::All, true, &["kms.amazonaws.com"]),
                true,
            ),
            ("basic excluding EC2", basic(ReadWriteType::All, true, &[ec2]), false),
            (
                "advanced management",
                advanced(vec![fsel("eventCategory", &["Management"], &[])]),
                true,
            ),
            (
                "advanced management writes",
                advanced(vec![
                    fsel("eventCategory", &["Management"], &[]),
                    fsel("readOnly", &["false"], &[]),
                ]),
                true,
            ),
            (
                "advanced management reads",
                advanced(vec![
                    fsel("eventCategory", &["Management"], &[]),
                    fsel("readOnly", &["true"], &[]),
                ]),
                false,
            ),
            (
                "advanced data events",
                advanced(vec![
                    fsel("eventCategory", &["Data"], &[]),
                    fsel("resources.type", &["AWS::S3::Object"], &[]),
                ]),
                false,
            ),
            (
                "advanced without EC2",
                advanced(vec![
                    fsel("eventCategory", &["Management"], &[]),
                    fsel("eventSource", &[], &[ec2]),
                ]),
                false,
            ),
            (
                "advanced FSx only",
                advanced(vec![
                    fsel("eventCategory", &["Management"], &[]),
                    fsel("eventSource", &["fsx.amazonaws.com"], &[]),
                ]),
                false,
            ),
            ("no selectors", EventSelectors::Basic(vec![]), false),
        ];
        for (name, selectors, expected) in cases {
            assert_eq!(selectors.logs_management_writes_of(ec2), expected, "{name}");
        }
    }

    #[test]
    fn a_trail_covers_its_home_region_or_all_when_multi_region() {
        let t = |home: &str, multi| Trail {
            name: "t".into(),
            arn: "arn:aws:cloudtrail:us-east-2:123456789012:trail/t".into(),
            home_region: home.into(),
            is_multi_region: multi,
            is_organization_trail: false,
        };
        assert!(t("us-east-1", false).covers("us-east-1"));
        assert!(!t("us-east-2", false).covers("us-east-1"));
        assert!(t("us-east-2", true).covers("us-east-1"));
    }
}
