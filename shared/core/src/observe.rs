//! Observing the world: [`Observed`], everything the planner may look at, and [`observe`],
//! which reads it through the ports (retrying each read) and resolves the desired state from it.

use crate::apply::{RetryPolicy, with_retry};
use crate::concurrency::{Concurrency, Gates, Service};
use crate::config::Config;
use crate::desired::Protocol;
use crate::desired::{Desired, resolve};
use crate::directory::{DirectoryObserved, SpnRecord, normalize_alias, parse_marker};
use crate::error::{CloudError, ErrorKind};
use crate::ids::*;
use crate::model::*;
use crate::naming::{FILE_SYSTEM_TAG, HOSTED_ZONE_TAG, OWNER_TAG, directory_tag, is_owned};
use crate::ports::{EndpointFilter, Reads, VpcAttributes};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What was observed of the world: everything the planner may look at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// FSx for ONTAP file systems.
    pub file_systems: Vec<FileSystem>,
    /// SVMs.
    pub svms: Vec<StorageVirtualMachine>,
    /// FSx VPCs and consumer VPCs.
    pub vpcs: Vec<Vpc>,
    /// Subnets of the FSx VPCs.
    pub subnets: Vec<Subnet>,
    /// ENIs of the FSx VPCs.
    pub network_interfaces: Vec<NetworkInterface>,
    /// CIDR reservations of those subnets.
    pub cidr_reservations: Vec<CidrReservation>,
    /// Route tables of the FSx VPCs.
    pub route_tables: Vec<RouteTable>,
    /// All resource gateways of the account and region.
    pub gateways: Vec<ResourceGateway>,
    /// All resource configurations.
    pub configurations: Vec<ResourceConfiguration>,
    /// Resource endpoints in the consumer VPCs.
    pub endpoints: Vec<VpcEndpoint>,
    /// Hosted zones named by the consumers.
    pub hosted_zones: Vec<HostedZone>,
    /// Their records.
    pub records: BTreeMap<HostedZoneId, Vec<RecordSet>>,
    /// Active Directory, read only with `[directory]` and a cloud that can reach it
    /// ([`crate::ports::DirectoryAccess`]); `None` otherwise.
    #[serde(default)]
    pub directory: Option<DirectoryObserved>,
    /// Service-network associations of our configurations: read for each one of ours when
    /// `[[service_network_consumers]]` lists any, else only for those tagged
    /// [`crate::naming::SERVICE_NETWORKS_TAG`] (associated once).
    #[serde(default)]
    pub service_network_associations: Vec<ServiceNetworkAssociation>,
    /// Our AWS RAM resource shares (read only by a cloud with [`crate::ports::Sharing`]).
    #[serde(default)]
    pub shares: Vec<ResourceShare>,
    /// Each account of `[[accounts]]`: whether it could be read, and its invitations. What was
    /// read in it (VPCs, endpoints, zones and records) is merged into the fields above, each
    /// endpoint and zone with its [`VpcEndpoint::account`] / [`HostedZone::account`].
    #[serde(default)]
    pub accounts: BTreeMap<AccountId, AccountObserved>,
    /// The stack account's VPC Lattice domain verifications (ours and others').
    #[serde(default)]
    pub domain_verifications: Vec<DomainVerification>,
}

/// One consumer account as observed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountObserved {
    /// Why nothing in it could be read (its role could not be assumed, or a read in it
    /// failed): its consumers are held, and nothing it may still use is deleted.
    pub unreachable: Option<CloudError>,
    /// The resource share invitations it has received.
    pub invitations: Vec<ShareInvitation>,
    /// The consumer VPCs found in it (they are merged into [`Observed::vpcs`] too): a
    /// consumer's VPC must be in the consumer's account.
    #[serde(default)]
    pub vpcs: Vec<VpcId>,
}

impl Observed {
    /// Whether `account` (`None`: the stack's own) was read.
    pub fn reachable(&self, account: Option<&AccountId>) -> bool {
        account.is_none_or(|a| self.accounts.get(a).is_some_and(|o| o.unreachable.is_none()))
    }
}

/// At most this many calls of one kind in flight at once (per-VPC, per-subnet and per-zone
/// reads): well under EC2's non-mutating bucket (100 requests, refilled at 20 per second:
/// docs/design.md §4) and Route 53's (50, refilled at 10 per second).
pub const READS_IN_FLIGHT: usize = 8;

/// Reads everything the planner needs, retrying each read on transient errors. Independent
/// reads run concurrently, each as soon as what it depends on is read, so a pass costs the
/// round trips of its longest chain rather than one per call:
///
/// - FSx (file systems, SVMs) and VPC Lattice (gateways, configurations) → per FSx VPC, at once:
///   the VPC, its route tables, its ENIs, and its subnets → each subnet's CIDR reservations;
/// - the endpoints → hosted zones named only by our endpoints' tags (a consumer removed from
///   the config);
/// - the consumers' VPCs with their DNS attributes; the consumers' hosted zones.
///
/// Results are assembled in a fixed order, whatever order the calls finish in.
pub async fn observe<C: Reads + ?Sized>(
    cloud: &C,
    config: &Config,
    policy: &RetryPolicy,
) -> Result<(Observed, Desired), CloudError> {
    let gates = Gates::new(Concurrency::default());
    observe_cached(cloud, config, policy, &gates, &mut ZoneCache::default(), true).await
}

/// What cannot change within an invocation, kept between its passes: a hosted zone's name and
/// privacy are fixed at its creation (Route 53 `CreateHostedZone`; no API changes them), so
/// `GetHostedZone` is read once per zone per invocation. Whether the zone still exists is
/// still checked every pass, by its `ListResourceRecordSets` (`NoSuchHostedZone`).
#[derive(Debug, Clone, Default)]
pub struct ZoneCache {
    zones: BTreeMap<HostedZoneId, HostedZone>,
}

/// [`observe`], reusing (and filling) `cache` for what cannot change within an invocation,
/// under `gates`.
pub async fn observe_cached<C: Reads + ?Sized>(
    cloud: &C,
    config: &Config,
    policy: &RetryPolicy,
    gates: &Gates,
    cache: &mut ZoneCache,
    directory: bool,
) -> Result<(Observed, Desired), CloudError> {
    let r = &Reader { cloud, policy, gates };
    // The stack's own consumers here; those in other accounts are read through their roles
    // (`read_accounts`).
    let home = || config.consumers.iter().filter(|c| c.account.is_none());
    let consumer_vpcs: BTreeSet<VpcId> = home().map(|c| c.vpc_id.clone()).collect();
    let configured_zones: BTreeSet<HostedZoneId> = home()
        .filter_map(|c| c.hosted_zone_id.clone())
        .chain(
            config
                .service_network_consumers
                .iter()
                .filter_map(|c| c.hosted_zone_id.clone()),
        )
        .chain(config.custom_domains.iter().filter_map(|d| d.hosted_zone_id.clone()))
        .collect();
    // Endpoints in the consumer VPCs (ours and foreign), plus ours wherever they are: a
    // consumer removed from the config still has endpoints to delete.
    let mut filters = Vec::new();
    if !consumer_vpcs.is_empty() {
        filters.push(EndpointFilter::Vpcs(consumer_vpcs.iter().cloned().collect()));
    }
    filters.push(EndpointFilter::Tag {
        key: OWNER_TAG.to_string(),
        value: config.owner.clone(),
    });
    let consumer_list: Vec<VpcId> = consumer_vpcs.iter().cloned().collect();
    let (mut cache_configured, mut cache_tagged) = (cache.clone(), cache.clone());

    let (fsx_side, endpoint_side, consumer_vpc_list, configured, verifications) = futures_util::join!(
        fsx_side(r, config, &consumer_vpcs),
        async {
            let endpoints = r
                .read(Service::Ec2, "DescribeVpcEndpoints", || {
                    cloud.describe_resource_endpoints(&filters)
                })
                .await?;
            let tagged: BTreeSet<HostedZoneId> = endpoints
                .iter()
                .filter(|e| is_owned(&e.tags, &config.owner))
                .filter_map(|e| e.tags.get(HOSTED_ZONE_TAG))
                .filter_map(|z| HostedZoneId::parse(z.as_str()).ok())
                .filter(|z| !configured_zones.contains(z))
                .collect();
            let zones = read_zones(r, &tagged, &mut cache_tagged).await?;
            Ok::<_, CloudError>((endpoints, zones))
        },
        async {
            if consumer_list.is_empty() {
                return Ok(Vec::new());
            }
            r.read(Service::Ec2, "DescribeVpcs", || {
                cloud.describe_vpcs(&consumer_list, VpcAttributes::Dns)
            })
            .await
        },
        read_zones(r, &configured_zones, &mut cache_configured),
        r.read(Service::Lattice, "ListDomainVerifications", || cloud
            .list_domain_verifications()),
    );
    let (mut observed, desired) = fsx_side?;
    let (endpoints, tagged_zones) = endpoint_side?;
    let configured = configured?;
    cache.zones.extend(cache_configured.zones);
    cache.zones.extend(cache_tagged.zones);
    observed.endpoints = endpoints;
    observed.vpcs.extend(consumer_vpc_list?);
    observed.vpcs.sort_by(|a, b| a.id.cmp(&b.id));
    for (zone, records) in configured.into_iter().chain(tagged_zones) {
        observed.records.insert(zone.id.clone(), records);
        observed.hosted_zones.push(zone);
    }
    // Domain verifications: needed with custom domains configured. Without, one that cannot be
    // read (a stack deployed before custom domains, without the permission) is taken for none,
    // so a deployment that never used them does not depend on it.
    let custom_domains_used = !config.custom_domains.is_empty()
        || config
            .consumers
            .iter()
            .any(|c| c.alias_mode == crate::config::AliasMode::CustomDomain);
    observed.domain_verifications = match verifications {
        Ok(v) => v,
        Err(e) if custom_domains_used => return Err(e),
        Err(_) => Vec::new(),
    };
    // Zones named only by our tags, read in one go: those our configurations' service-network
    // tags still name (a removed service-network consumer's aliases to withdraw), and those our
    // verifications' tags name (a domain removed from the config: its TXT to withdraw).
    let marked: BTreeSet<HostedZoneId> = observed
        .configurations
        .iter()
        .filter(|c| is_owned(&c.tags, &config.owner))
        .filter_map(|c| c.tags.get(crate::naming::SERVICE_NETWORKS_TAG))
        .flat_map(|v| crate::naming::parse_service_networks_tag(v))
        .chain(
            observed
                .domain_verifications
                .iter()
                .filter(|v| is_owned(&v.tags, &config.owner))
                .filter_map(|v| v.tags.get(crate::naming::HOSTED_ZONE_TAG))
                .filter_map(|z| HostedZoneId::parse(z.as_str()).ok()),
        )
        .filter(|z| !observed.records.contains_key(z))
        .collect();
    if !marked.is_empty() {
        let mut more = cache.clone();
        for (zone, records) in read_zones(r, &marked, &mut more).await? {
            observed.records.insert(zone.id.clone(), records);
            observed.hosted_zones.push(zone);
        }
        cache.zones.extend(more.zones);
    }
    read_accounts(r, config, &mut observed).await?;
    observed.service_network_associations = read_network_associations(r, config, &observed).await?;
    observed.vpcs.sort_by(|a, b| a.id.cmp(&b.id));
    observed.endpoints.sort_by(|a, b| a.id.cmp(&b.id));
    observed.hosted_zones.sort_by(|a, b| a.id.cmp(&b.id));
    if directory {
        observed.directory = read_directory(r, config, &desired, &observed).await?;
    }
    Ok((observed, desired))
}

/// With `[directory]` and a cloud that reaches it: for each SMB exposure with an alias, its
/// computer object (and who holds the alias's values elsewhere) and the alias in AD DNS; for
/// each SVM whose [`crate::naming::directory_tag`] of our owner names another alias (or that is no longer
/// exposed), that alias in AD DNS, to withdraw.
async fn read_directory<C: Reads + ?Sized>(
    r: &Reader<'_, C>,
    config: &Config,
    desired: &Desired,
    observed: &Observed,
) -> Result<Option<DirectoryObserved>, CloudError> {
    let (Some(settings), Some((dir, _))) = (&config.directory, r.cloud.directory()) else {
        return Ok(None);
    };
    let zone = settings.dns_zone();
    let mut computers: BTreeSet<(String, String)> = BTreeSet::new();
    let mut aliases: BTreeSet<String> = BTreeSet::new();
    for e in desired.exposures.values() {
        let (Some(alias), true) = (&e.alias, e.protocols.contains(&Protocol::Smb)) else {
            continue;
        };
        let alias = normalize_alias(alias);
        let computer = e.ad_computer();
        computers.insert((computer, alias.clone()));
        aliases.insert(alias);
    }
    for svm in &observed.svms {
        if let Some(rec) = svm
            .tags
            .get(&directory_tag(&config.owner))
            .and_then(|v| SpnRecord::parse_tag_value(v))
        {
            aliases.insert(rec.alias);
        }
    }
    // Our markers anywhere in the zone: an AD record whose SVM tag is gone (the SVM deleted,
    // the tag removed) is found and withdrawn all the same, as Route 53 records are by their
    // TXT. A zone that cannot be listed fails the observe: nothing in it can be judged.
    let zone = &zone;
    let markers = r
        .read(Service::Directory, "ListAliasMarkers", || dir.list_alias_markers(zone))
        .await?;
    for (alias, text) in &markers {
        if parse_marker(text).is_some_and(|(owner, _)| owner == config.owner) {
            aliases.insert(normalize_alias(alias));
        }
    }
    let in_zone = |a: &String| a.ends_with(&format!(".{zone}"));
    // Each object's read is isolated: its error is recorded, not raised (one bad object stops
    // only its SVM's directory work).
    let computer_reads = bounded(computers.iter().map(|(computer, alias)| async move {
        let state = r
            .read(Service::Directory, "ReadComputer", || {
                dir.read_computer(computer, alias)
            })
            .await;
        Ok(((computer.clone(), alias.clone()), state))
    }))
    .await?;
    let alias_reads = bounded(aliases.iter().filter(|a| in_zone(a)).map(|alias| async move {
        let state = r
            .read(Service::Directory, "ReadAlias", || dir.read_alias(zone, alias))
            .await;
        Ok((alias.clone(), state))
    }))
    .await?;
    let mut observed = DirectoryObserved {
        markers,
        ..DirectoryObserved::default()
    };
    for (key, state) in computer_reads {
        match state {
            Ok(s) => {
                observed.computers.insert(key, s);
            }
            Err(e) => {
                observed.unreadable.insert(DirectoryObserved::computer_key(&key.0), e);
            }
        }
    }
    for (alias, state) in alias_reads {
        match state {
            Ok(s) => {
                observed.aliases.insert(alias, s);
            }
            Err(e) => {
                observed.unreadable.insert(alias, e);
            }
        }
    }
    Ok(Some(observed))
}

/// Our RAM shares, then each account of `[[accounts]]` through its role, at once: its
/// consumers' VPCs, the Resource endpoints in them and ours anywhere in it, their hosted zones
/// (configured, and named by our endpoints' tags) and records, and its invitations. An account
/// that cannot be assumed or read is recorded as unreachable, and the others go on.
async fn read_accounts<C: Reads + ?Sized>(
    r: &Reader<'_, C>,
    config: &Config,
    observed: &mut Observed,
) -> Result<(), CloudError> {
    let Some(sharing) = r.cloud.sharing() else {
        for a in &config.accounts {
            let e = CloudError::new(
                ErrorKind::AccessDenied,
                "AssumeRole",
                "NoAccountAccess",
                format!(
                    "this cloud cannot reach account {} (it has no STS or RAM adapter)",
                    a.id
                ),
            );
            observed.accounts.insert(
                a.id.clone(),
                AccountObserved {
                    unreachable: Some(e),
                    ..Default::default()
                },
            );
        }
        return Ok(());
    };
    // Without [[accounts]], RAM is read only to find shares left from an earlier config (their
    // accounts are then reported as no longer listed); a deployment in one account does not
    // depend on it: a refused or failed read leaves the shares unread, and nothing is done with
    // them.
    observed.shares = match r
        .read(Service::Ram, "GetResourceShares", || {
            sharing.list_resource_shares(&config.owner)
        })
        .await
    {
        Ok(shares) => shares,
        Err(_) if config.accounts.is_empty() => Vec::new(),
        Err(e) => return Err(e),
    };
    let reads = bounded(
        config
            .accounts
            .iter()
            .map(|a| async move { Ok::<_, CloudError>((a.id.clone(), read_account(r, sharing, config, a).await)) }),
    )
    .await?;
    for (id, read) in reads {
        match read {
            Ok(mut read) => {
                for e in &mut read.endpoints {
                    e.account = Some(id.clone());
                }
                let vpc_ids: Vec<VpcId> = read.vpcs.iter().map(|v| v.id.clone()).collect();
                observed.vpcs.extend(read.vpcs);
                observed.endpoints.extend(read.endpoints);
                for (mut zone, records) in read.zones {
                    zone.account = Some(id.clone());
                    observed.records.insert(zone.id.clone(), records);
                    observed.hosted_zones.push(zone);
                }
                observed.accounts.insert(
                    id,
                    AccountObserved {
                        unreachable: None,
                        invitations: read.invitations,
                        vpcs: vpc_ids,
                    },
                );
            }
            Err(e) => {
                observed.accounts.insert(
                    id,
                    AccountObserved {
                        unreachable: Some(e),
                        ..Default::default()
                    },
                );
            }
        }
    }
    Ok(())
}

/// The service-network associations of our configurations (see
/// [`Observed::service_network_associations`]). A configuration deleted meanwhile has none.
async fn read_network_associations<C: Reads + ?Sized>(
    r: &Reader<'_, C>,
    config: &Config,
    observed: &Observed,
) -> Result<Vec<ServiceNetworkAssociation>, CloudError> {
    let wanted = !config.service_network_consumers.is_empty();
    let cloud = r.cloud;
    let configurations = observed
        .configurations
        .iter()
        .filter(|c| is_owned(&c.tags, &config.owner))
        .filter(|c| wanted || c.tags.contains_key(crate::naming::SERVICE_NETWORKS_TAG));
    let read = bounded(configurations.map(|c| async move {
        match r
            .read(Service::Lattice, "ListServiceNetworkResourceAssociations", || {
                cloud.list_service_network_associations(&c.id)
            })
            .await
        {
            Ok(found) => Ok(found),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }))
    .await?;
    Ok(read.into_iter().flatten().collect())
}

/// What one consumer account showed.
struct AccountRead {
    vpcs: Vec<Vpc>,
    endpoints: Vec<VpcEndpoint>,
    zones: Vec<(HostedZone, Vec<RecordSet>)>,
    invitations: Vec<ShareInvitation>,
}

async fn read_account<C: Reads + ?Sized>(
    r: &Reader<'_, C>,
    sharing: &dyn crate::ports::Sharing,
    config: &Config,
    account: &crate::config::ConsumerAccount,
) -> Result<AccountRead, CloudError> {
    let there = r.read(Service::Ram, "AssumeRole", || sharing.assume(account)).await?;
    let there: &dyn crate::ports::ConsumerCloud = there.as_ref();
    let consumers: Vec<&crate::config::Consumer> = config
        .consumers
        .iter()
        .filter(|c| c.account.as_ref() == Some(&account.id))
        .collect();
    let vpcs: Vec<VpcId> = consumers
        .iter()
        .map(|c| c.vpc_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut filters = Vec::new();
    if !vpcs.is_empty() {
        filters.push(EndpointFilter::Vpcs(vpcs.clone()));
    }
    filters.push(EndpointFilter::Tag {
        key: OWNER_TAG.to_string(),
        value: config.owner.clone(),
    });
    let (vpc_list, endpoints, invitations) = futures_util::join!(
        async {
            if vpcs.is_empty() {
                return Ok(Vec::new());
            }
            r.read(Service::Ec2, "DescribeVpcs", || {
                there.describe_vpcs(&vpcs, VpcAttributes::Dns)
            })
            .await
        },
        r.read(Service::Ec2, "DescribeVpcEndpoints", || {
            there.describe_resource_endpoints(&filters)
        }),
        r.read(Service::Ram, "GetResourceShareInvitations", || {
            there.list_share_invitations()
        }),
    );
    let endpoints = endpoints?;
    let mut zones: BTreeSet<HostedZoneId> = consumers.iter().filter_map(|c| c.hosted_zone_id.clone()).collect();
    zones.extend(
        endpoints
            .iter()
            .filter(|e| is_owned(&e.tags, &config.owner))
            .filter_map(|e| e.tags.get(HOSTED_ZONE_TAG))
            .filter_map(|z| HostedZoneId::parse(z.as_str()).ok()),
    );
    let zones = bounded(zones.iter().map(|z| async move {
        let (zone, records) = futures_util::join!(
            r.read(Service::Route53, "GetHostedZone", || there.get_hosted_zone(z)),
            r.read(Service::Route53, "ListResourceRecordSets", || {
                there.list_resource_record_sets(z)
            }),
        );
        match (zone, records) {
            (Ok(zone), Ok(records)) => Ok(Some((zone, records))),
            (Err(e), _) | (_, Err(e)) if e.kind == ErrorKind::NotFound => Ok(None),
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }))
    .await?;
    Ok(AccountRead {
        vpcs: vpc_list?,
        endpoints,
        zones: zones.into_iter().flatten().collect(),
        invitations: invitations?,
    })
}

/// FSx and VPC Lattice, then what they point at in the FSx VPCs: everything of [`Observed`]
/// but the endpoints, the consumers' VPCs and the hosted zones.
async fn fsx_side<C: Reads + ?Sized>(
    r: &Reader<'_, C>,
    config: &Config,
    consumer_vpcs: &BTreeSet<VpcId>,
) -> Result<(Observed, Desired), CloudError> {
    let cloud = r.cloud;
    let (file_systems, svms, gateways, configurations) = futures_util::join!(
        r.read(Service::Fsx, "DescribeFileSystems", || cloud.describe_file_systems()),
        r.read(Service::Fsx, "DescribeStorageVirtualMachines", || {
            cloud.describe_storage_virtual_machines()
        }),
        r.read(Service::Lattice, "ListResourceGateways", || cloud
            .list_resource_gateways()),
        r.read(Service::Lattice, "ListResourceConfigurations", || {
            cloud.list_resource_configurations()
        }),
    );
    let (file_systems, svms, gateways, configurations) = (file_systems?, svms?, gateways?, configurations?);
    let desired = resolve(config, &file_systems, &svms);
    // Every FSx VPC, not only those of exposed file systems: after an opt-out, the reservations
    // and carved subnets left to clean up are found there.
    let mut fsx_vpcs: BTreeSet<VpcId> = file_systems.iter().map(|f| f.vpc_id.clone()).collect();
    fsx_vpcs.extend(
        gateways
            .iter()
            .filter(|g| is_owned(&g.tags, &config.owner) && g.tags.contains_key(FILE_SYSTEM_TAG))
            .map(|g| g.vpc_id.clone()),
    );
    // FSx VPCs that are also consumers are read with their DNS attributes beside.
    let fsx_only: Vec<VpcId> = fsx_vpcs.difference(consumer_vpcs).cloned().collect();
    let (vpcs, per_vpc) = futures_util::join!(
        async {
            if fsx_only.is_empty() {
                return Ok(Vec::new());
            }
            r.read(Service::Ec2, "DescribeVpcs", || {
                cloud.describe_vpcs(&fsx_only, VpcAttributes::None)
            })
            .await
        },
        bounded(fsx_vpcs.iter().map(|vpc| async move {
            let (subnets, route_tables, enis) = futures_util::join!(
                subnets_with_reservations(r, vpc),
                r.read(Service::Ec2, "DescribeRouteTables", || cloud.describe_route_tables(vpc)),
                r.read(Service::Ec2, "DescribeNetworkInterfaces", || {
                    cloud.describe_network_interfaces(vpc)
                }),
            );
            Ok::<_, CloudError>((subnets?, route_tables?, enis?))
        })),
    );
    let mut observed = Observed {
        file_systems,
        svms,
        vpcs: vpcs?,
        gateways,
        configurations,
        ..Observed::default()
    };
    for ((subnets, reservations), route_tables, enis) in per_vpc? {
        observed.subnets.extend(subnets);
        observed.cidr_reservations.extend(reservations);
        observed.route_tables.extend(route_tables);
        observed.network_interfaces.extend(enis);
    }
    Ok((observed, desired))
}

/// A VPC's subnets, then each one's CIDR reservations at once. A subnet deleted between the
/// list and its reservations' read (a racing execution tearing down a subnet we carved; found
/// by chaos at fault rate 0) is gone, as if never listed.
async fn subnets_with_reservations<C: Reads + ?Sized>(
    r: &Reader<'_, C>,
    vpc: &VpcId,
) -> Result<(Vec<Subnet>, Vec<CidrReservation>), CloudError> {
    let cloud = r.cloud;
    let subnets = r
        .read(Service::Ec2, "DescribeSubnets", || cloud.describe_subnets(vpc))
        .await?;
    let reservations = bounded(subnets.iter().map(|s| async move {
        match r
            .read(Service::Ec2, "GetSubnetCidrReservations", || {
                cloud.get_subnet_cidr_reservations(&s.id)
            })
            .await
        {
            Ok(found) => Ok(Some(found)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }))
    .await?;
    let mut kept = Vec::new();
    let mut all = Vec::new();
    for (s, found) in subnets.into_iter().zip(reservations) {
        if let Some(found) = found {
            all.extend(found);
            kept.push(s);
        }
    }
    Ok((kept, all))
}

/// A read through its service's gate, retried by the policy.
struct Reader<'a, C: ?Sized> {
    cloud: &'a C,
    policy: &'a RetryPolicy,
    gates: &'a Gates,
}

impl<C: Reads + ?Sized> Reader<'_, C> {
    async fn read<T, F, Fut>(&self, service: Service, op: &str, call: F) -> Result<T, CloudError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CloudError>>,
    {
        let _permit = self.gates.enter(service).await;
        with_retry(self.cloud, self.policy, op, call).await
    }
}

/// Runs `reads` with at most [`READS_IN_FLIGHT`] in flight, returning their results in the
/// order given, or the first error in that order.
async fn bounded<T, F>(reads: impl IntoIterator<Item = F>) -> Result<Vec<T>, CloudError>
where
    F: Future<Output = Result<T, CloudError>>,
{
    use futures_util::StreamExt;
    futures_util::stream::iter(reads)
        .buffered(READS_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// Each zone with its records (`GetHostedZone`, from `cache` when read earlier in this
/// invocation, and `ListResourceRecordSets` at once). A zone that is missing or deleted
/// between its two reads is left out: the planner reports it as a refusal.
async fn read_zones<C: Reads + ?Sized>(
    r: &Reader<'_, C>,
    zones: &BTreeSet<HostedZoneId>,
    cache: &mut ZoneCache,
) -> Result<Vec<(HostedZone, Vec<RecordSet>)>, CloudError> {
    let (cached, cloud) = (&cache.zones, r.cloud);
    let read = bounded(zones.iter().map(|z| async move {
        let (zone, records) = futures_util::join!(
            async {
                match cached.get(z) {
                    Some(zone) => Ok(zone.clone()),
                    None => {
                        r.read(Service::Route53, "GetHostedZone", || cloud.get_hosted_zone(z))
                            .await
                    }
                }
            },
            r.read(Service::Route53, "ListResourceRecordSets", || {
                cloud.list_resource_record_sets(z)
            }),
        );
        match (zone, records) {
            (Ok(zone), Ok(records)) => Ok(Some((zone, records))),
            (Err(e), _) | (_, Err(e)) if e.kind == ErrorKind::NotFound => Ok(None),
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }))
    .await?;
    let read: Vec<_> = read.into_iter().flatten().collect();
    for (zone, _) in &read {
        cache.zones.insert(zone.id.clone(), zone.clone());
    }
    Ok(read)
}
