//! Sharing: consumers in other accounts (`[[accounts]]`) reach our resource configurations
//! through AWS RAM, one resource share of ours per account ([`crate::naming::share_name`],
//! tagged with the owner and [`crate::naming::ACCOUNT_TAG`]), so narrowing one account's access
//! never touches another's. A share holds the configurations the account's consumers use or
//! are about to use; its one principal is the account. Inside an AWS Organization the principal
//! is associated at once; outside one (`[sharing] allow_external_principals`) it stays
//! `ASSOCIATING` until the account accepts RAM's invitation, which the role assumed there does.
//!
//! An account that cannot be read (its role cannot be assumed, or a read in it failed) is
//! never acted on blind: its consumers are refused, its share is neither narrowed nor deleted,
//! and no configuration in its share is deleted (an endpoint there may still use it). Those
//! holds end the step ([`super::Plan::held_for_accounts`]): polling would not lift them.

use super::{Action, Planner};
use crate::ids::*;
use crate::model::*;
use crate::naming::*;
use std::collections::BTreeSet;

impl<'a> Planner<'a> {
    /// Why a consumer in `account` cannot be served this pass, if it cannot: the account was
    /// not read.
    pub(super) fn account_unreadable(&self, account: &AccountId) -> Option<String> {
        match self.obs.accounts.get(account) {
            None => Some(format!("account {account} was not observed")),
            Some(o) => o
                .unreachable
                .as_ref()
                .map(|e| format!("account {account} cannot be read through its role: {e}")),
        }
    }

    /// Our shares for `account`, not deleting, by ARN: racing executions may have made more
    /// than one (their client tokens differ when they saw different configurations).
    fn shares_of(&self, account: &AccountId) -> Vec<&'a ResourceShare> {
        let obs = self.obs;
        let mut shares: Vec<&'a ResourceShare> = obs
            .shares
            .iter()
            .filter(|s| {
                self.owned(&s.tags)
                    && s.tags.get(ACCOUNT_TAG).map(String::as_str) == Some(account.as_str())
                    && !matches!(s.status, ShareStatus::Deleting | ShareStatus::Deleted)
            })
            .collect();
        shares.sort_by(|a, b| a.arn.cmp(&b.arn));
        shares
    }

    /// Our share for `account` (the lowest ARN if racing executions made two), not deleting.
    fn share_of(&self, account: &AccountId) -> Option<&'a ResourceShare> {
        self.shares_of(account).first().copied()
    }

    /// Records that `account` needs configuration `arn` (an endpoint of its consumers uses
    /// it or is to be created for it), without asking whether it may use it yet.
    pub(super) fn want_shared(&mut self, account: &AccountId, arn: &str) {
        self.share_wanted
            .entry(account.clone())
            .or_default()
            .insert(arn.to_string());
    }

    /// Records that `account` needs configuration `arn` (an endpoint of its consumers uses
    /// it or is to be created for it), and says whether the account may use it now: our share
    /// for it is `ACTIVE`, with the account and the configuration both `ASSOCIATED`.
    /// `Err(Some(why))` says what is still to happen (a wait); `Err(None)`, that it is held
    /// by a state polling would not change (RAM suspended it, or the share is closed to an
    /// account outside the organization), which [`Planner::plan_shares`] reports in
    /// `held_for_accounts`.
    pub(super) fn shared_with(&mut self, account: &AccountId, arn: &str) -> Result<(), Option<String>> {
        self.want_shared(account, arn);
        let short = arn.rsplit('/').next().unwrap_or(arn);
        let Some(share) = self.share_of(account) else {
            return Err(Some(format!("{short} is not shared with account {account} yet")));
        };
        if share.status != ShareStatus::Active {
            return Err(Some(format!("share {} is {:?}", share.arn, share.status)));
        }
        let principal = share.principals.iter().find(|p| p.entity == account.as_str());
        match principal.map(|p| p.status) {
            Some(AssociationStatus::Associated) => {}
            Some(AssociationStatus::Suspended) => return Err(None),
            Some(AssociationStatus::Failed) if !share.allow_external_principals => return Err(None),
            status => {
                return Err(Some(format!(
                    "account {account} is not yet a principal of share {} ({})",
                    share.arn,
                    status.map_or("absent", AssociationStatus::as_str)
                )));
            }
        }
        match share.resources.iter().find(|r| r.entity == arn) {
            Some(r) if r.status == AssociationStatus::Associated => Ok(()),
            Some(r) if r.status == AssociationStatus::Suspended => Err(None),
            Some(r) => Err(Some(format!("{short} is {} in share {}", r.status.as_str(), share.arn))),
            None => Err(Some(format!("{short} is not yet in share {}", share.arn))),
        }
    }

    /// Whether configuration `arn` may still be used from an account we cannot see into (one
    /// that cannot be read, or one no longer in `[[accounts]]`, whose role we no longer
    /// know): it is in our share for that account. Such a configuration is kept.
    pub(super) fn shared_with_unseen(&mut self, arn: &str, id: &ResourceConfigurationId) -> bool {
        let obs = self.obs;
        let unseen = obs.shares.iter().filter(|s| self.owned(&s.tags)).find_map(|s| {
            let account = AccountId::parse(s.tags.get(ACCOUNT_TAG)?.as_str()).ok()?;
            let seen = self.config.account(&account).is_some() && self.obs.reachable(Some(&account));
            let holds = s.resources.iter().any(|r| r.entity == arn && r.status.is_present());
            (!seen && holds).then_some(account)
        });
        let Some(account) = unseen else {
            return false;
        };
        self.out.held_for_accounts.push(format!(
            "{id} stays: it is shared with account {account}, which cannot be read, and an endpoint there may use it"
        ));
        true
    }

    /// Each account's share: created when first needed, given the configurations its
    /// consumers need and relieved of those no endpoint there uses any more, its invitation
    /// accepted, and deleted once the account needs nothing.
    pub(super) fn plan_shares(&mut self) {
        let obs = self.obs;
        let mut accounts: BTreeSet<AccountId> = self.share_wanted.keys().cloned().collect();
        accounts.extend(
            obs.shares
                .iter()
                .filter(|s| self.owned(&s.tags))
                .filter_map(|s| AccountId::parse(s.tags.get(ACCOUNT_TAG)?.as_str()).ok()),
        );
        for account in accounts {
            self.plan_share(&account);
        }
    }

    fn plan_share(&mut self, account: &AccountId) {
        let obs = self.obs;
        let shares = self.shares_of(account);
        let share = shares.first().copied();
        if self.config.account(account).is_none() {
            if let Some(share) = share {
                self.out.warnings.push(format!(
                    "share {} is for account {account}, which is no longer in [[accounts]]: without its role the endpoints there cannot be seen or removed, so the share and what it shares are kept. List the account again until they are gone, or delete them there and then the share",
                    share.arn
                ));
            }
            return;
        }
        if let Some(why) = self.account_unreadable(account) {
            for share in &shares {
                self.out
                    .held_for_accounts
                    .push(format!("share {} is kept as it is: {why}", share.arn));
            }
            return;
        }
        // What the account needs: the configurations its consumers need this pass, and those
        // our endpoints there still reference (until they are gone). Only configurations of
        // ours that exist can be shared, and only an endpoint on one of them is ours there
        // (another storage account's stack may use our owner value).
        let existing: BTreeSet<&str> = obs
            .configurations
            .iter()
            .filter(|c| self.owned(&c.tags))
            .map(|c| c.arn.as_str())
            .collect();
        let ours_there: Vec<&VpcEndpoint> = obs
            .endpoints
            .iter()
            .filter(|e| e.account.as_ref() == Some(account) && self.owned(&e.tags))
            .filter(|e| existing.contains(e.resource_configuration_arn.as_str()))
            .filter(|e| e.state != EndpointState::Deleted)
            .collect();
        let mut needed: BTreeSet<String> = self.share_wanted.get(account).cloned().unwrap_or_default();
        needed.extend(ours_there.iter().map(|e| e.resource_configuration_arn.clone()));
        needed.retain(|a| existing.contains(a.as_str()));
        let Some(share) = share else {
            if !needed.is_empty() {
                let name = share_name(self.owner, account);
                let resource_arns: Vec<String> = needed.into_iter().collect();
                // Every parameter is in the token: a share made again with another
                // allowExternalPrincipals must not replay (IdempotentParameterMismatch).
                let open = self.config.sharing.allow_external_principals;
                let token = client_token(&[
                    "share",
                    self.owner,
                    &name,
                    &resource_arns.join(","),
                    if open { "external" } else { "organization" },
                ]);
                self.push(
                    Action::CreateResourceShare {
                        account: account.clone(),
                        name,
                        resource_arns,
                        allow_external_principals: open,
                        client_token: token,
                        tags: self.tags(&[(ACCOUNT_TAG, account.to_string())]),
                    },
                    format!("consumers in account {account} need our configurations"),
                );
            }
            return;
        };
        match share.status {
            ShareStatus::Active => {}
            ShareStatus::Failed => {
                self.out
                    .warnings
                    .push(format!("share {} is FAILED: it is deleted and made again", share.arn));
                self.push(
                    Action::DeleteResourceShare {
                        account: account.clone(),
                        share_arn: share.arn.clone(),
                    },
                    "RAM could not create it",
                );
                return;
            }
            s => {
                self.wait(format!("share {} is {s:?}", share.arn));
                return;
            }
        }
        if needed.is_empty() && ours_there.is_empty() {
            for share in &shares {
                if share.status == ShareStatus::Active || share.status == ShareStatus::Failed {
                    self.push(
                        Action::DeleteResourceShare {
                            account: account.clone(),
                            share_arn: share.arn.clone(),
                        },
                        format!("no consumer in account {account} needs our configurations any more"),
                    );
                }
            }
            return;
        }
        let open = self.config.sharing.allow_external_principals;
        let principal = share.principals.iter().find(|p| p.entity == account.as_str());
        let reason = principal
            .and_then(|p| p.message.as_deref())
            .unwrap_or("no reason given");
        // A share made while `[sharing]` said otherwise: RAM keeps the account FAILED on it
        // however often it is associated again. Nothing of ours can use it (the account is
        // not a principal): it is deleted and made again with the setting of the config.
        if principal.map(|p| p.status) == Some(AssociationStatus::Failed)
            && share.allow_external_principals != open
            && ours_there.is_empty()
        {
            self.out.warnings.push(format!(
                "account {account} could not be made a principal of share {}: {reason}; the share has allowExternalPrincipals = {} and [sharing] allow_external_principals = {open}: it is deleted and made again",
                share.arn, share.allow_external_principals
            ));
            self.push(
                Action::DeleteResourceShare {
                    account: account.clone(),
                    share_arn: share.arn.clone(),
                },
                "its allowExternalPrincipals is not the config's",
            );
            return;
        }
        let mut principals = Vec::new();
        match principal.map(|p| p.status) {
            None | Some(AssociationStatus::Disassociated) => principals.push(account.clone()),
            // On a share closed to accounts outside the organization, association fails again
            // every time: held (not retried on every pass, which exhausts the pass budget and
            // fails the function) until the config opens sharing.
            Some(AssociationStatus::Failed) if !share.allow_external_principals => {
                self.out.held_for_accounts.push(format!(
                    "account {account} could not be made a principal of share {}: {reason}. The share allows only accounts of the organization: {}",
                    share.arn,
                    if open {
                        "it is made again, allowing others, once no endpoint of ours there uses it"
                    } else {
                        "set [sharing] allow_external_principals = true for an account outside it (the share is then made again)"
                    }
                ));
            }
            Some(AssociationStatus::Failed) => {
                self.out.warnings.push(format!(
                    "account {account} could not be made a principal of share {}: {reason}; it is tried again",
                    share.arn,
                ));
                principals.push(account.clone());
            }
            Some(AssociationStatus::Associating) => {
                let invitation = obs.accounts.get(account).and_then(|o| {
                    o.invitations
                        .iter()
                        .find(|i| i.share_arn == share.arn && i.status == InvitationStatus::Pending)
                });
                match invitation {
                    Some(i) => self.push(
                        Action::AcceptShareInvitation {
                            account: account.clone(),
                            invitation_arn: i.arn.clone(),
                            share_arn: share.arn.clone(),
                        },
                        "an account outside the organization joins a share by accepting its invitation",
                    ),
                    None => self.wait(format!(
                        "account {account} is being associated with share {}",
                        share.arn
                    )),
                }
            }
            Some(AssociationStatus::Suspended) => self.out.held_for_accounts.push(format!(
                "account {account} is SUSPENDED in share {} (RAM): its consumers are not served until RAM restores it",
                share.arn
            )),
            Some(_) => {}
        }
        let present: BTreeSet<&str> = share
            .resources
            .iter()
            .filter(|r| r.status.is_present())
            .map(|r| r.entity.as_str())
            .collect();
        for r in share.resources.iter().filter(|r| r.status == AssociationStatus::Failed) {
            self.out.warnings.push(format!(
                "{} could not be added to share {}: {}; it is tried again",
                r.entity,
                share.arn,
                r.message.as_deref().unwrap_or("no reason given")
            ));
        }
        for r in share
            .resources
            .iter()
            .filter(|r| r.status == AssociationStatus::Suspended)
        {
            self.out.held_for_accounts.push(format!(
                "{} is SUSPENDED in share {} (RAM): it is neither used nor removed until RAM restores it",
                r.entity, share.arn
            ));
        }
        let add: Vec<String> = needed
            .iter()
            .filter(|a| !present.contains(a.as_str()))
            .cloned()
            .collect();
        if !add.is_empty() || !principals.is_empty() {
            self.push(
                Action::AssociateResourceShare {
                    account: account.clone(),
                    share_arn: share.arn.clone(),
                    resource_arns: add,
                    principals,
                },
                format!("consumers in account {account} need them"),
            );
        }
        let remove: Vec<String> = share
            .resources
            .iter()
            .filter(|r| r.status == AssociationStatus::Associated && !needed.contains(&r.entity))
            .map(|r| r.entity.clone())
            .collect();
        // The share's one principal is the account: any other (added by hand) would reach
        // every configuration it holds. Accounts are removed; an organization or OU ARN cannot
        // be named through the port (account ids) and is reported.
        let mut others = Vec::new();
        for p in share.principals.iter().filter(|p| {
            p.entity != account.as_str()
                && matches!(p.status, AssociationStatus::Associating | AssociationStatus::Associated)
        }) {
            match AccountId::parse(p.entity.as_str()) {
                Ok(a) => others.push(a),
                Err(_) => self.out.warnings.push(format!(
                    "share {} for account {account} also shares with {}: not ours to have added; remove it",
                    share.arn, p.entity
                )),
            }
        }
        if !remove.is_empty() || !others.is_empty() {
            self.push(
                Action::DisassociateResourceShare {
                    account: account.clone(),
                    share_arn: share.arn.clone(),
                    resource_arns: remove,
                    principals: others,
                },
                format!("no endpoint in account {account} uses them any more, and the share is the account's only"),
            );
        }
        // A second share for the account (racing executions): deleted once the first serves
        // everything the account needs, so no endpoint there loses its configuration.
        let serves = principal.map(|p| p.status) == Some(AssociationStatus::Associated)
            && needed.iter().all(|a| {
                share
                    .resources
                    .iter()
                    .any(|r| &r.entity == a && r.status == AssociationStatus::Associated)
            });
        for extra in shares.iter().skip(1) {
            if serves && matches!(extra.status, ShareStatus::Active | ShareStatus::Failed) {
                self.push(
                    Action::DeleteResourceShare {
                        account: account.clone(),
                        share_arn: extra.arn.clone(),
                    },
                    format!(
                        "a second share for account {account} (racing executions); {} serves it",
                        share.arn
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::observe::{AccountObserved, Observed};
    use crate::plan::Plan;
    use crate::plan::tests_support::*;

    const FAR: &str = "222233334444";
    const SHARE: &str = "arn:aws:ram:us-east-1:111122223333:resource-share/s-1";

    /// The unit-test world with consumer `c` (its VPC and zone) in account FAR, read there.
    fn far_world() -> (Config, Observed) {
        let (_, mut o) = world();
        let config = Config::from_toml(&format!(
            r#"
owner = "t"
[gateway]
security_group_ids = ["sg-1"]
[[accounts]]
id = "{FAR}"
role_arn = "arn:aws:iam::{FAR}:role/fsxn-lattice-consumer"
[[consumers]]
name = "c"
vpc_id = "vpc-2"
subnet_ids = ["subnet-c1"]
hosted_zone_id = "ZONE1"
account = "{FAR}"
"#
        ))
        .unwrap();
        o.hosted_zones[0].account = Some(id(FAR));
        o.accounts.insert(
            id(FAR),
            AccountObserved {
                vpcs: vec![id("vpc-2")],
                ..Default::default()
            },
        );
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        (config, o)
    }

    fn share(principal: AssociationStatus, resources: &[(&str, AssociationStatus)]) -> ResourceShare {
        ResourceShare {
            arn: SHARE.into(),
            name: share_name("t", &id(FAR)),
            status: ShareStatus::Active,
            allow_external_principals: false,
            tags: [
                (OWNER_TAG.to_string(), "t".to_string()),
                (ACCOUNT_TAG.to_string(), FAR.to_string()),
            ]
            .into(),
            principals: vec![ShareAssociation {
                entity: FAR.into(),
                status: principal,
                message: None,
            }],
            resources: resources
                .iter()
                .map(|(arn, status)| ShareAssociation {
                    entity: arn.to_string(),
                    status: *status,
                    message: None,
                })
                .collect(),
        }
    }

    fn far_endpoint(o: &mut Observed, vpce: &str, state: EndpointState) {
        our_endpoint(o, vpce, state);
        o.endpoints.last_mut().unwrap().account = Some(id(FAR));
    }

    fn actions(p: &Plan) -> Vec<&Action> {
        p.actions.iter().map(|a| &a.action).collect()
    }

    #[test]
    fn a_consumer_in_another_account_gets_our_share_before_its_endpoint() {
        let (config, o) = far_world();
        let p = planned(&config, &o);
        let created = actions(&p).into_iter().find_map(|a| match a {
            Action::CreateResourceShare {
                account,
                name,
                resource_arns,
                allow_external_principals,
                tags,
                ..
            } => Some((
                account.clone(),
                name.clone(),
                resource_arns.clone(),
                *allow_external_principals,
                tags.clone(),
            )),
            _ => None,
        });
        let (account, name, resources, external, tags) = created.expect("a share is created");
        assert_eq!(account.as_str(), FAR);
        assert_eq!(name, format!("fsxnl-t-{FAR}"));
        assert_eq!(resources, vec![CFG_ARN.to_string()]);
        assert!(!external, "inside the organization unless [sharing] says otherwise");
        assert_eq!(tags.get(ACCOUNT_TAG).map(String::as_str), Some(FAR));
        assert!(is_owned(&tags, "t"));
        assert!(
            !actions(&p)
                .iter()
                .any(|a| matches!(a, Action::CreateVpcEndpoint { .. })),
            "no endpoint before the configuration is shared: {:#?}",
            p.actions
        );
        assert!(
            p.waiting.iter().any(|w| w.contains("not shared with account")),
            "{:?}",
            p.waiting
        );
    }

    #[test]
    fn an_invitation_is_accepted_in_the_consumer_account_then_the_endpoint_is_made_there() {
        let (config, mut o) = far_world();
        o.shares = vec![share(
            AssociationStatus::Associating,
            &[(CFG_ARN, AssociationStatus::Associated)],
        )];
        o.accounts.get_mut(&id::<AccountId>(FAR)).unwrap().invitations = vec![
            ShareInvitation {
                arn: "arn:aws:ram:us-east-1:111122223333:resource-share-invitation/other".into(),
                share_arn: "arn:aws:ram:us-east-1:999999999999:resource-share/not-ours".into(),
                sender: "999999999999".into(),
                status: InvitationStatus::Pending,
            },
            ShareInvitation {
                arn: "arn:aws:ram:us-east-1:111122223333:resource-share-invitation/i-1".into(),
                share_arn: SHARE.into(),
                sender: "111122223333".into(),
                status: InvitationStatus::Pending,
            },
        ];
        let p = planned(&config, &o);
        assert!(
            actions(&p).iter().any(
                |a| matches!(a, Action::AcceptShareInvitation { invitation_arn, account, .. }
                if invitation_arn.ends_with("/i-1") && account.as_str() == FAR)
            ),
            "{:#?}",
            p.actions
        );
        assert!(
            !actions(&p)
                .iter()
                .any(|a| matches!(a, Action::CreateVpcEndpoint { .. }))
        );

        o.shares = vec![share(
            AssociationStatus::Associated,
            &[(CFG_ARN, AssociationStatus::Associated)],
        )];
        let p = planned(&config, &o);
        let endpoint = actions(&p).into_iter().find_map(|a| match a {
            Action::CreateVpcEndpoint {
                account,
                resource_configuration_arn,
                ..
            } => Some((account.clone(), resource_configuration_arn.clone())),
            _ => None,
        });
        assert_eq!(endpoint, Some((Some(id(FAR)), CFG_ARN.to_string())), "{:#?}", p.actions);
        assert!(
            !actions(&p).iter().any(|a| matches!(
                a,
                Action::AssociateResourceShare { .. }
                    | Action::CreateResourceShare { .. }
                    | Action::DisassociateResourceShare { .. }
            )),
            "the share is as wanted: {:#?}",
            p.actions
        );
    }

    #[test]
    fn the_alias_is_published_in_the_consumer_accounts_zone() {
        let (config, mut o) = far_world();
        o.shares = vec![share(
            AssociationStatus::Associated,
            &[(CFG_ARN, AssociationStatus::Associated)],
        )];
        far_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        let p = planned(&config, &o);
        assert!(
            actions(&p)
                .iter()
                .any(|a| matches!(a, Action::PublishAlias { account: Some(a), .. } if a.as_str() == FAR)),
            "{:#?}",
            p.actions
        );
    }

    #[test]
    fn an_opt_out_deletes_the_far_endpoint_first_then_the_share_and_the_configuration() {
        let (config, mut o) = far_world();
        o.svms[0]
            .tags
            .insert(crate::config::tag_keys::EXPOSE.into(), "off".into());
        o.shares = vec![share(
            AssociationStatus::Associated,
            &[(CFG_ARN, AssociationStatus::Associated)],
        )];
        far_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        let p = planned(&config, &o);
        assert!(
            actions(&p).iter().any(
                |a| matches!(a, Action::DeleteVpcEndpoint { vpc_endpoint_id, account: Some(a) } if vpc_endpoint_id.as_str() == "vpce-0a" && a.as_str() == FAR)
            ),
            "{:#?}",
            p.actions
        );
        assert!(
            !actions(&p).iter().any(|a| matches!(
                a,
                Action::DeleteResourceConfiguration { .. }
                    | Action::DeleteResourceShare { .. }
                    | Action::DisassociateResourceShare { .. }
            )),
            "nothing the endpoint uses goes before it: {:#?}",
            p.actions
        );
        // The endpoint gone: the share and the configuration go, the share first.
        o.endpoints.clear();
        let p = planned(&config, &o);
        let share_at = p
            .actions
            .iter()
            .position(|a| matches!(a.action, Action::DeleteResourceShare { .. }));
        let cfg_at = p
            .actions
            .iter()
            .position(|a| matches!(a.action, Action::DeleteResourceConfiguration { .. }));
        assert!(
            matches!((share_at, cfg_at), (Some(s), Some(c)) if s < c),
            "{:#?}",
            p.actions
        );
    }

    #[test]
    fn an_unreadable_account_holds_its_consumers_share_and_configurations_and_stops_nothing_else() {
        let (mut config, mut o) = far_world();
        // A second consumer, in the stack's own account, keeps being served.
        config.consumers.push(crate::config::Consumer {
            alias_mode: Default::default(),
            name: "home".into(),
            vpc_id: id("vpc-3"),
            subnet_ids: vec![id("subnet-0d1")],
            security_group_ids: vec![],
            hosted_zone_id: None,
            account: None,
        });
        o.vpcs.push(Vpc {
            id: id("vpc-3"),
            cidr_blocks: vec!["10.3.0.0/16".parse().unwrap()],
            enable_dns_support: true,
            enable_dns_hostnames: true,
        });
        o.accounts.insert(
            id(FAR),
            AccountObserved {
                unreachable: Some(crate::error::CloudError::new(
                    crate::error::ErrorKind::AccessDenied,
                    "AssumeRole",
                    "AccessDenied",
                    "not authorized to perform sts:AssumeRole",
                )),
                ..Default::default()
            },
        );
        o.shares = vec![share(
            AssociationStatus::Associated,
            &[(CFG_ARN, AssociationStatus::Associated)],
        )];
        let p = planned(&config, &o);
        assert!(
            p.refusals.iter().any(|r| r.subject == "consumer c"
                && r.kind == crate::error::ErrorKind::AccessDenied
                && r.reason.contains("cannot be read through its role")),
            "{:?}",
            p.refusals
        );
        assert!(
            actions(&p).iter().any(
                |a| matches!(a, Action::CreateVpcEndpoint { vpc_id, account: None, .. } if vpc_id.as_str() == "vpc-3")
            ),
            "the other consumer is served: {:#?}",
            p.actions
        );
        assert!(
            !actions(&p).iter().any(|a| matches!(
                a,
                Action::CreateResourceShare { .. }
                    | Action::AssociateResourceShare { .. }
                    | Action::DisassociateResourceShare { .. }
                    | Action::DeleteResourceShare { .. }
            )),
            "{:#?}",
            p.actions
        );
        assert!(
            p.held_for_accounts.iter().any(|h| h.contains(SHARE)),
            "{:?}",
            p.held_for_accounts
        );
        // Opted out meanwhile: the configuration stays (an endpoint there may use it), and the
        // hold is not a wait.
        o.svms[0]
            .tags
            .insert(crate::config::tag_keys::EXPOSE.into(), "off".into());
        let p = planned(&config, &o);
        assert!(
            !actions(&p).iter().any(|a| matches!(
                a,
                Action::DeleteResourceConfiguration { .. } | Action::DeleteResourceGateway { .. }
            )),
            "{:#?}",
            p.actions
        );
        assert!(
            p.held_for_accounts.iter().any(|h| h.starts_with("rcfg-1 stays")),
            "{:?}",
            p.held_for_accounts
        );
        assert!(!p.waiting.iter().any(|w| w.contains("rgw-1")), "{:?}", p.waiting);
    }

    #[test]
    fn a_share_of_an_account_no_longer_listed_is_kept_with_what_it_shares() {
        let (_, mut o) = far_world();
        let (config, _) = world();
        o.accounts.clear();
        o.svms[0]
            .tags
            .insert(crate::config::tag_keys::EXPOSE.into(), "off".into());
        o.shares = vec![share(
            AssociationStatus::Associated,
            &[(CFG_ARN, AssociationStatus::Associated)],
        )];
        let p = planned(&config, &o);
        assert!(
            p.warnings.iter().any(|w| w.contains("no longer in [[accounts]]")),
            "{:?}",
            p.warnings
        );
        assert!(
            !actions(&p).iter().any(|a| matches!(
                a,
                Action::DeleteResourceShare { .. } | Action::DeleteResourceConfiguration { .. }
            )),
            "{:#?}",
            p.actions
        );
    }

    #[test]
    fn the_share_follows_what_the_account_uses_adding_and_removing_configurations() {
        let (config, mut o) = far_world();
        let old = "arn:aws:vpc-lattice:us-east-1:1:resourceconfiguration/rcfg-0";
        // An old configuration of ours that no endpoint there uses any more, still shared, and
        // the current one not yet shared.
        let mut old_cfg = o.configurations[0].clone();
        old_cfg.id = id("rcfg-0");
        old_cfg.arn = old.into();
        o.configurations.push(old_cfg);
        o.shares = vec![share(
            AssociationStatus::Associated,
            &[(old, AssociationStatus::Associated)],
        )];
        let p = planned(&config, &o);
        assert!(
            actions(&p).iter().any(
                |a| matches!(a, Action::AssociateResourceShare { resource_arns, principals, .. }
                if resource_arns == &vec![CFG_ARN.to_string()] && principals.is_empty())
            ),
            "{:#?}",
            p.actions
        );
        assert!(
            actions(&p).iter().any(
                |a| matches!(a, Action::DisassociateResourceShare { resource_arns, .. } if resource_arns == &vec![old.to_string()])
            ),
            "{:#?}",
            p.actions
        );
        // While an endpoint there still uses the old one, it stays shared.
        far_endpoint(&mut o, "vpce-0b", EndpointState::Available);
        o.endpoints.last_mut().unwrap().resource_configuration_arn = old.into();
        let p = planned(&config, &o);
        assert!(
            !actions(&p)
                .iter()
                .any(|a| matches!(a, Action::DisassociateResourceShare { .. })),
            "{:#?}",
            p.actions
        );
    }

    // ---- Review (branch review-accounts): defects found in 982c9f2/aacd790 ----

    /// Our share for FAR with `principals` and CFG_ARN associated, its ARN `arn`.
    fn share_at(arn: &str, principals: &[(&str, AssociationStatus)]) -> ResourceShare {
        let mut s = share(
            AssociationStatus::Associated,
            &[(CFG_ARN, AssociationStatus::Associated)],
        );
        s.arn = arn.into();
        s.principals = principals
            .iter()
            .map(|(p, st)| ShareAssociation {
                entity: p.to_string(),
                status: *st,
                message: None,
            })
            .collect();
        s
    }

    /// Racing executions that saw different configurations derive different client tokens and
    /// make two shares for one account. Only the lowest ARN is ever planned for: the other
    /// keeps sharing whatever it holds with the account (narrowing never reaches it) until
    /// the account needs nothing at all.
    #[test]
    fn review_a_second_share_of_ours_for_one_account_is_deleted_once_the_first_serves() {
        let (config, mut o) = far_world();
        let second = "arn:aws:ram:us-east-1:111122223333:resource-share/s-2";
        let old = "arn:aws:vpc-lattice:us-east-1:1:resourceconfiguration/rcfg-0";
        let mut dup = share_at(second, &[(FAR, AssociationStatus::Associated)]);
        dup.resources.push(ShareAssociation {
            entity: old.into(),
            status: AssociationStatus::Associated,
            message: None,
        });
        o.shares = vec![share_at(SHARE, &[(FAR, AssociationStatus::Associated)]), dup];
        far_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        let p = planned(&config, &o);
        assert!(
            actions(&p)
                .iter()
                .any(|a| matches!(a, Action::DeleteResourceShare { share_arn, .. } if share_arn == second)),
            "the second share (still sharing {old}) is left alone: {:#?}",
            p.actions
        );
        assert!(
            !actions(&p)
                .iter()
                .any(|a| matches!(a, Action::DeleteResourceShare { share_arn, .. } if share_arn == SHARE)),
            "{:#?}",
            p.actions
        );
    }

    /// The share is ours (owner tag) and has one principal by design; a principal someone
    /// added (another account) reaches every configuration the share holds, and is never
    /// removed.
    #[test]
    fn review_a_principal_other_than_the_account_is_removed_from_our_share() {
        let (config, mut o) = far_world();
        o.shares = vec![share_at(
            SHARE,
            &[
                (FAR, AssociationStatus::Associated),
                ("999988887777", AssociationStatus::Associated),
            ],
        )];
        far_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        let p = planned(&config, &o);
        assert!(
            actions(&p).iter().any(|a| matches!(a,
                Action::DisassociateResourceShare { principals, .. }
                    if principals.iter().map(AccountId::as_str).collect::<Vec<_>>() == vec!["999988887777"])),
            "{:#?}",
            p.actions
        );
        assert!(
            !actions(&p).iter().any(|a| matches!(a,
                Action::DisassociateResourceShare { principals, .. } if principals.iter().any(|x| x.as_str() == FAR))),
            "{:#?}",
            p.actions
        );
    }

    /// The share was made while `[sharing] allow_external_principals` was false; an account
    /// outside the organization is then FAILED. The warning tells the operator to set the
    /// option to true, but the existing share keeps `allowExternalPrincipals = false` for
    /// ever: the planner re-associates the account on every pass, RAM fails it again, and the
    /// consumer is never served.
    #[test]
    fn review_a_share_closed_to_outside_accounts_is_made_again_once_the_config_opens_it() {
        let (mut config, mut o) = far_world();
        config.sharing.allow_external_principals = true;
        let mut closed = share(AssociationStatus::Failed, &[(CFG_ARN, AssociationStatus::Associated)]);
        closed.principals[0].message = Some("not in your organization".into());
        closed.allow_external_principals = false;
        o.shares = vec![closed];
        let p = planned(&config, &o);
        assert!(
            actions(&p)
                .iter()
                .any(|a| matches!(a, Action::DeleteResourceShare { share_arn, .. } if share_arn == SHARE)),
            "{:#?}",
            p.actions
        );
        assert!(
            !actions(&p)
                .iter()
                .any(|a| matches!(a, Action::AssociateResourceShare { .. })),
            "re-associating on a closed share fails again: {:#?}",
            p.actions
        );
    }

    /// A configuration that is briefly not ACTIVE (an update of its ports), or a gateway being
    /// updated, skips `ensure_endpoint`, so the account "needs" nothing this pass: a share
    /// made for a consumer whose endpoint is not created yet is deleted, and made again (a new
    /// invitation for an account outside the organization) the pass after.
    #[test]
    fn review_a_share_is_kept_while_its_configuration_is_updating() {
        let (config, mut o) = far_world();
        o.configurations[0].status = ConfigurationStatus::UpdateInProgress;
        o.shares = vec![share(
            AssociationStatus::Associated,
            &[(CFG_ARN, AssociationStatus::Associated)],
        )];
        let p = planned(&config, &o);
        assert!(
            !actions(&p).iter().any(|a| matches!(
                a,
                Action::DeleteResourceShare { .. } | Action::DisassociateResourceShare { .. }
            )),
            "{:#?}",
            p.actions
        );
    }

    /// A consumer whose `account` is the stack's own account (listed in `[[accounts]]` with a
    /// role there): RAM cannot share with the owner itself, and the same endpoints and zone are
    /// read twice (once as ours, once through the role). The account can be told from our own
    /// configurations' ARNs: the consumer must be refused with a clear reason.
    #[test]
    fn review_a_consumer_in_the_stacks_own_account_named_as_another_is_refused() {
        const OWN: &str = "111122223333";
        let (_, mut o) = far_world();
        let config = Config::from_toml(&format!(
            r#"
owner = "t"
[gateway]
security_group_ids = ["sg-1"]
[[accounts]]
id = "{OWN}"
role_arn = "arn:aws:iam::{OWN}:role/fsxn-lattice-consumer"
[[consumers]]
name = "c"
vpc_id = "vpc-2"
subnet_ids = ["subnet-c1"]
hosted_zone_id = "ZONE1"
account = "{OWN}"
"#
        ))
        .unwrap();
        let own_arn = format!("arn:aws:vpc-lattice:us-east-1:{OWN}:resourceconfiguration/rcfg-1");
        o.configurations[0].arn = own_arn;
        o.accounts.clear();
        o.accounts.insert(id(OWN), AccountObserved::default());
        o.hosted_zones[0].account = Some(id(OWN));
        let p = planned(&config, &o);
        assert!(
            !actions(&p)
                .iter()
                .any(|a| matches!(a, Action::CreateResourceShare { .. })),
            "a share with the owner itself: {:#?}",
            p.actions
        );
        assert!(
            p.refusals
                .iter()
                .any(|r| r.subject == "consumer c" && r.reason.contains("own account")),
            "{:?}",
            p.refusals
        );
    }

    /// The VPC a consumer names must be found in the consumer's account: here `vpc-2` was read
    /// in the stack's own account (another consumer there uses it), and not in FAR. The far
    /// consumer passes preflight and its endpoint is created through FAR's role in a VPC
    /// FAR does not have (InvalidVpcId.NotFound on every pass) instead of a refusal.
    #[test]
    fn review_a_consumers_vpc_is_looked_up_in_the_consumers_own_account() {
        let (mut config, mut o) = far_world();
        config.consumers.push(crate::config::Consumer {
            alias_mode: Default::default(),
            name: "home".into(),
            vpc_id: id("vpc-2"),
            subnet_ids: vec![id("subnet-c1")],
            security_group_ids: vec![],
            hosted_zone_id: None,
            account: None,
        });
        // vpc-2 is the world's (home) VPC; FAR's read found no VPC.
        o.accounts.get_mut(&id::<AccountId>(FAR)).unwrap().vpcs.clear();
        o.shares = vec![share(
            AssociationStatus::Associated,
            &[(CFG_ARN, AssociationStatus::Associated)],
        )];
        let p = planned(&config, &o);
        assert!(
            p.refusals
                .iter()
                .any(|r| r.subject == "consumer c" && r.reason.contains(&format!("not found in account {FAR}"))),
            "{:?}",
            p.refusals
        );
        assert!(
            !actions(&p)
                .iter()
                .any(|a| matches!(a, Action::CreateVpcEndpoint { account: Some(a), .. } if a.as_str() == FAR)),
            "{:#?}",
            p.actions
        );
    }

    /// An account that cannot be read: its consumer is refused (AccessDenied) and held, and
    /// its zone was not read. The SVM itself must not be refused with "hosted zone … not
    /// found" (NotFound), which names the wrong cause and the wrong subject.
    #[test]
    fn review_an_unreadable_accounts_zone_does_not_refuse_the_svm() {
        let (config, mut o) = far_world();
        o.accounts.insert(
            id(FAR),
            AccountObserved {
                unreachable: Some(crate::error::CloudError::new(
                    crate::error::ErrorKind::AccessDenied,
                    "AssumeRole",
                    "AccessDenied",
                    "not authorized to perform sts:AssumeRole",
                )),
                ..Default::default()
            },
        );
        // What observing does for an unreadable account: nothing of it is read.
        o.hosted_zones.clear();
        o.records.clear();
        let p = planned(&config, &o);
        assert!(!p.refusals.iter().any(|r| r.subject == "svm-1"), "{:?}", p.refusals);
    }

    /// botocore's RAM model lists SUSPENDED, SUSPENDING and RESTORING association states
    /// besides the five this build names; a SUSPENDED principal is parsed as Unknown and the
    /// consumer's endpoint is polled for ("is not yet a principal ... (Unknown)"), for as long
    /// as the suspension lasts. It must be named, and held rather than polled.
    #[test]
    fn review_a_suspended_principal_is_named_and_held_not_polled() {
        for s in ["SUSPENDED", "SUSPENDING", "RESTORING"] {
            assert_ne!(AssociationStatus::parse(s), AssociationStatus::Unknown, "{s}");
        }
        let (config, mut o) = far_world();
        o.shares = vec![share(
            AssociationStatus::parse("SUSPENDED"),
            &[(CFG_ARN, AssociationStatus::Associated)],
        )];
        let p = planned(&config, &o);
        assert!(
            !p.waiting.iter().any(|w| w.contains("not yet a principal")),
            "{:?}",
            p.waiting
        );
        assert!(
            p.held_for_accounts.iter().any(|h| h.contains("SUSPENDED")),
            "{:?}",
            p.held_for_accounts
        );
    }

    /// Owners were unique per account (config.rs: "separate deployments in one account need
    /// separate owners"); a consumer account is now shared by every storage account that serves
    /// it, and two stacks with owner `prod` in two storage accounts both read the other's
    /// endpoints there as theirs (owner tag). The other stack's endpoint uses a configuration
    /// that is not in our account, so it was deleted as an orphan "whose configuration no longer
    /// exists". An endpoint whose configuration is another account's is never ours.
    #[test]
    fn review_another_stacks_endpoint_with_our_owner_value_in_a_consumer_account_is_not_deleted() {
        const OTHER: &str = "arn:aws:vpc-lattice:us-east-1:999999999999:resourceconfiguration/rcfg-0999";
        let (config, mut o) = far_world();
        let own = "arn:aws:vpc-lattice:us-east-1:111122223333:resourceconfiguration/rcfg-1";
        o.configurations[0].arn = own.into();
        far_endpoint(&mut o, "vpce-0ff", EndpointState::Available);
        o.endpoints.last_mut().unwrap().resource_configuration_arn = OTHER.into();
        let p = planned(&config, &o);
        assert!(
            !actions(&p).iter().any(
                |a| matches!(a, Action::DeleteVpcEndpoint { vpc_endpoint_id, .. } if vpc_endpoint_id.as_str() == "vpce-0ff")
            ),
            "{:#?}",
            p.actions
        );
    }

    /// The same for the other stack's alias in a consumer account's zone: its ownership TXT
    /// names our owner value and an SVM of the other storage account; our planner withdrew it
    /// as "no longer desired".
    #[test]
    fn review_another_stacks_alias_with_our_owner_value_in_a_consumer_zone_is_not_withdrawn() {
        let (config, mut o) = far_world();
        let other_svm: SvmId = id("svm-0999999999999999a");
        o.records.insert(
            id("ZONE1"),
            vec![
                record(
                    "theirs.corp.example",
                    RecordType::CNAME,
                    "vpce-0theirs.rcfg-0999.x.on.aws",
                    None,
                ),
                record(
                    "_fsxn-lattice.theirs.corp.example",
                    RecordType::TXT,
                    &ownership_txt_value("t", &other_svm, "c"),
                    None,
                ),
            ],
        );
        let p = planned(&config, &o);
        assert!(
            !actions(&p).iter().any(|a| matches!(a, Action::DeleteAlias { .. })),
            "{:#?}",
            p.actions
        );
    }

    /// And the other stack's endpoint kept our share alive: `ours_there` counted it, so a share
    /// no consumer of ours needs any more was never deleted.
    #[test]
    fn review_another_stacks_endpoint_does_not_keep_our_share() {
        let (config, mut o) = far_world();
        o.svms[0]
            .tags
            .insert(crate::config::tag_keys::EXPOSE.into(), "off".into());
        o.shares = vec![share(
            AssociationStatus::Associated,
            &[(CFG_ARN, AssociationStatus::Associated)],
        )];
        far_endpoint(&mut o, "vpce-0ff", EndpointState::Available);
        o.endpoints.last_mut().unwrap().resource_configuration_arn =
            "arn:aws:vpc-lattice:us-east-1:999999999999:resourceconfiguration/rcfg-0999".into();
        let p = planned(&config, &o);
        assert!(
            actions(&p)
                .iter()
                .any(|a| matches!(a, Action::DeleteResourceShare { share_arn, .. } if share_arn == SHARE)),
            "{:#?}",
            p.actions
        );
    }

    /// aacd790 made a transient read failure in an account a wait rather than an answer, but
    /// only for `waiting`: the Directory function polls `directory_waiting`, so it converged
    /// with the account's consumers held and their SPNs and AD DNS not planned (chaos at 0.6,
    /// seed 10260157109270051977 with RAM writes drawing write faults).
    #[test]
    fn review_a_transiently_unreadable_account_is_waited_on_by_the_directory_function_too() {
        let (config, mut o) = far_world();
        o.accounts.insert(
            id(FAR),
            AccountObserved {
                unreachable: Some(crate::error::CloudError::new(
                    crate::error::ErrorKind::Transient,
                    "DescribeVpcs",
                    "RequestLimitExceeded",
                    "Request limit exceeded.",
                )),
                ..Default::default()
            },
        );
        let p = planned(&config, &o);
        assert!(
            p.directory_waiting.iter().any(|w| w.contains("read again")),
            "{:?}",
            p.directory_waiting
        );
    }
}
