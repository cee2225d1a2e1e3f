//! Active Directory (with `[directory]`): the alias's SPNs on the SVM's computer object and its
//! CNAME in the AD-integrated zone, so Kerberos works through the alias without a manual step.
//!
//! - SPNs are added once the SVM is exposed with SMB and an alias and its endpoint is available
//!   (as the Route 53 alias is published); a value another account
//!   holds refuses the alias (`Conflict`, naming that account's DN): never stolen, since a
//!   duplicate SPN breaks Kerberos for both. What we added is kept as the SVM's
//!   [`DIRECTORY_TAG`]; only that is ever removed.
//! - The AD DNS CNAME follows once the SPNs are in place and the endpoint is available (as the
//!   Route 53 one), with a TXT marker beside it; a name without our marker is never written.
//!   With several consumers, it points at the first consumer's (by name) available endpoint:
//!   one name, one target.
//! - On opt-out (or a new alias), our AD DNS record is withdrawn first, then our SPN values.
//! - On heal, the CNAME is repointed at the new endpoint before the old one is deleted
//!   ([`Planner::directory_settled`]).

use super::{Action, Planner};
use crate::config::DnsPolicy;
use crate::desired::{Exposure, Protocol};
use crate::directory::{SpnRecord, SpnValue, computer_name, normalize_alias};
use crate::error::ErrorKind;
use crate::ids::*;
use crate::naming::directory_tag;
use std::collections::BTreeMap;

impl<'a> Planner<'a> {
    /// The record kept on the SVM, if any.
    fn spn_record(&self, svm: &SvmId) -> Option<SpnRecord> {
        self.obs
            .svms
            .iter()
            .find(|s| &s.id == svm)
            .and_then(|s| s.tags.get(&directory_tag(self.owner)))
            .and_then(|v| SpnRecord::parse_tag_value(v))
    }

    /// The consumer whose endpoint the AD DNS CNAME of `e` points at: the first by name that
    /// has an available endpoint now.
    fn directory_consumer(&self, e: &Exposure) -> Option<String> {
        let mut consumers: Vec<&String> = e.consumers.iter().collect();
        consumers.sort();
        consumers
            .into_iter()
            .find(|c| self.targets.contains_key(&(e.svm_id.clone(), (*c).clone())))
            .cloned()
    }

    /// Whether the AD DNS CNAME (if any is wanted) points at the current endpoint of
    /// `(svm, consumer)`: with `[directory]`, an old endpoint is kept until it does.
    pub(super) fn directory_settled(&self, (svm, consumer): &(SvmId, String)) -> bool {
        let (Some(settings), Some(dobs)) = (&self.config.directory, &self.obs.directory) else {
            return true;
        };
        let Some(e) = self.desired.exposures.get(svm) else {
            return true;
        };
        let (Some(alias), true) = (&e.alias, e.protocols.contains(&Protocol::Smb)) else {
            return true;
        };
        if self.directory_consumer(e).as_ref() != Some(consumer) {
            return true;
        }
        let alias = normalize_alias(alias);
        if !alias.ends_with(&format!(".{}", settings.dns_zone())) {
            return true;
        }
        let target = &self.targets[&(svm.clone(), consumer.clone())];
        dobs.aliases.get(&alias).is_none_or(|a| {
            // Refused (not ours) or not yet published under a refused SPN: nothing to wait for.
            !a.owned_by(self.owner, svm.as_str()) || a.cname_targets.iter().any(|t| t == target)
        })
    }

    pub(super) fn plan_directory(&mut self) {
        let Some(settings) = &self.config.directory else {
            return;
        };
        let Some(dobs) = &self.obs.directory else {
            self.out.warnings.push(
                "[directory] is configured but this run cannot reach the directory: the SPN and AD DNS steps are left to the run that can"
                    .into(),
            );
            return;
        };
        let zone = settings.dns_zone();
        let ttl = self.config.dns.ttl;
        let mut wanted: BTreeMap<SvmId, String> = BTreeMap::new();
        let exposures: Vec<&Exposure> = self.desired.exposures.values().collect();
        for e in exposures {
            let (Some(alias), true) = (&e.alias, e.protocols.contains(&Protocol::Smb)) else {
                continue;
            };
            if self.out.refusals.iter().any(|r| r.subject == e.svm_id.as_str()) {
                continue;
            }
            let alias = normalize_alias(alias);
            wanted.insert(e.svm_id.clone(), alias.clone());
            let computer = computer_name(e.smb_computer_name.as_deref().unwrap_or(&e.svm_name));
            let record = self.spn_record(&e.svm_id);
            if let Some(r) = &record
                && r.alias != alias
            {
                // The old alias's values and record go first (below); then this one's.
                self.wait(format!(
                    "the SPNs of {alias} wait for those fsxn-lattice added for {} to be removed",
                    r.alias
                ));
                continue;
            }
            // Like the Route 53 alias: nothing is written for an alias no endpoint serves yet.
            let Some(consumer) = self.directory_consumer(e) else {
                if record.is_none() {
                    self.wait(format!("the SPNs of {alias} wait for an endpoint to become available"));
                }
                continue;
            };
            let Some(state) = dobs.computers.get(&(computer.clone(), alias.clone())) else {
                continue;
            };
            let Some(state) = state else {
                self.refuse(
                    e.svm_id.to_string(),
                    ErrorKind::NotFound,
                    format!(
                        "AD computer object {computer} of {} not found in {}: the SPNs of {alias} cannot be added",
                        e.svm_id, settings.domain
                    ),
                );
                continue;
            };
            let missing: Vec<SpnValue> = SpnValue::ALL.into_iter().filter(|v| !state.has(*v, &alias)).collect();
            if let Some((v, holder)) = missing
                .iter()
                .find_map(|v| state.held_elsewhere.get(v).map(|h| (*v, h)))
            {
                self.refuse(
                    e.svm_id.to_string(),
                    ErrorKind::Conflict,
                    format!(
                        "{} {} is held by {holder}: not taken from it (a duplicate SPN breaks Kerberos for both); remove it there or choose another alias. Nothing is written to the directory for {alias}",
                        v.attribute(),
                        v.value_for(&alias)
                    ),
                );
                continue;
            }
            if !missing.is_empty() || record.is_none() {
                let why = if missing.is_empty() {
                    format!(
                        "the values for {alias} are on {computer} already (an administrator's: kept, never removed); record that none is ours"
                    )
                } else {
                    format!(
                        "Kerberos through {alias}: clients ask for HOST/ or cifs/{alias}, which must be on {computer} (today SMB through the alias falls back to NTLMv2)"
                    )
                };
                self.push(
                    Action::RegisterSpn {
                        svm_id: e.svm_id.clone(),
                        record_tag: directory_tag(self.owner),
                        computer,
                        previous: record.unwrap_or_else(|| SpnRecord::empty(alias.clone())),
                        missing: missing.into_iter().collect(),
                        alias,
                    },
                    why,
                );
                continue;
            }
            if !alias.ends_with(&format!(".{zone}")) {
                self.out.warnings.push(format!(
                    "{alias} is not below the AD DNS zone {zone}: its SPNs are set, its AD DNS record is not written (domain members resolve it only if their DNS forwards it)"
                ));
                continue;
            }
            let Some(dns) = dobs.aliases.get(&alias) else {
                continue;
            };
            if !dns.other_types.is_empty() {
                self.refuse(
                    e.svm_id.to_string(),
                    ErrorKind::Conflict,
                    format!(
                        "{alias} already has {} in the AD zone {zone}: not ours, left alone",
                        dns.other_types.join(", ")
                    ),
                );
                continue;
            }
            let owned = dns.owned_by(self.owner, e.svm_id.as_str());
            if !owned && !dns.is_empty() {
                self.refuse(
                    e.svm_id.to_string(),
                    ErrorKind::Conflict,
                    format!("{alias} exists in the AD zone {zone} without our marker: not ours, not overwritten"),
                );
                continue;
            }
            let target = self.targets[&(e.svm_id.clone(), consumer)].clone();
            if owned && dns.cname_targets == [target.clone()] {
                continue;
            }
            let replaces = dns.cname_targets.first().cloned();
            let why = match &replaces {
                Some(old) => format!("repoint from {old} to the current endpoint"),
                None => format!(
                    "domain members resolve {alias} through AD DNS: publish it there too, so Kerberos works for them"
                ),
            };
            self.push(
                Action::PublishDirectoryAlias {
                    svm_id: e.svm_id.clone(),
                    owner: self.owner.to_string(),
                    zone: zone.clone(),
                    alias,
                    target,
                    ttl,
                    replaces,
                },
                why,
            );
        }
        // Withdraw what we added for aliases no longer wanted: the AD DNS record, then the SPNs.
        for svm in &self.obs.svms {
            let Some(record) = svm
                .tags
                .get(&directory_tag(self.owner))
                .and_then(|v| SpnRecord::parse_tag_value(v))
            else {
                continue;
            };
            if wanted.get(&svm.id) == Some(&record.alias) || self.desired.held.contains(&svm.id) {
                continue;
            }
            if self.config.dns.policy == DnsPolicy::UpsertOnly {
                self.out.warnings.push(format!(
                    "{} of {} is ours in AD and no longer desired; dns.policy = upsert-only leaves it",
                    record.alias, svm.id
                ));
                continue;
            }
            if dobs
                .aliases
                .get(&record.alias)
                .is_some_and(|a| a.owned_by(self.owner, svm.id.as_str()))
            {
                self.push(
                    Action::WithdrawDirectoryAlias {
                        svm_id: svm.id.clone(),
                        owner: self.owner.to_string(),
                        zone: zone.clone(),
                        alias: record.alias.clone(),
                    },
                    "the alias is no longer desired: our AD DNS record goes first",
                );
            }
            let computer = computer_name(
                svm.endpoints
                    .smb
                    .as_ref()
                    .and_then(|e| e.dns_name.as_deref())
                    .unwrap_or(&svm.name),
            );
            self.push(
                Action::UnregisterSpn {
                    svm_id: svm.id.clone(),
                    record_tag: directory_tag(self.owner),
                    computer,
                    record,
                },
                "the alias is no longer desired: remove exactly the values fsxn-lattice added",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DirectoryConfig;
    use crate::directory::{AliasDnsState, ComputerState, DirectoryObserved, marker};
    use crate::model::EndpointState;
    use crate::observe::Observed;
    use crate::plan::tests_support::*;
    use crate::plan::{Plan, PlannedAction};

    const ALIAS: &str = "files.corp.example";
    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ad-bind-AbCdEf";

    /// The planner's world with `[directory]`, our available endpoint, and the directory as
    /// `computer` and `dns` say.
    fn dir_world(computer: Option<ComputerState>, dns: AliasDnsState) -> (crate::config::Config, Observed) {
        let (mut config, mut o) = world();
        config.directory = Some(DirectoryConfig::new("corp.example", SECRET));
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        o.directory = Some(DirectoryObserved {
            computers: [(("SVM1".to_string(), ALIAS.to_string()), computer)].into(),
            aliases: [(ALIAS.to_string(), dns)].into(),
        });
        (config, o)
    }

    fn carrying(values: &[SpnValue]) -> ComputerState {
        let mut c = ComputerState {
            dn: "CN=SVM1,CN=Computers,DC=corp,DC=example".into(),
            ..ComputerState::default()
        };
        for v in values {
            match v {
                SpnValue::AdditionalDnsHostName => c.additional_dns_host_names.push(v.value_for(ALIAS)),
                _ => c.spns.push(v.value_for(ALIAS).to_ascii_lowercase()),
            }
        }
        c
    }

    fn record(o: &mut Observed, r: &SpnRecord) {
        // The test config's owner is `t`.
        o.svms[0].tags.insert(directory_tag("t"), r.to_tag_value());
    }

    fn ours(o: &Observed, targets: &[&str]) -> AliasDnsState {
        AliasDnsState {
            cname_targets: targets.iter().map(|t| t.to_string()).collect(),
            markers: vec![marker("t", o.svms[0].id.as_str())],
            ..AliasDnsState::default()
        }
    }

    fn directory_actions(p: &Plan) -> Vec<&PlannedAction> {
        p.actions
            .iter()
            .filter(|a| crate::reconcile::Scope::Directory.allows(&a.action))
            .collect()
    }

    #[test]
    fn without_directory_settings_the_spn_stays_a_manual_step() {
        let (mut config, o) = dir_world(Some(carrying(&[])), AliasDnsState::default());
        config.directory = None;
        let p = planned(&config, &o);
        assert!(directory_actions(&p).is_empty(), "{:#?}", p.actions);
        assert_eq!(p.manual_steps.len(), 1);
        // With them, no manual step: the action does it.
        let (config, o) = dir_world(Some(carrying(&[])), AliasDnsState::default());
        let p = planned(&config, &o);
        assert!(p.manual_steps.is_empty(), "{:?}", p.manual_steps);
        // With them but no directory access in this run (a live run today): nothing planned,
        // said so, and the manual step stays, or nobody would do it.
        let mut o = o;
        o.directory = None;
        let p = planned(&config, &o);
        assert_eq!(p.manual_steps.len(), 1, "{:?}", p.manual_steps);
        assert!(directory_actions(&p).is_empty());
        assert!(
            p.warnings.iter().any(|w| w.contains("cannot reach the directory")),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn missing_values_are_registered_then_the_ad_alias_is_published_at_the_endpoint() {
        let (config, mut o) = dir_world(Some(carrying(&[])), AliasDnsState::default());
        let p = planned(&config, &o);
        let [a] = &directory_actions(&p)[..] else {
            panic!("{:#?}", p.actions)
        };
        let Action::RegisterSpn {
            computer,
            alias,
            previous,
            missing,
            ..
        } = &a.action
        else {
            panic!("{a:?}")
        };
        assert_eq!((computer.as_str(), alias.as_str()), ("SVM1", ALIAS));
        assert_eq!(previous, &SpnRecord::empty(ALIAS));
        assert_eq!(missing.len(), 3);
        assert!(a.why.contains("NTLMv2"), "{}", a.why);
        // Registered and recorded: the AD DNS CNAME follows, at the available endpoint.
        let mut all = SpnRecord::empty(ALIAS);
        all.added.extend(SpnValue::ALL);
        record(&mut o, &all);
        o.directory
            .as_mut()
            .unwrap()
            .computers
            .insert(("SVM1".into(), ALIAS.into()), Some(carrying(&SpnValue::ALL)));
        let p = planned(&config, &o);
        let [a] = &directory_actions(&p)[..] else {
            panic!("{:#?}", p.actions)
        };
        assert!(
            matches!(&a.action, Action::PublishDirectoryAlias { target, replaces: None, zone, owner, .. }
                if target == "vpce-0a.rcfg-1.x.on.aws" && zone == "corp.example" && owner == "t"),
            "{a:?}"
        );
        // Published: converged on the directory side.
        let dns = ours(&o, &["vpce-0a.rcfg-1.x.on.aws"]);
        o.directory.as_mut().unwrap().aliases.insert(ALIAS.into(), dns);
        assert!(directory_actions(&planned(&config, &o)).is_empty());
    }

    #[test]
    fn nothing_is_written_before_the_endpoint_is_available() {
        let (config, mut o) = dir_world(Some(carrying(&[])), AliasDnsState::default());
        o.endpoints.clear();
        let p = planned(&config, &o);
        assert!(directory_actions(&p).is_empty(), "{:#?}", p.actions);
        assert!(
            p.waiting.iter().any(|w| w.contains("SPNs of files.corp.example wait")),
            "{:?}",
            p.waiting
        );
    }

    #[test]
    fn a_value_held_by_another_account_is_refused_with_its_dn_and_nothing_is_written() {
        let mut c = carrying(&[SpnValue::AdditionalDnsHostName]);
        let holder = "CN=OLD-FILER,OU=Servers,DC=corp,DC=example";
        c.held_elsewhere.insert(SpnValue::HostShort, holder.into());
        let (config, o) = dir_world(Some(c), AliasDnsState::default());
        let p = planned(&config, &o);
        assert!(directory_actions(&p).is_empty(), "{:#?}", p.actions);
        let r = p
            .refusals
            .iter()
            .find(|r| r.kind == ErrorKind::Conflict)
            .expect("refused");
        assert!(
            r.reason.contains(holder) && r.reason.contains("HOST/FILES"),
            "{}",
            r.reason
        );
        // A missing computer object is refused too, by name.
        let (config, o) = dir_world(None, AliasDnsState::default());
        let p = planned(&config, &o);
        assert!(
            p.refusals
                .iter()
                .any(|r| r.kind == ErrorKind::NotFound && r.reason.contains("SVM1"))
        );
    }

    #[test]
    fn an_administrators_values_are_recorded_as_not_ours_and_never_removed() {
        // Every value is there already and nothing is recorded: an administrator's. The record
        // written says none is ours.
        let (config, mut o) = dir_world(Some(carrying(&SpnValue::ALL)), AliasDnsState::default());
        let p = planned(&config, &o);
        let [a] = &directory_actions(&p)[..] else {
            panic!("{:#?}", p.actions)
        };
        assert!(matches!(&a.action, Action::RegisterSpn { .. }) && a.why.contains("administrator"));
        // Opt-out with that (empty) record: the record goes, no value is named for removal.
        record(&mut o, &SpnRecord::empty(ALIAS));
        o.svms[0].tags.remove(crate::config::tag_keys::ALIAS);
        let p = planned(&config, &o);
        let unregister: Vec<&SpnRecord> = p
            .actions
            .iter()
            .filter_map(|a| match &a.action {
                Action::UnregisterSpn { record, .. } => Some(record),
                _ => None,
            })
            .collect();
        assert_eq!(unregister, [&SpnRecord::empty(ALIAS)]);
    }

    #[test]
    fn another_deployments_record_is_never_ours_to_remove() {
        // Owner `prod` registered SPNs for svm-1; this deployment (owner `t`) does not expose
        // it. Before the record's key named its owner, every pass of `t` removed prod's values.
        let (config, mut o) = dir_world(Some(carrying(&SpnValue::ALL)), AliasDnsState::default());
        let mut theirs = SpnRecord::empty(ALIAS);
        theirs.added.extend(SpnValue::ALL);
        o.svms[0]
            .tags
            .insert(crate::naming::directory_tag("prod"), theirs.to_tag_value());
        o.svms[0]
            .tags
            .insert(crate::config::tag_keys::EXPOSE.into(), "off".into());
        let p = planned(&config, &o);
        assert!(directory_actions(&p).is_empty(), "{:#?}", p.actions);
        // Ours, under our key, is withdrawn as before.
        record(&mut o, &theirs);
        let p = planned(&config, &o);
        assert!(
            directory_actions(&p)
                .iter()
                .any(|a| matches!(a.action, Action::UnregisterSpn { ref record_tag, .. } if record_tag == "fsxn-lattice:directory:t")),
            "{:#?}",
            p.actions
        );
    }

    #[test]
    fn opt_out_withdraws_our_ad_record_first_then_exactly_our_values() {
        let (config, mut o) = dir_world(Some(carrying(&SpnValue::ALL)), AliasDnsState::default());
        let mut ours_only = SpnRecord::empty(ALIAS);
        ours_only.added.extend([SpnValue::HostFqdn, SpnValue::HostShort]);
        record(&mut o, &ours_only);
        let dns = ours(&o, &["vpce-0a.rcfg-1.x.on.aws"]);
        o.directory.as_mut().unwrap().aliases.insert(ALIAS.into(), dns);
        o.svms[0]
            .tags
            .insert(crate::config::tag_keys::EXPOSE.into(), "off".into());
        let p = planned(&config, &o);
        let d = directory_actions(&p);
        assert!(
            matches!(
                &d[..],
                [
                    PlannedAction { action: Action::WithdrawDirectoryAlias { alias, .. }, .. },
                    PlannedAction { action: Action::UnregisterSpn { record, computer, .. }, .. },
                ] if alias == ALIAS && record == &ours_only && computer == "SVM1"
            ),
            "{d:#?}"
        );
        // Withdrawn before any teardown.
        let first_teardown = p.actions.iter().position(|a| a.action.is_teardown());
        assert!(first_teardown.is_none_or(|t| t > 1), "{:#?}", p.actions);
        // An AD record that is not ours is never withdrawn; our values still go.
        let foreign = AliasDnsState {
            cname_targets: vec!["elsewhere.corp.example".into()],
            ..AliasDnsState::default()
        };
        o.directory.as_mut().unwrap().aliases.insert(ALIAS.into(), foreign);
        let p = planned(&config, &o);
        let d = directory_actions(&p);
        assert!(
            matches!(
                &d[..],
                [PlannedAction {
                    action: Action::UnregisterSpn { .. },
                    ..
                }]
            ),
            "{d:#?}"
        );
    }

    #[test]
    fn the_old_endpoint_keeps_serving_until_the_ad_record_points_at_the_new_one() {
        use crate::model::{RecordSet, RecordType};
        use crate::naming::{ownership_txt_name, ownership_txt_value};
        let mut all = SpnRecord::empty(ALIAS);
        all.added.extend(SpnValue::ALL);
        let (config, mut o) = dir_world(Some(carrying(&SpnValue::ALL)), AliasDnsState::default());
        record(&mut o, &all);
        // The superseded endpoint (other subnets), still what AD DNS points at.
        our_endpoint(&mut o, "vpce-0b", EndpointState::Available);
        o.endpoints.last_mut().unwrap().subnet_ids = vec![id("subnet-c9")];
        let dns = ours(&o, &["vpce-0b.rcfg-1.x.on.aws"]);
        o.directory.as_mut().unwrap().aliases.insert(ALIAS.into(), dns);
        // Route 53 already points at the new one.
        let rec = |name: String, t: RecordType, v: String| RecordSet {
            name,
            record_type: t,
            ttl: 300,
            values: vec![v],
            routing: None,
        };
        o.records.insert(
            id("ZONE1"),
            vec![
                rec(ALIAS.into(), RecordType::CNAME, "vpce-0a.rcfg-1.x.on.aws".into()),
                rec(
                    ownership_txt_name(ALIAS),
                    RecordType::TXT,
                    ownership_txt_value("t", &id("svm-1"), "c"),
                ),
            ],
        );
        let deletes_old = |p: &Plan| {
            p.actions.iter().any(
                |a| matches!(&a.action, Action::DeleteVpcEndpoint { vpc_endpoint_id } if vpc_endpoint_id.as_str() == "vpce-0b"),
            )
        };
        let p = planned(&config, &o);
        assert!(
            directory_actions(&p).iter().any(|a| matches!(&a.action,
                Action::PublishDirectoryAlias { replaces: Some(old), .. } if old == "vpce-0b.rcfg-1.x.on.aws")),
            "{:#?}",
            p.actions
        );
        assert!(!deletes_old(&p), "{:#?}", p.actions);
        // Repointed: now the old endpoint goes.
        let dns = ours(&o, &["vpce-0a.rcfg-1.x.on.aws"]);
        o.directory.as_mut().unwrap().aliases.insert(ALIAS.into(), dns);
        let p = planned(&config, &o);
        assert!(deletes_old(&p), "{:#?}", p.actions);
    }

    #[test]
    fn heal_repoints_our_ad_record_and_a_foreign_one_is_refused() {
        let mut all = SpnRecord::empty(ALIAS);
        all.added.extend(SpnValue::ALL);
        let (config, mut o) = dir_world(Some(carrying(&SpnValue::ALL)), AliasDnsState::default());
        record(&mut o, &all);
        let dns = ours(&o, &["vpce-0old.on.aws"]);
        o.directory.as_mut().unwrap().aliases.insert(ALIAS.into(), dns);
        let p = planned(&config, &o);
        let d = directory_actions(&p);
        assert!(
            matches!(&d[..], [PlannedAction { action: Action::PublishDirectoryAlias { replaces: Some(old), target, .. }, why }]
                if old == "vpce-0old.on.aws" && target == "vpce-0a.rcfg-1.x.on.aws" && why.contains("repoint")),
            "{d:#?}"
        );
        // Someone else's record at the name (no marker of ours): refused, never overwritten.
        for foreign in [
            AliasDnsState {
                cname_targets: vec!["x.corp.example".into()],
                ..AliasDnsState::default()
            },
            AliasDnsState {
                other_types: vec!["A".into()],
                ..AliasDnsState::default()
            },
            AliasDnsState {
                cname_targets: vec!["x.corp.example".into()],
                markers: vec![marker("other", "svm-1")],
                ..AliasDnsState::default()
            },
        ] {
            o.directory
                .as_mut()
                .unwrap()
                .aliases
                .insert(ALIAS.into(), foreign.clone());
            let p = planned(&config, &o);
            assert!(directory_actions(&p).is_empty(), "{foreign:?}: {:#?}", p.actions);
            assert!(
                p.refusals
                    .iter()
                    .any(|r| r.kind == ErrorKind::Conflict && r.reason.contains("not ours")),
                "{foreign:?}: {:?}",
                p.refusals
            );
        }
    }
}
