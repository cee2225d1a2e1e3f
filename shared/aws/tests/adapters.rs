//! Adapter request/response shape tests with aws-smithy-mocks: request fields asserted,
//! responses taken from the seed's real AWS output where it has them, throttling then success,
//! and error codes mapped to the core's kinds.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use fsxn_lattice_aws::{AwsEc2, AwsFsx, AwsLattice, AwsRoute53};
use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;
use std::time::Duration;

fn http(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    let mut r = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body.to_string()));
    for (k, v) in headers {
        r.headers_mut().insert(k.to_string(), v.to_string());
    }
    r
}

fn ec2_error(code: &str, message: &str) -> HttpResponse {
    http(
        400,
        &[("content-type", "text/xml")],
        &format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>r-1</RequestID></Response>"
        ),
    )
}

mod ec2 {
    use super::*;
    use aws_sdk_ec2::Client;
    use aws_sdk_ec2::operation::create_subnet_cidr_reservation::CreateSubnetCidrReservationOutput;
    use aws_sdk_ec2::operation::create_vpc_endpoint::CreateVpcEndpointOutput;
    use aws_sdk_ec2::operation::delete_vpc_endpoints::DeleteVpcEndpointsOutput;
    use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
    use aws_sdk_ec2::operation::describe_vpc_endpoint_associations::DescribeVpcEndpointAssociationsOutput;
    use aws_sdk_ec2::operation::describe_vpc_endpoints::DescribeVpcEndpointsOutput;
    use aws_sdk_ec2::operation::get_subnet_cidr_reservations::GetSubnetCidrReservationsOutput;
    use aws_sdk_ec2::types::{
        DnsEntry, Ipv4PrefixSpecification, NetworkInterface as SdkEni, NetworkInterfacePrivateIpAddress, ResourceType,
        SecurityGroupIdentifier, State, SubnetCidrReservation, SubnetCidrReservationType, Tag, UnsuccessfulItem,
        UnsuccessfulItemError, VpcEndpoint as SdkEndpoint, VpcEndpointAssociation, VpcEndpointType,
    };

    const RCFG_ARN: &str = "arn:aws:vpc-lattice:us-east-1:123456789012:resourceconfiguration/rcfg-07e1be0ba948e9054";

    /// The seed's `describe-vpc-endpoints` output for the working endpoint.
    fn seed_endpoint(state: &str) -> SdkEndpoint {
        SdkEndpoint::builder()
            .vpc_endpoint_id("vpce-046678eea41db3874")
            .vpc_endpoint_type(VpcEndpointType::Resource)
            .vpc_id("vpc-0764d7f66aa8fa58a")
            .state(State::from(state))
            .subnet_ids("subnet-0493d3cebba9cc691")
            .subnet_ids("subnet-0bcd0a0fb136048db")
            .groups(
                SecurityGroupIdentifier::builder()
                    .group_id("sg-0414e809a306108ed")
                    .group_name("default")
                    .build(),
            )
            .private_dns_enabled(true)
            .network_interface_ids("eni-030b24f4caa0db830")
            .network_interface_ids("eni-089bc0db66b7c46eb")
            .resource_configuration_arn(RCFG_ARN)
            .build()
    }

    #[tokio::test]
    async fn resource_endpoints_are_read_with_lower_camel_state_and_the_association_dns_name() {
        let list = mock!(Client::describe_vpc_endpoints)
            .match_requests(|r| {
                r.filters()
                    .iter()
                    .any(|f| f.name() == Some("vpc-endpoint-type") && f.values() == ["Resource"])
                    && r.filters()
                        .iter()
                        .any(|f| f.name() == Some("vpc-id") && f.values() == ["vpc-0764d7f66aa8fa58a"])
            })
            .then_output(|| {
                DescribeVpcEndpointsOutput::builder()
                    .vpc_endpoints(seed_endpoint("available"))
                    .build()
            });
        let assoc = mock!(Client::describe_vpc_endpoint_associations)
            .match_requests(|r| r.vpc_endpoint_ids() == ["vpce-046678eea41db3874"])
            .then_output(|| {
                DescribeVpcEndpointAssociationsOutput::builder()
                    .vpc_endpoint_associations(
                        VpcEndpointAssociation::builder()
                            .id("vpce-rsc-asc-07d8bb73f802a2dab")
                            .vpc_endpoint_id("vpce-046678eea41db3874")
                            .associated_resource_accessibility("Accessible")
                            .dns_entry(
                                DnsEntry::builder()
                                    .dns_name("vpce-046678eea41db3874.rcfg-07e1be0ba948e9054.4232ccc.vpc-lattice-rsc.us-east-1.on.aws")
                                    .hosted_zone_id("Z08285483B41F6ASEM5U1")
                                    .build(),
                            )
                            .associated_resource_arn(RCFG_ARN)
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&list, &assoc]);
        let eps = AwsEc2::new(client)
            .describe_resource_endpoints(&[EndpointFilter::Vpcs(vec![
                VpcId::parse("vpc-0764d7f66aa8fa58a").unwrap(),
            ])])
            .await
            .unwrap();
        assert_eq!(eps.len(), 1);
        assert_eq!(
            eps[0].state,
            EndpointState::Available,
            "lower-camel `available` is not lost to the SDK's Unknown"
        );
        assert_eq!(
            eps[0].dns_name.as_deref(),
            Some("vpce-046678eea41db3874.rcfg-07e1be0ba948e9054.4232ccc.vpc-lattice-rsc.us-east-1.on.aws")
        );
        assert_eq!(eps[0].security_group_ids[0].as_str(), "sg-0414e809a306108ed");
        assert_eq!(eps[0].network_interface_ids.len(), 2);
        assert_eq!((list.num_calls(), assoc.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn endpoints_found_by_two_filters_are_listed_and_resolved_once() {
        let list = mock!(Client::describe_vpc_endpoints)
            .match_requests(|r| r.max_results() == Some(1000))
            .then_output(|| {
                DescribeVpcEndpointsOutput::builder()
                    .vpc_endpoints(seed_endpoint("available"))
                    .build()
            });
        let assoc = mock!(Client::describe_vpc_endpoint_associations)
            .match_requests(|r| r.vpc_endpoint_ids() == ["vpce-046678eea41db3874"] && r.max_results() == Some(100))
            .then_output(|| DescribeVpcEndpointAssociationsOutput::builder().build());
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&list, &assoc]);
        let eps = AwsEc2::new(client)
            .describe_resource_endpoints(&[
                EndpointFilter::Vpcs(vec![VpcId::parse("vpc-0764d7f66aa8fa58a").unwrap()]),
                EndpointFilter::Tag {
                    key: "fsxn-lattice:owner".into(),
                    value: "prod".into(),
                },
            ])
            .await
            .unwrap();
        assert_eq!(eps.len(), 1, "the same endpoint from both queries is one endpoint");
        assert_eq!((list.num_calls(), assoc.num_calls()), (2, 1));
    }

    #[tokio::test]
    async fn failed_endpoints_carry_their_reason() {
        let list = mock!(Client::describe_vpc_endpoints).then_output(|| {
            let mut e = seed_endpoint("failed");
            e.failure_reason = Some("Failed to create".into());
            DescribeVpcEndpointsOutput::builder().vpc_endpoints(e).build()
        });
        let assoc = mock!(Client::describe_vpc_endpoint_associations)
            .then_output(|| DescribeVpcEndpointAssociationsOutput::builder().build());
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&list, &assoc]);
        let eps = AwsEc2::new(client)
            .describe_resource_endpoints(&[EndpointFilter::Vpcs(vec![
                VpcId::parse("vpc-0764d7f66aa8fa58a").unwrap(),
            ])])
            .await
            .unwrap();
        assert_eq!(eps[0].state, EndpointState::Failed);
        assert_eq!(eps[0].failure_reason.as_deref(), Some("Failed to create"));
        assert_eq!(eps[0].dns_name, None);
    }

    #[tokio::test]
    async fn create_vpc_endpoint_always_sends_type_resource_and_our_client_token() {
        let rule = mock!(Client::create_vpc_endpoint)
            .match_requests(|r| {
                r.vpc_endpoint_type() == Some(&VpcEndpointType::Resource)
                    && r.client_token() == Some("fsxnl-token")
                    && r.resource_configuration_arn() == Some(RCFG_ARN)
                    && r.private_dns_enabled() == Some(true)
                    && r.security_group_ids() == ["sg-0414e809a306108ed"]
                    && r.tag_specifications().iter().any(|t| {
                        t.resource_type() == Some(&ResourceType::VpcEndpoint)
                            && t.tags()
                                .iter()
                                .any(|t| t.key() == Some("fsxn-lattice:owner") && t.value() == Some("prod"))
                    })
            })
            // The seed's create-vpc-endpoint answer.
            .then_output(|| {
                CreateVpcEndpointOutput::builder()
                    .vpc_endpoint(seed_endpoint("Pending"))
                    .build()
            });
        let client = mock_client!(aws_sdk_ec2, [&rule]);
        let ep = AwsEc2::new(client)
            .create_vpc_endpoint(&CreateVpcEndpointRequest {
                private_dns: Default::default(),
                vpc_id: VpcId::parse("vpc-0764d7f66aa8fa58a").unwrap(),
                subnet_ids: vec![SubnetId::parse("subnet-0493d3cebba9cc691").unwrap()],
                security_group_ids: vec![SecurityGroupId::parse("sg-0414e809a306108ed").unwrap()],
                resource_configuration_arn: RCFG_ARN.into(),
                private_dns_enabled: true,
                client_token: "fsxnl-token".into(),
                tags: [("fsxn-lattice:owner".to_string(), "prod".to_string())].into(),
            })
            .await
            .unwrap();
        assert_eq!(ep.state, EndpointState::Pending);
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn delete_vpc_endpoints_unsuccessful_items_are_errors() {
        let rule = mock!(Client::delete_vpc_endpoints).then_output(|| {
            DeleteVpcEndpointsOutput::builder()
                .unsuccessful(
                    UnsuccessfulItem::builder()
                        .resource_id("vpce-0e1cbdf9522e6fb17")
                        .error(
                            UnsuccessfulItemError::builder()
                                .code("InvalidVpcEndpoint.NotFound")
                                .message("The Vpc Endpoint Id 'vpce-0e1cbdf9522e6fb17' does not exist")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let client = mock_client!(aws_sdk_ec2, [&rule]);
        let err = AwsEc2::new(client)
            .delete_vpc_endpoint(&VpcEndpointId::parse("vpce-0e1cbdf9522e6fb17").unwrap())
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind, err.code.as_str()),
            (ErrorKind::NotFound, "InvalidVpcEndpoint.NotFound")
        );
    }

    #[tokio::test]
    async fn the_seed_gateway_eni_is_read_with_its_prefix_and_gateway() {
        let rule = mock!(Client::describe_network_interfaces)
            .match_requests(|r| {
                // Accounts may hide service-managed ENIs (VPC Lattice's among them) unless asked.
                r.include_managed_resources() == Some(true)
                    && r.filters()
                        .iter()
                        .any(|f| f.name() == Some("vpc-id") && f.values() == ["vpc-043c0858ea33e8ec2"])
            })
            .then_output(|| {
                DescribeNetworkInterfacesOutput::builder()
                    .network_interfaces(
                        SdkEni::builder()
                            .availability_zone("us-east-1a")
                            .description("Resource Gateway Interface rgw-078bcf4c64e2fc005")
                            .network_interface_id("eni-06c2d3e93eb1b8297")
                            .private_ip_address("10.0.6.79")
                            .private_ip_addresses(
                                NetworkInterfacePrivateIpAddress::builder()
                                    .primary(true)
                                    .private_ip_address("10.0.6.79")
                                    .build(),
                            )
                            .ipv4_prefixes(Ipv4PrefixSpecification::builder().ipv4_prefix("10.0.4.32/28").build())
                            .subnet_id("subnet-029a939990627d570")
                            .tag_set(Tag::builder().key("VpcLatticeManaged").value("true").build())
                            .vpc_id("vpc-043c0858ea33e8ec2")
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_ec2, [&rule]);
        let enis = AwsEc2::new(client)
            .describe_network_interfaces(&VpcId::parse("vpc-043c0858ea33e8ec2").unwrap())
            .await
            .unwrap();
        assert_eq!(
            enis[0].private_ips,
            vec!["10.0.6.79".parse::<std::net::Ipv4Addr>().unwrap()]
        );
        assert_eq!(enis[0].ipv4_prefixes[0].to_string(), "10.0.4.32/28");
        assert_eq!(enis[0].resource_gateway_id().unwrap().as_str(), "rgw-078bcf4c64e2fc005");
    }

    #[tokio::test]
    async fn ipv6_only_subnets_are_skipped_not_fatal() {
        use aws_sdk_ec2::operation::describe_subnets::DescribeSubnetsOutput;
        use aws_sdk_ec2::types::{Subnet as SdkSubnet, SubnetIpv6CidrBlockAssociation};
        let rule = mock!(Client::describe_subnets).then_output(|| {
            DescribeSubnetsOutput::builder()
                .subnets(
                    SdkSubnet::builder()
                        .subnet_id("subnet-0ddc1cafa116ba0dd")
                        .vpc_id("vpc-043c0858ea33e8ec2")
                        .availability_zone("us-east-1a")
                        .cidr_block("10.0.8.0/24")
                        .build(),
                )
                .subnets(
                    SdkSubnet::builder()
                        .subnet_id("subnet-06666666666666666")
                        .vpc_id("vpc-043c0858ea33e8ec2")
                        .availability_zone("us-east-1a")
                        .ipv6_native(true)
                        .ipv6_cidr_block_association_set(
                            SubnetIpv6CidrBlockAssociation::builder()
                                .ipv6_cidr_block("2600:1f18::/64")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let client = mock_client!(aws_sdk_ec2, [&rule]);
        let subnets = AwsEc2::new(client)
            .describe_subnets(&VpcId::parse("vpc-043c0858ea33e8ec2").unwrap())
            .await
            .unwrap();
        assert_eq!(subnets.len(), 1);
        assert_eq!(subnets[0].id.as_str(), "subnet-0ddc1cafa116ba0dd");
    }

    #[tokio::test]
    async fn route_tables_are_read_with_main_flag_current_associations_and_live_routes() {
        use aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput;
        use aws_sdk_ec2::types::{
            Route as SdkRoute, RouteState, RouteTable as SdkTable, RouteTableAssociation as SdkAssoc,
            RouteTableAssociationState, RouteTableAssociationStateCode,
        };
        let state = |c: RouteTableAssociationStateCode| RouteTableAssociationState::builder().state(c).build();
        let rule = mock!(Client::describe_route_tables)
            .match_requests(|r| {
                r.filters()
                    .iter()
                    .any(|f| f.name() == Some("vpc-id") && f.values() == ["vpc-043c0858ea33e8ec2"])
            })
            .then_output(move || {
                DescribeRouteTablesOutput::builder()
                    .route_tables(
                        SdkTable::builder()
                            .route_table_id("rtb-0f1e2d3c4b5a69788")
                            .vpc_id("vpc-043c0858ea33e8ec2")
                            .associations(
                                SdkAssoc::builder()
                                    .main(true)
                                    .route_table_association_id("rtbassoc-0a")
                                    .association_state(state(RouteTableAssociationStateCode::Associated))
                                    .build(),
                            )
                            .associations(
                                SdkAssoc::builder()
                                    .main(false)
                                    .subnet_id("subnet-0ddc1cafa116ba0dd")
                                    .route_table_association_id("rtbassoc-0b")
                                    .association_state(state(RouteTableAssociationStateCode::Associated))
                                    .build(),
                            )
                            .associations(
                                SdkAssoc::builder()
                                    .main(false)
                                    .subnet_id("subnet-062714f49313a0ea5")
                                    .route_table_association_id("rtbassoc-0c")
                                    .association_state(state(RouteTableAssociationStateCode::Disassociating))
                                    .build(),
                            )
                            .routes(
                                SdkRoute::builder()
                                    .destination_cidr_block("10.0.0.0/16")
                                    .gateway_id("local")
                                    .build(),
                            )
                            .routes(
                                SdkRoute::builder()
                                    .destination_cidr_block("10.0.15.192/26")
                                    .network_interface_id("eni-0fsx")
                                    .state(RouteState::Active)
                                    .build(),
                            )
                            .routes(
                                SdkRoute::builder()
                                    .destination_cidr_block("10.9.0.0/16")
                                    .transit_gateway_id("tgw-1")
                                    .state(RouteState::Blackhole)
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_ec2, [&rule]);
        let tables = AwsEc2::new(client)
            .describe_route_tables(&VpcId::parse("vpc-043c0858ea33e8ec2").unwrap())
            .await
            .unwrap();
        assert_eq!(tables.len(), 1);
        let t = &tables[0];
        assert!(t.main);
        assert_eq!(
            t.associations.iter().map(|a| a.subnet_id.as_str()).collect::<Vec<_>>(),
            ["subnet-0ddc1cafa116ba0dd"],
            "the disassociating one does not count"
        );
        assert_eq!(
            t.routes
                .iter()
                .map(|r| (r.destination.to_string(), r.target.as_str()))
                .collect::<Vec<_>>(),
            [
                ("10.0.0.0/16".to_string(), "local"),
                ("10.0.15.192/26".to_string(), "eni-0fsx")
            ],
            "blackholed routes carry nothing"
        );
    }

    #[tokio::test]
    async fn associate_route_table_sends_both_ids_and_returns_the_association() {
        use aws_sdk_ec2::operation::associate_route_table::AssociateRouteTableOutput;
        let rule = mock!(Client::associate_route_table)
            .match_requests(|r| {
                r.route_table_id() == Some("rtb-0f1e2d3c4b5a69788") && r.subnet_id() == Some("subnet-0a7d3c5e9b1f24680")
            })
            .then_output(|| {
                AssociateRouteTableOutput::builder()
                    .association_id("rtbassoc-0123")
                    .build()
            });
        let already = mock!(Client::associate_route_table).then_http_response(|| {
            ec2_error(
                "Resource.AlreadyAssociated",
                "the specified association for route table rtb-1 conflicts with an existing association",
            )
        });
        let client = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&rule, &already]);
        let a = AwsEc2::new(client);
        let rtb = RouteTableId::parse("rtb-0f1e2d3c4b5a69788").unwrap();
        let subnet = SubnetId::parse("subnet-0a7d3c5e9b1f24680").unwrap();
        assert_eq!(a.associate_route_table(&rtb, &subnet).await.unwrap(), "rtbassoc-0123");
        let e = a.associate_route_table(&rtb, &subnet).await.unwrap_err();
        assert_eq!(
            (e.kind, e.code.as_str()),
            (ErrorKind::Conflict, "Resource.AlreadyAssociated")
        );
    }

    #[tokio::test]
    async fn missing_credentials_are_a_configuration_error_that_names_the_chain() {
        use aws_credential_types::provider::error::CredentialsError;
        use aws_credential_types::provider::{ProvideCredentials, future};
        /// Answers as aws-config's default chain does when no link of it has credentials.
        #[derive(Debug)]
        struct EmptyChain;
        impl ProvideCredentials for EmptyChain {
            fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
            where
                Self: 'a,
            {
                future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
                    "no providers in chain provided credentials",
                )))
            }
        }
        // The endpoint is a closed local port, never reached.
        let conf = aws_sdk_ec2::Config::builder()
            .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
            .region(aws_sdk_ec2::config::Region::new("us-east-1"))
            .credentials_provider(EmptyChain)
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let e = AwsEc2::new(Client::from_conf(conf))
            .describe_subnets(&VpcId::parse("vpc-043c0858ea33e8ec2").unwrap())
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput, "{e:?}");
        assert_eq!(e.code, "NoCredentials");
        assert!(
            e.message.contains("AWS_PROFILE") && e.message.contains("--profile"),
            "{}",
            e.message
        );
    }

    #[tokio::test]
    async fn cidr_reservations_are_paged_by_hand() {
        let rule = mock!(Client::get_subnet_cidr_reservations)
            .sequence()
            .output(|| {
                GetSubnetCidrReservationsOutput::builder()
                    .subnet_ipv4_cidr_reservations(
                        SubnetCidrReservation::builder()
                            .subnet_cidr_reservation_id("scr-0a")
                            .subnet_id("subnet-0a")
                            .cidr("10.0.0.16/28")
                            .reservation_type(SubnetCidrReservationType::Prefix)
                            .build(),
                    )
                    .next_token("page-2")
                    .build()
            })
            .output(|| {
                GetSubnetCidrReservationsOutput::builder()
                    .subnet_ipv4_cidr_reservations(
                        SubnetCidrReservation::builder()
                            .subnet_cidr_reservation_id("scr-0b")
                            .subnet_id("subnet-0a")
                            .cidr("10.0.0.128/25")
                            .reservation_type(SubnetCidrReservationType::Explicit)
                            .build(),
                    )
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_ec2, [&rule]);
        let rs = AwsEc2::new(client)
            .get_subnet_cidr_reservations(&SubnetId::parse("subnet-0a").unwrap())
            .await
            .unwrap();
        assert_eq!(
            rs.iter()
                .map(|r| (r.cidr.to_string(), r.reservation_type))
                .collect::<Vec<_>>(),
            [
                ("10.0.0.16/28".to_string(), ReservationType::Prefix),
                ("10.0.0.128/25".to_string(), ReservationType::Explicit)
            ]
        );
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn throttling_then_success_is_retried() {
        let rule = mock!(Client::create_subnet_cidr_reservation)
            .sequence()
            .http_response(|| ec2_error("RequestLimitExceeded", "Request limit exceeded."))
            .times(2)
            .output(|| {
                CreateSubnetCidrReservationOutput::builder()
                    .subnet_cidr_reservation(
                        SubnetCidrReservation::builder()
                            .subnet_cidr_reservation_id("scr-0c")
                            .subnet_id("subnet-0a")
                            .cidr("10.0.0.16/28")
                            .reservation_type(SubnetCidrReservationType::Prefix)
                            .build(),
                    )
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&rule], |c| c.retry_config(
            aws_sdk_ec2::config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
        ));
        let r = AwsEc2::new(client)
            .create_subnet_cidr_reservation(&reservation_request())
            .await
            .unwrap();
        assert_eq!(r.id.as_str(), "scr-0c");
        assert_eq!(rule.num_calls(), 3);
    }

    fn reservation_request() -> CreateCidrReservationRequest {
        CreateCidrReservationRequest {
            subnet_id: SubnetId::parse("subnet-0a").unwrap(),
            cidr: "10.0.0.16/28".parse().unwrap(),
            reservation_type: ReservationType::Prefix,
            description: "d".into(),
            tags: Tags::new(),
        }
    }

    #[tokio::test]
    async fn vpcs_are_read_with_associated_cidrs_and_both_dns_attributes() {
        use aws_sdk_ec2::operation::describe_vpc_attribute::DescribeVpcAttributeOutput;
        use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsOutput;
        use aws_sdk_ec2::types::{
            AttributeBooleanValue, Vpc, VpcAttributeName, VpcCidrBlockAssociation, VpcCidrBlockState,
            VpcCidrBlockStateCode,
        };
        let vpcs = mock!(Client::describe_vpcs)
            .match_requests(|r| {
                r.vpc_ids().is_empty()
                    && r.filters().len() == 1
                    && r.filters()[0].name() == Some("vpc-id")
                    && r.filters()[0].values() == ["vpc-0764d7f66aa8fa58a"]
            })
            .then_output(|| {
                let assoc = |cidr: &str, state: VpcCidrBlockStateCode| {
                    VpcCidrBlockAssociation::builder()
                        .cidr_block(cidr)
                        .cidr_block_state(VpcCidrBlockState::builder().state(state).build())
                        .build()
                };
                DescribeVpcsOutput::builder()
                    .vpcs(
                        Vpc::builder()
                            .vpc_id("vpc-0764d7f66aa8fa58a")
                            .cidr_block("10.1.0.0/16")
                            .cidr_block_association_set(assoc("10.1.0.0/16", VpcCidrBlockStateCode::Associated))
                            .cidr_block_association_set(assoc("100.64.0.0/16", VpcCidrBlockStateCode::Disassociated))
                            .build(),
                    )
                    .build()
            });
        let support = mock!(Client::describe_vpc_attribute)
            .match_requests(|r| r.attribute() == Some(&VpcAttributeName::EnableDnsSupport))
            .then_output(|| {
                DescribeVpcAttributeOutput::builder()
                    .enable_dns_support(AttributeBooleanValue::builder().value(true).build())
                    .build()
            });
        let hostnames = mock!(Client::describe_vpc_attribute)
            .match_requests(|r| r.attribute() == Some(&VpcAttributeName::EnableDnsHostnames))
            .then_output(|| {
                DescribeVpcAttributeOutput::builder()
                    .enable_dns_hostnames(AttributeBooleanValue::builder().value(false).build())
                    .build()
            });
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&vpcs, &support, &hostnames]);
        let v = AwsEc2::new(client)
            .describe_vpcs(&[VpcId::parse("vpc-0764d7f66aa8fa58a").unwrap()], VpcAttributes::Dns)
            .await
            .unwrap();
        assert_eq!(
            v[0].cidr_blocks.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            ["10.1.0.0/16"],
            "disassociated blocks are not the VPC's"
        );
        assert!(v[0].enable_dns_support && !v[0].enable_dns_hostnames);
    }

    #[tokio::test]
    async fn create_subnet_tags_the_subnet_on_creation() {
        use aws_sdk_ec2::operation::create_subnet::CreateSubnetOutput;
        use aws_sdk_ec2::types::Subnet as SdkSubnet;
        let rule = mock!(Client::create_subnet)
            .match_requests(|r| {
                r.vpc_id() == Some("vpc-043c0858ea33e8ec2")
                    && r.cidr_block() == Some("10.0.2.0/26")
                    && r.availability_zone() == Some("us-east-1b")
                    && r.tag_specifications().iter().any(|t| {
                        t.resource_type() == Some(&ResourceType::Subnet)
                            && t.tags().iter().any(|t| t.key() == Some("fsxn-lattice:owner"))
                    })
            })
            .then_output(|| {
                CreateSubnetOutput::builder()
                    .subnet(
                        SdkSubnet::builder()
                            .subnet_id("subnet-01ca23340c422c467")
                            .vpc_id("vpc-043c0858ea33e8ec2")
                            .cidr_block("10.0.2.0/26")
                            .availability_zone("us-east-1b")
                            .tags(Tag::builder().key("fsxn-lattice:owner").value("prod").build())
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_ec2, [&rule]);
        let s = AwsEc2::new(client)
            .create_subnet(&CreateSubnetRequest {
                vpc_id: VpcId::parse("vpc-043c0858ea33e8ec2").unwrap(),
                availability_zone: "us-east-1b".into(),
                cidr: "10.0.2.0/26".parse().unwrap(),
                tags: [("fsxn-lattice:owner".to_string(), "prod".to_string())].into(),
            })
            .await
            .unwrap();
        assert_eq!(s.id.as_str(), "subnet-01ca23340c422c467");
    }

    #[tokio::test]
    async fn ec2_error_codes_map_to_kinds() {
        let cases = [
            (
                "InvalidParameterValue",
                "There aren't sufficient free Ipv4 addresses or prefixes",
                ErrorKind::CapacityExhausted,
            ),
            (
                "InsufficientCidrBlocks",
                "There are not enough free cidr blocks",
                ErrorKind::CapacityExhausted,
            ),
            (
                "InvalidParameterValue",
                "The CIDR overlaps with an existing reservation",
                ErrorKind::InvalidInput,
            ),
            ("IdempotentParameterMismatch", "token reused", ErrorKind::Conflict),
            ("InvalidSubnetID.NotFound", "no such subnet", ErrorKind::NotFound),
            ("DependencyViolation", "in use", ErrorKind::Conflict),
            ("UnauthorizedOperation", "not authorized", ErrorKind::AccessDenied),
            ("RequestLimitExceeded", "slow down", ErrorKind::Transient),
        ];
        for (code, message, kind) in cases {
            let rule =
                mock!(Client::create_subnet_cidr_reservation).then_http_response(move || ec2_error(code, message));
            let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&rule], |c| c
                .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
            let err = AwsEc2::new(client)
                .create_subnet_cidr_reservation(&reservation_request())
                .await
                .unwrap_err();
            assert_eq!(
                (err.kind, err.code.as_str(), err.operation.as_str()),
                (kind, code, "CreateSubnetCidrReservation"),
                "{message}"
            );
            assert_eq!(err.message, message);
        }
    }
}

mod lattice {
    use super::*;
    use aws_sdk_vpclattice::Client;
    use aws_sdk_vpclattice::operation::create_resource_gateway::CreateResourceGatewayOutput;
    use aws_sdk_vpclattice::operation::get_resource_configuration::GetResourceConfigurationOutput;
    use aws_sdk_vpclattice::operation::list_resource_configurations::ListResourceConfigurationsOutput;
    use aws_sdk_vpclattice::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_sdk_vpclattice::types::{
        IpResource, ResourceConfigurationDefinition, ResourceConfigurationStatus, ResourceConfigurationSummary,
        ResourceConfigurationType, ResourceGatewayIpAddressType, ResourceGatewayStatus,
    };

    fn lattice_error(status: u16, kind: &str, message: &str, extra: &[(&str, &str)]) -> HttpResponse {
        let mut headers = vec![("content-type", "application/json"), ("x-amzn-errortype", kind)];
        headers.extend_from_slice(extra);
        http(status, &headers, &format!("{{\"message\":\"{message}\"}}"))
    }

    /// A Tagging API client answering `GetResources` with `tagged` (ARN, tags), checking that the
    /// request asks for one Lattice type, the owner tag key and full pages.
    fn tagging(
        resource_type: &'static str,
        tagged: Vec<(&'static str, Vec<(&'static str, &'static str)>)>,
    ) -> (aws_smithy_mocks::Rule, aws_sdk_resourcegroupstagging::Client) {
        use aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput;
        use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag as TagPair};
        let rule = mock!(aws_sdk_resourcegroupstagging::Client::get_resources)
            .match_requests(move |r| {
                r.resource_type_filters() == [resource_type]
                    && r.tag_filters().len() == 1
                    && r.tag_filters()[0].key() == Some("fsxn-lattice:owner")
                    && r.tag_filters()[0].values().is_empty()
                    && r.resources_per_page() == Some(100)
            })
            .then_output(move || {
                let mut out = GetResourcesOutput::builder().pagination_token("");
                for (arn, tags) in &tagged {
                    let mut m = ResourceTagMapping::builder().resource_arn(*arn);
                    for (k, v) in tags {
                        m = m.tags(TagPair::builder().key(*k).value(*v).build().unwrap());
                    }
                    out = out.resource_tag_mapping_list(m.build());
                }
                out.build()
            });
        let client = mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, [&rule]);
        (rule, client)
    }

    /// For tests that make no read: a Tagging API client that answers nothing.
    fn no_tagging() -> aws_sdk_resourcegroupstagging::Client {
        tagging("vpc-lattice:none", vec![]).1
    }

    fn gateway_request() -> CreateResourceGatewayRequest {
        CreateResourceGatewayRequest {
            name: "fsxnl-07f1088148f103e3a-g2".into(),
            vpc_id: VpcId::parse("vpc-043c0858ea33e8ec2").unwrap(),
            subnet_ids: vec![
                SubnetId::parse("subnet-029a939990627d570").unwrap(),
                SubnetId::parse("subnet-01ca23340c422c467").unwrap(),
            ],
            security_group_ids: vec![SecurityGroupId::parse("sg-03730d9e2b49e7cbc").unwrap()],
            ipv4_addresses_per_eni: 16,
            client_token: "fsxnl-gw-token".into(),
            tags: [("fsxn-lattice:owner".to_string(), "prod".to_string())].into(),
        }
    }

    #[tokio::test]
    async fn create_resource_gateway_sends_every_field_and_reads_the_seed_answer() {
        let rule = mock!(Client::create_resource_gateway)
            .match_requests(|r| {
                r.name() == Some("fsxnl-07f1088148f103e3a-g2")
                    && r.vpc_identifier() == Some("vpc-043c0858ea33e8ec2")
                    && r.subnet_ids() == ["subnet-029a939990627d570", "subnet-01ca23340c422c467"]
                    && r.security_group_ids() == ["sg-03730d9e2b49e7cbc"]
                    && r.ip_address_type() == Some(&ResourceGatewayIpAddressType::Ipv4)
                    && r.ipv4_addresses_per_eni() == Some(16)
                    && r.client_token() == Some("fsxnl-gw-token")
                    && r.tags()
                        .is_some_and(|t| t.get("fsxn-lattice:owner").map(String::as_str) == Some("prod"))
            })
            // The seed's create-resource-gateway answer (second attempt).
            .then_output(|| {
                CreateResourceGatewayOutput::builder()
                    .arn("arn:aws:vpc-lattice:us-east-1:123456789012:resourcegateway/rgw-078bcf4c64e2fc005")
                    .id("rgw-078bcf4c64e2fc005")
                    .ip_address_type(ResourceGatewayIpAddressType::Ipv4)
                    .name("non-97-rgw-retry")
                    .security_group_ids("sg-03730d9e2b49e7cbc")
                    .status(ResourceGatewayStatus::Active)
                    .subnet_ids("subnet-029a939990627d570")
                    .subnet_ids("subnet-01ca23340c422c467")
                    .vpc_identifier("vpc-043c0858ea33e8ec2")
                    .build()
            });
        let client = mock_client!(aws_sdk_vpclattice, [&rule]);
        let g = AwsLattice::new(client, no_tagging())
            .create_resource_gateway(&gateway_request())
            .await
            .unwrap();
        assert_eq!(
            (g.id.as_str(), g.status),
            ("rgw-078bcf4c64e2fc005", GatewayStatus::Active)
        );
        assert_eq!(rule.num_calls(), 1);
    }

    const CFG_ARN: &str = "arn:aws:vpc-lattice:us-east-1:123456789012:resourceconfiguration/";

    fn cfg_summary(id: &str, name: &str, status: ResourceConfigurationStatus) -> ResourceConfigurationSummary {
        ResourceConfigurationSummary::builder()
            .id(id)
            .name(name)
            .arn(format!("{CFG_ARN}{id}"))
            .resource_gateway_id("rgw-078bcf4c64e2fc005")
            .r#type(ResourceConfigurationType::Single)
            .status(status)
            .build()
    }

    #[tokio::test]
    async fn configurations_cost_pages_not_calls_per_configuration() {
        // Ours with a target tag (no further call), ours that failed (Get, for the reason), ours
        // created moments ago that the Tagging API does not list yet (ListTagsForResource, then
        // the target from its tag), and a hand-made one (summary only).
        let list = mock!(Client::list_resource_configurations)
            .match_requests(|r| r.max_results() == Some(100))
            .then_output(|| {
                ListResourceConfigurationsOutput::builder()
                    .items(cfg_summary(
                        "rcfg-07e1be0ba948e9054",
                        "fsxnl-0a1b2c3d4e5f60718-g2",
                        ResourceConfigurationStatus::Active,
                    ))
                    .items(cfg_summary(
                        "rcfg-0aaaaaaaaaaaaaaa1",
                        "fsxnl-0b1b2c3d4e5f60718-g1",
                        ResourceConfigurationStatus::CreateFailed,
                    ))
                    .items(cfg_summary(
                        "rcfg-0aaaaaaaaaaaaaaa2",
                        "fsxnl-0c1b2c3d4e5f60718-g1",
                        ResourceConfigurationStatus::Active,
                    ))
                    .items(cfg_summary(
                        "rcfg-09d0bae5a13d2560d",
                        "non-97-rcfg-svm",
                        ResourceConfigurationStatus::Active,
                    ))
                    .build()
            });
        let (tag_rule, tagging) = tagging(
            "vpc-lattice:resourceconfiguration",
            vec![
                (
                    "arn:aws:vpc-lattice:us-east-1:123456789012:resourceconfiguration/rcfg-07e1be0ba948e9054",
                    vec![
                        ("fsxn-lattice:owner", "prod"),
                        ("fsxn-lattice:target", "10.0.15.239 22 445 2049"),
                    ],
                ),
                (
                    "arn:aws:vpc-lattice:us-east-1:123456789012:resourceconfiguration/rcfg-0aaaaaaaaaaaaaaa1",
                    vec![
                        ("fsxn-lattice:owner", "prod"),
                        ("fsxn-lattice:target", "10.0.15.240 445"),
                    ],
                ),
            ],
        );
        let get = mock!(Client::get_resource_configuration)
            .match_requests(|r| r.resource_configuration_identifier() == Some("rcfg-0aaaaaaaaaaaaaaa1"))
            .then_output(|| {
                GetResourceConfigurationOutput::builder()
                    .id("rcfg-0aaaaaaaaaaaaaaa1")
                    .port_ranges("445")
                    .resource_configuration_definition(ResourceConfigurationDefinition::IpResource(
                        IpResource::builder().ip_address("10.0.15.240").build(),
                    ))
                    .status(ResourceConfigurationStatus::CreateFailed)
                    .failure_reason("ipResource is not in the VPC")
                    .build()
            });
        let tags = mock!(Client::list_tags_for_resource)
            .match_requests(|r| r.resource_arn().is_some_and(|a| a.ends_with("rcfg-0aaaaaaaaaaaaaaa2")))
            .then_output(|| {
                ListTagsForResourceOutput::builder()
                    .tags("fsxn-lattice:owner", "prod")
                    .tags("fsxn-lattice:target", "10.0.15.241 2049")
                    .build()
            });
        let client = mock_client!(aws_sdk_vpclattice, RuleMode::MatchAny, [&list, &get, &tags]);
        let cfgs = AwsLattice::new(client, tagging)
            .list_resource_configurations()
            .await
            .unwrap();
        let seen: Vec<(Option<String>, Vec<String>, Option<&str>)> = cfgs
            .iter()
            .map(|c| {
                (
                    c.ip_address.map(|i| i.to_string()),
                    c.port_ranges.iter().map(|p| p.to_string()).collect(),
                    c.failure_reason.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (
                    Some("10.0.15.239".into()),
                    vec!["22".into(), "445".into(), "2049".into()],
                    None
                ),
                (
                    Some("10.0.15.240".into()),
                    vec!["445".into()],
                    Some("ipResource is not in the VPC")
                ),
                (Some("10.0.15.241".into()), vec!["2049".into()], None),
                (None, vec![], None),
            ]
        );
        assert_eq!(cfgs[0].tags.get("fsxn-lattice:owner").map(String::as_str), Some("prod"));
        assert!(cfgs[3].tags.is_empty(), "foreign configurations are not read in detail");
        assert_eq!(
            (
                list.num_calls(),
                tag_rule.num_calls(),
                get.num_calls(),
                tags.num_calls()
            ),
            (1, 1, 1, 1)
        );
    }

    #[tokio::test]
    async fn a_tagging_api_that_refuses_the_type_falls_back_to_tags_per_resource() {
        let list = mock!(Client::list_resource_configurations).then_output(|| {
            ListResourceConfigurationsOutput::builder()
                .items(cfg_summary(
                    "rcfg-07e1be0ba948e9054",
                    "fsxnl-0a1b2c3d4e5f60718-g2",
                    ResourceConfigurationStatus::Active,
                ))
                .items(cfg_summary(
                    "rcfg-09d0bae5a13d2560d",
                    "non-97-rcfg-svm",
                    ResourceConfigurationStatus::Active,
                ))
                .build()
        });
        let refused = mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_http_response(|| {
            http(
                400,
                &[("content-type", "application/x-amz-json-1.1")],
                r#"{"__type":"InvalidParameterException","Message":"Unsupported resource type"}"#,
            )
        });
        let tagging = mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, [&refused]);
        let tags = mock!(Client::list_tags_for_resource).then_output(|| {
            ListTagsForResourceOutput::builder()
                .tags("fsxn-lattice:owner", "prod")
                .tags("fsxn-lattice:target", "10.0.15.239 445")
                .build()
        });
        let client = mock_client!(aws_sdk_vpclattice, RuleMode::MatchAny, [&list, &tags]);
        let cfgs = AwsLattice::new(client, tagging)
            .list_resource_configurations()
            .await
            .unwrap();
        assert_eq!(
            cfgs[0].ip_address.map(|i| i.to_string()).as_deref(),
            Some("10.0.15.239")
        );
        assert!(cfgs[1].tags.is_empty());
        assert_eq!(
            (refused.num_calls(), tags.num_calls()),
            (1, 1),
            "only our name is read one by one"
        );
    }

    #[tokio::test]
    async fn a_throttled_tagging_api_fails_the_read() {
        let list = mock!(Client::list_resource_configurations).then_output(|| {
            ListResourceConfigurationsOutput::builder()
                .items(cfg_summary(
                    "rcfg-07e1be0ba948e9054",
                    "fsxnl-0a1b2c3d4e5f60718-g2",
                    ResourceConfigurationStatus::Active,
                ))
                .build()
        });
        let throttled = mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_http_response(|| {
            http(
                400,
                &[("content-type", "application/x-amz-json-1.1")],
                r#"{"__type":"ThrottledException","Message":"Rate exceeded"}"#,
            )
        });
        let tagging = mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, [&throttled], |c| c
            .retry_config(aws_sdk_resourcegroupstagging::config::retry::RetryConfig::disabled()));
        let client = mock_client!(aws_sdk_vpclattice, RuleMode::MatchAny, [&list]);
        let err = AwsLattice::new(client, tagging)
            .list_resource_configurations()
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind, err.operation.as_str()),
            (ErrorKind::Transient, "GetResources")
        );
    }

    #[tokio::test]
    async fn gateways_are_listed_with_tags_only_for_our_names() {
        use aws_sdk_vpclattice::operation::list_resource_gateways::ListResourceGatewaysOutput;
        use aws_sdk_vpclattice::types::ResourceGatewaySummary;
        let summary = |id: &str, name: &str| {
            ResourceGatewaySummary::builder()
                .id(id)
                .name(name)
                .arn(format!(
                    "arn:aws:vpc-lattice:us-east-1:123456789012:resourcegateway/{id}"
                ))
                .status(ResourceGatewayStatus::Active)
                .vpc_identifier("vpc-043c0858ea33e8ec2")
                .subnet_ids("subnet-0ddc1cafa116ba0dd")
                .security_group_ids("sg-03730d9e2b49e7cbc")
                .ipv4_addresses_per_eni(16)
                .build()
        };
        let list = mock!(Client::list_resource_gateways).then_output(move || {
            ListResourceGatewaysOutput::builder()
                .items(summary("rgw-0f84e11568c258a2b", "non-97-rgw"))
                .items(summary("rgw-078bcf4c64e2fc005", "fsxnl-07f1088148f103e3a-g2"))
                .build()
        });
        let tags = mock!(Client::list_tags_for_resource)
            .match_requests(|r| r.resource_arn().is_some_and(|a| a.ends_with("rgw-078bcf4c64e2fc005")))
            .then_output(|| {
                ListTagsForResourceOutput::builder()
                    .tags("fsxn-lattice:owner", "prod")
                    .build()
            });
        let client = mock_client!(aws_sdk_vpclattice, RuleMode::MatchAny, [&list, &tags]);
        // The Tagging API has not caught up with our gateway yet: read by name prefix instead.
        let (tag_rule, tagging) = tagging("vpc-lattice:resourcegateway", vec![]);
        let gws = AwsLattice::new(client, tagging).list_resource_gateways().await.unwrap();
        assert_eq!(gws.len(), 2);
        assert!(gws[0].tags.is_empty(), "the hand-made gateway's tags are not even read");
        assert_eq!(gws[1].tags.get("fsxn-lattice:owner").map(String::as_str), Some("prod"));
        assert_eq!(
            (gws[1].status, gws[1].ipv4_addresses_per_eni),
            (GatewayStatus::Active, 16)
        );
        assert_eq!((tag_rule.num_calls(), tags.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn configuration_and_gateway_writes_send_what_the_plan_says() {
        use aws_sdk_vpclattice::operation::create_resource_configuration::CreateResourceConfigurationOutput;
        use aws_sdk_vpclattice::operation::delete_resource_configuration::DeleteResourceConfigurationOutput;
        use aws_sdk_vpclattice::operation::update_resource_configuration::UpdateResourceConfigurationOutput;
        use aws_sdk_vpclattice::operation::update_resource_gateway::UpdateResourceGatewayOutput;
        let is_ip = |d: Option<&ResourceConfigurationDefinition>, ip: &str| matches!(d, Some(ResourceConfigurationDefinition::IpResource(r)) if r.ip_address() == Some(ip));
        let create = mock!(Client::create_resource_configuration)
            .match_requests(move |r| {
                r.name() == Some("fsxnl-0a1b2c3d4e5f60718-g2")
                    && r.r#type() == Some(&ResourceConfigurationType::Single)
                    && r.protocol() == Some(&aws_sdk_vpclattice::types::ProtocolType::Tcp)
                    && r.port_ranges() == ["22", "445", "2049"]
                    && r.resource_gateway_identifier() == Some("rgw-078bcf4c64e2fc005")
                    && is_ip(r.resource_configuration_definition(), "10.0.15.239")
                    && r.client_token() == Some("fsxnl-cfg-token")
            })
            .then_output(|| {
                CreateResourceConfigurationOutput::builder()
                    .id("rcfg-07e1be0ba948e9054")
                    .arn("arn:aws:vpc-lattice:us-east-1:123456789012:resourceconfiguration/rcfg-07e1be0ba948e9054")
                    .status(ResourceConfigurationStatus::Active)
                    .build()
            });
        let update = mock!(Client::update_resource_configuration)
            .match_requests(move |r| {
                r.port_ranges() == ["445"] && is_ip(r.resource_configuration_definition(), "10.0.15.240")
            })
            .then_output(|| {
                UpdateResourceConfigurationOutput::builder()
                    .arn("arn:aws:vpc-lattice:us-east-1:123456789012:resourceconfiguration/rcfg-07e1be0ba948e9054")
                    .build()
            });
        let retag = mock!(Client::tag_resource)
            .match_requests(|r| {
                r.resource_arn().is_some_and(|a| a.ends_with("rcfg-07e1be0ba948e9054"))
                    && r.tags().is_some_and(|t| {
                        t.get("fsxn-lattice:target").map(String::as_str) == Some("10.0.15.240 445")
                            && t.get("fsxn-lattice:owner").map(String::as_str) == Some("prod")
                    })
            })
            .then_output(|| aws_sdk_vpclattice::operation::tag_resource::TagResourceOutput::builder().build());
        let delete = mock!(Client::delete_resource_configuration)
            .match_requests(|r| r.resource_configuration_identifier() == Some("rcfg-07e1be0ba948e9054"))
            .then_output(|| DeleteResourceConfigurationOutput::builder().build());
        let sgs = mock!(Client::update_resource_gateway)
            .match_requests(|r| r.security_group_ids() == ["sg-1", "sg-2"])
            .then_output(|| UpdateResourceGatewayOutput::builder().build());
        let client = mock_client!(
            aws_sdk_vpclattice,
            RuleMode::MatchAny,
            [&create, &update, &retag, &delete, &sgs]
        );
        let a = AwsLattice::new(client, no_tagging());
        let cfg = a
            .create_resource_configuration(&CreateResourceConfigurationRequest {
                custom_domain_name: None,
                domain_verification_id: None,
                name: "fsxnl-0a1b2c3d4e5f60718-g2".into(),
                gateway_id: GatewayId::parse("rgw-078bcf4c64e2fc005").unwrap(),
                ip_address: "10.0.15.239".parse().unwrap(),
                port_ranges: vec![PortRange::single(22), PortRange::single(445), PortRange::single(2049)],
                client_token: "fsxnl-cfg-token".into(),
                tags: Tags::new(),
            })
            .await
            .unwrap();
        assert_eq!(
            (cfg.id.as_str(), cfg.status),
            ("rcfg-07e1be0ba948e9054", ConfigurationStatus::Active)
        );
        let target = Tags::from([
            ("fsxn-lattice:owner".to_string(), "prod".to_string()),
            ("fsxn-lattice:target".to_string(), "10.0.15.240 445".to_string()),
        ]);
        a.update_resource_configuration(
            &cfg.id,
            "10.0.15.240".parse().unwrap(),
            &[PortRange::single(445)],
            &target,
        )
        .await
        .unwrap();
        a.delete_resource_configuration(&cfg.id).await.unwrap();
        let gw = GatewayId::parse("rgw-078bcf4c64e2fc005").unwrap();
        a.update_resource_gateway(
            &gw,
            &[
                SecurityGroupId::parse("sg-1").unwrap(),
                SecurityGroupId::parse("sg-2").unwrap(),
            ],
        )
        .await
        .unwrap();
        assert_eq!(
            (
                create.num_calls(),
                update.num_calls(),
                retag.num_calls(),
                delete.num_calls(),
                sgs.num_calls()
            ),
            (1, 1, 1, 1, 1)
        );
    }

    #[tokio::test]
    async fn throttling_keeps_retry_after_and_conflicts_are_conflicts() {
        let throttled = mock!(Client::delete_resource_gateway)
            .then_http_response(|| lattice_error(429, "ThrottlingException", "Rate exceeded", &[("Retry-After", "3")]));
        let client = mock_client!(aws_sdk_vpclattice, RuleMode::MatchAny, [&throttled], |c| c
            .retry_config(aws_sdk_vpclattice::config::retry::RetryConfig::disabled()));
        let err = AwsLattice::new(client, no_tagging())
            .delete_resource_gateway(&GatewayId::parse("rgw-0f84e11568c258a2b").unwrap())
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind, err.code.as_str(), err.retry_after),
            (
                ErrorKind::Transient,
                "ThrottlingException",
                Some(Duration::from_secs(3))
            )
        );

        let cases = [
            (409, "ConflictException", ErrorKind::Conflict),
            (404, "ResourceNotFoundException", ErrorKind::NotFound),
            (402, "ServiceQuotaExceededException", ErrorKind::QuotaExceeded),
            (400, "ValidationException", ErrorKind::InvalidInput),
            (403, "AccessDeniedException", ErrorKind::AccessDenied),
            (500, "InternalServerException", ErrorKind::Transient),
        ];
        for (status, code, kind) in cases {
            let rule = mock!(Client::delete_resource_gateway)
                .then_http_response(move || lattice_error(status, code, "m", &[]));
            let client = mock_client!(aws_sdk_vpclattice, RuleMode::MatchAny, [&rule], |c| c
                .retry_config(aws_sdk_vpclattice::config::retry::RetryConfig::disabled()));
            let err = AwsLattice::new(client, no_tagging())
                .delete_resource_gateway(&GatewayId::parse("rgw-0f84e11568c258a2b").unwrap())
                .await
                .unwrap_err();
            assert_eq!((err.kind, err.code.as_str()), (kind, code));
        }
    }
}

mod route53 {
    use super::*;
    use aws_sdk_route53::Client;
    use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsOutput;
    use aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput;
    use aws_sdk_route53::types::{
        AliasTarget, ChangeAction, ChangeInfo, ChangeStatus as SdkChangeStatus, ResourceRecord, ResourceRecordSet,
        RrType,
    };

    fn rrset(name: &str, t: RrType, v: &str) -> ResourceRecordSet {
        ResourceRecordSet::builder()
            .name(name)
            .r#type(t)
            .ttl(300)
            .resource_records(ResourceRecord::builder().value(v).build().unwrap())
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn record_sets_are_paged_by_hand_normalised_and_routed_records_kept() {
        let rule = mock!(Client::list_resource_record_sets)
            .sequence()
            .output(|| {
                ListResourceRecordSetsOutput::builder()
                    .resource_record_sets(rrset(
                        "corp.non-97.net.",
                        RrType::Soa,
                        "ns-1.awsdns-00.com. x 1 7200 900 1209600 86400",
                    ))
                    .resource_record_sets(
                        ResourceRecordSet::builder()
                            .name("apex-alias.corp.non-97.net.")
                            .r#type(RrType::A)
                            .alias_target(
                                AliasTarget::builder()
                                    .dns_name("x.elb.amazonaws.com.")
                                    .hosted_zone_id("Z1")
                                    .evaluate_target_health(false)
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .resource_record_sets(
                        ResourceRecordSet::builder()
                            .name("weighted.corp.non-97.net.")
                            .r#type(RrType::Cname)
                            .set_identifier("blue")
                            .weight(10)
                            .ttl(60)
                            .resource_records(ResourceRecord::builder().value("blue.example").build().unwrap())
                            .build()
                            .unwrap(),
                    )
                    .resource_record_sets(rrset("v6.corp.non-97.net.", RrType::Aaaa, "2600:1f18::1"))
                    .is_truncated(true)
                    .next_record_name("non-97-svm-alias.corp.non-97.net.")
                    .next_record_type(RrType::Cname)
                    .max_items(2)
                    .build()
                    .unwrap()
            })
            .output(|| {
                ListResourceRecordSetsOutput::builder()
                    .resource_record_sets(rrset(
                        "NON-97-SVM-ALIAS.corp.non-97.net.",
                        RrType::Cname,
                        "vpce-046678eea41db3874.rcfg-07e1be0ba948e9054.4232ccc.vpc-lattice-rsc.us-east-1.on.aws",
                    ))
                    .is_truncated(false)
                    .max_items(2)
                    .build()
                    .unwrap()
            })
            .build();
        let client = mock_client!(aws_sdk_route53, [&rule]);
        let rs = AwsRoute53::new(client)
            .list_resource_record_sets(&HostedZoneId::parse("Z0A1B2C3D4E5F6G7H8I9J").unwrap())
            .await
            .unwrap();
        // Records we never write are kept, with their routing, so a name they hold is never
        // taken for free.
        assert_eq!(
            rs.iter()
                .map(|r| (r.name.as_str(), r.record_type, r.routing.as_deref()))
                .collect::<Vec<_>>(),
            [
                ("corp.non-97.net", RecordType::SOA, None),
                (
                    "apex-alias.corp.non-97.net",
                    RecordType::A,
                    Some("alias to x.elb.amazonaws.com.")
                ),
                (
                    "weighted.corp.non-97.net",
                    RecordType::CNAME,
                    Some("set identifier blue")
                ),
                ("v6.corp.non-97.net", RecordType::Other, None),
                ("non-97-svm-alias.corp.non-97.net", RecordType::CNAME, None)
            ]
        );
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn changes_are_sent_as_one_batch_and_prior_request_not_complete_is_transient() {
        let ok = mock!(Client::change_resource_record_sets)
            .match_requests(|r| {
                let c = r.change_batch().map(|b| b.changes()).unwrap_or_default();
                r.hosted_zone_id() == Some("Z0A1B2C3D4E5F6G7H8I9J")
                    && c.len() == 2
                    && c.iter().all(|c| c.action() == &ChangeAction::Create)
                    && c[0]
                        .resource_record_set()
                        .map(|s| (s.name(), s.r#type().clone(), s.ttl()))
                        == Some(("non-97-svm-alias.corp.non-97.net", RrType::Cname, Some(300)))
            })
            .then_output(|| {
                ChangeResourceRecordSetsOutput::builder()
                    .change_info(
                        ChangeInfo::builder()
                            .id("/change/C2682N5HXP0BZ4")
                            .status(SdkChangeStatus::Pending)
                            .submitted_at(aws_smithy_types::DateTime::from_secs(0))
                            .build()
                            .unwrap(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_route53, [&ok]);
        let cname = RecordSet {
            name: "non-97-svm-alias.corp.non-97.net".into(),
            record_type: RecordType::CNAME,
            ttl: 300,
            values: vec!["vpce-1.on.aws".into()],
            routing: None,
        };
        let txt = RecordSet {
            name: "_fsxn-lattice.non-97-svm-alias.corp.non-97.net".into(),
            record_type: RecordType::TXT,
            ttl: 300,
            values: vec!["\"heritage=fsxn-lattice\"".into()],
            routing: None,
        };
        let zone = HostedZoneId::parse("Z0A1B2C3D4E5F6G7H8I9J").unwrap();
        let id = AwsRoute53::new(client)
            .change_resource_record_sets(&zone, &[RecordChange::Create(cname.clone()), RecordChange::Create(txt)])
            .await
            .unwrap();
        assert_eq!(id, "C2682N5HXP0BZ4");

        let busy = mock!(Client::change_resource_record_sets).then_http_response(|| {
            http(400, &[("content-type", "text/xml")], "<ErrorResponse><Error><Type>Sender</Type><Code>PriorRequestNotComplete</Code><Message>The request was rejected because Route 53 was still processing a prior request.</Message></Error><RequestId>r</RequestId></ErrorResponse>")
        });
        let client = mock_client!(aws_sdk_route53, RuleMode::MatchAny, [&busy], |c| c
            .retry_config(aws_sdk_route53::config::retry::RetryConfig::disabled()));
        let err = AwsRoute53::new(client)
            .change_resource_record_sets(&zone, &[RecordChange::Delete(cname)])
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind, err.code.as_str()),
            (ErrorKind::Transient, "PriorRequestNotComplete")
        );
    }
}

mod fsx {
    use super::*;
    use aws_sdk_fsx::Client;
    use aws_sdk_fsx::operation::describe_file_systems::DescribeFileSystemsOutput;
    use aws_sdk_fsx::operation::describe_storage_virtual_machines::DescribeStorageVirtualMachinesOutput;
    use aws_sdk_fsx::types::{
        FileSystem as SdkFs, FileSystemLifecycle, FileSystemType, OntapDeploymentType, OntapFileSystemConfiguration,
        StorageVirtualMachine as SdkSvm, StorageVirtualMachineLifecycle, SvmEndpoint as SdkEp, SvmEndpoints as SdkEps,
        Tag,
    };

    #[tokio::test]
    async fn ontap_file_systems_and_svms_are_read_with_tags_and_endpoint_ips() {
        let fs = mock!(Client::describe_file_systems).then_output(|| {
            DescribeFileSystemsOutput::builder()
                .file_systems(
                    SdkFs::builder()
                        .file_system_id("fs-07f1088148f103e3a")
                        .file_system_type(FileSystemType::Ontap)
                        .lifecycle(FileSystemLifecycle::Available)
                        .vpc_id("vpc-043c0858ea33e8ec2")
                        .subnet_ids("subnet-0ddc1cafa116ba0dd")
                        .subnet_ids("subnet-062714f49313a0ea5")
                        .tags(Tag::builder().key("fsxn-lattice:expose").value("smb").build())
                        .ontap_configuration(
                            OntapFileSystemConfiguration::builder()
                                .deployment_type(OntapDeploymentType::MultiAz1)
                                .endpoint_ip_address_range("10.0.15.192/26")
                                .route_table_ids("rtb-0f1e2d3c4b5a69788")
                                .build(),
                        )
                        .build(),
                )
                .file_systems(
                    SdkFs::builder()
                        .file_system_id("fs-0aaaaaaaaaaaaaaaa")
                        .file_system_type(FileSystemType::Windows)
                        .build(),
                )
                .file_systems(
                    // A deployment type newer than the crate (botocore lists MULTI_AZ_3; the
                    // pinned SDK enum may not): the SDK yields Unknown, its string survives.
                    SdkFs::builder()
                        .file_system_id("fs-0bbbbbbbbbbbbbbbb")
                        .file_system_type(FileSystemType::Ontap)
                        .lifecycle(FileSystemLifecycle::Available)
                        .vpc_id("vpc-043c0858ea33e8ec2")
                        .ontap_configuration(
                            OntapFileSystemConfiguration::builder()
                                .deployment_type(OntapDeploymentType::from("MULTI_AZ_3"))
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let svm = mock!(Client::describe_storage_virtual_machines).then_output(|| {
            let ep = |dns: &str, ips: &[&str]| {
                let mut b = SdkEp::builder().dns_name(dns);
                for ip in ips {
                    b = b.ip_addresses(*ip);
                }
                b.build()
            };
            DescribeStorageVirtualMachinesOutput::builder()
                .storage_virtual_machines(
                    SdkSvm::builder()
                        .storage_virtual_machine_id("svm-0a1b2c3d4e5f60718")
                        .name("non-97-svm")
                        .file_system_id("fs-07f1088148f103e3a")
                        .lifecycle(StorageVirtualMachineLifecycle::Created)
                        .endpoints(
                            SdkEps::builder()
                                .smb(ep("NON-97-SVM", &["10.0.15.239"]))
                                .nfs(ep(
                                    "svm-0a1b2c3d4e5f60718.fs-07f1088148f103e3a.fsx.us-east-1.amazonaws.com",
                                    &["10.0.15.239"],
                                ))
                                .management(ep(
                                    "svm-0a1b2c3d4e5f60718.fs-07f1088148f103e3a.fsx.us-east-1.amazonaws.com",
                                    &["10.0.15.239"],
                                ))
                                .iscsi(ep("iscsi.svm", &["10.0.8.5", "10.0.9.214"]))
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let client = mock_client!(aws_sdk_fsx, RuleMode::MatchAny, [&fs, &svm]);
        let a = AwsFsx::new(client);
        let fss = a.describe_file_systems().await.unwrap();
        assert_eq!(fss.len(), 2, "only ONTAP");
        assert_eq!(fss[0].deployment_type, DeploymentType::MultiAz1);
        assert_eq!(fss[0].route_table_ids[0].as_str(), "rtb-0f1e2d3c4b5a69788");
        assert_eq!(fss[1].deployment_type, DeploymentType::Other("MULTI_AZ_3".into()));
        assert!(
            fss[1].deployment_type.is_multi_az(),
            "decided by the name, not mapped to single-AZ"
        );
        assert_eq!(
            fss[0].endpoint_ip_address_range.map(|r| r.to_string()).as_deref(),
            Some("10.0.15.192/26")
        );
        assert_eq!(fss[0].tags.get("fsxn-lattice:expose").map(String::as_str), Some("smb"));
        let svms = a.describe_storage_virtual_machines().await.unwrap();
        assert_eq!(svms[0].lifecycle, FsxLifecycle::Created);
        assert_eq!(
            svms[0].endpoints.smb.as_ref().unwrap().dns_name.as_deref(),
            Some("NON-97-SVM")
        );
        assert_eq!(svms[0].endpoints.iscsi.as_ref().unwrap().ip_addresses.len(), 2);
    }
}

/// Backoff jitter on AWS is random per call, so reconcilers that fail together do not retry in
/// lockstep (it used to be a hash of the call's name and attempt: the same for everyone).
#[test]
fn jitter_is_a_fresh_uniform_draw_per_call() {
    use fsxn_lattice_core::ports::Clock;
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .build();
    let cloud = fsxn_lattice_aws::AwsCloud::new(&sdk);
    let draws: Vec<f64> = (0..1000).map(|_| cloud.jitter()).collect();
    assert!(draws.iter().all(|d| (0.0..1.0).contains(d)), "{draws:?}");
    let distinct: std::collections::BTreeSet<u64> = draws.iter().map(|d| d.to_bits()).collect();
    assert!(distinct.len() > 990, "{} distinct of 1000", distinct.len());
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    assert!((0.4..0.6).contains(&mean), "mean {mean}");
    let low = draws.iter().filter(|d| **d < 0.5).count();
    assert!((400..600).contains(&low), "{low} of 1000 below 0.5");
}
