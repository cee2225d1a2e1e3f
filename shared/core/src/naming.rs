//! Deterministic names, client tokens and ownership marks.
//!
//! Everything fsxn-lattice creates carries the ownership tag `fsxn-lattice:owner=<owner>`; DNS
//! records carry an ownership TXT record beside them (external-dns style). Nothing without the
//! mark is ever changed or deleted.

use crate::ids::{FileSystemId, SvmId};
use crate::model::{PortRange, Tags};
use sha2::{Digest, Sha256};
use std::net::Ipv4Addr;

/// Tag key marking what this tool created; the value is the configured owner.
pub const OWNER_TAG: &str = "fsxn-lattice:owner";
/// Tag key: the file system a gateway, subnet or reservation serves.
pub const FILE_SYSTEM_TAG: &str = "fsxn-lattice:file-system";
/// Tag key: the SVM a configuration or endpoint serves.
pub const SVM_TAG: &str = "fsxn-lattice:svm";
/// Tag key: the consumer (by configured name) an endpoint serves.
pub const CONSUMER_TAG: &str = "fsxn-lattice:consumer";
/// Tag key: the hosted zone an endpoint's alias is published in (empty when none), so the
/// alias can be withdrawn even after its consumer left the config.
pub const HOSTED_ZONE_TAG: &str = "fsxn-lattice:hosted-zone";
/// Tag key: the gateway generation (1, 2, …), bumped on every replacement.
pub const GENERATION_TAG: &str = "fsxn-lattice:generation";
/// Tag key on a resource configuration: the target it was last given (`<ip> <port> <port>…`),
/// written at create and after every update, so a steady-state read needs no
/// `GetResourceConfiguration` per configuration (see [`target_tag_value`]).
pub const TARGET_TAG: &str = "fsxn-lattice:target";
/// Tag on our configurations that are (or were) associated with a service network: those are
/// the ones whose associations are read, so one left behind by a removed consumer is found. Its
/// value names the hosted zones the service-network consumers' aliases of the SVM are (or were)
/// published in, comma separated (`none`: none), so those are read too and an alias of a
/// removed consumer is withdrawn (as an endpoint's [`HOSTED_ZONE_TAG`] does for endpoints).
pub const SERVICE_NETWORKS_TAG: &str = "fsxn-lattice:service-networks";

/// The value of [`SERVICE_NETWORKS_TAG`] for `zones`.
pub fn service_networks_tag_value(zones: &std::collections::BTreeSet<crate::ids::HostedZoneId>) -> String {
    if zones.is_empty() {
        "none".to_string()
    } else {
        zones.iter().map(|z| z.as_str()).collect::<Vec<_>>().join(",")
    }
}

/// The zones a [`SERVICE_NETWORKS_TAG`] value names (anything unreadable left out).
pub fn parse_service_networks_tag(value: &str) -> std::collections::BTreeSet<crate::ids::HostedZoneId> {
    value
        .split(',')
        .filter_map(|z| crate::ids::HostedZoneId::parse(z.trim()).ok())
        .collect()
}

/// Tag on our AWS RAM resource shares: the consumer account the share is for (one share per
/// account, so narrowing one account's access never touches another's).
pub const ACCOUNT_TAG: &str = "fsxn-lattice:account";

/// Name of our resource share for consumer `account`: `fsxnl-<owner>-<account>` (RAM names
/// are up to 255 characters; this is at most 29).
pub fn share_name(owner: &str, account: &crate::ids::AccountId) -> String {
    format!("{NAME_PREFIX}-{owner}-{account}")
}
/// Prefix of the ownership TXT record's name: `_fsxn-lattice.<alias>` (a CNAME cannot share its
/// name with another record type, so the TXT sits beside it).
pub const OWNERSHIP_TXT_LABEL: &str = "_fsxn-lattice";
/// Prefix of the tag on an SVM (FSx `TagResource`) holding a deployment's
/// [`crate::directory::SpnRecord`] of its alias; the key is [`directory_tag`].
pub const DIRECTORY_TAG_PREFIX: &str = "fsxn-lattice:directory:";

/// The key of the tag holding owner `owner`'s [`crate::directory::SpnRecord`] on an SVM: what
/// that deployment added to the SVM's AD computer object, in
/// [`crate::directory::SpnRecord::to_tag_value`] form. Written only with `[directory]`; it
/// also says which alias our AD DNS record is for. One key per owner, so a deployment never
/// reads another's record as its own (and never removes the SPNs another added).
pub fn directory_tag(owner: &str) -> String {
    format!("{DIRECTORY_TAG_PREFIX}{owner}")
}
/// Prefix of the tag on an SVM naming the endpoints its AD DNS CNAME may point at; the key is
/// [`directory_dns_tag`].
pub const DIRECTORY_DNS_TAG_PREFIX: &str = "fsxn-lattice:directory-dns:";

/// The key of the tag on an SVM naming, space separated, the resource VPC endpoints that owner
/// `owner`'s AD DNS CNAME of its alias may point at: written by the Directory function before
/// it publishes or repoints the CNAME (both old and new while it repoints), narrowed after,
/// removed once the CNAME is withdrawn. The other functions cannot read AD; this tag is how
/// they know which endpoints to keep until the Directory function has moved the CNAME off them.
pub fn directory_dns_tag(owner: &str) -> String {
    format!("{DIRECTORY_DNS_TAG_PREFIX}{owner}")
}

/// The endpoints a [`directory_dns_tag`] value names (ill-formed words are skipped).
pub fn parse_directory_dns_tag(value: &str) -> Vec<crate::ids::VpcEndpointId> {
    value.split_whitespace().filter_map(|w| w.parse().ok()).collect()
}

/// Whether `name` has the form of a resource VPC endpoint's DNS name
/// (`vpce-….rcfg-….vpc-lattice-rsc.<region>.on.aws`, the seed's endpoint): the only CNAME
/// target fsxn-lattice ever writes. A marker of ours beside a CNAME to anything else was not
/// written by us (anyone may create nodes in an AD-integrated zone by default), so that CNAME
/// is never touched on its word.
pub fn is_resource_endpoint_name(name: &str) -> bool {
    let n = crate::model::normalize_dns_name(name);
    n.starts_with("vpce-") && n.ends_with(".on.aws")
}

/// Prefix of every Lattice name this tool gives.
pub const NAME_PREFIX: &str = "fsxnl";

/// Why a VPC Lattice name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid VPC Lattice name `{name}`: {why}")]
pub struct InvalidName {
    /// The refused name, verbatim.
    pub name: String,
    /// The first rule it breaks, in the order checked: length, characters, hyphens, prefix.
    pub why: &'static str,
}

/// Checks VPC Lattice's name rules for gateways (`forbidden_prefix` = `rgw-`) and
/// configurations (`rcfg-`): 3–40 characters of `[a-z0-9-]`, no leading, trailing or double
/// hyphen ([CreateResourceGateway](https://docs.aws.amazon.com/vpc-lattice/latest/APIReference/API_CreateResourceGateway.html)).
pub fn validate_lattice_name(name: &str, forbidden_prefix: &str) -> Result<(), InvalidName> {
    let err = |why| {
        Err(InvalidName {
            name: name.to_string(),
            why,
        })
    };
    if !(3..=40).contains(&name.len()) {
        return err("must be 3 to 40 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return err("only lowercase letters, digits and hyphens are allowed");
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        return err("no leading, trailing or double hyphen");
    }
    if name.starts_with(forbidden_prefix) {
        return err("must not start with the service's id prefix");
    }
    Ok(())
}

/// The longest owner: VPC Lattice names are at most 40 characters and ours are
/// `fsxnl-<owner>-<17 hex digits of the FSx id>-g<generation>`, 6 + owner + 1 + 17 + 2 + up to 4
/// digits of generation.
pub const MAX_OWNER_LEN: usize = 10;

/// Why an owner is refused: it is part of every name, tag and client token, so it must fit in
/// a VPC Lattice name ([`validate_lattice_name`]) beside the rest.
pub fn validate_owner(owner: &str) -> Result<(), &'static str> {
    if owner.is_empty() || owner.len() > MAX_OWNER_LEN {
        return Err("must be 1 to 10 characters (it is part of every VPC Lattice name, at most 40)");
    }
    if !owner
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("only lowercase letters, digits and hyphens are allowed");
    }
    if owner.starts_with('-') || owner.ends_with('-') || owner.contains("--") {
        return Err("no leading, trailing or double hyphen (VPC Lattice names refuse them)");
    }
    Ok(())
}

/// The gateway name for a file system's generation `generation`. The owner is part of it:
/// names are unique per account, and two stacks (two owners) may expose the same file system.
pub fn gateway_name(owner: &str, fs: &FileSystemId, generation: u32) -> String {
    format!("{NAME_PREFIX}-{owner}-{}-g{generation}", fs.suffix())
}

/// The configuration name for an SVM behind gateway generation `generation` (owner as for
/// [`gateway_name`]).
pub fn configuration_name(owner: &str, svm: &SvmId, generation: u32) -> String {
    format!("{NAME_PREFIX}-{owner}-{}-g{generation}", svm.suffix())
}

/// The name of a configuration carrying a custom domain name: the owner and a digest of SVM,
/// generation, domain and verification (29 characters at most, under VPC Lattice's 40), so each
/// custom domain (fixed at creation) gets a configuration name of its own beside
/// [`configuration_name`]'s.
pub fn custom_domain_configuration_name(
    owner: &str,
    svm: &SvmId,
    generation: u32,
    domain: &str,
    verification: Option<&str>,
) -> String {
    let token = client_token(&[
        "custom-domain-configuration",
        svm.as_str(),
        &generation.to_string(),
        domain,
        verification.unwrap_or(""),
    ]);
    let digest = token.rsplit('-').next().unwrap_or(&token);
    format!("{NAME_PREFIX}-{owner}-d{}", &digest[..12])
}

/// A client token derived from the desired object's identity: the same desired object gives the
/// same token (so retries and replays are idempotent); anything different gives another. 38
/// characters, under EC2's 64 and Lattice's 64.
pub fn client_token(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{NAME_PREFIX}-{hex}")
}

/// The base tags of everything created for `owner`.
pub fn owner_tags(owner: &str) -> Tags {
    Tags::from([(OWNER_TAG.to_string(), owner.to_string())])
}

/// Whether the tags mark a resource as created by `owner`.
pub fn is_owned(tags: &Tags, owner: &str) -> bool {
    tags.get(OWNER_TAG).is_some_and(|v| v == owner)
}

/// The generation a resource's tags give, if any.
pub fn generation_of(tags: &Tags) -> Option<u32> {
    tags.get(GENERATION_TAG)?.parse().ok()
}

/// The [`TARGET_TAG`] value for a configuration's target: `10.0.15.239 22 445 2049`. Spaces,
/// not commas: tag values allow letters, digits, spaces and `+ - = . _ : / @` only.
pub fn target_tag_value(ip: Ipv4Addr, ports: &[PortRange]) -> String {
    let mut v = ip.to_string();
    for p in ports {
        v.push(' ');
        v.push_str(&p.to_string());
    }
    v
}

/// Reads a [`TARGET_TAG`] value back; `None` when it is not one (hand-edited, truncated).
pub fn parse_target_tag(value: &str) -> Option<(Ipv4Addr, Vec<PortRange>)> {
    let mut parts = value.split_whitespace();
    let ip = parts.next()?.parse().ok()?;
    let ports = parts
        .map(|p| PortRange::try_from(p.to_string()).ok())
        .collect::<Option<Vec<_>>>()?;
    (!ports.is_empty()).then_some((ip, ports))
}

/// The ownership TXT record's name for an alias.
pub fn ownership_txt_name(alias_fqdn: &str) -> String {
    format!("{OWNERSHIP_TXT_LABEL}.{alias_fqdn}")
}

/// The ownership TXT record's value (quoted, as Route 53 stores TXT values).
pub fn ownership_txt_value(owner: &str, svm: &SvmId, consumer: &str) -> String {
    format!("\"heritage=fsxn-lattice,owner={owner},svm={svm},consumer={consumer}\"")
}

/// Reads an ownership TXT value back: `(owner, svm, consumer)`.
pub fn parse_ownership_txt(value: &str) -> Option<(String, String, String)> {
    let inner = value.trim().trim_matches('"');
    let mut fields = inner.split(',').filter_map(|kv| kv.split_once('='));
    let mut get = |k: &str| fields.find(|(key, _)| *key == k).map(|(_, v)| v.to_string());
    if get("heritage")? != "fsxn-lattice" {
        return None;
    }
    Some((get("owner")?, get("svm")?, get("consumer")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_names_are_valid_lattice_names() {
        let fs = FileSystemId::parse("fs-07f1088148f103e3a").unwrap();
        let svm = SvmId::parse("svm-0a1b2c3d4e5f60718").unwrap();
        assert_eq!(gateway_name("prod", &fs, 2), "fsxnl-prod-07f1088148f103e3a-g2");
        let longest = "a".repeat(MAX_OWNER_LEN);
        validate_owner(&longest).unwrap();
        validate_lattice_name(&gateway_name(&longest, &fs, 9999), "rgw-").unwrap();
        validate_lattice_name(&configuration_name(&longest, &svm, 9999), "rcfg-").unwrap();
        assert_ne!(
            gateway_name("a", &fs, 1),
            gateway_name("b", &fs, 1),
            "two owners never collide"
        );
    }

    #[test]
    fn owners_that_would_make_invalid_names_are_refused() {
        for (owner, ok) in [
            ("prod", true),
            ("team-a", true),
            ("a", true),
            ("", false),
            ("abcdefghijk", false),
            ("Prod", false),
            ("-a", false),
            ("a-", false),
            ("a--b", false),
            ("a_b", false),
        ] {
            assert_eq!(validate_owner(owner).is_ok(), ok, "{owner}");
        }
    }

    #[test]
    fn target_tag_round_trips_and_refuses_what_it_did_not_write() {
        let ports = vec![
            PortRange::single(22),
            PortRange::single(445),
            PortRange { from: 2049, to: 2050 },
        ];
        let ip: Ipv4Addr = "10.0.15.239".parse().unwrap();
        let v = target_tag_value(ip, &ports);
        assert_eq!(v, "10.0.15.239 22 445 2049-2050");
        assert!(v.chars().all(|c| c.is_ascii_alphanumeric() || " +-=._:/@".contains(c)));
        assert_eq!(parse_target_tag(&v), Some((ip, ports)));
        for bad in [
            "",
            "10.0.15.239",
            "10.0.15.239 0",
            "10.0.15 445",
            "10.0.15.239 445,2049",
            "x 22",
        ] {
            assert_eq!(parse_target_tag(bad), None, "{bad}");
        }
    }

    #[test]
    fn lattice_name_rules_table() {
        for (name, ok) in [
            ("non-97-rgw", true),
            ("ab", false),
            ("a".repeat(41).as_str(), false),
            ("Upper", false),
            ("-lead", false),
            ("trail-", false),
            ("dou--ble", false),
            ("rgw-mine", false),
            ("under_score", false),
        ] {
            assert_eq!(validate_lattice_name(name, "rgw-").is_ok(), ok, "{name}");
        }
    }

    #[test]
    fn client_tokens_are_stable_and_distinct() {
        let a = client_token(&["svm-1", "vpc-1"]);
        assert_eq!(a, client_token(&["svm-1", "vpc-1"]));
        assert_ne!(a, client_token(&["svm-1", "vpc-2"]));
        assert_ne!(client_token(&["ab", "c"]), client_token(&["a", "bc"]));
        assert!(a.len() <= 64);
    }

    #[test]
    fn ownership_txt_round_trips() {
        let svm = SvmId::parse("svm-0a1b").unwrap();
        let v = ownership_txt_value("default", &svm, "clients");
        assert_eq!(
            parse_ownership_txt(&v),
            Some(("default".into(), "svm-0a1b".into(), "clients".into()))
        );
        assert_eq!(parse_ownership_txt("\"heritage=external-dns,owner=x\""), None);
        assert_eq!(parse_ownership_txt("\"v=spf1 -all\""), None);
    }
}
