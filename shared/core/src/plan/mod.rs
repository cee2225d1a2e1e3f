//! `plan(config, desired, observed) -> Plan`: pure and deterministic (no clock, no I/O, no
//! randomness; ordered collections only).
//!
//! A plan holds only actions whose inputs exist now. A gateway must exist before its
//! configuration, a configuration before its endpoints, so a reconcile runs observe → plan →
//! apply until the plan is empty (see [`crate::reconcile`]). Replacement keeps the old path
//! serving: new gateway → new configuration → new endpoint → alias repointed → only then are the
//! old endpoint, configuration and gateway deleted, in that order.
//!
//! # Parts
//!
//! - This module: the [`Plan`] and its [`Action`]s, [`plan`], and the planner's skeleton: its
//!   state, the order of the parts (`run`), and per file system which exposures are active,
//!   what becomes of its gateway, and its exposures on that gateway.
//! - `gateways`: where a file system's gateway goes (one subnet per AZ, routed to the file
//!   system's floating IPs), whether the current one is kept or replaced, carving subnets,
//!   `/28` capacity, prefix reservations and headroom, route table associations.
//! - `exposure`: resource configurations (one per SVM on the gateway) and the Resource VPC
//!   endpoints of each consumer (`ensure_endpoint`), and the consumers refused up front.
//! - `dns`: the alias CNAME and its ownership TXT, published, repointed and withdrawn; the
//!   Kerberos step left to a person.
//! - `cleanup`: tearing down what is no longer desired: a file system's superseded endpoints,
//!   configurations and gateways, orphaned endpoints, our reservations and carved subnets.

mod cleanup;
mod custom_domains;
mod directory;
mod dns;
mod exposure;
mod gateways;
mod sharing;
#[cfg(test)]
mod tests_support;

use crate::capacity::{SubnetCapacity, analyze_subnets};
use crate::config::Config;
use crate::desired::{Desired, Exposure, Refusal};
use crate::directory::{SpnRecord, SpnValue};
use crate::error::ErrorKind;
use crate::ids::*;
use crate::model::*;
use crate::naming::*;
use crate::observe::Observed;
use gateways::GatewayDecision;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

/// A verb with everything needed to carry it out: every id, name, token and tag set below is
/// decided by the planner. Tag sets always hold [`crate::naming::OWNER_TAG`] with the
/// configured owner plus the extra tags named per action. Serialized with an `"action"` field
/// holding the variant name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Action {
    /// Carve a subnet for gateway ENIs, when no subnet of the file system's VPC in an AZ has a
    /// free aligned /28.
    CreateSubnet {
        /// The file system's VPC.
        vpc_id: VpcId,
        /// AZ name (`us-east-1b`) of the file system subnet that lacks a gateway subnet.
        availability_zone: String,
        /// The lowest free block of the VPC's CIDRs of length `gateway.new_subnet_prefix_length`
        /// (config), avoiding existing subnets, the endpoint IP range and blocks planned earlier.
        cidr: Ipv4Net,
        /// Owner, [`crate::naming::FILE_SYSTEM_TAG`], and `Name` = `fsxn-lattice-gateway-<az>`.
        tags: Tags,
    },
    /// Make a subnet we carved use one of the file system's route tables, the only ones FSx
    /// writes the routes to its floating IPs into.
    AssociateRouteTable {
        /// The VPC of both.
        vpc_id: VpcId,
        /// The file system's route table.
        route_table_id: RouteTableId,
        /// Our subnet.
        subnet_id: SubnetId,
    },
    /// Reserve a free /28 with a `prefix` CIDR reservation, so EC2's random placement of other
    /// addresses cannot fragment the block a gateway ENI needs (docs/design.md §3), plus
    /// `gateway.headroom_blocks` more.
    ReserveCidr {
        /// A subnet the gateway uses or will use.
        subnet_id: SubnetId,
        /// A free, aligned /28 of that subnet not reserved by anyone yet (nor earlier in this
        /// plan).
        cidr: Ipv4Net,
        /// `fsxn-lattice: /28 for resource gateway ENIs of <fs-id>`; for people, not ownership.
        description: String,
        /// Owner and [`crate::naming::FILE_SYSTEM_TAG`].
        tags: Tags,
    },
    /// Create a resource gateway.
    CreateResourceGateway {
        /// [`crate::naming::gateway_name`] of owner, file system and generation.
        name: String,
        /// The file system's VPC.
        vpc_id: VpcId,
        /// One subnet per file-system AZ, each using one of the file system's route tables
        /// (pinned by `gateway.subnet_ids` in the config when given).
        subnet_ids: Vec<SubnetId>,
        /// `gateway.security_group_ids` from the config, sorted.
        security_group_ids: Vec<SecurityGroupId>,
        /// Always 16: one /28 prefix per ENI, what the capacity analysis reserves for.
        ipv4_addresses_per_eni: u8,
        /// [`crate::naming::client_token`] of owner, name, VPC, subnets and security groups:
        /// a replay of the same request is idempotent, a changed one is a new request.
        client_token: String,
        /// Owner, [`crate::naming::FILE_SYSTEM_TAG`] and [`crate::naming::GENERATION_TAG`].
        tags: Tags,
    },
    /// Change a gateway's security groups (its only mutable field); planned only for an
    /// `ACTIVE` gateway.
    UpdateResourceGateway {
        /// Our current gateway of the file system.
        gateway_id: GatewayId,
        /// `gateway.security_group_ids` from the config, sorted; replaces the whole set.
        security_group_ids: Vec<SecurityGroupId>,
    },
    /// Create a resource configuration (type SINGLE, `ipResource`) for one SVM on the current
    /// gateway.
    CreateResourceConfiguration {
        /// [`crate::naming::configuration_name`] of owner, SVM and the gateway's generation.
        name: String,
        /// The file system's current gateway (must be `ACTIVE`).
        gateway_id: GatewayId,
        /// The SVM's floating IP (the exposure's `target_ip`).
        ip_address: Ipv4Addr,
        /// The exposure's `ports`: one single-port range per TCP port of the exposed
        /// protocols, sorted and de-duplicated (see [`Protocol::ports`]).
        port_ranges: Vec<PortRange>,
        /// The exposure's alias, when one of its consumers has `alias_mode = "custom-domain"`:
        /// fixed at creation, so a different one means a new configuration.
        #[serde(default)]
        custom_domain_name: Option<String>,
        /// Our `VERIFIED` verification of the `[[custom_domains]]` entry the custom domain is
        /// in, if any.
        #[serde(default)]
        domain_verification_id: Option<String>,
        /// [`crate::naming::client_token`] of owner, name, gateway, IP, ports, custom domain and
        /// verification.
        client_token: String,
        /// Owner, [`crate::naming::SVM_TAG`], [`crate::naming::FILE_SYSTEM_TAG`],
        /// [`crate::naming::GENERATION_TAG`] and [`crate::naming::TARGET_TAG`] (IP and ports,
        /// so later reads need no `GetResourceConfiguration`).
        tags: Tags,
    },
    /// Change a configuration's target or ports, when the SVM's IP or the exposed protocols
    /// changed.
    UpdateResourceConfiguration {
        /// Our configuration of the SVM on the current gateway.
        configuration_id: ResourceConfigurationId,
        /// The SVM's floating IP now.
        ip_address: Ipv4Addr,
        /// The ports wanted now, as for the create.
        port_ranges: Vec<PortRange>,
        /// Tags set after the update: the owner and the new [`crate::naming::TARGET_TAG`].
        tags: Tags,
    },
    /// Create a Resource VPC endpoint of one consumer for one SVM's configuration.
    CreateVpcEndpoint {
        /// The consumer's VPC (config).
        vpc_id: VpcId,
        /// The consumer's `subnet_ids` from the config, sorted.
        subnet_ids: Vec<SubnetId>,
        /// The consumer's `security_group_ids` from the config, sorted.
        security_group_ids: Vec<SecurityGroupId>,
        /// [`ResourceConfiguration::arn`] of our configuration on the current gateway.
        resource_configuration_arn: String,
        /// [`crate::naming::client_token`] of owner, SVM, consumer, VPC, configuration ARN,
        /// subnets, security groups and the ids of failed endpoints it replaces (so a
        /// replacement is a new request, not a replay of the failed one).
        client_token: String,
        /// Owner, [`crate::naming::SVM_TAG`], [`crate::naming::CONSUMER_TAG`],
        /// [`crate::naming::FILE_SYSTEM_TAG`] and [`crate::naming::HOSTED_ZONE_TAG`] (`""` when
        /// the consumer has no zone).
        tags: Tags,
        /// The consumer's account (`None`: the stack's own), where the endpoint is created
        /// through the role assumed there.
        #[serde(default)]
        account: Option<AccountId>,
        /// Private DNS options: for a custom-domain consumer, exactly the alias
        /// ([`PrivateDns::for_alias`]); otherwise none (EC2's default).
        #[serde(default)]
        private_dns: PrivateDns,
    },
    /// Start verifying a `[[custom_domains]]` domain with VPC Lattice.
    StartDomainVerification {
        /// The domain, normalized.
        domain_name: String,
        /// [`crate::naming::client_token`] of owner and domain.
        client_token: String,
        /// Owner, and [`crate::naming::HOSTED_ZONE_TAG`] = the zone its TXT goes in (`""`
        /// when published by hand), so the TXT is found to withdraw once the domain is removed.
        tags: Tags,
    },
    /// CREATE the verification's TXT record in the domain's zone (never over another record).
    PublishVerificationTxt {
        /// The `[[custom_domains]]` entry's zone (stack account).
        hosted_zone_id: HostedZoneId,
        /// `txtMethodConfig.name` TXT `"txtMethodConfig.value"`, the configured TTL.
        record: RecordSet,
    },
    /// DELETE our verification's TXT record, exactly as read (its value is the verification's
    /// own token, which is what proves it ours).
    DeleteVerificationTxt {
        /// The zone the verification's tag names.
        hosted_zone_id: HostedZoneId,
        /// The record as read.
        record: RecordSet,
    },
    /// Delete one of our domain verifications (its domain no longer configured, a duplicate, or
    /// timed out), once no configuration uses it and its TXT is withdrawn.
    DeleteDomainVerification {
        /// `dv-…`.
        verification_id: String,
        /// Its domain, for messages.
        domain_name: String,
    },
    /// Associate our configuration with a service network (a `[[service_network_consumers]]`
    /// entry); its DNS name is what that consumer's alias points at.
    CreateServiceNetworkAssociation {
        /// Our configuration on the current gateway.
        configuration_id: ResourceConfigurationId,
        /// The service network, as configured (id, or ARN of a shared one).
        service_network: String,
        /// The consumer's name.
        consumer: String,
        /// [`crate::naming::client_token`] of owner, configuration ARN and service network.
        client_token: String,
        /// Owner, [`crate::naming::SVM_TAG`] and [`crate::naming::CONSUMER_TAG`].
        tags: Tags,
    },
    /// Publish or repoint the alias CNAME (and write its ownership TXT) in one all-or-nothing
    /// batch: CREATE where nothing is, DELETE of the exact record read + CREATE where ours
    /// changes. Never UPSERT: a record written by someone else since it was read makes the
    /// batch fail instead of being overwritten.
    PublishAlias {
        /// The consumer's private hosted zone.
        hosted_zone_id: HostedZoneId,
        /// The CNAME wanted: alias FQDN → the available endpoint's DNS name, simple routing,
        /// the configured TTL.
        cname: RecordSet,
        /// Our CNAME as read, replaced by `cname` (None: created).
        replaces_cname: Option<RecordSet>,
        /// The ownership TXT wanted (None: ours is already right).
        txt: Option<RecordSet>,
        /// Our TXT as read, replaced by `txt` (None: created).
        replaces_txt: Option<RecordSet>,
        /// The zone's account (`None`: the stack's own).
        #[serde(default)]
        account: Option<AccountId>,
    },
    /// DELETE the alias CNAME (exactly as observed) and its ownership TXT in one batch.
    DeleteAlias {
        /// The zone both records are in.
        hosted_zone_id: HostedZoneId,
        /// The observed CNAME at the alias name; `None` when only our TXT is left.
        cname: Option<RecordSet>,
        /// The observed ownership TXT naming us: what proves the CNAME is ours.
        txt: RecordSet,
        /// The zone's account (`None`: the stack's own).
        #[serde(default)]
        account: Option<AccountId>,
    },
    /// Delete one of our endpoints (superseded, failed, orphaned, or of a consumer no longer
    /// configured).
    DeleteVpcEndpoint {
        /// An endpoint carrying our owner tag.
        vpc_endpoint_id: VpcEndpointId,
        /// Its account (`None`: the stack's own).
        #[serde(default)]
        account: Option<AccountId>,
    },
    /// Delete a service-network association of one of our configurations (superseded, failed,
    /// or of a consumer no longer configured).
    DeleteServiceNetworkAssociation {
        /// `snra-…`.
        association_id: String,
        /// Its service network (`sn-…`), for the record.
        service_network_id: String,
    },
    /// Share configurations with a consumer account through a new AWS RAM resource share of
    /// ours (one per account).
    CreateResourceShare {
        /// The consumer account: the share's only principal.
        account: AccountId,
        /// [`crate::naming::share_name`].
        name: String,
        /// The configurations its consumers need, sorted.
        resource_arns: Vec<String>,
        /// `[sharing] allow_external_principals`.
        allow_external_principals: bool,
        /// [`crate::naming::client_token`] of owner, name and resources.
        client_token: String,
        /// Owner and [`crate::naming::ACCOUNT_TAG`].
        tags: Tags,
    },
    /// Add configurations (or the account itself, when its association was lost) to our share
    /// for a consumer account.
    AssociateResourceShare {
        /// The consumer account.
        account: AccountId,
        /// Our share for it.
        share_arn: String,
        /// Configurations to add, sorted.
        resource_arns: Vec<String>,
        /// Principals to add (the account, or none).
        principals: Vec<AccountId>,
    },
    /// Accept, in the consumer account and through its role, the invitation to our share (an
    /// account outside the organization).
    AcceptShareInvitation {
        /// The consumer account.
        account: AccountId,
        /// `resourceShareInvitationArn`.
        invitation_arn: String,
        /// Our share it is for.
        share_arn: String,
    },
    /// Remove from our share configurations no endpoint of the account uses or will use.
    DisassociateResourceShare {
        /// The consumer account.
        account: AccountId,
        /// Our share for it.
        share_arn: String,
        /// Configurations to remove, sorted.
        resource_arns: Vec<String>,
        /// Principals to remove: accounts other than `account` (a share of ours has only it).
        #[serde(default)]
        principals: Vec<AccountId>,
    },
    /// Delete our share for an account that needs none of our configurations any more.
    DeleteResourceShare {
        /// The consumer account.
        account: AccountId,
        /// Our share.
        share_arn: String,
    },
    /// Delete one of our configurations (failed, superseded, or no longer desired), once no
    /// endpoint uses it.
    DeleteResourceConfiguration {
        /// A configuration carrying our owner tag.
        configuration_id: ResourceConfigurationId,
    },
    /// Delete one of our gateways once nothing is on it; never one already
    /// `DELETE_IN_PROGRESS`.
    DeleteResourceGateway {
        /// A gateway carrying our owner tag.
        gateway_id: GatewayId,
    },
    /// Delete one of our CIDR reservations.
    ReleaseCidr {
        /// A reservation carrying our owner tag, in a subnet no gateway of ours uses any more.
        reservation_id: CidrReservationId,
    },
    /// End the route table association of a subnet we carved, before deleting it.
    DisassociateRouteTable {
        /// `rtbassoc-…`.
        association_id: String,
        /// Our subnet.
        subnet_id: SubnetId,
    },
    /// Delete a subnet we carved.
    DeleteSubnet {
        /// A subnet carrying our owner tag that no gateway of ours uses any more and that no
        /// ENI or reservation is left in.
        subnet_id: SubnetId,
    },
    /// Add the alias's SPNs (`msDS-AdditionalDnsHostName`, `HOST/<fqdn>`, `HOST/<SHORT>`) to
    /// the SVM's AD computer object, each only when missing, then keep what was added as the
    /// SVM's [`crate::naming::directory_tag`]. Planned only with `[directory]`.
    RegisterSpn {
        /// The SVM.
        svm_id: SvmId,
        /// The key of the SVM tag that records what we added ([`crate::naming::directory_tag`]
        /// of our owner).
        record_tag: String,
        /// Its computer object's NetBIOS name.
        computer: String,
        /// The alias FQDN (normalized).
        alias: String,
        /// The record kept so far ([`SpnRecord::empty`] when none).
        previous: SpnRecord,
        /// The objectGUID of the computer object read when planned: the record names it, so
        /// values on an object re-created under the same name are never taken for ours.
        account: String,
        /// The values missing when planned: what this action adds. They are claimed as ours
        /// with `previous`, so a replay after a lost response (the values now present) still
        /// records them, rather than taking them for an administrator's and leaving them for ever.
        missing: BTreeSet<SpnValue>,
    },
    /// Remove from the computer object exactly the values the SVM's record names, then remove
    /// the record tag: an administrator's values are not in it and stay.
    UnregisterSpn {
        /// The SVM.
        svm_id: SvmId,
        /// The key of the SVM tag that records what we added.
        record_tag: String,
        /// Its computer object's NetBIOS name.
        computer: String,
        /// The record read from the SVM's tag.
        record: SpnRecord,
    },
    /// Publish or repoint the alias CNAME in the AD-integrated zone, with our TXT marker beside
    /// it (a name without our marker is never written).
    PublishDirectoryAlias {
        /// The SVM the alias is for (in the marker).
        svm_id: SvmId,
        /// The configured owner (in the marker).
        owner: String,
        /// The AD-integrated zone.
        zone: String,
        /// The alias FQDN.
        alias: String,
        /// The available endpoint's DNS name.
        target: String,
        /// The endpoint whose DNS name `target` is.
        endpoint_id: VpcEndpointId,
        /// TTL (`dns.ttl`).
        ttl: u32,
        /// Our CNAME's target as read (None: created).
        replaces: Option<String>,
        /// The key of the SVM tag naming the endpoints the CNAME may point at
        /// ([`crate::naming::directory_dns_tag`] of our owner).
        record_tag: String,
        /// The endpoints that tag names now: kept in it, with `endpoint_id`, until the CNAME
        /// points at `endpoint_id`.
        recorded: Vec<VpcEndpointId>,
    },
    /// Remove our alias CNAME and marker from the AD-integrated zone, then the SVM's
    /// [`crate::naming::directory_dns_tag`].
    WithdrawDirectoryAlias {
        /// The SVM the marker names.
        svm_id: SvmId,
        /// The configured owner (in the marker).
        owner: String,
        /// The AD-integrated zone.
        zone: String,
        /// The alias FQDN; `None` when no CNAME of ours is left and only the tag goes.
        alias: Option<String>,
        /// The key of the SVM tag naming the endpoints the CNAME may point at (`None`: the
        /// SVM no longer exists, nor its tags).
        record_tag: Option<String>,
    },
}

/// ` in account <id>` for another account, nothing for the stack's own.
fn in_account(account: &Option<AccountId>) -> String {
    account.as_ref().map(|a| format!(" in account {a}")).unwrap_or_default()
}

/// Configuration ARNs as their ids (`rcfg-…`), comma separated.
fn short_arns(arns: &[String]) -> String {
    arns.iter()
        .map(|a| a.rsplit('/').next().unwrap_or(a))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Action {
    /// Order of execution within one plan: withdraw DNS (Route 53 and AD) and then our SPNs,
    /// build, publish DNS and register SPNs, tear down.
    fn phase(&self) -> u8 {
        match self {
            Self::DeleteAlias { .. } | Self::WithdrawDirectoryAlias { .. } | Self::DeleteVerificationTxt { .. } => 0,
            Self::UnregisterSpn { .. } => 1,
            Self::CreateSubnet { .. } | Self::AssociateRouteTable { .. } | Self::StartDomainVerification { .. } => 2,
            Self::ReserveCidr { .. } => 3,
            Self::CreateResourceGateway { .. } | Self::UpdateResourceGateway { .. } => 4,
            Self::CreateResourceConfiguration { .. } | Self::UpdateResourceConfiguration { .. } => 5,
            Self::CreateResourceShare { .. }
            | Self::AssociateResourceShare { .. }
            | Self::AcceptShareInvitation { .. } => 6,
            Self::CreateVpcEndpoint { .. } | Self::CreateServiceNetworkAssociation { .. } => 7,
            Self::PublishAlias { .. }
            | Self::RegisterSpn { .. }
            | Self::PublishDirectoryAlias { .. }
            | Self::PublishVerificationTxt { .. } => 8,
            Self::DeleteVpcEndpoint { .. } | Self::DeleteServiceNetworkAssociation { .. } => 9,
            Self::DisassociateResourceShare { .. } | Self::DeleteResourceShare { .. } => 10,
            Self::DeleteResourceConfiguration { .. } => 11,
            Self::DeleteResourceGateway { .. } | Self::DeleteDomainVerification { .. } => 12,
            Self::ReleaseCidr { .. } => 13,
            Self::DisassociateRouteTable { .. } => 14,
            Self::DeleteSubnet { .. } => 15,
        }
    }

    /// Whether the action deletes (the withdrawals, [`Action::UnregisterSpn`] and everything
    /// from [`Action::DeleteVpcEndpoint`] on), as opposed to creating or changing.
    pub fn is_delete(&self) -> bool {
        self.phase() <= 1 || self.is_teardown()
    }

    /// Whether the action tears infrastructure down (from [`Action::DeleteVpcEndpoint`] on).
    pub fn is_teardown(&self) -> bool {
        self.phase() >= 9
    }

    /// A one-line summary.
    pub fn summary(&self) -> String {
        match self {
            Self::CreateSubnet {
                availability_zone,
                cidr,
                ..
            } => format!("create subnet {cidr} in {availability_zone}"),
            Self::AssociateRouteTable {
                route_table_id,
                subnet_id,
                ..
            } => format!("associate {subnet_id} with route table {route_table_id}"),
            Self::ReserveCidr { subnet_id, cidr, .. } => format!("reserve {cidr} (prefix) in {subnet_id}"),
            Self::CreateResourceGateway { name, subnet_ids, .. } => {
                format!("create resource gateway {name} in {}", join(subnet_ids))
            }
            Self::UpdateResourceGateway {
                gateway_id,
                security_group_ids,
            } => {
                format!("set security groups of {gateway_id} to {}", join(security_group_ids))
            }
            Self::CreateResourceConfiguration {
                name,
                gateway_id,
                ip_address,
                port_ranges,
                ..
            } => {
                format!(
                    "create resource configuration {name} → {ip_address} TCP {} on {gateway_id}",
                    join(port_ranges)
                )
            }
            Self::UpdateResourceConfiguration {
                configuration_id,
                ip_address,
                port_ranges,
                ..
            } => {
                format!("update {configuration_id} → {ip_address} TCP {}", join(port_ranges))
            }
            Self::CreateVpcEndpoint {
                vpc_id,
                resource_configuration_arn,
                account,
                ..
            } => {
                let cfg = resource_configuration_arn
                    .rsplit('/')
                    .next()
                    .unwrap_or(resource_configuration_arn);
                format!(
                    "create Resource VPC endpoint in {vpc_id}{} for {cfg}",
                    in_account(account)
                )
            }
            Self::CreateServiceNetworkAssociation {
                configuration_id,
                service_network,
                ..
            } => format!("associate {configuration_id} with service network {service_network}"),
            Self::DeleteServiceNetworkAssociation {
                association_id,
                service_network_id,
            } => format!("delete association {association_id} with service network {service_network_id}"),
            Self::CreateResourceShare {
                account,
                name,
                resource_arns,
                ..
            } => format!(
                "create RAM resource share {name} with account {account} for {}",
                short_arns(resource_arns)
            ),
            Self::AssociateResourceShare {
                account,
                resource_arns,
                principals,
                ..
            } => {
                let mut what: Vec<String> = principals.iter().map(|p| format!("account {p}")).collect();
                if !resource_arns.is_empty() {
                    what.push(short_arns(resource_arns));
                }
                format!("share {} with account {account}", what.join(" and "))
            }
            Self::AcceptShareInvitation { account, share_arn, .. } => {
                format!("accept, in account {account}, the invitation to {share_arn}")
            }
            Self::DisassociateResourceShare {
                account,
                resource_arns,
                principals,
                ..
            } => {
                let mut what: Vec<String> = principals.iter().map(|p| format!("account {p}")).collect();
                if !resource_arns.is_empty() {
                    what.push(short_arns(resource_arns));
                }
                format!("stop sharing {} with account {account}", what.join(" and "))
            }
            Self::StartDomainVerification { domain_name, .. } => {
                format!("start verifying domain {domain_name} with VPC Lattice")
            }
            Self::PublishVerificationTxt { hosted_zone_id, record } => {
                format!("publish TXT {} (domain verification) in {hosted_zone_id}", record.name)
            }
            Self::DeleteVerificationTxt { hosted_zone_id, record } => {
                format!(
                    "withdraw TXT {} (domain verification) from {hosted_zone_id}",
                    record.name
                )
            }
            Self::DeleteDomainVerification {
                verification_id,
                domain_name,
            } => format!("delete domain verification {verification_id} ({domain_name})"),
            Self::DeleteResourceShare { account, share_arn } => {
                format!("delete RAM resource share {share_arn} of account {account}")
            }
            Self::PublishAlias {
                cname,
                replaces_cname,
                account: Some(account),
                ..
            } => format!(
                "{} in account {account}",
                Self::PublishAlias {
                    hosted_zone_id: HostedZoneId::parse("Z").expect("valid"),
                    cname: cname.clone(),
                    replaces_cname: replaces_cname.clone(),
                    txt: None,
                    replaces_txt: None,
                    account: None,
                }
                .summary()
            ),
            Self::DeleteAlias {
                cname,
                txt,
                account: Some(account),
                ..
            } => format!(
                "{} in account {account}",
                Self::DeleteAlias {
                    hosted_zone_id: HostedZoneId::parse("Z").expect("valid"),
                    cname: cname.clone(),
                    txt: txt.clone(),
                    account: None,
                }
                .summary()
            ),
            Self::PublishAlias {
                cname, replaces_cname, ..
            } => match replaces_cname {
                Some(old) => format!(
                    "REPLACE CNAME {} → {} (was {})",
                    cname.name,
                    cname.values.join(","),
                    old.values.join(",")
                ),
                None => format!("CREATE CNAME {} → {}", cname.name, cname.values.join(",")),
            },
            Self::DeleteAlias { txt, cname, .. } => match cname {
                Some(c) => format!("DELETE CNAME {} and its ownership TXT", c.name),
                None => format!("DELETE ownership TXT {}", txt.name),
            },
            Self::DeleteVpcEndpoint {
                vpc_endpoint_id,
                account,
            } => format!("delete VPC endpoint {vpc_endpoint_id}{}", in_account(account)),
            Self::DeleteResourceConfiguration { configuration_id } => {
                format!("delete resource configuration {configuration_id}")
            }
            Self::DeleteResourceGateway { gateway_id } => format!("delete resource gateway {gateway_id}"),
            Self::ReleaseCidr { reservation_id } => format!("delete CIDR reservation {reservation_id}"),
            Self::DisassociateRouteTable {
                association_id,
                subnet_id,
            } => format!("disassociate {subnet_id} from its route table ({association_id})"),
            Self::DeleteSubnet { subnet_id } => format!("delete subnet {subnet_id}"),
            Self::RegisterSpn { computer, alias, .. } => format!(
                "add msDS-AdditionalDnsHostname {alias}, HOST/{alias} and {} to AD computer {computer}",
                SpnValue::HostShort.value_for(alias)
            ),
            Self::UnregisterSpn { computer, record, .. } => {
                let values: Vec<String> = record.added.iter().map(|v| v.value_for(&record.alias)).collect();
                format!(
                    "remove our values for {} from AD computer {computer} ({})",
                    record.alias,
                    if values.is_empty() {
                        "none: only the record".to_string()
                    } else {
                        values.join(", ")
                    }
                )
            }
            Self::PublishDirectoryAlias {
                zone,
                alias,
                target,
                replaces,
                ..
            } => match replaces {
                Some(old) if old == target => format!("RECORD AD DNS CNAME {alias} → {target} in {zone} on its SVM"),
                Some(old) => format!("REPOINT AD DNS CNAME {alias} → {target} in {zone} (was {old})"),
                None => format!("CREATE AD DNS CNAME {alias} → {target} in {zone}"),
            },
            Self::WithdrawDirectoryAlias {
                zone,
                alias: Some(alias),
                ..
            } => format!("DELETE AD DNS CNAME {alias} and its marker in {zone}"),
            Self::WithdrawDirectoryAlias {
                svm_id, alias: None, ..
            } => {
                format!("REMOVE the AD DNS target record of {svm_id}")
            }
        }
    }
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}

/// An action and the reason it is in the plan. Serialized flat: the action's fields and its
/// `"action"` tag sit beside `why`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAction {
    /// What to do; flattened into this object when serialized.
    #[serde(flatten)]
    pub action: Action,
    /// One sentence for the operator, written by the planner; printed with the plan and
    /// carried into the step's record of each applied action.
    pub why: String,
}

/// A step only a person can do (the tool cannot observe or change AD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualStep {
    /// What it is for.
    pub subject: String,
    /// What to do.
    pub instruction: String,
}

/// The result of planning.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Actions in execution order: sorted by phase (withdraw DNS, build, publish DNS, tear
    /// down), stable within a phase. Empty does not mean converged; see `waiting`.
    pub actions: Vec<PlannedAction>,
    /// What the plan waits for before more can be done (a resource in progress, an endpoint
    /// not yet available), one sentence each, sorted and de-duplicated. The plan is converged
    /// only when this and `actions` are both empty.
    pub waiting: Vec<String>,
    /// What is refused (resolution and preflight).
    pub refusals: Vec<Refusal>,
    /// What works but deserves a look.
    pub warnings: Vec<String>,
    /// Capacity reports of the subnets a decision was based on, each subnet once, by id.
    pub diagnoses: Vec<SubnetCapacity>,
    /// Steps left to a person: one per SMB exposure with an alias, adding the alias to the
    /// SVM's AD computer object so Kerberos works under it (docs/design.md §5). None with
    /// `[directory]`: fsxn-lattice then does it ([`Action::RegisterSpn`]).
    pub manual_steps: Vec<ManualStep>,
    /// Deletions held for the Directory function, one sentence each: endpoints the AD DNS
    /// CNAME may still point at ([`crate::naming::directory_dns_tag`]), in a run that cannot
    /// reach AD. Not waits: polling this run would not move them; the Directory step does.
    #[serde(default)]
    pub held_for_directory: Vec<String>,
    /// The directory steps' own waits (also in `waiting`): what the Directory function polls
    /// for; the rest of `waiting` is AWS work the other functions follow.
    #[serde(default)]
    pub directory_waiting: Vec<String>,
    /// What is kept because an account of `[[accounts]]` cannot be read (or is no longer
    /// listed), one sentence each: a configuration shared with it, its share. Not waits:
    /// polling would not lift them; the account's role (or its listing) must be restored.
    #[serde(default)]
    pub held_for_accounts: Vec<String>,
}

impl Plan {
    /// Nothing to do and nothing to wait for.
    pub fn is_converged(&self) -> bool {
        self.actions.is_empty() && self.waiting.is_empty()
    }
}

/// Plans. Pure: the same inputs give the same plan.
pub fn plan(config: &Config, desired: &Desired, observed: &Observed) -> Plan {
    let mut p = Planner::new(config, desired, observed);
    p.run();
    p.finish()
}

struct Planner<'a> {
    config: &'a Config,
    desired: &'a Desired,
    obs: &'a Observed,
    owner: &'a str,
    capacity: BTreeMap<SubnetId, SubnetCapacity>,
    /// Endpoints (not deleted) by the ARN of their configuration: one lookup per exposure and
    /// consumer instead of a scan of every endpoint (3,000 in a 1,000-SVM fleet).
    endpoints_by_arn: HashMap<&'a str, Vec<&'a VpcEndpoint>>,
    /// Records by zone and name, for the same reason.
    records_by_name: HashMap<&'a HostedZoneId, HashMap<&'a str, Vec<&'a RecordSet>>>,
    held_consumers: BTreeSet<String>,
    /// Configuration ARNs each consumer account needs this pass ([`Planner::shared_with`]).
    share_wanted: BTreeMap<AccountId, BTreeSet<String>>,
    /// DNS name of the available current endpoint for (svm, consumer).
    targets: BTreeMap<(SvmId, String), String>,
    /// The configuration chosen for each active SVM on its current gateway this pass.
    current_configs: BTreeMap<SvmId, ResourceConfigurationId>,
    /// (svm, consumer) pairs whose new endpoint waits for an old one answering the same alias
    /// in the VPC to go.
    private_dns_blocked: BTreeSet<(SvmId, String)>,
    /// Subnets chosen or in use this pass: their reservations and carved subnets stay.
    subnets_in_use: BTreeSet<SubnetId>,
    diagnosed: BTreeSet<SubnetId>,
    planned_cidrs: Vec<Ipv4Net>,
    /// Blocks this plan already reserves (two file systems may pick the same subnet).
    planned_reservations: BTreeSet<Ipv4Net>,
    out: Plan,
}

impl<'a> Planner<'a> {
    fn new(config: &'a Config, desired: &'a Desired, obs: &'a Observed) -> Self {
        let capacity = obs
            .subnets
            .iter()
            .map(|s| s.id.clone())
            .zip(analyze_subnets(
                &obs.subnets,
                &obs.network_interfaces,
                &obs.cidr_reservations,
            ))
            .collect();
        let mut endpoints_by_arn: HashMap<&str, Vec<&VpcEndpoint>> = HashMap::new();
        for e in obs.endpoints.iter().filter(|e| e.state != EndpointState::Deleted) {
            endpoints_by_arn
                .entry(e.resource_configuration_arn.as_str())
                .or_default()
                .push(e);
        }
        let mut records_by_name: HashMap<&HostedZoneId, HashMap<&str, Vec<&RecordSet>>> = HashMap::new();
        for (zone, records) in &obs.records {
            let by_name = records_by_name.entry(zone).or_default();
            for r in records {
                by_name.entry(r.name.as_str()).or_default().push(r);
            }
        }
        Self {
            config,
            desired,
            obs,
            owner: &config.owner,
            capacity,
            endpoints_by_arn,
            records_by_name,
            held_consumers: BTreeSet::new(),
            share_wanted: BTreeMap::new(),
            targets: BTreeMap::new(),
            current_configs: BTreeMap::new(),
            private_dns_blocked: BTreeSet::new(),
            subnets_in_use: BTreeSet::new(),
            diagnosed: BTreeSet::new(),
            planned_cidrs: Vec::new(),
            planned_reservations: BTreeSet::new(),
            out: Plan {
                refusals: desired.refusals.clone(),
                ..Plan::default()
            },
        }
    }

    fn push(&mut self, action: Action, why: impl Into<String>) {
        self.out.actions.push(PlannedAction {
            action,
            why: why.into(),
        });
    }

    fn wait(&mut self, what: impl Into<String>) {
        self.out.waiting.push(what.into());
    }

    /// A wait of the directory steps: in `waiting`, and in `directory_waiting`, which is all
    /// the Directory function polls for (the infrastructure's waits are Provision's).
    fn wait_directory(&mut self, what: impl Into<String>) {
        let what = what.into();
        self.out.directory_waiting.push(what.clone());
        self.out.waiting.push(what);
    }

    fn refuse(&mut self, subject: impl Into<String>, kind: ErrorKind, reason: impl Into<String>) {
        self.out.refusals.push(Refusal {
            subject: subject.into(),
            kind,
            reason: reason.into(),
        });
    }

    fn diagnose(&mut self, subnet: &SubnetId) {
        if self.diagnosed.insert(subnet.clone())
            && let Some(c) = self.capacity.get(subnet)
        {
            self.out.diagnoses.push(c.clone());
        }
    }

    fn owned(&self, tags: &Tags) -> bool {
        is_owned(tags, self.owner)
    }

    fn tags(&self, extra: &[(&str, String)]) -> Tags {
        let mut t = owner_tags(self.owner);
        for (k, v) in extra {
            t.insert(k.to_string(), v.clone());
        }
        t
    }

    fn run(&mut self) {
        self.preflight_consumers();
        let mut by_fs: BTreeMap<FileSystemId, Vec<&'a Exposure>> = BTreeMap::new();
        for e in self.desired.exposures.values() {
            by_fs.entry(e.file_system_id.clone()).or_default().push(e);
        }
        for g in &self.obs.gateways {
            if self.owned(&g.tags)
                && let Some(fs) = g
                    .tags
                    .get(FILE_SYSTEM_TAG)
                    .and_then(|f| FileSystemId::parse(f.as_str()).ok())
            {
                by_fs.entry(fs).or_default();
            }
        }
        for (fs, exposures) in by_fs {
            self.plan_file_system(&fs, exposures);
        }
        self.plan_orphan_endpoints();
        self.plan_dns();
        self.plan_directory();
        self.plan_cleanup();
        self.plan_shares();
        self.plan_custom_domains();
        self.plan_manual_steps();
    }

    fn configs_on(&self, gw: &GatewayId) -> Vec<&'a ResourceConfiguration> {
        self.obs.configurations.iter().filter(|c| &c.gateway_id == gw).collect()
    }

    fn endpoints_on(&self, arn: &str) -> Vec<&'a VpcEndpoint> {
        self.endpoints_by_arn.get(arn).cloned().unwrap_or_default()
    }

    fn plan_file_system(&mut self, fs_id: &FileSystemId, exposures: Vec<&'a Exposure>) {
        let gateways = self.our_gateways(fs_id);
        let fs = self.obs.file_systems.iter().find(|f| &f.id == fs_id);
        let mut active: Vec<&Exposure> = Vec::new();
        if let Some(fs) = fs {
            let vpc = self.obs.vpcs.iter().find(|v| v.id == fs.vpc_id);
            for e in exposures {
                if !fs.deployment_type.is_multi_az() {
                    let unknown = if fs.deployment_type.is_known() {
                        ""
                    } else {
                        " (a deployment type this build does not know; only MULTI_AZ_* file systems serve on floating IPs)"
                    };
                    self.refuse(e.svm_id.to_string(), ErrorKind::InvalidInput, format!(
                        "{} is {}{unknown}: its endpoints sit in subnets and are reachable over peering, VPN and Direct Connect without VPC Lattice",
                        fs.id, fs.deployment_type
                    ));
                } else if let Some(vpc) = vpc {
                    if e.consumers.iter().all(|c| self.held_consumers.contains(c)) {
                        // Every consumer is refused (see its refusal): build nothing for it yet.
                    } else if vpc.cidr_blocks.iter().any(|c| c.contains(&e.target_ip)) {
                        active.push(e);
                    } else {
                        self.refuse(e.svm_id.to_string(), ErrorKind::InvalidInput, format!(
                            "{} is outside the CIDRs of {} ({}): a resource configuration's ipResource must be in the gateway's VPC. Recreate the file system with an EndpointIpAddressRange inside the VPC CIDR",
                            e.target_ip, vpc.id, join(&vpc.cidr_blocks)
                        ));
                    }
                } else {
                    self.refuse(
                        e.svm_id.to_string(),
                        ErrorKind::NotFound,
                        format!("VPC {} of {} not found", fs.vpc_id, fs.id),
                    );
                }
            }
        }
        let current = gateways
            .iter()
            .rev()
            .find(|g| g.status != GatewayStatus::DeleteInProgress)
            .copied();
        let mut current_id: Option<GatewayId> = None;
        if let (Some(fs), false) = (fs, active.is_empty()) {
            match self.decide_gateway(fs, current, &gateways) {
                GatewayDecision::Use(gw) => {
                    current_id = Some(gw.id.clone());
                    self.subnets_in_use.extend(gw.subnet_ids.iter().cloned());
                    self.ensure_headroom(gw);
                    for e in &active {
                        self.ensure_exposure(gw, e);
                    }
                }
                GatewayDecision::Wait => {
                    if let Some(g) = current {
                        current_id = Some(g.id.clone());
                        self.subnets_in_use.extend(g.subnet_ids.iter().cloned());
                    }
                }
                GatewayDecision::Replace => {}
            }
        }
        // Drain everything of ours for this file system that is not the current slot.
        self.drain_file_system(&gateways, current_id, &active);
    }

    fn finish(mut self) -> Plan {
        self.out.actions.sort_by_key(|a| a.action.phase());
        self.out.waiting.sort();
        self.out.waiting.dedup();
        self.out.warnings.sort();
        self.out.warnings.dedup();
        self.out.diagnoses.sort_by(|a, b| a.subnet_id.cmp(&b.subnet_id));
        self.out.held_for_directory.sort();
        self.out.held_for_directory.dedup();
        self.out.held_for_accounts.sort();
        self.out.held_for_accounts.dedup();
        self.out.directory_waiting.sort();
        self.out.directory_waiting.dedup();
        self.out
    }
}

fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;

    #[test]
    fn deletes_are_told_apart_and_a_plan_runs_withdraw_build_publish_tear_down() {
        let rec = record("a.corp.example", RecordType::TXT, "\"x\"", None);
        let subnet: SubnetId = id("subnet-0e");
        for (a, delete, phase) in [
            (
                Action::DeleteAlias {
                    account: None,
                    hosted_zone_id: id("ZONE1"),
                    cname: None,
                    txt: rec.clone(),
                },
                true,
                0,
            ),
            (
                Action::UnregisterSpn {
                    svm_id: id("svm-1"),
                    record_tag: crate::naming::directory_tag("t"),
                    computer: "SVM1".into(),
                    record: SpnRecord::empty("a.corp.example"),
                },
                true,
                1,
            ),
            (
                Action::AssociateRouteTable {
                    vpc_id: id("vpc-1"),
                    route_table_id: id("rtb-f"),
                    subnet_id: subnet.clone(),
                },
                false,
                2,
            ),
            (
                Action::PublishAlias {
                    account: None,
                    hosted_zone_id: id("ZONE1"),
                    cname: rec.clone(),
                    replaces_cname: None,
                    txt: None,
                    replaces_txt: None,
                },
                false,
                8,
            ),
            (
                Action::AcceptShareInvitation {
                    account: id("222233334444"),
                    invitation_arn: "arn:aws:ram:us-east-1:111122223333:resource-share-invitation/i".into(),
                    share_arn: "arn:aws:ram:us-east-1:111122223333:resource-share/s".into(),
                },
                false,
                6,
            ),
            (
                Action::RegisterSpn {
                    svm_id: id("svm-1"),
                    record_tag: crate::naming::directory_tag("t"),
                    computer: "SVM1".into(),
                    alias: "a.corp.example".into(),
                    previous: SpnRecord::empty("a.corp.example"),
                    account: "00000000-0000-0000-0000-000000000001".into(),
                    missing: BTreeSet::new(),
                },
                false,
                8,
            ),
            (
                Action::DeleteVpcEndpoint {
                    account: None,
                    vpc_endpoint_id: id("vpce-0a"),
                },
                true,
                9,
            ),
            (
                Action::DisassociateResourceShare {
                    account: id("222233334444"),
                    share_arn: "arn:aws:ram:us-east-1:111122223333:resource-share/s".into(),
                    resource_arns: vec![],
                    principals: vec![],
                },
                true,
                10,
            ),
            (
                Action::DisassociateRouteTable {
                    association_id: "rtbassoc-0e".into(),
                    subnet_id: subnet.clone(),
                },
                true,
                14,
            ),
            (Action::DeleteSubnet { subnet_id: subnet }, true, 15),
        ] {
            assert_eq!((a.is_delete(), a.phase()), (delete, phase), "{a:?}");
        }
        // In a real plan: every reservation before the gateway that needs it.
        let (config, mut o) = world();
        route_tables(&mut o);
        with_gateway(&mut o, &["subnet-a3", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        let p = planned(&config, &o);
        let phases: Vec<u8> = p.actions.iter().map(|a| a.action.phase()).collect();
        assert!(phases.windows(2).all(|w| w[0] <= w[1]), "{phases:?}");
        let last_reserve = p
            .actions
            .iter()
            .rposition(|a| matches!(a.action, Action::ReserveCidr { .. }));
        let gateway = p
            .actions
            .iter()
            .position(|a| matches!(a.action, Action::CreateResourceGateway { .. }));
        assert!(
            matches!((last_reserve, gateway), (Some(r), Some(g)) if r < g),
            "{:#?}",
            p.actions
        );
    }

    #[test]
    fn a_plan_is_converged_only_with_nothing_to_do_and_nothing_to_wait_for() {
        assert!(Plan::default().is_converged());
        let waiting = Plan {
            waiting: vec!["x".into()],
            ..Plan::default()
        };
        assert!(!waiting.is_converged());
        let (config, o) = world();
        assert!(!planned(&config, &o).is_converged(), "nothing built yet");
    }
}
