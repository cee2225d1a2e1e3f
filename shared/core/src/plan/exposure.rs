//! Exposure: the resource configuration of each exposed SVM on its file system's gateway, and
//! the Resource VPC endpoint of each of its consumers (`ensure_endpoint`): created, updated,
//! replaced when failed, waited for. Consumers whose VPC cannot take an endpoint with private
//! DNS are refused before anything is built for them.

use super::custom_domains::same_private_dns;
use super::{Action, Planner, join, sorted};
use crate::config::{Consumer, ServiceNetworkConsumer};
use crate::desired::Exposure;
use crate::error::ErrorKind;
use crate::ids::AccountId;
use crate::ids::SvmId;
use crate::model::*;
use crate::naming::*;

impl<'a> Planner<'a> {
    pub(super) fn preflight_consumers(&mut self) {
        // An account that cannot be read: everything of it is held (reported in the step's
        // output), and a read that failed transiently is waited on (read again) rather than
        // taken for an answer.
        for a in &self.config.accounts {
            let Some(why) = self.account_unreadable(&a.id) else {
                continue;
            };
            self.out.held_for_accounts.push(format!(
                "{why}: its consumers are held, and nothing it may use is changed or deleted"
            ));
            let transient = self
                .obs
                .accounts
                .get(&a.id)
                .and_then(|o| o.unreachable.as_ref())
                .is_some_and(|e| matches!(e.kind, ErrorKind::Transient | ErrorKind::NotReady));
            if transient {
                // The Directory function too polls for it: its SPNs and AD DNS for the
                // account's consumers need their endpoints, which were not read.
                self.wait_directory(format!("account {} is read again", a.id));
            }
        }
        let own = self.own_account();
        for c in &self.config.consumers {
            let unreadable = c.account.as_ref().and_then(|a| self.account_unreadable(a));
            // The VPC as read in the consumer's account: the same id read elsewhere (a copied
            // id, another consumer's VPC) is not it.
            let in_its_account = |v: &&Vpc| match &c.account {
                Some(a) => self.obs.accounts.get(a).is_some_and(|o| o.vpcs.contains(&v.id)),
                None => !self.obs.accounts.values().any(|o| o.vpcs.contains(&v.id)),
            };
            let why = match self.obs.vpcs.iter().filter(in_its_account).find(|v| v.id == c.vpc_id) {
                _ if c.account.is_some() && c.account == own => Some(format!(
                    "account {} is the stack's own account (our configurations are in it): leave `account` out for a consumer there; RAM does not share with the owner",
                    c.account.as_ref().map(AccountId::as_str).unwrap_or_default()
                )),
                _ if unreadable.is_some() => unreadable,
                None => Some(format!(
                    "VPC {} not found{}",
                    c.vpc_id,
                    c.account
                        .as_ref()
                        .map(|a| format!(" in account {a}"))
                        .unwrap_or_default()
                )),
                Some(v) if !(v.enable_dns_support && v.enable_dns_hostnames) => Some(format!(
                    "VPC {} has enableDnsSupport={} and enableDnsHostnames={}: private DNS on a Resource endpoint needs both on",
                    v.id, v.enable_dns_support, v.enable_dns_hostnames
                )),
                Some(_) => None,
            };
            // An account that cannot be read is refused with its error's kind (AccessDenied for a
            // role that cannot be assumed); a VPC that cannot serve, as invalid input.
            let kind = c
                .account
                .as_ref()
                .filter(|a| Some(*a) != own.as_ref())
                .and_then(|a| self.obs.accounts.get(a))
                .and_then(|o| o.unreachable.as_ref())
                .map_or(ErrorKind::InvalidInput, |e| e.kind);
            if let Some(why) = why {
                self.refuse(
                    format!("consumer {}", c.name),
                    kind,
                    format!("{why}; its endpoints are left as they are"),
                );
                self.held_consumers.insert(c.name.clone());
            }
        }
    }

    /// The stack's own account, as the ARNs of what it owns (configurations, shares) say;
    /// `None` before it has any.
    pub(super) fn own_account(&self) -> Option<AccountId> {
        let arns = self.obs.configurations.iter().map(|c| c.arn.as_str());
        let arns = arns.chain(self.obs.shares.iter().map(|s| s.arn.as_str()));
        arns.filter_map(|a| a.split(':').nth(4))
            .find_map(|a| AccountId::parse(a).ok())
    }

    pub(super) fn ensure_exposure(&mut self, gw: &'a ResourceGateway, e: &Exposure) {
        // The configuration wanted: with the alias as its custom domain when a consumer answers
        // it through private DNS, created with our verification of its domain once that is
        // verified. Both are fixed at creation, so another one means a new configuration; the
        // old one serves until the drain retires it.
        let want_domain = self.custom_domain_of(e);
        let want_verification = match &want_domain {
            Some(d) => self.verification_for(d),
            None => Ok(None),
        };
        let ours: Vec<&'a ResourceConfiguration> = self
            .configs_on(&gw.id)
            .into_iter()
            .filter(|c| self.owned(&c.tags) && c.tags.get(SVM_TAG).map(String::as_str) == Some(e.svm_id.as_str()))
            .collect();
        let fits = |c: &&ResourceConfiguration| {
            c.custom_domain_name.as_deref().map(normalize_dns_name) == want_domain
                && match &want_verification {
                    Ok(v) => &c.domain_verification_id == v,
                    // Verification pending: what exists for the domain serves meanwhile.
                    Err(_) => true,
                }
        };
        // Pending: a configuration with the custom domain but without the verification serves
        // meanwhile (our endpoints specify the alias, so they answer it unverified), and is
        // replaced once the verification is VERIFIED. Not a wait here: `plan_custom_domains`
        // waits only once the TXT is in our zone (before, the DNS step must publish it; without
        // a zone, a person must).
        let cfg = ours.iter().copied().find(fits);
        if let Some(c) = cfg {
            self.current_configs.insert(e.svm_id.clone(), c.id.clone());
        }
        // Consumers in other accounts keep needing the configuration while it or its gateway
        // is briefly not ACTIVE (an update): their share is neither narrowed nor deleted.
        if let Some(cfg) = cfg
            && matches!(
                cfg.status,
                ConfigurationStatus::Active | ConfigurationStatus::UpdateInProgress
            )
        {
            for name in &e.consumers {
                if self.held_consumers.contains(name) {
                    continue;
                }
                if let Some(account) = self.config.consumer(name).and_then(|c| c.account.clone()) {
                    self.want_shared(&account, &cfg.arn);
                }
            }
        }
        if gw.status != GatewayStatus::Active {
            return;
        }
        let generation = generation_of(&gw.tags).unwrap_or(0);
        let Some(cfg) = cfg else {
            let verification = want_verification.clone().ok().flatten();
            let name = match &want_domain {
                None => configuration_name(self.owner, &e.svm_id, generation),
                Some(d) => {
                    custom_domain_configuration_name(self.owner, &e.svm_id, generation, d, verification.as_deref())
                }
            };
            // The parameters are part of the token: a retry after the exposure changed must not
            // replay an older request (IdempotentParameterMismatch / ConflictException).
            let mut parts = vec!["configuration", self.owner, &name, gw.id.as_str()];
            let (ip, ports) = (e.target_ip.to_string(), join(&e.ports));
            parts.extend([ip.as_str(), ports.as_str()]);
            if let Some(d) = &want_domain {
                parts.extend([d.as_str(), verification.as_deref().unwrap_or("")]);
            }
            let token = client_token(&parts);
            self.push(
                Action::CreateResourceConfiguration {
                    name,
                    gateway_id: gw.id.clone(),
                    ip_address: e.target_ip,
                    port_ranges: e.ports.clone(),
                    custom_domain_name: want_domain.clone(),
                    domain_verification_id: verification,
                    client_token: token,
                    tags: self.tags(&[
                        (SVM_TAG, e.svm_id.to_string()),
                        (FILE_SYSTEM_TAG, e.file_system_id.to_string()),
                        (GENERATION_TAG, generation.to_string()),
                        (TARGET_TAG, target_tag_value(e.target_ip, &e.ports)),
                    ]),
                },
                match (&want_domain, ours.is_empty()) {
                    (None, _) => format!("expose {} ({}) on TCP {}", e.svm_name, e.target_ip, join(&e.ports)),
                    (Some(d), true) => format!(
                        "expose {} ({}) on TCP {} with custom domain name {d}",
                        e.svm_name,
                        e.target_ip,
                        join(&e.ports)
                    ),
                    (Some(d), false) => format!(
                        "custom domain name {d} (or its verification) is fixed at creation: a new configuration for {}, the old one serves until it replaces it",
                        e.svm_name
                    ),
                },
            );
            return;
        };
        match cfg.status {
            ConfigurationStatus::Active => {}
            // DELETE_FAILED too: a configuration we had begun to delete (an opt-out) whose SVM
            // is wanted again would otherwise be waited on for ever; a gateway in that state is
            // replaced, and a superseded configuration is deleted again by the cleanup.
            ConfigurationStatus::CreateFailed
            | ConfigurationStatus::UpdateFailed
            | ConfigurationStatus::DeleteFailed => {
                self.push(
                    Action::DeleteResourceConfiguration {
                        configuration_id: cfg.id.clone(),
                    },
                    format!(
                        "{:?}: {}; it is re-created once gone",
                        cfg.status,
                        cfg.failure_reason.as_deref().unwrap_or("no reason given")
                    ),
                );
                return;
            }
            s => {
                self.wait(format!("{} is {s:?}", cfg.id));
                return;
            }
        }
        if cfg.ip_address != Some(e.target_ip) || sorted(&cfg.port_ranges) != e.ports {
            self.push(
                Action::UpdateResourceConfiguration {
                    configuration_id: cfg.id.clone(),
                    ip_address: e.target_ip,
                    port_ranges: e.ports.clone(),
                    tags: self.tags(&[(TARGET_TAG, target_tag_value(e.target_ip, &e.ports))]),
                },
                "the SVM's IP or the exposed protocols changed",
            );
        }
        for consumer_name in &e.consumers {
            if self.held_consumers.contains(consumer_name) {
                continue;
            }
            if let Some(consumer) = self.config.consumer(consumer_name) {
                self.ensure_endpoint(e, cfg, consumer);
            } else if let Some(consumer) = self.config.service_network_consumer(consumer_name) {
                self.ensure_association(e, cfg, consumer);
            }
        }
        self.mark_networks(e, cfg);
    }

    /// Keeps [`SERVICE_NETWORKS_TAG`] on `cfg` naming the zones of its service-network
    /// consumers' aliases: those configured now, and those still holding an alias of ours for
    /// the SVM (until it is withdrawn). Set before the first association is made (same plan,
    /// earlier phase), so the associations and aliases of a consumer removed later are found.
    fn mark_networks(&mut self, e: &Exposure, cfg: &ResourceConfiguration) {
        let current = cfg.tags.get(SERVICE_NETWORKS_TAG);
        let networks: Vec<&ServiceNetworkConsumer> = e
            .consumers
            .iter()
            .filter_map(|c| self.config.service_network_consumer(c))
            .collect();
        if networks.is_empty() && current.is_none() {
            return;
        }
        let mut zones: std::collections::BTreeSet<crate::ids::HostedZoneId> =
            networks.iter().filter_map(|c| c.hosted_zone_id.clone()).collect();
        for z in current.map(|v| parse_service_networks_tag(v)).unwrap_or_default() {
            let ours_left = self.obs.records.get(&z).is_some_and(|rs| {
                rs.iter().any(|r| {
                    r.record_type == RecordType::TXT
                        && r.values.iter().any(|v| {
                            parse_ownership_txt(v).is_some_and(|(o, s, _)| o == self.owner && s == e.svm_id.as_str())
                        })
                })
            });
            if ours_left {
                zones.insert(z);
            }
        }
        let want = service_networks_tag_value(&zones);
        if current == Some(&want) {
            return;
        }
        // One update of the configuration per plan: the tag rides on one already planned.
        let planned = self.out.actions.iter_mut().find_map(|a| match &mut a.action {
            Action::UpdateResourceConfiguration {
                configuration_id, tags, ..
            } if configuration_id == &cfg.id => Some(tags),
            _ => None,
        });
        match planned {
            Some(tags) => {
                tags.insert(SERVICE_NETWORKS_TAG.to_string(), want);
            }
            None => {
                let tags = self.tags(&[
                    (TARGET_TAG, target_tag_value(e.target_ip, &e.ports)),
                    (SERVICE_NETWORKS_TAG, want),
                ]);
                self.push(
                    Action::UpdateResourceConfiguration {
                        configuration_id: cfg.id.clone(),
                        ip_address: e.target_ip,
                        port_ranges: e.ports.clone(),
                        tags,
                    },
                    "record the service networks' alias zones on it, so they are read until its aliases there are withdrawn",
                );
            }
        }
    }

    /// The association of `cfg` with a consumer's service network: created (the
    /// configuration first tagged [`SERVICE_NETWORKS_TAG`], so it is read again once the
    /// consumer is gone), replaced when it failed, waited for; its DNS name is the alias target.
    fn ensure_association(&mut self, e: &Exposure, cfg: &ResourceConfiguration, consumer: &ServiceNetworkConsumer) {
        let network = consumer.service_network_id();
        let obs = self.obs;
        let ours: Vec<&ServiceNetworkAssociation> = obs
            .service_network_associations
            .iter()
            .filter(|a| a.configuration_id == cfg.id && a.service_network_id == network)
            .collect();
        let mut live = None;
        for a in &ours {
            match a.status {
                NetworkAssociationStatus::CreateFailed | NetworkAssociationStatus::DeleteFailed => self.push(
                    Action::DeleteServiceNetworkAssociation {
                        association_id: a.id.clone(),
                        service_network_id: a.service_network_id.clone(),
                    },
                    format!(
                        "{:?}: {}; a new one replaces it",
                        a.status,
                        a.failure_reason.as_deref().unwrap_or("no reason given")
                    ),
                ),
                NetworkAssociationStatus::DeleteInProgress => {
                    self.wait(format!("{} with {network} is deleting", a.id));
                }
                _ => live = live.or(Some(*a)),
            }
        }
        match live {
            Some(a) => match (a.status, &a.dns_name) {
                (NetworkAssociationStatus::Active, Some(dns)) => {
                    self.targets
                        .insert((e.svm_id.clone(), consumer.name.clone()), dns.clone());
                }
                (NetworkAssociationStatus::Active, None) => {
                    self.wait(format!("{} with {network} is active but has no DNS name yet", a.id))
                }
                (NetworkAssociationStatus::CreateInProgress, _) => {
                    self.wait(format!("{} with {network} is being created", a.id))
                }
                (s, _) => {
                    self.out.warnings.push(format!(
                        "{} with {network} is {s:?}: it is kept and not used for the alias; delete it to have it replaced",
                        a.id
                    ));
                    self.wait(format!("{} is {s:?}", a.id));
                }
            },
            None if ours.is_empty() => {
                let token = client_token(&["association", self.owner, &cfg.arn, network]);
                self.push(
                    Action::CreateServiceNetworkAssociation {
                        configuration_id: cfg.id.clone(),
                        service_network: consumer.service_network.clone(),
                        consumer: consumer.name.clone(),
                        client_token: token,
                        tags: self.tags(&[(SVM_TAG, e.svm_id.to_string()), (CONSUMER_TAG, consumer.name.clone())]),
                    },
                    format!(
                        "give consumer {} (service network {network}) a path to {}",
                        consumer.name, e.svm_name
                    ),
                );
            }
            // A failed or deleting one first goes; then the new one.
            None => self.wait(format!(
                "the association of {} with {network} is replaced once the old one is gone",
                cfg.id
            )),
        }
    }

    fn ensure_endpoint(&mut self, e: &Exposure, cfg: &ResourceConfiguration, consumer: &Consumer) {
        // In another account: the configuration must be shared with it first (and stays
        // shared while an endpoint there uses it).
        let shared = match &consumer.account {
            Some(account) => self.shared_with(account, &cfg.arn),
            None => Ok(()),
        };
        let ours: Vec<&VpcEndpoint> = self
            .endpoints_on(&cfg.arn)
            .into_iter()
            .filter(|ep| {
                self.owned(&ep.tags)
                    && ep.tags.get(CONSUMER_TAG) == Some(&consumer.name)
                    && self.endpoint_matches(ep, &e.svm_id, &consumer.name)
            })
            .collect();
        let private_dns = self.wanted_private_dns(&e.svm_id, &consumer.name);
        // Ended ones (failed, rejected, expired) are deleted whatever else exists: one that
        // failed beside an available one would otherwise stay forever.
        let failed: Vec<&&VpcEndpoint> = ours.iter().filter(|ep| ep.state.is_terminal()).collect();
        for ep in &failed {
            self.push(
                Action::DeleteVpcEndpoint {
                    vpc_endpoint_id: ep.id.clone(),
                    account: ep.account.clone(),
                },
                format!(
                    "{}: {}; a new one replaces it",
                    ep.state.as_str(),
                    ep.failure_reason.as_deref().unwrap_or("no reason given")
                ),
            );
        }
        // One of ours still deleting is waited for even beside a live one: until it is gone the
        // world is not what is desired (and a failed replacement would reuse its slot).
        for ep in ours.iter().filter(|ep| ep.state == EndpointState::Deleting) {
            self.wait(format!("{} in {} is deleting", ep.id, consumer.vpc_id));
        }
        // Any live endpoint (states this build does not know included) is the one: never a
        // second beside it. The available one first, so a pending retry never hides it.
        let live = ours
            .iter()
            .filter(|ep| ep.state.is_live())
            .min_by_key(|ep| (ep.state != EndpointState::Available, ep.id.clone()));
        if let Some(ep) = live {
            // A second live endpoint of ours for the same SVM and consumer (racing executions,
            // one with a stale view, each made one; found by chaos at fault rate 0.15) is
            // deleted: every reconciler keeps the same one (the order above), so they agree.
            // Not while an alias of ours still points at it: the DNS scope repoints the alias
            // to the kept one first, and a later pass deletes it.
            for dup in ours.iter().filter(|d| d.state.is_live() && d.id != ep.id) {
                let aliased = dup.dns_name.as_ref().is_some_and(|dns| {
                    self.obs.records.values().flatten().any(|r| {
                        r.record_type == RecordType::CNAME
                            && r.values
                                .iter()
                                .any(|v| v.trim_end_matches('.').eq_ignore_ascii_case(dns))
                    })
                });
                if aliased {
                    self.wait(format!(
                        "{} is a duplicate of {} still named by an alias",
                        dup.id, ep.id
                    ));
                    continue;
                }
                if self.held_by_directory(&dup.id) {
                    continue;
                }
                self.push(
                    Action::DeleteVpcEndpoint {
                        vpc_endpoint_id: dup.id.clone(),
                        account: dup.account.clone(),
                    },
                    format!(
                        "a second endpoint of {} in {} beside {}: one is kept",
                        e.svm_id, consumer.vpc_id, ep.id
                    ),
                );
            }
            match ep.state {
                EndpointState::Available => match &ep.dns_name {
                    Some(dns) => {
                        self.targets
                            .insert((e.svm_id.clone(), consumer.name.clone()), dns.clone());
                    }
                    None => self.wait(format!("{} is available but has no DNS entry yet", ep.id)),
                },
                EndpointState::Pending | EndpointState::PendingAcceptance => {
                    self.wait(format!("{} is {} in {}", ep.id, ep.state.as_str(), consumer.vpc_id));
                }
                _ => {
                    self.out.warnings.push(format!(
                        "{} in {} is {}{}: it is kept and not used for the alias; delete it to have it replaced",
                        ep.id,
                        consumer.vpc_id,
                        ep.state.as_str(),
                        ep.failure_reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ));
                    self.wait(format!("{} is {}", ep.id, ep.state.as_str()));
                }
            }
            return;
        }
        // One still deleting: EC2 would answer a create with the same client token with that
        // endpoint (counted as done, a pass without progress, forever). Wait until it is gone.
        if failed.is_empty() && ours.iter().any(|ep| ep.state == EndpointState::Deleting) {
            self.wait(format!(
                "an endpoint of {} in {} is deleting",
                e.svm_id, consumer.vpc_id
            ));
            return;
        }
        match shared {
            Ok(()) => {}
            Err(Some(why)) => {
                self.wait(format!("consumer {}: {why}", consumer.name));
                return;
            }
            // Held (in `held_for_accounts`): not polled for.
            Err(None) => return,
        }
        // Two endpoints cannot answer one name in one VPC: an old one answering the name the new
        // one will answer (the alias specified, or a verified custom domain, which EC2's
        // default preference answers too) goes first (the drain deletes it on this mark), then
        // this one is made.
        if let Some(alias) = self.answered_by(cfg, &private_dns) {
            let alias = &alias;
            let answering: Vec<&VpcEndpoint> = self
                .obs
                .endpoints
                .iter()
                .filter(|o| o.vpc_id == consumer.vpc_id && o.account == consumer.account && o.state.is_live())
                .filter(|o| self.answers_in_vpc(o, alias))
                .collect();
            if !answering.is_empty() {
                self.private_dns_blocked
                    .insert((e.svm_id.clone(), consumer.name.clone()));
                let ids: Vec<&str> = answering.iter().map(|o| o.id.as_str()).collect();
                self.wait(format!(
                    "{} already answers {alias} in {}: it goes before the endpoint of {} that replaces it",
                    ids.join(", "),
                    consumer.vpc_id,
                    cfg.id
                ));
                return;
            }
        }
        let replaced: Vec<&str> = failed.iter().map(|ep| ep.id.as_str()).collect();
        let subnets = sorted(&consumer.subnet_ids);
        let sgs = sorted(&consumer.security_group_ids);
        let replaced = replaced.join(",");
        let (subnet_list, sg_list) = (join(&subnets), join(&sgs));
        let mut parts = vec![
            "endpoint",
            self.owner,
            e.svm_id.as_str(),
            &consumer.name,
            consumer.vpc_id.as_str(),
            &cfg.arn,
            &subnet_list,
            &sg_list,
            &replaced,
        ];
        let dns_part = private_dns
            .preference
            .as_ref()
            .map(|p| format!("{p}:{}", private_dns.specified_domains.join(",")));
        parts.extend(dns_part.as_deref());
        let token = client_token(&parts);
        self.push(
            Action::CreateVpcEndpoint {
                vpc_id: consumer.vpc_id.clone(),
                subnet_ids: subnets,
                security_group_ids: sgs,
                resource_configuration_arn: cfg.arn.clone(),
                client_token: token,
                tags: self.tags(&[
                    (SVM_TAG, e.svm_id.to_string()),
                    (CONSUMER_TAG, consumer.name.clone()),
                    (FILE_SYSTEM_TAG, e.file_system_id.to_string()),
                    (
                        HOSTED_ZONE_TAG,
                        consumer
                            .hosted_zone_id
                            .as_ref()
                            .map(|z| z.to_string())
                            .unwrap_or_default(),
                    ),
                    ("Name", format!("fsxn-lattice-{}-{}", e.svm_name, consumer.name)),
                ]),
                account: consumer.account.clone(),
                private_dns,
            },
            format!(
                "give consumer {} ({}) a path to {}",
                consumer.name, consumer.vpc_id, e.svm_name
            ),
        );
    }

    /// Whether `ep` is what `consumer` wants for `svm`: its subnets, its security groups, and
    /// for a custom-domain consumer exactly the private DNS options of the alias (fixed at
    /// creation, so a change replaces the endpoint).
    pub(super) fn endpoint_matches(&self, ep: &VpcEndpoint, svm: &SvmId, consumer: &str) -> bool {
        let dns = self.wanted_private_dns(svm, consumer);
        self.config.consumer(consumer).is_some_and(|c| {
            sorted(&ep.subnet_ids) == sorted(&c.subnet_ids)
                && (c.security_group_ids.is_empty() || sorted(&ep.security_group_ids) == sorted(&c.security_group_ids))
                && match dns.preference {
                    Some(_) => ep.private_dns_enabled && same_private_dns(&ep.private_dns, &dns),
                    // A CNAME consumer: EC2's default (or the same stated), never a name of ours
                    // specified (a consumer switched back from custom-domain).
                    None => {
                        same_private_dns(&ep.private_dns, &PrivateDns::default())
                            || same_private_dns(
                                &ep.private_dns,
                                &PrivateDns {
                                    preference: Some("VERIFIED_DOMAINS_ONLY".into()),
                                    specified_domains: Vec::new(),
                                },
                            )
                    }
                }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;
    use crate::plan::tests_support::*;

    fn creates_endpoint(p: &Plan) -> bool {
        p.actions
            .iter()
            .any(|a| matches!(a.action, Action::CreateVpcEndpoint { .. }))
    }

    fn deletes(p: &Plan) -> Vec<&str> {
        p.actions
            .iter()
            .filter_map(|a| match &a.action {
                Action::DeleteVpcEndpoint { vpc_endpoint_id, .. } => Some(vpc_endpoint_id.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn no_endpoint_is_created_while_the_previous_one_is_still_deleting() {
        // Regression: EC2 answered the create (same client token) with the deleting endpoint,
        // the pass counted as progress, and the loop spun until its budget was spent.
        let (config, mut o) = world();
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-01d", EndpointState::Deleting);
        let p = planned(&config, &o);
        assert!(!creates_endpoint(&p), "{:#?}", p.actions);
        assert!(p.waiting.iter().any(|w| w.contains("deleting")), "{:?}", p.waiting);
    }

    #[test]
    fn a_deleting_endpoint_beside_an_available_one_is_waited_for_not_converged() {
        // Regression (chaos, rate 0.0, seed 12116079458102082021): a failed endpoint was deleted
        // and replaced in one pass; once the replacement was available the plan was empty and
        // the run said Converged with the old endpoint still deleting.
        let (config, mut o) = world();
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        our_endpoint(&mut o, "vpce-0dead", EndpointState::Deleting);
        let p = planned(&config, &o);
        assert!(!creates_endpoint(&p) && deletes(&p).is_empty(), "{:#?}", p.actions);
        assert!(!p.is_converged());
        assert!(p.waiting.iter().any(|w| w.contains("vpce-0dead")), "{:?}", p.waiting);
    }

    /// A reviewer reading the planner: the current configuration in DELETE_FAILED was only
    /// waited on ("is DeleteFailed"), for ever; CREATE_FAILED and UPDATE_FAILED were deleted
    /// and re-created.
    #[test]
    fn a_current_configuration_that_failed_to_delete_is_deleted_again_not_waited_on() {
        for status in [
            ConfigurationStatus::CreateFailed,
            ConfigurationStatus::UpdateFailed,
            ConfigurationStatus::DeleteFailed,
        ] {
            let (config, mut o) = world();
            with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
            o.configurations[0].status = status;
            let p = planned(&config, &o);
            assert!(
                p.actions.iter().any(|a| matches!(
                    &a.action,
                    Action::DeleteResourceConfiguration { configuration_id } if configuration_id.as_str() == "rcfg-1"
                )),
                "{status:?}: {:#?} {:?}",
                p.actions,
                p.waiting
            );
        }
        // In progress is waited on, not deleted.
        let (config, mut o) = world();
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        o.configurations[0].status = ConfigurationStatus::DeleteInProgress;
        let p = planned(&config, &o);
        assert!(
            !p.actions
                .iter()
                .any(|a| matches!(a.action, Action::DeleteResourceConfiguration { .. })),
            "{:#?}",
            p.actions
        );
        assert!(p.waiting.iter().any(|w| w.contains("rcfg-1")), "{:?}", p.waiting);
    }

    #[test]
    fn a_failed_endpoint_beside_an_available_one_is_deleted() {
        let (config, mut o) = world();
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        our_endpoint(&mut o, "vpce-bad", EndpointState::Failed);
        let p = planned(&config, &o);
        assert_eq!(deletes(&p), ["vpce-bad"]);
        assert!(!creates_endpoint(&p));
        assert!(!p.is_converged());
    }

    #[test]
    fn a_second_live_endpoint_is_deleted_but_not_while_an_alias_names_it() {
        let (config, mut o) = world();
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-0b", EndpointState::Available);
        our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        our_endpoint(&mut o, "vpce-0c", EndpointState::Pending);
        // Every reconciler keeps the same one (available first, then the lowest id).
        let p = planned(&config, &o);
        let mut gone = deletes(&p);
        gone.sort();
        assert_eq!(gone, ["vpce-0b", "vpce-0c"], "{:#?}", p.actions);
        assert!(!creates_endpoint(&p));
        // An alias of ours still names vpce-0b (published by the other racer): it is repointed
        // to vpce-0a first, and vpce-0b is deleted by a later pass.
        o.records.insert(
            id("ZONE1"),
            vec![record(
                "files.corp.example",
                RecordType::CNAME,
                "VPCE-0B.rcfg-1.x.on.aws.",
                None,
            )],
        );
        let p = planned(&config, &o);
        assert_eq!(deletes(&p), ["vpce-0c"], "{:#?}", p.actions);
        assert!(
            p.waiting
                .iter()
                .any(|w| w.contains("vpce-0b is a duplicate of vpce-0a")),
            "{:?}",
            p.waiting
        );
    }

    #[test]
    fn partial_or_unknown_endpoints_are_kept_and_never_duplicated() {
        for state in [EndpointState::Partial, EndpointState::Unknown] {
            let (config, mut o) = world();
            with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
            our_endpoint(&mut o, "vpce-0f", state);
            let p = planned(&config, &o);
            assert!(!creates_endpoint(&p), "{state:?}: {:#?}", p.actions);
            assert!(deletes(&p).is_empty(), "{state:?}");
            assert!(p.warnings.iter().any(|w| w.contains("vpce-0f")), "{:?}", p.warnings);
            assert!(
                !p.actions
                    .iter()
                    .any(|a| matches!(a.action, Action::PublishAlias { .. })),
                "no alias to an endpoint that is not available"
            );
        }
    }

    #[test]
    fn an_endpoint_in_other_subnets_than_the_consumer_wants_is_replaced() {
        let (config, mut o) = world();
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        o.endpoints[0].subnet_ids = vec![id("subnet-c9")];
        let p = planned(&config, &o);
        let subnets = p.actions.iter().find_map(|a| match &a.action {
            Action::CreateVpcEndpoint { subnet_ids, .. } => Some(subnet_ids.clone()),
            _ => None,
        });
        assert_eq!(subnets, Some(vec![id("subnet-c1")]));
    }

    #[test]
    fn a_consumer_vpc_without_dns_is_refused_before_anything_is_built_for_it() {
        let (config, mut o) = world();
        o.vpcs[1].enable_dns_hostnames = false;
        let p = planned(&config, &o);
        let r = p.refusals.iter().find(|r| r.subject == "consumer c").expect("refused");
        assert!(r.reason.contains("enableDnsHostnames=false"), "{}", r.reason);
        assert!(!creates_endpoint(&p));
    }

    /// The unit-test world with a service-network consumer `sn` (network sn-…01, zone ZONE2)
    /// beside `c`.
    fn network_world() -> (crate::config::Config, crate::observe::Observed) {
        let (mut config, mut o) = world();
        config.service_network_consumers.push(ServiceNetworkConsumer {
            name: "sn".into(),
            service_network: "sn-0123456789abcdef1".into(),
            hosted_zone_id: Some(id("ZONE2")),
        });
        o.hosted_zones.push(HostedZone {
            id: id("ZONE2"),
            name: "corp.example".into(),
            private: true,
            account: None,
        });
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        (config, o)
    }

    fn association(status: NetworkAssociationStatus) -> ServiceNetworkAssociation {
        ServiceNetworkAssociation {
            id: "snra-0aaa".into(),
            arn: "arn:snra".into(),
            service_network_id: "sn-0123456789abcdef1".into(),
            configuration_id: id("rcfg-1"),
            status,
            failure_reason: None,
            dns_name: (status == NetworkAssociationStatus::Active)
                .then(|| "snra-0aaa.rcfg-1.x.vpc-lattice-rsc.us-east-1.on.aws".to_string()),
        }
    }

    #[test]
    fn a_service_network_consumer_gets_an_association_after_the_marker_and_its_alias_points_at_it() {
        let (config, o) = network_world();
        let p = planned(&config, &o);
        let marked = p.actions.iter().any(|a| {
            matches!(&a.action, Action::UpdateResourceConfiguration { tags, .. } if tags.get(SERVICE_NETWORKS_TAG).map(String::as_str) == Some("ZONE2"))
        });
        assert!(marked, "{:#?}", p.actions);
        let created = p.actions.iter().find_map(|a| match &a.action {
            Action::CreateServiceNetworkAssociation {
                configuration_id,
                service_network,
                consumer,
                ..
            } => Some((configuration_id.as_str(), service_network.as_str(), consumer.as_str())),
            _ => None,
        });
        assert_eq!(created, Some(("rcfg-1", "sn-0123456789abcdef1", "sn")));
        // Active: the alias in the consumer's zone points at the association's DNS name.
        let (config, mut o) = network_world();
        o.configurations[0]
            .tags
            .insert(SERVICE_NETWORKS_TAG.into(), "ZONE2".into());
        o.service_network_associations
            .push(association(NetworkAssociationStatus::Active));
        let p = planned(&config, &o);
        assert!(!p.actions.iter().any(|a| matches!(
            a.action,
            Action::CreateServiceNetworkAssociation { .. } | Action::UpdateResourceConfiguration { .. }
        )));
        let published = p.actions.iter().find_map(|a| match &a.action {
            Action::PublishAlias {
                hosted_zone_id, cname, ..
            } if hosted_zone_id.as_str() == "ZONE2" => Some(cname.values.clone()),
            _ => None,
        });
        assert_eq!(
            published,
            Some(vec!["snra-0aaa.rcfg-1.x.vpc-lattice-rsc.us-east-1.on.aws".to_string()]),
            "{:#?}",
            p.actions
        );
    }

    #[test]
    fn a_failed_association_is_replaced_and_a_removed_consumer_s_goes_before_its_configuration() {
        let (config, mut o) = network_world();
        o.configurations[0]
            .tags
            .insert(SERVICE_NETWORKS_TAG.into(), "ZONE2".into());
        o.service_network_associations
            .push(association(NetworkAssociationStatus::CreateFailed));
        let p = planned(&config, &o);
        assert!(p.actions.iter().any(|a| matches!(&a.action, Action::DeleteServiceNetworkAssociation { association_id, .. } if association_id == "snra-0aaa")));
        assert!(
            !p.actions
                .iter()
                .any(|a| matches!(a.action, Action::CreateServiceNetworkAssociation { .. })),
            "not beside the failed one"
        );
        // The SVM opted out: the association goes, and the configuration waits for it.
        let (config, mut o) = network_world();
        o.configurations[0]
            .tags
            .insert(SERVICE_NETWORKS_TAG.into(), "ZONE2".into());
        o.service_network_associations
            .push(association(NetworkAssociationStatus::Active));
        o.svms[0]
            .tags
            .insert(crate::config::tag_keys::EXPOSE.into(), "off".into());
        let p = planned(&config, &o);
        assert!(
            p.actions
                .iter()
                .any(|a| matches!(a.action, Action::DeleteServiceNetworkAssociation { .. })),
            "{:#?}",
            p.actions
        );
        assert!(
            !p.actions
                .iter()
                .any(|a| matches!(a.action, Action::DeleteResourceConfiguration { .. })),
            "{:#?}",
            p.actions
        );
        assert!(
            p.waiting.iter().any(|w| w.contains("waits for its endpoints")),
            "{:?}",
            p.waiting
        );
    }
}
