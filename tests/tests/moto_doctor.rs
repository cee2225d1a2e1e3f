//! The doctor's adapters over real HTTP against a moto server on 127.0.0.1, for what moto
//! implements: CloudTrail `DescribeTrails` (shadow trails), `GetTrailStatus`,
//! `GetEventSelectors`; EC2 `DryRun` of `CreateSubnetCidrReservation` (moto answers
//! `DryRunOperation`) and of `CreateSubnet` (moto ignores `DryRun` there: the adapter must not
//! call that "allowed"). moto has no `LookupEvents` nor `SimulatePrincipalPolicy`, and its
//! `GetHostedZone` returns no `VPCs` (moto 5.2): those are covered by aws-smithy-mocks and the
//! simulated cloud. A trail created without selectors reads back from moto with none, which
//! the adapter maps to CloudTrail's documented default (all management events).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudtrail::types::{EventSelector, ReadWriteType as SdkReadWrite};
use fsxn_lattice_aws::AwsAudit;
use fsxn_lattice_core::audit::*;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_tests::moto::MotoServer;
use std::io::{Read, Write};

async fn config(moto: &MotoServer, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(moto.url())
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

/// Creates an S3 bucket in moto with one plain HTTP request (the trail needs one; the
/// workspace has no S3 client and needs none).
fn create_bucket(moto: &MotoServer, name: &str) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", moto.port)).unwrap();
    write!(
        s,
        "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        moto.port
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

#[tokio::test]
async fn trails_status_and_selectors_round_trip_through_the_adapter() {
    let moto = MotoServer::start();
    create_bucket(&moto, "doctor-trails");
    let east = config(&moto, "us-east-1").await;
    let ct = aws_sdk_cloudtrail::Client::new(&east);
    let everywhere = ct
        .create_trail()
        .name("everywhere")
        .s3_bucket_name("doctor-trails")
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap()
        .trail_arn
        .unwrap();
    ct.start_logging().name("everywhere").send().await.unwrap();
    let reads = ct
        .create_trail()
        .name("reads-only")
        .s3_bucket_name("doctor-trails")
        .send()
        .await
        .unwrap()
        .trail_arn
        .unwrap();
    ct.put_event_selectors()
        .trail_name("reads-only")
        .event_selectors(
            EventSelector::builder()
                .read_write_type(SdkReadWrite::ReadOnly)
                .include_management_events(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // A single-Region trail of another Region is not a shadow here.
    let west = config(&moto, "eu-west-1").await;
    aws_sdk_cloudtrail::Client::new(&west)
        .create_trail()
        .name("west-only")
        .s3_bucket_name("doctor-trails")
        .send()
        .await
        .unwrap();

    let audit = AwsAudit::new(&east);
    let mut trails = audit.describe_trails().await.unwrap();
    trails.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = trails.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["everywhere", "reads-only"]);
    assert!(trails[0].is_multi_region && trails[0].covers("us-east-1"));
    assert_eq!(trails[0].arn, everywhere);
    assert!(audit.get_trail_status(&everywhere).await.unwrap().is_logging);
    assert!(!audit.get_trail_status(&reads).await.unwrap().is_logging);
    let default = audit.get_event_selectors(&everywhere).await.unwrap();
    assert!(default.logs_management_writes_of("ec2.amazonaws.com"), "{default:?}");
    let ro = audit.get_event_selectors(&reads).await.unwrap();
    assert!(!ro.logs_management_writes_of("ec2.amazonaws.com"), "{ro:?}");

    // A shadow trail seen from the other Region is found and read by its ARN.
    let from_west = AwsAudit::new(&west);
    let seen: Vec<String> = from_west
        .describe_trails()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(
        seen.contains(&"everywhere".to_string()) && !seen.contains(&"reads-only".to_string()),
        "{seen:?}"
    );
    assert!(from_west.get_trail_status(&everywhere).await.unwrap().is_logging);
}

#[tokio::test]
async fn dry_runs_through_the_adapter() {
    let moto = MotoServer::start();
    let sdk = config(&moto, "us-east-1").await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.8.0/24")
        .availability_zone("us-east-1a")
        .send()
        .await
        .unwrap()
        .subnet
        .unwrap()
        .subnet_id
        .unwrap();
    let audit = AwsAudit::new(&sdk);
    let reserve = audit
        .dry_run(&DryRunCall::CreateSubnetCidrReservation {
            subnet_id: SubnetId::parse(subnet.as_str()).unwrap(),
            cidr: "10.0.8.16/28".parse().unwrap(),
        })
        .await
        .unwrap();
    assert_eq!(reserve, DryRunAnswer::Allowed);
    assert!(
        ec2.get_subnet_cidr_reservations()
            .subnet_id(&subnet)
            .send()
            .await
            .unwrap()
            .subnet_ipv4_cidr_reservations()
            .is_empty(),
        "a dry run reserves nothing"
    );
    // moto carries CreateSubnet out despite DryRun: reported as undecided, never as allowed.
    let carve = audit
        .dry_run(&DryRunCall::CreateSubnet {
            vpc_id: VpcId::parse(vpc.as_str()).unwrap(),
            availability_zone: "us-east-1a".into(),
            cidr: "10.0.2.0/26".parse().unwrap(),
        })
        .await
        .unwrap();
    assert!(
        matches!(&carve, DryRunAnswer::Inconclusive { code, .. } if code == "DryRunIgnored"),
        "{carve:?}"
    );
}

/// The whole live path over HTTP: `gather` with the real adapters. moto has no FSx SVMs nor
/// VPC Lattice, so the planner's reads fail: the doctor reports that as one failed line and still checks the
/// trail (the account-level reads do not depend on it).
#[tokio::test]
async fn gather_over_http_reports_an_unreadable_account_and_still_checks_the_trail() {
    let moto = MotoServer::start();
    create_bucket(&moto, "doctor-gather");
    let sdk = config(&moto, "us-east-1").await;
    let ct = aws_sdk_cloudtrail::Client::new(&sdk);
    ct.create_trail()
        .name("management")
        .s3_bucket_name("doctor-gather")
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap();
    ct.start_logging().name("management").send().await.unwrap();
    let config = fsxn_lattice_core::config::Config::from_toml(fsxn_lattice_tests::function::CONFIG).unwrap();
    let mut options = fsxn_lattice_core::doctor::GatherOptions::new("us-east-1".into(), None, 24).unwrap();
    options.retry.max_attempts = 1;
    let (observed, audit) = fsxn_lattice_core::doctor::gather(
        &fsxn_lattice_aws::AwsCloud::new(&sdk),
        &AwsAudit::new(&sdk),
        &config,
        &options,
    )
    .await;
    assert!(observed.is_err(), "moto has no VPC Lattice: {observed:?}");
    let checks = fsxn_lattice_core::doctor::diagnose(&config, &observed, &audit);
    assert_eq!(checks[0].area, "cloudtrail");
    assert_eq!(
        checks[0].status,
        fsxn_lattice_core::doctor::Status::Pass,
        "{:?}",
        checks[0]
    );
    assert!(checks[0].message.contains("trail management (multi-Region) is logging"));
    let account: Vec<_> = checks.iter().filter(|c| c.area == "account").collect();
    assert_eq!(account.len(), 1);
    assert_eq!(account[0].status, fsxn_lattice_core::doctor::Status::Fail);
    // The first read moto cannot answer: it models no FSx SVMs (nor VPC Lattice).
    assert_eq!(account[0].subject, "DescribeStorageVirtualMachines", "{:?}", account[0]);
}

/// A consumer VPC's DNS servers over HTTP: `DescribeVpcs` names the VPC's DHCP option set and
/// `DescribeDhcpOptions` its `domain-name-servers`. moto gives a new VPC no option set
/// (`default`; AWS would give it the Region's default set) and reads one associated after.
#[tokio::test]
async fn a_vpcs_dhcp_dns_servers_round_trip_through_the_adapter() {
    use aws_sdk_ec2::types::NewDhcpConfiguration;
    let moto = MotoServer::start();
    let sdk = config(&moto, "us-east-1").await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.1.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let vpc_id = VpcId::parse(&vpc).unwrap();
    let audit = AwsAudit::new(&sdk);
    let none = audit.vpc_dhcp_dns(&vpc_id).await.unwrap();
    assert_eq!(
        (none.dhcp_options_id.as_str(), none.domain_name_servers.len()),
        (DhcpDns::NO_OPTION_SET, 0),
        "{none:?}"
    );
    let own = ec2
        .create_dhcp_options()
        .dhcp_configurations(
            NewDhcpConfiguration::builder()
                .key("domain-name-servers")
                .values("10.0.0.139")
                .values("10.0.1.77")
                .build(),
        )
        .dhcp_configurations(
            NewDhcpConfiguration::builder()
                .key("domain-name")
                .values("corp.non-97.net")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .dhcp_options
        .unwrap()
        .dhcp_options_id
        .unwrap();
    ec2.associate_dhcp_options()
        .vpc_id(&vpc)
        .dhcp_options_id(&own)
        .send()
        .await
        .unwrap();
    assert_eq!(
        audit.vpc_dhcp_dns(&vpc_id).await.unwrap(),
        DhcpDns {
            dhcp_options_id: own,
            domain_name_servers: vec!["10.0.0.139".into(), "10.0.1.77".into()],
        }
    );
}
