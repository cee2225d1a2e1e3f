//! The doctor's adapters ([`AwsAudit`]) with aws-smithy-mocks: each call's request fields
//! asserted, responses mapped to the core's types (the seed's real CloudTrail record as
//! `LookupEvents` returns it), `DryRun` answers classified, pagination followed.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::DateTime;
use aws_smithy_types::body::SdkBody;
use fsxn_lattice_aws::{AwsAudit, AwsCloudTrail, AwsPolicySimulator};
use fsxn_lattice_core::audit::*;
use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_core::ids::*;
use std::time::Duration;

const TRAIL_ARN: &str = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail";

fn ec2_error(code: &str, message: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(400).unwrap(),
        SdkBody::from(format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>r-1</RequestID></Response>"
        )),
    )
}

/// An [`AwsAudit`] whose unused clients answer nothing (no rule: a call would fail the test).
fn audit(
    cloudtrail: Option<aws_sdk_cloudtrail::Client>,
    cloudformation: Option<aws_sdk_cloudformation::Client>,
    iam: Option<aws_sdk_iam::Client>,
    ec2: Option<aws_sdk_ec2::Client>,
    route53: Option<aws_sdk_route53::Client>,
) -> AwsAudit {
    let none_ct = mock!(aws_sdk_cloudtrail::Client::describe_trails).then_output(|| unreachable!());
    let none_cf = mock!(aws_sdk_cloudformation::Client::describe_stack_resources).then_output(|| unreachable!());
    let none_iam = mock!(aws_sdk_iam::Client::simulate_principal_policy).then_output(|| unreachable!());
    let none_ec2 = mock!(aws_sdk_ec2::Client::create_subnet).then_output(|| unreachable!());
    let none_r53 = mock!(aws_sdk_route53::Client::get_hosted_zone).then_output(|| unreachable!());
    AwsAudit::from_clients(
        AwsCloudTrail::new(cloudtrail.unwrap_or_else(|| mock_client!(aws_sdk_cloudtrail, [&none_ct])))
            .with_page_interval(Duration::ZERO),
        AwsPolicySimulator::new(
            cloudformation.unwrap_or_else(|| mock_client!(aws_sdk_cloudformation, [&none_cf])),
            iam.unwrap_or_else(|| mock_client!(aws_sdk_iam, [&none_iam])),
        ),
        ec2.unwrap_or_else(|| mock_client!(aws_sdk_ec2, [&none_ec2])),
        route53.unwrap_or_else(|| mock_client!(aws_sdk_route53, [&none_r53])),
    )
}

mod cloudtrail {
    use super::*;
    use aws_sdk_cloudtrail::Client;
    use aws_sdk_cloudtrail::operation::describe_trails::DescribeTrailsOutput;
    use aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput;
    use aws_sdk_cloudtrail::operation::get_trail_status::GetTrailStatusOutput;
    use aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput;
    use aws_sdk_cloudtrail::types::{
        AdvancedEventSelector as SdkAdvanced, AdvancedFieldSelector, Event, EventSelector, LookupAttributeKey,
        ReadWriteType as SdkReadWrite, Trail as SdkTrail,
    };

    #[tokio::test]
    async fn trails_are_described_with_shadow_trails_and_organization_trails_kept() {
        let rule = mock!(Client::describe_trails)
            .match_requests(|r| r.include_shadow_trails() == Some(true))
            .then_output(|| {
                DescribeTrailsOutput::builder()
                    .trail_list(
                        SdkTrail::builder()
                            .name("org-trail")
                            .trail_arn(TRAIL_ARN)
                            .home_region("eu-west-1")
                            .is_multi_region_trail(true)
                            .is_organization_trail(true)
                            .build(),
                    )
                    .trail_list(
                        SdkTrail::builder()
                            .name("local")
                            .trail_arn("arn:aws:cloudtrail:us-east-1:123456789012:trail/local")
                            .home_region("us-east-1")
                            .build(),
                    )
                    .build()
            });
        let a = audit(Some(mock_client!(aws_sdk_cloudtrail, [&rule])), None, None, None, None);
        let trails = a.describe_trails().await.unwrap();
        assert_eq!(rule.num_calls(), 1);
        assert_eq!(trails.len(), 2);
        assert!(trails[0].is_organization_trail && trails[0].is_multi_region && trails[0].covers("us-east-1"));
        assert_eq!(trails[0].arn, TRAIL_ARN);
        assert!(!trails[1].is_multi_region && trails[1].covers("us-east-1") && !trails[1].covers("us-east-2"));
    }

    #[tokio::test]
    async fn status_and_selectors_are_read_by_arn() {
        let status = mock!(Client::get_trail_status)
            .match_requests(|r| r.name() == Some(TRAIL_ARN))
            .then_output(|| GetTrailStatusOutput::builder().is_logging(true).build());
        let basic = mock!(Client::get_event_selectors)
            .match_requests(|r| r.trail_name() == Some(TRAIL_ARN))
            .then_output(|| {
                GetEventSelectorsOutput::builder()
                    .event_selectors(
                        EventSelector::builder()
                            .read_write_type(SdkReadWrite::WriteOnly)
                            .exclude_management_event_sources("kms.amazonaws.com")
                            .build(),
                    )
                    .build()
            });
        let a = audit(
            Some(mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, [&status, &basic])),
            None,
            None,
            None,
            None,
        );
        assert!(a.get_trail_status(TRAIL_ARN).await.unwrap().is_logging);
        let sel = a.get_event_selectors(TRAIL_ARN).await.unwrap();
        assert_eq!(
            sel,
            EventSelectors::Basic(vec![BasicEventSelector {
                read_write_type: ReadWriteType::WriteOnly,
                include_management_events: true,
                exclude_management_event_sources: vec!["kms.amazonaws.com".into()],
            }]),
            "IncludeManagementEvents defaults to true when absent"
        );
        assert!(sel.logs_management_writes_of("ec2.amazonaws.com"));
    }

    #[tokio::test]
    async fn advanced_selectors_are_mapped_field_by_field() {
        let rule = mock!(Client::get_event_selectors).then_output(|| {
            GetEventSelectorsOutput::builder()
                .advanced_event_selectors(
                    SdkAdvanced::builder()
                        .name("management without reads")
                        .field_selectors(
                            AdvancedFieldSelector::builder()
                                .field("eventCategory")
                                .equals("Management")
                                .build()
                                .unwrap(),
                        )
                        .field_selectors(
                            AdvancedFieldSelector::builder()
                                .field("eventSource")
                                .not_equals("ec2.amazonaws.com")
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let a = audit(Some(mock_client!(aws_sdk_cloudtrail, [&rule])), None, None, None, None);
        let sel = a.get_event_selectors(TRAIL_ARN).await.unwrap();
        let EventSelectors::Advanced(s) = &sel else {
            panic!("{sel:?}")
        };
        assert_eq!(s[0].name.as_deref(), Some("management without reads"));
        assert_eq!(
            s[0].field_selectors[1].not_equals,
            vec!["ec2.amazonaws.com".to_string()]
        );
        assert!(sel.logs_management_writes_of("fsx.amazonaws.com"));
        assert!(!sel.logs_management_writes_of("ec2.amazonaws.com"));
    }

    fn seed_event(id: &str) -> Event {
        let envelope: serde_json::Value = serde_json::from_str(include_str!(
            "../../../events/ec2-create-network-interface-insufficient-ips.json"
        ))
        .unwrap();
        let mut record = envelope["detail"].clone();
        record["eventID"] = id.into();
        Event::builder()
            .event_id(id)
            .event_name("CreateNetworkInterface")
            .event_time(DateTime::from_secs(1_734_482_528))
            .event_source("ec2.amazonaws.com")
            .cloud_trail_event(record.to_string())
            .build()
    }

    #[tokio::test]
    async fn lookup_events_asks_by_event_name_and_time_and_follows_pages() {
        let first = mock!(Client::lookup_events)
            .match_requests(|r| {
                let a = &r.lookup_attributes()[0];
                r.lookup_attributes().len() == 1
                    && a.attribute_key() == &LookupAttributeKey::EventName
                    && a.attribute_value() == "CreateNetworkInterface"
                    && r.start_time() == Some(&DateTime::from_secs(1_734_400_000))
                    && r.end_time() == Some(&DateTime::from_secs(1_734_490_000))
                    && r.max_results() == Some(50)
                    && r.next_token().is_none()
            })
            .then_output(|| {
                LookupEventsOutput::builder()
                    .events(seed_event("e-1"))
                    .next_token("page-2")
                    .build()
            });
        let second = mock!(Client::lookup_events)
            .match_requests(|r| r.next_token() == Some("page-2"))
            .then_output(|| LookupEventsOutput::builder().events(seed_event("e-2")).build());
        let a = audit(
            Some(mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, [&first, &second])),
            None,
            None,
            None,
            None,
        );
        let query = LookupQuery {
            event_name: "CreateNetworkInterface".into(),
            start_time: 1_734_400_000,
            end_time: 1_734_490_000,
            max_events: 100,
        };
        let r = a.lookup_events(&query).await.unwrap();
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
        assert!(!r.truncated);
        assert_eq!(r.events.len(), 2);
        let e = &r.events[0];
        assert_eq!(e.event_time, 1_734_482_528);
        assert_eq!(
            e.record["errorMessage"],
            "There aren't sufficient free Ipv4 addresses or prefixes"
        );
        assert_eq!(e.record["userIdentity"]["invokedBy"], "vpc-lattice.amazonaws.com");
        // The core finds the seed's failure in what the adapter returned.
        let found = fsxn_lattice_core::doctor::lattice_eni_failures(
            &r.events,
            &GatewayId::parse("rgw-0f84e11568c258a2b").unwrap(),
            &[SubnetId::parse("subnet-0ddc1cafa116ba0dd").unwrap()],
        );
        assert_eq!(found.len(), 2);
        // A limit stops the paging and says so.
        let limited = a.lookup_events(&LookupQuery { max_events: 1, ..query }).await.unwrap();
        assert_eq!((limited.events.len(), limited.truncated), (1, true));
        assert_eq!(first.num_calls(), 2, "no second page was asked for");
        assert_eq!(second.num_calls(), 1);
    }

    #[tokio::test]
    async fn lookup_throttling_is_transient() {
        let rule = mock!(Client::lookup_events).then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
            )
        });
        let client = mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, [&rule], |c| c
            .retry_config(aws_sdk_cloudtrail::config::retry::RetryConfig::disabled()));
        let a = audit(Some(client), None, None, None, None);
        let err = a
            .lookup_events(&LookupQuery {
                event_name: "CreateNetworkInterface".into(),
                start_time: 0,
                end_time: 1,
                max_events: 10,
            })
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind, err.operation.as_str()),
            (ErrorKind::Transient, "LookupEvents")
        );
    }
}

mod dry_run {
    use super::*;
    use aws_sdk_ec2::Client;
    use aws_sdk_ec2::types::{SubnetCidrReservationType, VpcEndpointType};

    #[tokio::test]
    async fn each_create_call_is_sent_with_dry_run_and_its_answer_classified() {
        let subnet = mock!(Client::create_subnet)
            .match_requests(|r| {
                r.dry_run() == Some(true)
                    && r.vpc_id() == Some("vpc-043c0858ea33e8ec2")
                    && r.cidr_block() == Some("10.0.2.0/26")
                    && r.availability_zone() == Some("us-east-1b")
            })
            .then_http_response(|| {
                ec2_error(
                    "DryRunOperation",
                    "Request would have succeeded, but DryRun flag is set.",
                )
            });
        let reservation = mock!(Client::create_subnet_cidr_reservation)
            .match_requests(|r| {
                r.dry_run() == Some(true)
                    && r.reservation_type() == Some(&SubnetCidrReservationType::Prefix)
                    && r.cidr() == Some("10.0.0.16/28")
            })
            .then_http_response(|| {
                ec2_error(
                    "UnauthorizedOperation",
                    "You are not authorized to perform this operation.",
                )
            });
        let endpoint = mock!(Client::create_vpc_endpoint)
            .match_requests(|r| {
                r.dry_run() == Some(true)
                    && r.vpc_endpoint_type() == Some(&VpcEndpointType::Resource)
                    && r.subnet_ids() == ["subnet-0493d3cebba9cc691"]
                    && r.resource_configuration_arn()
                        .is_some_and(|a| a.ends_with("rcfg-07e1be0ba948e9054"))
            })
            .then_http_response(|| ec2_error("InvalidParameter", "bad resource configuration"));
        let associate = mock!(Client::associate_route_table)
            .match_requests(|r| r.dry_run() == Some(true) && r.route_table_id() == Some("rtb-0f1e2d3c4b5a69788"))
            .then_http_response(|| {
                ec2_error(
                    "DryRunOperation",
                    "Request would have succeeded, but DryRun flag is set.",
                )
            });
        let client = mock_client!(
            aws_sdk_ec2,
            RuleMode::MatchAny,
            [&subnet, &reservation, &endpoint, &associate],
            |c| c.retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled())
        );
        let a = audit(None, None, None, Some(client), None);
        let cases = [
            (
                DryRunCall::CreateSubnet {
                    vpc_id: VpcId::parse("vpc-043c0858ea33e8ec2").unwrap(),
                    availability_zone: "us-east-1b".into(),
                    cidr: "10.0.2.0/26".parse().unwrap(),
                },
                DryRunAnswer::Allowed,
            ),
            (
                DryRunCall::CreateSubnetCidrReservation {
                    subnet_id: SubnetId::parse("subnet-0a7d3c5e9b1f24680").unwrap(),
                    cidr: "10.0.0.16/28".parse().unwrap(),
                },
                DryRunAnswer::Denied {
                    message: "You are not authorized to perform this operation.".into(),
                },
            ),
            (
                DryRunCall::CreateVpcEndpoint {
                    vpc_id: VpcId::parse("vpc-0764d7f66aa8fa58a").unwrap(),
                    subnet_ids: vec![SubnetId::parse("subnet-0493d3cebba9cc691").unwrap()],
                    resource_configuration_arn:
                        "arn:aws:vpc-lattice:us-east-1:123456789012:resourceconfiguration/rcfg-07e1be0ba948e9054".into(),
                },
                DryRunAnswer::Inconclusive {
                    code: "InvalidParameter".into(),
                    message: "bad resource configuration".into(),
                },
            ),
            (
                DryRunCall::AssociateRouteTable {
                    route_table_id: RouteTableId::parse("rtb-0f1e2d3c4b5a69788").unwrap(),
                    subnet_id: SubnetId::parse("subnet-0a7d3c5e9b1f24680").unwrap(),
                },
                DryRunAnswer::Allowed,
            ),
        ];
        for (call, expected) in cases {
            assert_eq!(a.dry_run(&call).await.unwrap(), expected, "{}", call.operation());
        }
        for r in [&subnet, &reservation, &endpoint, &associate] {
            assert_eq!(r.num_calls(), 1);
        }
    }

    #[tokio::test]
    async fn throttling_during_a_dry_run_is_an_error_not_an_answer() {
        let rule = mock!(Client::create_subnet).then_http_response(|| ec2_error("RequestLimitExceeded", "slow down"));
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&rule], |c| c
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
        let a = audit(None, None, None, Some(client), None);
        let err = a
            .dry_run(&DryRunCall::CreateSubnet {
                vpc_id: VpcId::parse("vpc-043c0858ea33e8ec2").unwrap(),
                availability_zone: "us-east-1a".into(),
                cidr: "10.0.2.0/26".parse().unwrap(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Transient);
    }
}

mod roles {
    use super::*;
    use aws_sdk_cloudformation::operation::describe_stack_resources::DescribeStackResourcesOutput;
    use aws_sdk_cloudformation::types::StackResource;
    use aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyOutput;
    use aws_sdk_iam::types::{ContextKeyTypeEnum, EvaluationResult, PolicyEvaluationDecisionType};

    const STACK_ID: &str =
        "arn:aws:cloudformation:us-east-1:123456789012:stack/fsxn-lattice/0f0e0d0c-0b0a-0908-0706-050403020100";

    #[tokio::test]
    async fn stack_roles_are_the_role_resources_with_arns_from_the_stack_arn() {
        let resource = |logical: &str, physical: &str, kind: &str| {
            StackResource::builder()
                .stack_id(STACK_ID)
                .stack_name("fsxn-lattice")
                .logical_resource_id(logical)
                .physical_resource_id(physical)
                .resource_type(kind)
                .timestamp(DateTime::from_secs(0))
                .resource_status(aws_sdk_cloudformation::types::ResourceStatus::CreateComplete)
                .build()
        };
        let rule = mock!(aws_sdk_cloudformation::Client::describe_stack_resources)
            .match_requests(|r| r.stack_name() == Some("fsxn-lattice"))
            .then_output(move || {
                DescribeStackResourcesOutput::builder()
                    .stack_resources(resource(
                        "HealFunctionRole",
                        "fsxn-lattice-HealFunctionRole-AbC123",
                        "AWS::IAM::Role",
                    ))
                    .stack_resources(resource(
                        "HealFunction",
                        "fsxn-lattice-HealFunction-x",
                        "AWS::Lambda::Function",
                    ))
                    .build()
            });
        let a = audit(
            None,
            Some(mock_client!(aws_sdk_cloudformation, [&rule])),
            None,
            None,
            None,
        );
        let roles = a.stack_roles("fsxn-lattice").await.unwrap();
        assert_eq!(
            roles,
            vec![StackRole {
                logical_id: "HealFunctionRole".into(),
                arn: "arn:aws:iam::123456789012:role/fsxn-lattice-HealFunctionRole-AbC123".into(),
            }]
        );
    }

    #[tokio::test]
    async fn simulation_sends_actions_and_context_and_reads_every_page() {
        let result = |action: &str, decision: PolicyEvaluationDecisionType, missing: &[&str]| {
            let mut b = EvaluationResult::builder()
                .eval_action_name(action)
                .eval_decision(decision);
            for m in missing {
                b = b.missing_context_values(*m);
            }
            b.build().unwrap()
        };
        let first = mock!(aws_sdk_iam::Client::simulate_principal_policy)
            .match_requests(|r| {
                r.policy_source_arn() == Some("arn:aws:iam::123456789012:role/r")
                    && r.action_names() == ["vpc-lattice:CreateResourceGateway", "route53:GetChange"]
                    && r.marker().is_none()
                    && r.context_entries().iter().any(|c| {
                        c.context_key_name() == Some("aws:RequestTag/fsxn-lattice:owner")
                            && c.context_key_values() == ["demo"]
                            && c.context_key_type() == Some(&ContextKeyTypeEnum::String)
                    })
                    && r.context_entries().iter().any(|c| {
                        c.context_key_values() == ["CNAME", "TXT"]
                            && c.context_key_type() == Some(&ContextKeyTypeEnum::StringList)
                    })
            })
            .then_output(move || {
                SimulatePrincipalPolicyOutput::builder()
                    .evaluation_results(result(
                        "vpc-lattice:CreateResourceGateway",
                        PolicyEvaluationDecisionType::Allowed,
                        &[],
                    ))
                    .is_truncated(true)
                    .marker("m-2")
                    .build()
            });
        let second = mock!(aws_sdk_iam::Client::simulate_principal_policy)
            .match_requests(|r| r.marker() == Some("m-2"))
            .then_output(move || {
                SimulatePrincipalPolicyOutput::builder()
                    .evaluation_results(result(
                        "route53:GetChange",
                        PolicyEvaluationDecisionType::ImplicitDeny,
                        &["aws:ResourceTag/x"],
                    ))
                    .build()
            });
        let a = audit(
            None,
            None,
            Some(mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&first, &second])),
            None,
            None,
        );
        let decisions = a
            .simulate_principal_policy(&SimulationRequest {
                principal_arn: "arn:aws:iam::123456789012:role/r".into(),
                actions: vec!["vpc-lattice:CreateResourceGateway".into(), "route53:GetChange".into()],
                context: vec![
                    ("aws:RequestTag/fsxn-lattice:owner".into(), vec!["demo".into()]),
                    (
                        "route53:ChangeResourceRecordSetsRecordTypes".into(),
                        vec!["CNAME".into(), "TXT".into()],
                    ),
                ],
            })
            .await
            .unwrap();
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
        assert_eq!(decisions.len(), 2);
        assert_eq!(decisions[0].decision, Decision::Allowed);
        assert_eq!(decisions[1].decision, Decision::ImplicitDeny);
        assert_eq!(
            decisions[1].missing_context_values,
            vec!["aws:ResourceTag/x".to_string()]
        );
    }
}

mod zones {
    use super::*;
    use aws_sdk_route53::operation::get_hosted_zone::GetHostedZoneOutput;
    use aws_sdk_route53::types::{HostedZone, Vpc, VpcRegion};

    #[tokio::test]
    async fn a_private_zones_vpcs_are_read_from_get_hosted_zone() {
        let rule = mock!(aws_sdk_route53::Client::get_hosted_zone)
            .match_requests(|r| r.id() == Some("Z0A1B2C3D4E5F6G7H8I9J"))
            .then_output(|| {
                GetHostedZoneOutput::builder()
                    .hosted_zone(
                        HostedZone::builder()
                            .id("/hostedzone/Z0A1B2C3D4E5F6G7H8I9J")
                            .name("corp.non-97.net.")
                            .caller_reference("c")
                            .build()
                            .unwrap(),
                    )
                    .vpcs(
                        Vpc::builder()
                            .vpc_region(VpcRegion::UsEast1)
                            .vpc_id("vpc-0764d7f66aa8fa58a")
                            .build(),
                    )
                    .build()
            });
        let a = audit(None, None, None, None, Some(mock_client!(aws_sdk_route53, [&rule])));
        let vpcs = a
            .hosted_zone_vpcs(&HostedZoneId::parse("Z0A1B2C3D4E5F6G7H8I9J").unwrap())
            .await
            .unwrap();
        assert_eq!(vpcs, vec![VpcId::parse("vpc-0764d7f66aa8fa58a").unwrap()]);
    }
}

mod dhcp {
    use super::*;
    use aws_sdk_ec2::Client;
    use aws_sdk_ec2::operation::describe_dhcp_options::DescribeDhcpOptionsOutput;
    use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsOutput;
    use aws_sdk_ec2::types::{AttributeValue, DhcpConfiguration, DhcpOptions, Vpc};

    const VPC: &str = "vpc-0764d7f66aa8fa58a";

    fn vpc_with(dhcp_options_id: &str) -> aws_smithy_mocks::Rule {
        let id = dhcp_options_id.to_string();
        mock!(Client::describe_vpcs)
            .match_requests(|r| r.vpc_ids() == [VPC])
            .then_output(move || {
                DescribeVpcsOutput::builder()
                    .vpcs(Vpc::builder().vpc_id(VPC).dhcp_options_id(&id).build())
                    .build()
            })
    }

    fn config(key: &str, values: &[&str]) -> DhcpConfiguration {
        let mut c = DhcpConfiguration::builder().key(key);
        for v in values {
            c = c.values(AttributeValue::builder().value(*v).build());
        }
        c.build()
    }

    #[tokio::test]
    async fn a_vpcs_dhcp_options_are_read_by_the_id_describe_vpcs_names() {
        let vpcs = vpc_with("dopt-0e9f8a7b6c5d43210");
        let options = mock!(Client::describe_dhcp_options)
            .match_requests(|r| r.dhcp_options_ids() == ["dopt-0e9f8a7b6c5d43210"])
            .then_output(|| {
                DescribeDhcpOptionsOutput::builder()
                    .dhcp_options(
                        DhcpOptions::builder()
                            .dhcp_options_id("dopt-0e9f8a7b6c5d43210")
                            .dhcp_configurations(config("domain-name", &["corp.non-97.net"]))
                            .dhcp_configurations(config("domain-name-servers", &["10.0.0.139", "10.0.1.77"]))
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&vpcs, &options]);
        let a = audit(None, None, None, Some(client), None);
        let dns = a.vpc_dhcp_dns(&VpcId::parse(VPC).unwrap()).await.unwrap();
        assert_eq!(
            dns,
            DhcpDns {
                dhcp_options_id: "dopt-0e9f8a7b6c5d43210".into(),
                domain_name_servers: vec!["10.0.0.139".into(), "10.0.1.77".into()],
            }
        );
        assert_eq!((vpcs.num_calls(), options.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn a_vpc_without_a_dhcp_option_set_is_not_looked_up_further() {
        let vpcs = vpc_with("default");
        let options = mock!(Client::describe_dhcp_options).then_output(|| unreachable!());
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&vpcs, &options]);
        let a = audit(None, None, None, Some(client), None);
        let dns = a.vpc_dhcp_dns(&VpcId::parse(VPC).unwrap()).await.unwrap();
        assert_eq!(
            (dns.dhcp_options_id.as_str(), dns.domain_name_servers.len()),
            ("default", 0)
        );
        assert_eq!(options.num_calls(), 0);
    }

    #[tokio::test]
    async fn a_denied_describe_dhcp_options_is_access_denied_naming_the_call() {
        let vpcs = vpc_with("dopt-0e9f8a7b6c5d43210");
        let options = mock!(Client::describe_dhcp_options).then_http_response(|| {
            ec2_error(
                "UnauthorizedOperation",
                "You are not authorized to perform this operation.",
            )
        });
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&vpcs, &options]);
        let a = audit(None, None, None, Some(client), None);
        let e = a.vpc_dhcp_dns(&VpcId::parse(VPC).unwrap()).await.unwrap_err();
        assert_eq!(
            (e.kind, e.operation.as_str()),
            (ErrorKind::AccessDenied, "DescribeDhcpOptions")
        );
    }
}

/// The doctor simulates, per function role, the VPC Lattice and Route 53 actions (and the EC2
/// ENI actions VPC Lattice requires of a gateway's creator) that the IAM table grants it: the
/// two lists must not drift apart.
#[test]
fn the_doctors_role_actions_are_the_iam_tables_lattice_route53_and_eni_actions() {
    use fsxn_lattice_aws::iam::{Capability, actions};
    use fsxn_lattice_core::doctor::role_actions;
    use std::collections::BTreeSet;
    let eni = [
        "ec2:CreateNetworkInterface",
        "ec2:CreateNetworkInterfacePermission",
        "ec2:AssignPrivateIpAddresses",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
    ];
    for (role, caps) in [
        (
            "ProvisionFunctionRole",
            &[Capability::Read, Capability::Infrastructure][..],
        ),
        ("HealFunctionRole", &[Capability::Read, Capability::Infrastructure]),
        ("PublishAliasFunctionRole", &[Capability::Read, Capability::Dns]),
        (
            "ReconcileFunctionRole",
            &[Capability::Read, Capability::Infrastructure, Capability::Dns],
        ),
    ] {
        let table: BTreeSet<&str> = actions(caps)
            .into_iter()
            .filter(|a| a.starts_with("vpc-lattice:") || a.starts_with("route53:") || eni.contains(a))
            .collect();
        let doctor: BTreeSet<&str> = role_actions(role).unwrap().into_iter().collect();
        assert_eq!(
            doctor,
            table,
            "{role}: only in the doctor {:?}, only in the table {:?}",
            doctor.difference(&table).collect::<Vec<_>>(),
            table.difference(&doctor).collect::<Vec<_>>()
        );
    }
}
