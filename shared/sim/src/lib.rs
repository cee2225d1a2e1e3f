//! A simulated AWS cloud for fsxn-lattice: EC2 networking, VPC Lattice, Route 53 and FSx, with
//! the behaviour AWS documents and the seed observed (docs/design.md §2–4), on a virtual clock and
//! seeded randomness, so a whole scenario replays identically for a given seed.
//!
//! What it models, and on what evidence:
//! - random private-IP placement (EC2 places ordinary IPs anywhere free, outside CIDR
//!   reservations), aligned /28 prefix allocation that prefers `prefix` reservations, subnet
//!   exhaustion, CIDR reservation rules (inside the subnet, no overlap; may cover used addresses);
//! - resource gateways that are `ACTIVE` at once (seed) and get their ENIs only when the first
//!   endpoint is created: one per gateway subnet, a primary IP plus one /28 (17 addresses, seed);
//!   when a subnet has no free aligned /28 the ENI call fails with the seed's error, a CloudTrail
//!   record shaped like the seed's is emitted, and the endpoint goes `failed`;
//! - name rules, immutability and dependency conflicts of gateways and configurations; an
//!   `ipResource` outside the gateway VPC's CIDRs is refused (docs/design.md §4: "likely refused");
//! - endpoint DNS names in the real format, answering one endpoint ENI IP per query;
//! - Route 53 with strict DELETE, CNAME rules, all-or-nothing batches and PENDING → INSYNC;
//! - throttling and 5xx at a chosen rate, half of them *after* a write took effect (the
//!   response is lost), which is what client tokens exist for.
//!
//! Not modelled: IPv6, service networks, cross-account sharing, SG rules and real traffic.
//!
//! # Layout
//!
//! One file per AWS service, as the adapters in `shared/aws/src` are; [`SimCloud`] implements
//! every port, each in the file of its service:
//! - `world.rs`: [`SimCloud`] and its state behind the lock (`CloudState`), the virtual clock and the work
//!   scheduled on it, fault injection ([`Faults`], [`FaultMix`], [`FaultKind`]: faults drawn per
//!   call, lost responses and crashes, stale reads, denials, racing deletes), client-token
//!   replay, the counters, [`Snapshot`], and the `Clock` port;
//! - `ec2.rs`: VPCs, subnets, ENIs and address placement, CIDR reservations, route tables, VPC
//!   endpoints and the gateway ENIs provisioned for them (`NetworkRead`, `NetworkWrite`);
//! - `lattice.rs`: resource gateways and configurations (`LatticeRead`, `LatticeWrite`), and
//!   a client's [`Connection`] through them;
//! - `route53.rs`: hosted zones, records, changes (`DnsRead`, `DnsWrite`), and name resolution;
//! - `fsx.rs`: file systems and SVMs (`FsxRead`), and an administrator's SVM and tag actions;
//! - `directory.rs`: Active Directory (`Directory`, and `SvmTagWrite` for the SPN record): computer
//!   accounts and their SPNs with duplicate refusal, the AD-integrated zone with our markers, a
//!   domain member's resolver and the KDC's answer ([`SimCloud::kerberos_for`]);
//! - `cloudtrail.rs`, module [`trail`]: CloudTrail records in EventBridge envelopes, and their
//!   emission;
//! - `builders.rs`: `add_vpc`, `add_subnet`, `fragment`, … to build a world (no faults, no
//!   API-call counting);
//! - [`audit`]: the doctor's account-level reads; [`scenario`]: the seed's world and the demo;
//!   [`stepfunctions`] and [`deployed`]: the deployed state machine run on a [`SimCloud`];
//!   [`chaos`]: randomized campaigns; [`latency`]: calls that take virtual time ([`Timed`]) and
//!   the executor that runs them.

#[macro_use]
mod forward;
mod accounts;
pub mod audit;
mod builders;
pub mod chaos;
mod custom_domains;
pub mod deployed;
mod directory;
mod ec2;
mod fsx;
pub mod latency;
mod lattice;
pub mod multi_account;
mod route53;
pub mod scenario;
mod service_networks;
pub mod stepfunctions;
// CloudTrail, in a file named as in shared/aws/src; the public path stays `trail`.
#[path = "cloudtrail.rs"]
pub mod trail;
mod world;

pub use directory::{ADMIN_RECORD_TTL, AdRecord};
pub use ec2::{ENDPOINT_DELETE_AFTER, ENDPOINT_READY_AFTER, ENDPOINTS_PER_VPC, ENI_ATTEMPT_AFTER, LATTICE_RSC_ZONE};
pub use latency::{Latency, Timed};
pub use lattice::{Connection, GATEWAY_DELETE_AFTER};
pub use route53::CHANGE_INSYNC_AFTER;
pub use service_networks::ASSOCIATION_READY_AFTER;
pub use world::{CONSISTENCY_WINDOW, EPOCH, FaultKind, FaultMix, Faults, SimCloud, Snapshot};
