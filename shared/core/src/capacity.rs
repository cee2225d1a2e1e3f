//! /28 capacity: which aligned /28 blocks of a subnet can still take an IPv4 prefix.
//!
//! A resource gateway ENI asks EC2 for one `/28` prefix (16 consecutive addresses on a 16-address
//! boundary, all unused) plus a primary IP: 17 addresses, as the seed measured (1019 → 1002). EC2
//! scatters ordinary private IPs across a subnet, so a subnet can have hundreds of free addresses
//! and no free aligned /28 — "There aren't sufficient free Ipv4 addresses or prefixes" with 212
//! free. See [Assign prefixes to network interfaces](https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-prefix-eni.html)
//! and [Subnet CIDR reservations](https://docs.aws.amazon.com/vpc/latest/userguide/subnet-cidr-reservation.html).
//!
//! Assumption (docs/design.md §3, UNCONFIRMED): a gateway with `ipv4AddressesPerEni` = 16 takes a /28
//! prefix; other values are not modelled and default 16 is what this tool creates.

use crate::ids::{CidrReservationId, NetworkInterfaceId, SubnetId};
use crate::model::{CidrReservation, NetworkInterface, ReservationType, Subnet};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::Ipv4Addr;

/// Prefix length of the block a gateway ENI takes.
pub const GATEWAY_PREFIX_LEN: u8 = 28;
/// Addresses in one /28 block.
pub const BLOCK_SIZE: u32 = 16;
/// Addresses one gateway ENI consumes: a primary IP and one /28 prefix (seed: 17 per subnet).
pub const ADDRESSES_PER_GATEWAY_ENI: u32 = BLOCK_SIZE + 1;
/// The smallest subnet that can host a gateway ENI: a /26 has two candidate /28 blocks, a /27
/// has none (both its blocks hold AWS-reserved addresses).
pub const SMALLEST_GATEWAY_SUBNET_LEN: u8 = 26;

/// The addresses AWS reserves in every subnet: network, +1 (router), +2 (DNS), +3 (future)
/// and the last (broadcast) — five for every subnet EC2 allows (/16 to /28); fewer, distinct
/// and inside the CIDR for smaller ones read from files. Never wraps past 255.255.255.255.
pub fn aws_reserved_addresses(cidr: Ipv4Net) -> Vec<Ipv4Addr> {
    let base = u32::from(cidr.network());
    let last = u32::from(cidr.broadcast());
    let mut out: Vec<u32> = (0..4u32)
        .filter_map(|i| base.checked_add(i))
        .filter(|a| *a <= last)
        .collect();
    out.push(last);
    out.sort_unstable();
    out.dedup();
    out.into_iter().map(Ipv4Addr::from).collect()
}

/// Prefix lengths EC2 allows for a subnet's IPv4 CIDR ([Subnet sizing](https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html)).
pub const SUBNET_PREFIX_LENS: std::ops::RangeInclusive<u8> = 16..=28;

/// Why a /28 block cannot take a prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum BlockObstacle {
    /// Holds one of the five addresses AWS reserves (the first and last block of every subnet).
    AwsReserved,
    /// Overlaps a prefix already assigned to an ENI.
    AssignedPrefix {
        /// The assigned prefix (an entry of the ENI's `Ipv4Prefixes`).
        prefix: Ipv4Net,
        /// The ENI it is assigned to; for a gateway ENI, its description names the gateway.
        network_interface_id: NetworkInterfaceId,
    },
    /// Holds private IPs of ENIs.
    UsedAddresses {
        /// How many addresses of the block are in use.
        count: u32,
        /// The lowest one, as an example.
        first: Ipv4Addr,
    },
    /// Overlaps an `explicit` CIDR reservation, where EC2 never places prefixes.
    ExplicitReservation {
        /// The overlapping `explicit` reservation (anyone's; ours are all `prefix`).
        reservation_id: CidrReservationId,
    },
}

impl std::fmt::Display for BlockObstacle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AwsReserved => f.write_str("holds an AWS-reserved address"),
            Self::AssignedPrefix {
                prefix,
                network_interface_id,
            } => {
                write!(f, "prefix {prefix} assigned to {network_interface_id}")
            }
            Self::UsedAddresses { count, first } => {
                write!(f, "{count} address(es) in use, e.g. {first}")
            }
            Self::ExplicitReservation { reservation_id } => {
                write!(f, "inside explicit reservation {reservation_id}")
            }
        }
    }
}

/// One aligned /28 block that is not free, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockReport {
    /// The block.
    pub cidr: Ipv4Net,
    /// The first obstacle found, in order: reserved, assigned prefix, used addresses, explicit
    /// reservation.
    pub obstacle: BlockObstacle,
}

/// The /28 capacity of one subnet, computed by [`analyze_subnet`] from the observed ENIs and
/// CIDR reservations (no AWS call of its own). The planner keeps one per observed subnet and
/// copies those its decisions used into the plan's diagnoses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetCapacity {
    /// Copied from [`Subnet::id`], so a report stands alone.
    pub subnet_id: SubnetId,
    /// Copied from [`Subnet::availability_zone`]: the planner wants one gateway subnet per AZ.
    pub availability_zone: String,
    /// [`Subnet::cidr`]: the blocks below are its aligned /28s.
    pub cidr: Ipv4Net,
    /// Addresses not reserved by AWS, not an ENI's private IP and not inside an assigned prefix:
    /// the seed's `AvailableIpAddressCount` (212) had no reservations to tell how AWS counts
    /// them, and no AWS document says: reservations are not subtracted here, and nothing is
    /// decided on this figure — placement uses `unreserved_free_addresses` and the blocks.
    pub free_addresses: u32,
    /// Free addresses outside every CIDR reservation: where EC2 places an ENI's primary IP.
    pub unreserved_free_addresses: u32,
    /// Aligned /28 blocks that hold no AWS-reserved address (0 for a /27 or smaller).
    pub candidate_blocks: u32,
    /// Candidate blocks that can take a prefix now, ascending.
    pub free_prefix_blocks: Vec<Ipv4Net>,
    /// The subset of `free_prefix_blocks` inside `prefix` reservations, where EC2 places
    /// prefixes first.
    pub free_blocks_in_prefix_reservations: Vec<Ipv4Net>,
    /// Every block that is not free, with its reason, ascending.
    pub blocked: Vec<BlockReport>,
}

impl SubnetCapacity {
    /// Whether a new gateway ENI fits: one free /28 for its prefix and one more free address,
    /// outside every reservation and outside that /28, for its primary IP (17 addresses in all).
    pub fn can_host_gateway_eni(&self) -> bool {
        let reserved_block = !self.free_blocks_in_prefix_reservations.is_empty();
        let unreserved_block = self.unreserved_free_blocks().next().is_some();
        (reserved_block && self.unreserved_free_addresses >= 1)
            || (unreserved_block && self.unreserved_free_addresses > BLOCK_SIZE)
    }

    /// Free /28 blocks outside any prefix reservation: the ones a new reservation may claim.
    pub fn unreserved_free_blocks(&self) -> impl Iterator<Item = &Ipv4Net> {
        self.free_prefix_blocks
            .iter()
            .filter(|b| !self.free_blocks_in_prefix_reservations.contains(b))
    }

    /// A one-line explanation, for a subnet that cannot host a gateway ENI.
    pub fn reason(&self) -> Option<String> {
        if self.can_host_gateway_eni() {
            return None;
        }
        if !self.free_prefix_blocks.is_empty() {
            return Some(format!(
                "{} free aligned /28 block(s) but no free address left outside the CIDR reservations for the ENI's primary IP",
                self.free_prefix_blocks.len()
            ));
        }
        if self.candidate_blocks == 0 {
            return Some(format!(
                "{} is too small: a /{} or larger is needed for an aligned /28 that avoids the 5 AWS-reserved addresses",
                self.cidr, SMALLEST_GATEWAY_SUBNET_LEN
            ));
        }
        let (mut used, mut prefix, mut explicit) = (0, 0, 0);
        for b in &self.blocked {
            match b.obstacle {
                BlockObstacle::UsedAddresses { .. } => used += 1,
                BlockObstacle::AssignedPrefix { .. } => prefix += 1,
                BlockObstacle::ExplicitReservation { .. } => explicit += 1,
                BlockObstacle::AwsReserved => {}
            }
        }
        Some(format!(
            "{} free addresses but no free aligned /28 among {} candidate blocks ({} hold used addresses, {} hold assigned prefixes, {} are explicitly reserved)",
            self.free_addresses, self.candidate_blocks, used, prefix, explicit
        ))
    }
}

/// Analyses one subnet. ENIs and reservations of other subnets, and addresses outside the
/// subnet's CIDR, are ignored, so callers may pass a whole VPC's listings.
///
/// Each call scans the whole listing for the subnet's ENIs: a caller analysing many subnets
/// should use [`analyze_subnets`], which scans it once. Measured on 2 cores (README
/// "Performance"), finding the ENIs of one subnet among 20,000 takes ~130 µs, mostly cache
/// misses on the ENIs' subnet ids, so sixteen calls spend ~2 ms on the scan alone. Beyond the
/// scan, the cost grows with the subnet's used addresses, prefixes and reservations, not with
/// the size of its CIDR (a bitmap per subnet, see `Tally`). A CIDR outside what EC2 allows for a subnet
/// ([`SUBNET_PREFIX_LENS`], only possible from a file) gets its address counts but no block
/// analysis (no candidate blocks), so it can never allocate by its size or panic.
pub fn analyze_subnet(
    subnet: &Subnet,
    network_interfaces: &[NetworkInterface],
    reservations: &[CidrReservation],
) -> SubnetCapacity {
    let mut tally = Tally::new(subnet);
    for e in network_interfaces.iter().filter(|e| e.subnet_id == subnet.id) {
        tally.add_network_interface(e);
    }
    for r in reservations.iter().filter(|r| r.subnet_id == subnet.id) {
        tally.add_reservation(r);
    }
    tally.finish()
}

/// [`analyze_subnet`] of each subnet, in order, with one pass over the listings instead of one
/// per subnet: what a planner wants for all the subnets it observed.
pub fn analyze_subnets(
    subnets: &[Subnet],
    network_interfaces: &[NetworkInterface],
    reservations: &[CidrReservation],
) -> Vec<SubnetCapacity> {
    // Subnet id → the positions listing it (twice only from a file: each gets the same ENIs).
    let mut listed_at: HashMap<IdKey, Vec<usize>, BuildHasherDefault<IdHasher>> = HashMap::default();
    for (i, s) in subnets.iter().enumerate() {
        listed_at.entry(IdKey(s.id.as_str())).or_default().push(i);
    }
    let mut tallies: Vec<Tally> = subnets.iter().map(Tally::new).collect();
    // In listing order: the first ENI (reservation) holding a block names it.
    for e in network_interfaces {
        for &i in listed_at
            .get(&IdKey(e.subnet_id.as_str()))
            .map_or(&[][..], Vec::as_slice)
        {
            tallies[i].add_network_interface(e);
        }
    }
    for r in reservations {
        for &i in listed_at
            .get(&IdKey(r.subnet_id.as_str()))
            .map_or(&[][..], Vec::as_slice)
        {
            tallies[i].add_reservation(r);
        }
    }
    tallies.into_iter().map(Tally::finish).collect()
}

/// An AWS id as a map key, compared a word at a time: comparing `&str` keys called libc's
/// `memcmp` once per ENI, ~20% of [`analyze_subnets`] on the criterion bench.
#[derive(Clone, Copy)]
struct IdKey<'a>(&'a str);

impl PartialEq for IdKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        let (words_a, words_b) = (a.chunks_exact(8), b.chunks_exact(8));
        let tails_equal = words_a.remainder().iter().eq(words_b.remainder());
        a.len() == b.len() && tails_equal && words_a.zip(words_b).all(|(x, y)| word(x) == word(y))
    }
}

impl Eq for IdKey<'_> {}

impl std::hash::Hash for IdKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.0.as_bytes());
    }
}

/// An 8-byte chunk as a word.
fn word(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_le_bytes(w)
}

/// A hasher for [`IdKey`] (FxHash's step, 8 bytes at a time): with the standard SipHash,
/// hashing the subnet ids of a 20,000-ENI listing took ~19% of [`analyze_subnets`]. The keys
/// are AWS ids, not chosen by an attacker, so flooding resistance buys nothing here.
#[derive(Default)]
struct IdHasher(u64);

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Whole words, then the tail byte by byte (a copy of unknown length calls memmove).
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(word(w));
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            self.add(tail.iter().fold(0, |w, b| w << 8 | u64::from(*b)));
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Addresses as bits, one per offset from a subnet's base: at most 65,536 bits (8 KiB) for the
/// largest subnet EC2 allows, a /16 (4,096 /28 blocks, each 16 bits of a word).
struct Bitmap(Vec<u64>);

impl Bitmap {
    fn new(len: u64) -> Self {
        Self(vec![0; len.div_ceil(64) as usize])
    }
    fn set(&mut self, o: u64) {
        self.0[(o / 64) as usize] |= 1 << (o % 64);
    }
    /// Sets the inclusive range `a..=b`, a word at a time.
    fn set_range(&mut self, a: u64, b: u64) {
        let (wa, wb) = ((a / 64) as usize, (b / 64) as usize);
        let low = !0u64 << (a % 64);
        let high = !0u64 >> (63 - b % 64);
        if wa == wb {
            self.0[wa] |= low & high;
        } else {
            self.0[wa] |= low;
            self.0[wa + 1..wb].fill(!0);
            self.0[wb] |= high;
        }
    }
    fn count(&self) -> u64 {
        self.0.iter().map(|w| u64::from(w.count_ones())).sum()
    }
    /// The 16 bits of /28 block `blk`.
    fn block(&self, blk: usize) -> u16 {
        (self.0[blk / 4] >> (blk % 4 * 16)) as u16
    }
}

/// A subnet's private IPs, as offsets from its base.
enum PrivateIps {
    /// For the subnet sizes EC2 allows (/16–/28, and smaller ones from files).
    Bitmap(Bitmap),
    /// For a CIDR larger than a /16 (only from a file), where a bitmap would take up to 512 MiB:
    /// a list, sorted and merged into ranges at the end, whose cost grows with the addresses.
    List(Vec<u64>),
}

/// Inclusive address ranges (offsets from the subnet's base), sorted and merged.
fn merged(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match out.last_mut() {
            Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

fn covered(ranges: &[(u64, u64)]) -> u64 {
    ranges.iter().map(|(a, b)| b - a + 1).sum()
}

/// One subnet's analysis, fed its ENIs and reservations one at a time in listing order, so that
/// [`analyze_subnets`] can feed every subnet from one pass over the listings.
///
/// Profile of the sort+merge version this replaced (perf, the criterion bench: 16 /20 subnets,
/// 50,000 used addresses, 2.9–4.5 ms): ~40% comparing subnet ids (the per-subnet scan, see
/// [`analyze_subnet`]), ~20% sorting the used addresses and ranges, ~10% `Ipv4Net::contains`
/// per address, the rest the per-block loop and allocation. Here a subnet of EC2's sizes keeps
/// its private IPs in a bitmap: no sort, one bit operation per address, the counts by
/// `count_ones` over at most 1,024 words, and a block's used addresses are its 16 bits. What is
/// left is mostly memory: reading each ENI and its array of addresses.
struct Tally<'a> {
    subnet: &'a Subnet,
    cidr: Ipv4Net,
    base: u64,
    len: u64,
    ips: PrivateIps,
    /// Assigned prefixes cut to the subnet, as offsets, with the ENI holding each.
    prefixes: Vec<(u64, u64, &'a Ipv4Net, &'a NetworkInterfaceId)>,
    /// CIDR reservations cut to the subnet, as offsets.
    reservations: Vec<(u64, u64, &'a CidrReservation)>,
}

impl<'a> Tally<'a> {
    fn new(subnet: &'a Subnet) -> Self {
        let cidr = subnet.cidr.trunc();
        let len = 1u64 << (32 - u32::from(cidr.prefix_len()));
        Tally {
            subnet,
            cidr,
            base: u64::from(u32::from(cidr.network())),
            len,
            ips: if cidr.prefix_len() >= *SUBNET_PREFIX_LENS.start() {
                PrivateIps::Bitmap(Bitmap::new(len))
            } else {
                PrivateIps::List(Vec::new())
            },
            prefixes: Vec::new(),
            reservations: Vec::new(),
        }
    }

    /// The part of `net` inside the subnet, as offsets.
    fn clip(&self, net: &Ipv4Net) -> Option<(u64, u64)> {
        let n = net.trunc();
        let a = u64::from(u32::from(n.network())).max(self.base);
        let b = u64::from(u32::from(n.broadcast())).min(self.base + self.len - 1);
        (a <= b).then(|| (a - self.base, b - self.base))
    }

    fn add_network_interface(&mut self, eni: &'a NetworkInterface) {
        for p in &eni.ipv4_prefixes {
            if let Some((a, b)) = self.clip(p) {
                self.prefixes.push((a, b, p, &eni.id));
            }
        }
        for ip in &eni.private_ips {
            let Some(o) = u64::from(u32::from(*ip))
                .checked_sub(self.base)
                .filter(|o| *o < self.len)
            else {
                continue;
            };
            match &mut self.ips {
                PrivateIps::Bitmap(bits) => bits.set(o),
                PrivateIps::List(list) => list.push(o),
            }
        }
    }

    fn add_reservation(&mut self, r: &'a CidrReservation) {
        if let Some((a, b)) = self.clip(&r.cidr) {
            self.reservations.push((a, b, r));
        }
    }

    fn finish(self) -> SubnetCapacity {
        let Tally {
            subnet,
            cidr,
            base,
            len,
            ips,
            prefixes,
            reservations,
        } = self;
        let reserved: Vec<u64> = aws_reserved_addresses(cidr)
            .iter()
            .map(|a| u64::from(u32::from(*a)) - base)
            .collect();
        let as_u32 = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let mut report = SubnetCapacity {
            subnet_id: subnet.id.clone(),
            availability_zone: subnet.availability_zone.clone(),
            cidr,
            free_addresses: 0,
            unreserved_free_addresses: 0,
            candidate_blocks: 0,
            free_prefix_blocks: Vec::new(),
            free_blocks_in_prefix_reservations: Vec::new(),
            blocked: Vec::new(),
        };
        let ips = match ips {
            PrivateIps::Bitmap(ips) => ips,
            PrivateIps::List(list) => {
                // The union of the reserved addresses, the private IPs and the prefixes, then
                // with the reservations too.
                let mut used: Vec<(u64, u64)> = prefixes.iter().map(|(a, b, ..)| (*a, *b)).collect();
                used.extend(reserved.iter().chain(&list).map(|o| (*o, *o)));
                let used = merged(used);
                let mut all = used.clone();
                all.extend(reservations.iter().map(|(a, b, _)| (*a, *b)));
                report.free_addresses = as_u32(len - covered(&used));
                report.unreserved_free_addresses = as_u32(len - covered(&merged(all)));
                return report;
            }
        };
        let mut used = Bitmap(ips.0.clone());
        for o in &reserved {
            used.set(*o);
        }
        for (a, b, ..) in &prefixes {
            used.set_range(*a, *b);
        }
        report.free_addresses = as_u32(len - used.count());
        // Reservations are subtracted only from the addresses left for primary IPs.
        for (a, b, _) in &reservations {
            used.set_range(*a, *b);
        }
        report.unreserved_free_addresses = as_u32(len - used.count());
        if !SUBNET_PREFIX_LENS.contains(&cidr.prefix_len()) {
            return report;
        }

        // At most 4,096 blocks (a /16).
        let bs = u64::from(BLOCK_SIZE);
        let block_count = (len / bs) as usize;
        // Per block, the first prefix and the first explicit reservation over it.
        let mut prefix_of: Vec<Option<usize>> = vec![None; block_count];
        for (i, (a, b, ..)) in prefixes.iter().enumerate() {
            for slot in &mut prefix_of[(a / bs) as usize..=(b / bs) as usize] {
                slot.get_or_insert(i);
            }
        }
        let mut explicit_of: Vec<Option<usize>> = vec![None; block_count];
        let mut in_prefix_reservation = vec![false; block_count];
        for (i, (start, end, r)) in reservations.iter().enumerate() {
            let blocks = (start / bs) as usize..=(end / bs) as usize;
            match r.reservation_type {
                ReservationType::Explicit => {
                    for slot in &mut explicit_of[blocks] {
                        slot.get_or_insert(i);
                    }
                }
                ReservationType::Prefix => {
                    // Only a block wholly inside the reservation counts as reserved for prefixes.
                    for blk in blocks {
                        let first = blk as u64 * bs;
                        if first >= *start && first + bs - 1 <= *end {
                            in_prefix_reservation[blk] = true;
                        }
                    }
                }
            }
        }
        let block_cidr = |blk: usize| {
            Ipv4Net::new(Ipv4Addr::from((base + blk as u64 * bs) as u32), GATEWAY_PREFIX_LEN)
                .expect("28 is a valid prefix length")
        };
        for blk in 0..block_count {
            // The five reserved addresses are in the first block and the last (/16–/28). A
            // private IP on one of them changes nothing: those blocks are never candidates.
            let obstacle = if blk == 0 || blk == block_count - 1 {
                Some(BlockObstacle::AwsReserved)
            } else {
                report.candidate_blocks += 1;
                let bits = ips.block(blk);
                if let Some(i) = prefix_of[blk] {
                    let (_, _, prefix, eni) = prefixes[i];
                    Some(BlockObstacle::AssignedPrefix {
                        prefix: prefix.trunc(),
                        network_interface_id: eni.clone(),
                    })
                } else if bits != 0 {
                    // A private IP inside an assigned prefix never gets here: the prefix wins.
                    Some(BlockObstacle::UsedAddresses {
                        count: bits.count_ones(),
                        first: Ipv4Addr::from((base + blk as u64 * bs + u64::from(bits.trailing_zeros())) as u32),
                    })
                } else {
                    explicit_of[blk].map(|i| BlockObstacle::ExplicitReservation {
                        reservation_id: reservations[i].2.id.clone(),
                    })
                }
            };
            match obstacle {
                Some(obstacle) => report.blocked.push(BlockReport {
                    cidr: block_cidr(blk),
                    obstacle,
                }),
                None => {
                    report.free_prefix_blocks.push(block_cidr(blk));
                    if in_prefix_reservation[blk] {
                        report.free_blocks_in_prefix_reservations.push(block_cidr(blk));
                    }
                }
            }
        }
        report
    }
}

/// Whether two CIDRs share any address.
pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The lowest-addressed aligned CIDR of `prefix_len` inside `vpc_cidrs` (in their order) that
/// overlaps nothing in `taken` (existing subnets, and the FSx endpoint IP range, which lies in
/// the VPC CIDR but in no subnet). `None` when nothing fits.
pub fn find_free_cidr(vpc_cidrs: &[Ipv4Net], taken: &[Ipv4Net], prefix_len: u8) -> Option<Ipv4Net> {
    let mut taken: Vec<Ipv4Net> = taken.iter().map(Ipv4Net::trunc).collect();
    taken.sort();
    for vpc in vpc_cidrs {
        let vpc = vpc.trunc();
        if prefix_len < vpc.prefix_len() || prefix_len > 32 {
            continue;
        }
        let Ok(candidates) = vpc.subnets(prefix_len) else {
            continue;
        };
        let size = 1u64 << (32 - prefix_len);
        let mut candidate = candidates.into_iter().next();
        while let Some(c) = candidate {
            match taken.iter().find(|t| overlaps(t, &c)) {
                None => return Some(c),
                Some(t) => {
                    // Jump past the obstacle instead of stepping one block at a time.
                    let past = u64::from(u32::from(t.broadcast()).max(u32::from(c.broadcast()))) + 1;
                    let next = past.div_ceil(size) * size;
                    if next > u64::from(u32::from(vpc.broadcast())) {
                        break;
                    }
                    candidate = Ipv4Net::new(Ipv4Addr::from(next as u32), prefix_len).ok();
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn subnet(cidr: &str) -> Subnet {
        Subnet {
            id: SubnetId::parse("subnet-0aaa").unwrap(),
            vpc_id: VpcId::parse("vpc-0aaa").unwrap(),
            availability_zone: "us-east-1a".into(),
            cidr: cidr.parse().unwrap(),
            tags: Default::default(),
        }
    }
    fn eni(n: u32, ips: &[&str], prefixes: &[&str]) -> NetworkInterface {
        NetworkInterface {
            id: NetworkInterfaceId::parse(format!("eni-{n:x}")).unwrap(),
            subnet_id: SubnetId::parse("subnet-0aaa").unwrap(),
            private_ips: ips.iter().map(|s| s.parse().unwrap()).collect(),
            ipv4_prefixes: prefixes.iter().map(|s| s.parse().unwrap()).collect(),
            description: String::new(),
            tags: Default::default(),
        }
    }
    fn reservation(n: u32, cidr: &str, t: ReservationType) -> CidrReservation {
        CidrReservation {
            id: CidrReservationId::parse(format!("scr-{n:x}")).unwrap(),
            subnet_id: SubnetId::parse("subnet-0aaa").unwrap(),
            cidr: cidr.parse().unwrap(),
            reservation_type: t,
            description: String::new(),
            tags: Default::default(),
        }
    }
    fn blocks(v: &[Ipv4Net]) -> Vec<String> {
        v.iter().map(|b| b.to_string()).collect()
    }

    #[test]
    fn cidrs_ec2_never_allows_for_a_subnet_are_counted_without_panic_or_allocation_by_size() {
        // /29–/32 with used addresses panicked (index out of bounds); 255.255.255.255/32 wrapped;
        // a /0 or /1 allocated bitmaps of gigabytes.
        for (cidr, ip, free) in [
            ("10.0.0.0/29", "10.0.0.5", 2u32),
            ("10.0.0.0/30", "10.0.0.3", 0),
            ("10.0.0.0/31", "10.0.0.1", 0),
            ("10.0.0.7/32", "10.0.0.7", 0),
            ("255.255.255.255/32", "255.255.255.255", 0),
            ("255.255.255.240/28", "255.255.255.250", 10),
        ] {
            let r = analyze_subnet(&subnet(cidr), &[eni(1, &[ip], &[cidr])], &[]);
            assert_eq!((r.candidate_blocks, r.free_prefix_blocks.len()), (0, 0), "{cidr}");
            if !cidr.ends_with("/28") {
                assert_eq!(r.free_addresses, 0, "{cidr}: the prefix covers it all");
            }
            let r = analyze_subnet(&subnet(cidr), &[eni(1, &[ip], &[])], &[]);
            assert_eq!(r.free_addresses, free, "{cidr}");
            assert!(r.reason().is_some(), "{cidr}: cannot host a gateway ENI");
        }
        let start = std::time::Instant::now();
        for cidr in ["0.0.0.0/0", "10.0.0.0/1", "10.0.0.0/8"] {
            let r = analyze_subnet(
                &subnet(cidr),
                &[eni(1, &["10.1.2.3"], &["10.0.0.0/9"])],
                &[reservation(1, "10.200.0.0/16", ReservationType::Explicit)],
            );
            assert_eq!(r.candidate_blocks, 0, "{cidr}: outside /16–/28, no block analysis");
            assert!(r.blocked.is_empty() && r.free_prefix_blocks.is_empty());
        }
        let r = analyze_subnet(&subnet("0.0.0.0/0"), &[eni(1, &["10.1.2.3"], &[])], &[]);
        assert_eq!(r.free_addresses, u32::MAX - 5, "2^32 - 5 reserved - 1 used");
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "no work by CIDR size"
        );
    }

    #[test]
    fn obstacles_name_their_cause_and_the_reason_counts_them() {
        assert_eq!(
            ADDRESSES_PER_GATEWAY_ENI, 17,
            "a primary IP and one /28 (the seed: 1019 → 1002)"
        );
        // A /26: block 1 holds one used address, block 2 an assigned prefix; no block is free.
        let r = analyze_subnet(
            &subnet("10.0.0.0/26"),
            &[eni(1, &["10.0.0.20"], &["10.0.0.32/28"])],
            &[],
        );
        let shown: Vec<String> = r
            .blocked
            .iter()
            .map(|b| format!("{}: {}", b.cidr, b.obstacle))
            .collect();
        assert_eq!(
            shown,
            [
                "10.0.0.0/28: holds an AWS-reserved address",
                "10.0.0.16/28: 1 address(es) in use, e.g. 10.0.0.20",
                "10.0.0.32/28: prefix 10.0.0.32/28 assigned to eni-1",
                "10.0.0.48/28: holds an AWS-reserved address",
            ]
        );
        assert_eq!(
            r.reason().unwrap(),
            "42 free addresses but no free aligned /28 among 2 candidate blocks (1 hold used addresses, 1 hold assigned prefixes, 0 are explicitly reserved)"
        );
        let r = analyze_subnet(
            &subnet("10.0.0.0/26"),
            &[],
            &[reservation(1, "10.0.0.16/28", ReservationType::Explicit)],
        );
        assert_eq!(r.blocked[1].obstacle.to_string(), "inside explicit reservation scr-1");
    }

    #[test]
    fn prefixes_and_reservations_wider_than_the_subnet_are_cut_to_it() {
        let r = analyze_subnet(&subnet("10.0.8.0/24"), &[eni(1, &[], &["10.0.8.0/23"])], &[]);
        assert_eq!(
            (r.free_addresses, r.free_prefix_blocks.len(), r.candidate_blocks),
            (0, 0, 14)
        );
        let r = analyze_subnet(
            &subnet("10.0.9.0/24"),
            &[],
            &[reservation(1, "10.0.8.0/23", ReservationType::Explicit)],
        );
        assert_eq!((r.free_addresses, r.unreserved_free_addresses), (251, 0));
        assert!(r.free_prefix_blocks.is_empty());
    }

    #[test]
    fn free_cidr_edges() {
        let net = |s: &str| s.parse::<Ipv4Net>().unwrap();
        // Longer than the VPC CIDR can hold: that CIDR is skipped, the next one used.
        assert_eq!(find_free_cidr(&[net("10.0.0.0/24")], &[], 23), None);
        assert_eq!(
            find_free_cidr(&[net("10.0.0.0/24"), net("10.1.0.0/16")], &[], 23),
            Some(net("10.1.0.0/23"))
        );
        assert_eq!(find_free_cidr(&[net("10.0.0.0/30")], &[], 33), None);
        // Jumps past a large obstacle to the next aligned block.
        assert_eq!(
            find_free_cidr(&[net("10.0.0.0/20")], &[net("10.0.0.0/22")], 26),
            Some(net("10.0.4.0/26"))
        );
        // The last block of the VPC is found; past it, nothing.
        assert_eq!(
            find_free_cidr(&[net("10.0.0.0/30")], &[net("10.0.0.0/31"), net("10.0.0.2/32")], 32),
            Some(net("10.0.0.3/32"))
        );
        assert_eq!(
            find_free_cidr(&[net("10.0.0.0/24")], &[net("10.0.0.0/25"), net("10.0.0.192/26")], 26),
            Some(net("10.0.0.128/26"))
        );
        assert_eq!(find_free_cidr(&[net("10.0.0.0/24")], &[net("10.0.0.0/24")], 26), None);
    }

    #[test]
    fn capacity_table() {
        struct Case {
            cidr: &'static str,
            ips: &'static [&'static str],
            prefixes: &'static [&'static str],
            free_addresses: u32,
            candidates: u32,
            free: &'static [&'static str],
        }
        let cases = [
            // A /28 subnet is one block holding all five reserved addresses.
            Case {
                cidr: "10.0.0.0/28",
                ips: &[],
                prefixes: &[],
                free_addresses: 11,
                candidates: 0,
                free: &[],
            },
            // A /27: both blocks hold reserved addresses.
            Case {
                cidr: "10.0.0.0/27",
                ips: &[],
                prefixes: &[],
                free_addresses: 27,
                candidates: 0,
                free: &[],
            },
            // A /26 is the smallest that can host one.
            Case {
                cidr: "10.0.0.0/26",
                ips: &[],
                prefixes: &[],
                free_addresses: 59,
                candidates: 2,
                free: &["10.0.0.16/28", "10.0.0.32/28"],
            },
            Case {
                cidr: "10.0.0.0/26",
                ips: &["10.0.0.20"],
                prefixes: &[],
                free_addresses: 58,
                candidates: 2,
                free: &["10.0.0.32/28"],
            },
            Case {
                cidr: "10.0.0.0/26",
                ips: &["10.0.0.20", "10.0.0.47"],
                prefixes: &[],
                free_addresses: 57,
                candidates: 2,
                free: &[],
            },
            Case {
                cidr: "10.0.0.0/26",
                ips: &["10.0.0.5"],
                prefixes: &["10.0.0.32/28"],
                free_addresses: 42,
                candidates: 2,
                free: &["10.0.0.16/28"],
            },
            // Addresses outside the subnet are ignored.
            Case {
                cidr: "10.0.0.0/26",
                ips: &["10.0.1.20"],
                prefixes: &["10.0.1.32/28"],
                free_addresses: 59,
                candidates: 2,
                free: &["10.0.0.16/28", "10.0.0.32/28"],
            },
            // The seed after healing: a /22 with one gateway ENI = 1019 - 17 = 1002 free.
            Case {
                cidr: "10.0.4.0/22",
                ips: &["10.0.6.79"],
                prefixes: &["10.0.4.32/28"],
                free_addresses: 1002,
                candidates: 62,
                free: &[],
            },
        ];
        for (i, c) in cases.iter().enumerate() {
            let r = analyze_subnet(&subnet(c.cidr), &[eni(1, c.ips, c.prefixes)], &[]);
            assert_eq!(r.free_addresses, c.free_addresses, "case {i} free addresses");
            assert_eq!(r.candidate_blocks, c.candidates, "case {i} candidates");
            if !c.free.is_empty() || c.candidates <= 2 {
                assert_eq!(blocks(&r.free_prefix_blocks), c.free, "case {i} free blocks");
            }
        }
    }

    #[test]
    fn seed_gateway_subnet_after_healing_has_60_free_blocks() {
        let r = analyze_subnet(
            &subnet("10.0.4.0/22"),
            &[eni(1, &["10.0.6.79"], &["10.0.4.32/28"])],
            &[],
        );
        // 64 blocks - 2 reserved - 1 prefix - 1 holding 10.0.6.79
        assert_eq!(r.free_prefix_blocks.len(), 60);
        assert!(
            r.blocked
                .iter()
                .any(|b| matches!(b.obstacle, BlockObstacle::AssignedPrefix { .. }))
        );
    }

    #[test]
    fn explicit_reservations_block_and_prefix_reservations_are_listed() {
        let r = analyze_subnet(
            &subnet("10.0.0.0/25"),
            &[],
            &[
                reservation(1, "10.0.0.16/28", ReservationType::Explicit),
                reservation(2, "10.0.0.32/27", ReservationType::Prefix),
                // A prefix reservation that covers only half a block does not reserve the block.
                reservation(3, "10.0.0.96/29", ReservationType::Prefix),
            ],
        );
        assert_eq!(
            blocks(&r.free_prefix_blocks),
            [
                "10.0.0.32/28",
                "10.0.0.48/28",
                "10.0.0.64/28",
                "10.0.0.80/28",
                "10.0.0.96/28"
            ]
        );
        assert_eq!(
            blocks(&r.free_blocks_in_prefix_reservations),
            ["10.0.0.32/28", "10.0.0.48/28"]
        );
        assert_eq!(r.unreserved_free_blocks().count(), 3);
        assert!(matches!(
            r.blocked[1].obstacle,
            BlockObstacle::ExplicitReservation { .. }
        ));
        assert_eq!(
            r.free_addresses, 123,
            "reservations are not subtracted from free_addresses (placement does not use it)"
        );
    }

    #[test]
    fn a_gateway_eni_also_needs_one_free_address_outside_reservations_for_its_primary_ip() {
        // A /26: block 1 under our prefix reservation, every other free address used.
        let used: Vec<String> = (4..63)
            .filter(|o| !(16..32).contains(o))
            .map(|o| format!("10.0.0.{o}"))
            .collect();
        let used: Vec<&str> = used.iter().map(String::as_str).collect();
        let res = [reservation(1, "10.0.0.16/28", ReservationType::Prefix)];
        let full = analyze_subnet(&subnet("10.0.0.0/26"), &[eni(1, &used, &[])], &res);
        assert_eq!(full.free_blocks_in_prefix_reservations.len(), 1);
        assert_eq!(full.unreserved_free_addresses, 0);
        assert!(
            !full.can_host_gateway_eni(),
            "the /28 is there but the primary IP has nowhere to go"
        );
        assert!(full.reason().unwrap().contains("primary IP"));
        // One address freed outside the reservation: it fits (16 + 1 = 17 addresses).
        let freed: Vec<&str> = used.iter().copied().filter(|a| *a != "10.0.0.40").collect();
        let ok = analyze_subnet(&subnet("10.0.0.0/26"), &[eni(1, &freed, &[])], &res);
        assert_eq!(ok.unreserved_free_addresses, 1);
        assert!(ok.can_host_gateway_eni());
        // Without a reservation, a free /28 and only its own 16 addresses free: no room either.
        let only_block: Vec<String> = (4..63)
            .filter(|o| !(32..48).contains(o))
            .map(|o| format!("10.0.0.{o}"))
            .collect();
        let only_block: Vec<&str> = only_block.iter().map(String::as_str).collect();
        let tight = analyze_subnet(&subnet("10.0.0.0/26"), &[eni(1, &only_block, &[])], &[]);
        assert_eq!(
            (tight.free_prefix_blocks.len(), tight.unreserved_free_addresses),
            (1, 16)
        );
        assert!(!tight.can_host_gateway_eni());
    }

    #[test]
    fn reason_explains_free_addresses_versus_free_blocks() {
        // Every candidate block of a /24 holds one used address: 14 used, 237 free, no /28.
        let ips: Vec<String> = (1..15).map(|b| format!("10.0.8.{}", b * 16 + 7)).collect();
        let ips: Vec<&str> = ips.iter().map(String::as_str).collect();
        let r = analyze_subnet(&subnet("10.0.8.0/24"), &[eni(1, &ips, &[])], &[]);
        assert!(!r.can_host_gateway_eni());
        assert_eq!(r.free_addresses, 237);
        let reason = r.reason().unwrap();
        assert!(
            reason.contains("237 free addresses but no free aligned /28 among 14 candidate blocks"),
            "{reason}"
        );
        let small = analyze_subnet(&subnet("10.0.0.0/27"), &[], &[]);
        assert!(small.reason().unwrap().contains("too small"));
    }

    #[test]
    fn free_cidr_skips_subnets_and_the_endpoint_range() {
        let vpc: Ipv4Net = "10.0.0.0/16".parse().unwrap();
        let taken: Vec<Ipv4Net> = ["10.0.0.0/24", "10.0.1.0/26", "10.0.15.192/26"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(find_free_cidr(&[vpc], &taken, 26).unwrap().to_string(), "10.0.1.64/26");
        assert_eq!(find_free_cidr(&[vpc], &taken, 22).unwrap().to_string(), "10.0.4.0/22");
        let full: Vec<Ipv4Net> = vec![vpc];
        assert_eq!(find_free_cidr(&[vpc], &full, 26), None);
        let secondary: Ipv4Net = "100.64.0.0/24".parse().unwrap();
        assert_eq!(
            find_free_cidr(&[vpc, secondary], &full, 26).unwrap().to_string(),
            "100.64.0.0/26"
        );
        assert_eq!(find_free_cidr(&[vpc], &[], 8), None, "larger than the VPC");
    }

    /// Brute force: check every address of every aligned /28 against every rule.
    fn brute_free_blocks(cidr: Ipv4Net, enis: &[NetworkInterface], res: &[CidrReservation]) -> (Vec<Ipv4Net>, u32) {
        let reserved = aws_reserved_addresses(cidr);
        let is_used = |a: Ipv4Addr| {
            enis.iter()
                .any(|e| e.private_ips.contains(&a) || e.ipv4_prefixes.iter().any(|p| p.contains(&a)))
        };
        let mut free_blocks = Vec::new();
        let subnets = cidr.subnets(28).map(|s| s.collect::<Vec<_>>()).unwrap_or_default();
        for b in subnets {
            let ok = b.hosts().chain([b.network(), b.broadcast()]).all(|a| {
                !reserved.contains(&a)
                    && !is_used(a)
                    && !res
                        .iter()
                        .any(|r| r.reservation_type == ReservationType::Explicit && r.cidr.contains(&a))
            });
            if ok {
                free_blocks.push(b);
            }
        }
        let free_addrs = (u32::from(cidr.network())..=u32::from(cidr.broadcast()))
            .map(Ipv4Addr::from)
            .filter(|a| !reserved.contains(a) && !is_used(*a))
            .count() as u32;
        (free_blocks, free_addrs)
    }

    #[test]
    fn id_keys_are_equal_exactly_when_the_ids_are() {
        let ids = [
            "subnet-0ddc1cafa116ba0dd",
            "subnet-0ddc1cafa116ba0de",
            "subnet-1ddc1cafa116ba0dd",
            "subnet-0ddc1caf",
            "subnet-0ddc1ca",
            "subnet-0aaa",
            "subnet-0aab",
            "",
        ];
        for a in ids {
            for b in ids {
                assert_eq!(IdKey(a) == IdKey(b), a == b, "{a:?} {b:?}");
                let hash = |k: IdKey| std::hash::BuildHasher::hash_one(&BuildHasherDefault::<IdHasher>::default(), k);
                if a == b {
                    assert_eq!(hash(IdKey(a)), hash(IdKey(b)));
                }
            }
        }
    }

    /// The addresses AWS reserves, as the VPC user guide states them ("Subnet CIDR blocks",
    /// <https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html>: the first four
    /// addresses and the last address of every subnet), for /16–/28.
    fn reserved_by_aws(cidr: Ipv4Net, a: u32) -> bool {
        let (first, last) = (u32::from(cidr.network()), u32::from(cidr.broadcast()));
        (first..first + 4).contains(&a) || a == last
    }

    /// `(free_addresses, unreserved_free_addresses)` counted one address at a time.
    fn reference_counts(subnet: &Subnet, enis: &[NetworkInterface], res: &[CidrReservation]) -> (u32, u32) {
        let cidr = subnet.cidr.trunc();
        let enis: Vec<&NetworkInterface> = enis.iter().filter(|e| e.subnet_id == subnet.id).collect();
        let ips: HashSet<u32> = enis
            .iter()
            .flat_map(|e| &e.private_ips)
            .map(|ip| u32::from(*ip))
            .collect();
        let used = |a: u32| {
            reserved_by_aws(cidr, a)
                || ips.contains(&a)
                || enis
                    .iter()
                    .any(|e| e.ipv4_prefixes.iter().any(|p| p.contains(&Ipv4Addr::from(a))))
        };
        let in_reservation = |a: u32| {
            res.iter()
                .any(|r| r.subnet_id == subnet.id && r.cidr.contains(&Ipv4Addr::from(a)))
        };
        let all = u32::from(cidr.network())..=u32::from(cidr.broadcast());
        let free = all.clone().filter(|a| !used(*a)).count() as u32;
        let unreserved = all.filter(|a| !used(*a) && !in_reservation(*a)).count() as u32;
        (free, unreserved)
    }

    /// The whole report of a /16–/28 subnet, every aligned /28 checked against the rules in the
    /// order the report documents (AWS-reserved, assigned prefix, used addresses, explicit
    /// reservation), one address at a time: slow, and obviously what the rules say.
    fn reference_capacity(subnet: &Subnet, enis: &[NetworkInterface], res: &[CidrReservation]) -> SubnetCapacity {
        let cidr = subnet.cidr.trunc();
        let (free_addresses, unreserved_free_addresses) = reference_counts(subnet, enis, res);
        let enis: Vec<&NetworkInterface> = enis.iter().filter(|e| e.subnet_id == subnet.id).collect();
        let res: Vec<&CidrReservation> = res.iter().filter(|r| r.subnet_id == subnet.id).collect();
        let ips: HashSet<u32> = enis
            .iter()
            .flat_map(|e| &e.private_ips)
            .map(|ip| u32::from(*ip))
            .collect();
        let mut out = SubnetCapacity {
            subnet_id: subnet.id.clone(),
            availability_zone: subnet.availability_zone.clone(),
            cidr,
            free_addresses,
            unreserved_free_addresses,
            candidate_blocks: 0,
            free_prefix_blocks: vec![],
            free_blocks_in_prefix_reservations: vec![],
            blocked: vec![],
        };
        for block in cidr.subnets(28).unwrap() {
            let addrs = u32::from(block.network())..=u32::from(block.broadcast());
            let overlapping = |n: &Ipv4Net| n.contains(&block.network()) || block.contains(&n.network());
            let obstacle = if addrs.clone().any(|a| reserved_by_aws(cidr, a)) {
                Some(BlockObstacle::AwsReserved)
            } else {
                out.candidate_blocks += 1;
                let prefix = enis
                    .iter()
                    .flat_map(|e| e.ipv4_prefixes.iter().map(move |p| (p, &e.id)))
                    .find(|(p, _)| overlapping(p));
                let in_use: Vec<u32> = addrs.filter(|a| ips.contains(a)).collect();
                let explicit = res
                    .iter()
                    .find(|r| r.reservation_type == ReservationType::Explicit && overlapping(&r.cidr));
                if let Some((p, eni)) = prefix {
                    Some(BlockObstacle::AssignedPrefix {
                        prefix: p.trunc(),
                        network_interface_id: eni.clone(),
                    })
                } else if let Some(first) = in_use.first() {
                    Some(BlockObstacle::UsedAddresses {
                        count: in_use.len() as u32,
                        first: Ipv4Addr::from(*first),
                    })
                } else {
                    explicit.map(|r| BlockObstacle::ExplicitReservation {
                        reservation_id: r.id.clone(),
                    })
                }
            };
            match obstacle {
                Some(obstacle) => out.blocked.push(BlockReport { cidr: block, obstacle }),
                None => {
                    out.free_prefix_blocks.push(block);
                    let wholly_in = |r: &&&CidrReservation| {
                        r.reservation_type == ReservationType::Prefix
                            && r.cidr.contains(&block.network())
                            && r.cidr.contains(&block.broadcast())
                    };
                    if res.iter().any(|r| wholly_in(&r)) {
                        out.free_blocks_in_prefix_reservations.push(block);
                    }
                }
            }
        }
        out
    }

    /// A subnet at `base` (truncated to `prefix_len`): 0.0.0.0, the top of the address space
    /// (ending at 255.255.255.255) or anywhere.
    fn edge_cidr(which: u8, raw: u32, prefix_len: u8) -> Ipv4Net {
        let base = match which {
            0 => 0,
            1 => u32::MAX,
            _ => raw,
        };
        Ipv4Net::new(Ipv4Addr::from(base), prefix_len).unwrap().trunc()
    }

    /// An address near `cidr`: one of the five AWS reserves (`pick` < 5), else anywhere from 64
    /// below the subnet to 64 above it, wrapping around 0.0.0.0 / 255.255.255.255.
    fn near(cidr: Ipv4Net, pick: u8, raw: u32) -> Ipv4Addr {
        let (base, size) = (u32::from(cidr.network()), 1u64 << (32 - cidr.prefix_len()));
        let offset = match pick {
            0..4 => u32::from(pick),
            4 => (size - 1) as u32,
            _ => ((u64::from(raw) % (size + 128)) as u32).wrapping_sub(64),
        };
        Ipv4Addr::from(base.wrapping_add(offset))
    }

    type Addrs = Vec<(u8, u32)>;
    type Nets = Vec<(u8, u32, u8)>;

    /// ENIs and reservations near `cidr`, some of them in another subnet (which must be
    /// ignored); addresses repeat across ENIs, prefixes and reservations overlap and spill over
    /// the subnet's edges.
    fn listings(
        cidr: Ipv4Net,
        enis: &[(Addrs, Nets, bool)],
        res: &[(u8, u32, u8, bool, bool)],
    ) -> (Vec<NetworkInterface>, Vec<CidrReservation>) {
        let other = SubnetId::parse("subnet-0bbb").unwrap();
        let net = |pick: u8, raw: u32, len: u8| Ipv4Net::new(near(cidr, pick, raw), len).unwrap();
        let enis = enis
            .iter()
            .enumerate()
            .map(|(n, (ips, prefixes, elsewhere))| {
                let mut e = eni(n as u32 + 1, &[], &[]);
                e.private_ips = ips.iter().map(|(pick, raw)| near(cidr, *pick, *raw)).collect();
                e.ipv4_prefixes = prefixes.iter().map(|(pick, raw, len)| net(*pick, *raw, *len)).collect();
                if *elsewhere {
                    e.subnet_id = other.clone();
                }
                e
            })
            .collect();
        let res = res
            .iter()
            .enumerate()
            .map(|(n, (pick, raw, len, explicit, elsewhere))| {
                let t = if *explicit {
                    ReservationType::Explicit
                } else {
                    ReservationType::Prefix
                };
                let mut r = reservation(n as u32 + 1, &net(*pick, *raw, *len).to_string(), t);
                if *elsewhere {
                    r.subnet_id = other.clone();
                }
                r
            })
            .collect();
        (enis, res)
    }

    fn addrs() -> impl Strategy<Value = Addrs> {
        proptest::collection::vec((0u8..12, any::<u32>()), 0..40)
    }
    fn eni_strategy() -> impl Strategy<Value = (Addrs, Nets, bool)> {
        (
            addrs(),
            proptest::collection::vec(
                (0u8..12, any::<u32>(), prop_oneof![4 => Just(28u8), 1 => 20u8..=32]),
                0..3,
            ),
            proptest::bool::weighted(0.2),
        )
    }
    fn reservation_strategy() -> impl Strategy<Value = Vec<(u8, u32, u8, bool, bool)>> {
        proptest::collection::vec(
            (
                0u8..12,
                any::<u32>(),
                16u8..=32,
                any::<bool>(),
                proptest::bool::weighted(0.2),
            ),
            0..4,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn capacity_matches_brute_force(
            prefix_len in 22u8..=28,
            ip_offsets in proptest::collection::vec(0u32..1024, 0..80),
            prefix_blocks in proptest::collection::vec(0u32..64, 0..4),
            res in proptest::collection::vec((0u32..64, 28u8..=30, any::<bool>()), 0..4),
        ) {
            let cidr = Ipv4Net::new(Ipv4Addr::new(10, 0, 4, 0), prefix_len).unwrap();
            let base = u32::from(cidr.network());
            let size = 1u32 << (32 - prefix_len);
            let ips: Vec<String> = ip_offsets.iter().map(|o| Ipv4Addr::from(base + o % size).to_string()).collect();
            let pfx: Vec<String> = prefix_blocks.iter().filter(|b| (*b * 16) < size)
                .map(|b| format!("{}/28", Ipv4Addr::from(base + b * 16))).collect();
            let e = eni(1, &ips.iter().map(String::as_str).collect::<Vec<_>>(), &pfx.iter().map(String::as_str).collect::<Vec<_>>());
            let rs: Vec<CidrReservation> = res.iter().enumerate().filter(|(_, (b, _, _))| (*b * 16) < size).map(|(i, (b, l, explicit))| {
                let t = if *explicit { ReservationType::Explicit } else { ReservationType::Prefix };
                reservation(i as u32 + 1, &format!("{}/{}", Ipv4Addr::from(base + b * 16), l), t)
            }).collect();
            let r = analyze_subnet(&subnet(&cidr.to_string()), std::slice::from_ref(&e), &rs);
            let (free, free_addrs) = brute_free_blocks(cidr, std::slice::from_ref(&e), &rs);
            prop_assert_eq!(&r.free_prefix_blocks, &free);
            prop_assert_eq!(r.free_addresses, free_addrs);
            prop_assert_eq!(r.free_prefix_blocks.len() + r.blocked.len(), (size / 16) as usize);
            // Addresses neither used nor in any reservation, one by one.
            let used = |a: u32| {
                let ip = Ipv4Addr::from(a);
                aws_reserved_addresses(cidr).contains(&ip)
                    || e.private_ips.contains(&ip)
                    || e.ipv4_prefixes.iter().any(|p| p.contains(&ip))
            };
            let unreserved = (base..base + size)
                .filter(|a| !used(*a) && !rs.iter().any(|x| x.cidr.contains(&Ipv4Addr::from(*a))))
                .count() as u32;
            prop_assert_eq!(r.unreserved_free_addresses, unreserved);
        }

        #[test]
        fn free_cidr_is_the_lowest_non_overlapping_block(
            taken in proptest::collection::vec((0u32..256, 20u8..=28), 0..12),
            want in 24u8..=28,
        ) {
            let vpc: Ipv4Net = "10.0.0.0/20".parse().unwrap();
            let taken: Vec<Ipv4Net> = taken.iter()
                .map(|(o, l)| Ipv4Net::new(Ipv4Addr::from(u32::from(vpc.network()) + o * 16), *l).unwrap().trunc())
                .collect();
            let brute = vpc.subnets(want).unwrap().find(|c| !taken.iter().any(|t| overlaps(t, c)));
            prop_assert_eq!(find_free_cidr(&[vpc], &taken, want), brute);
        }

        #[test]
        fn capacity_matches_the_reference_at_every_ec2_subnet_size(
            prefix_len in 16u8..=28,
            (which, raw) in (0u8..4, any::<u32>()),
            enis in proptest::collection::vec(eni_strategy(), 0..4),
            res in reservation_strategy(),
        ) {
            let cidr = edge_cidr(which, raw, prefix_len);
            let (enis, res) = listings(cidr, &enis, &res);
            let s = subnet(&cidr.to_string());
            let r = analyze_subnet(&s, &enis, &res);
            prop_assert_eq!(&r, &reference_capacity(&s, &enis, &res));
            // One pass over the listings gives each subnet what a call of its own gives.
            let mut other = subnet("10.0.0.0/24");
            other.id = SubnetId::parse("subnet-0bbb").unwrap();
            let all = analyze_subnets(&[s.clone(), other.clone(), s.clone()], &enis, &res);
            prop_assert_eq!(all, vec![r.clone(), analyze_subnet(&other, &enis, &res), r]);
        }
    }

    proptest! {
        // Per-address reference over 131,072 addresses: fewer cases.
        #![proptest_config(ProptestConfig::with_cases(24))]
        // Larger than EC2 allows (only from a file): counted by merged ranges, not a bitmap.
        #[test]
        fn counts_past_a_16_match_the_reference(
            (which, raw) in (0u8..4, any::<u32>()),
            enis in proptest::collection::vec(eni_strategy(), 0..3),
            res in reservation_strategy(),
        ) {
            let cidr = edge_cidr(which, raw, 15);
            let (enis, res) = listings(cidr, &enis, &res);
            let s = subnet(&cidr.to_string());
            let r = analyze_subnet(&s, &enis, &res);
            prop_assert_eq!((r.free_addresses, r.unreserved_free_addresses), reference_counts(&s, &enis, &res));
            prop_assert_eq!((r.candidate_blocks, r.blocked.len(), r.free_prefix_blocks.len()), (0, 0, 0));
        }
    }
}
