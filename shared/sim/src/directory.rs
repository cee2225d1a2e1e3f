//! Active Directory: one domain with its computer accounts (`servicePrincipalName`,
//! `msDS-AdditionalDnsHostName`) and its AD-integrated DNS zone (the [`Directory`] port), the
//! SVM tag write that keeps the SPN record ([`SvmTagWrite`]), and what clients see: a domain
//! member's DNS answer and whether the KDC issues a Kerberos ticket for a name
//! ([`SimCloud::kerberos_for`]).
//!
//! What it models, as Samba and Windows DCs behave (shared/directory/tests/samba.rs runs the real
//! thing): SPN and host name values match case-insensitively; a value another account holds is
//! refused on write (a duplicate SPN breaks Kerberos for both), `cifs/<name>` counting against
//! `HOST/<name>`, which the KDC maps it onto; a name in the zone holds records of one kind
//! (a CNAME shares its name with nothing); every account has its own objectGUID, so one deleted
//! and re-created under the same name ([`SimCloud::remove_ad_computer`]) is another object.
//! Faults come from the same `enter` as every port call.

use crate::SimCloud;
use crate::world::{CloudState, err};
use async_trait::async_trait;
use fsxn_lattice_core::directory::*;
use fsxn_lattice_core::error::{CloudError, ErrorKind};
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::normalize_dns_name;
use fsxn_lattice_core::naming::OWNERSHIP_TXT_LABEL;
use fsxn_lattice_core::ports::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One computer (or user) account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Account {
    pub(crate) dn: String,
    /// objectGUID, in AD's display form.
    pub(crate) guid: String,
    /// `dNSHostName` (lower case), as a domain join sets it.
    pub(crate) dns_host_name: Option<String>,
    pub(crate) spns: Vec<String>,
    pub(crate) additional: Vec<String>,
}

/// A record in the AD-integrated zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdRecord {
    /// CNAME to a name.
    Cname(String),
    /// TXT string.
    Txt(String),
    /// A record.
    A(std::net::Ipv4Addr),
}

/// The domain.
#[derive(Debug, Clone, Default)]
pub(crate) struct AdState {
    /// The domain's DNS name; empty: no domain.
    pub(crate) domain: String,
    /// Accounts by `sAMAccountName` without `$`, upper case.
    pub(crate) accounts: BTreeMap<String, Account>,
    /// Nodes of the zone (the domain's) by FQDN: each record with its TTL.
    pub(crate) nodes: BTreeMap<String, Vec<(AdRecord, u32)>>,
    /// objectGUIDs handed out so far: the next account's is made from it, so a run replays.
    pub(crate) guids_issued: u64,
}

/// The TTL of a record an administrator adds ([`SimCloud::add_ad_record`]): what DNS Manager
/// gives a new record, the zone's default TTL (its SOA minimum), an hour unless changed.
pub const ADMIN_RECORD_TTL: u32 = 3600;

fn base_dn(domain: &str) -> String {
    domain
        .split('.')
        .map(|l| format!("DC={l}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The value `v` of `alias` and every form that collides with it (`cifs/<name>` against `HOST/<name>`).
fn collides(v: SpnValue, alias: &str, present: &str) -> bool {
    let want = v.value_for(alias);
    if present.eq_ignore_ascii_case(&want) {
        return true;
    }
    match want.split_once('/') {
        Some(("HOST", name)) => present
            .split_once('/')
            .is_some_and(|(svc, n)| svc.eq_ignore_ascii_case("cifs") && n.eq_ignore_ascii_case(name)),
        _ => false,
    }
}

impl AdState {
    fn has(a: &Account, v: SpnValue, alias: &str) -> bool {
        let list = if v.attribute() == ATTR_SPN {
            &a.spns
        } else {
            &a.additional
        };
        list.iter().any(|x| x.eq_ignore_ascii_case(&v.value_for(alias)))
    }

    /// The DN of another account than `except` holding `v` of `alias`: a host name counts as
    /// held in another account's `dNSHostName` too, as the LDAP side searches it.
    fn holder(&self, v: SpnValue, alias: &str, except: &str) -> Option<String> {
        self.accounts
            .iter()
            .filter(|(name, _)| name.as_str() != except)
            .find(|(_, a)| {
                if v.attribute() == ATTR_SPN {
                    a.spns.iter().any(|x| collides(v, alias, x))
                } else {
                    a.additional
                        .iter()
                        .chain(&a.dns_host_name)
                        .any(|x| collides(v, alias, x))
                }
            })
            .map(|(_, a)| a.dn.clone())
    }

    /// The name (`sAMAccountName` without `$`) of the account whose objectGUID is `guid`.
    fn by_guid(&self, guid: &str) -> Option<String> {
        self.accounts
            .iter()
            .find(|(_, a)| a.guid.eq_ignore_ascii_case(guid))
            .map(|(name, _)| name.clone())
    }

    fn state(&self, name: &str, alias: &str) -> Option<ComputerState> {
        let a = self.accounts.get(name)?;
        Some(ComputerState {
            dn: a.dn.clone(),
            guid: a.guid.clone(),
            dns_host_name: a.dns_host_name.clone(),
            spns: a.spns.clone(),
            additional_dns_host_names: a.additional.clone(),
            held_elsewhere: SpnValue::ALL
                .into_iter()
                .filter(|v| !Self::has(a, *v, alias))
                .filter_map(|v| self.holder(v, alias, name).map(|h| (v, h)))
                .collect(),
        })
    }

    fn alias_state(&self, alias: &str) -> AliasDnsState {
        let mut s = AliasDnsState::default();
        for (r, ttl) in self.nodes.get(alias).into_iter().flatten() {
            match r {
                AdRecord::Cname(t) => {
                    s.cname_targets.push(t.clone());
                    s.ttl = s.ttl.or(Some(*ttl));
                }
                AdRecord::Txt(_) => s.other_types.push("TXT".into()),
                AdRecord::A(_) => s.other_types.push("A".into()),
            }
        }
        s.other_types.dedup();
        for (r, _) in self.nodes.get(&marker_name(alias)).into_iter().flatten() {
            if let AdRecord::Txt(t) = r {
                s.markers.push(t.clone());
            }
        }
        s
    }
}

fn marker_name(alias: &str) -> String {
    format!("{OWNERSHIP_TXT_LABEL}.{alias}")
}

impl SimCloud {
    /// Creates the AD domain (its zone has the domain's name).
    pub fn add_ad_domain(&self, domain: &str) {
        self.w().ad.domain = normalize_dns_name(domain);
    }

    /// Adds a computer account `<NAME>$` in `CN=Computers` (its own `HOST/` SPNs and
    /// `dNSHostName` included, as a domain join writes them) with a new objectGUID. Returns its
    /// DN.
    pub fn add_ad_computer(&self, netbios: &str) -> String {
        let mut w = self.w();
        let domain = w.ad.domain.clone();
        let name = computer_name(netbios);
        let dn = format!("CN={name},CN=Computers,{}", base_dn(&domain));
        w.ad.guids_issued += 1;
        let n = w.ad.guids_issued;
        w.ad.accounts.insert(
            name.clone(),
            Account {
                dn: dn.clone(),
                guid: format!("5a4d0000-0000-4000-8000-{n:012x}"),
                dns_host_name: Some(format!("{}.{domain}", name.to_ascii_lowercase())),
                spns: vec![
                    format!("HOST/{name}"),
                    format!("HOST/{}.{domain}", name.to_ascii_lowercase()),
                ],
                additional: Vec::new(),
            },
        );
        dn
    }

    /// Deletes the account `<NAME>$` as an administrator would (`Remove-ADComputer`): its values
    /// go with it, and an account added again under the name is another object.
    pub fn remove_ad_computer(&self, netbios: &str) {
        self.w().ad.accounts.remove(&computer_name(netbios));
    }

    /// An account's objectGUID.
    pub fn ad_guid(&self, netbios: &str) -> Option<String> {
        self.w()
            .ad
            .accounts
            .get(&computer_name(netbios))
            .map(|a| a.guid.clone())
    }

    /// Sets a value on an account as an administrator would (`setspn -S`, `Set-ADComputer`),
    /// with no check: a duplicate made so is the administrator's.
    pub fn set_ad_value(&self, netbios: &str, attribute: &str, value: &str) {
        let mut w = self.w();
        if let Some(a) = w.ad.accounts.get_mut(&computer_name(netbios)) {
            if attribute == ATTR_SPN {
                a.spns.push(value.to_string());
            } else {
                a.additional.push(value.to_string());
            }
        }
    }

    /// An account's `(servicePrincipalName, msDS-AdditionalDnsHostName)` values.
    pub fn ad_values(&self, netbios: &str) -> Option<(Vec<String>, Vec<String>)> {
        let w = self.w();
        w.ad.accounts
            .get(&computer_name(netbios))
            .map(|a| (a.spns.clone(), a.additional.clone()))
    }

    /// Adds a record to the AD zone as an administrator would (DNS Manager), with
    /// [`ADMIN_RECORD_TTL`].
    pub fn add_ad_record(&self, name: &str, record: AdRecord) {
        self.w()
            .ad
            .nodes
            .entry(normalize_dns_name(name))
            .or_default()
            .push((record, ADMIN_RECORD_TTL));
    }

    /// Every record of the AD zone, by name, in name order: `(name, record, ttl)`.
    pub fn ad_zone(&self) -> Vec<(String, AdRecord, u32)> {
        let w = self.w();
        w.ad.nodes
            .iter()
            .flat_map(|(n, rs)| rs.iter().map(move |(r, t)| (n.clone(), r.clone(), *t)))
            .collect()
    }

    /// Every computer account: `(NAME, dn, servicePrincipalName, msDS-AdditionalDnsHostName)`.
    pub fn ad_accounts(&self) -> Vec<(String, String, Vec<String>, Vec<String>)> {
        let w = self.w();
        w.ad.accounts
            .iter()
            .map(|(n, a)| (n.clone(), a.dn.clone(), a.spns.clone(), a.additional.clone()))
            .collect()
    }

    /// The records at `name` in the AD zone.
    pub fn ad_records(&self, name: &str) -> Vec<AdRecord> {
        self.ad_records_with_ttl(name).into_iter().map(|(r, _)| r).collect()
    }

    /// The records at `name` in the AD zone, each with its TTL (what a resolver is told).
    pub fn ad_records_with_ttl(&self, name: &str) -> Vec<(AdRecord, u32)> {
        self.w()
            .ad
            .nodes
            .get(&normalize_dns_name(name))
            .cloned()
            .unwrap_or_default()
    }

    /// What a domain member's resolver answers for `name`: AD DNS, following its CNAMEs, then an
    /// endpoint name as [`SimCloud::resolve`] answers it. `None` when AD DNS does not know it.
    pub fn resolve_as_domain_member(&self, name: &str) -> Option<std::net::Ipv4Addr> {
        let mut name = normalize_dns_name(name);
        for _ in 0..8 {
            let next = {
                let w = self.w();
                match w.ad.nodes.get(&name).and_then(|rs| rs.first()).map(|(r, _)| r) {
                    Some(AdRecord::Cname(t)) => normalize_dns_name(t),
                    Some(AdRecord::A(ip)) => return Some(*ip),
                    _ => break,
                }
            };
            name = next;
        }
        if name.ends_with(&format!(".{}", self.w().ad.domain)) {
            return None;
        }
        self.resolve(&name)
    }

    /// Whether an SMB client that typed `\\name` gets a Kerberos ticket for `cifs/<name>`: the
    /// KDC finds exactly one account holding `cifs/<name>` or `HOST/<name>` (case-insensitive).
    /// `Ok(dn)` of that account; `Err(why)` otherwise (the client falls back to NTLMv2, or fails
    /// on a duplicate).
    pub fn kerberos_for(&self, name: &str) -> Result<String, String> {
        let w = self.w();
        let name = name.trim_end_matches('.');
        let holders: Vec<&Account> =
            w.ad.accounts
                .values()
                .filter(|a| {
                    a.spns.iter().any(|s| {
                        s.split_once('/').is_some_and(|(svc, n)| {
                            (svc.eq_ignore_ascii_case("cifs") || svc.eq_ignore_ascii_case("HOST"))
                                && n.eq_ignore_ascii_case(name)
                        })
                    })
                })
                .collect();
        match &holders[..] {
            [one] => Ok(one.dn.clone()),
            [] => Err(format!(
                "KDC_ERR_S_PRINCIPAL_UNKNOWN for cifs/{name}: no account holds it; SMB falls back to NTLMv2"
            )),
            many => Err(format!(
                "KDC_ERR_PRINCIPAL_NOT_UNIQUE for cifs/{name}: held by {} accounts",
                many.len()
            )),
        }
    }
}

impl CloudState {
    fn zone_check(&self, op: &str, zone: &str) -> Result<(), CloudError> {
        if self.ad.domain.is_empty() || normalize_dns_name(zone) != self.ad.domain {
            return Err(err(
                ErrorKind::NotFound,
                op,
                "NoSuchObject",
                format!("no AD-integrated zone {zone} (DC={zone},CN=MicrosoftDNS,DC=DomainDnsZones,…)"),
            ));
        }
        Ok(())
    }

    fn in_zone(&self, op: &str, alias: &str) -> Result<(), CloudError> {
        if !alias.ends_with(&format!(".{}", self.ad.domain)) {
            return Err(err(
                ErrorKind::InvalidInput,
                op,
                "InvalidDnsName",
                format!("{alias} is not below the zone {}", self.ad.domain),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl Directory for SimCloud {
    async fn read_computer(&self, computer: &str, alias: &str) -> CloudResult<Option<ComputerState>> {
        let mut w = self.w();
        w.enter("LdapSearchComputer")?;
        Ok(w.ad.state(&computer_name(computer), &normalize_alias(alias)))
    }

    async fn ensure_spn(&self, computer: &str, alias: &str, previous: &SpnRecord) -> CloudResult<SpnRecord> {
        const OP: &str = "LdapModifyComputer";
        let mut w = self.w();
        w.enter(OP)?;
        let (name, alias) = (computer_name(computer), normalize_alias(alias));
        let Some(acct) = w.ad.accounts.get(&name).cloned() else {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "NoSuchObject",
                format!("no computer account {name}$ in {}", w.ad.domain),
            ));
        };
        if !previous.added.is_empty() && previous.alias != alias {
            return Err(err(
                ErrorKind::InvalidInput,
                OP,
                "RecordForAnotherAlias",
                format!("the record is for {}, not {alias}: remove it first", previous.alias),
            ));
        }
        // A record of another object (this name's account deleted and re-created since): its
        // values went with that object; any here now are someone else's.
        let another_object = previous
            .account
            .as_deref()
            .is_some_and(|g| !g.eq_ignore_ascii_case(&acct.guid));
        let mut record = SpnRecord {
            account: Some(acct.guid.clone()),
            ..SpnRecord::empty(alias.clone())
        };
        let mut to_add = Vec::new();
        for v in SpnValue::ALL {
            if AdState::has(&acct, v, &alias) {
                if !another_object && previous.added.contains(&v) {
                    record.added.insert(v);
                }
            } else {
                to_add.push(v);
            }
        }
        // The DC's own uniqueness check (Samba: "constraint violation"; Windows: the
        // duplicate SPN check): nothing is written if any value is held elsewhere.
        for v in &to_add {
            if let Some(holder) = w.ad.holder(*v, &alias, &name) {
                return Err(err(
                    ErrorKind::Conflict,
                    OP,
                    "ConstraintViolation",
                    format!(
                        "{} {} is held by {holder}: not taken from it; nothing was written",
                        v.attribute(),
                        v.value_for(&alias)
                    ),
                ));
            }
        }
        let a = w.ad.accounts.get_mut(&name).expect("read above");
        for v in &to_add {
            if v.attribute() == ATTR_SPN {
                a.spns.push(v.value_for(&alias));
            } else {
                a.additional.push(v.value_for(&alias));
            }
            record.added.insert(*v);
        }
        w.leave(OP, Ok(record))
    }

    async fn remove_spn(&self, computer: &str, record: &SpnRecord) -> CloudResult<Vec<String>> {
        const OP: &str = "LdapModifyComputer";
        let mut w = self.w();
        w.enter(OP)?;
        let mut removed = Vec::new();
        // The object the record names by objectGUID, whatever its name now; by name only for a
        // record without one. Gone: nothing to remove, whoever has its name now.
        // The GUID only narrows: the object must still be this SVM's account (the record is
        // a tag anyone allowed to tag the SVM can write).
        let netbios = computer_name(computer);
        let name = match &record.account {
            Some(guid) => w.ad.by_guid(guid).filter(|n| *n == netbios),
            None => Some(netbios.clone()),
        };
        if let Some(a) = name.and_then(|n| w.ad.accounts.get_mut(&n)) {
            let dns_host_name = a.dns_host_name.clone();
            for v in &record.added {
                let value = v.value_for(&record.alias);
                // Never the account's own names (what the domain join wrote).
                let host = value.split_once('/').map_or(value.as_str(), |(_, h)| h).to_string();
                if host.split('.').next().is_some_and(|l| l.eq_ignore_ascii_case(&netbios))
                    || dns_host_name.as_deref().is_some_and(|d| host.eq_ignore_ascii_case(d))
                {
                    continue;
                }
                let list = if v.attribute() == ATTR_SPN {
                    &mut a.spns
                } else {
                    &mut a.additional
                };
                let before = list.len();
                list.retain(|x| !x.eq_ignore_ascii_case(&value));
                if list.len() < before {
                    removed.push(format!("{}: {value}", v.attribute()));
                }
            }
        }
        w.leave(OP, Ok(removed))
    }

    async fn read_alias(&self, zone: &str, alias: &str) -> CloudResult<AliasDnsState> {
        const OP: &str = "LdapSearchDnsNode";
        let mut w = self.w();
        w.enter(OP)?;
        w.zone_check(OP, zone)?;
        Ok(w.ad.alias_state(&normalize_alias(alias)))
    }

    async fn list_alias_markers(&self, zone: &str) -> CloudResult<Vec<(String, String)>> {
        const OP: &str = "LdapSearchDnsNode";
        let mut w = self.w();
        w.enter(OP)?;
        w.zone_check(OP, zone)?;
        let prefix = format!("{OWNERSHIP_TXT_LABEL}.");
        let markers =
            w.ad.nodes
                .iter()
                .filter_map(|(name, records)| Some((name.strip_prefix(&prefix)?, records)))
                .flat_map(|(alias, records)| {
                    records.iter().filter_map(move |(r, _)| match r {
                        AdRecord::Txt(t) => Some((alias.to_string(), t.clone())),
                        _ => None,
                    })
                })
                .collect();
        Ok(markers)
    }

    async fn ensure_alias_cname(
        &self,
        zone: &str,
        alias: &str,
        target: &str,
        ttl: u32,
        owner: &str,
        svm: &SvmId,
    ) -> CloudResult<String> {
        const OP: &str = "LdapModifyDnsNode";
        let mut w = self.w();
        w.enter(OP)?;
        w.zone_check(OP, zone)?;
        let alias = normalize_alias(alias);
        w.in_zone(OP, &alias)?;
        let state = w.ad.alias_state(&alias);
        let ours = state.owned_by(owner, svm.as_str());
        if !state.other_types.is_empty() || (!state.is_empty() && !ours) {
            return Err(err(
                ErrorKind::Conflict,
                OP,
                "RecordNotOurs",
                format!("{alias} holds records without our marker: not ours, not overwritten"),
            ));
        }
        let target = normalize_dns_name(target);
        let done = match (state.cname_targets.first(), state.ttl) {
            (Some(t), Some(old)) if *t == target && old == ttl => "unchanged".to_string(),
            (Some(t), Some(old)) if *t == target => format!("ttl {old} → {ttl}"),
            (Some(t), _) => format!("repointed from {t}"),
            (None, _) => "created, with its marker".to_string(),
        };
        w.ad.nodes.insert(alias.clone(), vec![(AdRecord::Cname(target), ttl)]);
        // The marker keeps the TTL it was written with, as the LDAP side leaves it.
        if !ours {
            w.ad.nodes.insert(
                marker_name(&alias),
                vec![(AdRecord::Txt(marker(owner, svm.as_str())), ttl)],
            );
        }
        w.leave(OP, Ok(done))
    }

    async fn remove_alias_cname(&self, zone: &str, alias: &str, owner: &str, svm: &SvmId) -> CloudResult<String> {
        const OP: &str = "LdapDeleteDnsNode";
        let mut w = self.w();
        w.enter(OP)?;
        w.zone_check(OP, zone)?;
        let alias = normalize_alias(alias);
        let state = w.ad.alias_state(&alias);
        let done = if state.is_empty() {
            "absent".to_string()
        } else if !state.owned_by(owner, svm.as_str()) {
            format!("{alias} has no marker of ours: left alone")
        } else {
            w.ad.nodes.remove(&alias);
            w.ad.nodes.remove(&marker_name(&alias));
            "removed, with its marker".to_string()
        };
        w.leave(OP, Ok(done))
    }
}

#[async_trait]
impl SvmTagWrite for SimCloud {
    async fn tag_svm(&self, svm: &SvmId, key: &str, value: &str) -> CloudResult<()> {
        const OP: &str = "TagResource";
        let mut w = self.w();
        w.enter(OP)?;
        let (region, account) = (w.region.clone(), w.account.clone());
        let Some(s) = w.svms.get_mut(svm) else {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "ResourceNotFound",
                format!("{svm} not found"),
            ));
        };
        s.tags.insert(key.into(), value.into());
        let arn = format!(
            "arn:aws:fsx:{region}:{account}:storage-virtual-machine/{}/{}",
            s.file_system_id, s.id
        );
        w.emit_call(
            "fsx.amazonaws.com",
            OP,
            json!({"resourceARN": arn, "tags": [{"key": key, "value": value}]}),
            Value::Null,
        );
        w.leave(OP, Ok(()))
    }

    async fn untag_svm(&self, svm: &SvmId, key: &str) -> CloudResult<()> {
        const OP: &str = "UntagResource";
        let mut w = self.w();
        w.enter(OP)?;
        let (region, account) = (w.region.clone(), w.account.clone());
        if let Some(s) = w.svms.get_mut(svm)
            && s.tags.remove(key).is_some()
        {
            let arn = format!(
                "arn:aws:fsx:{region}:{account}:storage-virtual-machine/{}/{}",
                s.file_system_id, s.id
            );
            w.emit_call(
                "fsx.amazonaws.com",
                OP,
                json!({"resourceARN": arn, "tagKeys": [key]}),
                Value::Null,
            );
        }
        w.leave(OP, Ok(()))
    }
}

impl DirectoryAccess for SimCloud {
    /// The simulated directory, once a domain exists ([`SimCloud::add_ad_domain`]).
    fn directory(&self) -> Option<(&dyn Directory, &dyn SvmTagWrite)> {
        (!self.w().ad.domain.is_empty()).then_some((self, self))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is the failure report
    use super::*;
    use crate::scenario::{AD_DOMAIN, ALIAS, COMPUTER, SVM_ID, seed_world_with_directory};
    use crate::{FaultMix, Faults};
    use fsxn_lattice_core::config::tag_keys;
    use fsxn_lattice_core::naming::directory_tag;

    /// The seed config's owner is `demo`.
    fn record_tag() -> String {
        directory_tag("demo")
    }
    use fsxn_lattice_core::plan::Action;
    use fsxn_lattice_core::reconcile::{ReconcileOptions, ReconcileReport, Scope, reconcile};
    use pollster::block_on;

    fn svm() -> SvmId {
        SvmId::parse(SVM_ID).unwrap()
    }

    #[test]
    fn spns_are_added_once_recorded_and_removed_exactly() {
        let w = seed_world_with_directory(1);
        let c = &w.cloud;
        // An administrator set the host name already: not ours.
        c.set_ad_value(COMPUTER, ATTR_ADDITIONAL_DNS, "NON-97-SVM-ALIAS.CORP.NON-97.NET");
        let state = block_on(c.read_computer(COMPUTER, ALIAS)).unwrap().unwrap();
        assert!(state.has(SpnValue::AdditionalDnsHostName, ALIAS) && !state.has(SpnValue::HostFqdn, ALIAS));
        assert!(state.held_elsewhere.is_empty());
        let rec = block_on(c.ensure_spn(COMPUTER, ALIAS, &SpnRecord::empty(ALIAS))).unwrap();
        assert_eq!(
            rec.added.iter().copied().collect::<Vec<_>>(),
            [SpnValue::HostFqdn, SpnValue::HostShort]
        );
        // Again: nothing new, the same record.
        assert_eq!(block_on(c.ensure_spn(COMPUTER, ALIAS, &rec)).unwrap(), rec);
        assert_eq!(c.kerberos_for(ALIAS).unwrap(), state.dn);
        let removed = block_on(c.remove_spn(COMPUTER, &rec)).unwrap();
        assert_eq!(removed.len(), 2, "{removed:?}");
        let (spns, additional) = c.ad_values(COMPUTER).unwrap();
        assert_eq!(
            additional,
            ["NON-97-SVM-ALIAS.CORP.NON-97.NET"],
            "the administrator's value stays"
        );
        assert!(
            !spns.iter().any(|s| s.contains("ALIAS") || s.contains("alias")),
            "{spns:?}"
        );
        assert!(c.kerberos_for(ALIAS).unwrap_err().contains("NTLMv2"));
        // The SVM's own SPNs were never touched.
        assert!(spns.contains(&"HOST/NON-97-SVM".to_string()));
    }

    #[test]
    fn the_computer_reads_with_its_guid_and_host_name() {
        let w = seed_world_with_directory(1);
        let c = &w.cloud;
        let state = block_on(c.read_computer(COMPUTER, ALIAS)).unwrap().unwrap();
        assert_eq!(Some(&state.guid), c.ad_guid(COMPUTER).as_ref());
        assert!(parse_object_guid(&state.guid).is_some(), "{}", state.guid);
        assert_eq!(state.dns_host_name.as_deref(), Some("non-97-svm.corp.non-97.net"));
        // Another account has another GUID.
        c.add_ad_computer("OTHER-SVM");
        assert_ne!(c.ad_guid("OTHER-SVM"), c.ad_guid(COMPUTER));
    }

    #[test]
    fn a_computer_recreated_under_its_name_is_another_object() {
        let w = seed_world_with_directory(1);
        let c = &w.cloud;
        let old_guid = c.ad_guid(COMPUTER).unwrap();
        let old = block_on(c.ensure_spn(COMPUTER, ALIAS, &SpnRecord::empty(ALIAS))).unwrap();
        assert_eq!(old.account.as_deref(), Some(old_guid.as_str()));
        assert_eq!(old.added.len(), 3);
        // The account is deleted and re-created (the SVM re-joined); an administrator puts the
        // host name and the FQDN SPN on the new one by hand.
        c.remove_ad_computer(COMPUTER);
        c.add_ad_computer(COMPUTER);
        let new_guid = c.ad_guid(COMPUTER).unwrap();
        assert_ne!(new_guid, old_guid);
        c.set_ad_value(COMPUTER, ATTR_ADDITIONAL_DNS, &normalize_alias(ALIAS));
        c.set_ad_value(COMPUTER, ATTR_SPN, &SpnValue::HostFqdn.value_for(ALIAS));
        let theirs = c.ad_values(COMPUTER).unwrap();
        // The old record removes nothing from the new object.
        assert_eq!(block_on(c.remove_spn(COMPUTER, &old)).unwrap(), Vec::<String>::new());
        assert_eq!(c.ad_values(COMPUTER).unwrap(), theirs);
        // Nor does it claim the administrator's values: only what this call adds is ours.
        let now = block_on(c.ensure_spn(COMPUTER, ALIAS, &old)).unwrap();
        assert_eq!(now.account.as_deref(), Some(new_guid.as_str()));
        assert_eq!(now.added.iter().copied().collect::<Vec<_>>(), [SpnValue::HostShort]);
        let removed = block_on(c.remove_spn(COMPUTER, &now)).unwrap();
        assert_eq!(removed, [format!("{ATTR_SPN}: HOST/NON-97-SVM-ALIAS")]);
        assert_eq!(c.ad_values(COMPUTER).unwrap(), theirs);
        // A record from before the GUID was kept names the object by its name, as it did.
        let legacy = SpnRecord::parse_tag_value(&format!("{} fqdn", normalize_alias(ALIAS))).unwrap();
        assert_eq!(legacy.account, None);
        assert_eq!(block_on(c.remove_spn(COMPUTER, &legacy)).unwrap().len(), 1);
        assert!(
            !c.ad_values(COMPUTER)
                .unwrap()
                .0
                .iter()
                .any(|s| s.contains("alias.corp"))
        );
    }

    #[test]
    fn markers_are_listed_from_the_zone_and_a_plain_cname_is_not() {
        let w = seed_world_with_directory(1);
        let c = &w.cloud;
        let svm = svm();
        let alias = normalize_alias(ALIAS);
        assert_eq!(block_on(c.list_alias_markers(AD_DOMAIN)).unwrap(), []);
        block_on(c.ensure_alias_cname(AD_DOMAIN, ALIAS, "vpce-a.on.aws", 300, "demo", &svm)).unwrap();
        // An administrator's CNAME, and a TXT record, at names that are not markers.
        c.add_ad_record(
            "files.corp.non-97.net",
            AdRecord::Cname("fileserver.corp.non-97.net".into()),
        );
        c.add_ad_record("_note.corp.non-97.net", AdRecord::Txt(marker("demo", svm.as_str())));
        assert_eq!(
            block_on(c.list_alias_markers(AD_DOMAIN)).unwrap(),
            [(alias.clone(), marker("demo", svm.as_str()))]
        );
        block_on(c.remove_alias_cname(AD_DOMAIN, ALIAS, "demo", &svm)).unwrap();
        assert_eq!(block_on(c.list_alias_markers(AD_DOMAIN)).unwrap(), []);
        let e = block_on(c.list_alias_markers("other.example")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
    }

    #[test]
    fn a_new_ttl_rewrites_our_cname() {
        let w = seed_world_with_directory(1);
        let c = &w.cloud;
        let svm = svm();
        let alias = normalize_alias(ALIAS);
        block_on(c.ensure_alias_cname(AD_DOMAIN, ALIAS, "vpce-a.on.aws", 300, "demo", &svm)).unwrap();
        assert_eq!(block_on(c.read_alias(AD_DOMAIN, ALIAS)).unwrap().ttl, Some(300));
        let done = block_on(c.ensure_alias_cname(AD_DOMAIN, ALIAS, "vpce-a.on.aws", 60, "demo", &svm)).unwrap();
        assert_eq!(done, "ttl 300 → 60");
        assert_eq!(
            c.ad_records_with_ttl(&alias),
            [(AdRecord::Cname("vpce-a.on.aws".into()), 60)]
        );
        assert_eq!(block_on(c.read_alias(AD_DOMAIN, ALIAS)).unwrap().ttl, Some(60));
        assert_eq!(
            block_on(c.ensure_alias_cname(AD_DOMAIN, ALIAS, "vpce-a.on.aws", 60, "demo", &svm)).unwrap(),
            "unchanged"
        );
        // Both at once: a repoint, written with the new TTL.
        let done = block_on(c.ensure_alias_cname(AD_DOMAIN, ALIAS, "vpce-b.on.aws", 120, "demo", &svm)).unwrap();
        assert_eq!(done, "repointed from vpce-a.on.aws");
        assert_eq!(
            c.ad_records_with_ttl(&alias),
            [(AdRecord::Cname("vpce-b.on.aws".into()), 120)]
        );
    }

    #[test]
    fn a_duplicate_is_refused_case_insensitively_and_cifs_counts_against_host() {
        for held in ["host/non-97-svm-alias", "cifs/NON-97-SVM-ALIAS.corp.non-97.net"] {
            let w = seed_world_with_directory(1);
            let c = &w.cloud;
            let old = c.add_ad_computer("OLD-FILER");
            c.set_ad_value("OLD-FILER", ATTR_SPN, held);
            let state = block_on(c.read_computer(COMPUTER, ALIAS)).unwrap().unwrap();
            assert_eq!(state.held_elsewhere.values().collect::<Vec<_>>(), [&old], "{held}");
            let e = block_on(c.ensure_spn(COMPUTER, ALIAS, &SpnRecord::empty(ALIAS))).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Conflict);
            assert!(e.message.contains(&old), "{e}");
            let (spns, additional) = c.ad_values(COMPUTER).unwrap();
            assert!(
                additional.is_empty() && spns.len() == 2,
                "nothing written: {spns:?} {additional:?}"
            );
        }
        let w = seed_world_with_directory(1);
        assert_eq!(
            block_on(w.cloud.read_computer("NOBODY", ALIAS)).unwrap(),
            None,
            "a missing computer is None, not an error"
        );
    }

    #[test]
    fn the_alias_cname_is_ours_by_its_marker_only() {
        let w = seed_world_with_directory(1);
        let c = &w.cloud;
        let (owner, svm) = ("demo", svm());
        let alias = normalize_alias(ALIAS);
        let made = block_on(c.ensure_alias_cname(AD_DOMAIN, ALIAS, "vpce-a.on.aws", 300, owner, &svm)).unwrap();
        assert!(made.starts_with("created"), "{made}");
        let state = block_on(c.read_alias(AD_DOMAIN, ALIAS)).unwrap();
        assert!(state.owned_by(owner, svm.as_str()) && state.cname_targets == ["vpce-a.on.aws"]);
        let moved = block_on(c.ensure_alias_cname(AD_DOMAIN, ALIAS, "vpce-b.on.aws", 300, owner, &svm)).unwrap();
        assert_eq!(moved, "repointed from vpce-a.on.aws");
        // Another owner's marker: not ours, refused and left alone.
        let e = block_on(c.ensure_alias_cname(AD_DOMAIN, ALIAS, "vpce-c.on.aws", 300, "other", &svm)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        let left = block_on(c.remove_alias_cname(AD_DOMAIN, ALIAS, "other", &svm)).unwrap();
        assert!(left.contains("left alone"), "{left}");
        assert_eq!(c.ad_records(&alias), [AdRecord::Cname("vpce-b.on.aws".into())]);
        assert_eq!(
            block_on(c.remove_alias_cname(AD_DOMAIN, ALIAS, owner, &svm)).unwrap(),
            "removed, with its marker"
        );
        assert!(c.ad_records(&alias).is_empty() && c.ad_records(&format!("_fsxn-lattice.{alias}")).is_empty());
        // A record an administrator made (no marker) is never overwritten.
        c.add_ad_record(ALIAS, AdRecord::A("10.9.9.9".parse().unwrap()));
        let e = block_on(c.ensure_alias_cname(AD_DOMAIN, ALIAS, "vpce-a.on.aws", 300, owner, &svm)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        // Another zone is not there.
        let e = block_on(c.read_alias("other.example", "x.other.example")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
    }

    /// Reconciles `scope` until converged (virtual time; the pinned subnets heal on the way).
    fn converge(c: &crate::SimCloud, config: &fsxn_lattice_core::config::Config, scope: Scope) -> ReconcileReport {
        let options = ReconcileOptions {
            scope,
            ..ReconcileOptions::default()
        };
        let r = block_on(reconcile(c, config, &options, &mut |_| {}));
        assert!(r.error.is_none(), "{:?}", r.error);
        r
    }

    #[test]
    fn each_scope_does_its_part_and_opt_out_removes_exactly_ours() {
        let w = seed_world_with_directory(2);
        let c = &w.cloud;
        // An administrator added the short SPN by hand before: kept, never ours.
        c.set_ad_value(COMPUTER, ATTR_SPN, "HOST/NON-97-SVM-ALIAS");
        c.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb");
        c.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
        // Infrastructure and Route 53 first: the directory's actions are left (deferred).
        let r = converge(c, &w.config, Scope::Infrastructure);
        assert!(r.deferred > 0, "{r:#?}");
        let r = converge(c, &w.config, Scope::Dns);
        // The directory's actions are another scope's, and not counted as deferred work for
        // Provision (the state machine would loop back to it for nothing).
        assert_eq!(r.deferred, 0, "{r:#?}");
        assert!(!r.applied.iter().any(|a| Scope::Directory.allows(&a.action.action)));
        assert!(
            c.kerberos_for("NON-97-SVM-ALIAS").is_ok(),
            "the administrator's short SPN"
        );
        assert!(c.kerberos_for(ALIAS).is_err(), "nothing yet for the FQDN");
        assert_eq!(c.ad_values(COMPUTER).unwrap().1, Vec::<String>::new());
        // The directory scope: SPNs, the record, then the AD DNS record.
        let r = converge(c, &w.config, Scope::Directory);
        assert!(r.last_plan.is_converged() && r.deferred == 0, "{r:#?}");
        assert!(r.applied.iter().all(|a| Scope::Directory.allows(&a.action.action)));
        assert!(
            r.applied
                .iter()
                .any(|a| matches!(a.action.action, Action::RegisterSpn { .. }))
        );
        let svm = c.snapshot().svms.into_iter().next().unwrap();
        let rec = SpnRecord::parse_tag_value(&svm.tags[record_tag().as_str()]).unwrap();
        assert_eq!(
            rec.added.iter().copied().collect::<Vec<_>>(),
            [SpnValue::AdditionalDnsHostName, SpnValue::HostFqdn]
        );
        assert!(c.kerberos_for(ALIAS).is_ok());
        let alias = normalize_alias(ALIAS);
        let endpoint = c
            .snapshot()
            .endpoints
            .into_iter()
            .find(|e| e.state == fsxn_lattice_core::model::EndpointState::Available)
            .unwrap();
        assert_eq!(c.ad_records(&alias), [AdRecord::Cname(endpoint.dns_name.unwrap())]);
        assert!(c.resolve_as_domain_member(&alias).is_some());
        // Opt-out: our AD record and exactly our values go; the administrator's SPN stays.
        c.tag_fsx(SVM_ID, tag_keys::EXPOSE, "off");
        let r = converge(c, &w.config, Scope::All);
        assert!(r.last_plan.is_converged(), "{r:#?}");
        assert!(c.ad_records(&alias).is_empty());
        let (spns, additional) = c.ad_values(COMPUTER).unwrap();
        assert!(additional.is_empty(), "{additional:?}");
        assert_eq!(
            spns,
            [
                "HOST/NON-97-SVM",
                "HOST/non-97-svm.corp.non-97.net",
                "HOST/NON-97-SVM-ALIAS"
            ]
        );
        assert!(!c.snapshot().svms[0].tags.contains_key(record_tag().as_str()));
    }

    #[test]
    fn a_new_endpoint_gets_the_ad_record_before_the_old_one_goes() {
        let w = seed_world_with_directory(3);
        let c = &w.cloud;
        c.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb");
        c.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
        assert!(converge(c, &w.config, Scope::All).last_plan.is_converged());
        let alias = normalize_alias(ALIAS);
        let [AdRecord::Cname(first)] = &c.ad_records(&alias)[..] else {
            panic!("{:?}", c.ad_records(&alias))
        };
        // The consumer's subnets change: a new endpoint replaces the old one.
        let mut config = w.config.clone();
        config.consumers[0].subnet_ids.truncate(1);
        let mut order: Vec<String> = Vec::new();
        let options = ReconcileOptions::default();
        let r = block_on(reconcile(c, &config, &options, &mut |p| {
            if let fsxn_lattice_core::reconcile::Progress::Applied { applied, .. } = p {
                order.push(applied.action.action.summary());
            }
        }));
        assert!(r.last_plan.is_converged(), "{r:#?}");
        let repoint = order
            .iter()
            .position(|a| a.starts_with("REPOINT AD DNS CNAME") && a.contains(&format!("(was {first})")));
        let old_gone = order.iter().position(|a| a.starts_with("delete VPC endpoint"));
        assert!(matches!((repoint, old_gone), (Some(r), Some(d)) if r < d), "{order:#?}");
        let [AdRecord::Cname(now)] = &c.ad_records(&alias)[..] else {
            panic!("{:?}", c.ad_records(&alias))
        };
        assert_ne!(now, first);
        assert!(c.resolve_as_domain_member(&alias).is_some());
    }

    #[test]
    fn a_replay_after_a_lost_response_still_records_our_values() {
        use fsxn_lattice_core::apply::{DirectoryScope, Executes};
        let w = seed_world_with_directory(1);
        let c = &w.cloud;
        let guid = block_on(c.read_computer(COMPUTER, ALIAS)).unwrap().unwrap().guid;
        let action = Action::RegisterSpn {
            record_tag: record_tag(),
            svm_id: svm(),
            computer: COMPUTER.into(),
            alias: normalize_alias(ALIAS),
            previous: SpnRecord::empty(normalize_alias(ALIAS)),
            account: guid,
            missing: SpnValue::ALL.into_iter().collect(),
        };
        // The first attempt's write landed, its response was lost: the values are there.
        block_on(c.ensure_spn(COMPUTER, ALIAS, &SpnRecord::empty(ALIAS))).unwrap();
        let done = block_on(Executes::<DirectoryScope>::execute(c, &action)).unwrap();
        assert!(done.contains("dns+fqdn+short"), "{done}");
        let tag = c.snapshot().svms[0].tags[record_tag().as_str()].clone();
        assert_eq!(SpnRecord::parse_tag_value(&tag).unwrap().added.len(), 3, "{tag}");
    }

    #[test]
    fn a_record_that_cannot_be_kept_means_nothing_is_written_to_ad() {
        use fsxn_lattice_core::apply::{DirectoryScope, Executes};
        let w = seed_world_with_directory(1);
        let c = &w.cloud;
        let guid = block_on(c.read_computer(COMPUTER, ALIAS)).unwrap().unwrap().guid;
        // The record's SVM cannot be tagged (here: it is gone; live: no fsx:TagResource, or
        // its 50 tags used up): the write to AD never happens, so no value of ours is left
        // unrecorded (it would pass for an administrator's, and stay for ever).
        let action = Action::RegisterSpn {
            record_tag: record_tag(),
            svm_id: SvmId::parse("svm-0000000000000dead").unwrap(),
            computer: COMPUTER.into(),
            alias: normalize_alias(ALIAS),
            previous: SpnRecord::empty(normalize_alias(ALIAS)),
            account: guid,
            missing: SpnValue::ALL.into_iter().collect(),
        };
        let before = c.ad_values(COMPUTER).unwrap();
        let e = block_on(Executes::<DirectoryScope>::execute(c, &action)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
        assert_eq!(c.ad_values(COMPUTER).unwrap(), before);
    }

    #[test]
    fn faults_come_through_enter_and_the_record_is_a_tag_on_the_svm() {
        let w = seed_world_with_directory(1);
        let c = &w.cloud;
        block_on(c.tag_svm(&svm(), record_tag().as_str(), "non-97-svm-alias.corp.non-97.net -")).unwrap();
        assert_eq!(
            c.snapshot().svms[0].tags.get(record_tag().as_str()).map(String::as_str),
            Some("non-97-svm-alias.corp.non-97.net -")
        );
        c.set_faults(Faults {
            rate: 1.0,
            mix: FaultMix::Transient,
        });
        let e = block_on(c.read_computer(COMPUTER, ALIAS)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Transient);
        assert!(block_on(c.untag_svm(&svm(), record_tag().as_str())).is_err());
        c.set_faults(Faults::default());
        block_on(c.untag_svm(&svm(), record_tag().as_str())).unwrap();
        assert!(!c.snapshot().svms[0].tags.contains_key(record_tag().as_str()));
        // Without a domain, the cloud has no directory to hand out.
        assert!(crate::SimCloud::new(1).directory().is_none());
        assert!(c.directory().is_some());
    }
}
