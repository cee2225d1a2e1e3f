//! The SDK adapters over real HTTP against a moto server that this harness starts on
//! 127.0.0.1, for what moto models: EC2 VPCs, subnets, ENIs and CIDR reservations, Route 53
//! zones and records, FSx file systems. (moto does not model /28 prefixes, FSx SVMs, VPC
//! Lattice or Resource endpoints: those are covered by the simulated cloud and by the
//! aws-smithy-mocks tests.) `scripts/test` installs moto; without `moto_server` on PATH these
//! tests fail and say so.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use aws_config::{BehaviorVersion, Region, SdkConfig};
use fsxn_lattice_aws::AwsCloud;
use fsxn_lattice_core::capacity::analyze_subnet;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;
use fsxn_lattice_tests::moto::MotoServer;

struct Moto(MotoServer);

impl Moto {
    fn start() -> Self {
        Self(MotoServer::start())
    }

    async fn config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.0.url())
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await
    }
}

#[tokio::test]
async fn ec2_subnets_enis_and_cidr_reservations_round_trip_through_the_adapter() {
    let moto = Moto::start();
    let sdk = moto.config().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let cloud = AwsCloud::new(&sdk);
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
    let vpc = VpcId::parse(vpc).unwrap();
    let sub = ec2
        .create_subnet()
        .vpc_id(vpc.as_str())
        .cidr_block("10.0.8.0/24")
        .availability_zone("us-east-1a")
        .send()
        .await
        .unwrap()
        .subnet
        .unwrap()
        .subnet_id
        .unwrap();
    let sub = SubnetId::parse(sub).unwrap();
    // Fragment it: one address in every candidate /28, as the seed's subnet was.
    for block in 1..15u32 {
        ec2.create_network_interface()
            .subnet_id(sub.as_str())
            .private_ip_address(format!("10.0.8.{}", block * 16 + 7))
            .description("workload")
            .send()
            .await
            .unwrap();
    }
    let vpcs = cloud
        .describe_vpcs(std::slice::from_ref(&vpc), VpcAttributes::Dns)
        .await
        .unwrap();
    assert_eq!(vpcs[0].cidr_blocks[0].to_string(), "10.0.0.0/16");
    // A VPC that does not exist (a consumer deleted, a typo in the config) is left out, not an
    // error for the whole read: EC2 fails `VpcIds` with InvalidVpcID.NotFound.
    let gone = VpcId::parse("vpc-0000000000000dead").unwrap();
    let raw = ec2.describe_vpcs().vpc_ids(gone.as_str()).send().await;
    assert!(raw.is_err(), "moto, as EC2, refuses an unknown id in VpcIds: {raw:?}");
    let both = cloud
        .describe_vpcs(&[vpc.clone(), gone], VpcAttributes::Dns)
        .await
        .unwrap();
    assert_eq!(both.iter().map(|v| &v.id).collect::<Vec<_>>(), [&vpc]);
    let subnets = cloud.describe_subnets(&vpc).await.unwrap();
    assert_eq!(subnets.len(), 1);
    let enis = cloud.describe_network_interfaces(&vpc).await.unwrap();
    assert_eq!(enis.len(), 14);
    let cap = analyze_subnet(&subnets[0], &enis, &[]);
    assert_eq!(
        (cap.free_addresses, cap.free_prefix_blocks.len()),
        (237, 0),
        "many free addresses, no free /28"
    );

    // Carve a subnet and reserve a /28 in it, with our tags.
    let tags = Tags::from([("fsxn-lattice:owner".to_string(), "it".to_string())]);
    let carved = cloud
        .create_subnet(&CreateSubnetRequest {
            vpc_id: vpc.clone(),
            availability_zone: "us-east-1b".into(),
            cidr: "10.0.2.0/26".parse().unwrap(),
            tags: tags.clone(),
        })
        .await
        .unwrap();
    assert_eq!(carved.tags, tags);
    let r = cloud
        .create_subnet_cidr_reservation(&CreateCidrReservationRequest {
            subnet_id: carved.id.clone(),
            cidr: "10.0.2.16/28".parse().unwrap(),
            reservation_type: ReservationType::Prefix,
            description: "fsxn-lattice test".into(),
            tags: tags.clone(),
        })
        .await
        .unwrap();
    let listed = cloud.get_subnet_cidr_reservations(&carved.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].cidr.to_string(), listed[0].reservation_type),
        ("10.0.2.16/28".to_string(), ReservationType::Prefix)
    );
    let cap = analyze_subnet(&carved, &[], &listed);
    assert_eq!(cap.free_blocks_in_prefix_reservations.len(), 1);
    cloud.delete_subnet_cidr_reservation(&r.id).await.unwrap();
    assert!(cloud.get_subnet_cidr_reservations(&carved.id).await.unwrap().is_empty());
    cloud.delete_subnet(&carved.id).await.unwrap();
    let err = cloud.delete_subnet(&carved.id).await.unwrap_err();
    assert_eq!(err.kind, fsxn_lattice_core::error::ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn route53_records_are_upserted_read_and_deleted_exactly() {
    let moto = Moto::start();
    let sdk = moto.config().await;
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let cloud = AwsCloud::new(&sdk);
    let zone = r53
        .create_hosted_zone()
        .name("corp.non-97.net")
        .caller_reference("it")
        .send()
        .await
        .unwrap();
    let zone = HostedZoneId::parse(zone.hosted_zone.unwrap().id).unwrap();
    let z = cloud.get_hosted_zone(&zone).await.unwrap();
    assert_eq!(z.name, "corp.non-97.net");
    let cname = RecordSet {
        name: "non-97-svm-alias.corp.non-97.net".into(),
        record_type: RecordType::CNAME,
        ttl: 300,
        values: vec!["vpce-046678eea41db3874.rcfg-07e1be0ba948e9054.4232ccc.vpc-lattice-rsc.us-east-1.on.aws".into()],
        routing: None,
    };
    let txt = RecordSet {
        name: "_fsxn-lattice.non-97-svm-alias.corp.non-97.net".into(),
        record_type: RecordType::TXT,
        ttl: 300,
        values: vec!["\"heritage=fsxn-lattice,owner=it,svm=svm-1,consumer=c\"".into()],
        routing: None,
    };
    let change = cloud
        .change_resource_record_sets(
            &zone,
            &[RecordChange::Create(cname.clone()), RecordChange::Create(txt.clone())],
        )
        .await
        .unwrap();
    assert!(!change.starts_with("/change/"));
    cloud.get_change(&change).await.unwrap();
    let records = cloud.list_resource_record_sets(&zone).await.unwrap();
    assert!(records.contains(&cname), "{records:?}");
    assert!(records.contains(&txt), "{records:?}");
    cloud
        .change_resource_record_sets(&zone, &[RecordChange::Delete(cname.clone()), RecordChange::Delete(txt)])
        .await
        .unwrap();
    assert!(
        !cloud
            .list_resource_record_sets(&zone)
            .await
            .unwrap()
            .iter()
            .any(|r| r.name == cname.name)
    );
}

/// moto's FSx answers without `VpcId` or `Lifecycle` (real AWS always sends both): the adapter
/// must skip such a file system, and the Windows one, without failing the listing. The full
/// field mapping is covered by the aws-smithy-mocks test with a complete response.
#[tokio::test]
async fn fsx_file_systems_that_cannot_be_planned_are_skipped_not_fatal() {
    let moto = Moto::start();
    let sdk = moto.config().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let fsx = aws_sdk_fsx::Client::new(&sdk);
    let cloud = AwsCloud::new(&sdk);
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
    let mut subnets = Vec::new();
    for (cidr, az) in [("10.0.8.0/24", "us-east-1a"), ("10.0.9.0/24", "us-east-1b")] {
        subnets.push(
            ec2.create_subnet()
                .vpc_id(&vpc)
                .cidr_block(cidr)
                .availability_zone(az)
                .send()
                .await
                .unwrap()
                .subnet
                .unwrap()
                .subnet_id
                .unwrap(),
        );
    }
    let created = fsx
        .create_file_system()
        .file_system_type(aws_sdk_fsx::types::FileSystemType::Ontap)
        .storage_capacity(1024)
        .set_subnet_ids(Some(subnets.clone()))
        .ontap_configuration(
            aws_sdk_fsx::types::CreateFileSystemOntapConfiguration::builder()
                .deployment_type(aws_sdk_fsx::types::OntapDeploymentType::MultiAz1)
                .throughput_capacity(128)
                .preferred_subnet_id(&subnets[0])
                .endpoint_ip_address_range("10.0.15.192/26")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        created.file_system.unwrap().vpc_id.is_none(),
        "moto now sends VpcId: make this test check the happy path"
    );
    fsx.create_file_system()
        .file_system_type(aws_sdk_fsx::types::FileSystemType::Windows)
        .storage_capacity(32)
        .set_subnet_ids(Some(vec![subnets[0].clone()]))
        .send()
        .await
        .unwrap();
    let fss = cloud.describe_file_systems().await.unwrap();
    assert!(fss.is_empty(), "{fss:?}");
}
