//! Names: NetBIOS computer names, the SPNs an alias needs, and escaping for LDAP filters
//! (RFC 4515) and DN attribute values (RFC 4514).

use crate::dnsp::normalize_name;
use crate::error::{DirectoryError, DirectoryErrorKind};

/// Longest NetBIOS computer name (the `sAMAccountName` without its `$`).
pub const MAX_NETBIOS: usize = 15;

fn invalid(operation: &str, msg: String) -> DirectoryError {
    DirectoryError::new(DirectoryErrorKind::InvalidInput, operation, msg)
}

/// A computer's NetBIOS name, upper-cased, without a trailing `$`: 1–15 characters, none of
/// `\ / : * ? " < > | . ,` or spaces, ASCII only.
pub fn netbios_name(name: &str) -> Result<String, DirectoryError> {
    let bare = name.strip_suffix('$').unwrap_or(name);
    if bare.is_empty() || bare.len() > MAX_NETBIOS {
        return Err(invalid(
            "computer name",
            format!("NetBIOS name {name:?} must have 1 to {MAX_NETBIOS} characters"),
        ));
    }
    if let Some(c) = bare
        .chars()
        .find(|c| !c.is_ascii_graphic() || "\\/:*?\"<>|.,=+;@[]{}~!#$%^&'()".contains(*c))
    {
        return Err(invalid(
            "computer name",
            format!("NetBIOS name {name:?} contains {c:?}"),
        ));
    }
    Ok(bare.to_ascii_uppercase())
}

/// An alias's validated FQDN (lower case, no trailing dot, at least two labels).
pub fn alias_fqdn(alias: &str) -> Result<String, DirectoryError> {
    let fqdn = normalize_name(alias).map_err(|e| invalid("alias", format!("alias {alias:?}: {e}")))?;
    if !fqdn.contains('.') {
        return Err(invalid(
            "alias",
            format!("alias {alias:?} must be a fully qualified name"),
        ));
    }
    if fqdn.starts_with('_') {
        return Err(invalid("alias", format!("alias {alias:?} is not a host name")));
    }
    Ok(fqdn)
}

// The values and the record are the core's (`fsxn_lattice_core::directory`): the planner reads
// the record from the SVM's tag, this crate writes what it names.
pub use fsxn_lattice_core::directory::{SpnRecord, SpnValue};

/// The values an alias needs on the computer object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasValues {
    /// The alias FQDN (for `msDS-AdditionalDnsHostName`).
    pub fqdn: String,
    /// `HOST/<fqdn>`.
    pub host_fqdn: String,
    /// `HOST/<SHORT>`.
    pub host_short: String,
}

impl AliasValues {
    /// The values for `alias`.
    pub fn for_alias(alias: &str) -> Result<Self, DirectoryError> {
        let fqdn = alias_fqdn(alias)?;
        let first = fqdn.split('.').next().unwrap_or_default();
        let host_short = format!("HOST/{}", first.to_ascii_uppercase());
        Ok(Self {
            host_fqdn: format!("HOST/{fqdn}"),
            fqdn,
            host_short,
        })
    }

    /// The attribute and value of `v` (`None`: a short SPN this alias does not have).
    pub fn get(&self, v: SpnValue) -> Option<(&'static str, &str)> {
        match v {
            SpnValue::AdditionalDnsHostName => Some((ATTR_ADDITIONAL_DNS, self.fqdn.as_str())),
            SpnValue::HostFqdn => Some((ATTR_SPN, self.host_fqdn.as_str())),
            SpnValue::HostShort => Some((ATTR_SPN, self.host_short.as_str())),
        }
    }

    /// Every value the alias needs.
    pub fn all(&self) -> Vec<(SpnValue, &'static str, &str)> {
        [SpnValue::AdditionalDnsHostName, SpnValue::HostFqdn, SpnValue::HostShort]
            .into_iter()
            .filter_map(|v| self.get(v).map(|(a, s)| (v, a, s)))
            .collect()
    }
}

/// `msDS-AdditionalDnsHostName`.
pub const ATTR_ADDITIONAL_DNS: &str = "msDS-AdditionalDnsHostName";
/// `servicePrincipalName`.
pub const ATTR_SPN: &str = "servicePrincipalName";

/// Escapes a value for an LDAP search filter (RFC 4515 §3): `*`, `(`, `)`, `\`, NUL and every
/// non-ASCII byte as `\XX`.
pub fn escape_filter(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'*' | b'(' | b')' | b'\\' | 0 | 0x80..=0xff => out.push_str(&format!("\\{b:02x}")),
            _ => out.push(char::from(b)),
        }
    }
    out
}

/// Escapes a binary value (an objectGUID) for an LDAP search filter: every byte as `\XX`, the
/// form AD matches octet strings by.
pub fn escape_filter_bytes(value: &[u8]) -> String {
    value.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// Escapes an attribute value for a DN (RFC 4514 §2.4).
pub fn escape_dn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
    out
}

/// The name of `fqdn` relative to `zone` (`svm-alias` for `svm-alias.corp.example` in
/// `corp.example`); refuses the apex and names outside the zone.
pub fn relative_name(fqdn: &str, zone: &str) -> Result<String, DirectoryError> {
    let zone = normalize_name(zone).map_err(|e| invalid("zone", format!("zone {zone:?}: {e}")))?;
    let fqdn = normalize_name(fqdn).map_err(|e| invalid("alias", format!("{fqdn:?}: {e}")))?;
    match fqdn.strip_suffix(&zone).and_then(|p| p.strip_suffix('.')) {
        Some(rel) if !rel.is_empty() => Ok(rel.to_string()),
        _ => Err(invalid(
            "alias",
            format!("{fqdn} must be a name below the zone {zone}: a CNAME cannot sit at the apex or outside the zone"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netbios_names() {
        assert_eq!(netbios_name("non-97-svm").unwrap(), "NON-97-SVM");
        assert_eq!(netbios_name("NON-97-SVM$").unwrap(), "NON-97-SVM");
        for bad in [
            "",
            "$",
            "A234567890123456",
            "a b",
            "a.b",
            "a*",
            "a)(x",
            "bücher",
            "a\\b",
        ] {
            assert!(netbios_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn alias_values_derive_the_spns() {
        let v = AliasValues::for_alias("NON-97-SVM-alias.Corp.Non-97.net.").unwrap();
        assert_eq!(v.fqdn, "non-97-svm-alias.corp.non-97.net");
        assert_eq!(v.host_fqdn, "HOST/non-97-svm-alias.corp.non-97.net");
        assert_eq!(v.host_short, "HOST/NON-97-SVM-ALIAS");
        assert_eq!(v.all().len(), 3);
        for bad in ["alias", "_x.corp.example", "a..b", "ali as.corp", "*.corp.example"] {
            assert!(AliasValues::for_alias(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn record_round_trips_through_a_tag_value() {
        let mut r = SpnRecord::empty("svm-alias.corp.example");
        assert_eq!(r.to_tag_value(), "svm-alias.corp.example -");
        assert_eq!(SpnRecord::parse_tag_value(&r.to_tag_value()), Some(r.clone()));
        r.added
            .extend([SpnValue::HostShort, SpnValue::AdditionalDnsHostName, SpnValue::HostFqdn]);
        assert_eq!(r.to_tag_value(), "svm-alias.corp.example dns+fqdn+short");
        assert_eq!(SpnRecord::parse_tag_value(&r.to_tag_value()), Some(r));
        assert_eq!(SpnRecord::parse_tag_value("svm-alias.corp.example dns+all"), None);
        assert_eq!(SpnRecord::parse_tag_value("nonsense"), None);
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_filter("HOST/a*)(x\\"), "HOST/a\\2a\\29\\28x\\5c");
        assert_eq!(escape_filter("ü"), "\\c3\\bc");
        assert_eq!(escape_filter_bytes(&[0x00, 0x2a, 0xff, b'a']), "\\00\\2a\\ff\\61");
        assert_eq!(escape_dn_value("a,b=c"), "a\\,b\\=c");
        assert_eq!(escape_dn_value("#a "), "\\#a\\ ");
        assert_eq!(
            relative_name("svm-alias.corp.example.", "Corp.Example").unwrap(),
            "svm-alias"
        );
        assert_eq!(
            relative_name("_fsxn-lattice.a.corp.example", "corp.example").unwrap(),
            "_fsxn-lattice.a"
        );
        assert!(relative_name("corp.example", "corp.example").is_err());
        assert!(relative_name("a.other.example", "corp.example").is_err());
        assert!(relative_name("acorp.example", "corp.example").is_err());
    }
}
