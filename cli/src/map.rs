//! `capacity`'s map: each subnet drawn as one row per aligned /28 block, one cell per address,
//! so "212 free addresses, no free /28" shows at a glance — a used address in every candidate
//! block. Drawn only for text output on a terminal (and not with --no-map); the table and the
//! JSON are unchanged.
//!
//! Long subnets are shortened: a run of [`FOLD_RUN`] or more blocks that look alike (the same
//! cells and the same kind of status) is drawn as its first row and one `… k more blocks like
//! it` line, and at most [`MAX_LINES`] lines are drawn per subnet (the first
//! [`MAX_LINES`] − [`TAIL_LINES`] − 1 and the last [`TAIL_LINES`], around one line counting the
//! blocks left out).

use fsxn_lattice_core::capacity::{BLOCK_SIZE, BlockObstacle, SubnetCapacity, aws_reserved_addresses};
use fsxn_lattice_core::model::{CidrReservation, NetworkInterface, ReservationType, Subnet};
use ipnet::Ipv4Net;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::Ipv4Addr;

/// What `capacity` reads for one subnet, offline or live: the map draws from these, the table
/// from their analysis.
pub struct SubnetInputs {
    /// The subnet.
    pub subnet: Subnet,
    /// ENIs (of this subnet, or of its VPC: others are ignored).
    pub network_interfaces: Vec<NetworkInterface>,
    /// CIDR reservations (likewise).
    pub reservations: Vec<CidrReservation>,
}

/// A run of this many alike blocks or more is folded into its first row and one line.
pub const FOLD_RUN: usize = 3;
/// At most this many lines per subnet.
pub const MAX_LINES: usize = 40;
/// Lines kept at the end of a subnet's map when it is cut.
pub const TAIL_LINES: usize = 8;

/// The legend, printed once under the maps.
pub const LEGEND: &str = "map: one row per aligned /28 block, one cell per address: R AWS-reserved, # an ENI's private IP, P in a prefix assigned to an ENI, X in an explicit CIDR reservation, r in a prefix CIDR reservation (free, kept for prefixes), . free";

// The cells, from the lowest priority to the highest: an address that is several things shows
// the last of them.
const FREE: u8 = b'.';
const PREFIX_RESERVATION: u8 = b'r';
const EXPLICIT_RESERVATION: u8 = b'X';
const ASSIGNED_PREFIX: u8 = b'P';
const PRIVATE_IP: u8 = b'#';
const AWS_RESERVED: u8 = b'R';

/// The kind of a block's status: two blocks alike in cells and kind fold together.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Free,
    FreeInPrefixReservation,
    AwsReserved,
    AssignedPrefix,
    UsedAddresses,
    ExplicitReservation,
}

struct Row {
    cidr: Ipv4Net,
    cells: [u8; BLOCK_SIZE as usize],
    kind: Kind,
    status: String,
}

impl Row {
    fn alike(&self, other: &Row) -> bool {
        self.cells == other.cells && self.kind == other.kind
    }

    fn draw(&self) -> String {
        let cells: Vec<String> = self
            .cells
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        format!("  {:<18} {}  {}", self.cidr.to_string(), cells.join(" "), self.status)
    }
}

/// One line of a map before it is cut: a row, or a fold of `count` alike rows ending at `last`.
enum Line {
    Row(usize),
    Fold { count: usize, last: usize },
}

/// The rows of `capacity`'s subnet, one per aligned /28, from its inputs (cells) and its
/// analysis (status). None for a CIDR the analysis did not split into blocks.
fn rows(inputs: &SubnetInputs, capacity: &SubnetCapacity) -> Option<Vec<Row>> {
    let cidr = capacity.cidr;
    if !fsxn_lattice_core::capacity::SUBNET_PREFIX_LENS.contains(&cidr.prefix_len()) {
        return None;
    }
    let base = u32::from(cidr.network());
    let len = 1usize << (32 - u32::from(cidr.prefix_len()));
    let mut cells = vec![FREE; len];
    // Paints `net`'s part of the subnet.
    let mut paint = |net: &Ipv4Net, mark: u8| {
        let net = net.trunc();
        let first = u32::from(net.network()).max(base);
        let last = u32::from(net.broadcast()).min(base + (len as u32 - 1));
        if first <= last {
            for a in first..=last {
                cells[(a - base) as usize] = mark;
            }
        }
    };
    let mine = |id: &fsxn_lattice_core::ids::SubnetId| *id == inputs.subnet.id;
    for (kind, mark) in [
        (ReservationType::Prefix, PREFIX_RESERVATION),
        (ReservationType::Explicit, EXPLICIT_RESERVATION),
    ] {
        for r in inputs
            .reservations
            .iter()
            .filter(|r| mine(&r.subnet_id) && r.reservation_type == kind)
        {
            paint(&r.cidr, mark);
        }
    }
    let enis: Vec<&NetworkInterface> = inputs
        .network_interfaces
        .iter()
        .filter(|e| mine(&e.subnet_id))
        .collect();
    for p in enis.iter().flat_map(|e| &e.ipv4_prefixes) {
        paint(p, ASSIGNED_PREFIX);
    }
    let single = |ip: &Ipv4Addr| Ipv4Net::new(*ip, 32).ok();
    for ip in enis.iter().flat_map(|e| &e.private_ips).filter_map(single) {
        paint(&ip, PRIVATE_IP);
    }
    for ip in aws_reserved_addresses(cidr).iter().filter_map(single) {
        paint(&ip, AWS_RESERVED);
    }

    let blocked: BTreeMap<Ipv4Net, &BlockObstacle> = capacity.blocked.iter().map(|b| (b.cidr, &b.obstacle)).collect();
    let size = BLOCK_SIZE as usize;
    Some(
        cells
            .chunks(size)
            .enumerate()
            .map(|(i, block)| {
                let first = Ipv4Addr::from(base + (i * size) as u32);
                let cidr = Ipv4Net::new(first, fsxn_lattice_core::capacity::GATEWAY_PREFIX_LEN)
                    .unwrap_or_else(|_| Ipv4Net::from(first));
                let (kind, status) = match blocked.get(&cidr) {
                    Some(o) => (
                        match o {
                            BlockObstacle::AwsReserved => Kind::AwsReserved,
                            BlockObstacle::AssignedPrefix { .. } => Kind::AssignedPrefix,
                            BlockObstacle::UsedAddresses { .. } => Kind::UsedAddresses,
                            BlockObstacle::ExplicitReservation { .. } => Kind::ExplicitReservation,
                        },
                        o.to_string(),
                    ),
                    None if capacity.free_blocks_in_prefix_reservations.contains(&cidr) => (
                        Kind::FreeInPrefixReservation,
                        "FREE /28, in a prefix reservation".to_string(),
                    ),
                    None => (Kind::Free, "FREE /28".to_string()),
                };
                let mut row_cells = [FREE; BLOCK_SIZE as usize];
                row_cells.copy_from_slice(block);
                Row {
                    cidr,
                    cells: row_cells,
                    kind,
                    status,
                }
            })
            .collect(),
    )
}

/// The map of one subnet: its rows, folded and cut as the module doc says; empty for a CIDR
/// that has no blocks.
pub fn render(inputs: &SubnetInputs, capacity: &SubnetCapacity) -> String {
    let Some(rows) = rows(inputs, capacity) else {
        return String::new();
    };
    // Fold runs of alike rows.
    let mut lines: Vec<Line> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let mut j = i + 1;
        while j < rows.len() && rows[j].alike(&rows[i]) {
            j += 1;
        }
        lines.push(Line::Row(i));
        if j - i >= FOLD_RUN {
            lines.push(Line::Fold {
                count: j - i - 1,
                last: j - 1,
            });
        } else {
            lines.extend((i + 1..j).map(Line::Row));
        }
        i = j;
    }
    // Cut to MAX_LINES: the head, one line for what is left out, the tail.
    let mut out = String::new();
    let draw = |out: &mut String, line: &Line| {
        let _ = match line {
            Line::Row(r) => writeln!(out, "{}", rows[*r].draw()),
            Line::Fold { count, last } => writeln!(
                out,
                "  … {count} more block{} like it, to {}",
                if *count == 1 { "" } else { "s" },
                rows[*last].cidr
            ),
        };
    };
    if lines.len() <= MAX_LINES {
        for line in &lines {
            draw(&mut out, line);
        }
        return out;
    }
    let head = MAX_LINES - TAIL_LINES - 1;
    let tail_from = lines.len() - TAIL_LINES;
    for line in &lines[..head] {
        draw(&mut out, line);
    }
    // The blocks between the last drawn before the cut and the first drawn after it.
    let last_block = |line: &Line| match line {
        Line::Row(r) => *r,
        Line::Fold { last, .. } => *last,
    };
    let first_block = |line: &Line| match line {
        Line::Row(r) => *r,
        Line::Fold { last, count } => last + 1 - count,
    };
    let hidden = (last_block(&lines[head - 1]) + 1)..first_block(&lines[tail_from]);
    let free = rows[hidden.clone()]
        .iter()
        .filter(|r| matches!(r.kind, Kind::Free | Kind::FreeInPrefixReservation))
        .count();
    let _ = writeln!(
        out,
        "  … {} blocks not drawn, {} to {}: {free} of them free (--output json lists every block)",
        hidden.len(),
        rows[hidden.start].cidr,
        rows[hidden.end - 1].cidr
    );
    for line in &lines[tail_from..] {
        draw(&mut out, line);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::aws_json;
    use fsxn_lattice_core::capacity::analyze_subnet;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/../tests/fixtures/capacity/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// The seed's subnets from tests/fixtures/capacity, by id, with the map of each.
    fn seed_maps() -> BTreeMap<String, String> {
        let subnets = aws_json::parse_subnets("s", &fixture("describe-subnets.json")).unwrap();
        let enis = aws_json::parse_network_interfaces("e", &fixture("describe-network-interfaces.json")).unwrap();
        let res = aws_json::parse_cidr_reservations(
            "r",
            &fixture("get-subnet-cidr-reservations-subnet-029a939990627d570.json"),
        )
        .unwrap();
        subnets
            .into_iter()
            .map(|s| {
                let capacity = analyze_subnet(&s, &enis, &res);
                let inputs = SubnetInputs {
                    subnet: s,
                    network_interfaces: enis.clone(),
                    reservations: res.clone(),
                };
                (inputs.subnet.id.to_string(), render(&inputs, &capacity))
            })
            .collect()
    }

    #[test]
    fn the_fragmented_seed_subnet_shows_a_used_address_in_every_candidate_block() {
        let maps = seed_maps();
        let map = &maps["subnet-0ddc1cafa116ba0dd"];
        let lines: Vec<&str> = map.lines().collect();
        // A /24: 16 rows, nothing folded (no two neighbours alike) or cut.
        assert_eq!(lines.len(), 16, "{map}");
        // The first block is AWS-reserved, and used besides.
        assert_eq!(
            lines[0],
            "  10.0.8.0/28        RRRR .##. .... #..#  holds an AWS-reserved address"
        );
        assert_eq!(
            lines[1],
            "  10.0.8.16/28       .#.. .#.. .... ##..  4 address(es) in use, e.g. 10.0.8.17"
        );
        assert!(lines[15].starts_with("  10.0.8.240/28      .... .... .... ...R  holds an AWS-reserved address"));
        for line in &lines[1..15] {
            let cells = &line[21..40];
            assert!(
                cells.contains('#'),
                "every candidate block holds a used address: {line}"
            );
            assert!(line.contains("address(es) in use, e.g. 10.0.8."), "{line}");
            assert!(!line.contains("FREE"), "{line}");
        }
        let used: usize = lines.iter().map(|l| l[21..40].matches('#').count()).sum();
        let reserved: usize = lines.iter().map(|l| l[21..40].matches('R').count()).sum();
        let free: usize = lines.iter().map(|l| l[21..40].matches('.').count()).sum();
        assert_eq!(
            (free, reserved, used),
            (212, 5, 256 - 212 - 5),
            "212 free addresses, as the seed said"
        );
    }

    #[test]
    fn the_roomy_seed_subnet_folds_its_free_runs_and_shows_prefixes_and_reservations() {
        let maps = seed_maps();
        let map = &maps["subnet-029a939990627d570"];
        let lines: Vec<&str> = map.lines().collect();
        assert!(lines.len() <= MAX_LINES, "{map}");
        // The gateway ENI's prefix, the block of its primary IP, and the prefix reservation.
        assert!(
            map.contains("  10.0.4.32/28       PPPP PPPP PPPP PPPP  prefix 10.0.4.32/28 assigned to eni-"),
            "{map}"
        );
        assert!(
            map.contains("  10.0.4.48/28       rrrr rrrr rrrr rrrr  FREE /28, in a prefix reservation"),
            "{map}"
        );
        assert!(
            map.contains("  10.0.6.64/28       .... .... .... ...#  1 address(es) in use, e.g. 10.0.6.79"),
            "{map}"
        );
        // The explicit reservations: X cells, and folded when alike.
        assert!(
            map.contains("XXXX XXXX XXXX XXXX  inside explicit reservation scr-"),
            "{map}"
        );
        // Free runs are folded: 52 free blocks take few lines.
        let folds: Vec<&&str> = lines.iter().filter(|l| l.starts_with("  … ")).collect();
        assert!(!folds.is_empty(), "{map}");
        for f in &folds {
            assert!(f.contains(" more block") && f.contains(" like it, to 10.0."), "{f}");
        }
        // Every block is accounted for: rows plus folded blocks = 64 (a /22).
        let folded: usize = folds
            .iter()
            .map(|f| {
                f.trim_start_matches("  … ")
                    .split(' ')
                    .next()
                    .unwrap()
                    .parse::<usize>()
                    .unwrap()
            })
            .sum();
        assert_eq!(lines.len() - folds.len() + folded, 64, "{map}");
        assert!(
            lines[0].starts_with("  10.0.4.0/28        RRRR .... .... ....  "),
            "{map}"
        );
        assert!(
            lines
                .last()
                .unwrap()
                .starts_with("  10.0.7.240/28      .... .... .... ...R  "),
            "{map}"
        );
    }

    #[test]
    fn the_readme_map_sample_is_what_render_draws() {
        let readme = std::fs::read_to_string(format!("{}/../README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let intro = "subnet, 212 free addresses and a used one in every candidate block:\n\n```\n";
        let start = readme.find(intro).expect("the README has the map sample") + intro.len();
        let sample = &readme[start..start + readme[start..].find("\n```").unwrap() + 1];
        assert_eq!(sample, seed_maps()["subnet-0ddc1cafa116ba0dd"]);
    }

    #[test]
    fn a_small_subnet_is_two_reserved_rows() {
        let maps = seed_maps();
        let map = &maps["subnet-0c0ffee0c0ffee0c0"];
        assert_eq!(map.lines().count(), 2, "a /27: {map}");
        assert!(
            map.lines().all(|l| l.ends_with("holds an AWS-reserved address")),
            "{map}"
        );
    }

    #[test]
    fn a_big_scattered_subnet_is_cut_to_max_lines_and_says_what_is_left_out() {
        // A /20 (256 blocks) with one used address every other block: nothing folds.
        let subnet = Subnet {
            id: fsxn_lattice_core::ids::SubnetId::parse("subnet-1").unwrap(),
            vpc_id: fsxn_lattice_core::ids::VpcId::parse("vpc-1").unwrap(),
            availability_zone: "us-east-1a".into(),
            cidr: "10.1.0.0/20".parse().unwrap(),
            tags: Default::default(),
        };
        let eni = NetworkInterface {
            id: fsxn_lattice_core::ids::NetworkInterfaceId::parse("eni-1").unwrap(),
            subnet_id: subnet.id.clone(),
            private_ips: (0..128u32)
                .map(|b| Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 1, 0, 0)) + b * 32 + 16 + 5))
                .collect(),
            ipv4_prefixes: vec![],
            description: String::new(),
            tags: Default::default(),
        };
        let capacity = analyze_subnet(&subnet, std::slice::from_ref(&eni), &[]);
        let inputs = SubnetInputs {
            subnet,
            network_interfaces: vec![eni],
            reservations: vec![],
        };
        let map = render(&inputs, &capacity);
        let lines: Vec<&str> = map.lines().collect();
        assert_eq!(lines.len(), MAX_LINES, "{map}");
        let cut = lines[MAX_LINES - TAIL_LINES - 1];
        // 31 rows drawn (blocks 0-30), 8 at the end (248-255); the even blocks are free.
        assert_eq!(
            cut,
            "  … 217 blocks not drawn, 10.1.1.240/28 to 10.1.15.112/28: 108 of them free (--output json lists every block)",
            "{map}"
        );
        assert!(
            lines[MAX_LINES - TAIL_LINES - 2].starts_with("  10.1.1.224/28 "),
            "{map}"
        );
        assert!(lines[MAX_LINES - TAIL_LINES].starts_with("  10.1.15.128/28 "), "{map}");
        assert!(lines[MAX_LINES - 1].starts_with("  10.1.15.240/28 "), "{map}");
    }
}
