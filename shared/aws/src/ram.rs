//! AWS RAM: our resource shares (the home account's side) and the invitations a consumer
//! account receives (called through the role assumed there, [`crate::AwsConsumer`]).
//!
//! Shapes and enums are botocore's `ram/2018-01-04/service-2.json` (rest-json):
//! - `GetResourceShares` requires `resourceOwner` (`SELF` | `OTHER-ACCOUNTS`); its
//!   `tagFilters` are OR-ed together and a filter with no values matches any value of its key,
//!   so the owner tag is matched again here, exactly. A page may be empty while `nextToken` is
//!   still set: the SDK's paginator follows the token, not the page's length.
//! - `GetResourceShareAssociations` requires `associationType` (`PRINCIPAL` | `RESOURCE` |
//!   `SOURCE`); statuses `ASSOCIATING` | `ASSOCIATED` | `FAILED` | `DISASSOCIATING` |
//!   `DISASSOCIATED` (and, in newer models, `SUSPENDED` | `SUSPENDING` | `RESTORING`): passed
//!   to the core's `AssociationStatus::parse` as RAM spells them; only DISASSOCIATED ones are
//!   dropped here.
//! - `ResourceShareStatus` `PENDING` | `ACTIVE` | `FAILED` | `DELETING` | `DELETED`;
//!   `ResourceShareInvitationStatus` `PENDING` | `ACCEPTED` | `REJECTED` | `EXPIRED`.
//! - Every write takes a `clientToken`; RAM generates one when it is absent, and a token reused
//!   with other parameters fails with `IdempotentParameterMismatchException`. Create uses the
//!   core's token (derived from the desired share); associate, disassociate, delete and accept
//!   get a fresh one per port call, which the SDK's own retries of that call resend: those
//!   calls are idempotent by state (the planner re-reads), and a token derived from their
//!   parameters would make a later, identical request (associate again after a disassociate)
//!   a replay of the first.
//! - Error codes are the exception shape names (`UnknownResourceException`, …); the HTTP
//!   statuses are 400 but for `ThrottlingException` 429, `ServerInternalException` 500 and
//!   `ServiceUnavailableException` 503. [`ram_kind`] maps them.
//!
//! Page size: `maxResults` 1–500 for the three list calls; 500 is asked for.

use crate::error::{malformed, translate};
use async_trait::async_trait;
use aws_sdk_ram::Client;
use aws_sdk_ram::types::{ResourceOwner, ResourceShareAssociationType, Tag, TagFilter};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use fsxn_lattice_core::error::{CloudError, ErrorKind};
use fsxn_lattice_core::ids::AccountId;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::naming::OWNER_TAG;
use fsxn_lattice_core::ports::*;

/// `maxResults` of `GetResourceShares`, `GetResourceShareAssociations` and
/// `GetResourceShareInvitations`: the API's maximum (botocore: `MaxResults` 1–500).
pub const RAM_PAGE: i32 = 500;

/// At most this many association reads in flight at once (the core's bound per service).
const IN_FLIGHT: usize = fsxn_lattice_core::observe::READS_IN_FLIGHT;

/// The RAM adapter: in the home account, our shares ([`SharesRead`], [`SharesWrite`]); in a
/// consumer account (built on the assumed role's credentials), its invitations
/// ([`Invitations`]).
#[derive(Debug, Clone)]
pub struct AwsRam {
    client: Client,
}

impl AwsRam {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// What the core should do about a RAM error code, where the shared classification
/// ([`fsxn_lattice_core::error::classify_code`]) does not know RAM's spelling (botocore `ram`
/// exception shapes). `None`: keep that classification (throttling, 5xx, AccessDenied).
pub fn ram_kind(code: &str) -> Option<ErrorKind> {
    Some(match code {
        // The share, invitation or resource named does not exist (any more).
        "UnknownResourceException" | "ResourceShareInvitationArnNotFoundException" | "ResourceArnNotFoundException" => {
            ErrorKind::NotFound
        }
        // State conflicts: re-read and re-plan. AlreadyAccepted keeps its code: applying
        // treats it as done (`apply.rs`, AcceptShareInvitation).
        "ResourceShareInvitationAlreadyAcceptedException"
        | "ResourceShareInvitationAlreadyRejectedException"
        | "ResourceShareInvitationExpiredException"
        | "InvalidStateTransitionException"
        | "IdempotentParameterMismatchException"
        | "PermissionAlreadyExistsException" => ErrorKind::Conflict,
        "ResourceShareLimitExceededException" | "TagLimitExceededException" => ErrorKind::QuotaExceeded,
        "ServerInternalException" | "ServiceUnavailableException" | "ThrottlingException" => ErrorKind::Transient,
        // "The operation is not permitted": e.g. a principal outside the organization on a share
        // that does not allow external principals, or sharing with the organization not
        // enabled. A setup or configuration problem, not IAM: retrying cannot help.
        "OperationNotPermittedException"
        | "MalformedArnException"
        | "InvalidParameterException"
        | "InvalidClientTokenException"
        | "InvalidNextTokenException"
        | "InvalidMaxResultsException"
        | "InvalidResourceTypeException"
        | "MissingRequiredParameterException"
        | "TagPolicyViolationException"
        | "UnmatchedPolicyPermissionException" => ErrorKind::InvalidInput,
        _ => return None,
    })
}

/// Translates a RAM error of operation `op`: the shared translation, then RAM's codes.
pub fn translate_ram<E>(op: &str, err: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut e = translate(op, err);
    if let Some(kind) = ram_kind(&e.code) {
        e.kind = kind;
    }
    e
}

/// A fresh `clientToken` (UUID-shaped, 36 characters): unique per call, resent by the SDK's
/// retries of that call.
pub(crate) fn fresh_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut halves = [0u64; 2];
    for (i, half) in halves.iter_mut().enumerate() {
        let mut h = std::hash::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_usize(i);
        *half = h.finish();
    }
    let hex = format!("{:016x}{:016x}", halves[0], halves[1]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn tags_of(t: &[Tag]) -> Tags {
    t.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect()
}

fn share_from(op: &str, s: &aws_sdk_ram::types::ResourceShare) -> Result<ResourceShare, CloudError> {
    Ok(ResourceShare {
        arn: s
            .resource_share_arn()
            .ok_or_else(|| malformed(op, "resourceShareArn"))?
            .to_string(),
        name: s.name().unwrap_or_default().to_string(),
        status: ShareStatus::parse(s.status().map(|s| s.as_str()).unwrap_or_default()),
        // botocore: "The default value is true" (CreateResourceShare); absent means the default.
        allow_external_principals: s.allow_external_principals().unwrap_or(true),
        tags: tags_of(s.tags()),
        principals: Vec::new(),
        resources: Vec::new(),
    })
}

fn account_list(principals: &[AccountId]) -> Option<Vec<String>> {
    (!principals.is_empty()).then(|| principals.iter().map(|a| a.to_string()).collect())
}

fn arn_list(arns: &[String]) -> Option<Vec<String>> {
    (!arns.is_empty()).then(|| arns.to_vec())
}

impl AwsRam {
    /// `GetResourceShareAssociations` of one type for one share, all pages, DISASSOCIATED
    /// ones left out.
    async fn associations(
        &self,
        share_arn: &str,
        kind: ResourceShareAssociationType,
    ) -> CloudResult<Vec<ShareAssociation>> {
        const OP: &str = "GetResourceShareAssociations";
        let pages: Vec<_> = self
            .client
            .get_resource_share_associations()
            .association_type(kind)
            .resource_share_arns(share_arn)
            .max_results(RAM_PAGE)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| translate_ram(OP, e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.resource_share_associations())
            // Only this share's (the filter says so; a stand-in may not).
            .filter(|a| a.resource_share_arn().is_none_or(|arn| arn == share_arn))
            .filter_map(|a| {
                let status = AssociationStatus::parse(a.status().map(|s| s.as_str()).unwrap_or_default());
                (status != AssociationStatus::Disassociated).then(|| ShareAssociation {
                    entity: a.associated_entity().unwrap_or_default().to_string(),
                    status,
                    message: a.status_message().filter(|m| !m.is_empty()).map(str::to_string),
                })
            })
            .collect())
    }
}

#[async_trait]
impl SharesRead for AwsRam {
    async fn list_resource_shares(&self, owner: &str) -> CloudResult<Vec<ResourceShare>> {
        const OP: &str = "GetResourceShares";
        let pages: Vec<_> = self
            .client
            .get_resource_shares()
            .resource_owner(ResourceOwner::SelfValue)
            .tag_filters(TagFilter::builder().tag_key(OWNER_TAG).tag_values(owner).build())
            .max_results(RAM_PAGE)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| translate_ram(OP, e))?;
        let mut shares = Vec::new();
        for s in pages.iter().flat_map(|p| p.resource_shares()) {
            let share = share_from(OP, s)?;
            // Exactly ours (tag filters OR together; a stand-in may ignore them), and not gone.
            if share.tags.get(OWNER_TAG).map(String::as_str) != Some(owner) || share.status == ShareStatus::Deleted {
                continue;
            }
            shares.push(share);
        }
        shares.sort_by(|a, b| a.arn.cmp(&b.arn));
        // Two reads per share (principals, resources), at most IN_FLIGHT at once.
        let mut read = Vec::with_capacity(shares.len());
        for chunk in shares.chunks(IN_FLIGHT / 2) {
            read.extend(
                futures_util::future::join_all(chunk.iter().map(|s| async move {
                    futures_util::join!(
                        self.associations(&s.arn, ResourceShareAssociationType::Principal),
                        self.associations(&s.arn, ResourceShareAssociationType::Resource)
                    )
                }))
                .await,
            );
        }
        for (share, (principals, resources)) in shares.iter_mut().zip(read) {
            share.principals = principals?;
            share.resources = resources?;
        }
        Ok(shares)
    }
}

#[async_trait]
impl SharesWrite for AwsRam {
    async fn create_resource_share(&self, req: &CreateResourceShareRequest) -> CloudResult<ResourceShare> {
        const OP: &str = "CreateResourceShare";
        let out = self
            .client
            .create_resource_share()
            .name(&req.name)
            .set_resource_arns(arn_list(&req.resource_arns))
            .set_principals(account_list(&req.principals))
            // Always sent: RAM's default is true (botocore), the config's is false.
            .allow_external_principals(req.allow_external_principals)
            .client_token(&req.client_token)
            .set_tags(Some(
                req.tags
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| translate_ram(OP, e))?;
        let mut share = share_from(OP, out.resource_share().ok_or_else(|| malformed(OP, "resourceShare"))?)?;
        // The response carries no associations; RAM starts associating what was asked.
        let associating = |entity: String| ShareAssociation {
            entity,
            status: AssociationStatus::Associating,
            message: None,
        };
        share.principals = req.principals.iter().map(|a| associating(a.to_string())).collect();
        share.resources = req.resource_arns.iter().cloned().map(associating).collect();
        Ok(share)
    }

    async fn associate_resource_share(
        &self,
        share_arn: &str,
        resource_arns: &[String],
        principals: &[AccountId],
    ) -> CloudResult<()> {
        const OP: &str = "AssociateResourceShare";
        self.client
            .associate_resource_share()
            .resource_share_arn(share_arn)
            .set_resource_arns(arn_list(resource_arns))
            .set_principals(account_list(principals))
            .client_token(fresh_token())
            .send()
            .await
            .map_err(|e| translate_ram(OP, e))?;
        Ok(())
    }

    async fn disassociate_resource_share(
        &self,
        share_arn: &str,
        resource_arns: &[String],
        principals: &[AccountId],
    ) -> CloudResult<()> {
        const OP: &str = "DisassociateResourceShare";
        self.client
            .disassociate_resource_share()
            .resource_share_arn(share_arn)
            .set_resource_arns(arn_list(resource_arns))
            .set_principals(account_list(principals))
            .client_token(fresh_token())
            .send()
            .await
            .map_err(|e| translate_ram(OP, e))?;
        Ok(())
    }

    async fn delete_resource_share(&self, share_arn: &str) -> CloudResult<()> {
        const OP: &str = "DeleteResourceShare";
        let out = self
            .client
            .delete_resource_share()
            .resource_share_arn(share_arn)
            .client_token(fresh_token())
            .send()
            .await
            .map_err(|e| translate_ram(OP, e))?;
        // `returnValue` false: RAM did not take the request (botocore documents no reason).
        if out.return_value() == Some(false) {
            return Err(CloudError::new(
                ErrorKind::Internal,
                OP,
                "ReturnValueFalse",
                format!("{share_arn}: RAM answered returnValue=false"),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl Invitations for AwsRam {
    async fn list_share_invitations(&self) -> CloudResult<Vec<ShareInvitation>> {
        const OP: &str = "GetResourceShareInvitations";
        let pages: Vec<_> = self
            .client
            .get_resource_share_invitations()
            .max_results(RAM_PAGE)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| translate_ram(OP, e))?;
        pages
            .iter()
            .flat_map(|p| p.resource_share_invitations())
            .map(|i| {
                Ok(ShareInvitation {
                    arn: i
                        .resource_share_invitation_arn()
                        .ok_or_else(|| malformed(OP, "resourceShareInvitationArn"))?
                        .to_string(),
                    share_arn: i.resource_share_arn().unwrap_or_default().to_string(),
                    sender: i.sender_account_id().unwrap_or_default().to_string(),
                    status: InvitationStatus::parse(i.status().map(|s| s.as_str()).unwrap_or_default()),
                })
            })
            .collect()
    }

    async fn accept_share_invitation(&self, invitation_arn: &str) -> CloudResult<()> {
        const OP: &str = "AcceptResourceShareInvitation";
        self.client
            .accept_resource_share_invitation()
            .resource_share_invitation_arn(invitation_arn)
            .client_token(fresh_token())
            .send()
            .await
            .map_err(|e| translate_ram(OP, e))?;
        Ok(())
    }
}
