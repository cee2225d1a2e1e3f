//! Consumers in other accounts: the RAM adapter's request/response shapes (aws-smithy-mocks),
//! its error mapping, and opening a consumer account's session through STS (an HTTP stand-in
//! answering STS and RAM in-process: no network).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use aws_sdk_ram::Client;
use aws_sdk_ram::operation::accept_resource_share_invitation::AcceptResourceShareInvitationOutput;
use aws_sdk_ram::operation::create_resource_share::CreateResourceShareOutput;
use aws_sdk_ram::operation::get_resource_share_associations::GetResourceShareAssociationsOutput;
use aws_sdk_ram::operation::get_resource_share_invitations::GetResourceShareInvitationsOutput;
use aws_sdk_ram::operation::get_resource_shares::GetResourceSharesOutput;
use aws_sdk_ram::types::{
    ResourceOwner, ResourceShare as SdkShare, ResourceShareAssociation, ResourceShareAssociationStatus,
    ResourceShareAssociationType, ResourceShareInvitation, ResourceShareInvitationStatus, ResourceShareStatus, Tag,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use fsxn_lattice_aws::{AwsRam, AwsSharing, SESSION_SECONDS, ram_kind, session_name};
use fsxn_lattice_core::config::ConsumerAccount;
use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_core::ids::AccountId;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::naming::{ACCOUNT_TAG, OWNER_TAG};
use fsxn_lattice_core::ports::*;

const HOME: &str = "111122223333";
const CONSUMER: &str = "222233334444";
const RCFG: &str = "arn:aws:vpc-lattice:us-east-1:111122223333:resourceconfiguration/rcfg-07e1be0ba948e9054";

fn share_arn(n: u32) -> String {
    format!("arn:aws:ram:us-east-1:{HOME}:resource-share/0000000{n}-aaaa-bbbb-cccc-dddddddddddd")
}

fn sdk_share(n: u32, owner: &str, status: ResourceShareStatus) -> SdkShare {
    SdkShare::builder()
        .resource_share_arn(share_arn(n))
        .name(format!("fsxnl-{owner}-{CONSUMER}"))
        .owning_account_id(HOME)
        .allow_external_principals(false)
        .status(status)
        .tags(Tag::builder().key(OWNER_TAG).value(owner).build())
        .tags(Tag::builder().key(ACCOUNT_TAG).value(CONSUMER).build())
        .build()
}

fn association(
    n: u32,
    kind: ResourceShareAssociationType,
    entity: &str,
    status: ResourceShareAssociationStatus,
) -> ResourceShareAssociation {
    ResourceShareAssociation::builder()
        .resource_share_arn(share_arn(n))
        .associated_entity(entity)
        .association_type(kind)
        .status(status)
        .external(true)
        .build()
}

/// A RAM (rest-json) error: the code in `x-amzn-errortype`, as the service sends it.
fn ram_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let mut r = HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(r#"{{"message":"{message}"}}"#)),
    );
    r.headers_mut().insert("content-type", "application/json");
    r.headers_mut().insert("x-amzn-errortype", code.to_string());
    r
}

#[tokio::test]
async fn our_shares_are_read_in_pages_with_their_associations_exactly_ours_and_not_deleted() {
    // Page 1: ours (share 1), another stack's (share 2: the tag filter ORs, a stand-in may
    // ignore it), ours but DELETED (share 3). Page 2: empty but with a token (RAM may do
    // that). Page 3: ours (share 4).
    let shares = mock!(Client::get_resource_shares)
        .match_requests(|r| {
            r.resource_owner() == Some(&ResourceOwner::SelfValue)
                && r.max_results() == Some(500)
                && r.tag_filters().len() == 1
                && r.tag_filters()[0].tag_key() == Some(OWNER_TAG)
                && r.tag_filters()[0].tag_values() == ["demo"]
        })
        .then_compute_output(|r| match r.next_token() {
            None => GetResourceSharesOutput::builder()
                .resource_shares(sdk_share(1, "demo", ResourceShareStatus::Active))
                .resource_shares(sdk_share(2, "other", ResourceShareStatus::Active))
                .resource_shares(sdk_share(3, "demo", ResourceShareStatus::Deleted))
                .next_token("p2")
                .build(),
            Some("p2") => GetResourceSharesOutput::builder().next_token("p3").build(),
            Some(_) => GetResourceSharesOutput::builder()
                .resource_shares(sdk_share(4, "demo", ResourceShareStatus::Pending))
                .build(),
        });
    let associations = mock!(Client::get_resource_share_associations)
        .match_requests(|r| r.max_results() == Some(500) && r.resource_share_arns().len() == 1)
        .then_compute_output(|r| {
            let arn = r.resource_share_arns()[0].clone();
            let n: u32 = if arn == share_arn(1) { 1 } else { 4 };
            match (r.association_type(), r.next_token()) {
                (Some(ResourceShareAssociationType::Principal), None) => GetResourceShareAssociationsOutput::builder()
                    .resource_share_associations(association(
                        n,
                        ResourceShareAssociationType::Principal,
                        CONSUMER,
                        ResourceShareAssociationStatus::Associating,
                    ))
                    .next_token("more")
                    .build(),
                (Some(ResourceShareAssociationType::Principal), Some(_)) => {
                    GetResourceShareAssociationsOutput::builder()
                        .resource_share_associations(association(
                            n,
                            ResourceShareAssociationType::Principal,
                            "333344445555",
                            ResourceShareAssociationStatus::Disassociated,
                        ))
                        .build()
                }
                _ => GetResourceShareAssociationsOutput::builder()
                    .resource_share_associations(
                        ResourceShareAssociation::builder()
                            .resource_share_arn(share_arn(n))
                            .associated_entity(RCFG)
                            .association_type(ResourceShareAssociationType::Resource)
                            .status(ResourceShareAssociationStatus::Failed)
                            .status_message("The resource you are attempting to share is not shareable")
                            .build(),
                    )
                    .build(),
            }
        });
    let client = mock_client!(aws_sdk_ram, RuleMode::MatchAny, [&shares, &associations]);
    let got = AwsRam::new(client).list_resource_shares("demo").await.unwrap();
    assert_eq!(shares.num_calls(), 3, "every page, the empty one with a token included");
    // Two reads per share of ours (principals in two pages).
    assert_eq!(associations.num_calls(), 6);
    assert_eq!(
        got.iter().map(|s| s.arn.clone()).collect::<Vec<_>>(),
        [share_arn(1), share_arn(4)]
    );
    let first = &got[0];
    assert_eq!(first.name, format!("fsxnl-demo-{CONSUMER}"));
    assert_eq!(first.status, ShareStatus::Active);
    assert!(!first.allow_external_principals);
    assert_eq!(first.tags.get(ACCOUNT_TAG).map(String::as_str), Some(CONSUMER));
    assert_eq!(
        first.principals,
        [ShareAssociation {
            entity: CONSUMER.into(),
            status: AssociationStatus::Associating,
            message: None,
        }],
        "DISASSOCIATED principals are left out"
    );
    assert_eq!(first.resources.len(), 1);
    assert_eq!(first.resources[0].entity, RCFG);
    assert_eq!(first.resources[0].status, AssociationStatus::Failed);
    assert!(first.resources[0].message.as_deref().unwrap().contains("not shareable"));
    assert_eq!(got[1].status, ShareStatus::Pending);
}

#[tokio::test]
async fn a_share_is_created_with_its_token_tags_principal_and_no_external_principals() {
    let rule = mock!(Client::create_resource_share)
        .match_requests(|r| {
            r.name() == Some("fsxnl-demo-222233334444")
                && r.resource_arns() == [RCFG]
                && r.principals() == [CONSUMER]
                && r.allow_external_principals() == Some(false)
                && r.client_token() == Some("fsxnl-demo-share-222233334444")
                && r.tags()
                    .iter()
                    .any(|t| t.key() == Some(OWNER_TAG) && t.value() == Some("demo"))
                && r.tags()
                    .iter()
                    .any(|t| t.key() == Some(ACCOUNT_TAG) && t.value() == Some(CONSUMER))
                && r.permission_arns().is_empty()
        })
        .then_output(|| {
            CreateResourceShareOutput::builder()
                .resource_share(sdk_share(1, "demo", ResourceShareStatus::Pending))
                .client_token("fsxnl-demo-share-222233334444")
                .build()
        });
    let client = mock_client!(aws_sdk_ram, [&rule]);
    let share = AwsRam::new(client)
        .create_resource_share(&CreateResourceShareRequest {
            name: "fsxnl-demo-222233334444".into(),
            resource_arns: vec![RCFG.into()],
            principals: vec![AccountId::parse(CONSUMER).unwrap()],
            allow_external_principals: false,
            client_token: "fsxnl-demo-share-222233334444".into(),
            tags: [
                (OWNER_TAG.to_string(), "demo".to_string()),
                (ACCOUNT_TAG.to_string(), CONSUMER.to_string()),
            ]
            .into(),
        })
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(share.arn, share_arn(1));
    assert_eq!(share.status, ShareStatus::Pending);
    assert_eq!(share.principals[0].status, AssociationStatus::Associating);
    assert_eq!(share.resources[0].entity, RCFG);
}

#[tokio::test]
async fn associate_disassociate_and_delete_send_a_client_token_and_only_what_is_asked() {
    let associate = mock!(Client::associate_resource_share)
        .match_requests(|r| {
            r.resource_share_arn() == Some(share_arn(1).as_str())
                && r.resource_arns() == [RCFG]
                && r.principals().is_empty()
                && r.client_token().is_some_and(|t| t.len() == 36)
        })
        .then_output(|| {
            aws_sdk_ram::operation::associate_resource_share::AssociateResourceShareOutput::builder().build()
        });
    let disassociate = mock!(Client::disassociate_resource_share)
        .match_requests(|r| r.resource_arns().is_empty() && r.principals() == [CONSUMER] && r.client_token().is_some())
        .then_output(|| {
            aws_sdk_ram::operation::disassociate_resource_share::DisassociateResourceShareOutput::builder().build()
        });
    let delete = mock!(Client::delete_resource_share)
        .match_requests(|r| r.resource_share_arn() == Some(share_arn(1).as_str()) && r.client_token().is_some())
        .then_output(|| {
            aws_sdk_ram::operation::delete_resource_share::DeleteResourceShareOutput::builder()
                .return_value(true)
                .build()
        });
    let client = mock_client!(aws_sdk_ram, RuleMode::MatchAny, [&associate, &disassociate, &delete]);
    let ram = AwsRam::new(client);
    let consumer = AccountId::parse(CONSUMER).unwrap();
    ram.associate_resource_share(&share_arn(1), &[RCFG.to_string()], &[])
        .await
        .unwrap();
    ram.disassociate_resource_share(&share_arn(1), &[], std::slice::from_ref(&consumer))
        .await
        .unwrap();
    ram.delete_resource_share(&share_arn(1)).await.unwrap();
    assert_eq!(
        (associate.num_calls(), disassociate.num_calls(), delete.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn invitations_are_read_in_pages_and_accepted_with_a_token() {
    let list = mock!(Client::get_resource_share_invitations)
        .match_requests(|r| r.max_results() == Some(500))
        .then_compute_output(|r| {
            let invitation = |n: u32, status: ResourceShareInvitationStatus| {
                ResourceShareInvitation::builder()
                    .resource_share_invitation_arn(format!(
                        "arn:aws:ram:us-east-1:{HOME}:resource-share-invitation/inv-{n}"
                    ))
                    .resource_share_arn(share_arn(n))
                    .resource_share_name(format!("fsxnl-demo-{CONSUMER}"))
                    .sender_account_id(HOME)
                    .receiver_account_id(CONSUMER)
                    .status(status)
                    .build()
            };
            match r.next_token() {
                None => GetResourceShareInvitationsOutput::builder()
                    .resource_share_invitations(invitation(1, ResourceShareInvitationStatus::Pending))
                    .next_token("p2")
                    .build(),
                Some(_) => GetResourceShareInvitationsOutput::builder()
                    .resource_share_invitations(invitation(2, ResourceShareInvitationStatus::Expired))
                    .build(),
            }
        });
    let accept = mock!(Client::accept_resource_share_invitation)
        .match_requests(|r| {
            r.resource_share_invitation_arn()
                == Some("arn:aws:ram:us-east-1:111122223333:resource-share-invitation/inv-1")
                && r.client_token().is_some()
        })
        .then_output(|| AcceptResourceShareInvitationOutput::builder().build());
    let client = mock_client!(aws_sdk_ram, RuleMode::MatchAny, [&list, &accept]);
    let ram = AwsRam::new(client);
    let got = ram.list_share_invitations().await.unwrap();
    assert_eq!(list.num_calls(), 2);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].share_arn, share_arn(1));
    assert_eq!(got[0].sender, HOME);
    assert_eq!(got[0].status, InvitationStatus::Pending);
    assert_eq!(got[1].status, InvitationStatus::Expired);
    ram.accept_share_invitation(&got[0].arn).await.unwrap();
    assert_eq!(accept.num_calls(), 1);
}

#[tokio::test]
async fn ram_errors_map_to_the_core_kinds_keeping_their_codes() {
    let cases: &[(u16, &str, ErrorKind)] = &[
        (400, "UnknownResourceException", ErrorKind::NotFound),
        (
            400,
            "ResourceShareInvitationAlreadyAcceptedException",
            ErrorKind::Conflict,
        ),
        (400, "ResourceShareInvitationExpiredException", ErrorKind::Conflict),
        (400, "ResourceShareInvitationArnNotFoundException", ErrorKind::NotFound),
        (400, "OperationNotPermittedException", ErrorKind::InvalidInput),
        (400, "MalformedArnException", ErrorKind::InvalidInput),
        (429, "ThrottlingException", ErrorKind::Transient),
        (500, "ServerInternalException", ErrorKind::Transient),
        (503, "ServiceUnavailableException", ErrorKind::Transient),
        (400, "AccessDeniedException", ErrorKind::AccessDenied),
    ];
    for (status, code, kind) in cases {
        let (status, code) = (*status, *code);
        let rule = mock!(Client::accept_resource_share_invitation)
            .then_http_response(move || ram_error(status, code, "refused"));
        let client = mock_client!(aws_sdk_ram, RuleMode::MatchAny, [&rule], |c| c
            .retry_config(aws_sdk_ram::config::retry::RetryConfig::disabled()));
        let err = AwsRam::new(client)
            .accept_share_invitation("arn:aws:ram:us-east-1:111122223333:resource-share-invitation/inv-1")
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind, err.code.as_str(), err.operation.as_str()),
            (*kind, code, "AcceptResourceShareInvitation"),
            "{code}"
        );
    }
    // Deleting a share that is gone is NotFound: applying counts it as done.
    let gone = mock!(Client::delete_resource_share)
        .then_http_response(|| ram_error(400, "UnknownResourceException", "no such share"));
    let client = mock_client!(aws_sdk_ram, [&gone]);
    let err = AwsRam::new(client)
        .delete_resource_share(&share_arn(9))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(
        ram_kind("IdempotentParameterMismatchException"),
        Some(ErrorKind::Conflict)
    );
    assert_eq!(
        ram_kind("ResourceShareLimitExceededException"),
        Some(ErrorKind::QuotaExceeded)
    );
    assert_eq!(ram_kind("SomethingElse"), None);
}

#[test]
fn session_names_fit_sts_and_name_the_owner() {
    assert_eq!(session_name("demo"), "fsxn-lattice-demo");
    let long = session_name(&"x".repeat(80));
    assert_eq!(long.len(), 64);
    assert!(
        session_name("a b/c")
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    );
    assert_eq!(SESSION_SECONDS, 3600, "role chaining caps sessions at one hour");
}

// ---- sessions: STS and RAM answered by an in-process HTTP stand-in ----------------------------

mod sessions {
    use super::*;
    use aws_config::{BehaviorVersion, Region, SdkConfig};
    use aws_credential_types::Credentials;
    use aws_smithy_http_client::test_util::infallible_client_fn;
    use std::sync::{Arc, Mutex};

    /// One request as the stand-in saw it: host, the access key id it was signed with, body.
    #[derive(Debug, Clone)]
    struct Seen {
        host: String,
        key: String,
        token: Option<String>,
        body: String,
    }

    const ROLE: &str = "arn:aws:iam::222233334444:role/fsxn-lattice/fsxn-lattice-consumer";

    fn assumed(expiration: &str) -> String {
        format!(
            r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::{CONSUMER}:assumed-role/fsxn-lattice-consumer/fsxn-lattice-demo</Arn>
      <AssumedRoleId>AROAEXAMPLE:fsxn-lattice-demo</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAASSUMEDEXAMPLE</AccessKeyId>
      <SecretAccessKey>assumed-secret</SecretAccessKey>
      <SessionToken>assumed-session-token</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#
        )
    }

    const DENIED: &str = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::111122223333:assumed-role/demo-ProvisionFunctionRole/fsxn-lattice-provision is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222233334444:role/fsxn-lattice/fsxn-lattice-consumer</Message></Error>
  <RequestId>r-2</RequestId>
</ErrorResponse>"#;

    /// A home SdkConfig whose HTTP client is the stand-in: STS answers as `sts` says (`ok`;
    /// `denied`; `expired-then-denied`: credentials already expired, then AccessDenied), RAM
    /// lists no invitations; every request is recorded.
    async fn home(sts: &'static str) -> (SdkConfig, Arc<Mutex<Vec<Seen>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let http = infallible_client_fn(move |req: http::Request<SdkBody>| {
            let host = req.uri().host().unwrap_or_default().to_string();
            let auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let key = auth
                .split("Credential=")
                .nth(1)
                .and_then(|c| c.split('/').next())
                .unwrap_or_default()
                .to_string();
            let token = req
                .headers()
                .get("x-amz-security-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = String::from_utf8_lossy(req.body().bytes().unwrap_or_default()).to_string();
            let sts_calls = {
                let mut log = log.lock().unwrap();
                log.push(Seen {
                    host: host.clone(),
                    key,
                    token,
                    body,
                });
                log.iter().filter(|s| s.host.starts_with("sts.")).count()
            };
            if host.starts_with("sts.") {
                let (status, body) = match (sts, sts_calls) {
                    ("ok", _) => (200, assumed("2099-01-01T00:00:00Z")),
                    ("expired-then-denied", 1) => (200, assumed("2000-01-01T00:00:00Z")),
                    _ => (403, DENIED.to_string()),
                };
                http::Response::builder()
                    .status(status)
                    .header("content-type", "text/xml")
                    .body(SdkBody::from(body))
                    .unwrap()
            } else {
                http::Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(SdkBody::from(r#"{"resourceShareInvitations":[]}"#))
                    .unwrap()
            }
        });
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIAHOMEEXAMPLE", "home-secret", None, None, "test"))
            .http_client(http)
            .load()
            .await;
        (config, seen)
    }

    fn account() -> ConsumerAccount {
        ConsumerAccount {
            id: AccountId::parse(CONSUMER).unwrap(),
            role_arn: ROLE.into(),
            external_id: Some("fsxn-lattice:demo:222233334444".into()),
        }
    }

    #[tokio::test]
    async fn a_session_is_opened_once_through_the_role_with_its_external_id_and_reused() {
        let (config, seen) = home("ok").await;
        let sharing = AwsSharing::new(&config, "demo");
        assert!(sharing.session(&account().id).is_none());
        let there = sharing.assume(&account()).await.unwrap();
        // The consumer's RAM is called on the role's credentials, not the home account's.
        assert!(there.list_share_invitations().await.unwrap().is_empty());
        let again = sharing.assume(&account()).await.unwrap();
        assert!(again.list_share_invitations().await.unwrap().is_empty());
        assert!(sharing.session(&account().id).is_some());
        let log = seen.lock().unwrap().clone();
        let sts: Vec<&Seen> = log.iter().filter(|s| s.host.starts_with("sts.")).collect();
        assert_eq!(sts.len(), 1, "one AssumeRole opens the session: {log:?}");
        let body = &sts[0].body;
        for part in [
            "Action=AssumeRole",
            "RoleArn=arn%3Aaws%3Aiam%3A%3A222233334444%3Arole%2Ffsxn-lattice%2Ffsxn-lattice-consumer",
            "RoleSessionName=fsxn-lattice-demo",
            "ExternalId=fsxn-lattice%3Ademo%3A222233334444",
            "DurationSeconds=3600",
        ] {
            assert!(body.contains(part), "{part} not in {body}");
        }
        assert_eq!(
            sts[0].key, "AKIAHOMEEXAMPLE",
            "AssumeRole is signed by the home account"
        );
        let ram: Vec<&Seen> = log.iter().filter(|s| s.host.starts_with("ram.")).collect();
        assert_eq!(ram.len(), 2);
        for r in ram {
            assert_eq!(r.key, "ASIAASSUMEDEXAMPLE");
            assert_eq!(r.token.as_deref(), Some("assumed-session-token"));
        }
        // Another role for the same account (the config changed): a new session.
        let mut moved = account();
        moved.role_arn = "arn:aws:iam::222233334444:role/other".into();
        sharing.assume(&moved).await.unwrap();
        let calls = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.host.starts_with("sts."))
            .count();
        assert_eq!(calls, 2);
    }

    #[tokio::test]
    async fn an_unassumable_role_is_access_denied_naming_the_account_and_the_role() {
        let (config, _) = home("denied").await;
        let sharing = AwsSharing::new(&config, "demo");
        let err = match sharing.assume(&account()).await {
            Ok(_) => panic!("assumed a role STS refused"),
            Err(e) => e,
        };
        assert_eq!(
            (err.kind, err.operation.as_str(), err.code.as_str()),
            (ErrorKind::AccessDenied, "AssumeRole", "AccessDenied")
        );
        assert!(err.message.contains(CONSUMER), "{}", err.message);
        assert!(err.message.contains(ROLE), "{}", err.message);
        assert!(err.message.contains("external id"), "{}", err.message);
        assert!(
            sharing.session(&account().id).is_none(),
            "a refused role opens no session"
        );
    }

    /// The session's credentials are renewed through STS as they expire (aws-config's
    /// AssumeRoleProvider); a role that can no longer be assumed then fails the calls in that
    /// account as AccessDenied with STS's code, not as a network error to retry.
    #[tokio::test]
    async fn a_role_refused_at_renewal_fails_the_calls_as_access_denied() {
        let (config, seen) = home("expired-then-denied").await;
        let sharing = AwsSharing::new(&config, "demo");
        let there = sharing.assume(&account()).await.unwrap();
        let err = there.list_share_invitations().await.unwrap_err();
        assert_eq!(
            (err.kind, err.operation.as_str(), err.code.as_str()),
            (ErrorKind::AccessDenied, "GetResourceShareInvitations", "AccessDenied"),
            "{err}"
        );
        assert!(err.message.contains("AssumeRole"), "{}", err.message);
        let sts = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.host.starts_with("sts."))
            .count();
        assert!(sts >= 2, "renewed through STS ({sts} calls)");
        assert!(
            !seen.lock().unwrap().iter().any(|s| s.host.starts_with("ram.")),
            "no RAM call without credentials"
        );
    }
}
