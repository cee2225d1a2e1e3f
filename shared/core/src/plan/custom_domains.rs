//! Custom domain names: the alias as the VPC Lattice custom domain name of an SVM's
//! configuration, answered in a custom-domain consumer's VPC by its endpoint's private DNS
//! (`alias_mode = "custom-domain"`), and the `[[custom_domains]]` verifications: started,
//! their TXT record published in our zone (or left to a person), withdrawn and deleted once
//! nothing uses them. Facts and sources: docs/design.md §12.

use super::{Action, ManualStep, Planner};
use crate::config::{AliasMode, CustomDomain};
use crate::desired::Exposure;
use crate::ids::*;
use crate::model::*;
use crate::naming::*;

/// A `[[custom_domains]]` verification not `VERIFIED` yet (pending, or not started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pending;

/// The [`HOSTED_ZONE_TAG`] value of `entry`'s verification: its zone, `""` without one.
fn zone_tag_of(entry: &CustomDomain) -> String {
    entry.hosted_zone_id.as_ref().map(|z| z.to_string()).unwrap_or_default()
}

/// Whether two private DNS options are the same (preference case-insensitively, domains as
/// names).
pub(super) fn same_private_dns(a: &PrivateDns, b: &PrivateDns) -> bool {
    let norm = |p: &PrivateDns| {
        let mut d: Vec<String> = p.specified_domains.iter().map(|d| normalize_dns_name(d)).collect();
        d.sort();
        d.dedup();
        (p.preference.as_deref().map(str::to_ascii_uppercase), d)
    };
    norm(a) == norm(b)
}

impl<'a> Planner<'a> {
    /// The custom domain name `e`'s configuration carries: its alias, when one of its consumers
    /// answers the alias through private DNS.
    pub(super) fn custom_domain_of(&self, e: &Exposure) -> Option<String> {
        let alias = e.alias.as_ref()?;
        e.consumers
            .iter()
            .filter_map(|c| self.config.consumer(c))
            .any(|c| c.alias_mode == AliasMode::CustomDomain)
            .then(|| normalize_dns_name(alias))
    }

    /// The private DNS options `consumer`'s endpoint for `svm` must have: exactly the alias for
    /// a custom-domain consumer of an SVM with an alias; otherwise none asked for.
    pub(super) fn wanted_private_dns(&self, svm: &SvmId, consumer: &str) -> PrivateDns {
        let custom = self
            .config
            .consumer(consumer)
            .is_some_and(|c| c.alias_mode == AliasMode::CustomDomain);
        match self.desired.exposures.get(svm).and_then(|e| e.alias.as_ref()) {
            Some(alias) if custom => PrivateDns::for_alias(alias),
            _ => PrivateDns::default(),
        }
    }

    /// Our verifications of `domain` (normalized), the one to keep first: verified, then
    /// pending, then the rest; by id within each.
    fn verifications_of(&self, domain: &str) -> Vec<&'a DomainVerification> {
        let mut v: Vec<&DomainVerification> = self
            .obs
            .domain_verifications
            .iter()
            .filter(|v| self.owned(&v.tags) && v.domain_name == domain)
            .collect();
        let rank = |s: VerificationStatus| match s {
            VerificationStatus::Verified => 0,
            VerificationStatus::Pending => 1,
            _ => 2,
        };
        v.sort_by(|a, b| rank(a.status).cmp(&rank(b.status)).then(a.id.cmp(&b.id)));
        v
    }

    /// Our verifications of `entry`'s domain that can be kept: only those whose zone tag is the
    /// configured zone. With another (the zone changed), the TXT could not be found to withdraw
    /// later, so a new one is started, and the old one is withdrawn from the zone its tag names.
    fn verifications_for_entry(&self, entry: &CustomDomain) -> Vec<&'a DomainVerification> {
        let zone_tag = zone_tag_of(entry);
        self.verifications_of(&normalize_dns_name(&entry.domain))
            .into_iter()
            .filter(|v| v.tags.get(HOSTED_ZONE_TAG).map(String::as_str).unwrap_or("") == zone_tag)
            .collect()
    }

    /// The verification a configuration with custom domain `name` is created with: `Ok(None)`
    /// when no `[[custom_domains]]` entry covers it (or ours timed out: the endpoints answer the
    /// alias they specify all the same), `Ok(Some(id))` once verified, `Err(Pending)` while
    /// pending or not started (then a configuration without it serves, and is replaced once
    /// verified; the wait, if any, is `plan_custom_domains`'s).
    pub(super) fn verification_for(&self, name: &str) -> Result<Option<String>, Pending> {
        let Some(entry) = self.config.custom_domain_for(name) else {
            return Ok(None);
        };
        match self.verifications_for_entry(entry).first() {
            Some(v) if v.status == VerificationStatus::Verified => Ok(Some(v.id.clone())),
            Some(v) if v.status != VerificationStatus::Pending => Ok(None),
            _ => Err(Pending),
        }
    }

    /// Whether `ep`'s private DNS answers `alias` in its VPC now (its configuration's custom
    /// domain, as its options and the verification decide).
    pub(super) fn answers_in_vpc(&self, ep: &VpcEndpoint, alias: &str) -> bool {
        if !ep.private_dns_enabled {
            return false;
        }
        let Some(cfg) = self
            .obs
            .configurations
            .iter()
            .find(|c| c.arn == ep.resource_configuration_arn)
        else {
            return false;
        };
        self.answered_by(cfg, &ep.private_dns) == Some(normalize_dns_name(alias))
    }

    /// The custom domain of `cfg` that an endpoint with `dns` (and private DNS on) answers, if
    /// any.
    pub(super) fn answered_by(&self, cfg: &ResourceConfiguration, dns: &PrivateDns) -> Option<String> {
        let domain = cfg.custom_domain_name.as_deref().map(normalize_dns_name)?;
        // A verification we cannot see (another account's configuration) counts as verified:
        // the cautious side, never two endpoints for one name.
        let verified = cfg.domain_verification_id.as_ref().is_some_and(|id| {
            self.obs
                .domain_verifications
                .iter()
                .find(|v| &v.id == id)
                .is_none_or(|v| v.status == VerificationStatus::Verified)
        });
        dns.answers(&domain, verified).then_some(domain)
    }

    pub(super) fn plan_custom_domains(&mut self) {
        let mut kept: Vec<String> = Vec::new();
        for entry in &self.config.custom_domains {
            let domain = normalize_dns_name(&entry.domain);
            let zone_tag = zone_tag_of(entry);
            let ours = self.verifications_for_entry(entry);
            let live = ours
                .iter()
                .find(|v| matches!(v.status, VerificationStatus::Verified | VerificationStatus::Pending));
            let Some(v) = live else {
                if let Some(t) = ours.first() {
                    self.out.warnings.push(format!(
                        "domain verification {} of {domain} is {:?}: a new one is started (its TXT record must be resolvable in public DNS)",
                        t.id, t.status
                    ));
                }
                self.push(
                    Action::StartDomainVerification {
                        domain_name: domain.clone(),
                        client_token: client_token(&[
                            "domain-verification",
                            self.owner,
                            &domain,
                            &zone_tag,
                            &ours.iter().map(|v| v.id.as_str()).collect::<Vec<_>>().join(","),
                        ]),
                        tags: self.tags(&[(HOSTED_ZONE_TAG, zone_tag.clone())]),
                    },
                    format!("custom domain names in {domain} are verified through it"),
                );
                continue;
            };
            kept.push(v.id.clone());
            if v.status == VerificationStatus::Verified {
                continue;
            }
            let (Some(name), Some(value)) = (&v.txt_name, &v.txt_value) else {
                self.wait(format!(
                    "domain verification {} of {domain} has no TXT record yet",
                    v.id
                ));
                continue;
            };
            let record = RecordSet {
                name: normalize_dns_name(name),
                record_type: RecordType::TXT,
                ttl: self.config.dns.ttl,
                values: vec![format!("\"{value}\"")],
                routing: None,
            };
            let Some(zone) = &entry.hosted_zone_id else {
                self.out.manual_steps.push(ManualStep {
                    subject: format!("domain {domain}"),
                    instruction: format!(
                        "Publish the VPC Lattice domain verification {} in public DNS: TXT {} \"{value}\"; until it is verified, configurations of aliases in {domain} are not created",
                        v.id, record.name
                    ),
                });
                continue;
            };
            self.publish_verification_txt(zone, record, &domain);
        }
        // Ours no longer kept (domain removed, duplicate, timed out): the TXT first, then the
        // verification, once no configuration uses it.
        let stale: Vec<&'a DomainVerification> = self
            .obs
            .domain_verifications
            .iter()
            .filter(|v| self.owned(&v.tags) && !kept.contains(&v.id))
            .collect();
        for v in stale {
            if let Some(c) = self
                .obs
                .configurations
                .iter()
                .find(|c| c.domain_verification_id.as_ref() == Some(&v.id))
            {
                self.wait(format!(
                    "domain verification {} ({}) is kept while {} uses it",
                    v.id, v.domain_name, c.id
                ));
                continue;
            }
            let zone = v
                .tags
                .get(HOSTED_ZONE_TAG)
                .and_then(|z| HostedZoneId::parse(z.as_str()).ok());
            let txt = zone.as_ref().and_then(|z| {
                let (name, value) = (v.txt_name.as_deref()?, v.txt_value.as_deref()?);
                let want = vec![format!("\"{value}\"")];
                self.obs.records.get(z)?.iter().find(|r| {
                    r.record_type == RecordType::TXT && r.name == normalize_dns_name(name) && r.values == want
                })
            });
            let upsert_only = self.config.dns.policy == crate::config::DnsPolicy::UpsertOnly;
            match (zone, txt) {
                (Some(zone), Some(record)) if !upsert_only => self.push(
                    Action::DeleteVerificationTxt {
                        hosted_zone_id: zone,
                        record: record.clone(),
                    },
                    format!("domain verification {} ({}) is no longer needed", v.id, v.domain_name),
                ),
                found => {
                    if let (Some(zone), Some(_)) = found {
                        self.out.warnings.push(format!(
                            "the TXT record of domain verification {} ({}) is left in {zone} (dns.policy = \"upsert-only\"); the verification is deleted",
                            v.id, v.domain_name
                        ));
                    }
                    self.push(
                        Action::DeleteDomainVerification {
                            verification_id: v.id.clone(),
                            domain_name: v.domain_name.clone(),
                        },
                        "its domain is no longer configured, or another verification of it is kept",
                    );
                }
            }
        }
    }

    /// CREATE the verification's TXT in `zone`, unless it is there: never over a record that is
    /// not exactly ours.
    fn publish_verification_txt(&mut self, zone: &HostedZoneId, record: RecordSet, domain: &str) {
        let Some(hz) = self.obs.hosted_zones.iter().find(|z| &z.id == zone) else {
            self.refuse(
                format!("domain {domain}"),
                crate::error::ErrorKind::NotFound,
                format!("hosted zone {zone} (custom_domains) was not found"),
            );
            return;
        };
        let zone_name = normalize_dns_name(&hz.name);
        if !(record.name == zone_name || record.name.ends_with(&format!(".{zone_name}"))) {
            self.refuse(
                format!("domain {domain}"),
                crate::error::ErrorKind::InvalidInput,
                format!(
                    "the verification's TXT record {} is not in hosted zone {zone} ({zone_name})",
                    record.name
                ),
            );
            return;
        }
        if hz.private {
            self.out.warnings.push(format!(
                "hosted zone {zone} ({zone_name}) is private: VPC Lattice looks for the verification of {domain} in public DNS (UNCONFIRMED), so it may never be verified"
            ));
        }
        let existing: Vec<&RecordSet> = self
            .obs
            .records
            .get(zone)
            .map(|rs| rs.iter().filter(|r| r.name == record.name).collect())
            .unwrap_or_default();
        match existing.as_slice() {
            [] => self.push(
                Action::PublishVerificationTxt {
                    hosted_zone_id: zone.clone(),
                    record,
                },
                format!("VPC Lattice verifies {domain} by this record"),
            ),
            [r] if r.record_type == RecordType::TXT && r.values == record.values => {
                // Published: what is left is AWS's (the DNS step did its part).
                self.wait(format!(
                    "the verification of {domain} is pending until VPC Lattice sees its TXT record {}",
                    record.name
                ));
            }
            _ => self.refuse(
                format!("domain {domain}"),
                crate::error::ErrorKind::Conflict,
                format!(
                    "{} in {zone} holds a record that is not our verification's: it is left alone; remove it to have ours published",
                    record.name
                ),
            ),
        }
    }
}
