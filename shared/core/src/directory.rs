//! Active Directory, as the planner sees it (opt-in with `[directory]`, docs/config.md): what
//! an alias needs on the SVM's computer object (its SPNs) and in the AD-integrated DNS zone (its
//! CNAME and ownership marker), and the record of what we added. The LDAP side is the
//! `fsxn-lattice-directory` crate; it re-exports these types, so both sides share one tag format.
//!
//! # Ownership
//!
//! - SPNs: an [`SpnRecord`] names the values we added; it is kept as the
//!   [`crate::naming::DIRECTORY_TAG`] tag on the SVM (FSx `TagResource`). Only what it names is
//!   ever removed: a value an administrator set is not in it.
//! - AD DNS: the TXT marker `_fsxn-lattice.<alias>` = [`marker`] beside the CNAME, as in Route 53.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `msDS-AdditionalDnsHostName`.
pub const ATTR_ADDITIONAL_DNS: &str = "msDS-AdditionalDnsHostName";
/// `servicePrincipalName`.
pub const ATTR_SPN: &str = "servicePrincipalName";

/// One of the values an alias needs on the computer object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpnValue {
    /// `msDS-AdditionalDnsHostName: <alias fqdn>`.
    AdditionalDnsHostName,
    /// `servicePrincipalName: HOST/<alias fqdn>`.
    HostFqdn,
    /// `servicePrincipalName: HOST/<ALIAS SHORT NAME>`: the first label, upper case, as a client
    /// that types the short name asks for it (not limited to NetBIOS's 15 characters: the field
    /// report's `HOST/NON-97-SVM-ALIAS` has 16).
    HostShort,
}

impl SpnValue {
    /// The three, in the order they are written.
    pub const ALL: [SpnValue; 3] = [Self::AdditionalDnsHostName, Self::HostFqdn, Self::HostShort];

    /// The token in [`SpnRecord::to_tag_value`].
    pub fn token(self) -> &'static str {
        match self {
            Self::AdditionalDnsHostName => "dns",
            Self::HostFqdn => "fqdn",
            Self::HostShort => "short",
        }
    }

    /// The attribute it is a value of.
    pub fn attribute(self) -> &'static str {
        match self {
            Self::AdditionalDnsHostName => ATTR_ADDITIONAL_DNS,
            Self::HostFqdn | Self::HostShort => ATTR_SPN,
        }
    }

    /// The value for `alias` (normalized first: lower case, no trailing dot).
    pub fn value_for(self, alias: &str) -> String {
        let fqdn = normalize_alias(alias);
        match self {
            Self::AdditionalDnsHostName => fqdn,
            Self::HostFqdn => format!("HOST/{fqdn}"),
            Self::HostShort => format!(
                "HOST/{}",
                fqdn.split('.').next().unwrap_or_default().to_ascii_uppercase()
            ),
        }
    }
}

/// An alias as written in the directory: trimmed, lower case, no trailing dot.
pub fn normalize_alias(alias: &str) -> String {
    crate::model::normalize_dns_name(alias)
}

/// What fsxn-lattice added to a computer object for one alias, and so may remove: values an
/// administrator set are never in it. Kept as a tag on the SVM ([`SpnRecord::to_tag_value`])
/// and handed back to the next ensure / remove.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpnRecord {
    /// The alias FQDN the values belong to.
    pub alias: String,
    /// The values we added.
    pub added: BTreeSet<SpnValue>,
}

impl SpnRecord {
    /// Nothing added for `alias`.
    pub fn empty(alias: impl Into<String>) -> Self {
        Self {
            alias: alias.into(),
            added: BTreeSet::new(),
        }
    }

    /// A compact form that fits an AWS tag value (letters, digits, space and `.:/=+-@_`):
    /// `<alias> <value>+<value>…`, e.g. `svm-alias.corp.example dns+fqdn+short`; `<alias> -`
    /// when nothing was added. At most 253 + 16 characters: an alias longer than 239 characters
    /// does not fit AWS's 256 and the caller must keep the record elsewhere.
    pub fn to_tag_value(&self) -> String {
        let values: Vec<&str> = self.added.iter().map(|v| v.token()).collect();
        let values = if values.is_empty() {
            "-".to_string()
        } else {
            values.join("+")
        };
        format!("{} {values}", self.alias)
    }

    /// Reads [`SpnRecord::to_tag_value`] back; `None` for anything else.
    pub fn parse_tag_value(s: &str) -> Option<Self> {
        let (alias, values) = s.trim().split_once(' ')?;
        let alias = normalize_alias(alias);
        if crate::model::validate_fqdn(&alias).is_err() {
            return None;
        }
        let mut added = BTreeSet::new();
        if values != "-" {
            for t in values.split('+') {
                added.insert(SpnValue::ALL.into_iter().find(|v| v.token() == t)?);
            }
        }
        Some(Self { alias, added })
    }
}

/// The marker TXT string beside an alias in AD DNS: `heritage=fsxn-lattice,owner=<owner>,svm=<svm>`.
pub fn marker(owner: &str, svm: &str) -> String {
    format!("heritage=fsxn-lattice,owner={owner},svm={svm}")
}

/// Reads a marker TXT string: `(owner, svm)`.
pub fn parse_marker(text: &str) -> Option<(String, String)> {
    let mut owner = None;
    let mut svm = None;
    let mut heritage = false;
    for kv in text.trim().trim_matches('"').split(',') {
        match kv.split_once('=') {
            Some(("heritage", "fsxn-lattice")) => heritage = true,
            Some(("owner", v)) => owner = Some(v.to_string()),
            Some(("svm", v)) => svm = Some(v.to_string()),
            _ => {}
        }
    }
    if heritage { Some((owner?, svm?)) } else { None }
}

/// A computer's NetBIOS name from the SVM's SMB DNS name (`NON-97-SVM.corp.non-97.net` →
/// `NON-97-SVM`) or its ONTAP name: the first label, upper case.
pub fn computer_name(smb_dns_name_or_svm_name: &str) -> String {
    smb_dns_name_or_svm_name
        .trim()
        .split('.')
        .next()
        .unwrap_or_default()
        .trim_end_matches('$')
        .to_ascii_uppercase()
}

/// A computer object as read for one alias.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputerState {
    /// Its DN.
    pub dn: String,
    /// `servicePrincipalName` values.
    pub spns: Vec<String>,
    /// `msDS-AdditionalDnsHostName` values.
    pub additional_dns_host_names: Vec<String>,
    /// For each value the alias needs that this computer lacks: the DN of another account
    /// holding it (case-insensitive, `cifs/<name>` counting against `HOST/<name>`).
    pub held_elsewhere: BTreeMap<SpnValue, String>,
}

impl ComputerState {
    /// Whether the computer carries `v` of `alias` (case-insensitive, as the attributes' syntax).
    pub fn has(&self, v: SpnValue, alias: &str) -> bool {
        let want = v.value_for(alias);
        let list = match v.attribute() {
            ATTR_SPN => &self.spns,
            _ => &self.additional_dns_host_names,
        };
        list.iter().any(|x| x.eq_ignore_ascii_case(&want))
    }
}

/// An alias's name in the AD-integrated zone, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasDnsState {
    /// CNAME targets at the name (normalized).
    pub cname_targets: Vec<String>,
    /// Other record types at the name (`A`, `TXT`, …): never ours.
    pub other_types: Vec<String>,
    /// TXT strings of the marker name `_fsxn-lattice.<alias>`.
    pub markers: Vec<String>,
}

impl AliasDnsState {
    /// Whether anything lives at the name or its marker.
    pub fn is_empty(&self) -> bool {
        self.cname_targets.is_empty() && self.other_types.is_empty() && self.markers.is_empty()
    }

    /// Whether a marker names `owner` and `svm`.
    pub fn owned_by(&self, owner: &str, svm: &str) -> bool {
        self.markers
            .iter()
            .any(|m| parse_marker(m).is_some_and(|(o, s)| o == owner && s == svm))
    }
}

/// What was read of the directory for one pass (docs: [`crate::observe::Observed::directory`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryObserved {
    /// Computer objects by (NetBIOS name, alias): `None` when no such computer exists.
    pub computers: BTreeMap<(String, String), Option<ComputerState>>,
    /// AD DNS state of each alias looked at, by alias FQDN.
    pub aliases: BTreeMap<String, AliasDnsState>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_round_trips_through_a_tag_value() {
        let mut r = SpnRecord::empty("non-97-svm-alias.corp.non-97.net");
        assert_eq!(r.to_tag_value(), "non-97-svm-alias.corp.non-97.net -");
        assert_eq!(SpnRecord::parse_tag_value(&r.to_tag_value()), Some(r.clone()));
        r.added.extend([SpnValue::HostShort, SpnValue::AdditionalDnsHostName]);
        assert_eq!(r.to_tag_value(), "non-97-svm-alias.corp.non-97.net dns+short");
        assert_eq!(SpnRecord::parse_tag_value(&r.to_tag_value()), Some(r));
        for bad in ["", "x", "a.b bogus", "not a name -", "a.b dns+"] {
            assert_eq!(SpnRecord::parse_tag_value(bad), None, "{bad}");
        }
    }

    #[test]
    fn values_and_names() {
        let a = "NON-97-SVM-ALIAS.corp.non-97.net.";
        assert_eq!(SpnValue::HostShort.value_for(a), "HOST/NON-97-SVM-ALIAS");
        assert_eq!(SpnValue::HostFqdn.value_for(a), "HOST/non-97-svm-alias.corp.non-97.net");
        assert_eq!(computer_name("non-97-svm.corp.non-97.net"), "NON-97-SVM");
        let c = ComputerState {
            spns: vec!["host/NON-97-SVM-ALIAS.CORP.NON-97.NET".into()],
            ..ComputerState::default()
        };
        assert!(c.has(SpnValue::HostFqdn, a) && !c.has(SpnValue::HostShort, a));
        assert_eq!(
            parse_marker(&marker("demo", "svm-1")),
            Some(("demo".into(), "svm-1".into()))
        );
        assert_eq!(parse_marker("owner=demo,svm=svm-1"), None);
    }
}
