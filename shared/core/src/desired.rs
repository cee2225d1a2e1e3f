//! Desired state: which SVMs are exposed, on which TCP ports, to which consumers, under which
//! alias. Resolved from the configuration file plus tags on SVMs and file systems.

use crate::config::Config;
use crate::error::ErrorKind;
use crate::ids::*;
use crate::model::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

// `Protocol` and `validate_fqdn` live in the model: the config validates with them too, and
// config must not depend on the resolution of desired state (which depends on config).
pub use crate::model::{Protocol, validate_fqdn};

/// Where an exposure's protocol list came from: a config entry wins over tags, an SVM tag over
/// its file system's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `[[exposures]]` in the config file.
    Config,
    /// The `expose` tag on the SVM.
    SvmTag,
    /// The `expose` tag on the SVM's file system (applies to each of its SVMs without one).
    FileSystemTag,
}

/// One SVM to expose, as [`resolve`] settled it: every field is already validated, so the
/// planner only compares it with what it observes. Only SVMs whose lifecycle is ready get one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exposure {
    /// Key of the exposure (one per SVM); goes into [`crate::naming::SVM_TAG`] and names.
    pub svm_id: SvmId,
    /// [`StorageVirtualMachine::name`], for plan reasons and messages only.
    pub svm_name: String,
    /// The SVM's file system: decides which gateway (one per file system) carries it.
    pub file_system_id: FileSystemId,
    /// The floating IP all chosen protocols answer on: the first `IpAddresses` entry of each
    /// protocol's SVM endpoint, required to be one and the same IP (else refused).
    pub target_ip: Ipv4Addr,
    /// Protocols, sorted and de-duplicated. An `expose` tag of `true` means `[Smb]`.
    pub protocols: Vec<Protocol>,
    /// TCP ports of `protocols`, one single-port range each, sorted and de-duplicated: what the
    /// resource configuration's `portRanges` must equal.
    pub ports: Vec<PortRange>,
    /// Consumer names, sorted, each defined in the config; all consumers when the config entry
    /// or tag named none.
    pub consumers: Vec<String>,
    /// Alias FQDN, lower case, no trailing dot. `None`: no alias (the config entry has none,
    /// or there is no entry and the SVM itself has no alias tag). An alias claimed by two
    /// exposures refuses both.
    pub alias: Option<String>,
    /// The SMB endpoint's DNS name (the NetBIOS name for an AD-joined SVM): the AD computer
    /// object that needs the SPN. `None` when the SVM has no SMB endpoint or it has no
    /// `DNSName`; the manual step then names the SVM's name upper-cased.
    pub smb_computer_name: Option<String>,
    /// Where the protocol list came from; informational, the planner does not read it.
    pub source: Source,
}

impl Exposure {
    /// The NetBIOS name of the SVM's AD computer object: from its SMB DNS name, else its
    /// ONTAP name ([`crate::directory::computer_name`]).
    pub fn ad_computer(&self) -> String {
        crate::directory::computer_name(self.smb_computer_name.as_deref().unwrap_or(&self.svm_name))
    }
}

/// Something the tool will not do, and why. Made by [`resolve`] and by the planner. A refused
/// SVM is absent from [`Desired::exposures`] and not held, so what was built for it before is
/// torn down; a consumer refused by the planner's preflight keeps what it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// What it concerns (`svm-…`, `consumer clients`, `fs-…`).
    pub subject: String,
    /// Stable error type, the category a person or script branches on.
    pub kind: ErrorKind,
    /// A sentence a person can act on.
    pub reason: String,
}

/// The resolved desired state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    /// Exposures by SVM: everything that should be reachable. An SVM absent here (and not
    /// held) has its resources torn down.
    pub exposures: BTreeMap<SvmId, Exposure>,
    /// SVMs whose resources must be left as they are (SVM still creating): neither built nor
    /// torn down.
    pub held: BTreeSet<SvmId>,
    /// What was refused during resolution: unknown SVMs in the config, SVMs not ready, bad
    /// tags, shared aliases. The planner adds its own to the plan.
    pub refusals: Vec<Refusal>,
}

fn tag_value<'a>(svm: &'a StorageVirtualMachine, fs: Option<&'a FileSystem>, key: &str) -> Option<(&'a str, Source)> {
    svm.tags.get(key).map(|v| (v.as_str(), Source::SvmTag)).or_else(|| {
        fs.and_then(|f| f.tags.get(key))
            .map(|v| (v.as_str(), Source::FileSystemTag))
    })
}

fn split_list(v: &str) -> Vec<String> {
    v.split([',', ' ', '/', ':'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Resolves the desired state from the config and the FSx inventory.
pub fn resolve(config: &Config, file_systems: &[FileSystem], svms: &[StorageVirtualMachine]) -> Desired {
    let mut d = Desired::default();
    let all_consumers: Vec<String> = config.consumer_names();
    for e in &config.exposures {
        if !svms.iter().any(|s| s.id == e.svm_id) {
            d.refusals.push(Refusal {
                subject: e.svm_id.to_string(),
                kind: ErrorKind::NotFound,
                reason: "the config exposes this SVM but FSx does not list it (deleted, or another region/account?)"
                    .into(),
            });
        }
    }
    for svm in svms {
        let fs = file_systems.iter().find(|f| f.id == svm.file_system_id);
        let explicit = config.exposures.iter().find(|e| e.svm_id == svm.id);
        let (protocols, consumers, alias, source) = match explicit {
            Some(e) => (
                e.protocols.clone(),
                e.consumers.clone(),
                e.alias.clone(),
                Source::Config,
            ),
            None => {
                let Some((expose, source)) = tag_value(svm, fs, &config.tags.expose) else {
                    continue;
                };
                if matches!(
                    expose.trim().to_ascii_lowercase().as_str(),
                    "" | "off" | "false" | "no" | "none"
                ) {
                    continue;
                }
                let protocols = if expose.eq_ignore_ascii_case("true") {
                    vec!["smb".into()]
                } else {
                    split_list(expose)
                };
                let consumers = tag_value(svm, fs, &config.tags.consumers)
                    .map(|(v, _)| split_list(v))
                    .unwrap_or_default();
                let alias = svm.tags.get(&config.tags.alias).cloned();
                (protocols, consumers, alias, source)
            }
        };
        let refuse = |d: &mut Desired, kind, reason: String| {
            d.refusals.push(Refusal {
                subject: svm.id.to_string(),
                kind,
                reason,
            });
        };
        match svm.lifecycle {
            FsxLifecycle::Creating | FsxLifecycle::Pending => {
                d.held.insert(svm.id.clone());
                continue;
            }
            l if !l.is_ready() => {
                refuse(
                    &mut d,
                    ErrorKind::NotReady,
                    format!("SVM lifecycle is {l:?}: not exposed"),
                );
                continue;
            }
            _ => {}
        }
        let mut parsed = Vec::new();
        let mut bad = None;
        for p in &protocols {
            match Protocol::parse(p) {
                Ok(p) => parsed.push(p),
                Err(m) => bad = Some(m),
            }
        }
        if let Some(m) = bad {
            refuse(&mut d, ErrorKind::InvalidInput, m);
            continue;
        }
        parsed.sort();
        parsed.dedup();
        let mut ips = BTreeSet::new();
        for p in &parsed {
            match p.endpoint(&svm.endpoints).and_then(|e| e.ip_addresses.first()) {
                Some(ip) => {
                    ips.insert(*ip);
                }
                None => {
                    refuse(
                        &mut d,
                        ErrorKind::InvalidInput,
                        format!("SVM has no endpoint IP for {p:?}"),
                    );
                    bad = Some(String::new());
                }
            }
        }
        if bad.is_some() {
            continue;
        }
        if ips.len() != 1 {
            refuse(
                &mut d,
                ErrorKind::InvalidInput,
                format!(
                    "the chosen protocols answer on different IPs ({}); one resource configuration targets one IP: expose them separately",
                    ips.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
                ),
            );
            continue;
        }
        let mut consumers = if consumers.is_empty() {
            all_consumers.clone()
        } else {
            consumers
        };
        if let Some(unknown) = consumers
            .iter()
            .find(|c| config.consumer(c).is_none() && config.service_network_consumer(c).is_none())
        {
            refuse(
                &mut d,
                ErrorKind::InvalidInput,
                format!("unknown consumer `{unknown}` in tag {}", config.tags.consumers),
            );
            continue;
        }
        consumers.sort();
        consumers.dedup();
        let alias = match alias {
            Some(a) => match validate_fqdn(&a) {
                Ok(()) => Some(normalize_dns_name(&a)),
                Err(m) => {
                    refuse(&mut d, ErrorKind::InvalidInput, m);
                    continue;
                }
            },
            None => None,
        };
        let mut ports: Vec<PortRange> = parsed
            .iter()
            .flat_map(|p| p.ports())
            .map(|p| PortRange::single(*p))
            .collect();
        ports.sort();
        ports.dedup();
        let target_ip = *ips.iter().next().expect("exactly one IP checked above");
        d.exposures.insert(
            svm.id.clone(),
            Exposure {
                svm_id: svm.id.clone(),
                svm_name: svm.name.clone(),
                file_system_id: svm.file_system_id.clone(),
                target_ip,
                protocols: parsed,
                ports,
                consumers,
                alias,
                smb_computer_name: svm.endpoints.smb.as_ref().and_then(|e| e.dns_name.clone()),
                source,
            },
        );
    }
    refuse_shared_aliases(&mut d);
    d
}

/// An alias claimed by two exposures (tags, or a tag and the config) would point at one of them
/// and report the other as foreign: neither gets it, and both are refused with both names.
fn refuse_shared_aliases(d: &mut Desired) {
    let mut by_alias: BTreeMap<String, Vec<SvmId>> = BTreeMap::new();
    for e in d.exposures.values() {
        if let Some(a) = &e.alias {
            by_alias.entry(a.clone()).or_default().push(e.svm_id.clone());
        }
    }
    for (alias, svms) in by_alias.into_iter().filter(|(_, s)| s.len() > 1) {
        let names = svms.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" and ");
        for svm in svms {
            if let Some(e) = d.exposures.get_mut(&svm) {
                e.alias = None;
            }
            d.refusals.push(Refusal {
                subject: svm.to_string(),
                kind: ErrorKind::InvalidInput,
                reason: format!("alias {alias} is claimed by {names}: one name can point at one endpoint; give each SVM its own alias"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_names_table() {
        let long_label = format!("{}.example", "a".repeat(64));
        let long_name = format!("{}.example", vec!["a".repeat(60); 5].join("."));
        for (name, ok) in [
            ("files.corp.example", true),
            ("files.corp.example.", true),
            ("a-b.c", true),
            ("files", false),
            ("-files.corp", false),
            ("files-.corp", false),
            ("files..corp", false),
            ("fi_les.corp", false),
            (long_label.as_str(), false),
            (long_name.as_str(), false),
        ] {
            assert_eq!(validate_fqdn(name).is_ok(), ok, "{name}");
        }
    }
    use crate::config::tag_keys;

    pub(crate) fn svm(tags: &[(&str, &str)]) -> StorageVirtualMachine {
        StorageVirtualMachine {
            id: SvmId::parse("svm-0a1b2c3d4e5f60718").unwrap(),
            name: "non-97-svm".into(),
            file_system_id: FileSystemId::parse("fs-07f1088148f103e3a").unwrap(),
            lifecycle: FsxLifecycle::Created,
            endpoints: SvmEndpoints::one_ip("NON-97-SVM", "10.0.15.239".parse().unwrap()),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    fn config(extra: &str) -> Config {
        Config::from_toml(&format!(
            "owner=\"t\"\n[gateway]\nsecurity_group_ids=[\"sg-1\"]\n[[consumers]]\nname=\"clients\"\nvpc_id=\"vpc-1\"\nsubnet_ids=[\"subnet-1\"]\n[[consumers]]\nname=\"dr\"\nvpc_id=\"vpc-2\"\nsubnet_ids=[\"subnet-2\"]\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn a_tagged_svm_is_exposed_on_its_protocol_ports_to_all_consumers() {
        let s = svm(&[
            (tag_keys::EXPOSE, "smb,nfs,ssh"),
            (tag_keys::ALIAS, "NON-97-SVM-ALIAS.corp.non-97.net"),
        ]);
        let d = resolve(&config(""), &[], &[s]);
        let e = d.exposures.values().next().unwrap();
        assert_eq!(
            e.ports.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            ["22", "445", "2049"]
        );
        assert_eq!(e.consumers, ["clients", "dr"]);
        assert_eq!(e.alias.as_deref(), Some("non-97-svm-alias.corp.non-97.net"));
        assert_eq!(e.target_ip.to_string(), "10.0.15.239");
        assert_eq!(e.source, Source::SvmTag);
    }

    #[test]
    fn config_wins_over_tags_and_off_opts_out() {
        let s = svm(&[(tag_keys::EXPOSE, "off")]);
        assert!(resolve(&config(""), &[], std::slice::from_ref(&s)).exposures.is_empty());
        let d = resolve(
            &config("[[exposures]]\nsvm_id=\"svm-0a1b2c3d4e5f60718\"\nprotocols=[\"nfs3\"]\nconsumers=[\"dr\"]"),
            &[],
            &[s],
        );
        let e = &d.exposures[&SvmId::parse("svm-0a1b2c3d4e5f60718").unwrap()];
        assert_eq!(e.ports.len(), 5);
        assert_eq!(e.consumers, ["dr"]);
        assert_eq!(e.source, Source::Config);
    }

    #[test]
    fn bad_tags_are_refused_with_reasons_and_creating_svms_are_held() {
        for (tags, needle) in [
            (vec![(tag_keys::EXPOSE, "smb,iscsi")], "iscsi"),
            (
                vec![(tag_keys::EXPOSE, "smb"), (tag_keys::CONSUMERS, "nobody")],
                "unknown consumer",
            ),
            (
                vec![(tag_keys::EXPOSE, "smb"), (tag_keys::ALIAS, "not a name")],
                "alias",
            ),
        ] {
            let d = resolve(&config(""), &[], &[svm(&tags)]);
            assert!(d.exposures.is_empty());
            assert!(d.refusals[0].reason.contains(needle), "{:?}", d.refusals);
        }
        let mut s = svm(&[(tag_keys::EXPOSE, "smb,ssh")]);
        s.endpoints.management = Some(SvmEndpoint {
            dns_name: None,
            ip_addresses: vec!["10.0.15.231".parse().unwrap()],
        });
        let d = resolve(&config(""), &[], &[s]);
        assert!(d.refusals[0].reason.contains("different IPs"));
        let mut s = svm(&[(tag_keys::EXPOSE, "smb")]);
        s.lifecycle = FsxLifecycle::Creating;
        let d = resolve(&config(""), &[], &[s]);
        assert!(d.exposures.is_empty() && d.held.len() == 1);
        for broken in [
            FsxLifecycle::Failed,
            FsxLifecycle::Misconfigured,
            FsxLifecycle::Deleting,
        ] {
            let mut s = svm(&[(tag_keys::EXPOSE, "smb")]);
            s.lifecycle = broken;
            let d = resolve(&config(""), &[], &[s]);
            assert!(d.exposures.is_empty() && d.held.is_empty(), "{broken:?}");
            assert_eq!(d.refusals[0].kind, ErrorKind::NotReady, "{broken:?}");
        }
    }

    #[test]
    fn an_svm_the_config_names_but_fsx_does_not_list_is_refused_as_not_found() {
        let text = "[[exposures]]\nsvm_id = \"svm-0d0d0d0d0d0d0d0d0\"\nprotocols = [\"smb\"]\n";
        let d = resolve(&config(text), &[], &[svm(&[])]);
        assert_eq!(d.refusals.len(), 1, "{:?}", d.refusals);
        assert_eq!(
            (d.refusals[0].subject.as_str(), d.refusals[0].kind),
            ("svm-0d0d0d0d0d0d0d0d0", ErrorKind::NotFound)
        );
        let listed = "[[exposures]]\nsvm_id = \"svm-0a1b2c3d4e5f60718\"\nprotocols = [\"smb\"]\n";
        assert!(resolve(&config(listed), &[], &[svm(&[])]).refusals.is_empty());
    }

    #[test]
    fn tag_keys_come_from_the_config() {
        let c = config("[tags]\nexpose = \"team:share\"");
        assert!(
            resolve(&c, &[], &[svm(&[(tag_keys::EXPOSE, "smb")])])
                .exposures
                .is_empty()
        );
        assert_eq!(resolve(&c, &[], &[svm(&[("team:share", "smb")])]).exposures.len(), 1);
    }

    #[test]
    fn file_system_tags_apply_to_its_svms() {
        let fs = FileSystem {
            id: FileSystemId::parse("fs-07f1088148f103e3a").unwrap(),
            lifecycle: FsxLifecycle::Available,
            deployment_type: DeploymentType::MultiAz1,
            vpc_id: VpcId::parse("vpc-1").unwrap(),
            subnet_ids: vec![],
            endpoint_ip_address_range: None,
            route_table_ids: vec![],
            tags: [(tag_keys::EXPOSE.to_string(), "nfs".to_string())].into(),
        };
        let d = resolve(&config(""), &[fs], &[svm(&[])]);
        assert_eq!(d.exposures.values().next().unwrap().source, Source::FileSystemTag);
    }

    #[test]
    fn an_alias_claimed_by_two_svms_is_given_to_neither_and_both_are_refused_by_name() {
        let a = svm(&[(tag_keys::EXPOSE, "smb"), (tag_keys::ALIAS, "files.corp.example")]);
        let mut b = svm(&[(tag_keys::EXPOSE, "smb"), (tag_keys::ALIAS, "FILES.corp.example.")]);
        b.id = SvmId::parse("svm-0b0b0b0b0b0b0b0b0").unwrap();
        b.name = "other".into();
        let mut c = svm(&[(tag_keys::EXPOSE, "smb"), (tag_keys::ALIAS, "own.corp.example")]);
        c.id = SvmId::parse("svm-0c0c0c0c0c0c0c0c0").unwrap();
        let d = resolve(&config(""), &[], &[a.clone(), b.clone(), c.clone()]);
        assert_eq!(d.exposures.len(), 3, "the SVMs stay exposed");
        assert_eq!(d.exposures[&a.id].alias, None);
        assert_eq!(d.exposures[&b.id].alias, None);
        assert_eq!(d.exposures[&c.id].alias.as_deref(), Some("own.corp.example"));
        for s in [&a.id, &b.id] {
            let r = d.refusals.iter().find(|r| r.subject == s.as_str()).expect("refused");
            assert!(
                r.reason.contains(a.id.as_str()) && r.reason.contains(b.id.as_str()),
                "{}",
                r.reason
            );
        }
    }
}
