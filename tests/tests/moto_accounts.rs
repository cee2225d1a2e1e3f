//! Consumers in other accounts over real HTTP against a moto server this harness starts on
//! 127.0.0.1: moto implements STS AssumeRole (credentials it then maps to the role's account)
//! and part of RAM (create, get, delete shares and their associations; not tags, not
//! invitations, and it refuses VPC Lattice resource types). Invitations, tag filtering and the
//! error mapping of the rest are covered by `shared/aws/tests/sharing.rs` (aws-smithy-mocks).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use fsxn_lattice_aws::{AwsCloud, AwsRam, AwsSharing};
use fsxn_lattice_core::config::ConsumerAccount;
use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::naming::{ACCOUNT_TAG, OWNER_TAG};
use fsxn_lattice_core::ports::*;
use fsxn_lattice_tests::moto::MotoServer;

const CONSUMER: &str = "222233334444";
const ROLE: &str = "arn:aws:iam::222233334444:role/fsxn-lattice/fsxn-lattice-demo";

async fn home(moto: &MotoServer) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto.url())
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

fn account() -> ConsumerAccount {
    ConsumerAccount {
        id: AccountId::parse(CONSUMER).unwrap(),
        role_arn: ROLE.into(),
        external_id: Some("fsxn-lattice:demo:222233334444".into()),
    }
}

#[tokio::test]
async fn a_consumer_account_is_read_through_its_role_and_not_through_the_home_credentials() {
    let moto = MotoServer::start();
    let sdk = home(&moto).await;
    // A VPC in the consumer account, made with credentials of that account (moto gives the
    // assumed role's account to the keys it issues).
    let consumer_sdk = sdk
        .to_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            AssumeRoleProvider::builder(ROLE)
                .configure(&sdk)
                .session_name("fixture")
                .build()
                .await,
        ))
        .build();
    let vpc = aws_sdk_ec2::Client::new(&consumer_sdk)
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let vpc = VpcId::parse(vpc).unwrap();

    let sharing = AwsSharing::new(&sdk, "demo");
    let there = sharing.assume(&account()).await.unwrap();
    let seen = there
        .describe_vpcs(std::slice::from_ref(&vpc), VpcAttributes::Dns)
        .await
        .unwrap();
    assert_eq!(seen.iter().map(|v| &v.id).collect::<Vec<_>>(), [&vpc]);
    assert_eq!(seen[0].cidr_blocks[0].to_string(), "10.9.0.0/16");
    // The home account does not see it: the session's calls carry the role's credentials.
    let home_cloud = AwsCloud::new(&sdk);
    assert!(
        home_cloud
            .describe_vpcs(std::slice::from_ref(&vpc), VpcAttributes::None)
            .await
            .unwrap()
            .is_empty()
    );
    // The session is kept for applying.
    assert!(sharing.session(&account().id).is_some());
    assert!(
        there
            .describe_resource_endpoints(&[EndpointFilter::Vpcs(vec![vpc.clone()])])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_share_is_created_read_and_deleted_and_a_gone_share_is_not_found() {
    let moto = MotoServer::start();
    let sdk = home(&moto).await;
    let ram = AwsRam::new(aws_sdk_ram::Client::new(&sdk));
    let consumer = AccountId::parse(CONSUMER).unwrap();
    let share = ram
        .create_resource_share(&CreateResourceShareRequest {
            name: format!("fsxnl-demo-{CONSUMER}"),
            // moto refuses VPC Lattice resource types ("You cannot share the selected resource
            // type"): the share is created for the principal, as the planner may before any
            // configuration is shared.
            resource_arns: vec![],
            principals: vec![consumer.clone()],
            allow_external_principals: false,
            client_token: "fsxnl-demo-share".into(),
            tags: [
                (OWNER_TAG.to_string(), "demo".to_string()),
                (ACCOUNT_TAG.to_string(), CONSUMER.to_string()),
            ]
            .into(),
        })
        .await
        .unwrap();
    assert!(share.arn.starts_with("arn:aws:ram:us-east-1:"), "{}", share.arn);
    assert!(!share.allow_external_principals);
    assert_eq!(share.principals[0].entity, CONSUMER);
    // moto keeps no tags and ignores tag filters: the adapter's exact owner check leaves its
    // share out, as it would another stack's.
    assert!(ram.list_resource_shares("demo").await.unwrap().is_empty());
    ram.delete_resource_share(&share.arn).await.unwrap();
    let gone = ram
        .delete_resource_share("arn:aws:ram:us-east-1:123456789012:resource-share/00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(
        (gone.kind, gone.code.as_str()),
        (ErrorKind::NotFound, "UnknownResourceException")
    );
}
