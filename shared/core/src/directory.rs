//! Active Directory, as the planner sees it (opt-in with `[directory]`, docs/config.md): what
//! an alias needs on the SVM's computer object (its SPNs) and in the AD-integrated DNS zone (its
//! CNAME and ownership marker), and the record of what we added. The LDAP side is the
//! `fsxn-lattice-directory` crate; it re-exports these types, so both sides share one tag format.
//!
//! # Ownership
//!
//! - SPNs: an [`SpnRecord`] names the values we added; it is kept as the
//!   [`crate::naming::directory_tag`] tag on the SVM (FSx `TagResource`). Only what it names is
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

/// AWS's limit on a tag value, in characters: FSx `TagResource`'s `Tag.Value`
/// (<https://docs.aws.amazon.com/fsx/latest/APIReference/API_Tag.html>), where the record is kept.
pub const TAG_VALUE_MAX: usize = 256;

/// Length of an objectGUID in its canonical form (`8-4-4-4-12` hex digits).
pub const GUID_LEN: usize = 36;

/// The longest values token of [`SpnRecord::to_tag_value`]: all three values.
const LONGEST_VALUES: &str = "dns+fqdn+short";

/// The longest alias whose [`SpnRecord::to_tag_value`] still fits [`TAG_VALUE_MAX`] with every
/// value and the account's GUID: 256 - 14 (`dns+fqdn+short`) - 36 (the GUID) - 2 (the spaces)
/// = 204 characters. DNS allows 253; a longer alias has no room for its record on the SVM
/// ([`SpnRecord::fits_tag_value`]), and `TagResource` would refuse it.
pub const MAX_ALIAS_LEN: usize = TAG_VALUE_MAX - LONGEST_VALUES.len() - GUID_LEN - 2;

/// An objectGUID as AD displays it (`Get-ADComputer`, `dsquery`): lower-case
/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. The 16 bytes on the wire are a Windows `GUID`
/// structure: the first three groups (a u32 and two u16) are little-endian, the last eight
/// bytes are in order, so `bytes[0..4]` print reversed.
pub fn format_object_guid(bytes: &[u8; 16]) -> String {
    let b = bytes;
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    )
}

/// The 16 bytes of an objectGUID in the form [`format_object_guid`] writes (either case), in
/// the order AD stores them; `None` for anything else.
pub fn parse_object_guid(s: &str) -> Option<[u8; 16]> {
    let groups: Vec<&str> = s.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    if lens != [8, 4, 4, 4, 12] || !s.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()) {
        return None;
    }
    let hex: String = groups.concat();
    let mut seq = [0u8; 16];
    for (i, out) in seq.iter_mut().enumerate() {
        *out = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    // seq is in display order; put the three little-endian groups back.
    let mut b = seq;
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    Some(b)
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
    /// The objectGUID ([`format_object_guid`]) of the object the values were written to. A
    /// computer account deleted and re-created under the same name is another object: what we
    /// added to the old one is not ours on the new one. `None`: a record written before the
    /// GUID was kept (the object is then found by its name, as before).
    #[serde(default)]
    pub account: Option<String>,
}

impl SpnRecord {
    /// Nothing added for `alias`.
    pub fn empty(alias: impl Into<String>) -> Self {
        Self {
            alias: alias.into(),
            added: BTreeSet::new(),
            account: None,
        }
    }

    /// A compact form that fits an AWS tag value (letters, digits, space and `.:/=+-@_`):
    /// `<alias> <value>+<value>… <guid>`, e.g.
    /// `svm-alias.corp.example dns+fqdn+short 6f1c2a3b-…`; `-` for the values when nothing was
    /// added; no third token when [`SpnRecord::account`] is `None`. At most 253 + 14 + 36 + 2
    /// characters: see [`MAX_ALIAS_LEN`] and [`SpnRecord::fits_tag_value`].
    pub fn to_tag_value(&self) -> String {
        let values: Vec<&str> = self.added.iter().map(|v| v.token()).collect();
        let values = if values.is_empty() {
            "-".to_string()
        } else {
            values.join("+")
        };
        match &self.account {
            Some(guid) => format!("{} {values} {guid}", self.alias),
            None => format!("{} {values}", self.alias),
        }
    }

    /// Whether [`SpnRecord::to_tag_value`] fits AWS's [`TAG_VALUE_MAX`]: always when the alias
    /// has at most [`MAX_ALIAS_LEN`] characters.
    pub fn fits_tag_value(&self) -> bool {
        self.to_tag_value().chars().count() <= TAG_VALUE_MAX
    }

    /// Reads [`SpnRecord::to_tag_value`] back (the two-token form of older records too, with
    /// no account); `None` for anything else.
    pub fn parse_tag_value(s: &str) -> Option<Self> {
        let tokens: Vec<&str> = s.split_whitespace().collect();
        let (alias, values, account) = match tokens[..] {
            [alias, values] => (alias, values, None),
            [alias, values, guid] => (alias, values, Some(format_object_guid(&parse_object_guid(guid)?))),
            _ => return None,
        };
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
        Some(Self { alias, added, account })
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
    /// Its objectGUID ([`format_object_guid`]): what tells it from an account deleted and
    /// re-created under the same name, which a DN or `sAMAccountName` does not.
    #[serde(default)]
    pub guid: String,
    /// Its `dNSHostName` (lower case, no trailing dot), when set.
    pub dns_host_name: Option<String>,
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
    /// The CNAME's TTL in seconds, when there is a CNAME (the first one's, should there be
    /// several).
    pub ttl: Option<u32>,
}

impl AliasDnsState {
    /// Whether anything lives at the name or its marker.
    pub fn is_empty(&self) -> bool {
        self.cname_targets.is_empty() && self.other_types.is_empty() && self.markers.is_empty()
    }

    /// Whether a marker names `owner` and `svm` and every CNAME target at the name is a
    /// resource endpoint's name ([`crate::naming::is_resource_endpoint_name`]): a marker beside
    /// a CNAME to anything else was not written by us, so it proves nothing.
    pub fn owned_by(&self, owner: &str, svm: &str) -> bool {
        self.markers
            .iter()
            .any(|m| parse_marker(m).is_some_and(|(o, s)| o == owner && s == svm))
            && self
                .cname_targets
                .iter()
                .all(|t| crate::naming::is_resource_endpoint_name(t))
    }
}

/// What was read of the directory for one pass (docs: [`crate::observe::Observed::directory`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryObserved {
    /// Computer objects by (NetBIOS name, alias): `None` when no such computer exists.
    pub computers: BTreeMap<(String, String), Option<ComputerState>>,
    /// AD DNS state of each alias looked at, by alias FQDN.
    pub aliases: BTreeMap<String, AliasDnsState>,
    /// Reads that failed, by what was read (`computer <NAME>` or the alias FQDN): isolated, as
    /// a per-zone Route 53 error is, so one bad object stops only its own SVM's directory work
    /// (nothing is written or withdrawn for it on a guess), not every SVM's.
    #[serde(default)]
    pub unreadable: BTreeMap<String, crate::error::CloudError>,
    /// Every marker in the zone as listed: `(alias, TXT string)`.
    #[serde(default)]
    pub markers: Vec<(String, String)>,
}

impl DirectoryObserved {
    /// The key of a computer read in [`DirectoryObserved::unreadable`].
    pub fn computer_key(computer: &str) -> String {
        format!("computer {computer}")
    }

    /// The failed read of `computer` or `alias`, if either failed.
    pub fn unreadable_for(&self, computer: &str, alias: &str) -> Option<&crate::error::CloudError> {
        self.unreadable
            .get(&Self::computer_key(computer))
            .or_else(|| self.unreadable.get(alias))
    }

    /// Our markers in the zone: `(alias, svm)` of each marker of `owner` that
    /// [`crate::ports::Directory::list_alias_markers`] found, whether or not its alias could be
    /// read back.
    pub fn ours(&self, owner: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .markers
            .iter()
            .filter_map(|(alias, text)| {
                parse_marker(text)
                    .filter(|(o, _)| o == owner)
                    .map(|(_, svm)| (normalize_alias(alias), svm))
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An objectGUID as ldapsearch prints it (base64 of the 16 stored bytes) and as
    /// `Get-ADComputer` shows it: the first three groups are byte-reversed.
    const GUID_BYTES: [u8; 16] = [
        0x3b, 0x2a, 0x1c, 0x6f, 0x5e, 0x4d, 0x8a, 0x47, 0x91, 0x02, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6,
    ];
    const GUID: &str = "6f1c2a3b-4d5e-478a-9102-a1b2c3d4e5f6";

    #[test]
    fn object_guids_print_as_ad_shows_them_and_parse_back() {
        assert_eq!(format_object_guid(&GUID_BYTES), GUID);
        assert_eq!(parse_object_guid(GUID), Some(GUID_BYTES));
        assert_eq!(parse_object_guid(&GUID.to_ascii_uppercase()), Some(GUID_BYTES));
        // Every byte lands in one place: a GUID of distinct bytes round-trips whatever they are.
        let all: [u8; 16] = std::array::from_fn(|i| (i as u8) * 17);
        assert_eq!(parse_object_guid(&format_object_guid(&all)), Some(all));
        for bad in [
            "",
            "6f1c2a3b4d5e478a9102a1b2c3d4e5f6",
            "6f1c2a3b-4d5e-478a-9102-a1b2c3d4e5f",
            "6f1c2a3b-4d5e-478a-9102-a1b2c3d4e5fg",
            "{6f1c2a3b-4d5e-478a-9102-a1b2c3d4e5f6}",
            "6f1c2a3b-4d5e-478a-91-02a1b2c3d4e5f6",
            "+f1c2a3b-4d5e-478a-9102-a1b2c3d4e5f6",
        ] {
            assert_eq!(parse_object_guid(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_record_round_trips_through_a_tag_value() {
        let mut r = SpnRecord::empty("non-97-svm-alias.corp.non-97.net");
        assert_eq!(r.to_tag_value(), "non-97-svm-alias.corp.non-97.net -");
        assert_eq!(SpnRecord::parse_tag_value(&r.to_tag_value()), Some(r.clone()));
        r.added.extend([SpnValue::HostShort, SpnValue::AdditionalDnsHostName]);
        assert_eq!(r.to_tag_value(), "non-97-svm-alias.corp.non-97.net dns+short");
        assert_eq!(SpnRecord::parse_tag_value(&r.to_tag_value()), Some(r.clone()));
        // With the account: a third token, read back (an upper-case GUID as lower case).
        r.account = Some(GUID.into());
        assert_eq!(
            r.to_tag_value(),
            format!("non-97-svm-alias.corp.non-97.net dns+short {GUID}")
        );
        assert_eq!(SpnRecord::parse_tag_value(&r.to_tag_value()), Some(r.clone()));
        assert_eq!(
            SpnRecord::parse_tag_value(&format!(
                "non-97-svm-alias.corp.non-97.net dns+short {}",
                GUID.to_ascii_uppercase()
            )),
            Some(r)
        );
        for bad in [
            "",
            "x",
            "a.b bogus",
            "not a name -",
            "a.b dns+",
            "a.b dns not-a-guid",
            "a.b dns 6f1c2a3b-4d5e-478a-9102-a1b2c3d4e5f6 extra",
        ] {
            assert_eq!(SpnRecord::parse_tag_value(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_longest_alias_with_every_value_and_a_guid_fits_a_tag_value() {
        assert_eq!(MAX_ALIAS_LEN, 204);
        // Labels of 49 characters (`a…a.a…a`), a valid DNS name of any length here.
        let alias = |len: usize| -> String { (0..len).map(|i| if i % 50 == 49 { '.' } else { 'a' }).collect() };
        let full = |len: usize| SpnRecord {
            alias: alias(len),
            added: SpnValue::ALL.into_iter().collect(),
            account: Some(GUID.into()),
        };
        assert_eq!(full(MAX_ALIAS_LEN).to_tag_value().len(), TAG_VALUE_MAX);
        assert!(full(MAX_ALIAS_LEN).fits_tag_value());
        assert!(!full(MAX_ALIAS_LEN + 1).fits_tag_value());
        // Without the account (an older record) a longer alias still fits.
        let mut old = full(MAX_ALIAS_LEN + 1);
        old.account = None;
        assert!(old.fits_tag_value());
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
