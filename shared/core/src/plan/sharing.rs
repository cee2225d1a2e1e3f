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

    /// Our share for `account` (the lowest ARN if racing executions made two), not deleting.
    fn share_of(&self, account: &AccountId) -> Option<&'a ResourceShare> {
        let obs = self.obs;
        obs.shares
            .iter()
            .filter(|s| {
                self.owned(&s.tags)
                    && s.tags.get(ACCOUNT_TAG).map(String::as_str) == Some(account.as_str())
                    && !matches!(s.status, ShareStatus::Deleting | ShareStatus::Deleted)
            })
            .min_by(|a, b| a.arn.cmp(&b.arn))
    }

    /// Records that `account` needs configuration `arn` (an endpoint of its consumers uses
    /// it or is to be created for it), and says whether the account may use it now: our share
    /// for it is `ACTIVE`, with the account and the configuration both `ASSOCIATED`. `Err` says
    /// what is still to happen.
    pub(super) fn shared_with(&mut self, account: &AccountId, arn: &str) -> Result<(), String> {
        self.share_wanted
            .entry(account.clone())
            .or_default()
            .insert(arn.to_string());
        let short = arn.rsplit('/').next().unwrap_or(arn);
        let Some(share) = self.share_of(account) else {
            return Err(format!("{short} is not shared with account {account} yet"));
        };
        if share.status != ShareStatus::Active {
            return Err(format!("share {} is {:?}", share.arn, share.status));
        }
        let principal = share.principals.iter().find(|p| p.entity == account.as_str());
        if principal.map(|p| p.status) != Some(AssociationStatus::Associated) {
            return Err(format!(
                "account {account} is not yet a principal of share {} ({})",
                share.arn,
                principal.map_or("absent".to_string(), |p| format!("{:?}", p.status))
            ));
        }
        match share.resources.iter().find(|r| r.entity == arn) {
            Some(r) if r.status == AssociationStatus::Associated => Ok(()),
            Some(r) => Err(format!("{short} is {:?} in share {}", r.status, share.arn)),
            None => Err(format!("{short} is not yet in share {}", share.arn)),
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
        let share = self.share_of(account);
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
            if let Some(share) = share {
                self.out
                    .held_for_accounts
                    .push(format!("share {} is kept as it is: {why}", share.arn));
            }
            return;
        }
        let ours_there: Vec<&VpcEndpoint> = obs
            .endpoints
            .iter()
            .filter(|e| e.account.as_ref() == Some(account) && self.owned(&e.tags))
            .filter(|e| e.state != EndpointState::Deleted)
            .collect();
        // What the account needs: the configurations its consumers need this pass, and those
        // our endpoints there still reference (until they are gone). Only configurations of
        // ours that exist can be shared.
        let existing: BTreeSet<&str> = obs
            .configurations
            .iter()
            .filter(|c| self.owned(&c.tags))
            .map(|c| c.arn.as_str())
            .collect();
        let mut needed: BTreeSet<String> = self.share_wanted.get(account).cloned().unwrap_or_default();
        needed.extend(ours_there.iter().map(|e| e.resource_configuration_arn.clone()));
        needed.retain(|a| existing.contains(a.as_str()));
        let Some(share) = share else {
            if !needed.is_empty() {
                let name = share_name(self.owner, account);
                let resource_arns: Vec<String> = needed.into_iter().collect();
                let token = client_token(&["share", self.owner, &name, &resource_arns.join(",")]);
                self.push(
                    Action::CreateResourceShare {
                        account: account.clone(),
                        name,
                        resource_arns,
                        allow_external_principals: self.config.sharing.allow_external_principals,
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
            self.push(
                Action::DeleteResourceShare {
                    account: account.clone(),
                    share_arn: share.arn.clone(),
                },
                format!("no consumer in account {account} needs our configurations any more"),
            );
            return;
        }
        let principal = share.principals.iter().find(|p| p.entity == account.as_str());
        let mut principals = Vec::new();
        match principal.map(|p| p.status) {
            None | Some(AssociationStatus::Disassociated) => principals.push(account.clone()),
            Some(AssociationStatus::Failed) => {
                self.out.warnings.push(format!(
                    "account {account} could not be made a principal of share {}: {}{}; it is tried again",
                    share.arn,
                    principal.and_then(|p| p.message.as_deref()).unwrap_or("no reason given"),
                    if share.allow_external_principals {
                        ""
                    } else {
                        " (the share allows only accounts of the organization: set [sharing] allow_external_principals = true for an account outside it)"
                    }
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
        if !remove.is_empty() {
            self.push(
                Action::DisassociateResourceShare {
                    account: account.clone(),
                    share_arn: share.arn.clone(),
                    resource_arns: remove,
                },
                format!("no endpoint in account {account} uses them any more"),
            );
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
        o.accounts.insert(id(FAR), AccountObserved::default());
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
                invitations: vec![],
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
}
