//! Gateway placement: where a file system's resource gateway goes and whether the one it has is
//! kept, updated or replaced; the subnets it uses (chosen per AZ, routed to the floating IPs,
//! carved when none can host it), the `/28` blocks its ENIs need (prefix reservations and
//! headroom), and route table associations of the subnets we carved.

use super::{Action, Planner, join, sorted};
use crate::capacity::{SubnetCapacity, find_free_cidr};
use crate::error::ErrorKind;
use crate::ids::*;
use crate::model::*;
use crate::naming::*;
use ipnet::Ipv4Net;
use std::collections::BTreeSet;

impl<'a> Planner<'a> {
    pub(super) fn our_gateways(&self, fs: &FileSystemId) -> Vec<&'a ResourceGateway> {
        let mut v: Vec<&ResourceGateway> = self
            .obs
            .gateways
            .iter()
            .filter(|g| self.owned(&g.tags) && g.tags.get(FILE_SYSTEM_TAG).map(String::as_str) == Some(fs.as_str()))
            .collect();
        v.sort_by_key(|g| (generation_of(&g.tags).unwrap_or(0), g.id.clone()));
        v
    }

    /// Subnets of `gw` where it has no ENI yet and no free /28 can be had.
    fn starved_subnets(&self, gw: &ResourceGateway) -> Vec<SubnetId> {
        gw.subnet_ids
            .iter()
            .filter(|s| {
                let has_eni = self
                    .obs
                    .network_interfaces
                    .iter()
                    .any(|e| &e.subnet_id == *s && e.resource_gateway_id().as_ref() == Some(&gw.id));
                !has_eni && !self.capacity.get(*s).is_some_and(SubnetCapacity::can_host_gateway_eni)
            })
            .cloned()
            .collect()
    }

    pub(super) fn decide_gateway(
        &mut self,
        fs: &'a FileSystem,
        current: Option<&'a ResourceGateway>,
        all: &[&'a ResourceGateway],
    ) -> GatewayDecision<'a> {
        let pinned = !self.config.gateway.subnet_ids.is_empty();
        let next_gen = all.iter().filter_map(|g| generation_of(&g.tags)).max().unwrap_or(0) + 1;
        let Some(gw) = current else {
            self.create_gateway(fs, next_gen, pinned, "no gateway serves this file system yet");
            return GatewayDecision::Replace;
        };
        let replace_because = match gw.status {
            GatewayStatus::CreateInProgress | GatewayStatus::UpdateInProgress => {
                self.wait(format!("{} is {:?}", gw.id, gw.status));
                return GatewayDecision::Wait;
            }
            GatewayStatus::CreateFailed | GatewayStatus::UpdateFailed | GatewayStatus::DeleteFailed => {
                Some(format!("{} is {:?} (VPC Lattice gives no reason)", gw.id, gw.status))
            }
            _ => None,
        };
        let replace_because = replace_because.or_else(|| {
            (gw.ipv4_addresses_per_eni != 16).then(|| {
                format!(
                    "{} has ipv4AddressesPerEni={} (immutable; 16 wanted)",
                    gw.id, gw.ipv4_addresses_per_eni
                )
            })
        });
        let want = sorted(&self.config.gateway.subnet_ids);
        let pins_usable = pinned
            && want.iter().all(|s| {
                self.capacity.get(s).is_some_and(SubnetCapacity::can_host_gateway_eni)
                    && !matches!(self.routing(s, fs), Routing::Unrouted(_))
            });
        // Gateway subnets that cannot reach the floating IPs: ours are given the file system's
        // route table in place; any other makes the gateway useless, so it is replaced (the
        // subnets of a gateway are immutable) — or refused when the config pins it there.
        let mut unrouted = Vec::new();
        for s in &gw.subnet_ids {
            match self.routing(s, fs) {
                Routing::Routed => {}
                Routing::Associable(table) => self.push(
                    Action::AssociateRouteTable {
                        vpc_id: fs.vpc_id.clone(),
                        route_table_id: table,
                        subnet_id: s.clone(),
                    },
                    format!(
                        "{} has ENIs of {} in {s}, which uses the VPC's main table",
                        fs.id, gw.id
                    ),
                ),
                Routing::Unrouted(why) => unrouted.push(why),
            }
        }
        if !unrouted.is_empty() {
            let why = format!("{} cannot reach the SVMs: {}", gw.id, unrouted.join("; "));
            if !self.config.gateway.heal {
                self.refuse(
                    fs.id.to_string(),
                    ErrorKind::InvalidInput,
                    format!("{why}; gateway.heal is off, so nothing is replaced"),
                );
                return GatewayDecision::Wait;
            }
            // To the pinned subnets when they are routed and can host it, else (healing) to
            // routed subnets with capacity.
            return if self.create_gateway(fs, next_gen, pins_usable, &format!("replace: {why}")) {
                GatewayDecision::Replace
            } else {
                GatewayDecision::Wait
            };
        }
        let replace_because = replace_because.or_else(|| {
            (pins_usable && sorted(&gw.subnet_ids) != want).then(|| {
                format!(
                    "{} is in {} but the config pins {} (subnets are immutable)",
                    gw.id,
                    join(&gw.subnet_ids),
                    join(&want)
                )
            })
        });
        let replace_because = match replace_because {
            Some(r) => Some(r),
            None => {
                let starved = self.starved_subnets(gw);
                if starved.is_empty() {
                    None
                } else {
                    for s in &starved {
                        self.diagnose(s);
                    }
                    let failed: Vec<&VpcEndpoint> = self
                        .configs_on(&gw.id)
                        .iter()
                        .flat_map(|c| self.endpoints_on(&c.arn))
                        .filter(|e| e.state == EndpointState::Failed && self.owned(&e.tags))
                        .collect();
                    let why = format!(
                        "{} cannot get a /28 in {}: {}",
                        gw.id,
                        join(&starved),
                        starved
                            .iter()
                            .filter_map(|s| self.capacity.get(s)?.reason())
                            .collect::<Vec<_>>()
                            .join("; ")
                    );
                    if pinned && failed.is_empty() {
                        self.out.warnings.push(format!("{why}. The subnets are pinned by the config, so the gateway stays there until an endpoint fails"));
                        None
                    } else if !self.config.gateway.heal {
                        self.refuse(
                            fs.id.to_string(),
                            ErrorKind::CapacityExhausted,
                            format!("{why}; gateway.heal is off, so nothing is replaced"),
                        );
                        return GatewayDecision::Wait;
                    } else {
                        Some(why)
                    }
                }
            }
        };
        if let Some(why) = replace_because {
            // Until the replacement is actually being created (subnets carved, capacity found),
            // the old gateway stays current so nothing of it is drained.
            // The replacement goes to the pinned subnets when they can host it, else (healing)
            // where the capacity is.
            // To the pinned subnets when they are routed and can host it, else (healing) to
            // routed subnets with capacity.
            return if self.create_gateway(fs, next_gen, pins_usable, &format!("replace: {why}")) {
                GatewayDecision::Replace
            } else {
                GatewayDecision::Wait
            };
        }
        let want_sgs = sorted(&self.config.gateway.security_group_ids);
        if sorted(&gw.security_group_ids) != want_sgs && gw.status == GatewayStatus::Active {
            self.push(
                Action::UpdateResourceGateway {
                    gateway_id: gw.id.clone(),
                    security_group_ids: want_sgs,
                },
                "gateway.security_group_ids changed (the one mutable field)",
            );
        }
        GatewayDecision::Use(gw)
    }

    /// Chooses subnets (one per AZ of the file system), reserves blocks, and creates the
    /// gateway; or carves subnets first; or refuses.
    fn create_gateway(&mut self, fs: &'a FileSystem, generation: u32, pinned: bool, why: &str) -> bool {
        let Some(vpc) = self.obs.vpcs.iter().find(|v| v.id == fs.vpc_id) else {
            return false;
        };
        let chosen: Vec<SubnetId> = if pinned {
            let pins = self.config.gateway.subnet_ids.clone();
            for s in &pins {
                match self.obs.subnets.iter().find(|x| &x.id == s) {
                    Some(sub) if sub.vpc_id != fs.vpc_id => {
                        self.refuse(
                            fs.id.to_string(),
                            ErrorKind::InvalidInput,
                            format!("pinned gateway subnet {s} is in {}, not in {}", sub.vpc_id, fs.vpc_id),
                        );
                        return false;
                    }
                    None => {
                        self.refuse(
                            fs.id.to_string(),
                            ErrorKind::InvalidInput,
                            format!("pinned gateway subnet {s} not found in {}", fs.vpc_id),
                        );
                        return false;
                    }
                    Some(_) => {}
                }
                match self.routing(s, fs) {
                    Routing::Routed => {}
                    Routing::Associable(table) => {
                        self.push(
                            Action::AssociateRouteTable {
                                vpc_id: fs.vpc_id.clone(),
                                route_table_id: table,
                                subnet_id: s.clone(),
                            },
                            format!(
                                "pinned subnet {s} is ours and uses the VPC's main table, not one of {}'s",
                                fs.id
                            ),
                        );
                        self.wait(format!("gateway for {} waits for {s}'s route table", fs.id));
                        return false;
                    }
                    Routing::Unrouted(why) => {
                        self.refuse(
                            fs.id.to_string(),
                            ErrorKind::InvalidInput,
                            format!("pinned gateway subnet {why}"),
                        );
                        return false;
                    }
                }
                if let Some(c) = self.capacity.get(s)
                    && let Some(reason) = c.reason()
                {
                    self.diagnose(s);
                    self.out.warnings.push(format!(
                        "pinned subnet {s}: {reason}. The endpoint will fail when VPC Lattice asks EC2 for the gateway ENI's /28"
                    ));
                }
            }
            pins
        } else {
            let mut azs: BTreeSet<&str> = BTreeSet::new();
            for s in &fs.subnet_ids {
                match self.obs.subnets.iter().find(|x| &x.id == s) {
                    Some(sub) => {
                        azs.insert(sub.availability_zone.as_str());
                    }
                    None => {
                        self.refuse(
                            fs.id.to_string(),
                            ErrorKind::NotFound,
                            format!("subnet {s} of the file system not found"),
                        );
                        return false;
                    }
                }
            }
            let mut chosen = Vec::new();
            let mut carving = false;
            let mut associating = false;
            for az in azs {
                // Routed subnets first, then ours that need the file system's route table; then
                // the most free blocks already under prefix reservations, then the most free.
                let mut best: Option<Candidate<'_>> = None;
                let mut unrouted = Vec::new();
                for sub in self
                    .obs
                    .subnets
                    .iter()
                    .filter(|s| s.vpc_id == fs.vpc_id && s.availability_zone == az)
                {
                    let Some(c) = self.capacity.get(&sub.id) else { continue };
                    if !c.can_host_gateway_eni() {
                        continue;
                    }
                    let associate = match self.routing(&sub.id, fs) {
                        Routing::Routed => None,
                        Routing::Associable(t) => Some(t),
                        Routing::Unrouted(_) => {
                            unrouted.push(sub.id.clone());
                            continue;
                        }
                    };
                    let score = (
                        associate.is_none(),
                        c.free_blocks_in_prefix_reservations.len(),
                        c.free_prefix_blocks.len(),
                    );
                    if best
                        .as_ref()
                        .is_none_or(|(b, _, bs)| score > *bs || (score == *bs && c.subnet_id < b.subnet_id))
                    {
                        best = Some((c, associate, score));
                    }
                }
                if best.is_none() && !unrouted.is_empty() {
                    self.out.warnings.push(format!(
                        "{} in {az}: {} can host a gateway ENI but use(s) none of the file system's route tables ({}): not used",
                        fs.id,
                        join(&unrouted),
                        join(&self.fs_route_tables(fs))
                    ));
                }
                match best {
                    Some((c, Some(table), _)) => {
                        let subnet_id = c.subnet_id.clone();
                        self.push(
                            Action::AssociateRouteTable {
                                vpc_id: fs.vpc_id.clone(),
                                route_table_id: table,
                                subnet_id: subnet_id.clone(),
                            },
                            format!("our subnet {subnet_id} uses the VPC's main table, not one of {}'s: FSx routes its endpoint IPs only there", fs.id),
                        );
                        associating = true;
                        chosen.push(subnet_id);
                    }
                    Some((c, None, _)) => chosen.push(c.subnet_id.clone()),
                    None => {
                        let ids: Vec<SubnetId> = self
                            .obs
                            .subnets
                            .iter()
                            .filter(|s| s.vpc_id == fs.vpc_id && s.availability_zone == az)
                            .map(|s| s.id.clone())
                            .collect();
                        for s in &ids {
                            self.diagnose(s);
                        }
                        if !self.config.gateway.allow_subnet_creation {
                            self.refuse(fs.id.to_string(), ErrorKind::CapacityExhausted, format!(
                                "no subnet of {} in {az} has a free aligned /28 and gateway.allow_subnet_creation is off: reserve or free a /28, or allow carving",
                                fs.vpc_id
                            ));
                            return false;
                        }
                        let mut taken: Vec<Ipv4Net> = self
                            .obs
                            .subnets
                            .iter()
                            .filter(|s| s.vpc_id == fs.vpc_id)
                            .map(|s| s.cidr)
                            .collect();
                        taken.extend(fs.endpoint_ip_address_range);
                        taken.extend(self.planned_cidrs.iter().copied());
                        let len = self.config.gateway.new_subnet_prefix_length;
                        match find_free_cidr(&vpc.cidr_blocks, &taken, len) {
                            Some(cidr) => {
                                self.planned_cidrs.push(cidr);
                                carving = true;
                                let tags = self.tags(&[
                                    (FILE_SYSTEM_TAG, fs.id.to_string()),
                                    ("Name", format!("fsxn-lattice-gateway-{az}")),
                                ]);
                                self.push(
                                    Action::CreateSubnet { vpc_id: fs.vpc_id.clone(), availability_zone: az.to_string(), cidr, tags },
                                    format!("no subnet of {} in {az} has a free aligned /28; carving a /{len} (the lowest free block of the VPC CIDRs, avoiding the endpoint IP range)", fs.vpc_id),
                                );
                            }
                            None => {
                                self.refuse(fs.id.to_string(), ErrorKind::CapacityExhausted, format!(
                                    "no subnet of {} in {az} has a free aligned /28 and no free /{len} is left in the VPC CIDRs ({}): add a CIDR block to the VPC",
                                    fs.vpc_id, join(&vpc.cidr_blocks)
                                ));
                                return false;
                            }
                        }
                    }
                }
            }
            if carving || associating {
                // Subnets already chosen for the other AZs stay: they are not debris.
                self.subnets_in_use.extend(chosen.iter().cloned());
                self.wait(format!(
                    "gateway for {} waits for {}",
                    fs.id,
                    if carving {
                        "the new subnet(s)"
                    } else {
                        "the route table association"
                    }
                ));
                return false;
            }
            chosen
        };
        self.subnets_in_use.extend(chosen.iter().cloned());
        let want = 1 + usize::from(self.config.gateway.headroom_blocks);
        for s in &chosen {
            self.reserve(s, fs, want, 1);
        }
        let name = gateway_name(self.owner, &fs.id, generation);
        let sgs = sorted(&self.config.gateway.security_group_ids);
        let token = client_token(&[
            "gateway",
            self.owner,
            &name,
            fs.vpc_id.as_str(),
            &join(&chosen),
            &join(&sgs),
        ]);
        let tags = self.tags(&[
            (FILE_SYSTEM_TAG, fs.id.to_string()),
            (GENERATION_TAG, generation.to_string()),
        ]);
        self.push(
            Action::CreateResourceGateway {
                name,
                vpc_id: fs.vpc_id.clone(),
                subnet_ids: chosen,
                security_group_ids: sgs,
                ipv4_addresses_per_eni: 16,
                client_token: token,
                tags,
            },
            why.to_string(),
        );
        true
    }

    /// Keeps `want` free /28 blocks under prefix reservations in `subnet` (at least `need`
    /// matter; the rest is headroom).
    fn reserve(&mut self, subnet: &SubnetId, fs: &FileSystem, want: usize, need: usize) {
        let Some(c) = self.capacity.get(subnet) else { return };
        let have = c.free_blocks_in_prefix_reservations.len();
        if have >= want {
            return;
        }
        let blocks: Vec<Ipv4Net> = c
            .unreserved_free_blocks()
            .filter(|b| !self.planned_reservations.contains(b))
            .take(want - have)
            .copied()
            .collect();
        self.planned_reservations.extend(blocks.iter().copied());
        if have + blocks.len() < need {
            return;
        }
        for (i, b) in blocks.into_iter().enumerate() {
            let why = if have + i < need {
                "keep random IP placement out of the /28 the gateway ENI needs".to_string()
            } else {
                "headroom: VPC Lattice may add gateway ENIs later".to_string()
            };
            self.push(
                Action::ReserveCidr {
                    subnet_id: subnet.clone(),
                    cidr: b,
                    description: format!("fsxn-lattice: /28 for resource gateway ENIs of {}", fs.id),
                    tags: self.tags(&[(FILE_SYSTEM_TAG, fs.id.to_string())]),
                },
                why,
            );
        }
    }

    pub(super) fn ensure_headroom(&mut self, gw: &ResourceGateway) {
        let Some(fs_id) = gw
            .tags
            .get(FILE_SYSTEM_TAG)
            .and_then(|f| FileSystemId::parse(f.as_str()).ok())
        else {
            return;
        };
        let Some(fs) = self.obs.file_systems.iter().find(|f| f.id == fs_id) else {
            return;
        };
        for s in &gw.subnet_ids {
            let has_eni = self
                .obs
                .network_interfaces
                .iter()
                .any(|e| &e.subnet_id == s && e.resource_gateway_id().as_ref() == Some(&gw.id));
            let want = usize::from(self.config.gateway.headroom_blocks) + usize::from(!has_eni);
            self.reserve(s, fs, want, usize::from(!has_eni));
            if has_eni
                && self.config.gateway.headroom_blocks > 0
                && self.capacity.get(s).is_some_and(|c| c.free_prefix_blocks.is_empty())
            {
                self.out.warnings.push(format!(
                    "{s} has no free /28 left: VPC Lattice cannot add another ENI of {} there",
                    gw.id
                ));
            }
        }
    }

    /// The file system's route tables: `RouteTableIds`, or the VPC's main table when FSx
    /// reported none (its documented default).
    fn fs_route_tables(&self, fs: &FileSystem) -> Vec<RouteTableId> {
        if !fs.route_table_ids.is_empty() {
            return sorted(&fs.route_table_ids);
        }
        self.obs
            .route_tables
            .iter()
            .filter(|t| t.main && t.vpc_id == fs.vpc_id)
            .map(|t| t.id.clone())
            .collect()
    }

    /// Whether gateway ENIs in `subnet` can reach the file system's floating IPs: FSx writes
    /// the routes to its endpoint IP range only into the file system's route tables, and a
    /// gateway's ENIs are the SVM's clients (they NAT the consumers' traffic).
    fn routing(&self, subnet: &SubnetId, fs: &FileSystem) -> Routing {
        let Some(sub) = self.obs.subnets.iter().find(|s| &s.id == subnet) else {
            return Routing::Routed; // not found: refused elsewhere, with that reason
        };
        let Some(table) = effective_route_table(&self.obs.route_tables, sub) else {
            return Routing::Routed; // no route table observed for it: nothing to go by
        };
        let wanted = self.fs_route_tables(fs);
        if wanted.contains(&table.id) {
            return Routing::Routed;
        }
        // A subnet we carved that still uses the main table: give it one of the file system's.
        if let Some(first) = wanted.first()
            && table.main
            && self.owned(&sub.tags)
        {
            return Routing::Associable(first.clone());
        }
        Routing::Unrouted(format!(
            "{subnet} uses route table {}{}, not one of {}'s route tables ({}): FSx writes the routes to its endpoint IPs only there, so gateway ENIs in {subnet} could not reach the SVMs (the endpoint would show available while every connection times out). Associate {subnet} with one of them, or add {} to the file system (aws fsx update-file-system --ontap-configuration AddRouteTableIds=…)",
            table.id,
            if table.main { " (the VPC's main table)" } else { "" },
            fs.id,
            join(&wanted),
            table.id
        ))
    }
}

pub(super) enum GatewayDecision<'a> {
    Use(&'a ResourceGateway),
    Wait,
    Replace,
}

/// A gateway subnet candidate: its capacity, the route table it must be associated with first
/// (if any), and its score (routed, free blocks under prefix reservations, free blocks).
type Candidate<'c> = (&'c SubnetCapacity, Option<RouteTableId>, (bool, usize, usize));

/// How a subnet reaches a file system's floating IPs (see `Planner::routing`).
enum Routing {
    /// Its route table is one of the file system's.
    Routed,
    /// Ours, on the VPC's main table, which is not the file system's: associate it with this one.
    Associable(RouteTableId),
    /// Not routed and not ours to change: why.
    Unrouted(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests_support::*;

    #[test]
    fn a_new_gateway_goes_to_the_subnet_with_the_most_free_blocks_of_each_az_with_reservations() {
        let (config, mut o) = world();
        fill(&mut o, "subnet-a1", 16); // no free /28 in the FSx subnet of AZ a
        let p = planned(&config, &o);
        let gw = p.actions.iter().find_map(|a| match &a.action {
            Action::CreateResourceGateway { subnet_ids, name, .. } => Some((subnet_ids.clone(), name.clone())),
            _ => None,
        });
        let (subnets, name) = gw.expect("a gateway is planned");
        // a2 (/24, 14 free blocks) beats a3 (/26, 2); b1 is the only subnet of AZ b.
        assert_eq!(
            subnets.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            ["subnet-a2", "subnet-b1"]
        );
        assert_eq!(name, "fsxnl-t-1-g1");
        let reserved: Vec<String> = p
            .actions
            .iter()
            .filter_map(|a| match &a.action {
                Action::ReserveCidr { subnet_id, cidr, .. } => Some(format!("{subnet_id} {cidr}")),
                _ => None,
            })
            .collect();
        assert_eq!(
            reserved,
            [
                "subnet-a2 10.0.0.16/28",
                "subnet-a2 10.0.0.32/28",
                "subnet-b1 10.0.9.16/28",
                "subnet-b1 10.0.9.32/28"
            ]
        );
        assert!(
            p.actions
                .iter()
                .position(|a| matches!(a.action, Action::ReserveCidr { .. }))
                < p.actions
                    .iter()
                    .position(|a| matches!(a.action, Action::CreateResourceGateway { .. }))
        );
        assert_eq!(p, planned(&config, &o), "deterministic, tokens included");
    }

    #[test]
    fn no_capacity_in_an_az_carves_the_lowest_free_26_outside_the_endpoint_range() {
        let (config, mut o) = world();
        fill(&mut o, "subnet-b1", 16);
        let p = planned(&config, &o);
        let carved: Vec<String> = p
            .actions
            .iter()
            .filter_map(|a| match &a.action {
                Action::CreateSubnet {
                    cidr,
                    availability_zone,
                    ..
                } => Some(format!("{availability_zone} {cidr}")),
                _ => None,
            })
            .collect();
        assert_eq!(carved, ["us-east-1b 10.0.1.64/26"]);
        assert!(
            p.actions
                .iter()
                .all(|a| !matches!(a.action, Action::CreateResourceGateway { .. })),
            "the gateway waits for the subnet"
        );
        assert!(p.diagnoses.iter().any(|d| d.subnet_id.as_str() == "subnet-b1"));
    }

    #[test]
    fn what_we_create_carries_our_owner_and_file_system_tags() {
        let (config, o) = world();
        let p = planned(&config, &o);
        let tags = p
            .actions
            .iter()
            .find_map(|a| match &a.action {
                Action::CreateResourceGateway { tags, .. } => Some(tags.clone()),
                _ => None,
            })
            .expect("a gateway is planned");
        assert_eq!(tags.get(OWNER_TAG).map(String::as_str), Some("t"));
        assert_eq!(tags.get(FILE_SYSTEM_TAG).map(String::as_str), Some("fs-1"));
        assert_eq!(tags.get(GENERATION_TAG).map(String::as_str), Some("1"));
    }

    #[test]
    fn a_gateway_without_an_eni_in_a_subnet_that_has_no_free_28_is_replaced() {
        let (config, mut o) = world();
        with_gateway(&mut o, &["subnet-a2", "subnet-b1"]);
        our_endpoint(&mut o, "vpce-0a", EndpointState::Failed);
        // Its ENI in subnet-a2 never came, and every block of subnet-a2 now holds a used address.
        o.network_interfaces.retain(|e| e.subnet_id.as_str() != "subnet-a2");
        fill(&mut o, "subnet-a2", 7);
        let p = planned(&config, &o);
        let why = p
            .actions
            .iter()
            .find_map(|a| matches!(a.action, Action::CreateResourceGateway { .. }).then(|| a.why.clone()))
            .expect("replacement planned");
        assert!(why.contains("cannot get a /28 in subnet-a2"), "{why}");
    }

    #[test]
    fn a_new_gateway_goes_only_to_subnets_on_the_file_systems_route_tables() {
        let (config, mut o) = world();
        route_tables(&mut o);
        // subnet-a2 is routed; a3 (main table) has capacity too but is never chosen.
        o.route_tables[1]
            .associations
            .retain(|a| a.subnet_id.as_str() != "subnet-a2");
        let p = planned(&config, &o);
        // AZ a: no routed subnet with a free /28 → carve, with a warning naming the unrouted ones.
        assert!(
            p.actions
                .iter()
                .any(|a| matches!(a.action, Action::CreateSubnet { .. })),
            "{:#?}",
            p.actions
        );
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("subnet-a2") && w.contains("rtb-f")),
            "{:?}",
            p.warnings
        );
        assert!(
            !p.actions
                .iter()
                .any(|a| matches!(a.action, Action::CreateResourceGateway { .. })),
            "no gateway before the carved subnet exists"
        );
    }

    #[test]
    fn our_carved_subnet_is_associated_with_the_file_systems_route_table_before_the_gateway() {
        let (config, mut o) = world();
        route_tables(&mut o);
        o.route_tables[1]
            .associations
            .retain(|a| a.subnet_id.as_str() != "subnet-a2");
        // The subnet carved on the last pass: ours, on the main table.
        o.subnets.push(Subnet {
            id: id("subnet-0e"),
            vpc_id: id("vpc-1"),
            availability_zone: "us-east-1a".into(),
            cidr: "10.0.2.0/26".parse().unwrap(),
            tags: [(OWNER_TAG.to_string(), "t".to_string())].into(),
        });
        let p = planned(&config, &o);
        let assoc: Vec<(&str, &str)> = p
            .actions
            .iter()
            .filter_map(|a| match &a.action {
                Action::AssociateRouteTable {
                    route_table_id,
                    subnet_id,
                    ..
                } => Some((subnet_id.as_str(), route_table_id.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(assoc, [("subnet-0e", "rtb-f")]);
        assert!(
            !p.actions
                .iter()
                .any(|a| matches!(a.action, Action::CreateResourceGateway { .. }))
        );
        assert!(
            !p.actions
                .iter()
                .any(|a| matches!(a.action, Action::CreateSubnet { .. })),
            "no second carve"
        );
        // Once associated, the gateway goes there.
        o.route_tables[1].associations.push(RouteTableAssociation {
            id: "rtbassoc-new".into(),
            subnet_id: id("subnet-0e"),
        });
        let p = planned(&config, &o);
        let gw = p.actions.iter().find_map(|a| match &a.action {
            Action::CreateResourceGateway { subnet_ids, .. } => Some(subnet_ids.clone()),
            _ => None,
        });
        assert_eq!(gw, Some(vec![id("subnet-0e"), id("subnet-b1")]));
    }

    #[test]
    fn a_pinned_subnet_on_another_route_table_is_refused_with_the_reason() {
        let (mut config, mut o) = world();
        route_tables(&mut o);
        config.gateway.subnet_ids = vec![id("subnet-a3"), id("subnet-b1")];
        let p = planned(&config, &o);
        assert!(
            !p.actions
                .iter()
                .any(|a| matches!(a.action, Action::CreateResourceGateway { .. }))
        );
        let r = p.refusals.iter().find(|r| r.subject == "fs-1").expect("refused");
        assert_eq!(r.kind, ErrorKind::InvalidInput);
        assert!(
            r.reason.contains("subnet-a3") && r.reason.contains("rtb-a") && r.reason.contains("rtb-f"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn a_gateway_in_subnets_that_cannot_reach_the_floating_ip_is_replaced() {
        let (config, mut o) = world();
        route_tables(&mut o);
        with_gateway(&mut o, &["subnet-a3", "subnet-b1"]); // a3 uses the main table
        our_endpoint(&mut o, "vpce-0a", EndpointState::Available);
        let p = planned(&config, &o);
        let gw = p.actions.iter().find_map(|a| match &a.action {
            Action::CreateResourceGateway { subnet_ids, .. } => Some((subnet_ids.clone(), a.why.clone())),
            _ => None,
        });
        let (subnets, why) = gw.expect("replacement planned");
        assert_eq!(subnets, vec![id("subnet-a2"), id("subnet-b1")]);
        assert!(why.contains("cannot reach") && why.contains("subnet-a3"), "{why}");
        // Nothing of the old path (its endpoint is available) is deleted before the new one serves.
        assert!(!p.actions.iter().any(|a| a.action.is_delete()), "{:#?}", p.actions);
    }

    #[test]
    fn the_main_table_is_the_file_systems_when_fsx_reports_none() {
        let (config, mut o) = world();
        route_tables(&mut o);
        o.file_systems[0].route_table_ids = vec![];
        o.route_tables[1].associations.clear(); // every subnet on the main table
        let p = planned(&config, &o);
        assert!(
            p.actions
                .iter()
                .any(|a| matches!(a.action, Action::CreateResourceGateway { .. })),
            "{:#?} {:?}",
            p.actions,
            p.refusals
        );
    }
}
