//! The configuration file (TOML). Every field is documented in `docs/config.md`; unknown keys
//! are refused so a typo never silently changes behaviour.
//!
//! ```toml
//! owner = "prod"                      # required: ownership tag value, part of every name (1-10 of [a-z0-9-])
//!
//! [gateway]
//! security_group_ids = ["sg-03730d9e2b49e7cbc"]
//! subnet_ids = []                     # empty: choose by /28 capacity (default)
//! heal = true                         # replace a gateway whose subnets cannot get a /28
//! allow_subnet_creation = true        # carve a new subnet when no subnet has a free /28
//! new_subnet_prefix_length = 26       # the smallest that can host a gateway ENI
//! headroom_blocks = 1                 # free /28 kept reserved per gateway subnet
//!
//! [dns]
//! policy = "sync"                     # or "upsert-only": never delete records
//! ttl = 300
//!
//! [[accounts]]                       # optional: consumers in other accounts (docs/config.md)
//! id = "222233334444"
//! role_arn = "arn:aws:iam::222233334444:role/fsxn-lattice-consumer"
//! external_id = "prod-fsxn-lattice"   # optional
//!
//! [sharing]                           # optional: how configurations are shared with them
//! allow_external_principals = false   # true: accounts outside the organization (invitations)
//!
//! [[service_network_consumers]]       # optional: reach SVMs through a VPC Lattice service network
//! name = "lattice"
//! service_network = "sn-0123456789abcdef0"   # or the ARN of one shared with this account
//! hosted_zone_id = "Z0987654321ZYXWVUTSRQ"    # optional: alias CNAME → the association's DNS name
//!
//! [[consumers]]
//! name = "clients"
//! vpc_id = "vpc-0764d7f66aa8fa58a"
//! subnet_ids = ["subnet-0493d3cebba9cc691", "subnet-0bcd0a0fb136048db"]
//! security_group_ids = ["sg-0414e809a306108ed"]
//! hosted_zone_id = "Z0123456789ABCDEFGHIJ"   # optional: where aliases are published
//!
//! [tags]                              # optional: the keys read on SVMs and file systems
//! expose = "fsxn-lattice:expose"
//! alias = "fsxn-lattice:alias"
//! consumers = "fsxn-lattice:consumers"
//!
//! [[exposures]]                       # optional; tags can do the same
//! svm_id = "svm-0a1b2c3d4e5f60718"
//! protocols = ["smb", "ssh"]
//! consumers = ["clients"]             # default: all
//! alias = "non-97-svm-alias.corp.non-97.net"
//! ```

use crate::capacity::SMALLEST_GATEWAY_SUBNET_LEN;
use crate::ids::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The configuration file could not be used. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// An error message that quotes the input, with every line cut to a readable length (a
/// 50 MB line is not echoed back).
fn bounded(message: &str) -> String {
    const MAX_LINE: usize = 200;
    message
        .lines()
        .map(|l| match l.char_indices().nth(MAX_LINE) {
            Some((i, _)) => format!("{}… ({} more characters)", &l[..i], l[i..].chars().count()),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Tag keys read on SVMs and file systems (an SVM's tag wins over its file system's).
pub mod tag_keys {
    /// Protocols to expose, comma separated (`smb,nfs,ssh`); `off` opts out.
    pub const EXPOSE: &str = "fsxn-lattice:expose";
    /// Alias FQDN for the CNAME (and the SPN to register).
    pub const ALIAS: &str = "fsxn-lattice:alias";
    /// Consumer names, comma separated; default all.
    pub const CONSUMERS: &str = "fsxn-lattice:consumers";
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Ownership tag value; separate deployments in one account need separate owners.
    /// Required, no default: two deployments left on one shared default would delete each
    /// other's resources. 1–10 characters of `[a-z0-9-]` ([`crate::naming::validate_owner`]).
    pub owner: String,
    /// `[gateway]`, required: at least `security_group_ids`.
    pub gateway: GatewaySettings,
    /// `[dns]`; defaults to `sync` with a 300 s TTL.
    #[serde(default)]
    pub dns: DnsSettings,
    /// `[[consumers]]`; names unique, hosted zones not shared. With none, nothing is exposed
    /// anywhere (an exposure defaults to all consumers).
    #[serde(default)]
    pub consumers: Vec<Consumer>,
    /// `[[accounts]]`: other accounts consumers may live in, each with the role assumed there.
    /// An account stays listed until its consumers' endpoints are gone: without its role
    /// nothing in it can be seen or cleaned up.
    #[serde(default)]
    pub accounts: Vec<ConsumerAccount>,
    /// `[sharing]`: the AWS RAM shares through which other accounts reach our configurations.
    #[serde(default)]
    pub sharing: SharingSettings,
    /// `[[service_network_consumers]]`: consumers that reach the SVMs through a VPC Lattice
    /// service network (service-network VPC endpoints or VPC associations) instead of a
    /// Resource endpoint of ours. Names share one namespace with `[[consumers]]`.
    #[serde(default)]
    pub service_network_consumers: Vec<ServiceNetworkConsumer>,
    /// Explicit exposures (in addition to tags; an entry here wins over tags for its SVM).
    #[serde(default)]
    pub exposures: Vec<ExposureConfig>,
    /// `[tags]`: which tag keys to read; defaults to the `fsxn-lattice:*` keys.
    #[serde(default)]
    pub tags: TagKeys,
    /// `[[custom_domains]]`: domains verified with VPC Lattice for custom-domain consumers.
    #[serde(default)]
    pub custom_domains: Vec<CustomDomain>,
    /// `[directory]`, optional: with it, fsxn-lattice writes the alias's SPNs on the SVM's AD
    /// computer object and its CNAME in AD-integrated DNS itself; without it, the SPN is a
    /// manual step (as before).
    #[serde(default)]
    pub directory: Option<DirectoryConfig>,
}

/// `[directory]`: where the Active Directory is, how to trust it, and which Secrets Manager
/// secret holds the bind account (`{"username": …, "password": …}`). Never a password here:
/// unknown keys are refused, `password` included. The connection fields are those of
/// `fsxn_lattice_directory::DirectorySettings`, which is built from this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    /// The AD domain's DNS name (`corp.example.com`).
    pub domain: String,
    /// ARN of the Secrets Manager secret with the bind account's user name and password.
    pub secret_arn: String,
    /// The AD-integrated DNS zone the alias CNAMEs go into; default: the domain. An alias not
    /// below it gets its SPNs but no AD DNS record (with a warning).
    #[serde(default)]
    pub zone: Option<String>,
    /// Domain controllers to use, in order. Empty: located through DNS SRV `_ldap._tcp.<domain>`.
    #[serde(default)]
    pub domain_controllers: Vec<DomainController>,
    /// DNS servers for the SRV lookup. Empty: the system's resolver configuration.
    #[serde(default)]
    pub dns_servers: Vec<std::net::IpAddr>,
    /// TLS to the DCs (LDAPS by default; never plain LDAP).
    #[serde(default)]
    pub tls: TlsSettings,
    /// Also search the global catalog for SPN holders across the forest (default on).
    #[serde(default = "yes")]
    pub global_catalog: bool,
    /// Connect and per-operation timeout, 1–120 seconds (default 10).
    #[serde(default = "default_directory_timeout")]
    pub timeout_seconds: u64,
}

fn default_directory_timeout() -> u64 {
    10
}

impl DirectoryConfig {
    /// A configuration for `domain` with the bind secret `secret_arn` and every default.
    pub fn new(domain: impl Into<String>, secret_arn: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            secret_arn: secret_arn.into(),
            zone: None,
            domain_controllers: Vec::new(),
            dns_servers: Vec::new(),
            tls: TlsSettings::default(),
            global_catalog: true,
            timeout_seconds: default_directory_timeout(),
        }
    }

    /// The zone alias CNAMEs are written in: `zone`, else the domain (normalized).
    pub fn dns_zone(&self) -> String {
        crate::model::normalize_dns_name(self.zone.as_deref().unwrap_or(&self.domain))
    }

    /// Checks what types cannot.
    pub fn validate(&self) -> Result<(), DirectoryConfigError> {
        use DirectoryConfigError as E;
        crate::model::validate_fqdn(&self.domain).map_err(|why| E::Domain(self.domain.clone(), why))?;
        if let Some(z) = &self.zone {
            crate::model::validate_fqdn(z).map_err(|why| E::Zone(z.clone(), why))?;
        }
        let arn: Vec<&str> = self.secret_arn.splitn(7, ':').collect();
        if !(arn.len() == 7
            && arn[0] == "arn"
            && arn[2] == "secretsmanager"
            && arn[5] == "secret"
            && !arn[3].is_empty()
            && !arn[6].is_empty())
        {
            return Err(E::SecretArn(self.secret_arn.clone()));
        }
        if !(1..=120).contains(&self.timeout_seconds) {
            return Err(E::Timeout(self.timeout_seconds));
        }
        if let Some(dc) = self.domain_controllers.iter().find(|d| d.host.trim().is_empty()) {
            return Err(E::Controller(format!("{dc:?}")));
        }
        if self.tls.insecure_skip_verify && self.tls.ca_bundle_pem.is_some() {
            return Err(E::InsecureWithCaBundle);
        }
        if let Some(pem) = &self.tls.ca_bundle_pem
            && !pem.contains("-----BEGIN CERTIFICATE-----")
        {
            return Err(E::CaBundle);
        }
        Ok(())
    }
}

/// A `[directory]` section that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryConfigError {
    /// `domain` is not a DNS name.
    #[error("directory.domain `{0}`: {1}")]
    Domain(String, String),
    /// `zone` is not a DNS name.
    #[error("directory.zone `{0}`: {1}")]
    Zone(String, String),
    /// `secret_arn` is not a Secrets Manager secret ARN.
    #[error(
        "directory.secret_arn `{0}`: must be a Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>); the password is never in the config"
    )]
    SecretArn(String),
    /// `timeout_seconds` out of range.
    #[error("directory.timeout_seconds = {0}: must be 1..=120")]
    Timeout(u64),
    /// A domain controller without a host.
    #[error("directory.domain_controllers: a controller needs a host ({0})")]
    Controller(String),
    /// `tls.ca_bundle_pem` holds no certificate.
    #[error("directory.tls.ca_bundle_pem holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    CaBundle,
    /// `tls.insecure_skip_verify` with a `tls.ca_bundle_pem`: the switch verifies nothing, so
    /// the bundle would be silently ignored. Whoever set both meant one of them.
    #[error(
        "directory.tls: insecure_skip_verify = true and ca_bundle_pem are both set; the switch verifies no certificate, so the bundle would be ignored: remove insecure_skip_verify to verify against the bundle, or the bundle to connect unverified"
    )]
    InsecureWithCaBundle,
}

/// One domain controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainController {
    /// Its name, which its certificate must carry (`dc1.corp.example.com`), or an IP address
    /// when the certificate carries that.
    pub host: String,
    /// The port; default 636 for LDAPS, 389 for StartTLS.
    #[serde(default)]
    pub port: Option<u16>,
    /// The address to connect to when `host` does not resolve where this runs; TLS still
    /// verifies `host`.
    #[serde(default)]
    pub address: Option<std::net::IpAddr>,
}

impl DomainController {
    /// A DC by name (or address).
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port: None,
            address: None,
        }
    }
}

/// How TLS is set up. There is no plain-LDAP mode: the bind sends a password.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// TLS from the first byte (`ldaps://`, port 636).
    #[default]
    Ldaps,
    /// LDAP on port 389 upgraded with the StartTLS extended operation before the bind.
    StartTls,
}

/// TLS settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// LDAPS or StartTLS.
    #[serde(default)]
    pub mode: TlsMode,
    /// PEM bundle of the CA certificates that issue the DCs' certificates. Absent: the
    /// system's root store.
    #[serde(default)]
    pub ca_bundle_pem: Option<String>,
    /// Accept any certificate. Named so that nobody turns it on by accident; the password is
    /// then exposed to whoever can sit between us and the DC. Refused together with
    /// `ca_bundle_pem`, which it would make meaningless.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// `[tags]`: the keys read on SVMs and file systems (defaults in [`tag_keys`]). Each key is
/// 1–128 characters and may not start with `aws:`. Tags are only read when the SVM has no
/// `[[exposures]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TagKeys {
    /// Key whose value lists the protocols to expose (SVM tag, else its file system's).
    /// `true` means SMB only; `off`, `false`, `no`, `none` or empty opt out.
    pub expose: String,
    /// Key whose value is the alias FQDN. Read on the SVM only, never on its file system
    /// (two SVMs cannot share one alias).
    pub alias: String,
    /// Key whose value lists consumer names (SVM tag, else its file system's); absent means
    /// all consumers.
    pub consumers: String,
}

impl Default for TagKeys {
    fn default() -> Self {
        Self {
            expose: tag_keys::EXPOSE.into(),
            alias: tag_keys::ALIAS.into(),
            consumers: tag_keys::CONSUMERS.into(),
        }
    }
}

/// `[gateway]`: where resource gateways go and how much /28 room they keep (docs/design.md §3,
/// §11). Applies to the gateway of every file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    /// Security groups of the gateway ENIs (they must allow the protocol ports to the SVM).
    /// At least one. Sorted by the planner; a change is applied in place with
    /// `UpdateResourceGateway`, the gateway's one mutable field.
    pub security_group_ids: Vec<SecurityGroupId>,
    /// Pinned gateway subnets; empty means "choose by /28 capacity, one per AZ of the file
    /// system". When pinned subnets cannot get a /28 and `heal` is on, a replacement gateway
    /// goes where capacity is.
    #[serde(default)]
    pub subnet_ids: Vec<SubnetId>,
    /// Replace a gateway whose subnets cannot get a /28 or cannot route to the floating IPs
    /// (default on); off, the file system is refused and its gateway left as it is.
    #[serde(default = "yes")]
    pub heal: bool,
    /// Carve a new subnet when no subnet in an AZ has a free /28 (default on). The carved
    /// subnet is tagged ours and deleted once no gateway of ours uses it.
    #[serde(default = "yes")]
    pub allow_subnet_creation: bool,
    /// Prefix length of carved subnets, 16–26 (default 26, [`SMALLEST_GATEWAY_SUBNET_LEN`]: a
    /// /27 cannot hold an aligned /28 clear of AWS's reserved addresses).
    #[serde(default = "default_new_subnet_len")]
    pub new_subnet_prefix_length: u8,
    /// Free /28 blocks kept under a `prefix` CIDR reservation in each gateway subnet, so Lattice
    /// can add ENIs later (0–4).
    #[serde(default = "one")]
    pub headroom_blocks: u8,
}

fn yes() -> bool {
    true
}
fn one() -> u8 {
    1
}
fn default_new_subnet_len() -> u8 {
    SMALLEST_GATEWAY_SUBNET_LEN
}

/// How DNS records are managed (`dns.policy`, kebab-case in the file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DnsPolicy {
    /// Create, update and delete our records.
    #[default]
    Sync,
    /// Create and update; never delete.
    UpsertOnly,
}

/// `[dns]`: how alias records are written in consumers' hosted zones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSettings {
    /// `sync` (default) or `upsert-only`; under the latter an alias no longer desired is left
    /// in place with a warning.
    #[serde(default)]
    pub policy: DnsPolicy,
    /// TTL of the CNAME and TXT records (seconds, 0–86400).
    #[serde(default = "default_ttl")]
    pub ttl: u32,
}

fn default_ttl() -> u32 {
    300
}

impl Default for DnsSettings {
    fn default() -> Self {
        Self {
            policy: DnsPolicy::Sync,
            ttl: default_ttl(),
        }
    }
}

/// `[[consumers]]`: a VPC that gets a Resource endpoint per exposed SVM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consumer {
    /// Short name, 1–63 characters of `[a-z0-9-]`, unique among consumers. Goes into the
    /// endpoint's [`crate::naming::CONSUMER_TAG`], the ownership TXT and the client token, so
    /// renaming a consumer replaces its endpoints.
    pub name: String,
    /// The consumer VPC. It must exist and have `enableDnsSupport` and `enableDnsHostnames`
    /// on, else the consumer is refused.
    pub vpc_id: VpcId,
    /// Endpoint subnets (one per AZ); not empty. Sorted by the planner.
    pub subnet_ids: Vec<SubnetId>,
    /// Endpoint security groups; empty means the VPC's default group (EC2's default).
    #[serde(default)]
    pub security_group_ids: Vec<SecurityGroupId>,
    /// Private hosted zone where aliases for this consumer are published; no two consumers may
    /// share one. `None`: endpoints only, no alias records. In the consumer's account.
    #[serde(default)]
    pub hosted_zone_id: Option<HostedZoneId>,
    /// The account the VPC (and the zone) is in, one of `[[accounts]]`; `None`: the stack's own.
    #[serde(default)]
    pub account: Option<AccountId>,
    /// How this consumer's clients find an SVM by its alias: a Route 53 CNAME of ours in
    /// `hosted_zone_id` (`cname`, the default), or the VPC Lattice custom domain name of the
    /// SVM's configuration answered by the endpoint's private DNS (`custom-domain`, no zone of
    /// ours). README "Alias modes" says which clients see which answer.
    #[serde(default)]
    pub alias_mode: AliasMode,
}

/// `alias_mode` of a `[[consumers]]` entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AliasMode {
    /// A CNAME alias → endpoint DNS name, with its ownership TXT, in the consumer's zone.
    #[default]
    Cname,
    /// The SVM's configuration carries the alias as its custom domain name; the consumer's
    /// endpoint is created with private DNS for exactly that name, so the VPC's resolver
    /// answers it from a private hosted zone VPC Lattice manages.
    CustomDomain,
}

/// `[[custom_domains]]`: a domain fsxn-lattice verifies with VPC Lattice
/// (`StartDomainVerification`), so that configurations whose custom domain name is in it carry
/// the verification. Verifying a domain verifies its subdomains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomDomain {
    /// The domain (3–255 characters, botocore's `StartDomainVerification.domainName`).
    pub domain: String,
    /// A hosted zone of the stack's account where fsxn-lattice publishes the verification's TXT
    /// record. It must be the zone public DNS answers for the domain: the verification is
    /// looked up on public DNS (UNCONFIRMED for VPC Lattice; stated for PrivateLink endpoint
    /// services, docs/design.md §12). `None`: the TXT is a manual step in the plan.
    #[serde(default)]
    pub hosted_zone_id: Option<HostedZoneId>,
}

/// `[[accounts]]`: an AWS account other than the stack's where consumers live. Its consumers'
/// endpoints and alias records are read and written through `role_arn` (STS `AssumeRole`), and
/// our resource configurations reach it through an AWS RAM resource share of ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerAccount {
    /// The account (12 digits).
    pub id: AccountId,
    /// `arn:<partition>:iam::<id>:role/<path><name>`: the role fsxn-lattice assumes there
    /// (`templates/consumer-account.yaml` creates it). Must be in `id`.
    pub role_arn: String,
    /// `sts:ExternalId` the role's trust policy requires, if any: 2–1224 characters of
    /// `[\w+=,.@:/-]` (STS `AssumeRole`, botocore's `externalIdType`). Not a secret (AWS IAM
    /// user guide, "external ID").
    #[serde(default)]
    pub external_id: Option<String>,
}

/// `[[service_network_consumers]]`: our resource configurations are associated with a service
/// network (ours, or one another account shares with ours through RAM); its consumers reach an
/// SVM through the association's DNS name, which the alias CNAME points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceNetworkConsumer {
    /// Short name, as for `[[consumers]]` (unique across both tables).
    pub name: String,
    /// The service network: its id (`sn-…`, ours) or ARN (also one shared with us).
    pub service_network: String,
    /// Private hosted zone of the stack's account where the alias CNAME to the association's
    /// DNS name is published; `None`: the association only.
    #[serde(default)]
    pub hosted_zone_id: Option<HostedZoneId>,
}

impl ServiceNetworkConsumer {
    /// The service network's id (`sn-…`), from the id or the ARN given.
    pub fn service_network_id(&self) -> &str {
        self.service_network.rsplit('/').next().unwrap_or(&self.service_network)
    }
}

/// Checks a service network given as `sn-<17 hex>` or
/// `arn:<partition>:vpc-lattice:<region>:<account>:servicenetwork/sn-<17 hex>` (botocore's
/// `vpc-lattice` model: `ServiceNetworkIdentifier`, 3–2048 characters).
pub fn validate_service_network(value: &str) -> Result<(), String> {
    let id_ok = |id: &str| {
        id.strip_prefix("sn-")
            .is_some_and(|h| h.len() == 17 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    };
    let ok = if value.starts_with("arn:") {
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        parts.len() == 6
            && matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
            && parts[2] == "vpc-lattice"
            && !parts[3].is_empty()
            && parts[4].len() == 12
            && parts[4].bytes().all(|b| b.is_ascii_digit())
            && parts[5].strip_prefix("servicenetwork/").is_some_and(id_ok)
    } else {
        id_ok(value)
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "service_network `{}` must be sn-<17 hex digits> or arn:aws:vpc-lattice:<region>:<account>:servicenetwork/sn-…",
            bounded(value)
        ))
    }
}

/// `[sharing]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharingSettings {
    /// RAM `allowExternalPrincipals` of the shares we create: `false` (default) shares only
    /// inside the AWS Organization (no invitation; RAM sharing with the organization must be
    /// on), `true` also with accounts outside it, each of which receives an invitation that
    /// the assumed role accepts.
    #[serde(default)]
    pub allow_external_principals: bool,
}

/// Checks a role ARN names a role in `account`: `arn:<partition>:iam::<account>:role/<name>`,
/// the name (with its path) 1–512 characters of IAM's `[\w+=,.@/-]`.
pub fn validate_role_arn(arn: &str, account: &AccountId) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4] == account.as_str()
        && parts[5].strip_prefix("role/").is_some_and(|name| {
            !name.is_empty()
                && name.len() <= 512
                && !name.ends_with('/')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@/-".contains(c))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "role_arn `{}` must be arn:aws:iam::{account}:role/<name> (a role in account {account})",
            bounded(arn)
        ))
    }
}

/// Checks an `sts:ExternalId`: 2–1224 characters of `[\w+=,.@:/-]` (botocore STS model,
/// `externalIdType`).
pub fn validate_external_id(id: &str) -> Result<(), String> {
    let ok = (2..=1224).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
    if ok {
        Ok(())
    } else {
        Err("external_id must be 2-1224 characters of [A-Za-z0-9_+=,.@:/-]".to_string())
    }
}

/// `[[exposures]]`: an SVM exposed by the file rather than by tags. The entry replaces the
/// SVM's tags entirely (protocols, consumers and alias are all taken from here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExposureConfig {
    /// At most one entry per SVM. An id FSx does not list is refused (`NotFound`) at
    /// resolution, not at parse time.
    pub svm_id: SvmId,
    /// Protocol names as [`crate::model::Protocol::parse`] reads them; not empty, checked when
    /// the file is loaded.
    pub protocols: Vec<String>,
    /// Consumer names, each one defined in `[[consumers]]`; empty means all.
    #[serde(default)]
    pub consumers: Vec<String>,
    /// Alias FQDN, checked by [`crate::model::validate_fqdn`] and unique across entries.
    /// `None` means no alias, even if the SVM carries an alias tag.
    #[serde(default)]
    pub alias: Option<String>,
}

impl Config {
    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let config: Config = toml::from_str(text).map_err(|e| ConfigError(bounded(&e.to_string())))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if let Err(why) = crate::naming::validate_owner(&self.owner) {
            return Err(ConfigError(format!("owner `{}`: {why}", self.owner)));
        }
        for (name, key) in [
            ("expose", &self.tags.expose),
            ("alias", &self.tags.alias),
            ("consumers", &self.tags.consumers),
        ] {
            if key.is_empty() || key.len() > 128 || key.starts_with("aws:") {
                return Err(ConfigError(format!(
                    "tags.{name} = `{key}`: a tag key is 1-128 characters and cannot start with `aws:`"
                )));
            }
        }
        let g = &self.gateway;
        if g.security_group_ids.is_empty() {
            return Err(ConfigError(
                "gateway.security_group_ids must name at least one security group".into(),
            ));
        }
        if !(16..=SMALLEST_GATEWAY_SUBNET_LEN).contains(&g.new_subnet_prefix_length) {
            return Err(ConfigError(format!(
                "gateway.new_subnet_prefix_length = {}: must be 16..=26 (a /27 or smaller cannot hold an aligned /28 that avoids AWS's reserved addresses)",
                g.new_subnet_prefix_length
            )));
        }
        if g.headroom_blocks > 4 {
            return Err(ConfigError(format!(
                "gateway.headroom_blocks = {}: must be 0..=4",
                g.headroom_blocks
            )));
        }
        if self.dns.ttl > 86_400 {
            return Err(ConfigError(format!(
                "dns.ttl = {}: must be at most 86400",
                self.dns.ttl
            )));
        }
        let mut accounts = BTreeSet::new();
        for a in &self.accounts {
            if !accounts.insert(&a.id) {
                return Err(ConfigError(format!("account {} is listed twice", a.id)));
            }
            validate_role_arn(&a.role_arn, &a.id).map_err(|m| ConfigError(format!("account {}: {m}", a.id)))?;
            if let Some(x) = &a.external_id {
                validate_external_id(x).map_err(|m| ConfigError(format!("account {}: {m}", a.id)))?;
            }
        }
        let mut names = BTreeSet::new();
        let mut zones = BTreeSet::new();
        for c in &self.consumers {
            if let Some(a) = &c.account
                && !accounts.contains(a)
            {
                return Err(ConfigError(format!(
                    "consumer `{}`: account {a} is not listed in [[accounts]] (with the role to assume there)",
                    c.name
                )));
            }
            if !name_ok(&c.name) {
                return Err(ConfigError(format!(
                    "consumer name `{}` must be 1-63 characters of [a-z0-9-]",
                    c.name
                )));
            }
            if !names.insert(c.name.as_str()) {
                return Err(ConfigError(format!("consumer `{}` is defined twice", c.name)));
            }
            if c.subnet_ids.is_empty() {
                return Err(ConfigError(format!(
                    "consumer `{}`: subnet_ids must not be empty",
                    c.name
                )));
            }
            if let Some(z) = &c.hosted_zone_id
                && !zones.insert(z)
            {
                return Err(ConfigError(format!(
                    "hosted zone {z} is used by two consumers: one alias name would need two CNAME targets"
                )));
            }
            if c.alias_mode == AliasMode::CustomDomain && c.hosted_zone_id.is_some() {
                return Err(ConfigError(format!(
                    "consumer `{}`: alias_mode = \"custom-domain\" answers the alias through the endpoint's private DNS; leave hosted_zone_id out (a CNAME of ours there would answer the same name)",
                    c.name
                )));
            }
        }
        // One VPC, one answer per name: a custom-domain consumer's endpoint answers the alias
        // in its VPC, and so may another consumer's there (once the domain is verified).
        for c in self
            .consumers
            .iter()
            .filter(|c| c.alias_mode == AliasMode::CustomDomain)
        {
            if let Some(other) = self
                .consumers
                .iter()
                .find(|o| o.name != c.name && o.vpc_id == c.vpc_id && o.account == c.account)
            {
                return Err(ConfigError(format!(
                    "consumers `{}` and `{}` are both in {}: a custom-domain consumer must be the only consumer of its VPC (two endpoints cannot answer one name in one VPC)",
                    c.name, other.name, c.vpc_id
                )));
            }
        }
        let mut domains = BTreeSet::new();
        for d in &self.custom_domains {
            // validate_fqdn asks for two labels, so at least 3 characters (StartDomainVerification:
            // 3-255).
            crate::model::validate_fqdn(&d.domain)
                .map_err(|m| ConfigError(format!("custom_domains: `{}`: {m}", d.domain)))?;
            if !domains.insert(crate::model::normalize_dns_name(&d.domain)) {
                return Err(ConfigError(format!("custom_domains: `{}` is listed twice", d.domain)));
            }
        }
        for c in &self.service_network_consumers {
            if !name_ok(&c.name) {
                return Err(ConfigError(format!(
                    "consumer name `{}` must be 1-63 characters of [a-z0-9-]",
                    c.name
                )));
            }
            if !names.insert(c.name.as_str()) {
                return Err(ConfigError(format!("consumer `{}` is defined twice", c.name)));
            }
            validate_service_network(&c.service_network)
                .map_err(|m| ConfigError(format!("consumer `{}`: {m}", c.name)))?;
            if let Some(z) = &c.hosted_zone_id
                && !zones.insert(z)
            {
                return Err(ConfigError(format!(
                    "hosted zone {z} is used by two consumers: one alias name would need two CNAME targets"
                )));
            }
        }
        let mut networks = BTreeSet::new();
        for c in &self.service_network_consumers {
            if !networks.insert(c.service_network_id()) {
                return Err(ConfigError(format!(
                    "service network {} is named by two consumers: a configuration is associated with it once",
                    c.service_network_id()
                )));
            }
        }
        if let Some(d) = &self.directory {
            d.validate().map_err(|e| ConfigError(e.to_string()))?;
        }
        let mut svms = BTreeSet::new();
        let mut aliases: std::collections::BTreeMap<String, &SvmId> = std::collections::BTreeMap::new();
        for e in &self.exposures {
            if !svms.insert(&e.svm_id) {
                return Err(ConfigError(format!("exposure for {} is defined twice", e.svm_id)));
            }
            for p in &e.protocols {
                crate::model::Protocol::parse(p).map_err(|m| ConfigError(format!("exposure {}: {m}", e.svm_id)))?;
            }
            if e.protocols.is_empty() {
                return Err(ConfigError(format!(
                    "exposure {}: protocols must not be empty",
                    e.svm_id
                )));
            }
            for c in &e.consumers {
                if !names.contains(c.as_str()) {
                    return Err(ConfigError(format!("exposure {}: unknown consumer `{c}`", e.svm_id)));
                }
            }
            if let Some(a) = &e.alias {
                crate::model::validate_fqdn(a).map_err(|m| ConfigError(format!("exposure {}: {m}", e.svm_id)))?;
                if let Some(other) = aliases.insert(crate::model::normalize_dns_name(a), &e.svm_id) {
                    return Err(ConfigError(format!(
                        "exposures {other} and {} both use alias `{a}`: one name can point at one endpoint",
                        e.svm_id
                    )));
                }
            }
        }
        Ok(())
    }

    /// An account of `[[accounts]]` by id.
    pub fn account(&self, id: &AccountId) -> Option<&ConsumerAccount> {
        self.accounts.iter().find(|a| &a.id == id)
    }

    /// A service-network consumer by name.
    pub fn service_network_consumer(&self, name: &str) -> Option<&ServiceNetworkConsumer> {
        self.service_network_consumers.iter().find(|c| c.name == name)
    }

    /// Every consumer name, of both kinds, in file order (`[[consumers]]` first).
    pub fn consumer_names(&self) -> Vec<String> {
        self.consumers
            .iter()
            .map(|c| c.name.clone())
            .chain(self.service_network_consumers.iter().map(|c| c.name.clone()))
            .collect()
    }

    /// A consumer by name.
    pub fn consumer(&self, name: &str) -> Option<&Consumer> {
        self.consumers.iter().find(|c| c.name == name)
    }

    /// The `[[custom_domains]]` entry that verifies `name` (the longest domain that is `name`
    /// or a parent of it), if any.
    pub fn custom_domain_for(&self, name: &str) -> Option<&CustomDomain> {
        let name = crate::model::normalize_dns_name(name);
        self.custom_domains
            .iter()
            .filter(|d| {
                let d = crate::model::normalize_dns_name(&d.domain);
                name == d || name.ends_with(&format!(".{d}"))
            })
            .max_by_key(|d| d.domain.trim_end_matches('.').len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
owner = "prod"
[gateway]
security_group_ids = ["sg-03730d9e2b49e7cbc"]
[[consumers]]
name = "clients"
vpc_id = "vpc-0764d7f66aa8fa58a"
subnet_ids = ["subnet-0493d3cebba9cc691"]
hosted_zone_id = "Z08285483B41F6ASEM5U1"
[[exposures]]
svm_id = "svm-0a1b2c3d4e5f60718"
protocols = ["smb", "ssh"]
alias = "non-97-svm-alias.corp.non-97.net"
"#;

    /// Review: the role ARN and external id at their edges (IAM, STS and botocore limits).
    #[test]
    fn review_role_arns_and_external_ids_at_their_edges() {
        let a = AccountId::parse("222233334444").unwrap();
        for ok in [
            "arn:aws:iam::222233334444:role/x",
            "arn:aws-us-gov:iam::222233334444:role/x",
            "arn:aws-cn:iam::222233334444:role/a/b/c.d@e=f,g+h_i-j",
        ] {
            assert!(validate_role_arn(ok, &a).is_ok(), "{ok}");
        }
        for bad in [
            "arn:aws:iam::222233334444:role/",
            "arn:aws:iam::222233334444:role/x/",
            "arn:aws:iam::222233334444:role/x y",
            "arn:aws:iam::222233334444:role/x:y",
            "arn:aws:iam:us-east-1:222233334444:role/x",
            "arn:aws:iam::222233334445:role/x",
            "arn:aws:sts::222233334444:assumed-role/x/y",
            "arn:aws:iam::222233334444:role/x\n",
            "arn:evil:iam::222233334444:role/x",
            "",
        ] {
            assert!(validate_role_arn(bad, &a).is_err(), "{bad:?}");
        }
        assert!(validate_role_arn(&format!("arn:aws:iam::222233334444:role/{}", "x".repeat(512)), &a).is_ok());
        assert!(validate_role_arn(&format!("arn:aws:iam::222233334444:role/{}", "x".repeat(513)), &a).is_err());
        for (id, ok) in [
            ("ab".to_string(), true),
            ("a".to_string(), false),
            ("x".repeat(1224), true),
            ("x".repeat(1225), false),
            ("a:b/c@d=e,f.g+h_i-j".to_string(), true),
            ("é1".to_string(), false),
            ("a\nb".to_string(), false),
            ("a b".to_string(), false),
        ] {
            assert_eq!(validate_external_id(&id).is_ok(), ok, "{id:?}");
        }
    }

    #[test]
    fn a_consumer_in_another_account_names_a_listed_account_and_its_role() {
        let c = Config::from_toml(&format!(
            "{GOOD}\n[sharing]\nallow_external_principals = true\n[[accounts]]\nid = \"222233334444\"\nrole_arn = \"arn:aws:iam::222233334444:role/team/fsxn-lattice-consumer\"\nexternal_id = \"prod-fsxn:lattice\"\n[[consumers]]\nname = \"far\"\nvpc_id = \"vpc-2\"\nsubnet_ids = [\"subnet-2\"]\naccount = \"222233334444\"\n"
        ))
        .unwrap();
        let far = c.consumer("far").unwrap();
        let account = c.account(far.account.as_ref().unwrap()).unwrap();
        assert_eq!(account.external_id.as_deref(), Some("prod-fsxn:lattice"));
        assert!(c.sharing.allow_external_principals);
        assert_eq!(c.consumer("clients").unwrap().account, None);
        assert!(!Config::from_toml(GOOD).unwrap().sharing.allow_external_principals);
    }

    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:fsxnl-ad-AbCdEf";

    #[test]
    fn a_directory_section_is_optional_and_typed() {
        assert_eq!(Config::from_toml(GOOD).unwrap().directory, None);
        let c = Config::from_toml(&format!(
            "{GOOD}\n[directory]\ndomain = \"corp.non-97.net\"\nsecret_arn = \"{SECRET}\"\n[[directory.domain_controllers]]\nhost = \"dc1.corp.non-97.net\"\n[directory.tls]\nmode = \"start-tls\"\n"
        ))
        .unwrap();
        let d = c.directory.unwrap();
        assert_eq!(d.dns_zone(), "corp.non-97.net");
        assert_eq!(d.tls.mode, TlsMode::StartTls);
        assert!(d.global_catalog && d.timeout_seconds == 10);
        assert_eq!(d.domain_controllers, [DomainController::new("dc1.corp.non-97.net")]);
        let mut bad = DirectoryConfig::new("corp.non-97.net", SECRET);
        bad.tls.ca_bundle_pem = Some("not a pem".into());
        assert_eq!(bad.validate(), Err(DirectoryConfigError::CaBundle));
        // The insecure switch would ignore a bundle: both together are refused, each alone is not.
        bad.tls.ca_bundle_pem = Some("-----BEGIN CERTIFICATE-----".into());
        bad.tls.insecure_skip_verify = true;
        assert_eq!(bad.validate(), Err(DirectoryConfigError::InsecureWithCaBundle));
        let both = format!(
            "{GOOD}\n[directory]\ndomain = \"corp.non-97.net\"\nsecret_arn = \"{SECRET}\"\n[directory.tls]\nca_bundle_pem = \"-----BEGIN CERTIFICATE-----\"\ninsecure_skip_verify = true\n"
        );
        let e = Config::from_toml(&both).unwrap_err();
        assert!(
            e.0.contains("insecure_skip_verify") && e.0.contains("ca_bundle_pem"),
            "{e:?}"
        );
        bad.tls.ca_bundle_pem = None;
        assert_eq!(bad.validate(), Ok(()));
        bad.tls.insecure_skip_verify = false;
        bad.domain_controllers.push(DomainController::new(" "));
        assert!(matches!(bad.validate(), Err(DirectoryConfigError::Controller(_))));
    }

    #[test]
    fn the_documented_example_parses_directory_included() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.md")).unwrap();
        let start = doc.find("```toml\n").unwrap() + "```toml\n".len();
        let end = start + doc[start..].find("```").unwrap();
        let c = Config::from_toml(&doc[start..end]).unwrap();
        let d = c.directory.unwrap();
        assert_eq!(
            (d.dns_zone().as_str(), d.domain_controllers.len()),
            ("corp.non-97.net", 1)
        );
    }

    #[test]
    fn custom_domain_consumers_and_domains_are_checked() {
        let custom = "\n[[consumers]]\nname = \"dns\"\nvpc_id = \"vpc-0d4d4d4d4d4d4d4d4\"\nsubnet_ids = [\"subnet-0d4d4d4d4d4d4d4d1\"]\nalias_mode = \"custom-domain\"\n";
        let c = Config::from_toml(&format!(
            "{GOOD}{custom}[[custom_domains]]\ndomain = \"Corp.Non-97.net.\"\nhosted_zone_id = \"Z0PUBLIC0000000000001\"\n[[custom_domains]]\ndomain = \"non-97.net\"\n"
        ))
        .unwrap();
        assert_eq!(c.consumer("dns").unwrap().alias_mode, AliasMode::CustomDomain);
        assert_eq!(c.consumer("clients").unwrap().alias_mode, AliasMode::Cname);
        // The longest domain that contains the name verifies it; none outside.
        let d = |n: &str| c.custom_domain_for(n).map(|d| d.domain.clone());
        assert_eq!(d("svm.corp.non-97.net"), Some("Corp.Non-97.net.".into()));
        assert_eq!(d("corp.non-97.net"), Some("Corp.Non-97.net.".into()));
        assert_eq!(d("other.non-97.net"), Some("non-97.net".into()));
        assert_eq!(d("xnon-97.net"), None);
        for (bad, says) in [
            (
                custom.replace("alias_mode", "hosted_zone_id = \"Z0987654321ZYXWVUTSRQ\"\nalias_mode"),
                "leave hosted_zone_id out",
            ),
            (custom.replace("custom-domain", "route53"), "alias_mode"),
            (
                format!("{custom}[[custom_domains]]\ndomain = \"a.net\"\n[[custom_domains]]\ndomain = \"A.net.\"\n"),
                "listed twice",
            ),
            (
                format!("{custom}[[custom_domains]]\ndomain = \"bad name\"\n"),
                "custom_domains",
            ),
            (
                format!("{custom}[[custom_domains]]\ndomain = \"a\"\nzone = \"x\"\n"),
                "zone",
            ),
        ] {
            let e = Config::from_toml(&format!("{GOOD}{bad}")).unwrap_err();
            assert!(e.0.contains(says), "{says}: {e}");
        }
    }

    #[test]
    fn a_good_file_parses_with_defaults() {
        let c = Config::from_toml(GOOD).unwrap();
        assert_eq!(c.owner, "prod");
        assert!(c.gateway.heal && c.gateway.allow_subnet_creation);
        assert_eq!(c.gateway.new_subnet_prefix_length, 26);
        assert_eq!(c.dns.ttl, 300);
        assert_eq!(c.dns.policy, DnsPolicy::Sync);
    }

    #[test]
    fn a_byte_order_mark_is_ignored_and_a_huge_line_is_not_echoed() {
        assert_eq!(
            Config::from_toml(&format!("\u{feff}{GOOD}")).unwrap(),
            Config::from_toml(GOOD).unwrap()
        );
        let huge = format!("{GOOD}\nbogus = \"{}\"\n", "x".repeat(5_000_000));
        let err = Config::from_toml(&huge).unwrap_err().to_string();
        assert!(err.len() < 2_000, "{} bytes of error", err.len());
        assert!(err.contains("more characters"), "{err}");
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let cases = [
            (GOOD.replace("owner = \"prod\"", "owner = \"Prod!\""), "owner"),
            (GOOD.replace("owner = \"prod\"", ""), "missing field `owner`"),
            (
                format!(
                    "{GOOD}\n[[exposures]]\nsvm_id = \"svm-0b0b0b0b0b0b0b0b0\"\nprotocols = [\"smb\"]\nalias = \"NON-97-svm-alias.corp.non-97.net\"\n"
                ),
                "exposures svm-0a1b2c3d4e5f60718 and svm-0b0b0b0b0b0b0b0b0 both use alias",
            ),
            (
                GOOD.replace("owner = \"prod\"", "owner = \"storage-team-1\""),
                "1 to 10 characters",
            ),
            (
                GOOD.replace("[gateway]", "[gateway]\nnew_subnet_prefix_length = 27"),
                "27",
            ),
            (GOOD.replace("[gateway]", "[gateway]\nsubnets = []"), "unknown field"),
            (GOOD.replace("\"smb\", \"ssh\"", "\"smb\", \"ftp\""), "ftp"),
            (GOOD.replace("\"smb\", \"ssh\"", "\"iscsi\""), "iscsi"),
            (GOOD.replace("sg-03730d9e2b49e7cbc", "subnet-1"), "security group id"),
            (
                GOOD.replace("alias = \"non-97-svm-alias.corp.non-97.net\"", "alias = \"bad name\""),
                "alias",
            ),
            (
                format!("{GOOD}\n[[consumers]]\nname = \"clients\"\nvpc_id = \"vpc-1\"\nsubnet_ids = [\"subnet-1\"]\n"),
                "twice",
            ),
            (
                GOOD.replace(
                    "protocols = [\"smb\", \"ssh\"]",
                    "protocols = [\"smb\"]\nconsumers = [\"nobody\"]",
                ),
                "unknown consumer",
            ),
            (
                "owner = \"x\"\n[gateway]\nsecurity_group_ids = []".to_string(),
                "at least one",
            ),
            (
                format!(
                    "{GOOD}\n[[consumers]]\nname = \"far\"\nvpc_id = \"vpc-2\"\nsubnet_ids = [\"subnet-2\"]\naccount = \"222233334444\"\n"
                ),
                "account 222233334444 is not listed in [[accounts]]",
            ),
            (
                format!(
                    "{GOOD}\n[[accounts]]\nid = \"222233334444\"\nrole_arn = \"arn:aws:iam::999999999999:role/x\"\n"
                ),
                "a role in account 222233334444",
            ),
            (
                format!(
                    "{GOOD}\n[[accounts]]\nid = \"222233334444\"\nrole_arn = \"arn:aws:iam::222233334444:user/x\"\n"
                ),
                "role_arn",
            ),
            (
                format!("{GOOD}\n[[accounts]]\nid = \"22223333444\"\nrole_arn = \"arn:aws:iam::22223333444:role/x\"\n"),
                "12 digits",
            ),
            (
                format!(
                    "{GOOD}\n[[accounts]]\nid = \"222233334444\"\nrole_arn = \"arn:aws:iam::222233334444:role/x\"\nexternal_id = \"a b\"\n"
                ),
                "external_id",
            ),
            (
                format!(
                    "{GOOD}\n[[accounts]]\nid = \"222233334444\"\nrole_arn = \"arn:aws:iam::222233334444:role/x\"\n[[accounts]]\nid = \"222233334444\"\nrole_arn = \"arn:aws:iam::222233334444:role/y\"\n"
                ),
                "listed twice",
            ),
            (format!("{GOOD}\n[sharing]\nallow_external = true\n"), "unknown field"),
            (format!("{GOOD}\n[tags]\nexpose = \"aws:x\"\n"), "tags.expose"),
            ("not toml at all [".to_string(), "invalid configuration"),
            (
                format!(
                    "{GOOD}\n[directory]\ndomain = \"corp.non-97.net\"\nsecret_arn = \"{SECRET}\"\npassword = \"x\"\n"
                ),
                "unknown field `password`",
            ),
            (
                format!("{GOOD}\n[directory]\ndomain = \"corp.non-97.net\"\nsecret_arn = \"arn:aws:s3:::bucket\"\n"),
                "directory.secret_arn",
            ),
            (
                format!("{GOOD}\n[directory]\ndomain = \"corp\"\nsecret_arn = \"{SECRET}\"\n"),
                "directory.domain",
            ),
            (
                format!(
                    "{GOOD}\n[directory]\ndomain = \"corp.non-97.net\"\nsecret_arn = \"{SECRET}\"\ntimeout_seconds = 0\n"
                ),
                "directory.timeout_seconds",
            ),
        ];
        for (text, needle) in cases {
            let err = Config::from_toml(&text).unwrap_err().to_string();
            assert!(err.contains(needle), "expected `{needle}` in: {err}");
        }
    }
}
