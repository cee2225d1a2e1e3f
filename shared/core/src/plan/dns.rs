//! DNS: the alias CNAME of each exposure in each consumer's hosted zone, with the ownership TXT
//! that makes it ours; published with CREATE, repointed with DELETE + CREATE of exactly what was
//! read, withdrawn when no longer desired, and never written over a record that is not ours.
//! Also the step left to a person for the alias: its Kerberos SPNs.

use super::{Action, ManualStep, Planner};
use crate::config::DnsPolicy;
use crate::desired::{Exposure, Protocol};
use crate::error::ErrorKind;
use crate::ids::*;
use crate::model::*;
use crate::naming::*;
use std::collections::BTreeSet;

impl<'a> Planner<'a> {
    pub(super) fn plan_dns(&mut self) {
        let ttl = self.config.dns.ttl;
        let mut desired_names: BTreeSet<(HostedZoneId, String)> = BTreeSet::new();
        let exposures: Vec<&Exposure> = self.desired.exposures.values().collect();
        for e in exposures {
            let Some(alias) = &e.alias else { continue };
            if self.out.refusals.iter().any(|r| r.subject == e.svm_id.as_str()) {
                continue;
            }
            for cname in &e.consumers {
                let Some((zone_id, path)) = self.consumer_zone(cname) else {
                    continue;
                };
                desired_names.insert((zone_id.clone(), alias.clone()));
                // A consumer in an account that cannot be read is refused and held: its zone
                // was not read, which says nothing about the zone (nor about the SVM).
                if self
                    .config
                    .consumer(cname)
                    .and_then(|c| c.account.as_ref())
                    .is_some_and(|a| self.account_unreadable(a).is_some())
                {
                    continue;
                }
                let Some(zone) = self.obs.hosted_zones.iter().find(|z| z.id == zone_id) else {
                    self.refuse(
                        e.svm_id.to_string(),
                        ErrorKind::NotFound,
                        format!("hosted zone {zone_id} of consumer {cname} not found"),
                    );
                    continue;
                };
                if alias == &zone.name || !alias.ends_with(&format!(".{}", zone.name)) {
                    self.refuse(e.svm_id.to_string(), ErrorKind::InvalidInput, format!(
                        "alias {alias} must be a name below the zone {} ({zone_id}): a CNAME cannot sit at the apex or outside the zone",
                        zone.name
                    ));
                    continue;
                }
                let txt_name = ownership_txt_name(alias);
                let txt_value = ownership_txt_value(self.owner, &e.svm_id, cname);
                let at_name: Vec<&RecordSet> = self.records_named(&zone_id, alias).to_vec();
                let txt = self
                    .records_named(&zone_id, &txt_name)
                    .iter()
                    .copied()
                    .find(|r| r.record_type == RecordType::TXT);
                let owned = txt.is_some_and(|t| {
                    t.values.iter().any(|v| {
                        parse_ownership_txt(v)
                            .is_some_and(|(o, s, c)| o == self.owner && s == e.svm_id.as_str() && &c == cname)
                    })
                });
                if let Some(other) = at_name
                    .iter()
                    .find(|r| r.record_type != RecordType::CNAME || r.routing.is_some())
                {
                    self.refuse(e.svm_id.to_string(), ErrorKind::Conflict, format!(
                        "{alias} already has a {:?} record{} in {zone_id}: a CNAME of ours cannot share its name; the record is not ours and is left alone",
                        other.record_type,
                        other.routing.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                    ));
                    continue;
                }
                let cname_rec = at_name.first();
                if (cname_rec.is_some() || txt.is_some()) && !owned {
                    self.refuse(e.svm_id.to_string(), ErrorKind::Conflict, format!(
                        "{alias} exists in {zone_id} without our ownership record ({txt_name}): it is not ours and is not overwritten"
                    ));
                    continue;
                }
                let Some(target) = self.targets.get(&(e.svm_id.clone(), cname.clone())).cloned() else {
                    if cname_rec.is_none() {
                        self.wait(format!("alias {alias} waits for {path} to become available"));
                    }
                    continue;
                };
                let want = RecordSet {
                    name: alias.clone(),
                    record_type: RecordType::CNAME,
                    ttl,
                    values: vec![target.clone()],
                    routing: None,
                };
                let want_txt = RecordSet {
                    name: txt_name,
                    record_type: RecordType::TXT,
                    ttl,
                    values: vec![txt_value],
                    routing: None,
                };
                if cname_rec.map(|r| (*r).clone()) != Some(want.clone()) || txt.cloned() != Some(want_txt.clone()) {
                    let why = match cname_rec {
                        Some(r) => format!("repoint from {} to the current endpoint", r.values.join(",")),
                        None => format!("publish the alias for Kerberos: clients use {alias}"),
                    };
                    // CREATE what is new and DELETE + CREATE (of the exact records read) what
                    // changes, in one batch: if anyone wrote at the name since it was read, the
                    // batch fails whole and the next pass sees their record — never clobbered.
                    let replaces_txt = txt.filter(|t| **t != want_txt).cloned();
                    let keep_txt = txt.is_some() && replaces_txt.is_none();
                    self.push(
                        Action::PublishAlias {
                            hosted_zone_id: zone_id.clone(),
                            replaces_cname: cname_rec.map(|r| (*r).clone()).filter(|r| *r != want),
                            cname: want,
                            replaces_txt,
                            txt: (!keep_txt).then_some(want_txt),
                            account: self.zone_account(&zone_id),
                        },
                        why,
                    );
                }
            }
        }
        // Withdraw our aliases that are no longer desired.
        // Every zone observed: the configured ones and those our endpoints remember (a consumer
        // removed from the config leaves its aliases to withdraw).
        let zones: BTreeSet<HostedZoneId> = self.obs.hosted_zones.iter().map(|z| z.id.clone()).collect();
        for zone_id in zones {
            let records = self.obs.records.get(&zone_id).map(Vec::as_slice).unwrap_or(&[]);
            for txt in records.iter().filter(|r| r.record_type == RecordType::TXT) {
                let Some(alias) = txt.name.strip_prefix(&format!("{OWNERSHIP_TXT_LABEL}.")) else {
                    continue;
                };
                // In a consumer account's zone, our owner value is not enough: stacks of other
                // storage accounts may use it too. The SVM must be one of ours.
                let remote = self.zone_account(&zone_id).is_some();
                let ours = txt.values.iter().any(|v| {
                    parse_ownership_txt(v).is_some_and(|(o, s, _)| o == self.owner && (!remote || self.svm_known(&s)))
                });
                if !ours || desired_names.contains(&(zone_id.clone(), alias.to_string())) {
                    continue;
                }
                let svm_held = txt
                    .values
                    .iter()
                    .filter_map(|v| parse_ownership_txt(v))
                    .any(|(_, s, _)| self.desired.held.iter().any(|h| h.as_str() == s));
                if svm_held {
                    continue;
                }
                if self.config.dns.policy == DnsPolicy::UpsertOnly {
                    self.out.warnings.push(format!(
                        "{alias} in {zone_id} is ours and no longer desired; dns.policy = upsert-only leaves it"
                    ));
                    continue;
                }
                let cname = records
                    .iter()
                    .find(|r| r.name == alias && r.record_type == RecordType::CNAME)
                    .cloned();
                self.push(
                    Action::DeleteAlias {
                        hosted_zone_id: zone_id.clone(),
                        cname,
                        txt: txt.clone(),
                        account: self.zone_account(&zone_id),
                    },
                    "the alias is no longer desired",
                );
            }
        }
    }

    /// Whether `svm` is one of ours: an SVM of our file systems, or named by one of our
    /// configurations (which outlive a deleted SVM until they are cleaned up).
    fn svm_known(&self, svm: &str) -> bool {
        self.obs.svms.iter().any(|s| s.id.as_str() == svm)
            || self
                .obs
                .configurations
                .iter()
                .any(|c| self.owned(&c.tags) && c.tags.get(SVM_TAG).map(String::as_str) == Some(svm))
    }

    /// The hosted zone of consumer `name` (of either kind), if it has one, and what its alias
    /// points at, for messages (`the endpoint in vpc-…`, `the association with sn-…`).
    pub(super) fn consumer_zone(&self, name: &str) -> Option<(HostedZoneId, String)> {
        if let Some(c) = self.config.consumer(name) {
            return c
                .hosted_zone_id
                .clone()
                .map(|z| (z, format!("the endpoint in {}", c.vpc_id)));
        }
        let c = self.config.service_network_consumer(name)?;
        c.hosted_zone_id
            .clone()
            .map(|z| (z, format!("the association with {}", c.service_network_id())))
    }

    /// The account `zone` was read in (`None`: the stack's own).
    fn zone_account(&self, zone: &HostedZoneId) -> Option<AccountId> {
        self.obs
            .hosted_zones
            .iter()
            .find(|z| &z.id == zone)
            .and_then(|z| z.account.clone())
    }

    /// Records of `zone` named `name`.
    fn records_named(&self, zone: &HostedZoneId, name: &str) -> &[&'a RecordSet] {
        self.records_by_name
            .get(zone)
            .and_then(|z| z.get(name))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether the alias (if any) for this pair already points at the current target.
    pub(super) fn alias_settled(&self, (svm, consumer): &(SvmId, String)) -> bool {
        let Some(target) = self.targets.get(&(svm.clone(), consumer.clone())) else {
            return false;
        };
        let Some(alias) = self.desired.exposures.get(svm).and_then(|e| e.alias.as_ref()) else {
            return true;
        };
        let Some((zone, _)) = self.consumer_zone(consumer) else {
            return true;
        };
        let zone = &zone;
        self.obs.records.get(zone).is_some_and(|rs| {
            rs.iter()
                .any(|r| r.name == *alias && r.record_type == RecordType::CNAME && r.values == [target.clone()])
        })
    }

    pub(super) fn plan_manual_steps(&mut self) {
        if self.config.directory.is_some() {
            // This run does the step itself (`plan/directory.rs`), or the Directory function
            // does (deployed with `[directory]`): nothing is left to a person.
            return;
        }
        for e in self.desired.exposures.values() {
            let (Some(alias), true) = (&e.alias, e.protocols.contains(&Protocol::Smb)) else {
                continue;
            };
            let computer = e
                .smb_computer_name
                .clone()
                .unwrap_or_else(|| e.svm_name.to_ascii_uppercase());
            self.out.manual_steps.push(ManualStep {
                subject: e.svm_id.to_string(),
                instruction: format!(
                    "Kerberos for \\\\{alias}: add the alias to the SVM's AD computer object so AD registers HOST/ and cifs/ SPNs for it: Set-ADComputer -Identity {computer} -Add @{{\"msDS-AdditionalDnsHostname\"=\"{alias}\"}}; check with: setspn -Q cifs/{alias} (exactly one object must hold it: duplicate SPNs break Kerberos). Without it SMB falls back to NTLMv2."
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tag_keys;
    use crate::plan::Plan;
    use crate::plan::tests_support::*;

    fn published(p: &Plan) -> Vec<&Action> {
        p.actions
            .iter()
            .map(|a| &a.action)
            .filter(|a| matches!(a, Action::PublishAlias { .. }))
            .collect()
    }

    #[test]
    fn a_new_alias_is_created_never_upserted_and_ours_is_replaced_exactly() {
        let (config, mut o) = world();
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        let p = planned(&config, &o);
        let [
            Action::PublishAlias {
                cname,
                replaces_cname: None,
                txt: Some(txt),
                replaces_txt: None,
                ..
            },
        ] = published(&p)[..]
        else {
            panic!("{:#?}", p.actions)
        };
        assert_eq!(cname.values, ["vpce-0a.rcfg-1.x.on.aws"]);
        // Ours, pointing at an old endpoint: DELETE of exactly what was read + CREATE; the
        // ownership TXT is right already and is not rewritten.
        let old = record("files.corp.example", RecordType::CNAME, "vpce-0old.on.aws", None);
        o.records.insert(id("ZONE1"), vec![old.clone(), txt.clone()]);
        let p = planned(&config, &o);
        let [
            Action::PublishAlias {
                replaces_cname: Some(r),
                txt: None,
                ..
            },
        ] = published(&p)[..]
        else {
            panic!("{:#?}", p.actions)
        };
        assert_eq!(r, &old);
    }

    #[test]
    fn alias_weighted_and_other_type_records_at_the_name_are_foreign() {
        for (t, routing) in [
            (RecordType::CNAME, Some("set identifier blue")),
            (RecordType::A, Some("alias to x.elb.amazonaws.com.")),
            (RecordType::Other, None),
        ] {
            let (config, mut o) = world();
            with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
            our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
            o.records
                .insert(id("ZONE1"), vec![record("files.corp.example", t, "x", routing)]);
            let p = planned(&config, &o);
            assert!(published(&p).is_empty(), "{t:?} {routing:?}: {:#?}", p.actions);
            let r = p
                .refusals
                .iter()
                .find(|r| r.kind == ErrorKind::Conflict)
                .expect("refused");
            assert!(r.reason.contains("not ours"), "{}", r.reason);
            if let Some(routing) = routing {
                assert!(r.reason.contains(routing), "{}", r.reason);
            }
        }
    }

    #[test]
    fn an_alias_at_the_zone_apex_or_outside_the_zone_is_refused() {
        for alias in ["corp.example", "files.other.example"] {
            let (config, mut o) = world();
            o.svms[0].tags.insert(tag_keys::ALIAS.into(), alias.into());
            let gw = ResourceGateway {
                id: id("rgw-1"),
                arn: "arn:gw".into(),
                name: "fsxnl-1-g1".into(),
                vpc_id: id("vpc-1"),
                subnet_ids: vec![id("subnet-a2")],
                security_group_ids: vec![id("sg-1")],
                ipv4_addresses_per_eni: 16,
                status: GatewayStatus::Active,
                tags: [
                    (OWNER_TAG.into(), "t".into()),
                    (FILE_SYSTEM_TAG.into(), "fs-1".into()),
                    (GENERATION_TAG.into(), "1".into()),
                ]
                .into(),
            };
            o.gateways.push(gw);
            let p = planned(&config, &o);
            assert!(
                p.refusals
                    .iter()
                    .any(|r| r.reason.contains("cannot sit at the apex or outside the zone")),
                "{alias}: {:?}",
                p.refusals
            );
        }
    }
}
