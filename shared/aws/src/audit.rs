//! [`AwsAudit`]: the doctor's account-level reads ([`AuditRead`]) over CloudTrail, IAM,
//! CloudFormation, EC2 (`DryRun`, a VPC's DHCP options) and Route 53. A separate struct from [`crate::AwsCloud`] so the
//! Lambdas never build these clients (their cold start is measured).
//!
//! EC2 `DryRun`: EC2 answers with an error either way — `DryRunOperation` when the caller is
//! allowed, `UnauthorizedOperation` when not (the `DryRun` member of each request in the EC2
//! API reference). Any other code means EC2 refused the parameters first, which decides
//! nothing about permissions; throttling and 5xx stay errors, to be retried.

use crate::cloudtrail::AwsCloudTrail;
use crate::error::{malformed, translate};
use crate::policy_simulator::AwsPolicySimulator;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ec2::types::{SubnetCidrReservationType, VpcEndpointType};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use fsxn_lattice_core::audit::*;
use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::ports::CloudResult;

/// Every client the doctor reads with. The EC2 client here is a second one, used only for
/// `DryRun`s and a consumer VPC's DHCP options; the Route 53 one only for a zone's VPC
/// associations.
#[derive(Debug, Clone)]
pub struct AwsAudit {
    /// Serves the trail reads and `LookupEvents` of [`AuditRead`].
    pub cloudtrail: AwsCloudTrail,
    /// Serves `stack_roles` (CloudFormation `DescribeStackResources`) and
    /// `simulate_principal_policy` (IAM `SimulatePrincipalPolicy`).
    pub policy: AwsPolicySimulator,
    ec2: aws_sdk_ec2::Client,
    route53: aws_sdk_route53::Client,
}

impl AwsAudit {
    /// Builds every client from one configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Self::from_clients(
            AwsCloudTrail::new(aws_sdk_cloudtrail::Client::new(config)),
            AwsPolicySimulator::new(
                aws_sdk_cloudformation::Client::new(config),
                aws_sdk_iam::Client::new(config),
            ),
            aws_sdk_ec2::Client::new(config),
            aws_sdk_route53::Client::new(config),
        )
    }

    /// From already-built clients (tests).
    pub fn from_clients(
        cloudtrail: AwsCloudTrail,
        policy: AwsPolicySimulator,
        ec2: aws_sdk_ec2::Client,
        route53: aws_sdk_route53::Client,
    ) -> Self {
        Self {
            cloudtrail,
            policy,
            ec2,
            route53,
        }
    }
}

/// Reads the answer of a call sent with `DryRun=true`.
fn dry_run_answer<O, E>(op: &str, result: Result<O, SdkError<E, HttpResponse>>) -> CloudResult<DryRunAnswer>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let err = match result {
        // A stand-in that ignores DryRun carried the call out: say so, it decides nothing.
        Ok(_) => {
            return Ok(DryRunAnswer::Inconclusive {
                code: "DryRunIgnored".into(),
                message: "the endpoint ignored DryRun and carried the call out".into(),
            });
        }
        Err(e) => e,
    };
    let code = err.as_service_error().and_then(|e| e.code()).map(str::to_string);
    let message = err
        .as_service_error()
        .and_then(|e| e.message())
        .unwrap_or_default()
        .to_string();
    match code.as_deref() {
        Some("DryRunOperation") => Ok(DryRunAnswer::Allowed),
        Some("UnauthorizedOperation") => Ok(DryRunAnswer::Denied { message }),
        _ => {
            let e = translate(op, err);
            if e.kind == ErrorKind::Transient {
                Err(e)
            } else {
                Ok(DryRunAnswer::Inconclusive {
                    code: e.code,
                    message: e.message,
                })
            }
        }
    }
}

#[async_trait]
impl AuditRead for AwsAudit {
    async fn describe_trails(&self) -> CloudResult<Vec<Trail>> {
        self.cloudtrail.describe_trails().await
    }

    async fn get_trail_status(&self, trail_arn: &str) -> CloudResult<TrailStatus> {
        self.cloudtrail.get_trail_status(trail_arn).await
    }

    async fn get_event_selectors(&self, trail_arn: &str) -> CloudResult<EventSelectors> {
        self.cloudtrail.get_event_selectors(trail_arn).await
    }

    async fn lookup_events(&self, query: &LookupQuery) -> CloudResult<LookupResult> {
        self.cloudtrail.lookup_events(query).await
    }

    async fn dry_run(&self, call: &DryRunCall) -> CloudResult<DryRunAnswer> {
        let op = call.operation();
        match call {
            DryRunCall::CreateSubnet {
                vpc_id,
                availability_zone,
                cidr,
            } => {
                let r = self
                    .ec2
                    .create_subnet()
                    .dry_run(true)
                    .vpc_id(vpc_id.as_str())
                    .availability_zone(availability_zone)
                    .cidr_block(cidr.to_string())
                    .send()
                    .await;
                dry_run_answer(op, r)
            }
            DryRunCall::CreateSubnetCidrReservation { subnet_id, cidr } => {
                let r = self
                    .ec2
                    .create_subnet_cidr_reservation()
                    .dry_run(true)
                    .subnet_id(subnet_id.as_str())
                    .cidr(cidr.to_string())
                    .reservation_type(SubnetCidrReservationType::Prefix)
                    .send()
                    .await;
                dry_run_answer(op, r)
            }
            DryRunCall::CreateVpcEndpoint {
                vpc_id,
                subnet_ids,
                resource_configuration_arn,
            } => {
                let r = self
                    .ec2
                    .create_vpc_endpoint()
                    .dry_run(true)
                    .vpc_endpoint_type(VpcEndpointType::Resource)
                    .vpc_id(vpc_id.as_str())
                    .set_subnet_ids(Some(subnet_ids.iter().map(|s| s.to_string()).collect()))
                    .resource_configuration_arn(resource_configuration_arn)
                    .send()
                    .await;
                dry_run_answer(op, r)
            }
            DryRunCall::AssociateRouteTable {
                route_table_id,
                subnet_id,
            } => {
                let r = self
                    .ec2
                    .associate_route_table()
                    .dry_run(true)
                    .route_table_id(route_table_id.as_str())
                    .subnet_id(subnet_id.as_str())
                    .send()
                    .await;
                dry_run_answer(op, r)
            }
        }
    }

    async fn stack_roles(&self, stack: &str) -> CloudResult<Vec<StackRole>> {
        self.policy.stack_roles(stack).await
    }

    async fn simulate_principal_policy(&self, request: &SimulationRequest) -> CloudResult<Vec<PolicyDecision>> {
        self.policy.simulate_principal_policy(request).await
    }

    async fn hosted_zone_vpcs(&self, zone: &HostedZoneId) -> CloudResult<Vec<VpcId>> {
        const OP: &str = "GetHostedZone";
        let out = self
            .route53
            .get_hosted_zone()
            .id(zone.as_str())
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        Ok(out
            .vpcs()
            .iter()
            .filter_map(|v| VpcId::parse(v.vpc_id()?).ok())
            .collect())
    }

    async fn vpc_dhcp_dns(&self, vpc: &VpcId) -> CloudResult<DhcpDns> {
        let out = self
            .ec2
            .describe_vpcs()
            .vpc_ids(vpc.as_str())
            .send()
            .await
            .map_err(|e| translate("DescribeVpcs", e))?;
        let id = out
            .vpcs()
            .iter()
            .find(|v| v.vpc_id() == Some(vpc.as_str()))
            .and_then(|v| v.dhcp_options_id())
            .ok_or_else(|| malformed("DescribeVpcs", "DhcpOptionsId"))?
            .to_string();
        if id == DhcpDns::NO_OPTION_SET {
            return Ok(DhcpDns {
                dhcp_options_id: id,
                domain_name_servers: Vec::new(),
            });
        }
        const OP: &str = "DescribeDhcpOptions";
        let out = self
            .ec2
            .describe_dhcp_options()
            .dhcp_options_ids(&id)
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        let set = out
            .dhcp_options()
            .iter()
            .find(|d| d.dhcp_options_id() == Some(id.as_str()))
            .ok_or_else(|| malformed(OP, "DhcpOptions"))?;
        // The servers come back one value each, in order; a value holding several
        // comma-separated ones (CreateDhcpOptions once documented that form) is split too.
        let domain_name_servers = set
            .dhcp_configurations()
            .iter()
            .filter(|c| c.key() == Some("domain-name-servers"))
            .flat_map(|c| c.values())
            .filter_map(|v| v.value())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        Ok(DhcpDns {
            dhcp_options_id: id,
            domain_name_servers,
        })
    }
}
