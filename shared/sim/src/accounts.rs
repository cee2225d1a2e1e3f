//! Other accounts: consumer accounts with the role fsxn-lattice assumes there (STS
//! `AssumeRole`, checked against the role ARN and external id the account was given), what
//! they own (VPCs, subnets, endpoints, hosted zones placed in them), and AWS RAM: our resource
//! shares, their associations, and the invitations an account outside the organization
//! receives.
//!
//! One [`crate::SimCloud`] state holds every account; a session ([`Sharing::assume`]) is a
//! view of it as that account: it sees and changes only what that account owns, may call only
//! what the consumer role grants (`templates/consumer-account.yaml`), and its calls emit no
//! events to the stack's bus (they are in the other account's CloudTrail).

use crate::SimCloud;
use crate::world::{CloudState, err};
use async_trait::async_trait;
use fsxn_lattice_core::config::ConsumerAccount;
use fsxn_lattice_core::error::{CloudError, ErrorKind};
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The calls the consumer role allows (what `templates/consumer-account.yaml` grants).
pub(crate) const CONSUMER_OPERATIONS: &[&str] = &[
    "DescribeVpcs",
    "DescribeVpcEndpoints",
    "CreateVpcEndpoint",
    "DeleteVpcEndpoints",
    "GetHostedZone",
    "ListResourceRecordSets",
    "ChangeResourceRecordSets",
    "GetChange",
    "GetResourceShareInvitations",
    "AcceptResourceShareInvitation",
];

/// A consumer account.
#[derive(Debug, Clone)]
pub(crate) struct SimAccount {
    role_arn: String,
    external_id: Option<String>,
    in_organization: bool,
    assumable: bool,
}

/// Accounts, ownership and RAM.
#[derive(Debug, Default)]
pub(crate) struct AccountsState {
    accounts: BTreeMap<AccountId, SimAccount>,
    /// Resource id → the account owning it; absent: the stack's own.
    owner: BTreeMap<String, AccountId>,
    shares: BTreeMap<String, ResourceShare>,
    /// Invitation ARN → (receiver, invitation).
    invitations: BTreeMap<String, (AccountId, ShareInvitation)>,
}

impl CloudState {
    /// Whether the caller's account owns resource `id`.
    pub(crate) fn visible(&self, id: &str) -> bool {
        self.accts.owner.get(id) == self.caller.as_ref()
    }

    /// Records that the caller's account owns the new resource `id`.
    pub(crate) fn own(&mut self, id: &str) {
        if let Some(a) = self.caller.clone() {
            self.accts.owner.insert(id.to_string(), a);
        }
    }

    /// The account owning `id` (`None`: the stack's own).
    pub(crate) fn owner_of(&self, id: &str) -> Option<AccountId> {
        self.accts.owner.get(id).cloned()
    }

    /// A call the caller may not make: a session in another account may call only what the
    /// consumer role grants.
    pub(crate) fn denied_to_caller(&self, op: &str) -> Option<CloudError> {
        let account = self.caller.as_ref()?;
        (!CONSUMER_OPERATIONS.contains(&op)).then(|| {
            err(
                ErrorKind::AccessDenied,
                op,
                "AccessDenied",
                format!(
                    "User: arn:aws:sts::{account}:assumed-role/fsxn-lattice-consumer/fsxn-lattice is not authorized to perform: {op}"
                ),
            )
        })
    }

    /// Whether configuration `arn` (ours) may be used by the caller: the stack's own, or an
    /// account that is an associated principal of an active share of ours holding it.
    pub(crate) fn shared_with_caller(&self, arn: &str) -> bool {
        let Some(account) = &self.caller else {
            return true;
        };
        self.accts.shares.values().any(|s| {
            s.status == ShareStatus::Active
                && s.principals
                    .iter()
                    .any(|p| p.entity == account.as_str() && p.status == AssociationStatus::Associated)
                && s.resources
                    .iter()
                    .any(|r| r.entity == arn && r.status == AssociationStatus::Associated)
        })
    }

    fn share_arn(&mut self) -> String {
        let id = self.uuid();
        format!("arn:aws:ram:{}:{}:resource-share/{id}", self.region, self.account)
    }

    /// Associates `principals` with `share` the way RAM does: an account of the organization
    /// at once; one outside it with an invitation (when the share allows external principals),
    /// else `FAILED`.
    fn associate_principals(&mut self, share: &str, principals: &[AccountId]) {
        for p in principals {
            let (allow, name) = match self.accts.shares.get(share) {
                Some(s) => (s.allow_external_principals, s.name.clone()),
                None => return,
            };
            let in_org = self.accts.accounts.get(p).is_none_or(|a| a.in_organization);
            let (status, message) = if in_org {
                (AssociationStatus::Associated, None)
            } else if allow {
                let id = self.uuid();
                let arn = format!(
                    "arn:aws:ram:{}:{}:resource-share-invitation/{id}",
                    self.region, self.account
                );
                let invitation = ShareInvitation {
                    arn: arn.clone(),
                    share_arn: share.to_string(),
                    sender: self.account.clone(),
                    status: InvitationStatus::Pending,
                };
                let _ = name;
                self.accts.invitations.insert(arn, (p.clone(), invitation));
                (AssociationStatus::Associating, None)
            } else {
                (
                    AssociationStatus::Failed,
                    Some(format!(
                        "{p} is not in your organization and the resource share does not allow external principals"
                    )),
                )
            };
            let s = self.accts.shares.get_mut(share).expect("checked above");
            s.principals.retain(|x| x.entity != p.as_str());
            s.principals.push(ShareAssociation {
                entity: p.to_string(),
                status,
                message,
            });
        }
    }

    fn associate_resources(&mut self, share: &str, arns: &[String]) {
        let existing: Vec<String> = self.configurations.values().map(|c| c.arn.clone()).collect();
        let Some(s) = self.accts.shares.get_mut(share) else {
            return;
        };
        for arn in arns {
            s.resources.retain(|x| &x.entity != arn);
            let ok = existing.contains(arn);
            s.resources.push(ShareAssociation {
                entity: arn.clone(),
                status: if ok {
                    AssociationStatus::Associated
                } else {
                    AssociationStatus::Failed
                },
                message: (!ok).then(|| format!("UnknownResourceException: {arn}")),
            });
        }
    }

    /// A configuration deleted: RAM drops it from every share.
    pub(crate) fn unshare_deleted(&mut self, arn: &str) {
        for s in self.accts.shares.values_mut() {
            s.resources.retain(|r| r.entity != arn);
        }
    }

    fn no_share(op: &str, arn: &str) -> CloudError {
        err(
            ErrorKind::NotFound,
            op,
            "UnknownResourceException",
            format!("ResourceShare {arn} could not be found."),
        )
    }
}

impl SimCloud {
    /// Adds consumer account `id`, whose role `role_arn` trusts the stack's functions with
    /// `external_id` (if any); `in_organization`: shares reach it without an invitation.
    pub fn add_account(&self, id: &str, role_arn: &str, external_id: Option<&str>, in_organization: bool) -> AccountId {
        let id = AccountId::parse(id).expect("valid account id");
        self.w().accts.accounts.insert(
            id.clone(),
            SimAccount {
                role_arn: role_arn.to_string(),
                external_id: external_id.map(str::to_string),
                in_organization,
                assumable: true,
            },
        );
        id
    }

    /// Breaks (`false`) or restores the trust of `account`'s role: `AssumeRole` is then denied.
    pub fn set_assumable(&self, account: &AccountId, assumable: bool) {
        if let Some(a) = self.w().accts.accounts.get_mut(account) {
            a.assumable = assumable;
        }
    }

    /// Places resource `id` (a VPC, subnet or hosted zone just added) in `account`.
    pub fn place_in(&self, id: &str, account: &AccountId) {
        self.w().accts.owner.insert(id.to_string(), account.clone());
    }

    /// Our resource shares as they are (for assertions).
    pub fn shares(&self) -> Vec<ResourceShare> {
        self.w().accts.shares.values().cloned().collect()
    }

    /// AWS marks endpoint `id` `failed` with `reason` (its ENIs lost), wherever it is.
    pub fn fail_endpoint(&self, id: &VpcEndpointId, reason: &str) {
        let mut w = self.w();
        if let Some(e) = w.endpoints.get_mut(id) {
            e.ep.state = EndpointState::Failed;
            e.ep.failure_reason = Some(reason.to_string());
            e.ep.dns_name = None;
        }
    }

    /// The account owning resource `id` (`None`: the stack's own).
    pub fn account_of(&self, id: &str) -> Option<AccountId> {
        self.w().owner_of(id)
    }
}

#[async_trait]
impl SharesRead for SimCloud {
    async fn list_resource_shares(&self, owner: &str) -> CloudResult<Vec<ResourceShare>> {
        const OP: &str = "GetResourceShares";
        let mut w = self.w();
        w.enter(OP)?;
        let shares: Vec<ResourceShare> = w
            .accts
            .shares
            .values()
            .filter(|s| s.tags.get(fsxn_lattice_core::naming::OWNER_TAG).map(String::as_str) == Some(owner))
            .filter(|s| s.status != ShareStatus::Deleted)
            .cloned()
            .collect();
        // Per share, one GetResourceShareAssociations for principals and one for resources.
        let n = 2 * shares.len() as u64;
        w.more(OP, n);
        w.leave(OP, Ok(shares))
    }
}

#[async_trait]
impl SharesWrite for SimCloud {
    async fn create_resource_share(&self, req: &CreateResourceShareRequest) -> CloudResult<ResourceShare> {
        const OP: &str = "CreateResourceShare";
        let mut w = self.w();
        w.enter(OP)?;
        let fingerprint = serde_json::to_string(req)
            .unwrap_or_default()
            .replace(&req.client_token, "");
        if let Some(s) = w.replay(OP, &req.client_token, &fingerprint, |w, arn| {
            w.accts.shares.get(arn).cloned()
        })? {
            return w.leave(OP, Ok(s));
        }
        let arn = w.share_arn();
        w.accts.shares.insert(
            arn.clone(),
            ResourceShare {
                arn: arn.clone(),
                name: req.name.clone(),
                status: ShareStatus::Active,
                allow_external_principals: req.allow_external_principals,
                tags: req.tags.clone(),
                principals: Vec::new(),
                resources: Vec::new(),
            },
        );
        w.associate_resources(&arn, &req.resource_arns);
        w.associate_principals(&arn, &req.principals);
        w.remember(OP, &req.client_token, &fingerprint, &arn);
        let share = w.accts.shares[&arn].clone();
        w.leave(OP, Ok(share))
    }

    async fn associate_resource_share(
        &self,
        share_arn: &str,
        resource_arns: &[String],
        principals: &[AccountId],
    ) -> CloudResult<()> {
        const OP: &str = "AssociateResourceShare";
        let mut w = self.w();
        w.enter(OP)?;
        if w.accts
            .shares
            .get(share_arn)
            .is_none_or(|s| s.status != ShareStatus::Active)
        {
            return Err(CloudState::no_share(OP, share_arn));
        }
        w.associate_resources(share_arn, resource_arns);
        w.associate_principals(share_arn, principals);
        w.leave(OP, Ok(()))
    }

    async fn disassociate_resource_share(
        &self,
        share_arn: &str,
        resource_arns: &[String],
        principals: &[AccountId],
    ) -> CloudResult<()> {
        const OP: &str = "DisassociateResourceShare";
        let mut w = self.w();
        w.enter(OP)?;
        let Some(s) = w.accts.shares.get_mut(share_arn) else {
            return Err(CloudState::no_share(OP, share_arn));
        };
        // Existing endpoints keep working after a resource stops being shared (VPC Lattice
        // user guide: "Existing associations persist after you stop sharing").
        s.resources.retain(|r| !resource_arns.contains(&r.entity));
        s.principals
            .retain(|p| !principals.iter().any(|x| x.as_str() == p.entity));
        w.leave(OP, Ok(()))
    }

    async fn delete_resource_share(&self, share_arn: &str) -> CloudResult<()> {
        const OP: &str = "DeleteResourceShare";
        let mut w = self.w();
        w.enter(OP)?;
        if w.accts.shares.remove(share_arn).is_none() {
            return Err(CloudState::no_share(OP, share_arn));
        }
        w.accts.invitations.retain(|_, (_, i)| i.share_arn != share_arn);
        w.leave(OP, Ok(()))
    }
}

#[async_trait]
impl Invitations for SimCloud {
    async fn list_share_invitations(&self) -> CloudResult<Vec<ShareInvitation>> {
        const OP: &str = "GetResourceShareInvitations";
        let mut w = self.w();
        w.enter(OP)?;
        let caller = w.caller.clone();
        let found: Vec<ShareInvitation> = w
            .accts
            .invitations
            .values()
            .filter(|(to, _)| Some(to) == caller.as_ref())
            .map(|(_, i)| i.clone())
            .collect();
        w.leave(OP, Ok(found))
    }

    async fn accept_share_invitation(&self, invitation_arn: &str) -> CloudResult<()> {
        const OP: &str = "AcceptResourceShareInvitation";
        let mut w = self.w();
        w.enter(OP)?;
        let caller = w.caller.clone();
        let Some((to, invitation)) = w.accts.invitations.get(invitation_arn).cloned() else {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "ResourceShareInvitationArnNotFoundException",
                format!("{invitation_arn} not found"),
            ));
        };
        if Some(&to) != caller.as_ref() {
            return Err(err(
                ErrorKind::AccessDenied,
                OP,
                "OperationNotPermittedException",
                "the invitation is for another account",
            ));
        }
        match invitation.status {
            InvitationStatus::Pending => {}
            InvitationStatus::Accepted => {
                return Err(err(
                    ErrorKind::Conflict,
                    OP,
                    "ResourceShareInvitationAlreadyAcceptedException",
                    format!("{invitation_arn} was already accepted"),
                ));
            }
            s => {
                return Err(err(
                    ErrorKind::Conflict,
                    OP,
                    "ResourceShareInvitationExpiredException",
                    format!("{invitation_arn} is {s:?}"),
                ));
            }
        }
        if let Some((_, i)) = w.accts.invitations.get_mut(invitation_arn) {
            i.status = InvitationStatus::Accepted;
        }
        if let Some(s) = w.accts.shares.get_mut(&invitation.share_arn) {
            for p in s.principals.iter_mut().filter(|p| p.entity == to.as_str()) {
                p.status = AssociationStatus::Associated;
            }
        }
        w.leave(OP, Ok(()))
    }
}

#[async_trait]
impl Sharing for SimCloud {
    async fn assume(&self, account: &ConsumerAccount) -> CloudResult<Arc<dyn ConsumerCloud>> {
        const OP: &str = "AssumeRole";
        let view = {
            let mut w = self.w();
            w.enter(OP)?;
            let trusted =
                w.accts.accounts.get(&account.id).is_some_and(|a| {
                    a.assumable && a.role_arn == account.role_arn && a.external_id == account.external_id
                });
            if !trusted {
                let me = w.account.clone();
                return Err(err(
                    ErrorKind::AccessDenied,
                    OP,
                    "AccessDenied",
                    format!(
                        "User: arn:aws:sts::{me}:assumed-role/fsxn-lattice/fsxn-lattice is not authorized to perform: sts:AssumeRole on resource: {}",
                        account.role_arn
                    ),
                ));
            }
            w.leave(OP, Ok(()))?;
            Arc::new(self.view_as(Some(account.id.clone())))
        };
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.id.clone(), view.clone());
        Ok(view)
    }

    fn session(&self, account: &AccountId) -> Option<Arc<dyn ConsumerCloud>> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .map(|s| s.clone() as Arc<dyn ConsumerCloud>)
    }
}

impl AccountAccess for SimCloud {
    fn sharing(&self) -> Option<&dyn Sharing> {
        // Only the stack's own view shares; a session in another account does not assume on.
        self.view.is_none().then_some(self as &dyn Sharing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fsxn_lattice_core::naming::{ACCOUNT_TAG, OWNER_TAG};

    const FAR: &str = "222233334444";
    const ROLE: &str = "arn:aws:iam::222233334444:role/fsxn-lattice-consumer";

    fn far(external_id: Option<&str>) -> ConsumerAccount {
        ConsumerAccount {
            id: AccountId::parse(FAR).unwrap(),
            role_arn: ROLE.into(),
            external_id: external_id.map(str::to_string),
        }
    }

    /// A cloud with account FAR (in the organization or not), a VPC and subnet placed in it, and
    /// a configuration of the stack's account (`rcfg-0123`) for it to use.
    fn far_world(in_organization: bool) -> (SimCloud, AccountId, VpcId, SubnetId, &'static str) {
        let cloud = SimCloud::new(3);
        let id = cloud.add_account(FAR, ROLE, None, in_organization);
        let vpc = cloud.add_vpc("vpc-0bbb", &["10.2.0.0/16"], true);
        cloud.place_in(vpc.as_str(), &id);
        let subnet = cloud.add_subnet("subnet-0bbb", &vpc, "us-east-1a", "10.2.0.0/24");
        cloud.place_in(subnet.as_str(), &id);
        let arn = "arn:aws:vpc-lattice:us-east-1:123456789012:resourceconfiguration/rcfg-0123";
        {
            let mut w = cloud.w();
            let cfg = ResourceConfiguration {
                custom_domain_name: None,
                domain_verification_id: None,
                id: ResourceConfigurationId::parse("rcfg-0123").unwrap(),
                arn: arn.into(),
                name: "c".into(),
                gateway_id: GatewayId::parse("rgw-0123").unwrap(),
                ip_address: None,
                port_ranges: vec![],
                status: ConfigurationStatus::Active,
                failure_reason: None,
                tags: Tags::new(),
            };
            w.configurations.insert(cfg.id.clone(), cfg);
        }
        (cloud, id, vpc, subnet, arn)
    }

    #[test]
    fn a_role_is_assumed_only_with_its_arn_and_external_id_and_while_it_trusts_us() {
        let cloud = SimCloud::new(1);
        let id = cloud.add_account(FAR, ROLE, Some("x-1"), true);
        let assume = |a: ConsumerAccount| pollster::block_on(cloud.assume(&a)).map(|_| ());
        assert_eq!(assume(far(None)).unwrap_err().kind, ErrorKind::AccessDenied);
        assert_eq!(assume(far(Some("x-2"))).unwrap_err().kind, ErrorKind::AccessDenied);
        let mut wrong_role = far(Some("x-1"));
        wrong_role.role_arn = "arn:aws:iam::222233334444:role/other".into();
        assert_eq!(assume(wrong_role).unwrap_err().kind, ErrorKind::AccessDenied);
        assume(far(Some("x-1"))).unwrap();
        assert!(cloud.session(&id).is_some());
        cloud.set_assumable(&id, false);
        let e = assume(far(Some("x-1"))).unwrap_err();
        assert!(e.message.contains(ROLE), "{e}");
    }

    #[test]
    fn a_session_sees_only_its_account_calls_only_what_the_role_grants_and_emits_nothing_here() {
        let cloud = SimCloud::new(1);
        let id = cloud.add_account(FAR, ROLE, None, true);
        let home_vpc = cloud.add_vpc("vpc-0aaa", &["10.1.0.0/16"], true);
        let far_vpc = cloud.add_vpc("vpc-0bbb", &["10.2.0.0/16"], true);
        cloud.place_in(far_vpc.as_str(), &id);
        let there = pollster::block_on(cloud.assume(&far(None))).unwrap();
        let seen =
            pollster::block_on(there.describe_vpcs(&[home_vpc.clone(), far_vpc.clone()], VpcAttributes::Dns)).unwrap();
        assert_eq!(
            seen.iter().map(|v| v.id.clone()).collect::<Vec<_>>(),
            vec![far_vpc.clone()]
        );
        let home_seen =
            pollster::block_on(cloud.describe_vpcs(&[home_vpc.clone(), far_vpc], VpcAttributes::Dns)).unwrap();
        assert_eq!(
            home_seen.iter().map(|v| v.id.clone()).collect::<Vec<_>>(),
            vec![home_vpc.clone()]
        );
        let denied = pollster::block_on(there.describe_subnets(&home_vpc)).unwrap_err();
        assert_eq!(
            (denied.kind, denied.code.as_str()),
            (ErrorKind::AccessDenied, "AccessDenied")
        );
        let view = cloud.view_as(Some(id));
        assert!(
            pollster::block_on(view.describe_file_systems()).is_err(),
            "FSx is not the consumer role's"
        );
        assert!(view.sharing().is_none(), "a session does not assume on");
        assert!(cloud.drain_events().is_empty());
    }

    #[test]
    fn an_endpoint_in_another_account_needs_the_configuration_shared_and_the_account_associated() {
        let (cloud, id, vpc, subnet, arn) = far_world(false);
        let there = pollster::block_on(cloud.assume(&far(None))).unwrap();
        let req = CreateVpcEndpointRequest {
            private_dns: Default::default(),
            vpc_id: vpc.clone(),
            subnet_ids: vec![subnet],
            security_group_ids: vec![],
            resource_configuration_arn: arn.into(),
            private_dns_enabled: true,
            client_token: "t1".into(),
            tags: Tags::new(),
        };
        assert!(
            pollster::block_on(there.create_vpc_endpoint(&req)).is_err(),
            "not shared"
        );
        let tags: Tags = [
            (OWNER_TAG.to_string(), "demo".to_string()),
            (ACCOUNT_TAG.to_string(), FAR.to_string()),
        ]
        .into();
        let share_req = |external: bool, token: &str| CreateResourceShareRequest {
            name: "s".into(),
            resource_arns: vec![arn.into()],
            principals: vec![id.clone()],
            allow_external_principals: external,
            client_token: token.into(),
            tags: tags.clone(),
        };
        // Outside the organization, a share that does not allow external principals fails
        // the association; one that does invites the account.
        let closed = pollster::block_on(cloud.create_resource_share(&share_req(false, "a"))).unwrap();
        assert_eq!(closed.principals[0].status, AssociationStatus::Failed);
        pollster::block_on(cloud.delete_resource_share(&closed.arn)).unwrap();
        let share = pollster::block_on(cloud.create_resource_share(&share_req(true, "b"))).unwrap();
        assert_eq!(share.principals[0].status, AssociationStatus::Associating);
        assert!(
            pollster::block_on(there.create_vpc_endpoint(&req)).is_err(),
            "invitation pending"
        );
        assert!(
            pollster::block_on(cloud.list_share_invitations()).unwrap().is_empty(),
            "not ours to accept"
        );
        let invitations = pollster::block_on(there.list_share_invitations()).unwrap();
        assert_eq!(invitations.len(), 1);
        pollster::block_on(there.accept_share_invitation(&invitations[0].arn)).unwrap();
        let again = pollster::block_on(there.accept_share_invitation(&invitations[0].arn)).unwrap_err();
        assert_eq!(again.code, "ResourceShareInvitationAlreadyAcceptedException");
        let ep = pollster::block_on(there.create_vpc_endpoint(&req)).unwrap();
        assert_eq!(cloud.account_of(ep.id.as_str()), Some(id.clone()));
        let mine =
            pollster::block_on(cloud.describe_resource_endpoints(&[EndpointFilter::Vpcs(vec![vpc.clone()])])).unwrap();
        assert!(
            mine.is_empty(),
            "the stack's account does not see the other account's endpoint"
        );
        assert!(pollster::block_on(cloud.delete_vpc_endpoint(&ep.id)).is_err());
        pollster::block_on(there.delete_vpc_endpoint(&ep.id)).unwrap();
        // Replayed create of the share: the same share.
        let replay = pollster::block_on(cloud.create_resource_share(&share_req(true, "b"))).unwrap();
        assert_eq!(replay.arn, share.arn);
        assert_eq!(pollster::block_on(cloud.list_resource_shares("demo")).unwrap().len(), 1);
        assert!(
            pollster::block_on(cloud.list_resource_shares("other"))
                .unwrap()
                .is_empty()
        );
    }

    /// Review: EC2 creates an endpoint only in a VPC (and subnets) of the caller's account. The
    /// simulation let the stack's account create one in a consumer account's VPC (owned by the
    /// stack), so a reconciler that forgot to route an endpoint through the role would have
    /// been served here while AWS answers InvalidVpcId.NotFound.
    #[test]
    fn review_an_endpoint_is_created_only_in_a_vpc_of_the_callers_account() {
        let (cloud, _, vpc, subnet, arn) = far_world(true);
        let req = CreateVpcEndpointRequest {
            private_dns: Default::default(),
            vpc_id: vpc.clone(),
            subnet_ids: vec![subnet],
            security_group_ids: vec![],
            resource_configuration_arn: arn.into(),
            private_dns_enabled: true,
            client_token: "t1".into(),
            tags: Tags::new(),
        };
        let e = pollster::block_on(cloud.create_vpc_endpoint(&req)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
        // And a session in FAR cannot use a VPC of the stack's account.
        let home = cloud.add_vpc("vpc-0aaa", &["10.1.0.0/16"], true);
        let home_subnet = cloud.add_subnet("subnet-0aaa", &home, "us-east-1a", "10.1.0.0/24");
        let there = pollster::block_on(cloud.assume(&far(None))).unwrap();
        let e = pollster::block_on(there.create_vpc_endpoint(&CreateVpcEndpointRequest {
            vpc_id: home,
            subnet_ids: vec![home_subnet],
            client_token: "t2".into(),
            ..req
        }))
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    }

    /// Review: RAM's writes were classed as reads for fault injection (throttling, 5xx and
    /// AccessDenied before any effect only): chaos never lost a CreateResourceShare,
    /// Associate/Disassociate, Accept or Delete response after the write took effect, so
    /// their retry paths (client-token replay, AlreadyAccepted, already gone) never ran.
    #[test]
    fn review_rams_writes_draw_the_faults_of_writes() {
        let cloud = SimCloud::new(5);
        let id = cloud.add_account(FAR, ROLE, None, true);
        cloud.set_faults(crate::Faults {
            rate: 1.0,
            mix: crate::FaultMix::All,
        });
        for i in 0..200 {
            let req = CreateResourceShareRequest {
                name: format!("s{i}"),
                resource_arns: vec![],
                principals: vec![id.clone()],
                allow_external_principals: false,
                client_token: format!("t{i}"),
                tags: Tags::new(),
            };
            let _ = pollster::block_on(cloud.create_resource_share(&req));
            let _ = cloud.take_crash();
        }
        let kinds = cloud.faults_by_kind();
        for k in [crate::FaultKind::LostResponse, crate::FaultKind::Crash] {
            assert!(kinds.get(&k).copied().unwrap_or(0) > 0, "{k:?}: {kinds:?}");
        }
    }
}
