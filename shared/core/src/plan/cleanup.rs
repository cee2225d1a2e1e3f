//! Cleanup: tearing down what is no longer desired, and only what is ours. A file system's
//! superseded or retired endpoints, configurations and gateways (drained in that order, the old
//! path serving until its replacement does), endpoints whose configuration is gone, and the
//! prefix reservations and carved subnets no gateway of ours uses any more.

use super::{Action, Planner};
use crate::desired::Exposure;
use crate::ids::*;
use crate::model::*;
use crate::naming::*;
use std::collections::BTreeSet;

impl<'a> Planner<'a> {
    /// Drains one file system: everything of ours on its `gateways` that is not the current
    /// slot (`current_id`'s configurations of the `active` exposures, and their endpoints) goes,
    /// endpoint → configuration → gateway, each once nothing uses it any more. An endpoint being
    /// replaced goes only once its replacement is available and the alias points at it; what
    /// is not ours, or belongs to a held SVM or consumer, is kept (and keeps what it uses).
    pub(super) fn drain_file_system(
        &mut self,
        gateways: &[&'a ResourceGateway],
        current_id: Option<GatewayId>,
        active: &[&Exposure],
    ) {
        let held: BTreeSet<&SvmId> = self.desired.held.iter().collect();
        let desired_pairs: BTreeSet<(SvmId, String)> = active
            .iter()
            .flat_map(|e| e.consumers.iter().map(|c| (e.svm_id.clone(), c.clone())))
            .collect();
        for gw in gateways {
            self.subnets_in_use.extend(gw.subnet_ids.iter().cloned());
            let is_current = current_id.as_ref() == Some(&gw.id);
            let mut remaining_configs = 0;
            // Configurations kept only because an unreadable account may use them: those holds
            // end the step, they are not waited on.
            let mut held_for_accounts = 0;
            for cfg in self.configs_on(&gw.id) {
                if !self.owned(&cfg.tags) {
                    remaining_configs += 1;
                    self.out.warnings.push(format!(
                        "{} on our gateway {} is not ours: the gateway is kept",
                        cfg.id, gw.id
                    ));
                    continue;
                }
                let svm = cfg.tags.get(SVM_TAG).and_then(|s| SvmId::parse(s.as_str()).ok());
                if svm.as_ref().is_some_and(|s| held.contains(s)) {
                    remaining_configs += 1;
                    continue;
                }
                // The current slot: the configuration chosen for an active SVM on the current
                // gateway; another of ours for it there (a custom domain changed) is retired.
                let cfg_current = is_current
                    && svm.as_ref().is_some_and(|s| {
                        active.iter().any(|e| &e.svm_id == s)
                            && self.current_configs.get(s).is_none_or(|id| id == &cfg.id)
                    });
                let mut remaining_eps = 0;
                for ep in self.endpoints_on(&cfg.arn) {
                    if !self.owned(&ep.tags) {
                        remaining_eps += 1;
                        continue;
                    }
                    let consumer = ep.tags.get(CONSUMER_TAG).cloned().unwrap_or_default();
                    if self.held_consumers.contains(&consumer) {
                        remaining_eps += 1;
                        continue;
                    }
                    let pair = svm.clone().map(|s| (s, consumer.clone()));
                    let desired = pair.as_ref().is_some_and(|p| desired_pairs.contains(p));
                    let matches = svm.as_ref().is_some_and(|s| self.endpoint_matches(ep, s, &consumer));
                    if cfg_current && desired && matches {
                        remaining_eps += 1; // the current slot: handled by ensure_exposure
                        continue;
                    }
                    if ep.state == EndpointState::Deleting {
                        remaining_eps += 1;
                        self.wait(format!("{} is deleting", ep.id));
                        continue;
                    }
                    // A replacement that cannot be made while this one answers its alias through
                    // private DNS (break-before-make, see `ensure_endpoint`) is ready as soon as
                    // it is wanted.
                    let blocking = pair.as_ref().is_some_and(|p| self.private_dns_blocked.contains(p));
                    let replacement_ready = blocking
                        || pair.as_ref().is_some_and(|p| {
                            self.targets.contains_key(p) && self.alias_settled(p) && self.directory_settled(p)
                        });
                    // Not held for the AD CNAME when it blocks its replacement: the Directory step
                    // can only move the CNAME to an endpoint that exists, so holding it would wait
                    // for ever; the AD name dangles for the minutes the VPC's name is gone too.
                    if (!desired || ep.state == EndpointState::Failed || replacement_ready)
                        && !blocking
                        && self.held_by_directory(&ep.id)
                    {
                        remaining_eps += 1;
                        continue;
                    }
                    if !desired || ep.state == EndpointState::Failed || replacement_ready {
                        let why = if !desired {
                            "no longer desired".to_string()
                        } else if ep.state == EndpointState::Failed {
                            format!("failed: {}", ep.failure_reason.as_deref().unwrap_or("no reason given"))
                        } else if blocking {
                            "superseded, and it answers the name its replacement must answer in the VPC: it goes first (break-before-make)".to_string()
                        } else {
                            "superseded: its replacement is available and the alias points at it".to_string()
                        };
                        self.push(
                            Action::DeleteVpcEndpoint {
                                vpc_endpoint_id: ep.id.clone(),
                                account: ep.account.clone(),
                            },
                            why,
                        );
                    } else {
                        self.wait(format!("{} keeps serving until its replacement is available", ep.id));
                    }
                    remaining_eps += 1;
                }
                remaining_eps += self.drain_associations(cfg, svm.as_ref(), cfg_current, &desired_pairs);
                if cfg_current {
                    remaining_configs += 1;
                    continue;
                }
                if remaining_eps == 0
                    && cfg.status != ConfigurationStatus::DeleteInProgress
                    && self.shared_with_unseen(&cfg.arn, &cfg.id)
                {
                    held_for_accounts += 1;
                } else if remaining_eps == 0 && cfg.status != ConfigurationStatus::DeleteInProgress {
                    self.push(
                        Action::DeleteResourceConfiguration {
                            configuration_id: cfg.id.clone(),
                        },
                        if is_current {
                            "its SVM is no longer exposed"
                        } else {
                            "superseded: its gateway is being replaced or retired"
                        },
                    );
                } else if remaining_eps > 0 {
                    self.wait(format!("{} waits for its endpoints to go", cfg.id));
                }
                remaining_configs += 1;
            }
            if !is_current && gw.status != GatewayStatus::DeleteInProgress {
                if remaining_configs == 0 {
                    self.push(
                        Action::DeleteResourceGateway {
                            gateway_id: gw.id.clone(),
                        },
                        "superseded or no longer needed",
                    );
                } else if remaining_configs > held_for_accounts {
                    self.wait(format!("{} waits for its configurations to go", gw.id));
                }
            } else if gw.status == GatewayStatus::DeleteInProgress {
                self.wait(format!("{} is deleting", gw.id));
            }
        }
    }

    /// The service-network associations of `cfg` that are not the current slot: deleted once
    /// not desired, failed, or superseded (the replacement active and the alias on it); the
    /// current slot's are `ensure_association`'s. Returns how many remain (so the configuration
    /// waits for them).
    fn drain_associations(
        &mut self,
        cfg: &ResourceConfiguration,
        svm: Option<&SvmId>,
        cfg_current: bool,
        desired_pairs: &BTreeSet<(SvmId, String)>,
    ) -> usize {
        let obs = self.obs;
        let mut remaining = 0;
        for a in obs
            .service_network_associations
            .iter()
            .filter(|a| a.configuration_id == cfg.id)
        {
            remaining += 1;
            let consumer = self
                .config
                .service_network_consumers
                .iter()
                .find(|c| c.service_network_id() == a.service_network_id)
                .map(|c| c.name.clone());
            let pair = svm.cloned().zip(consumer);
            let desired = pair.as_ref().is_some_and(|p| desired_pairs.contains(p));
            if cfg_current && desired {
                continue; // the current slot: ensure_association's
            }
            if a.status == NetworkAssociationStatus::DeleteInProgress {
                self.wait(format!("{} is deleting", a.id));
                continue;
            }
            let failed = matches!(
                a.status,
                NetworkAssociationStatus::CreateFailed | NetworkAssociationStatus::DeleteFailed
            );
            let replacement_ready = pair
                .as_ref()
                .is_some_and(|p| self.targets.contains_key(p) && self.alias_settled(p));
            if !desired || failed || replacement_ready {
                self.push(
                    Action::DeleteServiceNetworkAssociation {
                        association_id: a.id.clone(),
                        service_network_id: a.service_network_id.clone(),
                    },
                    if !desired {
                        "no longer desired"
                    } else if failed {
                        "failed"
                    } else {
                        "superseded: its replacement is active and the alias points at it"
                    },
                );
            } else {
                self.wait(format!("{} keeps serving until its replacement is active", a.id));
            }
        }
        remaining
    }

    /// Our endpoints whose configuration no longer exists (deleted behind our back) serve
    /// nothing: delete them.
    pub(super) fn plan_orphan_endpoints(&mut self) {
        let arns: BTreeSet<&str> = self.obs.configurations.iter().map(|c| c.arn.as_str()).collect();
        // An endpoint on a configuration of another account is not ours, whatever its owner
        // tag says: in a consumer account, stacks of other storage accounts may use the same
        // owner value. Unless we know our account, an endpoint in another account is left.
        let own = self.own_account();
        let in_our_account = |ep: &VpcEndpoint| {
            let account = ep.resource_configuration_arn.split(':').nth(4);
            match (&own, account) {
                (Some(own), Some(a)) => own.as_str() == a,
                _ => ep.account.is_none(),
            }
        };
        let orphans: Vec<(VpcEndpointId, Option<AccountId>)> = self
            .obs
            .endpoints
            .iter()
            .filter(|ep| self.owned(&ep.tags) && !arns.contains(ep.resource_configuration_arn.as_str()))
            .filter(|ep| in_our_account(ep))
            .filter(|ep| !matches!(ep.state, EndpointState::Deleting | EndpointState::Deleted))
            .map(|ep| (ep.id.clone(), ep.account.clone()))
            .collect();
        for (id, account) in orphans {
            self.push(
                Action::DeleteVpcEndpoint {
                    vpc_endpoint_id: id,
                    account,
                },
                "its resource configuration no longer exists",
            );
        }
    }

    pub(super) fn plan_cleanup(&mut self) {
        let releasing: Vec<(CidrReservationId, SubnetId)> = self
            .obs
            .cidr_reservations
            .iter()
            .filter(|r| self.owned(&r.tags) && !self.subnets_in_use.contains(&r.subnet_id))
            .map(|r| (r.id.clone(), r.subnet_id.clone()))
            .collect();
        for (id, _) in &releasing {
            self.push(
                Action::ReleaseCidr {
                    reservation_id: id.clone(),
                },
                "no gateway of ours uses this subnet any more",
            );
        }
        let subnets: Vec<SubnetId> = self
            .obs
            .subnets
            .iter()
            .filter(|s| self.owned(&s.tags) && !self.subnets_in_use.contains(&s.id))
            .map(|s| s.id.clone())
            .collect();
        for s in subnets {
            // Someone else's ENIs or reservations in a subnet we carved: it is theirs to use now,
            // and nothing of theirs is touched. Ours (gateway ENIs, our reservations) go first.
            let foreign_eni = self.obs.network_interfaces.iter().any(|e| {
                e.subnet_id == s
                    && e.resource_gateway_id().is_none_or(|g| {
                        !self
                            .obs
                            .gateways
                            .iter()
                            .any(|gw| gw.id == g && is_owned(&gw.tags, self.owner))
                    })
            });
            let foreign_reservation = self
                .obs
                .cidr_reservations
                .iter()
                .any(|r| r.subnet_id == s && !is_owned(&r.tags, self.owner));
            let busy = self.obs.network_interfaces.iter().any(|e| e.subnet_id == s)
                || self.obs.cidr_reservations.iter().any(|r| r.subnet_id == s);
            if foreign_eni || foreign_reservation {
                self.out.warnings.push(format!(
                    "subnet {s} was carved by us and is no longer needed, but other ENIs or reservations use it now: it is left in place"
                ));
            } else if busy {
                self.wait(format!(
                    "subnet {s} we carved waits for its ENIs and reservations to go"
                ));
            } else {
                // The association we made is undone explicitly, not left to DeleteSubnet.
                let association = self
                    .obs
                    .route_tables
                    .iter()
                    .flat_map(|t| &t.associations)
                    .find(|a| a.subnet_id == s)
                    .map(|a| a.id.clone());
                if let Some(association_id) = association {
                    self.push(
                        Action::DisassociateRouteTable {
                            association_id,
                            subnet_id: s.clone(),
                        },
                        "the subnet we carved is deleted next",
                    );
                }
                self.push(
                    Action::DeleteSubnet { subnet_id: s },
                    "carved for a gateway that no longer exists",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tag_keys;
    use crate::plan::tests_support::*;

    #[test]
    fn foreign_endpoints_on_our_configuration_are_never_deleted() {
        let (config, mut o) = world();
        let owned: Tags = [
            (OWNER_TAG.into(), "t".into()),
            (FILE_SYSTEM_TAG.into(), "fs-1".into()),
            (GENERATION_TAG.into(), "1".into()),
        ]
        .into();
        o.gateways.push(ResourceGateway {
            id: id("rgw-1"),
            arn: "arn:gw".into(),
            name: "fsxnl-1-g1".into(),
            vpc_id: id("vpc-1"),
            subnet_ids: vec![id("subnet-a2"), id("subnet-b1")],
            security_group_ids: vec![id("sg-1")],
            ipv4_addresses_per_eni: 16,
            status: GatewayStatus::Active,
            tags: owned.clone(),
        });
        let mut cfg_tags = owned.clone();
        cfg_tags.insert(SVM_TAG.into(), "svm-1".into());
        o.configurations.push(ResourceConfiguration {
            custom_domain_name: None,
            domain_verification_id: None,
            id: id("rcfg-1"),
            arn: "arn:aws:vpc-lattice:us-east-1:1:resourceconfiguration/rcfg-1".into(),
            name: "fsxnl-1-g1".into(),
            gateway_id: id("rgw-1"),
            ip_address: Some("10.0.15.239".parse().unwrap()),
            port_ranges: vec![PortRange::single(445)],
            status: ConfigurationStatus::Active,
            failure_reason: None,
            tags: cfg_tags,
        });
        o.endpoints.push(VpcEndpoint {
            private_dns: Default::default(),
            account: None,
            id: id("vpce-f0"),
            vpc_id: id("vpc-9"),
            subnet_ids: vec![id("subnet-9")],
            security_group_ids: vec![],
            resource_configuration_arn: "arn:aws:vpc-lattice:us-east-1:1:resourceconfiguration/rcfg-1".into(),
            state: EndpointState::Available,
            failure_reason: None,
            private_dns_enabled: true,
            network_interface_ids: vec![],
            dns_name: Some("x".into()),
            tags: Tags::new(),
        });
        // Opt out: our configuration and gateway are no longer desired, but a foreign endpoint uses them.
        o.svms[0].tags.insert(tag_keys::EXPOSE.into(), "off".into());
        let p = planned(&config, &o);
        for a in &p.actions {
            assert!(
                !matches!(&a.action, Action::DeleteVpcEndpoint { vpc_endpoint_id, .. } if vpc_endpoint_id.as_str() == "vpce-f0")
            );
            assert!(
                !matches!(
                    a.action,
                    Action::DeleteResourceConfiguration { .. } | Action::DeleteResourceGateway { .. }
                ),
                "{:?}",
                a.action
            );
        }
        assert!(p.waiting.iter().any(|w| w.contains("rcfg-1")), "{:?}", p.waiting);
    }

    #[test]
    fn a_subnet_we_carved_leaves_its_route_table_before_it_is_deleted() {
        let (config, mut o) = world();
        route_tables(&mut o);
        o.subnets.push(Subnet {
            id: id("subnet-0e"),
            vpc_id: id("vpc-1"),
            availability_zone: "us-east-1a".into(),
            cidr: "10.0.2.0/26".parse().unwrap(),
            tags: [(OWNER_TAG.to_string(), "t".to_string())].into(),
        });
        o.route_tables[1].associations.push(RouteTableAssociation {
            id: "rtbassoc-0e".into(),
            subnet_id: id("subnet-0e"),
        });
        o.svms[0].tags.insert(tag_keys::EXPOSE.into(), "off".into());
        let p = planned(&config, &o);
        let order: Vec<&Action> = p.actions.iter().map(|a| &a.action).collect();
        let dis = order.iter().position(
            |a| matches!(a, Action::DisassociateRouteTable { association_id, .. } if association_id == "rtbassoc-0e"),
        );
        let del = order
            .iter()
            .position(|a| matches!(a, Action::DeleteSubnet { subnet_id } if subnet_id.as_str() == "subnet-0e"));
        assert!(matches!((dis, del), (Some(d), Some(s)) if d < s), "{order:#?}");
    }
}
